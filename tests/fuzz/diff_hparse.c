/*
 * diff_hparse.c: hparse.c read beside a second HTTP/1.1 request parser,
 * Node's http_parser (Debian's libhttp-parser, strict, not lenient), over
 * files of requests such as the fuzz corpus. Only this program links it;
 * primed does not.
 *
 *   diff_hparse [-v] FILE|DIR...
 *
 * Each file holds what a client sent. The requests in it are read one
 * after the other, by both, as long as both take them alike and keep the
 * connection. For each: does each parser take it, refuse it or wait for
 * more bytes; when both take it, do they agree on the method, path,
 * query, version, keep-alive, the body (decoded) and where the request
 * ends. A disagreement is either one listed below, where hparse is
 * stricter (or reads later) on purpose, with the clause of RFC 9112 or
 * RFC 9110 that makes that right, or it is printed and the exit status is
 * 1. -v names the file of every listed disagreement as well.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "primed.h"

/* The longest body read (max-line's ceiling): no input comes near it. */
#define DIFF_MAX_BODY	(1024 * 1024)

enum kind { TAKE, WAIT, REFUSE };

/* One parser's reading of the request at the start of the input. */
struct reading {
	enum kind	 kind;
	int		 method;	/* METHOD_* */
	int		 minor;
	int		 keep;		/* keep the connection after it */
	size_t		 path, pathlen;	/* offsets into the input */
	size_t		 query, querylen;
	int		 has_query;
	char		*body;		/* decoded */
	size_t		 bodylen;
	size_t		 used;		/* bytes the request takes */
	size_t		 at;		/* REFUSE: where http_parser stopped */
	const char	*why;		/* REFUSE: the reason or error name */
	int		 status;	/* REFUSE, hparse: the status */
	int		 upgrade;	/* http_parser: the rest is not HTTP */
	int		 absolute;	/* hparse: absolute-form */
	int		 chunked;
	int		 http10_coded;	/* hparse: HTTP/1.0 with a coding */
	size_t		 trailers;	/* hparse: where its trailers start */
	int		 urlbad;	/* http_parser: its URL parser refuses
					   the target its request parser took */
};

/*
 * Where hparse refuses what http_parser takes (or has not judged yet):
 * its reason, and why refusing is right.
 */
