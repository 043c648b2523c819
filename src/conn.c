/*
 * conn.c: one client connection, from accept to close, whatever its
 * service (prime, upper, echo, http) and framing (line, raw, HTTP/1.1).
 *
 * Reading is ours: when the socket is readable, one recv() brings what
 * waits (conn_recv), so a request costs one read and one write (libevent's
 * bufferevents ask the kernel how much waits before every read, a system
 * call more). The bufferevent keeps what it is good at: the output buffer,
 * its low-water mark and its write event.
 *
 * conn_progress cuts the input into requests by the listener's framing:
 * lines and raw messages here, HTTP requests in http.c. A line request
 * goes to command.c, an HTTP one to http.c's routes, and both end in the
 * same work (command.c) and the same answer (struct answer), which the
 * framing writes: a line, or an HTTP response. Answers leave in request
 * order: one that is ready while nothing is pending goes straight to this
 * turn's output, anything else waits in the pending FIFO until every
 * earlier one has gone out. The answers of one turn gather in the turn
 * buffer and leave in one write (conn_send).
 *
 * Every event that may let a connection move on (bytes in, output drained,
 * end of input, an answer completed, a turn given back, a stop) calls the
 * one function conn_progress, which does all that can be done now and then
 * decides what the connection waits for next.
 *
 * States: READING takes requests; FINISHING takes no more (QUIT, a
 * too-long or refused request, end of input, the upper service's one
 * message, HTTP's Connection: close, a stop) and owes its answers; once
 * they are written it LINGERs: the write side is shut and what the client
 * still sends is read out for a moment, so the kernel does not reset the
 * connection and destroy the last answer. CLOSED is torn down at once
 * (conn_close), but the memory stays until the worker's next turn, so no
 * caller up the stack touches freed memory: a caller only has to look at
 * c->state after anything that may close.
 *
 * What a client can make the server hold is bounded: its input to inmax
 * (a little more than the longest request its framing allows), counted
 * with its answers against the worker's memory cap; reading stops when
 * the client has too many requests in flight, when its answers (queued or
 * unwritten) pass a high-water mark, or after a bounded number of requests
 * in one turn. A connection whose reading is paused is watched for a reset
 * (worker_watch), so a client that leaves is noticed and its jobs, timers
 * and answers are released at once. A failure to store an answer never
 * drops it from the ordered stream: the connection is closed instead.
 * Until its first whole request, and while one is half read, a connection
 * is under --read-timeout; between requests, under --idle-timeout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "primed.h"

#define OUT_HIWAT	(256 * 1024)	/* stop reading past this much held */
#define OUT_LOWAT	(64 * 1024)	/* and go on below this */
#define IN_MIN		16384		/* input buffered ahead, at least */
#define READ_MAX	16384		/* bytes one recv() may bring */
#define REQS_PER_TURN	32		/* requests handled per turn */
#define LINGER_MS	2000
/*
 * What a pending answer holds besides its text: itself, a timer or a job,
 * and the allocator's overhead; counted with the answers against the
 * connection's high-water mark and the worker's cap.
 */
#define PENDING_COST	256

#define TURN_MAX	16384		/* the turn buffer */

/* Where each recv() lands before its bytes join a connection's input. */
static char	conn_scratch[READ_MAX];

/*
 * The answers of the connection in progress, this turn: written with one
 * send() when its bufferevent's output is empty. One is enough, as one
 * connection at a time is in progress (conn_progress), and each turn
 * ends with conn_send, which empties it.
 */
