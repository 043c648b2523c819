/*
 * queue.c: the compute pool of one worker.
 *
 * The loop thread submits jobs into a bounded queue; M pool threads take
 * them one at a time, run the kernel, and put the finished job on a done
 * list. Only the thread that turns the done list from empty to non-empty
 * wakes the loop (event_active on an evthread-enabled base), and the loop
 * takes the whole list at once, so a burst of results costs one wakeup.
 * Pool threads never see a connection: a job names its asker by fd and id,
 * and the loop decides what to do with the result.
 *
 * A job belongs to the queue from submit until the done callback is called;
 * queue_cancel removes a queued job (the caller frees it) or flags a running
 * one, which then finishes early and comes back through the done list.
 *
 * DESIGN of the order (--pool-order cost, the default)
 *
 * Cost.  Every job carries its expected run time in ns, queue_cost(), a
 * function of the kernel and n fitted to measured run times (see there).
 *
 * Bands share the threads.  Jobs are sorted by cost into bands a factor of
 * 4 wide (band = bit length of the cost in ns, halved: NBANDS of them).
 * Each band counts the thread time its jobs have had, its pass (ns; a
 * running job's time is added whenever the queue looks, queue_charge()).
 * A free thread takes a job of the band with the least pass among those
 * with jobs waiting, the cheaper band on a tie (queue_turn()).  A band
 * that had no work and gets some starts level with the least served band
 * that has work (band_wake()): time nobody else wanted is not held
 * against a band, and an idle band saves up no turns.  So the jobs of one
 * band, however many clients send them, share that band's part: K clients
 * with long jobs hold the long band, and a cheap job that arrives finds
 * its band the least served and takes the next thread, or the next end of
 * a slice of a dearer job (below), whatever K is.
 *
 * Inside a band, cheapest first with aging.  A band's waiting jobs sit in
 * its binary heap ordered by
 *	key = t + cost / AGING
 * where t is when the job became eligible (below): a job's priority
 * improves by AGING ns of expected cost for every ns it waits, so a
 * waiting job's key is fixed and the heap never needs re-ordering.  Costs
 * in a band are within a factor of 4, so a job of cost C is passed only by
 * cheaper jobs of its band that become eligible less than (C - c) / AGING
 * < 3C/8 after it.  A job that has yielded (below) goes before every job
 * of its band not yet started (key 0, then the order they became
 * eligible): the first to start ends first, and a band keeps at most one
 * sliced job per thread that ran it.
 *
 * Fair between clients.  Jobs of one client (the connection id, set by
 * the submitter) in the same band form a flow and take turns: only the
 * oldest job of a flow is in the heap; the next becomes eligible (its t
 * is now) when that one starts. So a client's 1000 pipelined jobs enter
 * the heap one at a time, and another client's job of the same size goes
 * between two of them, whatever their number. Different bands do not
 * wait for each other: a client's cheap job never queues behind its own
 * long job.
 *
 * Long jobs yield.  The sieve and trial kernels read a stop flag at fine
 * grain (prime.c). A submitter whose job is eligible and finds no idle
 * thread for it raises the flag of every running job of a dearer band, and
 * a job that starts while a cheaper band has jobs waiting starts with it
 * raised; a flagged job looks at the clock and, once it has run a slice
 * (--slice-ms) since it started or last looked, takes the lock once: if
 * the least served of the cheaper bands with jobs waiting has had less
 * thread time than its own band (queue_yield_to()), it saves its state,
 * goes back to its band and the thread takes that band's first job; if
 * not, it runs on, and looks again a slice later while cheaper work
 * waits (its band's pass grows as it runs).  Only cheaper bands make a job
 * yield: jobs of one band do not take turns on a thread.  The hot loops
 * pay only what the cancel check always cost: one relaxed load; a flagged
 * job reads the coarse clock (slices end within a tick, 1 to 4 ms, of
 * --slice-ms).  At most PARK_MAX(threads) sliced jobs wait with saved
 * state (a sieve keeps its buffers, under a MB); past that running jobs
 * do not yield.  The count kernel is one library call: it is ordered by
 * cost but runs to the end, and cannot be cancelled part-way.
 *
 * Bound.  While a band has jobs waiting, no other band's pass runs ahead
 * of its own by more than L: a slice and a tick for a job of a dearer
 * band (it yields then), or the rest of one job of a cheaper band (it
 * does not yield; it costs less than the jobs of the band that waits).
 * So with B bands that have work, each gets at least 1/B of the threads'
 * time less L, whatever the number of jobs and clients in the others: no
 * band starves, and a job of cost C that heads its band (no job of its
 * band before it, as above) ends within B * (C + L) of then, L at most
 * max(C, slice + tick): for a job longer than a slice, 2 * B * C; for a
 * long job beside one band of cheaper work, 4 * C.  B is at most NBANDS;
 * jobs from 10 us to 5 hours span 16 bands.
 *
 * --pool-order fifo keeps the plain FIFO: one band, the key is the submit
 * order, no flows, no slices.
 *
 * Pool threads run at a lower CPU priority (nice, or SCHED_IDLE) so that a
 * long job competes with other long jobs, not with the event loops.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

#define AGING		2		/* ns of cost forgiven per ns waited */
#define SLICE_MS	5		/* default slice */
#define COST_MAX	UINT64_C(1000000000000000000)	/* 30 years */
#define NO_SLOT		((size_t)-1)
#define NBANDS		33		/* bands of cost: bit length / 2 */

