/*
 * harness.c: a real primed for the integration tests.
 *
 * server_start runs $PRIMED (the built binary) on 127.0.0.1 port 0 with a
 * port file, waits until the file appears (every worker accepts by then),
 * and reads the ports from it. Clients are plain blocking sockets with a
 * receive timeout, so a test that waits for a reply that never comes fails
 * instead of hanging.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_ARGS	64
#define RECV_TIMEOUT_S	20

/* Seconds on the monotonic clock. */
double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep for s seconds. */
void
sleep_s(double s)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Read the port file once it is complete; 0 when it was. */
static int
server_read_ports(struct server *s)
{
	char	 line[256], addr[128];
	FILE	*f;
	char	*colon;

	if ((f = fopen(s->port_file, "r")) == NULL)
		return -1;
	s->nl = 0;
	while (s->nl < SERVER_MAX_LISTENERS && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %127s", s->service[s->nl], addr) != 2)
			continue;
		if ((colon = strrchr(addr, ':')) == NULL)
			continue;
		*colon = '\0';
		snprintf(s->host[s->nl], sizeof(s->host[0]), "%s", addr);
		s->port[s->nl++] = atoi(colon + 1);
	}
	fclose(f);
	return s->nl > 0 ? 0 : -1;
}

/*
 * Start primed with the given arguments (NULL-terminated) after the
 * defaults; a --listen among them replaces the default prime listener.
 * Returns 0 once it serves, -1 if it exited or did not start in 10 s.
 */
