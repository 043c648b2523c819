/*
 * conn.c: one client connection, from accept to close.
 *
 * Bytes arrive in the bufferevent's input; conn_process cuts them into
 * requests (line or raw framing) and hands each to command.c. Replies leave
 * in request order: a reply that is ready while nothing is pending goes
 * straight to the output, anything else waits in the pending FIFO until
 * every earlier reply has gone out. The replies of one turn gather in
 * c->out and leave in one write straight to the socket (conn_send); only
 * what the socket does not take is left to the bufferevent, so a reply
 * costs no epoll change and no extra loop turn.
 *
 * Reading stops (and resumes by itself) when the client has too many
 * requests in flight, when its unread output passes a high-water mark, or
 * after a bounded number of requests in one go, so that one busy client
 * cannot monopolise its worker or its memory.
 *
 * A connection never closes with unread input behind a reply it still owes:
 * it finishes (writes everything), shuts its write side, and reads out
 * what the client still sends for a moment before closing, so the kernel
 * does not reset the connection and destroy the last reply.
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

#define OUT_HIWAT	(256 * 1024)	/* stop reading past this much output */
#define OUT_LOWAT	(64 * 1024)	/* and resume below this */
#define IN_MIN		16384		/* input buffered ahead, at least */
#define REQS_PER_EVENT	32		/* requests handled per turn */
#define LINGER_MS	2000

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);

