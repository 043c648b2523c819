/*
 * prime.c: the prime kernels.  Pure CPU: no libevent, no locks, no shared
 * mutable state except the prime table, which the master fills once before
 * fork and everyone reads afterwards.
 *
 * DESIGN of the sieve (prime_nth_sieve, prime_table_init)
 *
 * Layout.  Numbers are kept on a mod-30 wheel: byte i of the sieve stands
 * for the eight numbers 30i + {1, 7, 11, 13, 17, 19, 23, 29}, one bit each,
 * lowest bit first, so every byte covers 30 numbers and multiples of 2, 3
 * and 5 are never stored.  A set bit means "still a prime candidate".
 *
 * Crossing off.  Write a sieving prime as p = 30a + r and its multiples as
 * p * q with q = 30t + s, s on the wheel.  Multiple p * q lies in byte
 * p*t + a*s + (r*s)/30 at the bit of residue (r*s) mod 30.  So for a fixed
 * p the multiples come in "windows" of p bytes holding eight crossings at
 * fixed offsets with fixed masks, and those depend only on a and r.  The
 * crossing loop is therefore compiled once per residue class r (eight
 * copies, masks and carries as constants) and each class keeps its own list
 * of primes, so the hot loop never branches on the class.  A prime's state
 * is just the offset of its next multiple and its position (0..7) in the
 * window; multiples start at p * p.
 *
 * Segments.  The range is sieved in segments of SIEVE_SEGMENT bytes (128
 * KiB, sized for L2: 3.9 million numbers), each handled in chunks of
 * SIEVE_CHUNK bytes (32 KiB, sized for L1).  Per chunk: copy the presieve
 * pattern, then cross off the small primes (p < SMALL_LIMIT: dozens of
 * windows per chunk).  Per segment, once its chunks are done, the larger
 * primes sweep the whole segment: the bookkeeping of a prime (load its
 * state, finish the window it stopped in, start the one it stops in) costs
 * about as much as a few crossings, and is paid once per segment instead of
 * once per chunk.  Moving the split from 32768 down to 4096 and the
 * crossings of the larger primes out to L2 made the sieve 15-20% faster.
 * Primes from SPARSE_LIMIT up hit a segment fewer than 16 times: they skip
 * the unrolled window and step one multiple at a time through a small
 * table, which is cheaper to enter and leave.  No bucket sieve: up to
 * n ~ 1e10 the largest sieving prime (~500,000) still hits every segment
 * twice or more, so every prime would be in every bucket anyway.
 *
 * Presieve.  Multiples of 7..59 are not crossed off one by one: the
 * multiples of a group of primes repeat with the product of the primes as
 * period (in bytes), so each group's pattern is built once per call and
 * every chunk is the AND of the groups' patterns at the right phase.  The
 * first chunk then gets its presieved primes set back and 1 cleared.  A
 * pattern costs as much to build as sieving one period by hand, so a short
 * sieve (small n) uses only the groups whose period fits twice in it and
 * crosses off the other primes the ordinary way.
 *
 * Counting.  Each finished segment is counted with popcount; the segment
 * where the running count reaches n is scanned word by word, then byte by
 * byte, then bit by bit for the exact prime.  Counting always starts at 0,
 * so the answer is exact; an upper bound of p_n only bounds the list of
 * sieving primes, which are activated as the segments pass their squares.
 *
 * Memory.  The list of sieving primes grows with the sieve, not with n: it
 * holds the primes up to twice the square root of how far the sieve has
 * come (sieve_grow, called as segments need more), so a run holds 8 bytes
 * per prime below about 2 sqrt(x) after sieving up to x, plus its segment
 * and presieve patterns (under 0.5 MiB).  Listing them all up front made a
 * run for n = 10^15 hold 85 MiB before its first segment, and a stopped
 * run keeps its state: many such jobs took a worker past 1 GiB.  Now the
 * memory follows the work done, which the job timeout bounds.
 *
 * Everything lives in a struct sieve allocated per run: the kernel is
 * re-entrant and safe from any thread.  The stop flag is read at every
 * segment boundary (under a millisecond of work).
 *
 * The trial kernel is the lesson's algorithm kept on purpose as the slow,
 * CPU-bound workload: every i from 2 up, divided by every d in 2 .. i/2
 * until one divides it.  Its cost grows as the square of the answer.  Its
 * stop flag is read every TRIAL_CHECK divisions (tens of microseconds).
 *
 * Stopping and going on.  Both kernels run from a struct prime_state and
 * can stop at those points and be called again later to go on where they
 * stopped: the sieve keeps its buffers, the segment it is at and the count
 * below it; the trial kernel keeps the candidate, its next divisor and the
 * count below it.  The hot loops only read one flag (relaxed atomic), as
 * the cancel check always did; when it is set, the caller's stop function
 * decides (cancelled, or a time slice used up with cheaper work waiting,
 * queue.c) and may clear it and let the kernel go on.  Counting always
 * goes on from exact state, so a run cut into any number of slices gives
 * the same answer as one run.
 *
 * The count kernel is libprimecount's nth prime (combinatorial prime
 * counting and a short sieve, O(x^(2/3) / log^2 x)) when primed is built
 * with it: one library call that cannot be stopped part-way.  It runs on
 * one thread per call, set once (pthread_once) before the first call; the
 * pool threads are the parallelism.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_PRIMECOUNT
#include <primecount.h>
#endif

#include "primed.h"

#define SIEVE_CHUNK	(32 * 1024)		/* bytes; fits L1 */
#define SIEVE_SEGMENT	(4 * SIEVE_CHUNK)	/* bytes; fits L2 */
#define SMALL_LIMIT	4096			/* primes sieved chunk-wise */
#define SPARSE_LIMIT	65536			/* primes sieved one by one */

