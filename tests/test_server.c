/*
 * test_server.c: the wire protocol against a real primed on port 0.
 * Each TCase starts its own server in an unchecked fixture (in the parent,
 * so the server is stopped even when a test fails).
 */
#include <sys/socket.h>

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "expect.h"
#include "check_main.h"

static struct server	srv;

static int
prime_port(void)
{
	return server_port(&srv, "prime");
}

/*
 * --- a general server: prime, upper (raw framing), echo, prime on ::1,
 * and a raw prime listener for plain socket clients ---
 */

static void
start_general(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "2", "--threads", "2",
	    "--log-level", "warn", "--kernel", "sieve",
	    "--listen", "prime=127.0.0.1:0",
	    "--listen", "upper=127.0.0.1:0",
	    "--listen", "echo=127.0.0.1:0",
	    "--listen", "prime=[::1]:0",
	    "--listen", "prime=127.0.0.1:0,framing=raw",
	    "--listen", "upper=127.0.0.1:0,framing=line",
	    (char *)NULL), 0);
}

/* The raw prime listener (the third prime one). */
static int
raw_port(void)
{
	return server_port_nth(&srv, "prime", 2);
}

static void
stop_server(void)
{
	server_stop(&srv);
}

START_TEST(pipelined_in_order)
{
	int	fd = client_connect(prime_port());
	char	buf[64];

	ck_assert_int_ge(fd, 0);
	/* A pool job first: everything after it waits for its turn. */
	ck_assert_int_eq(client_sends(fd, "PRIME 2000000\nPING\nPRIME 10\n"
	    "ECHO hi there\nSLEEP 50\nUPPER abc\n7\nPRIME 1000000\n"), 0);
	const char *want[] = { "32452843", "PONG", "29", "hi there", "OK",
	    "ABC", "17", "15485863" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, want[i]);
	}
	close(fd);
}
END_TEST

/*
 * Requests cut into pieces that arrive apart: lines split anywhere,
 * several in one piece, CR LF split between pieces.
 */
START_TEST(requests_in_pieces)
{
	static const char	 reqs[] = "PRIME 10\nPRIME 11\r\nPING\n"
	    "ECHO a b\n7\nUPPER x\nPRIME 12\r\n";
	const char		*want[] = { "29", "31", "PONG", "a b", "17", "X",
	    "37" };
	const size_t		 sizes[] = { 1, 2, 3, 5, 7, 11 };
	size_t			 i, k, off, n;
	int			 fd = client_connect(prime_port());

	ck_assert_int_ge(fd, 0);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (off = 0; off < sizeof(reqs) - 1; off += n) {
			n = sizeof(reqs) - 1 - off;
			if (n > sizes[k])
				n = sizes[k];
			ck_assert_int_eq(client_send(fd, reqs + off, n), 0);
			sleep_s(0.002);
		}
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			expect_line(fd, want[i]);
	}
	close(fd);
}
END_TEST

/*
 * Every split point of a request, on a fresh connection each time (the
 * first bytes a connection sees are where a guess would go wrong): inside
 * the command, inside the number, before "\n", between "\r" and "\n".
 * The first piece alone is never answered; the whole is answered once,
 * right.
 */
START_TEST(split_requests_answered_right)
{
	static const struct { const char *req, *want; } cases[] = {
		{ "PRIME 10\n", "29" },
		{ "PRIME 10\r\n", "29" },
		{ "10\n", "29" },
		{ "100000\r\n", "1299709" },
		{ "PING\r\n", "PONG" },
		{ "ECHO 12 34\n", "12 34" },
	};
	size_t	i, k, len;
	int	fd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].req);
		for (k = 1; k < len; k++) {
			fd = client_connect(prime_port());
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(client_send(fd, cases[i].req, k), 0);
			/* Give the server every chance to take the piece. */
			ck_assert_msg(!client_readable(fd, 20), "\"%.*s\" answered "
			    "before its line end", (int)k, cases[i].req);
			ck_assert_int_eq(client_send(fd, cases[i].req + k,
			    len - k), 0);
			expect_line(fd, cases[i].want);
			/* And nothing more: the stream is in step. */
			expect_reply(fd, "PING\n", "PONG");
			close(fd);
		}
	}
}
END_TEST

