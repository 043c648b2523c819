/*
 * unit.h: helpers the unit tests share. Include after <check.h> and
 * <event2/buffer.h>.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdlib.h>

/* Everything the evbuffer holds, as a NUL-terminated string (free it). */
static inline char *
buffer_string(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(evbuffer_copyout(b, s, len), (ssize_t)len);
	s[len] = '\0';
	return s;
}

#endif