/* Beyond this n, p_n outgrows the 29-bit offsets of struct sprime. */
#define SIEVE_MAX_N	5000000000000000ULL

/* Largest count whose last prime fits in 32 bits: pi(2^32 - 1). */
#define TABLE_MAX	203280221ULL

/* Cancel flag of the trial kernel is read every this many divisions. */
#define TRIAL_CHECK	4096

#define NGROUP		5

/*
 * Presieved primes, by pattern; the product of a row is its period in
 * bytes.  A sieve uses the leading groups whose period is at most half its
 * span: a pattern costs as much to build as the span it covers to sieve.
 */
static const uint32_t presieve_group[NGROUP][3] = {
	{ 7, 11, 13 },		/* 1001 */
	{ 17, 19, 23 },		/* 7429 */
	{ 29, 31, 37 },		/* 33263 */
	{ 41, 43, 47 },		/* 82861 */
	{ 53, 59, 1 },		/* 3127 */
};

/* The wheel: residues mod 30 prime to 30, in bit order. */
static const uint8_t wheel[8] = { 1, 7, 11, 13, 17, 19, 23, 29 };

/* The primes the wheel leaves out. */
static const uint32_t wheel_primes[3] = { 2, 3, 5 };

/* Bit (wheel index) of residue x, x prime to 30; constant if x is. */
#define BITOF(x)							\
	((x) == 1 ? 0 : (x) == 7 ? 1 : (x) == 11 ? 2 : (x) == 13 ? 3 :	\
	 (x) == 17 ? 4 : (x) == 19 ? 5 : (x) == 23 ? 6 : 7)
/* Mask clearing the multiple of class r by multiplier residue s. */
#define MASK(r, s)	((uint8_t)~(1u << BITOF((r) * (s) % 30)))
/* Carry into the byte offset of that multiple. */
#define CARRY(r, s)	((r) * (s) / 30)

/* A sieving prime p = 30a + r; r is implied by the list it is in. */
struct sprime {
	uint32_t	 a;
	uint32_t	 next;	/* next multiple: offset << 3 | window index */
};

/* A bit counter over a buffer whose length is a multiple of 8. */
typedef uint64_t (*count_fn)(const uint8_t *, size_t);

struct sieve {
	uint8_t		*seg;
	size_t		 seglen;	/* bytes per segment, multiple of 64 */
	size_t		 chunklen;
	uint64_t	 lo;		/* byte index of seg[0] */

	struct sprime	*sp;		/* sieving primes, grouped by class */
	uint64_t	 sp_to;		/* ... listed up to here */
	uint64_t	 sp_max;	/* ... needed up to here, at most */
	size_t		 first[8];	/* class c is sp[first[c] .. end[c]) */
	size_t		 small[8];	/* ... small primes end here */
	size_t		 dense[8];	/* ... primes below SPARSE_LIMIT */
	size_t		 active[8];	/* ... those in use end here */
	size_t		 end[8];

	int		 ngroup;	/* presieve groups in use */
	uint8_t		*pat[NGROUP];
	size_t		 period[NGROUP];
	count_fn	 count;
};

/* The prime table: filled once before fork, read only afterwards. */
static uint32_t	*table;
static uint64_t	 table_n;

