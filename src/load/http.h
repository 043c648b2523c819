/*
 * primed-load: HTTP/1.1 responses read piece by piece, and the requests
 * that ask for them (http.c). Pure: no sockets, no libevent, no clock.
 */
#ifndef LOAD_HTTP_H
#define LOAD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD	(64 * 1024)	/* status line, headers, trailers */
#define HTTP_MAX_BODY	(64 * 1024 * 1024) /* body and chunk framing */
#define HTTP_MAX_CHUNK_LINE 1024	/* chunk size and its extensions */
#define HTTP_MAX_PATH	8192

/* What http_parse found. */
enum http_step {
	HTTP_NEED,	/* everything usable was taken: more bytes, please */
	HTTP_DATA,	/* a piece of the body */
	HTTP_DONE,	/* the response is complete */
	HTTP_BAD	/* not a response we can read (why says it) */
};

enum http_state {
	HS_STATUS, HS_HEADER, HS_BODY, HS_CHUNK_SIZE, HS_CHUNK_DATA,
	HS_CHUNK_END, HS_TRAILER, HS_UNTIL_CLOSE, HS_DONE, HS_BAD
};

/* One response being read. */
struct http_resp {
	enum http_state	 state;
	int		 status;	/* 100..599 */
	int		 minor;		/* HTTP/1.minor */
	bool		 begun;		/* a status line came */
	bool		 has_length;
	bool		 te;		/* Transfer-Encoding was given */
	bool		 chunked;	/* ... and ends in chunked */
	bool		 conn_close;	/* Connection: close */
	bool		 keep_alive;	/* Connection: keep-alive */
	bool		 close;		/* the server closes after this one */
	uint64_t	 length;	/* Content-Length */
	uint64_t	 left;		/* of the body or of the chunk */
	uint64_t	 body;		/* body bytes so far */
	uint64_t	 rest;		/* body and chunk framing so far */
	size_t		 head;		/* header bytes so far */
	const char	*why;
};

/* Does a body equal the expected text, trailing CR and LF aside? */
struct http_match {
	const char	*want;
	size_t		 len;
	uint64_t	 at;
	bool		 ok;
};

void		 http_resp_init(struct http_resp *);
enum http_step	 http_parse(struct http_resp *, const char *, size_t,
		    size_t *, const char **, size_t *);
enum http_step	 http_eof(struct http_resp *, size_t);
bool		 http_in_head(const struct http_resp *);

void		 http_match_init(struct http_match *, const char *, size_t);
void		 http_match_feed(struct http_match *, const char *, size_t);
bool		 http_match_ok(const struct http_match *);

bool		 http_path_ok(const char *);
char		*http_request(const char *, const char *, const char *,
		    const char *, const char *, bool, size_t *);

#endif /* LOAD_HTTP_H */
