/* Drift detection and failed-rollback recovery (see ops.h). */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "base/text.h"
#include "base/error.h"
#include "base/loop.h"
#include "base/timefmt.h"
#include "aws/xml.h"
#include "ledger.h"
#include "lock.h"
#include "ops.h"

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static const struct es_stage_conf *stage_of(const struct es_config *conf, const char *stage)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	if (!sc)
		es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	return sc;
}

/* "Stack with id X does not exist" is an answer about the stack. */
static int not_found(int rc, const char *stack)
{
	const struct es_error *e = es_error_last();
	if (rc == ES_EAWS && strcmp(e->code, "ValidationError") == 0 &&
	    strstr(e->message, "does not exist"))
		return es_fail(ES_ENOTFOUND, "stack %s does not exist: deploy the stage first",
		               stack);
	return rc;
}

/* ------------------------------------------------------------ drift */

static int read_drifts(struct es_aws_client *aws, const char *stack, struct es_drift_report *out)
{
	char *token = NULL;
	int rc = ES_OK;

	/* Bounded: a token that never ends stops after 100 pages. */
	for (int page = 0; page < 100 && !rc; page++) {
		struct es_aws_call call;
		struct es_http_response resp;
		struct es_drift_page p;

		if (es_cfn_resource_drifts_call(&call, stack, token)) {
			es_aws_call_free(&call);
			rc = ES_ENOMEM;
			break;
		}
		rc = es_aws_send_sync(aws, &call, &resp);
		if (rc)
			break;
		rc = es_cfn_parse_resource_drifts(resp.body.data, resp.body.len, &p);
		es_http_response_free(&resp);
		if (rc)
			break;
		struct es_resource_drift *all =
		        realloc(out->resources, (out->n + p.n) * sizeof(*all) + 1);
		if (!all) {
			es_drift_page_free(&p);
			rc = es_fail(ES_ENOMEM, "out of memory");
			break;
		}
		out->resources = all;
		memcpy(all + out->n, p.items, p.n * sizeof(*all));
		out->n += p.n;
		free(p.items);
		free(token);
		token = p.next_token;
		if (!token || !*token)
			break;
	}
	free(token);
	return rc;
}

int es_drift_check(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                   long timeout_s, struct es_drift_report *out)
{
	const struct es_stage_conf *sc = stage_of(conf, stage);
	struct es_aws_call call;
	struct es_http_response resp;
	char *id;
	long wait_ms = 200;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sc)
		return ES_EINVAL;
	if (!(aws = es_accounts_client(aws, conf, sc))) /* the stack is in its account */
		return es_fail_prefix("stage %s", sc->name);
	copy(out->stage, sizeof(out->stage), sc->name);
	copy(out->stack, sizeof(out->stack), sc->stack);
	if (es_cfn_detect_stack_drift_call(&call, sc->stack)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(aws, &call, &resp);
	if (rc)
		return not_found(rc, sc->stack);
	id = es_cfn_parse_drift_id(resp.body.data, resp.body.len);
	es_http_response_free(&resp);
	if (!id)
		return ES_EPARSE;
	double deadline = es_time_now() + (timeout_s > 0 ? timeout_s : 300);
	for (;;) {
		struct es_drift_detection det;
		if (es_cfn_drift_status_call(&call, id)) {
			es_aws_call_free(&call);
			rc = ES_ENOMEM;
			break;
		}
		out->polls++;
		rc = es_aws_send_sync(aws, &call, &resp);
		if (rc)
			break;
		rc = es_cfn_parse_drift_detection(resp.body.data, resp.body.len, &det);
		es_http_response_free(&resp);
		if (rc)
			break;
		if (strcmp(det.detection_status, "DETECTION_IN_PROGRESS") != 0) {
			copy(out->drift_status, sizeof(out->drift_status),
			     det.drift_status ? det.drift_status : "UNKNOWN");
			out->drifted_count = det.drifted_count;
			/* A failed detection still reports what it could check. */
			if (strcmp(det.detection_status, "DETECTION_FAILED") == 0 &&
			    !det.drift_status)
				rc = es_fail(ES_ERR, "drift detection on %s failed: %s", sc->stack,
				             det.reason ? det.reason : "no reason given");
			es_drift_detection_free(&det);
			break;
		}
		es_drift_detection_free(&det);
		if (es_time_now() + wait_ms / 1000.0 > deadline) {
			rc = es_fail(ES_ERR,
			             "drift detection on %s still running after %ld s: run again "
			             "later",
			             sc->stack, timeout_s > 0 ? timeout_s : 300);
			break;
		}
		es_loop_pause(es_aws_loop(aws), wait_ms);
		wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
	}
	free(id);
	if (!rc)
		rc = read_drifts(aws, sc->stack, out);
	return rc;
}

