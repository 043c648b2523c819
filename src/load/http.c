/*
 * HTTP/1.1 for primed-load: the requests it sends and a reader of the
 * responses (RFC 9112), fed bytes as they arrive.
 *
 * http_parse takes what is at hand and returns at the first thing the
 * caller must act on: a piece of body (HTTP_DATA, pointing into the bytes
 * given), the end of the response (HTTP_DONE), a response it cannot read
 * (HTTP_BAD), or the need for more bytes (HTTP_NEED). Lines (status,
 * headers, chunk sizes, trailers) are taken only once complete: a partial
 * line is left unconsumed and must be offered again, with what follows,
 * contiguous. So the parser keeps no copy of anything and its state is a
 * few numbers; the body is never stored either, only measured and handed
 * over.
 *
 * Bounds: the status line, headers and trailers of a response together
 * within HTTP_MAX_HEAD bytes; its body with chunk framing within
 * HTTP_MAX_BODY; a chunk-size line within HTTP_MAX_CHUNK_LINE. Beyond,
 * the response is bad, as it is for anything the grammar does not allow
 * where leniency could make two readers disagree: a folded header line, a
 * bare CR, a NUL, a Content-Length that is not a number or that
 * contradicts another.
 *
 * The length of the body (RFC 9112, 6.3): none for 1xx (interim responses
 * are skipped; 101 is bad, nobody asked to switch), 204 and 304;
 * chunked when Transfer-Encoding ends in chunked, up to the close for any
 * other Transfer-Encoding (which wins over Content-Length, and then the
 * connection is not reused); Content-Length; else up to the close. The
 * server closes after the response when it says Connection: close, when
 * it speaks HTTP/1.0 without Connection: keep-alive, and when the body
 * ends with the close.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Start reading a new response. */
void
http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->state = HS_STATUS;
}

/* Give up on the response, saying why. */
static int
http_bad(struct http_resp *r, const char *why)
{
	r->state = HS_BAD;
	r->why = why;
	return -1;
}

/* Is the reader between lines of the head (status, headers, trailers)? */
bool
http_in_head(const struct http_resp *r)
{
	return r->state == HS_STATUS || r->state == HS_HEADER ||
	    r->state == HS_TRAILER || r->state == HS_CHUNK_SIZE ||
	    r->state == HS_CHUNK_END;
}

/* ASCII lower case of c. */
static int
http_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Do the n bytes at p equal the lower-case word w, case aside? */
static bool
http_is(const char *p, size_t n, const char *w)
{
	size_t i;

	if (n != strlen(w))
		return false;
	for (i = 0; i < n; i++)
		if (http_lower((unsigned char)p[i]) != w[i])
			return false;
	return true;
}

/* A character of a token (a header name, a coding)? */
static bool
http_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Trim spaces and tabs around [*p, *p + *n). */
static void
http_trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * The next element of a comma-separated list at [*p, end), trimmed, in
 * [*e, *e + *en); false when the list is over. Empty elements are skipped,
 * as the grammar allows.
 */
static bool
http_list_next(const char **p, const char *end, const char **e, size_t *en)
{
	const char *comma;

	while (*p < end) {
		comma = memchr(*p, ',', (size_t)(end - *p));
		if (comma == NULL)
			comma = end;
		*e = *p;
		*en = (size_t)(comma - *p);
		*p = comma < end ? comma + 1 : end;
		http_trim(e, en);
		if (*en > 0)
			return true;
	}
	return false;
}

/*
 * Find the line at [p, p + avail): 1 with its length (line end removed) in
 * *n and its bytes (line end included) in *adv; 0 when it is not complete
 * yet; -1 when it is longer than budget or holds a bare CR or a NUL.
 */
