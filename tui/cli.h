/* Headless commands: one table of subcommands, shared option parsing and
 * the documented exit codes. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <stdbool.h>

/* Exit codes (documented in README.md and `edgeship --help`). */
enum es_exit {
	ES_EXIT_OK = 0,
	ES_EXIT_FAILURE = 1,   /* the action failed (AWS error, network, …) */
	ES_EXIT_USAGE = 2,     /* bad command line */
	ES_EXIT_REFUSED = 3,   /* a release rule refused the action */
	ES_EXIT_CANCELLED = 4, /* the operator answered no */
	ES_EXIT_CONFIG = 5,    /* configuration or credentials missing/wrong */
};

struct es_cli {
	bool json;
	bool read_only;
	const char *profile;
	const char *region;
	int argc;          /* arguments after the subcommand */
	char **argv;
};

/* Run the program; returns the process exit code. */
int es_cli_main(int argc, char **argv);

#endif
