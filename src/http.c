/*
 * http.c: the http service, on libevent's evhttp.
 *
 * Each worker that has an http listener runs one evhttp on its own base,
 * accepting on its own reuseport socket of each such listener. Requests go
 * through route.c, then the same paths as the line protocol: cheap answers
 * on the loop, PRIME through the worker's compute queue (the reply is sent
 * from the loop when the job comes back), UPPER after the IO delay.
 *
 * evhttp in libevent 2.1 tells nobody about a new connection, so primed
 * learns of it in two steps: the bufferevent callback (evhttp_set_bevcb)
 * makes each connection's bufferevent, holds a reference on it and notes
 * it; right after the accept, still in the same loop turn, http_fresh finds
 * the evhttp connection behind it (the bufferevent's callback argument)
 * and adopts it: counts it against max-connections, registers a close
 * callback and keeps an hconn for it. That is what lets max-connections,
 * the read timeout, graceful stop and "a client that leaves cancels its
 * job" apply here as they do to the line services.
 *
 * evhttp reads nothing more from a connection while a request waits for
 * its reply, so a client that leaves then would go unnoticed: such a
 * connection is put in the worker's hangup watch, and a hangup cancels the
 * request's job or timer and frees the connection.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "primed.h"

#define HEADERS_MAX	(64 * 1024)	/* evhttp stops reading past this */
#define HEADER_BYTES	(8 * 1024)	/* past this: 431 */
#define HEADER_FIELDS	100		/* past this: 431 */
#define RETRY_AFTER	"1"		/* seconds, with 503 */

struct hreq;

/* One HTTP connection, adopted from evhttp. */
struct hconn {
	TAILQ_ENTRY(hconn)	 entry;
	struct httpd		*hd;
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	struct watch		 watch;
	uint64_t		 id;		/* jobs of one client take turns */
	struct hreq		*req;		/* the request waiting, if any */
	int64_t			 partial_since;	/* a request half read */
	unsigned		 closing:1;	/* close after this reply */
};

/* One request; a copy on the heap while its reply waits. */
struct hreq {
	struct httpd		*hd;
	struct hconn		*hc;		/* NULL once the client is gone */
	struct evhttp_request	*req;
	struct job		*job;
	struct event		*timer;		/* IO delay or job deadline */
	enum cmd		 cmd;		/* what it counts as */
	int			 text;		/* ?format=text */
	uint64_t		 n;
	uint64_t		 t0_us;
};

struct httpd {
	struct worker		*w;
	struct evhttp		*http;
	TAILQ_HEAD(, hconn)	 conns;
	int			 nconns;
	struct hconn		**byfd;
	int			 nbyfd;
	struct bufferevent	**fresh;	/* made, not yet adopted */
	int			 nfresh;
	int			 capfresh;
	struct event		*ev_fresh;
};

static void	http_closed(struct evhttp_connection *, void *);
static void	http_hangup(struct watch *);

/* The reason phrase of a status. */
static const char *
http_reason(int code)
{
	switch (code) {
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 413:	return "Payload Too Large";
	case 431:	return "Request Header Fields Too Large";
	case 503:	return "Service Unavailable";
	case 504:	return "Gateway Timeout";
	default:	return "Internal Server Error";
	}
}

/*
 * Send the reply to hr: status code, a content type and body (emptied).
 * Counts it and times it. A connection that is closing says so, and evhttp
 * closes it once the reply is written.
 */
static void
http_send(struct hreq *hr, int code, const char *type, struct evbuffer *body)
{
	struct evhttp_request	*req = hr->req;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct worker		*w = hr->hd->w;
	struct hconn		*hc = hr->hc;
	char			 len[32];

	evhttp_add_header(out, "Content-Type", type);
	if (code == 503)
		evhttp_add_header(out, "Retry-After", RETRY_AFTER);
	if (w->stopping || (hc != NULL && hc->closing))
		evhttp_add_header(out, "Connection", "close");
	stats_add(w->slot, STAT_requests, 1);
	stats_add(w->slot, STAT_bytes_out, evbuffer_get_length(body));
	stats_http(w->slot, code);
	stats_observe(w->slot, hr->cmd, stats_now_us() - hr->t0_us);
	if (hc != NULL && hc->req != NULL && hc->req->req == req)
		hc->req = NULL;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* evhttp 2.1 would send HEAD a body and no length: say it. */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(out, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, http_reason(code), body);
}

