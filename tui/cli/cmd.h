/* Shared plumbing of the headless commands (cmd.c). */
#ifndef ES_CMD_H
#define ES_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "aws/aws.h"
#include "cli.h"
#include "conf.h"
#include "deploy.h"
#include "base/loop.h"
#include "repo.h"

/* What every release command needs: the repository, its edgeship.conf, a
 * loop and an AWS client. */
struct ctx {
	struct es_repo *repo;
	struct es_config *conf;
	struct es_loop *loop;
	struct es_aws_client *aws;
};

/* The repository around the current directory; outside one, a
 * configuration error (exit 5), as a missing edgeship.conf. */
int ctx_open_repo(struct es_repo **out);
/* The repository and edgeship.conf (checking --stage), then, with
 * need_aws, a client whose credentials were found. The status; c is freed
 * by ctx_free() either way. */
int ctx_open(struct es_cli *cli, struct ctx *c, bool need_aws);
/* The two halves of ctx_open(), for a command that checks more of the
 * command line against the configuration in between. */
int ctx_open_config(struct es_cli *cli, struct ctx *c);
int ctx_open_aws(struct es_cli *cli, struct ctx *c);
/* ES_EINVAL naming stage and the configured ones when c's edgeship.conf
 * has no such stage. */
int ctx_known_stage(const struct ctx *c, const char *stage);
void ctx_free(struct ctx *c);

/* Progress lines: stdout for people, stderr when stdout carries JSON. */
FILE *progress(const struct es_cli *cli);

/* Ask question before a change (the answer defaults to no): y on a
 * terminal, or the confirm_word typed when it is not NULL; without a
 * terminal (interactive false) the answer is no, and out says so. */
bool ask(FILE *out, bool interactive, const char *question, const char *confirm_word);
/* Whether there is a terminal to ask on (stdin and stderr). */
bool can_ask(void);

/* Printing a running deploy, promotion or rollback. */
struct deploy_ui {
	struct es_cli *cli;
	struct es_deploy *d;
	FILE *out;
	bool interactive;
	bool progress_tty;        /* stderr is a terminal: progress rewrites one line there */
	const char *confirm_word; /* type this (the stage name) instead of y */
	const char *command;      /* for error lines: "deploy", "promote", … */
	bool busy;                /* run_deploy: refused as busy, and --wait asks to retry */
};

void on_deploy_event(const struct es_deploy_event *ev, void *ud);
/* Turn the loop until ui->d is done, report, free it; the exit code. */
int run_deploy(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, const char *what);
int result_exit(const struct es_deploy_result *r);
/* With --wait, after a busy refusal (ES_EBUSY): wait a little and say so;
 * true means "try again". */
bool wait_and_retry(struct es_cli *cli, struct ctx *c, int rc, FILE *out);

/* Starts one deploy-like action into ui->d (ES_OK with ui->d NULL: nothing
 * to run, the starter has said why). */
typedef int (*action_start_fn)(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, void *arg);

/* What deploy, promote and rollback share: start (retrying a busy stage with
 * --wait), report a refusal, otherwise follow the action to its end. Frees
 * c; returns the exit code. */
int start_and_run(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, const char *command,
                  const char *what, action_start_fn start, void *arg);

#endif
