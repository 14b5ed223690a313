/*
 * vg_procctl.c - self-pipe signals and respawn back-off (see vg_procctl.h).
 */
#include "vg_procctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS	 30000

static int pipe_fd[2] = {-1, -1};

static void on_signal(int sig)
{
	char c = (char)sig;
	int saved = errno;

	/* A full pipe already holds a wake-up: losing this byte loses nothing
	 * but its number, and the loop re-checks children on every turn. */
	if (write(pipe_fd[1], &c, 1) < 0) {
	}
	errno = saved;
}

int vg_sigpipe_open(void)
{
	static const int sigs[] = {SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGCHLD};
	struct sigaction sa;

	if (pipe2(pipe_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return pipe_fd[0];
}

size_t vg_sigpipe_read(int *sigs, size_t max)
{
	unsigned char buf[64];
	size_t got = 0;
	ssize_t n;

	while (got < max) {
		size_t want = max - got < sizeof(buf) ? max - got : sizeof(buf);

		n = read(pipe_fd[0], buf, want);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			sigs[got++] = buf[i];
	}
	return got;
}

void vg_sigpipe_child(void)
{
	struct sigaction sa;

	vg_sigpipe_close();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void vg_sigpipe_close(void)
{
	for (int i = 0; i < 2; i++)
		if (pipe_fd[i] >= 0) {
			close(pipe_fd[i]);
			pipe_fd[i] = -1;
		}
}

int64_t vg_respawn_delay_ms(int crashes)
{
	int64_t delay = BACKOFF_FIRST_MS;

	if (crashes <= 1)
		return 0;
	for (int i = 2; i < crashes && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	return delay > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay;
}