static struct {
	struct conn	*c;		/* whose answers they are */
	size_t		 len;
	size_t		 bytes;		/* written this turn, for the count */
	char		 buf[TURN_MAX];
} turn;

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_output_cb(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	conn_hangup(struct watch *);

/* Count one error answer of code e. */
static void
conn_count_err(struct worker *w, enum err e)
{
	atomic_fetch_add_explicit(&w->slot->err[e], 1, memory_order_relaxed);
}

/*
 * Tell the client of fd we are busy, with one line or one HTTP response,
 * in one send that its socket has room for. It counts as a request and an
 * error, so that the error ratio stays a ratio.
 */
static void
conn_say_busy(struct worker *w, const struct listen_conf *lc, int fd,
    const char *why)
{
	char	buf[512];
	size_t	len;

	if (lc->framing == FRAMING_HTTP) {
		len = http_refusal(buf, sizeof(buf), w->date, why);
		stats_http(w->slot, 503);
	} else
		len = proto_err_line(buf, sizeof(buf), ERR_BUSY, why);
	(void)send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	stats_add(w->slot, STAT_requests, 1);
	stats_request(w->slot, lc->service, CMD_OTHER);
	conn_count_err(w, ERR_BUSY);
}

/*
 * Refuse a fresh socket. What the client sent already is read out first:
 * a close with bytes unread is a reset, which could destroy the answer.
 */
static void
conn_refuse(struct worker *w, const struct listen_conf *lc, int fd,
    const char *why)
{
	conn_say_busy(w, lc, fd, why);
	(void)recv(fd, conn_scratch, sizeof(conn_scratch), MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	close(fd);
	stats_add(w->slot, STAT_connections_rejected, 1);
}

/* The most input a connection of lc buffers ahead of its requests. */
static size_t
conn_inmax(const struct config *cfg, const struct listen_conf *lc)
{
	size_t	n = (size_t)cfg->max_line + 2;

	if (lc->framing == FRAMING_HTTP)
		n = http_input_max((size_t)cfg->max_line);
	return n < IN_MIN ? IN_MIN : n;
}

/* Free what conn_accept made for c, when it could not make all of it. */
static void
conn_unmake(struct conn *c)
{
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else
		close(c->fd);
	free(c);
}

/*
 * Turn a just-accepted socket into a connection (or refuse it): the
 * listeners' handler, for every service. One admission check and one
 * count of connections, whatever the service.
 */
void
conn_accept(struct worker *w, const struct listen_conf *lc, int fd)
{
	struct conn	*c;

	if (w->stopping) {
		conn_refuse(w, lc, fd, "server is stopping");
		return;
	}
	if (w->nconns >= w->cfg->max_connections) {
		conn_refuse(w, lc, fd, "too many connections");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conn_refuse(w, lc, fd, "out of memory");
		return;
	}
	c->w = w;
	c->fd = fd;
	c->lc = lc;
	c->state = CONN_READING;
	c->watch.hangup = conn_hangup;
	c->watch.fd = fd;
	c->id = ++w->next_conn_id;
	c->inmax = conn_inmax(w->cfg, lc);
	/* Under the read timeout until its first whole request. */
	c->last_active = c->partial_since = worker_now(w);
	TAILQ_INIT(&c->pending);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	if (c->bev == NULL || c->rev == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(c->bev), conn_output_cb,
	    c) == NULL || event_add(c->rev, NULL) == -1) {
		log_warn("out of memory for a connection");
		conn_unmake(c);
		return;
	}
	c->reading = 1;
	/* The bufferevent never reads: its input is ours to fill. */
	evbuffer_unfreeze(bufferevent_get_input(c->bev), 0);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOWAT, 0);
	bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
	worker_add_conn(w, c);
	stats_add(w->slot, STAT_connections_open, 1);
	stats_add(w->slot, STAT_connections_total, 1);
}

/*
 * The bufferevent's output grew or shrank: keep the count of it. Bytes
 * that left are activity: a client that reads slowly is not idle.
 */
static void
conn_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;
	ssize_t		 delta;

	delta = (ssize_t)info->n_added - (ssize_t)info->n_deleted;
	c->out_bytes += delta;
	worker_held(c->w, STAT_reply_bytes, delta);
	if (info->n_deleted > 0)
		c->last_active = worker_now(c->w);
}

/* The input held grew (or shrank) by delta bytes: count it. */
static void
conn_input_held(struct conn *c, ssize_t delta)
{
	c->in_bytes += delta;
	worker_held(c->w, STAT_input_bytes, delta);
}

/* Let go of the first n bytes of the input (requests taken). */
void
conn_drain(struct conn *c, struct evbuffer *in, size_t n)
{
	if (n == 0)
		return;
	evbuffer_drain(in, n);
	conn_input_held(c, -(ssize_t)n);
}

/* Read again (the socket's readiness is watched). */
static void
conn_read_on(struct conn *c)
{
	if (c->reading)
		return;
	if (event_add(c->rev, NULL) == -1) {
		log_warn("conn %llu: cannot watch for input",
		    (unsigned long long)c->id);
		return;
	}
	c->reading = 1;
}

/* Stop reading for now. */
static void
conn_read_off(struct conn *c)
{
	if (!c->reading)
		return;
	event_del(c->rev);
	c->reading = 0;
}

/* Change the bytes counted for p to cost. */
static void
pending_cost(struct conn *c, struct pending *p, size_t cost)
{
	ssize_t	delta = (ssize_t)cost - (ssize_t)p->cost;

	c->pending_bytes += delta;
	worker_held(c->w, STAT_reply_bytes, delta);
	p->cost = cost;
}

