/* Headless commands: one table of subcommands, shared option parsing and
 * the documented exit codes. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes (documented in README.md and `edgeship --help`). */
enum es_exit {
	ES_EXIT_OK = 0,
	ES_EXIT_FAILURE = 1,   /* the action failed (AWS error, network, …) */
	ES_EXIT_USAGE = 2,     /* bad command line */
	ES_EXIT_REFUSED = 3,   /* a release rule refused the action */
	ES_EXIT_CANCELLED = 4, /* the operator answered no */
	ES_EXIT_CONFIG = 5,    /* configuration or credentials missing/wrong */
	ES_EXIT_DETACHED = 6,  /* stopped following; CloudFormation carries on */
	ES_EXIT_DRIFTED = 7,   /* drift: the stack differs from its template */
};

struct es_cli {
	bool json;
	bool read_only;
	const char *theme;  /* --theme */
	const char *script; /* --script: key script for tests */
	const char *profile;
	const char *region;
	int argc; /* the subcommand and its arguments */
	char **argv;
	const char *stage;    /* --stage */
	bool yes;             /* --yes */
	const char *rev;      /* first positional argument */
	long poll_ms;         /* --poll-interval (tests) */
	long timeout_s;       /* --timeout: how long to follow an action (0: two hours) */
	const char *to;       /* --to: promotion target stage or rollback commit */
	bool wait;            /* --wait: queue until the stage is ready */
	bool deploy;          /* revert --deploy */
	bool guard;           /* deploy --guard: watch the error rate after it */
	const char *args[64]; /* positional arguments after the subcommand */
	int n_args;
};

/* Report the last core error (text on stderr, or JSON on stdout with
 * --json) and return the exit code for status. */
int es_cli_fail(const struct es_cli *cli, const char *command, int status);
/* The exit code for a core status. */
int es_cli_exit_for(int status);

/* printf for headless commands: control characters and escape sequences
 * from outside (AWS, git, edgeship.conf) never reach the terminal. */
int es_fprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int es_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int es_vfprintf(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The columns stdout has: the terminal's width, else $COLUMNS, else 80. */
int es_cli_width(void);

/* One column of a table: how far it may shrink, and in which turn (1 gives
 * way first; 0 never); cut_left keeps a cell's end ("…user/ann"). */
struct es_column {
	int min;
	int shrink;
	bool cut_left;
};

/* Print n_rows rows of n_cols cells (cells[row * n_cols + col], text that
 * may come from outside: sanitised here, in place) as columns as wide as
 * their widest cell, shrunk in turn and cut with "…" so that no row is
 * wider than width: a row never wraps. */
void es_table_print(FILE *f, int width, const struct es_column *cols, size_t n_cols, char **cells,
                    size_t n_rows);

/* Subcommands implemented in cmd_*.c. */
int es_cmd_init(struct es_cli *cli);
int es_cmd_init_pipeline(struct es_cli *cli); /* init --pipeline (cmd_init_pipeline.c) */
int es_cmd_status(struct es_cli *cli);
int es_cmd_deploy(struct es_cli *cli);
int es_cmd_log(struct es_cli *cli);
int es_cmd_promote(struct es_cli *cli);
int es_cmd_rollback(struct es_cli *cli);
int es_cmd_revert(struct es_cli *cli);
int es_cmd_invalidate(struct es_cli *cli);
int es_cmd_validate(struct es_cli *cli);
int es_cmd_watch(struct es_cli *cli);
int es_cmd_unlock(struct es_cli *cli);
int es_cmd_package(struct es_cli *cli);
int es_cmd_drift(struct es_cli *cli);
int es_cmd_recover(struct es_cli *cli);
int es_cmd_destroy(struct es_cli *cli);
int es_cmd_cleanup(struct es_cli *cli);
int es_cmd_pipeline(struct es_cli *cli);
int es_cmd_canary(struct es_cli *cli);

/* Run the program; returns the process exit code. */
int es_cli_main(int argc, char **argv);

#endif
