/*
 * One connection of primed-load.
 *
 * A client owns at most one socket at a time, wrapped in a bufferevent on
 * its worker's base, and a ring of the requests it has in flight, oldest
 * first (a line protocol answers in request order). It sends in one of three
 * ways:
 *   closed loop  keep `pipeline` requests in flight, the next one leaves
 *                when a reply comes; latency counts from the send;
 *   open loop    send each request of its share of the schedule (sched.c)
 *                once its intended time has come and a slot is free;
 *                latency counts from the intended time;
 *   one shot     connect, send, read until the server closes; latency
 *                counts from the start of the connect;
 *   idle         connect, send nothing, hold the connection until the run
 *                stops; a connection that fails or is closed is not
 *                reopened.
 * Long clients are closed-loop clients of the long request, one at a time,
 * started at --long-at and counted apart.
 *
 * Requests are not handed to the bufferevent one by one: they gather in the
 * client's own buffer and each callback ends with one write straight to the
 * socket (client_flush), so the requests answered by one read go out in one
 * system call, and no request waits a loop iteration for the socket to be
 * reported writable; only what the socket did not take is left to the
 * bufferevent. Reading is the bufferevent's.
 *
 * A server may close a connection cleanly between requests (a graceful
 * stop, a reload): a close (FIN) with no partial reply pending means the
 * requests in flight were never read, so they go out again, in order, on a
 * new connection, counted as `retried`, not as errors; their latency still
 * counts from their first send. This is the keep-alive rule of HTTP clients
 * and assumes requests are idempotent, as line-protocol lookups are.
 * Every other way a connection can end goes through client_close(c, kind):
 * each request in flight counts once as an error of that kind and as lost
 * (one error if none was in flight), and the client reconnects after a backoff
 * (10 ms doubling to 200 ms; at once after a timeout) unless it has nothing
 * left to send. One timer serves, by state, the long start, the connect
 * deadline, the oldest request's deadline and the reconnect backoff; it is
 * re-armed lazily, so a reply costs no timer operation.
 */
#include "load.h"

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

enum cstate { C_IDLE, C_CONNECTING, C_UP, C_BACKOFF, C_DONE };

struct flight {
	uint64_t	t0;		/* latency counts from here */
	bool		measured;
};

struct client {
	struct worker		*w;
	const struct load_opts	*o;
	unsigned		 id;	/* among the run's main or long clients */
	bool			 is_long;
	enum cstate		 state;
	struct bufferevent	*bev;
	struct evbuffer		*out;		/* requests not yet written */
	struct event		*ev_timer;
	struct event		*ev_send;	/* open loop: next send time */
	struct flight		*ring;
	unsigned		 cap;
	unsigned		 head;
	unsigned		 n;		/* in flight */
	struct sched_cursor	 cur;
	uint64_t		 conn_t0;
	uint64_t		 backoff_ns;
	bool			 exhausted;	/* closed loop: no more to send */
	bool			 resend;	/* ring to send again on connect */
};

static void	client_connect(struct client *);
static void	client_close(struct client *, enum load_err);
static void	client_refill(struct client *, uint64_t);
static void	client_check_done(struct client *);
static void	client_resend(struct client *);
static void	client_timer_cb(evutil_socket_t, short, void *);
static void	client_send_cb(evutil_socket_t, short, void *);
static void	client_read_cb(struct bufferevent *, void *);
static void	client_event_cb(struct bufferevent *, short, void *);

