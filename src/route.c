/*
 * route.c: what an HTTP request asks for, from its method, path and query.
 * Pure: no sockets, no libevent, no allocation; strings are the caller's.
 *
 * The path is matched as it arrived (not percent-decoded): "/prime/%31"
 * is not a number, and "/x/../prime/1" is not a route. The query may
 * carry format=json (the default) or format=text; other keys are ignored.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "primed.h"

#define PRIME_PREFIX	"/prime/"

static const struct {
	const char	*path;
	enum route_id	 id;
	int		 methods;
} routes[] = {
	{ "/upper",	ROUTE_UPPER,	METHOD_POST },
	{ "/echo",	ROUTE_ECHO,	METHOD_POST },
	{ "/healthz",	ROUTE_HEALTHZ,	METHOD_GET | METHOD_HEAD },
	{ "/readyz",	ROUTE_READYZ,	METHOD_GET | METHOD_HEAD },
	{ "/stats",	ROUTE_STATS,	METHOD_GET | METHOD_HEAD },
	{ "/metrics",	ROUTE_METRICS,	METHOD_GET | METHOD_HEAD },
	{ "/",		ROUTE_PAGE,	METHOD_GET | METHOD_HEAD },
	{ "/status",	ROUTE_STATUS,	METHOD_GET | METHOD_HEAD },
};

/* Mark r as refused with an HTTP status, an error code and a reason. */
static void
route_fail(struct route *r, int status, enum err e, const char *why)
{
	r->status = status;
	r->err = e;
	r->why = why;
}

/* Read format= from the query (qlen bytes); 0, or -1 when unknown. */
static int
route_format(const char *query, size_t qlen, struct route *r)
{
	const char	*p = query, *end, *amp, *v;
	size_t		 n;

	if (query == NULL)
		return 0;
	end = query + qlen;
	while (p != NULL && p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		n = amp != NULL ? (size_t)(amp - p) : (size_t)(end - p);
		if (n >= 7 && memcmp(p, "format=", 7) == 0) {
			v = p + 7;
			r->format_set = 1;
			if (n == 11 && memcmp(v, "text", 4) == 0)
				r->text = 1;
			else if (n == 11 && memcmp(v, "json", 4) == 0)
				r->text = 0;
			else
				return -1;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

/* Check the method against those the route takes. */
static int
route_method(struct route *r, int method, int allowed)
{
	if (method & allowed)
		return 0;
	r->allow = (allowed & METHOD_POST) ? "POST" : "GET, HEAD";
	route_fail(r, 405, ERR_BAD_REQUEST, "method not allowed");
	return -1;
}

/*
 * Route one request: method is one METHOD_* bit, path (plen bytes) and
 * query (qlen bytes; NULL for none) as in the request line. Sets r->id,
 * and r->n for /prime/N; r->status is 0 when the request is good, else
 * the status to answer with r->err and r->why (and r->allow for 405).
 */
void
route_parse(int method, const char *path, size_t plen, const char *query,
    size_t qlen, uint64_t max_n, struct route *r)
{
	const size_t	pre = sizeof(PRIME_PREFIX) - 1;
	size_t		i;

	memset(r, 0, sizeof(*r));
	r->err = ERR_NONE;
	if (path == NULL || plen == 0 || path[0] != '/') {
		route_fail(r, 400, ERR_BAD_REQUEST, "bad path");
		return;
	}
	if (plen >= pre && memcmp(path, PRIME_PREFIX, pre) == 0) {
		r->id = ROUTE_PRIME;
		if (route_method(r, method, METHOD_GET | METHOD_HEAD) == -1)
			return;
		r->err = proto_parse_n(path + pre, plen - pre, max_n, &r->n,
		    &r->why);
		if (r->err != ERR_NONE)
			r->status = 400;
		else if (route_format(query, qlen, r) == -1)
			route_fail(r, 400, ERR_BAD_REQUEST,
			    "format must be json or text");
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strlen(routes[i].path) != plen ||
		    memcmp(path, routes[i].path, plen) != 0)
			continue;
		r->id = routes[i].id;
		(void)route_method(r, method, routes[i].methods);
		return;
	}
	route_fail(r, 404, ERR_UNKNOWN_CMD, "no such route");
}
