/*
 * fuzz_proto.c: libFuzzer target for the request parser of the prime service.
 *
 * The input is parsed whole, as it is, and then cut into requests the way
 * the server's line framing does (at '\n', dropping one '\r' before it; a
 * last piece without a line end, which the server takes at the end of
 * input, the same way; lines longer than max-line are skipped, as they never
 * reach the parser). Each goes through
 * proto_parse() with one of three max-n values (the whole input with all
 * three); the target aborts when:
 *   - a field is left unset, or the command or error code is out of range;
 *   - a good request has n outside 1..max-n (PRIME) or 0..60000 (SLEEP), or
 *     text that does not lie inside the line;
 *   - a failed request has no reason;
 *   - the outcome differs from an independent reading of the grammar in
 *     primed(8) (which command, which error code, which n);
 *   - proto_upper() does more or less than ASCII upper-casing;
 *   - proto_err_line() (the one formatter of the server's ERR replies)
 *     writes anything but one line "ERR <code> <why>".
 * Each request is copied to a buffer of its exact size first, so that any
 * read past its end is caught by AddressSanitizer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primed.h"
#include "fuzz.h"

/* Longest request line, as with the default max-line. */
#define FUZZ_MAX_LINE	1024

/* The outcome a request should have, worked out from the grammar. */
struct expect {
	enum err	 err;
	enum cmd	 cmd;		/* CMD_OTHER: no command (unknown) */
	int		 anycmd;	/* cmd not checked */
	uint64_t	 n;
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* max-n values tried on every request: the smallest, default and largest. */
static const uint64_t max_ns[] = {
	1, 100000000, UINT64_C(10000000000)
};

/* True if the len bytes at s are decimal digits only (and there is one). */
static int
all_digits(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * Value of a digit string, or UINT64_MAX when it does not fit; leading
 * zeros are skipped first, so a long run of zeros is still small.
 */
static uint64_t
digits_value(const char *s, size_t len)
{
	uint64_t	v = 0;
	size_t		i = 0;

	while (i < len && s[i] == '0')
		i++;
	for (; i < len; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return UINT64_MAX;
	return v;
}

/* Expected outcome of a number argument in lo..hi. */
static void
expect_number(const char *s, size_t len, uint64_t lo, uint64_t hi,
    struct expect *e)
{
	uint64_t	v;

	if (!all_digits(s, len)) {
		e->err = ERR_BAD_REQUEST;
		return;
	}
	v = digits_value(s, len);
	if (v < lo || v > hi) {
		e->err = ERR_OUT_OF_RANGE;
		return;
	}
	e->n = v;
}

/* Which command the word names, compared without case; CMD_OTHER if none. */
static enum cmd
word_cmd(const char *w, size_t len)
{
	static const char *const words[CMD_OTHER] = {
		[CMD_PRIME] = "PRIME", [CMD_UPPER] = "UPPER",
		[CMD_ECHO] = "ECHO", [CMD_SLEEP] = "SLEEP",
		[CMD_PING] = "PING", [CMD_STATS] = "STATS",
		[CMD_QUIT] = "QUIT"
	};
	size_t	i;
	int	c;

	for (c = 0; c < CMD_OTHER; c++) {
		if (strlen(words[c]) != len)
			continue;
		for (i = 0; i < len; i++)
			if ((w[i] >= 'a' && w[i] <= 'z' ? w[i] - 'a' + 'A' :
			    w[i]) != words[c][i])
				break;
		if (i == len)
			return (enum cmd)c;
	}
	return CMD_OTHER;
}

/* The outcome primed(8) gives for one request with this max-n. */
static void
expect_request(const char *line, size_t len, uint64_t max_n,
    struct expect *e)
{
	const char	*sp;
	size_t		 wlen;

	e->err = ERR_NONE;
	e->cmd = CMD_OTHER;
	e->anycmd = 0;
	e->n = 0;
	if (len == 0) {
		/* No command: cmd is not checked (the parser leaves PRIME). */
		e->err = ERR_BAD_REQUEST;
		e->anycmd = 1;
		return;
	}
	sp = memchr(line, ' ', len);
	wlen = sp != NULL ? (size_t)(sp - line) : len;
	if (wlen == 0) {
		/* An empty first word: malformed, not an unknown command. */
		e->err = ERR_BAD_REQUEST;
		e->anycmd = 1;
		return;
	}
	if ((line[0] >= '0' && line[0] <= '9') || line[0] == '+' ||
	    line[0] == '-') {
		/*
		 * A bare number is PRIME <n>, and nothing may follow it. A
		 * sign makes it a bad number (primed(8): "no sign"), not an
		 * unknown command.
		 */
		e->cmd = CMD_PRIME;
		if (sp != NULL)
			e->err = ERR_BAD_REQUEST;
		else
			expect_number(line, len, 1, max_n, e);
		return;
	}
	if ((e->cmd = word_cmd(line, wlen)) == CMD_OTHER) {
		e->err = ERR_UNKNOWN_CMD;
		return;
	}
	switch (e->cmd) {
	case CMD_PRIME:
	case CMD_SLEEP:
		/* Exactly one argument: one space, then no other. */
		if (sp == NULL || memchr(sp + 1, ' ', len - wlen - 1) != NULL)
			e->err = ERR_BAD_REQUEST;
		else
			expect_number(sp + 1, len - wlen - 1,
			    e->cmd == CMD_PRIME ? 1 : 0,
			    e->cmd == CMD_PRIME ? max_n : SLEEP_MAX_MS, e);
		break;
	case CMD_UPPER:
	case CMD_ECHO:
		if (sp == NULL)
			e->err = ERR_BAD_REQUEST;
		break;
	default:
		if (sp != NULL)
			e->err = ERR_BAD_REQUEST;
		break;
	}
}

/* Check that proto_upper() upper-cases ASCII letters and nothing else. */
static void
check_upper(const char *text, size_t len)
{
	unsigned char	*out;
	size_t		 i;

	if ((out = malloc(len)) == NULL)
		return;
	proto_upper((char *)out, text, len);
	for (i = 0; i < len; i++) {
		unsigned char	ch = (unsigned char)text[i];

		if (ch >= 'a' && ch <= 'z')
			CHECK(out[i] == ch - 'a' + 'A');
		else
			CHECK(out[i] == ch);
	}
	free(out);
}

/*
 * Check that the error reply of req, as the server formats it, is exactly
 * one "ERR code why" line, whole when it fits in a reply buffer.
 */
static void
check_reply_err(const struct request *req)
{
	const char	*name = proto_err_name(req->err);
	char		 s[PROTO_ERR_MAX];
	size_t		 len, want;

	len = proto_err_line(s, sizeof(s), req->err, req->why);
	want = 4 + strlen(name) + 1 + strlen(req->why) + 1;
	CHECK(len == (want < sizeof(s) ? want : sizeof(s)));
	CHECK(memcmp(s, "ERR ", 4) == 0);
	CHECK(memcmp(s + 4, name, strlen(name)) == 0);
	CHECK(s[4 + strlen(name)] == ' ');
	CHECK(memchr(s, '\n', len) == s + len - 1);
	CHECK(memchr(s, '\0', len) == NULL);
}

/* Say how a request's outcome differs from the expected one. */
static void
report(const char *line, size_t len, uint64_t max_n,
    const struct request *req, const struct expect *e)
{
	size_t	i;

	fprintf(stderr, "request \"");
	for (i = 0; i < len && i < 80; i++)
		fprintf(stderr, line[i] >= ' ' && line[i] < 127 &&
		    line[i] != '"' && line[i] != '\\' ? "%c" : "\\x%02x",
		    (unsigned char)line[i]);
	fprintf(stderr, "%s\" (max-n %llu): got %s, cmd %d, n %llu; "
	    "want %s, cmd %d, n %llu\n", i < len ? "..." : "",
	    (unsigned long long)max_n,
	    req->err == ERR_NONE ? "ok" : proto_err_name(req->err),
	    (int)req->cmd, (unsigned long long)req->n,
	    e->err == ERR_NONE ? "ok" : proto_err_name(e->err), (int)e->cmd,
	    (unsigned long long)e->n);
}

/* Check what proto_parse() made of line against the expected outcome. */
static void
check_request(const char *line, size_t len, uint64_t max_n,
    const struct request *req)
{
	struct expect	e;

	expect_request(line, len, max_n, &e);
	if (req->err != e.err ||
	    (req->cmd != e.cmd && !e.anycmd) ||
	    (req->err == ERR_NONE && req->n != e.n))
		report(line, len, max_n, req, &e);
	if (req->err != ERR_NONE) {
		CHECK(req->err >= 0 && req->err < ERR_COUNT);
		CHECK(req->why != NULL && req->why[0] != '\0');
		CHECK(strchr(req->why, '\n') == NULL);
		CHECK(req->err == e.err);
		/* A bad request still names its command, for the counters. */
		CHECK(req->cmd < CMD_COUNT);
		CHECK(req->cmd == e.cmd || e.anycmd);
		check_reply_err(req);
		return;
	}
	CHECK(e.err == ERR_NONE);
	CHECK(req->cmd == e.cmd);
	CHECK(req->why == NULL);
	switch (req->cmd) {
	case CMD_PRIME:
		CHECK(req->n >= 1 && req->n <= max_n);
		CHECK(req->n == e.n);
		CHECK(req->text == NULL && req->textlen == 0);
		break;
	case CMD_SLEEP:
		CHECK(req->n <= SLEEP_MAX_MS);
		CHECK(req->n == e.n);
		CHECK(req->text == NULL && req->textlen == 0);
		break;
	case CMD_UPPER:
	case CMD_ECHO:
		/* The text is all of the line after the first space. */
		CHECK(req->text != NULL);
		CHECK(req->text > line && req->text <= line + len);
		CHECK(req->textlen == (size_t)(line + len - req->text));
		CHECK(req->text[-1] == ' ');
		CHECK(memchr(line, ' ', len) == req->text - 1);
		check_upper(req->text, req->textlen);
		break;
	case CMD_PING:
	case CMD_STATS:
	case CMD_QUIT:
		CHECK(req->text == NULL && req->n == 0);
		break;
	default:
		CHECK(!"good request without a valid command");
	}
}

/*
 * Parse one request, copied to a buffer of its exact size, and check it:
 * with every max-n when all is set, else with the one chosen by pick.
 */
static void
parse_one(const char *data, size_t len, int all, size_t pick)
{
	struct request	 req;
	char		*line;
	size_t		 i, n = sizeof(max_ns) / sizeof(max_ns[0]);

	if ((line = malloc(len)) == NULL)
		return;
	if (len > 0)
		memcpy(line, data, len);
	for (i = 0; i < n; i++) {
		if (!all && i != pick % n)
			continue;
		/* Dirty the request: the parser must set every field. */
		memset(&req, 0xa5, sizeof(req));
		proto_parse(line, len, max_ns[i], &req);
		check_request(line, len, max_ns[i], &req);
	}
	free(line);
}

/* Cut the input into requests as line framing does, and parse each. */
static void
parse_lines(const char *data, size_t size)
{
	const char	*p = data, *end = data + size, *nl;
	size_t		 n, k = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		/* The last piece, at the end of input, is a line as well. */
		if (n > 0 && p[n - 1] == '\r')
			n--;
		/* Longer ones get "ERR too-long", never reaching the parser. */
		/* Lines take the max-n values in turn, to save time. */
		if (n <= FUZZ_MAX_LINE)
			parse_one(p, n, 0, k++);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* libFuzzer entry point: the input as one request, then as lines. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;

	parse_one(s, size, 1, 0);
	if (memchr(s, '\n', size) != NULL || memchr(s, '\r', size) != NULL)
		parse_lines(s, size);
	return 0;
}