START_TEST(known_primes)
{
	int	fd = client_connect(prime_port());

	ck_assert_int_ge(fd, 0);
	expect_reply(fd, "PRIME 1\n", "2");
	expect_reply(fd, "PRIME 2\n", "3");
	expect_reply(fd, "PRIME 100\n", "541");
	expect_reply(fd, "PRIME 10000\n", "104729");
	expect_reply(fd, "PRIME 100000\n", "1299709");
	expect_reply(fd, "PRIME 10000000\n", "179424673");
	expect_reply(fd, "prime 0007\r\n", "17");
	close(fd);
}
END_TEST

START_TEST(raw_framing)
{
	int	fd = client_connect(raw_port());

	ck_assert_int_ge(fd, 0);
	/* The lesson's plain client: "1" with no line end, then wait. */
	expect_reply(fd, "1", "2");
	expect_reply(fd, "PING", "PONG");
	expect_reply(fd, "10", "29");
	/* A line end is fine too, and does not make it a line client. */
	expect_reply(fd, "7\r\n", "17");
	expect_reply(fd, "5", "11");
	close(fd);
}
END_TEST

START_TEST(line_waits_for_its_end)
{
	int	fd = client_connect(prime_port());
	char	buf[64];

	ck_assert_int_ge(fd, 0);
	/* On a line listener, a request without its end is never guessed. */
	ck_assert_int_eq(client_sends(fd, "PRI"), 0);
	ck_assert(!client_readable(fd, 300));
	ck_assert_int_eq(client_sends(fd, "ME 10\n"), 0);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "29");
	/* The last line may lack its end when the client's input ends. */
	ck_assert_int_eq(client_sends(fd, "PRIME 11"), 0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	expect_line(fd, "31");
	ck_assert(client_eof(fd, 5));
	close(fd);
}
END_TEST

START_TEST(upper_service)
{
	int	fd = client_connect(server_port(&srv, "upper"));
	double	t0 = now_s();

	ck_assert_int_ge(fd, 0);
	expect_reply(fd, "hello, world", "HELLO, WORLD");
	ck_assert(now_s() - t0 >= 0.09);	/* the 100 ms IO delay */
	ck_assert(client_eof(fd, 2));
	close(fd);
}
END_TEST

/*
 * The lesson's echo client, exactly: it writes its message with no line
 * end, does not shut its side, and reads until the server closes. On the
 * defaults (upper listeners frame raw) each of 1000 at once is answered.
 */
START_TEST(lesson_echo_clients)
{
	enum { N = 1000 };
	static const char	 msg[] = "the quick brown fox jumps over the "
				    "lazy dog";
	static const char	 want[] = "THE QUICK BROWN FOX JUMPS OVER THE "
				    "LAZY DOG\n";
	static struct pollfd	 pfd[N];
	static char		 got[N][sizeof(want) + 8];
	static size_t		 len[N];
	int			 i, open = N, port = server_port(&srv, "upper");
	double			 t0 = now_s();
	ssize_t			 n;

	for (i = 0; i < N; i++) {
		pfd[i].fd = client_connect(port);
		ck_assert_msg(pfd[i].fd >= 0, "connect %d: %s", i,
		    strerror(errno));
		pfd[i].events = POLLIN;
		len[i] = 0;
		ck_assert_int_eq(client_send(pfd[i].fd, msg, strlen(msg)), 0);
	}
	while (open > 0 && now_s() - t0 < 10) {
		ck_assert_int_ge(poll(pfd, N, 1000), 0);
		for (i = 0; i < N; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & POLLIN))
				continue;
			n = recv(pfd[i].fd, got[i] + len[i],
			    sizeof(got[i]) - len[i], 0);
			ck_assert_msg(n >= 0, "client %d: %s", i,
			    strerror(errno));
			if (n > 0) {
				len[i] += (size_t)n;
				ck_assert_uint_lt(len[i], sizeof(got[i]));
				continue;
			}
			close(pfd[i].fd);
			pfd[i].fd = -1;	/* poll skips it now */
			open--;
		}
	}
	/* 1000 waits of 100 ms one after another would be 100 s. */
	ck_assert_msg(open == 0, "%d clients still waiting after %.1f s",
	    open, now_s() - t0);
	for (i = 0; i < N; i++) {
		ck_assert_uint_eq(len[i], strlen(want));
		ck_assert_msg(memcmp(got[i], want, len[i]) == 0,
		    "client %d got \"%.*s\"", i, (int)len[i], got[i]);
	}
}
END_TEST

