/*
 * log.c: one line per event on stderr, "name[pid]: func: message".
 * When stderr is the journal (JOURNAL_STREAM names our stderr), each line
 * starts with the sd-daemon "<N>" priority prefix instead, since the journal
 * adds time and pid itself.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "primed.h"

static char	log_name[32] = "primed";
static int	log_level = LOG_LVL_INFO;
static int	log_journal;

static const int level_prio[] = { 3, 4, 6, 7 };

/* True when JOURNAL_STREAM=dev:inode names the file on fd 2. */
static int
log_stderr_is_journal(void)
{
	const char	*js = getenv("JOURNAL_STREAM");
	unsigned long	 dev, ino;
	struct stat	 st;

	if (js == NULL || sscanf(js, "%lu:%lu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long)st.st_dev == dev &&
	    (unsigned long)st.st_ino == ino;
}

/* Route libevent's own messages into ours. */
static void
log_from_libevent(int severity, const char *msg)
{
	int	lvl;

	switch (severity) {
	case EVENT_LOG_DEBUG:	lvl = LOG_LVL_DEBUG; break;
	case EVENT_LOG_MSG:	lvl = LOG_LVL_INFO; break;
	case EVENT_LOG_WARN:	lvl = LOG_LVL_WARN; break;
	default:		lvl = LOG_LVL_ERROR; break;
	}
	log_msg(lvl, "libevent", "%s", msg);
}

/* Set up logging, at level info, for the process called name. */
void
log_init(const char *name)
{
	log_set_name(name);
	log_journal = log_stderr_is_journal();
	event_set_log_callback(log_from_libevent);
}

/* Rename the process in log lines, e.g. "worker 3" after fork. */
void
log_set_name(const char *name)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
}

/* Change the level, e.g. on reload. */
void
log_set_level(int level)
{
	log_level = level;
}

/* Write one line, whole, with a single write so processes don't interleave. */
void
log_msg(int level, const char *func, const char *fmt, ...)
{
	char	 line[1024];
	int	 n, m, saved = errno;
	va_list	 ap;

	if (level > log_level)
		return;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>%s: %s: ",
		    level_prio[level], log_name, func);
	else
		n = snprintf(line, sizeof(line), "%s[%ld]: %s: ",
		    log_name, (long)getpid(), func);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, n);
	errno = saved;
}
