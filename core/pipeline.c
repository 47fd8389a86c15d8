/* Pipeline mode: a CodePipeline's definition, state and latest executions
 * gathered for the console, and the changes an operator makes to it
 * (PutApprovalResult, RetryStageExecution, Start/StopPipelineExecution),
 * each recorded in the ledger. */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/codepipeline.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "ledger.h"
#include "pipeline.h"

#define NZ(s) ((s) ? (s) : "")

static char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

static double time_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : 0;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

const struct es_pipeline_conf *es_pipeline_pick(const struct es_config *conf, const char *name)
{
	if (name) {
		const struct es_pipeline_conf *p = es_config_pipeline(conf, name);
		if (!p)
			es_fail(ES_EINVAL, "there is no [pipeline \"%s\"] in %s", name, conf->path);
		return p;
	}
	if (conf->n_pipelines == 1)
		return &conf->pipelines[0];
	if (conf->n_pipelines == 0)
		es_fail(ES_ECONFIG,
		        "%s has no [pipeline \"NAME\"] section; add one with name = the "
		        "CodePipeline's name",
		        conf->path);
	else
		es_fail(ES_EINVAL, "%s has %zu pipelines: name one with --pipeline NAME",
		        conf->path, conf->n_pipelines);
	return NULL;
}

/* ------------------------------------------------------------ status */

/* The definition's action named stage/action, or NULL. */
static json_t *def_action(json_t *def, const char *stage, const char *action)
{
	json_t *s, *a;
	size_t i, j;

	json_array_foreach(json_object_get(def, "stages"), i, s)
	{
		if (strcmp(NZ(json_string_value(json_object_get(s, "name"))), stage) != 0)
			continue;
		json_array_foreach(json_object_get(s, "actions"), j, a)
		{
			if (strcmp(NZ(json_string_value(json_object_get(a, "name"))), action) == 0)
				return a;
		}
	}
	return NULL;
}

static const char *category_of(json_t *a)
{
	return json_string_value(json_object_get(json_object_get(a, "actionTypeId"), "category"));
}

static const char *provider_of(json_t *a)
{
	return json_string_value(json_object_get(json_object_get(a, "actionTypeId"), "provider"));
}

static const char *config_of(json_t *a, const char *key)
{
	return json_string_value(json_object_get(json_object_get(a, "configuration"), key));
}

/* The first hex word of 7 to 40 digits in text that names a commit of repo. */
static void match_commit(struct es_repo *repo, const char *text, struct es_pl_execution *e)
{
	for (const char *p = text; repo && p && *p;) {
		size_t n = 0;
		while (isxdigit((unsigned char)p[n]))
			n++;
		bool word = n >= 7 && n <= 40 && (p == text || !isalnum((unsigned char)p[-1])) &&
		            !isalnum((unsigned char)p[n]);
		if (word) {
			char hex[41], oid[41];
			struct es_commit_detail d;
			memcpy(hex, p, n);
			hex[n] = '\0';
			if (es_repo_resolve(repo, hex, oid) == ES_OK && strncmp(oid, hex, n) == 0 &&
			    es_repo_commit_detail(repo, oid, 0, &d) == ES_OK) {
				copy(e->commit, sizeof(e->commit), oid);
				copy(e->short_commit, sizeof(e->short_commit), d.info.short_oid);
				copy(e->subject, sizeof(e->subject), d.info.summary);
				es_commit_detail_free(&d);
				es_error_clear();
				return;
			}
			es_error_clear();
		}
		p += n ? n : 1;
	}
}

void es_pipeline_match_commits(struct es_repo *repo, struct es_pl_status *st)
{
	for (size_t i = 0; repo && i < st->n_execs; i++) {
		struct es_pl_execution *e = &st->execs[i];
		if (e->commit[0])
			continue;
		match_commit(repo, e->revision_summary, e);
		if (!e->commit[0])
			match_commit(repo, e->revision, e);
	}
}

