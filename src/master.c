/*
 * master.c: the master process: generations of workers, supervision.
 *
 * A generation is the set of workers forked for one configuration: the
 * first at start, a new one on each reload. At most MAX_GENS are alive at
 * once (one serving, one starting, two retiring); each owns a fixed block
 * of the process table, and a worker's index in that table is its stats
 * slot. The sockets are listener.c's: a generation holds a reference on
 * the socket of every listener and slot it uses.
 *
 * A generation starts (its workers are forked; each writes one byte on its
 * pipe once it accepts), serves once every slot has a worker that
 * accepts, and retires (SIGUSR2: finish what was read, then close) once
 * the next one serves, or when it fails to start. So a reload always ends:
 * either the new generation serves and only then is the old one retired,
 * or the new one fails (a worker exited 78, or it did not serve within
 * RELOAD_TIMEOUT_MS) and is retired while the old one goes on serving.
 * Both ends tell the service manager READY=1 with a STATUS saying which.
 *
 * Signals arrive on a signalfd read by the master's event loop, so the
 * master installs no handler at all. A worker is forked with every signal
 * blocked; it never uses the master's event base, and closes every
 * descriptor but its own sockets and pipe (the base's among them) first.
 *   SIGCHLD  reap; respawn a worker that died, on the same slot, backing
 *            off when it keeps dying; never one that exited 78 while its
 *            generation was starting
 *   SIGTERM, SIGINT  graceful stop: TERM every worker, exit when all are
 *            gone, SIGKILL what is left after shutdown-timeout
 *   SIGHUP   reload: read the configuration again and start a generation
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

#define RESPAWN_MAX_MS		5000
#define RELOAD_TIMEOUT_MS	10000

enum gen_state { GEN_FREE, GEN_STARTING, GEN_SERVING, GEN_RETIRING };

struct gen;

struct wproc {
	struct gen	*g;
	int		 id;		/* slot within the generation */
	pid_t		 pid;		/* 0: not running */
	int		 ready;
	int		 retiring;	/* told to stop */
	int		 failures;	/* quick deaths in a row */
	int		 readyfd;
	struct event	*ready_ev;
	struct event	*respawn_ev;
	struct timespec	 started;
};

struct gen {
	enum gen_state	 state;
	int		 num;		/* 1 at start, +1 per reload */
	struct config	 cfg;
	struct priv	 priv;
	int		 nls;		/* listeners with sockets taken */
	int		 ls[MAX_LISTENERS];	/* their socket table entries */
	struct event	*timer;		/* reload deadline, or retire timeout */
	struct wproc	 procs[MAX_WORKERS];
};

static struct {
	struct event_base *base;
	pid_t		 pid;
	int		 argc;
	char		**argv;
	struct stats	*stats;
	struct gen	 gens[MAX_GENS];
	/* Whose configuration is in force: serving, or the first starting. */
	struct gen	*current;
	struct gen	*serving;
	struct gen	*starting;
	int		 ngens;		/* generations made so far */
	int		 stopping;
	int		 exit_status;
	int		 sigfd;
	struct event	*ev_sig, *ev_tick, *ev_kill;
	uint64_t	 last_requests;
	char		 reload_error[1024];	/* the last reload's, till one works */
} M;

static void	master_schedule_respawn(struct wproc *);

