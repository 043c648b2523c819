/*
 * listener.c: a worker accepting on its sockets of each listener.
 *
 * The master binds the sockets (sockets.c); a worker accepts on its own
 * one of each listener and hands every new socket to the listener's
 * handler, which knows the service; this file knows none. When accept
 * runs out of file descriptors the listener pauses on a short timer
 * instead of spinning on a socket that stays readable.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "primed.h"

#define EMFILE_PAUSE_MS	100

/* A new connection on one of our sockets: the service's handler has it. */
static void
listener_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;
	int		 on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	l->handler(l->w, l->lc, fd);
}

/* The pause after running out of descriptors is over. */
static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	if (l->evl != NULL)
		evconnlistener_enable(l->evl);
}

/* accept failed: pause on EMFILE/ENFILE, shrug off the rest. */
static void
listener_error(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = arg;
	struct timeval	 tv = { 0, EMFILE_PAUSE_MS * 1000 };
	int		 e = EVUTIL_SOCKET_ERROR();

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_warn("accept: %s: pausing %d ms", strerror(e),
		    EMFILE_PAUSE_MS);
		evconnlistener_disable(evl);
		evtimer_add(l->backoff, &tv);
		return;
	}
	log_debug("accept: %s", strerror(e));
}

/*
 * Accept on fd (already listening) for worker w; handler takes each new
 * socket, whatever its service.
 */
int
listener_start(struct worker *w, struct listener *l,
    const struct listen_conf *lc, int fd, listener_handler handler)
{
	l->w = w;
	l->lc = lc;
	l->handler = handler;
	l->backoff = evtimer_new(w->base, listener_resume, l);
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
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->backoff != NULL)
		event_free(l->backoff);
	l->evl = NULL;
	l->backoff = NULL;
}
