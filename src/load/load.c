/*
 * primed-load: a load generator for line protocols (primed, redis inline
 * commands, memcached text commands, ...). This file reads and checks the
 * command line; run.c does the rest.
 */
#include "load.h"
#include "http.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define MAX_CONNECTIONS	1000000u
#define MAX_THREADS	256u
#define MAX_PIPELINE	65536u

/* The open loop sends in ticks (sched.c): a wake-up is dear, so each
 * should send a batch, but the batch arrives at the server at once. */
#define LOAD_TICK_BATCH	20
#define LOAD_TICK_MIN	(50 * NS_PER_US)
#define LOAD_TICK_MAX	NS_PER_MS

enum {
	OPT_HOST = 256, OPT_PORT, OPT_WARMUP, OPT_TIMEOUT, OPT_REQUEST,
	OPT_EXPECT, OPT_PIPELINE, OPT_RATE, OPT_LONG, OPT_LONG_AT,
	OPT_LONG_CONNECTIONS, OPT_LONG_TIMEOUT, OPT_RAW, OPT_ONESHOT, OPT_JSON,
	OPT_CSV, OPT_FAIL_ON_ERR_REPLY, OPT_CRLF, OPT_VERSION, OPT_IDLE,
	OPT_TICK, OPT_HTTP, OPT_HTTP_POST, OPT__MAX
};

static const struct option load_longopts[] = {
	{ "host",		required_argument, NULL, OPT_HOST },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "connections",	required_argument, NULL, 'c' },
	{ "threads",		required_argument, NULL, 't' },
	{ "duration",		required_argument, NULL, 'd' },
	{ "requests",		required_argument, NULL, 'n' },
	{ "warmup",		required_argument, NULL, OPT_WARMUP },
	{ "timeout",		required_argument, NULL, OPT_TIMEOUT },
	{ "request",		required_argument, NULL, OPT_REQUEST },
	{ "expect",		required_argument, NULL, OPT_EXPECT },
	{ "pipeline",		required_argument, NULL, OPT_PIPELINE },
	{ "rate",		required_argument, NULL, OPT_RATE },
	{ "tick",		required_argument, NULL, OPT_TICK },
	{ "long",		required_argument, NULL, OPT_LONG },
	{ "long-at",		required_argument, NULL, OPT_LONG_AT },
	{ "long-connections",	required_argument, NULL, OPT_LONG_CONNECTIONS },
	{ "long-timeout",	required_argument, NULL, OPT_LONG_TIMEOUT },
	{ "raw",		no_argument,	   NULL, OPT_RAW },
	{ "oneshot",		no_argument,	   NULL, OPT_ONESHOT },
	{ "idle",		no_argument,	   NULL, OPT_IDLE },
	{ "http",		required_argument, NULL, OPT_HTTP },
	{ "http-post",		required_argument, NULL, OPT_HTTP_POST },
	{ "crlf",		no_argument,	   NULL, OPT_CRLF },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ "csv",		required_argument, NULL, OPT_CSV },
	{ "fail-on-err-reply",	no_argument,	   NULL, OPT_FAIL_ON_ERR_REPLY },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ NULL,			0,		   NULL, 0 }
};