/* Milliseconds between two monotonic times. */
static long
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L +
	    (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* p's index in the process table, which is its stats slot. */
static int
master_slot(const struct wproc *p)
{
	return (int)(p->g - M.gens) * MAX_WORKERS + p->id;
}

/* Live worker processes of g. */
static int
master_gen_live(const struct gen *g)
{
	int	i, n = 0;

	for (i = 0; i < MAX_WORKERS; i++)
		if (g->procs[i].pid > 0)
			n++;
	return n;
}

/* Live worker processes, published in STATS. */
static int
master_count_workers(void)
{
	int	i, n = 0;

	for (i = 0; i < MAX_GENS; i++)
		n += master_gen_live(&M.gens[i]);
	atomic_store(&M.stats->workers, (uint64_t)n);
	return n;
}

/* The worker process with this pid, or NULL. */
static struct wproc *
master_find(pid_t pid)
{
	int	i, j;

	for (i = 0; i < MAX_GENS; i++)
		for (j = 0; j < MAX_WORKERS; j++)
			if (M.gens[i].procs[j].pid == pid)
				return &M.gens[i].procs[j];
	return NULL;
}

/* Forget p's ready pipe and its event. */
static void
master_close_ready(struct wproc *p)
{
	if (p->ready_ev != NULL)
		event_free(p->ready_ev);
	if (p->readyfd != -1)
		close(p->readyfd);
	p->ready_ev = NULL;
	p->readyfd = -1;
}

/* Cancel p's pending respawn. */
static void
master_cancel_respawn(struct wproc *p)
{
	if (p->respawn_ev != NULL)
		event_free(p->respawn_ev);
	p->respawn_ev = NULL;
}

/* A free generation, set up empty, or NULL when MAX_GENS are alive. */
static struct gen *
master_gen_new(void)
{
	struct gen	*g;
	int		 i;

	for (i = 0; i < MAX_GENS && M.gens[i].state != GEN_FREE; i++)
		;
	if (i == MAX_GENS)
		return NULL;
	g = &M.gens[i];
	memset(g, 0, sizeof(*g));
	for (i = 0; i < MAX_WORKERS; i++) {
		g->procs[i].g = g;
		g->procs[i].id = i;
		g->procs[i].readyfd = -1;
	}
	g->num = ++M.ngens;
	return g;
}

/* Let g go: its sockets, its timer, its table block. No worker is left. */
static void
master_gen_free(struct gen *g)
{
	int	i;

	for (i = 0; i < MAX_WORKERS; i++) {
		master_close_ready(&g->procs[i]);
		master_cancel_respawn(&g->procs[i]);
	}
	sockets_release(g->ls, g->nls, g->cfg.workers);
	g->nls = 0;
	if (g->timer != NULL)
		event_free(g->timer);
	g->timer = NULL;
	g->state = GEN_FREE;
}

/*
 * Give g the configuration cfg: its user, its sockets. 0, or the exit
 * status it deserves at start (78 for the configuration, 1 for the
 * system), with err.
 */
static int
master_gen_prepare(struct gen *g, const struct config *cfg, char *err,
    size_t errlen)
{
	g->cfg = *cfg;
	if (priv_lookup(cfg->user, &g->priv, err, errlen) == -1 ||
	    sockets_check(cfg, err, errlen) == -1)
		return EXIT_CONFIG;
	if (sockets_acquire(cfg, g->ls, err, errlen) == -1)
		return EXIT_CRASH;
	g->nls = cfg->nlisten;
	return 0;
}

/*
 * Create path anew for writing, never through a link someone put there;
 * a file left there (by a run that died while writing) is removed once.
 */
static int
master_create(const char *path)
{
	int	flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int	fd;

	if ((fd = open(path, flags, 0644)) == -1 && errno == EEXIST) {
		log_warn("%s: removing what is in the way", path);
		if (unlink(path) == 0)
			fd = open(path, flags, 0644);
	}
	if (fd == -1)
		log_error("%s: %s", path, strerror(errno));
	return fd;
}

/*
 * Write "SERVICE HOST:PORT framing=F" per listener of g to its port file,
 * atomically: the framing tells two listeners of one service apart.
 */
static void
master_write_port_file(const struct gen *g)
{
	const char	*path = g->cfg.port_file;
	char		 tmp[sizeof(g->cfg.port_file) + 8], name[300];
	int		 fd, i, rc = 0;

	if (path[0] == '\0')
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = master_create(tmp)) == -1)
		return;
	for (i = 0; i < g->nls && rc >= 0; i++) {
		sockets_name(sockets_fd(g->ls[i], 0), name, sizeof(name));
		rc = dprintf(fd, "%s %s framing=%s\n",
		    config_service_name(g->cfg.listen[i].service), name,
		    config_framing_name(&g->cfg.listen[i]));
	}
	if (close(fd) != 0 || rc < 0 || rename(tmp, path) == -1) {
		log_error("%s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* g serves: say where, on stdout and in the port file. */
static void
master_announce(const struct gen *g, const struct gen *old)
{
	char	name[300];
	int	i;

	for (i = 0; i < g->nls; i++) {
		sockets_name(sockets_fd(g->ls[i], 0), name, sizeof(name));
		printf("listening on %s service=%s\n", name,
		    config_service_name(g->cfg.listen[i].service));
	}
	fflush(stdout);
	if (old != NULL && old->cfg.port_file[0] != '\0' &&
	    strcmp(old->cfg.port_file, g->cfg.port_file) != 0)
		unlink(old->cfg.port_file);
	master_write_port_file(g);
}

/* Send sig to every worker of g and respawn none of them. */
static void
master_gen_kill(struct gen *g, int sig)
{
	struct wproc	*p;
	int		 i;

	for (i = 0; i < MAX_WORKERS; i++) {
		p = &g->procs[i];
		master_cancel_respawn(p);
		if (p->pid > 0) {
			kill(p->pid, sig);
			p->retiring = 1;
		}
	}
}

/* Retire g: its workers finish what they read and go; g goes with them. */
static void
master_gen_retire(struct gen *g)
{
	struct timeval	tv = ms_tv(M.current->cfg.shutdown_timeout_ms);

	g->state = GEN_RETIRING;
	master_gen_kill(g, SIGUSR2);
	if (master_gen_live(g) == 0) {
		master_gen_free(g);
		return;
	}
	evtimer_add(g->timer, &tv);
}

/* Every slot of g has a worker that accepts: g serves, the old one retires. */
static void
master_gen_serve(struct gen *g)
{
	struct gen	*old = M.serving;

	evtimer_del(g->timer);
	g->state = GEN_SERVING;
	M.current = M.serving = g;
	M.starting = NULL;
	master_announce(g, old);
	if (old != NULL) {
		master_gen_retire(old);
		atomic_fetch_add(&M.stats->reloads, 1);
		log_info("reload done: generation %d serving", g->num);
	}
	M.reload_error[0] = '\0';
	notify_send("READY=1\nSTATUS=serving with %d workers", g->cfg.workers);
}

/* Timer: the drain delay of a stop is over; let go of the sockets. */
static void
master_unbind(evutil_socket_t fd, short what, void *arg)
{
	sockets_close_all();
}

/* Graceful stop of everything; the loop ends when the last worker is gone. */
static void
master_stop(const char *why)
{
	struct timeval	 tv, drain;
	int		 i;

	if (M.stopping)
		return;
	log_info("stopping: %s", why);
	notify_send("STOPPING=1\nSTATUS=stopping");
	M.stopping = 1;
	for (i = 0; i < MAX_GENS; i++) {
		if (M.gens[i].timer != NULL)
			evtimer_del(M.gens[i].timer);
		master_gen_kill(&M.gens[i], SIGTERM);
	}
	if (master_count_workers() == 0) {
		event_base_loopexit(M.base, NULL);
		return;
	}
	/*
	 * The workers drain for drain-delay, then stop accepting; then the
	 * sockets close here too, so that new connections are refused at once
	 * instead of waiting in a queue nobody accepts from.
	 */
	drain = ms_tv(M.current->cfg.drain_delay_ms);
	if (M.current->cfg.drain_delay_ms <= 0)
		sockets_close_all();
	else
		event_base_once(M.base, -1, EV_TIMEOUT, master_unbind, NULL,
		    &drain);
	tv = ms_tv(M.current->cfg.drain_delay_ms +
	    M.current->cfg.shutdown_timeout_ms);
	evtimer_add(M.ev_kill, &tv);
}

/*
 * A reload failed and the serving generation goes on: say so in the log
 * and to the service manager, whose status keeps it until a reload works.
 */
static void
master_reload_failed(const char *why)
{
	log_error("reload failed: %s; generation %d goes on serving", why,
	    M.serving->num);
	snprintf(M.reload_error, sizeof(M.reload_error), "%s", why);
	notify_send("READY=1\nSTATUS=reload failed: %s", why);
}

/*
 * Generation g cannot start. The first one takes the server down with
 * status 78; a reload's is retired and the serving one goes on.
 */
static void
master_gen_failed(struct gen *g, const char *fmt, ...)
{
	char	why[300];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	M.starting = NULL;
	if (M.serving == NULL) {
		log_error("%s: cannot start", why);
		M.exit_status = EXIT_CONFIG;
		master_stop("the workers cannot start");
		return;
	}
	master_gen_retire(g);
	log_set_level(M.serving->cfg.log_level);
	if (master_table(&M.serving->cfg) == -1)
		log_error("cannot rebuild the prime table");
	master_reload_failed(why);
}

/* Timer of g: its reload deadline passed, or its retire timeout did. */
static void
master_gen_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gen	*g = arg;
	int		 i;

	if (g->state == GEN_STARTING) {
		master_gen_failed(g, "generation %d not serving after %d s", g->num,
		    RELOAD_TIMEOUT_MS / 1000);
		return;
	}
	for (i = 0; i < MAX_WORKERS; i++)
		if (g->procs[i].pid > 0) {
			log_warn("worker %d of generation %d still busy after "
			    "shutdown-timeout: killing it", i, g->num);
			kill(g->procs[i].pid, SIGKILL);
		}
}

/* A worker wrote its ready byte (or closed its pipe by dying). */
static void
master_ready(evutil_socket_t fd, short what, void *arg)
{
	struct wproc	*p = arg;
	struct gen	*g = p->g;
	char		 b;
	int		 i, n = 0;

	if (read(fd, &b, 1) == 1)
		p->ready = 1;
	master_close_ready(p);
	if (!p->ready || g->state != GEN_STARTING)
		return;
	for (i = 0; i < g->cfg.workers; i++)
		n += g->procs[i].ready;
	if (n == g->cfg.workers)
		master_gen_serve(g);
}

/*
 * In the child: close every descriptor but stdio, the pipe and spec's
 * sockets; among them are the master's event base's (epoll, its signal
 * pipe, its eventfd), which the worker must never touch.
 */
static void
master_child_close(const struct worker_spec *spec)
{
	int	keep[MAX_LISTENERS + 1], n = 0, i, j, t, lo = 3;

	keep[n++] = spec->readyfd;
	for (i = 0; i < spec->nfds; i++)
		keep[n++] = spec->fds[i];
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] > lo)
			close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
		if (keep[i] >= lo)
			lo = keep[i] + 1;
	}
	if (close_range((unsigned)lo, ~0U, 0) == -1)
		log_warn("close_range: %s", strerror(errno));
}