int es_drift_last(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                  struct es_drift_report *out)
{
	const struct es_stage_conf *sc = stage_of(conf, stage);
	struct es_aws_call call;
	struct es_http_response resp;
	xmlDoc *doc;
	char *status;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sc)
		return ES_EINVAL;
	if (!(aws = es_accounts_client(aws, conf, sc))) /* the stack is in its account */
		return es_fail_prefix("stage %s", sc->name);
	copy(out->stage, sizeof(out->stage), sc->name);
	copy(out->stack, sizeof(out->stack), sc->stack);
	if (es_cfn_describe_stacks_call(&call, sc->stack)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(aws, &call, &resp);
	if (rc)
		return not_found(rc, sc->stack) == ES_ENOTFOUND ? ES_OK : rc;
	doc = es_xml_parse(resp.body.data, resp.body.len);
	es_http_response_free(&resp);
	if (!doc)
		return es_fail_prefix("DescribeStacks");
	status = es_xml_path_text(xmlDocGetRootElement(doc),
	                          "DescribeStacksResult/Stacks/member/DriftInformation/"
	                          "StackDriftStatus");
	xmlFreeDoc(doc);
	copy(out->drift_status, sizeof(out->drift_status), status);
	free(status);
	if (strcmp(out->drift_status, "DRIFTED") == 0)
		rc = read_drifts(aws, sc->stack, out);
	return rc;
}

void es_drift_report_free(struct es_drift_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		es_resource_drift_free(&r->resources[i]);
	free(r->resources);
	r->resources = NULL;
	r->n = 0;
}

char *es_drift_report_json(const struct es_drift_report *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:b}", "stage", r->stage, "stack", r->stack,
	                      "drift_status", r->drift_status, "drifted_resources",
	                      (json_int_t)r->drifted_count, "drifted",
	                      strcmp(r->drift_status, "DRIFTED") == 0);
	json_t *list = json_array();
	char *text;

	for (size_t i = 0; o && list && i < r->n; i++) {
		const struct es_resource_drift *d = &r->resources[i];
		json_t *props = json_array();
		for (size_t j = 0; props && j < d->n_diffs; j++)
			json_array_append_new(props, json_pack("{s:s,s:s,s:s,s:s}", "path",
			                                       d->diffs[j].path, "expected",
			                                       d->diffs[j].expected, "actual",
			                                       d->diffs[j].actual, "difference",
			                                       d->diffs[j].type));
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:o}", "logical_id",
		                                      d->logical_id, "physical_id", d->physical_id,
		                                      "type", d->type, "drift_status", d->status,
		                                      "properties", props));
	}
	if (!o || !list) {
		json_decref(o);
		json_decref(list);
		return NULL;
	}
	json_object_set_new(o, "resources", list);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* ------------------------------------------------------------ recovery */

static bool failed_status(const char *s)
{
	size_t n = strlen(s);
	return n > 7 && strcmp(s + n - 7, "_FAILED") == 0;
}

int es_stack_failure(struct es_aws_client *aws, const char *stack, char *resource, size_t rlen,
                     char *reason, size_t len)
{
	struct es_aws_call call;
	struct es_http_response resp;
	struct es_stack_event_page p;
	int rc;

	copy(resource, rlen, "");
	copy(reason, len, "");
	if (es_cfn_describe_stack_events_call(&call, stack, NULL)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(aws, &call, &resp);
	if (rc)
		return rc;
	rc = es_cfn_parse_stack_events(resp.body.data, resp.body.len, &p);
	es_http_response_free(&resp);
	if (rc)
		return rc;
	/* Newest first: the first failed resource (not the stack itself). */
	for (size_t i = 0; i < p.n; i++) {
		const struct es_stack_event *e = &p.events[i];
		if (!e->status || !failed_status(e->status) ||
		    (e->type && strcmp(e->type, "AWS::CloudFormation::Stack") == 0 &&
		     e->logical_id && strcmp(e->logical_id, stack) == 0))
			continue;
		copy(resource, rlen, e->logical_id);
		copy(reason, len, e->reason);
		break;
	}
	es_stack_event_page_free(&p);
	return ES_OK;
}

static json_t *record(const char *phase, const struct es_stage_conf *sc, const char *action_id,
                      const char *const *skip, size_t n)
{
	json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "recover", "phase", phase,
	                      "action_id", action_id, "stage", sc->name, "stack", sc->stack);
	json_t *skipped = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(skipped, json_string(skip[i]));
	json_object_set_new(r, "skipped", skipped);
	return r;
}

/* Follow the stack until it leaves *_IN_PROGRESS; its status into res. */
static int follow(struct es_aws_client *aws, const char *stack, long poll_ms, long timeout_s,
                  es_recover_note_fn fn, void *ud, struct es_recover_result *res)
{
	double deadline = es_time_now() + (timeout_s > 0 ? timeout_s : 3600);
	char last[64] = "";

	for (;;) {
		struct es_stack st;
		int rc = es_cfn_describe_stack(aws, stack, &st);
		if (rc)
			return rc;
		copy(res->stack_status, sizeof(res->stack_status), st.status);
		es_stack_free(&st);
		if (strcmp(last, res->stack_status) != 0)
			es_notef(fn, ud, "%s %s", stack, res->stack_status);
		copy(last, sizeof(last), res->stack_status);
		if (!es_cfn_status_in_progress(res->stack_status))
			return ES_OK;
		if (es_time_now() > deadline)
			return es_fail(
			        ES_ERR,
			        "%s is still %s after %ld s: follow it with `edgeship watch`",
			        stack, res->stack_status, timeout_s > 0 ? timeout_s : 3600);
		es_loop_pause(es_aws_loop(aws), poll_ms > 0 ? poll_ms : 2000);
	}
}