/* Turn a just-accepted socket into a connection (or refuse it). */
void
conn_accept(struct worker *w, const struct listen_conf *lc, int fd)
{
	static const char busy[] = "ERR busy too many connections\n";
	struct conn	*c;
	size_t		 inmax;

	if (w->stopping || w->nconns >= w->cfg->max_connections) {
		/* Best effort on a fresh socket: it has room for one line. */
		(void)send(fd, busy, sizeof(busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		stats_add(w->st, STAT_connections_rejected, 1);
		atomic_fetch_add_explicit(&w->st->err[ERR_BUSY], 1,
		    memory_order_relaxed);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->lc = lc;
	c->framing = lc->framing;
	c->id = ++w->next_conn_id;
	c->last_active = worker_now(w);
	TAILQ_INIT(&c->pending);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->out = evbuffer_new();
	if (c->bev == NULL || c->out == NULL || worker_add_conn(w, c) == -1) {
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
	stats_add(w->st, STAT_connections_open, 1);
	stats_add(w->st, STAT_connections_total, 1);
}

/* Free one pending reply, cancelling whatever still works for it. */
static void
pending_free(struct pending *p)
{
	command_cancel(p);
	free(p->reply);
	free(p);
}

/* The one teardown of a connection; reason goes to the debug log. */
void
conn_close(struct conn *c, const char *reason)
{
	struct pending	*p;
	struct worker	*w = c->w;

	log_debug("conn %llu fd %d: %s", (unsigned long long)c->id, c->fd,
	    reason);
	while ((p = TAILQ_FIRST(&c->pending)) != NULL) {
		TAILQ_REMOVE(&c->pending, p, entry);
		pending_free(p);
	}
	if (c->resume_queued)
		TAILQ_REMOVE(&w->resume, c, resume_entry);
	worker_del_conn(w, c);
	bufferevent_free(c->bev);
	evbuffer_free(c->out);
	stats_sub(w->st, STAT_connections_open, 1);
	free(c);
}

/* Add a reply to this turn's output; counts the answered request. */
static void
conn_emit(struct conn *c, const char *buf, size_t len)
{
	if (len > 0)
		evbuffer_add(c->out, buf, len);
	stats_add(c->w->st, STAT_requests, 1);
	stats_add(c->w->st, STAT_bytes_out, len);
}

/*
 * Write this turn's replies: straight to the socket when nothing waits
 * before them; the rest (or all, behind earlier output) goes to the
 * bufferevent, which writes it when the socket can take it. A write error
 * is left for the bufferevent to find and report.
 */
static void
conn_send(struct conn *c)
{
	if (evbuffer_get_length(c->out) == 0)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		(void)evbuffer_write(c->out, c->fd);
	if (evbuffer_get_length(c->out) > 0)
		bufferevent_write_buffer(c->bev, c->out);
}

/* True when the connection may take another request now. */
static int
conn_can_take(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	return !c->done_reading && !c->finishing &&
	    c->npending < c->w->cfg->max_inflight &&
	    evbuffer_get_length(out) + evbuffer_get_length(c->out) < OUT_HIWAT;
}

/* Shut the write side and read out the rest for a moment, then close. */
static void
conn_linger(struct conn *c)
{
	if (c->eof) {
		conn_close(c, "done");
		return;
	}
	c->lingering = 1;
	c->linger_since = worker_now(c->w);
	shutdown(c->fd, SHUT_WR);
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
}

/*
 * True when the connection will take no more requests: it said so, the
 * client's input ended, or a stop began and what was read before it is done.
 */
static int
conn_done_reading(struct conn *c)
{
	return c->done_reading || (c->draining && c->drain_left == 0) ||
	    (c->eof && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0);
}

/*
 * Close once nothing more is owed: no request will be read, none is
 * pending, and the output is written. Returns 1 when c is gone or lingering,
 * so the caller must not touch it again.
 */
static int
conn_finish_if_done(struct conn *c)
{
	if (c->lingering || c->npending > 0 || !conn_done_reading(c))
		return 0;
	c->finishing = 1;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return 0;
	conn_linger(c);
	return 1;
}

/* Move ready replies at the head of the FIFO to the output. */
static void
conn_flush(struct conn *c)
{
	struct pending	*p;

	while ((p = TAILQ_FIRST(&c->pending)) != NULL && p->ready) {
		TAILQ_REMOVE(&c->pending, p, entry);
		c->npending--;
		conn_emit(c, p->reply, p->replylen);
		pending_free(p);
	}
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
	if ((p = conn_defer(c)) == NULL)
		return;
	conn_complete(p, buf, len);
}

/* Reply "ERR code why" and count the error. */
void
conn_reply_err(struct conn *c, enum err e, const char *why)
{
	char	buf[256];
	int	n;

	atomic_fetch_add_explicit(&c->w->st->err[e], 1, memory_order_relaxed);
	n = snprintf(buf, sizeof(buf), "ERR %s %s\n", proto_err_name(e), why);
	conn_reply(c, buf, (size_t)n < sizeof(buf) ? (size_t)n :
	    sizeof(buf) - 1);
}

/* Reserve the next place in the reply order. */
struct pending *
conn_defer(struct conn *c)
{
	struct pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("out of memory");
		return NULL;
	}
	p->conn = c;
	p->seq = ++c->next_seq;
	TAILQ_INSERT_TAIL(&c->pending, p, entry);
	c->npending++;
	return p;
}

/* The pending reply with this seq still waiting for job, or NULL. */
struct pending *
conn_find(struct conn *c, uint64_t seq, struct job *job)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &c->pending, entry)
		if (p->seq == seq)
			return (p->job == job && !p->ready) ? p : NULL;
	return NULL;
}

/* Fill in a pending reply (NULL buf: keep the one it has); send what can go. */
void
conn_complete(struct pending *p, const char *buf, size_t len)
{
	struct conn	*c = p->conn;

	if (buf != NULL) {
		free(p->reply);
		p->replylen = 0;
		if ((p->reply = malloc(len ? len : 1)) != NULL) {
			memcpy(p->reply, buf, len);
			p->replylen = len;
		}
	}
	p->ready = 1;
	if (p != TAILQ_FIRST(&c->pending))
		return;
	conn_flush(c);
	/* Inside conn_process, the loop there decides what comes next. */
	if (c->busy)
		return;
	conn_send(c);
	if (conn_finish_if_done(c))
		return;
	/* A slot in the reply order came free: maybe reading can go on. */
	if (c->inleft > 0 || !(bufferevent_get_enabled(c->bev) & EV_READ))
		worker_resume(c->w, c);
}

/* Fill in a pending reply with an error. */
void
conn_complete_err(struct pending *p, enum err e, const char *why)
{
	char	buf[256];
	int	n;

	atomic_fetch_add_explicit(&p->conn->w->st->err[e], 1,
	    memory_order_relaxed);
	n = snprintf(buf, sizeof(buf), "ERR %s %s\n", proto_err_name(e), why);
	conn_complete(p, buf, (size_t)n < sizeof(buf) ? (size_t)n :
	    sizeof(buf) - 1);
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
	int	refuse = c->draining && c->drain_left == 0;

	if (c->draining)
		c->drain_left -= used < c->drain_left ? used : c->drain_left;
	if (refuse) {
		/* Read after the graceful stop began. */
		conn_reply_err(c, ERR_SHUTTING_DOWN, "server is stopping");
		c->done_reading = 1;
		return;
	}
	if (c->lc->service == SVC_UPPER) {
		c->done_reading = 1;
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

	if (c->framing == FRAMING_RAW ||
	    evbuffer_ptr_set(in, &at, done, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_peek(in, -1, &at, &v, 1) < 1)
		return 0;
	len = v.iov_len < max + 1 ? v.iov_len : max + 1;
	if ((eol = memchr(v.iov_base, '\n', len)) == NULL)
		return 0;
	*line = v.iov_base;
	*n = (size_t)(eol - *line);
	if (*n > 0 && eol[-1] == '\r')
		(*n)--;
	return (size_t)(eol - *line) + 1;
}

/*
 * Cut the next request out of the input; done counts the bytes handled
 * this turn but not yet drained (draining once per turn instead of once
 * per request spares the bufferevent's watermark check an event_add each
 * time). Returns 1 when one was handled, 0 when the input holds no whole
 * request yet, -1 when the connection is finishing because the request is
 * too long.
 */
static int
conn_next_request(struct conn *c, struct evbuffer *in, size_t *done)
{
	struct evbuffer_ptr	 eol;
	size_t			 len, eollen, n, used;
	const char		*fast;
	char			*line;

	if ((used = conn_peek_line(c, in, *done, &fast, &n)) > 0) {
		c->framing = FRAMING_LINE;
		*done += used;
		conn_request(c, fast, n, used);
		return 1;
	}
	evbuffer_drain(in, *done);
	*done = 0;
	len = evbuffer_get_length(in);
	if (c->framing != FRAMING_RAW) {
		eol = evbuffer_search_eol(in, NULL, &eollen, EVBUFFER_EOL_LF);
		if (eol.pos >= 0 && (size_t)eol.pos <= (size_t)c->w->cfg->max_line) {
			n = (size_t)eol.pos;
			line = (char *)evbuffer_pullup(in, n + 1);
			if (n > 0 && line[n - 1] == '\r')
				n--;
			c->framing = FRAMING_LINE;
			conn_request(c, line, n, (size_t)eol.pos + 1);
			evbuffer_drain(in, (size_t)eol.pos + 1);
			return 1;
		}
		if (eol.pos >= 0)
			len = (size_t)eol.pos;
	}
	if (len > (size_t)c->w->cfg->max_line) {
		conn_reply_err(c, ERR_TOO_LONG, "request longer than max-line");
		c->done_reading = 1;
		return -1;
	}
	/* Raw framing: what arrived, once the socket has nothing more. */
	if (!c->eof && (c->framing == FRAMING_LINE ||
	    conn_socket_pending(c) > 0))
		return 0;
	line = (char *)evbuffer_pullup(in, len);
	n = len;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	conn_request(c, line, n, len);
	evbuffer_drain(in, len);
	return 1;
}

/* Handle the requests in the input, within this turn's limits. */
void
conn_process(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 done = 0;
	int		 budget = REQS_PER_EVENT, rc = 1;

	if (c->lingering)
		return;		/* only reading out what the client still sends */
	c->busy = 1;
	while (evbuffer_get_length(in) > done && conn_can_take(c)) {
		if (c->draining && c->drain_left == 0 && c->w->retiring) {
			/* Replaced by a new generation: leave the rest unread. */
			c->done_reading = 1;
			break;
		}
		if (budget-- == 0) {
			worker_resume(c->w, c);	/* let the others have a turn */
			break;
		}
		if ((rc = conn_next_request(c, in, &done)) != 1)
			break;
	}
	evbuffer_drain(in, done);
	c->busy = 0;
	conn_flush(c);
	conn_send(c);
	c->inleft = evbuffer_get_length(in);
	/* The read timeout runs only while a request is incomplete. */
	if (c->inleft == 0 || rc != 0)
		c->partial_since = 0;
	else if (c->partial_since == 0)
		c->partial_since = worker_now(c->w);
	if (conn_finish_if_done(c))
		return;
	if (c->eof || !conn_can_take(c)) {
		if (bufferevent_get_enabled(c->bev) & EV_READ)
			bufferevent_disable(c->bev, EV_READ);
	} else if (!(bufferevent_get_enabled(c->bev) & EV_READ))
		bufferevent_enable(c->bev, EV_READ);
}

/* New bytes: count them, then handle what they complete. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len = evbuffer_get_length(in);

	stats_add(c->w->st, STAT_bytes_in, len - c->inleft);
	c->inleft = len;
	c->last_active = worker_now(c->w);
	if (c->lingering) {
		evbuffer_drain(in, len);
		c->inleft = 0;
		return;
	}
	if (c->lc->service == SVC_ECHO) {
		stats_add(c->w->st, STAT_bytes_out, len);
		evbuffer_add_buffer(c->out, in);
		conn_send(c);
		c->inleft = 0;
		if (!conn_can_take(c))
			bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_process(c);
}

/* Output went below the low-water mark (or empty). */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	c->last_active = worker_now(c->w);
	if (conn_finish_if_done(c))
		return;
	if (c->lc->service == SVC_ECHO) {
		if (!c->done_reading && !c->eof)
			bufferevent_enable(bev, EV_READ);
		return;
	}
	/* Output was the brake: go on with what is buffered. */
	if (c->inleft > 0 || !(bufferevent_get_enabled(bev) & EV_READ))
		conn_process(c);
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
	if (c->lingering) {
		conn_close(c, "done");
		return;
	}
	if (c->lc->service == SVC_ECHO) {
		c->done_reading = 1;
		conn_finish_if_done(c);
		return;
	}
	conn_process(c);
}

/*
 * Graceful stop: answer what was already read, then close. On a stop, later
 * requests are refused with ERR shutting-down; on retirement (a reload),
 * they are left unread, and the client retries them on a new connection,
 * which the new generation of workers serves.
 */
void
conn_drain(struct conn *c)
{
	if (c->lingering)
		return;
	c->draining = 1;
	c->drain_left = evbuffer_get_length(bufferevent_get_input(c->bev));
	if (c->lc->service != SVC_PRIME)
		c->done_reading = 1;
	conn_process(c);
}

/* A few times a second: idle, slow-sender and linger deadlines. */
void
conn_sweep(struct conn *c, int64_t now)
{
	const struct config	*cfg = c->w->cfg;

	if (c->lingering) {
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
