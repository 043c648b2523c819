/*
 * primed-load: the open-loop schedule (sched.c). Pure: times are passed in.
 */
#ifndef LOAD_SCHED_H
#define LOAD_SCHED_H

#include <stdint.h>

#define SCHED_NONE	UINT64_MAX	/* "no such request" time */

/* Request k of the whole run is due at start + k/rate; it belongs to
 * connection k % nconn. Requests with k >= limit are never sent. */
struct sched {
	uint64_t	start_ns;
	double		rate;		/* requests per second, all connections */
	uint32_t	nconn;
	uint64_t	limit;
};

/* Where one connection is in its share of the schedule. */
struct sched_cursor {
	uint32_t	conn;
	uint64_t	m;		/* its next request is number conn + m*nconn */
};

void		 sched_init(struct sched *, uint64_t, double, uint32_t);
uint64_t	 sched_time(const struct sched *, uint64_t);
uint64_t	 sched_count_before(const struct sched *, uint64_t);
void		 sched_cap(struct sched *, uint64_t);
uint64_t	 sched_peek(const struct sched *, const struct sched_cursor *);
int		 sched_next(const struct sched *, struct sched_cursor *, uint64_t,
		    uint64_t *);
uint64_t	 sched_latency_ns(uint64_t, uint64_t);
uint64_t	 sched_grid(uint64_t, uint64_t, uint64_t);
uint64_t	 sched_grid_floor(uint64_t, uint64_t, uint64_t);

#endif /* LOAD_SCHED_H */
