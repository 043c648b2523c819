/*
 * config.c: defaults, then the config file, then the command line.
 *
 * One table describes every option: its name (the long option and the file
 * key), its short letter, where it lives in struct config, its range and the
 * handler that parses it. The file reader, the command line and config_set()
 * all go through config_apply(), so a value means the same wherever it is
 * written; only the name in messages differs ("--workers:" or "workers:").
 *
 * config_from_args() runs getopt_long twice over an untouched argv: first for
 * usage errors, --help, --version and --config, then, after the file is read,
 * to apply the rest so the command line wins. It keeps no state between
 * calls, so the master can run it again on SIGHUP.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "primed.h"

#ifndef PACKAGE_NAME
#define PACKAGE_NAME	"primed"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif

#define LISTEN_DEFAULT	"prime=127.0.0.1:7070"
#define THREADS_MAX	64
#define LINE_MAX_FILE	4096	/* longest line of the config file */
#define MSG_MAX		512
#define SECONDS_MAX	UINT64_C(1000000000000)	/* past any range: overflow */
#define MAX_N_SIEVE	UINT64_C(100000000)	/* default max-n, sieve, trial */
#define MAX_N_COUNT	UINT64_C(10000000000000)	/* default max-n, count */
#define MAX_N_DEFAULT	"10000000000000 with count, else 100000000"

#ifdef HAVE_PRIMECOUNT
#define KERNEL_DEFAULT	KERNEL_COUNT
#else
#define KERNEL_DEFAULT	KERNEL_SIEVE
#endif

/* Option flags. */
#define OPT_CLI		0x01	/* command line only, refused in the file */
#define OPT_EARLY	0x02	/* handled before the file is read */
#define OPT_NOARG	0x04	/* takes no value on the command line */
#define OPT_OPTARG	0x08	/* value optional: --key or --key=value */
#define OPT_LIST	0x10	/* repeatable; the command line's list wins */
#define OPT_NUM		0x20	/* min..max is a numeric range */
#define OPT_SEC		0x40	/* stored in ms, written in seconds */
#define OPT_HELP	0x80	/* action: print usage */
#define OPT_VERSION	0x100	/* action: print version */
#define OPT_U64		0x200	/* numeric field is a uint64_t, not an int */

/* getopt_long value for options without a short letter: OPT_VAL + index. */
#define OPT_VAL		256

struct opt {
	const char		 *name;
	int			  shortopt;
	int			  flags;
	int			(*set)(struct config *, const struct opt *,
				    const char *, char *, size_t);
	const char		 *def;		/* default for usage, when the
						   field does not tell */
	size_t			  off;		/* field in struct config */
	uint64_t		  min;
	uint64_t		  max;		/* string options: field size */
	const char *const	 *choices;
	const char		 *arg;
	const char		 *help;
};

/* Enumerated values are stored through an int. */
_Static_assert(sizeof(enum compute) == sizeof(int), "enum size");
_Static_assert(sizeof(enum io_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum kernel) == sizeof(int), "enum size");
_Static_assert(sizeof(enum pool_order) == sizeof(int), "enum size");

static const char *const compute_names[] = { "pool", "inline", NULL };
static const char *const io_names[] = { "timer", "blocking", NULL };
static const char *const kernel_names[] = { "sieve", "trial", "count", NULL };
static const char *const order_names[] = { "fifo", "cost", NULL };
/* In the order of LOG_LVL_*. */
static const char *const level_names[] = {
	"error", "warn", "info", "debug", NULL
};
static const char *const bool_names[] = {
	"yes", "no", "true", "false", "on", "off", "1", "0", NULL
};
/* In the order of enum service. */
static const char *const service_names[] = {
	"prime", "upper", "echo", "http", NULL
};
_Static_assert(sizeof(service_names) / sizeof(service_names[0]) ==
    SVC_COUNT + 1, "a name for every service");
static const char *const framing_names[] = { "line", "raw", NULL };

/* Online CPUs, at least 1 and at most max. */
static int
config_ncpu(int max)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > max ? max : (int)n;
}

/* Fill in every default; listeners are left empty for config_finish. */
void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = config_ncpu(MAX_WORKERS);
	cfg->threads = config_ncpu(THREADS_MAX);
	cfg->queue_limit = 1024;
	cfg->compute = COMPUTE_POOL;
	cfg->io = IO_TIMER;
	cfg->kernel = KERNEL_DEFAULT;
	cfg->max_n = KERNEL_DEFAULT == KERNEL_COUNT ? MAX_N_COUNT : MAX_N_SIEVE;
	cfg->table_n = 1000000;
	cfg->io_delay_ms = 100;
	cfg->max_line = 1024;
	cfg->shutdown_timeout_ms = 10 * 1000;
	cfg->max_connections = 10000;
	cfg->max_inflight = 128;
	cfg->idle_timeout_ms = 60 * 1000;
	cfg->read_timeout_ms = 10 * 1000;
	cfg->job_timeout_ms = 300 * 1000;
	cfg->drain_delay_ms = 0;
	cfg->reply_memory_mb = 256;
	cfg->pool_nice = 20;	/* SCHED_IDLE: measured best for the loops */
	cfg->pool_order = ORDER_COST;
	cfg->slice_ms = 5;
	cfg->monitor = 0;
	cfg->log_level = LOG_LVL_INFO;
}

