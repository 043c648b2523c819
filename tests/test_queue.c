/*
 * test_queue.c: the compute pool, its bounded queue, cancellation, and the
 * hand-back of finished jobs to the event loop.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "primed.h"

/* Far longer than any test: the trial kernel needs hours for it. */
#define LONG_N		200000

/* Upper bound for anything that should be prompt (valgrind is slow). */
#define PROMPT_MS	3000

/* Bound of a whole wait for completions. */
#define WAIT_MS		8000

/* What the loop side of a test sees. */
struct waiter {
	struct event_base	*base;
	struct queue		*q;
	pthread_t		 loop;		/* the loop thread */
	int			 njobs;		/* size of seen and result */
	int			*seen;		/* times each seq came back */
	uint64_t		*result;	/* by seq */
	int			 ndone;
	int			 off_loop;	/* callbacks on another thread */
	int			 want;		/* stop the loop at this many */
	int			 timed_out;
	/* Feeding from the loop: total jobs to submit, and how far. */
	int			 total;
	int			 submitted;
	int			 rejected;
};

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep for ms milliseconds. */
static void
sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The n-th prime by plain trial division up to the square root. */
static uint64_t
nth_prime(uint64_t n)
{
	uint64_t	i, d, found = 0;

	for (i = 2;; i++) {
		for (d = 2; d * d <= i; d++)
			if (i % d == 0)
				break;
		if (d * d > i && ++found == n)
			return i;
	}
}

/* Read one counter of a slot. */
static uint64_t
counter(struct stats_slot *slot, enum stat_counter c)
{
	return atomic_load(&slot->c[c]);
}

/* A job the test knows by seq (the server would point it at a reply). */
struct test_job {
	struct job	 job;		/* first: the queue hands this back */
	uint64_t	 seq;
};

/* The seq of a job made by new_job. */
static uint64_t
job_seq(struct job *job)
{
	return ((struct test_job *)job)->seq;
}

/* A new job of kernel k for n, known to the test by seq. */
static struct job *
new_job(enum kernel k, uint64_t n, uint64_t seq)
{
	struct test_job	*t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	t->job.kernel = k;
	t->job.n = n;
	t->seq = seq;
	return &t->job;
}

/* Set up w for njobs jobs on a fresh event base. */
static void
waiter_init(struct waiter *w, int njobs)
{
	memset(w, 0, sizeof(*w));
	w->base = event_base_new();
	ck_assert_ptr_nonnull(w->base);
	w->loop = pthread_self();
	w->njobs = njobs;
	w->seen = calloc((size_t)njobs, sizeof(*w->seen));
	w->result = calloc((size_t)njobs, sizeof(*w->result));
	ck_assert_ptr_nonnull(w->seen);
	ck_assert_ptr_nonnull(w->result);
}

/* Free what waiter_init made (the queue must be gone already). */
static void
waiter_free(struct waiter *w)
{
	event_base_free(w->base);
	free(w->seen);
	free(w->result);
}

/* Done callback: note where and what came back, free the job. */
static void
on_done(struct job *job, void *arg)
{
	struct waiter	*w = arg;

	if (!pthread_equal(pthread_self(), w->loop))
		w->off_loop++;
	if (job_seq(job) < (uint64_t)w->njobs) {
		w->seen[job_seq(job)]++;
		w->result[job_seq(job)] = job->result;
	}
	w->ndone++;
	free(job);
	if (w->want > 0 && w->ndone >= w->want)
		event_base_loopbreak(w->base);
}

/* Timer: the wait is over. */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct waiter	*w = arg;

	w->timed_out = 1;
	event_base_loopbreak(w->base);
}

/* Run the loop until want jobs came back in all, or ms passed. */
static int
run_until(struct waiter *w, int want, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*timer;

	timer = evtimer_new(w->base, on_timeout, w);
	ck_assert_ptr_nonnull(timer);
	evtimer_add(timer, &tv);
	w->want = want;
	w->timed_out = 0;
	while (w->ndone < want && !w->timed_out)
		event_base_loop(w->base, EVLOOP_ONCE);
	w->want = 0;
	event_free(timer);
	return w->ndone >= want;
}

