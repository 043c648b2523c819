/*
 * test_queue.c: the compute pool, its bounded queue, cancellation, and the
 * hand-back of finished jobs to the event loop; the order of the queue
 * (bands of cost sharing the threads, cheapest first with aging inside a
 * band, clients taking turns), slices and their state.
 *
 * The queue runs on a fake clock here (make_queue): slices end and jobs
 * age only when a test moves the clock, so orders are exact and nothing
 * depends on the speed of the machine.
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
#include "check_main.h"

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
	uint64_t		*order;		/* seqs in the order they came */
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
counter(struct stats_slot *st, enum stat_counter c)
{
	return atomic_load(&st->c[c]);
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

/*
 * The queue's clock in these tests: it moves only when a test moves it,
 * so no slice ends by itself and the order of keys is known.
 */
static _Atomic uint64_t	 fake_ns = 1000000000000ULL;

/* The fake clock, in ns. */
static uint64_t
fake_clock(void)
{
	return atomic_load(&fake_ns);
}

/* Move the fake clock on by ns. */
static void
fake_advance(uint64_t ns)
{
	atomic_fetch_add(&fake_ns, ns);
}

/* A queue on wt's base, on the fake clock, cheapest first, 5 ms slices. */
static struct queue *
make_queue(struct waiter *wt, int threads, int limit, int nice,
    struct stats_slot *st, queue_done_cb cb)
{
	struct queue	*q;

	q = queue_create(wt->base, threads, limit, nice, st, cb, wt);
	ck_assert_ptr_nonnull(q);
	queue_set_clock(q, fake_clock);
	return q;
}

/*
 * The fixture of every test: the loop side, on a fresh event base, and
 * the stats slot its queue counts in. Each test makes its queue on them
 * (make_queue, with the threads, limit, priority and callback it is
 * about) and destroys it.
 */
static struct waiter		w;
static struct stats_slot	slot;

/* Room for the most jobs a test sends (a slicing test stops there). */
#define NJOBS		100000

/* Set up the fixture: w for NJOBS jobs, slot at zero. */
static void
setup(void)
{
	memset(&slot, 0, sizeof(slot));
	memset(&w, 0, sizeof(w));
	w.base = event_base_new();
	ck_assert_ptr_nonnull(w.base);
	w.loop = pthread_self();
	w.njobs = NJOBS;
	w.seen = calloc(NJOBS, sizeof(*w.seen));
	w.result = calloc(NJOBS, sizeof(*w.result));
	w.order = calloc(NJOBS, sizeof(*w.order));
	ck_assert_ptr_nonnull(w.order);
	ck_assert_ptr_nonnull(w.seen);
	ck_assert_ptr_nonnull(w.result);
}

/* Free what setup made (the test has destroyed its queue). */
static void
teardown(void)
{
	event_base_free(w.base);
	free(w.seen);
	free(w.result);
	free(w.order);
}

/* Done callback: note where and what came back, free the job. */
static void
on_done(struct job *job, void *arg)
{
	struct waiter	*wt = arg;

	if (!pthread_equal(pthread_self(), wt->loop))
		wt->off_loop++;
	if (job_seq(job) < (uint64_t)wt->njobs) {
		wt->seen[job_seq(job)]++;
		wt->result[job_seq(job)] = job->result;
	}
	if (wt->ndone < wt->njobs)
		wt->order[wt->ndone] = job_seq(job);
	wt->ndone++;
	free(job);
	if (wt->want > 0 && wt->ndone >= wt->want)
		event_base_loopbreak(wt->base);
}

/* Timer: the wait is over. */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct waiter	*wt = arg;

	wt->timed_out = 1;
	event_base_loopbreak(wt->base);
}

/* Run the loop until want jobs came back in all, or ms passed. */
static int
run_until(struct waiter *wt, int want, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*timer;

	timer = evtimer_new(wt->base, on_timeout, wt);
	ck_assert_ptr_nonnull(timer);
	evtimer_add(timer, &tv);
	wt->want = want;
	wt->timed_out = 0;
	while (wt->ndone < want && !wt->timed_out)
		event_base_loop(wt->base, EVLOOP_ONCE);
	wt->want = 0;
	event_free(timer);
	return wt->ndone >= want;
}