/* framing=line on an upper listener waits for the line end, as asked. */
START_TEST(upper_line_framing)
{
	int	fd = client_connect(server_port_nth(&srv, "upper", 1));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_sends(fd, "hello"), 0);
	ck_assert(!client_readable(fd, 300));
	expect_reply(fd, ", world\n", "HELLO, WORLD");
	ck_assert(client_eof(fd, 2));
	close(fd);
}
END_TEST

START_TEST(echo_service)
{
	int	fd = client_connect(server_port(&srv, "echo"));
	char	buf[16];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_send(fd, "ab\0cd\nxyz", 9), 0);
	ck_assert_int_eq(recv(fd, buf, 9, MSG_WAITALL), 9);
	ck_assert_int_eq(memcmp(buf, "ab\0cd\nxyz", 9), 0);
	shutdown(fd, SHUT_WR);
	ck_assert(client_eof(fd, 2));
	close(fd);
}
END_TEST

START_TEST(ipv6_listener)
{
	int	i, port = -1, fd;

	for (i = 0; i < srv.nl; i++)
		if (strchr(srv.host[i], ':') != NULL)
			port = srv.port[i];
	ck_assert_int_gt(port, 0);
	fd = client_connect_host("::1", port);
	ck_assert_int_ge(fd, 0);
	expect_reply(fd, "PRIME 10\n", "29");
	close(fd);
}
END_TEST

