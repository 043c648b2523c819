/*
 * primed: shared types and prototypes, grouped by the file that defines them.
 */
#ifndef PRIMED_H
#define PRIMED_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

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

#define MAX_LISTENERS	16
#define MAX_WORKERS	256
/* Generations alive at once: serving, starting (a reload), two retiring. */
#define MAX_GENS	4

enum service	{ SVC_PRIME, SVC_UPPER, SVC_ECHO };
enum framing	{ FRAMING_AUTO, FRAMING_LINE, FRAMING_RAW };
enum compute	{ COMPUTE_POOL, COMPUTE_INLINE };
enum io_mode	{ IO_TIMER, IO_BLOCKING };
enum kernel	{ KERNEL_SIEVE, KERNEL_TRIAL };

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
	uint64_t	 table_n;	/* primes kept in the shared table */
	int		 io_delay_ms;
	int		 max_line;
	int		 shutdown_timeout_ms;
	int		 max_connections;	/* per worker */
	int		 max_inflight;		/* per connection */
	int		 idle_timeout_ms;
	int		 read_timeout_ms;
	int		 job_timeout_ms;	/* 0: none */
	int		 pool_nice;		/* 20: SCHED_IDLE */
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
void	 config_usage(FILE *);

/* log.c */
enum { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
void	 log_init(const char *, int);
void	 log_set_name(const char *);
void	 log_set_level(int);
int	 log_level_parse(const char *);
void	 log_msg(int, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
#define log_error(...)	log_msg(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __func__, __VA_ARGS__)

/* prime.c: the kernels; pure CPU, no libevent, safe from any thread. */
int	 prime_table_init(uint64_t);
uint64_t prime_table_count(void);
uint64_t prime_table_get(uint64_t);
void	 prime_table_free(void);
uint64_t prime_nth_sieve(uint64_t, const atomic_int *);
uint64_t prime_nth_trial(uint64_t, const atomic_int *);
int	 prime_trial_is_prime(uint64_t);

/* proto.c: the wire protocol, parsed and formatted; no sockets. */
enum cmd {
	CMD_PRIME, CMD_UPPER, CMD_ECHO, CMD_SLEEP, CMD_PING, CMD_STATS,
	CMD_QUIT, CMD_COUNT
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

void	 proto_parse(const char *, size_t, uint64_t, struct request *);
const char *proto_cmd_name(enum cmd);
const char *proto_err_name(enum err);
int	 proto_reply_err(struct evbuffer *, enum err, const char *);
void	 proto_upper(char *, const char *, size_t);
size_t	 proto_number(char *, uint64_t);

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
	X(bytes_in)							\
	X(bytes_out)

enum stat_counter {
#define X(c) STAT_##c,
	STATS_COUNTERS(X)
#undef X
	STAT_COUNT
};

/* One slot per entry of the master's process table. */
#define STATS_SLOTS	(MAX_GENS * MAX_WORKERS)

struct stats_slot {
	_Atomic uint64_t c[STAT_COUNT];
	_Atomic uint64_t cmd[CMD_COUNT];
	_Atomic uint64_t err[ERR_COUNT];
} __attribute__((aligned(64)));

struct stats {
	_Atomic uint64_t	 workers;	/* live workers, set by master */
	uint64_t		 start_sec;	/* CLOCK_MONOTONIC at start */
	struct stats_slot	 slot[STATS_SLOTS];
};

struct stats_sum {
	uint64_t	 workers;
	uint64_t	 c[STAT_COUNT];
	uint64_t	 cmd[CMD_COUNT];
	uint64_t	 err[ERR_COUNT];
	uint64_t	 uptime_s;
	long		 pid;		/* the answering worker, or 0 */
	int		 worker;
};

struct stats	*stats_create(void);
void	 stats_destroy(struct stats *);
void	 stats_sum(const struct stats *, struct stats_sum *);
void	 stats_reset_gauges(struct stats *, int);
int	 stats_json(struct evbuffer *, const struct stats_sum *);

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

/* queue.c: compute pool, bounded job queue, completion handed to the loop. */
enum job_state	{ JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	TAILQ_ENTRY(job)	 entry;
	/* Who asked: a connection by fd and id, never by pointer. */
	int			 fd;
	uint64_t		 conn_id;
	uint64_t		 seq;
	enum kernel		 kernel;
	uint64_t		 n;
	uint64_t		 result;	/* 0: cancelled */
	enum job_state		 state;
	atomic_int		 cancel;
};
TAILQ_HEAD(jobq, job);

struct queue;
typedef void (*queue_done_cb)(struct job *, void *);

struct queue *queue_create(struct event_base *, int, int, int,
	    struct stats_slot *, queue_done_cb, void *);
int	 queue_submit(struct queue *, struct job *);
int	 queue_cancel(struct queue *, struct job *);
int	 queue_length(struct queue *);
void	 queue_destroy(struct queue *);
void	 job_run(struct job *);

/* listener.c: sockets bound by the master, accepted on by the workers. */
struct listener {
	const struct listen_conf *lc;
	struct worker		*w;
	struct evconnlistener	*evl;
	struct event		*backoff;
};

int	 listener_check(const struct config *, char *, size_t);
int	 listener_acquire(const struct config *, int *, char *, size_t);
void	 listener_release(const int *, int, int);
int	 listener_fd(int, int);
void	 listener_close_all(void);
void	 listener_name(int, char *, size_t);
int	 listener_start(struct worker *, struct listener *,
	    const struct listen_conf *, int);
void	 listener_stop(struct listener *);

/* conn.c: one client connection. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	struct conn		*conn;
	uint64_t		 seq;
	int			 ready;
	char			*reply;
	size_t			 replylen;
	struct job		*job;		/* while the pool has it */
	struct event		*timer;		/* IO delay or job deadline */
};
TAILQ_HEAD(pendingq, pending);

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 resume_entry;
	struct worker		*w;
	struct bufferevent	*bev;
	struct evbuffer		*out;		/* replies of this turn */
	int			 fd;
	uint64_t		 id;
	const struct listen_conf *lc;
	enum framing		 framing;
	struct pendingq		 pending;
	int			 npending;
	uint64_t		 next_seq;
	size_t			 inleft;	/* input bytes already counted */
	size_t			 drain_left;	/* input read before the stop */
	int64_t			 last_active;	/* ms, worker_now() */
	int64_t			 partial_since;	/* a request half read */
	int64_t			 linger_since;
	unsigned		 resume_queued:1;
	unsigned		 busy:1;	/* inside conn_process */
	unsigned		 draining:1;	/* graceful stop began */
	unsigned		 finishing:1;	/* close once output drains */
	unsigned		 lingering:1;	/* write side shut, reading out */
	unsigned		 eof:1;		/* client half-closed */
	unsigned		 done_reading:1;/* take no more requests */
};

void	 conn_accept(struct worker *, const struct listen_conf *, int);
void	 conn_close(struct conn *, const char *);
void	 conn_process(struct conn *);
void	 conn_drain(struct conn *);
void	 conn_sweep(struct conn *, int64_t);
struct pending *conn_defer(struct conn *);
struct pending *conn_find(struct conn *, uint64_t, struct job *);
void	 conn_reply(struct conn *, const char *, size_t);
void	 conn_reply_err(struct conn *, enum err, const char *);
void	 conn_complete(struct pending *, const char *, size_t);
void	 conn_complete_err(struct pending *, enum err, const char *);

/* command.c: what each request does. */
void	 command_run(struct conn *, const char *, size_t);
void	 command_upper(struct conn *, const char *, size_t);
void	 command_job_done(struct job *, void *);
void	 command_cancel(struct pending *);

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
	struct stats		*stats;
	struct stats_slot	*st;
	struct queue		*queue;
	int			 id;
	struct listener		 listeners[MAX_LISTENERS];
	int			 nlisteners;
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, conn)	 resume;
	int			 nconns;
	struct conn		**byfd;
	int			 nbyfd;
	uint64_t		 next_conn_id;
	int			 stopping;
	int			 retiring;	/* stopping for a reload */
	struct event		*ev_term, *ev_int, *ev_hup, *ev_usr2;
	struct event		*ev_sweep;
	struct event		*ev_resume;
	int			 nresume;
};

void	 worker_main(const struct config *, struct stats *,
	    const struct worker_spec *) __attribute__((noreturn));
int	 worker_add_conn(struct worker *, struct conn *);
void	 worker_del_conn(struct worker *, struct conn *);
struct conn *worker_find_conn(struct worker *, int, uint64_t);
void	 worker_resume(struct worker *, struct conn *);
int64_t	 worker_now(struct worker *);

/* master.c */
int	 master_main(struct config *, int, char **);
int	 master_table(const struct config *);

/* notify.c */
int	 notify_enabled(void);
void	 notify_send(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 notify_reloading(void);

#endif /* PRIMED_H */