/* Run the loop for ms, whatever comes back. */
static void
run_for(struct waiter *wt, int ms)
{
	run_until(wt, INT32_MAX, ms);
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
wait_running(struct stats_slot *st, uint64_t nrunning)
{
	int64_t	end = now_ms() + PROMPT_MS;

	while (counter(st, STAT_jobs_running) != nrunning && now_ms() < end)
		sleep_ms(1);
	ck_assert_uint_eq(counter(st, STAT_jobs_running), nrunning);
}

/* Submit a job that keeps the only thread of q busy until cancelled. */
static struct job *
occupy(struct queue *q, struct stats_slot *st, uint64_t seq)
{
	struct job	*job = new_job(KERNEL_TRIAL, LONG_N, seq);

	ck_assert_int_eq(queue_submit(q, job), 0);
	wait_taken(q);
	wait_running(st, 1);
	return job;
}

/* Check the gauges are back to zero and the totals are as given. */
static void
check_counters(struct stats_slot *st, uint64_t done, uint64_t cancelled)
{
	ck_assert_uint_eq(counter(st, STAT_jobs_queued), 0);
	ck_assert_uint_eq(counter(st, STAT_jobs_running), 0);
	ck_assert_uint_eq(counter(st, STAT_jobs_done), done);
	ck_assert_uint_eq(counter(st, STAT_jobs_cancelled), cancelled);
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
	int			i;

	w.q = make_queue(&w, 2, 100, 0, &slot, on_done);
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
}
END_TEST

START_TEST(test_trial_results)
{
	static const uint64_t	ns[] = { 1, 2, 3, 10, 25, 100, 500, 1000 };
	const int		n = (int)(sizeof(ns) / sizeof(ns[0]));
	int			i;

	w.q = make_queue(&w, 3, 100, 0, &slot, on_done);
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
	int			i;

	w.q = make_queue(&w, 16, n, 0, &slot, on_done);
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
}
END_TEST

/* The low priorities of test_low_priority: nice 19, and 20 (SCHED_IDLE). */
static const int	nices[] = { 19, 20 };

/* Pool threads at SCHED_IDLE or nice 19 still get their work done. */
START_TEST(test_low_priority)
{
	w.q = make_queue(&w, 2, 10, nices[_i], &slot, on_done);
	ck_assert_int_eq(queue_submit(w.q,
	    new_job(KERNEL_SIEVE, 1000, 0)), 0);
	ck_assert_int_eq(queue_submit(w.q,
	    new_job(KERNEL_TRIAL, 100, 1)), 0);
	ck_assert(run_until(&w, 2, WAIT_MS));
	ck_assert_uint_eq(w.result[0], 7919);
	ck_assert_uint_eq(w.result[1], 541);
	queue_destroy(w.q);
}
END_TEST

/* With the only thread busy, limit jobs wait and the next are refused. */
START_TEST(test_full_queue)
{
	struct job		*busy, *a, *b, *c, *d;

	w.q = make_queue(&w, 1, 2, 0, &slot, on_done);
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
}
END_TEST

/* A limit of 1 holds exactly one waiting job. */
START_TEST(test_limit_one)
{
	struct job		*busy, *a, *b;

	w.q = make_queue(&w, 1, 1, 0, &slot, on_done);
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
}
END_TEST

/* A queued job cancelled is out for good; the caller frees it. */
START_TEST(test_cancel_queued)
{
	struct job		*busy, *a, *b, *c;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
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
}
END_TEST

/* A running job cancelled is flagged and comes back at once with 0. */
START_TEST(test_cancel_running_trial)
{
	struct job		*busy;
	int64_t			 t0;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
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
}
END_TEST

/* The sieve kernel notices the flag too. */
START_TEST(test_cancel_running_sieve)
{
	struct job		*big;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
	/* p(1e9) is past 2e10: many seconds of sieving. */
	big = new_job(KERNEL_SIEVE, 1000000000, 0);
	ck_assert_int_eq(queue_submit(w.q, big), 0);
	wait_running(&slot, 1);
	ck_assert_int_eq(queue_cancel(w.q, big), 0);
	ck_assert(run_until(&w, 1, PROMPT_MS));
	ck_assert_uint_eq(w.result[0], 0);
	queue_destroy(w.q);
	check_counters(&slot, 0, 1);
}
END_TEST

/* Counters add up while jobs wait, run, finish and are cancelled. */
START_TEST(test_counters)
{
	struct job		*busy, *j[5];
	int			 i;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
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
}
END_TEST

/* The oldest running job's time on its thread, by the queue's clock. */
START_TEST(test_oldest)
{
	struct job		*a, *b;

	w.q = make_queue(&w, 2, 10, 0, &slot, on_done);
	ck_assert_uint_eq(queue_oldest(w.q), 0);
	a = occupy(w.q, &slot, 1);
	fake_advance(3000000);
	ck_assert_uint_eq(queue_oldest(w.q), 3000000);
	b = new_job(KERNEL_TRIAL, LONG_N, 2);
	ck_assert_int_eq(queue_submit(w.q, b), 0);
	wait_running(&slot, 2);
	fake_advance(1000000);
	ck_assert_uint_eq(queue_oldest(w.q), 4000000);
	ck_assert_int_eq(queue_cancel(w.q, a), 0);
	ck_assert(run_until(&w, 1, WAIT_MS));
	ck_assert_uint_eq(queue_oldest(w.q), 1000000);
	ck_assert_int_eq(queue_cancel(w.q, b), 0);
	ck_assert(run_until(&w, 2, WAIT_MS));
	ck_assert_uint_eq(queue_oldest(w.q), 0);
	queue_destroy(w.q);
}
END_TEST

/* Destroying an idle pool is quick and calls nothing back. */
START_TEST(test_destroy_idle)
{
	int64_t			t0;

	w.q = make_queue(&w, 4, 10, 0, &slot, on_done);
	t0 = now_ms();
	queue_destroy(w.q);
	ck_assert_int_lt(now_ms() - t0, PROMPT_MS);
	ck_assert_int_eq(w.ndone, 0);
	check_counters(&slot, 0, 0);
}
END_TEST

/* Queued jobs are dropped (freed by the queue), the flagged one stops. */
START_TEST(test_destroy_with_queued)
{
	struct job		*busy;
	int			 i;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
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
}
END_TEST

/* A flagged running job alone: destroy waits for it, briefly, frees it. */
START_TEST(test_destroy_with_flagged_running)
{
	struct job		*busy;

	w.q = make_queue(&w, 2, 10, 0, &slot, on_done);
	busy = occupy(w.q, &slot, 0);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(destroy_bounded(w.q, busy));
	ck_assert_int_eq(w.ndone, 0);
	check_counters(&slot, 0, 1);
}
END_TEST

/*
 * queue_destroy says running jobs are told to stop: with one running and
 * not flagged by the caller, it must still return promptly.
 */
START_TEST(test_destroy_with_running)
{
	struct job		*busy;
	int			 prompt;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
	busy = occupy(w.q, &slot, 0);
	prompt = destroy_bounded(w.q, busy);
	ck_assert_msg(prompt, "queue_destroy waited for a running job "
	    "it did not tell to stop");
	check_counters(&slot, 0, 1);
}
END_TEST

/* Finished jobs not yet handed to the loop are freed by destroy. */
START_TEST(test_destroy_with_undelivered)
{
	int64_t			end;
	int			i;

	w.q = make_queue(&w, 2, 10, 0, &slot, on_done);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(queue_submit(w.q,
		    new_job(KERNEL_SIEVE, 50, (uint64_t)i)), 0);
	end = now_ms() + PROMPT_MS;
	while (counter(&slot, STAT_jobs_done) < 3 && now_ms() < end)
		sleep_ms(1);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_done), 3);
	queue_destroy(w.q);
	ck_assert_int_eq(w.ndone, 0);
}
END_TEST

