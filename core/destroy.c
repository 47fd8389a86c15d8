/* Tearing a stage down (see destroy.h). CloudFormation deletes a stack's
 * resources in reverse dependency order, so the distribution goes before
 * the function; but Lambda refuses to delete a function whose edge
 * replicas remain, and they remain for hours after the last association is
 * gone. So the associations go first, in an update of their own, and a
 * function still replicated when the delete reaches it is retained. */
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
#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/endpoints.h"
#include "aws/s3.h"
#include "aws/sigv4.h"
#include "canary.h"
#include "destroy.h"
#include "ledger.h"
#include "lock.h"
#include "template.h"

/* CloudFormation takes a template body up to this size inline. */
#define INLINE_TEMPLATE_MAX 51200

struct run {
	struct es_aws_client *aws;
	const struct es_config *conf;
	const struct es_stage_conf *sc;
	struct es_ledger *l;
	long poll_ms;
	double deadline;
	es_destroy_note_fn fn;
	void *ud;
	struct es_destroy_result *res;
	char stack_id[300];
	bool stripped; /* the associations are known to be gone */
};

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* The stage's artifact bucket ([app] bucket unless it names its own). */
static const char *stage_bucket(const struct run *r)
{
	return r->sc->bucket ? r->sc->bucket : r->conf->bucket;
}

int es_destroy_check(const struct es_config *conf, const char *stage, bool force)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);

	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	for (size_t i = 0; i < conf->n_stages && !force; i++) {
		const struct es_stage_conf *o = &conf->stages[i];
		if (o->promotes_from && strcmp(o->promotes_from, sc->name) == 0)
			return es_fail(
			        ES_EREFUSED,
			        "%s promotes from %s: without %s, %s has nothing validated to "
			        "promote. Pass --force to destroy %s all the same",
			        o->name, sc->name, sc->name, o->name, sc->name);
	}
	return ES_OK;
}

/* ------------------------------------------------------------ template */

static int strip_behaviour(json_t *b)
{
	json_t *lfa = json_is_object(b) ? json_object_get(b, "LambdaFunctionAssociations") : NULL;
	int n;

	if (!lfa)
		return 0;
	n = json_is_array(lfa) ? (int)json_array_size(lfa) : 1;
	json_object_del(b, "LambdaFunctionAssociations");
	return n;
}

int es_template_strip_edge_associations(json_t *tpl)
{
	json_t *res = json_object_get(tpl, "Resources");
	const char *lid;
	json_t *v;
	int n = 0;

	json_object_foreach(res, lid, v)
	{
		const char *type = json_string_value(json_object_get(v, "Type"));
		json_t *cfg, *cb, *b;
		size_t i;

		if (!type || strcmp(type, "AWS::CloudFront::Distribution") != 0)
			continue;
		cfg = json_object_get(json_object_get(v, "Properties"), "DistributionConfig");
		n += strip_behaviour(json_object_get(cfg, "DefaultCacheBehavior"));
		cb = json_object_get(cfg, "CacheBehaviors");
		json_array_foreach(cb, i, b) n += strip_behaviour(b);
	}
	return n;
}

/* ------------------------------------------------------------ ledger */

static json_t *record(struct run *r, const char *phase)
{
	json_t *o =
	        json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "destroy", "phase", phase, "action_id",
	                  r->res->action_id, "stage", r->sc->name, "stack", r->sc->stack);
	if (o && strcmp(phase, "intent") != 0)
		json_object_set_new(o, "intent_seq", json_integer(r->res->intent_seq));
	return o;
}

/* A step of the teardown; its record id makes a rewrite of it one record. */
static int step(struct run *r, const char *name, const char *id_tail, json_t *extra,
                const char *message)
{
	json_t *o = record(r, "step");
	char rid[400];
	int rc;

	snprintf(rid, sizeof(rid), "%s:%s%s%s", r->res->action_id, name, id_tail ? ":" : "",
	         id_tail ? id_tail : "");
	json_object_set_new(o, "record_id", json_string(rid));
	json_object_set_new(o, "step", json_string(name));
	json_object_set_new(o, "message", json_string(message));
	if (extra)
		json_object_update(o, extra);
	long seq;
	rc = es_ledger_append(r->l, o, &seq);
	json_decref(o);
	return rc;
}

/* ------------------------------------------------------------ stack */