/* A client of worker w; NULL when out of memory. */
struct client *
client_new(struct worker *w, unsigned id, bool is_long)
{
	const struct load_opts *o = w->opts;
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->w = w;
	c->o = o;
	c->id = id;
	c->is_long = is_long;
	c->cap = (is_long || o->raw || o->mode == MODE_ONESHOT) ?
	    1 : o->pipeline;
	c->cur.conn = id;
	c->backoff_ns = BACKOFF_MIN_NS;
	c->ring = calloc(c->cap, sizeof(*c->ring));
	c->out = evbuffer_new();
	c->ev_timer = evtimer_new(w->base, client_timer_cb, c);
	if (!is_long && o->mode == MODE_OPEN)
		c->ev_send = evtimer_new(w->base, client_send_cb, c);
	if (c->ring == NULL || c->out == NULL || c->ev_timer == NULL ||
	    (!is_long && o->mode == MODE_OPEN && c->ev_send == NULL)) {
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
	if (c->ev_send != NULL)
		event_free(c->ev_send);
	if (c->out != NULL)
		evbuffer_free(c->out);
	free(c->ring);
	free(c);
}

/* Timeout of this client's requests, 0 for none. */
static uint64_t
client_timeout(const struct client *c)
{
	return c->is_long ? c->o->long_timeout_ns : c->o->timeout_ns;
}

/* Begin: main clients connect now, long ones at --long-at. */
void
client_start(struct client *c)
{
	if (c->is_long) {
		c->state = C_IDLE;
		worker_arm(c->ev_timer, c->w->run->long_start);
		return;
	}
	client_connect(c);
}

/* Close the socket, if any, and quiet the timers. */
static void
client_drop(struct client *c)
{
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	evtimer_del(c->ev_timer);
	if (c->ev_send != NULL)
		evtimer_del(c->ev_send);
}

/* The client is through for this run; main clients tell their worker. */
static void
client_finish(struct client *c)
{
	if (c->state == C_DONE)
		return;
	client_drop(c);
	c->state = C_DONE;
	if (!c->is_long)
		worker_client_done(c->w);
}

/* Whether a new connection would have anything to do. */
static bool
client_wants_socket(const struct client *c)
{
	if (c->is_long)
		return !c->w->stopping;
	if (c->o->mode == MODE_OPEN)
		return sched_peek(&c->w->sched, &c->cur) != SCHED_NONE;
	return !c->exhausted && !c->w->stopping;
}

/* Reconnect after delay_ns, or finish if there is nothing left to do. */
static void
client_retry(struct client *c, uint64_t delay_ns)
{
	if (c->o->mode == MODE_ONESHOT || c->o->mode == MODE_IDLE ||
	    !client_wants_socket(c)) {
		if (c->is_long) {
			client_drop(c);
			c->state = C_IDLE;
		} else
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

	worker_connect_errno(c->w, err);
	worker_error(c->w, c->is_long, worker_measured(c->w, now),
	    LERR_CONNECT, false, now);
	client_drop(c);
	c->state = C_IDLE;
	client_backoff(c);
}

/* Start a non-blocking connect; the bufferevent reports how it ends. */
static void
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

/* Queue one request for the wire, its latency counting from t0. */
static bool
client_send(struct client *c, uint64_t t0, bool measured)
{
	const struct load_opts *o = c->o;
	struct flight *f = &c->ring[(c->head + c->n) % c->cap];
	uint64_t timeout = client_timeout(c);
	int rv;

	if (c->is_long)
		rv = evbuffer_add(c->out, o->long_line, o->long_line_len);
	else
		rv = evbuffer_add(c->out, o->line, o->line_len);
	if (rv == -1) {
		client_close(c, LERR_CLOSED);
		return false;
	}
	f->t0 = t0;
	f->measured = measured;
	c->n++;
	worker_sent(c->w, c->is_long, measured);
	if (timeout != 0 && !evtimer_pending(c->ev_timer, NULL))
		worker_arm(c->ev_timer, t0 + timeout);
	return true;
}

/* Count a request that waited past its timeout without being sent. */
static void
client_expired(struct client *c, uint64_t intended, uint64_t now)
{
	worker_error(c->w, false, worker_measured(c->w, intended),
	    LERR_TIMEOUT, false, now);
}

/* Open loop: send every request that is due while a slot is free, then
 * wait for the next intended time (or for a reply, if all slots are busy). */
static void
client_pump(struct client *c, uint64_t now)
{
	uint64_t t = SCHED_NONE, timeout = c->o->timeout_ns;

	while (c->state == C_UP && c->n < c->cap &&
	    sched_next(&c->w->sched, &c->cur, now, &t)) {
		if (t + timeout <= now) {
			client_expired(c, t, now);
			continue;
		}
		if (!client_send(c, t, worker_measured(c->w, t)))
			return;
	}
	if (c->state != C_UP)
		return;
	if (c->n < c->cap && t != SCHED_NONE)
		worker_arm(c->ev_send, t);
	client_check_done(c);
}

/* Send what this client should have in flight now. */
static void
client_refill(struct client *c, uint64_t now)
{
	bool measured;

	if (c->is_long) {
		if (c->n == 0 && !c->w->stopping)
			(void)client_send(c, now, true);
		else if (c->n == 0)
			client_retry(c, 0);
		return;
	}
	if (c->o->mode == MODE_OPEN) {
		client_pump(c, now);
		return;
	}
	while (c->state == C_UP && c->n < c->cap) {
		if (!worker_may_issue(c->w, now, &measured)) {
			c->exhausted = true;
			break;
		}
		if (!client_send(c, now, measured))
			return;
	}
	client_check_done(c);
}

/* A main client with nothing in flight and nothing left to send is done. */
static void
client_check_done(struct client *c)
{
	if (c->is_long || c->state == C_DONE || c->n > 0)
		return;
	if (c->o->mode == MODE_ONESHOT || client_wants_socket(c))
		return;
	client_finish(c);
}

/* Write the queued requests: straight to the socket when nothing is
 * waiting in the bufferevent, the rest (if any) through it. */
static void
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
	if (c->o->mode == MODE_IDLE) {
		worker_connected(c->w);
		return;
	}
	if (c->resend)
		client_resend(c);
	if (c->o->mode == MODE_ONESHOT)
		(void)client_send(c, c->conn_t0, true);
	else
		client_refill(c, load_now());
	client_flush(c);
}

/*
 * Tear the connection down because of kind: every request in flight is an
 * error of that kind and lost; a connection lost with nothing in flight is
 * one error. Then reconnect, or finish.
 */
static void
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
	c->state = C_IDLE;
	if (c->o->mode == MODE_ONESHOT) {
		client_finish(c);
		return;
	}
	if (kind == LERR_TIMEOUT)
		client_retry(c, 0);
	else
		client_backoff(c);
}

