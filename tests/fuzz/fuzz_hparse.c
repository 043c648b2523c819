/*
 * fuzz_hparse.c: libFuzzer target for hparse.c, the HTTP/1.1 request
 * parser.
 *
 * The input is what a client sent, from a request's first byte. Its head
 * is read, and when it is whole so is its chunked body, which is then
 * decoded in place, as http.c does; every parse is of a copy of exactly
 * the bytes given, so that a read past them is caught by AddressSanitizer.
 * The target aborts when:
 *   - a refusal's status is not 400, 413, 414, 417, 431, 501 or 505, or it
 *     has no reason, or the same bytes with more after them are taken;
 *   - a whole head is not inside the input, does not end with an empty
 *     line, holds a CR or LF that is not a CRLF, or a NUL; its path and
 *     query are not in its request line, the path is not one "/" and
 *     visible characters, or the version, method, Host count, lengths and
 *     keep-alive break the rules hparse.c's top comment gives;
 *   - a cut of a whole head or body is not waiting for more, or the head
 *     or body read again without the bytes after it is read differently;
 *   - a whole chunked body is not inside the input, its length is past
 *     max-line, or decoding it in place gives other bytes than a plain
 *     reading of its chunks.
 * The seed corpus (tests/fuzz/corpus/hparse) holds the classic request
 * smuggling cases; scripts/fuzz also reads it with diff_hparse against a
 * second parser.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "primed.h"
#include "fuzz.h"

/* The longest decoded body, as max-line (small, so 413 is reached). */
#define FUZZ_MAX_BODY	4096

/* Inputs up to this long are tried cut at every length. */
#define EVERY_CUT	256

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Is status one a refusal may carry? */
static int
refusal_status(int status)
{
	switch (status) {
	case 400:
	case 413:
	case 414:
	case 417:
	case 431:
	case 501:
	case 505:
		return 1;
	}
	return 0;
}

/* hparse_head on a copy of len bytes of s; h's pointers point into s. */
static int
head_of(const char *s, size_t len, struct http_head *h)
{
	char	*b = dup_exact(s, len);
	int	 rc;

	rc = hparse_head(b, len, h);
	if (h->path != NULL)
		h->path = s + (h->path - b);
	if (h->query != NULL)
		h->query = s + (h->query - b);
	free(b);
	return rc;
}

/* hparse_chunked on a copy of len bytes of s. */
static int
chunked_of(const char *s, size_t len, struct http_body *b)
{
	char	*c = dup_exact(s, len);
	int	 rc;

	rc = hparse_chunked(c, len, FUZZ_MAX_BODY, b);
	free(c);
	return rc;
}

/* The cuts of s to try: all when it is short, else two. */
static int
is_cut(size_t k, size_t len, size_t pick)
{
	return len <= EVERY_CUT || k == len - 1 || k == pick % len;
}

/* Check a refusal, and that more bytes after it are refused too. */
static void
check_refused(const char *s, size_t len, int status, const char *why)
{
	struct http_head	 h;
	char			*more;

	CHECK(refusal_status(status));
	CHECK(why != NULL && why[0] != '\0');
	more = malloc(len + 1);
	if (more == NULL)
		abort();
	memcpy(more, s, len);
	more[len] = 'x';
	CHECK(hparse_head(more, len + 1, &h) == -1);
	free(more);
}

/* The line ends of the len bytes at s are all CRLF, and there is no NUL. */
static void
check_crlf(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		CHECK(s[i] != '\0');
		if (s[i] == '\r')
			CHECK(i + 1 < len && s[i + 1] == '\n');
		if (s[i] == '\n')
			CHECK(i > 0 && s[i - 1] == '\r');
	}
}

/* Are the n bytes at p visible characters, none of them c? */
static int
visible(const char *p, size_t n, char c)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f ||
		    p[i] == '#' || p[i] == c)
			return 0;
	return 1;
}

/* Check the path and query of a whole head at s against its bytes. */
static void
check_target(const char *s, const struct http_head *h)
{
	const char	*eol;

	CHECK(h->path != NULL && h->pathlen > 0);
	CHECK(h->path > s && h->path < s + h->size);
	eol = memchr(h->path, '\n', (size_t)(s + h->size - h->path));
	CHECK(eol != NULL && h->path + h->pathlen < eol);
	CHECK(h->path[0] == '/' && (h->pathlen == 1 || h->path[1] != '/'));
	CHECK(visible(h->path, h->pathlen, '?'));
	if (h->query == NULL)
		return;
	CHECK(h->query == h->path + h->pathlen + 1 && h->query[-1] == '?');
	CHECK(h->query + h->querylen < eol);
	CHECK(visible(h->query, h->querylen, '\0'));
}

