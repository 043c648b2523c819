/*
 * What primed-load prints: one line per second on stderr, the same rows in
 * an optional CSV file, and the summary on stdout (human, or one line of
 * JSON with --json). Only the main thread calls these.
 */
#include "load.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct report {
	const struct load_opts	*o;
	FILE			*csv;
};

/* The names of the error kinds, as printed. */
static const char *const report_err_names[] = {
#define LOAD_ERR_NAME(e, s)	s,
	LOAD_ERRORS(LOAD_ERR_NAME)
#undef LOAD_ERR_NAME
};

/* Open the CSV file, if any, and write its header; NULL on failure. */
struct report *
report_open(const struct load_opts *o)
{
	struct report *rep;

	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return NULL;
	rep->o = o;
	if (o->csv_path == NULL)
		return rep;
	if ((rep->csv = fopen(o->csv_path, "w")) == NULL) {
		fprintf(stderr, "%s: --csv %s: %s\n", LOAD_NAME, o->csv_path,
		    strerror(errno));
		free(rep);
		return NULL;
	}
	fprintf(rep->csv, "t,completed,errors,rps,p50_us,p99_us,"
	    "long_completed\n");
	fflush(rep->csv);
	return rep;
}

/* Close the CSV file (NULL is fine). */
void
report_close(struct report *rep)
{
	if (rep == NULL)
		return;
	if (rep->csv != NULL && fclose(rep->csv) == EOF)
		fprintf(stderr, "%s: --csv %s: %s\n", LOAD_NAME,
		    rep->o->csv_path, strerror(errno));
	free(rep);
}

