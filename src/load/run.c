/*
 * One run: resolve the peer, raise the descriptor limit, start the workers,
 * report every second, stop on time, on count or on SIGINT, then sum up.
 *
 * Threads: the main thread has a small event_base of its own (signals, the
 * per-second report) and never touches a worker's base; it talks to a
 * worker only through the worker's pipe. Workers hand each second's figures
 * into a ring of slots under r->lock (once a second each, never on the hot
 * path) and wake the main base with event_active, which is why the main
 * base, alone, is built with locking. A second is printed once every worker
 * still running at that second has handed it in; printing happens outside
 * the lock so a slow stderr never stalls a worker.
 *
 * Timing: t_start is taken just before the workers start. Warmup covers
 * [t_start, warm_end); the measured window is [warm_end, win_end); a
 * request belongs to the results when it was meant to be sent inside the
 * window. After win_end nothing new is sent and replies in flight get a
 * grace of max(2 s, --timeout); what is still out after that is a timeout.
 */
#include "load.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#define RUN_GRACE_MIN_NS	(2 * NS_PER_S)
#define RUN_WATCHDOG_MIN_S	10

/* CPU time used by the whole process so far, user and system, seconds. */
static double
run_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Seconds to nanoseconds. */
static uint64_t
run_ns(double s)
{
	return (uint64_t)(s * 1e9 + 0.5);
}

/* Resolve --host/--port once, before any loop runs; -1 on failure. */
static int
run_resolve(struct run *r)
{
	const struct load_opts *o = r->opts;
	struct addrinfo hints, *res;
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rv = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		fprintf(stderr, "%s: cannot resolve %s: %s\n", LOAD_NAME,
		    o->host, gai_strerror(rv));
		return -1;
	}
	memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
	r->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Raise the soft descriptor limit to the hard one; warn if still short. */
static void
run_raise_nofile(const struct load_opts *o)
{
	struct rlimit rl;
	uint64_t need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	need = (uint64_t)o->connections + 16 * (uint64_t)o->threads + 32 +
	    (o->long_request ? o->long_connections : 0);
	if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
		fprintf(stderr, "%s: warning: %llu descriptors allowed, about "
		    "%llu needed; the connections beyond will count as connect "
		    "errors\n", LOAD_NAME, (unsigned long long)rl.rlim_cur,
		    (unsigned long long)need);
}

/* Number of workers that hand in second sec: those not ended before it. */
static unsigned
run_expected(const struct run *r, uint64_t sec)
{
	unsigned i, n = 0;

	for (i = 0; i < r->nworkers; i++)
		if (r->last_sec[i] == LOAD_NEVER || r->last_sec[i] >= sec)
			n++;
	return n;
}

/* Empty a slot for second sec. */
static void
run_slot_clear(struct slot *s, uint64_t sec)
{
	s->sec = sec;
	s->contrib = 0;
	s->partial = false;
	memset(&s->t, 0, sizeof(s->t));
	s->long_completed = 0;
	hist_reset(s->h);
}

/* A worker hands in its figures for second sec (partial: its last). */
void
run_publish(struct run *r, uint64_t sec, const struct stats *st, bool partial)
{
	struct slot *s;

	pthread_mutex_lock(&r->lock);
	s = &r->ring[sec % RUN_RING];
	if (s->sec != sec)
		run_slot_clear(s, sec);
	tally_add(&s->t, &st->ivl);
	s->long_completed += st->ivl_long;
	hist_merge(s->h, st->ivl_lat);
	s->contrib++;
	s->partial = s->partial || partial;
	pthread_mutex_unlock(&r->lock);
	event_active(r->ev_report, EV_TIMEOUT, 0);
}

/* A worker ended after handing in second last. */
void
run_exited(struct run *r, unsigned id, uint64_t last)
{
	pthread_mutex_lock(&r->lock);
	r->last_sec[id] = last;
	r->exited++;
	pthread_mutex_unlock(&r->lock);
	event_active(r->ev_report, EV_TIMEOUT, 0);
}