/* Parse a plain decimal number: 0, or -1 if junk, -2 if too large. */
static int
config_parse_u64(const char *s, uint64_t *out)
{
	uint64_t	n = 0;
	int		over = 0, d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (n > (UINT64_MAX - d) / 10)
			over = 1;
		else
			n = n * 10 + d;
	}
	*out = n;
	return over ? -2 : 0;
}

/*
 * Parse seconds, "10" or "0.25", into ms: 0, or -1 if junk, -2 if too
 * large, -3 if finer than a millisecond.
 */
static int
config_parse_ms(const char *s, uint64_t *out)
{
	uint64_t	 sec = 0, ms = 0;
	int		 over = 0, fine = 0, digits = 0, frac = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (sec > SECONDS_MAX)
			over = 1;
		else
			sec = sec * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, frac++)
			if (frac < 3)
				ms = ms * 10 + (*s - '0');
			else if (*s != '0')
				fine = 1;
		if (frac == 0 || *s != '\0')
			return -1;
		for (; frac < 3; frac++)
			ms *= 10;
		digits++;
	}
	if (*s != '\0' || digits == 0)
		return -1;
	*out = sec * 1000 + ms;
	if (over)
		return -2;
	return fine ? -3 : 0;
}

/* Write ms as seconds, "10" or "0.5". */
static void
config_fmt_seconds(char *buf, size_t len, uint64_t ms)
{
	int	n;

	if (ms % 1000 == 0) {
		snprintf(buf, len, "%" PRIu64, ms / 1000);
		return;
	}
	n = snprintf(buf, len, "%" PRIu64 ".%03u", ms / 1000,
	    (unsigned)(ms % 1000));
	while (n > 0 && (size_t)n < len && buf[n - 1] == '0')
		buf[--n] = '\0';
}

/* The range of a numeric option as text, "1..256"; empty if none. */
static void
config_range(const struct opt *o, char *buf, size_t len)
{
	char	lo[32], hi[32];

	buf[0] = '\0';
	if (!(o->flags & OPT_NUM))
		return;
	if (o->flags & OPT_SEC) {
		config_fmt_seconds(lo, sizeof(lo), o->min);
		config_fmt_seconds(hi, sizeof(hi), o->max);
	} else {
		snprintf(lo, sizeof(lo), "%" PRIu64, o->min);
		snprintf(hi, sizeof(hi), "%" PRIu64, o->max);
	}
	snprintf(buf, len, "%s..%s", lo, hi);
}

/* Parse a number in the option's range; messages name the range. */
static int
config_number(const struct opt *o, const char *v, uint64_t *n, char *err,
    size_t errlen)
{
	char	range[80];
	int	rc;

	config_range(o, range, sizeof(range));
	if (o->flags & OPT_SEC)
		rc = config_parse_ms(v, n);
	else
		rc = config_parse_u64(v, n);
	if (rc == -1) {
		snprintf(err, errlen, "\"%s\" is not %s (%s)", v,
		    (o->flags & OPT_SEC) ? "a number of seconds" : "a number",
		    range);
		return -1;
	}
	if (rc == -3) {
		snprintf(err, errlen, "\"%s\" is finer than a millisecond", v);
		return -1;
	}
	if (rc == -2 || *n < o->min || *n > o->max) {
		snprintf(err, errlen, "\"%s\" is out of range (%s)", v, range);
		return -1;
	}
	return 0;
}

/* Index of s in a NULL-terminated list of names, or -1. */
static int
config_choice(const char *const *names, const char *s)
{
	int	i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(names[i], s) == 0)
			return i;
	return -1;
}

/* Names joined by sep, for messages and usage. */
static void
config_join(const char *const *names, const char *sep, char *buf, size_t len)
{
	size_t	used = 0;
	int	i, n;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s%s", i ? sep : "",
		    names[i]);
		if (n < 0)
			break;
		used += n;
	}
}

/* Complain that v is not one of names. */
static int
config_bad_choice(const char *const *names, const char *what, const char *v,
    char *err, size_t errlen)
{
	char	list[128];

	config_join(names, ", ", list, sizeof(list));
	snprintf(err, errlen, "%s\"%s\" is not one of %s", what, v, list);
	return -1;
}

/* A numeric field in range, an int unless OPT_U64. */
static int
set_num(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	char		*field = (char *)cfg + o->off;
	uint64_t	 n;

	if (config_number(o, v, &n, err, errlen) == -1)
		return -1;
	if (o->flags & OPT_U64)
		*(uint64_t *)field = n;
	else
		*(int *)field = (int)n;
	return 0;
}

/* An enumerated field, by name. */
static int
set_enum(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	int	i;

	if ((i = config_choice(o->choices, v)) == -1)
		return config_bad_choice(o->choices, "", v, err, errlen);
	*(int *)((char *)cfg + o->off) = i;
	return 0;
}

