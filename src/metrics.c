/*
 * metrics.c: the server's counters in Prometheus's text exposition format
 * (version 0.0.4), for GET /metrics.
 *
 * Everything comes from the shared stats region, summed over every worker
 * the way STATS does, so the numbers are the server's own view whichever
 * worker answers; the few gauges where one worker's value helps (open
 * connections, jobs) are also given per live worker, labelled with its
 * place in the worker table and its pid (two generations overlap during a
 * reload), with how long its loop has been silent and its oldest job
 * has run. Names follow Prometheus's conventions: base units (seconds,
 * bytes), counters end in _total.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "primed.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif

/* The commands each service counts, for primed_requests_total. */
static const unsigned svc_cmds[SVC_COUNT] = {
	[SVC_PRIME] = (1u << CMD_COUNT) - 1,
	[SVC_UPPER] = (1u << CMD_UPPER) | (1u << CMD_OTHER),
	[SVC_ECHO] = 1u << CMD_OTHER,
	[SVC_HTTP] = (1u << CMD_PRIME) | (1u << CMD_UPPER) |
	    (1u << CMD_ECHO) | (1u << CMD_PING) | (1u << CMD_STATS) |
	    (1u << CMD_OTHER),
};

/* "# HELP" and "# TYPE" lines of one metric. */
static void
metrics_head(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A metric with no labels. */
static void
metrics_one(struct evbuffer *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	metrics_head(out, name, type, help);
	evbuffer_add_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

/* The server as a whole: build, uptime, processes. */
static void
metrics_server(struct evbuffer *out, const struct stats_sum *s,
    const struct config *cfg)
{
	static const char *kernels[] = { "sieve", "trial", "count" };

	metrics_head(out, "primed_build_info", "gauge",
	    "Version of primed and the kernel it runs, as labels.");
	evbuffer_add_printf(out, "primed_build_info{version=\"%s\","
	    "kernel=\"%s\"} 1\n", PACKAGE_VERSION,
	    (size_t)cfg->kernel < sizeof(kernels) / sizeof(kernels[0]) ?
	    kernels[cfg->kernel] : "other");
	metrics_one(out, "primed_uptime_seconds", "gauge",
	    "Seconds since the server started.", s->uptime_s);
	metrics_one(out, "primed_workers", "gauge",
	    "Worker processes alive.", s->workers);
	metrics_one(out, "primed_worker_respawns_total", "counter",
	    "Workers that died and were replaced.", s->respawns);
	metrics_one(out, "primed_reloads_total", "counter",
	    "Reloads that completed.", s->reloads);
	metrics_one(out, "primed_queue_limit", "gauge",
	    "Jobs a worker's compute queue holds (--queue-limit).",
	    (uint64_t)cfg->queue_limit);
	metrics_one(out, "primed_max_connections", "gauge",
	    "Connections a worker takes (--max-connections).",
	    (uint64_t)cfg->max_connections);
}

/* Requests by service and command, errors by code, HTTP statuses. */
static void
metrics_requests(struct evbuffer *out, const struct stats_sum *s)
{
	int	i, j;

	metrics_head(out, "primed_requests_total", "counter",
	    "Requests received, by service and command.");
	for (i = 0; i < SVC_COUNT; i++)
		for (j = 0; j < CMD_COUNT; j++)
			if (svc_cmds[i] & (1u << j))
				evbuffer_add_printf(out, "primed_requests_total"
				    "{service=\"%s\",command=\"%s\"} %llu\n",
				    config_service_name(i), proto_cmd_name(j),
				    (unsigned long long)s->req[i][j]);
	metrics_head(out, "primed_errors_total", "counter",
	    "Error replies, by code.");
	for (i = 0; i < ERR_COUNT; i++)
		evbuffer_add_printf(out, "primed_errors_total{code=\"%s\"} "
		    "%llu\n", proto_err_name(i), (unsigned long long)s->err[i]);
	metrics_head(out, "primed_http_responses_total", "counter",
	    "HTTP responses, by status code.");
	for (i = 0; i < HTTP_NCODES; i++)
		evbuffer_add_printf(out, "primed_http_responses_total"
		    "{code=\"%s\"} %llu\n", stats_http_name(i),
		    (unsigned long long)s->http[i]);
}

/* Connections, bytes and jobs, summed. */
static void
metrics_counters(struct evbuffer *out, const struct stats_sum *s)
{
	const uint64_t	*c = s->c;

	metrics_one(out, "primed_connections_open", "gauge",
	    "Connections open now.", c[STAT_connections_open]);
	metrics_one(out, "primed_connections_accepted_total", "counter",
	    "Connections accepted.", c[STAT_connections_total]);
	metrics_one(out, "primed_connections_rejected_total", "counter",
	    "Connections refused at the limit or during a stop.",
	    c[STAT_connections_rejected]);
	metrics_one(out, "primed_connections_waiting", "gauge",
	    "Connections waiting for a turn at their buffered requests.",
	    c[STAT_connections_waiting]);
	metrics_one(out, "primed_reply_bytes", "gauge",
	    "Bytes of replies held for clients.", c[STAT_reply_bytes]);
	metrics_one(out, "primed_input_bytes", "gauge",
	    "Bytes of requests read and not yet taken.", c[STAT_input_bytes]);
	metrics_one(out, "primed_received_bytes_total", "counter",
	    "Bytes received from clients.", c[STAT_bytes_in]);
	metrics_one(out, "primed_sent_bytes_total", "counter",
	    "Bytes of replies sent to clients.", c[STAT_bytes_out]);
	metrics_one(out, "primed_jobs_queued", "gauge",
	    "Compute jobs waiting for a pool thread.", c[STAT_jobs_queued]);
	metrics_one(out, "primed_jobs_running", "gauge",
	    "Compute jobs a pool thread is running.", c[STAT_jobs_running]);
	metrics_one(out, "primed_jobs_done_total", "counter",
	    "Compute jobs finished.", c[STAT_jobs_done]);
	metrics_one(out, "primed_jobs_cancelled_total", "counter",
	    "Compute jobs cancelled (client gone, or timed out).",
	    c[STAT_jobs_cancelled]);
	metrics_one(out, "primed_jobs_timed_out_total", "counter",
	    "Requests answered ERR timeout (job-timeout).",
	    s->err[ERR_TIMEOUT]);
}

/* The gauges given per live worker, from struct stats_worker. */
static const struct {
	const char	*name;
	const char	*help;
	size_t		 off;		/* of a uint64_t in stats_worker */
	int		 ms;		/* in ms: given in seconds */
} worker_gauges[] = {
	{ "primed_worker_connections_open",
	  "Connections open now, per worker.",
	  offsetof(struct stats_worker, connections_open), 0 },
	{ "primed_worker_jobs_queued",
	  "Compute jobs waiting, per worker.",
	  offsetof(struct stats_worker, jobs_queued), 0 },
	{ "primed_worker_jobs_running",
	  "Compute jobs running, per worker.",
	  offsetof(struct stats_worker, jobs_running), 0 },
	{ "primed_worker_oldest_job_seconds",
	  "How long the job longest on a pool thread has run there (0: none).",
	  offsetof(struct stats_worker, job_ms), 1 },
	{ "primed_worker_loop_silent_seconds",
	  "Time since the worker's event loop last ran its sweep (4 a second); "
	  "it grows while the loop is stuck, as under --compute inline.",
	  offsetof(struct stats_worker, silent_ms), 1 },
};

/* Each per-worker gauge, one line per live worker. */
static void
metrics_per_worker(struct evbuffer *out, const struct stats *st)
{
	struct stats_worker	 w;
	uint64_t		 now_ms = stats_now_us() / 1000, v;
	size_t			 g;
	int			 i;

	for (g = 0; g < sizeof(worker_gauges) / sizeof(worker_gauges[0]);
	    g++) {
		metrics_head(out, worker_gauges[g].name, "gauge",
		    worker_gauges[g].help);
		for (i = 0; i < STATS_SLOTS; i++) {
			if (!stats_worker(st, i, now_ms, &w))
				continue;
			memcpy(&v, (const char *)&w + worker_gauges[g].off,
			    sizeof(v));
			evbuffer_add_printf(out, "%s{worker=\"%d\",pid=\"%ld\"} ",
			    worker_gauges[g].name, w.worker, w.pid);
			if (worker_gauges[g].ms)
				evbuffer_add_printf(out, "%.3f\n", v / 1e3);
			else
				evbuffer_add_printf(out, "%llu\n",
				    (unsigned long long)v);
		}
	}
}

/* The latency histogram of every command. */
static void
metrics_latency(struct evbuffer *out, const struct stats_sum *s)
{
	const char	*name = "primed_request_duration_seconds";
	uint64_t	 cum;
	int		 i, b;

	metrics_head(out, name, "histogram", "Time from a request's arrival "
	    "to its reply being ready, by command.");
	for (i = 0; i < CMD_COUNT; i++) {
		cum = 0;
		for (b = 0; b < HIST_BUCKETS - 1; b++) {
			cum += s->hist[i][b];
			evbuffer_add_printf(out, "%s_bucket{command=\"%s\","
			    "le=\"%g\"} %llu\n", name, proto_cmd_name(i),
			    (double)stats_bound_us(b) / 1e6,
			    (unsigned long long)cum);
		}
		cum += s->hist[i][b];
		evbuffer_add_printf(out, "%s_bucket{command=\"%s\","
		    "le=\"+Inf\"} %llu\n", name, proto_cmd_name(i),
		    (unsigned long long)cum);
		evbuffer_add_printf(out, "%s_sum{command=\"%s\"} %.6f\n"
		    "%s_count{command=\"%s\"} %llu\n", name, proto_cmd_name(i),
		    (double)s->hist_us[i] / 1e6, name, proto_cmd_name(i),
		    (unsigned long long)cum);
	}
}

/* Append the whole exposition to out; -1 when out of memory. */
int
metrics_format(struct evbuffer *out, const struct stats *st,
    const struct config *cfg)
{
	struct stats_sum	sum;

	stats_sum(st, &sum);
	metrics_server(out, &sum, cfg);
	metrics_requests(out, &sum);
	metrics_counters(out, &sum);
	metrics_per_worker(out, st);
	metrics_latency(out, &sum);
	return evbuffer_get_length(out) > 0 ? 0 : -1;
}
