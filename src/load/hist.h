/*
 * primed-load: latency histogram with a bounded relative error (hist.c).
 * Pure: no clock, no I/O, no libevent; one owner at a time.
 */
#ifndef LOAD_HIST_H
#define LOAD_HIST_H

#include <stdint.h>

/* Values up to HIST_LIMIT keep their relative error bound; above, they share
 * the last bucket (min, max, sum and count stay exact). */
#define HIST_LIMIT	((UINT64_C(1) << 36) - 1)

struct hist;

struct hist	*hist_new(void);
void		 hist_free(struct hist *);
void		 hist_reset(struct hist *);
void		 hist_record(struct hist *, uint64_t);
void		 hist_record_n(struct hist *, uint64_t, uint64_t);
void		 hist_merge(struct hist *, const struct hist *);
uint64_t	 hist_count(const struct hist *);
uint64_t	 hist_min(const struct hist *);
uint64_t	 hist_max(const struct hist *);
double		 hist_mean(const struct hist *);
uint64_t	 hist_percentile(const struct hist *, double);

#endif /* LOAD_HIST_H */
