/*
 * http.c: HTTP/1.1 as a framing of a connection (conn.c), beside lines.
 *
 * conn.c reads, keeps the reply order, the limits, the drain and the
 * cancel when a client leaves; this file cuts HTTP requests out of the
 * input (hparse.c reads them, strictly), routes them (route.c) to the
 * work every framing shares (command.c) or to the few answers only HTTP
 * has (health, readiness, metrics, the status page and its data), and
 * writes each answer as a response.
 *
 * A request is read in place: when it lies whole in one piece of the
 * input it is parsed there, else the input is made one piece first. A
 * request that is refused (malformed, ambiguous, too large) is answered
 * with its status and a JSON body, and the connection takes no more:
 * after it, where the next request starts is unknown. Keep-alive and
 * pipelining come with conn.c's reply order; "Connection: close" goes on
 * the last response a connection sends. The Date header is the worker's,
 * formatted once a second.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "primed.h"

#define RESPONSE_HEAD_MAX 1024	/* a response's head (the page's: 600) */
#define SMALL_BODY	  (PROTO_ERR_MAX + 64)

#define TYPE_JSON	"application/json"
#define TYPE_TEXT	"text/plain"
#define TYPE_METRICS	"text/plain; version=0.0.4; charset=utf-8"

/* The page's type, known by its address: its head has the page's policy. */
static const char type_html[] = "text/html; charset=utf-8";

/* The status line of each status primed sends. */
static const struct {
	int		 status;
	const char	*line;
} statuses[] = {
	{ 200, "HTTP/1.1 200 OK\r\n" },
	{ 400, "HTTP/1.1 400 Bad Request\r\n" },
	{ 404, "HTTP/1.1 404 Not Found\r\n" },
	{ 405, "HTTP/1.1 405 Method Not Allowed\r\n" },
	{ 413, "HTTP/1.1 413 Content Too Large\r\n" },
	{ 414, "HTTP/1.1 414 URI Too Long\r\n" },
	{ 417, "HTTP/1.1 417 Expectation Failed\r\n" },
	{ 431, "HTTP/1.1 431 Request Header Fields Too Large\r\n" },
	{ 501, "HTTP/1.1 501 Not Implemented\r\n" },
	{ 503, "HTTP/1.1 503 Service Unavailable\r\n" },
	{ 504, "HTTP/1.1 504 Gateway Timeout\r\n" },
	{ 505, "HTTP/1.1 505 HTTP Version Not Supported\r\n" },
};

/* The status line of status (500's for one not in the table). */
static const char *
http_status_line(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].line;
	return "HTTP/1.1 500 Internal Server Error\r\n";
}

/* The status of answer a: its own, or its error's. */
static int
http_status(const struct answer *a)
{
	if (a->status != 0)
		return a->status;
	if (a->kind != ANSWER_ERR)
		return 200;
	switch (a->err) {
	case ERR_UNKNOWN_CMD:
		return 404;
	case ERR_TOO_LONG:
		return 413;
	case ERR_BUSY:
	case ERR_SHUTTING_DOWN:
		return 503;
	case ERR_TIMEOUT:
		return 504;
	default:
		return 400;
	}
}

/* The error code a refusal with status counts as. */
static enum err
http_err_of(int status)
{
	switch (status) {
	case 413:
	case 414:
	case 431:
		return ERR_TOO_LONG;
	case 503:
		return ERR_BUSY;
	default:
		return ERR_BAD_REQUEST;
	}
}

/* Append len bytes of s at buf + *n (the caller made room). */
static void
put(char *buf, size_t *n, const char *s, size_t len)
{
	if (len == 0)
		return;	/* s may be NULL then */
	memcpy(buf + *n, s, len);
	*n += len;
}

#define PUTS(buf, n, s)	put((buf), (n), (s), strlen(s))

/* {"error":"code","message":"why"} and a line end, into buf; its length. */
static size_t
http_err_body(char *buf, size_t size, enum err e, const char *why)
{
	size_t	n = 0, i;

	n = (size_t)snprintf(buf, size, "{\"error\":\"%s\",\"message\":\"",
	    proto_err_name(e));
	/* Our reasons are plain text; keep them so (no quotes, no controls). */
	for (i = 0; why != NULL && why[i] != '\0' && n + 4 < size; i++)
		buf[n++] = (why[i] == '"' || why[i] == '\\' ||
		    (unsigned char)why[i] < 0x20) ? ' ' : why[i];
	PUTS(buf, &n, "\"}\n");
	return n;
}

