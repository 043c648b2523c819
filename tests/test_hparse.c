/*
 * test_hparse.c: the HTTP/1.1 request parser (hparse.c): each rule it
 * enforces, with requests it must take and requests it must refuse, each
 * cut at every length (a cut request waits for more bytes, or is refused
 * as the whole one is, never read another way), and each bound exactly
 * at and one past it.
 *
 * Every parse is of an exact-size copy, so that a read past the bytes
 * given shows under valgrind (make check VALGRIND=1) or a sanitizer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primed.h"
#include "check_main.h"

/* A string literal with its length, NUL bytes included. */
#define LIT(s)	(s), (sizeof(s) - 1)

/* The longest decoded chunked body these tests allow (max-line). */
#define MAX	1024

/* hparse.c's bound on a chunk's size line, extensions included. */
#define CHUNK_LINE_MAX	1024

/* Heads: a POST or a GET with Host and the fields given. */
#define POST(fields)	"POST /echo HTTP/1.1\r\nHost: t\r\n" fields "\r\n"
#define GET(fields)	"GET /x HTTP/1.1\r\nHost: t\r\n" fields "\r\n"

/* A request that may follow another on the connection. */
#define NEXT		"GET /stats HTTP/1.1\r\nHost: t\r\n\r\n"

/* A copy of len bytes of s, in a buffer of exactly that size (free it). */
static char *
copy_exact(const char *s, size_t len)
{
	char	*b = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(b);
	memcpy(b, s, len);
	return b;
}

/* s and then t, in a buffer of their exact size (free it). */
static char *
concat(const char *s, size_t slen, const char *t, size_t tlen)
{
	char	*b = malloc(slen + tlen);

	ck_assert_ptr_nonnull(b);
	memcpy(b, s, slen);
	memcpy(b + slen, t, tlen);
	return b;
}

/* hparse_head on a copy of len bytes of s; h's pointers point into s. */
static int
parse_head(const char *s, size_t len, struct http_head *h)
{
	char	*b = copy_exact(s, len);
	int	 rc;

	memset(h, 0xa5, sizeof(*h));
	rc = hparse_head(b, len, h);
	if (h->path != NULL)
		h->path = s + (h->path - b);
	if (h->query != NULL)
		h->query = s + (h->query - b);
	free(b);
	return rc;
}

/* hparse_chunked on a copy of len bytes of s. */
static int
parse_chunked(const char *s, size_t len, size_t max, struct http_body *b)
{
	char	*c = copy_exact(s, len);
	int	 rc;

	memset(b, 0xa5, sizeof(*b));
	rc = hparse_chunked(c, len, max, b);
	free(c);
	return rc;
}

/*
 * Each cut of s shorter than len bytes wants more (0), or, when status is
 * not 0, is refused with status from some length on.
 */
static void
head_cuts(const char *what, const char *s, size_t len, int status)
{
	struct http_head	h;
	size_t			n;
	int			rc, refused = 0;

	for (n = 0; n < len; n++) {
		rc = parse_head(s, n, &h);
		if (rc == -1 && status != 0 && h.status == status) {
			refused = 1;
			continue;
		}
		ck_assert_msg(rc == 0 && !refused, "%s: cut at %zu of %zu "
		    "bytes: %d, status %d (%s)", what, n, len, rc,
		    rc == -1 ? h.status : 0, rc == -1 ? h.why : "");
	}
}

/*
 * s (len bytes) is one whole head: taken to its last byte, each cut
 * waits for more, and a request after it changes nothing. h is its
 * reading.
 */
static void
good_n(const char *what, const char *s, size_t len, struct http_head *h)
{
	struct http_head	 h2;
	char			*two;
	int			 rc;

	rc = parse_head(s, len, h);
	ck_assert_msg(rc == 1, "%s: %d, status %d (%s)", what, rc,
	    rc == -1 ? h->status : 0, rc == -1 ? h->why : "");
	ck_assert_msg(h->size == len, "%s: size %zu of %zu", what, h->size,
	    len);
	ck_assert_int_eq(h->status, 0);
	ck_assert_ptr_null(h->why);
	ck_assert_msg(h->path != NULL && h->pathlen > 0 && h->path[0] == '/' &&
	    h->path >= s && h->path + h->pathlen <= s + len,
	    "%s: path outside the head", what);
	head_cuts(what, s, len, 0);
	two = concat(s, len, LIT(NEXT));
	ck_assert_int_eq(parse_head(two, len + sizeof(NEXT) - 1, &h2), 1);
	ck_assert_uint_eq(h2.size, len);
	free(two);
}

/*
 * s (len bytes) is refused with status and a reason; its cuts wait or
 * are refused the same way, and so is s with a request after it.
 */
static void
bad_n(const char *what, const char *s, size_t len, int status)
{
	struct http_head	 h;
	char			*two;
	int			 rc;

	rc = parse_head(s, len, &h);
	ck_assert_msg(rc == -1, "%s: %d, want refused with %d", what, rc,
	    status);
	ck_assert_msg(h.status == status, "%s: status %d (%s), want %d",
	    what, h.status, h.why, status);
	ck_assert_msg(h.why != NULL && h.why[0] != '\0', "%s: no reason",
	    what);
	head_cuts(what, s, len, status);
	two = concat(s, len, LIT(NEXT));
	rc = parse_head(two, len + sizeof(NEXT) - 1, &h);
	ck_assert_msg(rc == -1 && h.status == status, "%s: with a request "
	    "after it: %d, status %d", what, rc, h.status);
	free(two);
}

#define good(s, h)	good_n((s), (s), strlen(s), (h))
#define bad(s, status)	bad_n((s), LIT(s), (status))