/* Send a short body given as a string. */
static void
http_send_text(struct hreq *hr, int code, const char *type, const char *text)
{
	struct evbuffer	*body;

	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(hr->req, 500, NULL);
		return;
	}
	evbuffer_add(body, text, strlen(text));
	http_send(hr, code, type, body);
	evbuffer_free(body);
}

/* Reply {"error":code,"message":why} with an HTTP status. */
static void
http_send_err(struct hreq *hr, int code, enum err e, const char *why)
{
	char	buf[PROTO_ERR_MAX + 64];
	size_t	i, n;

	atomic_fetch_add_explicit(&hr->hd->w->slot->err[e], 1,
	    memory_order_relaxed);
	n = (size_t)snprintf(buf, sizeof(buf), "{\"error\":\"%s\","
	    "\"message\":\"", proto_err_name(e));
	/* Our reasons are plain text; keep them so (no quotes, no controls). */
	for (i = 0; why != NULL && why[i] != '\0' && n + 4 < sizeof(buf); i++)
		buf[n++] = (why[i] == '"' || why[i] == '\\' ||
		    (unsigned char)why[i] < 0x20) ? ' ' : why[i];
	snprintf(buf + n, sizeof(buf) - n, "\"}\n");
	http_send_text(hr, code, "application/json", buf);
}

/* Answer an error and close the connection after it; -1. */
static int
http_fail(struct hreq *hr, int code, enum err e, const char *why)
{
	if (hr->hc != NULL)
		hr->hc->closing = 1;
	http_send_err(hr, code, e, why);
	return -1;
}

/* Send the answer to PRIME n as JSON, or as text when asked. */
static void
http_send_prime(struct hreq *hr, uint64_t p)
{
	char	buf[2 * PROTO_NUMBER_MAX + 32], num[PROTO_NUMBER_MAX];
	size_t	len;

	len = proto_number(num, p) - 1;	/* without its "\n" */
	if (hr->text)
		snprintf(buf, sizeof(buf), "%.*s\n", (int)len, num);
	else
		snprintf(buf, sizeof(buf), "{\"n\":%llu,\"prime\":%.*s}\n",
		    (unsigned long long)hr->n, (int)len, num);
	http_send_text(hr, 200, hr->text ? "text/plain" : "application/json",
	    buf);
}

/* Stop the job and the timer of a waiting request. */
static void
http_cancel_work(struct hreq *hr)
{
	if (hr->timer != NULL) {
		event_free(hr->timer);
		hr->timer = NULL;
	}
	if (hr->job != NULL) {
		hr->job->owner = NULL;
		if (queue_cancel(hr->hd->w->queue, hr->job))
			free(hr->job);
		hr->job = NULL;
	}
}

/* Free a waiting request that has been answered (or whose client left). */
static void
http_free_req(struct hreq *hr)
{
	http_cancel_work(hr);
	if (hr->hc != NULL && hr->hc->req == hr)
		hr->hc->req = NULL;
	free(hr);
}

/* A reply will come later: keep a copy of hr and watch its client. */
static struct hreq *
http_defer(struct hreq *hr)
{
	struct hconn	*hc = hr->hc;
	struct hreq	*late;

	if (hc == NULL || (late = malloc(sizeof(*late))) == NULL)
		return NULL;
	*late = *hr;
	hc->req = late;
	/* A half-close counts: an HTTP client that shuts its side is gone. */
	if (!hc->watch.on &&
	    worker_watch(hr->hd->w, &hc->watch, EPOLLRDHUP) == -1)
		log_warn("cannot watch an http client for a hangup");
	return late;
}

/* On the loop: the job of a waiting /prime/N came back. */
static void
http_job_done(struct job *job)
{
	struct hreq	*hr = job->owner;

	hr->job = NULL;
	if (job->result == 0)
		http_send_err(hr, 503, ERR_BUSY, "out of memory for the job");
	else
		http_send_prime(hr, job->result);
	free(job);
	http_free_req(hr);
}

