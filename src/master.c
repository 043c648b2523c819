/*
 * master.c: the master process: sockets, the worker table, supervision.
 *
 * The master binds every listener once per worker slot (SO_REUSEPORT) and
 * holds those sockets for as long as they are configured, so a worker that
 * dies or is replaced leaves its accept queue to its successor. It forks the
 * workers of a generation with all signals blocked; a child drops the
 * master's signal events (which only touches signal handlers, never the
 * shared epoll instance) and never runs the master's base.
 *
 * Signals are libevent events on the master's base:
 *   SIGCHLD  reap; respawn a worker that died unexpectedly, on the same slot,
 *            backing off when it keeps dying; never one that exited 78
 *   SIGTERM, SIGINT  graceful stop: TERM every worker, exit 0 when all are
 *            gone, SIGKILL what is left after shutdown-timeout
 *   SIGHUP   reload: re-read the config; a bad one is logged and ignored.
 *            Bind new listeners, fork a new generation, and once all of it
 *            accepts, retire the old generation (SIGUSR2): it finishes
 *            what it read and closes, leaving the rest to the new one
 *
 * Every worker writes one byte on its pipe when it accepts; the port file
 * and readiness are announced only when the whole generation has.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

#define MAX_PROCS	(2 * MAX_WORKERS)
#define RESPAWN_MAX_MS	5000

struct wproc {
	pid_t		 pid;		/* 0: free, or waiting to respawn */
	int		 used;
	int		 id;		/* slot within the generation */
	int		 gen;
	int		 stats_slot;
	int		 ready;
	int		 retiring;	/* told to stop */
	int		 failures;	/* quick deaths in a row */
	int		 readyfd;
	struct event	*ready_ev;
	struct event	*respawn_ev;
	struct timespec	 started;
};

struct lsock {
	struct listen_conf lc;
	int		 nfds;
	int		 fds[MAX_WORKERS];
	int		 keep;		/* still configured */
};

static struct {
	struct event_base *base;
	struct config	 cfg;
	int		 argc;
	char		**argv;
	struct stats	*stats;
	struct lsock	 ls[2 * MAX_LISTENERS];
	int		 nls;
	struct wproc	 procs[MAX_PROCS];
	int		 gen;
	int		 stopping;
	int		 reloading;
	int		 announced;
	int		 exit_status;
	char		 slots_used[STATS_SLOTS];
	struct event	*ev_term, *ev_int, *ev_hup, *ev_chld;
	struct event	*ev_tick, *ev_kill;
	uint64_t	 last_requests;
} M;

static void	master_spawn(struct wproc *);

/* Milliseconds between two monotonic times. */
static long
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L +
	    (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* A free stats slot, or -1. */
static int
master_take_slot(void)
{
	int	i;

	for (i = 0; i < STATS_SLOTS; i++)
		if (!M.slots_used[i]) {
			M.slots_used[i] = 1;
			return i;
		}
	return -1;
}

/* Live worker processes, published in STATS. */
static void
master_count_workers(void)
{
	uint64_t	n = 0;
	int		i;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].pid > 0)
			n++;
	atomic_store(&M.stats->workers, n);
}

/* The worker process with this pid, or NULL. */
static struct wproc *
master_find(pid_t pid)
{
	int	i;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].used && M.procs[i].pid == pid)
			return &M.procs[i];
	return NULL;
}

/* Signal every live worker (of every generation). */
static void
master_kill_all(int sig)
{
	int	i;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].pid > 0) {
			kill(M.procs[i].pid, sig);
			M.procs[i].retiring = 1;
		}
}

/* Forget a worker table entry. */
static void
master_free_proc(struct wproc *p, int keep_slot)
{
	if (p->ready_ev != NULL)
		event_free(p->ready_ev);
	if (p->respawn_ev != NULL)
		event_free(p->respawn_ev);
	if (p->readyfd != -1)
		close(p->readyfd);
	if (!keep_slot)
		M.slots_used[p->stats_slot] = 0;
	memset(p, 0, sizeof(*p));
	p->readyfd = -1;
}

/* Write "SERVICE HOST:PORT" per listener to the port file, atomically. */
static void
master_write_port_file(void)
{
	char	 tmp[1100], name[300];
	FILE	*f;
	int	 i;

	if (M.cfg.port_file[0] == '\0')
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", M.cfg.port_file);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_error("%s: %s", tmp, strerror(errno));
		return;
	}
	for (i = 0; i < M.nls; i++) {
		if (!M.ls[i].keep)
			continue;
		listener_name(M.ls[i].fds[0], name, sizeof(name));
		fprintf(f, "%s %s\n", config_service_name(M.ls[i].lc.service),
		    name);
	}
	if (fclose(f) != 0 || rename(tmp, M.cfg.port_file) == -1)
		log_error("%s: %s", M.cfg.port_file, strerror(errno));
}

