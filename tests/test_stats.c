/*
 * test_stats.c: the shared counters, their sum across processes, the
 * STATS line of JSON and the status page's view.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/wait.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "primed.h"
#include "unit.h"
#include "check_main.h"

/* The top-level counters of the JSON line, in the order of the enum. */
static const char *counter_keys[STAT_COUNT] = {
	"connections_open", "connections_total", "connections_rejected",
	"requests", "jobs_queued", "jobs_running", "jobs_done",
	"jobs_cancelled", "jobs_late", "jobs_sliced", "job_yields",
	"jobs_small", "jobs_medium", "jobs_large", "wait_us_small",
	"wait_us_medium", "wait_us_large", "bytes_in", "bytes_out",
	"connections_waiting", "reply_bytes", "input_bytes"
};

/* Keys of "commands", by enum cmd. */
static const char *command_keys[CMD_COUNT] = {
	"prime", "upper", "echo", "sleep", "ping", "stats", "quit", "other"
};

/* Keys of "errors", by enum err. */
static const char *error_keys[ERR_COUNT] = {
	"bad-request", "unknown-command", "out-of-range", "too-long", "busy",
	"timeout", "shutting-down"
};

/* Seconds on the monotonic clock. */
static uint64_t
mono_sec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Add v to a command counter of a slot. */
static void
add_cmd(struct stats_slot *s, enum cmd c, uint64_t v)
{
	atomic_fetch_add(&s->req[SVC_PRIME][c], v);
}

/* Add v to an error counter of a slot. */
static void
add_err(struct stats_slot *s, enum err e, uint64_t v)
{
	atomic_fetch_add(&s->err[e], v);
}

/* A slot's counter, read atomically. */
static uint64_t
get(struct stats_slot *s, enum stat_counter c)
{
	return atomic_load(&s->c[c]);
}

/* Wait for a child and check that it exited with status 0. */
static void
reap(pid_t pid)
{
	int	status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child failed: status 0x%x", status);
}

/* stats_json of sum, as a string (free it). */
static char *
json_of(const struct stats_sum *sum)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(stats_json(b, sum), 0);
	s = buffer_string(b);
	evbuffer_free(b);
	return s;
}

/*
 * A minimal JSON checker for what STATS and the status view emit: objects
 * whose values are unsigned integers, objects or arrays of those. Returns
 * the end of the value at s, or NULL.
 */
static const char *json_value(const char *s, int depth);

/* Skip JSON whitespace. */
static const char *
json_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return s;
}

/* A string without escapes or control characters; its end, or NULL. */
static const char *
json_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (; *s != '"'; s++)
		if (*s == '\0' || *s == '\\' || (unsigned char)*s < 0x20)
			return NULL;
	return s + 1;
}

