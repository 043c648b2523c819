/*
 * sockets.c: the master's table of listening sockets.
 *
 * Every listener of every live generation has an entry: its address and
 * one socket per worker slot, all bound with SO_REUSEPORT; the kernel
 * spreads new connections over them. Worker i accepts only on socket i
 * (listener.c), so a worker that dies leaves its queue to its successor.
 * Generations that bind the same address share the entry, so a reload
 * keeps the sockets, their accept queues and a port the kernel picked;
 * each slot counts the generations that use it, and the last one to go
 * closes it.
 *
 * SO_REUSEPORT lets any process of the same user join a group and take a
 * share of its connections without a word. So the first socket of an
 * address is bound and put to listen without it: that fails if anyone
 * listens there already, and makes anyone who tries the same after us
 * fail, with no window between a check and the bind. Only then does it
 * get SO_REUSEPORT, and the other slots join it. SO_REUSEADDR stays on, so
 * connections of an earlier run left in TIME_WAIT do not block a restart.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "primed.h"

#define BACKLOG		4096
#define LSOCK_MAX	(MAX_GENS * MAX_LISTENERS)

struct lsock {
	struct sockaddr_storage	 want;		/* as configured: port may be 0 */
	struct sockaddr_storage	 addr;		/* as bound */
	socklen_t		 len;
	int			 nfds;		/* 0: the entry is free */
	int			 fds[MAX_WORKERS];
	int			 users[MAX_WORKERS];	/* generations, by slot */
	int			 taken;		/* by the config being bound */
};

static struct lsock	lsocks[LSOCK_MAX];

/* The first address of lc; 0, or -1 with err. */
static int
sockets_resolve(const struct listen_conf *lc, struct sockaddr_storage *ss,
    socklen_t *len, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(lc->host, lc->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", lc->spec, gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The port of an IPv4 or IPv6 address. */
static in_port_t
sockets_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)ss)->sin6_port;
	return ((const struct sockaddr_in *)ss)->sin_port;
}

/*
 * Compare a and b: 0 when the same host and port, 1 when the same port
 * and one host is the wildcard address of the family the other is in (so
 * both would take the connections), -1 otherwise.
 */
static int
sockets_cmp(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family ||
	    sockets_port(a) != sockets_port(b))
		return -1;
	if (a->ss_family == AF_INET) {
		if (a4->sin_addr.s_addr == b4->sin_addr.s_addr)
			return 0;
		return a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == htonl(INADDR_ANY) ? 1 : -1;
	}
	if (IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr) &&
	    a6->sin6_scope_id == b6->sin6_scope_id)
		return 0;
	return IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) ? 1 : -1;
}

/*
 * Resolve every listener of cfg and refuse two that would take each
 * other's connections: the same fixed port on the same address, or on
 * the wildcard address of the other's family. 0, or -1 with err.
 */
int
sockets_check(const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage	ss[MAX_LISTENERS];
	socklen_t		len;
	int			i, j;

	for (i = 0; i < cfg->nlisten; i++) {
		if (sockets_resolve(&cfg->listen[i], &ss[i], &len, err,
		    errlen) == -1)
			return -1;
		if (sockets_port(&ss[i]) == 0)
			continue;
		for (j = 0; j < i; j++) {
			if (sockets_cmp(&ss[i], &ss[j]) == -1)
				continue;
			snprintf(err, errlen, "\"%s\" and \"%s\" bind the same "
			    "address", cfg->listen[j].spec, cfg->listen[i].spec);
			return -1;
		}
	}
	return 0;
}

