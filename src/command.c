/*
 * command.c: the work a request asks for, whatever its framing.
 *
 * A line request is parsed here (proto.c) and dispatched; an HTTP request
 * comes from http.c's routes to the same three doors: command_prime,
 * command_delay and command_stats. This is the one home of work in
 * flight; the framings only say what was asked and write what is
 * answered.
 *
 * Cheap work is answered on the loop. Slow work reserves its place in the
 * reply order (conn_defer) and completes later: IO waits from a timer,
 * computations from the pool through command_job_done, each under its
 * deadline. A job points back to its pending answer; conn.c clears that
 * pointer when the answer is no longer wanted (the client left, or the
 * job timed out), and such a result is dropped. Both happen on the loop
 * thread only.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "primed.h"

/* Up to this n the trial kernel takes microseconds: not worth a thread. */
#define TRIAL_CHEAP_N	32

/* Start p's timer: cb after ms; -1 on failure. */
static int
command_timer(struct conn *c, struct pending *p, int ms, event_callback_fn cb)
{
	struct timeval	tv = ms_tv(ms);

	if ((p->timer = evtimer_new(c->w->base, cb, p)) == NULL)
		return -1;
	return evtimer_add(p->timer, &tv);
}

/* Timer: the simulated IO wait of one pending answer is over. */
static void
command_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	conn_cancel_work(p);	/* the timer: it has fired */
	conn_complete(p, NULL);
}

/*
 * Answer with text (upper-cased when asked) after ms of simulated IO: on
 * a timer, or, under --io blocking, after the whole loop has slept, as
 * the lesson's blocking server does.
 */
void
command_delay(struct conn *c, int ms, const char *text, size_t len,
    int upper)
{
	struct answer	 a = { .kind = ANSWER_TEXT, .text = text, .len = len };
	struct pending	*p;

	if (worker_over_memory(c->w)) {
		conn_answer_err(c, ERR_BUSY, "server reply memory is full");
		return;
	}
	if ((p = conn_defer(c, &a)) == NULL)
		return;
	if (upper)
		proto_upper(p->body, p->body, len);
	if (c->w->cfg->io == IO_BLOCKING) {
		usleep((useconds_t)ms * 1000);
		conn_complete(p, NULL);
		return;
	}
	if (command_timer(c, p, ms, command_delay_done) == -1) {
		conn_cancel_work(p);
		conn_complete_err(p, ERR_BUSY, "out of timers");
	}
}

/* Timer: a job ran past its deadline. */
static void
command_job_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	conn_cancel_work(p);	/* the timer, and the job behind it */
	conn_complete_err(p, ERR_TIMEOUT, "job ran past job-timeout");
}

/* On the loop: the job of a pending PRIME came back. */
static void
command_job_done(struct job *job)
{
	struct pending	*p = job->owner;
	struct answer	 a = { .kind = ANSWER_NUMBER, .value = job->result };

	p->job = NULL;
	free(job);
	conn_cancel_work(p);	/* the deadline timer */
	/*
	 * A cancelled job never gets here with its answer (cancelling lets
	 * go of it first): no result means the kernel could not run.
	 */
	if (a.value == 0)
		conn_complete_err(p, ERR_BUSY, "out of memory for the job");
	else
		conn_complete(p, &a);
}

/* Queue a computation for the pool; the answer waits in order. */
static void
command_submit(struct conn *c, uint64_t n)
{
	const struct config	*cfg = c->w->cfg;
	struct pending		*p;
	struct job		*job;

	if (worker_over_memory(c->w)) {
		conn_answer_err(c, ERR_BUSY, "server reply memory is full");
		return;
	}
	if ((p = conn_defer(c, NULL)) == NULL)
		return;
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		conn_complete_err(p, ERR_BUSY, "out of memory");
		return;
	}
	job->owner = p;
	job->done = command_job_done;
	job->kernel = cfg->kernel;
	job->n = n;
	job->client = c->id;
	if (queue_submit(c->w->queue, job) == -1) {
		free(job);
		conn_complete_err(p, ERR_BUSY, "compute queue full");
		return;
	}
	p->job = job;
	if (cfg->job_timeout_ms > 0 && command_timer(c, p, cfg->job_timeout_ms,
	    command_job_timeout) == -1)
		log_warn("no timer for a job deadline");
}