/* The stack's status into st_out ("" when it no longer exists). */
static int stack_status(struct run *r, char *st_out, size_t len)
{
	struct es_stack st;
	int rc = es_cfn_describe_stack(r->aws, r->sc->stack, &st);

	if (rc == ES_ENOTFOUND) {
		copy(st_out, len, "");
		return ES_OK;
	}
	if (rc)
		return rc;
	copy(st_out, len, st.status);
	if (st.id)
		copy(r->stack_id, sizeof(r->stack_id), st.id);
	es_stack_free(&st);
	return ES_OK;
}

/* Follow the stack until it leaves *_IN_PROGRESS (or is gone). */
static int follow(struct run *r, char *status, size_t len)
{
	char last[64] = "";

	for (;;) {
		int rc = stack_status(r, status, len);
		if (rc)
			return rc;
		if (strcmp(last, status) != 0)
			es_notef(r->fn, r->ud, "%s %s", r->sc->stack,
			         status[0] ? status : "deleted");
		copy(last, sizeof(last), status);
		if (!status[0] || !es_cfn_status_in_progress(status) ||
		    strcmp(status, "REVIEW_IN_PROGRESS") == 0)
			return ES_OK;
		if (es_time_now() > r->deadline)
			return es_fail(ES_ERR,
			               "%s is still %s: follow it with `edgeship watch`, then run "
			               "`edgeship destroy --stage %s` again",
			               r->sc->stack, status, r->sc->name);
		es_loop_pause(es_aws_loop(r->aws), r->poll_ms);
	}
}

static int send(struct run *r, struct es_aws_call *call, int built, const char *what)
{
	struct es_http_response resp;
	int rc;

	if (built) {
		es_aws_call_free(call);
		return es_fail(ES_ENOMEM, "%s: out of memory", what);
	}
	rc = es_aws_send_sync(r->aws, call, &resp);
	if (!rc)
		es_http_response_free(&resp);
	return rc;
}

static int wait_deployed(struct run *r)
{
	char id[64];
	int rc = es_cfn_stack_distribution(r->aws, r->sc->stack, id, sizeof(id));
	bool said = false;

	if (rc || !id[0])
		return rc;
	for (;;) {
		struct es_distribution d;
		rc = es_cf_get_distribution(r->aws, id, &d);
		if (rc)
			return rc;
		bool deployed = d.status && strcmp(d.status, "Deployed") == 0;
		es_distribution_free(&d);
		if (deployed) {
			es_notef(r->fn, r->ud,
			         "distribution %s is Deployed: no edge runs the function any more",
			         id);
			return ES_OK;
		}
		if (!said)
			es_notef(r->fn, r->ud,
			         "waiting for distribution %s to be Deployed without the "
			         "associations…",
			         id);
		said = true;
		if (es_time_now() > r->deadline)
			return es_fail(ES_ERR,
			               "distribution %s is still InProgress: run `edgeship destroy "
			               "--stage %s` again later",
			               id, r->sc->name);
		es_loop_pause(es_aws_loop(r->aws), r->poll_ms);
	}
}

/* A template too large to send inline goes to the artifact bucket, named
 * by its digest as deploys name theirs; url gets where CloudFormation
 * reads it. */
static int upload_template(struct run *r, const char *text, char *url, size_t len)
{
	const struct es_endpoint *ep = es_aws_endpoint(r->aws, "s3");
	struct es_s3_put put = {.content_type = "application/json"};
	struct es_aws_call call;
	const char *prefix = r->conf->prefix ? r->conf->prefix : "";
	size_t n = strlen(prefix);
	char sha[65], key[600];
	int rc;

	if (!ep)
		return es_fail_prefix("S3 endpoint");
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	es_sha256_hex(text, strlen(text), sha);
	snprintf(key, sizeof(key), "%.*s%stemplates/%s.json", (int)n, prefix, n ? "/" : "", sha);
	/* Idempotency: the key is the content's digest; a second put writes the
	 * same bytes. */
	rc = send(r, &call,
	          es_s3_put_object_call(&call, stage_bucket(r), key, text, strlen(text), &put),
	          "PutObject");
	if (rc)
		return rc;
	if (ep->path_style)
		snprintf(url, len, "%s/%s/%s", ep->url, stage_bucket(r), key);
	else
		snprintf(url, len, "https://%s.%s/%s", stage_bucket(r), ep->host, key);
	return ES_OK;
}

