/*
 * primed-load: shared types and prototypes, grouped by the file that
 * defines them. This program does not use src/primed.h: it is a client of
 * any line protocol, primed's among others.
 */
#ifndef LOAD_H
#define LOAD_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sys/types.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "hist.h"
#include "sched.h"

struct event;
struct event_base;

#ifdef PACKAGE_VERSION
#define LOAD_VERSION	PACKAGE_VERSION
#else
#define LOAD_VERSION	"0.1.0"
#endif
#define LOAD_NAME	"primed-load"

/* Exit statuses: a contract with scripts that publish numbers. */
#define LOAD_EXIT_OK	0	/* every request answered, nothing lost */
#define LOAD_EXIT_FAIL	1	/* something lost, closed, timed out, malformed */
#define LOAD_EXIT_USAGE	2	/* bad command line */

#define LOAD_MAX_LINE	(64 * 1024)	/* longest reply accepted */
#define NS_PER_S	UINT64_C(1000000000)
#define NS_PER_MS	UINT64_C(1000000)
#define NS_PER_US	UINT64_C(1000)
#define LOAD_NEVER	UINT64_MAX
#define LOAD_STATUS_MIN	100		/* HTTP status codes counted: */
#define LOAD_STATUSES	500		/* 100..599 */

/* The error kinds, listed once: enum, names, summing. */
#define LOAD_ERRORS(X)					\
	X(CONNECT,	"connect")			\
	X(ERR_REPLY,	"err_reply")			\
	X(MISMATCH,	"mismatch")			\
	X(CLOSED,	"closed")			\
	X(TIMEOUT,	"timeout")			\
	X(MALFORMED,	"malformed")

enum load_err {
#define LOAD_ERR_ENUM(e, s)	LERR_##e,
	LOAD_ERRORS(LOAD_ERR_ENUM)
#undef LOAD_ERR_ENUM
	LERR__MAX
};

enum load_mode	{ MODE_CLOSED, MODE_OPEN, MODE_ONESHOT, MODE_IDLE };

/* load.c: the command line, validated. */
struct load_opts {
	char		 host[256];
	char		 port[8];
	unsigned	 connections;
	unsigned	 threads;
	unsigned	 pipeline;
	double		 duration_s;
	bool		 duration_set;
	uint64_t	 requests;	/* 0: bounded by duration only */
	double		 warmup_s;
	uint64_t	 timeout_ns;
	double		 rate;		/* 0: closed loop */
	enum load_mode	 mode;
	const char	*request;	/* as given */
	char		*title;		/* the request, as the summary says */
	char		*long_title;
	char		*line;		/* what goes on the wire */
	size_t		 line_len;
	const char	*expect;
	size_t		 expect_len;
	const char	*long_request;	/* NULL: no long connections */
	char		*long_line;
	size_t		 long_line_len;
	double		 long_at_s;
	unsigned	 long_connections;
	uint64_t	 long_timeout_ns; /* 0: none */
	uint64_t	 tick_ns;	/* open loop: send granularity */
	bool		 raw;
	bool		 http;		/* HTTP/1.1 instead of lines */
	const char	*http_method;	/* GET, or POST with the request */
	const char	*http_path;
	bool		 crlf;
	bool		 json;
	bool		 quiet;
	bool		 fail_on_err_reply;
	const char	*csv_path;
};

/* Monotonic clock in nanoseconds: every time in this program is one. */
static inline uint64_t
load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* stats.c: what one thread saw; summed over threads at the end. */
struct tally {
	uint64_t	completed;	/* replies, err_reply/mismatch included */
	uint64_t	ok;
	uint64_t	sent;
	uint64_t	lost;		/* sent, reply never came */
	uint64_t	retried;	/* sent again after a clean close */
	uint64_t	errors[LERR__MAX];
};

struct stats {
	struct tally	 main;		/* measured requests */
	struct tally	 warm;		/* requests of the warmup */
	struct tally	 lng;		/* long requests */
	struct hist	*lat;		/* measured, microseconds */
	struct hist	*long_lat;
	uint64_t	 long_abandoned; /* long requests cut by the end */
	uint64_t	 last_ns;	/* last measured outcome */
	uint64_t	 last_any_ns;	/* last outcome of any request */
	uint64_t	 connected;	/* connections established */
	int		 connect_errno;
	uint64_t	 http_status[LOAD_STATUSES]; /* measured, by code */
	uint64_t	 long_http_status[LOAD_STATUSES];
	struct tally	 ivl;		/* this second, warmup included */
	uint64_t	 ivl_long;
	struct hist	*ivl_lat;
};

int		 stats_init(struct stats *);
void		 stats_free(struct stats *);
void		 stats_merge(struct stats *, const struct stats *);
void		 stats_ivl_reset(struct stats *);
void		 stats_sent(struct stats *, bool, bool);
void		 stats_retried(struct stats *, bool, bool);
void		 stats_status(struct stats *, bool, bool, int);
void		 stats_reply(struct stats *, bool, bool, uint64_t, int, uint64_t);
void		 stats_error(struct stats *, bool, bool, enum load_err, bool,
		    uint64_t);