/* Stop the timer and let go of the job that work for p. */
void
conn_cancel_work(struct pending *p)
{
	if (p->timer != NULL) {
		event_free(p->timer);
		p->timer = NULL;
	}
	if (p->job != NULL) {
		/* The queue frees it now, or when its thread gives it back. */
		p->job->owner = NULL;
		if (queue_cancel(p->conn->w->queue, p->job))
			free(p->job);
		p->job = NULL;
	}
}

/* Take p out of c's reply order and free it with what works for it. */
static void
pending_free(struct conn *c, struct pending *p)
{
	TAILQ_REMOVE(&c->pending, p, entry);
	c->npending--;
	pending_cost(c, p, 0);
	conn_cancel_work(p);
	free(p->body);
	free(p);
}

/*
 * The one teardown of a connection; reason goes to the debug log. Every
 * pending answer is freed and the work for it stopped; c itself is freed
 * by the worker on its next turn.
 */
static void
conn_close(struct conn *c, const char *reason)
{
	struct worker	*w = c->w;

	if (c->state == CONN_CLOSED)
		return;
	log_debug("conn %llu fd %d: %s", (unsigned long long)c->id, c->fd,
	    reason);
	c->state = CONN_CLOSED;
	while (!TAILQ_EMPTY(&c->pending))
		pending_free(c, TAILQ_FIRST(&c->pending));
	worker_unresume(w, c);
	worker_unwatch(w, &c->watch);
	event_free(c->rev);
	c->rev = NULL;
	evbuffer_remove_cb(bufferevent_get_output(c->bev), conn_output_cb, c);
	worker_held(w, STAT_reply_bytes, -(ssize_t)c->out_bytes);
	conn_input_held(c, -(ssize_t)c->in_bytes);
	c->out_bytes = 0;
	if (turn.c == c)
		turn.len = turn.bytes = 0;	/* its answers go with it */
	bufferevent_free(c->bev);
	c->bev = NULL;
	worker_del_conn(w, c);
	stats_sub(w->slot, STAT_connections_open, 1);
}

/* Free a closed connection's memory (the worker calls this). */
void
conn_free(struct conn *c)
{
	free(c);
}

/*
 * Give up on a connection that cannot keep its reply order (out of memory,
 * or over the worker's memory cap): say so when the stream is at an
 * answer boundary, then close. Nothing is ever answered out of order.
 */
static void
conn_abort(struct conn *c, const char *why)
{
	if (c->state == CONN_CLOSED)
		return;
	log_warn("conn %llu: closed: %s", (unsigned long long)c->id, why);
	if (c->state != CONN_LINGERING && (turn.c != c || turn.len == 0) &&
	    c->out_bytes == 0)
		conn_say_busy(c->w, c->lc, c->fd, why);
	conn_close(c, why);
}

/*
 * Add len bytes to c's output of this turn; -1 on failure. What does not
 * fit in the turn buffer goes to the bufferevent, behind what was there.
 */
int
conn_out(struct conn *c, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	turn.bytes += len;
	if (turn.len + len > sizeof(turn.buf)) {
		if (turn.len > 0 && bufferevent_write(c->bev, turn.buf,
		    turn.len) == -1)
			return -1;
		turn.len = 0;
		if (len > sizeof(turn.buf))
			return bufferevent_write(c->bev, buf, len);
	}
	memcpy(turn.buf + turn.len, buf, len);
	turn.len += len;
	return 0;
}

/* Write answer a as a line of the line and raw framings; -1 on failure. */
static int
conn_write_line(struct conn *c, const struct answer *a)
{
	char	buf[PROTO_ERR_MAX];

	switch (a->kind) {
	case ANSWER_NUMBER:
		return conn_out(c, buf, proto_number(buf, a->value));
	case ANSWER_ERR:
		return conn_out(c, buf, proto_err_line(buf, sizeof(buf),
		    a->err, a->text));
	case ANSWER_NONE:
		return 0;
	case ANSWER_JSON:
		/* It ends with its "\n". */
		return conn_out(c, a->text, a->len);
	default:
		if (conn_out(c, a->text, a->len) == -1)
			return -1;
		return conn_out(c, "\n", 1);
	}
}

/* True when no request will be taken after the one being answered. */
static int
conn_taking_no_more(struct conn *c)
{
	return c->state != CONN_READING || (c->stopping && c->stop_left == 0);
}

/*
 * Write the answer a to the request ask into this turn's output, in the
 * listener's framing; last: nothing follows it in the reply order. Counts
 * the answered request (and its error).
 */