START_TEST(many_concurrent_upper)
{
	enum { N = 200 };
	int	fds[N], i;
	char	buf[64];
	double	t0;

	for (i = 0; i < N; i++) {
		fds[i] = client_connect(prime_port());
		ck_assert_int_ge(fds[i], 0);
	}
	t0 = now_s();
	for (i = 0; i < N; i++)
		ck_assert_int_eq(client_sends(fds[i], "UPPER abc\n"), 0);
	for (i = 0; i < N; i++) {
		ck_assert_int_ge(client_line(fds[i], buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "ABC");
	}
	/* 200 x 100 ms one after the other would be 20 s. */
	ck_assert_msg(now_s() - t0 < 5.0, "took %.2f s", now_s() - t0);
	for (i = 0; i < N; i++)
		close(fds[i]);
}
END_TEST

START_TEST(every_error)
{
	static const struct { const char *req, *want; } cases[] = {
		{ "\n", "ERR bad-request" },
		{ "\r\n", "ERR bad-request" },
		{ "FOO\n", "ERR unknown-command" },
		{ "PRIME\tx\n", "ERR unknown-command" },
		{ "PRIME\n", "ERR bad-request" },
		{ "PRIME \n", "ERR bad-request" },
		{ "PRIME x\n", "ERR bad-request" },
		{ "PRIME -1\n", "ERR bad-request" },
		{ "PRIME +5\n", "ERR bad-request" },
		{ "PRIME 1e3\n", "ERR bad-request" },
		{ "PRIME 5 6\n", "ERR bad-request" },
		{ "PRIME  5\n", "ERR bad-request" },
		{ "PRIME 0\n", "ERR out-of-range" },
		{ "PRIME 100000001\n", "ERR out-of-range" },
		{ "PRIME 99999999999999999999999\n", "ERR out-of-range" },
		{ "1e3\n", "ERR bad-request" },
		{ "SLEEP 60001\n", "ERR out-of-range" },
		{ "SLEEP\n", "ERR bad-request" },
		{ "PING x\n", "ERR bad-request" },
		{ "UPPER\n", "ERR bad-request" },
		{ "\xff\xfe\n", "ERR unknown-command" },
	};
	int	fd = client_connect(prime_port());
	size_t	i;

	ck_assert_int_ge(fd, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(client_sends(fd, cases[i].req), 0);
		expect_line_prefix(fd, cases[i].want);
		/* The connection stays usable after every error. */
		expect_reply(fd, "PING\n", "PONG");
	}
	close(fd);
}
END_TEST

START_TEST(too_long_closes)
{
	char	big[2100];
	int	fd = client_connect(prime_port()), other;

	ck_assert_int_ge(fd, 0);
	memset(big, 'A', sizeof(big));
	ck_assert_int_eq(client_send(fd, big, sizeof(big)), 0);
	expect_line_prefix(fd, "ERR too-long");
	ck_assert(client_eof(fd, 3));
	close(fd);
	other = client_connect(prime_port());
	expect_reply(other, "PING\n", "PONG");
	close(other);
}
END_TEST

START_TEST(quit_flushes_then_closes)
{
	int	fd = client_connect(prime_port());
	char	buf[64];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_sends(fd,
	    "SLEEP 100\nPRIME 3000000\nQUIT\nPING\n"), 0);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "OK");
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "49979687");
	/* Nothing after QUIT is answered. */
	ck_assert_int_lt(client_line(fd, buf, sizeof(buf)), 0);
	close(fd);
}
END_TEST

START_TEST(half_close_still_answered)
{
	int	fd = client_connect(prime_port());
	char	buf[64];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_sends(fd, "SLEEP 100\nPRIME 10\nPRIME 5"), 0);
	shutdown(fd, SHUT_WR);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "OK");
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "29");
	/* The last request had no line end; the end of input ends it. */
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "11");
	ck_assert(client_eof(fd, 2));
	close(fd);
}
END_TEST

START_TEST(stats_json)
{
	static const char *keys[] = { "\"workers\":2", "\"connections_open\":",
	    "\"connections_total\":", "\"connections_rejected\":",
	    "\"requests\":", "\"errors\":{", "\"jobs_queued\":",
	    "\"jobs_running\":", "\"jobs_done\":", "\"jobs_cancelled\":",
	    "\"uptime_s\":", "\"bad-request\":", "\"busy\":" };
	int	fd = client_connect(prime_port());
	char	buf[4096];
	long	r1, r2;
	size_t	i;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(client_ask(fd, "STATS\n", buf, sizeof(buf)), 0);
	ck_assert(buf[0] == '{' && buf[strlen(buf) - 1] == '}');
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(strstr(buf, keys[i]) != NULL, "%s missing in %s",
		    keys[i], buf);
	r1 = client_stat(fd, "requests");
	for (i = 0; i < 10; i++)
		expect_reply(fd, "PING\n", "PONG");
	r2 = client_stat(fd, "requests");
	/* Ten PINGs and one STATS answered in between, at least. */
	ck_assert_int_ge(r2 - r1, 11);
	close(fd);
}
END_TEST

/* --- a small pool: busy and timeout --- */

static void
start_small_pool(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "1",
	    "--queue-limit", "1", "--job-timeout", "2", "--kernel", "trial",
	    "--log-level", "warn", (char *)NULL), 0);
}

