/*
 * stats.c: counters shared by every process of the server.
 *
 * The master maps one anonymous shared region before it forks; each worker
 * owns one cache-line-aligned slot and adds to it with relaxed atomics (pool
 * threads add to the same slot, so plain increments would race). Anyone
 * reads the sum without locks. Counters are cumulative and survive their
 * worker; gauges (open connections, queued and running jobs) are zeroed by
 * the master when the worker that owned them is gone.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/mman.h>

#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "primed.h"

/* Map the shared region; NULL on failure. */
struct stats *
stats_create(void)
{
	struct stats	*st;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return NULL;
	st->start_sec = stats_now_us() / 1000000;
	st->start_unix = (int64_t)time(NULL);
	st->master_pid = (int64_t)getpid();
	return st;
}

/* Unmap the region. */
void
stats_destroy(struct stats *st)
{
	if (st != NULL)
		munmap(st, sizeof(*st));
}

/* Latency bucket bounds in microseconds, in order. */
static const uint64_t bounds_us[HIST_BUCKETS - 1] = {
#define X(b) b,
	STATS_BOUNDS(X)
#undef X
};

/* HTTP statuses counted apart, in order, and their labels. */
static const int http_codes[HTTP_NCODES - 1] = {
#define X(c) c,
	HTTP_CODES(X)
#undef X
};
static const char *http_names[HTTP_NCODES] = {
#define X(c) #c,
	HTTP_CODES(X)
#undef X
	"other"
};

/* Slot i, marked as one that counts (stats_sum skips the others). */
struct stats_slot *
stats_slot_use(struct stats *st, int i)
{
	atomic_store_explicit(&st->slot[i].used, 1, memory_order_relaxed);
	return &st->slot[i];
}

/* Microseconds on the monotonic clock. */
uint64_t
stats_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The upper bound of latency bucket i in microseconds (0: +Inf). */
uint64_t
stats_bound_us(int i)
{
	return i >= 0 && i < HIST_BUCKETS - 1 ? bounds_us[i] : 0;
}

/* The label of the HTTP status counted at index i ("other" for the last). */
const char *
stats_http_name(int i)
{
	return http_names[i];
}

/* Count one request of command cmd answered us microseconds after it came. */
void
stats_observe(struct stats_slot *s, enum cmd cmd, uint64_t us)
{
	int	b = 0;

	if (cmd < 0 || cmd >= CMD_COUNT)
		return;
	while (b < HIST_BUCKETS - 1 && us > bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&s->hist[cmd][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->hist_us[cmd], us, memory_order_relaxed);
}

/* Count one HTTP response of status code. */
void
stats_http(struct stats_slot *s, int code)
{
	int	i = 0;

	while (i < HTTP_NCODES - 1 && http_codes[i] != code)
		i++;
	atomic_fetch_add_explicit(&s->http[i], 1, memory_order_relaxed);
}

/* Add n relaxed atomic counters at from into to. */
static void
sum_into(uint64_t *to, const _Atomic uint64_t *from, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		to[i] += atomic_load_explicit(&from[i], memory_order_relaxed);
}

/* Add every slot into sum. */
void
stats_sum(const struct stats *st, struct stats_sum *sum)
{
	const struct stats_slot	*s;
	int			 i, j, k;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < STATS_SLOTS; i++) {
		s = &st->slot[i];
		/* Most of the slots never had a worker: skip their zeros. */
		if (!atomic_load_explicit(&s->used, memory_order_relaxed))
			continue;
		sum_into(sum->c, s->c, STAT_COUNT);
		for (j = 0; j < SVC_COUNT; j++)
			sum_into(sum->req[j], s->req[j], CMD_COUNT);
		sum_into(sum->err, s->err, ERR_COUNT);
		for (j = 0; j < CMD_COUNT; j++)
			sum_into(sum->hist[j], s->hist[j], HIST_BUCKETS);
		sum_into(sum->hist_us, s->hist_us, CMD_COUNT);
		sum_into(sum->http, s->http, HTTP_NCODES);
	}
	for (j = 0; j < SVC_COUNT; j++)
		for (k = 0; k < CMD_COUNT; k++)
			sum->cmd[k] += sum->req[j][k];
	sum->workers = atomic_load_explicit(&st->workers,
	    memory_order_relaxed);
	sum->respawns = atomic_load_explicit(&st->respawns,
	    memory_order_relaxed);
	sum->reloads = atomic_load_explicit(&st->reloads,
	    memory_order_relaxed);
	sum->uptime_s = stats_now_us() / 1000000 - st->start_sec;
}