/* A yes/no field; no value means yes. Names alternate yes, no. */
static int
set_bool(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	int	i = 0;

	if (v != NULL && (i = config_choice(bool_names, v)) == -1)
		return config_bad_choice(bool_names, "", v, err, errlen);
	*(int *)((char *)cfg + o->off) = (i % 2 == 0);
	return 0;
}

/* A string field that must fit, terminator included. */
static int
set_string(struct config *cfg, const struct opt *o, const char *v,
    char *err, size_t errlen)
{
	char	*field = (char *)cfg + o->off;

	if (strlen(v) >= o->max) {
		snprintf(err, errlen, "\"%.40s...\" is too long (at most %"
		    PRIu64 " bytes)", v, o->max - 1);
		return -1;
	}
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

/* Nice value of the compute threads, or "idle" for SCHED_IDLE (20). */
static int
set_nice(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	size_t	n;

	if (strcasecmp(v, "idle") == 0) {
		cfg->pool_nice = 20;
		return 0;
	}
	if (set_num(cfg, o, v, err, errlen) == 0)
		return 0;
	n = strlen(err);
	snprintf(err + n, errlen - n, " nor \"idle\"");
	return -1;
}

/* The kernel; count only when built with libprimecount. */
static int
set_kernel(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	if (set_enum(cfg, o, v, err, errlen) == -1)
		return -1;
#ifndef HAVE_PRIMECOUNT
	if (cfg->kernel == KERNEL_COUNT) {
		cfg->kernel = KERNEL_SIEVE;
		snprintf(err, errlen, "\"%s\" needs libprimecount, which this "
		    "primed was built without", v);
		return -1;
	}
#endif
	return 0;
}

/* max-n as given: it then no longer follows the kernel. */
static int
set_max_n(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	if (set_num(cfg, o, v, err, errlen) == -1)
		return -1;
	cfg->max_n_set = 1;
	return 0;
}

/* Log level by name; "warning" is accepted for "warn". */
static int
set_log_level(struct config *cfg, const struct opt *o, const char *v,
    char *err, size_t errlen)
{
	if (strcasecmp(v, "warning") == 0)
		v = "warn";
	return set_enum(cfg, o, v, err, errlen);
}

/* Canonical text of a host, so "::1" and "0::1" compare equal. */
static void
config_host_canon(const char *host, char *buf, size_t len)
{
	unsigned char	addr[sizeof(struct in6_addr)];
	size_t		i;

	if (inet_pton(AF_INET6, host, addr) == 1 &&
	    inet_ntop(AF_INET6, addr, buf, len) != NULL)
		return;
	if (inet_pton(AF_INET, host, addr) == 1 &&
	    inet_ntop(AF_INET, addr, buf, len) != NULL)
		return;
	for (i = 0; host[i] != '\0' && i + 1 < len; i++)
		buf[i] = tolower((unsigned char)host[i]);
	buf[i] = '\0';
}

/* True if a and b would bind the same fixed address and port. */
static int
config_listen_same(const struct listen_conf *a, const struct listen_conf *b)
{
	char	ha[256], hb[256];

	if (strcmp(a->port, b->port) != 0 || strcmp(a->port, "0") == 0)
		return 0;
	config_host_canon(a->host, ha, sizeof(ha));
	config_host_canon(b->host, hb, sizeof(hb));
	return strcmp(ha, hb) == 0;
}

/* Complain if lc binds the address of one of the first n listeners. */
static int
config_listen_dup(const struct config *cfg, int n,
    const struct listen_conf *lc, char *err, size_t errlen)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (!config_listen_same(&cfg->listen[i], lc))
			continue;
		snprintf(err, errlen, "\"%s\" uses the address of \"%s\"",
		    lc->spec, cfg->listen[i].spec);
		return -1;
	}
	return 0;
}

/* Add a listener; the command line empties the list first. */
static int
set_listen(struct config *cfg, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	struct listen_conf	lc;

	if (cfg->nlisten >= MAX_LISTENERS) {
		snprintf(err, errlen, "too many listeners (at most %d)",
		    MAX_LISTENERS);
		return -1;
	}
	if (config_parse_listen(&lc, v, err, errlen) == -1)
		return -1;
	if (config_listen_dup(cfg, cfg->nlisten, &lc, err, errlen) == -1)
		return -1;
	cfg->listen[cfg->nlisten++] = lc;
	return 0;
}

#define OFF(f)		offsetof(struct config, f)
#define SIZE(f)		sizeof(((struct config *)NULL)->f)

#define O_INT(n, f, lo, hi, arg, help)					\
	{ n, 0, OPT_NUM, set_num, NULL, OFF(f), lo, hi, NULL, arg, help }
#define O_U64(n, f, lo, hi, help)					\
	{ n, 0, OPT_NUM | OPT_U64, set_num, NULL, OFF(f), lo, hi, NULL,	\
	    "N", help }
