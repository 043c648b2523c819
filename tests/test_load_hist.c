/*
 * Unit tests of primed-load's latency histogram (src/load/hist.c): every
 * percentile of random samples against the same samples sorted, merging,
 * and the edges (empty, one value, huge values).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "load/hist.h"
#include "check_main.h"

#define NSAMPLES	200000

/* Percentiles checked, in thousandths of a percent (99.9 % is 99900). */
static const uint64_t pct_milli[] = {
	1, 100, 1000, 10000, 25000, 50000, 75000, 90000, 99000, 99900,
	99990, 99999, 100000
};

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* A value spread evenly over the orders of magnitude from 1 to ~1 hour. */
static uint64_t
rng_loguniform(uint64_t *s)
{
	unsigned bits = 1 + (unsigned)(rng_next(s) % 32);	/* up to 2^32 */
	uint64_t v = rng_next(s) & ((UINT64_C(1) << bits) - 1);

	return v == 0 ? 1 : v;
}

/* Sort helper. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The sample of rank ceil(p * n) in sorted order, exact integer maths. */
static uint64_t
sorted_percentile(const uint64_t *v, uint64_t n, uint64_t milli)
{
	uint64_t rank = (milli * n + 100000 - 1) / 100000;

	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

/* Check h against the sorted samples at every percentile of the list. */
static void
check_against(const struct hist *h, const uint64_t *v, uint64_t n)
{
	size_t i;
	uint64_t want, got;
	double err;

	ck_assert_uint_eq(hist_count(h), n);
	ck_assert_uint_eq(hist_max(h), v[n - 1]);
	ck_assert_uint_eq(hist_min(h), v[0]);
	for (i = 0; i < sizeof(pct_milli) / sizeof(pct_milli[0]); i++) {
		want = sorted_percentile(v, n, pct_milli[i]);
		got = hist_percentile(h, (double)pct_milli[i] / 1000.0);
		err = want > got ? (double)(want - got) : (double)(got - want);
		ck_assert_msg(err <= 0.01 * (double)want,
		    "p%.3f: histogram %llu, sorted %llu",
		    (double)pct_milli[i] / 1000.0, (unsigned long long)got,
		    (unsigned long long)want);
	}
}

/* Fill v with n samples of distribution kind and record them in h. */
static void
fill(struct hist *h, uint64_t *v, uint64_t n, int kind, uint64_t seed)
{
	uint64_t i, s = seed;

	for (i = 0; i < n; i++) {
		switch (kind) {
		case 0:
			v[i] = rng_loguniform(&s);
			break;
		case 1:
			v[i] = 1 + rng_next(&s) % 1000;
			break;
		default:	/* mostly fast, a slow tail: a stalled server */
			v[i] = (rng_next(&s) % 100 == 0) ?
			    500000 + rng_next(&s) % 3000000 :
			    20 + rng_next(&s) % 200;
			break;
		}
		hist_record(h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
}

START_TEST(test_empty)
{
	struct hist *h = hist_new();

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(hist_count(h), 0);
	ck_assert_uint_eq(hist_percentile(h, 50), 0);
	ck_assert_uint_eq(hist_percentile(h, 100), 0);
	ck_assert_uint_eq(hist_max(h), 0);
	ck_assert_uint_eq(hist_min(h), 0);
	ck_assert(hist_mean(h) == 0.0);
	hist_free(h);
	hist_free(NULL);
}
END_TEST

START_TEST(test_one_value)
{
	struct hist *h = hist_new();
	size_t i;

	hist_record(h, 123457);
	for (i = 0; i < sizeof(pct_milli) / sizeof(pct_milli[0]); i++)
		ck_assert_uint_eq(hist_percentile(h,
		    (double)pct_milli[i] / 1000.0), 123457);
	ck_assert_uint_eq(hist_max(h), 123457);
	ck_assert_uint_eq(hist_min(h), 123457);
	ck_assert(hist_mean(h) == 123457.0);
	hist_free(h);
}
END_TEST

START_TEST(test_random_vs_sorted)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	struct hist *h = hist_new();
	uint64_t i, sum = 0;

	ck_assert_ptr_nonnull(v);
	fill(h, v, NSAMPLES, _i, 0x9e3779b97f4a7c15ULL + (uint64_t)_i);
	check_against(h, v, NSAMPLES);
	for (i = 0; i < NSAMPLES; i++)
		sum += v[i];
	ck_assert_double_eq_tol(hist_mean(h), (double)sum / NSAMPLES, 1e-6);
	hist_free(h);
	free(v);
}
END_TEST

START_TEST(test_small_values_exact)
{
	struct hist *h = hist_new();
	uint64_t v;

	for (v = 0; v < 256; v++)
		hist_record(h, v);
	ck_assert_uint_eq(hist_percentile(h, 50), 127);
	ck_assert_uint_eq(hist_percentile(h, 100.0 / 256), 0);
	ck_assert_uint_eq(hist_percentile(h, 99), 253);
	ck_assert_uint_eq(hist_max(h), 255);
	hist_free(h);
}
END_TEST

START_TEST(test_merge)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	struct hist *all = hist_new(), *a = hist_new(), *b = hist_new();
	uint64_t i, s = 42;
	double p;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < NSAMPLES; i++) {
		v[i] = rng_loguniform(&s);
		hist_record(all, v[i]);
		hist_record(rng_next(&s) & 1 ? a : b, v[i]);
	}
	hist_merge(a, b);
	ck_assert_uint_eq(hist_count(a), hist_count(all));
	ck_assert_uint_eq(hist_max(a), hist_max(all));
	ck_assert_uint_eq(hist_min(a), hist_min(all));
	ck_assert(hist_mean(a) == hist_mean(all));
	for (p = 0.1; p <= 100.0; p += 0.1)
		ck_assert_uint_eq(hist_percentile(a, p),
		    hist_percentile(all, p));
	qsort(v, NSAMPLES, sizeof(*v), cmp_u64);
	check_against(a, v, NSAMPLES);
	hist_free(all);
	hist_free(a);
	hist_free(b);
	free(v);
}
END_TEST

