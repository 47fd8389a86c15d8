/* edgeship canary status|start|widen|promote|discard: a release tried on
 * a share of a stage's requests through CloudFront continuous deployment
 * (core/canary.h), headless. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "canary.h"
#include "canary_conf.h"
#include "cmd.h"
#include "release.h"
#include "report.h"
#include "validate.h"

struct cn_opts {
	const char *weight;
	const char *header;
};

/* The options only this command takes (cli.c leaves them for us). */
static void read_opts(const struct es_cli *cli, struct cn_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i];
		if (strcmp(a, "--weight") == 0 && i + 1 < cli->argc)
			o->weight = cli->argv[++i];
		else if (strcmp(a, "--header") == 0 && i + 1 < cli->argc)
			o->header = cli->argv[++i];
		else if (strncmp(a, "--weight=", 9) == 0)
			o->weight = a + 9;
		else if (strncmp(a, "--header=", 9) == 0)
			o->header = a + 9;
	}
}

static void print_note(const char *text, void *ud)
{
	es_fprintf(ud, "%s\n", text);
	fflush(ud);
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_figures(const char *who, const struct es_canary_figures *f)
{
	if (!f->have)
		es_printf("  %-8s no CloudWatch figures yet\n", who);
	else
		es_printf("  %-8s %.0f requests, %.0f answered 5xx (%.1f%%), %.0f Lambda errors\n"
		          "           %s\n",
		          who, f->requests, f->errors_5xx, f->rate_5xx, f->lambda_errors, f->line);
}

static int show_status(struct es_cli *cli, struct ctx *c)
{
	struct es_canary_status st;
	struct es_canary_figures pf, sf;
	char desc[300];
	int rc = es_canary_status(c->aws, c->conf, cli->stage, &st);

	if (rc)
		return es_cli_fail(cli, "canary", rc);
	/* Figures are a view: without them the status still stands. */
	bool figures = es_canary_figures(c->aws, c->conf, &st, &pf, &sf) == ES_OK;
	if (cli->json) {
		char *j = es_canary_status_json(&st, figures ? &pf : NULL, figures ? &sf : NULL);
		if (j)
			puts(j);
		free(j);
		return ES_EXIT_OK;
	}
	es_canary_describe(&st.traffic, desc, sizeof(desc));
	es_printf("%s primary   %s  %s  %s\n", st.stage, st.primary_id, or_dash(st.primary_status),
	          or_dash(st.primary_lambda));
	if (!st.staging_id[0]) {
		es_printf("%s has no canary: `edgeship canary start --stage %s` makes one\n",
		          st.stage, st.stage);
		return ES_EXIT_OK;
	}
	es_printf("%s staging   %s  %s  %s\n", st.stage, st.staging_id, or_dash(st.staging_status),
	          or_dash(st.staging_lambda));
	if (st.enabled)
		es_printf("canary: %s goes to staging, which runs release %s (%.7s)\n", desc,
		          or_dash(st.release), or_dash(st.commit));
	else
		es_printf("canary: off (policy %s disabled); every request goes to the primary\n",
		          or_dash(st.policy_id));
	if (figures) {
		print_figures("primary", &pf);
		print_figures("staging", &sf);
	} else {
		es_printf("  figures: CloudWatch did not answer (%s)\n", es_error_last()->message);
	}
	return ES_EXIT_OK;
}

static void print_result(struct es_cli *cli, const char *action, const struct es_canary_result *r)
{
	if (cli->json) {
		char *j = es_canary_result_json(cli->stage, action, r);
		if (j)
			puts(j);
		free(j);
		return;
	}
	es_printf("%s\n", r->message);
}

/* After the promotion the stack is deployed with the release it tried, so
 * CloudFormation's template says what the primary serves. */
static int start_adopt(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, void *arg)
{
	const struct es_canary_result *r = arg;
	const struct es_stage_conf *sc = es_config_stage(c->conf, cli->stage);

	if (sc->promotes_from)
		return es_promote_start(c->aws, c->conf, sc->name, true, cli->poll_ms,
		                        cli->timeout_s, on_deploy_event, ui, &ui->d);
	return es_redeploy_start(c->aws, c->conf, c->repo, sc->name, r->commit, "deploy", true,
	                         cli->poll_ms, cli->timeout_s, on_deploy_event, ui, &ui->d);
}

static int act(struct es_cli *cli, struct ctx *c, const char *sub, const struct cn_opts *o,
               bool *freed)
{
	struct es_canary_result res;
	struct es_cd_traffic t, *tp = NULL;
	char msg[300], q[400];
	int rc;

	if (cli->read_only) {
		es_fail(ES_EREFUSED,
		        "--read-only: canary %s changes the stage; run without "
		        "--read-only",
		        sub);
		return es_cli_fail(cli, "canary", ES_EREFUSED);
	}
	if (o->weight || o->header) {
		char spec[400];
		if (o->weight && o->header) {
			es_fail(ES_EINVAL, "canary: give --weight or --header, not both");
			return es_cli_fail(cli, "canary", ES_EINVAL);
		}
		if (o->weight)
			snprintf(spec, sizeof(spec), "weight %s", o->weight);
		else
			snprintf(spec, sizeof(spec), "header %s", o->header);
		if (es_canary_parse(spec, &t, msg, sizeof(msg))) {
			es_fail(ES_EINVAL, "%s", msg);
			return es_cli_fail(cli, "canary", ES_EINVAL);
		}
		tp = &t;
	}
	double weight = 0;
	if (strcmp(sub, "widen") == 0) {
		const char *w = o->weight ? o->weight : cli->n_args > 1 ? cli->args[1] : NULL;
		weight = es_canary_parse_weight(w);
		if (weight < 0) {
			es_fail(ES_EINVAL,
			        "canary widen needs a weight, e.g. edgeship canary widen 10%% "
			        "--stage production");
			return es_cli_fail(cli, "canary", ES_EINVAL);
		}
		if (weight > ES_CD_MAX_WEIGHT) {
			es_fail(ES_EINVAL,
			        "canary widen %s: CloudFront sends at most 15%% of requests "
			        "to a staging distribution",
			        w);
			return es_cli_fail(cli, "canary", ES_EINVAL);
		}
	}
	/* Each change asks first (the answer defaults to no); starting a canary
	 * on production asks for its name, as a promotion does. */
	if (strcmp(sub, "check") != 0 && strcmp(sub, "promote") != 0 && !cli->yes) {
		const struct es_stage_conf *sc = es_config_stage(c->conf, cli->stage);
		bool typed = strcmp(sub, "start") == 0 && es_config_stage_guarded(c->conf, sc);
		snprintf(q, sizeof(q), "%s?",
		         strcmp(sub, "start") == 0
		                 ? "Start a canary: part of the stage's requests go "
		                   "to a staging distribution running the release"
		         : strcmp(sub, "widen") == 0
		                 ? "Send a larger share of the stage's requests to "
		                   "its canary"
		                 : "Discard the canary: every request goes to the "
		                   "primary");
		if (!ask(progress(cli), can_ask(), q, typed ? cli->stage : NULL)) {
			es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", cli->stage);
			return es_cli_fail(cli, "canary", ES_ECANCELLED);
		}
	}
	if (strcmp(sub, "widen") == 0) {
		do
			rc = es_canary_widen(c->aws, c->conf, cli->stage, weight, print_note,
			                     progress(cli), &res);
		while (wait_and_retry(cli, c, rc, progress(cli)));
	} else if (strcmp(sub, "check") == 0) {
		struct es_validation *v = calloc(1, sizeof(*v));
		if (!v)
			return es_cli_fail(cli, "canary", es_fail(ES_ENOMEM, "out of memory"));
		rc = es_canary_check(c->aws, c->conf, cli->stage, print_note, progress(cli), v,
		                     &res);
		if (!rc && !cli->json)
			for (size_t i = 0; i < v->n_checks; i++)
				es_printf("  %s %s: %s\n",
				          v->checks[i].result.passed ? "ok  " : "FAIL",
				          v->checks[i].result.name, v->checks[i].result.detail);
		free(v);
		if (!rc) {
			print_result(cli, sub, &res);
			return res.check_failed ? ES_EXIT_FAILURE : ES_EXIT_OK;
		}
	} else if (strcmp(sub, "discard") == 0) {
		do
			rc = es_canary_discard(c->aws, c->conf, cli->stage, print_note,
			                       progress(cli), &res);
		while (wait_and_retry(cli, c, rc, progress(cli)));
	} else if (strcmp(sub, "start") == 0) {
		char commit[41] = "";
		if (cli->n_args > 1 && (rc = es_repo_resolve(c->repo, cli->args[1], commit)))
			return es_cli_fail(cli, "canary", rc);
		/* With --wait a busy stage (its distribution still taking the
		 * last change, or another console's lock) is waited for. */
		do
			rc = es_canary_start(c->aws, c->conf, cli->stage, commit[0] ? commit : NULL,
			                     tp, print_note, progress(cli), &res);
		while (wait_and_retry(cli, c, rc, progress(cli)));
	} else {
		snprintf(q, sizeof(q),
		         "Promote the canary of %s: its primary distribution takes the staging "
		         "config, then the stack is deployed with that release?",
		         cli->stage);
		if (!cli->yes && !ask(progress(cli), can_ask(), q, cli->stage)) {
			es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", cli->stage);
			return es_cli_fail(cli, "canary", ES_ECANCELLED);
		}
		rc = es_canary_promote(c->aws, c->conf, cli->stage, print_note, progress(cli),
		                       &res);
		if (!rc) {
			struct deploy_ui ui = {.cli = cli, .out = progress(cli)};
			if (!cli->json)
				print_result(cli, sub, &res);
			/* The primary is InProgress with the promotion: the deploy
			 * waits for it to be Deployed, as --wait does. */
			cli->wait = true;
			cli->yes = true;
			es_fprintf(progress(cli),
			           "deploying release %s to %s so its template owns "
			           "the primary again\n",
			           res.release, cli->stage);
			*freed = true;
			return start_and_run(cli, c, &ui, "canary", "deploy", start_adopt, &res);
		}
	}
	if (rc)
		return es_cli_fail(cli, "canary", rc);
	print_result(cli, sub, &res);
	return ES_EXIT_OK;
}

int es_cmd_canary(struct es_cli *cli)
{
	static const char *const subs[] = {"status", "start",   "widen",
	                                   "check",  "promote", "discard"};
	struct ctx c;
	struct cn_opts o;
	const char *sub = cli->n_args ? cli->args[0] : "status";
	bool known = false;
	int rc;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		known = known || strcmp(sub, subs[i]) == 0;
	if (!known) {
		es_fail(ES_EINVAL,
		        "canary: unknown subcommand '%s'; use status, start, widen, check, promote "
		        "or "
		        "discard",
		        sub);
		return es_cli_fail(cli, "canary", ES_EINVAL);
	}
	if (!cli->stage) {
		es_fail(ES_EINVAL, "canary needs --stage NAME: the stage is never implied");
		return es_cli_fail(cli, "canary", ES_EINVAL);
	}
	read_opts(cli, &o);
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "canary", rc);
	}
	bool freed = false; /* start_and_run frees c itself */
	if (strcmp(sub, "status") == 0)
		rc = show_status(cli, &c);
	else
		rc = act(cli, &c, sub, &o, &freed);
	if (!freed)
		ctx_free(&c);
	return rc;
}
