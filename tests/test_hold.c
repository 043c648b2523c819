/*
 * test_hold.c: what a client can make the server hold is bounded, and
 * released when the client leaves.
 *
 * Each TCase runs one worker, so every connection meets every other one,
 * and reads the server's own gauges from STATS on a second connection:
 * reply_bytes (replies held for clients), connections_waiting (the turn
 * list), jobs_*. Long jobs use the trial kernel with n = 10^7 (about a day
 * of work), so they are always still running when a test looks.
 */
#include <sys/socket.h>

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
#define LONG_JOB	"PRIME 10000000\n"

static struct server	srv;

/* A new connection to the prime listener. */
static int
connect_prime(void)
{
	int	fd = client_connect(server_port(&srv, "prime"));

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	return fd;
}

/* Wait up to t s for STATS key on ctl to reach at least want; the value. */
static long
wait_stat_at_least(int ctl, const char *key, long want, double t)
{
	double	deadline = now_s() + t;
	long	v;

	while ((v = client_stat(ctl, key)) < want && now_s() < deadline)
		sleep_s(0.05);
	return v;
}

/* Wait until STATS key on ctl stops changing for 0.5 s; its value. */
static long
wait_stat_still(int ctl, const char *key, double t)
{
	double	deadline = now_s() + t, since = now_s();
	long	v, last = client_stat(ctl, key);

	while (now_s() < deadline && now_s() - since < 0.5) {
		sleep_s(0.1);
		if ((v = client_stat(ctl, key)) != last) {
			last = v;
			since = now_s();
		}
	}
	return last;
}

static void
stop_server(void)
{
	server_stop(&srv);
}

/* --- one pool thread, four requests in flight per connection --- */

static void
start_paused(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "1",
	    "--kernel", "trial", "--max-inflight", "4", "--log-level", "error",
	    (char *)NULL), 0);
}

/*
 * A client pipelines more long jobs than it may have in flight, so the
 * server stops reading it, and then resets: the reset is noticed although
 * nobody reads the socket, and its jobs are cancelled, not run for nobody.
 */
START_TEST(reset_while_paused_cancels_jobs)
{
	int	fd = connect_prime(), ctl = connect_prime(), i;
	long	cancelled0 = client_stat(ctl, "jobs_cancelled");

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(client_sends(fd, LONG_JOB), 0);
	/* Four taken (one runs, three wait), the rest left unread. */
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 1, 10), 1);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_queued", 3, 10), 3);
	ck_assert_int_eq(wait_stat_still(ctl, "prime", 5), 4);
	client_reset(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_cancelled",
	    cancelled0 + 4, 10), cancelled0 + 4);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 0, 10), 0);
	ck_assert_int_eq(client_stat(ctl, "jobs_queued"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 10), 1);
	expect_reply(ctl, "PRIME 1000\n", "7919");
	close(ctl);
}
END_TEST

/* --- long requests allowed: one reply can be 60 KiB --- */

static void
start_big_lines(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--max-line", "65536", "--max-reply-memory", "1",
	    "--log-level", "error", (char *)NULL), 0);
}

/* "ECHO " and n x's and "\n", n copies in one buffer (caller frees). */
static char *
echo_lines(int copies, size_t n, size_t *lenp)
{
	return client_echo_batch(copies, n, lenp);
}

/*
 * Replies ready behind a slow one count against the connection's limit:
 * behind a long SLEEP, a client that sends many 60 KiB ECHOs has the server
 * stop reading after about 256 KiB of replies, instead of holding them all.
 * When the client resets, all of it is released at once.
 */
START_TEST(queued_replies_are_bounded_and_released)
{
	int	fd = connect_prime(), ctl = connect_prime();
	long	echo0 = client_stat(ctl, "echo"), held, taken;
	size_t	len;
	char	*batch = echo_lines(50, 60 * KIB, &len);

	ck_assert_int_eq(client_sends(fd, "SLEEP 60000\n"), 0);
	ck_assert_int_eq(client_send_until_stuck(fd, batch, len, 1.0) > 0, 1);
	free(batch);
	taken = wait_stat_still(ctl, "echo", 10) - echo0;
	held = client_stat(ctl, "reply_bytes");
	ck_assert_msg(taken >= 4 && taken <= 6, "%ld ECHOs taken", taken);
	ck_assert_msg(held >= 4 * 60 * KIB && held <= 384 * KIB,
	    "%ld bytes held", held);
	client_reset(fd);
	ck_assert_int_eq(client_wait_stat(ctl, "reply_bytes", 0, 10), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 10), 1);
	ck_assert_int_eq(client_stat(ctl, "connections_waiting"), 0);
	close(ctl);
}
END_TEST

