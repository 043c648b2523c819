/*
 * command.c: what each request of the prime and upper services does.
 *
 * Cheap requests are answered here on the loop. Slow ones reserve their
 * place in the reply order (conn_defer) and complete later: IO waits from a
 * timer, computations from the pool through command_job_done. A job points
 * back to its pending reply; conn.c clears that pointer when the reply is
 * no longer wanted (the client left, or the job timed out), and such a
 * result is dropped. Both happen on the loop thread only.
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

/* Reply text followed by "\n", upper-cased when asked. */
static char *
make_line(const char *text, size_t len, int upper)
{
	char	*buf;

	if ((buf = malloc(len + 1)) == NULL)
		return NULL;
	if (upper)
		proto_upper(buf, text, len);
	else
		memcpy(buf, text, len);
	buf[len] = '\n';
	return buf;
}

/* Timer: the simulated IO wait of one pending reply is over. */
static void
command_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	conn_cancel_work(p);	/* the timer: it has fired */
	conn_complete(p, NULL, 0);
}

/* Send reply (taking it over) after ms of simulated IO. */
static void
command_delay(struct conn *c, int ms, char *reply, size_t len)
{
	struct pending	*p;
	struct timeval	 tv;

	if (reply == NULL) {
		conn_reply_err(c, ERR_BUSY, "out of memory");
		return;
	}
	if (worker_over_memory(c->w)) {
		free(reply);
		conn_reply_err(c, ERR_BUSY, "server reply memory is full");
		return;
	}
	if (c->w->cfg->io == IO_BLOCKING) {
		/* The blocking server of the lesson: the whole loop waits. */
		usleep((useconds_t)ms * 1000);
		conn_reply(c, reply, len);
		free(reply);
		return;
	}
	if ((p = conn_defer(c)) == NULL) {
		free(reply);
		return;
	}
	p->reply = reply;
	p->replylen = len;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((p->timer = evtimer_new(c->w->base, command_delay_done, p)) ==
	    NULL || evtimer_add(p->timer, &tv) == -1) {
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

/* On the loop: the job of a pending PRIME reply came back. */
static void
command_prime_done(struct job *job)
{
	struct pending	*p = job->owner;
	char		 buf[PROTO_NUMBER_MAX];

	p->job = NULL;
	conn_cancel_work(p);	/* the deadline timer */
	/*
	 * A cancelled job never gets here with its reply (cancelling lets go
	 * of it first): no result means the kernel could not run.
	 */
	if (job->result == 0)
		conn_complete_err(p, ERR_BUSY, "out of memory for the job");
	else
		conn_complete(p, buf, proto_number(buf, job->result));
	free(job);
}

/* Queue a computation for the pool; the reply waits in order. */
static void
command_submit(struct conn *c, uint64_t n)
{
	const struct config	*cfg = c->w->cfg;
	struct pending		*p;
	struct job		*job;
	struct timeval		 tv;

	if (worker_over_memory(c->w)) {
		conn_reply_err(c, ERR_BUSY, "server reply memory is full");
		return;
	}
	if ((p = conn_defer(c)) == NULL)
		return;
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		conn_complete_err(p, ERR_BUSY, "out of memory");
		return;
	}
	job->owner = p;
	job->done = command_prime_done;
	job->kernel = cfg->kernel;
	job->n = n;
	job->client = c->id;
	if (queue_submit(c->w->queue, job) == -1) {
		free(job);
		conn_complete_err(p, ERR_BUSY, "compute queue full");
		return;
	}
	p->job = job;
	if (cfg->job_timeout_ms <= 0)
		return;
	tv.tv_sec = cfg->job_timeout_ms / 1000;
	tv.tv_usec = (cfg->job_timeout_ms % 1000) * 1000;
	if ((p->timer = evtimer_new(c->w->base, command_job_timeout, p)) !=
	    NULL)
		evtimer_add(p->timer, &tv);
}

/*
 * The n-th prime when it is answered on the loop (from the table, cheap
 * trial division, or computed there under --compute inline, the lesson's
 * mistake on purpose): 1 with *p set, 0 when it takes a job.
 */
int
command_prime_cheap(struct worker *w, uint64_t n, uint64_t *p)
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
static void
command_prime(struct conn *c, uint64_t n)
{
	char		buf[PROTO_NUMBER_MAX];
	uint64_t	p;

	if (command_prime_cheap(c->w, n, &p))
		conn_reply(c, buf, proto_number(buf, p));
	else
		command_submit(c, n);
}

/* STATS: the counters of every worker, summed. */
static void
command_stats(struct conn *c)
{
	struct stats_sum	 sum;
	struct evbuffer		*buf;

	if ((buf = evbuffer_new()) == NULL) {
		conn_reply_err(c, ERR_BUSY, "out of memory");
		return;
	}
	stats_sum(c->w->stats, &sum);
	sum.pid = (long)getpid();
	sum.worker = c->w->id;
	stats_json(buf, &sum);
	conn_reply(c, (const char *)evbuffer_pullup(buf, -1),
	    evbuffer_get_length(buf));
	evbuffer_free(buf);
}

/* A request of command cmd begins: count it. */
static void
command_begin(struct conn *c, enum cmd cmd)
{
	c->cur_cmd = cmd;
	c->cur_deferred = 0;
	if (cmd < CMD_COUNT)
		stats_request(c->w->slot, c->lc->service, cmd);
}

/* The request is handled: a reply made at once is timed here. */
static void
command_end(struct conn *c)
{
	if (!c->cur_deferred)
		stats_observe(c->w->slot, c->cur_cmd,
		    stats_now_us() - c->cur_t0_us);
}

/* Do what a good request asks. */
static void
command_dispatch(struct conn *c, const struct request *req)
{
	const struct config	*cfg = c->w->cfg;
	char			*buf;

	switch (req->cmd) {
	case CMD_PRIME:
		command_prime(c, req->n);
		break;
	case CMD_UPPER:
		command_delay(c, cfg->io_delay_ms,
		    make_line(req->text, req->textlen, 1), req->textlen + 1);
		break;
	case CMD_SLEEP:
		command_delay(c, (int)req->n, make_line("OK", 2, 0), 3);
		break;
	case CMD_ECHO:
		if ((buf = make_line(req->text, req->textlen, 0)) == NULL) {
			conn_reply_err(c, ERR_BUSY, "out of memory");
			break;
		}
		conn_reply(c, buf, req->textlen + 1);
		free(buf);
		break;
	case CMD_PING:
		/* A health check: a draining worker says it is going. */
		if (c->w->draining)
			conn_reply_err(c, ERR_SHUTTING_DOWN,
			    "server is draining");
		else
			conn_reply(c, "PONG\n", 5);
		break;
	case CMD_STATS:
		command_stats(c);
		break;
	case CMD_QUIT:
		/* Earlier replies go out, then the connection closes. */
		conn_finish(c);
		conn_reply(c, NULL, 0);
		break;
	default:
		conn_reply_err(c, ERR_UNKNOWN_CMD, "unknown command");
		break;
	}
}

/* Run one request line of the prime service. */
void
command_run(struct conn *c, const char *line, size_t len)
{
	struct request	req;

	proto_parse(line, len, c->w->cfg->max_n, &req);
	command_begin(c, req.cmd);
	if (req.err != ERR_NONE)
		conn_reply_err(c, req.err, req.why);
	else
		command_dispatch(c, &req);
	command_end(c);
}

/* The upper service: one message, upper-cased after the IO delay. */
void
command_upper(struct conn *c, const char *msg, size_t len)
{
	command_begin(c, CMD_UPPER);
	command_delay(c, c->w->cfg->io_delay_ms, make_line(msg, len, 1),
	    len + 1);
	command_end(c);
}
