/*
 * hparse.c: HTTP/1.1 requests as RFC 9112 frames them, read strictly.
 * Pure: no sockets, no libevent, no allocation. The caller hands the bytes
 * of a request from its first one, contiguous; the head is described by
 * pointers into them, and a chunked body is checked, then decoded in place.
 *
 * Strict, because a front end and primed must agree where each request
 * ends: where they disagree, a request hidden in another's body reaches
 * primed unseen (request smuggling). So lines end with CRLF only (a bare CR
 * or LF is refused); a field name is a token with its colon right after
 * it; a value holds no NUL, CR, LF or other control but tab; no line
 * folding; Content-Length is digits only and given once; Transfer-Encoding
 * is "chunked" alone and never beside Content-Length; chunk sizes are hex
 * digits only; the version is HTTP/1.0 or HTTP/1.1. A front end and
 * primed must also agree on what is asked: the target is a path (or an
 * http URL whose authority ends at "/" or "?"), with no fragment, and
 * Host is a host and port. Every refusal carries the status to answer,
 * and the caller closes the connection after it: once a request is
 * refused, where the next one starts is unknown.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <strings.h>

#include "primed.h"

#define CHUNK_LINE_MAX	1024	/* a chunk's size and extensions */

#define TCHAR	0x01	/* RFC 9110 tchar: a character of a token */
#define VCHAR	0x02	/* of a field value: visible, blank, tab, obs-text */

/* What each byte may be; read once a byte, so a table, not tests. */
static unsigned char	classes[256];

/* Fill the table of classes (once). */
static void
classes_init(void)
{
	const char	*specials = "!#$%&'*+-.^_`|~";
	int		 ch;

	if (classes['a'] != 0)
		return;
	for (ch = 0; ch < 256; ch++) {
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch != 0 &&
		    strchr(specials, ch) != NULL))
			classes[ch] |= TCHAR;
		if (ch == '\t' || (ch >= 0x20 && ch != 0x7f))
			classes[ch] |= VCHAR;
	}
}

/* RFC 9110 tchar: the characters of a token. */
static int
is_tchar(unsigned char ch)
{
	return classes[ch] & TCHAR;
}

/* A character a field value may hold: visible, blank or obs-text. */
static int
is_vchar(unsigned char ch)
{
	return classes[ch] & VCHAR;
}

/* The value of one hex digit, or -1. */
static int
hex(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* RFC 3986 unreserved and sub-delims: a reg-name's characters. */
static int
is_regchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z'))
		return 1;
	switch (ch) {
	case '-': case '.': case '_': case '~': case '!': case '$': case '&':
	case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
	case '=':
		return 1;
	}
	return 0;
}

/*
 * Host's value, or an absolute-form target's authority (RFC 9112 3.2,
 * RFC 3986 3.2.2): uri-host [ ":" port ], the host a reg-name (with
 * percent-encoding; an IPv4 address is one by its characters) or an
 * IP-literal in brackets, the port digits. Empty is a Host allowed.
 */
