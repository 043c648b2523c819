/*
 * Latency histogram: log-linear buckets with a bounded relative error.
 *
 * Values below 256 have a bucket each, so they are exact. Above, each power
 * of two [2^k, 2^(k+1)) is cut into 128 equal buckets: a bucket is never
 * wider than 1/128 of the smallest value it holds, and its midpoint is within
 * 1/256 (0.4 %) of every value in it. Values up to HIST_LIMIT (2^36 - 1, about
 * 19 hours in microseconds) get their own bucket; larger ones share the last.
 * Count, sum, min and max are kept exactly, so the maximum reported is the
 * true one. Recording is a few shifts and an increment: no allocation, no
 * lock. Two histograms of the same layout merge by adding bucket counts, so
 * merging per-thread histograms equals one histogram of all the samples.
 */
#include "hist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SUB_BITS	7
#define HIST_SUB	(1u << HIST_SUB_BITS)		/* buckets per octave */
#define HIST_BITS	36				/* bits of HIST_LIMIT */
#define HIST_BUCKETS	((HIST_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t	count;
	uint64_t	sum;		/* saturates at UINT64_MAX */
	uint64_t	min;
	uint64_t	max;
	unsigned	top;		/* one past the highest bucket used */
	uint64_t	bucket[HIST_BUCKETS];
};

/* Index of the bucket holding v. */
static unsigned
hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v > HIST_LIMIT)
		v = HIST_LIMIT;
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* Smallest value of bucket i; its width goes to *width. */
static uint64_t
hist_lower(unsigned i, uint64_t *width)
{
	unsigned shift;

	if (i < 2 * HIST_SUB) {
		*width = 1;
		return i;
	}
	shift = i / HIST_SUB - 1;
	*width = UINT64_C(1) << shift;
	return (uint64_t)(i - shift * HIST_SUB) << shift;
}

/* A new, empty histogram, or NULL when out of memory. */
struct hist *
hist_new(void)
{
	struct hist *h;

	if ((h = malloc(sizeof(*h))) == NULL)
		return NULL;
	hist_reset(h);
	return h;
}

/* Free a histogram (NULL is fine). */
void
hist_free(struct hist *h)
{
	free(h);
}

/* Forget every sample. */
void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Record one sample. */
void
hist_record(struct hist *h, uint64_t v)
{
	hist_record_n(h, v, 1);
}

/* Record n samples of the same value. */
void
hist_record_n(struct hist *h, uint64_t v, uint64_t n)
{
	unsigned i;
	uint64_t add;

	if (n == 0)
		return;
	i = hist_index(v);
	h->bucket[i] += n;
	if (i >= h->top)
		h->top = i + 1;
	h->count += n;
	add = (v != 0 && n > UINT64_MAX / v) ? UINT64_MAX : v * n;
	h->sum = (h->sum > UINT64_MAX - add) ? UINT64_MAX : h->sum + add;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Add every sample of src into dst. */
void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	if (src->count == 0)
		return;
	for (i = 0; i < src->top; i++)
		dst->bucket[i] += src->bucket[i];
	if (src->top > dst->top)
		dst->top = src->top;
	dst->count += src->count;
	dst->sum = (dst->sum > UINT64_MAX - src->sum) ?
	    UINT64_MAX : dst->sum + src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Number of samples. */
uint64_t
hist_count(const struct hist *h)
{
	return h->count;
}

/* Smallest sample, exact (0 when empty). */
uint64_t
hist_min(const struct hist *h)
{
	return h->count ? h->min : 0;
}

/* Largest sample, exact (0 when empty). */
uint64_t
hist_max(const struct hist *h)
{
	return h->max;
}

/* Mean of the samples, exact up to the sum's saturation (0 when empty). */
double
hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

/*
 * The p-th percentile (0..100): the value of rank ceil(p/100 * count) in
 * sorted order, given as the midpoint of its bucket kept within [min, max];
 * p = 100 is the exact maximum, p = 0 the exact minimum, 0 when empty.
 */
uint64_t
hist_percentile(const struct hist *h, double p)
{
	double x;
	uint64_t rank, seen = 0, lower, width, v;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p <= 0.0)
		return h->min;
	x = p / 100.0 * (double)h->count;
	rank = (uint64_t)ceil(x - x * 4 * DBL_EPSILON);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < h->top; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	lower = hist_lower(i, &width);
	v = lower + width / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}