/* Take the next complete second out of the ring (lock held); false when
 * there is none yet. The run's last, cut-short second is skipped if empty. */
static bool
run_take(struct run *r, struct second *out, bool *skip)
{
	uint64_t sec = r->next_print;
	struct slot *s = &r->ring[sec % RUN_RING];
	unsigned expected = run_expected(r, sec);

	if (expected == 0 || s->sec != sec || s->contrib < expected)
		return false;
	out->sec = sec;
	out->completed = s->t.completed;
	out->errors = tally_errors(&s->t);
	out->long_completed = s->long_completed;
	out->p50_us = hist_percentile(s->h, 50.0);
	out->p99_us = hist_percentile(s->h, 99.0);
	out->warmup = sec * NS_PER_S < r->warm_end - r->t_start;
	*skip = s->partial && s->t.completed == 0 && out->errors == 0 &&
	    s->long_completed == 0 && run_expected(r, sec + 1) == 0;
	r->idle_s = (s->t.completed + s->t.lost == 0) ? r->idle_s + 1 : 0;
	s->sec = LOAD_NEVER;
	r->next_print++;
	return true;
}

/* Tell every worker to stop sending now. */
static void
run_stop(struct run *r)
{
	unsigned i;

	r->stop_ns = load_now();
	for (i = 0; i < r->nworkers; i++)
		worker_tell(r->workers[i], 'S');
}

/* With -n and no -d nothing else bounds the run: stop when nothing at all
 * has happened for a while (the server is gone for good). */
static void
run_watchdog(struct run *r)
{
	const struct load_opts *o = r->opts;
	uint64_t limit = 2 * o->timeout_ns / NS_PER_S;

	if (r->win_end != LOAD_NEVER || o->mode == MODE_ONESHOT ||
	    r->interrupted || r->watchdog)
		return;
	if (limit < RUN_WATCHDOG_MIN_S)
		limit = RUN_WATCHDOG_MIN_S;
	if (r->idle_s < limit)
		return;
	fprintf(stderr, "%s: no reply for %llu s, stopping\n", LOAD_NAME,
	    (unsigned long long)r->idle_s);
	r->watchdog = true;
	run_stop(r);
}

/* Print every second that is complete; end the loop when all workers are. */
static void
run_report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct second sec[RUN_RING];
	bool skip[RUN_RING], all;
	unsigned i, n = 0;

	do {
		pthread_mutex_lock(&r->lock);
		for (n = 0; n < RUN_RING && run_take(r, &sec[n], &skip[n]); n++)
			;
		all = r->exited == r->nworkers;
		pthread_mutex_unlock(&r->lock);
		for (i = 0; i < n; i++)
			if (!skip[i])
				report_second(r->rep, &sec[i]);
		run_watchdog(r);
	} while (n == RUN_RING);
	if (all) {
		r->finish_ns = load_now();
		event_base_loopbreak(r->base);
	}
}

/* SIGINT/SIGTERM: the first stops sending, the second ends at once. */
static void
run_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;
	unsigned i;

	if (++r->sigints == 1) {
		if (!r->opts->quiet)
			fprintf(stderr, "%s: interrupted: waiting up to %.1f s "
			    "for replies in flight (again to quit now)\n",
			    LOAD_NAME, (double)r->grace_ns / 1e9);
		r->interrupted = true;
		run_stop(r);
		return;
	}
	for (i = 0; i < r->nworkers; i++)
		worker_tell(r->workers[i], 'F');
}

