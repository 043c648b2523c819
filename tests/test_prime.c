/*
 * test_prime.c: unit tests of the prime kernels (src/prime.c).
 *
 * The results are checked against known values and against a plain sieve
 * computed once here, independent of prime.c.
 *
 * Under valgrind, set PRIMED_VALGRIND=1 (tests/run-test does): the case
 * that sieves past 2^32 (it alone would take most of a minute there) and
 * the trial division up to the 10000th prime (a third of the run; n <= 3000
 * is still checked in full) are then skipped, and the timing bound on
 * prime_table_init is not checked; the count kernel is checked up to
 * 10^9 and on fewer random n.  Everything else, the 10^8-th prime
 * included, runs there too.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "primed.h"
#include "check_main.h"

#define REF_COUNT	1500000		/* primes in the reference */
#define REF_LIMIT	23879520	/* just past the 1500000th prime */
#define TABLE_MAX	203280221	/* pi(2^32 - 1) */

/*
 * prime.c sieves in chunks of 32 KiB, each byte 30 numbers, and its
 * segments are a whole number of chunks: every chunk and segment edge is a
 * multiple of this.
 */
#define EDGE		(30 * 32768)

struct known {
	uint64_t	 n;
	uint64_t	 p;
};

static const struct known known[] = {
	{ 1, 2 },
	{ 2, 3 },
	{ 10, 29 },
	{ 100, 541 },
	{ 1000, 7919 },
	{ 10000, 104729 },
	{ 100000, 1299709 },
	{ 1000000, 15485863 },
	{ 10000000, 179424673 },
	{ 100000000, 2038074743 },
};

/* ref[k - 1] is the k-th prime, for k <= REF_COUNT. */
static uint32_t	*ref;

/* Whether we run under valgrind, where the slowest cases are skipped. */
static int
slow_host(void)
{
	return (getenv("PRIMED_VALGRIND") != NULL);
}

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Fill ref by a plain sieve of the odd numbers: no wheel, no segments. */
static void
ref_build(void)
{
	uint8_t		*comp;
	uint64_t	 i, j;
	size_t		 n = 0;

	comp = calloc(REF_LIMIT / 2 + 1, 1);
	ref = malloc(REF_COUNT * sizeof *ref);
	if (comp == NULL || ref == NULL)
		abort();
	for (i = 3; i * i < REF_LIMIT; i += 2) {
		if (!comp[i / 2]) {
			for (j = i * i; j < REF_LIMIT; j += 2 * i)
				comp[j / 2] = 1;
		}
	}
	ref[n++] = 2;
	for (i = 3; i < REF_LIMIT && n < REF_COUNT; i += 2) {
		if (!comp[i / 2])
			ref[n++] = (uint32_t)i;
	}
	free(comp);
	if (n != REF_COUNT || ref[REF_COUNT - 1] != 23879519)
		abort();
}

/* How many reference primes are below x. */
static size_t
ref_below(uint64_t x)
{
	size_t	 lo = 0, hi = REF_COUNT, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ref[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* The sieve against known values. */
START_TEST(sieve_known)
{
	size_t	 i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++) {
		ck_assert_uint_eq(prime_nth_sieve(known[i].n, NULL),
		    known[i].p);
	}
	ck_assert_uint_eq(prime_nth_sieve(0, NULL), 0);
}
END_TEST

/*
 * The sieve past 2^32 (results and offsets in 64 bits) and past 65537^2,
 * where the sieving primes from 65536 up, which prime.c crosses off with a
 * loop of their own, come into play.
 */
START_TEST(sieve_past_2_32)
{
	if (slow_host())
		return;
	ck_assert_uint_eq(prime_nth_sieve(220000000, NULL), 4666527007ULL);
}
END_TEST

/* The sieve for every n up to 200: sieves too short for any presieve. */
START_TEST(sieve_small_n)
{
	uint64_t	 n;

	for (n = 1; n <= 200; n++)
		ck_assert_uint_eq(prime_nth_sieve(n, NULL), ref[n - 1]);
}
END_TEST

/* The sieve where primes sit on either side of a chunk or segment edge. */
START_TEST(sieve_edges)
{
	uint64_t	 edge, n;
	int		 d;

	/* The last prime below each edge and the first one past it. */
	for (edge = EDGE; edge < REF_LIMIT; edge += EDGE) {
		n = ref_below(edge);
		for (d = 0; d < 2; d++) {
			ck_assert_uint_eq(prime_nth_sieve(n + d, NULL),
			    ref[n + d - 1]);
		}
	}
}
END_TEST

/* The trial kernel against known values. */
START_TEST(trial_known)
{
	size_t	 i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (known[i].n > 10000 ||
		    (known[i].n == 10000 && slow_host()))
			continue;
		ck_assert_uint_eq(prime_nth_trial(known[i].n, NULL),
		    known[i].p);
	}
	ck_assert_uint_eq(prime_nth_trial(0, NULL), 0);
}
END_TEST

