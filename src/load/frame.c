/*
 * How replies are cut out of the input and judged: one table of operations
 * per framing (struct frame in client.h).
 *
 *   line    every line (up to LF) is the reply to the oldest request;
 *   raw     whatever one read brings is the reply (one request in flight);
 *   close   everything until the server closes is the reply (one shot);
 *   http    HTTP/1.1 responses (http.c reads them): a 2xx status is good,
 *           any other an err_reply, and --expect is compared with the body.
 *
 * A reply is judged with its line end removed: an error reply of the usual
 * line protocols counts as err_reply, anything else than --expect (when
 * given) as a mismatch. A reply equal to --expect is good even if it looks
 * like an error.
 */
#include "client.h"

#include <string.h>

#include <event2/buffer.h>

/* Is this reply one of the error replies of the usual line protocols? */
static bool
frame_is_err_reply(const char *p, size_t len)
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

/* Judge a reply (line end removed): -1 good, else its error kind. */
static int
frame_verdict(const struct client *c, const char *p, size_t len)
{
	if (c->expect != NULL && len == c->expect_len &&
	    memcmp(p, c->expect, len) == 0)
		return -1;
	if (frame_is_err_reply(p, len))
		return LERR_ERR_REPLY;
	return c->expect != NULL ? LERR_MISMATCH : -1;
}

/* Judge the first len bytes of the input, trailing CR/LF ignored. */
static int
frame_judge(const struct client *c, struct evbuffer *in, size_t len)
{
	const char *p = "";

	if (len > 0)
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	if (p == NULL)
		return -1;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	return frame_verdict(c, p, len);
}

/* Line framing: every complete line is the reply to the oldest request. */
static void
frame_line_read(struct client *c, struct evbuffer *in, uint64_t now)
{
	struct evbuffer_ptr eol;
	size_t eol_len, len;
	int verdict;

	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		len = eol.pos == -1 ? evbuffer_get_length(in) : (size_t)eol.pos;
		if (len > LOAD_MAX_LINE) {
			client_close(c, LERR_MALFORMED);
			return;
		}
		if (eol.pos == -1)
			return;
		verdict = frame_judge(c, in, len);
		evbuffer_drain(in, len + eol_len);
		if (!client_reply(c, verdict, now))
			return;
	}
}

/* Line framing: a clean close with no partial reply pending means the
 * requests in flight were never read: send them again. */
static void
frame_line_eof(struct client *c, struct evbuffer *in, uint64_t now)
{
	if (evbuffer_get_length(in) == 0)
		client_reopen(c);
	else
		client_close(c, LERR_CLOSED);
}

/* Raw framing: whatever one read brought is the reply. */
static void
frame_raw_read(struct client *c, struct evbuffer *in, uint64_t now)
{
	size_t len = evbuffer_get_length(in);
	int verdict;

	if (len > LOAD_MAX_LINE || c->n == 0) {
		client_close(c, LERR_MALFORMED);
		return;
	}
	verdict = frame_judge(c, in, len);
	evbuffer_drain(in, len);
	(void)client_reply(c, verdict, now);
}

/* Raw framing: a close cannot be told from a lost reply. */
static void
frame_raw_eof(struct client *c, struct evbuffer *in, uint64_t now)
{
	client_close(c, LERR_CLOSED);
}

/* Until-close framing: keep what comes, within bounds. */
static void
frame_close_read(struct client *c, struct evbuffer *in, uint64_t now)
{
	if (evbuffer_get_length(in) > LOAD_MAX_LINE)
		client_close(c, LERR_MALFORMED);
}

/* Until-close framing: the close ends the reply, if there is one. */
static void
frame_close_eof(struct client *c, struct evbuffer *in, uint64_t now)
{
	size_t len = evbuffer_get_length(in);

	if (len > 0 && c->n > 0)
		(void)client_reply(c, frame_judge(c, in, len), now);
	else
		client_close(c, LERR_CLOSED);
}

/* HTTP: a new connection, a new response. */
static void
frame_http_open(struct client *c)
{
	http_resp_init(&c->http);
	http_match_init(&c->match, c->expect, c->expect_len);
}

