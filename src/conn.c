/*
 * conn.c: one client connection of a line service, from accept to close.
 *
 * Bytes arrive in the bufferevent's input; conn_progress cuts them into
 * requests (line or raw framing, as the listener says) and hands each to
 * command.c. Replies leave in request order: a reply that is ready while
 * nothing is pending goes straight to this turn's output, anything else
 * waits in the pending FIFO until every earlier reply has gone out. The
 * replies of one turn gather in c->out and leave in one write (conn_send).
 *
 * Every event that may let a connection move on (bytes in, output drained,
 * end of input, a reply completed, a turn given back, a stop) calls the one
 * function conn_progress, which does all that can be done now and then
 * decides what the connection waits for next.
 *
 * States: READING takes requests; FINISHING takes no more (QUIT, a
 * too-long request, end of input, the upper service's one message, a stop)
 * and owes its replies; once they are written it LINGERs: the write side
 * is shut and what the client still sends is read out for a moment, so the
 * kernel does not reset the connection and destroy the last reply. CLOSED
 * is torn down at once (conn_close), but the memory stays until the
 * worker's next turn, so no caller up the stack touches freed memory: a
 * caller only has to look at c->state after anything that may close.
 *
 * What a client can make the server hold is bounded: reading stops when
 * the client has too many requests in flight, when its replies (queued or
 * unwritten) pass a high-water mark, or after a bounded number of requests
 * in one turn. A connection whose reading is paused is watched for a reset
 * (worker_watch), so a client that leaves is noticed and its jobs, timers
 * and replies are released at once. A failure to store a reply never drops
 * it from the ordered stream: the connection is closed instead.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/ioctl.h>
#include <sys/socket.h>

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
#define REQS_PER_TURN	32		/* requests handled per turn */
#define LINGER_MS	2000
/*
 * What a pending reply holds before its reply exists: itself, a timer or a
 * job, and the allocator's overhead; counted with the replies against the
 * connection's high-water mark and the worker's cap.
 */
