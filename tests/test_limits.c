/*
 * test_limits.c: limits and overload against a real primed.
 *
 * Every TCase runs its own server, configured for the one limit it looks
 * at, with a single worker so that every connection meets every other one.
 * Bounds on time are generous: the machine is small and shared.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "expect.h"
#include "check_main.h"

#define KIB		1024
#define ECHO_TEXT	1000	/* "ECHO <text>" of about 1 KiB, under max-line */
#define MIB		(1024 * 1024)
#define EMFILE_NOFILE	"64"	/* open-file limit of the EMFILE server */

static struct server	srv, srv2;

/* A new connection to the prime listener of s. */
static int
connect_to(const struct server *s)
{
	int	fd = client_connect(server_port(s, "prime"));

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	return fd;
}

/* A new connection to the prime listener of the TCase's server. */
static int
connect_prime(void)
{
	return connect_to(&srv);
}

/* PING on fd; the seconds the PONG took. */
static double
ping_time(int fd)
{
	double	t0 = now_s();

	expect_reply(fd, "PING\n", "PONG");
	return now_s() - t0;
}

/* 1 when fd has something to read (or is closed) within t seconds. */
static int
readable(int fd, double t)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, t > 0 ? (int)(t * 1000) : 0) == 1;
}

/* What is waiting on fd, in words, for a failure message. */
static const char *
peek_what(int fd)
{
	static char	msg[64];
	char		buf[32];
	ssize_t		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n == 0)
		return "EOF";
	if (n < 0)
		return strerror(errno);
	buf[n] = '\0';
	snprintf(msg, sizeof(msg), "data \"%.20s\"", buf);
	return msg;
}

/*
 * Sleep until the clock is frac into a second. The server counts its
 * idle and read deadlines in whole seconds of the same monotonic clock:
 * starting late in a second is the hardest case for such a deadline.
 */
static void
sleep_until_frac(double frac)
{
	double	t = now_s(), f = t - (double)(long)t;

	sleep_s(f <= frac ? frac - f : 1 + frac - f);
}

/* Stop the TCase's servers (one that never started is skipped). */
static void
stop_servers(void)
{
	server_stop(&srv);
	server_stop(&srv2);
}

/* --- --max-connections 5 --- */

/* One worker that takes five connections. */
static void
start_max_connections(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--max-connections", "5", "--log-level", "error", (char *)NULL), 0);
}

START_TEST(max_connections)
{
	int	ctl = connect_prime(), fds[4], extra, i;
	long	rejected0 = client_stat(ctl, "connections_rejected");
	double	t0;

	/* ctl and these four are the five allowed. */
	for (i = 0; i < 4; i++) {
		fds[i] = connect_prime();
		expect_reply(fds[i], "PING\n", "PONG");
	}
	/* The sixth hears ERR busy and is closed at once. */
	t0 = now_s();
	extra = connect_prime();
	expect_line_prefix(extra, "ERR busy");
	expect_clean_close(extra, 2);
	ck_assert_msg(now_s() - t0 < 1.0, "refused after %.2f s",
	    now_s() - t0);
	close(extra);
	ck_assert_int_eq(client_stat(ctl, "connections_rejected") - rejected0,
	    1);
	ck_assert_int_eq(client_stat(ctl, "connections_open"), 5);
	/* Close two: two new ones are served, the one after is refused. */
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 3, 5), 3);
	for (i = 0; i < 2; i++) {
		fds[i] = connect_prime();
		expect_reply(fds[i], "PING\n", "PONG");
	}
	extra = connect_prime();
	expect_line_prefix(extra, "ERR busy");
	expect_clean_close(extra, 2);
	close(extra);
	ck_assert_int_eq(client_stat(ctl, "connections_rejected") - rejected0,
	    2);
	for (i = 0; i < 4; i++)
		expect_reply(fds[i], "PING\n", "PONG");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(ctl);
}
END_TEST

/* --- --max-inflight 4 against a large limit, side by side --- */

/* Two servers, alike but for --max-inflight. */
static void
start_inflight(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--max-inflight", "4", "--log-level", "error", (char *)NULL), 0);
	ck_assert_int_eq(server_start(&srv2, "--workers", "1",
	    "--max-inflight", "1000", "--log-level", "error", (char *)NULL), 0);
}

#define INFLIGHT_PAIRS	10	/* "SLEEP 200" then "ECHO <i>", each */