/* The body of a prime: {"n":N,"prime":P}, or P as text; its length. */
static size_t
http_prime_body(char *buf, const struct ask *ask, uint64_t p)
{
	char	num[PROTO_NUMBER_MAX];
	size_t	n = 0;

	if (ask->text)
		return proto_number(buf, p);
	PUTS(buf, &n, "{\"n\":");
	put(buf, &n, num, proto_number(num, ask->n) - 1);
	PUTS(buf, &n, ",\"prime\":");
	put(buf, &n, num, proto_number(num, p) - 1);
	PUTS(buf, &n, "}\n");
	return n;
}

/*
 * The head of a response into buf (RESPONSE_HEAD_MAX bytes): status line,
 * Date, type and length, then what the case asks for. Its length.
 */
static size_t
http_head(char *buf, int status, const char *date, const char *type,
    size_t len, int close, int http10, const char *allow)
{
	char	num[PROTO_NUMBER_MAX];
	size_t	n = 0;

	PUTS(buf, &n, http_status_line(status));
	PUTS(buf, &n, "Date: ");
	PUTS(buf, &n, date);
	PUTS(buf, &n, "\r\nContent-Type: ");
	PUTS(buf, &n, type);
	PUTS(buf, &n, "\r\nContent-Length: ");
	put(buf, &n, num, proto_number(num, len) - 1);
	if (close)
		PUTS(buf, &n, "\r\nConnection: close");
	else if (http10)
		PUTS(buf, &n, "\r\nConnection: keep-alive");
	if (status == 503)
		PUTS(buf, &n, "\r\nRetry-After: 1");
	if (status == 405 && allow != NULL) {
		PUTS(buf, &n, "\r\nAllow: ");
		PUTS(buf, &n, allow);
	}
	if (type == type_html) {
		/* The page fetches nothing but its data, from where it came. */
		PUTS(buf, &n, "\r\nContent-Security-Policy: ");
		PUTS(buf, &n, page_csp);
		PUTS(buf, &n, "\r\nX-Content-Type-Options: nosniff");
	}
	PUTS(buf, &n, "\r\n\r\n");
	return n;
}

/*
 * Write answer a to the request ask as a response of c; close: the
 * connection ends after it. Counts its status. -1 on failure.
 */
int
http_write(struct conn *c, const struct ask *ask, const struct answer *a,
    int close)
{
	char		 head[RESPONSE_HEAD_MAX + SMALL_BODY], small[SMALL_BODY];
	const char	*type = TYPE_TEXT, *body = a->text;
	size_t		 len = a->len, n;
	int		 status = http_status(a);

	switch (a->kind) {
	case ANSWER_NUMBER:
		body = small;
		len = http_prime_body(small, ask, a->value);
		type = ask->text ? TYPE_TEXT : TYPE_JSON;
		break;
	case ANSWER_ERR:
		body = small;
		len = http_err_body(small, sizeof(small), a->err, a->text);
		type = TYPE_JSON;
		break;
	case ANSWER_JSON:
		type = TYPE_JSON;
		break;
	case ANSWER_METRICS:
		type = TYPE_METRICS;
		break;
	case ANSWER_PAGE:
		type = type_html;
		break;
	default:
		break;
	}
	stats_http(c->w->slot, status);
	n = http_head(head, status, c->w->date, type, len, close, ask->http10,
	    a->allow);
	if (ask->head)
		len = 0;	/* the head of the GET, with its length */
	if (len <= SMALL_BODY) {
		/* One piece: most answers are a few bytes. */
		put(head, &n, body, len);
		return conn_out(c, head, n);
	}
	if (conn_out(c, head, n) == -1)
		return -1;
	return conn_out(c, body, len);
}

/*
 * A whole 503 response that refuses a connection (at accept, or when its
 * memory runs out), with Connection: close; its length.
 */
size_t
http_refusal(char *buf, size_t size, const char *date, const char *why)
{
	char	body[SMALL_BODY], head[RESPONSE_HEAD_MAX];
	size_t	blen, hlen;

	blen = http_err_body(body, sizeof(body), ERR_BUSY, why);
	hlen = http_head(head, 503, date, TYPE_JSON, blen, 1, 0, NULL);
	if (hlen + blen > size)
		return 0;
	memcpy(buf, head, hlen);
	memcpy(buf + hlen, body, blen);
	return hlen + blen;
}