#define PENDING_COST	256

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_output_cb(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	conn_hangup(struct watch *);

/* Count one error reply of code e. */
static void
conn_count_err(struct worker *w, enum err e)
{
	atomic_fetch_add_explicit(&w->slot->err[e], 1, memory_order_relaxed);
}

/* Refuse a fresh socket with one line; it has room for it. */
static void
conn_refuse(struct worker *w, int fd, const char *why)
{
	char	buf[PROTO_ERR_MAX];

	(void)send(fd, buf, proto_err_line(buf, sizeof(buf), ERR_BUSY, why),
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	stats_add(w->slot, STAT_connections_rejected, 1);
	conn_count_err(w, ERR_BUSY);
}

/* Turn a just-accepted socket into a connection (or refuse it). */
void
conn_accept(struct worker *w, const struct listen_conf *lc, int fd)
{
	struct conn	*c;
	size_t		 inmax;

	if (w->stopping) {
		conn_refuse(w, fd, "server is stopping");
		return;
	}
	if (w->nconns + http_count(w->httpd) >= w->cfg->max_connections) {
		conn_refuse(w, fd, "too many connections");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conn_refuse(w, fd, "out of memory");
		return;
	}
	c->w = w;
	c->fd = fd;
	c->lc = lc;
	c->state = CONN_READING;
	c->watch.hangup = conn_hangup;
	c->watch.fd = fd;
	c->id = ++w->next_conn_id;
	c->last_active = worker_now(w);
	TAILQ_INIT(&c->pending);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->out = evbuffer_new();
	if (c->bev == NULL || c->out == NULL || evbuffer_add_cb(
	    bufferevent_get_output(c->bev), conn_output_cb, c) == NULL) {
		log_warn("out of memory for a connection");
		if (c->out != NULL)
			evbuffer_free(c->out);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	inmax = (size_t)w->cfg->max_line + 2;
	if (inmax < IN_MIN)
		inmax = IN_MIN;
	bufferevent_setwatermark(c->bev, EV_READ, 0, inmax);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOWAT, 0);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	worker_add_conn(w, c);
	stats_add(w->slot, STAT_connections_open, 1);
	stats_add(w->slot, STAT_connections_total, 1);
}

/* The bufferevent's output grew or shrank: keep the counts of held bytes. */
static void
conn_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;
	ssize_t		 delta;

	delta = (ssize_t)info->n_added - (ssize_t)info->n_deleted;
	c->out_bytes += delta;
	worker_reply_bytes(c->w, delta);
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
	c->pending_bytes -= PENDING_COST + (p->ready ? p->replylen : 0);
	worker_reply_bytes(c->w, -(ssize_t)(PENDING_COST +
	    (p->ready ? p->replylen : 0)));
	conn_cancel_work(p);
	free(p->reply);
	free(p);
}

/*
 * The one teardown of a connection; reason goes to the debug log. Every
 * pending reply is freed and the work for it stopped; c itself is freed
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
	evbuffer_remove_cb(bufferevent_get_output(c->bev), conn_output_cb, c);
	worker_reply_bytes(w, -(ssize_t)c->out_bytes);
	c->out_bytes = 0;
	bufferevent_free(c->bev);
	c->bev = NULL;
	evbuffer_free(c->out);
	c->out = NULL;
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
 * or over the worker's reply memory): say so when the stream is at a reply
 * boundary, then close. Nothing is ever answered out of order.
 */
static void
conn_abort(struct conn *c, const char *why)
{
	char	buf[PROTO_ERR_MAX];

	if (c->state == CONN_CLOSED)
		return;
	log_warn("conn %llu: closed: %s", (unsigned long long)c->id, why);
	conn_count_err(c->w, ERR_BUSY);
	if (c->state != CONN_LINGERING && evbuffer_get_length(c->out) == 0 &&
	    c->out_bytes == 0)
		(void)send(c->fd, buf, proto_err_line(buf, sizeof(buf),
		    ERR_BUSY, why), MSG_DONTWAIT | MSG_NOSIGNAL);
	conn_close(c, why);
}

/* Add a reply to this turn's output; counts the answered request. */
static void
conn_emit(struct conn *c, const char *buf, size_t len)
{
	if (len > 0 && evbuffer_add(c->out, buf, len) == -1) {
		conn_abort(c, "out of memory for a reply");
		return;
	}
	stats_add(c->w->slot, STAT_requests, 1);
	stats_add(c->w->slot, STAT_bytes_out, len);
}

/*
 * Write this turn's replies. When the bufferevent's output is empty the
 * socket is written directly: nothing of ours is queued before these
 * bytes, so the order holds, and a reply costs no epoll change and no
 * extra loop turn (a measured win). What the socket does not take, and
 * everything behind earlier output, goes to the bufferevent, which writes
 * it when the socket can take it and reports any error.
 */
static void
conn_send(struct conn *c)
{
	if (evbuffer_get_length(c->out) == 0)
		return;
	if (c->out_bytes == 0)
		(void)evbuffer_write(c->out, c->fd);
	if (evbuffer_get_length(c->out) > 0 &&
	    bufferevent_write_buffer(c->bev, c->out) == -1)
		conn_abort(c, "out of memory for output");
}

/* Bytes this connection holds for its client: queued and unwritten. */
static size_t
conn_held(struct conn *c)
{
	return c->pending_bytes + c->out_bytes + evbuffer_get_length(c->out);
}

/* True when the connection may take another request now. */
static int
conn_can_take(struct conn *c)
{
	return c->state == CONN_READING &&
	    c->npending < c->w->cfg->max_inflight &&
	    conn_held(c) < OUT_HIWAT;
}

/* Move ready replies at the head of the FIFO to this turn's output. */
static void
conn_flush(struct conn *c)
{
	struct pending	*p;

	while (c->state != CONN_CLOSED &&
	    (p = TAILQ_FIRST(&c->pending)) != NULL && p->ready) {
		conn_emit(c, p->reply, p->replylen);
		if (c->state != CONN_CLOSED)
			pending_free(c, p);
	}
}

/* Reserve the next place in the reply order; NULL (and c closed) if not. */
struct pending *
conn_defer(struct conn *c)
{
	struct pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		conn_abort(c, "out of memory for a reply");
		return NULL;
	}
	p->conn = c;
	p->cmd = c->cur_cmd;
	p->t0_us = c->cur_t0_us;
	c->cur_deferred = 1;
	TAILQ_INSERT_TAIL(&c->pending, p, entry);
	c->npending++;
	c->pending_bytes += PENDING_COST;
	worker_reply_bytes(c->w, PENDING_COST);
	return p;
}

