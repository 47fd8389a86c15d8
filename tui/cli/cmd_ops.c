/* Headless stack operations: drift (read-only: detection changes nothing
 * in the stack) and recover (ContinueUpdateRollback for a stack stuck in
 * UPDATE_ROLLBACK_FAILED). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "cmd.h"
#include "base/error.h"
#include "ops.h"
#include "report.h"

static void print_drift(const struct es_drift_report *r)
{
	size_t shown = 0;

	es_printf("%s (%s): %s", r->stage, r->stack, r->drift_status);
	if (strcmp(r->drift_status, "DRIFTED") == 0)
		es_printf(", %ld resource%s differ%s from the template", r->drifted_count,
		          r->drifted_count == 1 ? "" : "s", r->drifted_count == 1 ? "s" : "");
	es_printf("\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct es_resource_drift *d = &r->resources[i];
		if (strcmp(d->status, "MODIFIED") != 0 && strcmp(d->status, "DELETED") != 0)
			continue;
		shown++;
		es_printf("  %s (%s) %s\n", d->logical_id, d->type, d->status);
		for (size_t j = 0; j < d->n_diffs; j++)
			es_printf("    %s: expected %s, actual %s (%s)\n", d->diffs[j].path,
			          d->diffs[j].expected, d->diffs[j].actual, d->diffs[j].type);
	}
	if (shown)
		es_printf("Changes made outside CloudFormation are overwritten by the next deploy "
		          "or lost when a resource is replaced: put them in the template, or undo "
		          "them.\n");
}

int es_cmd_drift(struct es_cli *cli)
{
	struct ctx c;
	struct es_drift_report r;
	int rc, code;

	if (!cli->stage) {
		es_fail(ES_EINVAL, "drift needs --stage NAME");
		return es_cli_fail(cli, "drift", ES_EINVAL);
	}
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "drift", rc);
	}
	es_fprintf(progress(cli), "detecting drift on %s…\n", cli->stage);
	rc = es_drift_check(c.aws, c.conf, cli->stage, cli->timeout_s, &r);
	if (rc) {
		es_drift_report_free(&r);
		ctx_free(&c);
		return es_cli_fail(cli, "drift", rc);
	}
	if (cli->json) {
		char *j = es_drift_report_json(&r);
		if (j)
			puts(j);
		free(j);
	} else {
		print_drift(&r);
	}
	code = strcmp(r.drift_status, "DRIFTED") == 0 ? ES_EXIT_DRIFTED : ES_EXIT_OK;
	es_drift_report_free(&r);
	ctx_free(&c);
	return code;
}

/* --skip LOGICAL_ID (repeatable), left by the shared parser for us. */
static size_t skips_of(const struct es_cli *cli, const char **out, size_t max)
{
	size_t n = 0;

	for (int i = 1; i < cli->argc && n < max; i++) {
		const char *a = cli->argv[i];
		if (strcmp(a, "--skip") == 0 && i + 1 < cli->argc)
			out[n++] = cli->argv[++i];
		else if (strncmp(a, "--skip=", 7) == 0)
			out[n++] = a + 7;
	}
	return n;
}

static void recover_note(const char *text, void *ud)
{
	es_fprintf(ud, "%s\n", text);
	fflush(ud);
}

int es_cmd_recover(struct es_cli *cli)
{
	struct ctx c;
	struct es_recover_result res;
	const char *skip[32];
	size_t n = skips_of(cli, skip, 32);
	char q[600], resource[128], reason[512];
	int rc;

	if (cli->read_only) {
		es_fail(ES_EREFUSED,
		        "--read-only: recover changes the stack; run without --read-only");
		return es_cli_fail(cli, "recover", ES_EREFUSED);
	}
	if (!cli->stage) {
		es_fail(ES_EINVAL, "recover needs --stage NAME");
		return es_cli_fail(cli, "recover", ES_EINVAL);
	}
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "recover", rc);
	}
	if (!cli->yes) {
		const struct es_stage_conf *sc = es_config_stage(c.conf, cli->stage);
		int len;
		if (sc && es_accounts_client(c.aws, c.conf, sc) &&
		    es_stack_failure(es_accounts_client(c.aws, c.conf, sc), sc->stack, resource,
		                     sizeof(resource), reason, sizeof(reason)) == ES_OK &&
		    resource[0])
			es_fprintf(progress(cli), "%s failed: %s\n", resource, reason);
		len = snprintf(q, sizeof(q), "Continue the rollback of %s", cli->stage);
		for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof(q); i++)
			len += snprintf(q + len, sizeof(q) - len, "%s%s", i ? ", " : ", skipping ",
			                skip[i]);
		if (len > 0 && (size_t)len < sizeof(q))
			snprintf(q + len, sizeof(q) - len, "?");
		if (!ask(progress(cli), can_ask(), q, cli->stage)) {
			ctx_free(&c);
			es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", cli->stage);
			return es_cli_fail(cli, "recover", ES_ECANCELLED);
		}
	}
	rc = es_recover(c.aws, c.conf, cli->stage, skip, n, cli->poll_ms, cli->timeout_s,
	                recover_note, progress(cli), &res);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "recover", rc);
	}
	if (cli->json) {
		const char *kv[] = {
		        "stage",       cli->stage, "stack_status", res.stack_status, "action_id",
		        res.action_id, NULL};
		char *j = es_report_ok_json("recover", kv);
		if (j)
			puts(j);
		free(j);
	} else {
		es_printf("%s recovered: the stack is %s; deploy again when ready\n", cli->stage,
		          res.stack_status);
	}
	ctx_free(&c);
	return ES_EXIT_OK;
}