/* An unsigned integer without leading zeros; its end, or NULL. */
static const char *
json_uint(const char *s)
{
	if (*s == '0')
		return s + 1;
	if (*s < '1' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		s++;
	return s;
}

/* An object of string keys; its end, or NULL. */
static const char *
json_object(const char *s, int depth)
{
	if (depth > 8 || *s++ != '{')
		return NULL;
	s = json_ws(s);
	if (*s == '}')
		return s + 1;
	for (;;) {
		if ((s = json_string(json_ws(s))) == NULL)
			return NULL;
		s = json_ws(s);
		if (*s++ != ':')
			return NULL;
		if ((s = json_value(json_ws(s), depth + 1)) == NULL)
			return NULL;
		s = json_ws(s);
		if (*s == '}')
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

/* An array; its end, or NULL. */
static const char *
json_array(const char *s, int depth)
{
	if (depth > 8 || *s++ != '[')
		return NULL;
	s = json_ws(s);
	if (*s == ']')
		return s + 1;
	for (;;) {
		if ((s = json_value(json_ws(s), depth + 1)) == NULL)
			return NULL;
		s = json_ws(s);
		if (*s == ']')
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

static const char *
json_value(const char *s, int depth)
{
	if (*s == '{')
		return json_object(s, depth);
	return *s == '[' ? json_array(s, depth) : json_uint(s);
}

/* Check text is one valid JSON object followed by "\n" and nothing else. */
static void
check_json_line(const char *text)
{
	const char	*end;
	size_t		 len = strlen(text);
	int		 depth = 0;
	const char	*p;

	ck_assert_msg(len > 0 && text[len - 1] == '\n', "no final newline");
	ck_assert_msg(strchr(text, '\n') == text + len - 1,
	    "more than one line: %s", text);
	for (p = text; *p != '\0'; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}')
			depth--;
		ck_assert_msg(depth >= 0, "unbalanced braces: %s", text);
	}
	ck_assert_msg(depth == 0, "unbalanced braces: %s", text);
	end = json_object(text, 0);
	ck_assert_msg(end != NULL, "not valid JSON: %s", text);
	ck_assert_msg(strcmp(end, "\n") == 0, "junk after the object: %s",
	    text);
}

/*
 * Where the value of key starts among the direct members of the object at
 * obj, or NULL; *count gets how many times the key occurs there.
 */
static const char *
json_find(const char *obj, const char *key, int *count)
{
	const char	*p, *found = NULL;
	size_t		 klen = strlen(key);
	int		 depth = 0;

	*count = 0;
	for (p = obj; *p != '\0'; p++) {
		if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			if (--depth == 0)
				break;
		} else if (*p == '"') {
			const char	*q = strchr(p + 1, '"');

			if (q == NULL)
				break;
			if (depth == 1 && q[1] == ':' &&
			    (size_t)(q - p - 1) == klen &&
			    strncmp(p + 1, key, klen) == 0) {
				(*count)++;
				found = q + 2;
			}
			p = q;
		}
	}
	return found;
}

/* Check the object at obj has key exactly once, with value want. */
static void
check_key(const char *obj, const char *key, uint64_t want)
{
	const char		*v, *end;
	unsigned long long	 got;
	int			 count;

	v = json_find(obj, key, &count);
	ck_assert_msg(count == 1, "key \"%s\" found %d times in %s", key,
	    count, obj);
	end = json_uint(v);
	ck_assert_msg(end != NULL && (*end == ',' || *end == '}'),
	    "key \"%s\" has no integer value", key);
	got = strtoull(v, NULL, 10);
	ck_assert_msg(got == want, "\"%s\":%llu, want %llu", key, got,
	    (unsigned long long)want);
}

/* The nested object under key of the object at obj. */
static const char *
sub_object(const char *obj, const char *key)
{
	const char	*v;
	int		 count;

	v = json_find(obj, key, &count);
	ck_assert_msg(count == 1 && *v == '{', "no object \"%s\" in %s", key,
	    obj);
	return v;
}

/* Number of direct members of the object at obj. */
static int
json_members(const char *obj)
{
	const char	*p;
	int		 depth = 0, n = 0;

	for (p = obj; *p != '\0'; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			break;
		else if (*p == ':' && depth == 1)
			n++;
	}
	return n;
}

/* Check text is the JSON line of sum: every key, every value. */
static void
check_json_sum(const char *text, const struct stats_sum *sum)
{
	const char	*cmds, *errs;
	int		 i;

	check_json_line(text);
	check_key(text, "workers", sum->workers);
	check_key(text, "uptime_s", sum->uptime_s);
	for (i = 0; i < STAT_COUNT; i++)
		check_key(text, counter_keys[i], sum->c[i]);
	cmds = sub_object(text, "commands");
	ck_assert_int_eq(json_members(cmds), CMD_COUNT);
	for (i = 0; i < CMD_COUNT; i++)
		check_key(cmds, command_keys[i], sum->cmd[i]);
	errs = sub_object(text, "errors");
	ck_assert_int_eq(json_members(errs), ERR_COUNT);
	for (i = 0; i < ERR_COUNT; i++)
		check_key(errs, error_keys[i], sum->err[i]);
}

/* A sum with a different value in every field. */
static void
distinct_sum(struct stats_sum *sum)
{
	int	i;

	memset(sum, 0, sizeof(*sum));
	sum->workers = 4;
	sum->uptime_s = 3661;
	for (i = 0; i < STAT_COUNT; i++)
		sum->c[i] = 1000 + (uint64_t)i * 11;
	for (i = 0; i < CMD_COUNT; i++)
		sum->cmd[i] = 200 + (uint64_t)i * 3;
	for (i = 0; i < ERR_COUNT; i++)
		sum->err[i] = 50 + (uint64_t)i;
}

START_TEST(test_create_zeroed)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	uint64_t		 before = mono_sec();
	int			 i;

	ck_assert_ptr_nonnull(st);
	ck_assert_uint_le(st->start_sec, before);
	ck_assert_uint_ge(st->start_sec + 2, before);
	memset(&sum, 0xff, sizeof(sum));
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.workers, 0);
	ck_assert_uint_le(sum.uptime_s, 1);
	for (i = 0; i < STAT_COUNT; i++)
		ck_assert_uint_eq(sum.c[i], 0);
	for (i = 0; i < CMD_COUNT; i++)
		ck_assert_uint_eq(sum.cmd[i], 0);
	for (i = 0; i < ERR_COUNT; i++)
		ck_assert_uint_eq(sum.err[i], 0);
	stats_destroy(st);
	stats_destroy(NULL);
}
END_TEST

/* Every slot starts a cache line of its own. */
START_TEST(test_slot_alignment)
{
	struct stats	*st = stats_create();
	int		 i;

	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(sizeof(struct stats_slot) % 64, 0);
	for (i = 0; i < STATS_SLOTS; i++)
		ck_assert_uint_eq((uintptr_t)stats_slot_use(st, i) % 64, 0);
	stats_destroy(st);
}
END_TEST

/* What a forked child adds, the parent sees. */
START_TEST(test_child_adds)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	pid_t			 pid;

	ck_assert_ptr_nonnull(st);
	stats_add(stats_slot_use(st, 0), STAT_requests, 1);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		stats_add(stats_slot_use(st, 1), STAT_requests, 5);
		stats_add(stats_slot_use(st, 1), STAT_bytes_in, 123);
		add_cmd(stats_slot_use(st, 1), CMD_PING, 2);
		add_err(stats_slot_use(st, 1), ERR_BUSY, 3);
		atomic_store(&st->workers, 7);
		_exit(0);
	}
	reap(pid);
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.c[STAT_requests], 6);
	ck_assert_uint_eq(sum.c[STAT_bytes_in], 123);
	ck_assert_uint_eq(sum.cmd[CMD_PING], 2);
	ck_assert_uint_eq(sum.err[ERR_BUSY], 3);
	ck_assert_uint_eq(sum.workers, 7);
	ck_assert_uint_eq(get(stats_slot_use(st, 1), STAT_requests), 5);
	stats_destroy(st);
}
END_TEST