static void
conn_emit(struct conn *c, const struct ask *ask, const struct answer *a,
    int last)
{
	int	rc;

	if (a->kind == ANSWER_ERR)
		conn_count_err(c->w, a->err);
	if (c->lc->framing == FRAMING_HTTP)
		rc = http_write(c, ask, a, ask->close ||
		    (last && conn_taking_no_more(c)));
	else
		rc = conn_write_line(c, a);
	if (rc == -1) {
		conn_abort(c, "out of memory for a reply");
		return;
	}
	stats_add(c->w->slot, STAT_requests, 1);
}

/* Add bytes that are no answer (HTTP's 100 Continue) to this turn's output. */
void
conn_emit_raw(struct conn *c, const char *buf, size_t len)
{
	if (conn_out(c, buf, len) == -1)
		conn_abort(c, "out of memory for output");
}

/*
 * Write this turn's answers. When the bufferevent's output is empty the
 * socket is written directly, with one send(): nothing of ours is queued
 * before these bytes, so the order holds, and an answer costs no epoll
 * change and no extra loop turn. What the socket does not take, and
 * everything behind earlier output, goes to the bufferevent, which writes
 * it when the socket can take it and reports any error.
 */
static void
conn_send(struct conn *c)
{
	ssize_t		n = 0;

	stats_add(c->w->slot, STAT_bytes_out, turn.bytes);
	turn.bytes = 0;
	if (turn.len == 0)
		return;
	if (c->out_bytes == 0 &&
	    (n = send(c->fd, turn.buf, turn.len, MSG_NOSIGNAL)) < 0)
		n = 0;	/* the bufferevent tries again, and says why */
	if ((size_t)n < turn.len && bufferevent_write(c->bev, turn.buf + n,
	    turn.len - (size_t)n) == -1) {
		turn.len = 0;
		conn_abort(c, "out of memory for output");
		return;
	}
	turn.len = 0;
}

/* Bytes this connection holds for its client: queued and unwritten. */
static size_t
conn_held(struct conn *c)
{
	return c->pending_bytes + c->out_bytes +
	    (turn.c == c ? turn.len : 0);
}

/* True when the connection may take another request now. */
static int
conn_can_take(struct conn *c)
{
	return c->state == CONN_READING &&
	    c->npending < c->w->cfg->max_inflight &&
	    conn_held(c) < OUT_HIWAT;
}

/* Move ready answers at the head of the FIFO to this turn's output. */
static void
conn_flush(struct conn *c)
{
	struct pending	*p;

	while (c->state != CONN_CLOSED &&
	    (p = TAILQ_FIRST(&c->pending)) != NULL && p->ready) {
		conn_emit(c, &p->ask, &p->ans, TAILQ_NEXT(p, entry) == NULL);
		if (c->state != CONN_CLOSED)
			pending_free(c, p);
	}
}

/* Give p the answer a, keeping a copy of its text; -1 on failure. */
static int
pending_fill(struct conn *c, struct pending *p, const struct answer *a)
{
	char	*copy = NULL;

	/* An error's reason is a static string; anything else is copied. */
	if (a->kind != ANSWER_ERR && a->len > 0) {
		if ((copy = malloc(a->len)) == NULL)
			return -1;
		memcpy(copy, a->text, a->len);
	}
	free(p->body);
	p->body = copy;
	p->ans = *a;
	if (a->kind != ANSWER_ERR)
		p->ans.text = copy;
	pending_cost(c, p, PENDING_COST + a->len);
	return 0;
}

/*
 * Reserve the next place in the reply order, with the answer it will give
 * (a, copied; NULL: the work will say). NULL (and c closed) if not.
 */
struct pending *
conn_defer(struct conn *c, const struct answer *a)
{
	struct pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		conn_abort(c, "out of memory for a reply");
		return NULL;
	}
	p->conn = c;
	p->ask = c->cur;
	TAILQ_INSERT_TAIL(&c->pending, p, entry);
	c->npending++;
	pending_cost(c, p, PENDING_COST);
	if (a != NULL && pending_fill(c, p, a) == -1) {
		conn_abort(c, "out of memory for a reply");
		return NULL;
	}
	return p;
}

/*
 * The work for p is done: give it its answer (a; NULL keeps the one it
 * has) and let the connection move on. When the answer cannot be stored
 * the connection is closed, never answered out of order.
 */
void
conn_complete(struct pending *p, const struct answer *a)
{
	struct conn	*c = p->conn;

	if (a != NULL && pending_fill(c, p, a) == -1) {
		conn_abort(c, "out of memory for a reply");
		return;
	}
	p->ready = 1;
	stats_observe(c->w->slot, p->ask.cmd, stats_now_us() - p->ask.t0_us);
	conn_progress(c);
}