/* Check a whole head of s (len bytes) against the rules. */
static void
check_head(const char *s, size_t len, const struct http_head *h)
{
	struct http_head	h2;

	CHECK(h->size >= 16 && h->size <= len && h->size <= HTTP_HEAD_MAX);
	CHECK(memcmp(s + h->size - 4, "\r\n\r\n", 4) == 0);
	CHECK(h->status == 0 && h->why == NULL);
	check_crlf(s, h->size);
	check_target(s, h);
	CHECK(h->minor == 0 || h->minor == 1);
	CHECK(h->method == METHOD_GET || h->method == METHOD_HEAD ||
	    h->method == METHOD_POST || h->method == METHOD_OTHER);
	CHECK(h->minor == 0 ? h->hosts <= 1 : h->hosts == 1);
	CHECK(!(h->chunked && h->has_length));
	CHECK(h->has_length || h->length == 0);
	if (h->method & (METHOD_GET | METHOD_HEAD))
		CHECK(!h->chunked && h->length == 0);
	if ((h->minor == 0 && (h->chunked || !h->keep_alive)) ||
	    h->absolute || h->conn_close)
		CHECK(h->close);
	if (h->expect)
		CHECK(h->minor == 1 && (h->chunked || h->length > 0));
	/* The bytes after the head are not part of it. */
	CHECK(head_of(s, h->size, &h2) == 1);
	CHECK(h2.size == h->size && h2.pathlen == h->pathlen &&
	    h2.querylen == h->querylen && h2.length == h->length &&
	    h2.chunked == h->chunked && h2.close == h->close &&
	    h2.method == h->method && h2.minor == h->minor);
}

/*
 * A plain reading of the chunks of a body hparse_chunked took: the sizes
 * in hex, the data after each size line. Returns the length, into out.
 */
static size_t
plain_unchunk(const char *s, size_t wire, char *out)
{
	const char	*lf;
	size_t		 at = 0, n = 0, size;
	int		 d;

	for (;;) {
		for (size = 0;; at++) {
			d = (unsigned char)s[at];
			if (d >= '0' && d <= '9')
				d -= '0';
			else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f')
				d = (d | 0x20) - 'a' + 10;
			else
				break;
			size = size * 16 + (size_t)d;
		}
		lf = memchr(s + at, '\n', wire - at);
		CHECK(lf != NULL);
		at = (size_t)(lf - s) + 1;
		if (size == 0)
			return n;
		CHECK(at + size + 2 <= wire);
		memcpy(out + n, s + at, size);
		n += size;
		at += size + 2;
	}
}

/* Check the chunked body at s (len bytes) of a whole head. */
static void
check_chunked(const char *s, size_t len, size_t pick)
{
	struct http_body	 b, b2;
	char			*buf, *plain;
	size_t			 k;
	int			 rc;

	rc = chunked_of(s, len, &b);
	CHECK(rc >= -1 && rc <= 1);
	if (rc == -1) {
		CHECK(refusal_status(b.status));
		CHECK(b.why != NULL && b.why[0] != '\0');
		return;
	}
	if (rc == 0)
		return;
	CHECK(b.wire >= 5 && b.wire <= len && b.len <= FUZZ_MAX_BODY);
	CHECK(b.len < b.wire);
	CHECK(memcmp(s + b.wire - 2, "\r\n", 2) == 0);
	for (k = 0; k < b.wire; k++)
		if (is_cut(k, b.wire, pick))
			CHECK(chunked_of(s, k, &b2) == 0);
	CHECK(chunked_of(s, b.wire, &b2) == 1);
	CHECK(b2.wire == b.wire && b2.len == b.len);
	buf = dup_exact(s, b.wire);
	plain = malloc(b.len + 1);
	if (plain == NULL)
		abort();
	CHECK(plain_unchunk(s, b.wire, plain) == b.len);
	CHECK(hparse_unchunk(buf, b.wire) == b.len);
	CHECK(memcmp(buf, plain, b.len) == 0);
	free(plain);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head	 h, cut;
	char			*s;
	size_t			 k, pick = 0;
	int			 rc, cutrc;

	s = dup_exact(data, size);
	for (k = 0; k < size && k < 16; k++)
		pick = pick * 31 + data[k];
	rc = head_of(s, size, &h);
	CHECK(rc >= -1 && rc <= 1);
	if (rc == -1)
		check_refused(s, size, h.status, h.why);
	/*
	 * A cut is taken only when the whole is, the same; it is refused
	 * only when the whole is (a refusal of a cut may have another
	 * status: a line too long so far, and a bare CR later in it).
	 */
	for (k = 0; k < size; k++) {
		if (!is_cut(k, size, pick))
			continue;
		cutrc = head_of(s, k, &cut);
		if (cutrc == 1)
			CHECK(rc == 1 && h.size == cut.size);
		else if (cutrc == -1)
			CHECK(rc == -1);
	}
	if (rc == 1) {
		check_head(s, size, &h);
		if (h.chunked)
			check_chunked(s + h.size, size - h.size, pick);
	}
	free(s);
	return 0;
}