/* Whether to stop here: the flag is set and the caller's stop agrees. */
static inline int
stop_here(const struct prime_ctl *ctl)
{
	if (ctl == NULL || ctl->flag == NULL ||
	    atomic_load_explicit(ctl->flag, memory_order_relaxed) == 0)
		return 0;
	return ctl->stop == NULL || ctl->stop(ctl->arg);
}

/* Integer square root, rounded down. */
static uint64_t
isqrt(uint64_t x)
{
	uint64_t	 r, y;

	if (x < 2)
		return x;
	r = x;
	y = r / 2 + 1;
	while (y < r) {
		r = y;
		y = (r + x / r) / 2;
	}
	return r;
}

/* Natural log from above, by bit length: no libm needed. */
static double
ln_above(double x)
{
	double	 b = 0;

	while (x >= 1) {
		x /= 2;
		b++;
	}
	return b * 0.69315;
}

/* An upper bound of the n-th prime: n (ln n + ln ln n) for n >= 6. */
static uint64_t
nth_bound(uint64_t n)
{
	double	 l;

	if (n < 6)
		return 13;
	l = ln_above((double)n);
	return (uint64_t)((double)n * (l + ln_above(l))) + 64;
}

/*
 * Cross off the multiples of the primes of class r in seg[0 .. len), then
 * make their offsets relative to seg[len].  Inlined once per class.
 */
static inline __attribute__((always_inline)) void
cross_class(uint8_t *seg, size_t len, struct sprime *sp, size_t n,
    const unsigned r)
{
	const uint8_t	 m0 = MASK(r, 1), m1 = MASK(r, 7), m2 = MASK(r, 11);
	const uint8_t	 m3 = MASK(r, 13), m4 = MASK(r, 17), m5 = MASK(r, 19);
	const uint8_t	 m6 = MASK(r, 23), m7 = MASK(r, 29);
	size_t		 a, i, o1, o2, o3, o4, o5, o6, o7, step;
	unsigned	 k;

	for (; n > 0; n--, sp++) {
		a = sp->a;
		i = sp->next >> 3;
		k = sp->next & 7;
		o1 = a * 6 + CARRY(r, 7);
		o2 = a * 10 + CARRY(r, 11);
		o3 = a * 12 + CARRY(r, 13);
		o4 = a * 16 + CARRY(r, 17);
		o5 = a * 18 + CARRY(r, 19);
		o6 = a * 22 + CARRY(r, 23);
		o7 = a * 28 + CARRY(r, 29);
		step = a * 30 + r;

		/* i is the next multiple, k its place in the window. */
		switch (k) {
		for (;;) {
		case 0:
			while (i + o7 < len) {
				seg[i] &= m0;
				seg[i + o1] &= m1;
				seg[i + o2] &= m2;
				seg[i + o3] &= m3;
				seg[i + o4] &= m4;
				seg[i + o5] &= m5;
				seg[i + o6] &= m6;
				seg[i + o7] &= m7;
				i += step;
			}
			if (i >= len) {
				k = 0;
				break;
			}
			seg[i] &= m0;
			i += o1;
			/* FALLTHROUGH */
		case 1:
			if (i >= len) {
				k = 1;
				break;
			}
			seg[i] &= m1;
			i += o2 - o1;
			/* FALLTHROUGH */
		case 2:
			if (i >= len) {
				k = 2;
				break;
			}
			seg[i] &= m2;
			i += o3 - o2;
			/* FALLTHROUGH */
		case 3:
			if (i >= len) {
				k = 3;
				break;
			}
			seg[i] &= m3;
			i += o4 - o3;
			/* FALLTHROUGH */
		case 4:
			if (i >= len) {
				k = 4;
				break;
			}
			seg[i] &= m4;
			i += o5 - o4;
			/* FALLTHROUGH */
		case 5:
			if (i >= len) {
				k = 5;
				break;
			}
			seg[i] &= m5;
			i += o6 - o5;
			/* FALLTHROUGH */
		case 6:
			if (i >= len) {
				k = 6;
				break;
			}
			seg[i] &= m6;
			i += o7 - o6;
			/* FALLTHROUGH */
		case 7:
			if (i >= len) {
				k = 7;
				break;
			}
			seg[i] &= m7;
			i += step - o7;
		}
		}
		sp->next = (uint32_t)((i - len) << 3 | k);
	}
}

/* One crossing function per residue class, constants folded in. */
#define CROSS_FN(r)							\
static void								\
cross_##r(uint8_t *seg, size_t len, struct sprime *sp, size_t n)	\
{									\
	cross_class(seg, len, sp, n, r);				\
}
CROSS_FN(1)
CROSS_FN(7)
CROSS_FN(11)
CROSS_FN(13)
CROSS_FN(17)
CROSS_FN(19)
CROSS_FN(23)
CROSS_FN(29)