/* Timer: a retired generation still has workers after shutdown-timeout. */
static void
master_kill_generation(evutil_socket_t fd, short what, void *arg)
{
	int	gen = (int)(intptr_t)arg, i;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].pid > 0 && M.procs[i].gen == gen) {
			log_warn("worker %d of generation %d still busy after "
			    "shutdown-timeout: killing it", M.procs[i].id, gen);
			kill(M.procs[i].pid, SIGKILL);
		}
}

/* Retire every worker of older generations; they get shutdown-timeout. */
static void
master_retire_old(void)
{
	struct timeval	tv;
	int		i, ms = M.cfg.shutdown_timeout_ms, last = -1;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	for (i = 0; i < MAX_PROCS; i++) {
		if (!M.procs[i].used || M.procs[i].gen == M.gen ||
		    M.procs[i].retiring)
			continue;
		if (M.procs[i].pid == 0) {	/* waiting to respawn */
			master_free_proc(&M.procs[i], 0);
			continue;
		}
		kill(M.procs[i].pid, SIGUSR2);
		M.procs[i].retiring = 1;
		if (M.procs[i].gen != last)
			event_base_once(M.base, -1, EV_TIMEOUT,
			    master_kill_generation,
			    (void *)(intptr_t)M.procs[i].gen, &tv);
		last = M.procs[i].gen;
	}
}

/* Close sockets nobody needs any more once no old generation is left. */
static void
master_prune_sockets(void)
{
	int	i, j, n;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].used && M.procs[i].gen != M.gen)
			return;
	for (i = 0, n = 0; i < M.nls; i++) {
		if (!M.ls[i].keep) {
			for (j = 0; j < M.ls[i].nfds; j++)
				close(M.ls[i].fds[j]);
			continue;
		}
		for (j = M.cfg.workers; j < M.ls[i].nfds; j++)
			close(M.ls[i].fds[j]);
		if (M.ls[i].nfds > M.cfg.workers)
			M.ls[i].nfds = M.cfg.workers;
		M.ls[n++] = M.ls[i];
	}
	M.nls = n;
}

/* The whole current generation accepts: announce it, retire the old. */
static void
master_generation_ready(void)
{
	char	name[300];
	int	i;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].used && M.procs[i].gen == M.gen &&
		    !M.procs[i].ready)
			return;
	if (!M.announced || M.reloading) {
		for (i = 0; i < M.nls; i++) {
			if (!M.ls[i].keep)
				continue;
			listener_name(M.ls[i].fds[0], name, sizeof(name));
			printf("listening on %s service=%s\n", name,
			    config_service_name(M.ls[i].lc.service));
		}
		fflush(stdout);
		master_write_port_file();
	}
	if (M.reloading) {
		master_retire_old();
		log_info("reload done: generation %d serving", M.gen);
		M.reloading = 0;
		master_prune_sockets();
	}
	notify_send("READY=1\nSTATUS=serving with %d workers",
	    M.cfg.workers);
	M.announced = 1;
}

/* A worker wrote its ready byte (or closed its pipe by dying). */
static void
master_ready(evutil_socket_t fd, short what, void *arg)
{
	struct wproc	*p = arg;
	char		 b;

	if (read(fd, &b, 1) == 1)
		p->ready = 1;
	event_free(p->ready_ev);
	p->ready_ev = NULL;
	close(p->readyfd);
	p->readyfd = -1;
	if (p->ready)
		master_generation_ready();
}

/* In the child: let go of everything of the master's but the shared stats. */
static void
master_child(struct wproc *p, int wfd, struct worker_spec *spec)
{
	struct event	*sigs[] = { M.ev_term, M.ev_int, M.ev_hup, M.ev_chld };
	int		 i, j;

	/* Signal events only restore handlers; fd events we leave alone. */
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].readyfd != -1)
			close(M.procs[i].readyfd);
	memset(spec, 0, sizeof(*spec));
	spec->id = p->id;
	spec->gen = p->gen;
	spec->stats_slot = p->stats_slot;
	spec->readyfd = wfd;
	for (i = 0; i < M.nls; i++)
		for (j = 0; j < M.ls[i].nfds; j++) {
			if (M.ls[i].keep && j == p->id) {
				spec->lc[spec->nfds] = &M.ls[i].lc;
				spec->fds[spec->nfds++] = M.ls[i].fds[j];
			} else
				close(M.ls[i].fds[j]);
		}
}

