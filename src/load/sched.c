/*
 * The open-loop schedule: when each request is meant to be sent.
 *
 * Requests are numbered k = 0, 1, 2 ... over the whole run and request k is
 * due at exactly start + k/rate, whatever happens to earlier ones: the
 * schedule never waits for the server. Request k belongs to connection
 * k % nconn, so each connection sends every nconn-th request and the union
 * over all connections (and all threads, which own disjoint connections)
 * is one evenly spaced stream.
 *
 * Coordinated omission: a request that could not go out on time (its
 * connection was busy, reconnecting, or the whole client was stalled) keeps
 * its intended time, and its latency is measured from that time, not from
 * when it was finally written. A stalled server therefore shows up as the
 * latencies of every request that should have been sent during the stall,
 * not as one slow request followed by a silence nobody measured.
 */
#include "sched.h"

/* A schedule of rate requests per second from start_ns, spread over nconn
 * connections, unlimited until capped. */
void
sched_init(struct sched *s, uint64_t start_ns, double rate, uint32_t nconn)
{
	s->start_ns = start_ns;
	s->rate = rate;
	s->nconn = nconn ? nconn : 1;
	s->limit = SCHED_NONE;
}

/* Intended time of request k (nanoseconds, same clock as start). */
uint64_t
sched_time(const struct sched *s, uint64_t k)
{
	return s->start_ns + (uint64_t)((long double)k * 1e9L / s->rate);
}

/* How many requests are due strictly before time t. */
uint64_t
sched_count_before(const struct sched *s, uint64_t t)
{
	uint64_t k;

	if (t <= s->start_ns)
		return 0;
	k = (uint64_t)((long double)(t - s->start_ns) * s->rate / 1e9L);
	while (k > 0 && sched_time(s, k - 1) >= t)
		k--;
	while (sched_time(s, k) < t)
		k++;
	return k;
}

/* Never send request number limit or later. */
void
sched_cap(struct sched *s, uint64_t limit)
{
	if (limit < s->limit)
		s->limit = limit;
}

/* Intended time of the cursor's next request, SCHED_NONE past the limit. */
uint64_t
sched_peek(const struct sched *s, const struct sched_cursor *c)
{
	uint64_t k = c->conn + c->m * s->nconn;

	if (c->conn >= s->nconn || k >= s->limit)
		return SCHED_NONE;
	return sched_time(s, k);
}

/*
 * Take the cursor's next request if it is due at or before now: returns 1,
 * its intended time in *intended, and advances. Otherwise returns 0 and
 * *intended is when the next one falls due (SCHED_NONE if never).
 */
int
sched_next(const struct sched *s, struct sched_cursor *c, uint64_t now,
    uint64_t *intended)
{
	uint64_t t = sched_peek(s, c);

	*intended = t;
	if (t == SCHED_NONE || t > now)
		return 0;
	c->m++;
	return 1;
}

/* Latency of a request meant to go at intended, answered at done: the
 * wait for a busy connection is part of it. */
uint64_t
sched_latency_ns(uint64_t intended, uint64_t done)
{
	return done > intended ? done - intended : 0;
}

/*
 * Ticks: the open loop releases its requests in batches, on a grid of
 * instants origin + j * tick (j any integer). A request due at t is
 * released at the first tick at or after t, and that is its intended send
 * time; one wake-up sends every request released at a tick, instead of a
 * wake-up per request. A tick of 0 releases each request at its own time.
 */

/* The first tick at or after t (t itself when tick is 0). */
uint64_t
sched_grid(uint64_t origin, uint64_t tick, uint64_t t)
{
	if (tick == 0)
		return t;
	if (t >= origin)
		return origin + (t - origin + tick - 1) / tick * tick;
	return origin - (origin - t) / tick * tick;
}

/* The last tick at or before t (t itself when tick is 0). */
uint64_t
sched_grid_floor(uint64_t origin, uint64_t tick, uint64_t t)
{
	uint64_t up = sched_grid(origin, tick, t);

	return up > t ? up - tick : up;
}