/*
 * cross_class for primes with few multiples in seg: one multiple per turn,
 * the step to the next from a table, no window unrolled.
 */
static inline __attribute__((always_inline)) void
cross_sparse(uint8_t *seg, size_t len, struct sprime *sp, size_t n,
    const unsigned r)
{
	/* Step from multiple k to k + 1: a * gap[k] + carry[k] bytes. */
	static const uint8_t	 gap[8] = { 6, 4, 2, 4, 2, 4, 6, 2 };
	const uint8_t		 carry[8] = {
		CARRY(r, 7), CARRY(r, 11) - CARRY(r, 7),
		CARRY(r, 13) - CARRY(r, 11), CARRY(r, 17) - CARRY(r, 13),
		CARRY(r, 19) - CARRY(r, 17), CARRY(r, 23) - CARRY(r, 19),
		CARRY(r, 29) - CARRY(r, 23), r - CARRY(r, 29)
	};
	const uint8_t		 mask[8] = {
		MASK(r, 1), MASK(r, 7), MASK(r, 11), MASK(r, 13),
		MASK(r, 17), MASK(r, 19), MASK(r, 23), MASK(r, 29)
	};
	size_t			 a, i;
	unsigned		 k;

	for (; n > 0; n--, sp++) {
		a = sp->a;
		i = sp->next >> 3;
		k = sp->next & 7;
		while (i < len) {
			seg[i] &= mask[k];
			i += a * gap[k] + carry[k];
			k = (k + 1) & 7;
		}
		sp->next = (uint32_t)((i - len) << 3 | k);
	}
}

/* One sparse crossing function per residue class. */
#define SPARSE_FN(r)							\
static void								\
sparse_##r(uint8_t *seg, size_t len, struct sprime *sp, size_t n)	\
{									\
	cross_sparse(seg, len, sp, n, r);				\
}
SPARSE_FN(1)
SPARSE_FN(7)
SPARSE_FN(11)
SPARSE_FN(13)
SPARSE_FN(17)
SPARSE_FN(19)
SPARSE_FN(23)
SPARSE_FN(29)

typedef void (*cross_func)(uint8_t *, size_t, struct sprime *, size_t);

/* Crossing functions by wheel index of the class. */
static const cross_func cross_fn[8] = {
	cross_1, cross_7, cross_11, cross_13,
	cross_17, cross_19, cross_23, cross_29
};
static const cross_func sparse_fn[8] = {
	sparse_1, sparse_7, sparse_11, sparse_13,
	sparse_17, sparse_19, sparse_23, sparse_29
};

/* Count the set bits of buf[0 .. len), len a multiple of 8. */
#define COUNT_BODY							\
	uint64_t	 w, c = 0;					\
	size_t		 i;						\
									\
	for (i = 0; i < len; i += 8) {					\
		memcpy(&w, buf + i, sizeof w);				\
		c += (uint64_t)__builtin_popcountll(w);			\
	}								\
	return c

/* Bit count without assuming a popcount instruction. */
static uint64_t
count_generic(const uint8_t *buf, size_t len)
{
	COUNT_BODY;
}

#if defined(__x86_64__) || defined(__i386__)
/* Bit count with the popcnt instruction, picked at run time. */
__attribute__((target("popcnt"))) static uint64_t
count_popcnt(const uint8_t *buf, size_t len)
{
	COUNT_BODY;
}
#endif

/* The fastest bit counter this CPU runs. */
static count_fn
count_pick(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_cpu_supports("popcnt"))
		return count_popcnt;
#endif
	return count_generic;
}

/* Odd primes in [from, to], by a plain sieve; *np gets the count. */
static uint32_t *
small_primes(uint32_t from, uint32_t to, size_t *np)
{
	uint8_t		*comp;
	uint32_t	*v;
	uint64_t	 i, j;
	size_t		 n = 0;

	if ((comp = calloc(to / 2 + 1, 1)) == NULL)
		return NULL;
	for (i = 3; i * i <= to; i += 2) {
		if (!comp[i / 2]) {
			for (j = i * i; j <= to; j += 2 * i)
				comp[j / 2] = 1;
		}
	}
	/* Fewer than to / 4 + 4 odd primes up to to: a loose bound. */
	if ((v = malloc((to / 4 + 4) * sizeof *v)) == NULL) {
		free(comp);
		return NULL;
	}
	for (i = from | 1; i <= to; i += 2) {
		if (!comp[i / 2])
			v[n++] = (uint32_t)i;
	}
	free(comp);
	*np = n;
	return v;
}