/* Fork the worker for table entry p. */
static void
master_spawn(struct wproc *p)
{
	struct worker_spec	 spec;
	sigset_t		 all, old;
	int			 fds[2];
	pid_t			 pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_error("pipe: %s", strerror(errno));
		return;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		master_child(p, fds[1], &spec);
		worker_main(&M.cfg, M.stats, &spec);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid == -1) {
		log_error("fork: %s", strerror(errno));
		close(fds[0]);
		return;
	}
	p->pid = pid;
	p->ready = 0;
	p->readyfd = fds[0];
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	p->ready_ev = event_new(M.base, fds[0], EV_READ, master_ready, p);
	event_add(p->ready_ev, NULL);
	master_count_workers();
	log_debug("worker %d (generation %d) is pid %ld", p->id, p->gen,
	    (long)pid);
}

/* A free table entry for worker id of the current generation, or NULL. */
static struct wproc *
master_new_proc(int id)
{
	int	i;

	for (i = 0; i < MAX_PROCS; i++)
		if (!M.procs[i].used) {
			memset(&M.procs[i], 0, sizeof(M.procs[i]));
			M.procs[i].used = 1;
			M.procs[i].id = id;
			M.procs[i].gen = M.gen;
			M.procs[i].readyfd = -1;
			if ((M.procs[i].stats_slot = master_take_slot()) == -1)
				break;
			return &M.procs[i];
		}
	log_error("no room for more workers");
	return NULL;
}

/* Fork a whole generation. */
static int
master_spawn_generation(void)
{
	struct wproc	*p;
	int		 i;

	for (i = 0; i < M.cfg.workers; i++) {
		if ((p = master_new_proc(i)) == NULL)
			return -1;
		master_spawn(p);
	}
	return 0;
}

/* Timer: respawn a worker after its backoff. */
static void
master_respawn(evutil_socket_t fd, short what, void *arg)
{
	struct wproc	*p = arg;

	event_free(p->respawn_ev);
	p->respawn_ev = NULL;
	if (!M.stopping)
		master_spawn(p);
}

/* A worker died unexpectedly: respawn it, later if it keeps dying. */
static void
master_schedule_respawn(struct wproc *p)
{
	struct timespec	now;
	struct timeval	tv;
	long		ms = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed_ms(&p->started, &now) < 1000)
		p->failures++;
	else
		p->failures = 0;
	/* The first quick death may be bad luck; the second is a pattern. */
	if (p->failures > 1) {
		ms = 100L << (p->failures > 7 ? 6 : p->failures - 2);
		if (ms > RESPAWN_MAX_MS)
			ms = RESPAWN_MAX_MS;
	}
	p->pid = 0;
	p->ready = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	p->respawn_ev = evtimer_new(M.base, master_respawn, p);
	evtimer_add(p->respawn_ev, &tv);
	if (ms > 0)
		log_warn("worker %d keeps dying: respawn in %ld ms", p->id, ms);
}

/* Log how a worker ended; returns its exit status or -1 for a signal. */
static int
master_log_exit(struct wproc *p, int status)
{
	int	level = p->retiring ? LOG_LVL_DEBUG : LOG_LVL_WARN;

	if (WIFEXITED(status)) {
		log_msg(level, __func__, "worker %d pid %ld exited with %d",
		    p->id, (long)p->pid, WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	log_msg(level, __func__, "worker %d pid %ld killed by signal %d",
	    p->id, (long)p->pid, WTERMSIG(status));
	return -1;
}

/* True when no worker process is left. */
static int
master_none_left(void)
{
	int	i;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].pid > 0)
			return 0;
	return 1;
}

/* One worker is gone: decide its fate. */
static void
master_reaped(struct wproc *p, int status)
{
	int	code;

	code = master_log_exit(p, status);
	stats_reset_gauges(M.stats, p->stats_slot);
	if (p->ready_ev != NULL) {
		event_free(p->ready_ev);
		p->ready_ev = NULL;
		close(p->readyfd);
		p->readyfd = -1;
	}
	if (M.stopping || p->retiring) {
		master_free_proc(p, 0);
		master_prune_sockets();
		return;
	}
	if (code == EXIT_CONFIG) {
		log_error("worker %d failed on its configuration: "
		    "not respawning", p->id);
		M.exit_status = EXIT_CONFIG;
		master_free_proc(p, 0);
		return;
	}
	master_schedule_respawn(p);
}

