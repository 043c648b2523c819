/*
 * What a connection sends and when: one table of operations per way of
 * sending (struct feed in client.h).
 *
 *   closed   keep `pipeline` requests in flight, the next one leaves when a
 *            reply comes; latency counts from the send;
 *   open     send each request of the connection's share of the schedule
 *            (sched.c) once its intended time has come and a slot is free;
 *            latency counts from the intended time;
 *   long     one long request at a time from --long-at on, counted apart,
 *            no --expect, its own timeout; never ends the worker;
 *   oneshot  connect, send once, the reply ends the connection; latency
 *            counts from the start of the connect;
 *   idle     connect, send nothing, hold the connection until the run
 *            stops; a connection that fails or is closed is not reopened.
 */
#include "client.h"

#include <event2/event.h>

/* A main client with nothing in flight and nothing left to send is done.
 * One reconnecting to send its requests in flight again is not. */
static void
feed_check_done(struct client *c)
{
	if (c->state == C_DONE || c->n > 0 || c->feed->wants(c))
		return;
	client_finish(c);
}

/* The run ended: each main request in flight is a timeout. */
static void
feed_main_end(struct client *c, uint64_t now)
{
	for (; c->n > 0; c->n--, c->head = (c->head + 1) % c->cap)
		worker_error(c->w, false, c->ring[c->head].measured,
		    LERR_TIMEOUT, true, now);
}

/* Nothing to do. */
static void
feed_nothing(struct client *c)
{
}

/* Closed loop: fill the pipeline while the run allows new requests. */
static void
feed_closed_refill(struct client *c, uint64_t now)
{
	bool measured;

	while (c->state == C_UP && c->n < c->cap) {
		if (!worker_may_issue(c->w, now, &measured)) {
			c->exhausted = true;
			break;
		}
		if (!client_send(c, now, measured))
			return;
	}
	feed_check_done(c);
}

/* Closed loop: work is left until the run stops or the budget is spent. */
static bool
feed_closed_wants(const struct client *c)
{
	return !c->exhausted && !c->w->stopping;
}

/* Closed loop: send nothing new. */
static void
feed_closed_stop(struct client *c)
{
	c->exhausted = true;
	feed_check_done(c);
}

/* Open loop: send every request released by now (sched_grid) while a slot
 * is free, each counted from its release; the rest go when a reply frees a
 * slot or when the worker's pump releases them. */
void
feed_pump(struct client *c, uint64_t now)
{
	struct worker *w = c->w;
	uint64_t t, at, released = worker_released(w, now);

	while (c->state == C_UP && c->n < c->cap &&
	    sched_next(&w->sched, &c->cur, released, &t)) {
		at = worker_release(w, t);
		if (at + c->timeout_ns <= now) {
			client_expired(c, t, now);
			continue;
		}
		if (!client_send(c, at, worker_measured(w, t)))
			return;
	}
	if (c->state == C_UP)
		feed_check_done(c);
}

/* Open loop: work is left while the schedule has requests for us. */
static bool
feed_open_wants(const struct client *c)
{
	return sched_peek(&c->w->sched, &c->cur) != SCHED_NONE;
}

/* Open loop: the schedule was capped; send what is due, then finish. */
static void
feed_open_stop(struct client *c)
{
	if (c->state == C_UP) {
		feed_pump(c, load_now());
		client_flush(c);
	}
	feed_check_done(c);
}

/* Open loop, run ended: in flight are timeouts, and so are the requests
 * of the schedule that were due but never went out. */
static void
feed_open_end(struct client *c, uint64_t now)
{
	uint64_t t;

	feed_main_end(c, now);
	while (sched_next(&c->w->sched, &c->cur, now, &t))
		client_expired(c, t, now);
}

/* Long: wait for --long-at. */
static void
feed_long_start(struct client *c)
{
	c->state = C_IDLE;
	worker_arm(c->ev_timer, c->w->run->long_start);
}

/* Long: one at a time, until the run stops. */
static void
feed_long_refill(struct client *c, uint64_t now)
{
	if (c->n > 0)
		return;
	if (!c->w->stopping)
		(void)client_send(c, now, true);
	else
		client_retry(c, 0);
}

/* Long: work is left until the run stops. */
static bool
feed_long_wants(const struct client *c)
{
	return !c->w->stopping;
}

/* Long: the one in flight may finish; an idle one closes now. */
static void
feed_long_stop(struct client *c)
{
	if (c->n == 0)
		client_finish(c);
}

/* Long, run ended: the one in flight is abandoned, not an error. */
static void
feed_long_end(struct client *c, uint64_t now)
{
	c->w->st.long_abandoned += c->n;
	c->n = 0;
}

/* One shot: the request leaves with the connection. */
static void
feed_oneshot_up(struct client *c, uint64_t now)
{
	(void)client_send(c, c->conn_t0, true);
}

/* One shot: the reply ends the connection. */
static void
feed_oneshot_more(struct client *c, uint64_t now)
{
	client_finish(c);
}

/* One shot and idle: nothing to send once the connection is gone. */
static bool
feed_never(const struct client *c)
{
	return false;
}

/* One shot, run ended: a connect still under way failed. */
static void
feed_oneshot_end(struct client *c, uint64_t now)
{
	if (c->state == C_CONNECTING)
		worker_error(c->w, false, true, LERR_CONNECT, false, now);
	feed_main_end(c, now);
}

/* Idle: count the connection, send nothing. */
static void
feed_idle_up(struct client *c, uint64_t now)
{
	c->w->st.connected++;
}

/* Idle: no request, so no reply comes that is not malformed. */
static void
feed_idle_more(struct client *c, uint64_t now)
{
}

static const struct feed feed_closed = {
	true, true, true, client_connect, feed_closed_refill,
	feed_closed_refill, feed_closed_wants, feed_closed_stop, feed_main_end
};
static const struct feed feed_open = {
	true, true, true, client_connect, feed_pump, feed_pump,
	feed_open_wants, feed_open_stop, feed_open_end
};
static const struct feed feed_long = {
	false, true, false, feed_long_start, feed_long_refill,
	feed_long_refill, feed_long_wants, feed_long_stop, feed_long_end
};
static const struct feed feed_oneshot = {
	false, false, true, client_connect, feed_oneshot_up,
	feed_oneshot_more, feed_never, feed_nothing, feed_oneshot_end
};
static const struct feed feed_idle = {
	false, false, true, client_connect, feed_idle_up,
	feed_idle_more, feed_never, client_finish, feed_main_end
};

/* The feed of a main client of this run, or of a long one. */
const struct feed *
feed_for(const struct load_opts *o, bool is_long)
{
	static const struct feed *bymode[] = {
		[MODE_CLOSED] = &feed_closed, [MODE_OPEN] = &feed_open,
		[MODE_ONESHOT] = &feed_oneshot, [MODE_IDLE] = &feed_idle
	};

	return is_long ? &feed_long : bymode[o->mode];
}