/* A latency for a per-second line: "-" when nothing completed. */
static const char *
report_us(char *buf, size_t len, const struct second *s, uint64_t v,
    const char *none)
{
	if (s->completed == 0)
		return none;
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* Print one second to stderr and to the CSV file. */
void
report_second(struct report *rep, const struct second *s)
{
	const struct load_opts *o = rep->o;
	char a[24], b[24], lng[40] = "";

	if (o->long_request != NULL)
		snprintf(lng, sizeof(lng), " long=%llu",
		    (unsigned long long)s->long_completed);
	if (!o->quiet)
		fprintf(stderr, "t=%llu completed=%llu errors=%llu p50=%s "
		    "p99=%s%s%s\n", (unsigned long long)s->sec + 1,
		    (unsigned long long)s->completed,
		    (unsigned long long)s->errors,
		    report_us(a, sizeof(a), s, s->p50_us, "-"),
		    report_us(b, sizeof(b), s, s->p99_us, "-"), lng,
		    s->warmup ? " warmup" : "");
	if (rep->csv == NULL)
		return;
	fprintf(rep->csv, "%llu,%llu,%llu,%llu,%s,%s,%llu\n",
	    (unsigned long long)s->sec + 1, (unsigned long long)s->completed,
	    (unsigned long long)s->errors, (unsigned long long)s->completed,
	    report_us(a, sizeof(a), s, s->p50_us, ""),
	    report_us(b, sizeof(b), s, s->p99_us, ""),
	    (unsigned long long)s->long_completed);
	fflush(rep->csv);
}

/* Write s as a JSON string. */
static void
report_json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/*
 * Write the counts of v[0..n) that are not zero, each with its name (or,
 * names NULL, its HTTP status code): "a 1, b 2" for a human, "a":1,"b":2
 * for JSON. False when there was none.
 */
static bool
report_counts(FILE *f, const uint64_t *v, int n, const char *const *names,
    bool json)
{
	const char *sep = "";
	int i;

	for (i = 0; i < n; i++) {
		if (v[i] == 0)
			continue;
		if (names != NULL)
			fprintf(f, json ? "%s\"%s\":%llu" : "%s%s %llu", sep,
			    names[i], (unsigned long long)v[i]);
		else
			fprintf(f, json ? "%s\"%d\":%llu" : "%s%d %llu", sep,
			    i + LOAD_STATUS_MIN, (unsigned long long)v[i]);
		sep = json ? "," : ", ";
	}
	return *sep != '\0';
}

/* Write ,"key":{...} with the counts of v by name ({} when none). */
static void
report_json_counts(FILE *f, const char *key, const uint64_t *v, int n,
    const char *const *names)
{
	fprintf(f, ",\"%s\":{", key);
	report_counts(f, v, n, names, true);
	fputc('}', f);
}

/* Write the latency figures of h (null values when empty). */
static void
report_json_latency(FILE *f, const struct hist *h)
{
	static const struct { const char *name; double p; } pct[] = {
		{ "p50", 50.0 }, { "p90", 90.0 }, { "p99", 99.0 },
		{ "p999", 99.9 }
	};
	size_t i;

	if (hist_count(h) == 0) {
		fputs("{\"p50\":null,\"p90\":null,\"p99\":null,\"p999\":null,"
		    "\"max\":null,\"mean\":null,\"min\":null}", f);
		return;
	}
	fputc('{', f);
	for (i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
		fprintf(f, "\"%s\":%llu,", pct[i].name,
		    (unsigned long long)hist_percentile(h, pct[i].p));
	fprintf(f, "\"max\":%llu,\"mean\":%.1f,\"min\":%llu}",
	    (unsigned long long)hist_max(h), hist_mean(h),
	    (unsigned long long)hist_min(h));
}

/* The ways requests are sent, by mode: for JSON, for a human. */
static const char *const report_modes[][2] = {
	[MODE_CLOSED] = { "closed", "closed loop" },
	[MODE_OPEN] = { "open", "open loop" },
	[MODE_ONESHOT] = { "oneshot", "one shot" },
	[MODE_IDLE] = { "idle", "idle" }
};

/* Name of the protocol spoken. */
static const char *
report_protocol(const struct load_opts *o)
{
	if (o->http)
		return "http";
	return o->raw ? "raw" : "line";
}

/* The JSON fields describing the run's settings. */
static void
report_json_settings(FILE *f, const struct summary *sum)
{
	const struct load_opts *o = sum->opts;

	fputs("\"host\":", f);
	report_json_str(f, o->host);
	fprintf(f, ",\"port\":%s,\"request\":", o->port);
	report_json_str(f, o->title);
	if (o->http && strcmp(o->http_method, "POST") == 0) {
		fputs(",\"body\":", f);
		report_json_str(f, o->request);
	}
	fprintf(f, ",\"mode\":\"%s\",\"protocol\":\"%s\",\"raw\":%s,"
	    "\"connections\":%u,"
	    "\"threads\":%u,\"pipeline\":%u,\"rate\":%g,\"warmup_s\":%g,"
	    "\"timeout_ms\":%llu,\"tick_us\":%llu", report_modes[o->mode][0],
	    report_protocol(o), o->raw ? "true" : "false", o->connections,
	    sum->threads, o->pipeline, o->rate, o->warmup_s,
	    (unsigned long long)(o->timeout_ns / NS_PER_MS),
	    (unsigned long long)(o->tick_ns / NS_PER_US));
}

/* Replies of every class: what the run's CPU time was spent on. */
static uint64_t
report_replies(const struct stats *st)
{
	return st->main.completed + st->warm.completed + st->lng.completed;
}

/* The JSON fields of primed-load's own CPU time. */
static void
report_json_cpu(FILE *f, const struct summary *sum)
{
	uint64_t n = report_replies(sum->st);

	fprintf(f, ",\"cpu_s\":%.3f,\"cpu_us_per_request\":", sum->cpu_s);
	if (n == 0)
		fputs("null", f);
	else
		fprintf(f, "%.2f", sum->cpu_s * 1e6 / (double)n);
}

/* The JSON fields of the long requests. */
static void
report_json_long(FILE *f, const struct summary *sum)
{
	const struct stats *st = sum->st;

	fputs(",\"long_request\":", f);
	report_json_str(f, sum->opts->long_title);
	fprintf(f, ",\"long_connections\":%u,\"long_completed\":%llu,"
	    "\"long_sent\":%llu,\"long_lost\":%llu,\"long_abandoned\":%llu",
	    sum->opts->long_connections,
	    (unsigned long long)st->lng.completed,
	    (unsigned long long)st->lng.sent, (unsigned long long)st->lng.lost,
	    (unsigned long long)st->long_abandoned);
	report_json_counts(f, "long_errors", st->lng.errors, LERR__MAX,
	    report_err_names);
	fputs(",\"long_latency_us\":", f);
	report_json_latency(f, st->long_lat);
	if (sum->opts->http)
		report_json_counts(f, "long_http_status", st->long_http_status,
		    LOAD_STATUSES, NULL);
}

/* The summary as one line of JSON on stdout. */
static void
report_json(const struct summary *sum)
{
	const struct stats *st = sum->st;
	const struct tally *t = &st->main;
	FILE *f = stdout;

	fprintf(f, "{\"completed\":%llu,\"ok\":%llu,\"sent\":%llu,"
	    "\"lost\":%llu,\"retried\":%llu",
	    (unsigned long long)t->completed, (unsigned long long)t->ok,
	    (unsigned long long)t->sent, (unsigned long long)t->lost,
	    (unsigned long long)t->retried);
	report_json_counts(f, "errors", t->errors, LERR__MAX, report_err_names);
	fprintf(f, ",\"errors_total\":%llu,\"duration_s\":%.3f,\"rps\":%.1f,"
	    "\"latency_us\":", (unsigned long long)tally_errors(t),
	    sum->duration_s, sum->duration_s > 0 ?
	    (double)t->completed / sum->duration_s : 0.0);
	report_json_latency(f, st->lat);
	if (sum->opts->http)
		report_json_counts(f, "http_status", st->http_status,
		    LOAD_STATUSES, NULL);
	fputc(',', f);
	report_json_settings(f, sum);
	if (sum->opts->mode == MODE_ONESHOT)
		fprintf(f, ",\"wall_s\":%.3f", sum->duration_s);
	if (sum->opts->mode == MODE_IDLE)
		fprintf(f, ",\"connected\":%llu",
		    (unsigned long long)st->connected);
	if (sum->opts->warmup_s > 0)
		fprintf(f, ",\"warmup\":{\"completed\":%llu,\"errors\":%llu}",
		    (unsigned long long)st->warm.completed,
		    (unsigned long long)tally_errors(&st->warm));
	if (sum->opts->long_request != NULL)
		report_json_long(f, sum);
	if (st->connect_errno != 0) {
		fputs(",\"connect_error\":", f);
		report_json_str(f, strerror(st->connect_errno));
	}
	report_json_cpu(f, sum);
	fprintf(f, ",\"interrupted\":%s,\"stalled\":%s,"
	    "\"version\":\"%s\"}\n",
	    sum->interrupted ? "true" : "false",
	    sum->watchdog ? "true" : "false", LOAD_VERSION);
}

/* "p50 123 us  p90 ..." for a human. */
static void
report_human_latency(FILE *f, const char *label, const struct hist *h)
{
	if (hist_count(h) == 0) {
		fprintf(f, "  %-11s -\n", label);
		return;
	}
	fprintf(f, "  %-11s p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  "
	    "max %llu  mean %.1f  (us)\n", label,
	    (unsigned long long)hist_percentile(h, 50.0),
	    (unsigned long long)hist_percentile(h, 90.0),
	    (unsigned long long)hist_percentile(h, 99.0),
	    (unsigned long long)hist_percentile(h, 99.9),
	    (unsigned long long)hist_max(h), hist_mean(h));
}

/* "  label       timeout 3, closed 2", or "none" when all are zero. */
static void
report_human_counts(FILE *f, const char *label, const uint64_t *v, int n,
    const char *const *names)
{
	fprintf(f, "  %-11s ", label);
	if (!report_counts(f, v, n, names, false))
		fputs("none", f);
}

/* The errors by kind, and why the last connect failed. */
static void
report_human_errors(FILE *f, const char *label, const struct tally *t,
    int connect_errno)
{
	report_human_counts(f, label, t->errors, LERR__MAX, report_err_names);
	if (t->errors[LERR_CONNECT] != 0 && connect_errno != 0)
		fprintf(f, " (last: %s)", strerror(connect_errno));
	fputc('\n', f);
}

/* The HTTP statuses by code: "200 1234, 503 5". */
static void
report_human_status(FILE *f, const char *label, const uint64_t *byc)
{
	report_human_counts(f, label, byc, LOAD_STATUSES, NULL);
	fputc('\n', f);
}

/* The run's settings in one line. */
static void
report_human_head(FILE *f, const struct summary *sum)
{
	const struct load_opts *o = sum->opts;
	char rate[56] = "";

	if (o->mode == MODE_OPEN)
		snprintf(rate, sizeof(rate), " at %g req/s, tick %llu us",
		    o->rate, (unsigned long long)(o->tick_ns / NS_PER_US));
	fprintf(f, "%s %s port %s, request \"%s\"%s: %s%s, %u connections, "
	    "%u thread%s, pipeline %u%s\n", LOAD_NAME, o->host, o->port,
	    o->title, o->http ? " (HTTP/1.1)" : o->raw ? " (raw)" : "",
	    report_modes[o->mode][1], rate, o->connections, sum->threads,
	    sum->threads == 1 ? "" : "s", o->pipeline,
	    sum->interrupted ? " (interrupted)" : sum->watchdog ?
	    " (stopped: no reply)" : "");
}

/* The long requests, for a human. */
static void
report_human_long(FILE *f, const struct summary *sum)
{
	const struct stats *st = sum->st;

	fprintf(f, "  %-11s \"%s\" on %u connection%s: %llu completed, "
	    "%llu sent, %llu lost, %llu cut by the end\n", "long",
	    sum->opts->long_title, sum->opts->long_connections,
	    sum->opts->long_connections == 1 ? "" : "s",
	    (unsigned long long)st->lng.completed,
	    (unsigned long long)st->lng.sent, (unsigned long long)st->lng.lost,
	    (unsigned long long)st->long_abandoned);
	report_human_latency(f, "long lat.", st->long_lat);
	report_human_errors(f, "long errors", &st->lng, 0);
	if (sum->opts->http)
		report_human_status(f, "long status", st->long_http_status);
}

/* primed-load's own CPU time, for a human. */
static void
report_human_cpu(FILE *f, const struct summary *sum)
{
	uint64_t n = report_replies(sum->st);

	fprintf(f, "  %-11s %.3f s user+system", "cpu", sum->cpu_s);
	if (n > 0)
		fprintf(f, ", %.1f us per request", sum->cpu_s * 1e6 /
		    (double)n);
	fputc('\n', f);
}

/* The summary for a human, on stdout. */
static void
report_human(const struct summary *sum)
{
	const struct stats *st = sum->st;
	const struct tally *t = &st->main;
	FILE *f = stdout;

	report_human_head(f, sum);
	if (sum->opts->mode == MODE_IDLE) {
		fprintf(f, "  %-11s %llu of %u, held %.3f s\n", "connected",
		    (unsigned long long)st->connected, sum->opts->connections,
		    sum->duration_s);
		report_human_errors(f, "errors", t, st->connect_errno);
		report_human_cpu(f, sum);
		return;
	}
	if (sum->opts->mode == MODE_ONESHOT)
		fprintf(f, "  %-11s %.3f s for all connections\n", "wall time",
		    sum->duration_s);
	else
		fprintf(f, "  %-11s %.3f s measured%s\n", "duration",
		    sum->duration_s, sum->opts->warmup_s > 0 ?
		    " (after the warmup)" : "");
	fprintf(f, "  %-11s %llu completed (%llu ok), %llu sent, %llu lost, "
	    "%llu retried\n", "requests", (unsigned long long)t->completed,
	    (unsigned long long)t->ok, (unsigned long long)t->sent,
	    (unsigned long long)t->lost, (unsigned long long)t->retried);
	fprintf(f, "  %-11s %.1f req/s\n", "throughput", sum->duration_s > 0 ?
	    (double)t->completed / sum->duration_s : 0.0);
	report_human_latency(f, "latency", st->lat);
	report_human_errors(f, "errors", t, st->connect_errno);
	if (sum->opts->http)
		report_human_status(f, "status", st->http_status);
	if (sum->opts->warmup_s > 0)
		fprintf(f, "  %-11s %llu completed, %llu errors "
		    "(not counted)\n", "warmup",
		    (unsigned long long)st->warm.completed,
		    (unsigned long long)tally_errors(&st->warm));
	if (sum->opts->long_request != NULL)
		report_human_long(f, sum);
	report_human_cpu(f, sum);
}

/* Print the summary, human or JSON. */
void
report_summary(const struct summary *sum)
{
	if (sum->opts->json)
		report_json(sum);
	else
		report_human(sum);
	fflush(stdout);
}
