/*
 * primed-load: one connection, as seen by the files that drive it
 * (client.c, feed.c, frame.c). Nothing outside them includes this.
 *
 * A client is a connection's life (client.c) plus two tables of
 * operations chosen when it is made:
 *   feed   when requests are sent and what a connection is for: closed
 *          loop, open loop, long requests, one shot, idle (feed.c);
 *   frame  how replies are cut out of the byte stream and judged: line,
 *          raw, until-close, HTTP/1.1 (frame.c, http.c).
 * A mode of the command line is a pair of them: --oneshot --http is the
 * oneshot feed with the HTTP frame. client.c never asks which.
 */
#ifndef LOAD_CLIENT_H
#define LOAD_CLIENT_H

#include "load.h"
#include "http.h"

struct bufferevent;
struct evbuffer;

enum cstate { C_IDLE, C_CONNECTING, C_UP, C_BACKOFF, C_DONE };

struct flight {
	uint64_t	t0;		/* latency counts from here */
	bool		measured;
};

struct client;

/* When requests go out; each function is called on the worker's loop. */
struct feed {
	bool		 pipelines;	/* obeys --pipeline */
	bool		 reconnects;	/* a lost connection is opened again */
	bool		 counted;	/* its end counts for the worker's end */
	void		(*start)(struct client *);
	void		(*up)(struct client *, uint64_t);	/* connected */
	void		(*more)(struct client *, uint64_t);	/* replied */
	bool		(*wants)(const struct client *);	/* work left? */
	void		(*stop)(struct client *);		/* run stops */
	void		(*end)(struct client *, uint64_t);	/* run ended */
};

/* How replies are read. */
struct frame {
	bool		 pipelines;	/* replies can be told apart */
	void		(*open)(struct client *);		/* new socket */
	void		(*read)(struct client *, struct evbuffer *, uint64_t);
	void		(*eof)(struct client *, struct evbuffer *, uint64_t);
};

struct client {
	struct worker		*w;
	const struct load_opts	*o;
	const struct feed	*feed;
	const struct frame	*frame;
	unsigned		 id;	/* among the run's main or long clients */
	bool			 is_long; /* its results go to the long tally */
	enum cstate		 state;
	const char		*req;		/* bytes of one request */
	size_t			 req_len;
	const char		*expect;	/* NULL: any reply will do */
	size_t			 expect_len;
	uint64_t		 timeout_ns;	/* 0: none */
	struct bufferevent	*bev;
	struct evbuffer		*out;		/* requests not yet written */
	struct event		*ev_timer;
	struct flight		*ring;
	unsigned		 cap;
	unsigned		 head;
	unsigned		 n;		/* in flight */
	struct sched_cursor	 cur;
	uint64_t		 conn_t0;
	uint64_t		 backoff_ns;
	bool			 exhausted;	/* closed loop: no more to send */
	bool			 resend;	/* ring to send again on connect */
	struct http_resp	 http;		/* HTTP frame: reply being read */
	struct http_match	 match;
};

/* client.c: the connection's life, for the feeds and frames. */
void		 client_connect(struct client *);
bool		 client_send(struct client *, uint64_t, bool);
void		 client_expired(struct client *, uint64_t, uint64_t);
void		 client_finish(struct client *);
void		 client_retry(struct client *, uint64_t);
void		 client_close(struct client *, enum load_err);
void		 client_reopen(struct client *);
bool		 client_answered(struct client *, int, uint64_t);
bool		 client_reply(struct client *, int, uint64_t);
void		 client_flush(struct client *);

/* feed.c */
const struct feed *feed_for(const struct load_opts *, bool);
void		 feed_pump(struct client *, uint64_t);

/* frame.c */
const struct frame *frame_for(const struct load_opts *);

#endif /* LOAD_CLIENT_H */
