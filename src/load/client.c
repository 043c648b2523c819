/*
 * One connection of primed-load: connect, write, read, close, reconnect.
 *
 * A client owns at most one socket at a time, wrapped in a bufferevent on
 * its worker's base, and a ring of the requests it has in flight, oldest
 * first (the protocols it speaks answer in request order). What it sends
 * and when is its feed's business (feed.c); how replies are cut out of the
 * input and judged is its frame's (frame.c). This file only keeps the
 * connection and the ring, and never asks which feed or frame it has.
 *
 * Requests are not handed to the bufferevent one by one: they gather in the
 * client's own buffer and each callback ends with one write straight to the
 * socket (client_flush), so the requests answered by one read go out in one
 * system call, and no request waits a loop iteration for the socket to be
 * reported writable; only what the socket did not take is left to the
 * bufferevent. Reading is the bufferevent's.
 *
 * A server may close a connection cleanly between requests (a graceful
 * stop, a reload, an HTTP server's keep-alive limit): then the requests in
 * flight were never read, so they go out again, in order, on a new
 * connection (client_reopen), counted as `retried`, not as errors; their
 * latency still counts from their first send. This is the keep-alive rule
 * of HTTP clients and assumes requests are idempotent, as lookups are.
 * Every other way a connection can end goes through client_close(c, kind):
 * each request in flight counts once as an error of that kind and as lost
 * (one error if none was in flight), and the client reconnects after a
 * backoff (10 ms doubling to 200 ms; at once after a timeout) unless it has
 * nothing left to send. One timer serves, by state, the long start, the
 * connect deadline, the oldest request's deadline and the reconnect
 * backoff; it is re-armed lazily, so a reply costs no timer operation.
 */
#include "client.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define BACKOFF_MIN_NS	(10 * NS_PER_MS)
#define BACKOFF_MAX_NS	(200 * NS_PER_MS)

static void	client_resend(struct client *);
static void	client_timer_cb(evutil_socket_t, short, void *);
static void	client_read_cb(struct bufferevent *, void *);
static void	client_event_cb(struct bufferevent *, short, void *);

/* What a client of this class sends, expects and waits for. */
static void
client_role(struct client *c, bool is_long)
{
	const struct load_opts *o = c->o;

	c->is_long = is_long;
	c->feed = feed_for(o, is_long);
	c->frame = frame_for(o);
	c->req = is_long ? o->long_line : o->line;
	c->req_len = is_long ? o->long_line_len : o->line_len;
	c->expect = is_long ? NULL : o->expect;
	c->expect_len = is_long ? 0 : o->expect_len;
	c->timeout_ns = is_long ? o->long_timeout_ns : o->timeout_ns;
	c->cap = c->feed->pipelines && c->frame->pipelines ? o->pipeline : 1;
}

/* A client of worker w; NULL when out of memory. */
struct client *
client_new(struct worker *w, unsigned id, bool is_long)
{
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->w = w;
	c->o = w->opts;
	c->id = id;
	client_role(c, is_long);
	c->cur.conn = id;
	c->backoff_ns = BACKOFF_MIN_NS;
	c->ring = calloc(c->cap, sizeof(*c->ring));
	c->out = evbuffer_new();
	c->ev_timer = evtimer_new(w->base, client_timer_cb, c);
	if (c->ring == NULL || c->out == NULL || c->ev_timer == NULL) {
		client_free(c);
		return NULL;
	}
	return c;
}

/* Release the client and its socket (NULL is fine). */
void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	if (c->out != NULL)
		evbuffer_free(c->out);
	free(c->ring);
	free(c);
}

/* Begin, as the feed says (long clients wait for --long-at). */
void
client_start(struct client *c)
{
	c->feed->start(c);
}

/* Close the socket, if any, and quiet the timer: the client is idle. */
static void
client_drop(struct client *c)
{
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	evtimer_del(c->ev_timer);
	c->state = C_IDLE;
}

/* The client is through for now: a counted one for the run (its worker is
 * told), an uncounted one (long) until it is started again. */
void
client_finish(struct client *c)
{
	if (c->state == C_DONE)
		return;
	client_drop(c);
	if (!c->feed->counted)
		return;
	c->state = C_DONE;
	worker_client_done(c->w);
}

