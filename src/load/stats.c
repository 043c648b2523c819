/*
 * What one thread saw: counters by kind and latency histograms.
 *
 * Each worker owns one struct stats and is the only one to write it, so
 * recording takes no lock. Main requests are filed as measured or warmup by
 * their intended send time (see worker_measured); long requests are kept
 * apart in their own tally and histogram. The interval part (ivl) covers
 * the current second, warmup included, and only what the per-second lines
 * show (completed, errors, lost); it is handed to the run and reset once a
 * second. At the end the main thread merges every worker's stats.
 */
#include "load.h"

#include <string.h>

/* Allocate the histograms; -1 when out of memory. */
int
stats_init(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	st->lat = hist_new();
	st->long_lat = hist_new();
	st->ivl_lat = hist_new();
	if (st->lat == NULL || st->long_lat == NULL || st->ivl_lat == NULL) {
		stats_free(st);
		return -1;
	}
	return 0;
}

/* Release the histograms. */
void
stats_free(struct stats *st)
{
	hist_free(st->lat);
	hist_free(st->long_lat);
	hist_free(st->ivl_lat);
	st->lat = st->long_lat = st->ivl_lat = NULL;
}

/* Add the totals of src (not its interval) into dst. */
void
stats_merge(struct stats *dst, const struct stats *src)
{
	int i;

	tally_add(&dst->main, &src->main);
	tally_add(&dst->warm, &src->warm);
	tally_add(&dst->lng, &src->lng);
	hist_merge(dst->lat, src->lat);
	hist_merge(dst->long_lat, src->long_lat);
	dst->long_abandoned += src->long_abandoned;
	for (i = 0; i < LOAD_STATUSES; i++) {
		dst->http_status[i] += src->http_status[i];
		dst->long_http_status[i] += src->long_http_status[i];
	}
	dst->connected += src->connected;
	if (src->last_ns > dst->last_ns)
		dst->last_ns = src->last_ns;
	if (src->last_any_ns > dst->last_any_ns)
		dst->last_any_ns = src->last_any_ns;
	if (src->connect_errno != 0)
		dst->connect_errno = src->connect_errno;
}

/* Start a new second. */
void
stats_ivl_reset(struct stats *st)
{
	memset(&st->ivl, 0, sizeof(st->ivl));
	st->ivl_long = 0;
	hist_reset(st->ivl_lat);
}

/* The tally a request of this class belongs to. */
static struct tally *
stats_tally(struct stats *st, bool is_long, bool measured)
{
	if (is_long)
		return &st->lng;
	return measured ? &st->main : &st->warm;
}

/* A request went out. */
void
stats_sent(struct stats *st, bool is_long, bool measured)
{
	stats_tally(st, is_long, measured)->sent++;
}

/* A request is sent again on a new connection after a clean close. */
void
stats_retried(struct stats *st, bool is_long, bool measured)
{
	stats_tally(st, is_long, measured)->retried++;
}

/* An HTTP reply had this status; measured and long ones are counted. */
void
stats_status(struct stats *st, bool is_long, bool measured, int status)
{
	if (status < LOAD_STATUS_MIN ||
	    status >= LOAD_STATUS_MIN + LOAD_STATUSES)
		return;
	if (is_long)
		st->long_http_status[status - LOAD_STATUS_MIN]++;
	else if (measured)
		st->http_status[status - LOAD_STATUS_MIN]++;
}

/* A reply came back after lat_us; err is an error kind or -1 for a good
 * reply. */
void
stats_reply(struct stats *st, bool is_long, bool measured, uint64_t lat_us,
    int err, uint64_t now)
{
	struct tally *t = stats_tally(st, is_long, measured);

	t->completed++;
	if (err >= 0)
		t->errors[err]++;
	else
		t->ok++;
	if (is_long) {
		hist_record(st->long_lat, lat_us);
		st->ivl_long++;
		return;
	}
	if (measured) {
		hist_record(st->lat, lat_us);
		st->last_ns = now;
	}
	st->last_any_ns = now;
	st->ivl.completed++;
	if (err >= 0)
		st->ivl.errors[err]++;
	hist_record(st->ivl_lat, lat_us);
}

/* An error with no reply; lost when it cost a request that was sent. */
void
stats_error(struct stats *st, bool is_long, bool measured, enum load_err e,
    bool lost, uint64_t now)
{
	struct tally *t = stats_tally(st, is_long, measured);

	t->errors[e]++;
	if (lost)
		t->lost++;
	if (is_long)
		return;
	if (measured)
		st->last_ns = now;
	st->last_any_ns = now;
	st->ivl.errors[e]++;
	if (lost)
		st->ivl.lost++;
}

/* Errors of every kind. */
uint64_t
tally_errors(const struct tally *t)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < LERR__MAX; i++)
		n += t->errors[i];
	return n;
}

/* dst += src, field by field. */
void
tally_add(struct tally *dst, const struct tally *src)
{
	int i;

	dst->completed += src->completed;
	dst->ok += src->ok;
	dst->sent += src->sent;
	dst->lost += src->lost;
	dst->retried += src->retried;
	for (i = 0; i < LERR__MAX; i++)
		dst->errors[i] += src->errors[i];
}
