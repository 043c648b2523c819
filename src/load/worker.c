/*
 * One thread of primed-load: its own event_base, its share of the
 * connections (connection i belongs to thread i % threads), its own results.
 *
 * Nothing on the hot path is shared: a worker records into its own
 * histograms and counters, and its base is created without locks. Once a
 * second, at t_start + k s, it hands the interval figures of second k to the
 * run under the run's lock; it also does so, lazily, before recording
 * anything past a boundary, so every completion lands in the second it
 * happened in even if the tick timer runs late. The only other shared state
 * is the request budget of a closed-loop -n run: one atomic counter.
 *
 * In an open loop, one timer per thread (the pump) wakes it once per tick
 * of its grid and hands every request released at that tick to its
 * connection; connections never arm a timer per request, as a wake-up is
 * what an open loop costs most.
 *
 * Phases: running -> stopping (window over, budget spent, or told 'S' by the
 * main thread: nothing new is sent, replies in flight are awaited, and the
 * end timer is armed again for the grace) -> done (every main connection
 * finished, the grace ran out, or told 'F'). Then whatever is outstanding
 * counts as timed out, the last, partial second is handed in, and the
 * thread ends. The main thread talks to a worker only through its pipe.
 */
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

static void	worker_begin_stop(struct worker *, uint64_t);

/* Arm a timer to fire at the monotonic time at_ns (at once if past). */
void
worker_arm(struct event *ev, uint64_t at_ns)
{
	uint64_t now = load_now(), us;
	struct timeval tv;

	us = at_ns > now ? (at_ns - now + NS_PER_US - 1) / NS_PER_US : 0;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(ev, &tv);
}

/* Stop for good: leave the loop after the current callback. */
static void
worker_done(struct worker *w)
{
	w->done = true;
	event_base_loopbreak(w->base);
}

/* Hand in every second that ended by now. */
static void
worker_roll(struct worker *w, uint64_t now)
{
	while (now >= w->next_tick) {
		run_publish(w->run, w->sec, &w->st, false);
		stats_ivl_reset(&w->st);
		w->sec++;
		w->next_tick += NS_PER_S;
	}
}

/* Open loop: when a request due at t is released (its tick). */
uint64_t
worker_release(const struct worker *w, uint64_t t)
{
	return sched_grid(w->grid0, w->opts->tick_ns, t);
}

/* Open loop: requests due up to the returned time are released by now. */
uint64_t
worker_released(const struct worker *w, uint64_t now)
{
	return sched_grid_floor(w->grid0, w->opts->tick_ns, now);
}

/* Was a request meant to go at t part of the measurement (after warmup)? */
bool
worker_measured(const struct worker *w, uint64_t t)
{
	return t >= w->run->warm_end;
}

/*
 * Closed loop: may a client send a new request now? Not once stopping or
 * past the window; with -n, a measured request must take one unit of the
 * budget shared by all threads.
 */
bool
worker_may_issue(struct worker *w, uint64_t now, bool *measured)
{
	struct run *r = w->run;
	uint64_t n = w->opts->requests;

	if (w->stopping)
		return false;
	if (now >= r->win_end) {
		worker_begin_stop(w, r->win_end);
		return false;
	}
	*measured = worker_measured(w, now);
	if (*measured && n != 0 && atomic_fetch_add_explicit(&r->issued, 1,
	    memory_order_relaxed) >= n) {
		worker_begin_stop(w, now);
		return false;
	}
	return true;
}

/* A reply came. */
void
worker_reply(struct worker *w, bool is_long, bool measured, uint64_t lat_us,
    int err, uint64_t now)
{
	worker_roll(w, now);
	stats_reply(&w->st, is_long, measured, lat_us, err, now);
}

/* An error without a reply. */
void
worker_error(struct worker *w, bool is_long, bool measured, enum load_err e,
    bool lost, uint64_t now)
{
	worker_roll(w, now);
	stats_error(&w->st, is_long, measured, e, lost, now);
}

/* A main client finished; the worker is done when all have. */
void
worker_client_done(struct worker *w)
{
	if (w->active > 0)
		w->active--;
	if (w->active == 0)
		worker_done(w);
}

/* Stop sending (the window ended at `at`) and give replies a grace period. */
static void
worker_begin_stop(struct worker *w, uint64_t at)
{
	if (w->stopping)
		return;
	w->stopping = true;
	if (w->opts->mode == MODE_OPEN)
		sched_cap(&w->sched, sched_count_before(&w->sched, at));
	worker_arm(w->ev_end, load_now() + w->run->grace_ns);
	event_active(w->ev_stopping, EV_TIMEOUT, 0);
}

/* Tell every client the run is stopping (outside any client callback). */
static void
worker_stopping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	unsigned i;

	for (i = 0; i < w->nclients && !w->done; i++)
		client_stop(w->clients[i]);
}

/*
 * Open loop: hand the requests that fell due since the last tick to their
 * connections (request k goes to connection k % C, which belongs to thread
 * k % C % T, at index k % C / T), then sleep until the tick of the next
 * one. One wake-up sends them all, each counted from the tick that
 * released it (see sched_grid).
 */
static void
worker_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	const struct sched *s = &w->sched;
	uint64_t now = load_now(), end, j, n, conn;
	unsigned T = w->run->nworkers;

	end = sched_count_before(s, worker_released(w, now) + 1);
	if (end > s->limit)
		end = s->limit;
	n = end - w->pump_k < s->nconn ? end - w->pump_k : s->nconn;
	for (j = 0; j < n && !w->done; j++) {
		conn = (w->pump_k + j) % s->nconn;
		if (conn % T == w->id)
			client_due(w->clients[conn / T], now);
	}
	w->pump_k = end;
	if (end < s->limit && !w->done)
		worker_arm(w->ev_pump, worker_release(w, sched_time(s, end)));
}