/* Complete p with error e and its reason (a static string). */
void
conn_complete_err(struct pending *p, enum err e, const char *why)
{
	struct answer	a = { .kind = ANSWER_ERR, .err = e, .text = why };

	conn_complete(p, &a);
}

/* Answer the request being handled now, behind any pending answers. */
void
conn_answer(struct conn *c, const struct answer *a)
{
	struct pending	*p;

	if (TAILQ_EMPTY(&c->pending)) {
		stats_observe(c->w->slot, c->cur.cmd,
		    stats_now_us() - c->cur.t0_us);
		conn_emit(c, &c->cur, a, 1);
		return;
	}
	if ((p = conn_defer(c, a)) != NULL)
		conn_complete(p, NULL);
}

/* Answer now with text of a kind. */
void
conn_answer_text(struct conn *c, enum answer_kind kind, const char *text,
    size_t len)
{
	struct answer	a = { .kind = kind, .text = text, .len = len };

	conn_answer(c, &a);
}

/* Answer now with error e and its reason (a static string). */
void
conn_answer_err(struct conn *c, enum err e, const char *why)
{
	struct answer	a = { .kind = ANSWER_ERR, .err = e, .text = why };

	conn_answer(c, &a);
}

/* A request of command cmd begins: count it. */
void
conn_begin(struct conn *c, enum cmd cmd)
{
	c->cur.cmd = cmd;
	stats_request(c->w->slot, c->lc->service, cmd);
}

/* Take no more requests: what was read after this is dropped unread. */
void
conn_finish(struct conn *c)
{
	if (c->state != CONN_READING)
		return;
	c->state = CONN_FINISHING;
	c->partial_since = 0;
}

/*
 * A request of used bytes was cut from the input: the read timeout starts
 * again, and a stop counts it. 1 when it was read after a stop began and
 * must be refused.
 */
int
conn_took(struct conn *c, size_t used)
{
	int	late = c->stopping && c->stop_left == 0;

	c->partial_since = 0;
	c->asked = 1;
	if (c->stopping)
		c->stop_left -= used < c->stop_left ? used : c->stop_left;
	return late;
}

/* Hand one request of len bytes (used bytes of input) to its service. */
static void
conn_request(struct conn *c, const char *req, size_t len, size_t used)
{
	if (conn_took(c, used)) {
		/* Read after the graceful stop began. */
		conn_begin(c, CMD_OTHER);
		conn_answer_err(c, ERR_SHUTTING_DOWN, "server is stopping");
		conn_finish(c);
		return;
	}
	if (c->lc->service == SVC_UPPER) {
		conn_finish(c);
		command_upper(c, req, len);
		return;
	}
	command_run(c, req, len);
}

/*
 * Fast path for line framing: the next line, when it lies whole in one
 * piece of the input past the done bytes already handled this turn. Sets
 * *line and *n (without the line end) and returns the bytes it takes; 0
 * when the slow path must decide (line split across pieces, too long, or
 * not complete yet).
 */