/* Fix the phases of the run from its start time. */
static void
run_phases(struct run *r)
{
	const struct load_opts *o = r->opts;
	uint64_t timeout = o->timeout_ns;

	r->t_start = load_now();
	r->warm_end = r->t_start + run_ns(o->warmup_s);
	if (o->mode == MODE_ONESHOT)
		r->win_end = o->duration_set ?
		    r->t_start + run_ns(o->duration_s) : LOAD_NEVER;
	else if (o->requests != 0 && !o->duration_set)
		r->win_end = LOAD_NEVER;
	else
		r->win_end = r->warm_end + run_ns(o->duration_s);
	r->grace_ns = timeout > RUN_GRACE_MIN_NS ? timeout : RUN_GRACE_MIN_NS;
	r->long_start = r->t_start + run_ns(o->long_at_s);
	sched_init(&r->sched, r->t_start, o->rate > 0 ? o->rate : 1,
	    o->connections);
	if (o->requests != 0)
		sched_cap(&r->sched, o->requests +
		    sched_count_before(&r->sched, r->warm_end));
	if (r->win_end != LOAD_NEVER)
		sched_cap(&r->sched, sched_count_before(&r->sched, r->win_end));
}

/* Block the stop signals (threads made after this inherit the mask). */
static void
run_block_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(how, &set, NULL);
}

/* Main base, its events, the slot ring and the workers; -1 on failure. */
static int
run_setup(struct run *r)
{
	unsigned i;

	if (evthread_use_pthreads() == -1 ||
	    (r->base = event_base_new()) == NULL)
		return -1;
	r->ev_report = event_new(r->base, -1, 0, run_report_cb, r);
	r->ev_sigint = evsignal_new(r->base, SIGINT, run_signal_cb, r);
	r->ev_sigterm = evsignal_new(r->base, SIGTERM, run_signal_cb, r);
	if (r->ev_report == NULL || r->ev_sigint == NULL ||
	    r->ev_sigterm == NULL)
		return -1;
	for (i = 0; i < RUN_RING; i++) {
		if ((r->ring[i].h = hist_new()) == NULL)
			return -1;
		r->ring[i].sec = LOAD_NEVER;
	}
	r->nworkers = r->opts->threads;
	r->workers = calloc(r->nworkers, sizeof(*r->workers));
	r->last_sec = calloc(r->nworkers, sizeof(*r->last_sec));
	if (r->workers == NULL || r->last_sec == NULL)
		return -1;
	for (i = 0; i < r->nworkers; i++) {
		r->last_sec[i] = LOAD_NEVER;
		if ((r->workers[i] = worker_new(r, i)) == NULL)
			return -1;
	}
	return 0;
}

/* Start the clock and the workers; -1 if a thread could not start. */
static int
run_launch(struct run *r)
{
	unsigned i;

	event_add(r->ev_sigint, NULL);
	event_add(r->ev_sigterm, NULL);
	r->cpu0_s = run_cpu();
	run_phases(r);
	for (i = 0; i < r->nworkers; i++)
		if (worker_start(r->workers[i]) == -1) {
			fprintf(stderr, "%s: cannot start thread: %s\n",
			    LOAD_NAME, strerror(errno));
			r->nworkers = i;	/* end those started */
			while (i-- > 0)
				worker_tell(r->workers[i], 'F');
			return -1;
		}
	run_block_signals(SIG_UNBLOCK);
	return 0;
}

/*
 * Length of the measured window in seconds: up to -d; in open loop up to
 * the intended time of the first request never scheduled (so -n N at rate R
 * lasts N/R); in a closed loop ended by -n, up to the last outcome; when
 * stopped early, up to the stop.
 */
static double
run_duration(const struct run *r, const struct stats *st)
{
	const struct load_opts *o = r->opts;
	uint64_t end = r->win_end, sched_end;

	if (o->mode == MODE_OPEN && r->sched.limit != SCHED_NONE) {
		sched_end = sched_time(&r->sched, r->sched.limit);
		if (sched_end < end)
			end = sched_end;
	}
	if ((r->interrupted || r->watchdog) && r->stop_ns < end)
		end = r->stop_ns;
	else if (o->mode == MODE_CLOSED && o->requests != 0 &&
	    r->finish_ns < end)
		end = st->last_ns;
	if (o->mode == MODE_ONESHOT)
		return st->last_any_ns > r->t_start ?
		    (double)(st->last_any_ns - r->t_start) / 1e9 : 0.0;
	return end > r->warm_end ? (double)(end - r->warm_end) / 1e9 : 0.0;
}

