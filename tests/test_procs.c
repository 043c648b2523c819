/*
 * test_procs.c: processes, threads and signals of a real primed.
 * A long CPU job must not stall short requests under the pool, and does
 * under --compute inline; a killed worker is replaced; SIGTERM answers
 * everything in flight; SIGHUP replaces the workers and kills nothing.
 */
#include <sys/socket.h>

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

/*
 * With the trial kernel this takes about a day on any machine we know of,
 * so it is still running whenever a test looks; the pool cancels it.
 */
#define LONG_TRIAL	"PRIME 10000000\n"

static struct server	srv;

static void
stop_server(void)
{
	server_stop(&srv);
}

/* The worker pid that answers on fd. */
static long
conn_pid(int fd)
{
	return client_stat(fd, "pid");
}

static void
start_pool(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "2", "--threads", "2",
	    "--kernel", "trial", "--log-level", "warn", (char *)NULL), 0);
}

START_TEST(pool_keeps_short_requests_flowing)
{
	int	longfd, fds[8], i, k;
	char	buf[64];
	double	t0, worst = 0;

	longfd = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(longfd, 0);
	for (i = 0; i < 8; i++)
		ck_assert_int_ge(fds[i] = client_connect(
		    server_port(&srv, "prime")), 0);
	ck_assert_int_eq(client_sends(longfd, LONG_TRIAL), 0);
	/* A pool thread has it (SCHED_IDLE may take a moment to start). */
	ck_assert_int_eq(client_wait_stat(fds[0], "jobs_running", 1, 10), 1);
	/* Short requests on every connection, some on the long one's worker. */
	for (k = 0; k < 50; k++)
		for (i = 0; i < 8; i++) {
			t0 = now_s();
			ck_assert_int_ge(client_ask(fds[i], "PRIME 1\n", buf,
			    sizeof(buf)), 0);
			ck_assert_str_eq(buf, "2");
			if (now_s() - t0 > worst)
				worst = now_s() - t0;
		}
	ck_assert_msg(worst < 1.0, "a short request waited %.3f s", worst);
	/* And the long job is still running all along. */
	ck_assert(!client_readable(longfd, 0));
	for (i = 0; i < 8; i++)
		close(fds[i]);
	close(longfd);
}
END_TEST

/* --- one worker, two pool threads, ordered by cost --- */

/*
 * The pool at nice 0: at SCHED_IDLE, other load on the machine (the CPU
 * hogs the suite is checked beside) could starve the pool threads, and
 * this test is about order, not priority.
 */
static void
start_cost(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "2",
	    "--kernel", "trial", "--pool-nice", "0", "--log-level", "warn",
	    (char *)NULL), 0);
}

/*
 * Every pool thread holds a job of about a day. A cheap job from another
 * client does not wait for them: a long job yields its thread at the end
 * of its slice, the cheap one runs, and the long ones go on.
 */
START_TEST(cheap_job_passes_long_ones)
{
	int	a = client_connect(server_port(&srv, "prime"));
	int	b = client_connect(server_port(&srv, "prime"));
	int	c = client_connect(server_port(&srv, "prime"));
	int	ctl = client_connect(server_port(&srv, "prime"));
	char	buf[64];

	ck_assert_int_eq(client_sends(a, LONG_TRIAL), 0);
	ck_assert_int_eq(client_sends(b, "PRIME 9999999\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 2, 10), 2);
	/* Tens of ms of trial division, then a few microseconds' worth. */
	ck_assert_int_ge(client_ask(c, "PRIME 3000\n", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "27449");
	ck_assert_int_ge(client_ask(c, "PRIME 50\n", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "229");
	/* The long ones were set aside, not dropped: still running. */
	ck_assert_int_ge(client_stat(ctl, "jobs_sliced"), 1);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 2, 10), 2);
	ck_assert(!client_readable(a, 0));
	ck_assert(!client_readable(b, 0));
	close(a);
	close(b);
	close(c);
	close(ctl);
}
END_TEST

static void
start_fifo(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--threads", "2",
	    "--kernel", "trial", "--pool-order", "fifo", "--pool-nice", "0",
	    "--log-level", "warn", (char *)NULL), 0);
}

