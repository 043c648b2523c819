/*
 * proto.c: the wire protocol of the prime service, parsed and formatted.
 * Pure: no sockets, no libevent, no allocation; a request points into the
 * caller's line and a reply is written into the caller's buffer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <strings.h>

#include "primed.h"

static const char *cmd_names[CMD_COUNT] = {
	"prime", "upper", "echo", "sleep", "ping", "stats", "quit", "other"
};

static const char *err_names[ERR_COUNT] = {
#define X(e, s) s,
	ERRORS(X)
#undef X
};

/* Lower-case name of a command, as used in STATS. */
const char *
proto_cmd_name(enum cmd c)
{
	return (c >= 0 && c < CMD_COUNT) ? cmd_names[c] : "?";
}

/* Wire name of an error code. */
const char *
proto_err_name(enum err e)
{
	return (e >= 0 && e < ERR_COUNT) ? err_names[e] : "?";
}

/* Mark req as failed with code e and a human reason. */
static void
fail(struct request *req, enum err e, const char *why)
{
	req->err = e;
	req->why = why;
}

/* Parse a decimal number in [lo, hi]: digits only, leading zeros allowed. */
static void
parse_number(const char *s, size_t len, uint64_t lo, uint64_t hi,
    struct request *req)
{
	uint64_t	v = 0;
	int		big = 0;
	size_t		i;

	if (len == 0) {
		fail(req, ERR_BAD_REQUEST, "missing argument");
		return;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			fail(req, ERR_BAD_REQUEST, "not a number");
			return;
		}
		if (v > (UINT64_MAX - 9) / 10)
			big = 1;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (big || v < lo || v > hi) {
		fail(req, ERR_OUT_OF_RANGE, req->cmd == CMD_SLEEP ?
		    "milliseconds must be 0..60000" : "n must be 1..max-n");
		return;
	}
	req->n = v;
}

/*
 * The n of a PRIME request written on its own (an HTTP path): ERR_NONE
 * with *n set, or the error and *why, by the same rules as PRIME n.
 */
enum err
proto_parse_n(const char *s, size_t len, uint64_t max_n, uint64_t *n,
    const char **why)
{
	struct request	req = { .cmd = CMD_PRIME, .err = ERR_NONE };

	parse_number(s, len, 1, max_n, &req);
	*n = req.n;
	*why = req.why;
	return req.err;
}

/* Which command the first word names, or -1 ("other" names none). */
static int
lookup_cmd(const char *w, size_t len)
{
	int	c;

	for (c = 0; c < CMD_OTHER; c++)
		if (strlen(cmd_names[c]) == len &&
		    strncasecmp(w, cmd_names[c], len) == 0)
			return c;
	return -1;
}

/* Parse one request (the line without its end) into req. */
void
proto_parse(const char *line, size_t len, uint64_t max_n, struct request *req)
{
	const char	*sp, *arg;
	size_t		 wlen, alen;
	int		 c;

	memset(req, 0, sizeof(*req));
	req->err = ERR_NONE;
	if (len == 0) {
		fail(req, ERR_BAD_REQUEST, "empty request");
		return;
	}
	sp = memchr(line, ' ', len);
	wlen = sp ? (size_t)(sp - line) : len;
	arg = sp ? sp + 1 : NULL;
	alen = sp ? len - wlen - 1 : 0;

	if (wlen == 0) {
		fail(req, ERR_BAD_REQUEST, "request starts with a space");
		return;
	}
	/* A bare number; a sign makes it a bad one, not an unknown command. */
	if ((line[0] >= '0' && line[0] <= '9') || line[0] == '+' ||
	    line[0] == '-') {
		req->cmd = CMD_PRIME;
		if (sp != NULL)
			fail(req, ERR_BAD_REQUEST, "extra argument");
		else
			parse_number(line, len, 1, max_n, req);
		return;
	}
	if ((c = lookup_cmd(line, wlen)) == -1) {
		req->cmd = CMD_OTHER;
		fail(req, ERR_UNKNOWN_CMD, "try PRIME, UPPER, ECHO, SLEEP, "
		    "PING, STATS or QUIT");
		return;
	}
	req->cmd = c;
	switch (req->cmd) {
	case CMD_PRIME:
	case CMD_SLEEP:
		if (arg == NULL)
			fail(req, ERR_BAD_REQUEST, "missing argument");
		else if (memchr(arg, ' ', alen) != NULL)
			fail(req, ERR_BAD_REQUEST, "extra argument");
		else if (req->cmd == CMD_PRIME)
			parse_number(arg, alen, 1, max_n, req);
		else
			parse_number(arg, alen, 0, SLEEP_MAX_MS, req);
		break;
	case CMD_UPPER:
	case CMD_ECHO:
		if (arg == NULL) {
			fail(req, ERR_BAD_REQUEST, "missing argument");
			break;
		}
		req->text = arg;
		req->textlen = alen;
		break;
	default:
		if (arg != NULL)
			fail(req, ERR_BAD_REQUEST, "extra argument");
		break;
	}
}

/*
 * Write "ERR <code> <why>\n" into buf (len bytes, at least 16) and return
 * its length. A why too long for buf is cut, but the line always ends with
 * "\n" and holds no other one, so the reply stays one line.
 */
size_t
proto_err_line(char *buf, size_t len, enum err e, const char *why)
{
	const char	*name = proto_err_name(e);
	size_t		 n = 0, i;

	for (i = 0; n + 1 < len && i < 4; i++)
		buf[n++] = "ERR "[i];
	for (i = 0; n + 1 < len && name[i] != '\0'; i++)
		buf[n++] = name[i];
	if (why != NULL && why[0] != '\0' && n + 1 < len)
		buf[n++] = ' ';
	for (i = 0; why != NULL && n + 1 < len && why[i] != '\0'; i++)
		buf[n++] = (why[i] == '\n' || why[i] == '\r') ? ' ' : why[i];
	buf[n++] = '\n';
	return n;
}

/*
 * Write "<v>\n" in decimal to buf (PROTO_NUMBER_MAX bytes at least); its
 * length. Every answer takes this path, and printf's machinery costs more
 * than the rest of a small request's work in user space.
 */
size_t
proto_number(char *buf, uint64_t v)
{
	char	tmp[PROTO_NUMBER_MAX];
	size_t	n = 0, len;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (len = 0; n > 0; len++)
		buf[len] = tmp[--n];
	buf[len++] = '\n';
	return len;
}

/* ASCII upper-case copy of len bytes; other bytes pass through. */
void
proto_upper(char *dst, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char	ch = (unsigned char)src[i];

		dst[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : (char)ch;
	}
}