/* The method of the whole head s. */
static int
method(const char *s)
{
	struct http_head	h;

	good(s, &h);
	return h.method;
}

/* Does the whole head s ask to close after its answer? */
static int
closes(const char *s)
{
	struct http_head	h;

	good(s, &h);
	return h.close;
}

/* The path and query of "GET target HTTP/1.1" with a Host. */
static void
target_is(const char *target, const char *path, const char *query)
{
	struct http_head	 h;
	char			 req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
	    target);
	good(req, &h);
	ck_assert_msg(h.pathlen == strlen(path) &&
	    memcmp(h.path, path, h.pathlen) == 0, "%s: path %.*s, want %s",
	    target, (int)h.pathlen, h.path, path);
	if (query == NULL) {
		ck_assert_msg(h.query == NULL, "%s: a query", target);
		return;
	}
	ck_assert_msg(h.query != NULL && h.querylen == strlen(query) &&
	    memcmp(h.query, query, h.querylen) == 0, "%s: query %.*s, want "
	    "%s", target, h.query ? (int)h.querylen : 0,
	    h.query ? h.query : "", query);
}

/* "GET target HTTP/1.1" with a Host is refused with status. */
static void
target_bad(const char *target, int status)
{
	char	req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
	    target);
	bad_n(target, req, strlen(req), status);
}

/*
 * The chunked body s (len bytes) is whole, decodes to want (wantlen
 * bytes) in place, and each cut of it waits for more; a request after
 * it is not part of it.
 */
static void
chunked_good_n(const char *what, const char *s, size_t len,
    const char *want, size_t wantlen)
{
	struct http_body	 b;
	size_t			 n;
	char			*buf;
	int			 rc;

	rc = parse_chunked(s, len, MAX, &b);
	ck_assert_msg(rc == 1, "%s: %d, status %d (%s)", what, rc,
	    rc == -1 ? b.status : 0, rc == -1 ? b.why : "");
	ck_assert_msg(b.wire == len, "%s: wire %zu of %zu", what, b.wire,
	    len);
	ck_assert_msg(b.len == wantlen, "%s: length %zu, want %zu", what,
	    b.len, wantlen);
	ck_assert_int_eq(b.status, 0);
	for (n = 0; n < len; n++) {
		rc = parse_chunked(s, n, MAX, &b);
		ck_assert_msg(rc == 0, "%s: cut at %zu of %zu bytes: %d, "
		    "status %d (%s)", what, n, len, rc, rc == -1 ? b.status : 0,
		    rc == -1 ? b.why : "");
	}
	buf = concat(s, len, LIT(NEXT));
	ck_assert_int_eq(hparse_chunked(buf, len + sizeof(NEXT) - 1, MAX,
	    &b), 1);
	ck_assert_uint_eq(b.wire, len);
	ck_assert_uint_eq(hparse_unchunk(buf, b.wire), wantlen);
	ck_assert_msg(memcmp(buf, want, wantlen) == 0, "%s: decoded wrong",
	    what);
	/* What follows the body is left as it was. */
	ck_assert_mem_eq(buf + len, NEXT, sizeof(NEXT) - 1);
	free(buf);
}

/*
 * The chunked body s (len bytes) is refused with status and a reason,
 * with max-line max; its cuts wait or are refused the same way.
 */
static void
chunked_bad_n(const char *what, const char *s, size_t len, size_t max,
    int status)
{
	struct http_body	b;
	size_t			n;
	int			rc, refused = 0;

	rc = parse_chunked(s, len, max, &b);
	ck_assert_msg(rc == -1 && b.status == status, "%s: %d, status %d, "
	    "want refused with %d", what, rc, rc == -1 ? b.status : 0,
	    status);
	ck_assert_msg(b.why != NULL && b.why[0] != '\0', "%s: no reason",
	    what);
	for (n = 0; n < len; n++) {
		rc = parse_chunked(s, n, max, &b);
		if (rc == -1 && b.status == status) {
			refused = 1;
			continue;
		}
		ck_assert_msg(rc == 0 && !refused, "%s: cut at %zu of %zu "
		    "bytes: %d, status %d", what, n, len, rc,
		    rc == -1 ? b.status : 0);
	}
}

#define chunked_good(s, want)	chunked_good_n((s), LIT(s), LIT(want))
#define chunked_bad(s, status)	chunked_bad_n((s), LIT(s), MAX, (status))

/* A chunk of one byte whose size line is exactly n bytes (n >= 5). */
static char *
chunk_line(size_t n)
{
	char	*s = malloc(n + 16);

	ck_assert_ptr_nonnull(s);
	memcpy(s, "1;e=", 4);
	memset(s + 4, 'x', n - 4);
	memcpy(s + n, "\r\nz\r\n0\r\n\r\n", 11);
	return s;
}

/* An HTTP/1.1 GET of exactly len bytes (len >= 40), padded by a field. */
static char *
sized_head(size_t len)
{
	static const char	 pre[] = "GET /x HTTP/1.1\r\nHost: t\r\nX-Pad: ";
	char			*s = malloc(len + 1);
	size_t			 p = sizeof(pre) - 1;

	ck_assert_ptr_nonnull(s);
	memcpy(s, pre, p);
	memset(s + p, 'a', len - p - 4);
	memcpy(s + len - 4, "\r\n\r\n", 4);
	s[len] = '\0';
	return s;
}