uint64_t	 tally_errors(const struct tally *);
void		 tally_add(struct tally *, const struct tally *);

/* run.c: one run: workers, phases, per-second report, summary. */
#define RUN_RING	64

struct slot {
	uint64_t	 sec;		/* second held, LOAD_NEVER when free */
	unsigned	 contrib;	/* workers that handed it in */
	bool		 partial;	/* the last, cut-short second */
	struct tally	 t;
	uint64_t	 long_completed;
	struct hist	*h;
};

struct worker;
struct report;

struct run {
	const struct load_opts	*opts;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	uint64_t		 t_start;
	uint64_t		 warm_end;
	uint64_t		 win_end;	/* LOAD_NEVER: no time bound */
	uint64_t		 long_start;
	uint64_t		 grace_ns;
	struct sched		 sched;
	_Atomic uint64_t	 issued;	/* measured, closed loop -n */
	struct worker		**workers;
	unsigned		 nworkers;
	struct event_base	*base;
	struct event		*ev_report;
	struct event		*ev_sigint;
	struct event		*ev_sigterm;
	int			 sigints;
	bool			 interrupted;
	bool			 watchdog;
	uint64_t		 stop_ns;	/* when interrupted */
	uint64_t		 finish_ns;	/* when every worker had ended */
	double			 cpu0_s;	/* CPU used before the start */
	uint64_t		 idle_s;	/* seconds without progress */
	pthread_mutex_t		 lock;		/* guards what follows */
	struct slot		 ring[RUN_RING];
	uint64_t		 next_print;
	unsigned		 exited;
	uint64_t		*last_sec;	/* per worker; LOAD_NEVER alive */
	struct report		*rep;
};

int		 run_main(const struct load_opts *);
void		 run_publish(struct run *, uint64_t, const struct stats *, bool);
void		 run_exited(struct run *, unsigned, uint64_t);

/* worker.c: one thread, its base, its connections, its results. */
struct client;

struct worker {
	unsigned		 id;
	struct run		*run;
	const struct load_opts	*opts;
	struct event_base	*base;
	struct sched		 sched;		/* own copy: capped on stop */
	struct client		**clients;
	unsigned		 nclients;
	unsigned		 active;	/* main clients not finished */
	bool			 stopping;
	bool			 done;
	int			 pipe[2];	/* main thread -> worker */
	struct event		*ev_pipe;
	struct event		*ev_tick;
	struct event		*ev_end;	/* window, then grace */
	struct event		*ev_stopping;
	struct event		*ev_pump;	/* open loop: the send tick */
	uint64_t		 pump_k;	/* first request not released */
	uint64_t		 grid0;		/* origin of its tick grid */
	uint64_t		 sec;		/* second being counted */
	uint64_t		 next_tick;
	struct stats		 st;
	pthread_t		 tid;
	bool			 started;
};

struct worker	*worker_new(struct run *, unsigned);
void		 worker_free(struct worker *);
int		 worker_start(struct worker *);
void		 worker_join(struct worker *);
void		 worker_tell(struct worker *, char);
void		 worker_arm(struct event *, uint64_t);
bool		 worker_may_issue(struct worker *, uint64_t, bool *);
bool		 worker_measured(const struct worker *, uint64_t);
uint64_t	 worker_release(const struct worker *, uint64_t);
uint64_t	 worker_released(const struct worker *, uint64_t);
void		 worker_reply(struct worker *, bool, bool, uint64_t, int,
		    uint64_t);
void		 worker_error(struct worker *, bool, bool, enum load_err, bool,
		    uint64_t);
void		 worker_client_done(struct worker *);

/* client.c: one connection. */
struct client	*client_new(struct worker *, unsigned, bool);
void		 client_free(struct client *);
void		 client_start(struct client *);
void		 client_stop(struct client *);
void		 client_abort(struct client *, uint64_t);
void		 client_due(struct client *, uint64_t);

/* report.c: per-second lines, CSV, the summary. */
/* One second as printed: figures of every thread, summed. */
struct second {
	uint64_t	 sec;		/* 0-based; printed as t = sec + 1 */
	uint64_t	 completed;
	uint64_t	 errors;
	uint64_t	 long_completed;
	uint64_t	 p50_us;
	uint64_t	 p99_us;
	bool		 warmup;	/* began before the warmup ended */
};

struct summary {
	const struct load_opts	*opts;
	const struct stats	*st;
	unsigned		 threads;
	double			 duration_s;
	bool			 interrupted;
	bool			 watchdog;
	double			 cpu_s;		/* user + system, whole run */
};

struct report	*report_open(const struct load_opts *);
void		 report_close(struct report *);
void		 report_second(struct report *, const struct second *);
void		 report_summary(const struct summary *);

#endif /* LOAD_H */