START_TEST(test_merge_empty)
{
	struct hist *a = hist_new(), *b = hist_new();

	hist_merge(a, b);
	ck_assert_uint_eq(hist_count(a), 0);
	hist_record(b, 77);
	hist_merge(a, b);
	ck_assert_uint_eq(hist_percentile(a, 50), 77);
	ck_assert_uint_eq(hist_min(a), 77);
	hist_free(a);
	hist_free(b);
}
END_TEST

START_TEST(test_huge_values)
{
	struct hist *h = hist_new();
	const uint64_t hour = UINT64_C(3600) * 1000000;
	uint64_t got;

	hist_record_n(h, hour, 1000);
	got = hist_percentile(h, 50);
	ck_assert_uint_eq(got, hour);		/* one value: exact */
	hist_record(h, hour - 1000);
	got = hist_percentile(h, 50);
	ck_assert(got >= hour - hour / 100 && got <= hour + hour / 100);
	hist_record(h, HIST_LIMIT);
	hist_record(h, HIST_LIMIT + 1);
	hist_record(h, UINT64_MAX);
	ck_assert_uint_eq(hist_max(h), UINT64_MAX);
	ck_assert_uint_eq(hist_percentile(h, 100), UINT64_MAX);
	ck_assert_uint_eq(hist_count(h), 1004);
	ck_assert(hist_mean(h) > 0);		/* sum saturated, no wrap */
	got = hist_percentile(h, 99.9);
	ck_assert(got >= HIST_LIMIT - HIST_LIMIT / 100);
	hist_free(h);
}
END_TEST

START_TEST(test_record_n)
{
	struct hist *a = hist_new(), *b = hist_new();
	int i;

	hist_record_n(a, 5000, 10);
	hist_record_n(a, 7, 0);
	for (i = 0; i < 10; i++)
		hist_record(b, 5000);
	ck_assert_uint_eq(hist_count(a), hist_count(b));
	ck_assert_uint_eq(hist_percentile(a, 90), hist_percentile(b, 90));
	ck_assert(hist_mean(a) == hist_mean(b));
	hist_reset(a);
	ck_assert_uint_eq(hist_count(a), 0);
	ck_assert_uint_eq(hist_max(a), 0);
	hist_free(a);
	hist_free(b);
}
END_TEST

/* The suite. */
static Suite *
hist_suite(void)
{
	Suite *s = suite_create("load_hist");
	TCase *tc = tcase_create("hist");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_one_value);
	tcase_add_loop_test(tc, test_random_vs_sorted, 0, 3);
	tcase_add_test(tc, test_small_values_exact);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_merge_empty);
	tcase_add_test(tc, test_huge_values);
	tcase_add_test(tc, test_record_n);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; exit 0 when every test passed. */
int
main(void)
{
	return check_main(hist_suite());
}
