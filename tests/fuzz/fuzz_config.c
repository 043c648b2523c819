/*
 * fuzz_config.c: libFuzzer target for the configuration parser.
 *
 * Each input is used three ways:
 *   - as a config file: written to one temporary file made at start-up and
 *     read with config_load_file() over the defaults, then config_finish();
 *   - as whitespace-separated words, taken in pairs as config_set(key,
 *     value) (a last odd word gets no value), then config_finish();
 *   - word by word as a listen spec for config_parse_listen().
 * The target aborts when:
 *   - a setting leaves its documented range or a string field loses its
 *     terminator (checked after every step, failed ones included);
 *   - a failure comes without a message, or a message overruns its buffer
 *     (every message buffer is allocated at its exact size, and each call
 *     is also made with an 8-byte one);
 *   - config_finish() leaves no listener, table-n above max-n, or two
 *     listeners on one fixed address;
 *   - a file with a line longer than the limit is accepted, or one without
 *     is refused as too long, or one holding a NUL byte is accepted;
 *   - an accepted listen spec's host is not the one written in it, or the
 *     spec written back from the parsed fields does not parse the same.
 * FUZZ_CONFIG_LAX in the environment skips the checks of the NUL bytes,
 * of "line longer" messages and of the written host, so that a long run
 * can look past those findings while they are open (tests/fuzz/regress).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "primed.h"
#include "fuzz.h"

/* Size of the message buffers; a second, tiny one tests truncation. */
#define ERRLEN		512
#define ERRLEN_SMALL	8

/* True if the array field f of p holds a NUL. */
#define TERMINATED(p, f)	(memchr((p)->f, '\0', sizeof((p)->f)) != NULL)

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Longest line config_load_file() takes: its buffer less '\n' and NUL. */
#define LINE_MAX_FILE	4094

/* The temporary config file: its descriptor and the name to open it by. */
static int	tmp_fd = -1;
static char	tmp_path[64];
static char	tmp_name[64];

/* FUZZ_CONFIG_LAX is set: skip the checks of open findings (see below). */
static int	lax;

/* Remove the temporary file if it still has a name. */
static void
tmp_cleanup(void)
{
	if (tmp_name[0] != '\0')
		unlink(tmp_name);
}

/*
 * Make the temporary file. Where /proc is mounted the file is unlinked at
 * once and opened as /proc/self/fd/N, so a crash leaves nothing behind.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir = getenv("TMPDIR"), *v = getenv("FUZZ_CONFIG_LAX");
	int		 fd;

	lax = v != NULL && *v != '\0' && strcmp(v, "0") != 0;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(tmp_name, sizeof(tmp_name), "%s/fuzz_config.XXXXXX", dir);
	if (strlen(tmp_name) + 1 >= sizeof(tmp_name))
		snprintf(tmp_name, sizeof(tmp_name), "/tmp/fuzz_config.XXXXXX");
	if ((tmp_fd = mkstemp(tmp_name)) == -1) {
		perror("fuzz_config: mkstemp");
		exit(1);
	}
	snprintf(tmp_path, sizeof(tmp_path), "/proc/self/fd/%d", tmp_fd);
	if ((fd = open(tmp_path, O_RDONLY)) != -1) {
		close(fd);
		unlink(tmp_name);
		tmp_name[0] = '\0';
	} else {
		snprintf(tmp_path, sizeof(tmp_path), "%s", tmp_name);
		atexit(tmp_cleanup);
	}
	return 0;
}

/* Replace the temporary file's content with data. */
static void
tmp_write(const uint8_t *data, size_t size)
{
	size_t	done = 0;
	ssize_t	n;

	if (ftruncate(tmp_fd, 0) == -1)
		abort();
	while (done < size) {
		if ((n = pwrite(tmp_fd, data + done, size - done,
		    (off_t)done)) <= 0)
			abort();
		done += (size_t)n;
	}
}

/* After a failed call, check its message: terminated and not empty. */
static void
check_err(int rc, const char *err, size_t errlen)
{
	if (rc == 0)
		return;
	CHECK(memchr(err, '\0', errlen) != NULL);
	CHECK(err[0] != '\0');
}