static size_t
conn_peek_line(struct conn *c, struct evbuffer *in, size_t done,
    const char **line, size_t *n)
{
	struct evbuffer_ptr	 at;
	struct evbuffer_iovec	 v;
	size_t			 max = (size_t)c->w->cfg->max_line, len;
	const char		*eol;

	if (evbuffer_ptr_set(in, &at, done, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_peek(in, -1, &at, &v, 1) < 1)
		return 0;
	len = v.iov_len < max + 2 ? v.iov_len : max + 2;
	if ((eol = memchr(v.iov_base, '\n', len)) == NULL)
		return 0;
	*line = v.iov_base;
	*n = (size_t)(eol - *line);
	if (*n > 0 && eol[-1] == '\r')
		(*n)--;
	if (*n > max)
		return 0;
	return (size_t)(eol - *line) + 1;
}

/* Refuse a request longer than max-line and take no more. */
static int
conn_too_long(struct conn *c)
{
	conn_begin(c, CMD_OTHER);
	conn_answer_err(c, ERR_TOO_LONG, "request longer than max-line");
	conn_finish(c);
	return -1;
}

/*
 * Line framing: cut the next line out of the input. done counts the
 * bytes handled this turn but not yet drained (draining once per turn
 * instead of once per request saves work per request). A line only ever
 * ends at "\n": however the client cuts its writes, a request is never
 * taken before its end has arrived. Returns 1 when one was handled, 0
 * when the input holds no whole line yet, -1 when the line is too long.
 */
static int
conn_next_line(struct conn *c, struct evbuffer *in, size_t *done)
{
	struct evbuffer_ptr	 eol;
	size_t			 n, used, eollen, max = c->w->cfg->max_line;
	const char		*fast;
	char			*line;

	if ((used = conn_peek_line(c, in, *done, &fast, &n)) > 0) {
		*done += used;
		conn_request(c, fast, n, used);
		return 1;
	}
	conn_drain(c, in, *done);
	*done = 0;
	eol = evbuffer_search_eol(in, NULL, &eollen, EVBUFFER_EOL_LF);
	if (eol.pos >= 0) {
		n = (size_t)eol.pos;
		used = n + 1;
	} else if (c->eof) {
		/* No more bytes can come: the rest is the last line. */
		n = evbuffer_get_length(in);
		used = n;
	} else
		return evbuffer_get_length(in) > max + 1 ? conn_too_long(c) : 0;
	/* max-line counts the request, not its line end. */
	if (n > max + 1)
		return conn_too_long(c);
	if ((line = (char *)evbuffer_pullup(in, used)) == NULL) {
		conn_abort(c, "out of memory for a request");
		return -1;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > max)
		return conn_too_long(c);
	/* Drained after the request: line points into the input. */
	*done = used;
	conn_request(c, line, n, used);
	return 1;
}

/*
 * Raw framing, for plain socket clients that send "1" and wait: whatever
 * arrived is one request, once the socket held nothing more at the last
 * read (or the client's input ended). Returns 1, 0 or -1 as
 * conn_next_line does.
 */
static int
conn_next_raw(struct conn *c, struct evbuffer *in, size_t *done)
{
	size_t	 len = evbuffer_get_length(in), n;
	char	*req;

	if (len > (size_t)c->w->cfg->max_line)
		return conn_too_long(c);
	if (!c->eof && !c->drained)
		return 0;
	if ((req = (char *)evbuffer_pullup(in, len)) == NULL) {
		conn_abort(c, "out of memory for a request");
		return -1;
	}
	n = len;
	while (n > 0 && (req[n - 1] == '\n' || req[n - 1] == '\r'))
		n--;
	*done = len;
	conn_request(c, req, n, len);
	return 1;
}

/* The echo service: everything read goes back as it is. */
static void
conn_echo(struct conn *c, struct evbuffer *in)
{
	size_t	len = evbuffer_get_length(in);

	(void)conn_took(c, len);
	stats_add(c->w->slot, STAT_bytes_out, len);
	/* Behind this turn's output (none: echo has no answers). */
	conn_input_held(c, -(ssize_t)len);
	if (bufferevent_write_buffer(c->bev, in) == -1)
		conn_abort(c, "out of memory for output");
}

/* Cut the next request out of the input by the listener's framing. */
static int
conn_next(struct conn *c, struct evbuffer *in, size_t *done)
{
	switch (c->lc->framing) {
	case FRAMING_RAW:
		return conn_next_raw(c, in, done);
	case FRAMING_HTTP:
		return http_next(c, in, done);
	default:
		return conn_next_line(c, in, done);
	}
}

/*
 * Take the requests in the input, within this turn's limits. Returns 0
 * when the input ends in an incomplete request, 1 otherwise.
 */
static int
conn_take_requests(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 done = 0;
	int		 budget = REQS_PER_TURN, rc = 1;

	if (c->lc->service == SVC_ECHO) {
		if (conn_can_take(c) && evbuffer_get_length(in) > 0)
			conn_echo(c, in);
		return 1;
	}
	while (evbuffer_get_length(in) > done && conn_can_take(c)) {
		/*
		 * Replaced by a new generation, or an HTTP client (which
		 * may send a request again on a new connection): the rest
		 * is left unread.
		 */
		if (c->stopping && c->stop_left == 0 && (c->w->retiring ||
		    c->lc->framing == FRAMING_HTTP)) {
			conn_finish(c);
			break;
		}
		if (budget-- == 0) {
			worker_resume(c->w, c);	/* let the others have a turn */
			break;
		}
		/*
		 * The requests of a turn arrived together: one clock reading,
		 * before the first, starts all their clocks.
		 */
		if (budget == REQS_PER_TURN - 1)
			c->cur.t0_us = stats_now_us();
		rc = conn_next(c, in, &done);
		if (c->state == CONN_CLOSED)
			return 1;	/* the input went with it */
		if (rc != 1)
			break;
	}
	conn_drain(c, in, done);
	return rc != 0;
}

/* Shut the write side and read out the rest for a moment, then close. */
static void
conn_linger(struct conn *c)
{
	if (c->eof) {
		conn_close(c, "done");
		return;
	}
	c->state = CONN_LINGERING;
	c->linger_since = worker_now(c->w);
	shutdown(c->fd, SHUT_WR);
	bufferevent_disable(c->bev, EV_WRITE);
	conn_read_on(c);
}

/*
 * The read timeout runs from accept until the first whole request, and
 * while a request is half read (left bytes in the input, not whole).
 */
static void
conn_settle_timer(struct conn *c, size_t left, int whole)
{
	if (c->state != CONN_READING)
		c->partial_since = 0;
	else if (left > 0 && !whole) {
		if (c->partial_since == 0)
			c->partial_since = worker_now(c->w);
	} else if (c->asked)
		c->partial_since = 0;
}

/*
 * After the work of a turn: end the connection when nothing more is owed,
 * else read when it may take requests, and otherwise watch it for a reset
 * while reading waits.
 */
static void
conn_settle(struct conn *c, int whole)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 left = evbuffer_get_length(in);

	conn_settle_timer(c, left, whole);
	/*
	 * Nothing more to read: the client's input ended, or a stop began
	 * and everything read before it is answered (until then, requests
	 * that still arrive are refused, so the client hears why).
	 */
	if (c->state == CONN_READING && left == 0 && (c->eof ||
	    (c->stopping && c->stop_left == 0 && c->npending == 0)))
		conn_finish(c);
	if (c->state == CONN_FINISHING) {
		conn_drain(c, in, left);
		if (c->npending == 0 && c->out_bytes == 0) {
			conn_linger(c);
			return;
		}
	}
	if (c->state == CONN_READING && !c->eof && conn_can_take(c) &&
	    left < c->inmax) {
		conn_read_on(c);
		/*
		 * Whole requests left unread while it could take none (its
		 * answers all came this turn): no read will bring them up.
		 */
		if (left > 0 && whole)
			worker_resume(c->w, c);
		return;
	}
	conn_read_off(c);
	/*
	 * Errors and hangups; for HTTP a half-close too (its client is gone),
	 * while a line client that half-closes still wants its answers.
	 */
	if (!c->watch.on && worker_watch(c->w, &c->watch,
	    c->lc->framing == FRAMING_HTTP ? EPOLLRDHUP : 0) == -1)
		log_warn("conn %llu: cannot watch for a reset",
		    (unsigned long long)c->id);
}