static const struct {
	const char	*why;
	const char	*clause;
} stricter[] = {
	{ "line ends must be CRLF", "RFC 9112 2.2: a recipient MAY take a "
	    "bare LF as a line end, and MUST treat a bare CR as invalid (or "
	    "replace it); taking neither leaves one way to read a line" },
	{ "folded header line", "RFC 9112 5.2: a server MUST reject obs-fold "
	    "in a request with 400 (or replace it with SP)" },
	{ "bad header name", "RFC 9110 5.1, 5.6.2: a field name is a token; "
	    "RFC 9112 5.1: whitespace before the colon MUST be answered 400" },
	{ "bad character in a header", "RFC 9110 5.5: CR, LF and NUL in a "
	    "value MUST be refused or replaced; other controls are not "
	    "field-vchar" },
	{ "more than one Content-Length", "RFC 9110 8.6 and RFC 9112 6.3 "
	    "item 5: a list of lengths MAY be refused; differing ones MUST be" },
	{ "bad Content-Length", "RFC 9110 8.6: Content-Length = 1*DIGIT; RFC "
	    "9112 6.3 item 5: an invalid one is an unrecoverable error, 400 "
	    "and close" },
	{ "Content-Length too large", "RFC 9110 8.6: recipients MUST prevent "
	    "integer overflow in lengths" },
	{ "more than one Transfer-Encoding", "RFC 9112 6.1: the lines make one "
	    "list; chunked MUST NOT be applied twice, and primed decodes only "
	    "chunked alone" },
	{ "chunked must be the last transfer coding", "RFC 9112 6.3 item 4: a "
	    "request whose final coding is not chunked MUST get 400 and close" },
	{ "transfer coding not implemented", "RFC 9112 6.1: a coding the "
	    "server does not understand SHOULD get 501" },
	{ "both Content-Length and Transfer-Encoding", "RFC 9112 6.1: a server "
	    "MAY reject such a request, and MUST close after it; 6.3 item 3 "
	    "names it a likely smuggling attempt" },
	{ "HTTP/1.1 needs a Host", "RFC 9112 3.2: a server MUST answer 400 to "
	    "an HTTP/1.1 request without Host" },
	{ "more than one Host", "RFC 9112 3.2: a server MUST answer 400 to a "
	    "request with more than one Host line" },
	{ "bad Host", "RFC 9112 3.2: a server MUST answer 400 to a Host with "
	    "an invalid value (uri-host [\":\" port], RFC 3986 3.2.2)" },
	{ "a body on GET or HEAD", "RFC 9110 9.3.1, 9.3.2: content on GET or "
	    "HEAD has no meaning and \"might lead some implementations to reject "
	    "the request and close the connection because of its potential as "
	    "a request smuggling attack\"" },
	{ "bad request line", "RFC 9112 3: an invalid request-line SHOULD get "
	    "400; HTTP-version is case-sensitive \"HTTP/\" DIGIT \".\" DIGIT" },
	{ "bad method", "RFC 9110 9.1: a method is a token" },
	{ "bad request target", "RFC 9112 3.2: request-target is origin-form "
	    "or absolute-form for a server (3.2.1, 3.2.2), without fragment "
	    "(RFC 9110 7.1); a target that is neither is invalid" },
	{ "request target must be a path", "RFC 9112 3.2.1: an origin server "
	    "is sent origin-form; \"//x\" is refused as some read it as a host "
	    "(RFC 3986 4.2), and asterisk-form (OPTIONS *) is not served" },
	{ "only HTTP/1.0 and HTTP/1.1", "RFC 9110 15.6.6: 505 for a major "
	    "version the server does not support; RFC 9112 2.3: a 1.x minor "
	    "above 1 is answered as what primed speaks, refused here" },
	{ "CONNECT is not served", "RFC 9110 9.3.6, 15.6.2: CONNECT is for "
	    "proxies; 501 for a method the server does not support" },
	{ "request line too long", "RFC 9112 3: a target longer than the "
	    "server wishes to parse MUST get 414" },
	{ "request headers too large", "RFC 6585 5: 431; RFC 9112 2.3 allows "
	    "a limit on the head" },
	{ "too many header fields", "RFC 6585 5: 431" },
	{ "too many empty lines", "RFC 9112 2.2: empty lines before the "
	    "request line SHOULD be ignored, here up to the head's bound" },
	{ "only Expect: 100-continue", "RFC 9110 10.1.1: an expectation other "
	    "than 100-continue MAY get 417" },
	{ "bad chunk size", "RFC 9112 7.1: chunk-size = 1*HEXDIG, then "
	    "chunk-ext (7.1.1: BWS \";\" token [= token / quoted-string])" },
	{ "chunk line too long", "RFC 9112 7.1.1: a server ought to limit "
	    "chunk extensions, and MAY answer 4xx" },
	{ "chunk without its CRLF", "RFC 9112 7.1: chunk = chunk-size "
	    "[chunk-ext] CRLF chunk-data CRLF" },
	{ "trailers too large", "RFC 9112 7.1.2, RFC 6585 5: bounded as a "
	    "head is" },
	{ "too many trailer fields", "RFC 9112 7.1.2, RFC 6585 5: bounded as "
	    "a head is" },
	{ "body longer than max-line", "RFC 9110 15.5.14: 413" },
	{ "chunked body too large", "RFC 9110 15.5.14: 413" },
};

/*
 * Where http_parser refuses what hparse takes: its error, and why taking
 * it is right.
 */
static const struct {
	const char	*error;
	int		 byte;		/* the byte it stops at; -1: any */
	const char	*reason;
} laxer[] = {
	{ "HPE_INVALID_METHOD", -1, "RFC 9110 9.1: any token is a method; "
	    "http_parser knows a fixed list. primed answers 405 or 404" },
	{ "HPE_INVALID_URL", -1, "RFC 9112 3.2: the target is taken as "
	    "visible characters and matched whole by route.c; a character "
	    "http_parser's URL table refuses reaches no route (404 or 400)" },
	{ "HPE_INVALID_HEADER_TOKEN", -1, "RFC 9110 5.5: obs-text (0x80-0xff) "
	    "is field-vchar; the value is read, never used for framing" },
	{ "HPE_INVALID_CHUNK_SIZE", '\t', "RFC 9112 7.1.1: BWS (spaces or "
	    "tabs) may stand before a chunk extension's \";\"; http_parser "
	    "takes only spaces" },
};

