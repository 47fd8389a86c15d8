/* edgeship pipeline status|approve|reject|retry|start|stop: the CodePipeline
 * that deploys the stages in pipeline mode, watched and driven headless. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/timefmt.h"
#include "cmd.h"
#include "pipeline.h"
#include "report.h"

/* How many executions status shows. */
#define STATUS_EXECUTIONS 5

struct pl_opts {
	const char *comment;
	const char *pipeline;
	const char *execution;
	bool abandon;
};

/* The options only this command takes (cli.c leaves them for us). */
static void read_opts(const struct es_cli *cli, struct pl_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i];
		const char **dst = strcmp(a, "--comment") == 0     ? &o->comment
		                   : strcmp(a, "--pipeline") == 0  ? &o->pipeline
		                   : strcmp(a, "--execution") == 0 ? &o->execution
		                                                   : NULL;
		if (dst && i + 1 < cli->argc)
			*dst = cli->argv[++i];
		else if (strncmp(a, "--comment=", 10) == 0)
			o->comment = a + 10;
		else if (strncmp(a, "--pipeline=", 11) == 0)
			o->pipeline = a + 11;
		else if (strncmp(a, "--execution=", 12) == 0)
			o->execution = a + 12;
		else if (strcmp(a, "--abandon") == 0)
			o->abandon = true;
	}
}

static const char *clock_of(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_execution(const struct es_pl_execution *e)
{
	char t1[32], t2[32];

	es_printf("%.8s  %-10s started %s", e->id, or_dash(e->status),
	          clock_of(e->start, t1, sizeof(t1)));
	if (e->commit[0])
		es_printf("  commit %s %s", e->short_commit, e->subject);
	else if (e->revision_summary)
		es_printf("  %s (not in this repository)", e->revision_summary);
	if (e->revision)
		es_printf("  [revision %s]", e->revision);
	es_printf("\n");
	if (e->summary)
		es_printf("  why: %s\n", e->summary);
	if (e->stop_reason && *e->stop_reason)
		es_printf("  stopped: %s\n", e->stop_reason);
	for (size_t j = 0; j < e->n_actions; j++) {
		const struct es_pl_action *a = &e->actions[j];
		char what[160];
		snprintf(what, sizeof(what), "%s/%s", a->stage, a->name);
		es_printf("  %-32s %-10s", what, or_dash(a->status));
		if (a->status)
			es_printf(" %s → %s", clock_of(a->start, t1, sizeof(t1)),
			          clock_of(a->changed, t2, sizeof(t2)));
		if (a->error)
			es_printf("  %s", a->error);
		else if (a->summary)
			es_printf("  %s", a->summary);
		if (a->updated_by)
			es_printf("  (by %s)", a->updated_by);
		es_printf("\n");
	}
}

static void print_status(const struct es_pl_status *s)
{
	char buf[64], left[32];

	es_printf("pipeline %s ([pipeline \"%s\"])\n", s->pipeline, s->section);
	for (size_t i = 0; i < s->n_stages; i++) {
		const struct es_pl_stage *st = &s->stages[i];
		es_printf("  %-16s %-10s", st->name, or_dash(st->status));
		if (st->execution_id)
			es_printf(" %.8s", st->execution_id);
		if (st->deploys)
			es_printf("  deploys %s", st->deploys);
		if (st->inbound_id)
			es_printf("  (%.8s waiting to enter)", st->inbound_id);
		es_printf("\n");
	}
	if (s->approval.waiting) {
		const struct es_pl_approval *a = &s->approval;
		double now = es_time_now();
		es_printf("approval waiting: %s/%s, execution %.8s, %s left (expires %s)\n",
		          a->stage, a->action, a->execution_id ? a->execution_id : "",
		          es_duration_format(a->expires > now ? a->expires - now : 0, left,
		                             sizeof(left)),
		          clock_of(a->expires, buf, sizeof(buf)));
		if (a->custom_data)
			es_printf("  %s\n", a->custom_data);
		if (a->url)
			es_printf("  review: %s\n", a->url);
		es_printf("  edgeship pipeline approve --comment TEXT | edgeship pipeline reject "
		          "--comment TEXT\n");
	}
	if (s->validator_action)
		es_printf("validator %s: %s%s%s\n", s->validator_action,
		          or_dash(s->validator_status), s->validator_summary ? ": " : "",
		          s->validator_summary ? s->validator_summary : "");
	if (s->n_execs)
		es_printf("\nexecutions, newest first:\n");
	for (size_t i = 0; i < s->n_execs; i++)
		print_execution(&s->execs[i]);
}

static int load_status(struct es_cli *cli, struct ctx *c, const struct pl_opts *o,
                       struct es_pl_status *st)
{
	const struct es_pipeline_conf *pc;
	int rc = ctx_open(cli, c, true);

	if (rc)
		return rc;
	pc = es_pipeline_pick(c->conf, o->pipeline);
	if (!pc)
		return es_error_last()->status;
	return es_pipeline_status(c->aws, c->conf, c->repo, pc, STATUS_EXECUTIONS, st);
}

static int pipeline_status(struct es_cli *cli, const struct pl_opts *o)
{
	struct ctx c;
	struct es_pl_status st;
	int rc = load_status(cli, &c, o, &st);

	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "pipeline status", rc);
	}
	if (cli->json) {
		char *j = es_pipeline_status_json(&st, es_time_now());
		if (j)
			puts(j);
		free(j);
	} else {
		print_status(&st);
	}
	es_pipeline_status_free(&st);
	ctx_free(&c);
	return ES_EXIT_OK;
}

