/*
 * Unit tests of primed-load's HTTP reader and request builder
 * (src/load/http.c): lengths, chunks, closes, interim responses, bad
 * responses and bounds, every response also fed in pieces of every size,
 * the way bytes arrive from a socket.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "load/http.h"
#include "check_main.h"

/* What reading a stream of responses gave. */
struct result {
	int	 done;		/* complete responses */
	int	 status;	/* of the last one */
	bool	 close;		/* of the last one */
	char	 body[256];	/* of the last one */
	char	 cur[256];	/* of the one being read */
	size_t	 cur_len;
	uint64_t total;		/* body bytes of all */
	bool	 bad;
	const char *why;
	enum http_step eof;	/* what the close said, when asked */
};

/* A response ended: keep its figures. */
static void
done(struct result *res, const struct http_resp *r)
{
	size_t n = res->cur_len < sizeof(res->cur) ? res->cur_len : 0;

	res->done++;
	res->status = r->status;
	res->close = r->close;
	memcpy(res->body, res->cur, n);
	res->body[n] = '\0';
	res->cur_len = 0;
}

/*
 * Feed wire (len bytes) in pieces of `piece` bytes, as the client does:
 * unconsumed bytes stay at the front and are offered again with the next
 * piece. With eof, the stream then ends with a close.
 */
static void
feed(const char *wire, size_t len, size_t piece, bool eof, struct result *res)
{
	struct http_resp r;
	char *pend = malloc(len + 1);
	size_t have = 0, off = 0, used, dlen;
	const char *data;
	enum http_step st;

	ck_assert_ptr_nonnull(pend);
	memset(res, 0, sizeof(*res));
	http_resp_init(&r);
	while (off < len && !res->bad) {
		size_t n = len - off < piece ? len - off : piece;

		memcpy(pend + have, wire + off, n);
		have += n;
		off += n;
		for (;;) {
			st = http_parse(&r, pend, have, &used, &data, &dlen);
			ck_assert_uint_le(used, have);
			if (st == HTTP_DATA) {
				ck_assert(dlen > 0 && data >= pend &&
				    data + dlen <= pend + have);
				if (res->cur_len + dlen < sizeof(res->cur))
					memcpy(res->cur + res->cur_len, data,
					    dlen);
				res->cur_len += dlen;
				res->total += dlen;
			}
			memmove(pend, pend + used, have - used);
			have -= used;
			if (st == HTTP_BAD) {
				res->bad = true;
				res->why = r.why;
				break;
			}
			if (st == HTTP_NEED)
				break;
			if (st == HTTP_DONE) {
				done(res, &r);
				http_resp_init(&r);
			}
		}
	}
	if (eof && !res->bad) {
		res->eof = http_eof(&r, have);
		if (res->eof == HTTP_DONE)
			done(res, &r);
		if (res->eof == HTTP_BAD) {
			res->bad = true;
			res->why = r.why;
		}
	}
	free(pend);
}

/* Read wire whole and in pieces of every size; all must agree. */
static void
read_all(const char *wire, bool eof, struct result *res)
{
	size_t len = strlen(wire), piece;
	struct result other;

	feed(wire, len, len, eof, res);
	for (piece = 1; piece < len; piece++) {
		feed(wire, len, piece, eof, &other);
		ck_assert_msg(other.done == res->done &&
		    other.bad == res->bad && other.status == res->status && other.close == res->close &&
		    other.total == res->total &&
		    strcmp(other.body, res->body) == 0,
		    "pieces of %zu read differently", piece);
	}
}

/* wire reads as one good response: status, body, close. */
static void
expect_one(const char *wire, bool eof, int status, const char *body,
    bool close)
{
	struct result res;

	read_all(wire, eof, &res);
	ck_assert_msg(!res.bad, "bad: %s", res.why ? res.why : "?");
	ck_assert_int_eq(res.done, 1);
	ck_assert_int_eq(res.status, status);
	ck_assert_str_eq(res.body, body);
	ck_assert_int_eq(res.close, close);
}

/* wire is a bad response. */
static void
expect_bad(const char *wire, bool eof)
{
	struct result res;

	read_all(wire, eof, &res);
	ck_assert_msg(res.bad, "read as good: %s", wire);
	ck_assert_ptr_nonnull(res.why);
}

START_TEST(test_content_length)
{
	expect_one("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n2\n", false,
	    200, "2\n", false);
	expect_one("HTTP/1.1 503 Service Unavailable\r\nServer: x\r\n"
	    "content-LENGTH:   5  \r\n\r\nbusy\n", false, 503, "busy\n",
	    false);
	expect_one("HTTP/1.1 200 OK\nContent-Length: 0\n\n", false, 200, "",
	    false);
	expect_one("HTTP/1.1 200\r\nContent-Length: 3, 3\r\n\r\nabc", false,
	    200, "abc", false);
	expect_one("HTTP/1.1 200 \r\nContent-Length: 1\r\nContent-Length: 1"
	    "\r\n\r\nx", false, 200, "x", false);
	expect_one("\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", false,
	    200, "x", false);
}
END_TEST