/* Update the stack with its template minus the Lambda@Edge associations. */
static int strip_associations(struct run *r)
{
	struct es_aws_call call;
	struct es_http_response resp;
	json_t *tpl = NULL;
	char *body, *text = NULL;
	const char **keep = NULL;
	size_t n_keep = 0;
	int rc, n;

	rc = es_cfn_get_template_call(&call, r->sc->stack);
	if (rc) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = es_aws_send_sync(r->aws, &call, &resp);
	if (rc)
		return rc;
	body = es_cfn_parse_template_body(resp.body.data, resp.body.len);
	es_http_response_free(&resp);
	if (!body)
		return ES_EPARSE;
	rc = es_template_parse(body, strlen(body), r->sc->stack, &tpl);
	free(body);
	if (rc)
		return rc;
	n = es_template_strip_edge_associations(tpl);
	r->res->associations_removed = n;
	if (n == 0) {
		json_decref(tpl);
		es_notef(r->fn, r->ud, "%s has no Lambda@Edge associations left", r->sc->stack);
		return ES_OK;
	}
	text = es_template_dump(tpl);
	json_t *params = json_object_get(tpl, "Parameters");
	keep = calloc(json_object_size(params) + 1, sizeof(*keep));
	const char *key;
	json_t *v;
	json_object_foreach(params, key, v) if (keep) keep[n_keep++] = key;
	char url[1200] = "";
	if (!text || !keep)
		rc = text ? es_fail(ES_ENOMEM, "out of memory") : ES_ERR;
	else if (strlen(text) > INLINE_TEMPLATE_MAX)
		rc = upload_template(r, text, url, sizeof(url));
	if (!rc) {
		char token[64];
		/* Idempotency: the client request token is per action, so a retry
		 * after a lost answer is the same update. */
		snprintf(token, sizeof(token), "%s-strip", r->res->action_id);
		struct es_stack_update u = {
		        .stack = r->sc->stack,
		        .template_body = text,
		        .template_url = url[0] ? url : NULL,
		        .keep_parameters = keep,
		        .n_keep = n_keep,
		        .capabilities = (const char *const *)r->conf->capabilities,
		        .n_capabilities = r->conf->n_capabilities,
		        .client_token = token,
		};
		es_notef(r->fn, r->ud,
		         "removing %d Lambda@Edge association%s from %s (UpdateStack)", n,
		         n == 1 ? "" : "s", r->sc->stack);
		rc = send(r, &call, es_cfn_update_stack_call(&call, &u), "UpdateStack");
		const struct es_error *e = es_error_last();
		if (rc == ES_EAWS && strstr(e->message, "No updates are to be performed"))
			rc = ES_OK;
	}
	free(keep);
	free(text);
	json_decref(tpl);
	if (rc)
		return rc;
	char status[64];
	rc = follow(r, status, sizeof(status));
	if (!rc && strcmp(status, "UPDATE_COMPLETE") != 0)
		rc = es_fail(ES_ERR,
		             "removing the associations left %s in %s: see `edgeship watch --stage "
		             "%s`; nothing was deleted",
		             r->sc->stack, status[0] ? status : "no state", r->sc->name);
	if (!rc) {
		json_t *x = json_pack("{s:i}", "associations_removed", n);
		char msg[300];
		snprintf(msg, sizeof(msg), "%d Lambda@Edge association%s removed from %s", n,
		         n == 1 ? "" : "s", r->sc->stack);
		rc = step(r, "associations-removed", NULL, x, msg);
		json_decref(x);
	}
	return rc;
}

/* ------------------------------------------------------------ retention */

/* "arn:aws:cloudformation:REGION:ACCOUNT:stack/…": field 3 or 4. */
static void arn_field(const char *arn, int field, char *out, size_t len)
{
	const char *p = arn;

	copy(out, len, "");
	for (int i = 0; i < field && p; i++)
		if ((p = strchr(p, ':')))
			p++;
	if (!p)
		return;
	size_t n = strcspn(p, ":");
	snprintf(out, len, "%.*s", (int)n, p);
}

static void function_of(struct run *r, const struct es_stack_event *e,
                        struct es_retained_function *f)
{
	const char *phys = e->physical_id ? e->physical_id : "";
	const char *p = strstr(phys, ":function:");
	char account[32];