/* Several children adding at once, to their own slots and to a shared one. */
START_TEST(test_children_concurrent)
{
	const int		 nchild = 3, nadd = 20000;
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	pid_t			 pid[3];
	int			 i, k;

	ck_assert_ptr_nonnull(st);
	for (i = 0; i < nchild; i++) {
		pid[i] = fork();
		ck_assert_int_ne(pid[i], -1);
		if (pid[i] == 0) {
			for (k = 0; k < nadd; k++) {
				stats_add(stats_slot_use(st, 10 + i), STAT_bytes_out, 2);
				stats_add(stats_slot_use(st, 0), STAT_bytes_out, 1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < nchild; i++)
		reap(pid[i]);
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.c[STAT_bytes_out], (uint64_t)nchild * nadd * 3);
	ck_assert_uint_eq(get(stats_slot_use(st, 0), STAT_bytes_out),
	    (uint64_t)nchild * nadd);
	for (i = 0; i < nchild; i++)
		ck_assert_uint_eq(get(stats_slot_use(st, 10 + i), STAT_bytes_out),
		    (uint64_t)nadd * 2);
	stats_destroy(st);
}
END_TEST

/* The sum covers every slot, first to last, and every kind of counter. */
START_TEST(test_sum_slots)
{
	static const int	 slots[] = { 0, 1, 2, 255, 256, STATS_SLOTS - 1 };
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	size_t			 k;
	int			 i;
	uint64_t		 base;

	ck_assert_ptr_nonnull(st);
	for (k = 0; k < sizeof(slots) / sizeof(slots[0]); k++) {
		base = (uint64_t)1 << (4 * k);
		for (i = 0; i < STAT_COUNT; i++)
			stats_add(stats_slot_use(st, slots[k]), i, base * (uint64_t)(i + 1));
		for (i = 0; i < CMD_COUNT; i++)
			add_cmd(stats_slot_use(st, slots[k]), i, base * 2);
		for (i = 0; i < ERR_COUNT; i++)
			add_err(stats_slot_use(st, slots[k]), i, base * 3);
	}
	memset(&sum, 0xff, sizeof(sum));
	stats_sum(st, &sum);
	/* Each slot k adds base(k) = 16^k: the total is 0x111111 times. */
	for (i = 0; i < STAT_COUNT; i++)
		ck_assert_uint_eq(sum.c[i], 0x111111ULL * (uint64_t)(i + 1));
	for (i = 0; i < CMD_COUNT; i++)
		ck_assert_uint_eq(sum.cmd[i], 0x111111ULL * 2);
	for (i = 0; i < ERR_COUNT; i++)
		ck_assert_uint_eq(sum.err[i], 0x111111ULL * 3);
	stats_destroy(st);
}
END_TEST

START_TEST(test_add_sub)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;

	ck_assert_ptr_nonnull(st);
	stats_add(stats_slot_use(st, 3), STAT_connections_open, 5);
	stats_sub(stats_slot_use(st, 3), STAT_connections_open, 2);
	stats_add(stats_slot_use(st, 4), STAT_connections_open, 1);
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.c[STAT_connections_open], 4);
	stats_sub(stats_slot_use(st, 3), STAT_connections_open, 3);
	stats_sub(stats_slot_use(st, 4), STAT_connections_open, 1);
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.c[STAT_connections_open], 0);
	stats_destroy(st);
}
END_TEST