/*
 * The one "after progress" step, whatever moved: send the answers that
 * are ready, take the requests that may be taken, write, and decide what
 * to wait for. Safe to call at any time; reentrant calls (an answer that
 * completes while requests are being taken) return at once, and the outer
 * call picks their work up.
 */
void
conn_progress(struct conn *c)
{
	int	whole = 1;

	if (c->state == CONN_CLOSED || c->state == CONN_LINGERING ||
	    c->in_progress)
		return;
	c->in_progress = 1;
	turn.c = c;
	conn_flush(c);
	if (c->state == CONN_READING)
		whole = conn_take_requests(c);
	if (c->state != CONN_CLOSED)
		conn_flush(c);
	if (c->state != CONN_CLOSED)
		conn_send(c);
	c->in_progress = 0;
	if (c->state != CONN_CLOSED)
		conn_settle(c, whole);
}

/*
 * One recv() into the input: the bytes read, 0 at the end of the input,
 * -1 when nothing came (or the connection was closed). Lingering, what
 * comes is dropped.
 */
static ssize_t
conn_recv(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 room = READ_MAX;
	ssize_t		 n;

	if (c->state != CONN_LINGERING) {
		room = c->inmax > c->in_bytes ? c->inmax - c->in_bytes : 0;
		if (room > READ_MAX)
			room = READ_MAX;
	}
	if (room == 0)
		return -1;
	if ((n = recv(c->fd, conn_scratch, room, 0)) == 0)
		return 0;
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			c->drained = 1;
		else if (errno != EINTR)
			conn_close(c, strerror(errno));
		return -1;
	}
	c->drained = (size_t)n < room;
	stats_add(c->w->slot, STAT_bytes_in, (uint64_t)n);
	if (c->state == CONN_LINGERING)
		return n;
	if (evbuffer_add(in, conn_scratch, (size_t)n) == -1) {
		conn_abort(c, "out of memory for a request");
		return -1;
	}
	conn_input_held(c, n);
	if (c->stop_first) {
		c->stop_first = 0;
		c->stopping = 1;
		c->stop_left = c->in_bytes;
	}
	return n;
}