/* Zero the gauges of a slot whose worker is gone. */
void
stats_reset_gauges(struct stats *st, int slot)
{
	struct stats_slot	*s = &st->slot[slot];

	atomic_store(&s->pid, 0);
	atomic_store(&s->c[STAT_connections_open], 0);
	atomic_store(&s->c[STAT_connections_waiting], 0);
	atomic_store(&s->c[STAT_reply_bytes], 0);
	atomic_store(&s->c[STAT_input_bytes], 0);
	atomic_store(&s->c[STAT_jobs_queued], 0);
	atomic_store(&s->c[STAT_jobs_running], 0);
	atomic_store(&s->beat_ms, 0);
	atomic_store(&s->job_since_ms, 0);
}

/* Append the sum as one line of JSON (with its "\n"). */
int
stats_json(struct evbuffer *out, const struct stats_sum *sum)
{
	static const char *names[STAT_COUNT] = {
#define X(c) #c,
		STATS_COUNTERS(X)
#undef X
	};
	int	i;

	evbuffer_add_printf(out, "{\"workers\":%llu,\"uptime_s\":%llu",
	    (unsigned long long)sum->workers,
	    (unsigned long long)sum->uptime_s);
	if (sum->pid > 0)
		evbuffer_add_printf(out, ",\"worker\":%d,\"pid\":%ld",
		    sum->worker, sum->pid);
	for (i = 0; i < STAT_COUNT; i++)
		evbuffer_add_printf(out, ",\"%s\":%llu", names[i],
		    (unsigned long long)sum->c[i]);
	evbuffer_add_printf(out, ",\"commands\":{");
	for (i = 0; i < CMD_COUNT; i++)
		evbuffer_add_printf(out, "%s\"%s\":%llu", i ? "," : "",
		    proto_cmd_name(i), (unsigned long long)sum->cmd[i]);
	evbuffer_add_printf(out, "},\"errors\":{");
	for (i = 0; i < ERR_COUNT; i++)
		evbuffer_add_printf(out, "%s\"%s\":%llu", i ? "," : "",
		    proto_err_name(i), (unsigned long long)sum->err[i]);
	evbuffer_add_printf(out, "},\"http\":{");
	for (i = 0; i < HTTP_NCODES; i++)
		evbuffer_add_printf(out, "%s\"%s\":%llu", i ? "," : "",
		    http_names[i], (unsigned long long)sum->http[i]);
	evbuffer_add_printf(out, "},\"respawns\":%llu,\"reloads\":%llu",
	    (unsigned long long)sum->respawns,
	    (unsigned long long)sum->reloads);
	return evbuffer_add_printf(out, "}\n") < 0 ? -1 : 0;
}

/*
 * The sweep of a worker's loop ran (four times a second, unless the loop
 * is stuck): note when, and since when its oldest running job has run
 * (job_ns, 0: none). Readers tell a stalled loop by the beat's age.
 */
void
stats_beat(struct stats_slot *s, uint64_t job_ns)
{
	uint64_t	now_ms = stats_now_us() / 1000;
	uint64_t	since = job_ns > 0 ? now_ms - job_ns / 1000000 : 0;

	atomic_store_explicit(&s->beat_ms, now_ms, memory_order_relaxed);
	atomic_store_explicit(&s->job_since_ms, since, memory_order_relaxed);
}

/* now - then in ms, or 0 when then is unset or not before now. */
static uint64_t
stats_age(uint64_t now_ms, uint64_t then)
{
	return then > 0 && now_ms > then ? now_ms - then : 0;
}

/* The worker of slot i as of now_ms, into w; 0 when no worker has it. */
int
stats_worker(const struct stats *st, int i, uint64_t now_ms,
    struct stats_worker *w)
{
	const struct stats_slot	*s = &st->slot[i];

