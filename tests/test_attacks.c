/*
 * test_attacks.c: hostile clients against a real primed.
 *
 * One test per kind of bad input or bad behaviour. Each expects the reply
 * primed(8) gives (or a clean close), and then checks that the very same
 * worker still answers PING on a fresh connection. Every server here runs
 * one worker, so all connections land on it; its pid is taken from STATS
 * when the TCase starts, and must not change (no crash, no respawn).
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "expect.h"
#include "check_main.h"

#define CROWD		5000	/* connections opened at once */
#define CROWD_LIMIT	"100"	/* --max-connections of the limited server */
#define KIB		1024
#define ECHO_TEXT	1000	/* "ECHO <text>" of about 1 KiB, under max-line */

static struct server	srv;
static long		worker_pid;	/* the one worker, from STATS */
static int		crowd[CROWD];

/* Raise the soft limit on open files to the hard one. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * 1 when this process (and the server, which raises its own limit the same
 * way) may hold CROWD sockets and some to spare; else say why the crowd
 * tests are skipped.
 */
static int
crowd_possible(const char *test)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= CROWD + 100))
		return 1;
	printf("SKIP: %s: the hard limit on open files (%llu) is below the "
	    "%d connections it needs\n", test,
	    (unsigned long long)rl.rlim_max, CROWD + 100);
	return 0;
}

/* A new connection to the prime listener (line framing). */
static int
connect_prime(void)
{
	int	fd = client_connect(server_port(&srv, "prime"));

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	return fd;
}

/* A new connection to the raw prime listener. */
static int
connect_raw(void)
{
	int	fd = client_connect(server_port_nth(&srv, "prime", 1));

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	return fd;
}

/* Send req and expect a reply starting with prefix. */
static void
expect_err(int fd, const char *req, const char *prefix)
{
	ck_assert_int_eq(client_sends(fd, req), 0);
	expect_line_prefix(fd, prefix);
}

/* 1 when fd stays open and silent for t seconds. */
static int
stays_open(int fd, double t)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, (int)(t * 1000)) == 0;
}

/* Wait up to t s for process pid to hold want descriptors; the last count. */
static int
wait_fds(long pid, int want, double t)
{
	double	deadline = now_s() + t;
	int	n;

	while ((n = proc_fds(pid)) != want && now_s() < deadline)
		sleep_s(0.05);
	return n;
}

/*
 * The worker that served everything so far still does: a fresh client
 * gets PONG, STATS names the same pid, and it is the server's only child.
 */
static void
assert_same_worker(void)
{
	pid_t	pids[4];
	int	fd = connect_prime(), n;

	expect_reply(fd, "PING\n", "PONG");
	ck_assert_int_eq(client_stat(fd, "pid"), worker_pid);
	close(fd);
	n = server_workers(&srv, pids, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(pids[0], worker_pid);
}

/* Start primed with one worker and option opt=val; note the worker's pid. */
static void
start_one_worker(const char *opt, const char *val)
{
	int	fd;

	/* The server inherits the raised limit: it needs room for a crowd. */
	raise_nofile();
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "2",
	    "--log-level", "error", "--listen", "prime=127.0.0.1:0",
	    "--listen", "prime=127.0.0.1:0,framing=raw", opt, val,
	    (char *)NULL), 0);
	fd = connect_prime();
	worker_pid = client_stat(fd, "pid");
	close(fd);
	ck_assert_int_gt(worker_pid, 0);
}

/* The server of the matrix: room for the whole crowd. */
static void
start_matrix(void)
{
	start_one_worker("--max-connections", "20000");
}

/* A server that takes CROWD_LIMIT connections and refuses the rest. */
static void
start_limited(void)
{
	start_one_worker("--max-connections", CROWD_LIMIT);
}

/* A server that closes connections idle for 2 s. */
static void
start_idle(void)
{
	start_one_worker("--idle-timeout", "2");
}

/* Stop the TCase's server. */
static void
stop_server(void)
{
	server_stop(&srv);
}

/* Last in every TCase: the worker of its start served it all. */
START_TEST(worker_never_replaced)
{
	int	fd = connect_prime();

	ck_assert_int_eq(client_stat(fd, "workers"), 1);
	close(fd);
	assert_same_worker();
}
END_TEST

/* --- the bad-input matrix --- */