/* SIGCHLD: reap every worker that ended. */
static void
master_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct wproc	*p;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = master_find(pid)) != NULL)
			master_reaped(p, status);
	}
	master_count_workers();
	if (master_none_left() && (M.stopping || M.exit_status != 0))
		event_base_loopexit(M.base, NULL);
}

/* Timer: the shutdown timeout ran out. */
static void
master_kill_stragglers(evutil_socket_t fd, short what, void *arg)
{
	log_warn("shutdown timeout: killing what is left");
	master_kill_all(SIGKILL);
}

/* SIGTERM, SIGINT: graceful stop. */
static void
master_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct timeval	tv;
	int		i, ms = M.cfg.shutdown_timeout_ms;

	if (M.stopping)
		return;
	log_info("stopping on signal %d", (int)sig);
	notify_send("STOPPING=1\nSTATUS=stopping");
	M.stopping = 1;
	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].used && M.procs[i].pid == 0)
			master_free_proc(&M.procs[i], 0);
	if (master_none_left()) {
		event_base_loopexit(M.base, NULL);
		return;
	}
	master_kill_all(SIGTERM);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	M.ev_kill = evtimer_new(M.base, master_kill_stragglers, NULL);
	evtimer_add(M.ev_kill, &tv);
}

/* The listener in M.ls matching lc (same service, host, port), or -1. */
static int
master_find_listener(const struct listen_conf *lc)
{
	int	i;

	for (i = 0; i < M.nls; i++)
		if (M.ls[i].lc.service == lc->service &&
		    strcmp(M.ls[i].lc.host, lc->host) == 0 &&
		    strcmp(M.ls[i].lc.port, lc->port) == 0 &&
		    (strcmp(lc->port, "0") != 0 ||
		    M.ls[i].lc.framing == lc->framing))
			return i;
	return -1;
}

/*
 * Make sure cfg's listeners all have workers sockets each, binding what is
 * new; listeners not in cfg are marked to close later. -1 on failure, with
 * whatever was bound for it closed again.
 */
static int
master_bind(const struct config *cfg)
{
	char	err[512];
	int	i, j, k, first = M.nls;

	for (i = 0; i < M.nls; i++)
		M.ls[i].keep = 0;
	for (i = 0; i < cfg->nlisten; i++) {
		if ((k = master_find_listener(&cfg->listen[i])) == -1) {
			if (M.nls == 2 * MAX_LISTENERS)
				goto fail_msg;
			k = M.nls;
			memset(&M.ls[k], 0, sizeof(M.ls[k]));
			if (listener_bind(&cfg->listen[i], cfg->workers,
			    M.ls[k].fds, err, sizeof(err)) == -1)
				goto fail;
			M.ls[k].nfds = cfg->workers;
			M.nls++;
		}
		M.ls[k].lc = cfg->listen[i];
		M.ls[k].keep = 1;
		for (j = M.ls[k].nfds; j < cfg->workers; j++) {
			if ((M.ls[k].fds[j] = listener_clone(M.ls[k].fds[0],
			    err, sizeof(err))) == -1)
				goto fail;
			M.ls[k].nfds++;
		}
	}
	return 0;
fail_msg:
	snprintf(err, sizeof(err), "too many listeners");
fail:
	log_error("%s", err);
	for (i = first; i < M.nls; i++)
		for (j = 0; j < M.ls[i].nfds; j++)
			close(M.ls[i].fds[j]);
	M.nls = first;
	for (i = 0; i < M.nls; i++)
		M.ls[i].keep = master_find_listener(&M.ls[i].lc) != -1;
	return -1;
}

/*
 * Build the shared table of small primes for cfg (before any fork, so the
 * workers share it copy-on-write); the trial kernel has no use for it.
 */
int
master_table(const struct config *cfg)
{
	uint64_t	want = cfg->kernel != KERNEL_TRIAL ? cfg->table_n : 0;

	if (want == prime_table_count())
		return 0;
	prime_table_free();
	return want > 0 ? prime_table_init(want) : 0;
}