	memset(f, 0, sizeof(*f));
	copy(f->logical_id, sizeof(f->logical_id), e->logical_id);
	if (p)
		snprintf(f->name, sizeof(f->name), "%.*s", (int)strcspn(p + 10, ":"), p + 10);
	else
		copy(f->name, sizeof(f->name), phys);
	arn_field(r->stack_id, 3, f->region, sizeof(f->region));
	if (!f->region[0])
		copy(f->region, sizeof(f->region), r->conf->region);
	arn_field(r->stack_id, 4, account, sizeof(account));
	char arn[sizeof(f->arn)];
	snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:%s:function:%s", f->region, account, f->name);
	copy(f->arn, sizeof(f->arn), arn);
	copy(f->stage, sizeof(f->stage), r->sc->name);
	es_ledger_now(f->when);
}

/* The resources the last delete could not delete: the replicated functions
 * into res->retained; the first other failure into other/why. */
static int delete_failures(struct run *r, char *other, size_t olen, char *why, size_t wlen)
{
	struct es_aws_call call;
	struct es_http_response resp;
	struct es_stack_event_page p;
	int rc;

	copy(other, olen, "");
	copy(why, wlen, "");
	if (es_cfn_describe_stack_events_call(&call, r->sc->stack, NULL)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = es_aws_send_sync(r->aws, &call, &resp);
	if (rc)
		return rc;
	rc = es_cfn_parse_stack_events(resp.body.data, resp.body.len, &p);
	es_http_response_free(&resp);
	if (rc)
		return rc;
	/* Newest first, back to the start of the last delete. */
	for (size_t i = 0; i < p.n; i++) {
		const struct es_stack_event *e = &p.events[i];
		bool self = e->type && strcmp(e->type, "AWS::CloudFormation::Stack") == 0;
		if (self && e->status && strcmp(e->status, "DELETE_IN_PROGRESS") == 0)
			break;
		if (self || !e->status || strcmp(e->status, "DELETE_FAILED") != 0)
			continue;
		if (es_replicas_error_is_replicated(e->reason)) {
			bool known = false;
			for (size_t k = 0; k < r->res->n_retained && !known; k++)
				known = strcmp(r->res->retained[k].logical_id, e->logical_id) == 0;
			if (!known && r->res->n_retained < ES_DESTROY_MAX_RETAINED)
				function_of(r, e, &r->res->retained[r->res->n_retained++]);
		} else if (!other[0]) {
			copy(other, olen, e->logical_id);
			copy(why, wlen, e->reason);
		}
	}
	es_stack_event_page_free(&p);
	return ES_OK;
}

static int retain_and_delete(struct run *r)
{
	char other[128], why[512], token[64];
	const char *ids[ES_DESTROY_MAX_RETAINED];
	size_t first = r->res->n_retained;
	struct es_aws_call call;
	int rc = delete_failures(r, other, sizeof(other), why, sizeof(why));

	if (rc)
		return rc;
	if (other[0])
		return es_fail(ES_ERR,
		               "%s could not delete %s: %s. Fix that, then run `edgeship destroy "
		               "--stage %s` again",
		               r->sc->stack, other, why[0] ? why : "no reason given", r->sc->name);
	if (r->res->n_retained == first)
		return es_fail(ES_ERR,
		               "%s is DELETE_FAILED and its events do not say why: see `edgeship "
		               "watch --stage %s`",
		               r->sc->stack, r->sc->name);
	for (size_t i = first; i < r->res->n_retained; i++) {
		const struct es_retained_function *f = &r->res->retained[i];
		es_notef(r->fn, r->ud,
		         "%s (%s) cannot be deleted yet: it is a replicated Lambda@Edge function, "
		         "and "
		         "CloudFront still holds its replicas at edge locations.",
		         f->logical_id, f->name);
	}
	es_notef(r->fn, r->ud,
	         "CloudFront removes replicas on its own once the last association is gone, "
	         "typically within a few hours (reports range from half an hour to a day); they "
	         "cannot be removed by hand. The stack is deleted now without %s; `edgeship "
	         "cleanup` deletes %s once the replicas are gone.",
	         r->res->n_retained - first == 1 ? "that function" : "those functions",
	         r->res->n_retained - first == 1 ? "it" : "them");
	/* Recorded before the delete is asked for: after a lost answer the
	 * function is still known, and cleanup may delete it either way. */
	for (size_t i = first; i < r->res->n_retained; i++) {
		const struct es_retained_function *f = &r->res->retained[i];
		json_t *x = json_pack("{s:s,s:s,s:s,s:s}", "logical_id", f->logical_id, "function",
		                      f->name, "arn", f->arn, "region", f->region);
		char msg[600];
		snprintf(msg, sizeof(msg),
		         "%s retained: its edge replicas remain; `edgeship cleanup` deletes it "
		         "once they are gone",
		         f->name);
		rc = step(r, "function-retained", f->logical_id, x, msg);
		json_decref(x);
		if (rc)
			return rc;
		ids[i - first] = f->logical_id;
	}
	/* Idempotency: one token per retention round of this action. */
	snprintf(token, sizeof(token), "%s-retain-%zu", r->res->action_id, first);
	es_notef(r->fn, r->ud,
	         "deleting %s again, retaining %zu function%s (DeleteStack RetainResources)",
	         r->sc->stack, r->res->n_retained - first,
	         r->res->n_retained - first == 1 ? "" : "s");
	return send(r, &call,
	            es_cfn_delete_stack_retain_call(&call, r->sc->stack, ids,
	                                            r->res->n_retained - first, token),
	            "DeleteStack");
}

/* The stage's canary first (canary.h): its policy and staging distribution
 * are not the stack's, and its functions keep edge replicas as the stack's
 * do, so they are recorded for cleanup like a retained function. */
static int canary_teardown(struct run *r)
{
	char fns[ES_DESTROY_MAX_RETAINED][300];
	size_t n = 0, room = ES_DESTROY_MAX_RETAINED - r->res->n_retained;
	int rc = es_canary_teardown(r->aws, r->conf, r->sc, r->l, r->poll_ms, r->deadline, r->fn,
	                            r->ud, fns, room, &n);

	for (size_t i = 0; !rc && i < n; i++) {
		struct es_retained_function *f = &r->res->retained[r->res->n_retained++];
		const char *name = strstr(fns[i], ":function:");
		memset(f, 0, sizeof(*f));
		copy(f->logical_id, sizeof(f->logical_id), "canary");
		copy(f->name, sizeof(f->name), name ? name + 10 : fns[i]);
		copy(f->arn, sizeof(f->arn), fns[i]);
		copy(f->region, sizeof(f->region), "us-east-1");
		copy(f->stage, sizeof(f->stage), r->sc->name);
		json_t *x = json_pack("{s:s,s:s,s:s,s:s}", "logical_id", f->logical_id, "function",
		                      f->name, "arn", f->arn, "region", f->region);
		char msg[600];
		snprintf(
		        msg, sizeof(msg),
		        "canary function %s retained: its edge replicas remain; `edgeship cleanup` "
		        "deletes it once they are gone",
		        f->name);
		rc = step(r, "function-retained", f->name, x, msg);
		json_decref(x);
	}
	return rc;
}

/* ------------------------------------------------------------ the run */

static bool create_failed(const char *s)
{
	return strcmp(s, "ROLLBACK_COMPLETE") == 0 || strcmp(s, "ROLLBACK_FAILED") == 0 ||
	       strcmp(s, "CREATE_FAILED") == 0 || strcmp(s, "REVIEW_IN_PROGRESS") == 0;
}

static int run(struct run *r)
{
	char status[64], token[64];
	struct es_aws_call call;
	int rc;

	/* Each turn moves the stack one step on from wherever it is, so a
	 * rerun after any failure goes on where the last one stopped. */
	for (int turn = 0; turn < 8; turn++) {
		rc = follow(r, status, sizeof(status));
		if (rc)
			return rc;
		copy(r->res->stack_status, sizeof(r->res->stack_status),
		     status[0] ? status : "DELETE_COMPLETE");
		if (!status[0] || strcmp(status, "DELETE_COMPLETE") == 0)
			return ES_OK;
		if (strcmp(status, "DELETE_FAILED") == 0) {
			rc = retain_and_delete(r);
			if (rc)
				return rc;
			continue;
		}
		if (strcmp(status, "UPDATE_ROLLBACK_FAILED") == 0)
			return es_fail(
			        ES_EREFUSED,
			        "%s is UPDATE_ROLLBACK_FAILED: run `edgeship recover --stage "
			        "%s` first",
			        r->sc->stack, r->sc->name);
		if (!r->stripped && !create_failed(status)) {
			rc = strip_associations(r);
			if (!rc)
				rc = wait_deployed(r);
			if (rc)
				return rc;
			r->stripped = true;
		}
		/* Idempotency: the client request token is per action. */
		snprintf(token, sizeof(token), "%s-delete", r->res->action_id);
		es_notef(r->fn, r->ud, "deleting %s (DeleteStack)", r->sc->stack);
		rc = send(r, &call, es_cfn_delete_stack_call(&call, r->sc->stack, token),
		          "DeleteStack");
		if (rc)
			return rc;
	}
	return es_fail(ES_ERR, "%s did not settle: see `edgeship watch --stage %s`", r->sc->stack,
	               r->sc->name);
}

static int outcome(struct run *r, int rc)
{
	struct es_error saved;
	char msg[1200];
	json_t *o = record(r, "outcome");
	char rid[64];
	int wrc;

	es_error_save(&saved);
	if (rc)
		es_error_format(es_error_last(), msg, sizeof(msg));
	else if (r->res->n_retained)
		snprintf(msg, sizeof(msg),
		         "%s deleted; %zu replicated function%s retained until `edgeship cleanup` "
		         "can delete %s",
		         r->sc->stack, r->res->n_retained, r->res->n_retained == 1 ? "" : "s",
		         r->res->n_retained == 1 ? "it" : "them");
	else if (r->res->already_gone)
		snprintf(msg, sizeof(msg), "%s was already deleted", r->sc->stack);
	else
		snprintf(msg, sizeof(msg), "%s deleted", r->sc->stack);
	snprintf(rid, sizeof(rid), "%s:outcome", r->res->action_id);
	json_object_set_new(o, "record_id", json_string(rid));
	json_object_set_new(o, "result", json_string(rc ? "failed" : "success"));
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "stack_status", json_string(r->res->stack_status));
	json_object_set_new(o, "retained", json_integer((json_int_t)r->res->n_retained));
	wrc = es_ledger_append(r->l, o, &r->res->outcome_seq);
	json_decref(o);
	es_error_restore(&saved);
	return rc ? rc : wrc;
}