/*
 * Make room for cnt[c] more primes after each class list of s, keeping
 * the primes listed and their state; -1 if out of memory.
 */
static int
sieve_widen(struct sieve *s, const size_t cnt[8])
{
	struct sprime	*sp;
	size_t		 c, i, len, total = s->end[7];

	for (c = 0; c < 8; c++)
		total += cnt[c];
	if ((sp = malloc((total + 1) * sizeof *sp)) == NULL)
		return -1;
	/* Classes only move up: the lists before them only grow. */
	for (c = 0, i = 0; c < 8; c++) {
		len = s->end[c] - s->first[c];
		if (len > 0)
			memcpy(sp + i, s->sp + s->first[c], len * sizeof *sp);
		s->small[c] += i - s->first[c];
		s->dense[c] += i - s->first[c];
		s->active[c] += i - s->first[c];
		s->first[c] = i;
		s->end[c] = i + len;
		i += len + cnt[c];
	}
	free(s->sp);
	s->sp = sp;
	return 0;
}

/*
 * List the sieving primes up to at least need (at most s->sp_max) at the
 * ends of their class lists: twice as far as before, or need if further.
 */
static int
sieve_grow(struct sieve *s, uint64_t need)
{
	uint32_t	*v;
	uint64_t	 to = 2 * s->sp_to;
	size_t		 n, i, c, at, cnt[8] = { 0 };

	if (to < need)
		to = need;
	if (to > s->sp_max)
		to = s->sp_max;
	if ((v = small_primes((uint32_t)s->sp_to + 1, (uint32_t)to, &n)) ==
	    NULL)
		return -1;
	for (i = 0; i < n; i++)
		cnt[BITOF(v[i] % 30)]++;
	if (sieve_widen(s, cnt) == -1) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		c = BITOF(v[i] % 30);
		at = s->end[c]++;
		s->sp[at].a = v[i] / 30;
		s->sp[at].next = 0;
		if (v[i] < SMALL_LIMIT)
			s->small[c] = at + 1;
		if (v[i] < SPARSE_LIMIT)
			s->dense[c] = at + 1;
	}
	free(v);
	s->sp_to = to;
	return 0;
}

/* Period of presieve group g, in bytes. */
static size_t
presieve_period(int g)
{
	return (size_t)presieve_group[g][0] * presieve_group[g][1] *
	    presieve_group[g][2];
}

/*
 * Build the presieve pattern of group g: a period and a chunk long, so that
 * any chunk is one contiguous copy.
 */
static int
presieve_build(struct sieve *s, int g)
{
	uint8_t		*pat, mask;
	uint32_t	 q;
	size_t		 j, k, len, period = presieve_period(g);
	int		 i;

	len = period + s->chunklen;
	if ((pat = malloc(len)) == NULL)
		return -1;
	memset(pat, 0xff, len);
	for (i = 0; i < 3 && (q = presieve_group[g][i]) != 1; i++) {
		for (k = 0; k < 8; k++) {
			mask = MASK(q, wheel[k]);
			for (j = q * wheel[k] / 30; j < len; j += q)
				pat[j] &= mask;
		}
	}
	s->pat[g] = pat;
	s->period[g] = period;
	return 0;
}

/* Free what sieve_init allocated. */
static void
sieve_free(struct sieve *s)
{
	int	 g;

	for (g = 0; g < NGROUP; g++)
		free(s->pat[g]);
	free(s->sp);
	free(s->seg);
	memset(s, 0, sizeof *s);
}

/* Get ready to sieve the numbers below limit, from 0. */
static int
sieve_init(struct sieve *s, uint64_t limit)
{
	uint64_t	 bytes = (limit / 30 + 64) & ~(uint64_t)63, span;
	int		 i;

	memset(s, 0, sizeof *s);
	s->seglen = bytes < SIEVE_SEGMENT ? bytes : SIEVE_SEGMENT;
	s->chunklen = s->seglen < SIEVE_CHUNK ? s->seglen : SIEVE_CHUNK;
	s->count = count_pick();
	if ((s->seg = malloc(s->seglen)) == NULL)
		goto fail;

	/* Whole segments get sieved, up to span bytes. */
	span = (bytes + s->seglen - 1) / s->seglen * s->seglen;
	while (s->ngroup < NGROUP && presieve_period(s->ngroup) <= span / 2) {
		if (presieve_build(s, s->ngroup) == -1)
			goto fail;
		s->ngroup++;
	}
	/* Sieving primes start past the presieved ones. */
	s->sp_to = 6;
	for (i = 0; i < s->ngroup * 3; i++)
		if (presieve_group[i / 3][i % 3] > s->sp_to)
			s->sp_to = presieve_group[i / 3][i % 3];
	s->sp_max = isqrt(limit) + 1;
	return 0;
fail:
	sieve_free(s);
	return -1;
}