/* Once a second: hand in the second, and notice a spent -n budget. */
static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	uint64_t n = w->opts->requests;

	worker_roll(w, load_now());
	worker_arm(w->ev_tick, w->next_tick);
	if (n != 0 && w->opts->mode == MODE_CLOSED &&
	    atomic_load_explicit(&r->issued, memory_order_relaxed) >= n)
		worker_begin_stop(w, load_now());
}

/* The measurement window is over; or, once stopping, the grace period is:
 * what is still out is lost. */
static void
worker_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->stopping)
		worker_done(w);
	else
		worker_begin_stop(w, w->run->win_end);
}

/* A message from the main thread: 'S' stop now, 'F' finish now. */
static void
worker_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[16];
	ssize_t i, n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			if (buf[i] == 'S')
				worker_begin_stop(w, load_now());
			else if (buf[i] == 'F')
				worker_done(w);
		}
}

/* Send a message to the worker (main thread side). */
void
worker_tell(struct worker *w, char msg)
{
	ssize_t n;

	do
		n = write(w->pipe[1], &msg, 1);
	while (n == -1 && errno == EINTR);
}

/* Create the clients of this worker: its share of main and long ones. */
static int
worker_add_clients(struct worker *w)
{
	const struct load_opts *o = w->opts;
	unsigned i, nlong = o->long_request ? o->long_connections : 0;
	unsigned T = w->run->nworkers;

	w->clients = calloc(o->connections / T + nlong / T + 2,
	    sizeof(*w->clients));
	if (w->clients == NULL)
		return -1;
	for (i = w->id; i < o->connections; i += T) {
		if ((w->clients[w->nclients] = client_new(w, i, false)) == NULL)
			return -1;
		w->nclients++;
		w->active++;
	}
	for (i = w->id; i < nlong; i += T) {
		if ((w->clients[w->nclients] = client_new(w, i, true)) == NULL)
			return -1;
		w->nclients++;
	}
	return 0;
}

/* Create the worker's events. */
static int
worker_add_events(struct worker *w)
{
	w->ev_pipe = event_new(w->base, w->pipe[0], EV_READ | EV_PERSIST,
	    worker_pipe_cb, w);
	w->ev_tick = evtimer_new(w->base, worker_tick_cb, w);
	w->ev_end = evtimer_new(w->base, worker_end_cb, w);
	w->ev_stopping = event_new(w->base, -1, 0, worker_stopping_cb, w);
	w->ev_pump = evtimer_new(w->base, worker_pump_cb, w);
	if (w->ev_pipe == NULL || w->ev_tick == NULL || w->ev_end == NULL ||
	    w->ev_stopping == NULL || w->ev_pump == NULL)
		return -1;
	return 0;
}

/* A worker with its base and clients, not started; NULL on failure. */
struct worker *
worker_new(struct run *r, unsigned id)
{
	struct event_config *cfg;
	struct worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->id = id;
	w->run = r;
	w->opts = r->opts;
	w->pipe[0] = w->pipe[1] = -1;
	if ((cfg = event_config_new()) == NULL)
		goto fail;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK |
	    EVENT_BASE_FLAG_PRECISE_TIMER);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL || stats_init(&w->st) == -1 ||
	    pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) == -1 ||
	    worker_add_events(w) == -1 || worker_add_clients(w) == -1)
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

/* Free a worker that is not running (NULL is fine). */
void
worker_free(struct worker *w)
{
	unsigned i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nclients; i++)
		client_free(w->clients[i]);
	free(w->clients);
	if (w->ev_pipe)
		event_free(w->ev_pipe);
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_end)
		event_free(w->ev_end);
	if (w->ev_stopping)
		event_free(w->ev_stopping);
	if (w->ev_pump)
		event_free(w->ev_pump);
	if (w->pipe[0] != -1)
		close(w->pipe[0]);
	if (w->pipe[1] != -1)
		close(w->pipe[1]);
	stats_free(&w->st);
	if (w->base)
		event_base_free(w->base);
	free(w);
}

/* The thread: start everything, run the loop, settle what is left. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	uint64_t now;
	unsigned i;

	w->sched = r->sched;
	w->grid0 = r->t_start + w->opts->tick_ns * w->id / r->nworkers;
	w->next_tick = r->t_start + NS_PER_S;
	worker_arm(w->ev_tick, w->next_tick);
	if (r->win_end != LOAD_NEVER)
		worker_arm(w->ev_end, r->win_end);
	event_add(w->ev_pipe, NULL);
	if (w->opts->mode == MODE_OPEN)
		worker_arm(w->ev_pump, r->t_start);
	for (i = 0; i < w->nclients && !w->done; i++)
		client_start(w->clients[i]);
	if (!w->done)
		event_base_dispatch(w->base);
	now = load_now();
	for (i = 0; i < w->nclients; i++)
		client_abort(w->clients[i], now);
	worker_roll(w, now);
	run_publish(r, w->sec, &w->st, true);
	run_exited(r, w->id, w->sec);
	return NULL;
}

/* Start the thread; -1 on failure. */
int
worker_start(struct worker *w)
{
	int rv = pthread_create(&w->tid, NULL, worker_main, w);

	if (rv != 0) {
		errno = rv;
		return -1;
	}
	w->started = true;
	return 0;
}

/* Wait for the thread to end. */
void
worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->tid, NULL);
	w->started = false;
}
