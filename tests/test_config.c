/*
 * test_config.c: defaults, every option, the file format, the command line.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "primed.h"
#include "check_main.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif

#define ERRLEN	512

/* An argv ending in NULL, as main() gets it. */
#define ARGV(...)	((char *[]){ "primed", __VA_ARGS__, NULL })

/* Online CPUs clamped to 1..max, as the defaults use them. */
static int
ncpu(int max)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > max ? max : (int)n;
}

/* Count an argv. */
static int
argc_of(char **argv)
{
	int	n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

/* config_from_args over a NULL-terminated argv. */
static int
run_args(struct config *cfg, char **argv, char *err)
{
	err[0] = '\0';
	return config_from_args(cfg, argc_of(argv), argv, err, ERRLEN);
}

/* The same, with the message in the caller's err. */
#define from_args(cfg, argv)	run_args(cfg, argv, err)

/* Write text to a new temporary file; path receives its name. */
static void
write_tmp(char *path, size_t len, const char *text)
{
	int	fd;

	snprintf(path, len, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
}

/* Load text as a config file over defaults; returns config_load_file's. */
static int
load_text(struct config *cfg, const char *text, char *path, char *err)
{
	int	rc;

	write_tmp(path, 64, text);
	config_defaults(cfg);
	err[0] = '\0';
	rc = config_load_file(cfg, path, err, ERRLEN);
	unlink(path);
	return rc;
}

/* Assert config_set fails with exactly msg. */
static void
set_fails(const char *key, const char *value, const char *msg)
{
	struct config	cfg;
	char		err[ERRLEN] = "";

	config_defaults(&cfg);
	ck_assert_msg(config_set(&cfg, key, value, err, sizeof(err)) == -1,
	    "%s = %s accepted", key, value ? value : "(null)");
	ck_assert_str_eq(err, msg);
}

/* Assert config_set accepts value into cfg. */
static void
set_ok(struct config *cfg, const char *key, const char *value)
{
	char	err[ERRLEN] = "";

	ck_assert_msg(config_set(cfg, key, value, err, sizeof(err)) == 0,
	    "%s = %s: %s", key, value ? value : "(null)", err);
}

START_TEST(test_defaults)
{
	struct config	cfg;

	config_defaults(&cfg);
	ck_assert_int_eq(cfg.workers, ncpu(MAX_WORKERS));
	ck_assert_int_eq(cfg.threads, ncpu(64));
	ck_assert_int_eq(cfg.queue_limit, 1024);
	ck_assert_int_eq(cfg.compute, COMPUTE_POOL);
	ck_assert_int_eq(cfg.io, IO_TIMER);
#ifdef HAVE_PRIMECOUNT
	ck_assert_int_eq(cfg.kernel, KERNEL_COUNT);
	ck_assert_uint_eq(cfg.max_n, 10000000000000ULL);
#else
	ck_assert_int_eq(cfg.kernel, KERNEL_SIEVE);
	ck_assert_uint_eq(cfg.max_n, 100000000);
#endif
	ck_assert_int_eq(cfg.pool_order, ORDER_COST);
	ck_assert_int_eq(cfg.slice_ms, 5);
	ck_assert_uint_eq(cfg.table_n, 1000000);
	ck_assert_int_eq(cfg.io_delay_ms, 100);
	ck_assert_int_eq(cfg.max_line, 1024);
	ck_assert_int_eq(cfg.shutdown_timeout_ms, 10000);
	ck_assert_int_eq(cfg.idle_timeout_ms, 60000);
	ck_assert_int_eq(cfg.read_timeout_ms, 10000);
	ck_assert_int_eq(cfg.job_timeout_ms, 300000);
	ck_assert_int_eq(cfg.drain_delay_ms, 0);
	ck_assert_int_eq(cfg.reply_memory_mb, 256);
	ck_assert_int_eq(cfg.max_connections, 10000);
	ck_assert_int_eq(cfg.max_inflight, 128);
	ck_assert_int_eq(cfg.pool_nice, 20);
	ck_assert_int_eq(cfg.monitor, 0);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_INFO);
	ck_assert_int_eq(cfg.nlisten, 0);
	ck_assert_str_eq(cfg.config_file, "");
	ck_assert_str_eq(cfg.port_file, "");
	ck_assert_str_eq(cfg.user, "");
	ck_assert_int_eq(cfg.check_config, 0);
}
END_TEST

START_TEST(test_defaults_args)
{
	struct config	cfg;
	char		err[ERRLEN];

	ck_assert_int_eq(from_args(&cfg, ARGV(NULL)), CONFIG_OK);
	ck_assert_int_eq(cfg.workers, ncpu(MAX_WORKERS));
	ck_assert_int_eq(cfg.nlisten, 1);
	ck_assert_int_eq(cfg.listen[0].service, SVC_PRIME);
	ck_assert_int_eq(cfg.listen[0].framing, FRAMING_LINE);
	ck_assert_str_eq(cfg.listen[0].host, "127.0.0.1");
	ck_assert_str_eq(cfg.listen[0].port, "7070");
	ck_assert_str_eq(cfg.listen[0].spec, "prime=127.0.0.1:7070");
}
END_TEST

/* A numeric option: name, field, limits. */
struct numeric {
	const char	*key;
	size_t		 off;
	int		 wide;		/* uint64_t field, else int */
	uint64_t	 min, max;
};

#define NUM(k, f, w, lo, hi)	{ k, offsetof(struct config, f), w, lo, hi }

static const struct numeric numerics[] = {
	NUM("workers", workers, 0, 1, MAX_WORKERS),
	NUM("threads", threads, 0, 1, 64),
	NUM("queue-limit", queue_limit, 0, 1, 1000000),
	NUM("max-n", max_n, 1, 1, 1000000000000000ULL),
	NUM("slice-ms", slice_ms, 0, 0, 60000),
	NUM("table-n", table_n, 1, 0, 100000000),
	NUM("io-delay", io_delay_ms, 0, 0, 60000),
	NUM("max-line", max_line, 0, 16, 1048576),
	NUM("max-connections", max_connections, 0, 1, 1000000),
	NUM("max-inflight", max_inflight, 0, 1, 65536),
	NUM("max-reply-memory", reply_memory_mb, 0, 0, 1048576),
};

/* The value of a numeric field. */
static uint64_t
numeric_get(const struct config *cfg, const struct numeric *n)
{
	const char	*p = (const char *)cfg + n->off;

	if (n->wide)
		return *(const uint64_t *)p;
	return (uint64_t)*(const int *)p;
}

START_TEST(test_numbers)
{
	const struct numeric	*n = &numerics[_i];
	struct config		 cfg;
	char			 v[32], msg[ERRLEN];
	const char		*junk[] = { "abc", "12x", "", "-1", "+3", " 3",
	    "3 ", "0x10", "1.5", "1e3" };
	size_t			 i;

	config_defaults(&cfg);
	snprintf(v, sizeof(v), "%ju", (uintmax_t)n->min);
	set_ok(&cfg, n->key, v);
	ck_assert_uint_eq(numeric_get(&cfg, n), n->min);
	snprintf(v, sizeof(v), "%ju", (uintmax_t)n->max);
	set_ok(&cfg, n->key, v);
	ck_assert_uint_eq(numeric_get(&cfg, n), n->max);
	snprintf(v, sizeof(v), "00%ju", (uintmax_t)n->min + 1);
	set_ok(&cfg, n->key, v);
	ck_assert_uint_eq(numeric_get(&cfg, n), n->min + 1);

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(msg, sizeof(msg), "%s: \"%s\" is not a number "
		    "(%ju..%ju)", n->key, junk[i], (uintmax_t)n->min,
		    (uintmax_t)n->max);
		set_fails(n->key, junk[i], msg);
	}
	snprintf(v, sizeof(v), "%ju", (uintmax_t)n->max + 1);
	snprintf(msg, sizeof(msg), "%s: \"%s\" is out of range (%ju..%ju)",
	    n->key, v, (uintmax_t)n->min, (uintmax_t)n->max);
	set_fails(n->key, v, msg);
	if (n->min > 0) {
		snprintf(v, sizeof(v), "%ju", (uintmax_t)n->min - 1);
		snprintf(msg, sizeof(msg), "%s: \"%s\" is out of range "
		    "(%ju..%ju)", n->key, v, (uintmax_t)n->min,
		    (uintmax_t)n->max);
		set_fails(n->key, v, msg);
	}
	snprintf(msg, sizeof(msg), "%s: \"%s\" is out of range (%ju..%ju)",
	    n->key, "99999999999999999999999", (uintmax_t)n->min,
	    (uintmax_t)n->max);
	set_fails(n->key, "99999999999999999999999", msg);
	snprintf(msg, sizeof(msg), "%s: missing value", n->key);
	set_fails(n->key, NULL, msg);
}
END_TEST