/* Print the usage text to f. */
static void
load_usage(FILE *f)
{
	fprintf(f,
"usage: %s --port PORT [options]\n"
"Drive a line protocol server (one reply line per request) or an HTTP/1.1\n"
"server and measure it.\n"
"\n"
"  --host HOST            server address (default 127.0.0.1; ::1 works)\n"
"  --port PORT            server port (required)\n"
"  -c, --connections C    connections (default 50)\n"
"  -t, --threads T        threads, each with its own event loop (default 1)\n"
"  -d, --duration SEC     measured time, fractions allowed (default 10)\n"
"  -n, --requests N       stop after N measured requests (with -d: first of)\n"
"      --warmup SEC       run this long first, results not counted\n"
"      --timeout MS       per request and per connect (default 5000)\n"
"      --request TEXT     request line (default 'PRIME 1')\n"
"      --expect TEXT      any other reply counts as a mismatch error\n"
"                         (an error reply still counts as err_reply)\n"
"      --pipeline P       requests in flight per connection (default 1)\n"
"      --rate R           open loop: R requests/s in total, latency counted\n"
"                         from each request's intended send time\n"
"      --tick US          open loop: release requests every US microseconds\n"
"                         (0: each at its own time; default: about 20 per\n"
"                         thread and tick, 50..1000)\n"
"      --long TEXT        also send this long request on extra connections\n"
"      --long-at SEC      ... from this second of the run (default 0)\n"
"      --long-connections K  ... on K connections (default 1)\n"
"      --long-timeout MS  ... with this timeout (default none)\n"
"      --raw              no line end; each read is one reply\n"
"      --oneshot          each connection: connect, send, read until closed\n"
"      --idle             open the connections, send nothing, hold them for\n"
"                         -d SEC (or until SIGINT), then close them\n"
"      --crlf             end requests with CR LF instead of LF\n"
"      --http PATH        speak HTTP/1.1: GET PATH, keep-alive (--long is\n"
"                         then a path too)\n"
"      --http-post PATH   ... POST PATH, with the --request text as body\n"
"      --json             print the summary as one line of JSON\n"
"      --csv FILE         write the per-second rows to FILE\n"
"      --fail-on-err-reply  exit 1 on error replies too\n"
"  -q, --quiet            no per-second lines on stderr\n"
"  -h, --help             this text\n"
"      --version          print the version\n"
"\n"
"Replies starting with 'ERR ', '-ERR', 'ERROR', 'SERVER_ERROR' or\n"
"'CLIENT_ERROR', and HTTP statuses other than 2xx, count as err_reply;\n"
"with HTTP, --expect is compared with the body. Exit status: 0 all fine,\n"
"1 a request was lost, timed out, closed, malformed or mismatched, or a\n"
"connect failed, 2 usage error.\n", LOAD_NAME);
}

static void	load_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

/* Report a usage error and exit 2. */
static void
load_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", LOAD_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", LOAD_NAME);
	exit(LOAD_EXIT_USAGE);
}

/* A number of seconds (or of anything fractional) in [min, max]. */
static double
load_double(const char *opt, const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < min || v > max)
		load_die("%s: expected a number from %g to %g, got '%s'", opt,
		    min, max, arg);
	return v;
}

/* A whole number in [min, max]. */
static uint64_t
load_uint(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || arg[0] == '-' ||
	    v < min || v > max)
		load_die("%s: expected a whole number from %llu to %llu, got "
		    "'%s'", opt, (unsigned long long)min,
		    (unsigned long long)max, arg);
	return v;
}

/* --host: a name or address, IPv6 possibly in brackets. */
static void
load_host(struct load_opts *o, const char *arg)
{
	size_t len = strlen(arg);

	if (len >= 2 && arg[0] == '[' && arg[len - 1] == ']') {
		arg++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(o->host))
		load_die("--host: expected a host name or address, got '%s'",
		    arg);
	memcpy(o->host, arg, len);
	o->host[len] = '\0';
}

/* Handle one option that takes a value. */
static void
load_option(struct load_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case OPT_HOST:
		load_host(o, arg);
		break;
	case OPT_PORT:
		snprintf(o->port, sizeof(o->port), "%llu", (unsigned long long)
		    load_uint("--port", arg, 1, 65535));
		break;
	case 'c':
		o->connections = (unsigned)load_uint("--connections", arg, 1,
		    MAX_CONNECTIONS);
		break;
	case 't':
		o->threads = (unsigned)load_uint("--threads", arg, 1,
		    MAX_THREADS);
		break;
	case 'd':
		o->duration_s = load_double("--duration", arg, 0.001, 1e7);
		break;
	case 'n':
		o->requests = load_uint("--requests", arg, 1, UINT64_MAX / 2);
		break;
	case OPT_WARMUP:
		o->warmup_s = load_double("--warmup", arg, 0, 1e7);
		break;
	case OPT_TIMEOUT:
		o->timeout_ns = load_uint("--timeout", arg, 1, 86400000) *
		    NS_PER_MS;
		break;
	default:
		break;
	}
}