int
server_start(struct server *s, ...)
{
	const char	*argv[MAX_ARGS], *bin, *a;
	va_list		 ap;
	int		 n = 0, listen_given = 0, status, i, fd;
	static int	 seq;
	double		 deadline;

	memset(s, 0, sizeof(*s));
	if ((bin = getenv("PRIMED")) == NULL)
		bin = "./primed";
	snprintf(s->port_file, sizeof(s->port_file), "/tmp/primed-test.%ld.%d",
	    (long)getpid(), ++seq);
	snprintf(s->log_file, sizeof(s->log_file), "%s.log", s->port_file);
	unlink(s->port_file);
	argv[n++] = bin;
	va_start(ap, s);
	while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 8) {
		if (strcmp(a, "--listen") == 0)
			listen_given = 1;
		argv[n++] = a;
	}
	va_end(ap);
	if (!listen_given) {
		argv[n++] = "--listen";
		argv[n++] = "prime=127.0.0.1:0";
	}
	argv[n++] = "--port-file";
	argv[n++] = s->port_file;
	argv[n] = NULL;

	if ((s->pid = fork()) == -1)
		return -1;
	if (s->pid == 0) {
		/* Should the test die, its server follows. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((fd = open(s->log_file, O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(bin, (char **)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	deadline = now_s() + 10;
	while (now_s() < deadline) {
		if (server_read_ports(s) == 0)
			return 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		sleep_s(0.01);
	}
	for (i = 0; argv[i] != NULL; i++)
		fprintf(stderr, "%s ", argv[i]);
	fprintf(stderr, ": did not start\n");
	server_stop(s);
	return -1;
}

/*
 * After the server exited: show its log, and fail the whole test program
 * if a sanitizer reported anything in any of its processes (a worker that
 * aborts is respawned, so nothing else would notice).
 */
static void
server_check_log(struct server *s)
{
	char	 line[1024];
	FILE	*f;
	int	 bad = 0;

	if ((f = fopen(s->log_file, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		fprintf(stderr, "  server: %s", line);
		if (strstr(line, "Sanitizer") != NULL ||
		    strstr(line, "runtime error:") != NULL)
			bad = 1;
	}
	fclose(f);
	unlink(s->log_file);
	if (bad) {
		fprintf(stderr, "FAIL: a sanitizer reported an error\n");
		exit(1);
	}
}

/* Wait up to t seconds for the server to exit; its exit status or -1. */
int
server_wait(struct server *s, double t)
{
	double	deadline = now_s() + t;
	int	status;

	if (s->pid <= 0)
		return -1;
	while (now_s() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			unlink(s->port_file);
			server_check_log(s);
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		sleep_s(0.01);
	}
	return -1;
}

/* SIGTERM the server, SIGKILL it after 15 s; its exit status. */
int
server_stop(struct server *s)
{
	int	rc;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if ((rc = server_wait(s, 15)) != -1)
		return rc;
	kill(s->pid, SIGKILL);
	return server_wait(s, 5);
}

/*
 * The port of the nth (from 0) listener of service, in the order they were
 * given (the port file keeps it), or -1.
 */
int
server_port_nth(const struct server *s, const char *service, int nth)
{
	int	i;

	for (i = 0; i < s->nl; i++)
		if (strcmp(s->service[i], service) == 0 && nth-- == 0)
			return s->port[i];
	return -1;
}

/* The port of the first listener of service, or -1. */
int
server_port(const struct server *s, const char *service)
{
	return server_port_nth(s, service, 0);
}

/* The pids of the server's workers (its children), up to max. */
int
server_workers(const struct server *s, pid_t *pids, int max)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], buf[512], *p;
	FILE		*f;
	int		 n = 0, ppid;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* pid (comm) state ppid: comm may hold spaces, so skip to ')'. */
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == s->pid)
			pids[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

/*
 * A blocking TCP connection to host:port with a receive timeout, and a
 * receive buffer of rcvbuf bytes unless 0; -1.
 */
static int
client_connect_opt(const char *host, int port, int rcvbuf)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct timeval		 tv = { RECV_TIMEOUT_S, 0 };
	socklen_t		 len;
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, host, &sin->sin_addr);
		len = sizeof(*sin);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A blocking TCP connection to host:port with a receive timeout; -1. */
int
client_connect_host(const char *host, int port)
{
	return client_connect_opt(host, port, 0);
}

/* The same to 127.0.0.1:port with a receive buffer of rcvbuf bytes. */
int
client_connect_rcvbuf(int port, int rcvbuf)
{
	return client_connect_opt("127.0.0.1", port, rcvbuf);
}

/* Connect to 127.0.0.1:port. */
int
client_connect(int port)
{
	return client_connect_host("127.0.0.1", port);
}

/* Send all of buf; 0 or -1. */
int
client_send(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send a string. */
int
client_sends(int fd, const char *s)
{
	return client_send(fd, s, strlen(s));
}

/*
 * Read one line (without "\n") into buf. Returns its length, or -1 on EOF,
 * error or timeout before a whole line.
 */
int
client_line(int fd, char *buf, size_t len)
{
	size_t	n = 0;
	char	ch;
	ssize_t	r;

	while (n + 1 < len) {
		if ((r = recv(fd, &ch, 1, 0)) == 1) {
			if (ch == '\n') {
				buf[n] = '\0';
				return (int)n;
			}
			buf[n++] = ch;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	buf[n] = '\0';
	return -1;
}

/* Send req and read one reply line. */
int
client_ask(int fd, const char *req, char *buf, size_t len)
{
	if (client_sends(fd, req) == -1)
		return -1;
	return client_line(fd, buf, len);
}

/* 1 when the server closes fd within t seconds with nothing more to say. */
int
client_eof(int fd, double t)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	char		ch;

	if (poll(&pfd, 1, (int)(t * 1000)) != 1)
		return 0;
	return recv(fd, &ch, 1, 0) == 0 ||
	    (errno == ECONNRESET);
}

/* The value of a numeric key in a STATS reply on fd, or -1. */
long
client_stat(int fd, const char *key)
{
	char	 buf[4096], pat[80], *p;

	if (client_ask(fd, "STATS\n", buf, sizeof(buf)) <= 0)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(buf, pat)) == NULL)
		return -1;
	return atol(p + strlen(pat));
}

/* Poll STATS key on fd until it equals want or t s pass; the last value. */
long
client_wait_stat(int fd, const char *key, long want, double t)
{
	double	deadline = now_s() + t;
	long	v;

	while ((v = client_stat(fd, key)) != want && now_s() < deadline)
		sleep_s(0.05);
	return v;
}

/* n copies of "ECHO <size x's>\n" in one buffer (caller frees). */
char *
client_echo_batch(int n, size_t size, size_t *lenp)
{
	size_t	one = 5 + size + 1, i;
	char	*buf;

	if ((buf = malloc(one * (size_t)n)) == NULL)
		abort();
	for (i = 0; i < (size_t)n; i++) {
		memcpy(buf + i * one, "ECHO ", 5);
		memset(buf + i * one + 5, 'x', size);
		buf[i * one + one - 1] = '\n';
	}
	*lenp = one * (size_t)n;
	return buf;
}

/*
 * Send up to len bytes without blocking, until the peer stops taking
 * them for stall seconds; the number of bytes sent.
 */
size_t
client_send_until_stuck(int fd, const char *buf, size_t len, double stall)
{
	size_t	sent = 0;
	ssize_t	n;
	double	last = now_s();

	while (sent < len && now_s() - last < stall) {
		n = send(fd, buf + sent, len - sent, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			last = now_s();
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			sleep_s(0.01);
		else
			break;
	}
	return sent;
}

/* 1 when fd has something to read (or is closed) within ms. */
int
client_readable(int fd, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, ms) == 1;
}

/* Close fd with a reset instead of a FIN. */
void
client_reset(int fd)
{
	struct linger	lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* A "Name: N kB" line of /proc/pid/status in bytes; -1 if unknown. */
static long
proc_status_bytes(long pid, const char *name)
{
	char	 path[64], line[256];
	size_t	 len = strlen(name);
	long	 kb = -1;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, len) == 0 && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* The resident set of process pid in bytes, from /proc; -1 if unknown. */
long
proc_rss(long pid)
{
	return proc_status_bytes(pid, "VmRSS");
}

/* The largest resident set process pid has had, in bytes; -1 if unknown. */
long
proc_peak_rss(long pid)
{
	return proc_status_bytes(pid, "VmHWM");
}

/* CPU seconds (user + system) process pid has used; -1 if unknown. */
double
proc_cpu(long pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Open descriptors of process pid, from /proc; -1 if unknown. */
int
proc_fds(long pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}