/* Uptime counts from start_sec on the monotonic clock. */
START_TEST(test_uptime)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;

	ck_assert_ptr_nonnull(st);
	st->start_sec -= 7;
	stats_sum(st, &sum);
	ck_assert_uint_ge(sum.uptime_s, 7);
	ck_assert_uint_le(sum.uptime_s, 8);
	stats_destroy(st);
}
END_TEST

/* Only the gauges of the one slot go back to zero. */
START_TEST(test_reset_gauges)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	int			 i, s;

	ck_assert_ptr_nonnull(st);
	for (s = 2; s <= 3; s++) {
		for (i = 0; i < STAT_COUNT; i++)
			stats_add(stats_slot_use(st, s), i, 10 + (uint64_t)i);
		for (i = 0; i < CMD_COUNT; i++)
			add_cmd(stats_slot_use(st, s), i, 5);
		for (i = 0; i < ERR_COUNT; i++)
			add_err(stats_slot_use(st, s), i, 6);
	}
	atomic_store(&st->workers, 2);
	stats_reset_gauges(st, 2);
	for (i = 0; i < STAT_COUNT; i++) {
		uint64_t	want = 10 + (uint64_t)i;

		if (i == STAT_connections_open || i == STAT_jobs_queued ||
		    i == STAT_jobs_running || i == STAT_connections_waiting ||
		    i == STAT_reply_bytes || i == STAT_input_bytes)
			want = 0;
		ck_assert_msg(get(stats_slot_use(st, 2), i) == want,
		    "slot 2 %s = %llu, want %llu", counter_keys[i],
		    (unsigned long long)get(stats_slot_use(st, 2), i),
		    (unsigned long long)want);
		ck_assert_uint_eq(get(stats_slot_use(st, 3), i), 10 + (uint64_t)i);
	}
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.c[STAT_connections_open], 10);
	ck_assert_uint_eq(sum.c[STAT_jobs_queued], 14);
	ck_assert_uint_eq(sum.c[STAT_jobs_running], 15);
	ck_assert_uint_eq(sum.c[STAT_jobs_done], 32);
	ck_assert_uint_eq(sum.c[STAT_connections_total], 22);
	for (i = 0; i < CMD_COUNT; i++)
		ck_assert_uint_eq(sum.cmd[i], 10);
	for (i = 0; i < ERR_COUNT; i++)
		ck_assert_uint_eq(sum.err[i], 12);
	ck_assert_uint_eq(sum.workers, 2);
	stats_destroy(st);
}
END_TEST