/* In the child: what worker p needs of g, and nothing else of the master's. */
static void
master_child(const struct wproc *p, int wfd, struct worker_spec *spec)
{
	const struct gen	*g = p->g;
	int			 i;

	memset(spec, 0, sizeof(*spec));
	spec->id = p->id;
	spec->gen = g->num;
	spec->stats_slot = master_slot(p);
	spec->readyfd = wfd;
	spec->master = M.pid;
	spec->priv = g->priv;
	for (i = 0; i < g->nls; i++) {
		spec->lc[i] = &g->cfg.listen[i];
		spec->fds[i] = sockets_fd(g->ls[i], p->id);
	}
	spec->nfds = g->nls;
	master_child_close(spec);
}

/* Fork the worker for table entry p. */
static void
master_spawn(struct wproc *p)
{
	struct worker_spec	 spec;
	sigset_t		 all, old;
	int			 fds[2];
	pid_t			 pid = -1;

	clock_gettime(CLOCK_MONOTONIC, &p->started);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_error("pipe: %s", strerror(errno));
		goto fail;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		master_child(p, fds[1], &spec);
		worker_main(&p->g->cfg, M.stats, &spec);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid == -1) {
		log_error("fork: %s", strerror(errno));
		close(fds[0]);
		goto fail;
	}
	p->pid = pid;
	p->ready = 0;
	p->readyfd = fds[0];
	if ((p->ready_ev = event_new(M.base, fds[0], EV_READ, master_ready,
	    p)) == NULL || event_add(p->ready_ev, NULL) == -1)
		log_error("cannot watch worker %d", p->id);
	master_count_workers();
	log_debug("worker %d (generation %d) is pid %ld", p->id, p->g->num,
	    (long)pid);
	return;