START_TEST(busy_and_timeout)
{
	int	fd = client_connect(prime_port());
	int	ctl = client_connect(prime_port());
	char	buf[128];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(ctl, 0);
	/*
	 * One job runs (a day of trial division), one waits, the third finds
	 * the queue full. The pool thread runs at SCHED_IDLE, so on a busy
	 * machine it may take a while to pick the first job up: wait until
	 * it has, and until the second is queued.
	 */
	ck_assert_int_eq(client_sends(fd, "PRIME 10000000\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 1, 10), 1);
	ck_assert_int_eq(client_sends(fd, "PRIME 10000001\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_queued", 1, 10), 1);
	ck_assert_int_eq(client_sends(fd, "PRIME 10000002\n"), 0);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "ERR timeout", 11) == 0, "%s", buf);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "ERR timeout", 11) == 0, "%s", buf);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "ERR busy", 8) == 0, "%s", buf);
	expect_reply(fd, "PING\n", "PONG");
	ck_assert_int_ge(client_stat(fd, "timeout"), 2);
	ck_assert_int_ge(client_stat(fd, "busy"), 1);
	/* Both jobs behind the timeouts are gone: the pool is free again. */
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 0, 10), 0);
	ck_assert_int_eq(client_stat(ctl, "jobs_queued"), 0);
	close(ctl);
	close(fd);
}
END_TEST

/* --- one thread, no deadline: a client that leaves cancels its jobs --- */

static void
start_one_thread(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "1",
	    "--kernel", "trial", "--job-timeout", "0", "--log-level", "warn",
	    (char *)NULL), 0);
}

START_TEST(disconnect_cancels_jobs)
{
	int	fd = client_connect(prime_port());
	int	other = client_connect(prime_port());
	long	cancelled0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(other, 0);
	cancelled0 = client_stat(other, "jobs_cancelled");
	/* Each of these would run for about a day. */
	ck_assert_int_eq(client_sends(fd, "PRIME 10000000\nPRIME 9999999\n"
	    "PRIME 9999998\n"), 0);
	ck_assert_int_eq(client_wait_stat(other, "jobs_running", 1, 10), 1);
	ck_assert_int_eq(client_wait_stat(other, "jobs_queued", 2, 10), 2);
	/* Gone for good (a reset): a half-close would still want replies. */
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	/* The queued two are removed, the running one stops early. */
	ck_assert_int_eq(client_wait_stat(other, "jobs_cancelled",
	    cancelled0 + 3, 10), cancelled0 + 3);
	ck_assert_int_eq(client_wait_stat(other, "jobs_running", 0, 10), 0);
	ck_assert_int_eq(client_stat(other, "jobs_queued"), 0);
	/* The one pool thread is free: a job of a few ms is answered. */
	expect_reply(other, "PRIME 1000\n", "7919");
	close(other);
}
END_TEST

static Suite *
server_suite(void)
{
	Suite	*s = suite_create("server");
	TCase	*tc;

	tc = tcase_create("protocol");
	tcase_add_unchecked_fixture(tc, start_general, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pipelined_in_order);
	tcase_add_test(tc, requests_in_pieces);
	tcase_add_test(tc, known_primes);
	tcase_add_test(tc, raw_framing);
	tcase_add_test(tc, line_waits_for_its_end);
	tcase_add_test(tc, split_requests_answered_right);
	tcase_add_test(tc, upper_service);
	tcase_add_test(tc, lesson_echo_clients);
	tcase_add_test(tc, upper_line_framing);
	tcase_add_test(tc, echo_service);
	tcase_add_test(tc, ipv6_listener);
	tcase_add_test(tc, many_concurrent_upper);
	tcase_add_test(tc, every_error);
	tcase_add_test(tc, too_long_closes);
	tcase_add_test(tc, quit_flushes_then_closes);
	tcase_add_test(tc, half_close_still_answered);
	tcase_add_test(tc, stats_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("small-pool");
	tcase_add_unchecked_fixture(tc, start_small_pool, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, busy_and_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_unchecked_fixture(tc, start_one_thread, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, disconnect_cancels_jobs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(server_suite());
}
