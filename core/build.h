/* The build step: `[app] build = COMMAND` run with /bin/sh -c in a fresh
 * export of a commit, in a clean environment (a temporary HOME, PATH, the
 * allow-listed variables and nothing else: no AWS settings, no
 * credentials), in a process group of its own that is killed on timeout.
 * Its output is read from a pipe on an event loop, line by line. */
#ifndef ES_BUILD_H
#define ES_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/loop.h"

/* Lines of output kept for a failure's message. */
#define ES_BUILD_TAIL_LINES 20

struct es_build_spec {
	const char *command;          /* given to /bin/sh -c */
	const char *dir;              /* where it runs (the export) */
	const char *const *env_names; /* variables let through when set */
	size_t n_env;
	long timeout_ms; /* > 0 */
};

/* One line of output (stdout and stderr together, in the order written),
 * without its newline, control characters made safe. */
typedef void (*es_build_line_fn)(const char *line, void *ud);

struct es_build_result {
	int exit_status; /* the command's exit status; -1 when it did not exit */
	int signal;      /* the signal that ended it, 0 when none */
	bool timed_out;  /* killed at the time limit */
	bool cancelled;  /* killed because the caller asked */
	long duration_ms;
	char *tail; /* its last ES_BUILD_TAIL_LINES lines, '\n'-separated
	                   * (owned; es_build_result_free) */
};

struct es_build;

/* On the owner's loop, once: rc is ES_OK when the command exited 0, else
 * the last error names the command, how it ended and its tail. res stays
 * valid until the callback returns. */
typedef void (*es_build_done_fn)(int rc, const struct es_build_result *res, void *ud);

/* Start spec's command on loop. line (may be NULL) hears each line; done
 * hears the end. *out is the running build (freed after done returns). */
int es_build_start(struct es_loop *loop, const struct es_build_spec *spec, es_build_line_fn line,
                   es_build_done_fn done, void *ud, struct es_build **out);

/* Kill the build's process group; done then reports it cancelled. */
void es_build_cancel(struct es_build *b);

/* Run spec's command to its end on a loop of its own (for a job's thread
 * or a headless command: never on the loop that draws the screen).
 * cancelled (may be NULL) is asked between turns. res (may be NULL) gets
 * the result; free it with es_build_result_free. */
int es_build_run(const struct es_build_spec *spec, es_build_line_fn line, void *ud,
                 bool (*cancelled)(void *ud), struct es_build_result *res);

void es_build_result_free(struct es_build_result *r);

#endif