fail:
	master_schedule_respawn(p);
}

/* Timer: respawn a worker after its backoff. */
static void
master_respawn(evutil_socket_t fd, short what, void *arg)
{
	struct wproc	*p = arg;

	master_cancel_respawn(p);
	if (!M.stopping && p->g->state != GEN_RETIRING)
		master_spawn(p);
}

/* A worker died, or could not be forked: respawn it, later if it keeps at it. */
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
	tv = ms_tv(ms);
	master_cancel_respawn(p);
	if ((p->respawn_ev = evtimer_new(M.base, master_respawn, p)) == NULL ||
	    evtimer_add(p->respawn_ev, &tv) == -1) {
		log_error("cannot schedule worker %d", p->id);
		return;
	}
	if (ms > 0)
		log_warn("worker %d keeps dying: respawn in %ld ms", p->id, ms);
}

/* Log how a worker ended; returns its exit status or -1 for a signal. */
static int
master_log_exit(const struct wproc *p, int status)
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

/* One worker is gone: decide its fate. */
static void
master_reaped(struct wproc *p, int status)
{
	struct gen	*g = p->g;
	int		 code;

	code = master_log_exit(p, status);
	stats_reset_gauges(M.stats, master_slot(p));
	master_close_ready(p);
	p->pid = 0;
	p->ready = 0;
	p->retiring = 0;
	if (M.stopping || g->state == GEN_RETIRING) {
		if (g->state == GEN_RETIRING && master_gen_live(g) == 0)
			master_gen_free(g);
		return;
	}
	if (code == EXIT_CONFIG && g->state == GEN_STARTING) {
		master_gen_failed(g, "worker %d of generation %d could not set up "
		    "(exit status %d)", p->id, g->num, code);
		return;
	}
	/* Serving: its socket has no one else to accept on it. */
	atomic_fetch_add(&M.stats->respawns, 1);
	if (code == EXIT_CONFIG) {
		log_error("worker %d could not set up: retrying every %d ms",
		    p->id, RESPAWN_MAX_MS);
		p->failures = 8;
	}
	master_schedule_respawn(p);
}