/*
 * Over the worker's reply memory (1 MiB here), the connections holding the
 * most are told "ERR busy" and closed, and the others go on.
 */
START_TEST(worker_reply_memory_is_capped)
{
	enum { N = 10 };
	int	fds[N], ctl = connect_prime(), i, refused = 0, late = 0;
	int	alive = 0;
	long	busy0 = client_stat(ctl, "busy"), held;
	size_t	len;
	char	*batch = echo_lines(3, 60 * KIB, &len), buf[128];

	/* Each holds three 60 KiB replies behind a SLEEP: 1.8 MB in all. */
	for (i = 0; i < N; i++) {
		fds[i] = connect_prime();
		ck_assert_int_eq(client_sends(fds[i], "SLEEP 60000\n"), 0);
		ck_assert_int_eq(client_send(fds[i], batch, len), 0);
	}
	free(batch);
	ck_assert_int_ge(wait_stat_at_least(ctl, "busy", busy0 + 1, 10),
	    busy0 + 1);
	held = wait_stat_still(ctl, "reply_bytes", 10);
	ck_assert_msg(held <= 1024 * KIB, "%ld bytes held", held);
	for (i = 0; i < N; i++) {
		/*
		 * Shed: one line, then the close; the others hear nothing.
		 * One whose SLEEP came when the worker was already over the
		 * cap had it refused with the same line, and its echoes
		 * follow: the cap at work too.
		 */
		if (client_readable(fds[i], 0)) {
			ck_assert_int_ge(client_line(fds[i], buf, sizeof(buf)),
			    0);
			ck_assert_msg(strncmp(buf, "ERR busy", 8) == 0, "%s",
			    buf);
			ck_assert_msg(client_readable(fds[i], 5000),
			    "nothing after ERR busy");
			if (client_eof(fds[i], 0))
				refused++;
			else
				late++;
		} else
			alive++;
		client_reset(fds[i]);
	}
	ck_assert_msg(refused >= 1, "none closed (%d refused at SLEEP)",
	    late);
	ck_assert_int_ge(alive, 1);
	expect_reply(ctl, "PING\n", "PONG");
	ck_assert_int_eq(client_wait_stat(ctl, "reply_bytes", 0, 10), 0);
	close(ctl);
}
END_TEST

/*
 * Many small holders (a SLEEP and forty short ECHOs each) together pass
 * the cap: the biggest are closed until the worker is under it again, and
 * new slow work is refused meanwhile, whatever each one's own size.
 */
START_TEST(many_small_holders_are_capped)
{
	enum { N = 100, ECHOS = 40 };
	int	fds[N], ctl = connect_prime(), i, refused = 0;
	long	busy0 = client_stat(ctl, "busy"), held;
	size_t	len;
	char	*batch = echo_lines(ECHOS, 100, &len), buf[128];

	for (i = 0; i < N; i++) {
		fds[i] = connect_prime();
		ck_assert_int_eq(client_sends(fds[i], "SLEEP 20000\n"), 0);
		ck_assert_int_eq(client_send(fds[i], batch, len), 0);
	}
	free(batch);
	ck_assert_int_ge(wait_stat_at_least(ctl, "busy", busy0 + 1, 10),
	    busy0 + 1);
	held = wait_stat_still(ctl, "reply_bytes", 10);
	ck_assert_msg(held <= 1024 * KIB, "%ld bytes held", held);
	for (i = 0; i < N; i++) {
		if (client_readable(fds[i], 0) &&
		    client_line(fds[i], buf, sizeof(buf)) >= 0 &&
		    strncmp(buf, "ERR busy", 8) == 0)
			refused++;
		client_reset(fds[i]);
	}
	ck_assert_int_ge(refused, 1);
	expect_reply(ctl, "PING\n", "PONG");
	ck_assert_int_eq(client_wait_stat(ctl, "reply_bytes", 0, 10), 0);
	close(ctl);
}
END_TEST