/* "GET /aaa... HTTP/1.0" and its CRLF, len bytes in all (len >= 17). */
static char *
sized_line(size_t len)
{
	char	*s = malloc(len + 3);

	ck_assert_ptr_nonnull(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', len - 16);
	memcpy(s + len - 11, " HTTP/1.0\r\n\r\n", 14);
	return s;
}

/* A GET with n fields (Host and n - 1 others), into buf; its length. */
static size_t
many_fields(char *buf, size_t size, int n)
{
	size_t	len;
	int	i;

	len = (size_t)snprintf(buf, size, "GET /x HTTP/1.1\r\nHost: t\r\n");
	for (i = 1; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "X-%d: %d\r\n",
		    i, i);
	len += (size_t)snprintf(buf + len, size - len, "\r\n");
	ck_assert_uint_lt(len, size);
	return len;
}

/* A last chunk with trailers of exactly len bytes, its CRLF included. */
static char *
sized_trailers(size_t len, size_t *total)
{
	static const char	 pre[] = "0\r\nX-Pad: ";
	char			*s = malloc(len + sizeof(pre));
	size_t			 p = sizeof(pre) - 1;

	ck_assert_ptr_nonnull(s);
	memcpy(s, pre, p);
	memset(s + p, 'a', len - (p - 3) - 4);
	memcpy(s + 3 + len - 4, "\r\n\r\n", 4);
	*total = len + 3;
	return s;
}

/* A last chunk with n trailer fields into buf; its length. */
static size_t
many_trailers(char *buf, size_t size, int n)
{
	size_t	len = (size_t)snprintf(buf, size, "0\r\n");
	int	i;

	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "T-%d: %d\r\n",
		    i, i);
	len += (size_t)snprintf(buf + len, size - len, "\r\n");
	ck_assert_uint_lt(len, size);
	return len;
}