/* SIGCHLD: reap every worker that ended. */
static void
master_sigchld(void)
{
	struct wproc	*p;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = master_find(pid)) != NULL)
			master_reaped(p, status);
	}
	if (master_count_workers() == 0 && M.stopping)
		event_base_loopexit(M.base, NULL);
}

/* Timer: the shutdown timeout ran out (no respawn since the stop began). */
static void
master_kill_stragglers(evutil_socket_t fd, short what, void *arg)
{
	int	i;

	log_warn("shutdown timeout: killing what is left");
	for (i = 0; i < MAX_GENS; i++)
		master_gen_kill(&M.gens[i], SIGKILL);
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

/* Why no generation can be started now. */
static void
master_no_room(char *err, size_t errlen)
{
	int	i;

	for (i = 0; i < MAX_GENS; i++)
		if (M.gens[i].state == GEN_RETIRING)
			break;
	snprintf(err, errlen, "generation %d still has %d workers finishing "
	    "(at most shutdown-timeout); try again then",
	    i < MAX_GENS ? M.gens[i].num : 0,
	    i < MAX_GENS ? master_gen_live(&M.gens[i]) : 0);
}

/* Read the configuration again and start a generation with it; -1 with err. */
static int
master_reload(char *err, size_t errlen)
{
	struct config	 cfg;
	struct timeval	 tv = ms_tv(RELOAD_TIMEOUT_MS);
	struct gen	*g;
	int		 i;

	if (config_from_args(&cfg, M.argc, M.argv, err, errlen) != CONFIG_OK)
		return -1;
	if ((g = master_gen_new()) == NULL) {
		master_no_room(err, errlen);
		return -1;
	}
	if (master_gen_prepare(g, &cfg, err, errlen) != 0) {
		master_gen_free(g);
		return -1;
	}
	if ((g->timer = evtimer_new(M.base, master_gen_timer, g)) == NULL ||
	    master_table(&cfg) == -1) {
		snprintf(err, errlen, g->timer == NULL ? "out of memory" :
		    "cannot build the prime table");
		/* A respawned worker of the serving generation needs its table. */
		if (master_table(&M.serving->cfg) == -1)
			log_error("cannot rebuild the prime table");
		master_gen_free(g);
		return -1;
	}
	log_set_level(cfg.log_level);
	g->state = GEN_STARTING;
	M.starting = g;
	evtimer_add(g->timer, &tv);
	for (i = 0; i < g->cfg.workers; i++)
		master_spawn(&g->procs[i]);
	return 0;
}

/* SIGHUP: start a generation with the configuration read again. */
static void
master_sighup(void)
{
	char	err[1024];

	if (M.stopping)
		return;
	if (M.starting != NULL) {
		log_warn("generation %d is still starting: SIGHUP ignored",
		    M.starting->num);
		return;
	}
	log_info("reloading");
	notify_reloading();
	if (master_reload(err, sizeof(err)) == -1)
		master_reload_failed(err);
}

/* The signalfd is readable: handle every signal waiting there. */
static void
master_signal(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo	si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			master_sigchld();
			break;
		case SIGHUP:
			master_sighup();
			break;
		default:
			master_stop(strsignal((int)si.ssi_signo));
			break;
		}
	}
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
	if (M.current->cfg.monitor) {
		printf("t=%llu requests/s=%llu open=%llu queued=%llu\n",
		    (unsigned long long)s.uptime_s, rate,
		    (unsigned long long)s.c[STAT_connections_open],
		    (unsigned long long)s.c[STAT_jobs_queued]);
		fflush(stdout);
	}
	/* A failed reload is said until one works, not for one second. */
	if (M.serving != NULL && !M.stopping && M.starting == NULL)
		notify_send("STATUS=%llu workers, %llu requests/s, %llu open%s%s",
		    (unsigned long long)s.workers, rate,
		    (unsigned long long)s.c[STAT_connections_open],
		    M.reload_error[0] ? "; last reload failed: " : "",
		    M.reload_error);
}

