/*
 * priv.c: drop root for a named user once the sockets are bound, so
 * ports below 1024 work and nothing after that runs as root.
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

/* Become user (setgroups, setgid, setuid, each checked); 0 or -1. */
int
priv_drop(const char *user)
{
	struct passwd	*pw;

	if (user == NULL || user[0] == '\0') {
		if (geteuid() == 0)
			log_warn("running as root: consider --user");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_error("user %s: %s", user, errno ? strerror(errno) :
		    "no such user");
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		log_error("--user %s needs root to switch to", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_error("cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	/* There is no way back: prove it. */
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_error("could regain root after dropping it");
		return -1;
	}
	log_info("running as %s (uid %ld)", user, (long)pw->pw_uid);
	return 0;
}
