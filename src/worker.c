/*
 * worker.c: the life of one worker process.
 *
 * Forked by the master with every signal blocked. It becomes --user, then
 * makes its own event base (never the master's), its compute pool and its
 * accepting listeners, unblocks signals and tells the master it is ready
 * by writing one byte on a pipe; it exits 78 if any of that fails.
 * SIGTERM or SIGINT begins a graceful stop: drain for --drain-delay (serve
 * on, but tell load balancers it is going), then stop accepting, answer
 * every request already read, refuse later ones, close, and exit 0 once
 * the last connection is gone. SIGUSR2 (sent by the master once a new
 * generation accepts) retires the worker the same way, except that later
 * requests are left unread for the client to retry with the new
 * generation.
 *
 * Connections closed during a turn are freed at the start of the next one
 * (worker_reap), so nothing up the stack of the closing call can touch
 * freed memory.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/epoll.h>
#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

#define SHED_PER_SWEEP	64	/* connections closed for memory, at most */

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

/* Count c among the worker's connections. */
void
worker_add_conn(struct worker *w, struct conn *c)
{
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
}

/*
 * c is closed: keep its memory until the loop turns (a caller up the stack
 * may still look at it), then free it. The last one gone during a stop
 * ends the loop.
 */
void
worker_del_conn(struct worker *w, struct conn *c)
{
	TAILQ_REMOVE(&w->conns, c, entry);
	TAILQ_INSERT_TAIL(&w->dead, c, entry);
	w->nconns--;
	event_active(w->ev_reap, EV_READ, 1);
	worker_check_done(w);
}

/* During a stop, the last connection gone (of any service) ends the loop. */
void
worker_check_done(struct worker *w)
{
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* Free the connections closed since the last turn. */
static void
worker_reap(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;

	while ((c = TAILQ_FIRST(&w->dead)) != NULL) {
		TAILQ_REMOVE(&w->dead, c, entry);
		conn_free(c);
	}
}

/*
 * Run the turn list after the next poll. A timer of zero, not
 * event_active: an event activated from inside the loop runs in the same
 * pass, so connections that keep queueing themselves would keep the loop
 * from polling, and accepts, timers, finished jobs and hangups would wait.
 */
static void
worker_arm_resume(struct worker *w)
{
	static const struct timeval	now = { 0, 0 };

	if (!evtimer_pending(w->ev_resume, NULL))
		evtimer_add(w->ev_resume, &now);
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
	stats_add(w->slot, STAT_connections_waiting, 1);
	worker_arm_resume(w);
}

/* Take c off the list of connections waiting for a turn. */
void
worker_unresume(struct worker *w, struct conn *c)
{
	if (!c->resume_queued)
		return;
	c->resume_queued = 0;
	TAILQ_REMOVE(&w->resume, c, resume_entry);
	w->nresume--;
	stats_sub(w->slot, STAT_connections_waiting, 1);
}

/*
 * Each connection waiting for a turn gets one, in order; those that queue
 * themselves again wait for the next round, after the next poll.
 */
static void
worker_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;
	int		 n = w->nresume;

	while (n-- > 0 && (c = TAILQ_FIRST(&w->resume)) != NULL) {
		worker_unresume(w, c);
		conn_progress(c);
	}
	if (!TAILQ_EMPTY(&w->resume))
		worker_arm_resume(w);
}

/*
 * Watch a socket for a reset or hangup while nobody reads it. The watch is
 * an epoll set of its own, edge-triggered: epoll always reports errors
 * and hangups, and events adds what else counts as the client leaving
 * (EPOLLRDHUP for HTTP, where a half-close means the client is gone); new
 * bytes from a pipelining client cost no wakeup. A socket stays in the set
 * until its owner closes it (a reset while reading is found by the read
 * anyway).
 */
int
worker_watch(struct worker *w, struct watch *wt, int events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLET | (uint32_t)events;
	ev.data.ptr = wt;
	if (epoll_ctl(w->hangupfd, EPOLL_CTL_ADD, wt->fd, &ev) == -1)
		return -1;
	wt->on = 1;
	return 0;
}