/* Size classes of STATS, by expected cost. */
#define SMALL_NS	UINT64_C(10000000)	/* below 10 ms */
#define MEDIUM_NS	UINT64_C(1000000000)	/* below 1 s; large past */

/* Sliced jobs that may wait with saved state. */
#define PARK_MAX(threads)	((threads) * 4 > 16 ? (threads) * 4 : 16)

/* The jobs of one client in one cost band, waiting for their turn. */
struct flow {
	LIST_ENTRY(flow)	 hash;
	uint64_t		 client;
	int			 band;
	struct job		*head;		/* in the heap, not started */
	struct jobq		 wait;		/* behind it, in order */
};
LIST_HEAD(flowlist, flow);

/* The eligible jobs of one cost band, and the thread time it has had. */
struct band {
	struct job		**heap;		/* by key */
	size_t			 nheap;
	size_t			 cap;
	size_t			 njobs;		/* queued or running: heap room */
	int			 nrunning;
	uint64_t		 pass;		/* thread time had, ns */
};

struct queue {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct band		 bands[NBANDS];	/* fifo: all in band 0 */
	uint64_t		 waiting;	/* bands with eligible jobs */
	size_t			 neligible;	/* jobs in the bands' heaps */
	struct flowlist		*flows;		/* hash of flows */
	size_t			 nbuckets;
	size_t			 nflows;
	struct jobq		 running;	/* what the threads hold */
	struct jobq		 done;
	int			 ntodo;
	int			 limit;
	int			 nidle;		/* threads waiting for work */
	int			 nparked;	/* sliced jobs waiting */
	int			 stopping;
	int			 nice;
	enum pool_order		 order;
	uint64_t		 slice_ns;	/* 0: no slices */
	uint64_t		 norder;	/* jobs made eligible */
	queue_clock_fn		 now;
	queue_clock_fn		 tick;		/* coarse: ends of slices */
	pthread_t		*threads;
	int			 nthreads;
	struct event		*done_ev;
	struct stats_slot	*stats;
	queue_done_cb		 cb;
	void			*arg;
};

/* What a pool thread tells the kernel's stop function. */
struct runner {
	struct queue		*q;
	struct job		*job;
};

/* Nanoseconds on the monotonic clock. */
static uint64_t
queue_clock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * Nanoseconds on the coarse monotonic clock (a kernel tick, 1 to 4 ms):
 * a flagged job reads it at every check point until its slice is over,
 * and the precise clock's serialising rdtsc, between the divisions of the
 * trial kernel, cost 5% of the job; this one costs nothing measurable.
 */
