/*
 * priv.c: the user the workers run as.
 *
 * As nginx does, the master keeps the privileges it was started with, so a
 * reload can still bind a port below 1024, add sockets for more workers and
 * rewrite the port file; it only reads its configuration, binds and forks,
 * and never reads a byte from a client. Each worker becomes --user right
 * after fork, before it makes its event loop or its threads or serves
 * anyone, and proves that root cannot come back.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "primed.h"

/* Resolve user (empty: none) into pv, in the master; 0, or -1 with err. */
int
priv_lookup(const char *user, struct priv *pv, char *err, size_t errlen)
{
	struct passwd	*pw;

	memset(pv, 0, sizeof(*pv));
	if (user == NULL || user[0] == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: %s", user, errno ?
		    strerror(errno) : "no such user");
		return -1;
	}
	pv->set = 1;
	pv->uid = pw->pw_uid;
	pv->gid = pw->pw_gid;
	snprintf(pv->name, sizeof(pv->name), "%s", user);
	return 0;
}

/* True when every id of this process is pv's, and pv's group its only one. */
static int
priv_is(const struct priv *pv)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid, groups[2];

	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1)
		return 0;
	if (ruid != pv->uid || euid != pv->uid || suid != pv->uid ||
	    rgid != pv->gid || egid != pv->gid || sgid != pv->gid)
		return 0;
	return getgroups(2, groups) == 1 && groups[0] == pv->gid;
}

/*
 * In a worker, before it serves: become pv (supplementary groups, group,
 * user, each checked), then make sure root is gone for good. A process
 * already running as pv's user is left as it is. 0, or -1 (logged): the
 * worker then exits 78, since trying again would fail again.
 */
int
priv_drop(const struct priv *pv)
{
	if (!pv->set || (geteuid() == pv->uid && getuid() == pv->uid))
		return 0;
	if (setgroups(1, &pv->gid) == -1 || setgid(pv->gid) == -1 ||
	    setuid(pv->uid) == -1) {
		log_error("cannot become %s: %s", pv->name, strerror(errno));
		return -1;
	}
	if (!priv_is(pv)) {
		log_error("still not %s after switching to it", pv->name);
		return -1;
	}
	/* There is no way back: prove it. */
	if (pv->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_error("could regain root after becoming %s", pv->name);
		return -1;
	}
	log_debug("running as %s (uid %ld)", pv->name, (long)pv->uid);
	return 0;
}