static int
is_host(const char *v, size_t n)
{
	size_t	i = 0;

	if (n > 0 && v[0] == '[') {
		/* An IPv6 address, maybe with a zone (RFC 6874: "%25"). */
		for (i = 1; i < n && v[i] != ']'; i++)
			if (!is_regchar((unsigned char)v[i]) && v[i] != ':' &&
			    v[i] != '%')
				return 0;
		if (i++ == n)
			return 0;
	} else {
		for (; i < n && v[i] != ':'; i++)
			if (v[i] == '%' && i + 2 < n &&
			    hex((unsigned char)v[i + 1]) != -1 &&
			    hex((unsigned char)v[i + 2]) != -1)
				i += 2;
			else if (!is_regchar((unsigned char)v[i]))
				return 0;
	}
	if (i < n && v[i++] != ':')
		return 0;
	for (; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return 1;
}

/* Mark h as refused with status and why; -1. */
static int
refuse(struct http_head *h, int status, const char *why)
{
	h->status = status;
	h->why = why;
	return -1;
}

/* Mark b as refused with status and why; -1. */
static int
refuse_body(struct http_body *b, int status, const char *why)
{
	b->status = status;
	b->why = why;
	return -1;
}

/*
 * The end of the line that starts at buf[at]: the offset of its CR, with
 * *next past its LF. -1 when the line is not complete yet, -2 when a CR or
 * LF stands alone in it.
 */
static long
line_end(const char *buf, size_t len, size_t at, size_t *next)
{
	const char	*lf = memchr(buf + at, '\n', len - at);
	const char	*cr = memchr(buf + at, '\r', (lf ? (size_t)(lf - buf) :
			    len) - at);

	if (cr != NULL && (size_t)(cr - buf) + 1 < len && cr[1] != '\n')
		return -2;
	if (lf == NULL)
		return -1;
	if (cr == NULL || cr + 1 != lf)
		return -2;
	*next = (size_t)(lf - buf) + 1;
	return cr - buf;
}

/* The method's METHOD_* bit; CONNECT is refused by the caller. */
static int
method_of(const char *m, size_t n)
{
	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return METHOD_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return METHOD_HEAD;
	if (n == 4 && memcmp(m, "POST", 4) == 0)
		return METHOD_POST;
	return METHOD_OTHER;
}

/*
 * The request target: origin-form ("/path?query"), or absolute-form
 * ("http://host/path?query", which asks to close after the answer). Any
 * other form, and "//x" (which some read as host x), is refused.
 */
static int
parse_target(const char *t, size_t n, struct http_head *h)
{
	const char	*q;
	size_t		 skip = 0, i;

	/* Visible characters; no "#": a fragment is never sent. */
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f ||
		    t[i] == '#')
			return refuse(h, 400, "bad request target");
	if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	if (skip > 0) {
		/*
		 * Absolute-form: the path is what counts; then close. The
		 * authority ends at "/" or "?": what follows "?" is no path,
		 * even if it looks like one.
		 */
		h->absolute = 1;
		for (i = skip; i < n && t[i] != '/' && t[i] != '?'; i++)
			;
		if (i == skip || i == n || t[i] != '/' ||
		    !is_host(t + skip, i - skip))
			return refuse(h, 400, "bad request target");
		n -= i;
		t += i;
	}
	if (n == 0 || t[0] != '/' || (n > 1 && t[1] == '/'))
		return refuse(h, 400, "request target must be a path");
	h->path = t;
	h->pathlen = n;
	if ((q = memchr(t, '?', n)) != NULL) {
		h->pathlen = (size_t)(q - t);
		h->query = q + 1;
		h->querylen = n - h->pathlen - 1;
	}
	return 0;
}

/* "METHOD SP target SP HTTP/1.x": 0, or -1 refused. */
static int
parse_request_line(const char *l, size_t n, struct http_head *h)
{
	const char	*sp1, *sp2, *v;
	size_t		 i;

	if ((sp1 = memchr(l, ' ', n)) == NULL || sp1 == l ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l))) == NULL)
		return refuse(h, 400, "bad request line");
	for (i = 0; l + i < sp1; i++)
		if (!is_tchar((unsigned char)l[i]))
			return refuse(h, 400, "bad method");
	v = sp2 + 1;
	if (l + n - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return refuse(h, 400, "bad request line");
	if (v[5] != '1' || v[7] > '1')
		return refuse(h, 505, "only HTTP/1.0 and HTTP/1.1");
	h->minor = v[7] - '0';
	if ((size_t)(sp1 - l) == 7 && memcmp(l, "CONNECT", 7) == 0)
		return refuse(h, 501, "CONNECT is not served");
	h->method = method_of(l, (size_t)(sp1 - l));
	return parse_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), h);
}