/* The trial predicate accepts exactly the primes, checked up to p(3000). */
START_TEST(trial_predicate)
{
	uint64_t	 i, k = 0;

	ck_assert(!prime_trial_is_prime(0));
	ck_assert(!prime_trial_is_prime(1));
	ck_assert(!prime_trial_is_prime(4));
	ck_assert(!prime_trial_is_prime(9));
	/* The k-th number it accepts is the k-th prime, for k <= 3000. */
	for (i = 2; k < 3000; i++) {
		if (prime_trial_is_prime(i)) {
			k++;
			ck_assert_uint_eq(i, prime_nth_sieve(k, NULL));
		}
	}
	ck_assert_uint_eq(i - 1, 27449);
}
END_TEST

/* The trial kernel itself, n = 1 .. 200 and 3000. */
START_TEST(trial_nth)
{
	uint64_t	 n;

	for (n = 1; n <= 200; n++)
		ck_assert_uint_eq(prime_nth_trial(n, NULL), ref[n - 1]);
	ck_assert_uint_eq(prime_nth_trial(3000, NULL), 27449);
}
END_TEST

/* Table: bounds, refusals, free and init again. */
START_TEST(table_basic)
{
	static const uint64_t	 spread[] = { 1, 3, 4, 5, 6, 100, 1234,
	    77777, 500000, 999999, 1000000 };
	size_t			 i;

	ck_assert_uint_eq(prime_table_count(), 0);
	ck_assert_int_eq(prime_table_init(1000000), 0);
	ck_assert_uint_eq(prime_table_count(), 1000000);
	ck_assert_uint_eq(prime_table_get(1), 2);
	ck_assert_uint_eq(prime_table_get(1000000), 15485863);
	ck_assert_uint_eq(prime_table_get(0), 0);
	ck_assert_uint_eq(prime_table_get(1000001), 0);
	for (i = 0; i < sizeof spread / sizeof spread[0]; i++) {
		ck_assert_uint_eq(prime_table_get(spread[i]),
		    prime_nth_sieve(spread[i], NULL));
	}

	/* Refused counts leave the table alone. */
	ck_assert_int_eq(prime_table_init(0), -1);
	ck_assert_int_eq(prime_table_init(TABLE_MAX + 1), -1);
	ck_assert_int_eq(prime_table_init(UINT64_MAX), -1);
	ck_assert_uint_eq(prime_table_count(), 1000000);

	prime_table_free();
	ck_assert_uint_eq(prime_table_count(), 0);
	ck_assert_uint_eq(prime_table_get(1), 0);
	prime_table_free();

	ck_assert_int_eq(prime_table_init(2), 0);
	ck_assert_uint_eq(prime_table_get(2), 3);
	ck_assert_int_eq(prime_table_init(1000), 0);
	ck_assert_uint_eq(prime_table_count(), 1000);
	ck_assert_uint_eq(prime_table_get(1000), 7919);
	prime_table_free();
}
END_TEST

/* Table: every entry of a 1.5 million table against the reference. */
START_TEST(table_reference)
{
	uint64_t	 n, bad = 0;
	double		 t;

	t = now();
	ck_assert_int_eq(prime_table_init(REF_COUNT), 0);
	t = now() - t;
	for (n = 1; n <= REF_COUNT; n++) {
		if (prime_table_get(n) != ref[n - 1])
			bad++;
	}
	prime_table_free();
	ck_assert_uint_eq(bad, 0);
	if (!slow_host())
		ck_assert_msg(t < 0.5, "prime_table_init took %.3f s", t);
}
END_TEST