/* Run the loop for ms, whatever comes back. */
static void
run_for(struct waiter *w, int ms)
{
	run_until(w, INT32_MAX, ms);
}

/* Wait (off the loop) until the pool has taken every queued job. */
static void
wait_taken(struct queue *q)
{
	int64_t	end = now_ms() + PROMPT_MS;

	while (queue_length(q) > 0 && now_ms() < end)
		sleep_ms(1);
	ck_assert_int_eq(queue_length(q), 0);
}

/* Wait until the slot shows nrunning jobs running. */
static void
wait_running(struct stats_slot *slot, uint64_t nrunning)
{
	int64_t	end = now_ms() + PROMPT_MS;

	while (counter(slot, STAT_jobs_running) != nrunning && now_ms() < end)
		sleep_ms(1);
	ck_assert_uint_eq(counter(slot, STAT_jobs_running), nrunning);
}

/* Submit a job that keeps the only thread of q busy until cancelled. */
static struct job *
occupy(struct queue *q, struct stats_slot *slot, uint64_t seq)
{
	struct job	*job = new_job(KERNEL_TRIAL, LONG_N, seq);

	ck_assert_int_eq(queue_submit(q, job), 0);
	wait_taken(q);
	wait_running(slot, 1);
	return job;
}

/* Check the gauges are back to zero and the totals are as given. */
static void
check_counters(struct stats_slot *slot, uint64_t done, uint64_t cancelled)
{
	ck_assert_uint_eq(counter(slot, STAT_jobs_queued), 0);
	ck_assert_uint_eq(counter(slot, STAT_jobs_running), 0);
	ck_assert_uint_eq(counter(slot, STAT_jobs_done), done);
	ck_assert_uint_eq(counter(slot, STAT_jobs_cancelled), cancelled);
}

/* Thread: destroy the queue given. */
static void *
destroy_thread(void *arg)
{
	queue_destroy(arg);
	return NULL;
}

/*
 * Destroy q on another thread and wait at most PROMPT_MS; 1 if it was
 * that prompt. If not, running (a job a pool thread still has, or NULL)
 * is flagged so that the destroy can finish, and this waits for it.
 */
static int
destroy_bounded(struct queue *q, struct job *running)
{
	struct timespec	deadline;
	pthread_t	t;

	ck_assert_int_eq(pthread_create(&t, NULL, destroy_thread, q), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PROMPT_MS / 1000;
	if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
		return 1;
	/* The job is not freed before it finishes: it is safe to flag. */
	if (running != NULL)
		atomic_store(&running->cancel, 1);
	pthread_join(t, NULL);
	return 0;
}

START_TEST(test_sieve_results)
{
	static const uint64_t	ns[] = { 1, 2, 3, 4, 5, 10, 100, 1000, 10000,
				    100000 };
	static const uint64_t	want[] = { 2, 3, 5, 7, 11, 29, 541, 7919,
				    104729, 1299709 };
	const int		n = (int)(sizeof(ns) / sizeof(ns[0]));
	struct stats_slot	slot;
	struct waiter		w;
	int			i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, n);
	w.q = queue_create(w.base, 2, 100, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_SIEVE, ns[i], (uint64_t)i)), 0);
	ck_assert(run_until(&w, n, WAIT_MS));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(w.seen[i], 1);
		ck_assert_uint_eq(w.result[i], want[i]);
	}
	ck_assert_int_eq(w.off_loop, 0);
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)n, 0);
	waiter_free(&w);
}
END_TEST

START_TEST(test_trial_results)
{
	static const uint64_t	ns[] = { 1, 2, 3, 10, 25, 100, 500, 1000 };
	const int		n = (int)(sizeof(ns) / sizeof(ns[0]));
	struct stats_slot	slot;
	struct waiter		w;
	int			i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, n);
	w.q = queue_create(w.base, 3, 100, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_TRIAL, ns[i], (uint64_t)i)), 0);
	ck_assert(run_until(&w, n, WAIT_MS));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(w.seen[i], 1);
		ck_assert_uint_eq(w.result[i], nth_prime(ns[i]));
	}
	ck_assert_int_eq(w.off_loop, 0);
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)n, 0);
	waiter_free(&w);
}
END_TEST