/* Turn on SO_REUSEPORT; 0, or -1 with err. */
static int
sockets_reuseport(int fd, char *err, size_t errlen)
{
	int	on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		snprintf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A listening TCP socket on ss, SO_REUSEADDR on. The first socket of an
 * address is bound and listening before it allows anyone to share the
 * port (see the top of this file); the others join its group. -1 with err.
 */
static int
sockets_open(const struct sockaddr_storage *ss, socklen_t len, int first,
    char *err, size_t errlen)
{
	int	fd, on = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)) {
		snprintf(err, errlen, "setsockopt: %s", strerror(errno));
		goto fail;
	}
	if (!first && sockets_reuseport(fd, err, errlen) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, len) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		if (first && errno == EADDRINUSE)
			snprintf(err, errlen, "address already in use "
			    "(something else listens there)");
		else
			snprintf(err, errlen, "bind: %s", strerror(errno));
		goto fail;
	}
	if (first && sockets_reuseport(fd, err, errlen) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * The entry an address already has, not yet taken by the config being
 * bound: port 0 matches an entry configured with port 0 on the same host
 * (the n-th such listener the n-th such entry), a fixed port the entry
 * bound there. -1 when there is none.
 */
static int
sockets_find(const struct sockaddr_storage *want)
{
	int	i;

	for (i = 0; i < LSOCK_MAX; i++)
		if (lsocks[i].nfds > 0 && !lsocks[i].taken &&
		    sockets_cmp(sockets_port(want) == 0 ? &lsocks[i].want :
		    &lsocks[i].addr, want) == 0)
			return i;
	return -1;
}

/* An entry whose sockets a new one on want would overlap, or -1. */
static int
sockets_overlap(const struct sockaddr_storage *want)
{
	int	i;

	if (sockets_port(want) == 0)
		return -1;
	for (i = 0; i < LSOCK_MAX; i++)
		if (lsocks[i].nfds > 0 &&
		    sockets_cmp(&lsocks[i].addr, want) != -1)
			return i;
	return -1;
}

/* A new entry for want, its first socket bound; -1 with err. */
static int
sockets_new(const struct sockaddr_storage *want, socklen_t len, char *err,
    size_t errlen)
{
	struct lsock	*e;
	char		 name[80];
	int		 i, j;

	for (i = 0; i < LSOCK_MAX && lsocks[i].nfds > 0; i++)
		;
	if (i == LSOCK_MAX) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	if ((j = sockets_overlap(want)) != -1) {
		sockets_name(lsocks[j].fds[0], name, sizeof(name));
		snprintf(err, errlen, "overlaps a listener still open (%s)",
		    name);
		return -1;
	}
	e = &lsocks[i];
	memset(e, 0, sizeof(*e));
	e->want = *want;
	e->len = sizeof(e->addr);
	if ((e->fds[0] = sockets_open(want, len, 1, err, errlen)) == -1)
		return -1;
	if (getsockname(e->fds[0], (struct sockaddr *)&e->addr,
	    &e->len) == -1) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		close(e->fds[0]);
		return -1;
	}
	e->nfds = 1;
	return i;
}

/* Close the sockets of e's last slots that no generation uses. */
static void
sockets_trim(struct lsock *e)
{
	while (e->nfds > 0 && e->users[e->nfds - 1] == 0)
		close(e->fds[--e->nfds]);
}

/* Give e sockets for n slots and count one more user of each; -1 on err. */
static int
sockets_take(struct lsock *e, int n, char *err, size_t errlen)
{
	int	i;

	while (e->nfds < n) {
		if ((e->fds[e->nfds] = sockets_open(&e->addr, e->len, 0,
		    err, errlen)) == -1) {
			sockets_trim(e);
			return -1;
		}
		e->nfds++;
	}
	for (i = 0; i < n; i++)
		e->users[i]++;
	return 0;
}

/*
 * Sockets for every listener of cfg, one per worker slot: an address
 * already in the table keeps its sockets, a new one is bound. ids[i] gets
 * the entry of cfg->listen[i], for sockets_fd and sockets_release.
 * 0, or -1 with err and nothing taken.
 */
int
sockets_acquire(const struct config *cfg, int *ids, char *err,
    size_t errlen)
{
	const struct listen_conf	*lc;
	struct sockaddr_storage		 want;
	socklen_t			 len;
	char				 why[256];
	int				 i, id;

	for (i = 0; i < LSOCK_MAX; i++)
		lsocks[i].taken = 0;
	for (i = 0; i < cfg->nlisten; i++) {
		lc = &cfg->listen[i];
		if (sockets_resolve(lc, &want, &len, err, errlen) == -1)
			goto fail;
		if ((id = sockets_find(&want)) == -1 &&
		    (id = sockets_new(&want, len, why, sizeof(why))) == -1)
			goto fail_why;
		if (sockets_take(&lsocks[id], cfg->workers, why,
		    sizeof(why)) == -1)
			goto fail_why;
		lsocks[id].taken = 1;
		ids[i] = id;
	}
	return 0;
fail_why:
	snprintf(err, errlen, "%s: %s", lc->spec, why);
fail:
	sockets_release(ids, i, cfg->workers);
	return -1;
}

/* One user fewer for slots 0..workers-1 of the n entries in ids. */
void
sockets_release(const int *ids, int n, int workers)
{
	struct lsock	*e;
	int		 i, j;

	for (i = 0; i < n; i++) {
		e = &lsocks[ids[i]];
		for (j = 0; j < workers && j < e->nfds; j++)
			e->users[j]--;
		sockets_trim(e);
	}
}

/* The socket of entry id for worker slot. */
int
sockets_fd(int id, int slot)
{
	return lsocks[id].fds[slot];
}

/* Close every socket (the master is exiting). */
void
sockets_close_all(void)
{
	int	i;

	for (i = 0; i < LSOCK_MAX; i++)
		while (lsocks[i].nfds > 0)
			close(lsocks[i].fds[--lsocks[i].nfds]);
}

/* "host:port" (IPv6 in brackets) of a bound socket. */
void
sockets_name(int fd, char *buf, size_t len)
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