int es_destroy(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
               bool force, long poll_ms, long timeout_s, es_destroy_note_fn fn, void *ud,
               struct es_destroy_result *res)
{
	struct run r = {.aws = aws, .conf = conf, .fn = fn, .ud = ud, .res = res};
	struct es_lock *lk = NULL;
	char status[64];
	int rc;

	memset(res, 0, sizeof(*res));
	rc = es_destroy_check(conf, stage, force);
	if (rc)
		return rc;
	r.sc = es_config_stage(conf, stage);
	/* The stage's stack, lock and bucket are in its own account. */
	if (!(r.aws = es_accounts_client(aws, conf, r.sc)))
		return es_fail_prefix("stage %s", r.sc->name);
	r.poll_ms = poll_ms > 0 ? poll_ms : 2000;
	r.deadline = es_time_now() + (timeout_s > 0 ? timeout_s : 7200);
	rc = stack_status(&r, status, sizeof(status));
	if (rc)
		return rc;
	if (!status[0]) {
		res->already_gone = true;
		copy(res->stack_status, sizeof(res->stack_status), "DELETE_COMPLETE");
		es_notef(r.fn, r.ud, "%s does not exist: there is nothing to delete", r.sc->stack);
		return ES_OK;
	}
	rc = es_ledger_open_home(aws, conf, r.sc, &r.l);
	if (rc)
		return rc;
	const char *who = es_ledger_who(r.l);
	if (!who) {
		es_ledger_free(r.l);
		return es_fail_prefix("ledger: cannot tell who is acting");
	}
	es_ledger_new_id(res->action_id);
	es_notef(r.fn, r.ud, "taking the %s lock", r.sc->name);
	rc = es_lock_take(r.aws, conf, r.sc->name, "destroy", who, res->action_id, NULL, NULL, NULL,
	                  &lk, NULL);
	if (rc) {
		es_ledger_free(r.l);
		return rc;
	}
	json_t *o = record(&r, "intent");
	json_object_set_new(o, "intent_seq", json_integer(0));
	json_object_set_new(o, "stack_status", json_string(status));
	rc = es_ledger_append(r.l, o, &res->intent_seq);
	json_decref(o);
	if (!rc)
		rc = outcome(&r, canary_teardown(&r) ?: run(&r));
	es_lock_release_wait(es_aws_loop(r.aws), lk);
	es_ledger_free(r.l);
	return rc;
}