/* Handle the options about what is sent and how. */
static void
load_option2(struct load_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case OPT_REQUEST:
		o->request = arg;
		break;
	case OPT_HTTP:
	case OPT_HTTP_POST:
		if (o->http)
			load_die("give one of --http and --http-post, once");
		o->http = true;
		o->http_method = ch == OPT_HTTP ? "GET" : "POST";
		o->http_path = arg;
		break;
	case OPT_EXPECT:
		o->expect = arg;
		o->expect_len = strlen(arg);
		break;
	case OPT_PIPELINE:
		o->pipeline = (unsigned)load_uint("--pipeline", arg, 1,
		    MAX_PIPELINE);
		break;
	case OPT_RATE:
		o->rate = load_double("--rate", arg, 0.001, 1e9);
		break;
	case OPT_TICK:
		o->tick_ns = load_uint("--tick", arg, 0, 1000000) * NS_PER_US;
		break;
	case OPT_LONG:
		o->long_request = arg;
		break;
	case OPT_LONG_AT:
		o->long_at_s = load_double("--long-at", arg, 0, 1e7);
		break;
	case OPT_LONG_CONNECTIONS:
		o->long_connections = (unsigned)load_uint("--long-connections",
		    arg, 1, MAX_CONNECTIONS);
		break;
	case OPT_LONG_TIMEOUT:
		o->long_timeout_ns = load_uint("--long-timeout", arg, 1,
		    86400000) * NS_PER_MS;
		break;
	case OPT_CSV:
		o->csv_path = arg;
		break;
	default:
		break;
	}
}

/* p, or exit when it is NULL: out of memory. */
static void *
load_need(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "%s: out of memory\n", LOAD_NAME);
		exit(LOAD_EXIT_FAIL);
	}
	return p;
}

/* The bytes that go on the wire for request text req, and its title (the
 * request as the summary names it). */
static char *
load_wire(const struct load_opts *o, const char *what, const char *req,
    size_t *len, char **title)
{
	const char *end = o->raw ? "" : o->crlf ? "\r\n" : "\n";
	size_t n = strlen(req);
	char *line;

	if (!o->raw && strpbrk(req, "\r\n") != NULL)
		load_die("%s: the request must be one line (no CR or LF)",
		    what);
	if (o->raw && n == 0)
		load_die("%s: a raw request cannot be empty", what);
	if (n > LOAD_MAX_LINE)
		load_die("%s: longer than %d bytes", what, LOAD_MAX_LINE);
	line = load_need(malloc(n + 3));
	memcpy(line, req, n);
	memcpy(line + n, end, strlen(end) + 1);
	*len = n + strlen(end);
	*title = load_need(strdup(req));
	return line;
}

/* The bytes of an HTTP request for path (with body, if not NULL), and its
 * title, "METHOD PATH". */
static char *
load_http_wire(const struct load_opts *o, const char *method,
    const char *path, const char *body, size_t *len, char **title)
{
	size_t n = strlen(method) + strlen(path) + 2;

	*title = load_need(malloc(n));
	snprintf(*title, n, "%s %s", method, path);
	return load_need(http_request(method, o->host, o->port, path, body,
	    o->mode == MODE_ONESHOT, len));
}

/* HTTP: what goes with it, the paths, the bytes of the requests (--long
 * is a path, asked for with GET). */
static void
load_http(struct load_opts *o, const bool *seen)
{
	bool post = strcmp(o->http_method, "POST") == 0;

	if (o->raw || o->crlf)
		load_die("--http and --http-post go with neither --raw nor "
		    "--crlf");
	if (seen[OPT_REQUEST] && !post)
		load_die("--request is the body of --http-post; --http sends "
		    "none");
	if (!http_path_ok(o->http_path))
		load_die("%s: expected a path starting with '/', visible ASCII "
		    "only, at most %d bytes, got '%s'", post ? "--http-post" :
		    "--http", HTTP_MAX_PATH, o->http_path);
	if (o->long_request != NULL && !http_path_ok(o->long_request))
		load_die("--long: with HTTP, expected a path starting with "
		    "'/', visible ASCII only, got '%s'", o->long_request);
	if (post && strlen(o->request) > LOAD_MAX_LINE)
		load_die("--request: longer than %d bytes", LOAD_MAX_LINE);
	o->line = load_http_wire(o, o->http_method, o->http_path,
	    post ? o->request : NULL, &o->line_len, &o->title);
	if (o->long_request != NULL)
		o->long_line = load_http_wire(o, "GET", o->long_request, NULL,
		    &o->long_line_len, &o->long_title);
}

/* The open loop's default tick: about LOAD_TICK_BATCH requests per thread
 * and tick, within [LOAD_TICK_MIN, LOAD_TICK_MAX]. */
static uint64_t
load_tick(const struct load_opts *o)
{
	double ns = LOAD_TICK_BATCH * 1e9 * o->threads / o->rate;

	if (ns < LOAD_TICK_MIN)
		return LOAD_TICK_MIN;
	return ns > LOAD_TICK_MAX ? LOAD_TICK_MAX : (uint64_t)ns;
}