/* A worker's gauges are reset after it exits, as the master does it. */
START_TEST(test_reset_gauges_after_child)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	pid_t			 pid;

	ck_assert_ptr_nonnull(st);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		stats_add(stats_slot_use(st, 5), STAT_connections_open, 3);
		stats_add(stats_slot_use(st, 5), STAT_connections_total, 3);
		stats_add(stats_slot_use(st, 5), STAT_jobs_running, 2);
		_exit(0);
	}
	reap(pid);
	stats_reset_gauges(st, 5);
	stats_sum(st, &sum);
	ck_assert_uint_eq(sum.c[STAT_connections_open], 0);
	ck_assert_uint_eq(sum.c[STAT_jobs_running], 0);
	ck_assert_uint_eq(sum.c[STAT_connections_total], 3);
	stats_destroy(st);
}
END_TEST

/* The JSON of a fresh region: every key there, every value 0. */
START_TEST(test_json_zero)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	char			*text;

	ck_assert_ptr_nonnull(st);
	stats_sum(st, &sum);
	text = json_of(&sum);
	check_json_sum(text, &sum);
	free(text);
	stats_destroy(st);
}
END_TEST

/* Every key carries its own number. */
START_TEST(test_json_values)
{
	struct stats_sum	 sum;
	char			*text;

	distinct_sum(&sum);
	text = json_of(&sum);
	check_json_sum(text, &sum);
	check_key(text, "requests", 1033);
	check_key(sub_object(text, "commands"), "prime", 200);
	check_key(sub_object(text, "errors"), "shutting-down", 56);
	free(text);
}
END_TEST

/* From counters in the region to the line: the whole STATS path. */
START_TEST(test_json_from_region)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	char			*text;

	ck_assert_ptr_nonnull(st);
	atomic_store(&st->workers, 3);
	stats_add(stats_slot_use(st, 0), STAT_requests, 10);
	stats_add(stats_slot_use(st, 1), STAT_requests, 20);
	stats_add(stats_slot_use(st, 1), STAT_jobs_done, 4);
	stats_add(stats_slot_use(st, 2), STAT_connections_rejected, 1);
	add_cmd(stats_slot_use(st, 0), CMD_PRIME, 7);
	add_cmd(stats_slot_use(st, 2), CMD_PRIME, 1);
	add_cmd(stats_slot_use(st, 2), CMD_QUIT, 1);
	add_err(stats_slot_use(st, 1), ERR_UNKNOWN_CMD, 2);
	add_err(stats_slot_use(st, 2), ERR_TOO_LONG, 1);
	stats_sum(st, &sum);
	text = json_of(&sum);
	check_json_sum(text, &sum);
	check_key(text, "workers", 3);
	check_key(text, "requests", 30);
	check_key(text, "jobs_done", 4);
	check_key(text, "connections_rejected", 1);
	check_key(text, "connections_open", 0);
	check_key(sub_object(text, "commands"), "prime", 8);
	check_key(sub_object(text, "commands"), "quit", 1);
	check_key(sub_object(text, "commands"), "ping", 0);
	check_key(sub_object(text, "errors"), "unknown-command", 2);
	check_key(sub_object(text, "errors"), "too-long", 1);
	check_key(sub_object(text, "errors"), "bad-request", 0);
	free(text);
	stats_destroy(st);
}
END_TEST

