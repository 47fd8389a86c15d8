/* Headless release commands: init, status, deploy, log; their shared
 * plumbing is in cmd.c. Progress goes to stderr when --json owns stdout;
 * lines only, no spinners, so CI logs read cleanly. */
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
#include "status.h"
#include "base/timefmt.h"
#include "cmd.h"
#include "drift_warn.h"
#include "guard_cli.h"
#include "signals.h"

/* ------------------------------------------------------------ init */

int es_cmd_init(struct es_cli *cli)
{
	struct es_repo *repo;
	char path[4096], app[128];
	const char *root, *base;
	int rc;

	for (int i = 1; i < cli->argc; i++)
		if (strcmp(cli->argv[i], "--pipeline") == 0)
			return es_cmd_init_pipeline(cli);
	if ((rc = ctx_open_repo(&repo)))
		return es_cli_fail(cli, "init", rc);
	root = es_repo_root(repo);
	base = strrchr(root, '/');
	snprintf(app, sizeof(app), "%s", base ? base + 1 : root);
	for (char *p = app; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			*p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '-';
	snprintf(path, sizeof(path), "%s/%s", root, ES_CONFIG_FILE);
	es_repo_free(repo);
	rc = es_config_write_starter(path, app, "template.yaml");
	if (rc)
		return es_cli_fail(cli, "init", rc);
	if (cli->json) {
		const char *kv[] = {"path", path, NULL};
		char *j = es_report_ok_json("init", kv);
		if (j)
			puts(j);
		free(j);
	} else
		es_printf("wrote %s: set the bucket and stages, then run `edgeship status`\n",
		          path);
	return ES_EXIT_OK;
}

/* ------------------------------------------------------------ status */

static const char *short_when(const char *iso, char *buf, size_t len)
{
	double t = es_time_parse(iso);
	char d[32];

	if (t < 0)
		return iso;
	snprintf(buf, len, "%s ago", es_duration_format(es_time_now() - t, d, sizeof(d)));
	return buf;
}

/* The distribution and whether its newest change has reached every edge. */
static void print_distribution(const struct es_stage_status *s)
{
	char ago[64];

	if (!s->distribution_status[0]) {
		es_printf("  cloudfront %s (status not read: %s)\n", s->distribution_id,
		          s->distribution_error[0] ? s->distribution_error : "unknown");
		return;
	}
	es_printf("  cloudfront %s %s%s", s->distribution_id, s->distribution_status,
	          strcmp(s->distribution_status, "InProgress") == 0
	                  ? ": the newest change is still reaching the edges"
	                  : "");
	if (s->distribution_modified[0])
		es_printf(" (changed %s)", short_when(s->distribution_modified, ago, sizeof(ago)));
	es_printf("\n");
}

/* Who holds the stage, for what, for how long, and until when. */
static void print_lock(const struct es_stage_status *s)
{
	char age[32], left[32];

	es_printf("  lock       %s by %s since %s", s->lock.kind[0] ? s->lock.kind : "held",
	          s->lock.who, s->lock.since);
	if (s->lock_age_s >= 0)
		es_printf(" (held %s)", es_duration_format(s->lock_age_s, age, sizeof(age)));
	if (s->lock_stale)
		es_printf(", stale: its action has ended\n");
	else if (s->lock.expired)
		es_printf(", expired (its console stopped renewing it)\n");
	else
		es_printf(", expires in %s\n",
		          es_duration_format(s->lock.expires_in_s, left, sizeof(left)));
}

/* A ledger with no bucket yet is a fresh application, not a failure. */
static void print_no_bucket(const struct es_config *conf)
{
	es_printf("ledger     no releases recorded yet: bucket %s does not exist yet (the first "
	          "deploy creates it)\n",
	          conf->bucket);
}

int es_cmd_status(struct es_cli *cli)
{
	struct ctx c;
	struct es_overview ov;
	int rc = ctx_open(cli, &c, true);

	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "status", rc);
	}
	rc = es_overview_collect(c.aws, c.conf, cli->read_only, &ov);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "status", rc);
	}
	if (cli->json) {
		char *j = guard_status_json(&c, &ov);
		if (j)
			puts(j);
		free(j);
	} else {
		for (size_t i = 0; i < ov.n; i++) {
			const struct es_stage_status *s = &ov.stages[i];
			char ago[64];
			es_printf("%-12s %-28s %s\n", s->stage, s->stack, s->stack_status);
			if (s->account[0])
				es_printf("  account    %s\n", s->account);
			if (s->error[0])
				es_printf("  error      %s\n", s->error);
			if (s->failed_resource[0])
				es_printf("  failed     %s: %s\n  recover    the rollback failed: "
				          "`edgeship recover --stage %s [--skip %s]`\n",
				          s->failed_resource, s->failed_reason, s->stage,
				          s->failed_resource);
			if (s->commit[0])
				es_printf("  commit     %.12s  release %s\n", s->commit,
				          s->release);
			if (s->distribution_id[0])
				print_distribution(s);
			for (size_t k = 0; k < s->n_outputs; k++)
				es_printf("  output     %s = %s\n", s->outputs[k].key,
				          s->outputs[k].value);
			if (s->has_last)
				es_printf("  last       #%ld %s %s %s by %s, %s\n", s->last.seq,
				          s->last.kind, s->last.phase, s->last.result, s->last.who,
				          short_when(s->last.when, ago, sizeof(ago)));
			if (s->validation[0] && s->exists)
				es_printf("  validation %s: %s\n", s->validation,
				          s->validation_note);
			if (s->lock.held)
				print_lock(s);
			if (s->lock_stale)
				es_printf("  warning    that lock belongs to an action that has "
				          "ended: its "
				          "console stopped; `edgeship unlock --stage %s` frees the "
				          "stage\n",
				          s->stage);
			if (s->interrupted)
				es_printf("  warning    the last action never recorded an outcome "
				          "(interrupted); the stack is %s\n",
				          s->stack_status);
			if (s->detached)
				es_printf(
				        "  note       the last action's console stopped following; "
				        "its end is not known yet (stack %s)\n",
				        s->stack_status);
			if (s->running)
				es_printf("  note       an action is running (stack %s)\n",
				          s->stack_status);
		}
		if (ov.ledger_offline)
			es_printf("ledger offline (%s): showing the local cache\n", ov.ledger_note);
		else if (ov.ledger_no_bucket)
			print_no_bucket(c.conf);
		if (ov.replicas_pending)
			es_printf("replicas pending cleanup: %zu (`edgeship cleanup` deletes the "
			          "functions once CloudFront has removed their replicas)\n",
			          ov.replicas_pending);
		if (ov.resolved)
			es_printf("recorded how %zu abandoned action%s ended (see edgeship log)\n",
			          ov.resolved, ov.resolved == 1 ? "" : "s");
	}
	es_overview_free(&ov);
	ctx_free(&c);
	return ES_EXIT_OK;
}