	memset(w, 0, sizeof(*w));
	if ((w->pid = (long)atomic_load_explicit(&s->pid,
	    memory_order_relaxed)) == 0)
		return 0;
	w->worker = atomic_load_explicit(&s->worker, memory_order_relaxed);
#define GET(k) atomic_load_explicit(&s->c[STAT_##k], memory_order_relaxed)
	w->requests = GET(requests);
	w->connections_open = GET(connections_open);
	w->jobs_queued = GET(jobs_queued);
	w->jobs_running = GET(jobs_running);
#undef GET
	if (w->jobs_running > 0)
		w->job_ms = stats_age(now_ms, atomic_load_explicit(
		    &s->job_since_ms, memory_order_relaxed));
	w->silent_ms = stats_age(now_ms, atomic_load_explicit(&s->beat_ms,
	    memory_order_relaxed));
	return 1;
}

/* n numbers as a JSON array. */
static void
stats_json_array(struct evbuffer *out, const uint64_t *v, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		evbuffer_add_printf(out, "%c%llu", i ? ',' : '[',
		    (unsigned long long)v[i]);
	evbuffer_add(out, "]", 1);
}

/* Every live worker as a JSON array of objects. */
static void
stats_json_workers(struct evbuffer *out, const struct stats *st,
    uint64_t now_ms)
{
	struct stats_worker	w;
	int			i, n = 0;

	evbuffer_add(out, "[", 1);
	for (i = 0; i < STATS_SLOTS; i++) {
		if (!stats_worker(st, i, now_ms, &w))
			continue;
		evbuffer_add_printf(out, "%s{\"worker\":%d,\"pid\":%ld,"
		    "\"requests\":%llu,\"connections_open\":%llu,"
		    "\"jobs_queued\":%llu,\"jobs_running\":%llu,"
		    "\"job_ms\":%llu,\"silent_ms\":%llu}", n++ ? "," : "",
		    w.worker, w.pid, (unsigned long long)w.requests,
		    (unsigned long long)w.connections_open,
		    (unsigned long long)w.jobs_queued,
		    (unsigned long long)w.jobs_running,
		    (unsigned long long)w.job_ms,
		    (unsigned long long)w.silent_ms);
	}
	evbuffer_add(out, "]", 1);
}

/*
 * The status page's view, one line of JSON: the STATS object answered by
 * worker (pid), and in it too which server this is (the master's pid and
 * when it started: behind a balancer, fetches reach several), the time
 * (ms since start), the latency buckets' bounds and each command's counts
 * in them, and every live worker. All of it cumulative or a gauge: the
 * page keeps the history and the differences.
 */
int
stats_status_json(struct evbuffer *out, const struct stats *st, int worker,
    long pid)
{
	struct stats_sum	 sum;
	struct evbuffer		*line;
	uint64_t		 now_ms = stats_now_us() / 1000;
	int			 i, rc = -1;

	stats_sum(st, &sum);
	sum.worker = worker;
	sum.pid = pid;
	/* STATS's line without its closing "}\n": the rest goes in it. */
	if ((line = evbuffer_new()) != NULL && stats_json(line, &sum) == 0)
		rc = evbuffer_remove_buffer(line, out,
		    evbuffer_get_length(line) - 2);
	if (line != NULL)
		evbuffer_free(line);
	if (rc == -1)
		return -1;
	evbuffer_add_printf(out, ",\"master_pid\":%lld,\"started\":%lld,"
	    "\"t_ms\":%llu,\"bounds_us\":", (long long)st->master_pid,
	    (long long)st->start_unix,
	    (unsigned long long)(now_ms - st->start_sec * 1000));
	stats_json_array(out, bounds_us, HIST_BUCKETS - 1);
	evbuffer_add_printf(out, ",\"latency\":{");
	for (i = 0; i < CMD_COUNT; i++) {
		evbuffer_add_printf(out, "%s\"%s\":", i ? "," : "",
		    proto_cmd_name(i));
		stats_json_array(out, sum.hist[i], HIST_BUCKETS);
	}
	evbuffer_add_printf(out, "},\"per_worker\":");
	stats_json_workers(out, st, now_ms);
	return evbuffer_add_printf(out, "}\n") < 0 ? -1 : 0;
}
