/*
 * fuzz_route.c: libFuzzer target for route.c, the HTTP routes.
 *
 * The first byte picks the method and max-n; the rest is "PATH[?QUERY]",
 * any bytes, as the request line holds them (route_parse() takes lengths,
 * not strings). route_parse() must never read past them (each is copied
 * to a buffer of its exact size, with no NUL after it), and the target
 * aborts when its outcome differs from an independent reading of the
 * routes:
 *   - a status other than 0, 400, 404, 405;
 *   - a route taken whose path is not exactly one of the routes, or
 *     "/prime/" and 1 to 20 digits (leading zeros allowed) whose value is
 *     1..max-n;
 *   - 405 without an Allow value, or for a method the route takes;
 *   - a refusal without a reason, or an error code 400 and 404 disagree on;
 *   - text chosen without "format=text" among the query's pairs.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "primed.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int methods[] = {
	METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_OTHER
};
static const uint64_t max_ns[] = { 1, 100000000, UINT64_C(10000000000000) };

/* The HTTP status primed(8) gives error code e. */
static int
expect_status(enum err e)
{
	switch (e) {
	case ERR_NONE:
		return 200;
	case ERR_UNKNOWN_CMD:
		return 404;
	case ERR_TOO_LONG:
		return 413;
	case ERR_BUSY:
	case ERR_SHUTTING_DOWN:
		return 503;
	case ERR_TIMEOUT:
		return 504;
	default:
		return 400;
	}
}

/* Are the len bytes at s the string lit? */
static int
same(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* The value of "/prime/<digits>" if path is one within 1..max, else 0. */
static uint64_t
prime_path(const char *path, size_t plen, uint64_t max)
{
	const char	*d = path + 7;
	uint64_t	 v = 0;
	size_t		 i, n;

	if (plen <= 7 || memcmp(path, "/prime/", 7) != 0)
		return 0;
	for (i = 0, n = plen - 7; i < n; i++) {
		if (d[i] < '0' || d[i] > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(d[i] - '0');
	}
	return v >= 1 && v <= max ? v : 0;
}

/* True when the query (qlen bytes) holds the pair "format=text". */
static int
wants_text(const char *q, size_t qlen)
{
	const char	*amp, *end = q + qlen;

	while (q != NULL && q < end) {
		amp = memchr(q, '&', (size_t)(end - q));
		if (same(q, (size_t)((amp != NULL ? amp : end) - q),
		    "format=text"))
			return 1;
		q = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

/* Check a good route against the routes' table. */
static void
check_taken(const char *path, size_t plen, const char *query, size_t qlen,
    int method, uint64_t max, const struct route *r)
{
	CHECK(r->why == NULL || r->err == ERR_NONE);
	switch (r->id) {
	case ROUTE_PRIME:
		CHECK(method & (METHOD_GET | METHOD_HEAD));
		CHECK(prime_path(path, plen, max) == r->n && r->n != 0);
		CHECK(!r->text || wants_text(query, qlen));
		break;
	case ROUTE_UPPER:
		CHECK(same(path, plen, "/upper") && method == METHOD_POST);
		break;
	case ROUTE_ECHO:
		CHECK(same(path, plen, "/echo") && method == METHOD_POST);
		break;
	case ROUTE_HEALTHZ:
		CHECK(same(path, plen, "/healthz"));
		break;
	case ROUTE_READYZ:
		CHECK(same(path, plen, "/readyz"));
		break;
	case ROUTE_STATS:
		CHECK(same(path, plen, "/stats"));
		break;
	case ROUTE_METRICS:
		CHECK(same(path, plen, "/metrics"));
		break;
	case ROUTE_PAGE:
		CHECK(same(path, plen, "/"));
		break;
	case ROUTE_STATUS:
		CHECK(same(path, plen, "/status"));
		break;
	default:
		CHECK(0);
	}
}

/* Check a refusal. */
static void
check_refused(const char *path, size_t plen, int method, uint64_t max,
    const struct route *r)
{
	CHECK(r->why != NULL && r->why[0] != '\0');
	CHECK(r->err != ERR_NONE);
	switch (r->status) {
	case 400:
		CHECK(r->err == ERR_BAD_REQUEST || r->err == ERR_OUT_OF_RANGE);
		if (r->err == ERR_OUT_OF_RANGE)
			CHECK(prime_path(path, plen, max) == 0);
		break;
	case 404:
		CHECK(r->err == ERR_UNKNOWN_CMD);
		CHECK(plen < 7 || memcmp(path, "/prime/", 7) != 0);
		break;
	case 405:
		CHECK(r->allow != NULL);
		CHECK(strcmp(r->allow, "POST") == 0 ?
		    method != METHOD_POST : !(method & (METHOD_GET |
		    METHOD_HEAD)));
		break;
	default:
		CHECK(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route	 r;
	const char	*s, *q;
	char		*path, *query = NULL;
	size_t		 len, plen, qlen = 0;
	int		 method;
	uint64_t	 max;

	if (size < 1)
		return 0;
	method = methods[data[0] % 4];
	max = max_ns[(data[0] >> 2) % 3];
	s = (const char *)data + 1;
	len = size - 1;
	q = memchr(s, '?', len);
	plen = q != NULL ? (size_t)(q - s) : len;
	path = dup_exact(s, plen);
	if (q != NULL) {
		qlen = len - plen - 1;
		query = dup_exact(q + 1, qlen);
	}
	memset(&r, 0xa5, sizeof(r));
	route_parse(method, path, plen, query, qlen, max, &r);
	if (r.status == 0)
		check_taken(path, plen, query, qlen, method, max, &r);
	else
		check_refused(path, plen, method, max, &r);
	CHECK(r.status == 405 ||
	    expect_status(r.err) == (r.status == 0 ? 200 : r.status));
	free(path);
	free(query);
	return 0;
}