/* An n for job i, spread over 1..150. */
static uint64_t
mixed_n(int i)
{
	return (uint64_t)(1 + (i * 37) % 150);
}

/* Both kernels mixed, over many threads. */
START_TEST(test_many_threads)
{
	const int		n = 200;
	struct stats_slot	slot;
	struct waiter		w;
	int			i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, n);
	w.q = queue_create(w.base, 16, n, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(queue_submit(w.q, new_job(i % 2 ?
		    KERNEL_TRIAL : KERNEL_SIEVE, mixed_n(i), (uint64_t)i)), 0);
	ck_assert(run_until(&w, n, WAIT_MS));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(w.seen[i], 1);
		ck_assert_uint_eq(w.result[i], nth_prime(mixed_n(i)));
	}
	ck_assert_int_eq(w.ndone, n);
	ck_assert_int_eq(w.off_loop, 0);
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)n, 0);
	waiter_free(&w);
}
END_TEST

/* Pool threads at SCHED_IDLE or nice 19 still get their work done. */
START_TEST(test_low_priority)
{
	static const int	nices[] = { 19, 20 };
	struct stats_slot	slot;
	struct waiter		w;
	size_t			k;

	for (k = 0; k < sizeof(nices) / sizeof(nices[0]); k++) {
		memset(&slot, 0, sizeof(slot));
		waiter_init(&w, 2);
		w.q = queue_create(w.base, 2, 10, nices[k], &slot, on_done, &w);
		ck_assert_ptr_nonnull(w.q);
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_SIEVE, 1000, 0)), 0);
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_TRIAL, 100, 1)), 0);
		ck_assert(run_until(&w, 2, WAIT_MS));
		ck_assert_uint_eq(w.result[0], 7919);
		ck_assert_uint_eq(w.result[1], 541);
		queue_destroy(w.q);
		waiter_free(&w);
	}
}
END_TEST

/* With the only thread busy, limit jobs wait and the next are refused. */
START_TEST(test_full_queue)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy, *a, *b, *c, *d;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 8);
	w.q = queue_create(w.base, 1, 2, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);

	a = new_job(KERNEL_SIEVE, 10, 1);
	b = new_job(KERNEL_SIEVE, 100, 2);
	c = new_job(KERNEL_SIEVE, 1000, 3);
	d = new_job(KERNEL_TRIAL, 5, 4);
	ck_assert_int_eq(queue_submit(w.q, a), 0);
	ck_assert_int_eq(queue_submit(w.q, b), 0);
	ck_assert_int_eq(queue_length(w.q), 2);
	ck_assert_int_eq(queue_submit(w.q, c), -1);
	ck_assert_int_eq(queue_submit(w.q, d), -1);
	ck_assert_int_eq(queue_submit(w.q, c), -1);
	ck_assert_int_eq(queue_length(w.q), 2);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 2);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_running), 1);

	/* A place freed by a cancel can be taken again. */
	ck_assert_int_eq(queue_cancel(w.q, a), 1);
	free(a);
	ck_assert_int_eq(queue_submit(w.q, c), 0);
	ck_assert_int_eq(queue_submit(w.q, d), -1);
	free(d);

	/* Free the thread: b and c run, and everything comes back. */
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 3, WAIT_MS));
	ck_assert_int_eq(w.seen[0], 1);
	ck_assert_uint_eq(w.result[0], 0);
	ck_assert_uint_eq(w.result[2], 541);
	ck_assert_uint_eq(w.result[3], 7919);
	ck_assert_int_eq(w.seen[1], 0);
	ck_assert_int_eq(w.seen[4], 0);
	queue_destroy(w.q);
	check_counters(&slot, 2, 2);
	waiter_free(&w);
}
END_TEST

/* A limit of 1 holds exactly one waiting job. */
START_TEST(test_limit_one)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy, *a, *b;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 4);
	w.q = queue_create(w.base, 1, 1, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	a = new_job(KERNEL_SIEVE, 1, 1);
	b = new_job(KERNEL_SIEVE, 2, 2);
	ck_assert_int_eq(queue_submit(w.q, a), 0);
	ck_assert_int_eq(queue_submit(w.q, b), -1);
	free(b);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 2, WAIT_MS));
	ck_assert_uint_eq(w.result[1], 2);
	queue_destroy(w.q);
	check_counters(&slot, 1, 1);
	waiter_free(&w);
}
END_TEST