#define O_SEC(n, f, hi, help)						\
	{ n, 0, OPT_NUM | OPT_SEC, set_num, NULL, OFF(f),		\
	    0, (uint64_t)(hi) * 1000, NULL, "SEC", help }
#define O_ENUM(n, f, names, help)					\
	{ n, 0, 0, set_enum, NULL, OFF(f), 0, 0, names, NULL, help }
#define O_STR(n, s, fl, f, arg, help)					\
	{ n, s, fl, set_string, NULL, OFF(f), 0, SIZE(f), NULL,	\
	    arg, help }

/* Every option, in the order of the usage message. */
static const struct opt opts[] = {
	O_STR("config", 'c', OPT_CLI | OPT_EARLY, config_file, "FILE",
	    "config file to read"),
	{ "workers", 'w', OPT_NUM, set_num, "online CPUs", OFF(workers), 1,
	    MAX_WORKERS, NULL, "N", "worker processes" },
	{ "threads", 't', OPT_NUM, set_num, "online CPUs", OFF(threads), 1,
	    THREADS_MAX, NULL, "N", "compute threads per worker" },
	O_INT("queue-limit", queue_limit, 1, 1000000, "N",
	    "queued jobs per worker"),
	O_ENUM("compute", compute, compute_names, "where PRIME runs"),
	O_ENUM("io", io, io_names, "how UPPER waits"),
	{ "kernel", 0, 0, set_kernel, NULL, OFF(kernel), 0, 0,
	    kernel_names, NULL, "prime algorithm" },
	{ "max-n", 0, OPT_NUM | OPT_U64, set_max_n, MAX_N_DEFAULT,
	    OFF(max_n), 1, UINT64_C(1000000000000000), NULL, "N",
	    "largest n accepted" },
	O_U64("table-n", table_n, 0, 100000000, "primes kept precomputed"),
	O_INT("io-delay", io_delay_ms, 0, SLEEP_MAX_MS, "MS",
	    "IO wait of UPPER"),
	O_INT("max-line", max_line, 16, 1048576, "BYTES", "longest request"),
	O_SEC("shutdown-timeout", shutdown_timeout_ms, 3600,
	    "graceful stop deadline"),
	O_SEC("idle-timeout", idle_timeout_ms, 86400,
	    "idle connection limit, 0: none"),
	O_SEC("read-timeout", read_timeout_ms, 86400,
	    "request read limit, 0: none"),
	O_SEC("job-timeout", job_timeout_ms, 86400,
	    "compute job limit, 0: none"),
	O_SEC("drain-delay", drain_delay_ms, 3600,
	    "serve on after a stop begins"),
	O_INT("max-connections", max_connections, 1, 1000000, "N",
	    "connections per worker"),
	O_INT("max-inflight", max_inflight, 1, 65536, "N",
	    "pipelined requests per connection"),
	O_INT("max-reply-memory", reply_memory_mb, 0, 1048576, "MIB",
	    "replies held per worker, 0: none"),
	{ "pool-nice", 0, OPT_NUM, set_nice, NULL, OFF(pool_nice), 0, 19,
	    NULL, "N|idle", "compute thread niceness" },
	O_ENUM("pool-order", pool_order, order_names,
	    "compute queue: FIFO or cheapest first"),
	O_INT("slice-ms", slice_ms, 0, 60000, "MS",
	    "long jobs yield after this, 0: never"),
	{ "monitor", 0, OPT_OPTARG, set_bool, NULL, OFF(monitor), 0, 0,
	    NULL, "[=yes|no]", "print live counters" },
	{ "log-level", 0, 0, set_log_level, NULL, OFF(log_level), 0, 0,
	    level_names, NULL, "log verbosity" },
	{ "listen", 0, OPT_LIST, set_listen, LISTEN_DEFAULT, 0, 0, 0, NULL,
	    "SVC=HOST:PORT[,framing=F]", "bind a service; repeatable" },
	O_STR("port-file", 0, 0, port_file, "FILE",
	    "write bound addresses here"),
	O_STR("user", 0, 0, user, "NAME", "run as this user after binding"),
	{ "check-config", 0, OPT_CLI | OPT_NOARG, set_bool, NULL,
	    OFF(check_config), 0, 0, NULL, NULL,
	    "check the configuration and exit" },
	{ "help", 'h', OPT_CLI | OPT_EARLY | OPT_NOARG | OPT_HELP, NULL, NULL,
	    0, 0, 0, NULL, NULL, "print this help and exit" },
	{ "version", 'V', OPT_CLI | OPT_EARLY | OPT_NOARG | OPT_VERSION, NULL,
	    NULL, 0, 0, 0, NULL, NULL, "print the version and exit" },
};

#define NOPTS		(sizeof(opts) / sizeof(opts[0]))

/*
 * The default of option o as the usage message shows it: its text in the
 * table when the field alone does not tell (CPUs, a kernel's max-n),
 * else the field of the defaults, formatted by its type. 0 when o has no
 * default to show (an action, or a flag of the command line).
 */