/*
 * http_parser reads trailer fields as header fields: a Content-Length
 * among them is checked as one. hparse checks their syntax and drops
 * them, as RFC 9110 6.5.1 asks: a trailer field cannot frame a message.
 */
static const char *const trailer_errors[] = {
	"HPE_INVALID_CONTENT_LENGTH", "HPE_UNEXPECTED_CONTENT_LENGTH",
	"HPE_INVALID_TRANSFER_ENCODING"
};

/* Disagreements seen, by kind; listed ones by their table's index. */
static unsigned	 n_stricter[sizeof(stricter) / sizeof(stricter[0])];
static unsigned	 n_laxer[sizeof(laxer) / sizeof(laxer[0])];
static unsigned	 n_agree_take, n_agree_refuse, n_agree_wait, n_waits;
static unsigned	 n_closes, n_upgrades, n_bad, n_inputs, n_requests;
static unsigned	 n_trailers, n_urlbad;
static int	 verbose;

/* A copy of len bytes at s, in a buffer of exactly that size. */
static char *
dup_exact(const char *s, size_t len)
{
	char	*p = malloc(len > 0 ? len : 1);

	if (p == NULL) {
		perror("diff_hparse");
		exit(2);
	}
	memcpy(p, s, len);
	return p;
}

/* Where the trailers start in a chunked body hparse took (wire bytes). */
static size_t
trailer_start(const char *b, size_t wire)
{
	const char	*lf;
	size_t		 at = 0, size;

	for (;;) {
		size = strtoull(b + at, NULL, 16);
		lf = memchr(b + at, '\n', wire - at);
		at = (size_t)(lf - b) + 1;
		if (size == 0)
			return at;
		at += size + 2;
	}
}

/* hparse's reading, as http.c cuts a request out of the input. */
static void
read_hparse(const char *s, size_t len, struct reading *r)
{
	struct http_head	 h;
	struct http_body	 b;
	char			*buf = dup_exact(s, len);
	int			 rc;

	memset(r, 0, sizeof(*r));
	r->body = buf;
	if ((rc = hparse_head(buf, len, &h)) != 1) {
		r->kind = rc == 0 ? WAIT : REFUSE;
		r->status = h.status;
		r->why = h.why;
		return;
	}
	r->kind = TAKE;
	r->method = h.method;
	r->minor = h.minor;
	r->keep = !h.close;
	r->path = (size_t)(h.path - buf);
	r->pathlen = h.pathlen;
	r->has_query = h.query != NULL;
	r->query = h.query != NULL ? (size_t)(h.query - buf) : 0;
	r->querylen = h.querylen;
	r->absolute = h.absolute;
	r->chunked = h.chunked;
	r->http10_coded = h.chunked && h.minor == 0;
	r->used = h.size;
	if (h.chunked) {
		if ((rc = hparse_chunked(buf + h.size, len - h.size,
		    DIFF_MAX_BODY, &b)) != 1) {
			r->kind = rc == 0 ? WAIT : REFUSE;
			r->status = b.status;
			r->why = b.why;
			return;
		}
		r->trailers = h.size + trailer_start(buf + h.size, b.wire);
		memmove(buf, buf + h.size, b.wire);
		r->bodylen = hparse_unchunk(buf, b.wire);
		r->used += b.wire;
	} else if (len - h.size < h.length) {
		r->kind = WAIT;
	} else {
		memmove(buf, buf + h.size, (size_t)h.length);
		r->bodylen = (size_t)h.length;
		r->used += r->bodylen;
	}
}

/* What http_parser's callbacks gather. */
struct gather {
	const char	*base;
	struct reading	*r;
	size_t		 url, urllen;
	int		 has_url;
	size_t		 bodycap;
	int		 done;
};

/* The request target, maybe in pieces. */
static int
on_url(http_parser *p, const char *at, size_t n)
{
	struct gather	*g = p->data;

	if (!g->has_url) {
		g->url = (size_t)(at - g->base);
		g->has_url = 1;
	}
	g->urllen = (size_t)(at + n - g->base) - g->url;
	return 0;
}

/* Body bytes, decoded. */
static int
on_body(http_parser *p, const char *at, size_t n)
{
	struct gather	*g = p->data;
	struct reading	*r = g->r;

	if (r->bodylen + n > g->bodycap) {
		g->bodycap = 2 * (r->bodylen + n);
		if ((r->body = realloc(r->body, g->bodycap)) == NULL) {
			perror("diff_hparse");
			exit(2);
		}
	}
	memcpy(r->body + r->bodylen, at, n);
	r->bodylen += n;
	return 0;
}