static int fill_actions(json_t *def, json_t *details, struct es_pl_execution *e)
{
	json_t *s, *a, *d;
	size_t i, j, k, n = 0;

	json_array_foreach(json_object_get(def, "stages"), i, s)
	{
		n += json_array_size(json_object_get(s, "actions"));
	}
	e->actions = calloc(n ? n : 1, sizeof(*e->actions));
	if (!e->actions)
		return es_fail(ES_ENOMEM, "out of memory");
	json_array_foreach(json_object_get(def, "stages"), i, s)
	{
		const char *sname = json_string_value(json_object_get(s, "name"));
		json_array_foreach(json_object_get(s, "actions"), j, a)
		{
			struct es_pl_action *x = &e->actions[e->n_actions++];
			const char *aname = json_string_value(json_object_get(a, "name"));
			x->stage = strdup(NZ(sname));
			x->name = strdup(NZ(aname));
			x->category = category_of(a) ? strdup(category_of(a)) : NULL;
			x->provider = provider_of(a) ? strdup(provider_of(a)) : NULL;
			/* The newest run of the action in this execution (AWS lists
			 * newest first). */
			json_array_foreach(details, k, d)
			{
				const char *ds = json_string_value(json_object_get(d, "stageName"));
				const char *da =
				        json_string_value(json_object_get(d, "actionName"));
				if (!ds || !da || strcmp(ds, NZ(sname)) || strcmp(da, NZ(aname)))
					continue;
				json_t *res = json_object_get(json_object_get(d, "output"),
				                              "executionResult");
				json_t *err = json_object_get(res, "errorDetails");
				x->status = str_of(d, "status");
				x->summary = str_of(res, "externalExecutionSummary");
				x->external_id = str_of(res, "externalExecutionId");
				x->error = str_of(err, "message");
				x->updated_by = str_of(d, "updatedBy");
				x->start = time_of(d, "startTime");
				x->changed = time_of(d, "lastUpdateTime");
				break;
			}
		}
	}
	return ES_OK;
}

static int fill_execution(struct es_aws_client *aws, const char *name, json_t *def, json_t *sum,
                          struct es_pl_execution *e)
{
	json_t *root = NULL, *rev = json_array_get(json_object_get(sum, "sourceRevisions"), 0);
	int rc;

	e->id = str_of(sum, "pipelineExecutionId");
	e->status = str_of(sum, "status");
	e->summary = str_of(sum, "statusSummary");
	e->trigger = str_of(json_object_get(sum, "trigger"), "triggerType");
	e->stop_reason = str_of(json_object_get(sum, "stopTrigger"), "reason");
	e->start = time_of(sum, "startTime");
	e->updated = time_of(sum, "lastUpdateTime");
	e->revision = str_of(rev, "revisionId");
	e->revision_summary = str_of(rev, "revisionSummary");
	if (!e->id)
		return es_fail(ES_EPARSE, "ListPipelineExecutions: an execution without an id");
	if (!e->summary) {
		/* ListPipelineExecutions has no statusSummary on AWS:
		 * GetPipelineExecution does. */
		rc = es_codepipeline_sync(
		        aws, "GetPipelineExecution",
		        json_pack("{s:s,s:s}", "pipelineName", name, "pipelineExecutionId", e->id),
		        &root);
		if (rc)
			return rc;
		e->summary = str_of(json_object_get(root, "pipelineExecution"), "statusSummary");
		json_decref(root);
	}
	rc = es_codepipeline_sync(aws, "ListActionExecutions",
	                          json_pack("{s:s,s:{s:s}}", "pipelineName", name, "filter",
	                                    "pipelineExecutionId", e->id),
	                          &root);
	if (rc)
		return rc;
	rc = fill_actions(def, json_object_get(root, "actionExecutionDetails"), e);
	json_decref(root);
	return rc;
}

/* The approval waiting now, the validator's result and each stage, from
 * GetPipelineState. */