/* Done callback that feeds the queue again from the loop. */
static void
on_done_feed(struct job *job, void *arg);

/* Submit tiny sieve jobs until all are in or the queue refuses one. */
static void
feed(struct waiter *wt)
{
	struct job	*job;
	uint64_t	 seq;

	while (wt->submitted < wt->total) {
		seq = (uint64_t)wt->submitted;
		job = new_job(KERNEL_SIEVE, 2 + seq % 99, seq);
		if (queue_submit(wt->q, job) == -1) {
			free(job);
			wt->rejected++;
			return;
		}
		wt->submitted++;
	}
}

static void
on_done_feed(struct job *job, void *arg)
{
	struct waiter	*wt = arg;

	on_done(job, arg);
	feed(wt);
}

/* Thousands of tiny jobs, submitted from the loop while results race in. */
START_TEST(test_many_racing)
{
	const int		 total = 10000;
	uint64_t		 want[101];
	int			 i;

	for (i = 2; i <= 100; i++)
		want[i] = nth_prime((uint64_t)i);
	w.total = total;
	w.q = make_queue(&w, 4, 64, 0, &slot, on_done_feed);
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
}
END_TEST

/* A burst submitted at once, far beyond the threads, all come back once. */
START_TEST(test_burst)
{
	const int		 total = 2000;
	int			 i;

	w.q = make_queue(&w, 4, total, 0, &slot, on_done);
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

/* The slice of make_queue's queues, in ns. */
#define SLICE_NS	5000000ULL

/* The aging rule of queue.c: a ns waited counts as this many ns of cost. */
#define AGING		2

/* A job of kernel k for n from client, known by seq. */
static struct job *
client_job(enum kernel k, uint64_t n, uint64_t seq, uint64_t client)
{
	struct job	*job = new_job(k, n, seq);

	job->client = client;
	return job;
}

/* Assert the jobs came back in the order of the seqs given. */
static void
check_order(const struct waiter *wt, const uint64_t *want, int n)
{
	int	i;

	ck_assert_int_ge(wt->ndone, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(wt->order[i] == want[i],
		    "job %d to come back was seq %llu, want %llu", i,
		    (unsigned long long)wt->order[i],
		    (unsigned long long)want[i]);
}

/* Wait until the slot shows counter c at v. */
static void
wait_counter(struct stats_slot *st, enum stat_counter c, uint64_t v)
{
	int64_t	end = now_ms() + PROMPT_MS;

	while (counter(st, c) != v && now_ms() < end)
		sleep_ms(1);
	ck_assert_uint_eq(counter(st, c), v);
}

/* The cost model grows with n, kernel by kernel. */
START_TEST(test_cost_model)
{
	static const enum kernel	 ks[] = { KERNEL_SIEVE, KERNEL_TRIAL,
					    KERNEL_COUNT };
	uint64_t			 n, prev;
	size_t				 k;

	for (k = 0; k < 3; k++) {
		prev = 0;
		for (n = 1; n < 100000000000000ULL; n = n * 3 + 1) {
			ck_assert_uint_ge(queue_cost(ks[k], n), prev);
			prev = queue_cost(ks[k], n);
		}
	}
	/* The trial kernel's scale: p(3000) in tens of ms, p(400000) mins. */
	ck_assert_uint_gt(queue_cost(KERNEL_TRIAL, 3000), 10000000);
	ck_assert_uint_lt(queue_cost(KERNEL_TRIAL, 3000), 1000000000);
	ck_assert_uint_gt(queue_cost(KERNEL_TRIAL, 400000), 60000000000ULL);
	ck_assert_uint_lt(queue_cost(KERNEL_SIEVE, 1000000), 10000000);
	ck_assert_uint_lt(queue_cost(KERNEL_COUNT, 10000000000000ULL),
	    queue_cost(KERNEL_SIEVE, 10000000000000ULL));
}
END_TEST

/* Jobs of different costs waiting together come out cheapest first. */
START_TEST(test_cheapest_first)
{
	static const uint64_t	 ns[] = { 100000, 10, 5000, 1000000, 50,
				    200000, 7 };
	static const uint64_t	 want[] = { 0, 7, 2, 5, 3, 1, 6, 4 };
	struct job		*busy;
	int			 i;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	/* Order only: the busy job must not yield its thread. */
	queue_set_order(w.q, ORDER_COST, 0);
	busy = occupy(w.q, &slot, 0);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_SIEVE,
		    ns[i], (uint64_t)i + 1, (uint64_t)i + 1)), 0);
	fake_advance(5000000);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 8, WAIT_MS));
	check_order(&w, want, 8);
	for (i = 0; i < 7; i++)
		ck_assert_uint_eq(w.result[i + 1], nth_prime(ns[i]));
	queue_destroy(w.q);
	check_counters(&slot, 7, 1);
	/* By size class: all small but the busy one; each waited 5 ms. */
	ck_assert_uint_eq(counter(&slot, STAT_jobs_small), 7);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_medium), 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_large), 1);
	ck_assert_uint_eq(counter(&slot, STAT_wait_us_small), 7 * 5000);
	ck_assert_uint_eq(counter(&slot, STAT_wait_us_large), 0);
}
END_TEST