/* Stop watching a socket (before it is closed). */
void
worker_unwatch(struct worker *w, struct watch *wt)
{
	if (!wt->on)
		return;
	wt->on = 0;
	if (epoll_ctl(w->hangupfd, EPOLL_CTL_DEL, wt->fd, NULL) == -1)
		log_warn("epoll_ctl: %s", strerror(errno));
}

/* The watch set has news: tell each owner its client is gone. */
static void
worker_hangup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 evs[64];
	struct watch		*wt;
	int			 n, i;

	n = epoll_wait(w->hangupfd, evs, 64, 0);
	for (i = 0; i < n; i++) {
		wt = evs[i].data.ptr;
		if (wt->on)
			wt->hangup(wt);
	}
}

/*
 * On the loop: a job came back from the pool. Its owner gets the result;
 * a job nobody waits for any more (the client left, the job timed out) is
 * dropped here.
 */
static void
worker_job_done(struct job *job, void *arg)
{
	if (job->owner == NULL) {
		free(job);
		return;
	}
	job->done(job);
}

/*
 * What the worker holds for its clients grew (or shrank) by delta bytes:
 * replies (STAT_reply_bytes) or requests read and not yet taken
 * (STAT_input_bytes). Both count against the cap.
 */
void
worker_held(struct worker *w, enum stat_counter what, ssize_t delta)
{
	w->held += delta;
	if (delta >= 0)
		stats_add(w->slot, what, (uint64_t)delta);
	else
		stats_sub(w->slot, what, (uint64_t)-delta);
}

/* True when what the worker holds for clients passes its cap. */
int
worker_over_memory(struct worker *w)
{
	return w->cfg->reply_memory_mb > 0 &&
	    w->held > (size_t)w->cfg->reply_memory_mb << 20;
}

/*
 * Over the reply memory cap: close the connections that hold the most,
 * biggest first, until under it again (a bounded number per sweep, so an
 * attack costs the loop a bounded amount of work).
 */
static void
worker_shed(struct worker *w)
{
	struct conn	*c, *big;
	int		 n;

	for (n = 0; n < SHED_PER_SWEEP && worker_over_memory(w); n++) {
		big = NULL;
		TAILQ_FOREACH(c, &w->conns, entry)
			if (big == NULL || conn_holds(c) > conn_holds(big))
				big = c;
		if (big == NULL || conn_holds(big) == 0)
			break;
		conn_shed(big);
	}
}

/* The HTTP Date of this second, formatted when the second changes. */
static void
worker_date(struct worker *w)
{
	time_t	now = time(NULL);

	if (now == w->date_sec)
		return;
	w->date_sec = now;
	http_date(w->date, sizeof(w->date));
}

/*
 * Four times a second: close idle, slow and lingering connections, keep
 * the Date header current, and show the loop alive in the stats slot.
 */
static void
worker_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c, *next;
	int64_t		 now = worker_now(w);

	stats_beat(w->slot, w->queue != NULL ? queue_oldest(w->queue) : 0);
	worker_date(w);
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_sweep(c, now);
	}
	worker_shed(w);
}

/* Stop accepting, and let every connection finish what it was asked. */
static void
worker_stop_accepting(struct worker *w)
{
	struct conn	*c, *next;
	int		 i;

	if (w->stopping)
		return;
	log_info("%s, %d connections open", w->retiring ? "retiring" :
	    "stopping", w->nconns);
	w->stopping = 1;
	if (w->ev_drain != NULL)
		event_del(w->ev_drain);
	for (i = 0; i < w->nlisteners; i++)
		listener_stop(&w->listeners[i]);
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_stop(c);
	}
	worker_check_done(w);
}

/* Timer: the drain delay is over. */
static void
worker_drain_done(evutil_socket_t fd, short what, void *arg)
{
	worker_stop_accepting(arg);
}

/*
 * SIGTERM, SIGINT: graceful stop. SIGUSR2: the same for a reload, where a
 * new generation takes over (see conn_stop). On a stop the worker first
 * drains: for --drain-delay it says it is going (readiness fails, PING
 * answers ERR shutting-down) but goes on accepting and serving, so that a
 * load balancer takes it out of rotation before any connection is
 * refused. Then it stops accepting and every connection finishes. A
 * second SIGTERM or SIGINT cuts the delay short. A retired worker stops
 * accepting at once: the new generation accepts on the same sockets.
 */
