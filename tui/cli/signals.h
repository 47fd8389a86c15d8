/* Ctrl-C, SIGTERM and SIGHUP while a headless command runs: the first asks
 * the running action to stop cleanly (its outcome recorded, its stage lock
 * released), a second one quits at once. SIGPIPE is ignored everywhere, so
 * `edgeship deploy | head` cannot kill a deploy half-way. */
#ifndef ES_CLI_SIGNALS_H
#define ES_CLI_SIGNALS_H

#include <stdbool.h>

/* Ignore SIGPIPE (both front ends, at start-up). */
void es_signals_ignore_pipe(void);

/* Catch SIGINT, SIGTERM and SIGHUP for a headless command. */
void es_cli_signals_install(void);

/* The first caught signal's number, or 0 when none arrived. */
int es_cli_signal(void);

/* "SIGINT", "SIGTERM", … */
const char *es_cli_signal_name(int sig);

#endif