/* --pool-order fifo: the same jobs in the order they came. */
START_TEST(test_fifo_order)
{
	static const uint64_t	 ns[] = { 100000, 10, 5000, 1000000, 50 };
	static const uint64_t	 want[] = { 0, 1, 2, 3, 4, 5 };
	struct job		*busy;
	int			 i;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	queue_set_order(w.q, ORDER_FIFO, 0);
	busy = occupy(w.q, &slot, 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_SIEVE,
		    ns[i], (uint64_t)i + 1, 7)), 0);
	/* FIFO never asks the running job to yield, however long. */
	fake_advance(100 * SLICE_NS);
	sleep_ms(20);
	ck_assert_uint_eq(counter(&slot, STAT_job_yields), 0);
	ck_assert_int_eq(queue_length(w.q), 5);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 6, WAIT_MS));
	check_order(&w, want, 6);
	queue_destroy(w.q);
	check_counters(&slot, 5, 1);
}
END_TEST

/* queue.c's cost bands: the bit length of a cost in ns, halved. */
static int
cost_band(enum kernel k, uint64_t n)
{
	uint64_t	c = queue_cost(k, n);

	return c == 0 ? 0 : (64 - __builtin_clzll(c)) / 2;
}

/*
 * Aging inside a band: a job eligible at t with cost C is passed by a
 * cheaper job of its band only if that one comes before t + (C - c) /
 * AGING. A job of 16 ms, then one of 9 ms a ms from many clients: the
 * first three go before it, the rest after.
 */