/* Timer: a job ran past its deadline. */
static void
http_job_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hreq	*hr = arg;

	http_cancel_work(hr);
	http_send_err(hr, 504, ERR_TIMEOUT, "job ran past job-timeout");
	http_free_req(hr);
}

/* Start the timer of hr: ms, then cb. */
static int
http_timer(struct hreq *hr, int ms, event_callback_fn cb)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((hr->timer = evtimer_new(hr->hd->w->base, cb, hr)) == NULL)
		return -1;
	return evtimer_add(hr->timer, &tv);
}

/* GET /prime/N: from the table or the loop when cheap, else a job. */
static void
http_prime(struct hreq *hr, const struct route *r)
{
	const struct config	*cfg = hr->hd->w->cfg;
	struct hreq		*late;
	struct job		*job;
	uint64_t		 p;

	hr->n = r->n;
	hr->text = r->text;
	if (command_prime_cheap(hr->hd->w, r->n, &p)) {
		http_send_prime(hr, p);
		return;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (late = http_defer(hr)) == NULL) {
		free(job);
		http_send_err(hr, 503, ERR_BUSY, "out of memory");
		return;
	}
	job->owner = late;
	job->done = http_job_done;
	job->client = hr->hc->id;
	job->kernel = cfg->kernel;
	job->n = r->n;
	if (queue_submit(hr->hd->w->queue, job) == -1) {
		free(job);
		http_free_req(late);
		http_send_err(hr, 503, ERR_BUSY, "compute queue full");
		return;
	}
	late->job = job;
	if (cfg->job_timeout_ms > 0 &&
	    http_timer(late, cfg->job_timeout_ms, http_job_timeout) == -1)
		log_warn("no timer for a job deadline");
}

/* Timer: the IO wait of POST /upper is over. */
static void
http_upper_done(evutil_socket_t fd, short what, void *arg)
{
	struct hreq	*hr = arg;

	http_send(hr, 200, "text/plain",
	    evhttp_request_get_input_buffer(hr->req));
	http_free_req(hr);
}

/*
 * POST /upper and /echo: the body back, upper-cased after the IO delay.
 * The reply is the request's own body, which evhttp leaves alone once
 * the request is read.
 */
static void
http_body(struct hreq *hr, const struct route *r)
{
	const struct config	*cfg = hr->hd->w->cfg;
	struct evbuffer		*in = evhttp_request_get_input_buffer(hr->req);
	struct hreq		*late;
	size_t			 len = evbuffer_get_length(in);
	char			*p;

	if (hr->cmd == CMD_ECHO) {
		http_send(hr, 200, "text/plain", in);
		return;
	}
	if ((p = (char *)evbuffer_pullup(in, -1)) == NULL && len > 0) {
		http_send_err(hr, 503, ERR_BUSY, "out of memory");
		return;
	}
	proto_upper(p, p, len);
	if (cfg->io == IO_BLOCKING) {
		/* The blocking server of the lesson: the whole loop waits. */
		usleep((useconds_t)cfg->io_delay_ms * 1000);
		http_send(hr, 200, "text/plain", in);
		return;
	}
	if ((late = http_defer(hr)) == NULL) {
		http_send_err(hr, 503, ERR_BUSY, "out of memory");
		return;
	}
	if (http_timer(late, cfg->io_delay_ms, http_upper_done) == -1) {
		http_free_req(late);
		http_send_err(hr, 503, ERR_BUSY, "out of timers");
	}
}

/* GET /healthz (the loop answers) and /readyz (serving, queue has room). */
static void
http_probe(struct hreq *hr, const struct route *r)
{
	struct worker	*w = hr->hd->w;

	if (r->id == ROUTE_HEALTHZ)
		http_send_text(hr, 200, "text/plain", "ok\n");
	else if (w->draining)
		http_send_text(hr, 503, "text/plain", "draining\n");
	else if (w->queue != NULL &&
	    queue_length(w->queue) >= w->cfg->queue_limit)
		http_send_text(hr, 503, "text/plain", "busy\n");
	else
		http_send_text(hr, 200, "text/plain", "ready\n");
}