/* A queued job cancelled is out for good; the caller frees it. */
START_TEST(test_cancel_queued)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy, *a, *b, *c;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 4);
	w.q = queue_create(w.base, 1, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	a = new_job(KERNEL_SIEVE, 100, 1);
	b = new_job(KERNEL_SIEVE, 1000, 2);
	c = new_job(KERNEL_TRIAL, 5, 3);
	ck_assert_int_eq(queue_submit(w.q, a), 0);
	ck_assert_int_eq(queue_submit(w.q, b), 0);
	ck_assert_int_eq(queue_submit(w.q, c), 0);
	ck_assert_int_eq(queue_length(w.q), 3);

	ck_assert_int_eq(queue_cancel(w.q, b), 1);
	free(b);
	ck_assert_int_eq(queue_length(w.q), 2);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 2);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_cancelled), 1);

	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 3, WAIT_MS));
	run_for(&w, 50);
	ck_assert_int_eq(w.ndone, 3);
	ck_assert_int_eq(w.seen[0], 1);
	ck_assert_int_eq(w.seen[1], 1);
	ck_assert_int_eq(w.seen[2], 0);
	ck_assert_int_eq(w.seen[3], 1);
	ck_assert_uint_eq(w.result[0], 0);
	ck_assert_uint_eq(w.result[1], 541);
	ck_assert_uint_eq(w.result[3], 11);
	queue_destroy(w.q);
	check_counters(&slot, 2, 2);
	waiter_free(&w);
}
END_TEST

/* A running job cancelled is flagged and comes back at once with 0. */
START_TEST(test_cancel_running_trial)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy;
	int64_t			 t0;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 1);
	w.q = queue_create(w.base, 1, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 0);

	t0 = now_ms();
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 1, PROMPT_MS));
	ck_assert_int_lt(now_ms() - t0, PROMPT_MS);
	ck_assert_int_eq(w.seen[0], 1);
	ck_assert_uint_eq(w.result[0], 0);
	ck_assert_int_eq(w.off_loop, 0);
	check_counters(&slot, 0, 1);
	run_for(&w, 50);
	ck_assert_int_eq(w.ndone, 1);
	queue_destroy(w.q);
	waiter_free(&w);
}
END_TEST

/* The sieve kernel notices the flag too. */
START_TEST(test_cancel_running_sieve)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*big;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 1);
	w.q = queue_create(w.base, 1, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	/* p(1e9) is past 2e10: many seconds of sieving. */
	big = new_job(KERNEL_SIEVE, 1000000000, 0);
	ck_assert_int_eq(queue_submit(w.q, big), 0);
	wait_running(&slot, 1);
	ck_assert_int_eq(queue_cancel(w.q, big), 0);
	ck_assert(run_until(&w, 1, PROMPT_MS));
	ck_assert_uint_eq(w.result[0], 0);
	queue_destroy(w.q);
	check_counters(&slot, 0, 1);
	waiter_free(&w);
}
END_TEST

/* Counters add up while jobs wait, run, finish and are cancelled. */
START_TEST(test_counters)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy, *j[5];
	int			 i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 6);
	w.q = queue_create(w.base, 1, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_running), 1);
	for (i = 0; i < 5; i++) {
		j[i] = new_job(KERNEL_SIEVE, (uint64_t)(10 + i), (uint64_t)i + 1);
		ck_assert_int_eq(queue_submit(w.q, j[i]), 0);
	}
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 5);
	ck_assert_int_eq(queue_cancel(w.q, j[0]), 1);
	ck_assert_int_eq(queue_cancel(w.q, j[4]), 1);
	free(j[0]);
	free(j[4]);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 3);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_running), 1);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_cancelled), 2);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_done), 0);

	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 4, WAIT_MS));
	check_counters(&slot, 3, 3);
	for (i = 1; i < 4; i++)
		ck_assert_uint_eq(w.result[i + 1], nth_prime((uint64_t)(10 + i)));
	queue_destroy(w.q);
	check_counters(&slot, 3, 3);
	waiter_free(&w);
}
END_TEST