/*
 * The client's input ended. A line client that half-closes still gets
 * every answer it asked for; an HTTP client that closes is gone, and
 * what it asked for is not wanted any more.
 */
static void
conn_eof(struct conn *c)
{
	c->eof = 1;
	conn_read_off(c);	/* the socket stays readable: stop looking */
	if (c->state == CONN_LINGERING) {
		conn_close(c, "done");
		return;
	}
	if (c->lc->framing == FRAMING_HTTP) {
		conn_close(c, "client closed");
		return;
	}
	if (c->lc->service == SVC_ECHO)
		conn_finish(c);
	conn_progress(c);
}

/*
 * The socket is readable: read once, then handle what came. A raw request
 * is whatever arrived once the socket is empty, so for raw framing a read
 * that fills its space is followed by another; elsewhere the next
 * readiness brings the rest.
 */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	c->last_active = worker_now(c->w);
	while ((n = conn_recv(c)) > 0 && c->lc->framing == FRAMING_RAW &&
	    !c->drained)
		;
	if (c->state == CONN_CLOSED)
		return;
	if (n == 0)
		conn_eof(c);
	else if (c->state != CONN_LINGERING)
		conn_progress(c);
}

/* Output went below the low-water mark (or empty). */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	c->last_active = worker_now(c->w);
	conn_progress(c);
}

/* The bufferevent could not write: the client is gone. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		conn_close(c, errno ? strerror(errno) : "socket error");
}

/*
 * The worker's watch saw a reset (or a hangup) while reading was paused:
 * the client is gone, and nothing it asked for is wanted any more.
 */
static void
conn_hangup(struct watch *wt)
{
	struct conn	*c = (struct conn *)(void *)((char *)wt -
			    offsetof(struct conn, watch));
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (c->state == CONN_CLOSED)
		return;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err == 0) {
		conn_close(c, "hangup");
		return;
	}
	conn_close(c, strerror(err));
}

/*
 * Graceful stop: answer what was already read, then close. On a stop,
 * later line requests are refused with ERR shutting-down; on retirement
 * (a reload), and for HTTP, they are left unread, and the client sends
 * them again on a new connection, which the new generation serves.
 */
void
conn_stop(struct conn *c)
{
	if (c->state != CONN_READING || c->stopping)
		return;
	/*
	 * A connection that has sent nothing yet, on a worker being
	 * replaced, was accepted just before the new generation took over,
	 * and its client is about to ask: the stop waits for its first
	 * bytes (the read timeout bounds the wait), so that what the
	 * client sent before anything told it to go elsewhere is answered.
	 */
	if (c->w->retiring && !c->asked && c->in_bytes == 0 &&
	    c->lc->service != SVC_ECHO) {
		c->stop_first = 1;
		return;
	}
	c->stopping = 1;
	c->stop_left = c->in_bytes;
	if (c->lc->service == SVC_UPPER || c->lc->service == SVC_ECHO)
		conn_finish(c);
	conn_progress(c);
}

/*
 * True when the client took some of what the socket held for it since the
 * last look: one that reads its answers slowly is busy, not idle, even
 * while the bufferevent has nothing to add (the socket is full).
 */
static int
conn_client_reads(struct conn *c)
{
	int	q;

	if (c->out_bytes == 0 || ioctl(c->fd, SIOCOUTQ, &q) == -1 ||
	    q == c->outq)
		return 0;
	c->outq = q;
	return 1;
}

/* A few times a second: idle, slow-sender and linger deadlines. */
void
conn_sweep(struct conn *c, int64_t now)
{
	const struct config	*cfg = c->w->cfg;

	if (conn_client_reads(c))
		c->last_active = now;

	if (c->state == CONN_LINGERING) {
		if (now - c->linger_since >= LINGER_MS)
			conn_close(c, "linger timeout");
		return;
	}
	if (cfg->read_timeout_ms > 0 && c->partial_since != 0 &&
	    now - c->partial_since >= cfg->read_timeout_ms) {
		conn_close(c, "read timeout");
		return;
	}
	if (cfg->idle_timeout_ms > 0 && c->npending == 0 &&
	    now - c->last_active >= cfg->idle_timeout_ms)
		conn_close(c, "idle timeout");
}

/* Bytes this connection holds for its client: input, queued, unwritten. */
size_t
conn_holds(struct conn *c)
{
	return c->state == CONN_CLOSED ? 0 : conn_held(c) + c->in_bytes;
}

/* The worker is over its memory cap and c holds the most: let it go. */
void
conn_shed(struct conn *c)
{
	conn_abort(c, "server reply memory is full");
}