/* Pipeline the SLEEP/ECHO pairs on s, read every reply in order; seconds. */
static double
pipelined_pairs(const struct server *s)
{
	char	req[64 * INFLIGHT_PAIRS], want[16];
	int	fd = connect_to(s), i;
	size_t	len = 0;
	double	t0;

	for (i = 0; i < INFLIGHT_PAIRS; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len,
		    "SLEEP 200\nECHO %d\n", i);
	t0 = now_s();
	ck_assert_int_eq(client_send(fd, req, len), 0);
	for (i = 0; i < INFLIGHT_PAIRS; i++) {
		expect_line(fd, "OK");
		snprintf(want, sizeof(want), "%d", i);
		expect_line(fd, want);
	}
	t0 = now_s() - t0;
	close(fd);
	return t0;
}

START_TEST(max_inflight)
{
	double	limited, unlimited;

	/*
	 * Four in flight are two SLEEPs (each with its ECHO behind it): ten
	 * SLEEPs take five rounds of 200 ms. Without the limit, one round.
	 */
	limited = pipelined_pairs(&srv);
	unlimited = pipelined_pairs(&srv2);
	ck_assert_msg(limited >= 0.9, "limit 4: %.3f s", limited);
	ck_assert_msg(unlimited < 0.6, "limit 1000: %.3f s", unlimited);
}
END_TEST

/*
 * Whole requests left in the input while the connection could take none
 * are answered all the same, when every answer before them came within
 * the turn (here --io blocking: the SLEEP is answered before the next
 * request is read).
 */
START_TEST(inflight_all_answered_in_turn)
{
	struct server	s3;
	char		buf[64];
	int		fd, i;

	memset(&s3, 0, sizeof(s3));
	ck_assert_int_eq(server_start(&s3, "--workers", "1", "--io", "blocking",
	    "--io-delay", "1", "--max-inflight", "3", "--log-level", "error",
	    (char *)NULL), 0);
	fd = client_connect(server_port(&s3, "prime"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_sends(fd, "SLEEP 1\nPING\nPING\nPING\nPING\n"),
	    0);
	expect_line(fd, "OK");
	for (i = 0; i < 4; i++) {
		ck_assert_msg(client_line(fd, buf, sizeof(buf)) >= 0,
		    "PING %d not answered", i);
		ck_assert_str_eq(buf, "PONG");
	}
	close(fd);
	server_stop(&s3);
}
END_TEST

/* --- output backpressure --- */

/* One worker with a prime and an echo listener, default limits. */
static void
start_overload(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--listen", "prime=127.0.0.1:0", "--listen", "echo=127.0.0.1:0",
	    "--log-level", "error", (char *)NULL), 0);
}

/*
 * Send chunk (len bytes) on flood up to rounds times, never reading, until
 * the server stops taking it; then, for 1.5 s, the worker pid must stay
 * within 32 MiB of its resident size before and answer PING on ctl in
 * under a second. Returns the bytes the server took.
 */
static size_t
flood_and_watch(int ctl, long pid, int flood, const char *chunk, size_t len,
    int rounds)
{
	long	rss0 = proc_rss(pid), rss, worst = 0;
	size_t	sent = 0, n;
	double	t, slowest = 0;
	int	i;

	ck_assert_int_gt(rss0, 0);
	for (i = 0; i < rounds; i++) {
		n = client_send_until_stuck(flood, chunk, len, 0.5);
		sent += n;
		if (n < len)
			break;
	}
	ck_assert_msg(i < rounds, "the server took all %zu bytes", sent);
	for (i = 0; i < 15; i++) {
		if ((t = ping_time(ctl)) > slowest)
			slowest = t;
		if ((rss = proc_rss(pid)) - rss0 > worst)
			worst = rss - rss0;
		sleep_s(0.1);
	}
	ck_assert_msg(slowest < 1.0, "PING took %.3f s", slowest);
	ck_assert_msg(worst < 32 * MIB, "RSS grew by %ld KiB after %zu bytes",
	    worst / 1024, sent);
	return sent;
}