/* ------------------------------------------------------------ deploy */

struct deploy_args {
	const char *stage;
};

static int start_deploy(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, void *arg)
{
	const struct deploy_args *a = arg;
	struct es_deploy_request req = {
	        .conf = c->conf,
	        .repo = c->repo,
	        .rev = cli->rev ? cli->rev : "HEAD",
	        .stage = a->stage,
	        .yes = cli->yes,
	        .poll_ms = cli->poll_ms,
	        .timeout_s = cli->timeout_s,
	};
	return es_deploy_start(c->aws, &req, on_deploy_event, ui, &ui->d);
}

int es_cmd_deploy(struct es_cli *cli)
{
	struct ctx c;
	struct deploy_ui ui = {.cli = cli, .out = progress(cli)};
	bool dirty = false;
	size_t n_dirty = 0;
	int rc;

	if (cli->read_only) {
		es_fail(ES_EREFUSED,
		        "--read-only: deploy changes a stack; run without --read-only");
		return es_cli_fail(cli, "deploy", ES_EREFUSED);
	}
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "deploy", rc);
	}
	const struct es_stage_conf *first = es_config_first_stage(c.conf);
	const char *stage = cli->stage ? cli->stage : first ? first->name : NULL;
	const struct es_stage_conf *sc = es_config_stage(c.conf, stage);
	if (!sc) {
		rc = ctx_known_stage(&c, stage ? stage : "");
		ctx_free(&c);
		return es_cli_fail(cli, "deploy", rc);
	}
	if (es_config_refuse_pipeline_stage(c.conf, sc->name, "deploy")) {
		ctx_free(&c);
		return es_cli_fail(cli, "deploy", ES_EREFUSED);
	}
	if (sc->promotes_from) {
		es_fail(ES_EREFUSED,
		        "stage %s receives releases from %s: use `edgeship promote --to %s` (a "
		        "commit goes to %s first)",
		        sc->name, sc->promotes_from, sc->name, sc->promotes_from);
		ctx_free(&c);
		return es_cli_fail(cli, "deploy", ES_EREFUSED);
	}
	if (es_repo_dirty(c.repo, &dirty, &n_dirty) == ES_OK && dirty)
		es_fprintf(ui.out,
		           "note: %zu uncommitted change%s in the working tree are not deployed; "
		           "edgeship deploys commits\n",
		           n_dirty, n_dirty == 1 ? "" : "s");
	if (drift_warn(ui.out, c.aws, c.conf, sc->name) && !cli->yes &&
	    !ask(ui.out, can_ask(), "Deploy into the drifted stage anyway?", NULL)) {
		es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", sc->name);
		ctx_free(&c);
		return es_cli_fail(cli, "deploy", ES_ECANCELLED);
	}
	struct deploy_args args = {sc->name};
	if (cli->guard)
		return guard_deploy(cli, &c, &ui, start_deploy, &args, sc->name);
	return start_and_run(cli, &c, &ui, "deploy", "deploy", start_deploy, &args);
}

