/*
 * listener.c: listening sockets.
 *
 * The master binds, for every listener, one socket per worker slot, all on
 * the same address with SO_REUSEPORT, and keeps them open for its whole
 * life; the kernel spreads new connections over them. Worker i accepts only
 * on socket i, so a worker that dies leaves its queue to its successor.
 * When accept runs out of file descriptors the listener pauses on a short
 * timer instead of spinning on a socket that stays readable.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "primed.h"

#define BACKLOG		4096
#define EMFILE_PAUSE_MS	100

/* One non-blocking listening socket bound to sa; -1 with err filled in. */
static int
listener_open(const struct sockaddr *sa, socklen_t salen, char *err,
    size_t errlen)
{
	int	fd, on = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)) {
		snprintf(err, errlen, "setsockopt: %s", strerror(errno));
		goto fail;
	}
	if (bind(fd, sa, salen) == -1) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		goto fail;
	}
	if (listen(fd, BACKLOG) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Bind n sockets for lc into fds. Port 0 binds the first to a port the
 * kernel picks and the rest to that port. Returns 0, or -1 with err.
 */
int
listener_bind(const struct listen_conf *lc, int n, int *fds, char *err,
    size_t errlen)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 why[256];
	int			 i, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(lc->host, lc->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", lc->spec, gai_strerror(rc));
		return -1;
	}
	fds[0] = listener_open(res->ai_addr, res->ai_addrlen, why,
	    sizeof(why));
	freeaddrinfo(res);
	if (fds[0] == -1) {
		snprintf(err, errlen, "%s: %s", lc->spec, why);
		return -1;
	}
	sslen = sizeof(ss);
	getsockname(fds[0], (struct sockaddr *)&ss, &sslen);
	for (i = 1; i < n; i++) {
		fds[i] = listener_open((struct sockaddr *)&ss, sslen, why,
		    sizeof(why));
		if (fds[i] == -1) {
			snprintf(err, errlen, "%s: %s", lc->spec, why);
			while (--i >= 0)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

/* Another socket on the same address as fd (more workers on reload). */
int
listener_clone(int fd, char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	return listener_open((struct sockaddr *)&ss, sslen, err, errlen);
}

/* "host:port" (IPv6 in brackets) of a bound socket. */
void
listener_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);
	char			host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
}

/* The worker's listeners, for listener_of. */
static struct worker	*listener_worker;

/* Our listener that accepts with evl, or NULL. */
static struct listener *
listener_of(struct evconnlistener *evl)
{
	struct worker	*w = listener_worker;
	int		 i;

	for (i = 0; w != NULL && i < w->nlisteners; i++)
		if (w->listeners[i].evl == evl)
			return &w->listeners[i];
	return NULL;
}

/* A new connection on one of our sockets. */
static void
listener_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;
	int		 on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	conn_accept(l->w, l->lc, fd);
}

/* The pause after running out of descriptors is over. */
static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	if (l->evl != NULL)
		evconnlistener_enable(l->evl);
}

/*
 * accept failed: pause on EMFILE/ENFILE, shrug off the rest. evhttp's
 * listeners carry evhttp's own argument, so the listener is looked up.
 */
static void
listener_error(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = listener_of(evl);
	struct timeval	 tv = { 0, EMFILE_PAUSE_MS * 1000 };
	int		 e = EVUTIL_SOCKET_ERROR();

	if (l == NULL)
		return;

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_warn("accept: %s: pausing %d ms", strerror(e),
		    EMFILE_PAUSE_MS);
		evconnlistener_disable(evl);
		evtimer_add(l->backoff, &tv);
		return;
	}
	log_debug("accept: %s", strerror(e));
}

/* Accept on fd (already listening) for worker w. */
int
listener_start(struct worker *w, struct listener *l,
    const struct listen_conf *lc, int fd)
{
	l->w = w;
	l->lc = lc;
	listener_worker = w;
	l->backoff = evtimer_new(w->base, listener_resume, l);
	if (lc->service == SVC_HTTP) {
		if (http_listen(w->httpd, l, fd) == -1)
			l->evl = NULL;
	} else
		l->evl = evconnlistener_new(w->base, listener_accept, l,
		    LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (l->backoff == NULL || l->evl == NULL) {
		log_error("cannot accept on fd %d", fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, listener_error);
	return 0;
}

/* Stop accepting; the master still holds the socket. */
void
listener_stop(struct listener *l)
{
	if (l->bound != NULL)
		http_unlisten(l->w->httpd, l);
	else if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->backoff != NULL)
		event_free(l->backoff);
	l->evl = NULL;
	l->backoff = NULL;
}