static int fill_state(json_t *def, json_t *state, const struct es_config *conf,
                      const struct es_pipeline_conf *pc, struct es_pl_status *out)
{
	json_t *s, *a;
	size_t i, j, n = json_array_size(json_object_get(state, "stageStates"));

	out->stages = calloc(n ? n : 1, sizeof(*out->stages));
	if (!out->stages)
		return es_fail(ES_ENOMEM, "out of memory");
	json_array_foreach(json_object_get(state, "stageStates"), i, s)
	{
		struct es_pl_stage *st = &out->stages[out->n_stages++];
		json_t *latest = json_object_get(s, "latestExecution");
		const char *sname = json_string_value(json_object_get(s, "stageName"));
		st->name = strdup(NZ(sname));
		st->status = str_of(latest, "status");
		st->execution_id = str_of(latest, "pipelineExecutionId");
		st->inbound_id = str_of(json_array_get(json_object_get(s, "inboundExecutions"), 0),
		                        "pipelineExecutionId");
		for (size_t k = 0; k < conf->n_stages; k++) {
			const struct es_stage_conf *sc = &conf->stages[k];
			if (sc->pipeline && strcmp(sc->pipeline, pc->name) == 0 &&
			    sc->pipeline_stage && sname && strcmp(sc->pipeline_stage, sname) == 0)
				st->deploys = strdup(sc->name);
		}
		json_array_foreach(json_object_get(s, "actionStates"), j, a)
		{
			const char *aname = json_string_value(json_object_get(a, "actionName"));
			json_t *d = def_action(def, NZ(sname), NZ(aname));
			json_t *le = json_object_get(a, "latestExecution");
			const char *cat = d ? category_of(d) : NULL;
			const char *status = json_string_value(json_object_get(le, "status"));
			if (!cat || !le)
				continue;
			if (strcmp(cat, "Approval") == 0 && status &&
			    strcmp(status, "InProgress") == 0 && json_object_get(le, "token") &&
			    !out->approval.waiting) {
				struct es_pl_approval *ap = &out->approval;
				json_t *tmo = json_object_get(d, "timeoutInMinutes");
				ap->waiting = true;
				ap->stage = strdup(sname);
				ap->action = strdup(aname);
				ap->token = str_of(le, "token");
				ap->execution_id = str_of(latest, "pipelineExecutionId");
				ap->custom_data = config_of(d, "CustomData")
				                          ? strdup(config_of(d, "CustomData"))
				                          : NULL;
				ap->url = config_of(d, "ExternalEntityLink")
				                  ? strdup(config_of(d, "ExternalEntityLink"))
				                  : NULL;
				ap->since = time_of(le, "lastStatusChange");
				ap->expires = ap->since +
				              (json_is_integer(tmo)
				                       ? (double)json_integer_value(tmo) * 60
				                       : (double)ES_PIPELINE_APPROVAL_DEFAULT_S);
			}
			if (strcmp(cat, "Invoke") == 0 && !out->validator_action) {
				json_t *err = json_object_get(le, "errorDetails");
				out->validator_action = strdup(aname);
				out->validator_status = str_of(le, "status");
				out->validator_summary = str_of(err, "message");
				if (!out->validator_summary)
					out->validator_summary = str_of(le, "summary");
			}
		}
	}
	return ES_OK;
}