START_TEST(test_number_messages)
{
	struct config	cfg;
	char		err[ERRLEN];

	set_fails("workers", "abc",
	    "workers: \"abc\" is not a number (1..256)");
	ck_assert_int_eq(from_args(&cfg, ARGV("--workers", "abc")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--workers: \"abc\" is not a number (1..256)");
	ck_assert_int_eq(from_args(&cfg, ARGV("-w", "0")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--workers: \"0\" is out of range (1..256)");
	ck_assert_int_eq(from_args(&cfg, ARGV("--max-n=0")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err,
	    "--max-n: \"0\" is out of range (1..1000000000000000)");
}
END_TEST

/* A duration option: name, field, largest value in seconds. */
struct duration {
	const char	*key;
	size_t		 off;
	int		 max;
};

static const struct duration durations[] = {
	{ "shutdown-timeout", offsetof(struct config, shutdown_timeout_ms),
	    3600 },
	{ "idle-timeout", offsetof(struct config, idle_timeout_ms), 86400 },
	{ "read-timeout", offsetof(struct config, read_timeout_ms), 86400 },
	{ "job-timeout", offsetof(struct config, job_timeout_ms), 86400 },
	{ "drain-delay", offsetof(struct config, drain_delay_ms), 3600 },
};

START_TEST(test_durations)
{
	const struct duration	*d = &durations[_i];
	struct config		 cfg;
	const int		*ms;
	char			 v[32], msg[ERRLEN];
	const char		*good[] = { "0", "0.5", "1.25", ".5", "0.001",
	    "2.000", "10", "007", "1.0000" };
	const int		 good_ms[] = { 0, 500, 1250, 500, 1, 2000,
	    10000, 7000, 1000 };
	const char		*junk[] = { "abc", "", "5.", "1e3", "-1",
	    "+1", "1,5", "1.5s", "1..5", "." };
	size_t			 i;

	config_defaults(&cfg);
	ms = (const int *)((const char *)&cfg + d->off);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		set_ok(&cfg, d->key, good[i]);
		ck_assert_int_eq(*ms, good_ms[i]);
	}
	snprintf(v, sizeof(v), "%d", d->max);
	set_ok(&cfg, d->key, v);
	ck_assert_int_eq(*ms, d->max * 1000);

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(msg, sizeof(msg), "%s: \"%s\" is not a number of "
		    "seconds (0..%d)", d->key, junk[i], d->max);
		set_fails(d->key, junk[i], msg);
	}
	snprintf(v, sizeof(v), "%d.001", d->max);
	snprintf(msg, sizeof(msg), "%s: \"%s\" is out of range (0..%d)",
	    d->key, v, d->max);
	set_fails(d->key, v, msg);
	snprintf(msg, sizeof(msg), "%s: \"%s\" is out of range (0..%d)",
	    d->key, "99999999999999999999", d->max);
	set_fails(d->key, "99999999999999999999", msg);
	snprintf(msg, sizeof(msg), "%s: \"0.0005\" is finer than a "
	    "millisecond", d->key);
	set_fails(d->key, "0.0005", msg);
}
END_TEST

START_TEST(test_enums)
{
	struct config	cfg;
	char		err[ERRLEN];

	config_defaults(&cfg);
	set_ok(&cfg, "compute", "inline");
	ck_assert_int_eq(cfg.compute, COMPUTE_INLINE);
	set_ok(&cfg, "compute", "POOL");
	ck_assert_int_eq(cfg.compute, COMPUTE_POOL);
	set_ok(&cfg, "io", "blocking");
	ck_assert_int_eq(cfg.io, IO_BLOCKING);
	set_ok(&cfg, "io", "timer");
	ck_assert_int_eq(cfg.io, IO_TIMER);
	set_ok(&cfg, "kernel", "trial");
	ck_assert_int_eq(cfg.kernel, KERNEL_TRIAL);
	set_ok(&cfg, "kernel", "sieve");
	ck_assert_int_eq(cfg.kernel, KERNEL_SIEVE);

	set_fails("compute", "gpu", "compute: \"gpu\" is not one of pool, "
	    "inline");
	set_fails("io", "async", "io: \"async\" is not one of timer, "
	    "blocking");
	set_fails("kernel", "", "kernel: \"\" is not one of sieve, trial, "
	    "count");
	set_ok(&cfg, "pool-order", "fifo");
	ck_assert_int_eq(cfg.pool_order, ORDER_FIFO);
	set_ok(&cfg, "pool-order", "cost");
	ck_assert_int_eq(cfg.pool_order, ORDER_COST);
	set_fails("pool-order", "lifo", "pool-order: \"lifo\" is not one of "
	    "fifo, cost");
#ifdef HAVE_PRIMECOUNT
	set_ok(&cfg, "kernel", "count");
	ck_assert_int_eq(cfg.kernel, KERNEL_COUNT);
#else
	set_fails("kernel", "count", "kernel: \"count\" needs libprimecount, "
	    "which this primed was built without");
#endif
	ck_assert_int_eq(from_args(&cfg, ARGV("--compute", "gpu")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--compute: \"gpu\" is not one of pool, inline");
}
END_TEST

START_TEST(test_log_level)
{
	struct config	cfg;

	config_defaults(&cfg);
	set_ok(&cfg, "log-level", "error");
	ck_assert_int_eq(cfg.log_level, LOG_LVL_ERROR);
	set_ok(&cfg, "log-level", "warn");
	ck_assert_int_eq(cfg.log_level, LOG_LVL_WARN);
	set_ok(&cfg, "log-level", "debug");
	ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
	set_ok(&cfg, "log-level", "info");
	ck_assert_int_eq(cfg.log_level, LOG_LVL_INFO);
	set_fails("log-level", "loud", "log-level: \"loud\" is not one of "
	    "error, warn, info, debug");
}
END_TEST

START_TEST(test_pool_nice)
{
	struct config	cfg;

	config_defaults(&cfg);
	set_ok(&cfg, "pool-nice", "0");
	ck_assert_int_eq(cfg.pool_nice, 0);
	set_ok(&cfg, "pool-nice", "idle");
	ck_assert_int_eq(cfg.pool_nice, 20);
	set_ok(&cfg, "pool-nice", "10");
	ck_assert_int_eq(cfg.pool_nice, 10);
	set_ok(&cfg, "pool-nice", "IDLE");
	ck_assert_int_eq(cfg.pool_nice, 20);
	set_ok(&cfg, "pool-nice", "19");
	ck_assert_int_eq(cfg.pool_nice, 19);
	set_fails("pool-nice", "20", "pool-nice: \"20\" is out of range "
	    "(0..19) nor \"idle\"");
	set_fails("pool-nice", "-1", "pool-nice: \"-1\" is not a number "
	    "(0..19) nor \"idle\"");
	set_fails("pool-nice", "lazy", "pool-nice: \"lazy\" is not a number "
	    "(0..19) nor \"idle\"");
}
END_TEST

START_TEST(test_monitor)
{
	struct config	 cfg;
	const char	*yes[] = { "yes", "true", "on", "1", "YES" };
	const char	*no[] = { "no", "false", "off", "0", "Off" };
	size_t		 i;

	config_defaults(&cfg);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		cfg.monitor = 0;
		set_ok(&cfg, "monitor", yes[i]);
		ck_assert_int_eq(cfg.monitor, 1);
		set_ok(&cfg, "monitor", no[i]);
		ck_assert_int_eq(cfg.monitor, 0);
	}
	set_ok(&cfg, "monitor", NULL);
	ck_assert_int_eq(cfg.monitor, 1);
	set_fails("monitor", "maybe", "monitor: \"maybe\" is not one of yes, "
	    "no, true, false, on, off, 1, 0");
}
END_TEST

START_TEST(test_strings)
{
	struct config	cfg;
	char		v[2048], msg[ERRLEN];

	config_defaults(&cfg);
	set_ok(&cfg, "port-file", "/tmp/ports");
	ck_assert_str_eq(cfg.port_file, "/tmp/ports");
	set_ok(&cfg, "user", "nobody");
	ck_assert_str_eq(cfg.user, "nobody");
	set_ok(&cfg, "user", "");
	ck_assert_str_eq(cfg.user, "");

	memset(v, 'u', sizeof(cfg.user) - 1);
	v[sizeof(cfg.user) - 1] = '\0';
	set_ok(&cfg, "user", v);
	ck_assert_str_eq(cfg.user, v);
	v[sizeof(cfg.user) - 1] = 'u';
	v[sizeof(cfg.user)] = '\0';
	snprintf(msg, sizeof(msg), "user: \"%.40s...\" is too long (at most "
	    "63 bytes)", v);
	set_fails("user", v, msg);

	memset(v, 'p', sizeof(cfg.port_file) - 1);
	v[sizeof(cfg.port_file) - 1] = '\0';
	set_ok(&cfg, "port-file", v);
	ck_assert_str_eq(cfg.port_file, v);
	v[sizeof(cfg.port_file) - 1] = 'p';
	v[sizeof(cfg.port_file)] = '\0';
	snprintf(msg, sizeof(msg), "port-file: \"%.40s...\" is too long (at "
	    "most 1023 bytes)", v);
	set_fails("port-file", v, msg);
}
END_TEST

START_TEST(test_set_keys)
{
	struct config	cfg;

	set_fails("wrokers", "4", "unknown key \"wrokers\"");
	set_fails("", "4", "unknown key \"\"");
	set_fails("help", NULL, "help is not a setting");
	config_defaults(&cfg);
	set_ok(&cfg, "check-config", NULL);
	ck_assert_int_eq(cfg.check_config, 1);
	set_ok(&cfg, "config", "/etc/primed.conf");
	ck_assert_str_eq(cfg.config_file, "/etc/primed.conf");
}
END_TEST

/* Parse a good listen spec. */
static void
listen_ok(const char *spec, enum service svc, const char *host,
    const char *port, enum framing framing)
{
	struct listen_conf	lc;
	char			err[ERRLEN] = "";

	ck_assert_msg(config_parse_listen(&lc, spec, err, sizeof(err)) == 0,
	    "%s: %s", spec, err);
	ck_assert_int_eq(lc.service, svc);
	ck_assert_str_eq(lc.host, host);
	ck_assert_str_eq(lc.port, port);
	ck_assert_int_eq(lc.framing, framing);
	ck_assert_str_eq(lc.spec, spec);
}

/* Refuse a listen spec with exactly msg. */
static void
listen_fails(const char *spec, const char *msg)
{
	struct listen_conf	lc;
	char			err[ERRLEN] = "";

	ck_assert_msg(config_parse_listen(&lc, spec, err, sizeof(err)) == -1,
	    "%s accepted", spec);
	ck_assert_str_eq(err, msg);
}

START_TEST(test_listen_good)
{
	listen_ok("prime=127.0.0.1:7070", SVC_PRIME, "127.0.0.1", "7070",
	    FRAMING_LINE);
	/* upper is one message per connection: raw unless told. */
	listen_ok("upper=localhost:0", SVC_UPPER, "localhost", "0",
	    FRAMING_RAW);
	listen_ok("echo=[::1]:0", SVC_ECHO, "::1", "0", FRAMING_LINE);
	listen_ok("echo=[::]:65535", SVC_ECHO, "::", "65535", FRAMING_LINE);
	listen_ok("prime=[fe80::1%lo]:9", SVC_PRIME, "fe80::1%lo", "9",
	    FRAMING_LINE);
	listen_ok("prime=0.0.0.0:7070,framing=raw", SVC_PRIME, "0.0.0.0",
	    "7070", FRAMING_RAW);
	listen_ok("upper=my-host.example.org:80,framing=line", SVC_UPPER,
	    "my-host.example.org", "80", FRAMING_LINE);
	listen_ok("prime=h:007", SVC_PRIME, "h", "7", FRAMING_LINE);
	listen_ok("PRIME=h:1,framing=LINE", SVC_PRIME, "h", "1", FRAMING_LINE);
	/* http frames its own; framing=line, once its default, is let be. */
	listen_ok("http=h:1,framing=line", SVC_HTTP, "h", "1", FRAMING_HTTP);
	listen_ok("http=h:1", SVC_HTTP, "h", "1", FRAMING_HTTP);
}
END_TEST

START_TEST(test_listen_bad)
{
	char	spec[400], want[ERRLEN];

	listen_fails("prime127.0.0.1:7070",
	    "\"prime127.0.0.1:7070\" is not SERVICE=HOST:PORT");
	listen_fails("", "\"\" is not SERVICE=HOST:PORT");
	listen_fails("web=127.0.0.1:80",
	    "service \"web\" is not one of prime, upper, echo, http");
	listen_fails("=127.0.0.1:80",
	    "service \"\" is not one of prime, upper, echo, http");
	listen_fails("prime=localhost", "\"localhost\" has no :PORT");
	listen_fails("prime=localhost:",
	    "port \"\" is not a number (0..65535)");
	listen_fails("prime=localhost:7x",
	    "port \"7x\" is not a number (0..65535)");
	listen_fails("prime=localhost:-1",
	    "port \"-1\" is not a number (0..65535)");
	listen_fails("prime=localhost:65536",
	    "port \"65536\" is out of range (0..65535)");
	listen_fails("prime=localhost:99999999999999999999999",
	    "port \"99999999999999999999999\" is out of range (0..65535)");
	listen_fails("prime=:7070",
	    "missing host (0.0.0.0 or [::] for all addresses)");
	listen_fails("prime=::1:7070", "IPv6 address \"::1\" must be in "
	    "brackets, as in [::1]:7070");
	listen_fails("prime=[::1]7070", "\"[::1]7070\" is not [IPV6]:PORT");
	listen_fails("prime=[::1", "\"[::1\" is not [IPV6]:PORT");
	listen_fails("prime=[zz]:1", "\"zz\" is not an IPv6 address");
	listen_fails("prime=[127.0.0.1]:1",
	    "\"127.0.0.1\" is not an IPv6 address");
	listen_fails("prime=[fe80::1%]:1", "\"fe80::1%\" is not an IPv6 "
	    "address");
	listen_fails("prime=bad host:1",
	    "\"bad host\" is not a host name or IPv4 address");
	listen_fails("prime=999.1.1.1:1",
	    "\"999.1.1.1\" is not a host name or IPv4 address");
	listen_fails("prime=-x:1", "\"-x\" is not a host name or IPv4 address");
	listen_fails("prime=h:1,framing=x",
	    "framing \"x\" is not one of line, raw");
	/* The guess is gone; the message says what to use instead. */
	listen_fails("echo=[::1]:1,framing=auto", "framing=auto is gone: "
	    "use framing=line (the default) and a listener of its own with "
	    "framing=raw for clients that send no line end");
	/* Given twice, even alike: refused, not the last one winning. */
	listen_fails("prime=h:1,framing=raw,framing=line",
	    "framing given twice");
	listen_fails("upper=h:1,framing=line,framing=line",
	    "framing given twice");
	/* HTTP frames its own requests. */
	listen_fails("http=h:1,framing=raw", "framing=raw does not apply to "
	    "http, which frames its own requests");
	listen_fails("prime=h:1,framing",
	    "unknown listen option \"framing\" (framing=line|raw)");
	listen_fails("prime=h:1,backlog=5",
	    "unknown listen option \"backlog\" (framing=line|raw)");
	listen_fails("prime=h:1,", "unknown listen option \"\" "
	    "(framing=line|raw)");

	memset(spec, 'a', sizeof(spec));
	memcpy(spec, "prime=", 6);
	spec[300] = '\0';
	snprintf(want, sizeof(want), "\"%.40s...\" is too long (at most 299 "
	    "bytes)", spec);
	listen_fails(spec, want);
}
END_TEST

START_TEST(test_listen_list)
{
	struct config	cfg;
	char		spec[64], err[ERRLEN];
	int		i;

	config_defaults(&cfg);
	for (i = 0; i < MAX_LISTENERS; i++) {
		snprintf(spec, sizeof(spec), "echo=127.0.0.1:%d", 8000 + i);
		set_ok(&cfg, "listen", spec);
	}
	ck_assert_int_eq(cfg.nlisten, MAX_LISTENERS);
	ck_assert_int_eq(config_set(&cfg, "listen", "echo=127.0.0.1:9000",
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "listen: too many listeners (at most 16)");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.nlisten, MAX_LISTENERS);
}
END_TEST

START_TEST(test_listen_dup)
{
	struct config	cfg;
	char		err[ERRLEN];

	config_defaults(&cfg);
	set_ok(&cfg, "listen", "prime=127.0.0.1:7070");
	ck_assert_int_eq(config_set(&cfg, "listen", "echo=127.0.0.1:7070",
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "listen: \"echo=127.0.0.1:7070\" uses the "
	    "address of \"prime=127.0.0.1:7070\"");
	/* Port 0 twice is fine, and so are other hosts or ports. */
	set_ok(&cfg, "listen", "echo=127.0.0.1:0");
	set_ok(&cfg, "listen", "upper=127.0.0.1:0");
	set_ok(&cfg, "listen", "echo=127.0.0.2:7070");
	set_ok(&cfg, "listen", "echo=127.0.0.1:7071");
	set_ok(&cfg, "listen", "echo=[::1]:7070");
	ck_assert_int_eq(cfg.nlisten, 6);
	/* The same address written differently. */
	ck_assert_int_eq(config_set(&cfg, "listen", "upper=[0:0::1]:07070",
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "uses the address of"));
	set_ok(&cfg, "listen", "upper=LocalHost:80");
	ck_assert_int_eq(config_set(&cfg, "listen", "echo=localhost:80",
	    err, sizeof(err)), -1);
	ck_assert_int_eq(cfg.nlisten, 7);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);

	/* config_finish checks a list filled in by hand too. */
	config_defaults(&cfg);
	ck_assert_int_eq(config_parse_listen(&cfg.listen[0], "prime=h:1",
	    err, sizeof(err)), 0);
	ck_assert_int_eq(config_parse_listen(&cfg.listen[1], "echo=h:1",
	    err, sizeof(err)), 0);
	cfg.nlisten = 2;
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"echo=h:1\" uses the address of "
	    "\"prime=h:1\"");
}
END_TEST

