/*
 * harness.h: start a real primed on port 0 and talk to it, for the
 * integration tests. Every process started here is stopped here, by PID.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <stddef.h>

#define SERVER_MAX_LISTENERS	8

struct server {
	pid_t	 pid;
	char	 port_file[64];
	char	 log_file[80];		/* the server's stderr */
	int	 nl;
	char	 service[SERVER_MAX_LISTENERS][16];
	char	 host[SERVER_MAX_LISTENERS][128];
	int	 port[SERVER_MAX_LISTENERS];
};

int	 server_start(struct server *, ...);	/* NULL-terminated args */
int	 server_stop(struct server *);
int	 server_wait(struct server *, double);
int	 server_port(const struct server *, const char *);
int	 server_port_nth(const struct server *, const char *, int);
int	 server_workers(const struct server *, pid_t *, int);

int	 client_connect(int);
int	 client_connect_host(const char *, int);
int	 client_connect_rcvbuf(int, int);
int	 client_send(int, const char *, size_t);
int	 client_sends(int, const char *);
int	 client_line(int, char *, size_t);
int	 client_ask(int, const char *, char *, size_t);
int	 client_eof(int, double);
long	 client_stat(int, const char *);
long	 client_wait_stat(int, const char *, long, double);
char	*client_echo_batch(int, size_t, size_t *);
size_t	 client_send_until_stuck(int, const char *, size_t, double);
int	 client_readable(int, int);
void	 client_reset(int);
double	 now_s(void);
void	 sleep_s(double);
long	 proc_rss(long);
long	 proc_peak_rss(long);
double	 proc_cpu(long);
int	 proc_fds(long);

#endif