int es_pipeline_status(struct es_aws_client *aws, const struct es_config *conf,
                       struct es_repo *repo, const struct es_pipeline_conf *pc, size_t max_execs,
                       struct es_pl_status *out)
{
	json_t *pdef = NULL, *state = NULL, *list = NULL, *sum, *def;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->section = strdup(pc->name);
	out->pipeline = strdup(pc->pipeline);
	if (!out->section || !out->pipeline)
		return es_fail(ES_ENOMEM, "out of memory");
	rc = es_codepipeline_sync(aws, "GetPipeline", json_pack("{s:s}", "name", pc->pipeline),
	                          &pdef);
	if (!rc)
		rc = es_codepipeline_sync(aws, "GetPipelineState",
		                          json_pack("{s:s}", "name", pc->pipeline), &state);
	if (!rc)
		rc = es_codepipeline_sync(aws, "ListPipelineExecutions",
		                          json_pack("{s:s,s:I}", "pipelineName", pc->pipeline,
		                                    "maxResults",
		                                    (json_int_t)(max_execs ? max_execs : 1)),
		                          &list);
	if (rc)
		goto out;
	def = json_object_get(pdef, "pipeline");
	rc = fill_state(def, state, conf, pc, out);
	if (rc)
		goto out;
	json_t *sums = json_object_get(list, "pipelineExecutionSummaries");
	out->execs = calloc(json_array_size(sums) + 1, sizeof(*out->execs));
	if (!out->execs) {
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(sums, i, sum)
	{
		if (i >= max_execs)
			break;
		rc = fill_execution(aws, pc->pipeline, def, sum, &out->execs[out->n_execs++]);
		if (rc)
			goto out;
	}
	es_pipeline_match_commits(repo, out);
out:
	json_decref(pdef);
	json_decref(state);
	json_decref(list);
	if (rc)
		es_pipeline_status_free(out);
	return rc;
}

void es_pipeline_status_free(struct es_pl_status *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_execs; i++) {
		struct es_pl_execution *e = &s->execs[i];
		for (size_t j = 0; j < e->n_actions; j++) {
			struct es_pl_action *a = &e->actions[j];
			free(a->stage);
			free(a->name);
			free(a->category);
			free(a->provider);
			free(a->status);
			free(a->summary);
			free(a->error);
			free(a->external_id);
			free(a->updated_by);
		}
		free(e->actions);
		free(e->id);
		free(e->status);
		free(e->summary);
		free(e->trigger);
		free(e->stop_reason);
		free(e->revision);
		free(e->revision_summary);
	}
	free(s->execs);
	for (size_t i = 0; i < s->n_stages; i++) {
		free(s->stages[i].name);
		free(s->stages[i].status);
		free(s->stages[i].execution_id);
		free(s->stages[i].inbound_id);
		free(s->stages[i].deploys);
	}
	free(s->stages);
	free(s->approval.stage);
	free(s->approval.action);
	free(s->approval.token);
	free(s->approval.execution_id);
	free(s->approval.custom_data);
	free(s->approval.url);
	free(s->validator_action);
	free(s->validator_status);
	free(s->validator_summary);
	free(s->section);
	free(s->pipeline);
	memset(s, 0, sizeof(*s));
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtime(double t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return json_null();
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

char *es_pipeline_status_json(const struct es_pl_status *s, double now)
{
	json_t *o = json_object(), *execs = json_array(), *stages = json_array(), *ap;
	char *text;

	for (size_t i = 0; i < s->n_stages; i++) {
		const struct es_pl_stage *st = &s->stages[i];
		json_array_append_new(
		        stages, json_pack("{s:s,s:o,s:o,s:o,s:o}", "name", st->name, "status",
		                          jstr(st->status), "execution_id", jstr(st->execution_id),
		                          "waiting_execution_id", jstr(st->inbound_id), "deploys",
		                          jstr(st->deploys)));
	}
	for (size_t i = 0; i < s->n_execs; i++) {
		const struct es_pl_execution *e = &s->execs[i];
		json_t *acts = json_array();
		for (size_t j = 0; j < e->n_actions; j++) {
			const struct es_pl_action *a = &e->actions[j];
			json_array_append_new(
			        acts,
			        json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "stage",
			                  a->stage, "name", a->name, "category", jstr(a->category),
			                  "provider", jstr(a->provider), "status", jstr(a->status),
			                  "summary", jstr(a->summary), "error", jstr(a->error),
			                  "updated_by", jstr(a->updated_by), "started",
			                  jtime(a->start), "changed", jtime(a->changed)));
		}
		json_t *commit = e->commit[0] ? json_pack("{s:s,s:s,s:s}", "id", e->commit, "short",
		                                          e->short_commit, "subject", e->subject)
		                              : json_null();
		json_array_append_new(
		        execs,
		        json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o},s:o}", "id", e->id,
		                  "status", jstr(e->status), "summary", jstr(e->summary), "trigger",
		                  jstr(e->trigger), "stop_reason", jstr(e->stop_reason), "started",
		                  jtime(e->start), "updated", jtime(e->updated), "revision", "id",
		                  jstr(e->revision), "summary", jstr(e->revision_summary), "commit",
		                  commit, "actions", acts));
	}
	if (s->approval.waiting) {
		const struct es_pl_approval *a = &s->approval;
		ap = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "stage", a->stage, "action",
		               a->action, "execution_id", jstr(a->execution_id), "token",
		               jstr(a->token), "custom_data", jstr(a->custom_data), "url",
		               jstr(a->url), "since", jtime(a->since), "expires", jtime(a->expires),
		               "seconds_left",
		               (json_int_t)(a->expires > now ? a->expires - now : 0));
	} else {
		ap = json_null();
	}
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "pipeline", json_string(s->pipeline));
	json_object_set_new(o, "section", json_string(s->section));
	json_object_set_new(o, "stages", stages);
	json_object_set_new(o, "approval", ap);
	json_object_set_new(o, "validator",
	                    s->validator_action
	                            ? json_pack("{s:s,s:o,s:o}", "action", s->validator_action,
	                                        "status", jstr(s->validator_status), "summary",
	                                        jstr(s->validator_summary))
	                            : json_null());
	json_object_set_new(o, "executions", execs);
	text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* ------------------------------------------------------------ actions */