/* The same with --pool-order fifo: the cheap job waits in the queue. */
START_TEST(fifo_keeps_cheap_job_waiting)
{
	int	a = client_connect(server_port(&srv, "prime"));
	int	b = client_connect(server_port(&srv, "prime"));
	int	c = client_connect(server_port(&srv, "prime"));
	int	ctl = client_connect(server_port(&srv, "prime"));

	ck_assert_int_eq(client_sends(a, LONG_TRIAL), 0);
	ck_assert_int_eq(client_sends(b, "PRIME 9999999\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_running", 2, 10), 2);
	ck_assert_int_eq(client_sends(c, "PRIME 3000\n"), 0);
	ck_assert_int_eq(client_wait_stat(ctl, "jobs_queued", 1, 10), 1);
	/* A day's jobs ahead of it: still queued a second later. */
	ck_assert(!client_readable(c, 1000));
	ck_assert_int_eq(client_stat(ctl, "jobs_queued"), 1);
	ck_assert_int_eq(client_stat(ctl, "jobs_sliced"), 0);
	close(a);
	close(b);
	close(c);
	close(ctl);
}
END_TEST

static void
start_inline(void)
{
	/* The master kills the computing worker soon after SIGTERM. */
	ck_assert_int_eq(server_start(&srv, "--workers", "1", "--compute",
	    "inline", "--kernel", "trial", "--shutdown-timeout", "1",
	    "--log-level", "warn", (char *)NULL), 0);
}

