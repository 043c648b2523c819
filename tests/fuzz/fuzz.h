/* fuzz.h: what the libFuzzer targets share. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Check a condition; on failure say which and abort, so libFuzzer saves it. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* A copy of len bytes at s, in a buffer of exactly that size (free it). */
static inline char *
dup_exact(const void *s, size_t len)
{
	char	*p = malloc(len > 0 ? len : 1);

	if (p == NULL)
		abort();
	memcpy(p, s, len);
	return p;
}

#endif
