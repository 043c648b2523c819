/*
 * How replies are cut out of the input and judged: one table of operations
 * per framing (struct frame in client.h).
 *
 *   line    every line (up to LF) is the reply to the oldest request;
 *   raw     whatever one read brings is the reply (one request in flight);
 *   close   everything until the server closes is the reply (one shot);
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

const struct frame frame_line = {
	"line", true, NULL, frame_line_read, frame_line_eof
};
const struct frame frame_raw = {
	"raw", false, NULL, frame_raw_read, frame_raw_eof
};
const struct frame frame_close = {
	"close", false, NULL, frame_close_read, frame_close_eof
};

/* The frame of this run's clients. */
const struct frame *
frame_for(const struct load_opts *o)
{
	if (o->mode == MODE_ONESHOT)
		return &frame_close;
	return o->raw ? &frame_raw : &frame_line;
}
