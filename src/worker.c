/*
 * worker.c: the life of one worker process.
 *
 * Forked by the master with every signal blocked. It becomes --user, then
 * makes its own event base (never the master's), its compute pool and its
 * accepting listeners, unblocks signals and tells the master it is ready
 * by writing one byte on a pipe; it exits 78 if any of that fails. SIGTERM or SIGINT begins a graceful stop: stop accepting,
 * answer every request already read, refuse later ones, close, and exit 0
 * once the last connection is gone. SIGUSR2 (sent by the master once a new
 * generation accepts) retires the worker the same way, except that later
 * requests are left unread for the client to retry with the new generation.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

/*
 * Milliseconds on a cheap monotonic clock, for idle and read deadlines;
 * never 0, which marks "not set".
 */
int64_t
worker_now(struct worker *w)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

/* Index c by its fd, growing the table as fds grow. */
int
worker_add_conn(struct worker *w, struct conn *c)
{
	struct conn	**t;
	int		  n;

	if (c->fd >= w->nbyfd) {
		n = w->nbyfd ? w->nbyfd : 1024;
		while (n <= c->fd)
			n *= 2;
		if ((t = realloc(w->byfd, n * sizeof(*t))) == NULL)
			return -1;
		memset(t + w->nbyfd, 0, (n - w->nbyfd) * sizeof(*t));
		w->byfd = t;
		w->nbyfd = n;
	}
	w->byfd[c->fd] = c;
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
	return 0;
}

/* Forget c; the last one gone during a stop ends the loop. */
void
worker_del_conn(struct worker *w, struct conn *c)
{
	w->byfd[c->fd] = NULL;
	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* The connection on fd if it is still the one with this id. */
struct conn *
worker_find_conn(struct worker *w, int fd, uint64_t id)
{
	struct conn	*c;

	if (fd < 0 || fd >= w->nbyfd || (c = w->byfd[fd]) == NULL)
		return NULL;
	return c->id == id ? c : NULL;
}

/* Give c another turn at its buffered input soon. */
void
worker_resume(struct worker *w, struct conn *c)
{
	if (c->resume_queued)
		return;
	c->resume_queued = 1;
	TAILQ_INSERT_TAIL(&w->resume, c, resume_entry);
	w->nresume++;
	event_active(w->ev_resume, EV_READ, 1);
}

/* Each connection waiting for a turn gets one, in order. */
static void
worker_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;
	int		 n = w->nresume;

	while (n-- > 0 && (c = TAILQ_FIRST(&w->resume)) != NULL) {
		TAILQ_REMOVE(&w->resume, c, resume_entry);
		w->nresume--;
		c->resume_queued = 0;
		conn_process(c);
	}
	if (!TAILQ_EMPTY(&w->resume))
		event_active(w->ev_resume, EV_READ, 1);
}

/* Four times a second: close idle, slow and lingering connections. */
static void
worker_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c, *next;
	int64_t		 now = worker_now(w);

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_sweep(c, now);
	}
}

/*
 * SIGTERM, SIGINT: graceful stop. SIGUSR2: the same for a reload, where a
 * new generation takes over (see conn_drain). No more accepts; every
 * connection drains.
 */
static void
worker_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c, *next;
	int		 i;

	if (w->stopping)
		return;
	w->retiring = sig == SIGUSR2;
	log_info("%s, %d connections open", w->retiring ? "retiring" :
	    "stopping", w->nconns);
	w->stopping = 1;
	for (i = 0; i < w->nlisteners; i++)
		listener_stop(&w->listeners[i]);
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_drain(c);
	}
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* SIGHUP is the master's business; a worker only notes it. */
static void
worker_hup(evutil_socket_t sig, short what, void *arg)
{
	log_debug("SIGHUP ignored by workers");
}

/* Make the base, signals, pool and listeners; -1 on failure. */
static int
worker_setup(struct worker *w, const struct worker_spec *spec)
{
	struct timeval	 sweep = { 0, 250000 };
	int		 i;

	if ((w->base = event_base_new()) == NULL)
		return -1;
	w->ev_term = evsignal_new(w->base, SIGTERM, worker_stop, w);
	w->ev_int = evsignal_new(w->base, SIGINT, worker_stop, w);
	w->ev_hup = evsignal_new(w->base, SIGHUP, worker_hup, w);
	w->ev_usr2 = evsignal_new(w->base, SIGUSR2, worker_stop, w);
	w->ev_sweep = event_new(w->base, -1, EV_PERSIST, worker_sweep, w);
	w->ev_resume = event_new(w->base, -1, 0, worker_resume_cb, w);
	if (w->ev_term == NULL || w->ev_int == NULL || w->ev_hup == NULL ||
	    w->ev_usr2 == NULL || w->ev_sweep == NULL || w->ev_resume == NULL)
		return -1;
	evsignal_add(w->ev_usr2, NULL);
	evsignal_add(w->ev_term, NULL);
	evsignal_add(w->ev_int, NULL);
	evsignal_add(w->ev_hup, NULL);
	event_add(w->ev_sweep, &sweep);
	if (w->cfg->compute == COMPUTE_POOL && (w->queue = queue_create(
	    w->base, w->cfg->threads, w->cfg->queue_limit, w->cfg->pool_nice,
	    w->st, command_job_done, w)) == NULL)
		return -1;
	for (i = 0; i < spec->nfds; i++) {
		if (listener_start(w, &w->listeners[i], spec->lc[i],
		    spec->fds[i]) == -1)
			return -1;
		w->nlisteners++;
	}
	return 0;
}

/* Free what worker_setup made (connections are all closed by now). */
static void
worker_teardown(struct worker *w)
{
	struct event	*evs[] = { w->ev_term, w->ev_int, w->ev_hup,
			    w->ev_usr2, w->ev_sweep, w->ev_resume };
	size_t		 i;

	queue_destroy(w->queue);
	for (i = 0; i < (size_t)w->nlisteners; i++)
		listener_stop(&w->listeners[i]);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	free(w->byfd);
	if (w->base != NULL)
		event_base_free(w->base);
}

/* Run worker spec until it is stopped; never returns. */
void
worker_main(const struct config *cfg, struct stats *stats,
    const struct worker_spec *spec)
{
	struct worker	 w;
	sigset_t	 none;
	char		 name[32];

	snprintf(name, sizeof(name), "primed worker %d", spec->id);
	log_set_name(name);
	/* Nothing below runs as the master's user; failing here will recur. */
	if (priv_drop(&spec->priv) == -1)
		_exit(EXIT_CONFIG);
	/*
	 * Follow the master: if it dies, stop gracefully. Set after the
	 * switch of user, which clears it; a master already gone by then
	 * sends nothing, so look.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
	    getppid() != spec->master)
		_exit(EXIT_OK);

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.stats = stats;
	w.st = &stats->slot[spec->stats_slot];
	w.id = spec->id;
	TAILQ_INIT(&w.conns);
	TAILQ_INIT(&w.resume);
	/* No base, thread or socket now means none on the next try either. */
	if (worker_setup(&w, spec) == -1) {
		log_error("setup failed");
		_exit(EXIT_CONFIG);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (write(spec->readyfd, "R", 1) != 1)
		log_warn("cannot tell the master: %s", strerror(errno));
	close(spec->readyfd);
	log_debug("accepting (generation %d)", spec->gen);

	event_base_dispatch(w.base);

	worker_teardown(&w);
	log_debug("exiting");
	exit(EXIT_OK);
}