START_TEST(output_backpressure)
{
	enum { CHUNK = 1000, CHUNKS = 100 };	/* 100000 ECHO of 1 KiB */
	int	ctl = connect_prime(), flood = connect_prime();
	long	pid = client_stat(ctl, "pid");
	long	echo0 = client_stat(ctl, "echo");
	long	toolong0 = client_stat(ctl, "too-long");
	size_t	len;
	char	*chunk = client_echo_batch(CHUNK, ECHO_TEXT, &len);

	ck_assert_int_gt(pid, 0);
	flood_and_watch(ctl, pid, flood, chunk, len, CHUNKS);
	free(chunk);
	/* It answered some, and holds the rest unread. */
	ck_assert_int_gt(client_stat(ctl, "echo") - echo0, 200);
	ck_assert_int_eq(client_stat(ctl, "too-long"), toolong0);
	/* The flood ends; the server is fine. */
	close(flood);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	expect_reply(ctl, "PING\n", "PONG");
	ck_assert_int_eq(client_stat(ctl, "pid"), pid);
	close(ctl);
}
END_TEST

START_TEST(echo_service_backpressure)
{
	int	ctl = connect_prime(), i;
	int	flood = client_connect(server_port(&srv, "echo"));
	long	pid = client_stat(ctl, "pid");
	char	*chunk = malloc(MIB);

	ck_assert_int_ge(flood, 0);
	ck_assert_ptr_nonnull(chunk);
	for (i = 0; i < MIB; i++)
		chunk[i] = (char)('a' + i % 26);
	/* The echo service writes back what it reads: the same brake. */
	flood_and_watch(ctl, pid, flood, chunk, MIB, 100);
	free(chunk);
	close(flood);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 5), 1);
	expect_reply(ctl, "PING\n", "PONG");
	ck_assert_int_eq(client_stat(ctl, "pid"), pid);
	close(ctl);
}
END_TEST

START_TEST(burst_does_not_starve_others)
{
	enum { N = 20000 };
	int	burst = connect_prime(), other = connect_prime(), i;
	char	*req = malloc(N * 5);
	double	t, slowest = 0;

	ck_assert_ptr_nonnull(req);
	for (i = 0; i < N; i++)
		memcpy(req + i * 5, "PING\n", 5);
	ck_assert_uint_eq(client_send_until_stuck(burst, req, N * 5, 2.0), N * 5);
	free(req);
	/* While the burst is worked through, the other client gets its turn. */
	for (i = 0; i < 5; i++)
		if ((t = ping_time(other)) > slowest)
			slowest = t;
	ck_assert_msg(slowest < 1.0, "PING took %.3f s", slowest);
	for (i = 0; i < N; i++)
		expect_line(burst, "PONG");
	expect_reply(burst, "ECHO done\n", "done");
	close(burst);
	close(other);
}
END_TEST

/* --- --idle-timeout 1 (srv) and 2 (srv2) --- */

/* Idle timeout 1 s on srv, 2 s on srv2. */
static void
start_idle(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--idle-timeout", "1", "--read-timeout", "30",
	    "--log-level", "error", (char *)NULL), 0);
	ck_assert_int_eq(server_start(&srv2, "--workers", "1",
	    "--idle-timeout", "2", "--read-timeout", "30",
	    "--log-level", "error", (char *)NULL), 0);
}

START_TEST(idle_connection_closed)
{
	int	fd;
	double	t0, t;

	/* Connected just before a second ticks over, idle for a full second. */
	sleep_until_frac(0.98);
	fd = connect_prime();
	t0 = now_s();
	expect_clean_close(fd, 5);
	t = now_s() - t0;
	close(fd);
	ck_assert_msg(t >= 0.95 && t < 3.5, "idle close after %.2f s", t);
}
END_TEST

START_TEST(activity_is_not_idle)
{
	int	fd = connect_to(&srv2), i;
	double	t0, t;

	/*
	 * On the server with a 2 s idle timeout: a PING every 0.5 s for
	 * 3 s keeps the connection; it closes once the PINGs stop.
	 */
	for (i = 0; i < 6; i++) {
		expect_reply(fd, "PING\n", "PONG");
		sleep_s(0.5);
	}
	expect_reply(fd, "PING\n", "PONG");
	t0 = now_s();
	expect_clean_close(fd, 6);
	t = now_s() - t0;
	close(fd);
	ck_assert_msg(t >= 0.9 && t < 4.5, "idle close after %.2f s", t);
}
END_TEST