/* HTTP: let the reader take what it can from the input's first chain. */
static enum http_step
frame_http_step(struct client *c, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	const char *p = "", *data;
	size_t n = 0, used, dlen;
	enum http_step st;

	if (evbuffer_peek(in, -1, NULL, &v, 1) >= 1) {
		p = v.iov_base;
		n = v.iov_len;
	}
	st = http_parse(&c->http, p, n, &used, &data, &dlen);
	if (st == HTTP_DATA && c->expect != NULL)
		http_match_feed(&c->match, data, dlen);
	evbuffer_drain(in, used);
	return st;
}

/* HTTP: the reader needs a whole line, and it runs past the first chain:
 * make it one piece (up to the bound). False when there is nothing more. */
static bool
frame_http_join(struct client *c, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	struct evbuffer_ptr lf;
	size_t len = evbuffer_get_length(in), want;

	if (!http_in_head(&c->http) || evbuffer_peek(in, -1, NULL, &v, 1) < 1 ||
	    v.iov_len >= len)
		return false;
	lf = evbuffer_search(in, "\n", 1, NULL);
	want = lf.pos == -1 ? len : (size_t)lf.pos + 1;
	if (want > HTTP_MAX_HEAD + 1)
		want = HTTP_MAX_HEAD + 1;
	return evbuffer_pullup(in, (ev_ssize_t)want) != NULL;
}

/* HTTP: -1 for a good response, else its error kind. */
static int
frame_http_verdict(const struct client *c)
{
	if (c->http.status < 200 || c->http.status > 299)
		return LERR_ERR_REPLY;
	if (c->expect != NULL && !http_match_ok(&c->match))
		return LERR_MISMATCH;
	return -1;
}

/*
 * HTTP: a response is complete. Judge it, count its status, and go on; if
 * the server closes after it, the requests still in flight go again on a
 * new connection. False when the client must not read on.
 */
static bool
frame_http_done(struct client *c, uint64_t now)
{
	int verdict = frame_http_verdict(c);
	bool close = c->http.close;

	if (c->n > 0)
		stats_status(&c->w->st, c->is_long,
		    c->ring[c->head].measured, c->http.status);
	frame_http_open(c);
	if (!close || !c->feed->reconnects)
		return client_reply(c, verdict, now);
	if (client_answered(c, verdict, now))
		client_reopen(c);
	return false;
}

/* HTTP: read every response the input holds; one nobody asked for, or one
 * that cannot be read, is malformed. */
static void
frame_http_read(struct client *c, struct evbuffer *in, uint64_t now)
{
	enum http_step st;

	for (;;) {
		if (c->n == 0 && evbuffer_get_length(in) > 0) {
			client_close(c, LERR_MALFORMED);
			return;
		}
		st = frame_http_step(c, in);
		if (st == HTTP_NEED && frame_http_join(c, in))
			continue;
		if (st == HTTP_NEED)
			return;
		if (st == HTTP_BAD) {
			client_close(c, LERR_MALFORMED);
			return;
		}
		if (st == HTTP_DONE && !frame_http_done(c, now))
			return;
	}
}

/* HTTP: the close ends a body that lasts until it; between responses it
 * is a clean close (the requests in flight go again); else a reply was
 * cut. */
static void
frame_http_eof(struct client *c, struct evbuffer *in, uint64_t now)
{
	switch (http_eof(&c->http, evbuffer_get_length(in))) {
	case HTTP_DONE:
		(void)frame_http_done(c, now);
		break;
	case HTTP_NEED:
		client_reopen(c);
		break;
	default:
		client_close(c, LERR_CLOSED);
		break;
	}
}

static const struct frame frame_line = {
	true, NULL, frame_line_read, frame_line_eof
};
static const struct frame frame_raw = {
	false, NULL, frame_raw_read, frame_raw_eof
};
static const struct frame frame_close = {
	false, NULL, frame_close_read, frame_close_eof
};
static const struct frame frame_http = {
	true, frame_http_open, frame_http_read, frame_http_eof
};

/* The frame of this run's clients. */
const struct frame *
frame_for(const struct load_opts *o)
{
	if (o->http)
		return &frame_http;
	if (o->mode == MODE_ONESHOT)
		return &frame_close;
	return o->raw ? &frame_raw : &frame_line;
}