START_TEST(test_finish)
{
	struct config	cfg;
	char		err[ERRLEN];

	config_defaults(&cfg);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.nlisten, 1);
	ck_assert_str_eq(cfg.listen[0].spec, "prime=127.0.0.1:7070");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.nlisten, 1);

	config_defaults(&cfg);
	set_ok(&cfg, "listen", "echo=localhost:0");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.nlisten, 1);
	ck_assert_int_eq(cfg.listen[0].service, SVC_ECHO);

	/* max-n follows the kernel unless given. */
	config_defaults(&cfg);
	set_ok(&cfg, "kernel", "sieve");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.max_n, 100000000);
#ifdef HAVE_PRIMECOUNT
	config_defaults(&cfg);
	set_ok(&cfg, "kernel", "count");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.max_n, 10000000000000ULL);
#endif
	config_defaults(&cfg);
	set_ok(&cfg, "max-n", "5000");
	set_ok(&cfg, "kernel", "trial");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.max_n, 5000);

	/* A table past max-n would never be read. */
	config_defaults(&cfg);
	set_ok(&cfg, "max-n", "1000");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.table_n, 1000);
}
END_TEST

START_TEST(test_service_name)
{
	ck_assert_str_eq(config_service_name(SVC_PRIME), "prime");
	ck_assert_str_eq(config_service_name(SVC_UPPER), "upper");
	ck_assert_str_eq(config_service_name(SVC_ECHO), "echo");
}
END_TEST