/* Is this reply one of the error replies of the usual line protocols? */
static bool
client_is_err_reply(const char *p, size_t len)
{
	static const char *prefix[] = {
		"ERR ", "-ERR", "ERROR", "SERVER_ERROR", "CLIENT_ERROR"
	};
	size_t i, n;

	if (len == 3 && memcmp(p, "ERR", 3) == 0)
		return true;
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
		n = strlen(prefix[i]);
		if (len >= n && memcmp(p, prefix[i], n) == 0)
			return true;
	}
	return false;
}

/* Judge a reply (line end removed): -1 good, else its error kind. A reply
 * equal to --expect is good even if it looks like an error. */
static int
client_verdict(const struct client *c, const char *p, size_t len)
{
	const struct load_opts *o = c->o;
	bool expecting = !c->is_long && o->expect != NULL;

	if (expecting && len == o->expect_len && memcmp(p, o->expect, len) == 0)
		return -1;
	if (client_is_err_reply(p, len))
		return LERR_ERR_REPLY;
	return expecting ? LERR_MISMATCH : -1;
}

/* Judge the first len bytes of the input, trailing CR/LF ignored. */
static int
client_judge(const struct client *c, struct evbuffer *in, size_t len)
{
	const char *p = "";

	if (len > 0)
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	if (p == NULL)
		return -1;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	return client_verdict(c, p, len);
}

/* The oldest request got its reply; false when the client lost its socket
 * (the caller must not touch it any more). */
static bool
client_reply(struct client *c, int verdict, uint64_t now)
{
	struct flight f;
	uint64_t lat;

	if (c->n == 0) {
		client_close(c, LERR_MALFORMED);	/* nobody asked */
		return false;
	}
	f = c->ring[c->head];
	c->head = (c->head + 1) % c->cap;
	c->n--;
	lat = (sched_latency_ns(f.t0, now) + NS_PER_US / 2) / NS_PER_US;
	worker_reply(c->w, c->is_long, f.measured, lat, verdict, now);
	c->backoff_ns = BACKOFF_MIN_NS;
	if (c->o->mode == MODE_ONESHOT) {
		client_finish(c);
		return false;
	}
	client_refill(c, now);
	return c->state == C_UP;
}

/* Line framing: every complete line is the reply to the oldest request. */
static void
client_read_lines(struct client *c, struct evbuffer *in, uint64_t now)
{
	struct evbuffer_ptr eol;
	size_t eol_len, len;
	int verdict;

	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > LOAD_MAX_LINE)
				client_close(c, LERR_MALFORMED);
			return;
		}
		len = (size_t)eol.pos;
		if (len > LOAD_MAX_LINE) {
			client_close(c, LERR_MALFORMED);
			return;
		}
		verdict = client_judge(c, in, len);
		evbuffer_drain(in, len + eol_len);
		if (!client_reply(c, verdict, now))
			return;
	}
}

/* Raw framing: whatever one read brought is the reply. */
static void
client_read_raw(struct client *c, struct evbuffer *in, uint64_t now)
{
	size_t len = evbuffer_get_length(in);
	int verdict;

	if (len > LOAD_MAX_LINE || c->n == 0) {
		client_close(c, LERR_MALFORMED);
		return;
	}
	verdict = client_judge(c, in, len);
	evbuffer_drain(in, len);
	(void)client_reply(c, verdict, now);
}