/* Destroying an idle pool is quick and calls nothing back. */
START_TEST(test_destroy_idle)
{
	struct stats_slot	slot;
	struct waiter		w;
	int64_t			t0;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 1);
	w.q = queue_create(w.base, 4, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	t0 = now_ms();
	queue_destroy(w.q);
	ck_assert_int_lt(now_ms() - t0, PROMPT_MS);
	ck_assert_int_eq(w.ndone, 0);
	check_counters(&slot, 0, 0);
	waiter_free(&w);
}
END_TEST

/* Queued jobs are dropped (freed by the queue), the flagged one stops. */
START_TEST(test_destroy_with_queued)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy;
	int			 i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 5);
	w.q = queue_create(w.base, 1, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	/*
	 * Short jobs: once the flagged job stops, the thread may take one
	 * of them before queue_destroy drops the rest.
	 */
	for (i = 1; i <= 4; i++)
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_SIEVE, 1000, (uint64_t)i)), 0);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(destroy_bounded(w.q, busy));
	ck_assert_int_eq(w.ndone, 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_running), 0);
	ck_assert_uint_ge(counter(&slot, STAT_jobs_cancelled), 1);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_done) +
	    counter(&slot, STAT_jobs_cancelled), 5);
	waiter_free(&w);
}
END_TEST

/* A flagged running job alone: destroy waits for it, briefly, frees it. */
START_TEST(test_destroy_with_flagged_running)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 1);
	w.q = queue_create(w.base, 2, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(destroy_bounded(w.q, busy));
	ck_assert_int_eq(w.ndone, 0);
	check_counters(&slot, 0, 1);
	waiter_free(&w);
}
END_TEST

/*
 * queue_destroy says running jobs are told to stop: with one running and
 * not flagged by the caller, it must still return promptly.
 */
START_TEST(test_destroy_with_running)
{
	struct stats_slot	 slot;
	struct waiter		 w;
	struct job		*busy;
	int			 prompt;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 1);
	w.q = queue_create(w.base, 1, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	busy = occupy(w.q, &slot, 0);
	prompt = destroy_bounded(w.q, busy);
	waiter_free(&w);
	ck_assert_msg(prompt, "queue_destroy waited for a running job "
	    "it did not tell to stop");
	check_counters(&slot, 0, 1);
}
END_TEST

/* Finished jobs not yet handed to the loop are freed by destroy. */
START_TEST(test_destroy_with_undelivered)
{
	struct stats_slot	slot;
	struct waiter		w;
	int64_t			end;
	int			i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, 3);
	w.q = queue_create(w.base, 2, 10, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_SIEVE, 50, (uint64_t)i)), 0);
	end = now_ms() + PROMPT_MS;
	while (counter(&slot, STAT_jobs_done) < 3 && now_ms() < end)
		sleep_ms(1);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_done), 3);
	queue_destroy(w.q);
	ck_assert_int_eq(w.ndone, 0);
	waiter_free(&w);
}
END_TEST

/* Done callback that feeds the queue again from the loop. */
static void
on_done_feed(struct job *job, void *arg);

/* Submit tiny sieve jobs until all are in or the queue refuses one. */
static void
feed(struct waiter *w)
{
	struct job	*job;
	uint64_t	 seq;

	while (w->submitted < w->total) {
		seq = (uint64_t)w->submitted;
		job = new_job(KERNEL_SIEVE, 2 + seq % 99, seq);
		if (queue_submit(w->q, job) == -1) {
			free(job);
			w->rejected++;
			return;
		}
		w->submitted++;
	}
}

static void
on_done_feed(struct job *job, void *arg)
{
	struct waiter	*w = arg;

	on_done(job, arg);
	feed(w);
}

