/*
 * expect.h: the assertions the integration tests share, on top of the
 * harness's plain clients. Include after <check.h> and "harness.h".
 */
#ifndef EXPECT_H
#define EXPECT_H

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>

/* Read one line and expect exactly want. */
static inline void
expect_line(int fd, const char *want)
{
	char	buf[4096];

	ck_assert_msg(client_line(fd, buf, sizeof(buf)) >= 0,
	    "no reply, want \"%s\"", want);
	ck_assert_str_eq(buf, want);
}

/* Read one line and expect it to start with prefix. */
static inline void
expect_line_prefix(int fd, const char *prefix)
{
	char	buf[4096];

	ck_assert_msg(client_line(fd, buf, sizeof(buf)) >= 0,
	    "no reply, want \"%s...\"", prefix);
	ck_assert_msg(strncmp(buf, prefix, strlen(prefix)) == 0,
	    "got \"%s\", want \"%s...\"", buf, prefix);
}

/* Send len bytes of req and expect exactly the reply want. */
static inline void
expect_reply_n(int fd, const char *req, size_t len, const char *want)
{
	ck_assert_int_eq(client_send(fd, req, len), 0);
	expect_line(fd, want);
}

/* Send req and expect exactly the reply want. */
static inline void
expect_reply(int fd, const char *req, const char *want)
{
	expect_reply_n(fd, req, strlen(req), want);
}

/* Expect the server to close fd cleanly (FIN, no reset) within t s. */
static inline void
expect_clean_close(int fd, double t)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	char		ch;
	ssize_t		n;

	ck_assert_msg(poll(&pfd, 1, (int)(t * 1000)) == 1,
	    "not closed within %.1f s", t);
	n = recv(fd, &ch, 1, 0);
	ck_assert_msg(n == 0, "want EOF, got %s",
	    n > 0 ? "more data" : strerror(errno));
}

#endif