/* SIGHUP: re-read the configuration and replace the workers with no loss. */
static void
master_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct config	cfg;
	char		err[1024];
	int		rc;

	if (M.stopping)
		return;
	if (M.reloading) {
		log_warn("reload already in progress: ignored");
		return;
	}
	log_info("reloading");
	notify_reloading();
	rc = config_from_args(&cfg, M.argc, M.argv, err, sizeof(err));
	if (rc != CONFIG_OK) {
		log_error("reload: %s; keeping the running configuration",
		    err);
		notify_send("READY=1\nSTATUS=reload failed: %s", err);
		return;
	}
	if (strcmp(cfg.user, M.cfg.user) != 0)
		log_warn("reload: user cannot change while running");
	if (master_table(&cfg) == -1) {
		log_error("reload: cannot build the prime table");
		notify_send("READY=1\nSTATUS=reload failed: prime table");
		return;
	}
	if (master_bind(&cfg) == -1) {
		log_error("reload: keeping the running configuration");
		notify_send("READY=1\nSTATUS=reload failed to bind");
		return;
	}
	M.cfg = cfg;
	log_set_level(cfg.log_level);
	M.gen++;
	M.reloading = 1;
	master_spawn_generation();
}

/* Timer, once a second: the monitor line and the service manager status. */
static void
master_tick(evutil_socket_t fd, short what, void *arg)
{
	struct stats_sum	s;
	unsigned long long	rate;

	stats_sum(M.stats, &s);
	rate = s.c[STAT_requests] - M.last_requests;
	M.last_requests = s.c[STAT_requests];
	if (M.cfg.monitor) {
		printf("t=%llu requests/s=%llu open=%llu queued=%llu\n",
		    (unsigned long long)s.uptime_s, rate,
		    (unsigned long long)s.c[STAT_connections_open],
		    (unsigned long long)s.c[STAT_jobs_queued]);
		fflush(stdout);
	}
	if (M.announced && !M.stopping && !M.reloading)
		notify_send("STATUS=%llu workers, %llu requests/s, %llu open",
		    (unsigned long long)s.workers, rate,
		    (unsigned long long)s.c[STAT_connections_open]);
}

/* Set up the master's base and its signal events. */
static int
master_setup(void)
{
	struct timeval	sec = { 1, 0 };

	if ((M.base = event_base_new()) == NULL)
		return -1;
	M.ev_term = evsignal_new(M.base, SIGTERM, master_sigterm, NULL);
	M.ev_int = evsignal_new(M.base, SIGINT, master_sigterm, NULL);
	M.ev_hup = evsignal_new(M.base, SIGHUP, master_sighup, NULL);
	M.ev_chld = evsignal_new(M.base, SIGCHLD, master_sigchld, NULL);
	if (M.ev_term == NULL || M.ev_int == NULL || M.ev_hup == NULL ||
	    M.ev_chld == NULL)
		return -1;
	evsignal_add(M.ev_term, NULL);
	evsignal_add(M.ev_int, NULL);
	evsignal_add(M.ev_hup, NULL);
	evsignal_add(M.ev_chld, NULL);
	/* Workers take SIGUSR2 to retire; the master has no use for it. */
	signal(SIGUSR2, SIG_IGN);
	M.ev_tick = event_new(M.base, -1, EV_PERSIST, master_tick, NULL);
	if (M.ev_tick == NULL || event_add(M.ev_tick, &sec) == -1)
		return -1;
	return 0;
}

/* Release what the master holds before it exits. */
static void
master_teardown(void)
{
	struct event	*evs[] = { M.ev_term, M.ev_int, M.ev_hup, M.ev_chld,
			    M.ev_tick, M.ev_kill };
	size_t		 i;
	int		 j;

	for (i = 0; i < MAX_PROCS; i++)
		if (M.procs[i].used)
			master_free_proc(&M.procs[i], 0);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	for (i = 0; i < (size_t)M.nls; i++)
		for (j = 0; j < M.ls[i].nfds; j++)
			close(M.ls[i].fds[j]);
	if (M.cfg.port_file[0] != '\0')
		unlink(M.cfg.port_file);
	event_base_free(M.base);
	stats_destroy(M.stats);
}

/* Run the server with cfg; argv is kept to re-read it on reload. */
int
master_main(struct config *cfg, int argc, char **argv)
{
	int	i;

	M.cfg = *cfg;
	M.argc = argc;
	M.argv = argv;
	for (i = 0; i < MAX_PROCS; i++)
		M.procs[i].readyfd = -1;
	if ((M.stats = stats_create()) == NULL) {
		log_error("cannot map the stats region");
		return EXIT_CRASH;
	}
	if (master_bind(&M.cfg) == -1)
		return EXIT_CRASH;
	if (priv_drop(M.cfg.user) == -1)
		return EXIT_CONFIG;
	if (master_setup() == -1) {
		log_error("cannot set up the event loop");
		return EXIT_CRASH;
	}
	if (master_spawn_generation() == -1)
		return EXIT_CRASH;
	event_base_dispatch(M.base);
	log_info("stopped");
	master_teardown();
	return M.exit_status;
}