/* GET /stats and /metrics: the whole server's counters. */
static void
http_counters(struct hreq *hr, const struct route *r)
{
	struct worker		*w = hr->hd->w;
	struct stats_sum	 sum;
	struct evbuffer		*body;
	int			 rc;

	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(hr->req, 500, NULL);
		return;
	}
	if (r->id == ROUTE_METRICS)
		rc = metrics_format(body, w->stats, w->cfg);
	else {
		stats_sum(w->stats, &sum);
		sum.pid = (long)getpid();
		sum.worker = w->id;
		rc = stats_json(body, &sum);
	}
	if (rc == -1)
		http_send_err(hr, 503, ERR_BUSY, "out of memory");
	else
		http_send(hr, 200, r->id == ROUTE_METRICS ?
		    "text/plain; version=0.0.4; charset=utf-8" :
		    "application/json", body);
	evbuffer_free(body);
}

/*
 * True for a request target that is neither a path nor an http(s) URL:
 * evhttp would read "//x/metrics" as host x and path /metrics, past any
 * front end that filters by path.
 */
static int
http_odd_target(struct evhttp_request *req)
{
	const char	*t = evhttp_request_get_uri(req);

	if (t == NULL || t[0] == '\0')
		return 1;
	if (t[0] == '/')
		return t[1] == '/';
	return strncasecmp(t, "http://", 7) != 0 &&
	    strncasecmp(t, "https://", 8) != 0;
}

/* The METHOD_* bit of a request. */
static int
http_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return METHOD_GET;
	case EVHTTP_REQ_HEAD:
		return METHOD_HEAD;
	case EVHTTP_REQ_POST:
		return METHOD_POST;
	default:
		return METHOD_OTHER;
	}
}

/* True for the methods evhttp reads a body for. */
static int
http_has_body(struct evhttp_request *req)
{
	return (evhttp_request_get_command(req) & (EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH)) != 0;
}

/*
 * Refuse headers that are too many or too big (431), and a request with
 * both Content-Length and Transfer-Encoding, two Content-Lengths, a
 * Transfer-Encoding other than chunked, a field name with blanks in it,
 * a length on a request without a body, or a target that is not a path:
 * the stuff of request smuggling, where a front end and evhttp could read
 * the message differently (400, and the connection is closed).
 */
static int
http_check(struct hreq *hr)
{
	struct evkeyvalq	*hs = evhttp_request_get_input_headers(hr->req);
	struct evkeyval		*h;
	size_t			 bytes = 0;
	int			 n = 0, cl = 0, te = 0, odd = 0;

	TAILQ_FOREACH(h, hs, next) {
		n++;
		bytes += strlen(h->key) + strlen(h->value) + 4;
		cl += strcasecmp(h->key, "Content-Length") == 0;
		if (strcasecmp(h->key, "Transfer-Encoding") == 0) {
			te++;
			/* evhttp knows only chunked; anything else it ignores. */
			odd += strcasecmp(h->value, "chunked") != 0;
		}
		/* "Content-Length :" is not Content-Length to us: refuse it. */
		odd += strpbrk(h->key, " \t") != NULL;
	}
	/* A length on a request evhttp reads no body for is a second one. */
	if ((cl > 0 || te > 0) && !http_has_body(hr->req))
		odd++;
	if (n > HEADER_FIELDS || bytes > HEADER_BYTES)
		return http_fail(hr, 431, ERR_TOO_LONG,
		    "request headers too large");
	if (cl > 1 || (cl > 0 && te > 0) || odd > 0)
		return http_fail(hr, 400, ERR_BAD_REQUEST,
		    "ambiguous message length");
	if (http_odd_target(hr->req))
		return http_fail(hr, 400, ERR_BAD_REQUEST,
		    "request target must be a path");
	return 0;
}

/* What each route counts as, and what answers it. */
static const struct {
	enum cmd	 cmd;
	void		(*answer)(struct hreq *, const struct route *);
} routes[] = {
	[ROUTE_NONE] =		{ CMD_COUNT,	NULL },
	[ROUTE_PRIME] =		{ CMD_PRIME,	http_prime },
	[ROUTE_UPPER] =		{ CMD_UPPER,	http_body },
	[ROUTE_ECHO] =		{ CMD_ECHO,	http_body },
	[ROUTE_HEALTHZ] =	{ CMD_PING,	http_probe },
	[ROUTE_READYZ] =	{ CMD_PING,	http_probe },
	[ROUTE_STATS] =		{ CMD_STATS,	http_counters },
	[ROUTE_METRICS] =	{ CMD_STATS,	http_counters },
};