START_TEST(test_aging_bound)
{
	const int		 nmid = 5;
	uint64_t		 want[2 + 5], bound, at;
	struct job		*busy;
	int			 k, i = 0;

	ck_assert_int_eq(cost_band(KERNEL_TRIAL, 2000),
	    cost_band(KERNEL_TRIAL, 1500));
	bound = (queue_cost(KERNEL_TRIAL, 2000) -
	    queue_cost(KERNEL_TRIAL, 1500)) / AGING;
	ck_assert_uint_gt(bound, 3000000);
	ck_assert_uint_lt(bound, 4000000);
	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	/* Order only: the busy job must not yield its thread. */
	queue_set_order(w.q, ORDER_COST, 0);
	busy = occupy(w.q, &slot, 0);
	ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_TRIAL, 2000, 1,
	    1)), 0);
	want[i++] = 0;
	for (k = 1, at = 0; k <= nmid; k++) {
		fake_advance(1000000);
		at += 1000000;
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_TRIAL,
		    1500, (uint64_t)k + 1, (uint64_t)k + 100)), 0);
		if (at < bound)
			want[i++] = (uint64_t)k + 1;
	}
	ck_assert_int_eq(i, 4);
	want[i++] = 1;
	for (k = 4; k <= nmid; k++)
		want[i++] = (uint64_t)k + 1;
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 2 + nmid, WAIT_MS));
	check_order(&w, want, 2 + nmid);
	ck_assert_uint_eq(w.result[1], 17389);
	ck_assert_uint_eq(w.result[2], 12553);
	queue_destroy(w.q);
}
END_TEST

/*
 * Clients take turns: X pipelines 20 jobs, then Y sends 3 of the same
 * size; Y's go between X's. X's own cheap job of another size does not
 * wait behind X's queue.
 */
START_TEST(test_fair_clients)
{
	uint64_t		 want[25];
	struct job		*busy;
	int			 k, i = 0;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	/* Order only: the busy job must not yield its thread. */
	queue_set_order(w.q, ORDER_COST, 0);
	busy = occupy(w.q, &slot, 0);
	for (k = 1; k <= 20; k++) {
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_TRIAL,
		    100, (uint64_t)k, 1)), 0);
		fake_advance(1);
	}
	for (k = 21; k <= 23; k++) {
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_TRIAL,
		    100, (uint64_t)k, 2)), 0);
		fake_advance(1);
	}
	ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_TRIAL, 5, 24,
	    1)), 0);
	ck_assert_int_eq(queue_length(w.q), 24);
	want[i++] = 0;
	want[i++] = 24;
	for (k = 1; k <= 20; k++) {
		want[i++] = (uint64_t)k;
		if (k <= 3)
			want[i++] = (uint64_t)k + 20;
	}
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 25, WAIT_MS));
	check_order(&w, want, 25);
	for (k = 1; k <= 23; k++)
		ck_assert_uint_eq(w.result[k], 541);
	ck_assert_uint_eq(w.result[24], 11);
	queue_destroy(w.q);
	check_counters(&slot, 24, 1);
}
END_TEST

/* Cancelling a job that waits its turn in a flow, or heads one. */
START_TEST(test_cancel_in_flow)
{
	static const uint64_t	 want[] = { 0, 2, 3 };
	struct job		*busy, *j[4];
	int			 k;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	busy = occupy(w.q, &slot, 0);
	for (k = 1; k <= 3; k++) {
		j[k] = client_job(KERNEL_TRIAL, 100, (uint64_t)k, 1);
		ck_assert_int_eq(queue_submit(w.q, j[k]), 0);
	}
	/* The head goes, the next takes its place; then the tail goes. */
	ck_assert_int_eq(queue_cancel(w.q, j[1]), 1);
	free(j[1]);
	ck_assert_int_eq(queue_length(w.q), 2);
	ck_assert_int_eq(queue_submit(w.q, j[1] = client_job(KERNEL_TRIAL,
	    100, 1, 1)), 0);
	ck_assert_int_eq(queue_cancel(w.q, j[1]), 1);
	free(j[1]);
	ck_assert_int_eq(queue_length(w.q), 2);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 3, WAIT_MS));
	run_for(&w, 20);
	ck_assert_int_eq(w.ndone, 3);
	check_order(&w, want, 3);
	queue_destroy(w.q);
	check_counters(&slot, 2, 3);
}
END_TEST

/* What a slicing test feeds: cheap jobs while the long one runs. */
struct slicer {
	uint64_t	next_seq;
	int		long_done;
};
static struct slicer	sl;

/* Done callback: note the job; while the long one runs, send another. */
static void
on_done_slice(struct job *job, void *arg)
{
	struct waiter	*wt = arg;
	struct job	*cheap;

	if (job_seq(job) == 0)
		sl.long_done = 1;
	on_done(job, wt);
	if (sl.long_done || sl.next_seq >= (uint64_t)wt->njobs)
		return;
	cheap = client_job(KERNEL_TRIAL, 20, sl.next_seq++, 2);
	ck_assert_int_eq(queue_submit(wt->q, cheap), 0);
	fake_advance(SLICE_NS);
}

/* A long job of a slicing test, and its answer. */
struct sliced {
	enum kernel	k;
	uint64_t	n;
	uint64_t	want;
};
static const struct sliced	sliced_sieve[] = {
	{ KERNEL_SIEVE, 30000000, 573259391 },
	{ KERNEL_SIEVE, 10000000, 179424673 },
};
static const struct sliced	sliced_trial[] = {
	{ KERNEL_TRIAL, 5000, 48611 },
	{ KERNEL_TRIAL, 2000, 17389 },
};