/* The largest counter value is printed in full. */
START_TEST(test_json_big_numbers)
{
	struct stats_sum	 sum;
	char			*text;

	distinct_sum(&sum);
	sum.c[STAT_bytes_in] = UINT64_MAX;
	sum.cmd[CMD_ECHO] = UINT64_MAX - 1;
	sum.err[ERR_BUSY] = (uint64_t)1 << 40;
	text = json_of(&sum);
	check_json_sum(text, &sum);
	ck_assert_ptr_nonnull(strstr(text, "\"bytes_in\":18446744073709551615"));
	free(text);
}
END_TEST

/* The line is appended after what the buffer already holds. */
START_TEST(test_json_appends)
{
	struct stats_sum	 sum;
	struct evbuffer		*b = evbuffer_new();
	char			*text;

	ck_assert_ptr_nonnull(b);
	distinct_sum(&sum);
	evbuffer_add(b, "PONG\n", 5);
	ck_assert_int_eq(stats_json(b, &sum), 0);
	text = buffer_string(b);
	ck_assert_int_eq(strncmp(text, "PONG\n{", 6), 0);
	check_json_sum(text + 5, &sum);
	free(text);
	evbuffer_free(b);
}
END_TEST

/* The answering worker appears only when the sum names one. */
START_TEST(test_json_worker_pid)
{
	struct stats_sum	 sum;
	char			*text;
	int			 count;

	distinct_sum(&sum);
	text = json_of(&sum);
	ck_assert_ptr_null(json_find(text, "pid", &count));
	ck_assert_ptr_null(json_find(text, "worker", &count));
	free(text);

	sum.pid = 4242;
	sum.worker = 3;
	text = json_of(&sum);
	check_json_sum(text, &sum);
	check_key(text, "pid", 4242);
	check_key(text, "worker", 3);
	free(text);
}
END_TEST

/* stats_status_json of st, as a string (free it). */
static char *
status_of(const struct stats *st, int worker, long pid)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(stats_status_json(b, st, worker, pid), 0);
	s = buffer_string(b);
	evbuffer_free(b);
	return s;
}

/* A live worker in slot i of st: place w, pid, and some counts. */
static struct stats_slot *
live_slot(struct stats *st, int i, int w, long pid)
{
	struct stats_slot	*s = stats_slot_use(st, i);

	atomic_store(&s->pid, pid);
	atomic_store(&s->worker, w);
	stats_add(s, STAT_requests, (uint64_t)w * 100 + 7);
	stats_add(s, STAT_connections_open, (uint64_t)w + 2);
	stats_add(s, STAT_jobs_queued, (uint64_t)w + 1);
	return s;
}

/* One worker as the status page sees it: its loop's beat, its job's age. */
START_TEST(test_worker_view)
{
	struct stats		*st = stats_create();
	struct stats_slot	*s;
	struct stats_worker	 w;
	uint64_t		 now;

	ck_assert_ptr_nonnull(st);
	s = live_slot(st, 3, 1, 4242);
	now = stats_now_us() / 1000;
	ck_assert_int_eq(stats_worker(st, 4, now, &w), 0);
	ck_assert_int_eq(stats_worker(st, 3, now, &w), 1);
	ck_assert_int_eq(w.worker, 1);
	ck_assert_int_eq(w.pid, 4242);
	ck_assert_uint_eq(w.requests, 107);
	ck_assert_uint_eq(w.connections_open, 3);
	ck_assert_uint_eq(w.jobs_queued, 2);
	/* Never beat yet: not silent, as far as anyone knows. */
	ck_assert_uint_eq(w.silent_ms, 0);

	/* A job 2.5 s on its thread shows only while one runs. */
	stats_beat(s, UINT64_C(2500000000));
	now = stats_now_us() / 1000;
	stats_worker(st, 3, now, &w);
	ck_assert_uint_eq(w.job_ms, 0);
	ck_assert_uint_le(w.silent_ms, 1);
	stats_add(s, STAT_jobs_running, 1);
	stats_worker(st, 3, now + 500, &w);
	ck_assert_uint_eq(w.jobs_running, 1);
	ck_assert_uint_ge(w.job_ms, 3000);
	ck_assert_uint_le(w.job_ms, 3001);
	ck_assert_uint_ge(w.silent_ms, 500);
	ck_assert_uint_le(w.silent_ms, 501);
	/* A clock read before the beat is no silence. */
	stats_worker(st, 3, now - 10, &w);
	ck_assert_uint_eq(w.silent_ms, 0);

	/* The worker gone: nothing to show. */
	stats_reset_gauges(st, 3);
	ck_assert_int_eq(stats_worker(st, 3, now, &w), 0);
	ck_assert_uint_eq(atomic_load(&s->beat_ms), 0);
	ck_assert_uint_eq(atomic_load(&s->job_since_ms), 0);
	stats_destroy(st);
}
END_TEST