/* buf = AND of the NGROUP patterns p, len bytes, len a multiple of 8. */
static void
and_all(uint8_t *buf, const uint8_t **p, size_t len)
{
	const uint8_t	*p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];
	const uint8_t	*p4 = p[4];
	uint64_t	 w0, w1, w2, w3, w4;
	size_t		 i;

	for (i = 0; i < len; i += 8) {
		memcpy(&w0, p0 + i, 8);
		memcpy(&w1, p1 + i, 8);
		memcpy(&w2, p2 + i, 8);
		memcpy(&w3, p3 + i, 8);
		memcpy(&w4, p4 + i, 8);
		w0 &= w1 & w2 & w3 & w4;
		memcpy(buf + i, &w0, 8);
	}
}

/* buf &= pat, len bytes, len a multiple of 8. */
static void
and_one(uint8_t *buf, const uint8_t *pat, size_t len)
{
	uint64_t	 w, x;
	size_t		 i;

	for (i = 0; i < len; i += 8) {
		memcpy(&w, buf + i, 8);
		memcpy(&x, pat + i, 8);
		w &= x;
		memcpy(buf + i, &w, 8);
	}
}

/* Fill buf (byte index lo, len bytes) with the presieve patterns. */
static void
presieve(struct sieve *s, uint8_t *buf, uint64_t lo, size_t len)
{
	const uint8_t	*p[NGROUP];
	uint32_t	 q;
	int		 g, i;

	for (g = 0; g < s->ngroup; g++)
		p[g] = s->pat[g] + lo % s->period[g];
	if (s->ngroup == NGROUP)
		and_all(buf, p, len);
	else {
		/* Short sieves: few patterns, or none. */
		memset(buf, 0xff, len);
		for (g = 0; g < s->ngroup; g++)
			and_one(buf, p[g], len);
	}
	if (lo == 0) {
		/* The presieved primes are not their own multiples. */
		for (g = 0; g < s->ngroup; g++) {
			for (i = 0; i < 3 && (q = presieve_group[g][i]) != 1;
			    i++)
				buf[q / 30] |= 1u << BITOF(q % 30);
		}
		buf[0] &= ~1u;		/* 1 is not prime */
	}
}

/*
 * Put the primes whose square falls in this segment to work, listing more
 * first if they are not all listed yet; -1 if out of memory.
 */
static int
sieve_activate(struct sieve *s)
{
	uint64_t	 hi = 30 * (s->lo + s->seglen), p, sq;
	struct sprime	*sp;
	size_t		 c;

	if (s->sp_to < s->sp_max && (s->sp_to + 1) * (s->sp_to + 1) < hi &&
	    sieve_grow(s, isqrt(hi) + 1) == -1)
		return -1;

	for (c = 0; c < 8; c++) {
		while (s->active[c] < s->end[c]) {
			sp = &s->sp[s->active[c]];
			p = 30 * (uint64_t)sp->a + wheel[c];
			sq = p * p;
			if (sq >= hi)
				break;
			sp->next = (uint32_t)((sq / 30 - s->lo) << 3 | c);
			s->active[c]++;
		}
	}
	return 0;
}

/* Sieve the segment starting at byte s->lo; -1 if out of memory. */
static int
sieve_segment(struct sieve *s)
{
	size_t		 off, len, c, nsmall, dense_end;

	if (sieve_activate(s) == -1)
		return -1;
	for (off = 0; off < s->seglen; off += len) {
		len = s->seglen - off;
		if (len > s->chunklen)
			len = s->chunklen;
		presieve(s, s->seg + off, s->lo + off, len);
		for (c = 0; c < 8; c++) {
			nsmall = (s->active[c] < s->small[c] ? s->active[c] :
			    s->small[c]) - s->first[c];
			cross_fn[c](s->seg + off, len, s->sp + s->first[c],
			    nsmall);
		}
	}
	for (c = 0; c < 8; c++) {
		dense_end = s->active[c] < s->dense[c] ? s->active[c] :
		    s->dense[c];
		if (dense_end > s->small[c])
			cross_fn[c](s->seg, s->seglen, s->sp + s->small[c],
			    dense_end - s->small[c]);
		if (s->active[c] > s->dense[c])
			sparse_fn[c](s->seg, s->seglen, s->sp + s->dense[c],
			    s->active[c] - s->dense[c]);
	}
	return 0;
}