/* True when the client prefers text/plain to JSON. */
static int
http_wants_text(struct evhttp_request *req)
{
	const char	*a = evhttp_find_header(
			    evhttp_request_get_input_headers(req), "Accept");

	return a != NULL && strstr(a, "text/plain") != NULL &&
	    strstr(a, "application/json") == NULL;
}

/* The hconn of the connection req came on, or NULL. */
static struct hconn *
http_conn_of(struct httpd *hd, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct hconn			*hc;
	int				 fd;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return NULL;
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd < 0 || fd >= hd->nbyfd || (hc = hd->byfd[fd]) == NULL ||
	    hc->evcon != evcon)
		return NULL;
	return hc;
}

/*
 * evhttp: a whole request has arrived. It is answered from hr, on the
 * stack; one whose reply waits takes a copy (http_defer).
 */
static void
http_request(struct evhttp_request *req, void *arg)
{
	struct httpd		*hd = arg;
	struct hreq		 hr = { .hd = hd, .req = req,
				    .cmd = CMD_COUNT };
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct route		 r;
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;

	hr.t0_us = stats_now_us();
	if ((hr.hc = http_conn_of(hd, req)) != NULL)
		hr.hc->partial_since = 0;
	if (http_check(&hr) == -1)
		return;
	route_parse(http_method(req), path != NULL && path[0] != '\0' ? path :
	    "/", uri ? evhttp_uri_get_query(uri) : NULL, hd->w->cfg->max_n, &r);
	if ((hr.cmd = routes[r.id].cmd) != CMD_COUNT)
		stats_request(hd->w->slot, SVC_HTTP, hr.cmd);
	/* Accept: text/plain asks for the bare number, unless format= says. */
	if (r.id == ROUTE_PRIME && !r.format_set && http_wants_text(req))
		r.text = 1;
	if (r.status == 405)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", r.allow);
	if (r.status != 0)
		http_send_err(&hr, r.status, r.err, r.why);
	else
		routes[r.id].answer(&hr, &r);
}

/* Bytes arrived on an idle connection: a request has begun. */
static void
http_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct hconn	*hc = arg;

	if (info->n_added == 0)
		return;
	stats_add(hc->hd->w->slot, STAT_bytes_in, info->n_added);
	if (hc->req == NULL && hc->partial_since == 0)
		hc->partial_since = worker_now(hc->hd->w);
}

/* Keep hc findable by its descriptor. */
static int
http_index(struct httpd *hd, struct hconn *hc, int fd)
{
	struct hconn	**t;
	int		  n;

	if (fd >= hd->nbyfd) {
		n = hd->nbyfd ? hd->nbyfd : 1024;
		while (n <= fd)
			n *= 2;
		if ((t = realloc(hd->byfd, (size_t)n * sizeof(*t))) == NULL)
			return -1;
		memset(t + hd->nbyfd, 0, (size_t)(n - hd->nbyfd) * sizeof(*t));
		hd->byfd = t;
		hd->nbyfd = n;
	}
	hd->byfd[fd] = hc;
	return 0;
}