START_TEST(test_pipelined)
{
	struct result res;

	read_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n2\n"
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\n3\r\n0\r\n\r\n", false, &res);
	ck_assert(!res.bad);
	ck_assert_int_eq(res.done, 3);
	ck_assert_uint_eq(res.total, 7);
	ck_assert_str_eq(res.body, "3");
}
END_TEST

START_TEST(test_chunked)
{
	expect_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\n2\n\r\n0\r\n\r\n", false, 200, "2\n", false);
	expect_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
	    "A;ext=1 ; x\r\n0123456789\r\n00b \r\nabcdefghijk\r\n0\r\n"
	    "Trailer-One: 1\r\nTrailer-Two: 2\r\n\r\n", false, 200,
	    "0123456789abcdefghijk", false);
	expect_one("HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n1\nx\n0\n\n",
	    false, 200, "x", false);
	/* chunked last wins over Content-Length; the connection is spent */
	expect_one("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false, 200,
	    "x", true);
}
END_TEST

START_TEST(test_until_close)
{
	struct result res;

	expect_one("HTTP/1.0 200 OK\r\n\r\nhello", true, 200, "hello", true);
	expect_one("HTTP/1.1 200 OK\r\n\r\nhello\n", true, 200, "hello\n",
	    true);
	/* a coding other than chunked last: up to the close */
	expect_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"
	    "\r\n1\r\nx", true, 200, "1\r\nx", true);
	/* without the close, the response is not over */
	read_all("HTTP/1.0 200 OK\r\n\r\nhello", false, &res);
	ck_assert(!res.bad);
	ck_assert_int_eq(res.done, 0);
}
END_TEST

START_TEST(test_connection)
{
	expect_one("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, 200,
	    "x", true);
	expect_one("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
	    "Content-Length: 1\r\n\r\nx", false, 200, "x", false);
	expect_one("HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 1\r\n\r\nx", false, 200, "x", true);
	expect_one("HTTP/1.1 200 OK\r\nCONNECTION: upgrade , CLOSE\r\n"
	    "Content-Length: 1\r\n\r\nx", false, 200, "x", true);
	expect_one("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 1\r\n\r\nx", false, 200, "x", false);
	expect_one("HTTP/1.1 200 OK\r\nX-Connection: close\r\n"
	    "Content-Length: 1\r\n\r\nx", false, 200, "x", false);
}
END_TEST

