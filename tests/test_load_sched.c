/*
 * Unit tests of primed-load's open-loop schedule (src/load/sched.c):
 * intended times exactly 1/R apart across connections and threads, caps,
 * and the latency of a request whose connection was busy.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "load/sched.h"
#include "check_main.h"

#define START	UINT64_C(1000000000000)		/* any clock origin */

/* Sort helper. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Collect the first `per` requests of every connection, the connections
 * spread over `threads` threads each with its own copy of the schedule (as
 * the workers do), and check the union is one stream 1/rate apart.
 */
static void
check_spacing(double rate, uint32_t nconn, unsigned threads, uint64_t per)
{
	struct sched base, copy;
	struct sched_cursor cur;
	uint64_t *t = malloc(nconn * per * sizeof(*t)), n = 0, i, when;
	double period = 1e9 / rate, gap;
	unsigned th;
	uint32_t c;

	ck_assert_ptr_nonnull(t);
	sched_init(&base, START, rate, nconn);
	for (th = 0; th < threads; th++) {
		copy = base;
		for (c = th; c < nconn; c += threads) {
			cur.conn = c;
			cur.m = 0;
			for (i = 0; i < per; i++) {
				ck_assert(sched_next(&copy, &cur,
				    UINT64_MAX - 1, &when));
				t[n++] = when;
			}
		}
	}
	ck_assert_uint_eq(n, (uint64_t)nconn * per);
	qsort(t, n, sizeof(*t), cmp_u64);
	ck_assert_uint_eq(t[0], START);
	for (i = 1; i < n; i++) {
		gap = (double)(t[i] - t[i - 1]);
		ck_assert_msg(gap >= period - 1.0 && gap <= period + 1.0,
		    "gap %.1f ns between requests %llu and %llu, want %.3f",
		    gap, (unsigned long long)i - 1, (unsigned long long)i,
		    period);
		/* and no drift: request i is at exactly start + i/rate */
		ck_assert(t[i] - START == (uint64_t)((long double)i * 1e9L /
		    rate));
	}
	free(t);
}

START_TEST(test_spacing_one_connection)
{
	check_spacing(1000, 1, 1, 5000);
}
END_TEST

START_TEST(test_spacing_many_connections)
{
	check_spacing(20000, 50, 1, 400);
}
END_TEST

START_TEST(test_spacing_across_threads)
{
	check_spacing(20000, 50, 4, 400);
	check_spacing(12345.678, 7, 3, 1000);
	check_spacing(3, 2, 2, 50);
}
END_TEST

START_TEST(test_due_times)
{
	struct sched s;
	struct sched_cursor cur = { 1, 0 };
	uint64_t when;

	sched_init(&s, START, 1000, 4);		/* conn 1: 1 ms, 5 ms, 9 ms */
	ck_assert_int_eq(sched_next(&s, &cur, START, &when), 0);
	ck_assert_uint_eq(when, START + 1000000);
	ck_assert_int_eq(sched_next(&s, &cur, START + 999999, &when), 0);
	ck_assert_int_eq(sched_next(&s, &cur, START + 1000000, &when), 1);
	ck_assert_uint_eq(when, START + 1000000);
	ck_assert_uint_eq(sched_peek(&s, &cur), START + 5000000);
}
END_TEST

/*
 * A connection busy with a slow reply: its next requests were due while it
 * waited; they go out late but keep their intended times, so their latency
 * includes the wait (no coordinated omission).
 */
START_TEST(test_late_connection)
{
	struct sched s;
	struct sched_cursor cur = { 0, 0 };
	uint64_t when, now, sent[8], n = 0, i;
	const uint64_t ms = 1000000;

	sched_init(&s, START, 1000, 2);		/* conn 0: 0, 2, 4, 6 ms ... */
	ck_assert(sched_next(&s, &cur, START, &when));
	ck_assert_uint_eq(when, START);
	/* its reply takes 5 ms: the connection is busy until then */
	now = START + 5 * ms;
	ck_assert_uint_eq(sched_latency_ns(when, now), 5 * ms);
	/* then every request due by now goes out, one after the other */
	while (n < 8 && sched_next(&s, &cur, now, &when))
		sent[n++] = when;
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(sent[0], START + 2 * ms);
	ck_assert_uint_eq(sent[1], START + 4 * ms);
	/* each answered 100 us after the late send: the wait counts */
	for (i = 0; i < n; i++) {
		now += 100000;
		ck_assert_uint_eq(sched_latency_ns(sent[i], now),
		    now - sent[i]);
		ck_assert(sched_latency_ns(sent[i], now) > 100000);
	}
	ck_assert_uint_eq(sched_latency_ns(sent[0], START + 5100000),
	    3100000);
	/* not yet due: the next one waits for its time */
	ck_assert_int_eq(sched_next(&s, &cur, now, &when), 0);
	ck_assert_uint_eq(when, START + 6 * ms);
	ck_assert_uint_eq(sched_latency_ns(when, when - 5), 0);
}
END_TEST