/* Approving releases into a stage: type its name, as promote asks. The
 * other changes ask y/N. */
static const char *confirm_word_for(const struct es_pl_status *st, enum es_pl_op op)
{
	bool past = false;

	if (op != ES_PL_APPROVE || !st->approval.waiting)
		return NULL;
	for (size_t i = 0; i < st->n_stages; i++) {
		if (past)
			return st->stages[i].deploys ? st->stages[i].deploys : st->stages[i].name;
		past = strcmp(st->stages[i].name, st->approval.stage) == 0;
	}
	return st->approval.stage;
}

static int pipeline_act(struct es_cli *cli, const struct pl_opts *o, enum es_pl_op op,
                        const char *stage)
{
	char command[32], plan[400];
	struct es_pl_request req = {.op = op,
	                            .comment = o->comment,
	                            .abandon = o->abandon,
	                            .stage = stage,
	                            .execution = o->execution};
	struct es_pl_result res;
	struct es_pl_status st;
	struct ctx c;
	int rc;

	snprintf(command, sizeof(command), "pipeline %s", es_pipeline_op_name(op));
	if (cli->read_only) {
		es_fail(ES_EREFUSED,
		        "--read-only: %s changes the pipeline; run without --read-only", command);
		return es_cli_fail(cli, command, ES_EREFUSED);
	}
	rc = load_status(cli, &c, o, &st);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, command, rc);
	}
	rc = es_pipeline_plan(&st, &req, plan, sizeof(plan));
	if (!rc && !cli->yes) {
		if (st.approval.waiting && (op == ES_PL_APPROVE || op == ES_PL_REJECT)) {
			if (st.approval.custom_data)
				es_fprintf(progress(cli), "%s\n", st.approval.custom_data);
			if (st.approval.url)
				es_fprintf(progress(cli), "review: %s\n", st.approval.url);
		}
		char q[480];
		snprintf(q, sizeof(q), "%s?", plan);
		if (!ask(progress(cli), can_ask(), q, confirm_word_for(&st, op)))
			rc = es_fail(ES_ECANCELLED, "cancelled: nothing was changed in pipeline %s",
			             st.pipeline);
	}
	if (!rc)
		rc = es_pipeline_act(c.aws, c.conf, &st, &req, &res);
	es_pipeline_status_free(&st);
	ctx_free(&c);
	if (rc)
		return es_cli_fail(cli, command, rc);
	if (cli->json) {
		char seq[24];
		snprintf(seq, sizeof(seq), "%ld", res.outcome_seq);
		const char *kv[] = {"execution_id",
		                    res.execution_id,
		                    "pipeline_stage",
		                    res.stage,
		                    "action_id",
		                    res.action_id,
		                    "ledger_seq",
		                    seq,
		                    "comment",
		                    o->comment ? o->comment : "",
		                    "found_after_lost_answer",
		                    res.already ? "yes" : "no",
		                    NULL};
		char *j = es_report_ok_json(command, kv);
		if (j)
			puts(j);
		free(j);
	} else {
		es_printf("%s: done%s (execution %s)\n", plan,
		          res.already ? ", found made after a lost answer" : "", res.execution_id);
	}
	return ES_EXIT_OK;
}

int es_cmd_pipeline(struct es_cli *cli)
{
	static const struct {
		const char *name;
		enum es_pl_op op;
	} ops[] = {{"approve", ES_PL_APPROVE},
	           {"reject", ES_PL_REJECT},
	           {"retry", ES_PL_RETRY},
	           {"start", ES_PL_START},
	           {"stop", ES_PL_STOP}};
	struct pl_opts o;
	const char *sub = cli->n_args ? cli->args[0] : "status";

	read_opts(cli, &o);
	if (strcmp(sub, "status") == 0)
		return pipeline_status(cli, &o);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(sub, ops[i].name) == 0) {
			if (cli->n_args > (ops[i].op == ES_PL_RETRY ? 2 : 1)) {
				es_fail(ES_EINVAL, "pipeline %s: unexpected argument '%s'", sub,
				        cli->args[cli->n_args - 1]);
				return es_cli_fail(cli, "pipeline", ES_EINVAL);
			}
			return pipeline_act(cli, &o, ops[i].op,
			                    cli->n_args > 1 ? cli->args[1] : NULL);
		}
	es_fail(ES_EINVAL,
	        "pipeline: unknown subcommand '%s'; use status, approve, reject, retry, start or "
	        "stop",
	        sub);
	return es_cli_fail(cli, "pipeline", ES_EINVAL);
}
