/* What each command takes and means: one table that `edgeship help CMD`,
 * `CMD --help`, the man pages and the shell completions are all printed
 * from, so none of them can drift from another. */
#ifndef ES_HELP_H
#define ES_HELP_H

#include <stdio.h>

/* What a value on the command line is, so a completion can offer it. */
enum es_help_value {
	ES_VAL_NONE,    /* a flag: takes no value */
	ES_VAL_TEXT,    /* free text: nothing to offer */
	ES_VAL_STAGE,   /* a stage defined in edgeship.conf */
	ES_VAL_REV,     /* a git revision */
	ES_VAL_FILE,    /* a file name */
	ES_VAL_THEME,   /* a theme name or a theme file */
	ES_VAL_COMMAND, /* an edgeship command */
};

/* One option, or (name without a leading '-') one positional argument. */
struct es_help_option {
	const char *name;         /* "--stage", or "REV" for a positional */
	const char *alias;        /* "-s", or NULL */
	const char *arg;          /* "NAME" as shown after the option, or NULL */
	enum es_help_value value; /* what the value (or the positional) is */
	const char *help;         /* its meaning, one sentence or two */
};

struct es_help_exit {
	int code;            /* -1 ends the list */
	const char *meaning; /* NULL: the general meaning (es_help_exit_meaning) */
};

struct es_help_example {
	const char *line; /* the command line as typed */
	const char *what; /* what it does */
};

struct es_help_command {
	const char *name;
	const char *synopsis;    /* what follows the name in a usage line */
	const char *summary;     /* one line, for the command list */
	const char *description; /* paragraphs separated by a blank line; wrapped when printed */
	const struct es_help_option *options;   /* ends with a NULL name */
	const struct es_help_exit *exits;       /* ends with code -1 */
	const struct es_help_example *examples; /* ends with a NULL line */
};

/* Every command with help, in the order `edgeship --help` lists them. */
const struct es_help_command *es_help_commands(size_t *n);
/* The command named name, or NULL. */
const struct es_help_command *es_help_find(const char *name);
/* The options taken before the command (ending with a NULL name). */
const struct es_help_option *es_help_global_options(void);
/* What exit code means in general ("" past the documented ones). */
const char *es_help_exit_meaning(int code);
/* The exit code table that every command shares (ending with code -1). */
const struct es_help_exit *es_help_exit_codes(void);

/* `edgeship --help`: the synopsis, the commands, the global options. */
void es_help_print_usage(FILE *out);
/* `edgeship help CMD`: synopsis, description, options, exit codes, examples. */
void es_help_print_command(FILE *out, const struct es_help_command *c);

/* Print text wrapped at width columns, each line after indent spaces;
 * a blank line in text starts a new paragraph (separated by sep). */
void es_help_wrap(FILE *out, const char *text, int indent, int width, const char *sep);

/* edgeship(1) and edgeship.conf(5) in man(7) roff (help_man.c). */
void es_help_man(FILE *out);
void es_help_man_conf(FILE *out);

/* The completion file for shell ("bash", "zsh" or "fish"), generated from
 * the tables (help_complete.c); -1 for any other shell. */
int es_help_completion(FILE *out, const char *shell);

#endif