static int
config_show(const struct config *def, const struct opt *o, char *buf,
    size_t len)
{
	const char	*field = (const char *)def + o->off;
	int		 v = *(const int *)field;

	if (o->def != NULL)
		snprintf(buf, len, "%s", o->def);
	else if (o->flags & OPT_U64)
		snprintf(buf, len, "%" PRIu64, *(const uint64_t *)field);
	else if (o->flags & OPT_SEC)
		config_fmt_seconds(buf, len, (uint64_t)v);
	else if (o->set == set_num)
		snprintf(buf, len, "%d", v);
	else if (o->choices != NULL)
		snprintf(buf, len, "%s", o->choices[v]);
	else if (o->set == set_nice)
		snprintf(buf, len, v == 20 ? "idle" : "%d", v);
	else if (o->set == set_string)
		snprintf(buf, len, "%s", *field != '\0' ? field : "none");
	else if (o->set == set_bool && !(o->flags & OPT_CLI))
		snprintf(buf, len, "%s", v ? "yes" : "no");
	else
		return 0;
	return 1;
}

/* The option called name, or NULL. */
static const struct opt *
config_opt_by_name(const char *name)
{
	size_t	i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

/* The option getopt_long returned as val, or NULL. */
static const struct opt *
config_opt_by_val(int val)
{
	size_t	i;

	if (val >= OPT_VAL && (size_t)(val - OPT_VAL) < NOPTS)
		return &opts[val - OPT_VAL];
	for (i = 0; i < NOPTS; i++)
		if (val != 0 && opts[i].shortopt == val)
			return &opts[i];
	return NULL;
}

/* Run an option's handler; messages start with its name. */
static int
config_apply(struct config *cfg, const struct opt *o, const char *v,
    int cli, char *err, size_t errlen)
{
	char	msg[MSG_MAX];

	if (o->set == NULL) {
		snprintf(err, errlen, "%s%s is not a setting", cli ? "--" : "",
		    o->name);
		return -1;
	}
	if (v == NULL && !(o->flags & (OPT_NOARG | OPT_OPTARG))) {
		snprintf(err, errlen, "%s%s: missing value", cli ? "--" : "",
		    o->name);
		return -1;
	}
	if (o->set(cfg, o, v, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s%s: %s", cli ? "--" : "", o->name,
		    msg);
		return -1;
	}
	return 0;
}

/* Set one option by its long name, as the file does. */
int
config_set(struct config *cfg, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct opt	*o;

	if ((o = config_opt_by_name(key)) == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	return config_apply(cfg, o, value, 0, err, errlen);
}

/* True if s is made of letters, digits, '-', '.' and '_' only. */
static int
config_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-._", *s) == NULL)
			return 0;
	return 1;
}

/* True if s is a host name or a dotted IPv4 address. */
static int
config_host_ok(const char *s)
{
	struct in_addr	a;

	if (!config_name_ok(s) || s[0] == '-' || s[0] == '.')
		return 0;
	if (strspn(s, "0123456789.") == strlen(s))
		return inet_pton(AF_INET, s, &a) == 1;
	return 1;
}

/* True if s is an IPv6 address, with an optional %zone. */
static int
config_host6_ok(const char *s)
{
	struct in6_addr	 a;
	char		 buf[INET6_ADDRSTRLEN];
	const char	*zone;
	size_t		 n;

	if ((zone = strchr(s, '%')) == NULL)
		zone = s + strlen(s);
	if ((n = zone - s) >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (*zone == '%' && !config_name_ok(zone + 1))
		return 0;
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Split "HOST:PORT" or "[V6]:PORT" into lc->host; return the port text. */
static char *
config_listen_host(struct listen_conf *lc, char *addr, char *err,
    size_t errlen)
{
	char	*end, *port;

	if (addr[0] == '[') {
		if ((end = strchr(addr, ']')) == NULL || end[1] != ':') {
			snprintf(err, errlen, "\"%s\" is not [IPV6]:PORT",
			    addr);
			return NULL;
		}
		*end = '\0';
		if (strlen(addr + 1) >= sizeof(lc->host) ||
		    !config_host6_ok(addr + 1)) {
			snprintf(err, errlen, "\"%s\" is not an IPv6 address",
			    addr + 1);
			return NULL;
		}
		snprintf(lc->host, sizeof(lc->host), "%s", addr + 1);
		return end + 2;
	}
	if ((port = strrchr(addr, ':')) == NULL) {
		snprintf(err, errlen, "\"%s\" has no :PORT", addr);
		return NULL;
	}
	*port++ = '\0';
	if (addr[0] == '\0') {
		snprintf(err, errlen, "missing host (0.0.0.0 or [::] for all "
		    "addresses)");
		return NULL;
	}
	if (strchr(addr, ':') != NULL) {
		snprintf(err, errlen, "IPv6 address \"%s\" must be in "
		    "brackets, as in [::1]:7070", addr);
		return NULL;
	}
	if (strlen(addr) >= sizeof(lc->host) || !config_host_ok(addr)) {
		snprintf(err, errlen, "\"%s\" is not a host name or IPv4 "
		    "address", addr);
		return NULL;
	}
	snprintf(lc->host, sizeof(lc->host), "%s", addr);
	return port;
}

/* Parse the port, 0..65535, and store it normalized. */
static int
config_listen_port(struct listen_conf *lc, const char *s, char *err,
    size_t errlen)
{
	uint64_t	n;
	int		rc;

	if ((rc = config_parse_u64(s, &n)) != 0 || n > 65535) {
		snprintf(err, errlen, "port \"%s\" is %s (0..65535)", s,
		    rc == -1 ? "not a number" : "out of range");
		return -1;
	}
	snprintf(lc->port, sizeof(lc->port), "%u", (unsigned)n);
	return 0;
}

/* Parse ",framing=..." options after the address, each at most once. */
static int
config_listen_options(struct listen_conf *lc, char *opt, char *err,
    size_t errlen)
{
	char	*item, *v;
	int	 i, framing_seen = 0;

	while ((item = strsep(&opt, ",")) != NULL) {
		if ((v = strchr(item, '=')) != NULL)
			*v++ = '\0';
		if (v == NULL || strcmp(item, "framing") != 0) {
			snprintf(err, errlen, "unknown listen option \"%s\" "
			    "(framing=line|raw)", item);
			return -1;
		}
		if (strcmp(v, "auto") == 0) {
			/* It guessed from timing and gave split lines wrong answers. */
			snprintf(err, errlen, "framing=auto is gone: use "
			    "framing=line (the default) and a listener of its "
			    "own with framing=raw for clients that send no line "
			    "end");
			return -1;
		}
		if ((i = config_choice(framing_names, v)) == -1)
			return config_bad_choice(framing_names, "framing ", v,
			    err, errlen);
		if (framing_seen++) {
			snprintf(err, errlen, "framing given twice");
			return -1;
		}
		if (lc->service == SVC_HTTP && i == FRAMING_RAW) {
			snprintf(err, errlen, "framing=raw does not apply to "
			    "http, which frames its own requests");
			return -1;
		}
		/* http frames its own requests; line, once its default, is let be. */
		if (lc->service != SVC_HTTP)
			lc->framing = (enum framing)i;
	}
	return 0;
}

/* Parse SERVICE=HOST:PORT[,framing=line|raw]. */
int
config_parse_listen(struct listen_conf *lc, const char *spec, char *err,
    size_t errlen)
{
	char	 buf[sizeof(lc->spec)], *addr, *port, *opt;
	int	 i;

	memset(lc, 0, sizeof(*lc));
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "\"%.40s...\" is too long (at most %zu "
		    "bytes)", spec, sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	if ((addr = strchr(buf, '=')) == NULL) {
		snprintf(err, errlen, "\"%s\" is not SERVICE=HOST:PORT", spec);
		return -1;
	}
	*addr++ = '\0';
	if ((i = config_choice(service_names, buf)) == -1)
		return config_bad_choice(service_names, "service ", buf, err,
		    errlen);
	lc->service = (enum service)i;
	if ((opt = strchr(addr, ',')) != NULL)
		*opt++ = '\0';
	if ((port = config_listen_host(lc, addr, err, errlen)) == NULL)
		return -1;
	if (config_listen_port(lc, port, err, errlen) == -1)
		return -1;
	/*
	 * upper is one message per connection: the first read is it. http
	 * has its own framing.
	 */
	lc->framing = lc->service == SVC_UPPER ? FRAMING_RAW :
	    lc->service == SVC_HTTP ? FRAMING_HTTP : FRAMING_LINE;
	if (opt != NULL && config_listen_options(lc, opt, err, errlen) == -1)
		return -1;
	memcpy(lc->spec, spec, strlen(spec) + 1);
	return 0;
}

/* Trim blanks at both ends, in place. */
static char *
config_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Cut a line at a '#' outside quotes. */
static void
config_uncomment(char *line)
{
	int	quoted = 0;

	for (; *line != '\0'; line++) {
		if (*line == '"')
			quoted = !quoted;
		else if (*line == '#' && !quoted) {
			*line = '\0';
			return;
		}
	}
}

/* Strip one pair of double quotes around a value; refuse stray quotes. */
static int
config_unquote(char **value, char *err, size_t errlen)
{
	char	*v = *value;
	size_t	 n = strlen(v);

	if (v[0] != '"') {
		if (strchr(v, '"') == NULL)
			return 0;
		snprintf(err, errlen, "stray quote in value %s", v);
		return -1;
	}
	if (n < 2 || v[n - 1] != '"' || strchr(v + 1, '"') != v + n - 1) {
		snprintf(err, errlen, "badly quoted value %s", v);
		return -1;
	}
	v[n - 1] = '\0';
	*value = v + 1;
	return 0;
}

/* Apply one line of the file: blank, comment, or "key = value". */
static int
config_line(struct config *cfg, char *line, char *err, size_t errlen)
{
	const struct opt	*o;
	char			*key, *value;

	config_uncomment(line);
	key = config_trim(line);
	if (*key == '\0')
		return 0;
	if ((value = strchr(key, '=')) == NULL) {
		snprintf(err, errlen, "missing \"=\" after \"%s\"", key);
		return -1;
	}
	*value++ = '\0';
	key = config_trim(key);
	value = config_trim(value);
	if ((o = config_opt_by_name(key)) == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	if (o->flags & OPT_CLI) {
		snprintf(err, errlen, "\"%s\" is only valid on the command "
		    "line", key);
		return -1;
	}
	if (config_unquote(&value, err, errlen) == -1)
		return -1;
	return config_apply(cfg, o, value, 0, err, errlen);
}

/*
 * Read one line (without its "\n") into buf, at most cap - 1 bytes. Returns
 * 1 for a line, 0 at the end of the file, -1 when the line is longer: the
 * read stops there, so no file can make it take unbounded time or memory.
 */
static int
config_read_line(FILE *fp, char *buf, size_t cap, size_t *len)
{
	size_t	n = 0;
	int	ch;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	*len = n;
	return (ch == EOF && n == 0) ? 0 : 1;
}

/*
 * Open path for reading if it is a regular file; NULL with err if not.
 * The open does not block: a FIFO would wait for a writer in open(), at
 * start or, on SIGHUP, in the master, which then neither respawned nor
 * stopped. O_NONBLOCK changes nothing for reads of a regular file.
 */
static FILE *
config_open(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	FILE		*fp;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* /dev/null stays usable for "no configuration file". */
	if (fstat(fd, &st) == -1 || (!S_ISREG(st.st_mode) &&
	    strcmp(path, "/dev/null") != 0)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return fp;
}

/* Read a config file over cfg; on error cfg may be partly changed. */
int
config_load_file(struct config *cfg, const char *path, char *err,
    size_t errlen)
{
	FILE	*fp;
	char	 line[LINE_MAX_FILE], msg[MSG_MAX];
	size_t	 n;
	int	 lineno = 0, rc = 0, got;

	if ((fp = config_open(path, err, errlen)) == NULL)
		return -1;
	while (rc == 0 &&
	    (got = config_read_line(fp, line, LINE_MAX_FILE - 1, &n)) != 0) {
		lineno++;
		if (got == -1) {
			snprintf(msg, sizeof(msg), "line longer than %d bytes",
			    LINE_MAX_FILE - 2);
			rc = -1;
		} else if (memchr(line, '\0', n) != NULL) {
			snprintf(msg, sizeof(msg), "NUL byte in the line");
			rc = -1;
		} else
			rc = config_line(cfg, line, msg, sizeof(msg));
		if (rc == -1)
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(fp);
	return rc;
}

/* Add the default listener if none is set; check what spans options. */
int
config_finish(struct config *cfg, char *err, size_t errlen)
{
	int	i;

	if (cfg->nlisten == 0) {
		if (config_parse_listen(&cfg->listen[0], LISTEN_DEFAULT, err,
		    errlen) == -1)
			return -1;
		cfg->nlisten = 1;
	}
	for (i = 1; i < cfg->nlisten; i++)
		if (config_listen_dup(cfg, i, &cfg->listen[i], err,
		    errlen) == -1)
			return -1;
	/* Unless given, max-n follows the kernel. */
	if (!cfg->max_n_set)
		cfg->max_n = cfg->kernel == KERNEL_COUNT ? MAX_N_COUNT :
		    MAX_N_SIEVE;
	/* No n beyond max-n is ever asked: a larger table is wasted. */
	if (cfg->table_n > cfg->max_n)
		cfg->table_n = cfg->max_n;
	return 0;
}

/* Name of a service, as written in --listen. */
const char *
config_service_name(enum service svc)
{
	if ((unsigned)svc >= SVC_COUNT)
		return "unknown";
	return service_names[svc];
}

/* A listener's framing, as the port file shows it: none for echo. */
const char *
config_framing_name(const struct listen_conf *lc)
{
	if (lc->service == SVC_ECHO)
		return "none";
	if (lc->framing == FRAMING_HTTP)
		return "http";
	return framing_names[lc->framing];
}

/* "  -w, --workers N" for the usage message. */
static void
config_synopsis(const struct opt *o, char *buf, size_t len)
{
	char	arg[128], shortopt[8] = "    ";

	if (o->shortopt != 0)
		snprintf(shortopt, sizeof(shortopt), "-%c, ", o->shortopt);
	if (o->flags & OPT_NOARG)
		arg[0] = '\0';
	else if (o->flags & OPT_OPTARG)
		snprintf(arg, sizeof(arg), "%s", o->arg);
	else if (o->choices != NULL) {
		arg[0] = ' ';
		config_join(o->choices, "|", arg + 1, sizeof(arg) - 1);
	} else
		snprintf(arg, sizeof(arg), " %s", o->arg);
	snprintf(buf, len, "%s--%s%s", shortopt, o->name, arg);
}

/* Print one line per option, with its range and default. */
void
config_usage(FILE *fp)
{
	const struct opt	*o;
	struct config		 def;
	char			 synopsis[192], range[80], value[64];
	int			 shown;

	config_defaults(&def);
	fprintf(fp, "usage: %s [options]\n"
	    "Every option is also a key of the config file, written without "
	    "the dashes;\nthe command line wins over the file.\n\n",
	    PACKAGE_NAME);
	for (o = opts; o < opts + NOPTS; o++) {
		config_synopsis(o, synopsis, sizeof(synopsis));
		config_range(o, range, sizeof(range));
		fprintf(fp, "  %-30s %s", synopsis, o->help);
		shown = config_show(&def, o, value, sizeof(value));
		if (range[0] != '\0')
			fprintf(fp, " (%s, default: %s)", range, value);
		else if (shown)
			fprintf(fp, " (default: %s)", value);
		fputc('\n', fp);
	}
}

/* Build getopt_long's tables from the option table. */
static void
config_getopt_tables(struct option *lo, char *so, size_t solen)
{
	size_t	i, n = 0;
	int	has_arg;

	n += snprintf(so, solen, "+:");
	for (i = 0; i < NOPTS; i++) {
		if (opts[i].flags & OPT_NOARG)
			has_arg = no_argument;
		else if (opts[i].flags & OPT_OPTARG)
			has_arg = optional_argument;
		else
			has_arg = required_argument;
		lo[i].name = opts[i].name;
		lo[i].has_arg = has_arg;
		lo[i].flag = NULL;
		lo[i].val = opts[i].shortopt ? opts[i].shortopt :
		    (int)(OPT_VAL + i);
		if (opts[i].shortopt != 0 && n + 3 < solen) {
			so[n++] = (char)opts[i].shortopt;
			if (has_arg == required_argument)
				so[n++] = ':';
			so[n] = '\0';
		}
	}
	memset(&lo[NOPTS], 0, sizeof(lo[NOPTS]));
}

/* How many option names start with the n bytes at s. */
static int
config_prefix_count(const char *s, size_t n)
{
	size_t	i;
	int	count = 0;

	for (i = 0; i < NOPTS; i++)
		if (strncmp(opts[i].name, s, n) == 0)
			count++;
	return count;
}

/* Explain what getopt_long refused. */
static int
config_getopt_error(int ch, char **argv, char *err, size_t errlen)
{
	const struct opt	*o = config_opt_by_val(optopt);
	const char		*arg = argv[optind - 1];
	size_t			 n;
	int			 ambiguous;

	if (ch == ':' && o != NULL)
		snprintf(err, errlen, "--%s: missing value", o->name);
	else if (o != NULL && (o->flags & OPT_NOARG))
		snprintf(err, errlen, "--%s takes no value", o->name);
	else if (optopt != 0)
		snprintf(err, errlen, "unknown option \"-%c\"", optopt);
	else {
		n = strcspn(arg, "=");
		ambiguous = n > 2 && config_prefix_count(arg + 2, n - 2) > 1;
		snprintf(err, errlen, "%s option \"%.*s\"",
		    ambiguous ? "ambiguous" : "unknown", (int)n, arg);
	}
	return CONFIG_ERR_USAGE;
}

/*
 * One walk over argv. The early walk finds usage errors and runs --help,
 * --version and --config; the late walk applies everything else.
 */
static int
config_walk(struct config *cfg, int argc, char **argv, int early, char *err,
    size_t errlen)
{
	struct option		 lo[NOPTS + 1];
	char			 so[2 * NOPTS + 3];
	const struct opt	*o;
	int			 ch, listed = 0;

	config_getopt_tables(lo, so, sizeof(so));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		o = config_opt_by_val(ch);
		if (ch == '?' || ch == ':' || o == NULL)
			return config_getopt_error(ch, argv, err, errlen);
		if (!(o->flags & OPT_EARLY) != !early)
			continue;
		if (o->flags & OPT_HELP) {
			config_usage(stdout);
			return CONFIG_EXIT;
		}
		if (o->flags & OPT_VERSION) {
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return CONFIG_EXIT;
		}
		if ((o->flags & OPT_LIST) && !listed++)
			cfg->nlisten = 0;
		if (config_apply(cfg, o, optarg, 1, err, errlen) == -1)
			return CONFIG_ERR_USAGE;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\"",
		    argv[optind]);
		return CONFIG_ERR_USAGE;
	}
	return CONFIG_OK;
}

/* Defaults, then the file named by --config, then the command line. */
int
config_from_args(struct config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	int	rc;

	config_defaults(cfg);
	if ((rc = config_walk(cfg, argc, argv, 1, err, errlen)) != CONFIG_OK)
		return rc;
	if (cfg->config_file[0] != '\0' &&
	    config_load_file(cfg, cfg->config_file, err, errlen) == -1)
		return CONFIG_ERR_FILE;
	if ((rc = config_walk(cfg, argc, argv, 0, err, errlen)) != CONFIG_OK)
		return rc;
	if (config_finish(cfg, err, errlen) == -1)
		return CONFIG_ERR_FILE;
	return CONFIG_OK;
}