/* Reconnect after delay_ns, or finish if there is nothing left to do. */
void
client_retry(struct client *c, uint64_t delay_ns)
{
	if (!c->feed->reconnects || !c->feed->wants(c)) {
		client_finish(c);
		return;
	}
	c->state = C_BACKOFF;
	worker_arm(c->ev_timer, load_now() + delay_ns);
}

/* Back off before reconnecting; the delay doubles up to its bound. */
static void
client_backoff(struct client *c)
{
	uint64_t delay = c->backoff_ns;

	c->backoff_ns = delay * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : delay * 2;
	client_retry(c, delay);
}

/* A connect attempt failed with errno err. */
static void
client_connect_failed(struct client *c, int err)
{
	uint64_t now = load_now();

	c->w->st.connect_errno = err;
	worker_error(c->w, c->is_long, worker_measured(c->w, now),
	    LERR_CONNECT, false, now);
	client_drop(c);
	client_backoff(c);
}

/* Start a non-blocking connect; the bufferevent reports how it ends. */
void
client_connect(struct client *c)
{
	struct run *r = c->w->run;
	int fd, one = 1, err;

	c->conn_t0 = load_now();
	fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		client_connect_failed(c, errno);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&r->addr, r->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		err = errno;
		close(fd);
		client_connect_failed(c, err);
		return;
	}
	c->bev = bufferevent_socket_new(c->w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		client_connect_failed(c, ENOMEM);
		return;
	}
	bufferevent_setcb(c->bev, client_read_cb, NULL, client_event_cb, c);
	c->state = C_CONNECTING;
	if (bufferevent_socket_connect(c->bev, NULL, 0) == -1 ||
	    bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1) {
		client_connect_failed(c, errno ? errno : EIO);
		return;
	}
	worker_arm(c->ev_timer, c->conn_t0 + c->o->timeout_ns);
}

/* Queue one request for the wire, its latency counting from t0; false when
 * the client lost its socket. */
bool
client_send(struct client *c, uint64_t t0, bool measured)
{
	struct flight *f = &c->ring[(c->head + c->n) % c->cap];

	if (evbuffer_add(c->out, c->req, c->req_len) == -1) {
		client_close(c, LERR_CLOSED);
		return false;
	}
	f->t0 = t0;
	f->measured = measured;
	c->n++;
	stats_sent(&c->w->st, c->is_long, measured);
	if (c->timeout_ns != 0 && !evtimer_pending(c->ev_timer, NULL))
		worker_arm(c->ev_timer, t0 + c->timeout_ns);
	return true;
}

/* Count a request that waited past its timeout without being sent. */
void
client_expired(struct client *c, uint64_t intended, uint64_t now)
{
	worker_error(c->w, c->is_long, worker_measured(c->w, intended),
	    LERR_TIMEOUT, false, now);
}

/* Write the queued requests: straight to the socket when nothing is
 * waiting in the bufferevent, the rest (if any) through it. */
void
client_flush(struct client *c)
{
	struct evbuffer *pending;
	int n;

	if (c->state != C_UP || evbuffer_get_length(c->out) == 0)
		return;
	pending = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(pending) == 0) {
		n = evbuffer_write(c->out, bufferevent_getfd(c->bev));
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			client_close(c, LERR_CLOSED);
			return;
		}
	}
	if (evbuffer_get_length(c->out) > 0 &&
	    bufferevent_write_buffer(c->bev, c->out) == -1)
		client_close(c, LERR_CLOSED);
}

/* The connect went through. */
static void
client_up(struct client *c)
{
	c->state = C_UP;
	evtimer_del(c->ev_timer);
	if (c->frame->open != NULL)
		c->frame->open(c);
	if (c->resend)
		client_resend(c);
	c->feed->up(c, load_now());
	client_flush(c);
}

/*
 * Tear the connection down because of kind: every request in flight is an
 * error of that kind and lost; a connection lost with nothing in flight is
 * one error. Then reconnect, or finish.
 */
void
client_close(struct client *c, enum load_err kind)
{
	uint64_t now = load_now();
	struct flight *f;

	if (c->n == 0)
		worker_error(c->w, c->is_long, worker_measured(c->w, now), kind,
		    false, now);
	for (; c->n > 0; c->n--, c->head = (c->head + 1) % c->cap) {
		f = &c->ring[c->head];
		worker_error(c->w, c->is_long, f->measured, kind, true, now);
	}
	c->head = 0;
	client_drop(c);
	if (kind == LERR_TIMEOUT)
		client_retry(c, 0);
	else
		client_backoff(c);
}