/* The options that take no value, and -d: given or not. */
static void
load_flags(struct load_opts *o, const bool *seen)
{
	o->quiet = seen['q'];
	o->raw = seen[OPT_RAW];
	o->crlf = seen[OPT_CRLF];
	o->json = seen[OPT_JSON];
	o->fail_on_err_reply = seen[OPT_FAIL_ON_ERR_REPLY];
	o->duration_set = seen['d'];
	if (seen[OPT_ONESHOT])
		o->mode = MODE_ONESHOT;
}

/* Check the options that combine badly, fill in what follows from them. */
static void
load_check(struct load_opts *o, const bool *seen)
{
	if (!seen[OPT_PORT])
		load_die("--port is required");
	if (o->raw && o->pipeline > 1)
		load_die("--raw allows one request in flight: no --pipeline");
	if (o->long_request == NULL && (seen[OPT_LONG_AT] ||
	    seen[OPT_LONG_CONNECTIONS] || seen[OPT_LONG_TIMEOUT]))
		load_die("--long-at, --long-connections and --long-timeout "
		    "need --long");
	if (o->mode == MODE_ONESHOT && (o->rate > 0 || seen[OPT_PIPELINE] ||
	    o->long_request != NULL || seen['n'] || seen[OPT_WARMUP]))
		load_die("--oneshot goes with none of --rate, --pipeline, "
		    "--long, --requests, --warmup");
	if (seen[OPT_IDLE] && (seen[OPT_ONESHOT] || o->rate > 0 ||
	    seen[OPT_PIPELINE] || o->long_request != NULL || seen['n'] ||
	    seen[OPT_WARMUP]))
		load_die("--idle goes with none of --oneshot, --rate, "
		    "--pipeline, --long, --requests, --warmup");
	if (seen[OPT_IDLE])
		o->mode = MODE_IDLE;
	if (o->mode != MODE_ONESHOT && o->rate > 0)
		o->mode = MODE_OPEN;
	if (seen[OPT_TICK] && o->mode != MODE_OPEN)
		load_die("--tick goes with --rate");
	if (o->threads > o->connections)
		o->threads = o->connections;
	if (o->mode == MODE_OPEN && !seen[OPT_TICK])
		o->tick_ns = load_tick(o);
	if (o->http) {
		load_http(o, seen);
		return;
	}
	o->line = load_wire(o, "--request", o->request, &o->line_len,
	    &o->title);
	if (o->long_request != NULL)
		o->long_line = load_wire(o, "--long", o->long_request,
		    &o->long_line_len, &o->long_title);
}

/* Parse argv into o; exits on --help, --version and usage errors. */
static void
load_parse(struct load_opts *o, int argc, char **argv)
{
	bool seen[OPT__MAX] = { false };
	int ch;

	while ((ch = getopt_long(argc, argv, "c:t:d:n:qh", load_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			load_usage(stdout);
			exit(LOAD_EXIT_OK);
		case OPT_VERSION:
			printf("%s %s\n", LOAD_NAME, LOAD_VERSION);
			exit(LOAD_EXIT_OK);
		case '?':
			fprintf(stderr, "Try '%s --help'.\n", LOAD_NAME);
			exit(LOAD_EXIT_USAGE);
		default:
			seen[ch] = true;
			load_option(o, ch, optarg);
			load_option2(o, ch, optarg);
			break;
		}
	}
	if (optind < argc)
		load_die("unexpected argument '%s'", argv[optind]);
	load_flags(o, seen);
	load_check(o, seen);
}

/* The defaults, before the command line. */
static void
load_defaults(struct load_opts *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->host, "127.0.0.1");
	o->connections = 50;
	o->threads = 1;
	o->pipeline = 1;
	o->duration_s = 10;
	o->timeout_ns = 5000 * NS_PER_MS;
	o->request = "PRIME 1";
	o->long_connections = 1;
	o->mode = MODE_CLOSED;
}

/* Parse the command line, run, exit with the run's status. */
int
main(int argc, char **argv)
{
	struct load_opts o;
	int status;

	load_defaults(&o);
	load_parse(&o, argc, argv);
	status = run_main(&o);
	free(o.line);
	free(o.long_line);
	free(o.title);
	free(o.long_title);
	libevent_global_shutdown();
	return status;
}
