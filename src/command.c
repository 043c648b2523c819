/*
 * command.c: what each request of the prime and upper services does.
 *
 * Cheap requests are answered here on the loop. Slow ones reserve their
 * place in the reply order (conn_defer) and complete later: IO waits from a
 * timer, computations from the pool through command_job_done. A job names
 * its connection by fd and id; when the connection is gone or gave up, the
 * result is dropped.
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

/* Reply "<v>\n". */
static void
reply_number(struct conn *c, uint64_t v)
{
	char	buf[PROTO_NUMBER_MAX];

	conn_reply(c, buf, proto_number(buf, v));
}

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

	event_free(p->timer);
	p->timer = NULL;
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
		conn_complete_err(p, ERR_BUSY, "out of timers");
		return;
	}
}

/* Timer: a job ran past its deadline. */
static void
command_job_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	event_free(p->timer);
	p->timer = NULL;
	command_cancel(p);
	conn_complete_err(p, ERR_TIMEOUT, "job ran past job-timeout");
}

/* Queue a computation for the pool; the reply waits in order. */
static void
command_submit(struct conn *c, uint64_t n)
{
	const struct config	*cfg = c->w->cfg;
	struct pending		*p;
	struct job		*job;
	struct timeval		 tv;

	if ((p = conn_defer(c)) == NULL)
		return;
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		conn_complete_err(p, ERR_BUSY, "out of memory");
		return;
	}
	job->fd = c->fd;
	job->conn_id = c->id;
	job->seq = p->seq;
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

/* PRIME n: from the table, on the loop when cheap or inline, else a job. */
static void
command_prime(struct conn *c, uint64_t n)
{
	const struct config	*cfg = c->w->cfg;
	struct job		 job;

	if (cfg->kernel != KERNEL_TRIAL && n <= prime_table_count()) {
		reply_number(c, prime_table_get(n));
		return;
	}
	if (cfg->kernel == KERNEL_TRIAL && n <= TRIAL_CHEAP_N) {
		reply_number(c, prime_nth_trial(n, NULL));
		return;
	}
	if (cfg->compute == COMPUTE_POOL) {
		command_submit(c, n);
		return;
	}
	/* The lesson's mistake, on purpose: the loop computes. */
	memset(&job, 0, sizeof(job));
	job.kernel = cfg->kernel;
	job.n = n;
	job_run(&job);
	stats_add(c->w->st, STAT_jobs_done, 1);
	reply_number(c, job.result);
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

/* QUIT: earlier replies go out, then the connection closes. */
static void
command_quit(struct conn *c)
{
	c->done_reading = 1;
	conn_reply(c, NULL, 0);
}

/* Run one request line of the prime service. */
void
command_run(struct conn *c, const char *line, size_t len)
{
	const struct config	*cfg = c->w->cfg;
	struct request		 req;
	char			*buf;

	proto_parse(line, len, cfg->max_n, &req);
	if (req.cmd < CMD_COUNT)
		atomic_fetch_add_explicit(&c->w->st->cmd[req.cmd], 1,
		    memory_order_relaxed);
	if (req.err != ERR_NONE) {
		conn_reply_err(c, req.err, req.why);
		return;
	}
	switch (req.cmd) {
	case CMD_PRIME:
		command_prime(c, req.n);
		break;
	case CMD_UPPER:
		command_delay(c, cfg->io_delay_ms,
		    make_line(req.text, req.textlen, 1), req.textlen + 1);
		break;
	case CMD_SLEEP:
		command_delay(c, (int)req.n, make_line("OK", 2, 0), 3);
		break;
	case CMD_ECHO:
		if ((buf = make_line(req.text, req.textlen, 0)) == NULL) {
			conn_reply_err(c, ERR_BUSY, "out of memory");
			break;
		}
		conn_reply(c, buf, req.textlen + 1);
		free(buf);
		break;
	case CMD_PING:
		conn_reply(c, "PONG\n", 5);
		break;
	case CMD_STATS:
		command_stats(c);
		break;
	case CMD_QUIT:
		command_quit(c);
		break;
	default:
		conn_reply_err(c, ERR_UNKNOWN_CMD, "unknown command");
		break;
	}
}

/* The upper service: one message, upper-cased after the IO delay. */
void
command_upper(struct conn *c, const char *msg, size_t len)
{
	atomic_fetch_add_explicit(&c->w->st->cmd[CMD_UPPER], 1,
	    memory_order_relaxed);
	command_delay(c, c->w->cfg->io_delay_ms, make_line(msg, len, 1),
	    len + 1);
}

/* On the loop: a job came back from the pool. */
void
command_job_done(struct job *job, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;
	struct pending	*p = NULL;
	char		 buf[PROTO_NUMBER_MAX];

	if ((c = worker_find_conn(w, job->fd, job->conn_id)) != NULL)
		p = conn_find(c, job->seq, job);
	if (p == NULL) {
		/* The connection closed or the job timed out: drop it. */
		free(job);
		return;
	}
	p->job = NULL;
	if (p->timer != NULL) {
		event_free(p->timer);
		p->timer = NULL;
	}
	if (job->result == 0)
		conn_complete_err(p, ERR_TIMEOUT, "job cancelled");
	else {
		conn_complete(p, buf, proto_number(buf, job->result));
	}
	free(job);
}

/* Stop whatever still works for a pending reply. */
void
command_cancel(struct pending *p)
{
	struct worker	*w = p->conn->w;

	if (p->timer != NULL) {
		event_free(p->timer);
		p->timer = NULL;
	}
	if (p->job != NULL) {
		if (queue_cancel(w->queue, p->job))
			free(p->job);
		p->job = NULL;
	}
}