/* A flag set beforehand stops both kernels at once. */
START_TEST(cancel_preset)
{
	atomic_int	 flag = 1, clear = 0;
	double		 t;

	t = now();
	ck_assert_uint_eq(prime_nth_trial(1000000, &flag), 0);
	ck_assert_uint_eq(prime_nth_sieve(1000000000, &flag), 0);
	t = now() - t;
	ck_assert_msg(t < 0.5, "cancelled kernels took %.3f s", t);

	/* A flag that stays clear changes nothing. */
	ck_assert_uint_eq(prime_nth_trial(100, &clear), 541);
	ck_assert_uint_eq(prime_nth_sieve(100000, &clear), 1299709);
}
END_TEST

/* A thread that raises a cancel flag. */
struct canceller {
	pthread_t	 thread;
	atomic_int	 flag;
};

/* Set the flag after 50 ms. */
static void *
cancel_later(void *arg)
{
	struct canceller	*c = arg;
	struct timespec		 ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	atomic_store(&c->flag, 1);
	return (NULL);
}

/* Run a kernel that would take hours; another thread cancels it. */
static void
cancel_run(uint64_t (*kernel)(uint64_t, const atomic_int *), uint64_t n)
{
	struct canceller	 c;
	double			 t;

	atomic_init(&c.flag, 0);
	ck_assert_int_eq(pthread_create(&c.thread, NULL, cancel_later, &c), 0);
	t = now();
	ck_assert_uint_eq(kernel(n, &c.flag), 0);
	t = now() - t;
	pthread_join(c.thread, NULL);
	ck_assert_msg(t >= 0.04 && t < 5, "stopped after %.3f s", t);
}

/* A flag set by another thread stops both kernels mid-run. */
START_TEST(cancel_thread)
{
	cancel_run(prime_nth_trial, 1000000);
	cancel_run(prime_nth_sieve, 10000000000ULL);
}
END_TEST

/* A stop function that always says stop; it counts how often it was asked. */
static int
stop_always(void *arg)
{
	(*(uint64_t *)arg)++;
	return (1);
}

/*
 * Run a kernel sliced as finely as it allows: stopped at every point it
 * looks at the flag, and called again from where it stopped.  *stops gets
 * the number of slices less one.
 */
static uint64_t
sliced(int (*run)(uint64_t, struct prime_state *, const struct prime_ctl *,
    uint64_t *), uint64_t n, uint64_t *stops)
{
	atomic_int		 flag = 1;
	struct prime_ctl	 ctl = { &flag, stop_always, stops };
	struct prime_state	 st;
	uint64_t		 p = 0;
	int			 r;

	memset(&st, 0, sizeof st);
	*stops = 0;
	while ((r = run(n, &st, &ctl, &p)) == 0)
		;
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_null(st.sieve);
	return (p);
}

/* The trial kernel cut into slices of 4096 divisions gives the same. */
START_TEST(trial_sliced)
{
	static const uint64_t	 spread[] = { 1, 2, 3, 7, 50, 100, 199, 200,
	    500, 1000, 1500, 3000 };
	uint64_t		 n, stops, total = 0;
	size_t			 i;

	for (i = 0; i < sizeof spread / sizeof spread[0]; i++) {
		n = spread[i];
		ck_assert_uint_eq(sliced(prime_trial_run, n, &stops),
		    ref[n - 1]);
		total += stops;
	}
	/* p(3000) = 27449 alone takes some 10^8 divisions. */
	ck_assert_uint_gt(stops, 1000);
	ck_assert_uint_gt(total, stops);
}
END_TEST