/* Exit status: 1 when anything was lost, refused, cut or malformed. */
static int
run_status(const struct load_opts *o, const struct stats *st)
{
	const struct tally *t[2] = { &st->main, &st->lng };
	uint64_t ok_errors;
	int i;

	if (o->mode == MODE_IDLE)
		return st->connected == o->connections &&
		    tally_errors(&st->main) == 0 ? LOAD_EXIT_OK : LOAD_EXIT_FAIL;
	if (st->main.completed == 0)
		return LOAD_EXIT_FAIL;
	for (i = 0; i < 2; i++) {
		/* An error reply is a round trip: a failure only if asked. */
		ok_errors = o->fail_on_err_reply ? 0 :
		    t[i]->errors[LERR_ERR_REPLY];
		if (t[i]->lost || tally_errors(t[i]) > ok_errors)
			return LOAD_EXIT_FAIL;
	}
	return LOAD_EXIT_OK;
}

/* Sum every worker's results, print the summary, pick the exit status. */
static int
run_finish(struct run *r)
{
	struct summary sum;
	struct stats total;
	unsigned i;
	int status;

	if (stats_init(&total) == -1)
		return LOAD_EXIT_FAIL;
	for (i = 0; i < r->nworkers; i++)
		stats_merge(&total, &r->workers[i]->st);
	memset(&sum, 0, sizeof(sum));
	sum.opts = r->opts;
	sum.st = &total;
	sum.threads = r->nworkers;
	sum.duration_s = run_duration(r, &total);
	sum.interrupted = r->interrupted;
	sum.watchdog = r->watchdog;
	sum.cpu_s = run_cpu() - r->cpu0_s;
	report_summary(&sum);
	status = run_status(r->opts, &total);
	stats_free(&total);
	return status;
}

/* Free what run_setup made. */
static void
run_teardown(struct run *r)
{
	unsigned i;

	for (i = 0; r->workers != NULL && i < r->opts->threads; i++)
		worker_free(r->workers[i]);
	free(r->workers);
	free(r->last_sec);
	for (i = 0; i < RUN_RING; i++)
		hist_free(r->ring[i].h);
	if (r->ev_report)
		event_free(r->ev_report);
	if (r->ev_sigint)
		event_free(r->ev_sigint);
	if (r->ev_sigterm)
		event_free(r->ev_sigterm);
	if (r->base)
		event_base_free(r->base);
}

/* Run the load described by o; returns the exit status. */
int
run_main(const struct load_opts *o)
{
	struct run r;
	int status = LOAD_EXIT_FAIL;
	unsigned i;

	memset(&r, 0, sizeof(r));
	r.opts = o;
	if (run_resolve(&r) == -1)
		return LOAD_EXIT_USAGE;
	if ((r.rep = report_open(o)) == NULL)
		return LOAD_EXIT_USAGE;
	run_raise_nofile(o);
	signal(SIGPIPE, SIG_IGN);
	run_block_signals(SIG_BLOCK);
	pthread_mutex_init(&r.lock, NULL);
	if (run_setup(&r) == -1)
		fprintf(stderr, "%s: cannot set up: out of memory or "
		    "descriptors\n", LOAD_NAME);
	else if (run_launch(&r) == 0) {
		event_base_dispatch(r.base);
		for (i = 0; i < r.nworkers; i++)
			worker_join(r.workers[i]);
		status = run_finish(&r);
	} else {
		for (i = 0; i < r.nworkers; i++)	/* those that started */
			worker_join(r.workers[i]);
	}
	run_teardown(&r);
	pthread_mutex_destroy(&r.lock);
	report_close(r.rep);
	return status;
}
