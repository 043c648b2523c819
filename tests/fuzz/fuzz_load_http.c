/*
 * fuzz_load_http.c: libFuzzer target for primed-load's HTTP response
 * reader (src/load/http.c).
 *
 * The first input byte picks a piece size (1..256); the rest is a byte
 * stream from a server, read twice the way the client reads a socket:
 * whole, then in pieces of that size, with unconsumed bytes offered again
 * in front of the next piece, and then closed. Every buffer handed to the
 * parser is a copy of its exact size, so that AddressSanitizer catches a
 * read past its end. The target aborts when:
 *   - the parser takes more bytes than it was given, hands out body bytes
 *     outside them, or makes no progress where it must;
 *   - a bound is passed (head, body) without the response being bad;
 *   - a bad response has no reason;
 *   - the two readings differ in anything: responses, statuses, closes,
 *     body bytes, body matches, badness, what the close means.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "load/http.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What one reading saw. */
struct seen {
	unsigned	 done;
	uint64_t	 digest;	/* statuses, closes, matches, bodies */
	uint64_t	 body;
	bool		 bad;
	int		 eof;
};

/* Mix v into a digest. */
static void
mix(uint64_t *d, uint64_t v)
{
	*d = (*d ^ v) * UINT64_C(0x100000001b3);
}

/* A response ended: record it, start the next. */
static void
ended(struct seen *s, struct http_resp *r, struct http_match *m)
{
	s->done++;
	mix(&s->digest, (uint64_t)r->status);
	mix(&s->digest, r->close);
	mix(&s->digest, http_match_ok(m));
	mix(&s->digest, r->body);
	http_resp_init(r);
	http_match_init(m, "2", 1);
}

/* Parse what is pending until it needs more; false once bad. */
static bool
drain(struct seen *s, struct http_resp *r, struct http_match *m,
    uint8_t *pend, size_t *have)
{
	const char *data;
	size_t used, dlen;
	enum http_step st;
	int idle = 0;
	char *copy;

	for (;;) {
		copy = malloc(*have ? *have : 1);
		CHECK(copy != NULL);
		memcpy(copy, pend, *have);
		st = http_parse(r, copy, *have, &used, &data, &dlen);
		CHECK(used <= *have);
		CHECK(r->head <= HTTP_MAX_HEAD && r->rest <= HTTP_MAX_BODY);
		if (st == HTTP_DATA) {
			CHECK(dlen > 0 && data >= copy &&
			    data + dlen <= copy + *have);
			CHECK(used > 0);
			http_match_feed(m, data, dlen);
			s->body += dlen;
		}
		free(copy);
		memmove(pend, pend + used, *have - used);
		*have -= used;
		if (st == HTTP_BAD) {
			CHECK(r->why != NULL);
			s->bad = true;
			return false;
		}
		if (st == HTTP_NEED)
			return true;
		if (st == HTTP_DONE)
			ended(s, r, m);
		idle = used == 0 ? idle + 1 : 0;
		CHECK(idle < 3);
	}
}

/* Read the stream in pieces of `piece` bytes, then close it. */
static void
reading(const uint8_t *in, size_t len, size_t piece, struct seen *s)
{
	struct http_resp r;
	struct http_match m;
	uint8_t *pend = malloc(len + 1);
	size_t have = 0, off = 0, n;

	CHECK(pend != NULL);
	memset(s, 0, sizeof(*s));
	http_resp_init(&r);
	http_match_init(&m, "2", 1);
	while (off < len) {
		n = len - off < piece ? len - off : piece;
		memcpy(pend + have, in + off, n);
		have += n;
		off += n;
		if (!drain(s, &r, &m, pend, &have))
			break;
	}
	if (!s->bad) {
		s->eof = (int)http_eof(&r, have);
		if (s->eof == HTTP_DONE)
			ended(s, &r, &m);
		s->bad = s->eof == HTTP_BAD;
	}
	free(pend);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole, parts;

	if (size < 1)
		return 0;
	reading(data + 1, size - 1, size, &whole);
	reading(data + 1, size - 1, (size_t)data[0] + 1, &parts);
	CHECK(whole.done == parts.done);
	CHECK(whole.digest == parts.digest);
	CHECK(whole.body == parts.body);
	CHECK(whole.bad == parts.bad);
	CHECK(whole.eof == parts.eof);
	return 0;
}