/* ------------------------------------------------------------ log */

/* A table cell (malloc'd; NULL when out of memory). */
static char *cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *cell(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* "2026-12-02T02:03:19Z" as "2026-12-02 02:03:19" (UTC, as every time
 * edgeship shows), or to the minute where room is short: --json keeps the
 * record's own. */
static char *when_cell(const char *iso, bool seconds)
{
	if (strlen(iso) < 19 || iso[10] != 'T')
		return cell("%s", iso);
	return cell("%.10s %.*s", iso, seconds ? 8 : 5, iso + 11);
}

/* The ledger as a table that fits the terminal (es_table_print). */
enum {
	LOG_SEQ,
	LOG_WHEN,
	LOG_KIND,
	LOG_PHASE,
	LOG_STAGE,
	LOG_COMMIT,
	LOG_RELEASE,
	LOG_RESULT,
	LOG_WHO,
	LOG_COLS
};

static void print_records(const struct es_record_list *recs, const char *stage)
{
	/* Who gives way first, then the release, the result, the stage and the
	 * kind; number, time, phase and commit never. An ARN's end says most,
	 * and so does a release's (its template digest: the commit is shown). */
	static const struct es_column cols[LOG_COLS] = {
	        [LOG_KIND] = {.min = 6, .shrink = 5},
	        [LOG_STAGE] = {.min = 7, .shrink = 4},
	        [LOG_RELEASE] = {.min = 9, .shrink = 2, .cut_left = true},
	        [LOG_RESULT] = {.min = 8, .shrink = 3},
	        [LOG_WHO] = {.min = 8, .shrink = 1, .cut_left = true},
	};
	char **cells = calloc(recs->n * LOG_COLS + 1, sizeof(*cells));
	int width = es_cli_width();
	size_t n = 0;
	bool ok = cells != NULL;

	for (size_t i = 0; ok && i < recs->n; i++) {
		const struct es_record *r = &recs->items[i];
		char **row = cells + n * LOG_COLS;
		if (stage && strcmp(r->stage, stage) != 0)
			continue;
		n++;
		row[LOG_SEQ] = cell("#%ld", r->seq);
		row[LOG_WHEN] = when_cell(r->when, width > 100);
		row[LOG_KIND] = cell("%s", r->kind);
		row[LOG_PHASE] = cell("%s", r->phase);
		row[LOG_STAGE] = cell("%s", r->stage);
		row[LOG_COMMIT] = cell("%.7s", r->commit);
		row[LOG_RELEASE] = cell("%s", r->release);
		row[LOG_RESULT] = cell("%s", r->result[0] ? r->result
		                             : r->open    ? "no outcome (interrupted?)"
		                                          : "");
		row[LOG_WHO] = cell("%s%s", r->who[0] ? "by " : "", r->who);
		for (size_t j = 0; j < LOG_COLS; j++)
			ok = ok && row[j];
	}
	if (ok)
		es_table_print(stdout, width, cols, LOG_COLS, cells, n);
	else
		es_fprintf(stderr, "edgeship log: out of memory\n");
	for (size_t i = 0; cells && i < n * LOG_COLS; i++)
		free(cells[i]);
	free(cells);
}

int es_cmd_log(struct es_cli *cli)
{
	struct ctx c;
	struct es_ledger *ledger;
	struct es_record_list recs;
	int rc = ctx_open(cli, &c, true);

	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "log", rc);
	}
	rc = es_ledger_open_home(c.aws, c.conf, NULL, &ledger);
	if (!rc && es_ledger_read(ledger, &recs) != ES_OK && !recs.offline)
		rc = es_error_last()->status ? es_error_last()->status : ES_ERR;
	if (rc) {
		es_ledger_free(ledger);
		ctx_free(&c);
		return es_cli_fail(cli, "log", rc);
	}
	if (cli->json) {
		char *j = es_records_json(&recs, cli->stage);
		if (j)
			puts(j);
		free(j);
	} else {
		if (recs.offline)
			es_printf("ledger offline (%s): showing the local cache\n",
			          recs.offline_reason);
		else if (recs.no_bucket && recs.n == 0)
			print_no_bucket(c.conf);
		print_records(&recs, cli->stage);
	}
	es_record_list_free(&recs);
	es_ledger_free(ledger);
	ctx_free(&c);
	return ES_EXIT_OK;
}
