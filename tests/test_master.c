/*
 * test_master.c: the master of a real primed: who may hold its ports, what
 * a worker inherits from it, and reloads that always end.
 *
 * Servers here read a configuration file (a reload reads it again) and
 * tell their state the way they tell systemd: through NOTIFY_SOCKET, a
 * datagram socket of the test's own. A test waits for READY=1 and reads
 * the STATUS beside it, never for a length of time. The tests that need a
 * process limit of their own run as a user id no process uses (they need
 * root to become it, and skip without).
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "expect.h"
#include "check_main.h"

#define MAX_ARGS	32
#define START_S		60	/* for READY=1 at start: 256 workers, ASan */
#define RELOAD_S	40	/* for the end of a reload, deadline included */

/* A primed of this file: a directory with its config, ports, log, socket. */
struct msrv {
	struct server	 s;		/* pid, port file, log: for the harness */
	char		 dir[32];
	char		 conf[96];
	char		 sock[96];
	int		 nfd;		/* where its notifications arrive */
	char		 msg[512];	/* the last one that was waited for */
};

/* A fresh directory and notification socket for m. */
static void
msrv_init(struct msrv *m)
{
	struct sockaddr_un	sun;

	memset(m, 0, sizeof(*m));
	snprintf(m->dir, sizeof(m->dir), "/tmp/primed-master.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(m->dir));
	snprintf(m->conf, sizeof(m->conf), "%s/primed.conf", m->dir);
	snprintf(m->sock, sizeof(m->sock), "%s/notify", m->dir);
	snprintf(m->s.port_file, sizeof(m->s.port_file), "%s/ports", m->dir);
	snprintf(m->s.log_file, sizeof(m->s.log_file), "%s/log", m->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", m->sock);
	m->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(m->nfd, 0);
	ck_assert_int_eq(bind(m->nfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
}

/* Write m's configuration file. */
static void
msrv_config(struct msrv *m, const char *fmt, ...)
{
	FILE	*f;
	va_list	 ap;

	ck_assert_ptr_nonnull(f = fopen(m->conf, "w"));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

/* Run primed --config CONF --port-file PORTS ARGS... (NULL-terminated). */
static void
msrv_exec(struct msrv *m, va_list ap)
{
	const char	*argv[MAX_ARGS], *bin, *a;
	int		 n = 0, fd;

	if ((bin = getenv("PRIMED")) == NULL)
		bin = "./primed";
	argv[n++] = bin;
	argv[n++] = "--config";
	argv[n++] = m->conf;
	argv[n++] = "--port-file";
	argv[n++] = m->s.port_file;
	while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1)
		argv[n++] = a;
	argv[n] = NULL;
	ck_assert_int_ne(m->s.pid = fork(), -1);
	if (m->s.pid != 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open(m->s.log_file, O_WRONLY | O_CREAT | O_APPEND,
	    0644)) != -1) {
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	setenv("NOTIFY_SOCKET", m->sock, 1);
	execv(bin, (char **)argv);
	_exit(127);
}

/*
 * The next notification that contains want, within t seconds, into
 * m->msg; 1, or 0 when none came. Others (the STATUS every second) pass.
 */
static int
msrv_notified(struct msrv *m, const char *want, double t)
{
	struct pollfd	pfd = { m->nfd, POLLIN, 0 };
	double		deadline = now_s() + t;
	ssize_t		n;
	int		ms;

	while ((ms = (int)((deadline - now_s()) * 1000)) > 0) {
		if (poll(&pfd, 1, ms) != 1)
			break;
		if ((n = recv(m->nfd, m->msg, sizeof(m->msg) - 1, 0)) <= 0)
			continue;
		m->msg[n] = '\0';
		if (strstr(m->msg, want) != NULL)
			return 1;
	}
	m->msg[0] = '\0';
	return 0;
}

/* Start m with ARGS...; it serves once READY=1 comes (asserted). */
static void
msrv_start(struct msrv *m, ...)
{
	va_list	ap;

	va_start(ap, m);
	msrv_exec(m, ap);
	va_end(ap);
	ck_assert_msg(msrv_notified(m, "READY=1", START_S),
	    "primed did not get ready");
	ck_assert_msg(strstr(m->msg, "STATUS=serving") != NULL, "%s", m->msg);
}

/*
 * Run primed with ARGS... to its end within t s; its exit status, or -1
 * (it is killed then). Its log stays for msrv_logged.
 */
static int
msrv_run(struct msrv *m, double t, ...)
{
	va_list	ap;
	double	deadline = now_s() + t;
	int	status;

	va_start(ap, t);
	msrv_exec(m, ap);
	va_end(ap);
	while (waitpid(m->s.pid, &status, WNOHANG) == 0) {
		if (now_s() > deadline) {
			server_stop(&m->s);
			return -1;
		}
		sleep_s(0.01);
	}
	m->s.pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* SIGHUP m and wait for the end of the reload; READY=1's message in m->msg. */
static void
msrv_reload(struct msrv *m)
{
	ck_assert_int_eq(kill(m->s.pid, SIGHUP), 0);
	ck_assert_msg(msrv_notified(m, "RELOADING=1", RELOAD_S),
	    "no RELOADING=1");
	ck_assert_msg(msrv_notified(m, "READY=1", RELOAD_S),
	    "the reload did not end");
}

/* Expect the last message waited for to carry text. */
static void
expect_status(const struct msrv *m, const char *text)
{
	ck_assert_msg(strstr(m->msg, text) != NULL, "got \"%s\", want \"%s\"",
	    m->msg, text);
}

/* The ports in m's port file, in order; how many. */
static int
msrv_ports(const struct msrv *m, int *ports, int max)
{
	char	 line[256], *colon;
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(m->s.port_file, "r")) == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL)
		if ((colon = strrchr(line, ':')) != NULL)
			ports[n++] = atoi(colon + 1);
	fclose(f);
	return n;
}

/* The first port of m. */
static int
msrv_port(const struct msrv *m)
{
	int	port;

	ck_assert_int_eq(msrv_ports(m, &port, 1), 1);
	return port;
}

/* 1 when m's log has text in it. */
static int
msrv_logged(const struct msrv *m, const char *text)
{
	char	 line[1024];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(m->s.log_file, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* Print what is left of m's log (the harness printed what it stopped). */
static void
msrv_show_log(const struct msrv *m)
{
	char	 line[1024];
	FILE	*f;

	if ((f = fopen(m->s.log_file, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "  primed: %s", line);
	fclose(f);
}

/* Stop m if it runs, expect status want (-1: any), remove its directory. */
static void
msrv_done(struct msrv *m, int want)
{
	const char	*names[] = { "primed.conf", "ports", "ports.tmp",
			    "log", "notify", "victim" };
	char		 path[160];
	size_t		 i;
	int		 rc;

	/* The harness checks the log of what it stops; this, the others'. */
	rc = m->s.pid > 0 ? server_stop(&m->s) : want;
	ck_assert_msg(!msrv_logged(m, "Sanitizer") &&
	    !msrv_logged(m, "runtime error:"),
	    "a sanitizer reported an error: see %s", m->s.log_file);
	close(m->nfd);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", m->dir, names[i]);
		if (strcmp(names[i], "log") == 0)
			msrv_show_log(m);
		unlink(path);
	}
	rmdir(m->dir);
	if (want != -1)
		ck_assert_int_eq(rc, want);
}

/*
 * PRIME 10 on a new connection to port answers 29. A worker retiring
 * after a reload closes what it accepted but had not read yet, and the
 * client asks again on a new connection (primed(8)): so does this.
 */
static void
expect_serves(int port)
{
	double	deadline = now_s() + 20;
	char	buf[64];
	int	fd, n;

	do {
		fd = client_connect(port);
		ck_assert_msg(fd >= 0, "cannot connect to %d", port);
		n = client_ask(fd, "PRIME 10\n", buf, sizeof(buf));
		close(fd);
	} while (n <= 0 && now_s() < deadline);
	ck_assert_msg(n > 0, "no answer on port %d", port);
	ck_assert_str_eq(buf, "29");
}

/* A listening socket on 127.0.0.1 with SO_REUSEPORT, as anyone may make. */
static int
reuseport_socket(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, on = 1;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* 1 when pid is in list. */
static int
in_list(pid_t pid, const pid_t *list, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (list[i] == pid)
			return 1;
	return 0;
}

/* Wait up to t s for m's workers to be exactly want[0..n-1]; 1 if so. */
static int
workers_become(const struct msrv *m, const pid_t *want, int n, double t)
{
	pid_t	now[1024];
	double	deadline = now_s() + t;
	int	k, i, same;

	do {
		k = server_workers(&m->s, now, 1024);
		for (i = 0, same = k == n; same && i < k; i++)
			same = in_list(now[i], want, n);
		if (same)
			return 1;
		sleep_s(0.05);
	} while (now_s() < deadline);
	return 0;
}

/* SIGKILL every worker of m that is not in keep (draining ones). */
static void
kill_others(const struct msrv *m, const pid_t *keep, int n)
{
	pid_t	now[1024];
	int	k, i;

	k = server_workers(&m->s, now, 1024);
	for (i = 0; i < k; i++)
		if (!in_list(now[i], keep, n))
			kill(now[i], SIGKILL);
	ck_assert(workers_become(m, keep, n, 20));
}

/*
 * STATS' "sleep" count through a new connection to port, once it is want
 * (20 s at most); -1 when a retiring worker took the connection and
 * dropped it before its request.
 */
static long
probe_sleep(int port, int want)
{
	int	fd = client_connect(port);
	long	v;

	ck_assert_int_ge(fd, 0);
	v = client_wait_stat(fd, "sleep", want, 20);
	close(fd);
	return v;
}

/*
 * A connection to port with a SLEEP that a worker of gen[0..n-1] is known
 * to have read (an older worker may still accept for a moment after a
 * reload: such a connection is dropped and another one tried; so is the
 * probe that counts the SLEEPs).
 */
static int
sleeping_conn(int port, int *nsleep, const pid_t *gen, int n)
{
	double	deadline = now_s() + 20;
	long	got;
	int	fd;

	while (now_s() < deadline) {
		ck_assert_int_ge(fd = client_connect(port), 0);
		if (!in_list((pid_t)client_stat(fd, "pid"), gen, n)) {
			close(fd);
			continue;
		}
		ck_assert_int_eq(client_sends(fd, "SLEEP 60000\n"), 0);
		++*nsleep;
		while ((got = probe_sleep(port, *nsleep)) == -1 &&
		    now_s() < deadline)
			;
		ck_assert_int_eq(got, *nsleep);
		return fd;
	}
	ck_abort_msg("no worker of the generation took a connection");
	return -1;
}

/*
 * Become a user id that no process and no account has (only root can),
 * so that a process limit counts this test's processes alone. Needs the
 * test to run in its own process (CK_FORK). 0, or -1 when not possible.
 */
static int
become_stranger(uid_t *uidp)
{
	const char	*fork_mode = getenv("CK_FORK");
	char		 path[300], line[256];
	FILE		*f;
	DIR		*d;
	struct dirent	*de;
	uid_t		 uid;
	int		 used;

	if (geteuid() != 0 || (fork_mode != NULL &&
	    strcmp(fork_mode, "no") == 0))
		return -1;
	for (uid = 50000 + (uid_t)(getpid() % 10000); ; uid++) {
		if (getpwuid(uid) != NULL)
			continue;
		used = 0;
		ck_assert_ptr_nonnull(d = opendir("/proc"));
		while (!used && (de = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s/status",
			    de->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			while (fgets(line, sizeof(line), f) != NULL)
				if (strncmp(line, "Uid:", 4) == 0)
					used = (uid_t)atol(line + 5) == uid;
			fclose(f);
		}
		closedir(d);
		if (!used)
			break;
	}
	if (setgroups(0, NULL) == -1 || setgid(uid) == -1 ||
	    setuid(uid) == -1)
		return -1;
	*uidp = uid;
	return 0;
}

/* Tasks (processes and threads) whose real user is uid. */
static long
tasks_of(uid_t uid)
{
	char		 path[300], line[256];
	FILE		*f;
	DIR		*d;
	struct dirent	*de;
	long		 n = 0, threads;
	int		 mine;

	ck_assert_ptr_nonnull(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		mine = 0;
		threads = 0;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Uid:", 4) == 0)
				mine = (uid_t)atol(line + 5) == uid;
			if (strncmp(line, "Threads:", 8) == 0)
				threads = atol(line + 8);
		}
		fclose(f);
		if (mine)
			n += threads;
	}
	closedir(d);
	return n;
}

/* Let pid (of our own user) have at most n tasks of our user. */
static void
limit_tasks(pid_t pid, rlim_t n)
{
	struct rlimit	rl;

	ck_assert_int_eq(prlimit(pid, RLIMIT_NPROC, NULL, &rl), 0);
	rl.rlim_cur = n == RLIM_INFINITY ? rl.rlim_max : n;
	ck_assert_int_eq(prlimit(pid, RLIMIT_NPROC, &rl, NULL), 0);
}

#define ONE_LISTENER	"workers = 2\nlisten = prime=127.0.0.1:0\n"

/* ---- ports ---- */

START_TEST(port_of_another_primed_refused)
{
	struct msrv	a, b;
	char		spec[64];

	msrv_init(&a);
	msrv_config(&a, ONE_LISTENER);
	msrv_start(&a, (char *)NULL);
	msrv_init(&b);
	snprintf(spec, sizeof(spec), "prime=127.0.0.1:%d", msrv_port(&a));
	msrv_config(&b, "workers = 2\nlisten = %s\n", spec);
	ck_assert_int_eq(msrv_run(&b, 20, (char *)NULL), 1);
	ck_assert(msrv_logged(&b, "address already in use"));
	/* The first one keeps all of its port. */
	expect_serves(msrv_port(&a));
	msrv_done(&b, -1);
	msrv_done(&a, 0);
}
END_TEST

START_TEST(port_of_a_reuseport_socket_refused)
{
	struct msrv	m;
	int		fd, port, got;

	fd = reuseport_socket(&port);
	msrv_init(&m);
	msrv_config(&m, "workers = 2\nlisten = prime=127.0.0.1:%d\n", port);
	got = msrv_run(&m, 20, (char *)NULL);
	ck_assert_int_eq(got, 1);
	ck_assert(msrv_logged(&m, "address already in use"));
	close(fd);
	msrv_done(&m, -1);
}
END_TEST

/* 1 when host resolves, first, to 127.0.0.1. */
static int
is_loopback_v4(const char *host)
{
	struct addrinfo	hints, *res;
	int		yes;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, "7070", &hints, &res) != 0)
		return 0;
	yes = res->ai_family == AF_INET &&
	    ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr ==
	    htonl(INADDR_LOOPBACK);
	freeaddrinfo(res);
	return yes;
}

/* Two listeners on one address clash, however it is written. */
static void
expect_clash(const char *a, const char *b)
{
	struct msrv	m;

	msrv_init(&m);
	msrv_config(&m, "workers = 1\nlisten = %s\nlisten = %s\n", a, b);
	ck_assert_int_eq(msrv_run(&m, 20, "--check-config", (char *)NULL),
	    78);
	ck_assert(msrv_logged(&m, "bind the same address"));
	ck_assert_int_eq(msrv_run(&m, 20, (char *)NULL), 78);
	msrv_done(&m, -1);
}

START_TEST(same_address_written_twice_refused)
{
	int	fd, port;
	char	a[64], b[64];

	/* A port nobody holds: the check must come before any bind. */
	fd = reuseport_socket(&port);
	close(fd);
	snprintf(a, sizeof(a), "prime=127.0.0.1:%d", port);
	snprintf(b, sizeof(b), "echo=0.0.0.0:%d", port);
	expect_clash(a, b);
	if (is_loopback_v4("localhost")) {
		snprintf(b, sizeof(b), "upper=localhost:%d", port);
		expect_clash(a, b);
	} else
		fprintf(stderr, "localhost is not 127.0.0.1 first: "
		    "that case skipped\n");
}
END_TEST

START_TEST(port_zero_listeners_get_a_port_each)
{
	struct msrv	m;
	int		ports[4], again[4], fd;

	msrv_init(&m);
	msrv_config(&m, "workers = 2\nlisten = prime=127.0.0.1:0\n"
	    "listen = prime=127.0.0.1:0,framing=raw\n");
	msrv_start(&m, (char *)NULL);
	ck_assert_int_eq(msrv_ports(&m, ports, 4), 2);
	ck_assert_int_ne(ports[0], ports[1]);
	expect_serves(ports[0]);
	ck_assert_int_ge(fd = client_connect(ports[1]), 0);
	expect_reply(fd, "10", "29");
	close(fd);
	/* A reload keeps both ports. */
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	ck_assert_int_eq(msrv_ports(&m, again, 4), 2);
	ck_assert_int_eq(again[0], ports[0]);
	ck_assert_int_eq(again[1], ports[1]);
	expect_serves(ports[0]);
	msrv_done(&m, 0);
}
END_TEST

/*
 * Every line of the port file is "SERVICE HOST:PORT framing=F": two
 * listeners of one service are told apart by their framing, and services
 * where none applies say none.
 */
START_TEST(port_file_names_the_framing)
{
	static const char *const want[][2] = {
		{ "prime", "line" }, { "prime", "raw" }, { "upper", "raw" },
		{ "echo", "none" }, { "http", "http" },
	};
	struct msrv	 m;
	char		 line[256], expect[256];
	FILE		*f;
	int		 ports[8], n, i;

	msrv_init(&m);
	msrv_config(&m, "workers = 1\nlisten = prime=127.0.0.1:0\n"
	    "listen = prime=127.0.0.1:0,framing=raw\n"
	    "listen = upper=127.0.0.1:0\nlisten = echo=127.0.0.1:0\n"
	    "listen = http=127.0.0.1:0\n");
	msrv_start(&m, (char *)NULL);
	ck_assert_int_eq(n = msrv_ports(&m, ports, 8), 5);
	ck_assert_ptr_nonnull(f = fopen(m.s.port_file, "r"));
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
		snprintf(expect, sizeof(expect), "%s 127.0.0.1:%d framing=%s\n",
		    want[i][0], ports[i], want[i][1]);
		ck_assert_str_eq(line, expect);
	}
	ck_assert_ptr_null(fgets(line, sizeof(line), f));
	fclose(f);
	msrv_done(&m, 0);
}
END_TEST

START_TEST(port_file_never_written_through_a_link)
{
	struct msrv	m;
	char		victim[128], tmp[128], buf[64];
	FILE		*f;
	int		port;

	msrv_init(&m);
	snprintf(victim, sizeof(victim), "%s/victim", m.dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", m.s.port_file);
	ck_assert_ptr_nonnull(f = fopen(victim, "w"));
	fputs("precious\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	msrv_config(&m, ONE_LISTENER);
	msrv_start(&m, (char *)NULL);
	port = msrv_port(&m);
	ck_assert_int_gt(port, 0);
	expect_serves(port);
	ck_assert_ptr_nonnull(f = fopen(victim, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "precious\n");
	ck_assert_int_eq(access(tmp, F_OK), -1);
	msrv_done(&m, 0);
	ck_assert_int_eq(access(m.s.port_file, F_OK), -1);
}
END_TEST

/* ---- what a worker inherits ---- */

/* The targets of pid's descriptors above 2 ("socket:[123]", ...); how many. */
static int
fd_targets(pid_t pid, char targets[][64], int max)
{
	char		 path[320];
	DIR		*d;
	struct dirent	*de;
	ssize_t		 len;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while (n < max && (de = readdir(d)) != NULL) {
		if (atoi(de->d_name) <= 2)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", (long)pid,
		    de->d_name);
		if ((len = readlink(path, targets[n], 63)) <= 0)
			continue;
		targets[n++][len] = '\0';
	}
	closedir(d);
	return n;
}

START_TEST(workers_keep_nothing_of_the_master)
{
	struct msrv	m;
	char		mine[256][64], master[256][64];
	pid_t		pids[8];
	int		nw, nm, n, i, j, k, shared, epolls;

	msrv_init(&m);
	msrv_config(&m, "workers = 2\nlisten = prime=127.0.0.1:0\n"
	    "listen = echo=127.0.0.1:0\n");
	msrv_start(&m, (char *)NULL);
	nm = fd_targets(m.s.pid, master, 256);
	ck_assert_int_eq(nw = server_workers(&m.s, pids, 8), 2);
	for (i = 0; i < nw; i++) {
		n = fd_targets(pids[i], mine, 256);
		for (j = 0, shared = 0, epolls = 0; j < n; j++) {
			epolls += strcmp(mine[j], "anon_inode:[eventpoll]") == 0;
			if (strncmp(mine[j], "anon_inode:", 11) == 0)
				continue;
			for (k = 0; k < nm; k++)
				if (strcmp(mine[j], master[k]) == 0)
					break;
			if (k == nm)
				continue;
			/* Only its own socket of each listener. */
			ck_assert_msg(strncmp(mine[j], "socket:", 7) == 0,
			    "worker %ld shares %s with the master",
			    (long)pids[i], mine[j]);
			shared++;
		}
		ck_assert_int_eq(shared, 2);
		/* Its event base's and its hangup watch's: none of the master. */
		ck_assert_msg(epolls == 2, "worker %ld has %d epoll instances",
		    (long)pids[i], epolls);
	}
	msrv_done(&m, 0);
}
END_TEST

START_TEST(workers_follow_a_dead_master)
{
	struct msrv	m;
	pid_t		pids[8];
	int		n, i, left;
	double		deadline;

	msrv_init(&m);
	msrv_config(&m, ONE_LISTENER);
	msrv_start(&m, (char *)NULL);
	ck_assert_int_eq(n = server_workers(&m.s, pids, 8), 2);
	ck_assert_int_eq(kill(m.s.pid, SIGKILL), 0);
	ck_assert_int_eq(server_wait(&m.s, 10), 128 + SIGKILL);
	deadline = now_s() + 20;
	do {
		for (i = 0, left = 0; i < n; i++)
			left += kill(pids[i], 0) == 0;
		if (left > 0)
			sleep_s(0.05);
	} while (left > 0 && now_s() < deadline);
	ck_assert_msg(left == 0, "%d workers outlived their master", left);
	msrv_done(&m, -1);
}
END_TEST

/* ---- reloads that end ---- */

START_TEST(reload_onto_a_held_port_fails)
{
	struct msrv	m;
	pid_t		before[8];
	int		fd, port, nb, ports[4];

	fd = reuseport_socket(&port);
	msrv_init(&m);
	msrv_config(&m, ONE_LISTENER);
	msrv_start(&m, (char *)NULL);
	nb = server_workers(&m.s, before, 8);
	msrv_config(&m, ONE_LISTENER "listen = echo=127.0.0.1:%d\n", port);
	msrv_reload(&m);
	expect_status(&m, "reload failed");
	expect_status(&m, "address already in use");
	/* The status of every second goes on saying so. */
	ck_assert_msg(msrv_notified(&m, "requests/s", 5), "no status line");
	expect_status(&m, "; last reload failed: ");
	ck_assert(workers_become(&m, before, nb, 10));
	ck_assert_int_eq(msrv_ports(&m, ports, 4), 1);
	expect_serves(ports[0]);
	/* The next reload is not ignored, and works; the status forgets. */
	close(fd);
	msrv_config(&m, ONE_LISTENER);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	ck_assert_msg(msrv_notified(&m, "requests/s", 5), "no status line");
	ck_assert_ptr_null(strstr(m.msg, "reload failed"));
	expect_serves(msrv_port(&m));
	msrv_done(&m, 0);
}
END_TEST

START_TEST(reload_whose_workers_cannot_set_up_fails)
{
	struct msrv	m;
	pid_t		before[8];
	uid_t		uid;
	int		nb;

	if (geteuid() == 0 && become_stranger(&uid) == -1) {
		fprintf(stderr, "cannot leave root: skipped\n");
		return;
	}
	msrv_init(&m);
	msrv_config(&m, ONE_LISTENER);
	msrv_start(&m, (char *)NULL);
	nb = server_workers(&m.s, before, 8);
	/* Workers cannot become root: they exit 78, nobody respawns them. */
	msrv_config(&m, ONE_LISTENER "user = root\n");
	msrv_reload(&m);
	expect_status(&m, "reload failed");
	expect_status(&m, "could not set up");
	ck_assert(msrv_logged(&m, "cannot become root"));
	ck_assert(workers_become(&m, before, nb, 10));
	expect_serves(msrv_port(&m));
	msrv_config(&m, ONE_LISTENER);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	expect_serves(msrv_port(&m));
	msrv_done(&m, 0);
}
END_TEST

START_TEST(start_whose_workers_cannot_set_up_exits_78)
{
	struct msrv	m;
	uid_t		uid;

	if (geteuid() == 0 && become_stranger(&uid) == -1) {
		fprintf(stderr, "cannot leave root: skipped\n");
		return;
	}
	msrv_init(&m);
	msrv_config(&m, ONE_LISTENER "user = root\n");
	ck_assert_int_eq(msrv_run(&m, 30, (char *)NULL), 78);
	ck_assert(msrv_logged(&m, "cannot become root"));
	msrv_done(&m, -1);
}
END_TEST

/* Replace m's configuration file by a FIFO that no one writes to. */
static void
msrv_config_fifo(struct msrv *m)
{
	ck_assert_int_eq(unlink(m->conf), 0);
	ck_assert_int_eq(mkfifo(m->conf, 0600), 0);
}

/* Wait up to t s for m to have n workers, gone not among them; 1 if so. */
static int
workers_replace(const struct msrv *m, pid_t gone, int n, double t)
{
	pid_t	now[1024];
	double	deadline = now_s() + t;
	int	k;

	do {
		k = server_workers(&m->s, now, 1024);
		if (k == n && !in_list(gone, now, k))
			return 1;
		sleep_s(0.05);
	} while (now_s() < deadline);
	return 0;
}

START_TEST(start_with_a_fifo_config_exits_78)
{
	struct msrv	m;

	msrv_init(&m);
	ck_assert_int_eq(mkfifo(m.conf, 0600), 0);
	/* It waited in open() for a writer until killed (-1). */
	ck_assert_int_eq(msrv_run(&m, 20, (char *)NULL), 78);
	ck_assert(msrv_logged(&m, "primed.conf: not a regular file"));
	msrv_done(&m, -1);
}
END_TEST

START_TEST(reload_of_a_fifo_config_refused)
{
	struct msrv	m;
	pid_t		pids[8];

	msrv_init(&m);
	msrv_config(&m, ONE_LISTENER);
	msrv_start(&m, (char *)NULL);
	ck_assert_int_eq(server_workers(&m.s, pids, 8), 2);
	/* The master used to sleep in open() until a writer came. */
	msrv_config_fifo(&m);
	msrv_reload(&m);
	expect_status(&m, "reload failed");
	expect_status(&m, "primed.conf: not a regular file");
	ck_assert(msrv_logged(&m, "not a regular file"));
	/* It goes on: a killed worker is replaced, and SIGTERM stops it. */
	ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
	ck_assert(workers_replace(&m, pids[0], 2, 20));
	expect_serves(msrv_port(&m));
	msrv_done(&m, 0);
}
END_TEST

/*
 * Start m with one worker and one thread as a user of its own, then
 * allow that user spare more tasks than it has now (set on the master,
 * so every worker forked from now on has the same limit).
 */
static void
start_limited(struct msrv *m, int spare)
{
	uid_t	uid;

	msrv_init(m);
	msrv_config(m, "workers = 1\nthreads = 1\n"
	    "listen = prime=127.0.0.1:0\n");
	msrv_start(m, (char *)NULL);
	uid = getuid();
	limit_tasks(m->s.pid, (rlim_t)(tasks_of(uid) + spare));
}

START_TEST(reload_that_cannot_fork_ends_at_its_deadline)
{
	struct msrv	m;
	pid_t		before[8];
	uid_t		uid;
	int		nb;

	if (become_stranger(&uid) == -1) {
		fprintf(stderr, "not root: skipped\n");
		return;
	}
	start_limited(&m, 0);
	nb = server_workers(&m.s, before, 8);
	msrv_reload(&m);
	expect_status(&m, "reload failed");
	expect_status(&m, "not serving after");
	ck_assert(msrv_logged(&m, "fork: Resource temporarily unavailable"));
	ck_assert(workers_become(&m, before, nb, 10));
	expect_serves(msrv_port(&m));
	/* Room again: the next SIGHUP is heard and the reload is done. */
	limit_tasks(m.s.pid, RLIM_INFINITY);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	ck_assert(!workers_become(&m, before, nb, 0));
	expect_serves(msrv_port(&m));
	msrv_done(&m, 0);
}
END_TEST

START_TEST(reload_without_threads_fails_at_once)
{
	struct msrv	m;
	pid_t		before[8];
	uid_t		uid;
	int		nb;

	if (become_stranger(&uid) == -1) {
		fprintf(stderr, "not root: skipped\n");
		return;
	}
	/* Room for the new worker, not for its compute thread. */
	start_limited(&m, 1);
	nb = server_workers(&m.s, before, 8);
	msrv_reload(&m);
	expect_status(&m, "reload failed");
	expect_status(&m, "could not set up");
	ck_assert(msrv_logged(&m, "pthread_create"));
	ck_assert(workers_become(&m, before, nb, 10));
	expect_serves(msrv_port(&m));
	limit_tasks(m.s.pid, RLIM_INFINITY);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	msrv_done(&m, 0);
}
END_TEST

/* The workers of m not in known[0..*n-1], added to known; how many. */
static int
new_workers(const struct msrv *m, pid_t *known, int *n, pid_t *out)
{
	pid_t	now[1024];
	int	k, i, got = 0;

	k = server_workers(&m->s, now, 1024);
	for (i = 0; i < k; i++)
		if (!in_list(now[i], known, *n)) {
			known[(*n)++] = now[i];
			out[got++] = now[i];
		}
	return got;
}

/*
 * A connection the old generation accepted just before a reload, whose
 * client has not asked yet, is answered what it asks next (PING says
 * PONG: the server is not going away), then closed.
 */
START_TEST(reload_answers_a_connection_not_yet_asking)
{
	struct msrv	m;
	char		buf[64];
	int		fd, probe, port;

	msrv_init(&m);
	msrv_config(&m, "workers = 1\nlisten = prime=127.0.0.1:0\n");
	msrv_start(&m, (char *)NULL);
	port = msrv_port(&m);
	ck_assert_int_ge(fd = client_connect(port), 0);
	ck_assert_int_ge(probe = client_connect(port), 0);
	/* The one worker has accepted both (the probe is the second). */
	ck_assert_int_eq(client_wait_stat(probe, "connections_open", 2, 20), 2);
	close(probe);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	ck_assert_int_eq(client_sends(fd, "PING\nPRIME 10\n"), 0);
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "PONG");
	ck_assert_int_ge(client_line(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "29");
	ck_assert(client_eof(fd, 20));
	close(fd);
	expect_serves(port);
	msrv_done(&m, 0);
}
END_TEST

START_TEST(reload_waits_for_room_for_a_whole_generation)
{
	enum { RETIRING = 3 };	/* all the room there is besides two */
	struct msrv	m;
	pid_t		known[64], gen[64];
	int		held[RETIRING], nsleep = 0, port, nknown = 0, i;

	msrv_init(&m);
	msrv_config(&m, ONE_LISTENER "shutdown-timeout = 120\n");
	msrv_start(&m, (char *)NULL);
	port = msrv_port(&m);
	ck_assert_int_eq(new_workers(&m, known, &nknown, gen), 2);
	/* Generations retire, each kept by a request it still owes. */
	for (i = 0; i < RETIRING; i++) {
		held[i] = sleeping_conn(port, &nsleep, gen, 2);
		msrv_reload(&m);
		expect_status(&m, "STATUS=serving");
		ck_assert_int_eq(new_workers(&m, known, &nknown, gen), 2);
	}
	/* No room for one more: refused, said so, and still serving. */
	msrv_reload(&m);
	expect_status(&m, "reload failed");
	expect_status(&m, "still has");
	expect_serves(port);
	/* Once they are gone, a reload works again. */
	for (i = 0; i < RETIRING; i++)
		client_reset(held[i]);
	kill_others(&m, gen, 2);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	expect_serves(port);
	msrv_done(&m, 0);
}
END_TEST

START_TEST(reload_of_256_workers_serves_every_slot)
{
	enum { HOLD = 64, PROBES = 100 };
	struct msrv	m;
	struct pollfd	pfd[PROBES];
	pid_t		known[1024], gen[1024];
	char		buf[64];
	int		held[HOLD], nsleep = 0, port, nknown = 0, i, n;
	int		answered = 0;
	double		deadline;

	msrv_init(&m);
	msrv_config(&m, "workers = 256\nthreads = 1\nshutdown-timeout = 120\n"
	    "listen = prime=127.0.0.1:0\n");
	msrv_start(&m, (char *)NULL);
	port = msrv_port(&m);
	/* Keep many workers of the first generation busy while it retires. */
	ck_assert_int_eq(new_workers(&m, known, &nknown, gen), 256);
	for (i = 0; i < HOLD; i++)
		held[i] = sleeping_conn(port, &nsleep, gen, 256);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving");
	ck_assert_int_eq(new_workers(&m, known, &nknown, gen), 256);
	msrv_reload(&m);
	expect_status(&m, "STATUS=serving with 256 workers");
	ck_assert_int_eq(n = new_workers(&m, known, &nknown, gen), 256);
	/* Every one of the 256 sockets has a worker: nothing hangs. */
	for (i = 0; i < PROBES; i++) {
		ck_assert_int_ge(pfd[i].fd = client_connect(port), 0);
		pfd[i].events = POLLIN;
		ck_assert_int_eq(client_sends(pfd[i].fd, "PING\n"), 0);
	}
	deadline = now_s() + 20;
	while (answered < PROBES && now_s() < deadline) {
		if (poll(pfd, PROBES, 100) <= 0)
			continue;
		for (i = 0; i < PROBES; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			ck_assert_int_ge(client_line(pfd[i].fd, buf,
			    sizeof(buf)), 0);
			ck_assert_str_eq(buf, "PONG");
			close(pfd[i].fd);
			pfd[i].fd = -1;
			answered++;
		}
	}
	ck_assert_msg(answered == PROBES, "%d of %d connections unanswered",
	    PROBES - answered, PROBES);
	for (i = 0; i < HOLD; i++)
		client_reset(held[i]);
	kill_others(&m, gen, n);
	msrv_done(&m, 0);
}
END_TEST

static Suite *
master_suite(void)
{
	Suite	*s = suite_create("master");
	TCase	*tc;

	tc = tcase_create("ports");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, port_of_another_primed_refused);
	tcase_add_test(tc, port_of_a_reuseport_socket_refused);
	tcase_add_test(tc, same_address_written_twice_refused);
	tcase_add_test(tc, port_zero_listeners_get_a_port_each);
	tcase_add_test(tc, port_file_names_the_framing);
	tcase_add_test(tc, port_file_never_written_through_a_link);
	suite_add_tcase(s, tc);

	tc = tcase_create("workers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, workers_keep_nothing_of_the_master);
	tcase_add_test(tc, workers_follow_a_dead_master);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, reload_onto_a_held_port_fails);
	tcase_add_test(tc, reload_whose_workers_cannot_set_up_fails);
	tcase_add_test(tc, start_whose_workers_cannot_set_up_exits_78);
	tcase_add_test(tc, start_with_a_fifo_config_exits_78);
	tcase_add_test(tc, reload_of_a_fifo_config_refused);
	tcase_add_test(tc, reload_that_cannot_fork_ends_at_its_deadline);
	tcase_add_test(tc, reload_without_threads_fails_at_once);
	tcase_add_test(tc, reload_answers_a_connection_not_yet_asking);
	tcase_add_test(tc, reload_waits_for_room_for_a_whole_generation);
	tcase_add_test(tc, reload_of_256_workers_serves_every_slot);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(master_suite());
}