/* --- the turn list --- */

static void
start_plain(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1",
	    "--log-level", "error", (char *)NULL), 0);
}

/*
 * Clients that pipeline more than one turn's worth and half-close wait on
 * the worker's turn list, and close from there: the list's count must come
 * back to zero (it used to keep every such connection counted).
 */
START_TEST(turn_list_empties)
{
	enum { N = 200, REQS = 40 };
	int	fds[N], ctl = connect_prime(), i, k;
	char	req[REQS * 5 + 1];

	for (k = 0; k < REQS; k++)
		memcpy(req + k * 5, "PING\n", 5);
	req[REQS * 5] = '\0';
	for (i = 0; i < N; i++) {
		fds[i] = connect_prime();
		ck_assert_int_eq(client_sends(fds[i], req), 0);
		ck_assert_int_eq(shutdown(fds[i], SHUT_WR), 0);
	}
	for (i = 0; i < N; i++) {
		for (k = 0; k < REQS; k++)
			expect_line(fds[i], "PONG");
		ck_assert(client_eof(fds[i], 5));
		close(fds[i]);
	}
	ck_assert_int_eq(client_wait_stat(ctl, "connections_open", 1, 10), 1);
	ck_assert_int_eq(client_stat(ctl, "connections_waiting"), 0);
	close(ctl);
}
END_TEST

/*
 * Clients that always have requests buffered (pipelining STATS, and
 * sending more as replies come) share the loop with everything else: a
 * new client still gets in and is answered. Connections that take a turn
 * again wait for the next poll, so the loop always gets to accepts,
 * timers and finished jobs.
 */
START_TEST(busy_pipelines_leave_room)
{
	enum { N = 40, BATCH = 64 };
	int	fds[N], owed[N], i, k, fd;
	char	req[BATCH * 6 + 1], buf[4096];
	double	t0 = now_s(), t, worst = 0;
	ssize_t	n;

	for (k = 0; k < BATCH; k++)
		memcpy(req + k * 6, "STATS\n", 6);
	for (i = 0; i < N; i++) {
		fds[i] = connect_prime();
		ck_assert_int_eq(client_send(fds[i], req, BATCH * 6), 0);
		owed[i] = BATCH;
	}
	while (now_s() - t0 < 4) {
		/* Keep every client's pipeline full for a while. */
		for (k = 0; k < 50; k++)
			for (i = 0; i < N; i++) {
				if (!client_readable(fds[i], 0))
					continue;
				n = recv(fds[i], buf, sizeof(buf), 0);
				ck_assert_int_gt(n, 0);
				while (n-- > 0)
					owed[i] -= buf[n] == '\n';
				if (owed[i] < BATCH / 2) {
					ck_assert_int_eq(client_send(fds[i], req,
					    BATCH * 6), 0);
					owed[i] += BATCH;
				}
			}
		/* Meanwhile a newcomer connects and asks. */
		t = now_s();
		fd = connect_prime();
		expect_reply(fd, "PING\n", "PONG");
		close(fd);
		if (now_s() - t > worst)
			worst = now_s() - t;
	}
	ck_assert_msg(worst < 3.0, "a new client waited %.2f s", worst);
	for (i = 0; i < N; i++)
		client_reset(fds[i]);
}
END_TEST

static Suite *
hold_suite(void)
{
	Suite	*s = suite_create("hold");
	TCase	*tc;

	tc = tcase_create("paused");
	tcase_add_unchecked_fixture(tc, start_paused, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reset_while_paused_cancels_jobs);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_unchecked_fixture(tc, start_big_lines, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, queued_replies_are_bounded_and_released);
	tcase_add_test(tc, worker_reply_memory_is_capped);
	tcase_add_test(tc, many_small_holders_are_capped);
	suite_add_tcase(s, tc);

	tc = tcase_create("turns");
	tcase_add_unchecked_fixture(tc, start_plain, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, turn_list_empties);
	tcase_add_test(tc, busy_pipelines_leave_room);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(hold_suite());
}
