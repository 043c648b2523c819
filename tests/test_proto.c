/*
 * test_proto.c: the request parser of the prime service and its helpers.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "primed.h"
#include "unit.h"
#include "check_main.h"

/* The default max-n of the server. */
#define MAX_N	100000000ULL

/* A string literal with its length, NUL bytes included. */
#define LIT(s)	(s), (sizeof(s) - 1)

/* Parse len bytes of line with max-n MAX_N. */
static void
parse_n(const char *line, size_t len, struct request *req)
{
	/* Dirty the request first: the parser must set every field. */
	memset(req, 0xa5, sizeof(*req));
	proto_parse(line, len, MAX_N, req);
}

/* Parse a C string with max-n MAX_N. */
static void
parse(const char *line, struct request *req)
{
	parse_n(line, strlen(line), req);
}

/* Check that req is a good request for command c. */
static void
check_ok(const char *what, const struct request *req, enum cmd c)
{
	ck_assert_msg(req->err == ERR_NONE, "%s: got error %s (%s)", what,
	    proto_err_name(req->err), req->why ? req->why : "no reason");
	ck_assert_msg(req->cmd == c, "%s: command %d, want %d", what,
	    (int)req->cmd, (int)c);
}

/* Check that req failed with code e and a non-empty reason. */
static void
check_err(const char *what, const struct request *req, enum err e)
{
	ck_assert_msg(req->err == e, "%s: error %s, want %s", what,
	    req->err == ERR_NONE ? "none" : proto_err_name(req->err),
	    proto_err_name(e));
	ck_assert_msg(req->why != NULL && req->why[0] != '\0',
	    "%s: no reason given", what);
}

/* Parse line and expect a number request of command c with value n. */
static void
expect_number(const char *line, enum cmd c, uint64_t n)
{
	struct request	req;

	parse(line, &req);
	check_ok(line, &req, c);
	ck_assert_msg(req.n == n, "%s: n = %llu, want %llu", line,
	    (unsigned long long)req.n, (unsigned long long)n);
	ck_assert_msg(req.text == NULL, "%s: unexpected text", line);
}

/* Parse len bytes of line and expect error e. */
static void
expect_err_n(const char *what, const char *line, size_t len, enum err e)
{
	struct request	req;

	parse_n(line, len, &req);
	check_err(what, &req, e);
}

/* Parse line and expect error e. */
static void
expect_err(const char *line, enum err e)
{
	expect_err_n(line, line, strlen(line), e);
}

/* Parse line and expect command c, without argument. */
static void
expect_plain(const char *line, enum cmd c)
{
	struct request	req;

	parse(line, &req);
	check_ok(line, &req, c);
	ck_assert_msg(req.text == NULL, "%s: unexpected text", line);
}

/* Parse len bytes of line, expect command c with text equal to want. */
static void
expect_text(const char *line, size_t len, enum cmd c, const char *want,
    size_t wantlen)
{
	struct request	req;

	parse_n(line, len, &req);
	check_ok(line, &req, c);
	ck_assert_msg(req.text != NULL, "%s: no text", line);
	ck_assert_msg(req.textlen == wantlen, "%s: text length %zu, want %zu",
	    line, req.textlen, wantlen);
	ck_assert_msg(memcmp(req.text, want, wantlen) == 0,
	    "%s: wrong text", line);
	/* The text points into the line, just after the first space. */
	ck_assert_msg(req.text > line && req.text <= line + len,
	    "%s: text does not point into the line", line);
	ck_assert_int_eq(req.text[-1], ' ');
	ck_assert_msg(req.text + req.textlen == line + len,
	    "%s: text does not run to the end of the line", line);
}

START_TEST(test_bare_number)
{
	expect_number("1", CMD_PRIME, 1);
	expect_number("10", CMD_PRIME, 10);
	expect_number("100000", CMD_PRIME, 100000);
	expect_number("007", CMD_PRIME, 7);
}
END_TEST