START_TEST(test_no_body)
{
	struct result res;

	expect_one("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
	    false, 204, "", false);
	expect_one("HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, "", false);
	/* interim responses are skipped */
	expect_one("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
	    "Link: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	    false, 200, "x", false);
	expect_bad("HTTP/1.1 101 Switching Protocols\r\n\r\n", false);
	read_all("HTTP/1.1 100 Continue\r\n\r\n", false, &res);
	ck_assert(!res.bad && res.done == 0);
}
END_TEST

START_TEST(test_bad)
{
	static const char *bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
		    "\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n"
		    "\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n"
		    "\r\n",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "1\r\nxy\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "fffffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "-1\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], false);
}
END_TEST

START_TEST(test_nul)
{
	static const char wire[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct result res;

	feed(wire, sizeof(wire) - 1, sizeof(wire), false, &res);
	ck_assert(res.bad);
}
END_TEST

START_TEST(test_eof)
{
	struct result res;

	read_all("", true, &res);
	ck_assert(!res.bad && res.eof == HTTP_NEED && res.done == 0);
	read_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n2\n", true, &res);
	ck_assert(!res.bad && res.eof == HTTP_NEED && res.done == 1);
	expect_bad("HTTP/1.1 200 OK\r\nContent-Le", true);
	expect_bad("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n2", true);
	expect_bad("HTTP/1.1 100 Continue\r\n\r\n", true);
	expect_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\nx\r\n", true);
	expect_bad("HTTP/1.1 200", true);
}
END_TEST

/* A head of n bytes: status line, filler header, end. */
static char *
big_head(size_t n)
{
	static const char start[] = "HTTP/1.1 200 OK\r\nX: ";
	static const char end[] = "\r\nContent-Length: 0\r\n\r\n";
	char *s = malloc(n + 1);
	size_t fill = n - strlen(start) - strlen(end);

	ck_assert_ptr_nonnull(s);
	memcpy(s, start, strlen(start));
	memset(s + strlen(start), 'a', fill);
	memcpy(s + strlen(start) + fill, end, strlen(end) + 1);
	return s;
}

START_TEST(test_head_bound)
{
	struct result res;
	char *s;

	s = big_head(HTTP_MAX_HEAD);
	feed(s, strlen(s), 4096, false, &res);
	ck_assert(!res.bad && res.done == 1);
	free(s);
	s = big_head(HTTP_MAX_HEAD + 1);
	feed(s, strlen(s), 4096, false, &res);
	ck_assert(res.bad);
	free(s);
	/* a line that never ends is bad once past the bound */
	s = big_head(HTTP_MAX_HEAD * 2);
	feed(s, HTTP_MAX_HEAD + 100, 1000, false, &res);
	ck_assert(res.bad);
	free(s);
}
END_TEST

/* Feed a close-delimited body of n bytes; was it read whole? */
static bool
body_of(uint64_t n)
{
	static char chunk[1 << 16];
	struct http_resp r;
	const char *head = "HTTP/1.1 200 OK\r\n\r\n", *data;
	size_t used, dlen;
	uint64_t left = n, got = 0;
	enum http_step st;

	http_resp_init(&r);
	ck_assert_int_eq(http_parse(&r, head, strlen(head), &used, &data,
	    &dlen), HTTP_NEED);
	memset(chunk, 'b', sizeof(chunk));
	while (left > 0) {
		size_t k = left < sizeof(chunk) ? left : sizeof(chunk);

		st = http_parse(&r, chunk, k, &used, &data, &dlen);
		if (st == HTTP_BAD)
			return false;
		ck_assert_int_eq(st, HTTP_DATA);
		ck_assert_uint_eq(used, k);
		got += dlen;
		left -= k;
	}
	return got == n && http_eof(&r, 0) == HTTP_DONE;
}

START_TEST(test_body_bound)
{
	ck_assert(body_of(HTTP_MAX_BODY));
	ck_assert(!body_of(HTTP_MAX_BODY + 1));
}
END_TEST

/* Feed body in pieces of `piece` to a match for want. */
static bool
matches(const char *want, const char *body, size_t piece)
{
	struct http_match m;
	size_t off, n, len = strlen(body);

	http_match_init(&m, want, strlen(want));
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		http_match_feed(&m, body + off, n);
	}
	return http_match_ok(&m);
}

START_TEST(test_match)
{
	static const struct { const char *want, *body; bool ok; } c[] = {
		{ "2", "2\n", true }, { "2", "2\r\n", true },
		{ "2", "2", true },
		{ "2", "2\n\n", true }, { "", "", true }, { "", "\n", true },
		{ "2", "22", false }, { "2", "", false }, { "2", "3\n", false },
		{ "29", "2", false }, { "2", "2\nx", false },
		{ "1299709", "1299709\n", true }, { "ab", "a\nb", false },
	};
	size_t i, piece;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (piece = 1; piece <= 4; piece++)
			ck_assert_msg(matches(c[i].want, c[i].body, piece) ==
			    c[i].ok, "want '%s' body '%s'", c[i].want,
			    c[i].body);
}
END_TEST

START_TEST(test_request)
{
	size_t len;
	char *req;

	req = http_request("GET", "127.0.0.1", "8080", "/prime/1", NULL, false,
	    &len);
	ck_assert_str_eq(req, "GET /prime/1 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:8080\r\n\r\n");
	ck_assert_uint_eq(len, strlen(req));
	free(req);
	req = http_request("POST", "::1", "80", "/upper", "hello", true, &len);
	ck_assert_str_eq(req, "POST /upper HTTP/1.1\r\nHost: [::1]:80\r\n"
	    "Connection: close\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	ck_assert_uint_eq(len, strlen(req));
	free(req);
	req = http_request("POST", "h", "1", "/", "", false, &len);
	ck_assert_str_eq(req, "POST / HTTP/1.1\r\nHost: h:1\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n");
	free(req);
}
END_TEST

START_TEST(test_path)
{
	ck_assert(http_path_ok("/"));
	ck_assert(http_path_ok("/prime/100000?format=text"));
	ck_assert(!http_path_ok(""));
	ck_assert(!http_path_ok("prime/1"));
	ck_assert(!http_path_ok("/a b"));
	ck_assert(!http_path_ok("/a\r\nX: y"));
	ck_assert(!http_path_ok("/\x7f"));
	ck_assert(!http_path_ok("/\xc3\xa9"));
}
END_TEST

/* The suite. */
static Suite *
http_suite(void)
{
	Suite *s = suite_create("load_http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_content_length);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_until_close);
	tcase_add_test(tc, test_connection);
	tcase_add_test(tc, test_no_body);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_head_bound);
	tcase_add_test(tc, test_body_bound);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_request);
	tcase_add_test(tc, test_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(http_suite());
}
