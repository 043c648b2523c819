/*
 * notify.c: tell the service manager how the server is doing (sd_notify).
 * Built with libsystemd when configure finds it; otherwise every call is a
 * no-op and the server runs the same. Only the master calls these.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "primed.h"

/* True when a service manager listens (NOTIFY_SOCKET is set). */
int
notify_enabled(void)
{
#ifdef HAVE_LIBSYSTEMD
	return getenv("NOTIFY_SOCKET") != NULL;
#else
	return 0;
#endif
}

/* Send one notification, e.g. "READY=1\nSTATUS=serving". */
void
notify_send(const char *fmt, ...)
{
#ifdef HAVE_LIBSYSTEMD
	char	msg[512];
	va_list	ap;
	int	rc;

	if (!notify_enabled())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((rc = sd_notify(0, msg)) < 0)
		log_warn("sd_notify: error %d", rc);
#else
	(void)fmt;
#endif
}

/* RELOADING=1 with the monotonic time systemd 253 and later ask for. */
void
notify_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}