/* Refuse a fresh connection with 503 in one write, and let it go. */
static void
http_refuse(struct httpd *hd, struct evhttp_connection *evcon, int fd,
    const char *why)
{
	char	body[128], buf[512];
	int	n;

	snprintf(body, sizeof(body), "{\"error\":\"busy\",\"message\":\"%s\"}\n",
	    why);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nRetry-After: " RETRY_AFTER
	    "\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
	(void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	stats_add(hd->w->slot, STAT_connections_rejected, 1);
	atomic_fetch_add_explicit(&hd->w->slot->err[ERR_BUSY], 1,
	    memory_order_relaxed);
	stats_http(hd->w->slot, 503);
	evhttp_connection_free(evcon);
}

/* Adopt a connection evhttp has just made. */
static void
http_adopt(struct httpd *hd, struct evhttp_connection *evcon,
    struct bufferevent *bev)
{
	struct worker	*w = hd->w;
	struct hconn	*hc;
	int		 fd = bufferevent_getfd(bev);

	if (w->stopping) {
		http_refuse(hd, evcon, fd, "server is stopping");
		return;
	}
	if (w->nconns + hd->nconns >= w->cfg->max_connections) {
		http_refuse(hd, evcon, fd, "too many connections");
		return;
	}
	if ((hc = calloc(1, sizeof(*hc))) == NULL ||
	    http_index(hd, hc, fd) == -1 || evbuffer_add_cb(
	    bufferevent_get_input(bev), http_input, hc) == NULL) {
		if (hc != NULL && fd < hd->nbyfd)
			hd->byfd[fd] = NULL;
		free(hc);
		http_refuse(hd, evcon, fd, "out of memory");
		return;
	}
	hc->hd = hd;
	hc->id = ++w->next_conn_id;
	hc->evcon = evcon;
	hc->bev = bev;
	hc->watch.hangup = http_hangup;
	hc->watch.fd = fd;
	TAILQ_INSERT_TAIL(&hd->conns, hc, entry);
	hd->nconns++;
	evhttp_connection_set_closecb(evcon, http_closed, hc);
	stats_add(w->slot, STAT_connections_open, 1);
	stats_add(w->slot, STAT_connections_total, 1);
}

/*
 * Right after the accepts of this turn: find the evhttp connection behind
 * each bufferevent made for it, and adopt it. One evhttp let go of already
 * (it failed at once) has no callbacks left.
 */
static void
http_fresh(evutil_socket_t fd, short what, void *arg)
{
	struct httpd			*hd = arg;
	struct bufferevent		*bev;
	bufferevent_data_cb		 readcb;
	void				*cbarg;
	int				 i;

	for (i = 0; i < hd->nfresh; i++) {
		bev = hd->fresh[i];
		bufferevent_getcb(bev, &readcb, NULL, NULL, &cbarg);
		if (readcb != NULL && cbarg != NULL)
			http_adopt(hd, cbarg, bev);
		bufferevent_decref(bev);
	}
	hd->nfresh = 0;
}

/* evhttp: make the bufferevent of a new connection (and note it). */
static struct bufferevent *
http_new_bev(struct event_base *base, void *arg)
{
	struct httpd		*hd = arg;
	struct bufferevent	*bev, **t;
	int			 n;

	if (hd->nfresh == hd->capfresh) {
		n = hd->capfresh ? 2 * hd->capfresh : 64;
		if ((t = realloc(hd->fresh, (size_t)n * sizeof(*t))) == NULL)
			return NULL;
		hd->fresh = t;
		hd->capfresh = n;
	}
	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return NULL;
	/*
	 * evhttp reads on while it writes a reply (to see a close): without
	 * a mark, a client that pipelines and never reads fills our memory.
	 */
	bufferevent_setwatermark(bev, EV_READ, 0, HEADERS_MAX +
	    (size_t)hd->w->cfg->max_line + 4096);
	bufferevent_incref(bev);
	hd->fresh[hd->nfresh++] = bev;
	event_active(hd->ev_fresh, EV_READ, 1);
	return bev;
}

/* evhttp: a connection goes away; forget it and what it waited for. */
static void
http_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hconn	*hc = arg;
	struct httpd	*hd = hc->hd;
	struct hreq	*hr = hc->req;
	int		 fd = hc->watch.fd;

	if (hr != NULL) {
		/*
		 * Left on its own by evhttp (the client went): ours to free.
		 * Still on the connection (we free it): evhttp frees it.
		 */
		if (evhttp_request_get_connection(hr->req) == NULL)
			evhttp_request_free(hr->req);
		hc->req = NULL;
		hr->hc = NULL;
		http_free_req(hr);	/* and its job or timer */
	}
	worker_unwatch(hd->w, &hc->watch);
	evbuffer_remove_cb(bufferevent_get_input(hc->bev), http_input, hc);
	if (fd >= 0 && fd < hd->nbyfd && hd->byfd[fd] == hc)
		hd->byfd[fd] = NULL;
	TAILQ_REMOVE(&hd->conns, hc, entry);
	hd->nconns--;
	stats_sub(hd->w->slot, STAT_connections_open, 1);
	free(hc);
	worker_check_done(hd->w);
}