/* Check a port field: 0..65535 in decimal, written without leading zeros. */
static void
check_port(const char *port)
{
	size_t		i, len = strlen(port);
	unsigned long	v = 0;

	CHECK(len >= 1 && len <= 5);
	CHECK(port[0] != '0' || len == 1);
	for (i = 0; i < len; i++) {
		CHECK(port[i] >= '0' && port[i] <= '9');
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	CHECK(v <= 65535);
}

/* Check one listener as config_parse_listen() left it. */
static void
check_listen(const struct listen_conf *lc)
{
	CHECK(lc->service == SVC_PRIME || lc->service == SVC_UPPER ||
	    lc->service == SVC_ECHO || lc->service == SVC_HTTP);
	/* http frames its own requests; the others by line or raw. */
	CHECK(lc->service == SVC_HTTP ? lc->framing == FRAMING_HTTP :
	    lc->framing == FRAMING_LINE || lc->framing == FRAMING_RAW);
	CHECK(TERMINATED(lc, host) && TERMINATED(lc, port) &&
	    TERMINATED(lc, spec));
	CHECK(lc->host[0] != '\0');
	check_port(lc->port);
}

/* Check that every setting is within the range config.c documents. */
static void
check_config(const struct config *cfg, int finished)
{
	int	i, j;

	CHECK(cfg->workers >= 1 && cfg->workers <= MAX_WORKERS);
	CHECK(cfg->threads >= 1 && cfg->threads <= 64);
	CHECK(cfg->queue_limit >= 1 && cfg->queue_limit <= 1000000);
	CHECK(cfg->compute == COMPUTE_POOL || cfg->compute == COMPUTE_INLINE);
	CHECK(cfg->io == IO_TIMER || cfg->io == IO_BLOCKING);
	CHECK(cfg->kernel == KERNEL_SIEVE || cfg->kernel == KERNEL_TRIAL ||
	    cfg->kernel == KERNEL_COUNT);
	CHECK(cfg->max_n >= 1 && cfg->max_n <= UINT64_C(1000000000000000));
	CHECK(cfg->table_n <= 100000000);
	CHECK(cfg->io_delay_ms >= 0 && cfg->io_delay_ms <= SLEEP_MAX_MS);
	CHECK(cfg->max_line >= 16 && cfg->max_line <= 1048576);
	CHECK(cfg->shutdown_timeout_ms >= 0 &&
	    cfg->shutdown_timeout_ms <= 3600 * 1000);
	CHECK(cfg->idle_timeout_ms >= 0 && cfg->idle_timeout_ms <= 86400000);
	CHECK(cfg->read_timeout_ms >= 0 && cfg->read_timeout_ms <= 86400000);
	CHECK(cfg->job_timeout_ms >= 0 && cfg->job_timeout_ms <= 86400000);
	CHECK(cfg->drain_delay_ms >= 0 && cfg->drain_delay_ms <= 3600000);
	CHECK(cfg->reply_memory_mb >= 0 && cfg->reply_memory_mb <= 1048576);
	CHECK(cfg->pool_order == ORDER_FIFO || cfg->pool_order == ORDER_COST);
	CHECK(cfg->slice_ms >= 0 && cfg->slice_ms <= 60000);
	CHECK(cfg->max_connections >= 1 && cfg->max_connections <= 1000000);
	CHECK(cfg->max_inflight >= 1 && cfg->max_inflight <= 65536);
	CHECK(cfg->pool_nice >= 0 && cfg->pool_nice <= 20);
	CHECK(cfg->monitor == 0 || cfg->monitor == 1);
	CHECK(cfg->check_config == 0 || cfg->check_config == 1);
	CHECK(cfg->log_level >= LOG_LVL_ERROR &&
	    cfg->log_level <= LOG_LVL_DEBUG);
	CHECK(TERMINATED(cfg, config_file) && TERMINATED(cfg, port_file) &&
	    TERMINATED(cfg, user));
	CHECK(cfg->nlisten >= 0 && cfg->nlisten <= MAX_LISTENERS);
	for (i = 0; i < cfg->nlisten; i++)
		check_listen(&cfg->listen[i]);
	if (!finished)
		return;
	CHECK(cfg->nlisten >= 1);
	CHECK(cfg->table_n <= cfg->max_n);
	/* Two listeners never bind the same fixed address, as written. */
	for (i = 0; i < cfg->nlisten; i++)
		for (j = i + 1; j < cfg->nlisten; j++)
			CHECK(strcmp(cfg->listen[i].port, "0") == 0 ||
			    strcmp(cfg->listen[i].port,
			    cfg->listen[j].port) != 0 ||
			    strcasecmp(cfg->listen[i].host,
			    cfg->listen[j].host) != 0);
}

/* Finish cfg (when rc says it is good so far) and check the result. */
static void
finish(struct config *cfg, int rc, char *err, size_t errlen)
{
	check_err(rc, err, errlen);
	check_config(cfg, 0);
	if (rc != 0)
		return;
	rc = config_finish(cfg, err, errlen);
	check_err(rc, err, errlen);
	check_config(cfg, rc == 0);
}

/* Length of the longest line of data, its '\n' not counted. */
static size_t
longest_line(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size, *nl;
	size_t		 n, max = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > max)
			max = n;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return max;
}

/*
 * Whether err is "PATH:N: line longer than ...": the message itself, not a
 * value quoted in another message that happens to hold those words.
 */
static int
says_too_long(const char *err)
{
	size_t	n = strlen(tmp_path);

	if (strncmp(err, tmp_path, n) != 0 || err[n] != ':')
		return 0;
	err += n + 1;
	while (*err >= '0' && *err <= '9')
		err++;
	return strncmp(err, ": line longer than", 18) == 0;
}