START_TEST(test_file_good)
{
	struct config	cfg;
	char		path[64], err[ERRLEN];

	ck_assert_int_eq(load_text(&cfg,
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "workers = 3\n"
	    "threads=2\n"
	    "  queue-limit\t=\t 50  # trailing comment\n"
	    "compute = inline\n"
	    "idle-timeout = 0.5\n"
	    "user = \"a b # c\"\n"
	    "port-file = \"  /tmp/x  \"\n"
	    "listen = prime=127.0.0.1:0\n"
	    "listen = \"echo=[::1]:0,framing=raw\"\n"
	    "monitor = on\n"
	    "#workers = 99\n"
	    "log-level = debug", path, err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(cfg.workers, 3);
	ck_assert_int_eq(cfg.threads, 2);
	ck_assert_int_eq(cfg.queue_limit, 50);
	ck_assert_int_eq(cfg.compute, COMPUTE_INLINE);
	ck_assert_int_eq(cfg.idle_timeout_ms, 500);
	ck_assert_str_eq(cfg.user, "a b # c");
	ck_assert_str_eq(cfg.port_file, "  /tmp/x  ");
	ck_assert_int_eq(cfg.nlisten, 2);
	ck_assert_int_eq(cfg.listen[0].service, SVC_PRIME);
	ck_assert_int_eq(cfg.listen[1].service, SVC_ECHO);
	ck_assert_int_eq(cfg.listen[1].framing, FRAMING_RAW);
	ck_assert_str_eq(cfg.listen[1].host, "::1");
	ck_assert_int_eq(cfg.monitor, 1);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* An empty file and a quoted empty value. */
	ck_assert_int_eq(load_text(&cfg, "", path, err), 0);
	ck_assert_int_eq(load_text(&cfg, "user = \"\"\r\n", path, err), 0);
	ck_assert_str_eq(cfg.user, "");
}
END_TEST

/* Loading text fails with "PATH:" followed by rest. */
static void
file_fails(const char *text, const char *rest)
{
	struct config	cfg;
	char		path[64], err[ERRLEN], want[ERRLEN];

	ck_assert_msg(load_text(&cfg, text, path, err) == -1, "%s accepted",
	    text);
	snprintf(want, sizeof(want), "%s:%s", path, rest);
	ck_assert_str_eq(err, want);
}

/* A NUL byte in a line is refused, wherever the line is (fuzzer finding). */
START_TEST(test_file_nul_byte)
{
	static const char *texts[] = {
		"workers = 4\0junk\nthreads = 2\n",	/* a short line */
		"threads = 2\nworkers = 4\0junk",	/* the last, unended */
		"\0",
	};
	static const size_t lens[] = { 29, 28, 1 };
	struct config	cfg;
	char		path[64], err[ERRLEN];
	size_t		i;
	int		fd;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		snprintf(path, sizeof(path), "/tmp/test_config.XXXXXX");
		ck_assert_int_ne(fd = mkstemp(path), -1);
		ck_assert_int_eq(write(fd, texts[i], lens[i]), (ssize_t)lens[i]);
		close(fd);
		config_defaults(&cfg);
		ck_assert_int_eq(config_load_file(&cfg, path, err, ERRLEN), -1);
		ck_assert_msg(strstr(err, "NUL byte") != NULL, "%s", err);
		unlink(path);
	}
}
END_TEST

/* An IPv6 zone too long to keep is refused, not cut (fuzzer finding). */
START_TEST(test_listen_long_zone)
{
	struct listen_conf	lc;
	char			spec[400], err[ERRLEN];

	snprintf(spec, sizeof(spec), "prime=[fe80::1%%%0270d]:80", 0);
	ck_assert_int_eq(config_parse_listen(&lc, spec, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_file_bad)
{
	file_fails("# ok\nworkers = 2\nwrokers = 4\n",
	    "3: unknown key \"wrokers\"");
	file_fails("\nworkers = abc\n",
	    "2: workers: \"abc\" is not a number (1..256)");
	file_fails("workers 4\n", "1: missing \"=\" after \"workers 4\"");
	file_fails("monitor\n", "1: missing \"=\" after \"monitor\"");
	file_fails("= 4\n", "1: unknown key \"\"");
	file_fails("workers =\n", "1: workers: \"\" is not a number (1..256)");
	file_fails("config = /etc/primed.conf\n",
	    "1: \"config\" is only valid on the command line");
	file_fails("check-config = yes\n",
	    "1: \"check-config\" is only valid on the command line");
	file_fails("help = yes\n",
	    "1: \"help\" is only valid on the command line");
	file_fails("version = 1\n",
	    "1: \"version\" is only valid on the command line");
	file_fails("user = \"nobody\n", "1: badly quoted value \"nobody");
	file_fails("user = \"a\"b\"\n", "1: badly quoted value \"a\"b\"");
	file_fails("user = no\"body\n", "1: stray quote in value no\"body");
	file_fails("listen = prime=h:1\nlisten = echo=h:1\n",
	    "2: listen: \"echo=h:1\" uses the address of \"prime=h:1\"");
	file_fails("listen = web=h:1\n", "1: listen: service \"web\" is not "
	    "one of prime, upper, echo, http");
	file_fails("monitor = maybe\n", "1: monitor: \"maybe\" is not one of "
	    "yes, no, true, false, on, off, 1, 0");
}
END_TEST

START_TEST(test_file_long_line)
{
	struct config	 cfg;
	char		 path[64], err[ERRLEN], want[ERRLEN];
	char		*text;

	text = malloc(10000);
	ck_assert_ptr_nonnull(text);
	memset(text, '#', 9998);
	text[9998] = '\n';
	text[9999] = '\0';
	ck_assert_int_eq(load_text(&cfg, text, path, err), -1);
	free(text);
	snprintf(want, sizeof(want), "%s:1: line longer than 4094 bytes",
	    path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_file_missing)
{
	struct config	cfg;
	char		err[ERRLEN];

	config_defaults(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, "/nonexistent/primed.conf",
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "/nonexistent/primed.conf: No such file or directory");
	ck_assert_int_eq(config_load_file(&cfg, "/tmp", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/tmp: not a regular file");
}
END_TEST

/*
 * A file that never ends (or a device, a pipe) is refused before any of it
 * is read: --config /dev/zero used to read one endless line.
 */
START_TEST(test_file_not_regular)
{
	struct config	cfg;
	char		err[ERRLEN];

	config_defaults(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, "/dev/zero", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "/dev/zero: not a regular file");
	ck_assert_int_eq(config_load_file(&cfg, "/dev/full", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "/dev/full: not a regular file");
	/* The one device kept: "no configuration file". */
	ck_assert_int_eq(config_load_file(&cfg, "/dev/null", err,
	    sizeof(err)), 0);
}
END_TEST

/*
 * A FIFO is refused at once, with no writer: opening it used to wait for
 * one (the test's timeout ends such a wait).
 */
START_TEST(test_file_fifo)
{
	struct config	cfg;
	char		dir[64], path[96], err[ERRLEN], want[ERRLEN];

	snprintf(dir, sizeof(dir), "/tmp/test_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	config_defaults(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	ck_assert_str_eq(err, want);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* A regular file with one huge line: refused after max bytes, not read whole. */
START_TEST(test_file_huge_line)
{
	struct config	 cfg;
	char		 path[64], err[ERRLEN], want[ERRLEN];
	char		*text;
	size_t		 size = 8 << 20;

	text = malloc(size + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'k', size);
	text[size] = '\0';
	ck_assert_int_eq(load_text(&cfg, text, path, err), -1);
	free(text);
	snprintf(want, sizeof(want), "%s:1: line longer than 4094 bytes",
	    path);
	ck_assert_str_eq(err, want);
}
END_TEST

/* Path of the sample config in the source tree. */
static void
sample_path(char *buf, size_t len)
{
	const char	*srcdir = getenv("srcdir");

	snprintf(buf, len, "%s/etc/primed.conf", srcdir ? srcdir : ".");
}

START_TEST(test_sample_conf)
{
	struct config	def, cfg;
	char		path[1024], err[ERRLEN] = "";

	sample_path(path, sizeof(path));
	config_defaults(&def);
	config_defaults(&cfg);
	ck_assert_msg(config_load_file(&cfg, path, err, sizeof(err)) == 0,
	    "%s", err);
	/* Everything is commented out: the sample changes nothing. */
	ck_assert(memcmp(&def, &cfg, sizeof(cfg)) == 0);
}
END_TEST

/* Read a whole small file into buf. */
static void
slurp(FILE *fp, char *buf, size_t len)
{
	size_t	n;

	rewind(fp);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
}

START_TEST(test_sample_lists_every_key)
{
	FILE	*usage, *sample;
	char	 path[1024], text[16384], conf[16384], key[64], want[80];
	char	*line, *save = NULL;
	int	 keys = 0;

	sample_path(path, sizeof(path));
	ck_assert_ptr_nonnull(sample = fopen(path, "r"));
	slurp(sample, conf, sizeof(conf));
	fclose(sample);
	ck_assert_ptr_nonnull(usage = tmpfile());
	config_usage(usage);
	slurp(usage, text, sizeof(text));
	fclose(usage);

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, " -%*c, --%63[a-z-]", key) != 1 &&
		    sscanf(line, " --%63[a-z-]", key) != 1)
			continue;
		keys++;
		if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0 ||
		    strcmp(key, "version") == 0 ||
		    strcmp(key, "check-config") == 0)
			continue;
		snprintf(want, sizeof(want), "\n#%s = ", key);
		ck_assert_msg(strstr(conf, want) != NULL,
		    "%s not in the sample", key);
	}
	ck_assert_int_eq(keys, 30);
}
END_TEST

START_TEST(test_usage)
{
	FILE	*fp;
	char	 text[16384];

	ck_assert_ptr_nonnull(fp = tmpfile());
	config_usage(fp);
	slurp(fp, text, sizeof(text));
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(text, "usage: primed [options]\n"));
	ck_assert_ptr_nonnull(strstr(text, "  -w, --workers N "));
	ck_assert_ptr_nonnull(strstr(text, "  -c, --config FILE "));
	ck_assert_ptr_nonnull(strstr(text, "--compute pool|inline "));
	ck_assert_ptr_nonnull(strstr(text, " (1..256, default: online CPUs)"));
	ck_assert_ptr_nonnull(strstr(text, " (1..1000000, default: 1024)\n"));
	ck_assert_ptr_nonnull(strstr(text, " (0..3600, default: 10)\n"));
	ck_assert_ptr_nonnull(strstr(text, " (default: pool)\n"));
	ck_assert_ptr_nonnull(strstr(text, "(default: prime=127.0.0.1:7070)"));
	ck_assert_ptr_nonnull(strstr(text, "(0..19, default: idle)\n"));
	ck_assert_ptr_nonnull(strstr(text, "(default: none)\n"));
	ck_assert_ptr_nonnull(strstr(text, "  -V, --version "));
	ck_assert_ptr_nonnull(strstr(text, "--monitor[=yes|no] "));
	/* The words in the order of the values. */
	ck_assert_ptr_nonnull(strstr(text, "--pool-order fifo|cost "));
	ck_assert_ptr_nonnull(strstr(text, " FIFO or cheapest first "
	    "(default: cost)\n"));
}
END_TEST

/* Run config_from_args with stdout in a file; out gets what it printed. */
static int
from_args_captured(struct config *cfg, char **argv, char *err, char *out,
    size_t outlen)
{
	FILE	*fp;
	int	 saved, rc;

	ck_assert_ptr_nonnull(fp = tmpfile());
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(fp), STDOUT_FILENO);
	rc = run_args(cfg, argv, err);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	slurp(fp, out, outlen);
	fclose(fp);
	return rc;
}

START_TEST(test_help_version)
{
	struct config	cfg;
	char		err[ERRLEN], out[16384], path[64];

	ck_assert_int_eq(from_args_captured(&cfg, ARGV("--help"), err, out,
	    sizeof(out)), CONFIG_EXIT);
	ck_assert_ptr_nonnull(strstr(out, "usage: primed"));
	ck_assert_int_eq(from_args_captured(&cfg, ARGV("-h"), err, out,
	    sizeof(out)), CONFIG_EXIT);
	ck_assert_ptr_nonnull(strstr(out, "--max-inflight"));
	ck_assert_int_eq(from_args_captured(&cfg, ARGV("--version"), err, out,
	    sizeof(out)), CONFIG_EXIT);
	ck_assert_str_eq(out, "primed " PACKAGE_VERSION "\n");
	ck_assert_int_eq(from_args_captured(&cfg, ARGV("-V"), err, out,
	    sizeof(out)), CONFIG_EXIT);
	ck_assert_str_eq(out, "primed " PACKAGE_VERSION "\n");

	/* Help works with a broken file or a bad value. */
	write_tmp(path, sizeof(path), "bogus\n");
	ck_assert_int_eq(from_args_captured(&cfg, ARGV("-c", path, "-h"), err,
	    out, sizeof(out)), CONFIG_EXIT);
	unlink(path);
	ck_assert_int_eq(from_args_captured(&cfg, ARGV("-w", "x", "-V"), err,
	    out, sizeof(out)), CONFIG_EXIT);
}
END_TEST

START_TEST(test_usage_errors)
{
	struct config	cfg;
	char		err[ERRLEN];

	ck_assert_int_eq(from_args(&cfg, ARGV("--bogus")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unknown option \"--bogus\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("--bogus=1")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unknown option \"--bogus\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("-x")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unknown option \"-x\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("--max", "3")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "ambiguous option \"--max\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("--workers")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--workers: missing value");
	ck_assert_int_eq(from_args(&cfg, ARGV("-w")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--workers: missing value");
	ck_assert_int_eq(from_args(&cfg, ARGV("--listen")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--listen: missing value");
	ck_assert_int_eq(from_args(&cfg, ARGV("-c")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--config: missing value");
	ck_assert_int_eq(from_args(&cfg, ARGV("--check-config=1")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--check-config takes no value");
	ck_assert_int_eq(from_args(&cfg, ARGV("--help=x")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--help takes no value");
	ck_assert_int_eq(from_args(&cfg, ARGV("-w", "2", "stray")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unexpected argument \"stray\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("stray", "-w", "2")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unexpected argument \"stray\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("--", "-w")), CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unexpected argument \"-w\"");
	ck_assert_int_eq(from_args(&cfg, ARGV("--monitor", "no")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "unexpected argument \"no\"");
	/* A usage error wins over a missing file. */
	ck_assert_int_eq(from_args(&cfg, ARGV("-c", "/nonexistent", "-x")),
	    CONFIG_ERR_USAGE);
}
END_TEST

START_TEST(test_cli_values)
{
	struct config	cfg;
	char		err[ERRLEN];

	ck_assert_int_eq(from_args(&cfg, ARGV("-w", "3", "-t4",
	    "--queue-limit=7", "--compute", "inline", "--io=blocking",
	    "--kernel", "trial", "--max-n", "5000", "--table-n", "9000",
	    "--io-delay", "0", "--max-line", "16", "--shutdown-timeout", "1.5",
	    "--idle-timeout", "0", "--read-timeout", "2", "--job-timeout",
	    "0.25", "--max-connections", "9", "--max-inflight", "1",
	    "--pool-nice", "idle", "--monitor", "--log-level", "warn",
	    "--port-file", "/tmp/p", "--user", "nobody", "--check-config",
	    "--work", "5")), CONFIG_OK);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(cfg.workers, 5);
	ck_assert_int_eq(cfg.threads, 4);
	ck_assert_int_eq(cfg.queue_limit, 7);
	ck_assert_int_eq(cfg.compute, COMPUTE_INLINE);
	ck_assert_int_eq(cfg.io, IO_BLOCKING);
	ck_assert_int_eq(cfg.kernel, KERNEL_TRIAL);
	ck_assert_uint_eq(cfg.max_n, 5000);
	ck_assert_uint_eq(cfg.table_n, 5000);
	ck_assert_int_eq(cfg.io_delay_ms, 0);
	ck_assert_int_eq(cfg.max_line, 16);
	ck_assert_int_eq(cfg.shutdown_timeout_ms, 1500);
	ck_assert_int_eq(cfg.idle_timeout_ms, 0);
	ck_assert_int_eq(cfg.read_timeout_ms, 2000);
	ck_assert_int_eq(cfg.job_timeout_ms, 250);
	ck_assert_int_eq(cfg.max_connections, 9);
	ck_assert_int_eq(cfg.max_inflight, 1);
	ck_assert_int_eq(cfg.pool_nice, 20);
	ck_assert_int_eq(cfg.monitor, 1);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_WARN);
	ck_assert_str_eq(cfg.port_file, "/tmp/p");
	ck_assert_str_eq(cfg.user, "nobody");
	ck_assert_int_eq(cfg.check_config, 1);
	ck_assert_int_eq(cfg.nlisten, 1);
}
END_TEST

START_TEST(test_cli_over_file)
{
	struct config	cfg;
	char		path[64], err[ERRLEN];

	write_tmp(path, sizeof(path),
	    "workers = 3\n"
	    "threads = 2\n"
	    "monitor = yes\n"
	    "listen = prime=127.0.0.1:0\n"
	    "listen = echo=127.0.0.1:0\n");

	ck_assert_int_eq(from_args(&cfg, ARGV("-c", path)), CONFIG_OK);
	ck_assert_str_eq(cfg.config_file, path);
	ck_assert_int_eq(cfg.workers, 3);
	ck_assert_int_eq(cfg.threads, 2);
	ck_assert_int_eq(cfg.monitor, 1);
	ck_assert_int_eq(cfg.nlisten, 2);
	ck_assert_int_eq(cfg.listen[1].service, SVC_ECHO);

	/* The command line wins, wherever --config stands. */
	ck_assert_int_eq(from_args(&cfg, ARGV("--workers=5", "--monitor=no",
	    "--config", path)), CONFIG_OK);
	ck_assert_int_eq(cfg.workers, 5);
	ck_assert_int_eq(cfg.threads, 2);
	ck_assert_int_eq(cfg.monitor, 0);
	ck_assert_int_eq(cfg.nlisten, 2);

	/* Listeners on the command line replace the file's. */
	ck_assert_int_eq(from_args(&cfg, ARGV("--config=" "/dev/null",
	    "--listen", "upper=localhost:0")), CONFIG_OK);
	ck_assert_int_eq(cfg.nlisten, 1);
	ck_assert_int_eq(from_args(&cfg, ARGV("-c", path, "--listen",
	    "upper=localhost:0", "--listen=echo=[::1]:0,framing=line")),
	    CONFIG_OK);
	ck_assert_int_eq(cfg.nlisten, 2);
	ck_assert_int_eq(cfg.listen[0].service, SVC_UPPER);
	ck_assert_int_eq(cfg.listen[1].service, SVC_ECHO);
	ck_assert_int_eq(cfg.listen[1].framing, FRAMING_LINE);

	/* Duplicates on the command line are usage errors. */
	ck_assert_int_eq(from_args(&cfg, ARGV("-c", path, "--listen",
	    "prime=127.0.0.1:1", "--listen", "echo=127.0.0.1:1")),
	    CONFIG_ERR_USAGE);
	ck_assert_str_eq(err, "--listen: \"echo=127.0.0.1:1\" uses the "
	    "address of \"prime=127.0.0.1:1\"");
	unlink(path);
}
END_TEST

START_TEST(test_cli_file_errors)
{
	struct config	cfg;
	char		path[64], err[ERRLEN], want[ERRLEN];

	ck_assert_int_eq(from_args(&cfg, ARGV("-c", "/nonexistent/p.conf")),
	    CONFIG_ERR_FILE);
	ck_assert_str_eq(err, "/nonexistent/p.conf: No such file or directory");

	write_tmp(path, sizeof(path), "workers = 2\nthreads = lots\n");
	ck_assert_int_eq(from_args(&cfg, ARGV("--config", path, "-t", "2")),
	    CONFIG_ERR_FILE);
	snprintf(want, sizeof(want), "%s:2: threads: \"lots\" is not a number "
	    "(1..64)", path);
	ck_assert_str_eq(err, want);
	unlink(path);
}
END_TEST

/* Compare two configs field by field where memcmp would be too strict. */
static void
same_config(const struct config *a, const struct config *b)
{
	int	i;

	ck_assert(memcmp(a, b, offsetof(struct config, listen)) == 0);
	for (i = 0; i < a->nlisten; i++)
		ck_assert(memcmp(&a->listen[i], &b->listen[i],
		    sizeof(a->listen[i])) == 0);
	ck_assert_str_eq(a->config_file, b->config_file);
	ck_assert_str_eq(a->port_file, b->port_file);
	ck_assert_str_eq(a->user, b->user);
	ck_assert_int_eq(a->check_config, b->check_config);
}

START_TEST(test_twice)
{
	struct config	 a, b;
	char		 path[64], err[ERRLEN];
	char		**argv, *copy[16];
	int		 i, argc;

	write_tmp(path, sizeof(path), "workers = 3\nlisten = echo=h:0\n");
	argv = ARGV("-w", "2", "--config", path, "-t3", "--listen",
	    "prime=127.0.0.1:0", "--listen=upper=127.0.0.1:0", "--monitor");
	argc = argc_of(argv);
	memcpy(copy, argv, (argc + 1) * sizeof(*argv));

	ck_assert_int_eq(from_args(&a, argv), CONFIG_OK);
	ck_assert_int_eq(from_args(&b, argv), CONFIG_OK);
	same_config(&a, &b);
	ck_assert_int_eq(a.workers, 2);
	ck_assert_int_eq(a.nlisten, 2);

	/* argv is left as it was: same pointers, same order. */
	for (i = 0; i <= argc; i++)
		ck_assert_ptr_eq(argv[i], copy[i]);

	/* An error in between leaves nothing behind. */
	ck_assert_int_eq(from_args(&b, ARGV("-w")), CONFIG_ERR_USAGE);
	ck_assert_int_eq(from_args(&b, ARGV("-w", "2", "--bogus", "x")),
	    CONFIG_ERR_USAGE);
	ck_assert_int_eq(from_args(&b, argv), CONFIG_OK);
	same_config(&a, &b);
	unlink(path);
}
END_TEST

/* Every test, in one suite. */
static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("values");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_defaults_args);
	tcase_add_loop_test(tc, test_numbers, 0,
	    sizeof(numerics) / sizeof(numerics[0]));
	tcase_add_test(tc, test_number_messages);
	tcase_add_loop_test(tc, test_durations, 0,
	    sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(tc, test_enums);
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_pool_nice);
	tcase_add_test(tc, test_monitor);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_set_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_good);
	tcase_add_test(tc, test_listen_bad);
	tcase_add_test(tc, test_listen_list);
	tcase_add_test(tc, test_listen_dup);
	tcase_add_test(tc, test_finish);
	tcase_add_test(tc, test_service_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_test(tc, test_file_good);
	tcase_add_test(tc, test_file_bad);
	tcase_add_test(tc, test_file_nul_byte);
	tcase_add_test(tc, test_listen_long_zone);
	tcase_add_test(tc, test_file_long_line);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_not_regular);
	tcase_add_test(tc, test_file_fifo);
	tcase_add_test(tc, test_file_huge_line);
	tcase_add_test(tc, test_sample_conf);
	tcase_add_test(tc, test_sample_lists_every_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("args");
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_help_version);
	tcase_add_test(tc, test_usage_errors);
	tcase_add_test(tc, test_cli_values);
	tcase_add_test(tc, test_cli_over_file);
	tcase_add_test(tc, test_cli_file_errors);
	tcase_add_test(tc, test_twice);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(config_suite());
}