/*
 * Fill in a pending reply (NULL buf: keep the one it has) and let the
 * connection move on. When the reply cannot be stored the connection is
 * closed, never answered out of order.
 */
void
conn_complete(struct pending *p, const char *buf, size_t len)
{
	struct conn	*c = p->conn;
	char		*copy;

	if (buf != NULL) {
		if ((copy = malloc(len ? len : 1)) == NULL) {
			conn_abort(c, "out of memory for a reply");
			return;
		}
		memcpy(copy, buf, len);
		free(p->reply);
		p->reply = copy;
		p->replylen = len;
	}
	p->ready = 1;
	if (p->t0_us != 0)
		stats_observe(c->w->slot, p->cmd, stats_now_us() - p->t0_us);
	c->pending_bytes += p->replylen;
	worker_reply_bytes(c->w, (ssize_t)p->replylen);
	conn_progress(c);
}

/* Fill in a pending reply with "ERR code why" and count the error. */
void
conn_complete_err(struct pending *p, enum err e, const char *why)
{
	char	buf[PROTO_ERR_MAX];

	conn_count_err(p->conn->w, e);
	conn_complete(p, buf, proto_err_line(buf, sizeof(buf), e, why));
}

/* Reply now, behind whatever earlier replies are still pending. */
void
conn_reply(struct conn *c, const char *buf, size_t len)
{
	struct pending	*p;

	if (TAILQ_EMPTY(&c->pending)) {
		conn_emit(c, buf, len);
		return;
	}
	if ((p = conn_defer(c)) != NULL)
		conn_complete(p, buf, len);
}