START_TEST(pending_sleep_is_not_idle)
{
	int	fd = connect_prime();
	double	t0 = now_s(), t;

	ck_assert_int_eq(client_sends(fd, "SLEEP 3000\n"), 0);
	if (readable(fd, 2.7))
		ck_abort_msg("after %.2f s, while SLEEP pending: %s",
		    now_s() - t0, peek_what(fd));
	expect_line(fd, "OK");
	t = now_s() - t0;
	ck_assert_msg(t >= 2.9, "OK after %.2f s", t);
	/* Idle from here on. */
	expect_clean_close(fd, 5);
	close(fd);
}
END_TEST

/*
 * A client that reads its answers steadily but slowly is busy, not idle:
 * 6 MB of answers asked for at once, read at 30 KB/s for longer than the
 * idle timeout (3 s here), are all delivered. The bufferevent may have
 * nothing to write for seconds at a time (the socket is full), but the
 * socket empties. (A small receive buffer makes the client's window move
 * at every read, as on a network; on loopback it moves by 64 KiB.)
 */
START_TEST(slow_reader_is_not_idle)
{
	enum { N = 60000 };
	static const char	one[] = "ECHO 0123456789012345678901234567890123"
				    "45678901234567890123456789012345678901234"
				    "56789012345678901234\n";
	struct server		s3;
	char			*all, buf[65536];
	size_t			 len = sizeof(one) - 1, want, got = 0, sent;
	double			 t0;
	ssize_t			 n;
	int			 fd;

	memset(&s3, 0, sizeof(s3));
	ck_assert_int_eq(server_start(&s3, "--workers", "1",
	    "--idle-timeout", "3", "--log-level", "error", (char *)NULL), 0);
	ck_assert_ptr_nonnull(all = malloc(len * N));
	for (sent = 0; sent < N; sent++)
		memcpy(all + sent * len, one, len);
	want = (len - 5) * N;	/* each answer: the text and its line end */
	fd = client_connect_rcvbuf(server_port(&s3, "prime"), 16384);
	ck_assert_int_ge(fd, 0);
	/* Ask for all of it, reading nothing, until the server stops taking. */
	sent = client_send_until_stuck(fd, all, len * N, 1.0);
	/* Then read 1500 bytes every 50 ms for twice the idle timeout. */
	for (t0 = now_s(); now_s() - t0 < 6; sleep_s(0.05)) {
		n = recv(fd, buf, 1500, MSG_DONTWAIT);
		ck_assert_msg(n != 0 && !(n < 0 && errno != EAGAIN),
		    "closed after %.1f s of slow reading", now_s() - t0);
		got += n > 0 ? (size_t)n : 0;
		if (sent < len * N)
			sent += client_send_until_stuck(fd, all + sent,
			    len * N - sent, 0.01);
	}
	/* Now as fast as it comes: every answer is there. */
	while (got < want && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		got += (size_t)n;
		if (sent < len * N)
			sent += client_send_until_stuck(fd, all + sent,
			    len * N - sent, 0.01);
	}
	ck_assert_uint_eq(got, want);
	close(fd);
	free(all);
	server_stop(&s3);
}
END_TEST

/* --- --read-timeout 1 --- */

/* Read timeout 1 s, and at most two requests in flight. */
static void
start_read_timeout(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--read-timeout", "1", "--idle-timeout", "30",
	    "--max-inflight", "2", "--log-level", "error",
	    "--listen", "prime=127.0.0.1:0", "--listen", "upper=127.0.0.1:0",
	    "--listen", "echo=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
	    "--listen", "prime=127.0.0.1:0,framing=raw", (char *)NULL), 0);
}

/*
 * A connection that sends nothing is under the read timeout from accept,
 * whatever its service: it cannot hold a place for the idle timeout.
 */
START_TEST(silent_connections_read_timeout)
{
	int	fds[5], i;
	double	t0, t;

	/* Connected just before a second ticks over: a full second to go. */
	sleep_until_frac(0.98);
	for (i = 0; i < srv.nl; i++) {
		fds[i] = client_connect(srv.port[i]);
		ck_assert_int_ge(fds[i], 0);
	}
	t0 = now_s();
	for (i = 0; i < srv.nl; i++) {
		expect_clean_close(fds[i], 5);
		t = now_s() - t0;
		ck_assert_msg(t >= 0.9 && t < 3.5, "%s closed after %.2f s",
		    srv.service[i], t);
		close(fds[i]);
	}
}
END_TEST