/* The Date header's value for now, into buf (32 bytes at least). */
void
http_date(char *buf, size_t size)
{
	time_t		now = time(NULL);
	struct tm	tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/*
 * The most input an HTTP connection buffers: a head, the longest body,
 * and what chunked framing may add to it (hparse_chunked's bound).
 */
size_t
http_input_max(size_t max_line)
{
	return 2 * HTTP_HEAD_MAX + 3 * max_line + 64;
}

/* Refuse the request being read with status and why; take no more. */
static int
http_refuse(struct conn *c, int status, const char *why)
{
	struct answer	a = { .kind = ANSWER_ERR, .status = status,
			    .err = http_err_of(status), .text = why };

	conn_begin(c, CMD_OTHER);
	c->cur.close = 1;
	conn_finish(c);
	conn_answer(c, &a);
	return -1;
}

/* GET /readyz: ready, unless the worker drains or its queue is full. */
static void
http_readyz(struct conn *c)
{
	struct worker	*w = c->w;
	struct answer	 a = { .kind = ANSWER_TEXT, .text = "ready\n",
			    .len = 6 };

	if (w->draining) {
		a.status = 503;
		a.text = "draining\n";
		a.len = 9;
	} else if (w->queue != NULL &&
	    queue_length(w->queue) >= w->cfg->queue_limit) {
		a.status = 503;
		a.text = "busy\n";
		a.len = 5;
	}
	conn_answer(c, &a);
}

/*
 * GET /status: the status page's data. The connection closes after it,
 * so the page's next fetch takes a new one, which may land on another
 * worker: a stalled worker holds up one fetch, not every later one.
 */
static void
http_status_view(struct conn *c)
{
	struct evbuffer	*buf;

	c->cur.close = 1;
	conn_finish(c);
	if ((buf = evbuffer_new()) == NULL ||
	    stats_status_json(buf, c->w->stats, c->w->id, (long)getpid()) == -1)
		conn_answer_err(c, ERR_BUSY, "out of memory");
	else
		conn_answer_text(c, ANSWER_JSON, (const char *)
		    evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	if (buf != NULL)
		evbuffer_free(buf);
}

/* What each route counts as. */
static const enum cmd route_cmds[] = {
	[ROUTE_NONE] = CMD_OTHER,	[ROUTE_PRIME] = CMD_PRIME,
	[ROUTE_UPPER] = CMD_UPPER,	[ROUTE_ECHO] = CMD_ECHO,
	[ROUTE_HEALTHZ] = CMD_PING,	[ROUTE_READYZ] = CMD_PING,
	[ROUTE_STATS] = CMD_STATS,	[ROUTE_METRICS] = CMD_STATS,
	[ROUTE_PAGE] = CMD_STATS,	[ROUTE_STATUS] = CMD_STATS,
};

/* Route a whole request and do what it asks; body is its content. */
static void
http_dispatch(struct conn *c, const struct http_head *h, const char *body,
    size_t len)
{
	struct answer	a = { .kind = ANSWER_ERR };
	struct route	r;

	route_parse(h->method, h->path, h->pathlen, h->query, h->querylen,
	    c->w->cfg->max_n, &r);
	conn_begin(c, route_cmds[r.id]);
	/* Accept: text/plain asks for the bare number, unless format= says. */
	c->cur.text = r.text || (!r.format_set && h->text);
	c->cur.n = r.n;
	if (r.status != 0) {
		a.status = r.status;
		a.err = r.err;
		a.text = r.why;
		a.allow = r.allow;
		conn_answer(c, &a);
		return;
	}
	switch (r.id) {
	case ROUTE_PRIME:
		command_prime(c, r.n);
		break;
	case ROUTE_UPPER:
		command_delay(c, c->w->cfg->io_delay_ms, body, len, 1);
		break;
	case ROUTE_ECHO:
		conn_answer_text(c, ANSWER_TEXT, body, len);
		break;
	case ROUTE_HEALTHZ:
		conn_answer_text(c, ANSWER_TEXT, "ok\n", 3);
		break;
	case ROUTE_READYZ:
		http_readyz(c);
		break;
	case ROUTE_STATS:
		command_stats(c, ANSWER_JSON);
		break;
	case ROUTE_PAGE:
		conn_answer_text(c, ANSWER_PAGE, page_html, page_html_len);
		break;
	case ROUTE_STATUS:
		http_status_view(c);
		break;
	default:
		command_stats(c, ANSWER_METRICS);
		break;
	}
}

/*
 * The body of a request whose head h is whole: where it is (*body, *len)
 * and the bytes the request takes in all (*used). 1 when it is all here,
 * 0 when more must come, -1 when it is refused.
 */
static int
http_body(struct conn *c, char *buf, size_t avail,
    const struct http_head *h, const char **body, size_t *len,
    size_t *used)
{
	size_t			max = (size_t)c->w->cfg->max_line;
	struct http_body	b;

	*body = buf + h->size;
	*len = 0;
	*used = h->size;
	if (h->chunked) {
		switch (hparse_chunked(buf + h->size, avail - h->size, max,
		    &b)) {
		case -1:
			return http_refuse(c, b.status, b.why);
		case 0:
			return 0;
		}
		*len = hparse_unchunk(buf + h->size, b.wire);
		*used += b.wire;
		return 1;
	}
	if (h->length > max)
		return http_refuse(c, 413, "body longer than max-line");
	if (avail - h->size < h->length)
		return 0;
	*len = (size_t)h->length;
	*used += *len;
	return 1;
}

/*
 * A client that asked to be told before it sends its body: "100
 * Continue", once, when every earlier answer has gone out (it must not
 * overtake them).
 */
static void
http_continue(struct conn *c, const struct http_head *h)
{
	static const char	cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!h->expect || c->continued || c->npending > 0)
		return;
	c->continued = 1;
	conn_emit_raw(c, cont, sizeof(cont) - 1);
}

/*
 * The request at buf (avail bytes; all: the input holds no more after
 * them). 1 when one was handled (its bytes added to *done), 0 when more
 * must come, 2 when it may go on past avail (try again in one piece), -1
 * when it was refused.
 */
static int
http_take(struct conn *c, char *buf, size_t avail, int all, size_t *done)
{
	struct http_head	 h;
	const char		*body = NULL;
	size_t			 len = 0, used = 0;
	int			 rc;

	rc = hparse_head(buf, avail, &h);
	/* An answer to HEAD has no body, a refusal's neither. */
	c->cur.head = h.method == METHOD_HEAD;
	c->cur.http10 = h.minor == 0 && h.method != 0;
	if (rc == -1)
		return http_refuse(c, h.status, h.why);
	if (rc == 1 && (rc = http_body(c, buf, avail, &h, &body, &len,
	    &used)) == -1)
		return -1;
	if (rc == 0) {
		if (!all)
			return 2;
		if (h.size > 0)
			http_continue(c, &h);
		return 0;
	}
	*done += used;
	(void)conn_took(c, used);
	c->continued = 0;
	c->cur.close = h.close;
	c->cur.text = 0;
	c->cur.n = 0;
	/* Connection: close: this is the last request taken. */
	if (h.close)
		conn_finish(c);
	http_dispatch(c, &h, body, len);
	return 1;
}

/*
 * HTTP framing: take the next request from the input, past the done bytes
 * handled this turn. Returns 1 when one was handled, 0 when the input
 * holds no whole request yet, -1 when one was refused (and the connection
 * takes no more).
 */
int
http_next(struct conn *c, struct evbuffer *in, size_t *done)
{
	struct evbuffer_ptr	 at;
	struct evbuffer_iovec	 v;
	size_t			 len;
	char			*buf;
	int			 rc;

	/* Fast path: the request lies in one piece of the input. */
	if (evbuffer_ptr_set(in, &at, *done, EVBUFFER_PTR_SET) == 0 &&
	    evbuffer_peek(in, -1, &at, &v, 1) >= 1) {
		len = evbuffer_get_length(in) - *done;
		if ((rc = http_take(c, v.iov_base, v.iov_len,
		    v.iov_len >= len, done)) != 2)
			return rc;
	}
	/* Slow path: make the rest of the input one piece, then again. */
	conn_drain(c, in, *done);
	*done = 0;
	len = evbuffer_get_length(in);
	if ((buf = (char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL)
		return http_refuse(c, 503, "out of memory for a request");
	if ((rc = http_take(c, buf, len, 1, done)) == 0)
		/*
		 * Room behind it, so that the rest of the request lands in
		 * the same piece: a request sent a byte at a time costs one
		 * copy, not one a read.
		 */
		(void)evbuffer_expand(in, HTTP_HEAD_MAX);
	return rc;
}