START_TEST(inline_stalls_short_requests)
{
	pid_t	worker;
	int	longfd, fd;
	char	buf[64];
	double	cpu0, deadline;

	ck_assert_int_eq(server_workers(&srv, &worker, 1), 1);
	longfd = client_connect(server_port(&srv, "prime"));
	fd = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(longfd, 0);
	ck_assert_int_ge(fd, 0);
	/* Before: the loop answers at once. */
	ck_assert_int_ge(client_ask(fd, "PRIME 1\n", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2");
	ck_assert_int_ge(cpu0 = proc_cpu(worker), 0);
	ck_assert_int_eq(client_sends(longfd, LONG_TRIAL), 0);
	/*
	 * The loop is computing once the idle worker has burnt half a second
	 * of CPU: a state, not a delay, so a slow or busy machine only waits
	 * longer for it.
	 */
	deadline = now_s() + 30;
	while (proc_cpu(worker) - cpu0 < 0.5 && now_s() < deadline)
		sleep_s(0.05);
	ck_assert_msg(proc_cpu(worker) - cpu0 >= 0.5,
	    "the worker did not start computing");
	/* The job takes hours: nobody on this worker hears back meanwhile. */
	ck_assert_int_eq(client_sends(fd, "PRIME 1\n"), 0);
	ck_assert(!client_readable(fd, 1000));
	ck_assert(!client_readable(longfd, 0));
	close(fd);
	close(longfd);
}
END_TEST

static void
start_two(void)
{
	ck_assert_int_eq(server_start(&srv, "--workers", "2", "--threads", "1",
	    "--log-level", "warn", (char *)NULL), 0);
}

START_TEST(killed_worker_is_replaced)
{
	enum { N = 16 };
	pid_t	before[8];
	int	fds[N], i, nb, fd;
	long	pids[N], victim, pid;
	char	buf[64];
	double	deadline;

	ck_assert_int_eq(nb = server_workers(&srv, before, 8), 2);
	for (i = 0; i < N; i++) {
		ck_assert_int_ge(fds[i] = client_connect(
		    server_port(&srv, "prime")), 0);
		ck_assert_int_gt(pids[i] = conn_pid(fds[i]), 0);
	}
	victim = pids[0];
	ck_assert_int_eq(kill((pid_t)victim, SIGKILL), 0);
	/* The other worker's clients see no error. */
	for (i = 0; i < N; i++) {
		if (pids[i] == victim)
			continue;
		ck_assert_int_ge(client_ask(fds[i], "PING\n", buf,
		    sizeof(buf)), 0);
		ck_assert_str_eq(buf, "PONG");
	}
	/* A worker that was not there before the kill serves the port. */
	deadline = now_s() + 20;
	for (pid = 0; pid == 0 && now_s() < deadline; ) {
		if ((fd = client_connect(server_port(&srv, "prime"))) == -1)
			continue;
		pid = conn_pid(fd);
		close(fd);
		for (i = 0; pid > 0 && i < nb; i++)
			if (before[i] == (pid_t)pid)
				pid = 0;
	}
	ck_assert_msg(pid > 0, "no new worker");
	for (i = 0; i < N; i++)
		close(fds[i]);
}
END_TEST

/*
 * Idle connections to port, one on each of n workers, in idle[]; 0, or -1
 * when the kernel did not spread 200 connections over all of them.
 */
static int
idle_on_each_worker(int port, int *idle, int n)
{
	long	pid[8];
	int	got = 0, tries, fd, i;

	for (tries = 0; got < n && tries < 200; tries++) {
		if ((fd = client_connect(port)) == -1)
			continue;
		pid[got] = conn_pid(fd);
		for (i = 0; i < got && pid[i] != pid[got]; i++)
			;
		if (i < got || pid[got] <= 0)
			close(fd);
		else
			idle[got++] = fd;
	}
	return got == n ? 0 : -1;
}

START_TEST(sigterm_answers_everything)
{
	enum { N = 20 };
	int	fds[N], idle[2], i, late, probe;
	char	buf[64];

	/* Started here: only the parent can collect the exit status. */
	start_two();
	ck_assert_int_eq(idle_on_each_worker(server_port(&srv, "prime"),
	    idle, 2), 0);
	/* Long enough to outlast the steps below on a slow machine. */
	for (i = 0; i < N; i++) {
		ck_assert_int_ge(fds[i] = client_connect(
		    server_port(&srv, "prime")), 0);
		ck_assert_int_eq(client_sends(fds[i], "SLEEP 3000\n"), 0);
	}
	late = fds[0];
	ck_assert_int_ge(probe = client_connect(server_port(&srv, "prime")),
	    0);
	ck_assert_int_eq(client_wait_stat(probe, "sleep", N, 20), N);
	close(probe);
	ck_assert_int_eq(kill(srv.pid, SIGTERM), 0);
	/* Each worker closes its idle connection as its stop begins. */
	for (i = 0; i < 2; i++) {
		ck_assert(client_eof(idle[i], 20));
		close(idle[i]);
	}
	/*
	 * From then on a new connection is refused at once (no listening
	 * socket is left), not left to hang until the shutdown timeout.
	 */
	if ((probe = client_connect(server_port(&srv, "prime"))) != -1) {
		ck_assert_msg(client_eof(probe, 2), "a new connection was "
		    "taken during the stop and left hanging");
		close(probe);
	}
	/* Read after the stop began: refused, and the connection ends. */
	ck_assert_int_eq(client_sends(late, "PING\n"), 0);
	for (i = 0; i < N; i++) {
		ck_assert_int_ge(client_line(fds[i], buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "OK");
	}
	ck_assert_int_ge(client_line(late, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "ERR shutting-down", 17) == 0, "%s", buf);
	for (i = 0; i < N; i++) {
		ck_assert(client_eof(fds[i], 5));
		close(fds[i]);
	}
	ck_assert_int_eq(server_wait(&srv, 10), 0);
}
END_TEST

START_TEST(sighup_replaces_workers)
{
	pid_t	before[8], after[8];
	int	nb, na, i, j, fd, same;
	double	deadline;
	char	buf[64];

	nb = server_workers(&srv, before, 8);
	ck_assert_int_eq(nb, 2);
	ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
	/* Two new workers, the old ones gone, the master still there. */
	deadline = now_s() + 10;
	do {
		sleep_s(0.05);
		na = server_workers(&srv, after, 8);
		for (i = 0, same = 0; i < na; i++)
			for (j = 0; j < nb; j++)
				same += after[i] == before[j];
	} while ((na != 2 || same != 0) && now_s() < deadline);
	ck_assert_int_eq(na, 2);
	ck_assert_int_eq(same, 0);
	ck_assert_int_eq(kill(srv.pid, 0), 0);
	fd = client_connect(server_port(&srv, "prime"));
	ck_assert_int_ge(client_ask(fd, "PRIME 10\n", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "29");
	close(fd);
}
END_TEST

static Suite *
procs_suite(void)
{
	Suite	*s = suite_create("procs");
	TCase	*tc;

	tc = tcase_create("pool");
	tcase_add_unchecked_fixture(tc, start_pool, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pool_keeps_short_requests_flowing);
	suite_add_tcase(s, tc);

	tc = tcase_create("cost");
	tcase_add_unchecked_fixture(tc, start_cost, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cheap_job_passes_long_ones);
	suite_add_tcase(s, tc);

	tc = tcase_create("fifo");
	tcase_add_unchecked_fixture(tc, start_fifo, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fifo_keeps_cheap_job_waiting);
	suite_add_tcase(s, tc);

	tc = tcase_create("inline");
	tcase_add_unchecked_fixture(tc, start_inline, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, inline_stalls_short_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("kill");
	tcase_add_unchecked_fixture(tc, start_two, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, killed_worker_is_replaced);
	suite_add_tcase(s, tc);

	tc = tcase_create("sigterm");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sigterm_answers_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("sighup");
	tcase_add_unchecked_fixture(tc, start_two, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sighup_replaces_workers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(procs_suite());
}
