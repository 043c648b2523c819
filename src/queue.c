/*
 * queue.c: the compute pool of one worker.
 *
 * The loop thread submits jobs into a bounded FIFO; M pool threads take them
 * one at a time, run the kernel, and put the finished job on a done list.
 * Only the thread that turns the done list from empty to non-empty wakes the
 * loop (event_active on an evthread-enabled base), and the loop takes the
 * whole list at once, so a burst of results costs one wakeup. Pool threads
 * never see a connection: a job names its asker by fd and id, and the loop
 * decides what to do with the result.
 *
 * A job belongs to the queue from submit until the done callback is called;
 * queue_cancel removes a queued job (the caller frees it) or flags a running
 * one, which then finishes early and comes back through the done list.
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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

struct queue {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct jobq		 todo;
	struct jobq		 running;	/* what the threads hold */
	struct jobq		 done;
	int			 ntodo;
	int			 limit;
	int			 stopping;
	int			 nice;
	pthread_t		*threads;
	int			 nthreads;
	struct event		*done_ev;
	struct stats_slot	*stats;
	queue_done_cb		 cb;
	void			*arg;
};

/* Run the job's kernel; result 0 means it was cancelled. */
void
job_run(struct job *job)
{
	if (job->kernel == KERNEL_TRIAL)
		job->result = prime_nth_trial(job->n, &job->cancel);
	else
		job->result = prime_nth_sieve(job->n, &job->cancel);
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

/* Take the next job, or NULL when the queue is stopping. */
static struct job *
queue_take(struct queue *q)
{
	struct job	*job;

	pthread_mutex_lock(&q->lock);
	while (!q->stopping && TAILQ_EMPTY(&q->todo))
		pthread_cond_wait(&q->cond, &q->lock);
	if ((job = TAILQ_FIRST(&q->todo)) != NULL) {
		TAILQ_REMOVE(&q->todo, job, entry);
		q->ntodo--;
		job->state = JOB_RUNNING;
		TAILQ_INSERT_TAIL(&q->running, job, entry);
	}
	pthread_mutex_unlock(&q->lock);
	return job;
}

/* Hand a finished job to the loop; wake it only if it was not already due. */
static void
queue_finish(struct queue *q, struct job *job)
{
	int	wake;

	pthread_mutex_lock(&q->lock);
	TAILQ_REMOVE(&q->running, job, entry);
	job->state = JOB_DONE;
	wake = TAILQ_EMPTY(&q->done);
	TAILQ_INSERT_TAIL(&q->done, job, entry);
	pthread_mutex_unlock(&q->lock);
	if (wake)
		event_active(q->done_ev, EV_READ, 1);
}

/* A pool thread: take, run, hand back, until stopped. */
static void *
queue_thread(void *arg)
{
	struct queue	*q = arg;
	struct job	*job;

	queue_lower_priority(q->nice);
	while ((job = queue_take(q)) != NULL) {
		stats_sub(q->stats, STAT_jobs_queued, 1);
		stats_add(q->stats, STAT_jobs_running, 1);
		if (!atomic_load(&job->cancel))
			job_run(job);
		else
			job->result = 0;
		stats_sub(q->stats, STAT_jobs_running, 1);
		stats_add(q->stats, job->result ? STAT_jobs_done :
		    STAT_jobs_cancelled, 1);
		queue_finish(q, job);
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
	TAILQ_INIT(&q->todo);
	TAILQ_INIT(&q->running);
	TAILQ_INIT(&q->done);
	q->limit = limit;
	q->nice = nice;
	q->stats = stats;
	q->cb = cb;
	q->arg = arg;
	q->done_ev = event_new(base, -1, 0, queue_done, q);
	q->threads = calloc(nthreads, sizeof(*q->threads));
	if (q->done_ev == NULL || q->threads == NULL)
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

/* Queue a job; -1 when the queue is full (the caller answers ERR busy). */
int
queue_submit(struct queue *q, struct job *job)
{
	pthread_mutex_lock(&q->lock);
	if (q->ntodo >= q->limit || q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	job->state = JOB_QUEUED;
	atomic_init(&job->cancel, 0);
	TAILQ_INSERT_TAIL(&q->todo, job, entry);
	q->ntodo++;
	stats_add(q->stats, STAT_jobs_queued, 1);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/*
 * Cancel a job. Returns 1 when it was still queued: it is out of the queue
 * and the caller frees it. Returns 0 when a thread has it: it is flagged,
 * and will still come back through the done callback.
 */
int
queue_cancel(struct queue *q, struct job *job)
{
	int	removed = 0;

	pthread_mutex_lock(&q->lock);
	if (job->state == JOB_QUEUED) {
		TAILQ_REMOVE(&q->todo, job, entry);
		q->ntodo--;
		stats_sub(q->stats, STAT_jobs_queued, 1);
		stats_add(q->stats, STAT_jobs_cancelled, 1);
		removed = 1;
	} else
		atomic_store(&job->cancel, 1);
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
	while ((job = TAILQ_FIRST(&q->todo)) != NULL) {
		TAILQ_REMOVE(&q->todo, job, entry);
		stats_sub(q->stats, STAT_jobs_queued, 1);
		stats_add(q->stats, STAT_jobs_cancelled, 1);
		free(job);
	}
	q->ntodo = 0;
	TAILQ_FOREACH(job, &q->running, entry)
		atomic_store(&job->cancel, 1);
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
	free(q->threads);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}
