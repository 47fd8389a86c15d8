/* The plumbing every headless command shares (cmd.h): opening the
 * repository, edgeship.conf and the AWS client, asking before a change,
 * and following a deploy, promotion or rollback to its end. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "aws/aws.h"
#include "aws/client.h"
#include "cli.h"
#include "conf.h"
#include "deploy.h"
#include "ledger.h"
#include "base/error.h"
#include "base/loop.h"
#include "repo.h"
#include "report.h"
#include "base/timefmt.h"
#include "cmd.h"
#include "drift_warn.h"
#include "signals.h"

void ctx_free(struct ctx *c)
{
	es_aws_client_free(c->aws);
	es_loop_free(c->loop);
	es_config_free(c->conf);
	es_repo_free(c->repo);
}

/* The repository around the current directory. Outside one there is no
 * edgeship.conf to read: a configuration error (exit 5), as a missing file. */
int ctx_open_repo(struct es_repo **out)
{
	int rc = es_repo_discover(NULL, out);
	struct es_error e;

	if (rc != ES_ENOTFOUND)
		return rc;
	es_error_save(&e);
	return es_fail(ES_ECONFIG, "%s", e.message);
}

int ctx_known_stage(const struct ctx *c, const char *stage)
{
	char names[512] = "";
	size_t len = 0;

	if (es_config_stage(c->conf, stage))
		return ES_OK;
	for (size_t i = 0; i < c->conf->n_stages && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
		                        c->conf->stages[i].name);
	if (!c->conf->n_stages)
		return es_fail(ES_EINVAL,
		               "no stage \"%s\" in %s, which defines no stage yet: add a "
		               "[stage \"NAME\"] section",
		               stage, ES_CONFIG_FILE);
	return es_fail(ES_EINVAL, "no stage \"%s\" in %s; its stages are: %s", stage,
	               ES_CONFIG_FILE, names);
}

int ctx_open_config(struct es_cli *cli, struct ctx *c)
{
	char path[4096];
	int rc;

	memset(c, 0, sizeof(*c));
	rc = ctx_open_repo(&c->repo);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", es_repo_root(c->repo), ES_CONFIG_FILE);
	rc = es_config_load(path, &c->conf);
	if (rc == ES_ENOTFOUND)
		return es_fail(ES_ECONFIG, "%s not found: run `edgeship init` to write one", path);
	if (rc)
		return rc;
	/* A stage named on the command line is checked before anything is
	 * asked of AWS: a typo is a usage error, whatever the network says. */
	return cli->stage ? ctx_known_stage(c, cli->stage) : ES_OK;
}

int ctx_open_aws(struct es_cli *cli, struct ctx *c)
{
	c->loop = es_loop_new();
	if (!c->loop)
		return es_fail(ES_ENOMEM, "out of memory");
	struct es_aws_options o = {.profile = cli->profile,
	                           .region = cli->region ? cli->region : c->conf->region};
	int rc = es_aws_open(c->loop, &o, &c->aws);
	if (rc)
		return rc;
	/* Credentials are looked for now, so that every command says the same
	 * thing when there are none (exit 5, what to set) instead of failing
	 * later in whatever call came first, or waiting forever for them. */
	if (!es_aws_credentials(c->aws)) {
		int status = es_error_last()->status;
		return status ? status : es_fail(ES_ECREDS, "no AWS credentials found");
	}
	/* Stages in accounts of their own: a profile edgeship.conf names
	 * must exist before anything is asked of AWS. */
	return es_accounts_open_all(c->aws, c->conf);
}

int ctx_open(struct es_cli *cli, struct ctx *c, bool need_aws)
{
	int rc = ctx_open_config(cli, c);

	if (rc || !need_aws)
		return rc;
	return ctx_open_aws(cli, c);
}

/* Progress lines: stdout for people, stderr when stdout carries JSON. */
FILE *progress(const struct es_cli *cli)
{
	return cli->json ? stderr : stdout;
}