/* Set up the master's base, its signals and timers. */
static int
master_setup(void)
{
	struct timeval	sec = { 1, 0 };
	sigset_t	set;

	M.pid = getpid();
	if ((M.base = event_base_new()) == NULL)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (M.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -1;
	M.ev_sig = event_new(M.base, M.sigfd, EV_READ | EV_PERSIST,
	    master_signal, NULL);
	if (M.ev_sig == NULL || event_add(M.ev_sig, NULL) == -1)
		return -1;
	/* Workers take SIGUSR2 to retire; the master has no use for it. */
	signal(SIGUSR2, SIG_IGN);
	M.ev_kill = evtimer_new(M.base, master_kill_stragglers, NULL);
	M.ev_tick = event_new(M.base, -1, EV_PERSIST, master_tick, NULL);
	if (M.ev_kill == NULL || M.ev_tick == NULL ||
	    event_add(M.ev_tick, &sec) == -1)
		return -1;
	return 0;
}

/* Release what the master holds before it exits. */
static void
master_teardown(void)
{
	struct event	*evs[] = { M.ev_sig, M.ev_tick, M.ev_kill };
	size_t		 i;

	if (M.serving != NULL && M.serving->cfg.port_file[0] != '\0')
		unlink(M.serving->cfg.port_file);
	for (i = 0; i < MAX_GENS; i++)
		if (M.gens[i].state != GEN_FREE)
			master_gen_free(&M.gens[i]);
	sockets_close_all();
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (M.sigfd != -1)
		close(M.sigfd);
	if (M.base != NULL)
		event_base_free(M.base);
	stats_destroy(M.stats);
}

/* Run the server with cfg; argv is kept to re-read it on reload. */
int
master_main(struct config *cfg, int argc, char **argv)
{
	struct gen	*g;
	char		 err[1024];
	int		 i, rc;

	M.argc = argc;
	M.argv = argv;
	M.sigfd = -1;
	if ((M.stats = stats_create()) == NULL) {
		log_error("cannot map the stats region");
		return EXIT_CRASH;
	}
	g = master_gen_new();
	if ((rc = master_gen_prepare(g, cfg, err, sizeof(err))) != 0) {
		log_error("%s", err);
		master_teardown();
		return rc;
	}
	if (!g->priv.set && geteuid() == 0)
		log_warn("workers run as root: consider --user");
	if (master_setup() == -1 ||
	    (g->timer = evtimer_new(M.base, master_gen_timer, g)) == NULL) {
		log_error("cannot set up the event loop");
		master_teardown();
		return EXIT_CRASH;
	}
	g->state = GEN_STARTING;
	M.current = M.starting = g;
	for (i = 0; i < g->cfg.workers; i++)
		master_spawn(&g->procs[i]);
	event_base_dispatch(M.base);
	log_info("stopped");
	master_teardown();
	return M.exit_status;
}
