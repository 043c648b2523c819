/*
 * notify.c: tell the service manager how the server is doing (sd_notify).
 * With libsystemd (configure finds it) its sd_notify does the work;
 * without it, the same datagram goes out here, so a Type=notify unit
 * works either way. Only the master calls these.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "primed.h"

#ifndef HAVE_LIBSYSTEMD
/* One datagram to $NOTIFY_SOCKET ('@' means the abstract namespace). */
static int
sd_notify(int unset, const char *msg)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	size_t			 plen;
	int			 fd, rc;

	(void)unset;
	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (plen = strlen(path)) >= sizeof(sun.sun_path))
		return -EINVAL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	rc = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1 ? -errno : 1;
	close(fd);
	return rc;
}
#endif

/* Send one notification, e.g. "READY=1\nSTATUS=serving". */
void
notify_send(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	rc;

	/* No service manager listens: nothing to format or send. */
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((rc = sd_notify(0, msg)) < 0)
		log_warn("sd_notify: %s", strerror(-rc));
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