START_TEST(methods)
{
	ck_assert_int_eq(method(GET("")), METHOD_GET);
	ck_assert_int_eq(method("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n"),
	    METHOD_HEAD);
	ck_assert_int_eq(method(POST("")), METHOD_POST);
	ck_assert_int_eq(method("PUT /x HTTP/1.1\r\nHost: t\r\n\r\n"),
	    METHOD_OTHER);
	ck_assert_int_eq(method("OPTIONS /x HTTP/1.1\r\nHost: t\r\n\r\n"),
	    METHOD_OTHER);
	/* A method is any token, and is case-sensitive. */
	ck_assert_int_eq(method("!#$%&'*+-.^_`|~09az "
	    "/x HTTP/1.1\r\nHost: t\r\n\r\n"), METHOD_OTHER);
	ck_assert_int_eq(method("get /x HTTP/1.1\r\nHost: t\r\n\r\n"),
	    METHOD_OTHER);
	ck_assert_int_eq(method("GETS /x HTTP/1.1\r\nHost: t\r\n\r\n"),
	    METHOD_OTHER);
	bad("G@T /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("G\"T /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad_n("NUL in the method", LIT("G\0T /x HTTP/1.1\r\nHost: t\r\n\r\n"),
	    400);
	bad("G\x01T /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("G\x80T /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	/* CONNECT is answered 501, and closed by the caller. */
	bad("CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", 501);
	bad("CONNECT /x HTTP/1.1\r\nHost: t\r\n\r\n", 501);
}
END_TEST

START_TEST(versions)
{
	struct http_head	h;

	good("GET /x HTTP/1.0\r\n\r\n", &h);
	ck_assert_int_eq(h.minor, 0);
	good(GET(""), &h);
	ck_assert_int_eq(h.minor, 1);
	bad("GET /x HTTP/1.9\r\nHost: t\r\n\r\n", 505);
	bad("GET /x HTTP/1.2\r\nHost: t\r\n\r\n", 505);
	bad("GET /x HTTP/2.0\r\nHost: t\r\n\r\n", 505);
	bad("GET /x HTTP/3.0\r\nHost: t\r\n\r\n", 505);
	bad("GET /x HTTP/0.9\r\nHost: t\r\n\r\n", 505);
	bad("GET /x HTTP/9.9\r\nHost: t\r\n\r\n", 505);
	bad("GET /x HTTP/1.10\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/01.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/11\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.x\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/x.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x http/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTPS/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.1 \r\nHost: t\r\n\r\n", 400);
	/* HTTP/0.9's request line has no version. */
	bad("GET /x\r\n\r\n", 400);
}
END_TEST

START_TEST(request_line)
{
	struct http_head	h;

	bad("GET  /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x  HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad(" GET /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET\t/x\tHTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x\tHTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x y HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET\r\nHost: t\r\n\r\n", 400);
	bad("\r\n\r\nGET\r\n\r\n", 400);
	/* Empty lines before the request line are skipped (RFC 9112 2.2). */
	good("\r\n\r\n" GET(""), &h);
	ck_assert_int_eq(h.method, METHOD_GET);
	/* ... but not a bare LF, and not without end. */
	bad("\n" GET(""), 400);
	{
		char	*s = malloc(HTTP_HEAD_MAX);
		size_t	 i;

		ck_assert_ptr_nonnull(s);
		for (i = 0; i < HTTP_HEAD_MAX; i += 2)
			memcpy(s + i, "\r\n", 2);
		bad_n("8 KiB of empty lines", s, HTTP_HEAD_MAX, 400);
		free(s);
	}
}
END_TEST

START_TEST(targets)
{
	struct http_head	h;

	target_is("/", "/", NULL);
	target_is("/x", "/x", NULL);
	target_is("/prime/1", "/prime/1", NULL);
	target_is("/x?a=b", "/x", "a=b");
	target_is("/x?", "/x", "");
	target_is("/x?a?b", "/x", "a?b");
	target_is("/a/b//c", "/a/b//c", NULL);
	target_is("/%2F%2Fx", "/%2F%2Fx", NULL);
	/* Absolute-form: its path counts, and the connection then closes. */
	target_is("http://t/x?y", "/x", "y");
	target_is("HTTPS://t:443/x", "/x", NULL);
	good("GET http://t/x HTTP/1.1\r\nHost: t\r\n\r\n", &h);
	ck_assert(h.absolute);
	ck_assert(h.close);
	target_bad("http://t", 400);
	target_bad("http://", 400);
	target_bad("http:///x", 400);
	target_bad("ftp://t/x", 400);
	/* Some read "//x" as the host x. */
	target_bad("//x", 400);
	target_bad("//", 400);
	target_bad("x", 400);
	target_bad("*", 400);
	target_bad("t:80", 400);
	target_bad("/x\x7f", 400);
	target_bad("/x\x80", 400);
	target_bad("/x\x01", 400);
	bad_n("NUL in the target", LIT("GET /x\0 HTTP/1.1\r\nHost: t\r\n\r\n"),
	    400);
}
END_TEST

/*
 * What follows an authority's query or fragment is not a path: a front
 * end reads "http://t?/stats" as the root with a query, never /stats.
 */
START_TEST(targets_authority_ends)
{
	target_bad("http://t?/stats", 400);
	target_bad("http://t#/stats", 400);
	target_bad("http://t?a/b", 400);
}
END_TEST

/* A fragment is not sent (RFC 9112 3.2): "/x#/y" is no path of ours. */
START_TEST(targets_fragment)
{
	target_bad("/x#y", 400);
	target_bad("/stats#", 400);
	target_bad("/x?a#b", 400);
	target_bad("http://t/x#y", 400);
}
END_TEST

START_TEST(line_ends)
{
	bad("GET /x HTTP/1.1\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\n\n", 400);
	bad("GET /x HTTP/1.1\nHost: t\n\n", 400);
	bad("GET /x HTTP/1.0\n\n", 400);
	bad("GET /x\rHTTP/1.1\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\n\r\r\n", 400);
	bad("GET /x HTTP/1.1\r\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\n\rX", 400);
}
END_TEST

START_TEST(field_names)
{
	struct http_head	h;

	bad(GET(": x\r\n"), 400);
	bad(GET(":\r\n"), 400);
	bad(GET("X : y\r\n"), 400);
	bad(GET("X\t: y\r\n"), 400);
	bad(GET("X Y: z\r\n"), 400);
	bad(GET("X y\r\n"), 400);
	bad(GET("X(y): z\r\n"), 400);
	bad(GET("X\x80: y\r\n"), 400);
	bad(GET("X\x01: y\r\n"), 400);
	bad_n("NUL in a name", LIT(GET("X\0: y\r\n")), 400);
	bad("GET /x HTTP/1.1\r\nHost : t\r\n\r\n", 400);
	good(GET("!#$%&'*+-.^_`|~09az: v\r\n"), &h);
	/* Folded lines (obs-fold), after a field or first. */
	bad(GET("X: a\r\n b\r\n"), 400);
	bad(GET("X: a\r\n\tb\r\n"), 400);
	bad("GET /x HTTP/1.1\r\n Host: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\n\tHost: t\r\n\r\n", 400);
}
END_TEST

START_TEST(field_values)
{
	struct http_head	h;

	bad_n("NUL in a value", LIT(GET("X: a\0b\r\n")), 400);
	bad_n("NUL ending a value", LIT(GET("X: a\0\r\n")), 400);
	bad(GET("X: a\x01" "b\r\n"), 400);
	bad(GET("X: a\x0b" "b\r\n"), 400);
	bad(GET("X: a\x0c" "b\r\n"), 400);
	bad(GET("X: a\x1f" "b\r\n"), 400);
	bad(GET("X: a\x7f" "b\r\n"), 400);
	good(GET("X: a\tb c\r\n"), &h);
	good(GET("X: \x80\xff caf\xc3\xa9\r\n"), &h);
	good(GET("X:\r\n"), &h);
	good(GET("X: \t \r\n"), &h);
	/* Blanks around a value are not part of it. */
	good(POST("Content-Length: \t5 \t\r\n"), &h);
	ck_assert_uint_eq(h.length, 5);
	good(POST("Content-Length:5\r\n"), &h);
	ck_assert_uint_eq(h.length, 5);
}
END_TEST

START_TEST(host)
{
	struct http_head	h;

	bad("GET /x HTTP/1.1\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nX: y\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\nhost: u\r\n\r\n", 400);
	bad("GET /x HTTP/1.0\r\nHost: t\r\nHOST: u\r\n\r\n", 400);
	bad("GET http://t/x HTTP/1.1\r\n\r\n", 400);
	good("GET /x HTTP/1.0\r\n\r\n", &h);
	good("GET /x HTTP/1.1\r\nhost: t\r\n\r\n", &h);
	/* An empty Host is allowed (RFC 9112 3.2). */
	good("GET /x HTTP/1.1\r\nHost:\r\n\r\n", &h);
}
END_TEST

/* "Host: v" on a GET: taken (1) or refused with 400 (0). */
static void
host_value(const char *v, int ok)
{
	struct http_head	h;
	char			req[256];

	snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: %s\r\n\r\n", v);
	if (ok)
		good_n(v, req, strlen(req), &h);
	else
		bad_n(v, req, strlen(req), 400);
}

/*
 * RFC 9112 3.2: a Host that is not uri-host [ ":" port ] MUST be refused
 * with 400; so must an absolute-form target's authority, which stands
 * for Host (and userinfo in it is an error, RFC 9110 4.2.4).
 */
START_TEST(host_values)
{
	host_value("t", 1);
	host_value("127.0.0.1:8080", 1);
	host_value("[::1]:8080", 1);
	host_value("[::1]", 1);
	host_value("[fe80::1%25eth0]:80", 1);
	host_value("example.com:", 1);
	host_value("a-b_c~d.e", 1);
	host_value("%41b", 1);
	host_value("x!$&'()*+,;=", 1);
	host_value("a b", 0);
	host_value("a/b", 0);
	host_value("a@b", 0);
	host_value("a?b", 0);
	host_value("a#b", 0);
	host_value("t:x", 0);
	host_value("t:80:90", 0);
	host_value("t:-1", 0);
	host_value("[::1", 0);
	host_value("[::1]x", 0);
	host_value("[::1]:x", 0);
	host_value("[a b]", 0);
	host_value("%4", 0);
	host_value("%zz", 0);
	host_value("a\"b", 0);
	host_value("a<b>", 0);
	host_value("caf\xc3\xa9", 0);
	host_value("a\tb", 0);
	target_is("http://[::1]:80/x", "/x", NULL);
	target_is("http://t:80/x", "/x", NULL);
	target_bad("http://u@t/x", 400);
	target_bad("http://t:x/x", 400);
	target_bad("http://a\"b/x", 400);
	target_bad("http://a<b/x", 400);
	target_bad("http://[::1/x", 400);
}
END_TEST

START_TEST(content_length)
{
	struct http_head	h;

	good(POST("Content-Length: 5\r\n"), &h);
	ck_assert(h.has_length);
	ck_assert_uint_eq(h.length, 5);
	ck_assert(!h.chunked);
	good(POST(""), &h);
	ck_assert(!h.has_length);
	ck_assert_uint_eq(h.length, 0);
	good(POST("Content-Length: 0\r\n"), &h);
	ck_assert(h.has_length);
	good(POST("content-length: 00005\r\n"), &h);
	ck_assert_uint_eq(h.length, 5);
	good(POST("Content-Length: 1844674407370955161\r\n"), &h);
	ck_assert_uint_eq(h.length, UINT64_C(1844674407370955161));
	bad(POST("Content-Length: +5\r\n"), 400);
	bad(POST("Content-Length: -5\r\n"), 400);
	bad(POST("Content-Length: 0x5\r\n"), 400);
	bad(POST("Content-Length: 5a\r\n"), 400);
	bad(POST("Content-Length: 5 5\r\n"), 400);
	bad(POST("Content-Length: 5,5\r\n"), 400);
	bad(POST("Content-Length: 5, 5\r\n"), 400);
	bad(POST("Content-Length: 5.0\r\n"), 400);
	bad(POST("Content-Length:\r\n"), 400);
	bad(POST("Content-Length: \r\n"), 400);
	bad(POST("Content-Length: 18446744073709551616\r\n"), 400);
	bad(POST("Content-Length: 99999999999999999999\r\n"), 400);
	bad(POST("Content-Length: 100000000000000000000000000\r\n"), 400);
	bad(POST("Content-Length: 5\r\nContent-Length: 5\r\n"), 400);
	bad(POST("Content-Length: 5\r\nContent-Length: 6\r\n"), 400);
	bad(POST("Content-Length: 5\r\ncontent-length: 0\r\n"), 400);
	/* A body on GET or HEAD could hide a request: refused; none is not. */
	bad(GET("Content-Length: 5\r\n"), 400);
	bad("HEAD /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n", 400);
	good(GET("Content-Length: 0\r\n"), &h);
}
END_TEST

START_TEST(transfer_encoding)
{
	struct http_head	h;

	good(POST("Transfer-Encoding: chunked\r\n"), &h);
	ck_assert(h.chunked);
	ck_assert(!h.close);
	good(POST("transfer-encoding: Chunked\r\n"), &h);
	ck_assert(h.chunked);
	good(POST("Transfer-Encoding: CHUNKED \r\n"), &h);
	ck_assert(h.chunked);
	good(POST("Transfer-Encoding:\tchunked\r\n"), &h);
	ck_assert(h.chunked);
	bad(POST("Transfer-Encoding: xchunked\r\n"), 400);
	bad(POST("Transfer-Encoding: chunkedx\r\n"), 400);
	bad(POST("Transfer-Encoding: chunk\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked, identity\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked;q=1\r\n"), 400);
	bad(POST("Transfer-Encoding: identity\r\n"), 400);
	bad(POST("Transfer-Encoding: gzip\r\n"), 400);
	bad(POST("Transfer-Encoding:\r\n"), 400);
	bad(POST("Transfer-Encoding: \x0b" "chunked\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\x0b\r\n"), 400);
	bad(POST("Transfer-Encoding: \"chunked\"\r\n"), 400);
	/* A coding before chunked is one primed does not have. */
	bad(POST("Transfer-Encoding: gzip, chunked\r\n"), 501);
	bad(POST("Transfer-Encoding: identity,chunked\r\n"), 501);
	bad(POST("Transfer-Encoding: gzip ,\tchunked\r\n"), 501);
	bad(POST("Transfer-Encoding: chunked, chunked\r\n"), 501);
	/* Two fields, in either order. */
	bad(POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
	    400);
	bad(POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
	    400);
	bad(POST("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
	    400);
	/* Beside a length. */
	bad(POST("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), 400);
	/* On GET or HEAD. */
	bad(GET("Transfer-Encoding: chunked\r\n"), 400);
	bad("HEAD /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400);
	/* Another name is another field: no coding, no body. */
	good(POST("Transfer_Encoding: chunked\r\n"), &h);
	ck_assert(!h.chunked);
	good(POST("Transfer-Encodings: chunked\r\n"), &h);
	ck_assert(!h.chunked);
}
END_TEST

/* A coded HTTP/1.0 request is answered, then closed (RFC 9112 6.1). */
START_TEST(http10_chunked_closes)
{
	struct http_head	h;

	good("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
	ck_assert(h.chunked);
	ck_assert(h.close);
	good("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h);
	ck_assert(h.close);
}
END_TEST

START_TEST(connection)
{
	ck_assert(!closes(GET("")));
	ck_assert(closes(GET("Connection: close\r\n")));
	ck_assert(closes(GET("Connection: Close\r\n")));
	ck_assert(closes(GET("Connection: keep-alive, close\r\n")));
	ck_assert(closes(GET("Connection: x,close\r\n")));
	ck_assert(closes(GET("Connection: x\r\nConnection: close\r\n")));
	ck_assert(!closes(GET("Connection: closed\r\n")));
	ck_assert(!closes(GET("Connection: keep-alive\r\n")));
	ck_assert(!closes(GET("X-Connection: close\r\n")));
	ck_assert(closes("GET /x HTTP/1.0\r\n\r\n"));
	ck_assert(!closes("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
	ck_assert(!closes("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
	ck_assert(closes("GET /x HTTP/1.0\r\nConnection: keep-alive, close"
	    "\r\n\r\n"));
	ck_assert(closes("GET http://t/x HTTP/1.1\r\nHost: t\r\n\r\n"));
}
END_TEST

START_TEST(expect)
{
	struct http_head	h;

	good(POST("Content-Length: 5\r\nExpect: 100-continue\r\n"), &h);
	ck_assert(h.expect);
	good(POST("Expect: 100-Continue\r\nContent-Length: 5\r\n"), &h);
	ck_assert(h.expect);
	good(POST("Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n"),
	    &h);
	ck_assert(h.expect);
	/* Nothing to wait for: nothing to say. */
	good(POST("Expect: 100-continue\r\n"), &h);
	ck_assert(!h.expect);
	good(POST("Content-Length: 0\r\nExpect: 100-continue\r\n"), &h);
	ck_assert(!h.expect);
	good(GET("Expect: 100-continue\r\n"), &h);
	ck_assert(!h.expect);
	bad(POST("Content-Length: 5\r\nExpect: foo\r\n"), 417);
	bad(POST("Expect: 100-continue, foo\r\n"), 417);
	bad(POST("Expect:\r\n"), 417);
}
END_TEST

/* RFC 9110 10.1.1: an HTTP/1.0 request's 100-continue is ignored. */
START_TEST(expect_http10)
{
	struct http_head	h;

	good("POST /echo HTTP/1.0\r\nContent-Length: 5\r\n"
	    "Expect: 100-continue\r\n\r\n", &h);
	ck_assert(!h.expect);
}
END_TEST

START_TEST(accept)
{
	struct http_head	h;

	good(GET("Accept: text/plain\r\n"), &h);
	ck_assert(h.text);
	good(GET("Accept: text/plain, application/json\r\n"), &h);
	ck_assert(!h.text);
	good(GET("Accept: */*\r\n"), &h);
	ck_assert(!h.text);
	good(GET(""), &h);
	ck_assert(!h.text);
}
END_TEST

START_TEST(head_size)
{
	struct http_head	 h;
	char			*s;

	s = sized_head(HTTP_HEAD_MAX);
	good_n("a head of 8 KiB", s, HTTP_HEAD_MAX, &h);
	free(s);
	s = sized_head(HTTP_HEAD_MAX + 1);
	bad_n("a head of 8 KiB + 1", s, HTTP_HEAD_MAX + 1, 431);
	free(s);
	/* The request line alone: 414 past the bound, 431 at it. */
	s = sized_line(HTTP_HEAD_MAX - 2);
	good_n("a request line of 8 KiB - 2", s, HTTP_HEAD_MAX, &h);
	free(s);
	s = sized_line(HTTP_HEAD_MAX);
	bad_n("a request line of 8 KiB", s, HTTP_HEAD_MAX + 2, 431);
	free(s);
	s = sized_line(HTTP_HEAD_MAX + 1);
	bad_n("a request line of 8 KiB + 1", s, HTTP_HEAD_MAX + 3, 414);
	free(s);
	/* ... and 8 KiB of one, cut before its end. */
	s = sized_line(HTTP_HEAD_MAX + 2);
	bad_n("8 KiB of a request line", s, HTTP_HEAD_MAX, 414);
	free(s);
}
END_TEST

START_TEST(field_count)
{
	struct http_head	h;
	char			buf[4096];
	size_t			len;

	len = many_fields(buf, sizeof(buf), HTTP_FIELDS_MAX);
	good_n("100 fields", buf, len, &h);
	len = many_fields(buf, sizeof(buf), HTTP_FIELDS_MAX + 1);
	bad_n("101 fields", buf, len, 431);
}
END_TEST

START_TEST(chunked)
{
	chunked_good("5\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
	chunked_good("0\r\n\r\n", "");
	chunked_good("A\r\n0123456789\r\n0\r\n\r\n", "0123456789");
	chunked_good("a\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n", "0123456789!");
	chunked_good("005\r\nhello\r\n0000\r\n\r\n", "hello");
	/* What a chunk holds is data, whatever it looks like. */
	chunked_good("9\r\n0\r\n\r\nGET \r\n0\r\n\r\n", "0\r\n\r\nGET ");
	chunked_good_n("binary data", LIT("3\r\n\0\r\n\r\n0\r\n\r\n"),
	    LIT("\0\r\n"));
}
END_TEST

START_TEST(chunk_sizes)
{
	chunked_bad("0x5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("+5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad(" 5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("\t5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("-5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("g\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5g\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5 5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad_n("NUL after a size", LIT("5\0\r\nhello\r\n0\r\n\r\n"), MAX,
	    400);
	/* 2^64 does not fit; 2^64 - 1 does, and is too long. */
	chunked_bad("10000000000000000\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("FFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", 413);
	chunked_bad("00000000000000000000000000000000010000000000000000\r\n"
	    "hello\r\n0\r\n\r\n", 400);
}
END_TEST

START_TEST(chunk_extensions)
{
	chunked_good("5;a=b\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a;b\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a=b;c=d\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5 ;a=b\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5\t;a=b\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5; a = b\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a=\"b c\"\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a=\"b\\\"c\\\\\"\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("5;a=\"\x80\xff\"\r\nhello\r\n0\r\n\r\n", "hello");
	chunked_good("0;a=b\r\n\r\n", "");
	chunked_bad("5;\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;=b\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;;a\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=b c\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a b\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=\"b\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=\"b\\\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5;a=b@\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5x\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad_n("NUL in an extension", LIT("5;a\0\r\nhello\r\n0\r\n\r\n"),
	    MAX, 400);
}
END_TEST

START_TEST(chunk_framing)
{
	chunked_bad("5\r\nhelloX\r\n0\r\n\r\n", 400);
	chunked_bad("5\r\nhell\r\n0\r\n\r\n", 400);
	chunked_bad("5\r\nhello\n0\r\n\r\n", 400);
	chunked_bad("5\r\nhello\r0\r\n\r\n", 400);
	chunked_bad("5\r\nhello\rX0\r\n\r\n", 400);
	chunked_bad("5\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("5\rhello\r\n0\r\n\r\n", 400);
	chunked_bad("5\r\nhello\r\n0\n\n", 400);
	chunked_bad("5\r\nhello\r\n0\r\n\n", 400);
	/* Trailers: fields, read and dropped. */
	chunked_good("0\r\nX: y\r\n\r\n", "");
	chunked_good("5\r\nhello\r\n0\r\nX: y\r\nZ:\r\n\r\n", "hello");
	chunked_bad("0\r\nX y\r\n\r\n", 400);
	chunked_bad("0\r\n: y\r\n\r\n", 400);
	chunked_bad("0\r\nX : y\r\n\r\n", 400);
	chunked_bad("0\r\nX: y\r\n z\r\n\r\n", 400);
	chunked_bad("0\r\n z\r\n\r\n", 400);
	chunked_bad("0\r\nX: y\n\r\n", 400);
	chunked_bad("0\r\nX: y\x01\r\n\r\n", 400);
	chunked_bad_n("NUL in a trailer", LIT("0\r\nX: \0\r\n\r\n"), MAX, 400);
}
END_TEST

START_TEST(chunk_limits)
{
	char	*s, *body;
	size_t	 i, len;

	body = malloc(2 * MAX + 64);
	ck_assert_ptr_nonnull(body);
	/* max-line decoded bytes, in one chunk or two; one more is 413. */
	len = (size_t)sprintf(body, "%x\r\n", MAX);
	memset(body + len, 'a', MAX);
	len += MAX;
	len += (size_t)sprintf(body + len, "\r\n0\r\n\r\n");
	s = calloc(1, MAX + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, 'a', MAX);
	chunked_good_n("max-line in one chunk", body, len, s, MAX);
	len = (size_t)sprintf(body, "%x\r\n", MAX + 1);
	memset(body + len, 'a', MAX + 1);
	len += MAX + 1;
	len += (size_t)sprintf(body + len, "\r\n0\r\n\r\n");
	chunked_bad_n("max-line + 1 in one chunk", body, len, MAX, 413);
	len = (size_t)sprintf(body, "%x\r\n", MAX);
	memset(body + len, 'a', MAX);
	len += MAX;
	len += (size_t)sprintf(body + len, "\r\n1\r\na\r\n0\r\n\r\n");
	chunked_bad_n("max-line + 1 in two chunks", body, len, MAX, 413);
	free(s);
	free(body);
	/* Small chunks with long extensions: bounded on the wire too. */
	body = malloc(16 * 1024);
	ck_assert_ptr_nonnull(body);
	for (len = 0, i = 0; i < 12; i++) {
		len += (size_t)sprintf(body + len, "1;e=");
		memset(body + len, 'x', 1000);
		len += 1000;
		len += (size_t)sprintf(body + len, "\r\nz\r\n");
	}
	len += (size_t)sprintf(body + len, "0\r\n\r\n");
	chunked_bad_n("chunk lines past the wire bound", body, len, MAX, 413);
	free(body);
}
END_TEST

/* A size line of exactly the bound is taken, cut anywhere; one more not. */
START_TEST(chunk_line_bound)
{
	char	*s;

	s = chunk_line(CHUNK_LINE_MAX);
	chunked_good_n("a chunk line at the bound", s, CHUNK_LINE_MAX + 10,
	    "z", 1);
	free(s);
	s = chunk_line(CHUNK_LINE_MAX + 1);
	chunked_bad_n("a chunk line past the bound", s, CHUNK_LINE_MAX + 11,
	    MAX, 400);
	free(s);
}
END_TEST

/* A size line past the bound is refused as one, whether whole or not. */
START_TEST(chunk_line_reason)
{
	struct http_body	 b;
	char			*s;

	s = chunk_line(CHUNK_LINE_MAX + 1);
	ck_assert_int_eq(parse_chunked(s, CHUNK_LINE_MAX + 2, MAX, &b), -1);
	ck_assert_str_eq(b.why, "chunk line too long");
	ck_assert_int_eq(parse_chunked(s, CHUNK_LINE_MAX + 11, MAX, &b), -1);
	ck_assert_str_eq(b.why, "chunk line too long");
	free(s);
}
END_TEST

START_TEST(trailer_size)
{
	char	*s;
	size_t	 len;

	s = sized_trailers(HTTP_HEAD_MAX, &len);
	chunked_good_n("trailers of 8 KiB", s, len, "", 0);
	free(s);
	s = sized_trailers(HTTP_HEAD_MAX + 1, &len);
	chunked_bad_n("trailers of 8 KiB + 1", s, len, MAX, 431);
	free(s);
}
END_TEST

/* As many trailer fields as a head may have fields, and no more. */
START_TEST(trailer_count)
{
	char	buf[4096];
	size_t	len;

	len = many_trailers(buf, sizeof(buf), HTTP_FIELDS_MAX);
	chunked_good_n("100 trailers", buf, len, "", 0);
	len = many_trailers(buf, sizeof(buf), HTTP_FIELDS_MAX + 1);
	chunked_bad_n("101 trailers", buf, len, MAX, 431);
}
END_TEST

/* The framing defects of the evhttp build, one by one. */
START_TEST(old_defects)
{
	struct http_head	h;

	chunked_bad("0x5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad("+5\r\nhello\r\n0\r\n\r\n", 400);
	chunked_bad(" 5\r\nhello\r\n0\r\n\r\n", 400);
	bad(POST("Content-Length: +5\r\n"), 400);
	bad_n("NUL in a value", LIT(POST("X: a\0b\r\n")), 400);
	bad(POST(": x\r\n"), 400);
	good("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h);
	ck_assert(h.close);
	chunked_good("5;a=b\r\nhello\r\n0\r\n\r\n", "hello");
	bad("GET /x HTTP/1.9\r\nHost: t\r\n\r\n", 505);
	bad("CONNECT t:443 HTTP/1.1\r\nHost: t\r\n\r\n", 501);
}
END_TEST

/* The classic request smuggling cases: refused, or read one way. */
START_TEST(smuggling)
{
	/* CL.TE and TE.CL. */
	bad(POST("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"), 400);
	/* TE.TE: an obfuscated coding. */
	bad(POST("Transfer-Encoding: xchunked\r\n"), 400);
	bad(POST("Transfer-Encoding : chunked\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n"),
	    400);
	bad(POST("Transfer-Encoding: chunked, identity\r\n"), 400);
	bad(POST("Transfer-Encoding:\x0b" "chunked\r\n"), 400);
	bad(POST("Transfer-Encoding:\x0c" "chunked\r\n"), 400);
	bad(POST("X: y\r\n Transfer-Encoding: chunked\r\n"), 400);
	bad(POST("Transfer-Encoding:\r\n chunked\r\n"), 400);
	bad(POST("Transfer-Encoding\r\n: chunked\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\rX: y\r\n"), 400);
	bad(POST("Transfer-Encoding: chunked\nX: y\r\n"), 400);
	bad_n("NUL before chunked", LIT(POST("Transfer-Encoding: \0chunked\r\n")),
	    400);
	bad(POST("Transfer-Encoding: \xc2\xa0" "chunked\r\n"), 400);
	/* Lengths read two ways. */
	bad(POST("Content-Length: 5\r\nContent-Length: 50\r\n"), 400);
	bad(POST("Content-Length: 5\r\n Content-Length: 50\r\n"), 400);
	bad(POST("Content-Length: 5\r\n 0\r\n"), 400);
	bad(POST("Content-Length: 5 0\r\n"), 400);
	bad(POST("Content-Length: -1\r\n"), 400);
	bad(POST("Content-Length: 5\nX: y\r\n"), 400);
	bad(POST("Content-Length\r\n: 5\r\n"), 400);
	bad(POST("Content-Length:\x0b" "5\r\n"), 400);
	bad_n("NUL after a length", LIT(POST("Content-Length: 5\0\r\n")), 400);
	/* A body on a HEAD or GET that holds a request. */
	bad("GET /x HTTP/1.1\r\nHost: t\r\nContent-Length: 33\r\n\r\n", 400);
	/* A head cut by a bare CR or LF into two requests. */
	bad("GET /x HTTP/1.1\r\nHost: t\nGET /stats HTTP/1.1\r\nHost: t\r\n"
	    "\r\n", 400);
	bad("GET /x HTTP/1.1\r\nHost: t\r\rGET /stats HTTP/1.1\r\n\r\n", 400);
}
END_TEST

static Suite *
hparse_suite(void)
{
	Suite	*s = suite_create("hparse");
	TCase	*tc;

	tc = tcase_create("request line");
	tcase_add_test(tc, methods);
	tcase_add_test(tc, versions);
	tcase_add_test(tc, request_line);
	tcase_add_test(tc, targets);
	tcase_add_test(tc, targets_authority_ends);
	tcase_add_test(tc, targets_fragment);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, line_ends);
	tcase_add_test(tc, field_names);
	tcase_add_test(tc, field_values);
	tcase_add_test(tc, host);
	tcase_add_test(tc, host_values);
	tcase_add_test(tc, content_length);
	tcase_add_test(tc, transfer_encoding);
	tcase_add_test(tc, http10_chunked_closes);
	tcase_add_test(tc, connection);
	tcase_add_test(tc, expect);
	tcase_add_test(tc, expect_http10);
	tcase_add_test(tc, accept);
	suite_add_tcase(s, tc);

	tc = tcase_create("head limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, head_size);
	tcase_add_test(tc, field_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunked");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, chunked);
	tcase_add_test(tc, chunk_sizes);
	tcase_add_test(tc, chunk_extensions);
	tcase_add_test(tc, chunk_framing);
	tcase_add_test(tc, chunk_limits);
	tcase_add_test(tc, chunk_line_bound);
	tcase_add_test(tc, chunk_line_reason);
	tcase_add_test(tc, trailer_size);
	tcase_add_test(tc, trailer_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("smuggling");
	tcase_add_test(tc, old_defects);
	tcase_add_test(tc, smuggling);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(hparse_suite());
}