const char *es_pipeline_op_name(enum es_pl_op op)
{
	static const char *const names[] = {[ES_PL_APPROVE] = "approve",
	                                    [ES_PL_REJECT] = "reject",
	                                    [ES_PL_RETRY] = "retry",
	                                    [ES_PL_START] = "start",
	                                    [ES_PL_STOP] = "stop"};
	return names[op];
}

/* The stage a retry re-runs: the one named, else a failed stage whose
 * latest execution is the newest failed one. */
static const struct es_pl_stage *retry_stage(const struct es_pl_status *st, const char *name)
{
	for (size_t i = 0; i < st->n_stages; i++) {
		const struct es_pl_stage *s = &st->stages[i];
		if (name ? strcmp(s->name, name) == 0
		         : s->status && strcmp(s->status, "Failed") == 0)
			return s;
	}
	return NULL;
}

static const struct es_pl_execution *running(const struct es_pl_status *st, const char *id)
{
	for (size_t i = 0; i < st->n_execs; i++) {
		const struct es_pl_execution *e = &st->execs[i];
		if (id ? strcmp(e->id, id) == 0
		       : e->status && (strcmp(e->status, "InProgress") == 0 ||
		                       strcmp(e->status, "Stopping") == 0))
			return e;
	}
	return NULL;
}

static const char *next_deploy(const struct es_pl_status *st, const char *after)
{
	bool past = false;
	for (size_t i = 0; i < st->n_stages; i++) {
		if (past && st->stages[i].deploys)
			return st->stages[i].deploys;
		past = past || strcmp(st->stages[i].name, after) == 0;
	}
	return NULL;
}

int es_pipeline_plan(const struct es_pl_status *st, const struct es_pl_request *req, char *buf,
                     size_t len)
{
	const struct es_pl_stage *s;
	const struct es_pl_execution *e;
	const char *to;

	switch (req->op) {
	case ES_PL_APPROVE:
	case ES_PL_REJECT:
		if (!st->approval.waiting)
			return es_fail(ES_EREFUSED, "no approval is waiting in pipeline %s",
			               st->pipeline);
		to = next_deploy(st, st->approval.stage);
		snprintf(buf, len, "%s %s/%s of pipeline %s (execution %.8s)%s%s",
		         req->op == ES_PL_APPROVE ? "Approve" : "Reject", st->approval.stage,
		         st->approval.action, st->pipeline, NZ(st->approval.execution_id),
		         to && req->op == ES_PL_APPROVE ? ", releasing it into " : "",
		         to && req->op == ES_PL_APPROVE ? to : "");
		return ES_OK;
	case ES_PL_RETRY:
		s = retry_stage(st, req->stage);
		if (!s && req->stage)
			return es_fail(ES_EINVAL, "pipeline %s has no stage %s", st->pipeline,
			               req->stage);
		if (!s || !s->status || strcmp(s->status, "Failed") != 0)
			return es_fail(ES_EREFUSED, "no failed stage to retry in pipeline %s%s%s%s",
			               st->pipeline, s ? " (" : "", s ? s->name : "",
			               s ? (s->status ? " has not failed)" : " never ran)") : "");
		snprintf(buf, len, "Retry the failed actions of stage %s (execution %.8s)", s->name,
		         NZ(s->execution_id));
		return ES_OK;
	case ES_PL_START:
		snprintf(buf, len, "Start pipeline %s on its newest source revision", st->pipeline);
		return ES_OK;
	case ES_PL_STOP:
		e = running(st, req->execution);
		if (!e && req->execution)
			return es_fail(ES_EINVAL,
			               "pipeline %s has no execution %s among the latest",
			               st->pipeline, req->execution);
		if (!e)
			return es_fail(ES_EREFUSED, "no execution of pipeline %s is running",
			               st->pipeline);
		snprintf(buf, len, "Stop execution %.8s of pipeline %s%s", e->id, st->pipeline,
		         req->abandon ? ", abandoning the running actions" : "");
		return ES_OK;
	}
	return es_fail(ES_EINVAL, "unknown pipeline operation");
}