static int
http_line(struct http_resp *r, const char *p, size_t avail, size_t budget,
    size_t *n, size_t *adv)
{
	const char *lf = memchr(p, '\n', avail);
	size_t len;

	if (lf == NULL)
		return avail > budget ? http_bad(r, "line too long") : 0;
	*adv = (size_t)(lf - p) + 1;
	if (*adv > budget)
		return http_bad(r, "line too long");
	len = (size_t)(lf - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (memchr(p, '\r', len) != NULL || memchr(p, '\0', len) != NULL)
		return http_bad(r, "bare CR or NUL in a line");
	*n = len;
	return 1;
}

/* "HTTP/1.x NNN reason". */
static int
http_status_line(struct http_resp *r, const char *p, size_t n)
{
	if (n == 0)
		return 0;	/* an empty line before the status: skipped */
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' ||
	    p[7] > '9' || p[8] != ' ' || (n > 12 && p[12] != ' '))
		return http_bad(r, "bad status line");
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9')
		return http_bad(r, "bad status code");
	r->begun = true;
	r->minor = p[7] - '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->state = HS_HEADER;
	return 0;
}

/* Content-Length: a number, or a list of the same number. */
static int
http_content_length(struct http_resp *r, const char *v, size_t n)
{
	const char *end = v + n, *e;
	uint64_t len;
	size_t en, i;

	if (!http_list_next(&v, end, &e, &en))
		return http_bad(r, "empty Content-Length");
	do {
		for (len = 0, i = 0; i < en; i++) {
			if (e[i] < '0' || e[i] > '9')
				return http_bad(r, "bad Content-Length");
			len = len * 10 + (uint64_t)(e[i] - '0');
			if (len > HTTP_MAX_BODY)
				return http_bad(r, "body too large");
		}
		if (r->has_length && len != r->length)
			return http_bad(r, "conflicting Content-Length");
		r->has_length = true;
		r->length = len;
	} while (http_list_next(&v, end, &e, &en));
	return 0;
}

/* Transfer-Encoding: only whether the last coding is chunked matters. */
static void
http_transfer_encoding(struct http_resp *r, const char *v, size_t n)
{
	const char *end = v + n, *e, *semi;
	size_t en;

	r->te = true;
	while (http_list_next(&v, end, &e, &en)) {
		if ((semi = memchr(e, ';', en)) != NULL)
			en = (size_t)(semi - e);
		http_trim(&e, &en);
		r->chunked = http_is(e, en, "chunked");
	}
}

/* Connection: close or keep-alive, among other options. */
static void
http_connection(struct http_resp *r, const char *v, size_t n)
{
	const char *end = v + n, *e;
	size_t en;

	while (http_list_next(&v, end, &e, &en)) {
		if (http_is(e, en, "close"))
			r->conn_close = true;
		else if (http_is(e, en, "keep-alive"))
			r->keep_alive = true;
	}
}

/* The header section ended: how long is the body? */
static int
http_head_end(struct http_resp *r)
{
	size_t head = r->head;

	if (r->status == 101)
		return http_bad(r, "switching protocols, unasked");
	if (r->status < 200) {	/* interim: the response follows */
		http_resp_init(r);
		r->head = head;
		r->begun = true;
		return 0;
	}
	r->close = r->conn_close || (r->minor == 0 && !r->keep_alive);
	if (r->status == 204 || r->status == 304)
		r->state = HS_DONE;
	else if (r->te && r->chunked)
		r->state = HS_CHUNK_SIZE;
	else if (r->te || !r->has_length)
		r->state = HS_UNTIL_CLOSE;
	else if (r->length == 0)
		r->state = HS_DONE;
	else {
		r->state = HS_BODY;
		r->left = r->length;
	}
	/* Transfer-Encoding with Content-Length, or in HTTP/1.0: a message
	 * to be suspicious of; the connection is not reused after it. */
	if (r->state == HS_UNTIL_CLOSE ||
	    (r->te && (r->has_length || r->minor == 0)))
		r->close = true;
	return 0;
}