/*
 * The status view: STATS's keys with the server's name, the time, each
 * command's latency buckets and every live worker, on one line.
 */
START_TEST(test_status_json)
{
	struct stats		*st = stats_create();
	struct stats_sum	 sum;
	char			*text;
	const char		*lat, *p;
	int			 i;

	ck_assert_ptr_nonnull(st);
	atomic_store(&st->workers, 2);
	live_slot(st, 0, 0, 1111);
	live_slot(st, 5, 1, 2222);
	stats_slot_use(st, 9);		/* a worker that is gone */
	stats_add(&st->slot[9], STAT_requests, 1000);
	stats_observe(&st->slot[0], CMD_PRIME, 70);	/* 50 < 70 <= 100 */
	stats_observe(&st->slot[5], CMD_PRIME, 90);
	stats_observe(&st->slot[5], CMD_PING, 100000000);	/* +Inf */
	text = status_of(st, 1, 2222);
	check_json_line(text);

	/* STATS, whole, with the answering worker. */
	stats_sum(st, &sum);
	sum.worker = 1;
	sum.pid = 2222;
	check_json_sum(text, &sum);
	check_key(text, "requests", 1114);
	check_key(text, "pid", 2222);
	check_key(text, "master_pid", (uint64_t)getpid());
	check_key(text, "started", (uint64_t)st->start_unix);

	/* The buckets: bounds, and counts with +Inf last. */
	ck_assert_ptr_nonnull(strstr(text, "\"bounds_us\":[50,100,250,"));
	ck_assert_ptr_nonnull(strstr(text, ",30000000,60000000],"));
	lat = sub_object(text, "latency");
	ck_assert_int_eq(json_members(lat), CMD_COUNT);
	ck_assert_ptr_nonnull(strstr(lat, "\"prime\":[0,2,0,"));
	p = strstr(lat, "\"ping\":[");
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < HIST_BUCKETS - 1; i++)
		ck_assert_ptr_nonnull(p = strchr(p + 1, ','));
	ck_assert_int_eq(strncmp(p, ",1]", 3), 0);

	/* The live workers, in slot order; not the one gone. */
	p = strstr(text, "\"per_worker\":[{\"worker\":0,\"pid\":1111,"
	    "\"requests\":7,\"connections_open\":2,\"jobs_queued\":1,");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p, "},{\"worker\":1,\"pid\":2222,"));
	ck_assert_str_eq(text + strlen(text) - 4, "}]}\n");
	free(text);
	stats_destroy(st);
}
END_TEST

/* Every test, in one suite. */
static Suite *
stats_suite(void)
{
	Suite	*s = suite_create("stats");
	TCase	*tc;

	tc = tcase_create("region");
	tcase_add_test(tc, test_create_zeroed);
	tcase_add_test(tc, test_slot_alignment);
	tcase_add_test(tc, test_child_adds);
	tcase_add_test(tc, test_children_concurrent);
	tcase_add_test(tc, test_sum_slots);
	tcase_add_test(tc, test_add_sub);
	tcase_add_test(tc, test_uptime);
	tcase_add_test(tc, test_reset_gauges);
	tcase_add_test(tc, test_reset_gauges_after_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_zero);
	tcase_add_test(tc, test_json_values);
	tcase_add_test(tc, test_json_from_region);
	tcase_add_test(tc, test_json_big_numbers);
	tcase_add_test(tc, test_json_appends);
	tcase_add_test(tc, test_json_worker_pid);
	tcase_add_test(tc, test_worker_view);
	tcase_add_test(tc, test_status_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_main(stats_suite());
}
