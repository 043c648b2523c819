/*
 * test_http.c: the http service of a real primed, over raw sockets.
 *
 * The routes and their statuses, keep-alive, HTTP/1.0, and what a hostile
 * client can send: smuggling attempts, huge headers, bodies that never
 * end, deep pipelines, odd paths and request lines. After each, the same
 * worker must still answer (no crash, no respawn). Long jobs use the trial
 * kernel with n = 10^7 (about a day), so they are always running when a
 * test looks.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"
#include "expect.h"
#include "check_main.h"

#define KIB		1024

static struct server	srv;
static long		worker_pid;

/* A response as read off the wire. */
struct resp {
	int	 status;
	char	 head[8192];
	char	 body[65536];
	size_t	 bodylen;
};

/* A new connection to the http listener. */
static int
connect_http(void)
{
	int	fd = client_connect(server_port(&srv, "http"));

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	return fd;
}

/* Read up to and with "\r\n\r\n" into r->head; -1 on EOF or timeout. */
static int
read_head(int fd, struct resp *r)
{
	size_t	n = 0;
	ssize_t	k;

	while (n + 1 < sizeof(r->head)) {
		if ((k = recv(fd, r->head + n, 1, 0)) != 1)
			return -1;
		n++;
		if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	r->head[n] = '\0';
	return sscanf(r->head, "HTTP/1.%*d %d", &r->status) == 1 ? 0 : -1;
}

/* The value of header name in r->head, or NULL (static buffer). */
static const char *
header(const struct resp *r, const char *name)
{
	static char	 val[256];
	const char	*p = r->head;
	size_t		 len = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
			p += len + 1;
			while (*p == ' ')
				p++;
			snprintf(val, sizeof(val), "%.*s",
			    (int)strcspn(p, "\r\n"), p);
			return val;
		}
	}
	return NULL;
}

/* Read one whole response (Content-Length framed); -1 on failure. */
static int
read_resp(int fd, struct resp *r)
{
	const char	*cl;
	size_t		 want;
	ssize_t		 k;

	memset(r, 0, sizeof(*r));
	if (read_head(fd, r) == -1)
		return -1;
	if ((cl = header(r, "Content-Length")) == NULL) {
		/* HTTP/1.0: the body runs until the server closes. */
		if (strncmp(r->head, "HTTP/1.0", 8) != 0)
			return 0;
		while (r->bodylen + 1 < sizeof(r->body) && (k = recv(fd,
		    r->body + r->bodylen, sizeof(r->body) - 1 - r->bodylen,
		    0)) > 0)
			r->bodylen += (size_t)k;
		r->body[r->bodylen] = '\0';
		return 0;
	}
	want = (size_t)strtoul(cl, NULL, 10);
	if (want >= sizeof(r->body))
		return -1;
	while (r->bodylen < want) {
		if ((k = recv(fd, r->body + r->bodylen, want - r->bodylen,
		    0)) <= 0)
			return -1;
		r->bodylen += (size_t)k;
	}
	r->body[r->bodylen] = '\0';
	return 0;
}

/* Send req on fd and read the response into r. */
static void
ask_http(int fd, const char *req, struct resp *r)
{
	ck_assert_int_eq(client_sends(fd, req), 0);
	ck_assert_msg(read_resp(fd, r) == 0, "no response to %.40s", req);
}

/* GET path on a fresh connection; the response in r. */
static void
get(const char *path, struct resp *r)
{
	char	req[512];
	int	fd = connect_http();

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	ask_http(fd, req, r);
	close(fd);
}

/* Expect status and body on a GET of path. */
static void
expect_get(const char *path, int status, const char *body)
{
	struct resp	r;

	get(path, &r);
	ck_assert_msg(r.status == status, "GET %s: %d, want %d", path,
	    r.status, status);
	if (body != NULL)
		ck_assert_str_eq(r.body, body);
}

/*
 * GET path on a fresh connection, given up after a second (it may sit
 * with a stalled worker's accept queue): 0 with the response in r, or -1.
 */
static int
try_get(const char *path, struct resp *r)
{
	struct timeval	tv = { 1, 0 };
	char		req[512];
	int		fd = connect_http(), rc = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	if (client_sends(fd, req) == 0)
		rc = read_resp(fd, r);
	close(fd);
	return rc == 0 && r->status == 200 ? 0 : -1;
}

/*
 * The number after "key": in the /status object of the worker whose pid
 * is pid, in body; -1 when that worker is not there.
 */
static long
worker_field(const char *body, long pid, const char *key)
{
	char		 pat[64];
	const char	*w, *end, *v;

	snprintf(pat, sizeof(pat), "\"pid\":%ld,", pid);
	if ((w = strstr(body, "\"per_worker\":[")) == NULL ||
	    (w = strstr(w, pat)) == NULL || (end = strchr(w, '}')) == NULL)
		return -1;
	while (*w != '{')
		w--;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((v = strstr(w, pat)) == NULL || v > end)
		return -1;
	return atol(v + strlen(pat));
}

/* The worker that served everything still does, and is the only one. */
static void
assert_same_worker(void)
{
	pid_t	pids[4];
	int	fd = client_connect(server_port(&srv, "prime"));

	ck_assert_int_ge(fd, 0);
	expect_reply(fd, "PING\n", "PONG");
	ck_assert_int_eq(client_stat(fd, "pid"), worker_pid);
	close(fd);
	expect_get("/healthz", 200, "ok\n");
	ck_assert_int_eq(server_workers(&srv, pids, 4), 1);
	ck_assert_int_eq(pids[0], worker_pid);
}

