/* The headless commands' signal handling: a flag the command's loop reads
 * between turns (a turn waits at most a second), and a second signal that
 * ends the process with the signal's usual status. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "signals.h"

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	if (caught) {
		/* Asked twice: go now, as the default action would. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	caught = sig;
}

void es_signals_ignore_pipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

void es_cli_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a prompt waiting in fgets() returns, answering no. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int es_cli_signal(void)
{
	return caught;
}

const char *es_cli_signal_name(int sig)
{
	switch (sig) {
	case SIGINT: return "SIGINT (Ctrl-C)";
	case SIGTERM: return "SIGTERM";
	case SIGHUP: return "SIGHUP (terminal closed)";
	default: return "a signal";
	}
}