/*
 * A long job cut into slices by a stream of cheaper ones gives the same
 * answer, for each kernel; the first cheap job goes before it.
 */
static void
slice_run(enum kernel k, uint64_t n, uint64_t want)
{
	struct job	*cheap;
	int		 ndone;

	memset(&sl, 0, sizeof(sl));
	w.q = make_queue(&w, 1, 100, 0, &slot, on_done_slice);
	ck_assert_int_eq(queue_submit(w.q, client_job(k, n, 0, 1)), 0);
	wait_running(&slot, 1);
	sl.next_seq = 2;
	cheap = client_job(KERNEL_TRIAL, 20, 1, 2);
	ck_assert_int_eq(queue_submit(w.q, cheap), 0);
	/* Asked to yield, it may run on until its slice is over. */
	sleep_ms(5);
	fake_advance(SLICE_NS);
	while (!sl.long_done)
		ck_assert(run_until(&w, w.ndone + 1, 60000));
	ndone = w.ndone;
	run_for(&w, 20);
	ck_assert_uint_eq(w.result[0], want);
	ck_assert_uint_eq(w.order[0], 1);
	ck_assert_uint_eq(w.result[1], 71);
	ck_assert_uint_ge(counter(&slot, STAT_job_yields), 1);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_sliced), 1);
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)w.ndone, 0);
	ck_assert_int_ge(w.ndone, ndone);
}

START_TEST(test_sliced_sieve)
{
	slice_run(sliced_sieve[_i].k, sliced_sieve[_i].n, sliced_sieve[_i].want);
}
END_TEST

START_TEST(test_sliced_trial)
{
	slice_run(sliced_trial[_i].k, sliced_trial[_i].n, sliced_trial[_i].want);
}
END_TEST

/* The numbers of waiting long clients of test_many_long_clients. */
static const int	long_clients[] = { 2, 20, 100 };

/*
 * Many clients with long jobs: one runs, k more wait, all aged far past
 * their cost. A cheap job still gets the thread at the end of the running
 * one's slice, however many wait, time after time; and the job that
 * yields goes on before the long jobs not yet started.
 */
START_TEST(test_many_long_clients)
{
	const int		  k = long_clients[_i];
	struct job		 *busy, **waiting;
	int			  i, ncheap = 3;

	w.q = make_queue(&w, 1, 1000, 0, &slot, on_done);
	waiting = calloc((size_t)k, sizeof(*waiting));
	ck_assert_ptr_nonnull(waiting);
	busy = occupy(w.q, &slot, 0);
	for (i = 0; i < k; i++) {
		waiting[i] = client_job(KERNEL_TRIAL, LONG_N, 1000 + i,
		    (uint64_t)i + 10);
		ck_assert_int_eq(queue_submit(w.q, waiting[i]), 0);
	}
	fake_advance(4 * queue_cost(KERNEL_TRIAL, LONG_N));
	for (i = 1; i <= ncheap; i++) {
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_TRIAL, 10,
		    (uint64_t)i, 2)), 0);
		fake_advance(SLICE_NS);
		ck_assert(run_until(&w, i, WAIT_MS));
		ck_assert_uint_eq(w.result[i], 29);
		ck_assert_uint_eq(counter(&slot, STAT_job_yields), (uint64_t)i);
		/* The same job was sliced each time: the others never ran. */
		ck_assert_uint_eq(counter(&slot, STAT_jobs_sliced), 1);
		wait_running(&slot, 1);
		ck_assert_int_eq(queue_length(w.q), k);
	}
	for (i = 0; i < k; i++) {
		ck_assert_int_eq(queue_cancel(w.q, waiting[i]), 1);
		free(waiting[i]);
	}
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, ncheap + 1, WAIT_MS));
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)ncheap, (uint64_t)k + 1);
	free(waiting);
}
END_TEST

/*
 * Bands share the thread: a stream of jobs of a cheaper band cannot keep
 * a dearer job from it. The dear job runs alone for a long time first,
 * which is not held against it: once cheaper work comes, the two bands
 * take turns, each getting as much of the thread as the other, within a
 * slice.
 */