static void
worker_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	struct timeval	 tv;
	int		 ms = w->cfg->drain_delay_ms;

	if (w->draining || w->retiring) {
		if (sig != SIGUSR2)
			worker_stop_accepting(w);
		return;
	}
	/*
	 * A retired generation's successor already accepts on the same
	 * sockets and says it is ready: draining here too would only make
	 * readiness checks that land on the old workers fail.
	 */
	w->retiring = sig == SIGUSR2;
	w->draining = !w->retiring;
	if (ms <= 0 || w->retiring) {
		worker_stop_accepting(w);
		return;
	}
	log_info("draining for %d ms", ms);
	tv = ms_tv(ms);
	if ((w->ev_drain = evtimer_new(w->base, worker_drain_done, w)) ==
	    NULL || evtimer_add(w->ev_drain, &tv) == -1)
		worker_stop_accepting(w);
}

/* SIGHUP is the master's business; a worker only notes it. */
static void
worker_hup(evutil_socket_t sig, short what, void *arg)
{
	log_debug("SIGHUP ignored by workers");
}

/* Make the base, signals, pool, hangup watch and listeners; -1 on failure. */
static int
worker_setup(struct worker *w, const struct worker_spec *spec)
{
	struct timeval	 sweep = { 0, 250000 };
	int		 i;

	if ((w->base = event_base_new()) == NULL)
		return -1;
	if ((w->hangupfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	w->ev_term = evsignal_new(w->base, SIGTERM, worker_stop, w);
	w->ev_int = evsignal_new(w->base, SIGINT, worker_stop, w);
	w->ev_hup = evsignal_new(w->base, SIGHUP, worker_hup, w);
	w->ev_usr2 = evsignal_new(w->base, SIGUSR2, worker_stop, w);
	w->ev_sweep = event_new(w->base, -1, EV_PERSIST, worker_sweep, w);
	w->ev_resume = event_new(w->base, -1, 0, worker_resume_cb, w);
	w->ev_reap = event_new(w->base, -1, 0, worker_reap, w);
	w->ev_hangup = event_new(w->base, w->hangupfd, EV_READ | EV_PERSIST,
	    worker_hangup_cb, w);
	if (w->ev_term == NULL || w->ev_int == NULL || w->ev_hup == NULL ||
	    w->ev_usr2 == NULL || w->ev_sweep == NULL || w->ev_resume == NULL ||
	    w->ev_reap == NULL || w->ev_hangup == NULL)
		return -1;
	evsignal_add(w->ev_usr2, NULL);
	evsignal_add(w->ev_term, NULL);
	evsignal_add(w->ev_int, NULL);
	evsignal_add(w->ev_hup, NULL);
	event_add(w->ev_sweep, &sweep);
	stats_beat(w->slot, 0);		/* alive from the start, not the sweep */
	event_add(w->ev_hangup, NULL);
	if (w->cfg->compute == COMPUTE_POOL && (w->queue = queue_create(
	    w->base, w->cfg->threads, w->cfg->queue_limit, w->cfg->pool_nice,
	    w->slot, worker_job_done, w)) == NULL)
		return -1;
	if (w->queue != NULL)
		queue_set_order(w->queue, w->cfg->pool_order, w->cfg->slice_ms);
	worker_date(w);
	for (i = 0; i < spec->nfds; i++) {
		if (listener_start(w, &w->listeners[i], spec->lc[i],
		    spec->fds[i], conn_accept) == -1)
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
			    w->ev_usr2, w->ev_sweep, w->ev_resume, w->ev_reap,
			    w->ev_hangup, w->ev_drain };
	size_t		 i;

	for (i = 0; i < (size_t)w->nlisteners; i++)
		listener_stop(&w->listeners[i]);
	queue_destroy(w->queue);
	worker_reap(-1, 0, w);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (w->hangupfd != -1)
		close(w->hangupfd);
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
	w.slot = stats_slot_use(stats, spec->stats_slot);
	atomic_store(&w.slot->pid, (int64_t)getpid());
	atomic_store(&w.slot->worker, spec->id);
	w.id = spec->id;
	w.hangupfd = -1;
	TAILQ_INIT(&w.conns);
	TAILQ_INIT(&w.dead);
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