/* The k-th (1-based) prime left in the segment; k is within its count. */
static uint64_t
sieve_locate(const struct sieve *s, uint64_t k)
{
	uint64_t	 c;
	size_t		 i;
	unsigned	 b, bit;

	for (i = 0; i < s->seglen; i += 8) {
		if ((c = s->count(s->seg + i, 8)) >= k)
			break;
		k -= c;
	}
	for (;; i++) {
		b = s->seg[i];
		if ((c = (uint64_t)__builtin_popcount(b)) >= k)
			break;
		k -= c;
	}
	for (bit = 0; bit < 8; bit++) {
		if ((b >> bit & 1) && --k == 0)
			break;
	}
	return 30 * (s->lo + i) + wheel[bit];
}

/* Release what a stopped run keeps; the state is then fresh. */
void
prime_state_free(struct prime_state *st)
{
	if (st->sieve != NULL) {
		sieve_free(st->sieve);
		free(st->sieve);
	}
	memset(st, 0, sizeof *st);
}

/*
 * The n-th prime by the segmented sieve, from st (zeroed for a new run).
 * Returns 1 with *p set, 0 if stopped (st keeps where: call again to go on,
 * or prime_state_free), -1 if out of memory (st is freed) or n is out of
 * range.
 */
int
prime_sieve_run(uint64_t n, struct prime_state *st,
    const struct prime_ctl *ctl, uint64_t *p)
{
	struct sieve	*s = st->sieve;
	uint64_t	 c;

	if (n == 0 || n > SIEVE_MAX_N)
		return -1;
	if (n <= 3) {
		*p = wheel_primes[n - 1];
		return 1;
	}
	if (s == NULL) {
		if ((s = malloc(sizeof *s)) == NULL)
			return -1;
		if (sieve_init(s, nth_bound(n)) == -1) {
			free(s);
			return -1;
		}
		st->sieve = s;
		st->found = 3;
	}
	/* A segment at least per run: a resumed run always gets on. */
	for (;;) {
		if (sieve_segment(s) == -1) {
			prime_state_free(st);
			return -1;
		}
		c = s->count(s->seg, s->seglen);
		if (st->found + c >= n) {
			*p = sieve_locate(s, n - st->found);
			break;
		}
		st->found += c;
		s->lo += s->seglen;
		if (stop_here(ctl))
			return 0;
	}
	prime_state_free(st);
	return 1;
}

/* The n-th prime by the segmented sieve; 0 if cancelled. */
uint64_t
prime_nth_sieve(uint64_t n, const atomic_int *cancel)
{
	struct prime_ctl	 ctl = { cancel, NULL, NULL };
	struct prime_state	 st;
	uint64_t		 p;

	memset(&st, 0, sizeof st);
	if (prime_sieve_run(n, &st, &ctl, &p) == 1)
		return p;
	prime_state_free(&st);
	return 0;
}

/* Append the segment's primes to t[have ..], up to count; the new have. */
static uint64_t
sieve_collect(const struct sieve *s, uint32_t *t, uint64_t have,
    uint64_t count)
{
	size_t		 i;
	unsigned	 b;

	for (i = 0; i < s->seglen && have < count; i++) {
		for (b = s->seg[i]; b != 0 && have < count; b &= b - 1) {
			t[have++] = (uint32_t)(30 * (s->lo + i) +
			    wheel[__builtin_ctz(b)]);
		}
	}
	return have;
}

/* Build the table of the first count primes; -1 if count is 0 or too big. */
int
prime_table_init(uint64_t count)
{
	struct sieve	 s;
	uint32_t	*t;
	uint64_t	 have;

	if (count == 0 || count > TABLE_MAX)
		return -1;
	if ((t = malloc(count * sizeof *t)) == NULL)
		return -1;
	for (have = 0; have < 3 && have < count; have++)
		t[have] = wheel_primes[have];
	memset(&s, 0, sizeof s);
	if (count > 3 && sieve_init(&s, nth_bound(count)) == -1) {
		free(t);
		return -1;
	}
	while (have < count) {
		if (sieve_segment(&s) == -1) {
			sieve_free(&s);
			free(t);
			return -1;
		}
		have = sieve_collect(&s, t, have, count);
		s.lo += s.seglen;
	}
	sieve_free(&s);
	prime_table_free();
	table = t;
	table_n = count;
	return 0;
}