START_TEST(test_bands_share)
{
	const uint64_t		 lo_n = LONG_N / 2;
	struct job		*dear, *lo1, *lo2;

	ck_assert_int_lt(cost_band(KERNEL_TRIAL, lo_n),
	    cost_band(KERNEL_TRIAL, LONG_N));
	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	dear = occupy(w.q, &slot, 0);
	fake_advance(1000 * SLICE_NS);
	/* Cheaper work comes: the dear job yields at its slice's end. */
	lo1 = client_job(KERNEL_TRIAL, lo_n, 1, 2);
	ck_assert_int_eq(queue_submit(w.q, lo1), 0);
	fake_advance(SLICE_NS);
	wait_counter(&slot, STAT_job_yields, 1);
	wait_running(&slot, 1);
	/* lo1 runs 4 slices (cheaper, it does not yield) and ends. */
	lo2 = client_job(KERNEL_TRIAL, lo_n, 2, 3);
	ck_assert_int_eq(queue_submit(w.q, lo2), 0);
	fake_advance(4 * SLICE_NS);
	ck_assert_int_eq(queue_cancel(w.q, lo1), 0);
	ck_assert(run_until(&w, 1, WAIT_MS));
	ck_assert_int_eq(w.seen[1], 1);
	/* Its band had less: the dear job goes on, lo2 waits 3 slices. */
	wait_running(&slot, 1);
	fake_advance(3 * SLICE_NS);
	sleep_ms(20);
	ck_assert_uint_eq(counter(&slot, STAT_job_yields), 1);
	ck_assert_int_eq(queue_length(w.q), 1);
	/* One slice more and its band has had more: lo2's turn. */
	fake_advance(SLICE_NS);
	wait_counter(&slot, STAT_job_yields, 2);
	wait_running(&slot, 1);
	ck_assert_int_eq(queue_cancel(w.q, lo2), 0);
	ck_assert(run_until(&w, 2, WAIT_MS));
	ck_assert_int_eq(w.seen[2], 1);
	if (queue_cancel(w.q, dear) == 1)
		free(dear);
	else
		ck_assert(run_until(&w, 3, WAIT_MS));
	queue_destroy(w.q);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_sliced), 1);
}
END_TEST

/* A job that never yields while nothing cheaper waits, however long. */
START_TEST(test_no_yield_alone)
{
	struct job		*busy, *other;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	busy = occupy(w.q, &slot, 0);
	fake_advance(1000 * SLICE_NS);
	/* A dearer job waits: still no reason to yield. */
	other = client_job(KERNEL_TRIAL, LONG_N + 1000, 1, 2);
	ck_assert_int_eq(queue_submit(w.q, other), 0);
	fake_advance(1000 * SLICE_NS);
	sleep_ms(20);
	ck_assert_uint_eq(counter(&slot, STAT_job_yields), 0);
	ck_assert_int_eq(queue_length(w.q), 1);
	ck_assert_int_eq(queue_cancel(w.q, other), 1);
	free(other);
	ck_assert_int_eq(queue_cancel(w.q, busy), 0);
	ck_assert(run_until(&w, 1, WAIT_MS));
	queue_destroy(w.q);
	check_counters(&slot, 0, 2);
}
END_TEST

/*
 * Park the long job first: it yields to a cheaper (still long) second
 * job, and waits in the queue with its state saved.
 */
static void
park(struct waiter *wt, struct stats_slot *st, enum kernel k,
    uint64_t nlong, uint64_t ncheaper, struct job **l, struct job **b)
{
	*l = client_job(k, nlong, 0, 1);
	ck_assert_int_eq(queue_submit(wt->q, *l), 0);
	wait_running(st, 1);
	*b = client_job(k, ncheaper, 1, 2);
	ck_assert_int_eq(queue_submit(wt->q, *b), 0);
	fake_advance(SLICE_NS);
	wait_counter(st, STAT_jobs_sliced, 1);
	wait_running(st, 1);
	ck_assert_int_eq(queue_length(wt->q), 1);
	ck_assert_uint_eq(counter(st, STAT_jobs_queued), 1);
}

/* A sliced job back in the queue is cancelled like any queued job. */
START_TEST(test_cancel_sliced)
{
	struct job		*l, *b;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	park(&w, &slot, KERNEL_TRIAL, LONG_N, LONG_N / 2, &l, &b);
	ck_assert_int_eq(queue_cancel(w.q, l), 1);
	free(l);
	ck_assert_int_eq(queue_length(w.q), 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_queued), 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_cancelled), 1);
	ck_assert_int_eq(queue_cancel(w.q, b), 0);
	ck_assert(run_until(&w, 1, WAIT_MS));
	ck_assert_int_eq(w.seen[1], 1);
	ck_assert_uint_eq(w.result[1], 0);
	queue_destroy(w.q);
	check_counters(&slot, 0, 2);
}
END_TEST

/* queue_destroy frees a sliced sieve job and the buffers it kept. */
START_TEST(test_destroy_sliced)
{
	struct job		*l, *b;

	w.q = make_queue(&w, 1, 100, 0, &slot, on_done);
	park(&w, &slot, KERNEL_SIEVE, 100000000000ULL, 10000000000ULL, &l, &b);
	ck_assert(destroy_bounded(w.q, b));
	ck_assert_int_eq(w.ndone, 0);
	check_counters(&slot, 0, 2);
}
END_TEST