/* The request is whole: stop there. */
static int
on_message_complete(http_parser *p)
{
	struct gather	*g = p->data;

	g->done = 1;
	g->r->keep = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

/* METHOD_* of http_parser's method. */
static int
method_class(unsigned m)
{
	switch (m) {
	case HTTP_GET:
		return METHOD_GET;
	case HTTP_HEAD:
		return METHOD_HEAD;
	case HTTP_POST:
		return METHOD_POST;
	}
	return METHOD_OTHER;
}

/* Path and query of the target http_parser took, as offsets. */
static void
split_url(const char *s, const struct gather *g, unsigned method,
    struct reading *r)
{
	struct http_parser_url	u;

	http_parser_url_init(&u);
	if (!g->has_url || http_parser_parse_url(s + g->url, g->urllen,
	    method == HTTP_CONNECT, &u) != 0) {
		r->urlbad = 1;
		return;
	}
	if (u.field_set & (1 << UF_PATH)) {
		r->path = g->url + u.field_data[UF_PATH].off;
		r->pathlen = u.field_data[UF_PATH].len;
	}
	if (u.field_set & (1 << UF_QUERY)) {
		r->has_query = 1;
		r->query = g->url + u.field_data[UF_QUERY].off;
		r->querylen = u.field_data[UF_QUERY].len;
	}
}

/* http_parser's reading of the request at s, strict (not lenient). */
static void
read_other(const char *s, size_t len, struct reading *r)
{
	static http_parser_settings	 set;
	struct gather			 g;
	http_parser			 p;
	size_t				 n;

	memset(r, 0, sizeof(*r));
	memset(&g, 0, sizeof(g));
	g.base = s;
	g.r = r;
	http_parser_settings_init(&set);
	set.on_url = on_url;
	set.on_body = on_body;
	set.on_message_complete = on_message_complete;
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &g;
	n = http_parser_execute(&p, &set, s, len);
	if (!g.done) {
		r->kind = HTTP_PARSER_ERRNO(&p) == HPE_OK ? WAIT : REFUSE;
		r->why = http_errno_name(HTTP_PARSER_ERRNO(&p));
		r->at = n;
		return;
	}
	r->kind = TAKE;
	r->used = n;
	r->method = method_class(p.method);
	r->minor = p.http_major == 1 ? p.http_minor : -1;
	r->upgrade = p.upgrade;
	split_url(s, &g, p.method, r);
}

/* Index of why in the stricter table, or -1. */
static int
stricter_index(const char *why)
{
	size_t	i;

	for (i = 0; why != NULL && i < sizeof(stricter) / sizeof(stricter[0]);
	    i++)
		if (strcmp(stricter[i].why, why) == 0)
			return (int)i;
	return -1;
}

/* Index of error, stopped at byte, in the laxer table, or -1. */
static int
laxer_index(const char *error, int byte)
{
	size_t	i;

	for (i = 0; i < sizeof(laxer) / sizeof(laxer[0]); i++)
		if (strcmp(laxer[i].error, error) == 0 &&
		    (laxer[i].byte == -1 || laxer[i].byte == byte))
			return (int)i;
	return -1;
}

/* A reading in a few words, for a report. */
static void
describe(const char *name, const struct reading *r)
{
	static const char	*kinds[] = { "takes", "waits", "refuses" };

	printf("    %s %s", name, kinds[r->kind]);
	if (r->kind == REFUSE)
		printf(" (%d %s)", r->status, r->why);
	if (r->kind == TAKE)
		printf(" %zu bytes, method %d, HTTP/1.%d, keep %d, body %zu",
		    r->used, r->method, r->minor, r->keep, r->bodylen);
	printf("\n");
}

/* A disagreement no table lists. */
static void
bad(const char *file, size_t off, const char *what, const struct reading *h,
    const struct reading *o)
{
	n_bad++;
	printf("DIFFER %s (request at byte %zu): %s\n", file, off, what);
	describe("hparse", h);
	describe("http_parser", o);
}

/* A disagreement the tables list. */
static void
listed(const char *file, const char *what)
{
	if (verbose)
		printf("listed %s: %s\n", file, what);
}

/* Is the span a of s the same bytes as span b (either may be empty)? */
static int
same_span(const char *s, size_t a, size_t alen, size_t b, size_t blen)
{
	return alen == blen && memcmp(s + a, s + b, alen) == 0;
}

/* Is s (len bytes) made of RFC 3986's reg-name characters and ":"? */
static int
reg_name(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-._~%!$&'()*+,;=:", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

/*
 * An absolute-form target whose authority http_parser's URL parser
 * refuses (it knows letters, digits, "." and "-" in a host; RFC 3986
 * 3.2.2 allows more): its path is unknown to it, hparse's is the one
 * after the authority. 1 when that is so.
 */
static int
url_parser_refuses(const char *s, const struct reading *h,
    const struct reading *o)
{
	const char	*auth;

	if (!o->urlbad || !h->absolute)
		return 0;
	auth = (const char *)memchr(s, '/', h->path) + 2;
	return reg_name(auth, (size_t)(s + h->path - auth));
}

/* Two readings that both take the request: 1 when they agree. */
static int
compare_taken(const char *file, const char *s, size_t off,
    const struct reading *h, const struct reading *o)
{
	const char	*what = NULL;
	int		 urlbad = url_parser_refuses(s, h, o);

	if (h->used != o->used)
		what = "they end the request at different bytes";
	else if (h->method != o->method)
		what = "another method";
	else if (h->minor != o->minor)
		what = "another version";
	else if (!urlbad && !same_span(s, h->path, h->pathlen, o->path,
	    o->pathlen))
		what = "another path";
	else if (!urlbad && !same_span(s, h->query, h->has_query ?
	    h->querylen : 0, o->query, o->has_query ? o->querylen : 0))
		what = "another query";
	else if (h->bodylen != o->bodylen || (h->bodylen > 0 &&
	    memcmp(h->body, o->body, h->bodylen) != 0))
		what = "another body";
	if (what != NULL) {
		bad(file, off, what, h, o);
		return 0;
	}
	if (urlbad) {
		n_urlbad++;
		listed(file, "http_parser's URL parser refuses an authority "
		    "RFC 3986 3.2.2 allows");
	}
	if (h->keep == o->keep)
		return 1;
	/* primed closes where http_parser would not: on purpose. */
	if (!h->keep && (h->absolute || h->http10_coded)) {
		n_closes++;
		listed(file, h->absolute ? "hparse closes after an absolute-form "
		    "target (RFC 9112 9.6: a server may close)" : "hparse closes "
		    "after an HTTP/1.0 request with a coding (RFC 9112 6.1)");
		return 1;
	}
	bad(file, off, "another keep-alive", h, o);
	return 0;
}

/* Is error one http_parser gives for a framing field among trailers? */
static int
in_trailers(const char *error)
{
	size_t	i;

	for (i = 0; i < sizeof(trailer_errors) / sizeof(trailer_errors[0]);
	    i++)
		if (strcmp(trailer_errors[i], error) == 0)
			return 1;
	return 0;
}

/*
 * hparse refuses or waits where http_parser does otherwise: listed when
 * hparse's reason is, or when hparse waits for the end of a line
 * http_parser refused in the middle.
 */
static void
compare_other(const char *file, const char *s, size_t len, size_t off,
    const struct reading *h, const struct reading *o)
{
	const char	*lf;
	int		 i;

	if (h->kind == REFUSE && (i = stricter_index(h->why)) != -1) {
		n_stricter[i]++;
		listed(file, h->why);
		return;
	}
	if (h->kind == WAIT && o->kind == REFUSE) {
		/* The error is in the line hparse has not had whole yet. */
		lf = memrchr(s, '\n', len);
		if (lf == NULL || o->at > (size_t)(lf - s)) {
			n_waits++;
			listed(file, "hparse waits for the end of the line");
			return;
		}
	}
	if (h->kind != REFUSE && o->kind == REFUSE && (i = laxer_index(o->why,
	    o->at < len ? (unsigned char)s[o->at] : -1)) != -1) {
		n_laxer[i]++;
		listed(file, o->why);
		return;
	}
	if (h->kind == TAKE && o->kind == REFUSE && h->trailers > 0 &&
	    o->at >= h->trailers && in_trailers(o->why)) {
		n_trailers++;
		listed(file, "http_parser reads a trailer field as a header");
		return;
	}
	bad(file, off, "they do not read it alike", h, o);
}

/* Both parsers over one input, request after request. */
static void
diff_input(const char *file, const char *s, size_t len)
{
	struct reading	h, o;
	size_t		off = 0;

	n_inputs++;
	for (;;) {
		n_requests++;
		read_hparse(s + off, len - off, &h);
		read_other(s + off, len - off, &o);
		/* Offsets in the readings are from the request's start. */
		if (h.kind == TAKE && o.kind == TAKE) {
			if (!compare_taken(file, s + off, off, &h, &o))
				break;
			n_agree_take++;
		} else if (h.kind == o.kind) {
			if (h.kind == REFUSE)
				n_agree_refuse++;
			else
				n_agree_wait++;
		} else {
			compare_other(file, s + off, len - off, off, &h, &o);
		}
		if (h.kind != TAKE || o.kind != TAKE || !h.keep ||
		    h.used == len - off)
			break;
		if (o.upgrade) {
			/* Not switched: primed never answers 101. */
			n_upgrades++;
			listed(file, "http_parser reads on as another protocol "
			    "after Upgrade; primed never answers 101, so the "
			    "connection stays HTTP (RFC 9110 7.8)");
			break;
		}
		off += h.used;
		free(h.body);
		free(o.body);
	}
	free(h.body);
	free(o.body);
}

/* Read one file and diff it. */
static int
diff_file(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 size;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1) {
		fprintf(stderr, "diff_hparse: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "diff_hparse: %s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	diff_input(path, buf, (size_t)size);
	free(buf);
	return 0;
}

/* By name, for a stable order. */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file of a directory (READMEs left out), in name order. */
static int
diff_dir(const char *dir)
{
	struct dirent	 *e;
	DIR		 *d;
	char		**names = NULL, path[4096];
	size_t		  n = 0, i;
	int		  rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "diff_hparse: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
			continue;
		if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (names[n++] = strdup(e->d_name)) == NULL) {
			perror("diff_hparse");
			exit(2);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (diff_file(path) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* The counts, and each listed disagreement with its clause. */
static void
summary(void)
{
	size_t	i;

	printf("diff_hparse: %u inputs, %u requests: both take %u, both "
	    "refuse %u, both wait %u\n", n_inputs, n_requests, n_agree_take,
	    n_agree_refuse, n_agree_wait);
	for (i = 0; i < sizeof(stricter) / sizeof(stricter[0]); i++)
		if (n_stricter[i] > 0)
			printf("  hparse refuses, http_parser does not: %u \"%s\""
			    "\n      %s\n", n_stricter[i], stricter[i].why,
			    stricter[i].clause);
	if (n_waits > 0)
		printf("  hparse waits for a line's end, http_parser refuses "
		    "in it: %u\n", n_waits);
	for (i = 0; i < sizeof(laxer) / sizeof(laxer[0]); i++)
		if (n_laxer[i] > 0)
			printf("  http_parser refuses, hparse takes: %u %s\n"
			    "      %s\n", n_laxer[i], laxer[i].error,
			    laxer[i].reason);
	if (n_trailers > 0)
		printf("  http_parser refuses a framing field among trailers, "
		    "hparse drops it (RFC 9110 6.5.1): %u\n", n_trailers);
	if (n_urlbad > 0)
		printf("  http_parser's URL parser refuses an authority RFC "
		    "3986 3.2.2 allows; the rest agrees: %u\n", n_urlbad);
	if (n_closes > 0)
		printf("  hparse closes after it, http_parser keeps: %u\n",
		    n_closes);
	if (n_upgrades > 0)
		printf("  http_parser switches protocols, hparse reads on: "
		    "%u\n", n_upgrades);
	printf("diff_hparse: %u disagreements not listed\n", n_bad);
}

int
main(int argc, char **argv)
{
	struct stat	st;
	int		i, rc = 0;

	for (i = 1; i < argc && strcmp(argv[i], "-v") == 0; i++)
		verbose = 1;
	if (i == argc) {
		fprintf(stderr, "usage: diff_hparse [-v] FILE|DIR...\n");
		return 2;
	}
	for (; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "diff_hparse: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 2;
		} else if ((S_ISDIR(st.st_mode) ? diff_dir(argv[i]) :
		    diff_file(argv[i])) == -1)
			rc = 2;
	}
	summary();
	if (rc != 0)
		return rc;
	return n_bad > 0 ? 1 : 0;
}