/* --wait: a busy stage is retried every few seconds instead of refused. */
bool wait_and_retry(struct es_cli *cli, struct ctx *c, int rc, FILE *out)
{
	static double last_note;

	if (rc != ES_EBUSY || !cli->wait)
		return false;
	if (es_time_now() - last_note > 30) {
		es_fprintf(out, "waiting: %s\n", es_error_last()->message);
		fflush(out);
		last_note = es_time_now();
	}
	double until = es_time_now() + (cli->poll_ms > 0 ? cli->poll_ms : 5000) / 1000.0;
	while (es_time_now() < until)
		es_loop_turn(c->loop, 200);
	return true;
}

static void print_event_time(FILE *f, const char *iso)
{
	const char *t = iso ? strchr(iso, 'T') : NULL;
	es_fprintf(f, "%.8s", t ? t + 1 : "--:--:--");
}

bool ask(FILE *out, bool interactive, const char *question, const char *confirm_word)
{
	bool yes = false;

	if (interactive && confirm_word) {
		char line[128];
		es_fprintf(stderr, "%s Type the stage name (%s) to go ahead: ", question,
		           confirm_word);
		fflush(stderr);
		if (fgets(line, sizeof(line), stdin)) {
			line[strcspn(line, "\r\n")] = '\0';
			yes = strcmp(line, confirm_word) == 0;
		}
	} else if (interactive) {
		char line[16];
		es_fprintf(stderr, "%s [y/N] ", question);
		fflush(stderr);
		if (fgets(line, sizeof(line), stdin))
			yes = line[0] == 'y' || line[0] == 'Y';
	} else {
		es_fprintf(out, "%s: no terminal to ask on; answering no (use --yes in scripts)\n",
		           question);
	}
	fflush(out);
	return yes;
}