#ifdef HAVE_PRIMECOUNT
/* Count jobs on four threads at once: every answer right. */
START_TEST(test_count_jobs)
{
	static const uint64_t	 ns[] = { 1000000, 5000000, 20000000,
				    100000000, 300000000, 1000000000 };
	static const uint64_t	 ps[] = { 15485863, 86028121, 373587883,
				    2038074743, 6461335109ULL, 22801763489ULL };
	const int		 n = 120;
	int			 i;

	w.q = make_queue(&w, 4, n, 0, &slot, on_done);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(queue_submit(w.q, client_job(KERNEL_COUNT,
		    ns[i % 6], (uint64_t)i, (uint64_t)i % 5)), 0);
	ck_assert(run_until(&w, n, 120000));
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(w.result[i], ps[i % 6]);
	queue_destroy(w.q);
	check_counters(&slot, (uint64_t)n, 0);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_late), 0);
}
END_TEST

/*
 * A count job cannot stop part-way: cancelled while it runs, it ends in
 * its own time, comes back with 0 and is counted late.
 */
START_TEST(test_count_late)
{
	struct job		*job;

	w.q = make_queue(&w, 1, 10, 0, &slot, on_done);
	job = client_job(KERNEL_COUNT, getenv("PRIMED_VALGRIND") != NULL ?
	    1000000000000ULL : 10000000000000ULL, 0, 1);
	ck_assert_int_eq(queue_submit(w.q, job), 0);
	wait_running(&slot, 1);
	/* Cheaper work does not make it yield either. */
	fake_advance(100 * SLICE_NS);
	ck_assert_int_eq(queue_cancel(w.q, job), 0);
	ck_assert(run_until(&w, 1, 120000));
	ck_assert_uint_eq(w.result[0], 0);
	queue_destroy(w.q);
	check_counters(&slot, 0, 1);
	ck_assert_uint_eq(counter(&slot, STAT_jobs_late), 1);
	ck_assert_uint_eq(counter(&slot, STAT_job_yields), 0);
}
END_TEST
#endif

/* A test case of the suite, its tests on the fixture, timeout s each. */
static TCase *
fixture_tcase(Suite *s, const char *name, int timeout)
{
	TCase	*tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

/* Every test, in one suite. */
static Suite *
queue_suite(void)
{
	Suite	*s = suite_create("queue");
	TCase	*tc;

	tc = fixture_tcase(s, "results", 60);
	tcase_add_test(tc, test_job_run);
	tcase_add_test(tc, test_sieve_results);
	tcase_add_test(tc, test_trial_results);
	tcase_add_test(tc, test_many_threads);
	tcase_add_loop_test(tc, test_low_priority, 0,
	    sizeof(nices) / sizeof(nices[0]));

	tc = fixture_tcase(s, "limits", 60);
	tcase_add_test(tc, test_full_queue);
	tcase_add_test(tc, test_limit_one);
	tcase_add_test(tc, test_cancel_queued);
	tcase_add_test(tc, test_cancel_running_trial);
	tcase_add_test(tc, test_cancel_running_sieve);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_oldest);

	tc = fixture_tcase(s, "destroy", 60);
	tcase_add_test(tc, test_destroy_idle);
	tcase_add_test(tc, test_destroy_with_queued);
	tcase_add_test(tc, test_destroy_with_flagged_running);
	tcase_add_test(tc, test_destroy_with_undelivered);
	tcase_add_test(tc, test_destroy_with_running);

	tc = fixture_tcase(s, "order", 60);
	tcase_add_test(tc, test_cost_model);
	tcase_add_test(tc, test_cheapest_first);
	tcase_add_test(tc, test_fifo_order);
	tcase_add_test(tc, test_aging_bound);
	tcase_add_test(tc, test_fair_clients);
	tcase_add_test(tc, test_cancel_in_flow);

	tc = fixture_tcase(s, "slices", 180);
	tcase_add_loop_test(tc, test_sliced_sieve, 0,
	    sizeof(sliced_sieve) / sizeof(sliced_sieve[0]));
	tcase_add_loop_test(tc, test_sliced_trial, 0,
	    sizeof(sliced_trial) / sizeof(sliced_trial[0]));
	tcase_add_loop_test(tc, test_many_long_clients, 0,
	    sizeof(long_clients) / sizeof(long_clients[0]));
	tcase_add_test(tc, test_bands_share);
	tcase_add_test(tc, test_no_yield_alone);
	tcase_add_test(tc, test_cancel_sliced);
	tcase_add_test(tc, test_destroy_sliced);

#ifdef HAVE_PRIMECOUNT
	tc = fixture_tcase(s, "count", 300);
	tcase_add_test(tc, test_count_jobs);
	tcase_add_test(tc, test_count_late);
#endif

	tc = fixture_tcase(s, "race", 120);
	tcase_add_test(tc, test_many_racing);
	tcase_add_test(tc, test_burst);
	return s;
}

int
main(void)
{
	int	 status;

	/* Pool threads wake the loop: the base must be thread-aware. */
	if (evthread_use_pthreads() == -1) {
		fprintf(stderr, "evthread_use_pthreads failed\n");
		return EXIT_FAILURE;
	}
	status = check_main(queue_suite());
	libevent_global_shutdown();
	return status;
}