/* The server: one worker, http beside the line protocol. */
static void
start_http(void)
{
	int	fd;

	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "2",
	    "--kernel", "trial", "--log-level", "error", "--read-timeout", "2",
	    "--listen", "prime=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
	    (char *)NULL), 0);
	fd = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(fd, 0);
	worker_pid = client_stat(fd, "pid");
	close(fd);
	ck_assert_int_gt(worker_pid, 0);
}

static void
stop_server(void)
{
	server_stop(&srv);
}

START_TEST(routes)
{
	struct resp	r;
	int		fd;

	expect_get("/prime/1", 200, "{\"n\":1,\"prime\":2}\n");
	expect_get("/prime/1000", 200, "{\"n\":1000,\"prime\":7919}\n");
	expect_get("/prime/10?format=text", 200, "29\n");
	expect_get("/prime/0007?format=json", 200, "{\"n\":7,\"prime\":17}\n");
	expect_get("/healthz", 200, "ok\n");
	expect_get("/readyz", 200, "ready\n");
	get("/stats", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"workers\":1"));
	get("/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE primed_requests_total "
	    "counter"));
	ck_assert_ptr_nonnull(strstr(header(&r, "Content-Type"),
	    "version=0.0.4"));
	fd = connect_http();
	ask_http(fd, "POST /upper HTTP/1.1\r\nHost: t\r\nContent-Length: 11"
	    "\r\n\r\nhello world", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "HELLO WORLD");
	/* Same connection: keep-alive. */
	ask_http(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3"
	    "\r\n\r\nabc", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "abc");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(errors)
{
	struct resp	r;
	int		fd;

	expect_get("/prime/0", 400, "{\"error\":\"out-of-range\",\"message\":"
	    "\"n must be 1..max-n\"}\n");
	expect_get("/prime/99999999999999999999", 400, NULL);
	expect_get("/prime/12x", 400, "{\"error\":\"bad-request\","
	    "\"message\":\"not a number\"}\n");
	expect_get("/prime/", 400, NULL);
	expect_get("/prime/5?format=xml", 400, NULL);
	expect_get("/nope", 404, NULL);
	expect_get("/index.html", 404, NULL);
	expect_get("/status/", 404, NULL);
	fd = connect_http();
	ask_http(fd, "POST /prime/5 HTTP/1.1\r\nHost: t\r\nContent-Length: 0"
	    "\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
	ask_http(fd, "GET /upper HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(header(&r, "Allow"), "POST");
	ask_http(fd, "DELETE /stats HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 405);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(http10_and_head)
{
	struct resp	r;
	int		fd = connect_http();

	/* HTTP/1.0 without keep-alive: one answer, then the close. */
	ask_http(fd, "GET /prime/3 HTTP/1.0\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"n\":3,\"prime\":5}\n");
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* HEAD: the head of GET with its length, no body; then keep-alive. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "HEAD /healthz HTTP/1.1\r\n"
	    "Host: t\r\n\r\n"), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(read_head(fd, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Length"), "3");
	ask_http(fd, "GET /prime/4 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_str_eq(r.body, "{\"n\":4,\"prime\":7}\n");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(smuggling)
{
	struct resp	r;
	int		fd = connect_http();

	/* Both lengths: refused, and the connection closed. */
	ask_http(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* A body on a HEAD has no meaning and could hide a request. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "HEAD /healthz HTTP/1.1\r\nHost: t"
	    "\r\nContent-Length: 37\r\n\r\nGET /stats HTTP/1.1\r\nHost: t"
	    "\r\n\r\n"), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(read_head(fd, &r), 0);	/* a HEAD's: no body */
	ck_assert_int_eq(r.status, 400);
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* A coding other than chunked, and a name with a blank in it. */
	fd = connect_http();
	ask_http(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
	    "identity\r\n\r\nGET /stats HTTP/1.1\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert(client_eof(fd, 5));
	close(fd);
	fd = connect_http();
	ask_http(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length : 5"
	    "\r\n\r\nhello", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* Two Content-Lengths that disagree: the same. */
	fd = connect_http();
	ask_http(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
	    "Content-Length: 5\r\n\r\nhello", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert(client_eof(fd, 5));
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(huge_headers)
{
	struct resp	 r;
	char		*big;
	size_t		 i, len;
	int		 fd;

	/* A header line of 1 MiB: refused (past 8 KiB of head) and closed. */
	len = 1024 * KIB;
	big = malloc(len + 64);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "GET /healthz HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', len);
	memcpy(big + 26 + len, "\r\n\r\n", 5);
	fd = connect_http();
	(void)client_send_until_stuck(fd, big, 26 + len + 4, 1.0);
	free(big);
	ck_assert_int_eq(read_resp(fd, &r), 0);
	ck_assert_int_eq(r.status, 431);
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* 10 000 small headers: past 100 fields. */
	len = 10000 * 8 + 64;
	big = malloc(len);
	ck_assert_ptr_nonnull(big);
	strcpy(big, "GET /healthz HTTP/1.1\r\n");
	len = strlen(big);
	for (i = 0; i < 10000; i++, len += 6)
		memcpy(big + len, "A: b\r\n", 6);
	memcpy(big + len, "\r\n", 3);
	fd = connect_http();
	(void)client_send_until_stuck(fd, big, strlen(big), 1.0);
	free(big);
	ck_assert_int_eq(read_resp(fd, &r), 0);
	ck_assert_int_eq(r.status, 431);
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* 200 headers of 40 bytes: 8 KiB of head and more: 431. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "GET /healthz HTTP/1.1\r\n"), 0);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(client_sends(fd,
		    "X-Padding: 0123456789012345678901234567\r\n"), 0);
	ask_http(fd, "\r\n", &r);
	ck_assert_int_eq(r.status, 431);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(body_limits)
{
	struct resp	 r;
	char		 req[256];
	int		 fd = connect_http();

	/* Over max-line (1024): 413. */
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", 100000);
	ck_assert_int_eq(client_sends(fd, req), 0);
	ck_assert_int_eq(read_resp(fd, &r), 0);
	ck_assert_int_eq(r.status, 413);
	close(fd);
	/* A body that never ends: closed by the read timeout (2 s). */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 100\r\n\r\nonly some"), 0);
	ck_assert(client_eof(fd, 10));
	close(fd);
	/* A request line that never ends: the same. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "GET /prime/1"), 0);
	ck_assert(client_eof(fd, 10));
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(odd_requests)
{
	struct resp	r;
	int		fd;

	expect_get("/prime/%31", 400, NULL);
	expect_get("/prime/1%00", 400, NULL);
	expect_get("/x/../prime/1", 404, NULL);
	expect_get("/prime/../healthz", 400, NULL);
	/* Absolute form: the path is what counts. */
	expect_get("http://example.org/prime/5", 200,
	    "{\"n\":5,\"prime\":11}\n");
	/* Not a path: "//x/metrics" would reach /metrics past a front end. */
	expect_get("//x/metrics", 400, NULL);
	expect_get("ftp://x/prime/1", 400, NULL);
	/* No version on the request line: refused by the parser. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "GET /prime/5\r\n\r\n"), 0);
	ck_assert_int_eq(read_resp(fd, &r), 0);
	ck_assert_int_eq(r.status, 400);
	close(fd);
	/* Garbage. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "\x01\x02\xff junk\r\n\r\n"), 0);
	ck_assert_int_eq(read_resp(fd, &r), 0);
	ck_assert_int_eq(r.status, 400);
	close(fd);
	assert_same_worker();
}
END_TEST

/*
 * Send len bytes of req on a fresh connection; read the response into r.
 * close_after: expect the server to close the connection after it.
 */
static void
exchange(const char *req, size_t len, struct resp *r, int close_after)
{
	int	fd = connect_http();

	ck_assert_int_eq(client_send(fd, req, len), 0);
	ck_assert_msg(read_resp(fd, r) == 0, "no response to \"%.40s\"", req);
	if (close_after) {
		ck_assert_ptr_nonnull(header(r, "Connection"));
		ck_assert_str_eq(header(r, "Connection"), "close");
		ck_assert_msg(client_eof(fd, 5), "open after \"%.40s\"", req);
	}
	close(fd);
}

/* Expect status, a JSON error body, and the close, for req. */
static void
expect_refused(const char *req, size_t len, int status)
{
	struct resp	r;

	exchange(req, len, &r, 1);
	ck_assert_msg(r.status == status, "\"%.50s\": %d, want %d", req,
	    r.status, status);
	ck_assert_str_eq(header(&r, "Content-Type"), "application/json");
	ck_assert_msg(strncmp(r.body, "{\"error\":\"", 10) == 0,
	    "\"%.40s\": body %s", req, r.body);
	ck_assert_ptr_nonnull(header(&r, "Content-Length"));
}

#define REFUSED(req, status)	expect_refused((req), sizeof(req) - 1, (status))

/*
 * Framing read strictly, each refusal answered with a length and a JSON
 * body, then the close: where the next request would start is in doubt.
 */
START_TEST(strict_framing)
{
	/* CONNECT: answered with a length, then closed. */
	REFUSED("CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: x\r\n\r\n", 501);
	REFUSED("CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n", 501);
	/* Lengths and chunk sizes: digits only. */
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\n"
	    "hello", 400);
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n"
	    "\r\nhello", 400);
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n", 400);
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400);
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", 400);
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400);
	/* A NUL in a value, an empty name, a folded line, a bare LF. */
	REFUSED("GET /healthz HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n", 400);
	REFUSED("GET /healthz HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n", 400);
	REFUSED("GET /healthz HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400);
	REFUSED("GET /healthz HTTP/1.1\nHost: t\r\n\r\n", 400);
	/* Codings: unknown 501, chunked not last 400. */
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n\r\n0\r\n\r\n", 501);
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
	    "chunked, gzip\r\n\r\n0\r\n\r\n", 400);
	/* Versions: 1.0 and 1.1 only. */
	REFUSED("GET /healthz HTTP/1.9\r\nHost: t\r\n\r\n", 505);
	REFUSED("GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n", 505);
	/* HTTP/1.1 needs one Host. */
	REFUSED("GET /healthz HTTP/1.1\r\n\r\n", 400);
	REFUSED("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	/* Expect: something else than 100-continue. */
	REFUSED("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: fly\r\n"
	    "Content-Length: 1\r\n\r\nx", 417);
	assert_same_worker();
}
END_TEST

START_TEST(chunked_bodies)
{
	static const char ext[] = "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n"
	    "1;q=\"x y\"\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n";
	static const char old[] = "POST /echo HTTP/1.0\r\nConnection: "
	    "keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
	    "\r\n";
	struct resp	r;

	/* A chunk extension and a trailer are fine. */
	exchange(ext, sizeof(ext) - 1, &r, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello!");
	/* HTTP/1.0 with a coding: answered, then closed (RFC 9112 6.1). */
	exchange(old, sizeof(old) - 1, &r, 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hi");
	assert_same_worker();
}
END_TEST

START_TEST(continue_and_keepalive)
{
	struct resp	r;
	char		buf[64];
	int		fd = connect_http();

	/* Expect: 100-continue gets its interim answer, then the response. */
	ck_assert_int_eq(client_sends(fd, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"), 0);
	ck_assert_int_eq(recv(fd, buf, 25, MSG_WAITALL), 25);
	ck_assert_int_eq(memcmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), 0);
	ask_http(fd, "abc", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "abc");
	/* A Date in RFC 1123's form. */
	ck_assert_uint_eq(strlen(header(&r, "Date")), 29);
	ck_assert_str_eq(header(&r, "Date") + 25, " GMT");
	/* Connection: close is honoured, and said. */
	ask_http(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	    "\r\n", &r);
	ck_assert_str_eq(header(&r, "Connection"), "close");
	ck_assert(client_eof(fd, 5));
	close(fd);
	/* HTTP/1.0 that asks for keep-alive gets it, and is told so. */
	fd = connect_http();
	ask_http(fd, "GET /prime/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    &r);
	ck_assert_str_eq(header(&r, "Connection"), "keep-alive");
	ask_http(fd, "GET /prime/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    &r);
	ck_assert_str_eq(r.body, "{\"n\":3,\"prime\":5}\n");
	close(fd);
	assert_same_worker();
}
END_TEST

/* Refusals of every kind are answered, counted as requests and errors. */
START_TEST(refusals_counted)
{
	static const char bad[] = "GET /x HTTP/1.9\r\nHost: t\r\n\r\n";
	struct resp	r;
	int		ctl = client_connect(server_port(&srv, "prime"));
	long		req0, other0, v505, e0;

	ck_assert_int_ge(ctl, 0);
	req0 = client_stat(ctl, "requests");
	other0 = client_stat(ctl, "other");
	v505 = client_stat(ctl, "505");
	e0 = client_stat(ctl, "bad-request");
	exchange(bad, sizeof(bad) - 1, &r, 1);
	ck_assert_int_eq(r.status, 505);
	expect_get("/nope", 404, NULL);
	/* 2 answers, and the STATS asked in between: 4 more requests. */
	ck_assert_int_eq(client_wait_stat(ctl, "505", v505 + 1, 5), v505 + 1);
	ck_assert_int_eq(client_stat(ctl, "other"), other0 + 2);
	ck_assert_int_eq(client_stat(ctl, "bad-request"), e0 + 1);
	ck_assert_int_ge(client_stat(ctl, "requests"), req0 + 4);
	close(ctl);
}
END_TEST

/*
 * A half request behind one whose answer waits (a job of a day) is under
 * the read timeout (2 s here) all the same.
 */
START_TEST(half_request_behind_a_job)
{
	int	fd = connect_http(), ctl;
	long	cancelled0;

	ctl = client_connect(server_port(&srv, "prime"));
	cancelled0 = client_stat(ctl, "jobs_cancelled");
	ck_assert_int_eq(client_sends(fd, "GET /prime/10000000 HTTP/1.1\r\n"
	    "Host: t\r\n\r\nGET /prime/1 HTTP/1.1\r\nHo"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 1, 10), 1);
	ck_assert_msg(client_eof(fd, 10), "not closed by the read timeout");
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_cancelled",
	    cancelled0 + 1, 10), cancelled0 + 1);
	close(fd);
	close(ctl);
	assert_same_worker();
}
END_TEST

/* Poll STATS until key is at most most; its last value. */
static long
wait_stat_at_most(int fd, const char *key, long most, double t)
{
	double	deadline = now_s() + t;
	long	v;

	while ((v = client_stat(fd, key)) > most && now_s() < deadline)
		sleep_s(0.05);
	return v;
}

/* Poll STATS until key is at least least; its last value. */
static long
wait_stat_at_least(int fd, const char *key, long least, double t)
{
	double	deadline = now_s() + t;
	long	v;

	while ((v = client_stat(fd, key)) < least && now_s() < deadline)
		sleep_s(0.05);
	return v;
}

/*
 * Unfinished heads count against the worker's memory (here 1 MiB): of
 * 200 connections with 7 KiB of head each, those that hold the most are
 * closed (with a 503) until the worker is under it, and the rest are let
 * go when their clients leave. The asking STATS line itself (6 bytes) is
 * input too.
 */
START_TEST(unfinished_heads_counted)
{
	enum { N = 200, PART = 7 * KIB };
	struct server	 small;
	struct resp	 r;
	char		*part = malloc(PART);
	int		 fds[N], i, ctl, shed = 0;
	long		 held, in0;

	ck_assert_ptr_nonnull(part);
	memset(&small, 0, sizeof(small));
	ck_assert_int_eq(server_start(&small, "--workers", "1",
	    "--read-timeout", "60", "--max-reply-memory", "1",
	    "--log-level", "error", "--listen", "prime=127.0.0.1:0",
	    "--listen", "http=127.0.0.1:0", (char *)NULL), 0);
	ctl = client_connect(server_port(&small, "prime"));
	ck_assert_int_ge(ctl, 0);
	memcpy(part, "GET /healthz HTTP/1.1\r\nX: ", 26);
	memset(part + 26, 'a', PART - 26);
	in0 = client_stat(ctl, "bytes_in");
	for (i = 0; i < N; i++) {
		fds[i] = client_connect(server_port(&small, "http"));
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(client_send(fds[i], part, PART), 0);
	}
	/* Every byte read, then the worker back under its cap. */
	ck_assert_int_ge(wait_stat_at_least(ctl, "bytes_in", in0 + N * PART,
	    10), in0 + N * PART);
	held = wait_stat_at_most(ctl, "input_bytes", 1024 * KIB + 6, 10);
	ck_assert_msg(held <= 1024 * KIB + 6 && held > 100 * PART,
	    "input_bytes %ld", held);
	for (i = 0; i < N; i++) {
		if (!client_readable(fds[i], 0))
			continue;
		ck_assert_int_eq(read_resp(fds[i], &r), 0);
		ck_assert_int_eq(r.status, 503);
		shed++;
	}
	ck_assert_msg(shed >= N - 1024 * KIB / PART, "%d shed", shed);
	/* Each shed client was answered 503, and counted once as such. */
	ck_assert_int_eq(client_stat(ctl, "503"), shed);
	ck_assert_int_eq(client_stat(ctl, "busy"), shed);
	for (i = 0; i < N; i++)
		client_reset(fds[i]);
	ck_assert_int_eq(wait_stat_at_most(ctl, "input_bytes", 6, 10), 6);
	free(part);
	close(ctl);
	server_stop(&small);
}
END_TEST

/* The largest chunked request the limits allow, trailers and all. */
static char *
big_chunked(int trailers, size_t *len)
{
	char	*b = malloc(40 * KIB);
	size_t	 n = 0, body0;
	int	 i;

	ck_assert_ptr_nonnull(b);
	n += (size_t)sprintf(b + n, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n");
	for (i = 0; n < 8000; i++)
		n += (size_t)sprintf(b + n, "X-Pad-%d: %0200d\r\n", i, 0);
	n += (size_t)sprintf(b + n, "\r\n");
	for (body0 = n; n - body0 < 9800; )
		n += (size_t)sprintf(b + n, "1;e=%0200d\r\nA\r\n", 0);
	n += (size_t)sprintf(b + n, "0\r\n");
	for (i = 0; trailers && n - body0 < 9800 + 7800; i++)
		n += (size_t)sprintf(b + n, "X-T-%d: %0200d\r\n", i, 0);
	n += (size_t)sprintf(b + n, "\r\n");
	*len = n;
	return b;
}

/*
 * A chunked body is answered or refused, never left waiting for bytes the
 * connection has no room to buffer: within its framing bound it is read,
 * and past it (trailers count) it is 413 at once.
 */
START_TEST(chunked_bound_answered)
{
	struct resp	 r;
	char		*req;
	size_t		 len;

	req = big_chunked(0, &len);
	exchange(req, len, &r, 0);
	free(req);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.bodylen, 47);
	req = big_chunked(1, &len);
	exchange(req, len, &r, 1);
	free(req);
	ck_assert_int_eq(r.status, 413);
	assert_same_worker();
}
END_TEST

/* An empty body to upper: an empty answer (no NULL copied anywhere). */
START_TEST(empty_upper)
{
	struct resp	r;
	int		fd;

	exchange("POST /upper HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
	    "\r\n", 52, &r, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.bodylen, 0);
	exchange("POST /upper HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n0\r\n\r\n", 66, &r, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.bodylen, 0);
	fd = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_sends(fd, "UPPER \n"), 0);
	expect_line(fd, "");
	close(fd);
	assert_same_worker();
}
END_TEST

/*
 * A client that pipelines without end and never reads: without a bound
 * the worker would buffer all of its requests or their answers. The
 * server stops taking bytes, and its memory stays put.
 */
START_TEST(pipeline_never_read)
{
	enum { CHUNK = 64 * KIB };
	char	*buf = malloc(CHUNK), one[64];
	long	 rss0 = proc_rss(worker_pid), rss;
	size_t	 sent = 0, len, i;
	int	 fd = connect_http(), k;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_gt(rss0, 0);
	len = (size_t)snprintf(one, sizeof(one), "GET /stats HTTP/1.1\r\n"
	    "Host: t\r\n\r\n");
	for (i = 0; i + len <= CHUNK; i += len)
		memcpy(buf + i, one, len);
	for (k = 0; k < 1000; k++) {
		size_t n = client_send_until_stuck(fd, buf, i, 0.5);

		sent += n;
		if (n < i)
			break;
	}
	ck_assert_msg(k < 1000, "the server took all %zu bytes", sent);
	rss = proc_rss(worker_pid);
	ck_assert_msg(rss - rss0 < 32 * 1024 * KIB, "RSS grew by %ld KiB "
	    "after %zu bytes", (rss - rss0) / KIB, sent);
	client_reset(fd);
	free(buf);
	assert_same_worker();
}
END_TEST

START_TEST(pipeline_deep)
{
	enum { N = 1000 };
	struct resp	 r;
	char		*all, one[64];
	size_t		 len;
	int		 fd = connect_http(), i;

	len = (size_t)snprintf(one, sizeof(one), "GET /prime/10 HTTP/1.1\r\n"
	    "Host: t\r\n\r\n");
	all = malloc(len * N);
	ck_assert_ptr_nonnull(all);
	for (i = 0; i < N; i++)
		memcpy(all + (size_t)i * len, one, len);
	/* Sent while reading, so neither side's buffers fill up. */
	for (i = 0; i < N; i += 100) {
		ck_assert_int_eq(client_send(fd, all + (size_t)i * len,
		    100 * len), 0);
	}
	for (i = 0; i < N; i++) {
		ck_assert_msg(read_resp(fd, &r) == 0, "reply %d missing", i);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(r.body, "{\"n\":10,\"prime\":29}\n");
	}
	free(all);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(client_gone_cancels_job)
{
	int	fd, ctl = client_connect(server_port(&srv, "prime"));
	long	cancelled0 = client_stat(ctl, "jobs_cancelled");

	/* A day of work, asked for and then walked away from: a reset... */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "GET /prime/10000000 HTTP/1.1\r\n"
	    "Host: t\r\n\r\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 1, 10), 1);
	client_reset(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_cancelled",
	    cancelled0 + 1, 10), cancelled0 + 1);
	/* ...and a plain close. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "GET /prime/9999999 HTTP/1.1\r\n"
	    "Host: t\r\n\r\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 1, 10), 1);
	close(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_cancelled",
	    cancelled0 + 2, 10), cancelled0 + 2);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 0, 10), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 10), 1);
	close(ctl);
	assert_same_worker();
}
END_TEST

START_TEST(many_connections)
{
	enum { N = 300 };
	struct resp	r;
	int		fds[N], i;

	for (i = 0; i < N; i++)
		fds[i] = connect_http();
	for (i = 0; i < N; i++)
		ck_assert_int_eq(client_sends(fds[i], "GET /prime/100 "
		    "HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(read_resp(fds[i], &r), 0);
		ck_assert_str_eq(r.body, "{\"n\":100,\"prime\":541}\n");
		close(fds[i]);
	}
	assert_same_worker();
}
END_TEST

/* --- small limits: one pool thread, a queue of one, 1 s jobs deadline --- */

static void
start_small(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "1",
	    "--kernel", "trial", "--queue-limit", "1", "--job-timeout", "1",
	    "--max-connections", "4", "--log-level", "error",
	    "--listen", "prime=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
	    (char *)NULL), 0);
}

START_TEST(busy_timeout_and_limit)
{
	struct resp	r;
	int		a = connect_http(), b = connect_http(), c = connect_http();
	int		ctl = client_connect(server_port(&srv, "prime")), d;

	ck_assert_int_eq(client_sends(a, "GET /prime/10000000 HTTP/1.1\r\n"
	    "Host: t\r\n\r\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 1, 10), 1);
	ck_assert_int_eq(client_sends(b, "GET /prime/10000001 HTTP/1.1\r\n"
	    "Host: t\r\n\r\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_queued", 1, 10), 1);
	/* Queue full: 503 with Retry-After, and readiness says busy. */
	ask_http(c, "GET /prime/10000002 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(header(&r, "Retry-After"));
	ask_http(c, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 503);
	/* Four connections open: a fifth is refused with 503... */
	d = connect_http();
	ck_assert_int_eq(read_resp(d, &r), 0);
	ck_assert_int_eq(r.status, 503);
	close(d);
	/* ...and on the line service too: the limit counts both. */
	d = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(d, 0);
	expect_line_prefix(d, "ERR busy");
	close(d);
	/* Both jobs run past the 1 s deadline: 504. */
	ck_assert_int_eq(read_resp(a, &r), 0);
	ck_assert_int_eq(r.status, 504);
	ck_assert_int_eq(read_resp(b, &r), 0);
	ck_assert_int_eq(r.status, 504);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 0, 10), 0);
	close(a);
	close(b);
	close(c);
	close(ctl);
}
END_TEST

/* --- the latency histogram --- */

/* The value of the sample line that starts with name in a /metrics body. */
static double
metric(const char *body, const char *name)
{
	const char	*p = body;
	size_t		 len = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == body || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p += len;
	}
	ck_abort_msg("no sample %s", name);
	return -1;
}

/*
 * A request read together with a slow one arrives with it: PING behind a
 * blocking UPPER of 200 ms counts the wait in its latency.
 */
START_TEST(latency_counts_wait_behind)
{
	struct resp	r;
	char		buf[64];
	int		fd;

	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--io",
	    "blocking", "--io-delay", "200", "--log-level", "error",
	    "--listen", "prime=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
	    (char *)NULL), 0);
	fd = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_sends(fd, "UPPER a\nPING\n"), 0);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "A");
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "PONG");
	close(fd);
	get("/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(metric(r.body, "primed_request_duration_seconds_count"
	    "{command=\"ping\"}") == 1);
	ck_assert(metric(r.body, "primed_request_duration_seconds_bucket"
	    "{command=\"ping\",le=\"0.1\"}") == 0);
	ck_assert(metric(r.body, "primed_request_duration_seconds_sum"
	    "{command=\"ping\"}") >= 0.2);
	server_stop(&srv);
}
END_TEST

/* --- draining: SIGTERM with a drain delay --- */

START_TEST(drain_then_stop)
{
	struct resp	r;
	int		idle, busy, ctl, fresh;
	double		deadline;

	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "1",
	    "--kernel", "trial", "--drain-delay", "1", "--log-level", "error",
	    "--listen", "prime=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
	    (char *)NULL), 0);
	idle = connect_http();
	ask_http(idle, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	ctl = client_connect(server_port(&srv, "prime"));
	busy = connect_http();
	ck_assert_int_eq(client_sends(busy, "POST /upper HTTP/1.1\r\nHost: t"
	    "\r\nContent-Length: 2\r\n\r\nhi"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 3, 5), 3);
	ck_assert_int_eq(kill(srv.pid, SIGTERM), 0);
	/* Draining (once the signal is there): not ready, PING says so... */
	deadline = now_s() + 5;
	do
		ask_http(idle, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	while (r.status == 200 && now_s() < deadline && (sleep_s(0.05), 1));
	ck_assert_int_eq(r.status, 503);
	expect_reply(ctl, "PING\n", "ERR shutting-down server is draining");
	/* ...but new connections and requests are still served. */
	fresh = connect_http();
	ask_http(fresh, "GET /prime/2 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(read_resp(busy, &r), 0);
	ck_assert_str_eq(r.body, "HI");
	/* Then the stop: idle connections are closed. */
	ck_assert(client_eof(idle, 10));
	ck_assert(client_eof(fresh, 10));
	close(idle);
	close(fresh);
	close(busy);
	close(ctl);
	ck_assert_int_eq(server_wait(&srv, 15), 0);
}
END_TEST

/*
 * A reload with a drain delay: the old workers stop accepting at once
 * (their successors accept on the same sockets), so readiness checks and
 * PING never see a draining worker while the new generation serves.
 */
START_TEST(reload_stays_ready)
{
	struct resp	r;
	pid_t		before[4], now[4];
	int		i, j, n, fresh, fd;
	double		deadline;
	char		buf[128];

	ck_assert_int_eq(server_start(&srv, "--workers", "2",
	    "--drain-delay", "3", "--log-level", "error",
	    "--listen", "prime=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
	    (char *)NULL), 0);
	ck_assert_int_eq(server_workers(&srv, before, 4), 2);
	ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
	/* Wait until neither old worker accepts: only new pids, or none. */
	deadline = now_s() + 20;
	do {
		sleep_s(0.05);
		n = server_workers(&srv, now, 4);
		for (i = 0, fresh = 0; i < n; i++) {
			for (j = 0; j < 2 && now[i] != before[j]; j++)
				;
			fresh += j == 2;
		}
	} while (fresh < 2 && now_s() < deadline);
	ck_assert_int_eq(fresh, 2);
	for (i = 0; i < 20; i++) {
		get("/readyz", &r);
		ck_assert_msg(r.status == 200, "readyz %d after a reload",
		    r.status);
		fd = client_connect(server_port(&srv, "prime"));
		ck_assert_int_ge(fd, 0);
		ck_assert_int_ge(client_ask(fd, "PING\n", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "PONG");
		close(fd);
	}
	server_stop(&srv);
}
END_TEST

/* GET /: the status page, whole, with a policy that lets it fetch only home. */
START_TEST(status_page)
{
	static struct resp	r, q, h;
	char			csp[512];
	int			fd;

	get("/", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type"), "text/html; charset=utf-8");
	ck_assert_int_eq(strtol(header(&r, "Content-Length"), NULL, 10),
	    (long)r.bodylen);
	ck_assert_int_eq(strncmp(r.body, "<!DOCTYPE html>", 15), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "fetch('status'"));
	ck_assert_ptr_nonnull(strstr(r.body, "</html>\n"));
	snprintf(csp, sizeof(csp), "%s", header(&r, "Content-Security-Policy"));
	ck_assert_msg(strncmp(csp, "default-src 'none'; ", 20) == 0 &&
	    strstr(csp, "script-src 'sha256-") != NULL &&
	    strstr(csp, "style-src 'sha256-") != NULL &&
	    strstr(csp, "connect-src 'self'") != NULL &&
	    strstr(csp, "unsafe") == NULL, "policy: %s", csp);
	ck_assert_str_eq(header(&r, "X-Content-Type-Options"), "nosniff");
	/* Nothing of the request is in it. */
	get("/?x=%3Cb%3Ehello%3C/b%3E", &q);
	ck_assert_int_eq(q.status, 200);
	ck_assert(q.bodylen == r.bodylen &&
	    memcmp(q.body, r.body, r.bodylen) == 0);
	/* HEAD: the GET's head, no body, the connection still in step. */
	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	ck_assert_int_eq(read_head(fd, &h), 0);
	ck_assert_int_eq(h.status, 200);
	ck_assert_int_eq(strtol(header(&h, "Content-Length"), NULL, 10),
	    (long)r.bodylen);
	ck_assert_int_eq(read_resp(fd, &h), 0);
	ck_assert_str_eq(h.body, "ok\n");
	ask_http(fd, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
	    &h);
	ck_assert_int_eq(h.status, 405);
	ck_assert_str_eq(header(&h, "Allow"), "GET, HEAD");
	close(fd);
	assert_same_worker();
}
END_TEST

/*
 * GET /status: STATS and the status page's view, on a connection that
 * closes after it; a running job's age grows in it and in /metrics.
 */
START_TEST(status_view)
{
	static struct resp	r;
	char			pat[64];
	const char		*m;
	double			deadline;
	int			fd, job;

	fd = connect_http();
	ck_assert_int_eq(client_sends(fd, "GET /status HTTP/1.1\r\nHost: t\r\n"
	    "\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	ck_assert_int_eq(read_resp(fd, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Connection"), "close");
	ck_assert_str_eq(header(&r, "Content-Type"), "application/json");
	/* The pipelined request after it is not taken. */
	ck_assert_msg(client_eof(fd, 5), "no close after /status");
	close(fd);
	ck_assert_int_eq(strchr(r.body, '\n') - r.body, (long)r.bodylen - 1);
	snprintf(pat, sizeof(pat), "\"master_pid\":%ld,", (long)srv.pid);
	ck_assert_ptr_nonnull(strstr(r.body, pat));
	ck_assert_ptr_nonnull(strstr(r.body, "{\"workers\":1,"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"bounds_us\":[50,100,"));
	ck_assert_int_eq(worker_field(r.body, worker_pid, "worker"), 0);
	ck_assert_int_eq(worker_field(r.body, worker_pid, "jobs_running"), 0);
	ck_assert_int_lt(worker_field(r.body, worker_pid, "silent_ms"), 1000);

	/* A day of work: its age shows, then the client leaves. */
	job = connect_http();
	ck_assert_int_eq(client_sends(job, "GET /prime/10000000 HTTP/1.1\r\n"
	    "Host: t\r\n\r\n"), 0);
	deadline = now_s() + 10;
	do {
		ck_assert_int_eq(try_get("/status", &r), 0);
		ck_assert_msg(now_s() < deadline, "no job age: %s", r.body);
		sleep_s(0.05);
	} while (worker_field(r.body, worker_pid, "jobs_running") != 1 ||
	    worker_field(r.body, worker_pid, "job_ms") < 600);
	ck_assert_int_eq(try_get("/metrics", &r), 0);
	snprintf(pat, sizeof(pat), "primed_worker_oldest_job_seconds{worker="
	    "\"0\",pid=\"%ld\"} ", worker_pid);
	ck_assert_ptr_nonnull(m = strstr(r.body, pat));
	ck_assert_msg(strtod(m + strlen(pat), NULL) >= 0.6, "%s", m);
	close(job);
	assert_same_worker();
}
END_TEST

/* Two workers computing on their loops: one stalled by a long PRIME. */
static void
start_inline(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "2", "--compute",
	    "inline", "--kernel", "trial", "--log-level", "error",
	    "--shutdown-timeout", "1", "--listen", "prime=127.0.0.1:0",
	    "--listen", "http=127.0.0.1:0", (char *)NULL), 0);
}

/*
 * The loop of a worker stuck in PRIME 1000000 (hours, inline) goes
 * silent in /status and /metrics, as whichever other worker answers sees
 * it, while it holds its client's connection.
 */
START_TEST(stalled_loop)
{
	static struct resp	r;
	char			pat[96];
	const char		*m;
	long			pid, other;
	double			deadline = now_s() + 20;
	int			fd = client_connect(server_port(&srv, "prime"));

	ck_assert_int_ge(fd, 0);
	pid = client_stat(fd, "pid");
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(try_get("/status", &r), 0);
	ck_assert_int_lt(worker_field(r.body, pid, "silent_ms"), 1000);
	ck_assert_int_eq(client_sends(fd, "PRIME 1000000\n"), 0);
	do {
		ck_assert_msg(now_s() < deadline, "no stall seen: %s", r.body);
		sleep_s(0.1);
	} while (try_get("/status", &r) == -1 ||
	    worker_field(r.body, pid, "silent_ms") < 1000);
	ck_assert_int_ge(worker_field(r.body, pid, "connections_open"), 1);
	/* Who answered is not stalled. */
	m = strstr(r.body, "\"pid\":");
	ck_assert_ptr_nonnull(m);
	other = atol(m + 6);
	ck_assert_int_ne(other, pid);
	ck_assert_int_lt(worker_field(r.body, other, "silent_ms"), 1000);
	snprintf(pat, sizeof(pat), "primed_worker_loop_silent_seconds{worker="
	    "\"%ld\",pid=\"%ld\"} ", worker_field(r.body, pid, "worker"),
	    pid);
	while (try_get("/metrics", &r) == -1)
		ck_assert_msg(now_s() < deadline, "no /metrics");
	ck_assert_ptr_nonnull(m = strstr(r.body, pat));
	ck_assert_msg(strtod(m + strlen(pat), NULL) >= 1.0, "%s", m);
	close(fd);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc;

	tc = tcase_create("service");
	tcase_add_unchecked_fixture(tc, start_http, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, routes);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, http10_and_head);
	tcase_add_test(tc, smuggling);
	tcase_add_test(tc, huge_headers);
	tcase_add_test(tc, body_limits);
	tcase_add_test(tc, odd_requests);
	tcase_add_test(tc, pipeline_deep);
	tcase_add_test(tc, pipeline_never_read);
	tcase_add_test(tc, client_gone_cancels_job);
	tcase_add_test(tc, many_connections);
	tcase_add_test(tc, strict_framing);
	tcase_add_test(tc, chunked_bodies);
	tcase_add_test(tc, continue_and_keepalive);
	tcase_add_test(tc, refusals_counted);
	tcase_add_test(tc, half_request_behind_a_job);
	tcase_add_test(tc, unfinished_heads_counted);
	tcase_add_test(tc, chunked_bound_answered);
	tcase_add_test(tc, empty_upper);
	tcase_add_test(tc, status_page);
	tcase_add_test(tc, status_view);
	suite_add_tcase(s, tc);

	tc = tcase_create("stall");
	tcase_add_unchecked_fixture(tc, start_inline, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stalled_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("small");
	tcase_add_unchecked_fixture(tc, start_small, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, busy_timeout_and_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("drain");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, drain_then_stop);
	tcase_add_test(tc, reload_stays_ready);
	tcase_add_test(tc, latency_counts_wait_behind);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(http_suite());
}