/* The input as a config file (already written to the temporary file). */
static void
fuzz_file(const uint8_t *data, size_t size, char *err, size_t errlen)
{
	struct config	cfg;
	int		rc;

	config_defaults(&cfg);
	memset(err, 'x', errlen);
	rc = config_load_file(&cfg, tmp_path, err, errlen);
	CHECK(rc == 0 || rc == -1);
	/*
	 * Lines past the limit are refused, and only they are called long;
	 * a NUL byte is not taken for the end of a line.
	 */
	if (rc == 0)
		CHECK(longest_line(data, size) <= LINE_MAX_FILE);
	if (rc == 0 && !lax)
		CHECK(memchr(data, '\0', size) == NULL);
	if (rc != 0 && !lax && errlen == ERRLEN && says_too_long(err))
		CHECK(longest_line(data, size) > LINE_MAX_FILE);
	finish(&cfg, rc, err, errlen);
}

/* Split buf (NUL-terminated) into words in place; return how many. */
static size_t
split_words(char *buf, size_t size, char **words, size_t max)
{
	size_t	i, n = 0;
	int	in = 0;

	for (i = 0; i < size; i++) {
		if (buf[i] == '\0' || isspace((unsigned char)buf[i])) {
			buf[i] = '\0';
			in = 0;
		} else if (!in) {
			in = 1;
			if (n < max)
				words[n++] = &buf[i];
		}
	}
	return n;
}

/* Words in pairs through config_set(); the last odd word without value. */
static void
fuzz_set(char **words, size_t n, char *err, size_t errlen)
{
	struct config	cfg;
	size_t		i;
	int		rc = 0;

	config_defaults(&cfg);
	for (i = 0; i < n && rc == 0; i += 2) {
		memset(err, 'x', errlen);
		rc = config_set(&cfg, words[i], i + 1 < n ? words[i + 1] : NULL,
		    err, errlen);
		CHECK(rc == 0 || rc == -1);
		check_err(rc, err, errlen);
		check_config(&cfg, 0);
	}
	finish(&cfg, rc, err, errlen);
}

/*
 * Check that lc->host is the host of spec as written: after "SERVICE=",
 * either HOST or [HOST] and then ":". Truncating a host would break this.
 */
static void
check_listen_host(const struct listen_conf *lc, const char *spec)
{
	const char	*h = strchr(spec, '=');
	size_t		 len = strlen(lc->host);

	CHECK(h != NULL);
	h++;
	if (*h == '[') {
		CHECK(strncmp(h + 1, lc->host, len) == 0);
		CHECK(h[1 + len] == ']' && h[2 + len] == ':');
	} else {
		CHECK(strncmp(h, lc->host, len) == 0);
		CHECK(h[len] == ':');
	}
}

/* Check that the spec written back from lc's fields parses to the same. */
static void
check_listen_again(const struct listen_conf *lc, char *err, size_t errlen)
{
	static const char *const framings[] = { "line", "raw" };
	struct listen_conf	 again;
	char			 spec[sizeof(lc->spec)];
	int			 v6 = strchr(lc->host, ':') != NULL;

	/* http takes no framing option: its own is implied. */
	CHECK((size_t)snprintf(spec, sizeof(spec), "%s=%s%s%s:%s%s%s",
	    config_service_name(lc->service), v6 ? "[" : "", lc->host,
	    v6 ? "]" : "", lc->port,
	    lc->framing == FRAMING_HTTP ? "" : ",framing=",
	    lc->framing == FRAMING_HTTP ? "" : framings[lc->framing]) <
	    sizeof(spec));
	CHECK(config_parse_listen(&again, spec, err, errlen) == 0);
	CHECK(again.service == lc->service && again.framing == lc->framing);
	CHECK(strcmp(again.host, lc->host) == 0);
	CHECK(strcmp(again.port, lc->port) == 0);
}

/* Each word as a listen spec, with a full and a tiny message buffer. */
static void
fuzz_listen(char **words, size_t n, char *err, size_t errlen, char *small)
{
	struct listen_conf	lc, again;
	size_t			i;
	int			rc;

	for (i = 0; i < n; i++) {
		memset(err, 'x', errlen);
		rc = config_parse_listen(&lc, words[i], err, errlen);
		CHECK(rc == 0 || rc == -1);
		check_err(rc, err, errlen);
		memset(small, 'x', ERRLEN_SMALL);
		CHECK(config_parse_listen(&again, words[i], small,
		    ERRLEN_SMALL) == rc);
		check_err(rc, small, ERRLEN_SMALL);
		if (rc != 0)
			continue;
		check_listen(&lc);
		CHECK(strcmp(lc.spec, words[i]) == 0);
		if (!lax)
			check_listen_host(&lc, words[i]);
		check_listen_again(&lc, err, errlen);
	}
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*err, *small, *buf, *words[64];
	size_t	 n;

	err = malloc(ERRLEN);
	small = malloc(ERRLEN_SMALL);
	buf = malloc(size + 1);
	if (err == NULL || small == NULL || buf == NULL)
		abort();
	tmp_write(data, size);
	fuzz_file(data, size, err, ERRLEN);
	fuzz_file(data, size, small, ERRLEN_SMALL);

	memcpy(buf, data, size);
	buf[size] = '\0';
	n = split_words(buf, size, words, sizeof(words) / sizeof(words[0]));
	fuzz_set(words, n, err, ERRLEN);
	fuzz_listen(words, n, err, ERRLEN, small);

	free(buf);
	free(small);
	free(err);
	return 0;
}