static uint64_t
queue_tick(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* An estimate of the n-th prime, n (ln n + ln ln n - 1), within a few %. */
static double
queue_nth_estimate(uint64_t n)
{
	double	l;

	if (n < 6)
		return 13;
	l = log((double)n);
	return (double)n * (l + log(l) - 1);
}

/*
 * Expected run time of a job in ns, x being the n-th prime. Fitted to the
 * best of 3 runs of each kernel on one thread (2-core x86-64 of 2024,
 * CLOCK_THREAD_CPUTIME_ID), by least squares of the log of the ratio:
 *   trial: 0.54 x^2 / ln x     (every candidate i costs i/2 divisions if
 *                              prime, few if not; n = 200 .. 20000 within
 *                              7%: n = 3000, 40 ms; n = 400000, ~20 min)
 *   sieve: 0.12 x + 10 us      (n = 1e6 .. 1e8 within 30%; 1e8, 0.25 s)
 *   count: 240 x^(2/3) / ln^2 x + 10 us  (libprimecount's bound; n = 1e8
 *                              .. 1e12 within 15%; 1e12, 0.23 s)
 * Only the order of costs and their scale against the clock (aging, the
 * size classes) use it: a machine twice as slow keeps the order and
 * ages long jobs half as fast in its own time.
 */
uint64_t
queue_cost(enum kernel k, uint64_t n)
{
	double	x = queue_nth_estimate(n), l = log(x), ns;

	switch (k) {
	case KERNEL_TRIAL:
		ns = 0.54 * x * x / l + 200;
		break;
	case KERNEL_COUNT:
		ns = 240 * cbrt(x * x) / (l * l) + 10000;
		break;
	default:
		ns = 0.12 * x + 10000;
		break;
	}
	return ns >= (double)COST_MAX ? COST_MAX : (uint64_t)ns;
}

/* Whether job a goes before job b in their band. */
static int
heap_before(const struct job *a, const struct job *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->order < b->order;
}

/* Put job at slot i of band b's heap. */
static void
heap_set(struct band *b, size_t i, struct job *job)
{
	b->heap[i] = job;
	job->slot = i;
}

/* Move the job at slot i up to its place. */
static void
heap_up(struct band *b, size_t i)
{
	struct job	*job = b->heap[i];

	while (i > 0 && heap_before(job, b->heap[(i - 1) / 2])) {
		heap_set(b, i, b->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(b, i, job);
}

/* Move the job at slot i down to its place. */
static void
heap_down(struct band *b, size_t i)
{
	struct job	*job = b->heap[i];
	size_t		 c;

	while ((c = 2 * i + 1) < b->nheap) {
		if (c + 1 < b->nheap && heap_before(b->heap[c + 1], b->heap[c]))
			c++;
		if (!heap_before(b->heap[c], job))
			break;
		heap_set(b, i, b->heap[c]);
		i = c;
	}
	heap_set(b, i, job);
}

/*
 * Make room in band b's heap for n jobs; -1 if out of memory. Reserved at
 * submit for every queued and running job of the band, so that a job made
 * eligible or sent back later always finds its place.
 */
static int
heap_reserve(struct band *b, size_t n)
{
	struct job	**h;
	size_t		  cap = b->cap ? b->cap : 16;

	while (cap < n)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	if ((h = reallocarray(b->heap, cap, sizeof(*h))) == NULL)
		return -1;
	b->heap = h;
	b->cap = cap;
	return 0;
}

/* Add a job to its band's heap (room reserved). */
static void
heap_push(struct queue *q, struct job *job)
{
	struct band	*b = &q->bands[job->band];

	heap_set(b, b->nheap++, job);
	heap_up(b, b->nheap - 1);
	q->waiting |= UINT64_C(1) << job->band;
	q->neligible++;
}

/* Take a job out of its band's heap, wherever it is. */
static void
heap_remove(struct queue *q, struct job *job)
{
	struct band	*b = &q->bands[job->band];
	size_t		 i = job->slot;
	struct job	*last = b->heap[--b->nheap];

	job->slot = NO_SLOT;
	q->neligible--;
	if (b->nheap == 0)
		q->waiting &= ~(UINT64_C(1) << job->band);
	if (i == b->nheap)
		return;
	heap_set(b, i, last);
	heap_up(b, i);
	heap_down(b, last->slot);
}

/* Cost band: a factor of 4 (bit length of the cost, halved). */
static int
queue_band(uint64_t cost)
{
	return cost == 0 ? 0 : (64 - __builtin_clzll(cost)) / 2;
}

/* Hash bucket of (client, band). */
static struct flowlist *
flow_bucket(struct queue *q, uint64_t client, int band)
{
	uint64_t	h = (client * 4 + (uint64_t)band) *
			    UINT64_C(0x9e3779b97f4a7c15);

	return &q->flows[(h >> 32) & (q->nbuckets - 1)];
}

/* Double the hash of flows when it gets crowded; keep it if out of memory. */
static void
flow_grow(struct queue *q)
{
	struct flowlist	*old = q->flows, *b;
	struct flow	*f;
	size_t		 i, n = q->nbuckets;

	if (q->nflows < q->nbuckets)
		return;
	if ((q->flows = calloc(n * 2, sizeof(*q->flows))) == NULL) {
		q->flows = old;
		return;
	}
	q->nbuckets = n * 2;
	for (i = 0; i < n; i++) {
		while ((f = LIST_FIRST(&old[i])) != NULL) {
			LIST_REMOVE(f, hash);
			b = flow_bucket(q, f->client, f->band);
			LIST_INSERT_HEAD(b, f, hash);
		}
	}
	free(old);
}

/* The flow of (client, band), made if needed; NULL if out of memory. */
static struct flow *
flow_get(struct queue *q, uint64_t client, int band)
{
	struct flowlist	*b = flow_bucket(q, client, band);
	struct flow	*f;

	LIST_FOREACH(f, b, hash)
		if (f->client == client && f->band == band)
			return f;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->client = client;
	f->band = band;
	TAILQ_INIT(&f->wait);
	LIST_INSERT_HEAD(b, f, hash);
	q->nflows++;
	flow_grow(q);
	return f;
}

/* Forget a flow with nothing left in it. */
static void
flow_put(struct queue *q, struct flow *f)
{
	if (f->head != NULL || !TAILQ_EMPTY(&f->wait))
		return;
	LIST_REMOVE(f, hash);
	q->nflows--;
	free(f);
}

/*
 * Bring the bands' thread time up to now: what each running job has run
 * since it was last counted goes to its band.
 */
static void
queue_charge(struct queue *q, uint64_t now)
{
	struct job	*r;

	TAILQ_FOREACH(r, &q->running, entry) {
		if (now > r->charged) {
			q->bands[r->band].pass += now - r->charged;
			r->charged = now;
		}
	}
}

/*
 * Band b, which had no work, gets some: it starts level with the least
 * served band that has work, so that it is owed no time nobody else
 * wanted, and a band cannot save up turns while it is idle.
 */
static void
band_wake(struct queue *q, int b, uint64_t now)
{
	struct band	*bd = &q->bands[b];
	uint64_t	 least = UINT64_MAX;
	int		 i;

	if (bd->nheap > 0 || bd->nrunning > 0)
		return;
	queue_charge(q, now);
	for (i = 0; i < NBANDS; i++)
		if (i != b && (q->bands[i].nheap > 0 ||
		    q->bands[i].nrunning > 0) && q->bands[i].pass < least)
			least = q->bands[i].pass;
	if (least != UINT64_MAX && bd->pass < least)
		bd->pass = least;
}

/*
 * The band whose turn it is among those below band below (NBANDS: all)
 * with eligible jobs: the least served, the cheaper on a tie; -1 if none.
 */
static int
queue_turn(const struct queue *q, int below)
{
	uint64_t	w = q->waiting & ((UINT64_C(1) << below) - 1);
	int		i, best = -1;

	for (; w != 0; w &= w - 1) {
		i = __builtin_ctzll(w);
		if (best == -1 || q->bands[i].pass < q->bands[best].pass)
			best = i;
	}
	return best;
}

/* Make a job eligible at time now: into its band's heap by aged cost. */
static void
queue_eligible(struct queue *q, struct job *job, uint64_t now)
{
	job->order = q->norder++;
	job->key = q->order == ORDER_FIFO ? job->order :
	    now + job->cost / AGING;
	band_wake(q, job->band, now);
	heap_push(q, job);
}

/* The flow's head started (or left): the next job of the flow is eligible. */
static void
flow_next(struct queue *q, struct flow *f, uint64_t now)
{
	struct job	*next;

	f->head = NULL;
	if ((next = TAILQ_FIRST(&f->wait)) != NULL) {
		TAILQ_REMOVE(&f->wait, next, entry);
		queue_eligible(q, next, now);
		f->head = next;
	} else
		flow_put(q, f);
}

/* Queue a job under the lock, eligible now or behind its flow's head. */
static int
queue_enter(struct queue *q, struct job *job, uint64_t now)
{
	struct band	*b;
	struct flow	*f = NULL;

	job->band = q->order == ORDER_FIFO ? 0 : queue_band(job->cost);
	b = &q->bands[job->band];
	if (heap_reserve(b, b->njobs + 1) == -1)
		return -1;
	if (q->order == ORDER_COST &&
	    (f = flow_get(q, job->client, job->band)) == NULL)
		return -1;
	b->njobs++;
	job->flow = f;
	if (f != NULL && f->head != NULL)
		TAILQ_INSERT_TAIL(&f->wait, job, entry);
	else {
		queue_eligible(q, job, now);
		if (f != NULL)
			f->head = job;
	}
	return 0;
}

/* Whether job may yield to a band cheaper than its own with jobs waiting. */
static int
queue_cheaper_waits(const struct queue *q, const struct job *job)
{
	return q->order == ORDER_COST && q->slice_ns != 0 &&
	    job->kernel != KERNEL_COUNT &&
	    (q->waiting & ((UINT64_C(1) << job->band) - 1)) != 0;
}

/*
 * Ask every running job of a band dearer than job's to look, at its
 * slice's end, whether to yield (queue_should_stop() decides then).
 */
static void
queue_preempt(struct queue *q, struct job *job)
{
	struct job	*r;

	if (q->order != ORDER_COST || q->slice_ns == 0 ||
	    q->neligible <= (size_t)q->nidle || job->slot == NO_SLOT)
		return;
	TAILQ_FOREACH(r, &q->running, entry)
		if (r->kernel != KERNEL_COUNT && job->band < r->band)
			atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
}

/*
 * Under the lock: the cheaper band that job should yield its thread to
 * now, or -1: the least served of the cheaper bands with jobs waiting,
 * if it has had less thread time than job's band.
 */
static int
queue_yield_to(struct queue *q, struct job *job, uint64_t now)
{
	int	t;

	if (q->nparked >= PARK_MAX(q->nthreads))
		return -1;
	queue_charge(q, now);
	t = queue_turn(q, job->band);
	if (t == -1 || q->bands[t].pass >= q->bands[job->band].pass)
		return -1;
	return t;
}

/* Kernel stop function: cancelled, or a slice used up with cheaper work. */
static int
queue_should_stop(void *arg)
{
	struct runner	*rn = arg;
	struct queue	*q = rn->q;
	struct job	*job = rn->job;
	uint64_t	 now;
	int		 yield;

	if (atomic_load(&job->cancel))
		return 1;
	/* The coarse clock may still be behind the start. */
	if (q->slice_ns == 0 || (now = q->tick()) < job->check ||
	    now - job->check < q->slice_ns)
		return 0;
	pthread_mutex_lock(&q->lock);
	now = q->now();
	yield = queue_yield_to(q, job, now) != -1;
	/*
	 * Not yet: a cheaper band still waiting may pass its band later, as
	 * its band's time grows while it runs, so look again a slice from
	 * now; with no cheaper band waiting, run on until a submit raises
	 * the flag again.
	 */
	job->check = now;
	if (!yield && !atomic_load(&job->cancel) &&
	    !queue_cheaper_waits(q, job))
		atomic_store(&job->stop, 0);
	pthread_mutex_unlock(&q->lock);
	return yield || atomic_load(&job->cancel);
}

/* Run a kernel to its end, or until told to stop; 1 done, 0 stopped. */
static int
queue_kernel(struct job *job, const struct prime_ctl *ctl)
{
	uint64_t	p = 0;
	int		r;

	switch (job->kernel) {
	case KERNEL_TRIAL:
		r = prime_trial_run(job->n, &job->st, ctl, &p);
		break;
	case KERNEL_COUNT:
		/* One library call: no stop point inside. */
		p = prime_nth_count(job->n);
		r = p != 0 ? 1 : -1;
		break;
	default:
		r = prime_sieve_run(job->n, &job->st, ctl, &p);
		break;
	}
	if (r == -1)
		log_warn("job n=%llu failed", (unsigned long long)job->n);
	job->result = r == 1 ? p : 0;
	return r != 0;
}

/* Run the job's kernel to the end; result 0 means it was cancelled. */
void
job_run(struct job *job)
{
	struct prime_ctl	ctl = { &job->cancel, NULL, NULL };

	queue_kernel(job, &ctl);
	prime_state_free(&job->st);
}

/* Lower the calling thread's priority: nice 0..19, or 20 for SCHED_IDLE. */
static void
queue_lower_priority(int nice)
{
	struct sched_param	sp;

	memset(&sp, 0, sizeof(sp));
	if (nice >= 20) {
		if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
			return;
		nice = 19;
	}
	/* On Linux, nice is per thread: PRIO_PROCESS with a thread id. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) == -1)
		log_warn("setpriority %d: %s", nice, strerror(errno));
}

/*
 * Under the lock: take a queued job out, wherever it waits. A job of a
 * flow in a heap is the flow's head: the next one's turn comes (made
 * eligible first, so that its band does not look idle meanwhile).
 */
static void
queue_unlink(struct queue *q, struct job *job, uint64_t now)
{
	struct flow	*f = job->flow;

	if (job->slot != NO_SLOT) {
		if (f != NULL)
			flow_next(q, f, now);
		heap_remove(q, job);
		if (job->yields > 0)
			q->nparked--;
	} else if (f != NULL) {
		TAILQ_REMOVE(&f->wait, job, entry);
		flow_put(q, f);
	}
	job->flow = NULL;
	q->ntodo--;
	stats_sub(q->stats, STAT_jobs_queued, 1);
}

/* Under the lock: drop a queued job, cancelled; the caller frees it. */
static void
queue_drop(struct queue *q, struct job *job)
{
	queue_unlink(q, job, q->now());
	q->bands[job->band].njobs--;
	prime_state_free(&job->st);
	stats_add(q->stats, STAT_jobs_cancelled, 1);
}

/*
 * Under the lock: take the first job of band b and mark it running; it
 * looks at the end of its slice whether to yield if a cheaper band waits.
 */
static struct job *
queue_pop(struct queue *q, int b, uint64_t now)
{
	struct job	*job = q->bands[b].heap[0];

	queue_unlink(q, job, now);
	job->waited += now - job->since;
	job->start = job->check = job->charged = now;
	q->bands[b].nrunning++;
	TAILQ_INSERT_TAIL(&q->running, job, entry);
	atomic_store(&job->stop, queue_cheaper_waits(q, job));
	stats_add(q->stats, STAT_jobs_running, 1);
	return job;
}

/* Under the lock: a running job leaves its thread, its run counted. */
static void
queue_unrun(struct queue *q, struct job *job, uint64_t now)
{
	queue_charge(q, now);
	TAILQ_REMOVE(&q->running, job, entry);
	q->bands[job->band].nrunning--;
	stats_sub(q->stats, STAT_jobs_running, 1);
}

/* Take the next job, or NULL when the queue is stopping. */
static struct job *
queue_take(struct queue *q)
{
	struct job	*job = NULL;
	uint64_t	 now;

	pthread_mutex_lock(&q->lock);
	while (!q->stopping && q->waiting == 0) {
		q->nidle++;
		pthread_cond_wait(&q->cond, &q->lock);
		q->nidle--;
	}
	if (!q->stopping) {
		now = q->now();
		queue_charge(q, now);
		job = queue_pop(q, queue_turn(q, NBANDS), now);
	}
	pthread_mutex_unlock(&q->lock);
	return job;
}

/*
 * A job stopped at the end of its slice: back into its band, before the
 * band's jobs not yet started, and the thread takes a job of the cheaper
 * band whose turn it is; if that band was emptied meanwhile, the job goes
 * on.
 */
static struct job *
queue_yield(struct queue *q, struct job *job)
{
	uint64_t	now;
	int		t;

	pthread_mutex_lock(&q->lock);
	now = q->now();
	/* Stopping: flagged by queue_destroy, it stops at its next check. */
	if (q->stopping || (t = queue_yield_to(q, job, now)) == -1) {
		job->check = now;
		pthread_mutex_unlock(&q->lock);
		return job;
	}
	queue_unrun(q, job, now);
	job->key = 0;
	job->since = now;
	stats_add(q->stats, STAT_job_yields, 1);
	if (job->yields++ == 0)
		stats_add(q->stats, STAT_jobs_sliced, 1);
	heap_push(q, job);
	q->ntodo++;
	q->nparked++;
	stats_add(q->stats, STAT_jobs_queued, 1);
	job = queue_pop(q, t, now);
	pthread_mutex_unlock(&q->lock);
	return job;
}

/* Count a job that leaves the pool in its size class. */
static void
queue_account(struct queue *q, struct job *job)
{
	enum stat_counter	n = STAT_jobs_large, w = STAT_wait_us_large;

	if (job->cost < SMALL_NS) {
		n = STAT_jobs_small;
		w = STAT_wait_us_small;
	} else if (job->cost < MEDIUM_NS) {
		n = STAT_jobs_medium;
		w = STAT_wait_us_medium;
	}
	stats_add(q->stats, n, 1);
	stats_add(q->stats, w, job->waited / 1000);
	if (atomic_load(&job->cancel) && job->result != 0) {
		/* Finished after its cancel (count cannot stop): dropped. */
		job->result = 0;
		stats_add(q->stats, STAT_jobs_late, 1);
	}
	stats_add(q->stats, job->result ? STAT_jobs_done :
	    STAT_jobs_cancelled, 1);
}

/* Hand a finished job to the loop; wake it only if it was not already due. */
static void
queue_finish(struct queue *q, struct job *job)
{
	int	wake;

	prime_state_free(&job->st);
	pthread_mutex_lock(&q->lock);
	queue_unrun(q, job, q->now());
	q->bands[job->band].njobs--;
	queue_account(q, job);
	wake = TAILQ_EMPTY(&q->done);
	TAILQ_INSERT_TAIL(&q->done, job, entry);
	pthread_mutex_unlock(&q->lock);
	if (wake)
		event_active(q->done_ev, EV_READ, 1);
}

/* A pool thread: take, run a slice or all, hand back, until stopped. */
static void *
queue_thread(void *arg)
{
	struct queue		*q = arg;
	struct runner		 rn = { q, NULL };
	struct prime_ctl	 ctl = { NULL, queue_should_stop, &rn };
	struct job		*job;

	queue_lower_priority(q->nice);
	job = queue_take(q);
	while (job != NULL) {
		rn.job = job;
		ctl.flag = &job->stop;
		if (!atomic_load(&job->cancel) && !queue_kernel(job, &ctl) &&
		    !atomic_load(&job->cancel)) {
			job = queue_yield(q, job);
			continue;
		}
		queue_finish(q, job);
		job = queue_take(q);
	}
	return NULL;
}

/* On the loop: take every finished job at once and hand each to the owner. */
static void
queue_done(evutil_socket_t fd, short what, void *arg)
{
	struct queue	*q = arg;
	struct jobq	 list;
	struct job	*job;

	TAILQ_INIT(&list);
	pthread_mutex_lock(&q->lock);
	TAILQ_CONCAT(&list, &q->done, entry);
	pthread_mutex_unlock(&q->lock);
	while ((job = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, job, entry);
		q->cb(job, q->arg);
	}
}

/* Start nthreads pool threads feeding done jobs to cb on base's loop. */
struct queue *
queue_create(struct event_base *base, int nthreads, int limit, int nice,
    struct stats_slot *stats, queue_done_cb cb, void *arg)
{
	struct queue	*q;
	sigset_t	 all, old;
	int		 i, rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	TAILQ_INIT(&q->running);
	TAILQ_INIT(&q->done);
	q->limit = limit;
	q->nice = nice;
	queue_set_order(q, ORDER_COST, SLICE_MS);
	queue_set_clock(q, NULL);
	q->stats = stats;
	q->cb = cb;
	q->arg = arg;
	q->nbuckets = 64;
	q->flows = calloc(q->nbuckets, sizeof(*q->flows));
	q->done_ev = event_new(base, -1, 0, queue_done, q);
	q->threads = calloc(nthreads, sizeof(*q->threads));
	if (q->flows == NULL || q->done_ev == NULL || q->threads == NULL)
		goto fail;

	/* Signals belong to the loop thread: pool threads start with none. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		rc = pthread_create(&q->threads[i], NULL, queue_thread, q);
		if (rc != 0) {
			log_error("pthread_create: %s", strerror(rc));
			break;
		}
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (q->nthreads == nthreads)
		return q;
fail:
	queue_destroy(q);
	return NULL;
}

/* Choose the order and the slice (ms, 0: none); before any submit. */
void
queue_set_order(struct queue *q, enum pool_order order, int slice_ms)
{
	pthread_mutex_lock(&q->lock);
	q->order = order;
	q->slice_ns = slice_ms > 0 ? (uint64_t)slice_ms * 1000000 : 0;
	pthread_mutex_unlock(&q->lock);
}

/* Use another clock (ns, monotonic; tests); before any submit. */
void
queue_set_clock(struct queue *q, queue_clock_fn now)
{
	pthread_mutex_lock(&q->lock);
	q->now = now != NULL ? now : queue_clock;
	q->tick = now != NULL ? now : queue_tick;
	pthread_mutex_unlock(&q->lock);
}

/* Queue a job; -1 when the queue is full (the caller answers ERR busy). */
int
queue_submit(struct queue *q, struct job *job)
{
	uint64_t	now;

	pthread_mutex_lock(&q->lock);
	if (q->ntodo >= q->limit || q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	now = q->now();
	atomic_init(&job->cancel, 0);
	atomic_init(&job->stop, 0);
	job->cost = queue_cost(job->kernel, job->n);
	job->since = now;
	job->waited = 0;
	job->yields = 0;
	job->slot = NO_SLOT;
	job->flow = NULL;
	memset(&job->st, 0, sizeof(job->st));
	if (queue_enter(q, job, now) == -1) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	q->ntodo++;
	stats_add(q->stats, STAT_jobs_queued, 1);
	queue_preempt(q, job);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/*
 * Cancel a job. Returns 1 when it was still queued (a sliced job waiting
 * for its next slice too): it is out of the queue and the caller frees it.
 * Returns 0 when a thread has it: it is flagged, and will still come back
 * through the done callback.
 */
int
queue_cancel(struct queue *q, struct job *job)
{
	int	removed = 0;

	pthread_mutex_lock(&q->lock);
	/* Queued: in the heap, or behind its flow's head. */
	if (job->slot != NO_SLOT || job->flow != NULL) {
		queue_drop(q, job);
		removed = 1;
	} else {
		atomic_store(&job->cancel, 1);
		atomic_store(&job->stop, 1);
	}
	pthread_mutex_unlock(&q->lock);
	return removed;
}

/* Jobs waiting for a thread. */
int
queue_length(struct queue *q)
{
	int	n;

	pthread_mutex_lock(&q->lock);
	n = q->ntodo;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* Stop the threads (queued jobs are dropped, running ones told to stop). */
void
queue_destroy(struct queue *q)
{
	struct job	*job;
	int		 i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	/*
	 * Drop every queued job. A flow's head leaving makes its next job
	 * eligible, so the heap brings them all out.
	 */
	while (q->waiting != 0) {
		job = q->bands[queue_turn(q, NBANDS)].heap[0];
		queue_drop(q, job);
		free(job);
	}
	q->ntodo = 0;
	TAILQ_FOREACH(job, &q->running, entry) {
		atomic_store(&job->cancel, 1);
		atomic_store(&job->stop, 1);
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	while ((job = TAILQ_FIRST(&q->done)) != NULL) {
		TAILQ_REMOVE(&q->done, job, entry);
		free(job);
	}
	if (q->done_ev != NULL)
		event_free(q->done_ev);
	for (i = 0; i < NBANDS; i++)
		free(q->bands[i].heap);
	free(q->flows);
	free(q->threads);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

/* How long (ns) the job longest on a pool thread has run there; 0: none. */
uint64_t
queue_oldest(struct queue *q)
{
	struct job	*job;
	uint64_t	 now, oldest = 0;

	pthread_mutex_lock(&q->lock);
	now = q->now();
	TAILQ_FOREACH(job, &q->running, entry)
		if (now > job->start && now - job->start > oldest)
			oldest = now - job->start;
	pthread_mutex_unlock(&q->lock);
	return oldest;
}