START_TEST(slowloris_half_line)
{
	int	fd = connect_prime();
	double	t0, t;

	/* A whole line first: from then on a partial line waits for its end. */
	expect_reply(fd, "PING\n", "PONG");
	/* Half a line just before a second ticks over: a full second to go. */
	sleep_until_frac(0.98);
	ck_assert_int_eq(client_sends(fd, "PRIME 12"), 0);
	t0 = now_s();
	expect_clean_close(fd, 5);
	t = now_s() - t0;
	close(fd);
	ck_assert_msg(t >= 0.95 && t < 3.5, "closed after %.2f s", t);
}
END_TEST

START_TEST(slowloris_trickle)
{
	int	fd = connect_prime(), closed = 0;
	double	t0, t = 0;

	expect_reply(fd, "PING\n", "PONG");
	/* One byte every 300 ms, never a line end. */
	t0 = now_s();
	while (!closed && (t = now_s() - t0) < 6) {
		if (send(fd, "A", 1, MSG_NOSIGNAL) != 1)
			closed = 1;
		else if (readable(fd, 0.3))
			closed = 1;
	}
	ck_assert_msg(closed, "still open after %.2f s", t);
	ck_assert_msg(t < 4.0, "closed after %.2f s", t);
	close(fd);
}
END_TEST

/*
 * A client that streams whole requests in writes that end mid-line is not
 * slow: the read timeout counts from its last whole request, so it is
 * never cut off however long it goes on.
 */
START_TEST(read_timeout_spares_streaming_client)
{
	enum { LINE = 1000, LINES = 10, WRITE = 4099 };
	static char	stream[LINES * LINE + WRITE];
	char		buf[LINE];
	int		fd = connect_prime(), i, got = 0;
	size_t		pos = 0;
	double		t0 = now_s();

	for (i = 0; i < (int)sizeof(stream) / LINE; i++) {
		memcpy(stream + i * LINE, "ECHO ", 5);
		memset(stream + i * LINE + 5, 'e', LINE - 6);
		stream[i * LINE + LINE - 1] = '\n';
	}
	/*
	 * 3.5 s of 4099-byte writes of 1000-byte lines: each write ends in
	 * the middle of a line (they line up again only after 1000 writes).
	 */
	for (; now_s() - t0 < 3.5; pos += WRITE) {
		ck_assert_int_eq(client_send(fd, stream + pos % (LINES * LINE),
		    WRITE), 0);
		sleep_s(0.05);
		while (readable(fd, 0)) {
			ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
			got++;
		}
	}
	ck_assert_int_gt(got, 100);
	close(fd);
}
END_TEST

START_TEST(read_timeout_spares_throttled_client)
{
	enum { N = 16 };
	int	fd = connect_prime(), i;
	char	req[16 * N];

	/*
	 * Every request is whole; only --max-inflight 2 keeps most of them
	 * unread for 8 x 300 ms. That is the server's doing, not a slow
	 * client: no read timeout.
	 */
	for (i = 0; i < N; i++)
		memcpy(req + i * 10, "SLEEP 300\n", 10);
	ck_assert_int_eq(client_send(fd, req, N * 10), 0);
	for (i = 0; i < N; i++)
		expect_line(fd, "OK");
	expect_reply(fd, "PING\n", "PONG");
	close(fd);
}
END_TEST

/* --- --job-timeout 0.2 with the trial kernel --- */

/* One pool thread, the slow kernel, a 0.2 s job deadline. */
static void
start_job_timeout(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "1",
	    "--kernel", "trial", "--job-timeout", "0.2",
	    "--log-level", "error", (char *)NULL), 0);
}

START_TEST(job_timeout)
{
	int	fd = connect_prime();
	long	timeouts0 = client_stat(fd, "timeout");
	double	t0, t;

	ck_assert_int_ge(timeouts0, 0);
	t0 = now_s();
	/* About a day of trial division: the deadline always comes first. */
	ck_assert_int_eq(client_sends(fd, "PRIME 10000000\n"), 0);
	expect_line_prefix(fd, "ERR timeout");
	t = now_s() - t0;
	ck_assert_msg(t >= 0.15 && t < 5.0, "ERR timeout after %.2f s", t);
	/* Still usable (these two are answered on the loop)... */
	expect_reply(fd, "PING\n", "PONG");
	expect_reply(fd, "PRIME 10\n", "29");
	ck_assert_int_eq(client_stat(fd, "timeout") - timeouts0, 1);
	/* ...and the job behind the timeout stops: the pool thread is free. */
	ck_assert_int_eq(client_wait_stat(fd, "jobs_running", 0, 3), 0);
	ck_assert_int_eq(client_stat(fd, "jobs_queued"), 0);
	close(fd);
}
END_TEST