/* The hangup watch: the client of a waiting request is gone. */
static void
http_hangup(struct watch *wt)
{
	struct hconn	*hc = (struct hconn *)(void *)((char *)wt -
			    offsetof(struct hconn, watch));

	log_debug("http client gone");
	evhttp_connection_free(hc->evcon);	/* http_closed does the rest */
}

/* Make the worker's evhttp; NULL on failure. */
struct httpd *
http_create(struct worker *w)
{
	const struct config	*cfg = w->cfg;
	struct httpd		*hd;
	struct timeval		 tv;

	if ((hd = calloc(1, sizeof(*hd))) == NULL)
		return NULL;
	hd->w = w;
	TAILQ_INIT(&hd->conns);
	if ((hd->http = evhttp_new(w->base)) == NULL ||
	    (hd->ev_fresh = event_new(w->base, -1, 0, http_fresh, hd)) ==
	    NULL) {
		http_free(hd);
		return NULL;
	}
	evhttp_set_gencb(hd->http, http_request, hd);
	evhttp_set_bevcb(hd->http, http_new_bev, hd);
	evhttp_set_max_headers_size(hd->http, HEADERS_MAX);
	evhttp_set_max_body_size(hd->http, cfg->max_line);
	evhttp_set_allowed_methods(hd->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(hd->http, "text/plain");
	/* evhttp's own timer is the idle timeout; the read timeout is ours. */
	if (cfg->idle_timeout_ms > 0) {
		tv.tv_sec = cfg->idle_timeout_ms / 1000;
		tv.tv_usec = (cfg->idle_timeout_ms % 1000) * 1000;
		evhttp_set_timeout_tv(hd->http, &tv);
	}
	return hd;
}

/* Accept HTTP on fd (already listening) into l; -1 on failure. */
int
http_listen(struct httpd *hd, struct listener *l, int fd)
{
	if ((l->bound = evhttp_accept_socket_with_handle(hd->http, fd)) ==
	    NULL)
		return -1;
	l->evl = evhttp_bound_socket_get_listener(l->bound);
	return 0;
}

/* Stop accepting on l. */
void
http_unlisten(struct httpd *hd, struct listener *l)
{
	if (l->bound != NULL)
		evhttp_del_accept_socket(hd->http, l->bound);
	l->bound = NULL;
	l->evl = NULL;
}

/*
 * Graceful stop: an idle connection (no request waiting for its reply)
 * is closed now; a busy one closes once its reply is written.
 */
void
http_stop(struct httpd *hd)
{
	struct hconn	*hc, *next;

	for (hc = TAILQ_FIRST(&hd->conns); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, entry);
		if (hc->req != NULL)
			hc->closing = 1;
		else
			evhttp_connection_free(hc->evcon);
	}
}

/* A few times a second: close connections that take too long to ask. */
void
http_sweep(struct httpd *hd, int64_t now)
{
	const struct config	*cfg = hd->w->cfg;
	struct hconn		*hc, *next;

	if (cfg->read_timeout_ms <= 0)
		return;
	for (hc = TAILQ_FIRST(&hd->conns); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, entry);
		if (hc->req == NULL && hc->partial_since != 0 &&
		    now - hc->partial_since >= cfg->read_timeout_ms) {
			log_debug("http read timeout");
			evhttp_connection_free(hc->evcon);
		}
	}
}

/* Connections open. */
int
http_count(const struct httpd *hd)
{
	return hd != NULL ? hd->nconns : 0;
}

/* Free the worker's evhttp and every connection it has. */
void
http_free(struct httpd *hd)
{
	if (hd == NULL)
		return;
	if (hd->http != NULL)
		evhttp_free(hd->http);	/* closes every connection */
	http_fresh(-1, 0, hd);
	if (hd->ev_fresh != NULL)
		event_free(hd->ev_fresh);
	free(hd->fresh);
	free(hd->byfd);
	free(hd);
}