/* One header line (or the empty line that ends them). */
static int
http_header(struct http_resp *r, const char *p, size_t n)
{
	const char *colon, *v;
	size_t i, vn;

	if (n == 0)
		return http_head_end(r);
	if (p[0] == ' ' || p[0] == '\t')
		return http_bad(r, "folded header line");
	if ((colon = memchr(p, ':', n)) == NULL || colon == p)
		return http_bad(r, "header line without a name");
	for (i = 0; p + i < colon; i++)
		if (!http_tchar((unsigned char)p[i]))
			return http_bad(r, "bad header name");
	v = colon + 1;
	vn = n - (size_t)(v - p);
	http_trim(&v, &vn);
	if (http_is(p, i, "content-length"))
		return http_content_length(r, v, vn);
	if (http_is(p, i, "transfer-encoding"))
		http_transfer_encoding(r, v, vn);
	else if (http_is(p, i, "connection"))
		http_connection(r, v, vn);
	return 0;
}

/* The value of hexadecimal digit c, -1 if it is none. */
static int
http_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "SIZE[;extensions]" before each chunk; size 0 ends the body. */
static int
http_chunk_size(struct http_resp *r, const char *p, size_t n)
{
	uint64_t size = 0;
	size_t i;

	for (i = 0; i < n && http_hex((unsigned char)p[i]) >= 0; i++) {
		size = size * 16 + (uint64_t)http_hex((unsigned char)p[i]);
		if (size > HTTP_MAX_BODY)
			return http_bad(r, "body too large");
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == 0 || (i < n && p[i] != ';'))
		return http_bad(r, "bad chunk size");
	if (size > HTTP_MAX_BODY - r->rest)
		return http_bad(r, "body too large");
	r->left = size;
	r->state = size == 0 ? HS_TRAILER : HS_CHUNK_DATA;
	return 0;
}

/* One complete line, by state. */
static int
http_on_line(struct http_resp *r, const char *p, size_t n)
{
	switch (r->state) {
	case HS_STATUS:
		return http_status_line(r, p, n);
	case HS_HEADER:
		return http_header(r, p, n);
	case HS_CHUNK_SIZE:
		return http_chunk_size(r, p, n);
	case HS_CHUNK_END:
		if (n != 0)
			return http_bad(r, "chunk longer than its size");
		r->state = HS_CHUNK_SIZE;
		return 0;
	case HS_TRAILER:
		if (n == 0)
			r->state = HS_DONE;
		return 0;
	default:
		return http_bad(r, "no line expected");
	}
}

/* Take the line at the front of [p, p + avail): 1 taken, 0 incomplete,
 * -1 bad. Chunk framing counts against the body's bound, the rest
 * against the head's. */
static int
http_take_line(struct http_resp *r, const char *p, size_t avail, size_t *adv)
{
	bool framing = r->state == HS_CHUNK_SIZE || r->state == HS_CHUNK_END;
	size_t n, budget;
	int rv;

	if (framing)
		budget = HTTP_MAX_CHUNK_LINE;
	else
		budget = HTTP_MAX_HEAD - r->head;
	if ((rv = http_line(r, p, avail, budget, &n, adv)) <= 0)
		return rv;
	if (framing) {
		if (*adv > HTTP_MAX_BODY - r->rest)
			return http_bad(r, "body too large");
		r->rest += *adv;
	} else
		r->head += *adv;
	return http_on_line(r, p, n) == -1 ? -1 : 1;
}

/* Hand over the body bytes at the front of [p, p + avail). */
static enum http_step
http_data(struct http_resp *r, const char *p, size_t avail, size_t *adv,
    const char **data, size_t *dlen)
{
	uint64_t take = avail;

	*adv = 0;
	if (avail == 0)
		return HTTP_NEED;
	if (r->state != HS_UNTIL_CLOSE && take > r->left)
		take = r->left;
	if (take > HTTP_MAX_BODY - r->rest) {
		http_bad(r, "body too large");
		return HTTP_BAD;
	}
	r->rest += take;
	r->body += take;
	if (r->state != HS_UNTIL_CLOSE && (r->left -= take) == 0)
		r->state = r->state == HS_BODY ? HS_DONE : HS_CHUNK_END;
	*data = p;
	*dlen = (size_t)take;
	*adv = (size_t)take;
	return HTTP_DATA;
}

/*
 * Read from the len bytes at buf: *used says how many were taken (the
 * caller drops them and offers the rest again with what comes next);
 * HTTP_DATA gives a piece of body in *data, *dlen (inside buf).
 */