/*
 * The n-th prime when it is answered on the loop (from the table, cheap
 * trial division, or computed there under --compute inline, the lesson's
 * mistake on purpose): 1 with *p set, 0 when it takes a job.
 */
static int
command_cheap(struct worker *w, uint64_t n, uint64_t *p)
{
	const struct config	*cfg = w->cfg;
	struct job		 job;

	if (cfg->kernel != KERNEL_TRIAL && n <= prime_table_count()) {
		*p = prime_table_get(n);
		return 1;
	}
	if (cfg->kernel == KERNEL_TRIAL && n <= TRIAL_CHEAP_N) {
		*p = prime_nth_trial(n, NULL);
		return 1;
	}
	if (cfg->compute == COMPUTE_POOL)
		return 0;
	memset(&job, 0, sizeof(job));
	job.kernel = cfg->kernel;
	job.n = n;
	job_run(&job);
	stats_add(w->slot, STAT_jobs_done, 1);
	*p = job.result;
	return 1;
}

/* PRIME n: on the loop when cheap, else a job. */
void
command_prime(struct conn *c, uint64_t n)
{
	struct answer	a = { .kind = ANSWER_NUMBER };

	if (command_cheap(c->w, n, &a.value))
		conn_answer(c, &a);
	else
		command_submit(c, n);
}

/*
 * STATS, and HTTP's /metrics: the counters of every worker, summed, as
 * JSON (kind ANSWER_JSON) or in Prometheus's format (ANSWER_METRICS).
 */
void
command_stats(struct conn *c, enum answer_kind kind)
{
	struct stats_sum	 sum;
	struct evbuffer		*buf;
	int			 rc = -1;

	if ((buf = evbuffer_new()) != NULL && kind == ANSWER_METRICS)
		rc = metrics_format(buf, c->w->stats, c->w->cfg);
	else if (buf != NULL) {
		stats_sum(c->w->stats, &sum);
		sum.pid = (long)getpid();
		sum.worker = c->w->id;
		rc = stats_json(buf, &sum);
	}
	if (rc == -1)
		conn_answer_err(c, ERR_BUSY, "out of memory");
	else
		conn_answer_text(c, kind, (const char *)evbuffer_pullup(buf,
		    -1), evbuffer_get_length(buf));
	if (buf != NULL)
		evbuffer_free(buf);
}

/* Do what a good line request asks. */
static void
command_dispatch(struct conn *c, const struct request *req)
{
	static const struct answer	none = { .kind = ANSWER_NONE };

	switch (req->cmd) {
	case CMD_PRIME:
		command_prime(c, req->n);
		break;
	case CMD_UPPER:
		command_delay(c, c->w->cfg->io_delay_ms, req->text,
		    req->textlen, 1);
		break;
	case CMD_SLEEP:
		command_delay(c, (int)req->n, "OK", 2, 0);
		break;
	case CMD_ECHO:
		conn_answer_text(c, ANSWER_TEXT, req->text, req->textlen);
		break;
	case CMD_PING:
		/* A health check: a draining worker says it is going. */
		if (c->w->draining)
			conn_answer_err(c, ERR_SHUTTING_DOWN,
			    "server is draining");
		else
			conn_answer_text(c, ANSWER_TEXT, "PONG", 4);
		break;
	case CMD_STATS:
		command_stats(c, ANSWER_JSON);
		break;
	case CMD_QUIT:
		/* Earlier answers go out, then the connection closes. */
		conn_finish(c);
		conn_answer(c, &none);
		break;
	default:
		conn_answer_err(c, ERR_UNKNOWN_CMD, "unknown command");
		break;
	}
}

/* Run one request line of the prime service. */
void
command_run(struct conn *c, const char *line, size_t len)
{
	struct request	req;

	proto_parse(line, len, c->w->cfg->max_n, &req);
	conn_begin(c, req.cmd);
	if (req.err != ERR_NONE)
		conn_answer_err(c, req.err, req.why);
	else
		command_dispatch(c, &req);
}

/* The upper service: one message, upper-cased after the IO delay. */
void
command_upper(struct conn *c, const char *msg, size_t len)
{
	conn_begin(c, CMD_UPPER);
	command_delay(c, c->w->cfg->io_delay_ms, msg, len, 1);
}