static json_t *record(const char *phase, const struct es_pl_status *st,
                      const struct es_pl_request *req, const struct es_pl_result *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "pipeline", "phase", phase,
	                      "action_id", r->action_id, "op", es_pipeline_op_name(req->op),
	                      "pipeline", st->pipeline, "section", st->section);
	const char *deploys = NULL;

	if (r->execution_id[0])
		json_object_set_new(o, "execution_id", json_string(r->execution_id));
	if (r->stage[0]) {
		json_object_set_new(o, "pipeline_stage", json_string(r->stage));
		for (size_t i = 0; i < st->n_stages; i++)
			if (strcmp(st->stages[i].name, r->stage) == 0)
				deploys = st->stages[i].deploys;
		if (req->op == ES_PL_APPROVE || req->op == ES_PL_REJECT)
			deploys = next_deploy(st, r->stage);
		if (deploys)
			json_object_set_new(o, "stage", json_string(deploys));
	}
	if (r->action[0])
		json_object_set_new(o, "pipeline_action", json_string(r->action));
	if (req->comment)
		json_object_set_new(o, "comment", json_string(req->comment));
	if (req->op == ES_PL_STOP)
		json_object_set_new(o, "abandon", json_boolean(req->abandon));
	return o;
}

/* After a refusal that a lost answer of our own call explains: whether
 * the change is there. */
static bool landed(struct es_aws_client *aws, const struct es_pl_status *st,
                   const struct es_pl_request *req, const struct es_pl_result *r,
                   const char *summary)
{
	const char *code = es_error_last()->code;
	json_t *root = NULL, *d;
	size_t i;
	bool yes = false;

	if (req->op == ES_PL_STOP && strcmp(code, "DuplicatedStopRequestException") == 0)
		return true;
	if (req->op == ES_PL_STOP && strcmp(code, "PipelineExecutionNotStoppableException") == 0) {
		/* Our stop landed and the execution has stopped since. */
		struct es_error saved;
		es_error_save(&saved);
		if (es_codepipeline_sync(aws, "GetPipelineExecution",
		                         json_pack("{s:s,s:s}", "pipelineName", st->pipeline,
		                                   "pipelineExecutionId", r->execution_id),
		                         &root) == ES_OK) {
			const char *status = json_string_value(json_object_get(
			        json_object_get(root, "pipelineExecution"), "status"));
			yes = status &&
			      (strcmp(status, "Stopped") == 0 || strcmp(status, "Stopping") == 0);
		}
		json_decref(root);
		es_error_restore(&saved);
		return yes;
	}
	if (req->op != ES_PL_APPROVE && req->op != ES_PL_REJECT)
		return false;
	if (strcmp(code, "ApprovalAlreadyCompletedException") != 0 &&
	    strcmp(code, "InvalidApprovalTokenException") != 0)
		return false;
	struct es_error saved;
	es_error_save(&saved);
	if (es_codepipeline_sync(aws, "ListActionExecutions",
	                         json_pack("{s:s,s:{s:s}}", "pipelineName", st->pipeline, "filter",
	                                   "pipelineExecutionId", r->execution_id),
	                         &root) == ES_OK) {
		json_array_foreach(json_object_get(root, "actionExecutionDetails"), i, d)
		{
			const char *an = json_string_value(json_object_get(d, "actionName"));
			const char *status = json_string_value(json_object_get(d, "status"));
			const char *sum = json_string_value(json_object_get(
			        json_object_get(json_object_get(d, "output"), "executionResult"),
			        "externalExecutionSummary"));
			if (!an || strcmp(an, r->action) != 0 || !status)
				continue;
			yes = strcmp(status, req->op == ES_PL_APPROVE ? "Succeeded" : "Failed") ==
			              0 &&
			      sum && strcmp(sum, summary) == 0;
			break;
		}
	}
	json_decref(root);
	es_error_restore(&saved);
	return yes;
}

