/* Headless teardown: destroy (a stage's stack, its Lambda@Edge
 * associations first) and cleanup (the replicated functions a teardown had
 * to leave behind). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "base/error.h"
#include "destroy.h"
#include "replicas.h"
#include "report.h"

static bool has_flag(const struct es_cli *cli, const char *flag)
{
	for (int i = 1; i < cli->argc; i++)
		if (strcmp(cli->argv[i], flag) == 0)
			return true;
	return false;
}

static void print_note(const char *text, void *ud)
{
	es_fprintf(ud, "%s\n", text);
	fflush(ud);
}

int es_cmd_destroy(struct es_cli *cli)
{
	struct ctx c;
	struct es_destroy_result res;
	bool force = has_flag(cli, "--force");
	char q[400];
	int rc;

	if (cli->read_only) {
		es_fail(ES_EREFUSED,
		        "--read-only: destroy deletes the stage's stack; run without --read-only");
		return es_cli_fail(cli, "destroy", ES_EREFUSED);
	}
	if (!cli->stage) {
		es_fail(ES_EINVAL, "destroy needs --stage NAME: the stage is never implied");
		return es_cli_fail(cli, "destroy", ES_EINVAL);
	}
	rc = ctx_open_config(cli, &c);
	if (!rc)
		rc = es_destroy_check(c.conf, cli->stage, force);
	if (!rc)
		rc = ctx_open_aws(cli, &c);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "destroy", rc);
	}
	if (!cli->yes) {
		const struct es_stage_conf *sc = es_config_stage(c.conf, cli->stage);
		snprintf(
		        q, sizeof(q),
		        "Delete the stack %s of stage %s, and with it the stage's distribution and "
		        "function?",
		        sc->stack, sc->name);
		if (!ask(progress(cli), can_ask(), q, cli->stage)) {
			ctx_free(&c);
			es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", cli->stage);
			return es_cli_fail(cli, "destroy", ES_ECANCELLED);
		}
	}
	rc = es_destroy(c.aws, c.conf, cli->stage, force, cli->poll_ms, cli->timeout_s, print_note,
	                progress(cli), &res);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "destroy", rc);
	}
	if (cli->json) {
		char n[16];
		snprintf(n, sizeof(n), "%zu", res.n_retained);
		const char *kv[] = {"stage",
		                    cli->stage,
		                    "stack_status",
		                    res.stack_status,
		                    "action_id",
		                    res.action_id,
		                    "retained",
		                    n,
		                    "existed",
		                    res.already_gone ? "false" : "true",
		                    NULL};
		char *j = es_report_ok_json("destroy", kv);
		if (j)
			puts(j);
		free(j);
	} else if (res.already_gone) {
		es_printf("%s has no stack: nothing to destroy\n", cli->stage);
	} else {
		es_printf("%s destroyed: its stack is deleted", cli->stage);
		if (res.n_retained)
			es_printf(
			        "; %zu replicated function%s retained: run `edgeship cleanup` in a "
			        "few hours",
			        res.n_retained, res.n_retained == 1 ? "" : "s");
		es_printf("\n");
	}
	ctx_free(&c);
	return ES_EXIT_OK;
}

int es_cmd_cleanup(struct es_cli *cli)
{
	struct ctx c;
	struct es_cleanup_result res;
	int rc;

	if (cli->read_only) {
		es_fail(ES_EREFUSED,
		        "--read-only: cleanup deletes Lambda functions; run without --read-only");
		return es_cli_fail(cli, "cleanup", ES_EREFUSED);
	}
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "cleanup", rc);
	}
	rc = es_cleanup(c.aws, c.conf, print_note, progress(cli), &res);
	if (cli->json && (rc == ES_OK || rc == ES_EBUSY)) {
		char *j = es_cleanup_result_json(&res);
		if (j)
			puts(j);
		free(j);
		if (rc)
			es_fprintf(stderr, "edgeship cleanup: %s\n", es_error_last()->message);
	} else if (rc) {
		es_cli_fail(cli, "cleanup", rc);
	} else if (res.n == 0) {
		es_printf("no replicated functions are waiting for cleanup\n");
	} else {
		es_printf("%zu function%s deleted; none is waiting for cleanup\n", res.deleted,
		          res.deleted == 1 ? "" : "s");
	}
	es_cleanup_result_free(&res);
	ctx_free(&c);
	return es_cli_exit_for(rc);
}