/* The sieve cut at every segment gives the same, edges included. */
START_TEST(sieve_sliced)
{
	static const uint64_t	 spread[] = { 1, 3, 4, 10, 1000, 100000,
	    1000000, 1500000 };
	uint64_t		 n, stops, edge;
	size_t			 i;
	int			 d;

	for (i = 0; i < sizeof spread / sizeof spread[0]; i++) {
		n = spread[i];
		ck_assert_uint_eq(sliced(prime_sieve_run, n, &stops),
		    ref[n - 1]);
	}
	/* 1.5 million primes: past 23 million, several segments. */
	ck_assert_uint_ge(stops, 5);
	for (edge = 4 * EDGE; edge < REF_LIMIT; edge += 4 * EDGE) {
		n = ref_below(edge);
		for (d = 0; d < 2; d++)
			ck_assert_uint_eq(sliced(prime_sieve_run, n + d,
			    &stops), ref[n + d - 1]);
	}
	ck_assert_uint_eq(sliced(prime_sieve_run, 10000000, &stops),
	    179424673);
	ck_assert_uint_ge(stops, 40);
}
END_TEST

/* A stopped run's state can be dropped at any point: nothing leaks. */
START_TEST(state_free)
{
	atomic_int		 flag = 1;
	uint64_t		 stops = 0, p;
	struct prime_ctl	 ctl = { &flag, stop_always, &stops };
	struct prime_state	 st;
	int			 i;

	memset(&st, 0, sizeof st);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(prime_sieve_run(100000000, &st, &ctl, &p), 0);
	ck_assert_ptr_nonnull(st.sieve);
	prime_state_free(&st);
	ck_assert_ptr_null(st.sieve);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(prime_trial_run(100000, &st, &ctl, &p), 0);
	ck_assert_uint_gt(st.next, 2);
	prime_state_free(&st);
	ck_assert_uint_eq(st.next, 0);
	prime_state_free(&st);
}
END_TEST

/* Resident memory of this process, in bytes. */
static long
rss_bytes(void)
{
	FILE	*f;
	long	 size, res = 0;

	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (res * sysconf(_SC_PAGESIZE));
}

/*
 * Stopped runs for a huge n hold memory for what they have sieved, not
 * for n: each held 85 MiB of sieving primes for n = 10^15 before its first
 * segment, and kept it while its job waited for its next slice.
 */
START_TEST(sieve_state_follows_the_work)
{
	enum { RUNS = 4 };
	atomic_int		 flag = 1;
	uint64_t		 stops = 0, p;
	struct prime_ctl	 ctl = { &flag, stop_always, &stops };
	struct prime_state	 st[RUNS];
	long			 before = rss_bytes(), grown;
	int			 i, k;

	ck_assert_int_gt(before, 0);
	memset(st, 0, sizeof st);
	for (i = 0; i < RUNS; i++)
		for (k = 0; k < 3; k++)
			ck_assert_int_eq(prime_sieve_run(1000000000000000ULL -
			    (uint64_t)i, &st[i], &ctl, &p), 0);
	grown = rss_bytes() - before;
	for (i = 0; i < RUNS; i++) {
		ck_assert_ptr_nonnull(st[i].sieve);
		prime_state_free(&st[i]);
	}
	ck_assert_uint_eq(stops, 3 * RUNS);
	ck_assert_msg(grown < 16L << 20, "%d stopped runs hold %ld MiB",
	    RUNS, grown >> 20);
}
END_TEST

#ifdef HAVE_PRIMECOUNT
/* Powers of ten and their n-th primes, past what the sieve does in time. */
static const struct known count_known[] = {
	{ 1000000000ULL, 22801763489ULL },
	{ 10000000000ULL, 252097800623ULL },
	{ 100000000000ULL, 2760727302517ULL },
	{ 1000000000000ULL, 29996224275833ULL },
	{ 10000000000000ULL, 323780508946331ULL },
};

/* A small xorshift generator: the same n on every run. */
static uint64_t
next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (*x);
}

/* The count kernel on every n up to 10^4 and on the known values. */
START_TEST(count_known_values)
{
	uint64_t	 n;
	size_t		 i;

	ck_assert(prime_count_available());
	for (n = 1; n <= 10000; n++)
		ck_assert_uint_eq(prime_nth_count(n), ref[n - 1]);
	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		ck_assert_uint_eq(prime_nth_count(known[i].n), known[i].p);
	for (i = 0; i < sizeof count_known / sizeof count_known[0]; i++) {
		if (slow_host() && count_known[i].n > 1000000000ULL)
			continue;
		ck_assert_uint_eq(prime_nth_count(count_known[i].n),
		    count_known[i].p);
	}
	ck_assert_uint_eq(prime_nth_count(0), 0);
	ck_assert_uint_eq(prime_nth_count(PRIME_COUNT_MAX_N + 1), 0);
}
END_TEST