START_TEST(test_bare_number_range)
{
	expect_err("0", ERR_OUT_OF_RANGE);
	expect_err("000", ERR_OUT_OF_RANGE);
	expect_number("100000000", CMD_PRIME, MAX_N);
	expect_err("100000001", ERR_OUT_OF_RANGE);
	expect_err("99999999999999999999999", ERR_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_bare_number_syntax)
{
	expect_err("1e3", ERR_BAD_REQUEST);
	expect_err("12a", ERR_BAD_REQUEST);
	expect_err("5 6", ERR_BAD_REQUEST);
	expect_err("5 ", ERR_BAD_REQUEST);
	expect_err("5\t", ERR_BAD_REQUEST);
	expect_err_n("5 NUL", LIT("5\0"), ERR_BAD_REQUEST);
}
END_TEST

/* primed(8): n has no sign; a signed number is bad number syntax. */
START_TEST(test_bare_minus)
{
	expect_err("-1", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_bare_plus)
{
	expect_err("+5", ERR_BAD_REQUEST);
}
END_TEST

/* An empty first word is a malformed request, not an unknown command. */
START_TEST(test_bare_leading_space)
{
	expect_err(" 5", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_prime_ok)
{
	expect_number("PRIME 1", CMD_PRIME, 1);
	expect_number("PRIME 10", CMD_PRIME, 10);
	expect_number("PRIME 007", CMD_PRIME, 7);
	expect_number("PRIME 100000000", CMD_PRIME, MAX_N);
}
END_TEST

START_TEST(test_prime_range)
{
	expect_err("PRIME 0", ERR_OUT_OF_RANGE);
	expect_err("PRIME 100000001", ERR_OUT_OF_RANGE);
	expect_err("PRIME 99999999999999999999999", ERR_OUT_OF_RANGE);
	expect_err("PRIME 18446744073709551616", ERR_OUT_OF_RANGE);
}
END_TEST

/* max-n is the caller's, not a constant. */
START_TEST(test_prime_max_n_argument)
{
	struct request	req;

	proto_parse(LIT("PRIME 10"), 10, &req);
	check_ok("PRIME 10 / max 10", &req, CMD_PRIME);
	ck_assert_uint_eq(req.n, 10);
	proto_parse(LIT("PRIME 11"), 10, &req);
	check_err("PRIME 11 / max 10", &req, ERR_OUT_OF_RANGE);
	proto_parse(LIT("11"), 10, &req);
	check_err("11 / max 10", &req, ERR_OUT_OF_RANGE);
	proto_parse(LIT("PRIME 1"), 1, &req);
	check_ok("PRIME 1 / max 1", &req, CMD_PRIME);
	proto_parse(LIT("PRIME 10000000000"), 10000000000ULL, &req);
	check_ok("PRIME 1e10 / max 1e10", &req, CMD_PRIME);
	ck_assert_uint_eq(req.n, 10000000000ULL);
}
END_TEST

START_TEST(test_prime_syntax)
{
	expect_err("PRIME -1", ERR_BAD_REQUEST);
	expect_err("PRIME +5", ERR_BAD_REQUEST);
	expect_err("PRIME 1e3", ERR_BAD_REQUEST);
	expect_err("PRIME 12a", ERR_BAD_REQUEST);
	expect_err("PRIME 0x10", ERR_BAD_REQUEST);
	expect_err("PRIME 5\t", ERR_BAD_REQUEST);
	expect_err_n("PRIME 5 NUL", LIT("PRIME 5\0"), ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_prime_missing_argument)
{
	expect_err("PRIME", ERR_BAD_REQUEST);
	expect_err("PRIME ", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_prime_extra_argument)
{
	expect_err("PRIME 5 6", ERR_BAD_REQUEST);
	expect_err("PRIME 5 ", ERR_BAD_REQUEST);
	expect_err("PRIME  5", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_case_insensitive)
{
	expect_number("prime 10", CMD_PRIME, 10);
	expect_number("Prime 10", CMD_PRIME, 10);
	expect_number("pRiMe 10", CMD_PRIME, 10);
	expect_number("sleep 5", CMD_SLEEP, 5);
	expect_plain("PiNg", CMD_PING);
	expect_plain("ping", CMD_PING);
	expect_plain("stats", CMD_STATS);
	expect_plain("Quit", CMD_QUIT);
	expect_text(LIT("upper a"), CMD_UPPER, LIT("a"));
	expect_text(LIT("eChO a"), CMD_ECHO, LIT("a"));
}
END_TEST

START_TEST(test_upper)
{
	expect_text(LIT("UPPER hello"), CMD_UPPER, LIT("hello"));
	expect_text(LIT("UPPER hello  big world "), CMD_UPPER,
	    LIT("hello  big world "));
	expect_text(LIT("UPPER  x"), CMD_UPPER, LIT(" x"));
	expect_text(LIT("UPPER 12"), CMD_UPPER, LIT("12"));
}
END_TEST

START_TEST(test_upper_empty_text)
{
	expect_text(LIT("UPPER "), CMD_UPPER, LIT(""));
}
END_TEST

START_TEST(test_upper_missing_text)
{
	expect_err("UPPER", ERR_BAD_REQUEST);
	expect_err("upper", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_echo)
{
	expect_text(LIT("ECHO hello"), CMD_ECHO, LIT("hello"));
	expect_text(LIT("ECHO a b  c"), CMD_ECHO, LIT("a b  c"));
	expect_text(LIT("ECHO "), CMD_ECHO, LIT(""));
	expect_text(LIT("ECHO \t"), CMD_ECHO, LIT("\t"));
	expect_err("ECHO", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_echo_binary)
{
	expect_text(LIT("ECHO a\0b"), CMD_ECHO, LIT("a\0b"));
	expect_text(LIT("ECHO \0"), CMD_ECHO, LIT("\0"));
	expect_text(LIT("ECHO \xff\xfe caf\xc3\xa9 \x80"), CMD_ECHO,
	    LIT("\xff\xfe caf\xc3\xa9 \x80"));
	expect_text(LIT("UPPER \xc0\x00\xff"), CMD_UPPER, LIT("\xc0\x00\xff"));
}
END_TEST

/* The parser reads len bytes, never up to a NUL or past the end. */
START_TEST(test_length_bounds)
{
	struct request	req;

	/* Only "PING" of "PING 5" is the request. */
	parse_n("PING 5", 4, &req);
	check_ok("PING of PING 5", &req, CMD_PING);
	parse_n("PRIME 123", 7, &req);
	check_ok("PRIME 1 of PRIME 123", &req, CMD_PRIME);
	ck_assert_uint_eq(req.n, 1);
	parse_n("ECHO abc", 6, &req);
	check_ok("ECHO a of ECHO abc", &req, CMD_ECHO);
	ck_assert_uint_eq(req.textlen, 1);
}
END_TEST

START_TEST(test_sleep)
{
	expect_number("SLEEP 0", CMD_SLEEP, 0);
	expect_number("SLEEP 100", CMD_SLEEP, 100);
	expect_number("SLEEP 0100", CMD_SLEEP, 100);
	expect_number("SLEEP 60000", CMD_SLEEP, SLEEP_MAX_MS);
}
END_TEST

START_TEST(test_sleep_range)
{
	expect_err("SLEEP 60001", ERR_OUT_OF_RANGE);
	expect_err("SLEEP 99999999999999999999999", ERR_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_sleep_syntax)
{
	expect_err("SLEEP x", ERR_BAD_REQUEST);
	expect_err("SLEEP -1", ERR_BAD_REQUEST);
	expect_err("SLEEP 1.5", ERR_BAD_REQUEST);
	expect_err("SLEEP", ERR_BAD_REQUEST);
	expect_err("SLEEP ", ERR_BAD_REQUEST);
	expect_err("SLEEP 1 2", ERR_BAD_REQUEST);
	expect_err("SLEEP  1", ERR_BAD_REQUEST);
}
END_TEST

/* The sleep bound does not depend on max-n. */
START_TEST(test_sleep_ignores_max_n)
{
	struct request	req;

	proto_parse(LIT("SLEEP 60000"), 1, &req);
	check_ok("SLEEP 60000 / max 1", &req, CMD_SLEEP);
	ck_assert_uint_eq(req.n, 60000);
	proto_parse(LIT("SLEEP 60001"), UINT64_MAX, &req);
	check_err("SLEEP 60001 / max huge", &req, ERR_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_simple_commands)
{
	expect_plain("PING", CMD_PING);
	expect_plain("STATS", CMD_STATS);
	expect_plain("QUIT", CMD_QUIT);
}
END_TEST

START_TEST(test_simple_commands_extra_argument)
{
	expect_err("PING x", ERR_BAD_REQUEST);
	expect_err("STATS x", ERR_BAD_REQUEST);
	expect_err("QUIT now", ERR_BAD_REQUEST);
	expect_err("PING ", ERR_BAD_REQUEST);
	expect_err("QUIT ", ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_empty_line)
{
	expect_err("", ERR_BAD_REQUEST);
	/* A zero length counts, whatever the pointer holds. */
	expect_err_n("empty slice", "PING", 0, ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_unknown_command)
{
	struct request	req;

	expect_err("FOO", ERR_UNKNOWN_CMD);
	expect_err("FOO 5", ERR_UNKNOWN_CMD);
	expect_err("PRIMEX", ERR_UNKNOWN_CMD);
	expect_err("PRIMEX 5", ERR_UNKNOWN_CMD);
	expect_err("PRIM 5", ERR_UNKNOWN_CMD);
	expect_err("PRIME\t5", ERR_UNKNOWN_CMD);
	expect_err("PING\t", ERR_UNKNOWN_CMD);
	expect_err("\tPING", ERR_UNKNOWN_CMD);
	expect_err("HELLO", ERR_UNKNOWN_CMD);
	/* "other": counted apart, and no command of its own. */
	expect_err("OTHER", ERR_UNKNOWN_CMD);
	parse("FOO", &req);
	ck_assert_int_eq(req.cmd, CMD_OTHER);
}
END_TEST

START_TEST(test_nul_in_command_word)
{
	expect_err_n("PR<NUL>ME 5", LIT("PR\0ME 5"), ERR_UNKNOWN_CMD);
	expect_err_n("PING<NUL>", LIT("PING\0"), ERR_UNKNOWN_CMD);
	expect_err_n("<NUL>PING", LIT("\0PING"), ERR_UNKNOWN_CMD);
	expect_err_n("PIN<NUL>", LIT("PIN\0"), ERR_UNKNOWN_CMD);
	expect_err_n("<NUL>", LIT("\0"), ERR_UNKNOWN_CMD);
	expect_err_n("QUIT<NUL> x", LIT("QUIT\0 x"), ERR_UNKNOWN_CMD);
}
END_TEST

START_TEST(test_non_ascii_command_word)
{
	expect_err("\xff\xfe", ERR_UNKNOWN_CMD);
	expect_err("P\xc3\x8dNG", ERR_UNKNOWN_CMD);
	expect_err("\xd9\xa3", ERR_UNKNOWN_CMD);	/* Arabic-Indic 3 */
}
END_TEST

/* A megabyte of random bytes: an error or a request, never a crash. */
START_TEST(test_huge_junk)
{
	const size_t	 len = 1 << 20;
	struct request	 req;
	char		*buf = malloc(len);
	size_t		 i;
	unsigned	 x = 12345;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		buf[i] = (char)(x >> 16);
	}
	buf[0] = 'Z';
	parse_n(buf, len, &req);
	check_err("junk", &req, ERR_UNKNOWN_CMD);

	buf[0] = '7';
	parse_n(buf, len, &req);
	ck_assert(req.err == ERR_BAD_REQUEST || req.err == ERR_OUT_OF_RANGE);

	memset(buf, '9', len);
	parse_n(buf, len, &req);
	check_err("digits", &req, ERR_OUT_OF_RANGE);

	memset(buf, '0', len);
	buf[len - 1] = '5';
	parse_n(buf, len, &req);
	check_ok("zeros", &req, CMD_PRIME);
	ck_assert_uint_eq(req.n, 5);

	memcpy(buf, "ECHO ", 5);
	parse_n(buf, len, &req);
	check_ok("long echo", &req, CMD_ECHO);
	ck_assert_ptr_eq(req.text, buf + 5);
	ck_assert_uint_eq(req.textlen, len - 5);

	memset(buf, ' ', len);
	parse_n(buf, len, &req);
	ck_assert(req.err != ERR_NONE);

	memcpy(buf, "PRIME", 5);
	parse_n(buf, len, &req);
	check_err("PRIME and spaces", &req, ERR_BAD_REQUEST);
	free(buf);
}
END_TEST

START_TEST(test_err_names)
{
	static const struct {
		enum err	 e;
		const char	*name;
	} names[] = {
		{ ERR_BAD_REQUEST,	"bad-request" },
		{ ERR_UNKNOWN_CMD,	"unknown-command" },
		{ ERR_OUT_OF_RANGE,	"out-of-range" },
		{ ERR_TOO_LONG,		"too-long" },
		{ ERR_BUSY,		"busy" },
		{ ERR_TIMEOUT,		"timeout" },
		{ ERR_SHUTTING_DOWN,	"shutting-down" },
	};
	size_t	i;

	ck_assert_int_eq(ERR_COUNT, sizeof(names) / sizeof(names[0]));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_str_eq(proto_err_name(names[i].e), names[i].name);
	ck_assert_str_eq(proto_err_name(ERR_NONE), "?");
	ck_assert_str_eq(proto_err_name(ERR_COUNT), "?");
}
END_TEST

START_TEST(test_cmd_names)
{
	static const char *names[] = {
		"prime", "upper", "echo", "sleep", "ping", "stats", "quit",
		"other"
	};
	int	c;

	ck_assert_int_eq(CMD_COUNT, sizeof(names) / sizeof(names[0]));
	ck_assert_str_eq(proto_cmd_name(CMD_PRIME), "prime");
	ck_assert_str_eq(proto_cmd_name(CMD_UPPER), "upper");
	ck_assert_str_eq(proto_cmd_name(CMD_ECHO), "echo");
	ck_assert_str_eq(proto_cmd_name(CMD_SLEEP), "sleep");
	ck_assert_str_eq(proto_cmd_name(CMD_PING), "ping");
	ck_assert_str_eq(proto_cmd_name(CMD_STATS), "stats");
	ck_assert_str_eq(proto_cmd_name(CMD_QUIT), "quit");
	ck_assert_str_eq(proto_cmd_name(CMD_OTHER), "other");
	ck_assert_str_eq(proto_cmd_name(CMD_COUNT), "?");
	ck_assert_str_eq(proto_cmd_name((enum cmd)-1), "?");
	for (c = 0; c < CMD_COUNT; c++)
		ck_assert_str_eq(proto_cmd_name(c), names[c]);
}
END_TEST

/* Each command's own name, upper-cased, parses back to that command. */
START_TEST(test_cmd_names_parse)
{
	char		line[32];
	struct request	req;
	int		c;
	size_t		i;

	for (c = 0; c < CMD_OTHER; c++) {
		snprintf(line, sizeof(line), "%s", proto_cmd_name(c));
		for (i = 0; line[i] != '\0'; i++)
			line[i] = (char)(line[i] - 'a' + 'A');
		if (c == CMD_PRIME || c == CMD_SLEEP)
			strcat(line, " 1");
		else if (c == CMD_UPPER || c == CMD_ECHO)
			strcat(line, " x");
		parse(line, &req);
		check_ok(line, &req, c);
	}
}
END_TEST

START_TEST(test_upper_ascii)
{
	char	out[64];
	const char in[] = "hello, World! az AZ `{ @[ 09";

	proto_upper(out, in, sizeof(in));
	ck_assert_str_eq(out, "HELLO, WORLD! AZ AZ `{ @[ 09");
}
END_TEST

/* Every byte value: only a..z change. */
START_TEST(test_upper_all_bytes)
{
	char	in[256], out[256];
	int	i;

	for (i = 0; i < 256; i++)
		in[i] = (char)i;
	memset(out, 0, sizeof(out));
	proto_upper(out, in, sizeof(in));
	for (i = 0; i < 256; i++) {
		unsigned char	want = (unsigned char)i;

		if (i >= 'a' && i <= 'z')
			want = (unsigned char)(i - 'a' + 'A');
		ck_assert_msg((unsigned char)out[i] == want,
		    "byte 0x%02x became 0x%02x", i, (unsigned char)out[i]);
	}
}
END_TEST

START_TEST(test_upper_utf8_untouched)
{
	const char	in[] = "caf\xc3\xa9 \xc3\xa0 \xce\xb1\xce\xb2 \xff\x80";
	const char	want[] = "CAF\xc3\xa9 \xc3\xa0 \xce\xb1\xce\xb2 \xff\x80";
	char		out[sizeof(in)];

	proto_upper(out, in, sizeof(in));
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* Exactly len bytes are written, NULs pass through; in place works. */
START_TEST(test_upper_len_and_in_place)
{
	char	buf[8] = { 'a', '\0', 'b', 'c', 'X', 'X', 'X', 'X' };

	proto_upper(buf, buf, 4);
	ck_assert_mem_eq(buf, "A\0BCXXXX", 8);
	proto_upper(buf + 4, "zz", 0);
	ck_assert_mem_eq(buf, "A\0BCXXXX", 8);
}
END_TEST

/* proto_number(v) is what printf("%llu\n") writes. */
static void
expect_formatted(uint64_t v)
{
	char	got[PROTO_NUMBER_MAX], want[32];
	size_t	len = proto_number(got, v);
	int	n = snprintf(want, sizeof(want), "%llu\n",
		    (unsigned long long)v);

	ck_assert_uint_eq(len, (size_t)n);
	ck_assert_mem_eq(got, want, len);
}

/* Small numbers, every power of ten and its neighbours, the top. */
START_TEST(test_number)
{
	char		buf[PROTO_NUMBER_MAX];
	uint64_t	p = 1, v;
	int		k;

	for (v = 0; v < 1000; v++)
		expect_formatted(v);
	for (k = 0; k < 20; k++, p *= 10) {
		expect_formatted(p - 1);
		expect_formatted(p);
		expect_formatted(p + 1);
	}
	for (v = 0; v < 1000; v++)
		expect_formatted(UINT64_MAX - v * 7919);
	ck_assert_uint_eq(proto_number(buf, UINT64_MAX), PROTO_NUMBER_MAX);
}
END_TEST

/* Format one error line into a string (for comparing). */
static char *
err_line(char *buf, size_t len, enum err e, const char *why)
{
	size_t	n = proto_err_line(buf, len, e, why);

	ck_assert_uint_ge(n, 1);
	ck_assert_uint_lt(n, len + 1);
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_ptr_eq(memchr(buf, '\n', n), buf + n - 1);
	buf[n] = '\0';	/* buf holds len + 1 bytes */
	return buf;
}

START_TEST(test_reply_err)
{
	char	buf[PROTO_ERR_MAX + 1];

	ck_assert_str_eq(err_line(buf, PROTO_ERR_MAX, ERR_BAD_REQUEST,
	    "missing argument"), "ERR bad-request missing argument\n");
	ck_assert_str_eq(err_line(buf, PROTO_ERR_MAX, ERR_BUSY, ""),
	    "ERR busy\n");
	ck_assert_str_eq(err_line(buf, PROTO_ERR_MAX, ERR_BUSY, NULL),
	    "ERR busy\n");
}
END_TEST

/* Every code, formatted; the reason is copied verbatim, % included. */
START_TEST(test_reply_err_every_code)
{
	char	buf[PROTO_ERR_MAX + 1], want[128];
	int	e;

	for (e = 0; e < ERR_COUNT; e++) {
		snprintf(want, sizeof(want), "ERR %s why %%s 100%%\n",
		    proto_err_name(e));
		ck_assert_str_eq(err_line(buf, PROTO_ERR_MAX, e,
		    "why %s 100%"), want);
	}
}
END_TEST

/* A long or multi-line reason is cut and flattened: still one line. */
START_TEST(test_reply_err_bounded)
{
	char	why[1000], buf[64];
	size_t	n, len;

	memset(why, 'w', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	why[10] = '\n';
	why[20] = '\r';
	for (len = 1; len <= sizeof(buf); len++) {
		n = proto_err_line(buf, len, ERR_TOO_LONG, why);
		ck_assert_uint_eq(n, len);
		ck_assert_int_eq(buf[n - 1], '\n');
		ck_assert_ptr_eq(memchr(buf, '\n', n), buf + n - 1);
		ck_assert_ptr_null(memchr(buf, '\r', n));
	}
}
END_TEST

/* The reason a parse gives goes out as is, on one line. */
START_TEST(test_reply_err_from_parse)
{
	static const char *lines[] = {
		"", "PRIME", "PRIME 0", "FOO", "SLEEP 60001", "PING x", "1e3"
	};
	struct request	 req;
	char		 buf[PROTO_ERR_MAX + 1], want[256];
	size_t		 i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse(lines[i], &req);
		ck_assert(req.err != ERR_NONE);
		snprintf(want, sizeof(want), "ERR %s %s\n",
		    proto_err_name(req.err), req.why);
		ck_assert_str_eq(err_line(buf, PROTO_ERR_MAX, req.err,
		    req.why), want);
	}
}
END_TEST

/* Every test, in one suite. */
static Suite *
proto_suite(void)
{
	Suite	*s = suite_create("proto");
	TCase	*tc;

	tc = tcase_create("numbers");
	tcase_add_test(tc, test_bare_number);
	tcase_add_test(tc, test_bare_number_range);
	tcase_add_test(tc, test_bare_number_syntax);
	tcase_add_test(tc, test_bare_minus);
	tcase_add_test(tc, test_bare_plus);
	tcase_add_test(tc, test_bare_leading_space);
	tcase_add_test(tc, test_prime_ok);
	tcase_add_test(tc, test_prime_range);
	tcase_add_test(tc, test_prime_max_n_argument);
	tcase_add_test(tc, test_prime_syntax);
	tcase_add_test(tc, test_prime_missing_argument);
	tcase_add_test(tc, test_prime_extra_argument);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_upper);
	tcase_add_test(tc, test_upper_empty_text);
	tcase_add_test(tc, test_upper_missing_text);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_echo_binary);
	tcase_add_test(tc, test_length_bounds);
	tcase_add_test(tc, test_sleep);
	tcase_add_test(tc, test_sleep_range);
	tcase_add_test(tc, test_sleep_syntax);
	tcase_add_test(tc, test_sleep_ignores_max_n);
	tcase_add_test(tc, test_simple_commands);
	tcase_add_test(tc, test_simple_commands_extra_argument);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_empty_line);
	tcase_add_test(tc, test_unknown_command);
	tcase_add_test(tc, test_nul_in_command_word);
	tcase_add_test(tc, test_non_ascii_command_word);
	tcase_add_test(tc, test_huge_junk);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_err_names);
	tcase_add_test(tc, test_cmd_names);
	tcase_add_test(tc, test_cmd_names_parse);
	tcase_add_test(tc, test_upper_ascii);
	tcase_add_test(tc, test_upper_all_bytes);
	tcase_add_test(tc, test_upper_utf8_untouched);
	tcase_add_test(tc, test_upper_len_and_in_place);
	tcase_add_test(tc, test_number);
	tcase_add_test(tc, test_reply_err);
	tcase_add_test(tc, test_reply_err_every_code);
	tcase_add_test(tc, test_reply_err_bounded);
	tcase_add_test(tc, test_reply_err_from_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(proto_suite());
}