int es_recover(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
               const char *const *skip, size_t n, long poll_ms, long timeout_s,
               es_recover_note_fn fn, void *ud, struct es_recover_result *res)
{
	const struct es_stage_conf *sc = stage_of(conf, stage);
	struct es_ledger *l = NULL;
	struct es_lock *lk = NULL;
	struct es_aws_call call;
	struct es_http_response resp;
	struct es_stack st;
	char msg[800];
	int rc;

	memset(res, 0, sizeof(*res));
	if (!sc)
		return ES_EINVAL;
	/* The stack and the lock are in the stage's account; the ledger in its home. */
	struct es_aws_client *base = aws;
	if (!(aws = es_accounts_client(base, conf, sc)))
		return es_fail_prefix("stage %s", sc->name);
	rc = es_cfn_describe_stack(aws, sc->stack, &st);
	if (rc == ES_ENOTFOUND)
		return es_fail(ES_ENOTFOUND, "stack %s does not exist: nothing to recover",
		               sc->stack);
	if (rc)
		return rc;
	copy(res->stack_status, sizeof(res->stack_status), st.status);
	es_stack_free(&st);
	if (strcmp(res->stack_status, "UPDATE_ROLLBACK_FAILED") != 0)
		return es_fail(
		        ES_EREFUSED,
		        "%s is %s, not UPDATE_ROLLBACK_FAILED: there is no failed rollback to "
		        "continue",
		        sc->stack, res->stack_status);
	rc = es_ledger_open_home(base, conf, sc, &l);
	if (rc)
		return rc;
	const char *who = es_ledger_who(l);
	if (!who) {
		es_ledger_free(l);
		return es_fail_prefix("ledger: cannot tell who is acting");
	}
	es_ledger_new_id(res->action_id);
	es_notef(fn, ud, "taking the %s lock", sc->name);
	rc = es_lock_take(aws, conf, sc->name, "recover", who, res->action_id, NULL, NULL, NULL,
	                  &lk, NULL);
	if (rc) {
		es_ledger_free(l);
		return rc;
	}
	json_t *r = record("intent", sc, res->action_id, skip, n);
	json_object_set_new(r, "intent_seq", json_integer(0));
	rc = es_ledger_append(l, r, &res->intent_seq);
	json_decref(r);
	if (!rc) {
		es_notef(fn, ud, "ContinueUpdateRollback on %s%s", sc->stack,
		         n ? ", skipping the resources given" : "");
		/* Idempotency: the client request token is the action id, so a
		 * retry after a lost answer is the same request. */
		rc = es_cfn_continue_rollback_call(&call, sc->stack, skip, n, res->action_id);
		if (rc)
			es_aws_call_free(&call);
		else
			rc = es_aws_send_sync(aws, &call, &resp);
		if (!rc) {
			es_http_response_free(&resp);
			rc = follow(aws, sc->stack, poll_ms, timeout_s, fn, ud, res);
		}
		if (!rc && strcmp(res->stack_status, "UPDATE_ROLLBACK_COMPLETE") != 0) {
			es_stack_failure(aws, sc->stack, res->resource, sizeof(res->resource),
			                 res->reason, sizeof(res->reason));
			rc = es_fail(ES_ERR,
			             "%s is %s again: %s failed: %s. Fix that resource, or run "
			             "`edgeship recover --stage %s --skip %s`",
			             sc->stack, res->stack_status,
			             res->resource[0] ? res->resource : "a resource",
			             res->reason[0] ? res->reason : "no reason given", sc->name,
			             res->resource[0] ? res->resource : "LOGICAL_ID");
		}
		struct es_error saved;
		es_error_save(&saved);
		if (rc)
			es_error_format(es_error_last(), msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%s rolled back to UPDATE_ROLLBACK_COMPLETE",
			         sc->stack);
		r = record("outcome", sc, res->action_id, skip, n);
		char rid[64];
		snprintf(rid, sizeof(rid), "%s:outcome", res->action_id);
		json_object_set_new(r, "record_id", json_string(rid));
		json_object_set_new(r, "intent_seq", json_integer(res->intent_seq));
		json_object_set_new(r, "result", json_string(rc ? "failed" : "success"));
		json_object_set_new(r, "message", json_string(msg));
		json_object_set_new(r, "stack_status", json_string(res->stack_status));
		int wrc = es_ledger_append(l, r, &res->outcome_seq);
		json_decref(r);
		es_error_restore(&saved);
		if (!rc && wrc)
			rc = wrc;
	}
	es_lock_release_wait(es_aws_loop(aws), lk);
	es_ledger_free(l);
	return rc;
}