/* How many primes the table holds; 0 before prime_table_init. */
uint64_t
prime_table_count(void)
{
	return table_n;
}

/* The n-th prime (1-based) from the table; 0 if n is not in it. */
uint64_t
prime_table_get(uint64_t n)
{
	if (n == 0 || n > table_n)
		return 0;
	return table[n - 1];
}

/* Release the table. */
void
prime_table_free(void)
{
	free(table);
	table = NULL;
	table_n = 0;
}

/* trial_test for 2 <= i < 2^32: the same loop with a cheaper 32-bit divide. */
static int
trial_test32(uint32_t i, uint64_t *dp, const struct prime_ctl *ctl,
    unsigned *budget)
{
	uint32_t	 d;

	for (d = (uint32_t)*dp; d <= i / 2; d++) {
		if (--*budget == 0) {
			*budget = TRIAL_CHECK;
			if (stop_here(ctl)) {
				*dp = d;
				return -1;
			}
		}
		if (i % d == 0)
			return 0;
	}
	return 1;
}

/*
 * The lesson's test: i is prime when no d in 2 .. i/2 divides it.  Starts
 * at divisor *dp.  Returns 1 or 0, or -1 when told to stop, with the next
 * divisor in *dp; the flag is read every TRIAL_CHECK divisions, counted
 * down in *budget across calls.
 */
static int
trial_test(uint64_t i, uint64_t *dp, const struct prime_ctl *ctl,
    unsigned *budget)
{
	uint64_t	 d;

	if (i < 2)
		return 0;
	if (i <= UINT32_MAX)
		return trial_test32((uint32_t)i, dp, ctl, budget);
	for (d = *dp; d <= i / 2; d++) {
		if (--*budget == 0) {
			*budget = TRIAL_CHECK;
			if (stop_here(ctl)) {
				*dp = d;
				return -1;
			}
		}
		if (i % d == 0)
			return 0;
	}
	return 1;
}

/* The trial kernel's predicate: is i prime by the lesson's test? */
int
prime_trial_is_prime(uint64_t i)
{
	unsigned	 budget = TRIAL_CHECK;
	uint64_t	 d = 2;

	return trial_test(i, &d, NULL, &budget) == 1;
}

/*
 * The n-th prime by trial division of every i = 2, 3, ..., from st (zeroed
 * for a new run).  Returns 1 with *p set, 0 if stopped (st keeps the
 * candidate, its next divisor and the count: call again to go on), -1 if
 * n is 0.
 */
int
prime_trial_run(uint64_t n, struct prime_state *st,
    const struct prime_ctl *ctl, uint64_t *p)
{
	unsigned	 budget = TRIAL_CHECK;
	int		 r;

	if (n == 0)
		return -1;
	/* A new run looks at the flag at once, a resumed one gets on first. */
	if (st->next < 2) {
		budget = 1;
		st->next = 2;
		st->div = 2;
		st->found = 0;
	}
	for (;; st->next++, st->div = 2) {
		if ((r = trial_test(st->next, &st->div, ctl, &budget)) == -1)
			return 0;
		if (r == 1 && ++st->found == n) {
			*p = st->next;
			memset(st, 0, sizeof *st);
			return 1;
		}
	}
}

/* The n-th prime by trial division; 0 if cancelled. */
uint64_t
prime_nth_trial(uint64_t n, const atomic_int *cancel)
{
	struct prime_ctl	 ctl = { cancel, NULL, NULL };
	struct prime_state	 st;
	uint64_t		 p;

	memset(&st, 0, sizeof st);
	return prime_trial_run(n, &st, &ctl, &p) == 1 ? p : 0;
}

#ifdef HAVE_PRIMECOUNT
static pthread_once_t	 count_once = PTHREAD_ONCE_INIT;

/* One thread per call: the pool is the parallelism. */
static void
count_init(void)
{
	primecount_set_num_threads(1);
}

/* The n-th prime by libprimecount; 0 on error.  Cannot be stopped. */
uint64_t
prime_nth_count(uint64_t n)
{
	int64_t	 p;

	if (n == 0 || n > PRIME_COUNT_MAX_N)
		return 0;
	pthread_once(&count_once, count_init);
	p = primecount_nth_prime((int64_t)n);
	return p > 0 ? (uint64_t)p : 0;
}
#else
/* Built without libprimecount: no count kernel. */
uint64_t
prime_nth_count(uint64_t n)
{
	return 0;
}
#endif

/* Whether the count kernel is built in. */
int
prime_count_available(void)
{
#ifdef HAVE_PRIMECOUNT
	return 1;
#else
	return 0;
#endif
}