enum http_step
http_parse(struct http_resp *r, const char *buf, size_t len, size_t *used,
    const char **data, size_t *dlen)
{
	enum http_step step;
	size_t pos = 0, adv;
	int rv;

	*data = NULL;
	*dlen = 0;
	for (;;) {
		if (r->state == HS_DONE || r->state == HS_BAD) {
			step = r->state == HS_DONE ? HTTP_DONE : HTTP_BAD;
			break;
		}
		if (r->state == HS_BODY || r->state == HS_CHUNK_DATA ||
		    r->state == HS_UNTIL_CLOSE) {
			step = http_data(r, buf + pos, len - pos, &adv, data,
			    dlen);
			pos += adv;
			break;
		}
		if ((rv = http_take_line(r, buf + pos, len - pos, &adv)) <= 0) {
			step = rv == 0 ? HTTP_NEED : HTTP_BAD;
			break;
		}
		pos += adv;
	}
	*used = pos;
	return step;
}

/*
 * The server closed the connection, pending bytes still unread: HTTP_DONE
 * when that ends a body that lasts until the close, HTTP_NEED when no
 * response had begun (a clean close between responses), else HTTP_BAD.
 */
enum http_step
http_eof(struct http_resp *r, size_t pending)
{
	if (r->state == HS_UNTIL_CLOSE && pending == 0) {
		r->state = HS_DONE;
		return HTTP_DONE;
	}
	if (r->state == HS_STATUS && !r->begun && pending == 0)
		return HTTP_NEED;
	if (r->state != HS_BAD)
		http_bad(r, "closed in the middle of a response");
	return HTTP_BAD;
}

/* Compare bodies with want (len bytes). */
void
http_match_init(struct http_match *m, const char *want, size_t len)
{
	m->want = want;
	m->len = len;
	m->at = 0;
	m->ok = true;
}

/* The next n bytes of the body. */
void
http_match_feed(struct http_match *m, const char *p, size_t n)
{
	size_t k;

	if (!m->ok)
		return;
	if (m->at < m->len) {
		k = m->len - m->at < n ? m->len - m->at : n;
		if (memcmp(p, m->want + m->at, k) != 0) {
			m->ok = false;
			return;
		}
		m->at += k;
		p += k;
		n -= k;
	}
	for (; n > 0; n--, p++)
		if (*p != '\n' && *p != '\r') {
			m->ok = false;
			return;
		}
}

/* Was the whole body want, give or take trailing CR and LF? */
bool
http_match_ok(const struct http_match *m)
{
	return m->ok && m->at == m->len;
}

/* Can path go on a request line: origin form, visible ASCII only? */
bool
http_path_ok(const char *path)
{
	size_t i, n = strlen(path);

	if (n == 0 || n > HTTP_MAX_PATH || path[0] != '/')
		return false;
	for (i = 0; i < n; i++)
		if (path[i] <= ' ' || path[i] >= 0x7f)
			return false;
	return true;
}

/*
 * The bytes of a request: method and path, a Host header for host:port
 * (an IPv6 address in brackets), the body with its length when there is
 * one, Connection: close when asked. NULL when out of memory.
 */
char *
http_request(const char *method, const char *host, const char *port,
    const char *path, const char *body, bool close, size_t *len)
{
	bool v6 = strchr(host, ':') != NULL;
	size_t blen = body != NULL ? strlen(body) : 0;
	size_t cap = strlen(method) + strlen(host) + strlen(port) +
	    strlen(path) + blen + 160;
	char *req;
	int n;

	if ((req = malloc(cap)) == NULL)
		return NULL;
	n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n%s",
	    method, path, v6 ? "[" : "", host, v6 ? "]" : "", port,
	    close ? "Connection: close\r\n" : "");
	if (body != NULL)
		n += snprintf(req + n, cap - (size_t)n, "Content-Type: "
		    "text/plain\r\nContent-Length: %zu\r\n", blen);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	memcpy(req + n, body != NULL ? body : "", blen + 1);
	*len = (size_t)n + blen;
	return req;
}