/* Bytes arrived. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->o->mode == MODE_ONESHOT) {
		if (evbuffer_get_length(in) > LOAD_MAX_LINE)
			client_close(c, LERR_MALFORMED);
		return;		/* the reply ends when the server closes */
	}
	if (c->o->raw)
		client_read_raw(c, in, load_now());
	else
		client_read_lines(c, in, load_now());
	client_flush(c);
}

/* One shot: the server closed (or reset) the connection. */
static void
client_oneshot_end(struct client *c, short what)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in);

	if ((what & BEV_EVENT_EOF) && len > 0 && c->n > 0) {
		(void)client_reply(c, client_judge(c, in, len), load_now());
		return;
	}
	client_close(c, LERR_CLOSED);
}

/* Send the requests of the ring again, oldest first, after a clean close. */
static void
client_resend(struct client *c)
{
	uint64_t timeout = client_timeout(c);
	unsigned i;

	c->resend = false;
	for (i = 0; i < c->n; i++) {
		if (c->is_long)
			evbuffer_add(c->out, c->o->long_line, c->o->long_line_len);
		else
			evbuffer_add(c->out, c->o->line, c->o->line_len);
		worker_retried(c->w, c->is_long,
		    c->ring[(c->head + i) % c->cap].measured);
	}
	if (c->n > 0 && timeout != 0)
		worker_arm(c->ev_timer, c->ring[c->head].t0 + timeout);
}

/*
 * The server closed cleanly between replies: reconnect at once, and send
 * what was in flight again. With nothing in flight and nothing more to
 * send, the client is simply done.
 */
static void
client_reopen(struct client *c)
{
	client_drop(c);
	c->state = C_IDLE;
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

	if (what & BEV_EVENT_CONNECTED) {
		client_up(c);
		return;
	}
	if (c->state == C_CONNECTING) {
		/* Accepted, then closed cleanly before we saw it: try again. */
		if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
		    c->o->mode != MODE_ONESHOT && c->o->mode != MODE_IDLE)
			client_reopen(c);
		else
			client_connect_failed(c, err ? err : ECONNREFUSED);
		return;
	}
	if (c->o->mode == MODE_ONESHOT) {
		client_oneshot_end(c, what);
		return;
	}
	if (c->o->mode == MODE_IDLE) {
		client_close(c, LERR_CLOSED);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->o->raw &&
	    evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
		client_reopen(c);
		return;
	}
	client_close(c, LERR_CLOSED);
}

/* The oldest request's deadline may have passed. */
static void
client_check_deadline(struct client *c)
{
	uint64_t deadline, timeout = client_timeout(c);

	if (c->n == 0 || timeout == 0)
		return;
	deadline = c->ring[c->head].t0 + timeout;
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

/* Open loop: an intended send time came. */
static void
client_send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (c->state == C_UP)
		client_pump(c, load_now());
	client_flush(c);
}

/* The run is stopping: send nothing new, finish when idle. */
void
client_stop(struct client *c)
{
	if (c->state == C_DONE || c->o->mode == MODE_ONESHOT)
		return;		/* one shots end by themselves, or by abort */
	if (c->o->mode == MODE_IDLE) {
		client_finish(c);	/* held long enough: close */
		return;
	}
	if (c->is_long) {
		if (c->n == 0) {
			client_drop(c);
			c->state = C_IDLE;
		}
		return;
	}
	if (c->o->mode == MODE_CLOSED)
		c->exhausted = true;
	if (c->state == C_UP && c->o->mode == MODE_OPEN) {
		client_pump(c, load_now());
		client_flush(c);
	} else if (c->state == C_BACKOFF || c->state == C_CONNECTING ||
	    c->state == C_IDLE)
		if (!client_wants_socket(c))
			client_finish(c);
	client_check_done(c);
}

/* The run is over: whatever is still outstanding counts as timed out (long
 * requests as abandoned), then the socket is closed. */
void
client_abort(struct client *c, uint64_t now)
{
	struct flight *f;
	uint64_t t;

	if (c->o->mode == MODE_ONESHOT && c->state == C_CONNECTING)
		worker_error(c->w, false, true, LERR_CONNECT, false, now);
	for (; c->n > 0; c->n--, c->head = (c->head + 1) % c->cap) {
		f = &c->ring[c->head];
		if (c->is_long)
			worker_abandoned(c->w, 1);
		else
			worker_error(c->w, false, f->measured, LERR_TIMEOUT,
			    true, now);
	}
	if (!c->is_long && c->o->mode == MODE_OPEN)
		while (sched_next(&c->w->sched, &c->cur, now, &t))
			client_expired(c, t, now);
	client_drop(c);
	c->state = C_DONE;
}