START_TEST(empty_lines)
{
	int	fd = connect_prime(), i;
	char	many[1000];

	expect_err(fd, "\n", "ERR bad-request");
	expect_err(fd, "\r\n", "ERR bad-request");
	/* A thousand pipelined empty lines: a thousand errors, in order. */
	memset(many, '\n', sizeof(many));
	ck_assert_int_eq(client_send(fd, many, sizeof(many)), 0);
	for (i = 0; i < (int)sizeof(many); i++)
		expect_line_prefix(fd, "ERR bad-request");
	expect_reply(fd, "PING\n", "PONG");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(lone_carriage_returns)
{
	int	fd = connect_raw();

	/* Raw: a lone "\r" with no line end is one request, empty. */
	expect_err(fd, "\r", "ERR bad-request");
	close(fd);
	/* Line: only the "\r" right before "\n" is dropped. */
	fd = connect_prime();
	expect_err(fd, "\r\n", "ERR bad-request");
	expect_err(fd, "\r\r\n", "ERR unknown-command");
	expect_err(fd, "PING\r\r\n", "ERR unknown-command");
	expect_err(fd, "PI\rNG\n", "ERR unknown-command");
	expect_err(fd, "PRIME 5\r\r\n", "ERR bad-request");
	expect_reply(fd, "PING\r\n", "PONG");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(nul_bytes)
{
	int	fd = connect_prime();
	char	buf[64];

	ck_assert_int_eq(client_send(fd, "PI\0NG\n", 6), 0);
	expect_line_prefix(fd, "ERR unknown-command");
	ck_assert_int_eq(client_send(fd, "\0\n", 2), 0);
	expect_line_prefix(fd, "ERR unknown-command");
	ck_assert_int_eq(client_send(fd, "PRIME 1\0\n", 9), 0);
	expect_line_prefix(fd, "ERR bad-request");
	/* ECHO gives the text back byte for byte, NULs included. */
	ck_assert_int_eq(client_send(fd, "ECHO a\0b\0\n", 10), 0);
	ck_assert_int_eq(client_line(fd, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "a\0b\0", 4), 0);
	expect_reply(fd, "PING\n", "PONG");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(non_utf8_bytes)
{
	int	fd = connect_prime();

	expect_err(fd, "\xff\xfe\n", "ERR unknown-command");
	expect_err(fd, "\xc3\x28 5\n", "ERR unknown-command");
	expect_err(fd, "PRIME \xff\n", "ERR bad-request");
	expect_err(fd, "PRIME 1\xc3\xa9\n", "ERR bad-request");
	/* Fine to echo; UPPER changes only ASCII letters. */
	expect_reply(fd, "ECHO \xc3\x28\xff\xfe\n", "\xc3\x28\xff\xfe");
	expect_reply(fd, "UPPER \xe9t\xe9 \xc3\xa9t\xc3\xa9\n",
	    "\xe9T\xe9 \xc3\xa9T\xc3\xa9");
	expect_reply(fd, "PING\n", "PONG");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(one_mib_without_newline)
{
	size_t	len = 1024 * KIB;
	char	*big = malloc(len);
	int	fd, i;

	ck_assert_ptr_nonnull(big);
	memset(big, 'A', len);
	/* First on a fresh connection (raw framing), then after a line. */
	for (i = 0; i < 2; i++) {
		fd = connect_prime();
		if (i == 1)
			expect_reply(fd, "PING\n", "PONG");
		ck_assert_int_eq(client_send(fd, big, len), 0);
		expect_line_prefix(fd, "ERR too-long");
		expect_clean_close(fd, 5);
		close(fd);
	}
	free(big);
	assert_same_worker();
}
END_TEST

START_TEST(line_at_the_limit)
{
	char	line[1100], want[1100];
	int	fd = connect_prime();

	/* "ECHO " plus 1019 bytes is 1024, the longest request there is. */
	memcpy(line, "ECHO ", 5);
	memset(line + 5, 'z', 1019);
	memcpy(line + 1024, "\n", 2);
	memset(want, 'z', 1019);
	want[1019] = '\0';
	expect_reply(fd, line, want);
	/* The line end does not count: the same with CR LF. */
	memcpy(line + 1024, "\r\n", 3);
	expect_reply(fd, line, want);
	/* One byte more is too long, and the connection closes. */
	memcpy(line + 1024, "z\n", 3);
	expect_err(fd, line, "ERR too-long");
	expect_clean_close(fd, 5);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(prime_bad_arguments)
{
	static const struct { const char *req, *want; } cases[] = {
		{ "PRIME\n", "ERR bad-request" },
		{ "PRIME \n", "ERR bad-request" },
		{ "PRIME -1\n", "ERR bad-request" },
		{ "PRIME 0\n", "ERR out-of-range" },
		{ "PRIME 000\n", "ERR out-of-range" },
		{ "PRIME +5\n", "ERR bad-request" },
		{ "PRIME 1e3\n", "ERR bad-request" },
		{ "PRIME 0x10\n", "ERR bad-request" },
		{ "PRIME 99999999999999999999999\n", "ERR out-of-range" },
		{ "PRIME 18446744073709551616\n", "ERR out-of-range" },
		{ "PRIME 10000000000001\n", "ERR out-of-range" },
		{ "PRIME 5 6\n", "ERR bad-request" },
		{ "PRIME 5 \n", "ERR bad-request" },
		{ "-1\n", "ERR bad-request" },
		{ "+5\n", "ERR bad-request" },
		{ "5 6\n", "ERR bad-request" },
		{ "99999999999999999999999\n", "ERR out-of-range" },
	};
	int	fd = connect_prime();
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_err(fd, cases[i].req, cases[i].want);
	/* Leading zeros are fine. */
	expect_reply(fd, "PRIME 0005\n", "11");
	expect_reply(fd, "0001000000\n", "15485863");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(tabs_and_double_spaces)
{
	int	fd = connect_prime();

	expect_err(fd, "PRIME\t5\n", "ERR unknown-command");
	expect_err(fd, "PRIME 5\t\n", "ERR bad-request");
	expect_err(fd, "PRIME  5\n", "ERR bad-request");
	expect_err(fd, "SLEEP  5\n", "ERR bad-request");
	expect_err(fd, "PING \n", "ERR bad-request");
	expect_err(fd, " PING\n", "ERR bad-request");
	expect_err(fd, "\tPING\n", "ERR unknown-command");
	/* ECHO's text is everything after the first space. */
	expect_reply(fd, "ECHO  two\n", " two");
	expect_reply(fd, "ECHO a\tb  c \n", "a\tb  c ");
	expect_reply(fd, "ECHO \n", "");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(lower_case_commands)
{
	int	fd = connect_prime();
	char	buf[4096];

	expect_reply(fd, "ping\n", "PONG");
	expect_reply(fd, "prime 10\n", "29");
	expect_reply(fd, "Prime 100\n", "541");
	expect_reply(fd, "echo MiXeD\n", "MiXeD");
	expect_reply(fd, "upper abc\n", "ABC");
	expect_reply(fd, "sleep 1\n", "OK");
	ck_assert_int_gt(client_ask(fd, "stats\n", buf, sizeof(buf)), 0);
	ck_assert(buf[0] == '{');
	ck_assert_int_eq(client_sends(fd, "quit\n"), 0);
	expect_clean_close(fd, 5);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(sleep_out_of_range)
{
	int	fd = connect_prime();

	expect_err(fd, "SLEEP 999999999\n", "ERR out-of-range");
	expect_err(fd, "SLEEP 60001\n", "ERR out-of-range");
	expect_err(fd, "SLEEP 99999999999999999999999\n", "ERR out-of-range");
	expect_err(fd, "SLEEP -1\n", "ERR bad-request");
	expect_err(fd, "SLEEP 1.5\n", "ERR bad-request");
	expect_err(fd, "SLEEP\n", "ERR bad-request");
	expect_reply(fd, "SLEEP 0\n", "OK");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(unknown_commands)
{
	int	fd = connect_prime();

	expect_err(fd, "FOO\n", "ERR unknown-command");
	expect_err(fd, "PRIMES 5\n", "ERR unknown-command");
	expect_err(fd, "PIN\n", "ERR unknown-command");
	expect_err(fd, "PINGPING\n", "ERR unknown-command");
	expect_err(fd, "QUITE\n", "ERR unknown-command");
	/* Someone speaks HTTP: every line answered, the blank one too. */
	ck_assert_int_eq(client_sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	    0);
	expect_line_prefix(fd, "ERR unknown-command");
	expect_line_prefix(fd, "ERR unknown-command");
	expect_line_prefix(fd, "ERR bad-request");
	expect_reply(fd, "PING\n", "PONG");
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(raw_framed_garbage)
{
	static const struct { const char *req, *want; } cases[] = {
		{ "\x01\x02garbage", "ERR unknown-command" },
		{ "abc", "ERR unknown-command" },
		{ "12x", "ERR bad-request" },
		{ "0", "ERR out-of-range" },
		{ "PRIME", "ERR bad-request" },
		{ "\xff\xff\xff", "ERR unknown-command" },
	};
	size_t	i;
	int	fd;

	/* Bytes with no line end, on fresh connections: one raw request. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = connect_raw();
		expect_err(fd, cases[i].req, cases[i].want);
		/* Still raw, still usable. */
		expect_reply(fd, "7", "17");
		close(fd);
	}
	assert_same_worker();
}
END_TEST

START_TEST(half_close_after_request)
{
	int	fd = connect_prime();

	ck_assert_int_eq(client_sends(fd, "PRIME 10\nSLEEP 100\nECHO bye\n"),
	    0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	expect_line(fd, "29");
	expect_line(fd, "OK");
	expect_line(fd, "bye");
	expect_clean_close(fd, 5);
	close(fd);
	/* The end of input ends the last request, in either framing. */
	fd = connect_raw();
	ck_assert_int_eq(client_sends(fd, "5"), 0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	expect_line(fd, "11");
	expect_clean_close(fd, 5);
	close(fd);
	fd = connect_prime();
	ck_assert_int_eq(client_sends(fd, "PING\n6"), 0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	expect_line(fd, "PONG");
	expect_line(fd, "13");
	expect_clean_close(fd, 5);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(reset_mid_reply)
{
	int	fd = connect_prime(), ctl = connect_prime();
	long	echo0 = client_stat(ctl, "echo");
	long	toolong0 = client_stat(ctl, "too-long");
	size_t	len, sent;
	char	*batch = client_echo_batch(4000, ECHO_TEXT, &len);
	double	deadline;

	/* Four megabytes of ECHO, never read, then a reset. */
	sent = client_send_until_stuck(fd, batch, len, 0.3);
	ck_assert_uint_gt(sent, 256 * KIB);
	/* The server is in the middle of it: replies made, output full. */
	deadline = now_s() + 5;
	while (client_stat(ctl, "echo") - echo0 <= 200 && now_s() < deadline)
		sleep_s(0.05);
	ck_assert_int_gt(client_stat(ctl, "echo") - echo0, 200);
	ck_assert_int_eq(client_stat(ctl, "too-long"), toolong0);
	client_reset(fd);
	free(batch);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	expect_reply(ctl, "PING\n", "PONG");
	close(ctl);
	assert_same_worker();
}
END_TEST

START_TEST(reset_with_timers_pending)
{
	int	fd = connect_prime(), ctl = connect_prime();
	long	sleeps0 = client_stat(ctl, "sleep");

	/* Timers in flight when the client vanishes. */
	ck_assert_int_eq(client_sends(fd, "SLEEP 3000\nSLEEP 2000\n"
	    "UPPER gone\nECHO x\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "sleep", sleeps0 + 2, 5),
	    sleeps0 + 2);
	client_reset(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	/*
	 * A plain close (FIN) with timers pending: the server still owes the
	 * replies (it could be a half-close), writes them into a closed
	 * socket, and then lets go.
	 */
	fd = connect_prime();
	ck_assert_int_eq(client_sends(fd, "SLEEP 300\nUPPER y\nECHO y\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "sleep", sleeps0 + 3, 5),
	    sleeps0 + 3);
	close(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	expect_reply(ctl, "PING\n", "PONG");
	close(ctl);
	assert_same_worker();
}
END_TEST

/* --- one pool thread, the slow kernel: jobs that would run for a day --- */

static void
start_jobs(void)
{
	start_one_worker("--kernel", "trial");
}

START_TEST(reset_with_jobs_pending)
{
	int	fd = connect_prime(), ctl = connect_prime();
	long	cancelled0 = client_stat(ctl, "jobs_cancelled");

	/* Two threads busy for a day each, one job queued, and timers. */
	ck_assert_int_eq(client_sends(fd, "SLEEP 3000\nPRIME 10000000\n"
	    "UPPER gone\nPRIME 9999999\nPRIME 9999998\nECHO x\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 2, 10), 2);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_queued", 1, 10), 1);
	client_reset(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	/* The jobs it left are dropped, not computed for nobody. */
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_cancelled",
	    cancelled0 + 3, 10), cancelled0 + 3);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 0, 10), 0);
	ck_assert_int_eq(client_stat(ctl, "jobs_queued"), 0);
	expect_reply(ctl, "PRIME 1000\n", "7919");
	close(ctl);
	assert_same_worker();
}
END_TEST

START_TEST(too_long_behind_pending)
{
	int	fd = connect_prime();
	char	big[2000];

	/* Replies owed before the too-long line still come, in order. */
	ck_assert_int_eq(client_sends(fd, "PING\nSLEEP 300\nECHO first\n"),
	    0);
	memset(big, 'B', sizeof(big));
	ck_assert_int_eq(client_send(fd, big, sizeof(big)), 0);
	expect_line(fd, "PONG");
	expect_line(fd, "OK");
	expect_line(fd, "first");
	expect_line_prefix(fd, "ERR too-long");
	expect_clean_close(fd, 5);
	close(fd);
	assert_same_worker();
}
END_TEST

/* Read n replies of ECHO_TEXT x's from fd. */
static void
expect_echoes(int fd, int n)
{
	char	want[ECHO_TEXT + 1];
	int	i;

	memset(want, 'x', ECHO_TEXT);
	want[ECHO_TEXT] = '\0';
	for (i = 0; i < n; i++)
		expect_line(fd, want);
}

START_TEST(quit_behind_unread_replies)
{
	enum { N = 1000 };	/* a megabyte of replies */
	int	fd = connect_prime();
	size_t	len, sent;
	char	*batch = client_echo_batch(N, ECHO_TEXT, &len);

	/* The client reads nothing until well after its QUIT. */
	sent = client_send_until_stuck(fd, batch, len, 1.0);
	free(batch);
	ck_assert_uint_eq(sent, len);
	ck_assert_int_eq(client_sends(fd, "QUIT\nPING\n"), 0);
	sleep_s(0.5);
	expect_echoes(fd, N);
	expect_clean_close(fd, 5);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(half_close_behind_unread_replies)
{
	enum { N = 1000 };
	int	fd = connect_prime();
	size_t	len, sent;
	char	*batch = client_echo_batch(N, ECHO_TEXT, &len);

	sent = client_send_until_stuck(fd, batch, len, 1.0);
	free(batch);
	ck_assert_uint_eq(sent, len);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	sleep_s(0.5);
	expect_echoes(fd, N);
	expect_clean_close(fd, 5);
	close(fd);
	assert_same_worker();
}
END_TEST

START_TEST(connect_reset_storm)
{
	enum { N = 500 };
	int	ctl = connect_prime(), fds0, i, fd;

	/* Count once ctl is in and earlier tests' connections are gone. */
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	ck_assert_int_gt(fds0 = proc_fds(worker_pid), 0);
	/* Gone before the worker even looks: reset right after connect. */
	for (i = 0; i < N; i++) {
		fd = connect_prime();
		if (i % 2 == 1)
			ck_assert_int_eq(client_sends(fd, "PING\nSLEEP 100\n"),
			    0);
		client_reset(fd);
	}
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	/* No descriptor is left behind. */
	ck_assert_int_eq(wait_fds(worker_pid, fds0, 5), fds0);
	expect_reply(ctl, "PING\n", "PONG");
	close(ctl);
	assert_same_worker();
}
END_TEST

START_TEST(crowd_all_served)
{
	int	ctl = connect_prime(), fds0, i;
	long	total0 = client_stat(ctl, "connections_total");

	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	ck_assert_int_gt(fds0 = proc_fds(worker_pid), 0);
	raise_nofile();
	for (i = 0; i < CROWD; i++) {
		crowd[i] = client_connect(server_port(&srv, "prime"));
		ck_assert_msg(crowd[i] >= 0, "connection %d: %s", i,
		    strerror(errno));
	}
	for (i = 0; i < CROWD; i++)
		ck_assert_int_eq(client_sends(crowd[i], "PING\n"), 0);
	for (i = 0; i < CROWD; i++)
		expect_line(crowd[i], "PONG");
	ck_assert_int_eq(client_stat(ctl, "connections_open"), CROWD + 1);
	ck_assert_int_ge(client_stat(ctl, "connections_total") - total0,
	    CROWD);
	for (i = 0; i < CROWD; i++)
		close(crowd[i]);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 10), 1);
	ck_assert_int_eq(wait_fds(worker_pid, fds0, 5), fds0);
	close(ctl);
	assert_same_worker();
}
END_TEST

/* --- a connection limit of 100 on the one worker --- */

START_TEST(crowd_over_the_limit)
{
	int	ctl = connect_prime(), i, limit = atoi(CROWD_LIMIT);
	int	served = 0, refused = 0;
	long	rejected0 = client_stat(ctl, "connections_rejected");
	long	want = CROWD - (limit - 1);
	struct pollfd pfd;

	raise_nofile();
	for (i = 0; i < CROWD; i++) {
		crowd[i] = client_connect(server_port(&srv, "prime"));
		ck_assert_msg(crowd[i] >= 0, "connection %d: %s", i,
		    strerror(errno));
	}
	/* Every connection has been accepted or refused by then. */
	ck_assert_int_eq(client_wait_stat(ctl, "connections_rejected",
	    rejected0 + want, 10) - rejected0, want);
	for (i = 0; i < CROWD; i++) {
		pfd.fd = crowd[i];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1) {
			/* Refused: one line, then the close. */
			expect_line_prefix(crowd[i], "ERR busy");
			expect_clean_close(crowd[i], 5);
			refused++;
		} else {
			expect_reply(crowd[i], "PING\n", "PONG");
			served++;
		}
	}
	ck_assert_int_eq(served, limit - 1);
	ck_assert_int_eq(refused, want);
	ck_assert_int_eq(client_stat(ctl, "connections_open"), limit);
	for (i = 0; i < CROWD; i++)
		close(crowd[i]);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 10), 1);
	/* Room again: new connections are served. */
	for (i = 0; i < 50; i++) {
		crowd[i] = connect_prime();
		expect_reply(crowd[i], "PING\n", "PONG");
	}
	for (i = 0; i < 50; i++)
		close(crowd[i]);
	close(ctl);
	assert_same_worker();
}
END_TEST

/* --- idle timeout of 2 s --- */

START_TEST(silent_client)
{
	int	silent = connect_prime(), other = connect_prime(), i;
	double	t0 = now_s(), t;

	/* Others are served while it sits there. */
	for (i = 0; i < 5; i++) {
		t = now_s();
		expect_reply(other, "PING\n", "PONG");
		ck_assert_msg(now_s() - t < 0.5, "PING took %.3f s",
		    now_s() - t);
		sleep_s(0.1);
	}
	/* Kept until the idle timeout, then closed cleanly. */
	t = 1.0 - (now_s() - t0);
	ck_assert_msg(t <= 0 || stays_open(silent, t), "closed after %.2f s",
	    now_s() - t0);
	expect_clean_close(silent, 5);
	t = now_s() - t0;
	ck_assert_msg(t >= 1.0 && t < 4.5, "closed after %.2f s", t);
	close(silent);
	close(other);
	assert_same_worker();
}
END_TEST

static Suite *
attacks_suite(void)
{
	Suite	*s = suite_create("attacks");
	TCase	*tc;

	tc = tcase_create("matrix");
	tcase_add_unchecked_fixture(tc, start_matrix, stop_server);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, empty_lines);
	tcase_add_test(tc, lone_carriage_returns);
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, non_utf8_bytes);
	tcase_add_test(tc, one_mib_without_newline);
	tcase_add_test(tc, line_at_the_limit);
	tcase_add_test(tc, prime_bad_arguments);
	tcase_add_test(tc, tabs_and_double_spaces);
	tcase_add_test(tc, lower_case_commands);
	tcase_add_test(tc, sleep_out_of_range);
	tcase_add_test(tc, unknown_commands);
	tcase_add_test(tc, raw_framed_garbage);
	tcase_add_test(tc, half_close_after_request);
	tcase_add_test(tc, reset_mid_reply);
	tcase_add_test(tc, reset_with_timers_pending);
	tcase_add_test(tc, too_long_behind_pending);
	tcase_add_test(tc, quit_behind_unread_replies);
	tcase_add_test(tc, half_close_behind_unread_replies);
	tcase_add_test(tc, connect_reset_storm);
	if (crowd_possible("crowd_all_served"))
		tcase_add_test(tc, crowd_all_served);
	tcase_add_test(tc, worker_never_replaced);
	suite_add_tcase(s, tc);

	tc = tcase_create("jobs");
	tcase_add_unchecked_fixture(tc, start_jobs, stop_server);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reset_with_jobs_pending);
	tcase_add_test(tc, worker_never_replaced);
	suite_add_tcase(s, tc);

	tc = tcase_create("limited");
	tcase_add_unchecked_fixture(tc, start_limited, stop_server);
	tcase_set_timeout(tc, 30);
	if (crowd_possible("crowd_over_the_limit"))
		tcase_add_test(tc, crowd_over_the_limit);
	tcase_add_test(tc, worker_never_replaced);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle");
	tcase_add_unchecked_fixture(tc, start_idle, stop_server);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, silent_client);
	tcase_add_test(tc, worker_never_replaced);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(attacks_suite());
}