static int send_op(struct es_aws_client *aws, const struct es_pl_status *st,
                   const struct es_pl_request *req, struct es_pl_result *r, const char *summary)
{
	json_t *body = NULL, *root = NULL;
	const char *op = NULL;
	int rc;

	switch (req->op) {
	case ES_PL_APPROVE:
	case ES_PL_REJECT:
		op = "PutApprovalResult";
		body = json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:s}", "pipelineName", st->pipeline,
		                 "stageName", r->stage, "actionName", r->action, "result",
		                 "summary", summary, "status",
		                 req->op == ES_PL_APPROVE ? "Approved" : "Rejected", "token",
		                 NZ(st->approval.token));
		break;
	case ES_PL_RETRY:
		op = "RetryStageExecution";
		body = json_pack("{s:s,s:s,s:s,s:s}", "pipelineName", st->pipeline, "stageName",
		                 r->stage, "pipelineExecutionId", r->execution_id, "retryMode",
		                 "FAILED_ACTIONS");
		break;
	case ES_PL_START:
		/* Idempotency: the client request token is the action id, so a
		 * retry after a lost answer starts no second execution. */
		op = "StartPipelineExecution";
		body = json_pack("{s:s,s:s}", "name", st->pipeline, "clientRequestToken",
		                 r->action_id);
		break;
	case ES_PL_STOP:
		op = "StopPipelineExecution";
		body = json_pack("{s:s,s:s,s:b}", "pipelineName", st->pipeline,
		                 "pipelineExecutionId", r->execution_id, "abandon", req->abandon);
		if (req->comment)
			json_object_set_new(body, "reason", json_string(req->comment));
		break;
	}
	if (!body)
		return es_fail(ES_ENOMEM, "out of memory");
	rc = es_codepipeline_sync(aws, op, body, &root);
	if (rc == ES_EAWS && landed(aws, st, req, r, summary)) {
		es_error_clear();
		r->already = true;
		rc = ES_OK;
	}
	if (!rc && req->op == ES_PL_START)
		copy(r->execution_id, sizeof(r->execution_id),
		     json_string_value(json_object_get(root, "pipelineExecutionId")));
	json_decref(root);
	return rc;
}

int es_pipeline_act(struct es_aws_client *aws, const struct es_config *conf,
                    const struct es_pl_status *st, const struct es_pl_request *req,
                    struct es_pl_result *out)
{
	struct es_ledger *l = NULL;
	char plan[400], summary[520], msg[1200];
	const struct es_pl_stage *s;
	const struct es_pl_execution *e;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_pipeline_plan(st, req, plan, sizeof(plan));
	if (rc)
		return rc;
	if (req->comment && strlen(req->comment) > (req->op == ES_PL_STOP ? 200u : 512u))
		return es_fail(ES_EINVAL,
		               "the comment has %zu characters; CodePipeline takes at most %u",
		               strlen(req->comment), req->op == ES_PL_STOP ? 200u : 512u);
	switch (req->op) {
	case ES_PL_APPROVE:
	case ES_PL_REJECT:
		copy(out->stage, sizeof(out->stage), st->approval.stage);
		copy(out->action, sizeof(out->action), st->approval.action);
		copy(out->execution_id, sizeof(out->execution_id), st->approval.execution_id);
		break;
	case ES_PL_RETRY:
		s = retry_stage(st, req->stage);
		copy(out->stage, sizeof(out->stage), s->name);
		copy(out->execution_id, sizeof(out->execution_id), s->execution_id);
		break;
	case ES_PL_STOP:
		e = running(st, req->execution);
		copy(out->execution_id, sizeof(out->execution_id), e->id);
		break;
	case ES_PL_START: break;
	}
	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (rc)
		return rc;
	const char *who = es_ledger_who(l);
	if (!who) {
		es_ledger_free(l);
		return es_fail_prefix("ledger: cannot tell who is acting");
	}
	if (req->comment && *req->comment)
		copy(summary, sizeof(summary), req->comment);
	else
		snprintf(summary, sizeof(summary), "%s with edgeship",
		         req->op == ES_PL_APPROVE ? "Approved" : "Rejected");
	es_ledger_new_id(out->action_id);
	json_t *r = record("intent", st, req, out);
	json_object_set_new(r, "intent_seq", json_integer(0));
	json_object_set_new(r, "message", json_string(plan));
	rc = es_ledger_append(l, r, &out->intent_seq);
	json_decref(r);
	if (rc) {
		es_ledger_free(l);
		return rc;
	}
	rc = send_op(aws, st, req, out, summary);

	struct es_error saved;
	es_error_save(&saved);
	if (rc)
		es_error_format(es_error_last(), msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "%s%s", plan,
		         out->already ? " (found done after a lost answer)" : "");
	r = record("outcome", st, req, out);
	char rid[64];
	snprintf(rid, sizeof(rid), "%s:outcome", out->action_id);
	json_object_set_new(r, "record_id", json_string(rid));
	json_object_set_new(r, "intent_seq", json_integer(out->intent_seq));
	json_object_set_new(r, "result", json_string(rc ? "failed" : "success"));
	json_object_set_new(r, "message", json_string(msg));
	int wrc = es_ledger_append(l, r, &out->outcome_seq);
	json_decref(r);
	es_error_restore(&saved);
	es_ledger_free(l);
	return rc ? rc : wrc;
}