START_TEST(test_count_before)
{
	struct sched s;
	uint64_t k, t, brute;
	int i;

	sched_init(&s, START, 7777.7, 3);
	ck_assert_uint_eq(sched_count_before(&s, START), 0);
	ck_assert_uint_eq(sched_count_before(&s, START + 1), 1);
	ck_assert_uint_eq(sched_count_before(&s, 0), 0);
	for (i = 0; i < 2000; i++) {
		t = START + (uint64_t)i * 64301;
		for (brute = 0, k = 0; sched_time(&s, k) < t; k++)
			brute++;
		ck_assert_uint_eq(sched_count_before(&s, t), brute);
	}
}
END_TEST

START_TEST(test_cap)
{
	struct sched s;
	struct sched_cursor cur[3] = { { 0, 0 }, { 1, 0 }, { 2, 0 } };
	uint64_t when, total = 0;
	int c;

	sched_init(&s, START, 100, 3);
	sched_cap(&s, sched_count_before(&s, START + 1000000000)); /* 1 s */
	sched_cap(&s, 1000);		/* a larger cap changes nothing */
	ck_assert_uint_eq(s.limit, 100);
	for (c = 0; c < 3; c++)
		while (sched_next(&s, &cur[c], UINT64_MAX - 1, &when)) {
			ck_assert(when < START + 1000000000);
			total++;
		}
	ck_assert_uint_eq(total, 100);
	ck_assert_uint_eq(sched_peek(&s, &cur[0]), SCHED_NONE);
	ck_assert_int_eq(sched_next(&s, &cur[1], UINT64_MAX - 1, &when), 0);
	ck_assert_uint_eq(when, SCHED_NONE);
}
END_TEST

/* Ticks: every instant lies between its floor and ceiling tick, at most a
 * tick apart, both on the grid, on either side of the origin. */
START_TEST(test_grid)
{
	const uint64_t tick = 250000, origin = START + 1234;
	uint64_t t, up, down;

	ck_assert_uint_eq(sched_grid(origin, 0, START + 7), START + 7);
	ck_assert_uint_eq(sched_grid_floor(origin, 0, START + 7), START + 7);
	ck_assert_uint_eq(sched_grid(origin, tick, origin), origin);
	ck_assert_uint_eq(sched_grid_floor(origin, tick, origin), origin);
	ck_assert_uint_eq(sched_grid(origin, tick, origin + 1), origin + tick);
	ck_assert_uint_eq(sched_grid_floor(origin, tick, origin + tick - 1),
	    origin);
	ck_assert_uint_eq(sched_grid(origin, tick, origin - 1), origin);
	ck_assert_uint_eq(sched_grid_floor(origin, tick, origin - 1),
	    origin - tick);
	for (t = origin - 3 * tick; t < origin + 3 * tick; t += 997) {
		up = sched_grid(origin, tick, t);
		down = sched_grid_floor(origin, tick, t);
		ck_assert(down <= t && t <= up);
		ck_assert(up - down == (t == up ? 0 : tick));
		ck_assert_uint_eq((up + 4 * tick - origin) % tick, 0);
		ck_assert_uint_eq((down + 4 * tick - origin) % tick, 0);
	}
}
END_TEST

/*
 * Released in ticks, a request goes at the first tick at or after its
 * time: never early, never a whole tick late, and one tick releases all
 * that fell due since the one before.
 */
START_TEST(test_ticks_release)
{
	struct sched s;
	struct sched_cursor cur = { 0, 0 };
	const uint64_t tick = 1000000;		/* 1 ms */
	uint64_t when, now, released = 0, at;
	int batch;

	sched_init(&s, START, 20000, 1);	/* 20 per tick */
	for (now = START; now < START + 50 * tick; now += tick) {
		batch = 0;
		while (sched_next(&s, &cur, sched_grid_floor(START, tick, now),
		    &when)) {
			at = sched_grid(START, tick, when);
			ck_assert(at >= when && at - when < tick);
			ck_assert(at <= now);
			batch++;
			released++;
		}
		ck_assert_int_eq(batch, now == START ? 1 : 20);
	}
	ck_assert_uint_eq(released, 1 + 49 * 20);
}
END_TEST

/* The suite. */
static Suite *
sched_suite(void)
{
	Suite *s = suite_create("load_sched");
	TCase *tc = tcase_create("sched");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_spacing_one_connection);
	tcase_add_test(tc, test_spacing_many_connections);
	tcase_add_test(tc, test_spacing_across_threads);
	tcase_add_test(tc, test_due_times);
	tcase_add_test(tc, test_late_connection);
	tcase_add_test(tc, test_count_before);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_grid);
	tcase_add_test(tc, test_ticks_release);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; exit 0 when every test passed. */
int
main(void)
{
	return check_main(sched_suite());
}