/* Count, sieve and trial agree on random n (trial only on small ones). */
START_TEST(count_cross_check)
{
	uint64_t	 x = 88172645463325252ULL, n;
	int		 i, big = slow_host() ? 2 : 12;

	for (i = 0; i < 200; i++) {
		n = 1 + next_random(&x) % REF_COUNT;
		ck_assert_uint_eq(prime_nth_count(n), ref[n - 1]);
		ck_assert_uint_eq(prime_nth_sieve(n, NULL), ref[n - 1]);
	}
	for (i = 0; i < 30; i++) {
		n = 1 + next_random(&x) % 1500;
		ck_assert_uint_eq(prime_nth_trial(n, NULL),
		    prime_nth_count(n));
	}
	/* Up to 10^8: the sieve is the reference there. */
	for (i = 0; i < big; i++) {
		n = 1 + next_random(&x) % 100000000;
		ck_assert_uint_eq(prime_nth_count(n), prime_nth_sieve(n, NULL));
	}
	ck_assert_uint_eq(prime_nth_count(100000000), 2038074743);
}
END_TEST

/* What one counting thread computes. */
struct count_run {
	pthread_t	 thread;
	uint64_t	 seed;
	int		 bad;
};

/* Count random n up to 10^9, checked against a fixed table. */
static void *
count_thread(void *arg)
{
	static const uint64_t	 ns[] = { 1000000, 5000000, 20000000,
	    100000000, 300000000, 1000000000 };
	static const uint64_t	 ps[] = { 15485863, 86028121, 373587883,
	    2038074743, 6461335109ULL, 22801763489ULL };
	struct count_run	*c = arg;
	int			 i, k;

	for (i = 0; i < 30; i++) {
		k = (int)(next_random(&c->seed) % 6);
		if (slow_host() && ns[k] > 100000000)
			continue;
		if (prime_nth_count(ns[k]) != ps[k])
			c->bad++;
	}
	return (NULL);
}

/* Several threads call the library at once: every answer stays right. */
START_TEST(count_threads)
{
	struct count_run	 c[4];
	int			 i, bad = 0;

	for (i = 0; i < 4; i++) {
		c[i].seed = 12345 + (uint64_t)i * 7919;
		c[i].bad = 0;
		ck_assert_int_eq(pthread_create(&c[i].thread, NULL,
		    count_thread, &c[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(c[i].thread, NULL);
		bad += c[i].bad;
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST
#else
/* Built without libprimecount: no count kernel, and it says so. */
START_TEST(count_absent)
{
	ck_assert(!prime_count_available());
	ck_assert_uint_eq(prime_nth_count(1000), 0);
}
END_TEST
#endif

/* All the kernel tests. */
static Suite *
prime_suite(void)
{
	Suite	*s = suite_create("prime");
	TCase	*tc;

	tc = tcase_create("sieve");
	tcase_add_test(tc, sieve_known);
	tcase_add_test(tc, sieve_past_2_32);
	tcase_add_test(tc, sieve_small_n);
	tcase_add_test(tc, sieve_edges);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("trial");
	tcase_add_test(tc, trial_known);
	tcase_add_test(tc, trial_predicate);
	tcase_add_test(tc, trial_nth);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, table_basic);
	tcase_add_test(tc, table_reference);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_test(tc, cancel_preset);
	tcase_add_test(tc, cancel_thread);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("slices");
	tcase_add_test(tc, trial_sliced);
	tcase_add_test(tc, sieve_sliced);
	tcase_add_test(tc, state_free);
	tcase_add_test(tc, sieve_state_follows_the_work);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("count");
#ifdef HAVE_PRIMECOUNT
	tcase_add_test(tc, count_known_values);
	tcase_add_test(tc, count_cross_check);
	tcase_add_test(tc, count_threads);
#else
	tcase_add_test(tc, count_absent);
#endif
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	int	 status;

	ref_build();
	status = check_main(prime_suite());
	free(ref);
	return status;
}