/* --- EMFILE: the server may open only a few files --- */

static char	wrapper[64];

/*
 * Start primed through a script that lowers its open-file limit first;
 * the script execs, so the server keeps the pid the harness knows.
 */
static void
start_emfile(void)
{
	const char	*real = getenv("PRIMED");
	char		*saved = real != NULL ? strdup(real) : NULL;
	FILE		*f;
	int		 rc;

	snprintf(wrapper, sizeof(wrapper), "/tmp/primed-nofile.%ld.sh",
	    (long)getpid());
	ck_assert_ptr_nonnull(f = fopen(wrapper, "w"));
	if (access("/usr/bin/prlimit", X_OK) == 0)
		fprintf(f, "#!/bin/sh\nexec /usr/bin/prlimit --nofile=%s:%s "
		    "'%s' \"$@\"\n", EMFILE_NOFILE, EMFILE_NOFILE,
		    saved != NULL ? saved : "./primed");
	else
		fprintf(f, "#!/bin/sh\nulimit -n %s || exit 1\nexec '%s' "
		    "\"$@\"\n", EMFILE_NOFILE,
		    saved != NULL ? saved : "./primed");
	fclose(f);
	chmod(wrapper, 0755);
	setenv("PRIMED", wrapper, 1);
	rc = server_start(&srv, "--workers", "1", "--log-level", "error",
	    (char *)NULL);
	if (saved != NULL)
		setenv("PRIMED", saved, 1);
	else
		unsetenv("PRIMED");
	free(saved);
	ck_assert_int_eq(rc, 0);
}

/* Stop the server and remove its wrapper script. */
static void
stop_emfile(void)
{
	server_stop(&srv);
	unlink(wrapper);
}

START_TEST(emfile_no_spin)
{
	enum { MAX = 200 };
	int	ctl = connect_prime(), fds[MAX], n = 0, stuck = -1, fresh, i;
	long	pid = client_stat(ctl, "pid");
	double	cpu0, wall0, cpu, wall;

	ck_assert_int_gt(pid, 0);
	/* Connect until one is left in the accept queue, unanswered. */
	while (n < MAX && stuck == -1) {
		fds[n] = connect_prime();
		ck_assert_int_eq(client_sends(fds[n], "PING\n"), 0);
		if (readable(fds[n], 1.0))
			expect_line(fds[n++], "PONG");
		else
			stuck = fds[n];
	}
	ck_assert_msg(stuck != -1, "%d connections, no EMFILE", n);
	ck_assert_int_gt(n, 10);
	/* Out of descriptors for 2 s: the worker must not spin. */
	cpu0 = proc_cpu(pid);
	wall0 = now_s();
	ck_assert_double_ge(cpu0, 0);
	sleep_s(2.0);
	cpu = proc_cpu(pid) - cpu0;
	wall = now_s() - wall0;
	ck_assert_msg(cpu < 0.3 * wall, "worker used %.2f s CPU in %.2f s",
	    cpu, wall);
	/* Those it holds are still served, the waiting one is not yet. */
	expect_reply(ctl, "PING\n", "PONG");
	expect_reply(fds[0], "PING\n", "PONG");
	ck_assert(!readable(stuck, 0));
	/* Room again: the waiting one is taken, and new ones are served. */
	for (i = 0; i < 5; i++)
		close(fds[n - 1 - i]);
	ck_assert_msg(readable(stuck, 3.0), "not accepted after closes");
	expect_line(stuck, "PONG");
	fresh = connect_prime();
	ck_assert_int_eq(client_sends(fresh, "PING\n"), 0);
	ck_assert_msg(readable(fresh, 2.0), "new connection not served");
	expect_line(fresh, "PONG");
	close(fresh);
	close(stuck);
	for (i = 0; i < n - 5; i++)
		close(fds[i]);
	close(ctl);
}
END_TEST

/* --- sieve jobs for a huge n --- */