/* Reply "ERR code why" and count the error. */
void
conn_reply_err(struct conn *c, enum err e, const char *why)
{
	char	buf[PROTO_ERR_MAX];

	conn_count_err(c->w, e);
	conn_reply(c, buf, proto_err_line(buf, sizeof(buf), e, why));
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

/* Bytes waiting in the socket beyond what we read; 0 on error. */
static int
conn_socket_pending(struct conn *c)
{
	int	n = 0;

	if (ioctl(c->fd, FIONREAD, &n) == -1)
		return 0;
	return n;
}

/* Hand one request of len bytes (used bytes of input) to its service. */
static void
conn_request(struct conn *c, const char *req, size_t len, size_t used)
{
	int	refuse = c->stopping && c->stop_left == 0;

	/* The read timeout counts from the last whole request. */
	c->partial_since = 0;

	if (c->stopping)
		c->stop_left -= used < c->stop_left ? used : c->stop_left;
	if (refuse) {
		/* Read after the graceful stop began. */
		conn_reply_err(c, ERR_SHUTTING_DOWN, "server is stopping");
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
	conn_reply_err(c, ERR_TOO_LONG, "request longer than max-line");
	conn_finish(c);
	return -1;
}

/*
 * Line framing: cut the next line out of the input. done counts the
 * bytes handled this turn but not yet drained (draining once per turn
 * instead of once per request spares the bufferevent's watermark check an
 * event_add each time). A line only ever ends at "\n": however the client
 * cuts its writes, a request is never taken before its end has arrived.
 * Returns 1 when one was handled, 0 when the input holds no whole line
 * yet, -1 when the line is too long.
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
	evbuffer_drain(in, *done);
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
 * arrived is one request, once the socket holds nothing more (or the
 * client's input ended). Returns 1, 0 or -1 as conn_next_line does.
 */
static int
conn_next_raw(struct conn *c, struct evbuffer *in, size_t *done)
{
	size_t	 len = evbuffer_get_length(in), n;
	char	*req;

	if (len > (size_t)c->w->cfg->max_line)
		return conn_too_long(c);
	if (!c->eof && conn_socket_pending(c) > 0)
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

	stats_add(c->w->slot, STAT_bytes_out, len);
	if (evbuffer_add_buffer(c->out, in) == -1)
		conn_abort(c, "out of memory for output");
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
		if (conn_can_take(c))
			conn_echo(c, in);
		return 1;
	}
	while (evbuffer_get_length(in) > done && conn_can_take(c)) {
		if (c->stopping && c->stop_left == 0 && c->w->retiring) {
			/* Replaced by a new generation: leave the rest unread. */
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
			c->cur_t0_us = stats_now_us();
		if (c->lc->framing == FRAMING_RAW)
			rc = conn_next_raw(c, in, &done);
		else
			rc = conn_next_line(c, in, &done);
		if (c->state == CONN_CLOSED)
			return 1;	/* the input went with it */
		if (rc != 1)
			break;
	}
	evbuffer_drain(in, done);
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
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
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

	c->in_counted = evbuffer_get_length(in);
	/* The read timeout runs only while a request is incomplete. */
	if (c->in_counted == 0 || whole || c->state != CONN_READING)
		c->partial_since = 0;
	else if (c->partial_since == 0)
		c->partial_since = worker_now(c->w);
	/*
	 * Nothing more to read: the client's input ended, or a stop began
	 * and everything read before it is answered (until then, requests
	 * that still arrive are refused, so the client hears why).
	 */
	if (c->state == CONN_READING && c->in_counted == 0 && (c->eof ||
	    (c->stopping && c->stop_left == 0 && c->npending == 0)))
		conn_finish(c);
	if (c->state == CONN_FINISHING) {
		if (c->in_counted > 0) {
			evbuffer_drain(in, c->in_counted);
			c->in_counted = 0;
		}
		if (c->npending == 0 && c->out_bytes == 0) {
			conn_linger(c);
			return;
		}
	}
	if (c->state == CONN_READING && !c->eof && conn_can_take(c)) {
		if (!(bufferevent_get_enabled(c->bev) & EV_READ))
			bufferevent_enable(c->bev, EV_READ);
		return;
	}
	if (bufferevent_get_enabled(c->bev) & EV_READ)
		bufferevent_disable(c->bev, EV_READ);
	/* Errors and hangups only: a half-close still wants its replies. */
	if (!c->watch.on && worker_watch(c->w, &c->watch, 0) == -1)
		log_warn("conn %llu: cannot watch for a reset",
		    (unsigned long long)c->id);
}

/*
 * The one "after progress" step, whatever moved: send the replies that
 * are ready, take the requests that may be taken, write, and decide what
 * to wait for. Safe to call at any time; reentrant calls (a reply that
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

/* New bytes: count them, then handle what they complete. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len = evbuffer_get_length(in);

	stats_add(c->w->slot, STAT_bytes_in, len - c->in_counted);
	c->in_counted = len;
	c->last_active = worker_now(c->w);
	if (c->state == CONN_LINGERING) {
		evbuffer_drain(in, len);
		c->in_counted = 0;
		return;
	}
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

/* End of input, errors and resets. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_ERROR) {
		conn_close(c, errno ? strerror(errno) : "socket error");
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	/* A half-closed client still gets every reply it asked for. */
	c->eof = 1;
	if (c->state == CONN_LINGERING) {
		conn_close(c, "done");
		return;
	}
	if (c->lc->service == SVC_ECHO)
		conn_finish(c);
	conn_progress(c);
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
 * later requests are refused with ERR shutting-down; on retirement (a
 * reload), they are left unread, and the client retries them on a new
 * connection, which the new generation of workers serves.
 */
void
conn_stop(struct conn *c)
{
	if (c->state != CONN_READING || c->stopping)
		return;
	c->stopping = 1;
	c->stop_left = evbuffer_get_length(bufferevent_get_input(c->bev));
	if (c->lc->service != SVC_PRIME)
		conn_finish(c);
	conn_progress(c);
}

/* A few times a second: idle, slow-sender and linger deadlines. */
void
conn_sweep(struct conn *c, int64_t now)
{
	const struct config	*cfg = c->w->cfg;

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

/* Bytes this connection holds for its client: queued and unwritten. */
size_t
conn_holds(struct conn *c)
{
	return c->state == CONN_CLOSED ? 0 : conn_held(c);
}

/* The worker is over its reply memory and c holds the most: let it go. */
void
conn_shed(struct conn *c)
{
	conn_abort(c, "server reply memory is full");
}