/* True when the comma list v holds token tok (any case). */
static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t	tl = strlen(tok), i = 0, j;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		for (j = i; j < n && v[j] != ','; j++)
			;
		while (j > i && (v[j - 1] == ' ' || v[j - 1] == '\t'))
			j--;
		if (j - i == tl && strncasecmp(v + i, tok, tl) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/* Content-Length: digits only, once, no overflow. */
static int
field_length(const char *v, size_t n, struct http_head *h)
{
	uint64_t	x = 0;
	size_t		i;

	if (h->has_length)
		return refuse(h, 400, "more than one Content-Length");
	if (n == 0)
		return refuse(h, 400, "bad Content-Length");
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return refuse(h, 400, "bad Content-Length");
		if (x > (UINT64_MAX - 9) / 10)
			return refuse(h, 400, "Content-Length too large");
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	h->has_length = 1;
	h->length = x;
	return 0;
}

/*
 * Transfer-Encoding: "chunked" alone. A list that ends in chunked names
 * a coding primed does not have (501); one that does not end in it leaves
 * the length unknown (400).
 */
static int
field_coding(const char *v, size_t n, struct http_head *h)
{
	const char	*last = v;
	size_t		 i;

	if (h->chunked || h->coded)
		return refuse(h, 400, "more than one Transfer-Encoding");
	h->coded = 1;
	if (n == 7 && strncasecmp(v, "chunked", 7) == 0) {
		h->chunked = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (v[i] == ',')
			last = v + i + 1;
	while (last < v + n && (*last == ' ' || *last == '\t'))
		last++;
	if (v + n - last == 7 && strncasecmp(last, "chunked", 7) == 0)
		return refuse(h, 501, "transfer coding not implemented");
	return refuse(h, 400, "chunked must be the last transfer coding");
}

/* The name n (nlen bytes) is name, in any case. */
#define NAME_IS(n, nlen, name)						\
	((nlen) == sizeof(name) - 1 && strncasecmp((n), (name), (nlen)) == 0)

/* One field of the head, by name; 0, or -1 refused. */
static int
parse_field(const char *name, size_t nlen, const char *v, size_t vlen,
    struct http_head *h)
{
	if (NAME_IS(name, nlen, "content-length"))
		return field_length(v, vlen, h);
	if (NAME_IS(name, nlen, "transfer-encoding"))
		return field_coding(v, vlen, h);
	if (NAME_IS(name, nlen, "host")) {
		if (h->hosts++ > 0)
			return refuse(h, 400, "more than one Host");
		if (!is_host(v, vlen))
			return refuse(h, 400, "bad Host");
	} else if (NAME_IS(name, nlen, "connection")) {
		h->conn_close |= has_token(v, vlen, "close");
		h->keep_alive |= has_token(v, vlen, "keep-alive");
	} else if (NAME_IS(name, nlen, "expect")) {
		if (vlen != 12 || strncasecmp(v, "100-continue", 12) != 0)
			return refuse(h, 417, "only Expect: 100-continue");
		h->expect = 1;
	} else if (NAME_IS(name, nlen, "accept")) {
		/* Text when it is asked for and JSON is not. */
		h->text = memmem(v, vlen, "text/plain", 10) != NULL &&
		    memmem(v, vlen, "application/json", 16) == NULL;
	}
	return 0;
}

/*
 * One field line (without its CRLF): a token, a colon right after it,
 * optional blanks, a value of visible characters, tabs and blanks,
 * optional blanks. Sets *name and *value; 0, or -1 refused.
 */
static int
split_field(const char *l, size_t n, struct http_head *h, size_t *nlen,
    const char **v, size_t *vlen)
{
	size_t	i, end;

	if (n > 0 && (l[0] == ' ' || l[0] == '\t'))
		return refuse(h, 400, "folded header line");
	for (i = 0; i < n && is_tchar((unsigned char)l[i]); i++)
		;
	if (i == 0 || i == n || l[i] != ':')
		return refuse(h, 400, "bad header name");
	*nlen = i++;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	for (end = n; end > i && (l[end - 1] == ' ' || l[end - 1] == '\t');
	    end--)
		;
	*v = l + i;
	*vlen = end - i;
	for (; i < end; i++)
		if (!is_vchar((unsigned char)l[i]))
			return refuse(h, 400, "bad character in a header");
	return 0;
}

/* The fields, from at to the empty line; 1, 0 (more bytes) or -1. */
static int
parse_fields(const char *buf, size_t len, size_t at, struct http_head *h)
{
	const char	*v;
	size_t		 next, nlen, vlen;
	long		 end;
	int		 n = 0;

	for (;;) {
		if ((end = line_end(buf, len, at, &next)) == -2)
			return refuse(h, 400, "line ends must be CRLF");
		if (end == -1)
			return len >= HTTP_HEAD_MAX ? refuse(h, 431,
			    "request headers too large") : 0;
		if (next > HTTP_HEAD_MAX)
			return refuse(h, 431, "request headers too large");
		if ((size_t)end == at)
			break;
		if (++n > HTTP_FIELDS_MAX)
			return refuse(h, 431, "too many header fields");
		if (split_field(buf + at, (size_t)end - at, h, &nlen, &v,
		    &vlen) == -1 || parse_field(buf + at, nlen, v, vlen,
		    h) == -1)
			return -1;
		at = next;
	}
	h->size = next;
	return 1;
}

/* Whole-head rules, once every field is read; 0, or -1 refused. */
static int
check_head(struct http_head *h)
{
	if (h->minor == 1 && h->hosts == 0)
		return refuse(h, 400, "HTTP/1.1 needs a Host");
	if (h->chunked && h->has_length)
		return refuse(h, 400, "both Content-Length and "
		    "Transfer-Encoding");
	/*
	 * Keep-alive is HTTP/1.1's default and HTTP/1.0's on request; an
	 * absolute-form target, and (RFC 9112 6.1) a coded HTTP/1.0
	 * message, are answered and then closed.
	 */
	h->close = h->conn_close || (h->minor == 0 && !h->keep_alive) ||
	    h->absolute || (h->chunked && h->minor == 0);
	/* A body on GET or HEAD has no meaning and could hide a request. */
	if ((h->method & (METHOD_GET | METHOD_HEAD)) &&
	    (h->chunked || h->length > 0))
		return refuse(h, 400, "a body on GET or HEAD");
	/* Nothing to wait for; and HTTP/1.0 has no 100 (RFC 9110 10.1.1). */
	if ((!h->chunked && h->length == 0) || h->minor == 0)
		h->expect = 0;
	return 0;
}

/*
 * Read the head of the request at buf (len bytes). 1 when it is whole
 * (h->size bytes, through the empty line), 0 when more bytes are needed,
 * -1 when it is refused (h->status, h->why). Empty lines before the
 * request line are skipped, as RFC 9112 2.2 asks.
 */
int
hparse_head(const char *buf, size_t len, struct http_head *h)
{
	size_t	at = 0, next;
	long	end;

	classes_init();
	memset(h, 0, sizeof(*h));
	while (len - at >= 2 && buf[at] == '\r' && buf[at + 1] == '\n')
		at += 2;
	if (at >= HTTP_HEAD_MAX)
		return refuse(h, 400, "too many empty lines");
	if ((end = line_end(buf, len, at, &next)) == -2)
		return refuse(h, 400, "line ends must be CRLF");
	if (end == -1)
		return len - at >= HTTP_HEAD_MAX ? refuse(h, 414,
		    "request line too long") : 0;
	if (next - at > HTTP_HEAD_MAX)
		return refuse(h, 414, "request line too long");
	if (parse_request_line(buf + at, (size_t)end - at, h) == -1)
		return -1;
	switch (parse_fields(buf, len, next, h)) {
	case -1:
		return -1;
	case 0:
		return 0;
	}
	return check_head(h) == -1 ? -1 : 1;
}

/*
 * Chunk extensions after a size: *( BWS ";" BWS name [ BWS "=" BWS
 * ( token / quoted-string ) ] ). Read and ignored, but they must be that.
 */
static int
check_ext(const char *p, size_t n)
{
	size_t	i = 0;

#define SKIP_BWS()	while (i < n && (p[i] == ' ' || p[i] == '\t')) i++
	for (;;) {
		SKIP_BWS();
		if (i == n)
			return 0;
		if (p[i++] != ';')
			return -1;
		SKIP_BWS();
		if (i == n || !is_tchar((unsigned char)p[i]))
			return -1;
		while (i < n && is_tchar((unsigned char)p[i]))
			i++;
		SKIP_BWS();
		if (i == n || p[i] != '=')
			continue;
		i++;
		SKIP_BWS();
		if (i < n && p[i] == '"') {
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\' && ++i == n)
					return -1;
				else if (!is_vchar((unsigned char)p[i]))
					return -1;
			if (i++ == n)
				return -1;
		} else if (i == n || !is_tchar((unsigned char)p[i]))
			return -1;
		else
			while (i < n && is_tchar((unsigned char)p[i]))
				i++;
	}
#undef SKIP_BWS
}

/* A chunk's size line (without its CRLF): hex digits, then extensions. */
static int
chunk_size(const char *l, size_t n, uint64_t *size)
{
	size_t	i;
	int	d;

	*size = 0;
	for (i = 0; i < n && (d = hex((unsigned char)l[i])) != -1; i++) {
		if (*size > (UINT64_MAX >> 4))
			return -1;
		*size = *size << 4 | (uint64_t)d;
	}
	if (i == 0)
		return -1;
	return check_ext(l + i, n - i);
}

/* The trailer section, from at to its empty line: fields, bounded. */
static int
chunk_trailers(const char *buf, size_t len, size_t at, struct http_body *b)
{
	struct http_head	 h;
	const char		*v;
	size_t			 next, nlen, vlen, start = at;
	long			 end;
	int			 n = 0;

	memset(&h, 0, sizeof(h));
	for (;;) {
		if ((end = line_end(buf, len, at, &next)) == -2)
			return refuse_body(b, 400, "line ends must be CRLF");
		if (end == -1)
			return len - start > HTTP_HEAD_MAX ? refuse_body(b, 431,
			    "trailers too large") : 0;
		if (next - start > HTTP_HEAD_MAX)
			return refuse_body(b, 431, "trailers too large");
		if ((size_t)end == at)
			break;
		if (++n > HTTP_FIELDS_MAX)
			return refuse_body(b, 431, "too many trailer fields");
		if (split_field(buf + at, (size_t)end - at, &h, &nlen, &v,
		    &vlen) == -1)
			return refuse_body(b, h.status, h.why);
		at = next;
	}
	b->wire = next;
	return 1;
}

/* The chunks of a body, then its trailers, as hparse_chunked says. */
static int
chunk_walk(const char *buf, size_t len, size_t max, size_t wiremax,
    struct http_body *b)
{
	size_t		 at = 0, next;
	uint64_t	 size;
	long		 end;

	for (;;) {
		if ((end = line_end(buf, len, at, &next)) == -2)
			return refuse_body(b, 400, "line ends must be CRLF");
		/* Unfinished: too long once past the bound and a CR. */
		if (end == -1)
			return len - at > CHUNK_LINE_MAX + 1 ? refuse_body(b,
			    400, "chunk line too long") : 0;
		if ((size_t)end - at > CHUNK_LINE_MAX)
			return refuse_body(b, 400, "chunk line too long");
		if (chunk_size(buf + at, (size_t)end - at, &size) == -1)
			return refuse_body(b, 400, "bad chunk size");
		if (size > max - b->len)
			return refuse_body(b, 413, "body longer than max-line");
		if (next > wiremax)
			return refuse_body(b, 413, "chunked body too large");
		if (size == 0)
			return chunk_trailers(buf, len, next, b);
		if (len - next < size + 2)
			return 0;
		if (buf[next + size] != '\r' || buf[next + size + 1] != '\n')
			return refuse_body(b, 400, "chunk without its CRLF");
		b->len += size;
		at = next + size + 2;
	}
}

/*
 * Check the chunked body at buf (len bytes, from its first chunk): 1 when
 * whole (b->wire bytes on the wire, b->len decoded), 0 when more bytes are
 * needed, -1 when refused (b->status, b->why). More than max decoded
 * bytes is 413, and so is a body whose framing, trailers included, takes
 * more than 2 * max + HTTP_HEAD_MAX bytes: one that cannot end within that
 * is refused as soon as that much has come, so a caller that buffers a
 * head and that much never waits for bytes it has no room for.
 */
int
hparse_chunked(const char *buf, size_t len, size_t max, struct http_body *b)
{
	size_t	wiremax = 2 * max + HTTP_HEAD_MAX;
	int	rc;

	classes_init();
	memset(b, 0, sizeof(*b));
	rc = chunk_walk(buf, len, max, wiremax, b);
	if ((rc == 1 && b->wire > wiremax) || (rc == 0 && len >= wiremax))
		return refuse_body(b, 413, "chunked body too large");
	return rc;
}

/*
 * Decode a chunked body that hparse_chunked found whole, in place: the
 * data moves to the front of buf. Returns its length.
 */
size_t
hparse_unchunk(char *buf, size_t wire)
{
	size_t		at = 0, out = 0, next;
	uint64_t	size;
	long		end;

	while ((end = line_end(buf, wire, at, &next)) >= 0) {
		(void)chunk_size(buf + at, (size_t)end - at, &size);
		if (size == 0)
			break;
		memmove(buf + out, buf + next, size);
		out += size;
		at = next + size + 2;
	}
	return out;
}
