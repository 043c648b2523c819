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

#include <event2/buffer.h>

#include "primed.h"

/* Seconds on the monotonic clock. */
static uint64_t
now_sec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Map the shared region; NULL on failure. */
struct stats *
stats_create(void)
{
	struct stats	*st;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return NULL;
	st->start_sec = now_sec();
	return st;
}

/* Unmap the region. */
void
stats_destroy(struct stats *st)
{
	if (st != NULL)
		munmap(st, sizeof(*st));
}

/* Add every slot into sum. */
void
stats_sum(const struct stats *st, struct stats_sum *sum)
{
	const struct stats_slot	*s;
	int			 i, j;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < STATS_SLOTS; i++) {
		s = &st->slot[i];
		for (j = 0; j < STAT_COUNT; j++)
			sum->c[j] += atomic_load_explicit(&s->c[j],
			    memory_order_relaxed);
		for (j = 0; j < CMD_COUNT; j++)
			sum->cmd[j] += atomic_load_explicit(&s->cmd[j],
			    memory_order_relaxed);
		for (j = 0; j < ERR_COUNT; j++)
			sum->err[j] += atomic_load_explicit(&s->err[j],
			    memory_order_relaxed);
	}
	sum->workers = atomic_load_explicit(&st->workers,
	    memory_order_relaxed);
	sum->uptime_s = now_sec() - st->start_sec;
}

/* Zero the gauges of a slot whose worker is gone. */
void
stats_reset_gauges(struct stats *st, int slot)
{
	struct stats_slot	*s = &st->slot[slot];

	atomic_store(&s->c[STAT_connections_open], 0);
	atomic_store(&s->c[STAT_connections_waiting], 0);
	atomic_store(&s->c[STAT_reply_bytes], 0);
	atomic_store(&s->c[STAT_jobs_queued], 0);
	atomic_store(&s->c[STAT_jobs_running], 0);
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
	return evbuffer_add_printf(out, "}}\n") < 0 ? -1 : 0;
}