bool can_ask(void)
{
	return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

void on_deploy_event(const struct es_deploy_event *ev, void *ud)
{
	struct deploy_ui *ui = ud;
	FILE *f = ui->out;

	switch (ev->kind) {
	case ES_DEPLOY_LOG: es_fprintf(f, "%s\n", ev->text); break;
	case ES_DEPLOY_CHANGES:
		es_fprintf(f, "changes:\n");
		for (size_t i = 0; i < ev->change_set->n_changes; i++) {
			const struct es_change *c = &ev->change_set->changes[i];
			const char *mark = !c->action                         ? "?"
			                   : strcmp(c->action, "Add") == 0    ? "+"
			                   : strcmp(c->action, "Remove") == 0 ? "-"
			                                                      : "~";
			es_fprintf(f, "  %s %-8s %-40s %-32s%s%s\n", mark,
			           c->action ? c->action : "", c->type ? c->type : "",
			           c->logical_id ? c->logical_id : "",
			           c->replacement && strcmp(c->replacement, "True") == 0
			                   ? " REPLACEMENT"
			                   : "",
			           c->replacement && strcmp(c->replacement, "Conditional") == 0
			                   ? " replacement: conditional"
			                   : "");
		}
		if (ev->change_set->n_changes == 0)
			es_fprintf(f, "  (no resource changes; outputs or parameters only)\n");
		break;
	case ES_DEPLOY_QUESTION:
		es_deploy_answer(ui->d, ask(f, ui->interactive, ev->text, ui->confirm_word));
		break;
	case ES_DEPLOY_STACK_EVENT: {
		const struct es_stack_event *e = ev->event;
		print_event_time(f, e->timestamp);
		es_fprintf(f, "  %s%-28s %-36s %s%s%s\n", ev->nested ? "  " : "", e->status,
		           e->type ? e->type : "", e->logical_id ? e->logical_id : "",
		           e->reason && *e->reason ? "  " : "", e->reason ? e->reason : "");
		break;
	}
	case ES_DEPLOY_PROGRESS:
		/* a line that rewrites itself, on a terminal only (its text is
		 * edgeship's own: figures, no names from outside) */
		if (ui->progress_tty) {
			fprintf(stderr, "\r  %s (%d%%)\033[K%s", ev->text,
			        ev->total ? (int)(ev->done * 100 / ev->total) : 0,
			        ev->done >= ev->total ? "\n" : "");
			fflush(stderr);
		}
		break;
	case ES_DEPLOY_DONE: break;
	}
	fflush(f);
}

int result_exit(const struct es_deploy_result *r)
{
	if (strcmp(r->result, "success") == 0 || strcmp(r->result, "no-changes") == 0)
		return ES_EXIT_OK;
	if (strcmp(r->result, "cancelled") == 0)
		return ES_EXIT_CANCELLED;
	if (strcmp(r->result, "refused") == 0)
		return ES_EXIT_REFUSED;
	if (strcmp(r->result, "detached") == 0)
		return ES_EXIT_DETACHED;
	return ES_EXIT_FAILURE;
}

int start_and_run(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, const char *command,
                  const char *what, action_start_fn start, void *arg)
{
	int rc;

	ui->interactive = can_ask();
	ui->progress_tty = isatty(STDERR_FILENO) && !cli->json;
	ui->command = command;
	for (;;) {
		rc = start(cli, c, ui, arg);
		if (rc) {
			es_deploy_free(ui->d);
			ui->d = NULL;
			ctx_free(c);
			return es_cli_fail(cli, command, rc);
		}
		ui->busy = false;
		rc = ui->d ? run_deploy(cli, c, ui, what) : ES_EXIT_OK;
		/* A busy stage (rule 2) with --wait: try again in a while. */
		if (!ui->busy || !wait_and_retry(cli, c, ES_EBUSY, ui->out))
			break;
	}
	ctx_free(c);
	return rc;
}

int run_deploy(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, const char *what)
{
	int code;

	bool asked = false;
	es_cli_signals_install();
	while (!es_deploy_done(ui->d)) {
		int sig = es_cli_signal();
		if (sig && !asked) {
			asked = true;
			es_fprintf(
			        stderr,
			        "%s: stopping; recording the outcome and releasing the lock (again "
			        "to quit at once)\n",
			        es_cli_signal_name(sig));
			char why[64];
			snprintf(why, sizeof(why), "interrupted by %s", es_cli_signal_name(sig));
			es_deploy_detach(ui->d, why);
			continue;
		}
		if (es_loop_turn(c->loop, 500))
			break;
	}
	const struct es_deploy_result *r = es_deploy_result(ui->d);
	/* Refused or failed before anything was recorded: said as any command
	 * says an error (stderr, or the JSON error object). */
	if (!r->intent_seq && r->status != ES_OK) {
		int status = r->status;
		es_fail(status, "%s", r->message);
		es_deploy_free(ui->d);
		ui->d = NULL;
		if (status == ES_EBUSY && cli->wait) {
			ui->busy = true;
			return ES_EXIT_REFUSED;
		}
		return es_cli_fail(cli, ui->command ? ui->command : what, status);
	}
	if (cli->json) {
		char *j = es_deploy_result_json(ui->d);
		if (j)
			puts(j);
		free(j);
	} else {
		if (strcmp(r->result, "failed") == 0)
			es_fprintf(ui->out, "%s failed: %s\n", what, r->message);
		else
			es_fprintf(ui->out, "%s\n", r->message);
		for (size_t i = 0; i < r->n_outputs; i++)
			es_fprintf(ui->out, "  output %s = %s\n", r->outputs[i].key,
			           r->outputs[i].value);
		if (strcmp(r->result, "success") == 0)
			es_fprintf(ui->out,
			           "next: CloudFront propagates the change; an origin-request "
			           "function runs only on cache misses, so invalidate the cache "
			           "to see it at once (edgeship invalidate --stage %s)\n",
			           r->stage);
	}
	if (!cli->json && strcmp(r->result, "failed") == 0 && r->root_cause[0])
		es_fprintf(stderr, "root cause: %s\n", r->root_cause);
	code = result_exit(r);
	es_deploy_free(ui->d);
	ui->d = NULL;
	return code;
}
