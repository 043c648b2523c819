/*
 * primed: shared types and prototypes, grouped by the file that defines them.
 */
#ifndef PRIMED_H
#define PRIMED_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct event;
struct evbuffer;
struct bufferevent;
struct evconnlistener;

/* Exit statuses: a contract between master, workers and the service manager. */
#define EXIT_OK		0	/* clean stop */
#define EXIT_CRASH	1	/* unexpected: the master respawns the worker */
#define EXIT_USAGE	64	/* bad command line (EX_USAGE) */
#define EXIT_CONFIG	78	/* bad configuration (EX_CONFIG): never respawned */

/* A duration in milliseconds as a timeval, for every timer. */
static inline struct timeval
ms_tv(long ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

#define MAX_LISTENERS	16
#define MAX_WORKERS	256
/* Generations alive at once: serving, starting (a reload), two retiring. */
#define MAX_GENS	4

enum service	{ SVC_PRIME, SVC_UPPER, SVC_ECHO, SVC_HTTP, SVC_COUNT };
enum framing	{ FRAMING_LINE, FRAMING_RAW, FRAMING_HTTP };
enum compute	{ COMPUTE_POOL, COMPUTE_INLINE };
enum io_mode	{ IO_TIMER, IO_BLOCKING };
enum kernel	{ KERNEL_SIEVE, KERNEL_TRIAL, KERNEL_COUNT };
enum pool_order	{ ORDER_FIFO, ORDER_COST };

/* config.c */
struct listen_conf {
	enum service	 service;
	enum framing	 framing;
	char		 host[256];	/* numeric or resolvable name */
	char		 port[8];
	char		 spec[300];	/* as written, for logs and reload */
};

struct config {
	int		 workers;
	int		 threads;
	int		 queue_limit;
	enum compute	 compute;
	enum io_mode	 io;
	enum kernel	 kernel;
	uint64_t	 max_n;
	int		 max_n_set;	/* given: not the kernel's default */
	uint64_t	 table_n;	/* primes kept in the shared table */
	int		 io_delay_ms;
	int		 max_line;
	int		 shutdown_timeout_ms;
	int		 max_connections;	/* per worker */
	int		 max_inflight;		/* per connection */
	int		 idle_timeout_ms;
	int		 read_timeout_ms;
	int		 job_timeout_ms;	/* 0: none */
	int		 drain_delay_ms;	/* serve on after a stop */
	int		 reply_memory_mb;	/* per worker, 0: none */
	int		 pool_nice;		/* 20: SCHED_IDLE */
	enum pool_order	 pool_order;
	int		 slice_ms;		/* 0: jobs never yield */
	int		 monitor;
	int		 log_level;
	int		 nlisten;
	struct listen_conf listen[MAX_LISTENERS];
	char		 config_file[1024];
	char		 port_file[1024];
	char		 user[64];
	int		 check_config;
};

enum { CONFIG_OK = 0, CONFIG_EXIT = 1, CONFIG_ERR_USAGE = -1,
    CONFIG_ERR_FILE = -2 };

void	 config_defaults(struct config *);
int	 config_set(struct config *, const char *, const char *, char *,
	    size_t);
int	 config_load_file(struct config *, const char *, char *, size_t);
int	 config_parse_listen(struct listen_conf *, const char *, char *,
	    size_t);
int	 config_from_args(struct config *, int, char **, char *, size_t);
int	 config_finish(struct config *, char *, size_t);
const char *config_service_name(enum service);
const char *config_framing_name(const struct listen_conf *);
void	 config_usage(FILE *);

/* log.c */
enum { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
void	 log_init(const char *);
void	 log_set_name(const char *);
void	 log_set_level(int);
void	 log_msg(int, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
#define log_error(...)	log_msg(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __func__, __VA_ARGS__)

/* prime.c: the kernels; pure CPU, no libevent, safe from any thread. */
#define PRIME_COUNT_MAX_N	UINT64_C(216289611853439384)	/* pi(2^63-1) */

struct sieve;

/* When a kernel reads flag set, it stops if stop(arg) says so (or is NULL). */
struct prime_ctl {
	const atomic_int	*flag;
	int			(*stop)(void *);
	void			*arg;
};

/* Where a stopped kernel run is, to go on from there; zeroed for a new run. */
struct prime_state {
	uint64_t		 next;		/* trial: candidate under test */
	uint64_t		 div;		/* trial: its next divisor */
	uint64_t		 found;		/* primes below next / the segment */
	struct sieve		*sieve;		/* sieve: buffers and position */
};

int	 prime_table_init(uint64_t);
uint64_t prime_table_count(void);
uint64_t prime_table_get(uint64_t);
void	 prime_table_free(void);
int	 prime_sieve_run(uint64_t, struct prime_state *,
	    const struct prime_ctl *, uint64_t *);
int	 prime_trial_run(uint64_t, struct prime_state *,
	    const struct prime_ctl *, uint64_t *);
void	 prime_state_free(struct prime_state *);
uint64_t prime_nth_sieve(uint64_t, const atomic_int *);
uint64_t prime_nth_trial(uint64_t, const atomic_int *);
uint64_t prime_nth_count(uint64_t);
int	 prime_count_available(void);
int	 prime_trial_is_prime(uint64_t);

/* proto.c: the wire protocol, parsed and formatted; no sockets. */
/* CMD_OTHER counts requests that name no command (unknown, malformed). */
enum cmd {
	CMD_PRIME, CMD_UPPER, CMD_ECHO, CMD_SLEEP, CMD_PING, CMD_STATS,
	CMD_QUIT, CMD_OTHER, CMD_COUNT
};

#define ERRORS(X)							\
	X(BAD_REQUEST,	 "bad-request")					\
	X(UNKNOWN_CMD,	 "unknown-command")				\
	X(OUT_OF_RANGE,	 "out-of-range")					\
	X(TOO_LONG,	 "too-long")					\
	X(BUSY,		 "busy")					\
	X(TIMEOUT,	 "timeout")					\
	X(SHUTTING_DOWN, "shutting-down")

enum err {
	ERR_NONE = -1,
#define X(e, s) ERR_##e,
	ERRORS(X)
#undef X
	ERR_COUNT
};

struct request {
	enum cmd	 cmd;
	uint64_t	 n;		/* PRIME n, SLEEP ms */
	const char	*text;		/* UPPER, ECHO: points into the line */
	size_t		 textlen;
	enum err	 err;		/* ERR_NONE when the request is good */
	const char	*why;		/* human text for err */
};

#define SLEEP_MAX_MS	60000
#define PROTO_NUMBER_MAX 21	/* "18446744073709551615\n" */
#define PROTO_ERR_MAX	256	/* longest "ERR code why\n" */

void	 proto_parse(const char *, size_t, uint64_t, struct request *);
const char *proto_cmd_name(enum cmd);
const char *proto_err_name(enum err);
size_t	 proto_err_line(char *, size_t, enum err, const char *);
enum err proto_parse_n(const char *, size_t, uint64_t, uint64_t *,
	    const char **);
void	 proto_upper(char *, const char *, size_t);
size_t	 proto_number(char *, uint64_t);

/* route.c: HTTP method, path and query to what is asked; pure. */
#define METHOD_GET	0x01
#define METHOD_HEAD	0x02
#define METHOD_POST	0x04
#define METHOD_OTHER	0x08

enum route_id {
	ROUTE_NONE, ROUTE_PRIME, ROUTE_UPPER, ROUTE_ECHO, ROUTE_HEALTHZ,
	ROUTE_READYZ, ROUTE_STATS, ROUTE_METRICS, ROUTE_PAGE, ROUTE_STATUS
};

struct route {
	enum route_id	 id;
	uint64_t	 n;		/* /prime/N */
	int		 text;		/* ?format=text */
	int		 format_set;	/* format= was given */
	int		 status;	/* 0: good, else the status to answer */
	enum err	 err;		/* with status: the error code */
	const char	*why;
	const char	*allow;		/* with 405: the Allow header */
};

void	 route_parse(int, const char *, size_t, const char *, size_t,
	    uint64_t, struct route *);

/* hparse.c: HTTP/1.1 request heads and chunked bodies, strictly; pure. */
#define HTTP_HEAD_MAX	8192	/* request line and fields, bytes */
#define HTTP_FIELDS_MAX	100

struct http_head {
	int		 method;	/* METHOD_* */
	const char	*path;		/* the target's path, as sent */
	size_t		 pathlen;
	const char	*query;		/* after '?', or NULL */
	size_t		 querylen;
	int		 minor;		/* HTTP/1.minor */
	uint64_t	 length;	/* Content-Length */
	size_t		 size;		/* bytes of the head, with its end */
	int		 hosts;		/* Host fields seen */
	unsigned	 close:1;	/* no keep-alive after the answer */
	unsigned	 chunked:1;
	unsigned	 expect:1;	/* Expect: 100-continue, with a body */
	unsigned	 text:1;	/* Accept: text/plain rather than JSON */
	unsigned	 has_length:1;
	unsigned	 coded:1;	/* Transfer-Encoding seen */
	unsigned	 absolute:1;	/* absolute-form target */
	unsigned	 conn_close:1;	/* Connection: close */
	unsigned	 keep_alive:1;	/* Connection: keep-alive */
	int		 status;	/* refused: the status to answer */
	const char	*why;
};

struct http_body {
	size_t		 wire;		/* chunked: bytes on the wire */
	size_t		 len;		/* decoded */
	int		 status;	/* refused: the status to answer */
	const char	*why;
};

int	 hparse_head(const char *, size_t, struct http_head *);
int	 hparse_chunked(const char *, size_t, size_t, struct http_body *);
size_t	 hparse_unchunk(char *, size_t);

/* stats.c: counters in one shared-memory region made before fork. */
#define STATS_COUNTERS(X)						\
	X(connections_open)						\
	X(connections_total)						\
	X(connections_rejected)						\
	X(requests)							\
	X(jobs_queued)							\
	X(jobs_running)							\
	X(jobs_done)							\
	X(jobs_cancelled)						\
	X(jobs_late)							\
	X(jobs_sliced)							\
	X(job_yields)							\
	X(jobs_small)							\
	X(jobs_medium)							\
	X(jobs_large)							\
	X(wait_us_small)						\
	X(wait_us_medium)						\
	X(wait_us_large)						\
	X(bytes_in)							\
	X(bytes_out)							\
	X(connections_waiting)						\
	X(reply_bytes)							\
	X(input_bytes)

enum stat_counter {
#define X(c) STAT_##c,
	STATS_COUNTERS(X)
#undef X
	STAT_COUNT
};

/* One slot per entry of the master's process table. */
#define STATS_SLOTS	(MAX_GENS * MAX_WORKERS)

/* Latency buckets: upper bounds in microseconds, then +Inf. */
#define STATS_BOUNDS(X)							\
	X(50) X(100) X(250) X(500) X(1000) X(2500) X(5000) X(10000)	\
	X(25000) X(50000) X(100000) X(250000) X(500000) X(1000000)	\
	X(2500000) X(5000000) X(10000000) X(30000000) X(60000000)
enum {
#define X(b) HIST_BOUND_##b,
	STATS_BOUNDS(X)
#undef X
	HIST_NBOUNDS
};
#define HIST_BUCKETS	(HIST_NBOUNDS + 1)	/* the bounds and +Inf */

/* HTTP statuses counted apart; anything else counts as the last. */
#define HTTP_CODES(X)							\
	X(200) X(400) X(404) X(405) X(413) X(414) X(417) X(431) X(500)	\
	X(501) X(503) X(504) X(505)
enum {
#define X(c) HTTP_CODE_##c,
	HTTP_CODES(X)
#undef X
	HTTP_NCODES_KNOWN
};
#define HTTP_NCODES	(HTTP_NCODES_KNOWN + 1)	/* the codes and "other" */

struct stats_slot {
	_Atomic uint64_t c[STAT_COUNT];
	_Atomic uint64_t req[SVC_COUNT][CMD_COUNT];	/* by service */
	_Atomic uint64_t err[ERR_COUNT];
	_Atomic uint64_t hist[CMD_COUNT][HIST_BUCKETS];	/* not cumulative */
	_Atomic uint64_t hist_us[CMD_COUNT];		/* sum of latencies */
	_Atomic uint64_t http[HTTP_NCODES];
	_Atomic int	 used;		/* a worker had it once: worth summing */
	_Atomic int64_t	 pid;		/* the worker's, 0 once it is gone */
	_Atomic int	 worker;	/* its place in the worker table */
	_Atomic uint64_t beat_ms;	/* its loop's last sweep, monotonic */
	_Atomic uint64_t job_since_ms;	/* its oldest running job began, 0 */
} __attribute__((aligned(64)));

struct stats {
	_Atomic uint64_t	 workers;	/* live workers, set by master */
	_Atomic uint64_t	 respawns;	/* workers the master replaced */
	_Atomic uint64_t	 reloads;	/* reloads that completed */
	uint64_t		 start_sec;	/* CLOCK_MONOTONIC at start */
	int64_t			 start_unix;	/* the wall clock's then */
	int64_t			 master_pid;	/* with it, names the server */
	struct stats_slot	 slot[STATS_SLOTS];
};

struct stats_sum {
	uint64_t	 workers;
	uint64_t	 respawns;
	uint64_t	 reloads;
	uint64_t	 c[STAT_COUNT];
	uint64_t	 cmd[CMD_COUNT];		/* all services */
	uint64_t	 req[SVC_COUNT][CMD_COUNT];
	uint64_t	 err[ERR_COUNT];
	uint64_t	 hist[CMD_COUNT][HIST_BUCKETS];
	uint64_t	 hist_us[CMD_COUNT];
	uint64_t	 http[HTTP_NCODES];
	uint64_t	 uptime_s;
	long		 pid;		/* the answering worker, or 0 */
	int		 worker;
};

/* One live worker as the status page shows it (stats_worker). */
struct stats_worker {
	int		 worker;
	long		 pid;
	uint64_t	 requests;
	uint64_t	 connections_open;
	uint64_t	 jobs_queued;
	uint64_t	 jobs_running;
	uint64_t	 job_ms;	/* the oldest running job has run */
	uint64_t	 silent_ms;	/* since its loop last swept */
};

struct stats	*stats_create(void);
void	 stats_destroy(struct stats *);
void	 stats_sum(const struct stats *, struct stats_sum *);
void	 stats_reset_gauges(struct stats *, int);
int	 stats_json(struct evbuffer *, const struct stats_sum *);
struct stats_slot *stats_slot_use(struct stats *, int);
void	 stats_observe(struct stats_slot *, enum cmd, uint64_t);
void	 stats_http(struct stats_slot *, int);
uint64_t stats_bound_us(int);
const char *stats_http_name(int);
uint64_t stats_now_us(void);
void	 stats_beat(struct stats_slot *, uint64_t);
int	 stats_worker(const struct stats *, int, uint64_t,
	    struct stats_worker *);
int	 stats_status_json(struct evbuffer *, const struct stats *, int,
	    long);

/* metrics.c: the counters in Prometheus's text format. */
int	 metrics_format(struct evbuffer *, const struct stats *,
	    const struct config *);

static inline void
stats_add(struct stats_slot *s, enum stat_counter c, uint64_t v)
{
	atomic_fetch_add_explicit(&s->c[c], v, memory_order_relaxed);
}

static inline void
stats_sub(struct stats_slot *s, enum stat_counter c, uint64_t v)
{
	atomic_fetch_sub_explicit(&s->c[c], v, memory_order_relaxed);
}

/* Count one request of command cmd on service svc. */
static inline void
stats_request(struct stats_slot *s, enum service svc, enum cmd cmd)
{
	atomic_fetch_add_explicit(&s->req[svc][cmd], 1,
	    memory_order_relaxed);
}

/* queue.c: compute pool, bounded job queue, completion handed to the loop. */
struct flow;

struct job {
	TAILQ_ENTRY(job)	 entry;
	/*
	 * Who waits for it (a pending line reply, an HTTP request) and what
	 * to call with the result: set at submit and cleared when nobody
	 * wants the result any more, both on the loop thread, and read only
	 * there (pool threads never look at them).
	 */
	void			*owner;
	void			(*done)(struct job *);
	enum kernel		 kernel;
	uint64_t		 n;
	uint64_t		 result;	/* 0: cancelled */
	atomic_int		 cancel;
	/* Set by the submitter: jobs of one client take turns. */
	uint64_t		 client;
	/* The queue's own, from submit until the done callback. */
	uint64_t		 cost;		/* expected ns, queue_cost() */
	uint64_t		 key;		/* order in its band's heap */
	uint64_t		 order;		/* eligible order: ties, FIFO */
	uint64_t		 since;		/* queued since, ns */
	uint64_t		 waited;	/* ns spent queued */
	uint64_t		 start;		/* this slice began, ns */
	uint64_t		 check;		/* last asked to yield, ns */
	uint64_t		 charged;	/* run counted to its band till */
	size_t			 slot;		/* index in the heap, or -1 */
	struct flow		*flow;		/* waiting its turn in a flow */
	int			 band;		/* cost band */
	int			 yields;
	atomic_int		 stop;		/* kernel: cancel or yield asked */
	struct prime_state	 st;		/* a sliced job's kernel state */
};
TAILQ_HEAD(jobq, job);

struct queue;
typedef void (*queue_done_cb)(struct job *, void *);
typedef uint64_t (*queue_clock_fn)(void);

struct queue *queue_create(struct event_base *, int, int, int,
	    struct stats_slot *, queue_done_cb, void *);
void	 queue_set_order(struct queue *, enum pool_order, int);
void	 queue_set_clock(struct queue *, queue_clock_fn);
int	 queue_submit(struct queue *, struct job *);
int	 queue_cancel(struct queue *, struct job *);
int	 queue_length(struct queue *);
void	 queue_destroy(struct queue *);
uint64_t queue_oldest(struct queue *);
uint64_t queue_cost(enum kernel, uint64_t);
void	 job_run(struct job *);

/* sockets.c: the master's listening sockets, one per listener and slot. */
int	 sockets_check(const struct config *, char *, size_t);
int	 sockets_acquire(const struct config *, int *, char *, size_t);
void	 sockets_release(const int *, int, int);
int	 sockets_fd(int, int);
void	 sockets_close_all(void);
void	 sockets_name(int, char *, size_t);

/* listener.c: a worker accepting on its socket of a listener. */
struct worker;
typedef void (*listener_handler)(struct worker *, const struct listen_conf *,
	    int);

struct listener {
	const struct listen_conf *lc;
	struct worker		*w;
	listener_handler	 handler;	/* takes each accepted socket */
	struct evconnlistener	*evl;
	struct event		*backoff;
};

int	 listener_start(struct worker *, struct listener *,
	    const struct listen_conf *, int, listener_handler);
void	 listener_stop(struct listener *);

/* conn.c: one client connection, whatever its service and framing. */

/* What a request is answered, before its framing writes it. */
enum answer_kind {
	ANSWER_NUMBER,		/* a prime: value */
	ANSWER_TEXT,		/* text: a line's, or a text/plain body */
	ANSWER_JSON,		/* a JSON document, with its "\n" */
	ANSWER_METRICS,		/* Prometheus's text format */
	ANSWER_PAGE,		/* the status page, HTML */
	ANSWER_ERR,		/* err, and text: why (a static string) */
	ANSWER_NONE		/* nothing (QUIT) */
};

struct answer {
	enum answer_kind kind;
	int		 status;	/* HTTP; 0: 200, or the error's own */
	enum err	 err;
	const char	*text;
	size_t		 len;
	uint64_t	 value;
	const char	*allow;		/* HTTP 405: the methods allowed */
};

/* What the framing must know of a request to write its answer. */
struct ask {
	enum cmd	 cmd;		/* for the counts and the histogram */
	uint64_t	 t0_us;		/* when it came */
	uint64_t	 n;		/* HTTP: the n of /prime/N */
	unsigned	 head:1;	/* HTTP HEAD: no body */
	unsigned	 text:1;	/* HTTP: the prime as text/plain */
	unsigned	 close:1;	/* HTTP: no keep-alive after it */
	unsigned	 http10:1;	/* HTTP/1.0 */
};

/*
 * A place in a connection's reply order. conn.c owns it; what works for
 * it belongs to it too: its timer (freed with it), its job (handed back
 * to the queue with queue_cancel when the answer is no longer wanted) and
 * its answer's text (body).
 */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	struct conn		*conn;
	int			 ready;
	struct ask		 ask;
	struct answer		 ans;
	char			*body;		/* ans.text, owned */
	size_t			 cost;		/* bytes counted for it */
	struct job		*job;		/* while the pool has it */
	struct event		*timer;		/* IO delay or job deadline */
};
TAILQ_HEAD(pendingq, pending);

/*
 * A socket watched for a reset or hangup while nobody reads it (worker.c);
 * embedded in what owns the socket, whose hangup function gets it back.
 */
struct watch {
	void			(*hangup)(struct watch *);
	int			 fd;
	int			 on;
};

enum conn_state {
	CONN_READING,		/* takes requests */
	CONN_FINISHING,		/* takes no more: owes replies, then output */
	CONN_LINGERING,		/* write side shut, reading out the rest */
	CONN_CLOSED		/* torn down; freed once the loop turns */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* w->conns, then w->dead */
	TAILQ_ENTRY(conn)	 resume_entry;
	struct worker		*w;
	struct bufferevent	*bev;		/* output, and its buffers */
	struct event		*rev;		/* the socket is readable */
	int			 fd;
	uint64_t		 id;
	const struct listen_conf *lc;
	enum conn_state		 state;
	struct watch		 watch;		/* for a reset while paused */
	struct pendingq		 pending;
	int			 npending;
	size_t			 inmax;		/* input buffered, at most */
	size_t			 in_bytes;	/* in the input buffer */
	size_t			 pending_bytes;	/* answers not yet out */
	size_t			 out_bytes;	/* in the bufferevent's output */
	size_t			 stop_left;	/* input read before the stop */
	int			 outq;		/* in the socket, at the last sweep */
	int64_t			 last_active;	/* ms, worker_now() */
	int64_t			 partial_since;	/* a request half read */
	int64_t			 linger_since;
	struct ask		 cur;		/* the request being handled */
	unsigned		 reading:1;	/* rev is added */
	unsigned		 asked:1;	/* a whole request came */
	unsigned		 drained:1;	/* the last read emptied the socket */
	unsigned		 continued:1;	/* HTTP: 100 Continue sent */
	unsigned		 resume_queued:1;
	unsigned		 in_progress:1;	/* inside conn_progress */
	unsigned		 stopping:1;	/* graceful stop began */
	unsigned		 stop_first:1;	/* stop after the first bytes */
	unsigned		 eof:1;		/* client half-closed */
};

void	 conn_accept(struct worker *, const struct listen_conf *, int);
void	 conn_free(struct conn *);
void	 conn_progress(struct conn *);
void	 conn_stop(struct conn *);
void	 conn_sweep(struct conn *, int64_t);
void	 conn_finish(struct conn *);
size_t	 conn_holds(struct conn *);
void	 conn_shed(struct conn *);
void	 conn_begin(struct conn *, enum cmd);
int	 conn_took(struct conn *, size_t);
struct pending *conn_defer(struct conn *, const struct answer *);
void	 conn_answer(struct conn *, const struct answer *);
void	 conn_answer_text(struct conn *, enum answer_kind, const char *,
	    size_t);
void	 conn_answer_err(struct conn *, enum err, const char *);
void	 conn_complete(struct pending *, const struct answer *);
void	 conn_complete_err(struct pending *, enum err, const char *);
void	 conn_cancel_work(struct pending *);
void	 conn_emit_raw(struct conn *, const char *, size_t);
int	 conn_out(struct conn *, const void *, size_t);
void	 conn_drain(struct conn *, struct evbuffer *, size_t);

/* command.c: the work a request asks for, shared by every framing. */
void	 command_run(struct conn *, const char *, size_t);
void	 command_upper(struct conn *, const char *, size_t);
void	 command_prime(struct conn *, uint64_t);
void	 command_delay(struct conn *, int, const char *, size_t, int);
void	 command_stats(struct conn *, enum answer_kind);

/* http.c: the HTTP/1.1 framing of a connection. */
size_t	 http_input_max(size_t);
int	 http_next(struct conn *, struct evbuffer *, size_t *);
int	 http_write(struct conn *, const struct ask *, const struct answer *,
	    int);
size_t	 http_refusal(char *, size_t, const char *, const char *);
void	 http_date(char *, size_t);

/* page.c, made from page.html: the status page, and its policy. */
extern const char	 page_html[];
extern const size_t	 page_html_len;
extern const char	 page_csp[];

/* priv.c: the user workers run as. */
struct priv {
	int		 set;		/* 0: stay who we are */
	uid_t		 uid;
	gid_t		 gid;
	char		 name[64];
};

int	 priv_lookup(const char *, struct priv *, char *, size_t);
int	 priv_drop(const struct priv *);

/* worker.c: the life of one worker process. */
struct worker_spec {
	int			 id;		/* slot in the worker table */
	int			 gen;		/* generation (reloads) */
	int			 stats_slot;
	int			 readyfd;	/* write 1 byte when accepting */
	pid_t			 master;	/* gone: do not start */
	struct priv		 priv;
	int			 nfds;
	int			 fds[MAX_LISTENERS];
	const struct listen_conf *lc[MAX_LISTENERS];
};

struct worker {
	struct event_base	*base;
	const struct config	*cfg;
	struct stats		*stats;		/* every worker's counters */
	struct stats_slot	*slot;		/* this worker's own */
	struct queue		*queue;
	int			 id;
	struct listener		 listeners[MAX_LISTENERS];
	int			 nlisteners;
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, conn)	 dead;		/* closed, freed on the next turn */
	TAILQ_HEAD(, conn)	 resume;
	int			 nconns;
	int			 nresume;	/* length of resume */
	uint64_t		 next_conn_id;
	size_t			 held;		/* for clients, every conn */
	char			 date[32];	/* HTTP Date, this second's */
	time_t			 date_sec;
	int			 draining;	/* stopping: health checks fail */
	int			 stopping;	/* no longer accepting */
	int			 retiring;	/* stopping for a reload */
	int			 hangupfd;	/* epoll of paused connections */
	struct event		*ev_term, *ev_int, *ev_hup, *ev_usr2;
	struct event		*ev_sweep;
	struct event		*ev_resume;
	struct event		*ev_reap;
	struct event		*ev_hangup;
	struct event		*ev_drain;
};

void	 worker_main(const struct config *, struct stats *,
	    const struct worker_spec *) __attribute__((noreturn));
void	 worker_add_conn(struct worker *, struct conn *);
void	 worker_del_conn(struct worker *, struct conn *);
void	 worker_resume(struct worker *, struct conn *);
void	 worker_unresume(struct worker *, struct conn *);
int	 worker_watch(struct worker *, struct watch *, int);
void	 worker_unwatch(struct worker *, struct watch *);
void	 worker_held(struct worker *, enum stat_counter, ssize_t);
void	 worker_check_done(struct worker *);
int	 worker_over_memory(struct worker *);
int64_t	 worker_now(struct worker *);

/* master.c */
int	 master_main(struct config *, int, char **);
int	 master_table(const struct config *);

/* notify.c */
void	 notify_send(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 notify_reloading(void);

#endif /* PRIMED_H */