/* One worker with two threads, the sieve, and n up to 10^15. */
static void
start_huge_sieve(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "2",
	    "--kernel", "sieve", "--max-n", "1000000000000000",
	    "--table-n", "0", "--log-level", "error", (char *)NULL), 0);
}

/* STATS key on fd once it is at least want (20 s at most); the last value. */
static long
stat_at_least(int fd, const char *key, long want)
{
	double	deadline = now_s() + 20;
	long	v;

	while ((v = client_stat(fd, key)) < want && now_s() < deadline)
		sleep_s(0.02);
	return v;
}

/*
 * Sieve jobs for a huge n, started and then sliced for cheaper ones, hold
 * memory for the work they have done, not for their n: each held its
 * sieving primes up to sqrt(p_n) (85 MiB for n = 10^15) from its start,
 * and kept them while it waited for a thread again. The worker's peak
 * counts whatever order the pool gave them.
 */
START_TEST(huge_sieve_jobs_hold_little)
{
	enum { JOBS = 8 };
	unsigned long long	n = 1000000000000000ULL;
	char			req[64];
	int			fds[JOBS], ctl = connect_prime(), i;
	long			rss0, yields, grown;
	pid_t			worker;

	ck_assert_int_eq(server_workers(&srv, &worker, 1), 1);
	ck_assert_int_gt(rss0 = proc_rss(worker), 0);
	/*
	 * Each n a quarter of the one before, a cost band cheaper: once two
	 * run, each new one makes a running one yield. Waiting for that
	 * lets every job start in turn.
	 */
	for (i = 0; i < JOBS; i++, n /= 4) {
		yields = client_stat(ctl, "job_yields");
		fds[i] = connect_prime();
		snprintf(req, sizeof(req), "PRIME %llu\n", n);
		ck_assert_int_eq(client_sends(fds[i], req), 0);
		if (i < 2)
			ck_assert_int_eq(client_wait_stat(ctl, "jobs_running",
			    i + 1, 20), i + 1);
		else
			ck_assert_int_gt(stat_at_least(ctl, "job_yields",
			    yields + 1), yields);
	}
	/* Their clients reset: every job is dropped, the threads are free. */
	for (i = 0; i < JOBS; i++)
		client_reset(fds[i]);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 0, 20), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_queued", 0, 20), 0);
	grown = proc_peak_rss(worker) - rss0;
	ck_assert_msg(grown < 32 * MIB, "%d huge jobs: the worker grew by "
	    "%ld MiB at its peak", JOBS, grown / MIB);
	close(ctl);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc;

	tc = tcase_create("max-connections");
	tcase_add_unchecked_fixture(tc, start_max_connections, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, max_connections);
	suite_add_tcase(s, tc);

	tc = tcase_create("max-inflight");
	tcase_add_unchecked_fixture(tc, start_inflight, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, max_inflight);
	tcase_add_test(tc, inflight_all_answered_in_turn);
	suite_add_tcase(s, tc);

	tc = tcase_create("overload");
	tcase_add_unchecked_fixture(tc, start_overload, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, output_backpressure);
	tcase_add_test(tc, echo_service_backpressure);
	tcase_add_test(tc, burst_does_not_starve_others);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle-timeout");
	tcase_add_unchecked_fixture(tc, start_idle, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, idle_connection_closed);
	tcase_add_test(tc, activity_is_not_idle);
	tcase_add_test(tc, pending_sleep_is_not_idle);
	tcase_add_test(tc, slow_reader_is_not_idle);
	suite_add_tcase(s, tc);

	tc = tcase_create("read-timeout");
	tcase_add_unchecked_fixture(tc, start_read_timeout, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, slowloris_half_line);
	tcase_add_test(tc, silent_connections_read_timeout);
	tcase_add_test(tc, slowloris_trickle);
	tcase_add_test(tc, read_timeout_spares_throttled_client);
	tcase_add_test(tc, read_timeout_spares_streaming_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("job-timeout");
	tcase_add_unchecked_fixture(tc, start_job_timeout, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, job_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("huge-sieve");
	tcase_add_unchecked_fixture(tc, start_huge_sieve, stop_servers);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, huge_sieve_jobs_hold_little);
	suite_add_tcase(s, tc);

	tc = tcase_create("emfile");
	tcase_add_unchecked_fixture(tc, start_emfile, stop_emfile);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, emfile_no_spin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(limits_suite());
}
