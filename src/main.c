/*
 * main.c: options and configuration, then the master.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>

#include "primed.h"

/* Allow as many descriptors as the hard limit does. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit NOFILE: %s", strerror(errno));
}

/* --check-config: what the master checks before it binds; nothing bound. */
static int
check_config(const struct config *cfg)
{
	struct priv	pv;
	char		err[1024];

	if (priv_lookup(cfg->user, &pv, err, sizeof(err)) == -1 ||
	    sockets_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "primed: %s\n", err);
		return EXIT_CONFIG;
	}
	printf("configuration ok\n");
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct config	cfg;
	char		err[1024];

	signal(SIGPIPE, SIG_IGN);
	log_init("primed");
	switch (config_from_args(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_OK:
		break;
	case CONFIG_EXIT:
		return EXIT_OK;
	case CONFIG_ERR_USAGE:
		fprintf(stderr, "primed: %s\nTry 'primed --help'.\n", err);
		return EXIT_USAGE;
	default:
		fprintf(stderr, "primed: %s\n", err);
		return EXIT_CONFIG;
	}
	if (cfg.check_config)
		return check_config(&cfg);
	log_set_level(cfg.log_level);
	raise_nofile();
	/* Before any event base: bases are then lockable and notifiable. */
	if (evthread_use_pthreads() == -1) {
		log_error("libevent has no pthreads support");
		return EXIT_CRASH;
	}
	if (master_table(&cfg) == -1) {
		log_error("cannot build a table of %llu primes",
		    (unsigned long long)cfg.table_n);
		return EXIT_CONFIG;
	}
	return master_main(&cfg, argc, argv);
}