/* The oldest request got its reply, judged verdict (-1 good, else an error
 * kind). False when nobody asked: the connection is then closed. */
bool
client_answered(struct client *c, int verdict, uint64_t now)
{
	struct flight f;
	uint64_t lat;

	if (c->n == 0) {
		client_close(c, LERR_MALFORMED);
		return false;
	}
	f = c->ring[c->head];
	c->head = (c->head + 1) % c->cap;
	c->n--;
	lat = (sched_latency_ns(f.t0, now) + NS_PER_US / 2) / NS_PER_US;
	worker_reply(c->w, c->is_long, f.measured, lat, verdict, now);
	c->backoff_ns = BACKOFF_MIN_NS;
	return true;
}

/* A reply came: count it and let the feed send more. False when the client
 * lost its socket (the caller must not read on). */
bool
client_reply(struct client *c, int verdict, uint64_t now)
{
	if (!client_answered(c, verdict, now))
		return false;
	c->feed->more(c, now);
	return c->state == C_UP;
}

/* Bytes arrived. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	c->frame->read(c, bufferevent_get_input(bev), load_now());
	client_flush(c);
}

/* Send the requests of the ring again, oldest first, after a clean close. */
static void
client_resend(struct client *c)
{
	unsigned i;

	c->resend = false;
	for (i = 0; i < c->n; i++) {
		evbuffer_add(c->out, c->req, c->req_len);
		stats_retried(&c->w->st, c->is_long,
		    c->ring[(c->head + i) % c->cap].measured);
	}
	if (c->n > 0 && c->timeout_ns != 0)
		worker_arm(c->ev_timer, c->ring[c->head].t0 + c->timeout_ns);
}

/*
 * The server closed cleanly between replies: reconnect at once, and send
 * what was in flight again. With nothing in flight and nothing more to
 * send, the client is simply done. A feed that does not reconnect counts
 * the close as an error.
 */
void
client_reopen(struct client *c)
{
	if (!c->feed->reconnects) {
		client_close(c, LERR_CLOSED);
		return;
	}
	client_drop(c);
	if (c->n == 0) {
		client_retry(c, 0);
		return;
	}
	c->resend = true;
	c->state = C_BACKOFF;
	worker_arm(c->ev_timer, load_now());
}

/* Connected, closed by the peer, or failed. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	bool clean = (what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR);

	if (what & BEV_EVENT_CONNECTED) {
		client_up(c);
		return;
	}
	if (c->state == C_CONNECTING) {
		/* Accepted, then closed cleanly before we saw it: try again. */
		if (clean && c->feed->reconnects)
			client_reopen(c);
		else
			client_connect_failed(c, err ? err : ECONNREFUSED);
		return;
	}
	if (clean)
		c->frame->eof(c, bufferevent_get_input(bev), load_now());
	else
		client_close(c, LERR_CLOSED);
}

/* The oldest request's deadline may have passed. */
static void
client_check_deadline(struct client *c)
{
	uint64_t deadline;

	if (c->n == 0 || c->timeout_ns == 0)
		return;
	deadline = c->ring[c->head].t0 + c->timeout_ns;
	if (load_now() >= deadline)
		client_close(c, LERR_TIMEOUT);
	else
		worker_arm(c->ev_timer, deadline);
}

/* The client's one timer: its meaning depends on the state. */
static void
client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	switch (c->state) {
	case C_IDLE:		/* a long client's start */
		if (!c->w->stopping)
			client_connect(c);
		break;
	case C_BACKOFF:
		client_connect(c);
		break;
	case C_CONNECTING:
		client_connect_failed(c, ETIMEDOUT);
		break;
	case C_UP:
		client_check_deadline(c);
		break;
	case C_DONE:
		break;
	}
}

/* Open loop: requests of this client fell due (the worker's pump). */
void
client_due(struct client *c, uint64_t now)
{
	if (c->state != C_UP)
		return;		/* they go once it is up */
	feed_pump(c, now);
	client_flush(c);
}

/* The run is stopping: send nothing new, finish when idle. */
void
client_stop(struct client *c)
{
	if (c->state != C_DONE)
		c->feed->stop(c);
}

/* The run is over: the feed counts what is still outstanding, then the
 * socket is closed. */
void
client_abort(struct client *c, uint64_t now)
{
	c->feed->end(c, now);
	client_drop(c);
	c->state = C_DONE;
}