/* Thousands of tiny jobs, submitted from the loop while results race in. */
START_TEST(test_many_racing)
{
	const int		 total = 10000;
	struct stats_slot	 slot;
	struct waiter		 w;
	uint64_t		 want[101];
	int			 i;

	for (i = 2; i <= 100; i++)
		want[i] = nth_prime((uint64_t)i);
	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, total);
	w.total = total;
	w.q = queue_create(w.base, 4, 64, 0, &slot, on_done_feed, &w);
	ck_assert_ptr_nonnull(w.q);
	feed(&w);
	ck_assert_int_gt(w.submitted, 0);
	ck_assert(run_until(&w, total, 60000));
	ck_assert_int_eq(w.submitted, total);
	ck_assert_int_eq(w.ndone, total);
	ck_assert_int_eq(w.off_loop, 0);
	for (i = 0; i < total; i++) {
		ck_assert_int_eq(w.seen[i], 1);
		ck_assert_uint_eq(w.result[i], want[2 + i % 99]);
	}
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)total, 0);
	waiter_free(&w);
}
END_TEST

/* A burst submitted at once, far beyond the threads, all come back once. */
START_TEST(test_burst)
{
	const int		 total = 2000;
	struct stats_slot	 slot;
	struct waiter		 w;
	int			 i;

	memset(&slot, 0, sizeof(slot));
	waiter_init(&w, total);
	w.q = queue_create(w.base, 4, total, 0, &slot, on_done, &w);
	ck_assert_ptr_nonnull(w.q);
	for (i = 0; i < total; i++)
		ck_assert_int_eq(queue_submit(w.q, new_job(KERNEL_SIEVE,
		    (uint64_t)(1 + i % 50), (uint64_t)i)), 0);
	ck_assert(run_until(&w, total, 60000));
	run_for(&w, 20);
	ck_assert_int_eq(w.ndone, total);
	for (i = 0; i < total; i++) {
		ck_assert_int_eq(w.seen[i], 1);
		ck_assert_uint_eq(w.result[i], nth_prime((uint64_t)(1 + i % 50)));
	}
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)total, 0);
	waiter_free(&w);
}
END_TEST

/* job_run alone: the kernel by name, 0 when the flag is already set. */
START_TEST(test_job_run)
{
	struct job	job;

	memset(&job, 0, sizeof(job));
	job.kernel = KERNEL_SIEVE;
	job.n = 1000;
	job_run(&job);
	ck_assert_uint_eq(job.result, 7919);
	job.kernel = KERNEL_TRIAL;
	job.n = 100;
	job_run(&job);
	ck_assert_uint_eq(job.result, 541);
	atomic_store(&job.cancel, 1);
	job.kernel = KERNEL_TRIAL;
	job.n = LONG_N;
	job_run(&job);
	ck_assert_uint_eq(job.result, 0);
	job.kernel = KERNEL_SIEVE;
	job.n = 1000000;
	job_run(&job);
	ck_assert_uint_eq(job.result, 0);
}
END_TEST

/* Every test, in one suite. */
static Suite *
queue_suite(void)
{
	Suite	*s = suite_create("queue");
	TCase	*tc;

	tc = tcase_create("results");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_job_run);
	tcase_add_test(tc, test_sieve_results);
	tcase_add_test(tc, test_trial_results);
	tcase_add_test(tc, test_many_threads);
	tcase_add_test(tc, test_low_priority);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_queue);
	tcase_add_test(tc, test_limit_one);
	tcase_add_test(tc, test_cancel_queued);
	tcase_add_test(tc, test_cancel_running_trial);
	tcase_add_test(tc, test_cancel_running_sieve);
	tcase_add_test(tc, test_counters);
	suite_add_tcase(s, tc);

	tc = tcase_create("destroy");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_destroy_idle);
	tcase_add_test(tc, test_destroy_with_queued);
	tcase_add_test(tc, test_destroy_with_flagged_running);
	tcase_add_test(tc, test_destroy_with_undelivered);
	tcase_add_test(tc, test_destroy_with_running);
	suite_add_tcase(s, tc);

	tc = tcase_create("race");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_many_racing);
	tcase_add_test(tc, test_burst);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* Pool threads wake the loop: the base must be thread-aware. */
	if (evthread_use_pthreads() == -1) {
		fprintf(stderr, "evthread_use_pthreads failed\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	libevent_global_shutdown();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
