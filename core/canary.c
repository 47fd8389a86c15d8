/* The canary through CloudFront continuous deployment (see canary.h). */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/cloudfront_cd.h"
#include "aws/lambda.h"
#include "aws/s3.h"
#include "aws/sigv4.h"
#include "base/error.h"
#include "base/text.h"
#include "base/timefmt.h"
#include "canary.h"
#include "canary_conf.h"
#include "guard.h"
#include "guard_conf.h"
#include "guard_record.h"
#include "ledger.h"
#include "lock.h"
#include "release.h"
#include "template.h"
#include "validate.h"

/* Lambda's limit on a function's name. */
#define FUNCTION_NAME_MAX 64

struct run {
	struct es_aws_client *aws; /* the stage's account */
	struct es_aws_client *base;
	const struct es_config *conf;
	const struct es_stage_conf *sc;
	struct es_ledger *l;
	es_canary_note_fn fn;
	void *ud;
	const char *action; /* start | widen | promote | discard */
	struct es_canary_result *res;
	/* The ledger's records, read once for the action (run_records); an
	 * append of this action drops them, so a later read sees it. */
	struct es_record_list recs;
	bool have_recs;
};

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void es_canary_function_name(const char *function, char *out, size_t len)
{
	char hex[65];

	es_sha256_hex(function, strlen(function), hex);
	/* es-canary- (10) + 40 + - (1) + 8 = 59, within Lambda's 64. */
	snprintf(out, len < FUNCTION_NAME_MAX + 1 ? len : FUNCTION_NAME_MAX + 1,
	         "es-canary-%.40s-%.8s", function, hex);
}

/* The function of a Lambda ARN without its version:
 * arn:aws:lambda:REGION:ACCOUNT:function:NAME[:VERSION]. */
static void unqualified(const char *arn, char *out, size_t len)
{
	int colons = 0;
	size_t i = 0;

	for (; arn[i]; i++)
		if (arn[i] == ':' && ++colons == 7)
			break;
	snprintf(out, len, "%.*s", (int)i, arn);
}

/* ------------------------------------------------------------ ledger */

static void run_records_drop(struct run *r)
{
	if (r->have_recs)
		es_record_list_free(&r->recs);
	r->have_recs = false;
}

/* The ledger's records for this action: read (a sync with S3) the first
 * time they are needed, then kept until this action appends. */
static int run_records(struct run *r, const struct es_record_list **out)
{
	if (!r->have_recs) {
		int rc = es_ledger_read(r->l, &r->recs);
		if (rc) {
			es_record_list_free(&r->recs);
			return rc;
		}
		r->have_recs = true;
	}
	*out = &r->recs;
	return ES_OK;
}

static json_t *record(struct run *r, const char *phase)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "canary", "phase", phase,
	                      "action_id", r->res->action_id, "action", r->action, "stage",
	                      r->sc->name, "stack", r->sc->stack);
	if (o && strcmp(phase, "intent") != 0)
		json_object_set_new(o, "intent_seq", json_integer(r->res->intent_seq));
	if (o && r->res->release[0]) {
		json_object_set_new(o, "release", json_string(r->res->release));
		json_object_set_new(o, "commit", json_string(r->res->commit));
	}
	if (o && r->res->template_key[0] && strcmp(r->action, "start") == 0) {
		json_object_set_new(o, "template_key", json_string(r->res->template_key));
		json_object_set_new(o, "template_sha256", json_string(r->res->template_sha256));
	}
	return o;
}

static json_t *traffic_json(const struct es_cd_traffic *t)
{
	char d[300];

	if (t->header_based)
		return json_pack("{s:s,s:s,s:s,s:s}", "type", "SingleHeader", "header", t->header,
		                 "value", t->value, "text", es_canary_describe(t, d, sizeof(d)));
	return json_pack("{s:s,s:f,s:i,s:i,s:s}", "type", "SingleWeight", "weight", t->weight,
	                 "idle_ttl", t->idle_ttl, "max_ttl", t->max_ttl, "text",
	                 es_canary_describe(t, d, sizeof(d)));
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
	else
		copy(msg, sizeof(msg), r->res->message);
	snprintf(rid, sizeof(rid), "%s:outcome", r->res->action_id);
	json_object_set_new(o, "record_id", json_string(rid));
	json_object_set_new(o, "result",
	                    json_string(rc == ES_EREFUSED            ? "refused"
	                                : rc || r->res->check_failed ? "failed"
	                                                             : "success"));
	if (!rc && strcmp(r->action, "check") == 0)
		json_object_set_new(o, "passed", json_boolean(!r->res->check_failed));
	json_object_set_new(o, "message", json_string(msg));
	if (r->res->staging_id[0])
		json_object_set_new(o, "staging_distribution", json_string(r->res->staging_id));
	if (r->res->policy_id[0])
		json_object_set_new(o, "policy", json_string(r->res->policy_id));
	if (!rc && strcmp(r->action, "promote") != 0 && strcmp(r->action, "discard") != 0)
		json_object_set_new(o, "traffic", traffic_json(&r->res->traffic));
	if (r->res->n_functions) {
		json_t *fs = json_array();
		for (size_t i = 0; i < r->res->n_functions; i++)
			json_array_append_new(fs, json_pack("{s:s,s:s}", "function",
			                                    r->res->functions[i], "version",
			                                    r->res->versions[i]));
		json_object_set_new(o, "functions", fs);
	}
	wrc = es_ledger_append(r->l, o, &r->res->outcome_seq);
	json_decref(o);
	run_records_drop(r);
	es_error_restore(&saved);
	return rc ? rc : wrc;
}

/* A step whose result a rerun must find again (the staging distribution
 * made, the policy created) before anything points at it. */
static int remember(struct run *r, const char *field, const char *value)
{
	json_t *o = record(r, "step");
	char rid[200];
	long seq;
	int rc;

	snprintf(rid, sizeof(rid), "%s:%s", r->res->action_id, field);
	json_object_set_new(o, "record_id", json_string(rid));
	json_object_set_new(o, "step", json_string(field));
	json_object_set_new(o, field, json_string(value));
	rc = es_ledger_append(r->l, o, &seq);
	json_decref(o);
	run_records_drop(r);
	return rc;
}

/* The newest value of field the stage's canary records hold ("" when none). */
static int remembered(struct run *r, const char *field, char *out, size_t len)
{
	const struct es_record_list *recs;
	int rc = run_records(r, &recs);

	out[0] = '\0';
	for (size_t i = rc ? 0 : recs->n; i-- > 0 && !out[0];) {
		const struct es_record *x = &recs->items[i];
		if (strcmp(x->kind, "canary") != 0 || strcmp(x->stage, r->sc->name) != 0)
			continue;
		json_t *o = json_loads(x->json, 0, NULL);
		copy(out, len, json_string_value(json_object_get(o, field)));
		json_decref(o);
	}
	return rc;
}

/* ------------------------------------------------------------ templates */

static int send_sync(struct es_aws_client *c, struct es_aws_call *call, int built,
                     struct es_http_response *resp, const char *what)
{
	if (built) {
		es_aws_call_free(call);
		return es_fail(ES_ENOMEM, "%s: out of memory", what);
	}
	return es_aws_send_sync(c, call, resp);
}

/* The template the stack runs (as submitted), parsed. */
static int deployed_template(struct run *r, json_t **out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc = send_sync(r->aws, &call, es_cfn_get_template_call(&call, r->sc->stack), &resp,
	                   "GetTemplate");
	if (rc)
		return rc;
	char *body = es_cfn_parse_template_body(resp.body.data, resp.body.len);
	es_http_response_free(&resp);
	if (!body)
		return es_fail_prefix("reading %s's template", r->sc->stack);
	rc = es_template_parse(body, strlen(body), r->sc->stack, out);
	free(body);
	return rc;
}

/* A function resource's packaged code: Code.S3Bucket/S3Key, or SAM's
 * CodeUri (s3://bucket/key, or {Bucket, Key}). */
static bool code_location(json_t *res, char *bucket, size_t blen, char *key, size_t klen)
{
	const char *type = json_string_value(json_object_get(res, "Type"));
	json_t *props = json_object_get(res, "Properties");

	if (!type)
		return false;
	if (strcmp(type, "AWS::Lambda::Function") == 0) {
		json_t *code = json_object_get(props, "Code");
		const char *b = json_string_value(json_object_get(code, "S3Bucket"));
		const char *k = json_string_value(json_object_get(code, "S3Key"));
		if (!b || !k)
			return false;
		copy(bucket, blen, b);
		copy(key, klen, k);
		return true;
	}
	if (strcmp(type, "AWS::Serverless::Function") == 0) {
		json_t *uri = json_object_get(props, "CodeUri");
		const char *s = json_string_value(uri);
		if (s && strncmp(s, "s3://", 5) == 0) {
			const char *slash = strchr(s + 5, '/');
			if (!slash)
				return false;
			snprintf(bucket, blen, "%.*s", (int)(slash - s - 5), s + 5);
			copy(key, klen, slash + 1);
			return true;
		}
		const char *b = json_string_value(json_object_get(uri, "Bucket"));
		const char *k = json_string_value(json_object_get(uri, "Key"));
		if (!b || !k)
			return false;
		copy(bucket, blen, b);
		copy(key, klen, k);
		return true;
	}
	return false;
}

struct changed {
	char logical[128];
	char physical[160];
	char bucket[128];
	char key[512];
};

/* The functions whose packaged code in rel differs from what the stack
 * runs. A function the stack does not have yet cannot be canaried. */
static int changed_functions(struct run *r, const struct es_release_buf *rel, const char *bucket,
                             struct es_aws_client *reader, struct changed *out, size_t *n)
{
	struct es_buf body = {0};
	json_t *next = NULL, *now = NULL;
	struct es_kv *ids = NULL, *types = NULL;
	size_t n_res = 0;
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	*n = 0;
	rc = es_s3_get_object(reader, bucket, rel->template_key, &body);
	if (rc)
		return es_fail_prefix("reading release %s's template s3://%s/%s", rel->release,
		                      bucket, rel->template_key);
	rc = es_template_parse(body.data, body.len, rel->template_key, &next);
	es_buf_free(&body);
	if (!rc)
		rc = deployed_template(r, &now);
	if (!rc)
		rc = send_sync(r->aws, &call,
		               es_cfn_describe_stack_resources_call(&call, r->sc->stack), &resp,
		               "DescribeStackResources");
	if (!rc) {
		rc = es_cfn_parse_stack_resources(resp.body.data, resp.body.len, &ids, &types,
		                                  &n_res);
		es_http_response_free(&resp);
	}
	if (rc)
		goto out;
	const char *logical;
	json_t *res;
	json_object_foreach(json_object_get(next, "Resources"), logical, res)
	{
		char nb[128], nk[512], ob[128], ok[512];
		if (!code_location(res, nb, sizeof(nb), nk, sizeof(nk)))
			continue;
		json_t *old = json_object_get(json_object_get(now, "Resources"), logical);
		const char *physical = es_kv_get(ids, n_res, logical);
		if (!old || !physical) {
			rc = es_fail(
			        ES_EREFUSED,
			        "release %s adds function %s, which %s does not have yet: a "
			        "canary can only try new code of existing functions; deploy it "
			        "without the canary (--no-canary)",
			        rel->release, logical, r->sc->stack);
			goto out;
		}
		if (code_location(old, ob, sizeof(ob), ok, sizeof(ok)) && strcmp(ob, nb) == 0 &&
		    strcmp(ok, nk) == 0)
			continue;
		if (*n == ES_CANARY_MAX_FUNCTIONS) {
			rc = es_fail(ES_EREFUSED, "release %s changes more than %d functions",
			             rel->release, ES_CANARY_MAX_FUNCTIONS);
			goto out;
		}
		struct changed *c = &out[(*n)++];
		copy(c->logical, sizeof(c->logical), logical);
		copy(c->physical, sizeof(c->physical), physical);
		copy(c->bucket, sizeof(c->bucket), nb);
		copy(c->key, sizeof(c->key), nk);
	}
	if (*n == 0)
		rc = es_fail(ES_EREFUSED,
		             "release %s has the same function code as what %s runs: there is "
		             "nothing for a canary to try; deploy it without the canary",
		             rel->release, r->sc->name);
out:
	json_decref(next);
	json_decref(now);
	es_kv_list_free(ids, n_res);
	es_kv_list_free(types, n_res);
	return rc;
}

/* ------------------------------------------------------------ functions */

/* The canary function of c, holding rel's code; its new version's ARN. */
static int canary_version(struct run *r, const struct changed *c, char *arn, size_t len)
{
	struct es_lambda_config like = {0}, have = {0};
	char name[FUNCTION_NAME_MAX + 1];
	char *version = NULL;
	int rc;

	es_canary_function_name(c->physical, name, sizeof(name));
	rc = es_lambda_get_config(r->aws, c->physical, &like);
	if (rc)
		return es_fail_prefix("reading function %s", c->physical);
	rc = es_lambda_get_config(r->aws, name, &have);
	if (rc == ES_ENOTFOUND) {
		es_notef(r->fn, r->ud, "creating canary function %s for %s", name, c->physical);
		rc = es_lambda_create_from(r->aws, name, &like, c->bucket, c->key, &version);
	} else if (rc == ES_OK) {
		es_notef(r->fn, r->ud, "updating canary function %s", name);
		rc = es_lambda_update_config_like(r->aws, name, &like);
		if (!rc)
			rc = es_lambda_update_code_publish(r->aws, name, c->bucket, c->key, 1000,
			                                   300, &version);
	}
	if (!rc)
		copy(arn, len, version);
	free(version);
	es_lambda_config_free(&like);
	es_lambda_config_free(&have);
	return rc;
}

/* ------------------------------------------------------------ distributions */

struct dists {
	char primary[64];
	char *primary_xml, *primary_etag;
	char *policy; /* attached policy id ("" when none) */
	struct es_cd_policy pol;
	bool have_pol;
	char staging[64];
	char staging_domain[160];
};

static void dists_free(struct dists *d)
{
	free(d->primary_xml);
	free(d->primary_etag);
	free(d->policy);
	if (d->have_pol)
		es_cd_policy_free(&d->pol);
	memset(d, 0, sizeof(*d));
}

/* The primary, its policy and its staging distribution, as they are. A
 * policy or staging distribution an interrupted start made but did not
 * attach yet is found through the ledger (r->l), so a rerun reuses it
 * rather than leave it behind. */
static int read_dists(struct run *r, struct dists *d)
{
	char id[160];
	int rc = es_cfn_stack_distribution(r->aws, r->sc->stack, d->primary, sizeof(d->primary));

	if (rc)
		return rc;
	if (!d->primary[0])
		return es_fail(ES_EREFUSED, "%s has no CloudFront distribution: nothing to canary",
		               r->sc->stack);
	rc = es_cf_get_distribution_config(r->aws, d->primary, &d->primary_xml, &d->primary_etag);
	if (!rc)
		rc = es_cf_config_policy(d->primary_xml, &d->policy);
	if (rc)
		return rc;
	copy(id, sizeof(id), d->policy);
	if (!id[0] && r->l && (rc = remembered(r, "policy", id, sizeof(id))))
		return rc;
	if (id[0]) {
		rc = es_cf_get_cd_policy(r->aws, id, &d->pol);
		if (rc && rc != ES_ENOTFOUND)
			return rc;
		d->have_pol = rc == ES_OK;
	}
	if (d->have_pol && d->pol.staging_dns) {
		char *sid = NULL;
		rc = es_cf_find_distribution_by_domain(r->aws, d->pol.staging_dns, &sid);
		if (rc && rc != ES_ENOTFOUND)
			return rc;
		if (sid) {
			copy(d->staging, sizeof(d->staging), sid);
			copy(d->staging_domain, sizeof(d->staging_domain), d->pol.staging_dns);
		}
		free(sid);
	}
	if (!d->staging[0] && r->l) {
		struct es_distribution st = {0};
		if ((rc = remembered(r, "staging_distribution", id, sizeof(id))))
			return rc;
		rc = id[0] ? es_cf_get_distribution(r->aws, id, &st) : ES_ENOTFOUND;
		if (rc && rc != ES_ENOTFOUND)
			return rc;
		if (rc == ES_OK) {
			copy(d->staging, sizeof(d->staging), st.id ? st.id : id);
			copy(d->staging_domain, sizeof(d->staging_domain), st.domain_name);
		}
		es_distribution_free(&st);
	}
	return ES_OK;
}

/* Staging's config made to run the canary versions. */
static int point_staging(struct run *r, struct dists *d)
{
	char *xml = NULL, *etag = NULL, *cur;
	int rc = es_cf_get_distribution_config(r->aws, d->staging, &xml, &etag);

	if (rc)
		return rc;
	for (size_t i = 0; i < r->res->n_functions && !rc; i++) {
		char stack_fn[300], canary_fn[300], name[FUNCTION_NAME_MAX + 1];
		int n1 = 0, n2 = 0;
		unqualified(r->res->versions[i], canary_fn, sizeof(canary_fn));
		/* The stack function's ARN is the canary's with the other name. */
		es_canary_function_name(r->res->functions[i], name, sizeof(name));
		size_t cut = strlen(canary_fn) - strlen(name);
		snprintf(stack_fn, sizeof(stack_fn), "%.*s%s", (int)cut, canary_fn,
		         r->res->functions[i]);
		/* Staging runs the stack's version (a fresh copy) or an
		 * earlier canary's: both become this canary's. */
		rc = es_cf_config_replace_lambda(xml, stack_fn, r->res->versions[i], &n1, &cur);
		if (!rc) {
			free(xml);
			xml = cur;
			rc = es_cf_config_replace_lambda(xml, canary_fn, r->res->versions[i], &n2,
			                                 &cur);
		}
		if (!rc) {
			free(xml);
			xml = cur;
			if (n1 + n2 == 0)
				rc = es_fail(ES_EREFUSED,
				             "function %s is not associated with distribution %s: "
				             "a canary only tries functions the distribution runs",
				             r->res->functions[i], d->primary);
		}
	}
	if (!rc) {
		es_notef(r->fn, r->ud, "staging distribution %s: running the canary versions",
		         d->staging);
		rc = es_cf_update_distribution_config(r->aws, d->staging, etag, xml, NULL);
	}
	free(xml);
	free(etag);
	return rc;
}

static int make_staging(struct run *r, struct dists *d)
{
	struct es_distribution st = {0};
	char ref[64];
	int rc;

	snprintf(ref, sizeof(ref), "edgeship-canary-%s", r->res->action_id);
	es_notef(r->fn, r->ud, "copying %s into a staging distribution (CopyDistribution)",
	         d->primary);
	rc = es_cf_copy_distribution(r->aws, d->primary, d->primary_etag, ref, &st);
	if (rc)
		return rc;
	copy(d->staging, sizeof(d->staging), st.id);
	copy(d->staging_domain, sizeof(d->staging_domain), st.domain_name);
	es_distribution_free(&st);
	return remember(r, "staging_distribution", d->staging);
}

/* The policy sends traffic to staging, and the primary names it. */
static int route(struct run *r, struct dists *d, const struct es_cd_traffic *t)
{
	struct es_cd_policy pol = {0};
	int rc;

	if (d->have_pol && d->pol.staging_dns && strcmp(d->pol.staging_dns, d->staging_domain) == 0)
		rc = es_cf_update_cd_policy(r->aws, d->pol.id, d->pol.etag, d->staging_domain, true,
		                            t, &pol);
	else if (!(rc = es_cf_create_cd_policy(r->aws, d->staging_domain, true, t, &pol)))
		rc = remember(r, "policy", pol.id);
	if (rc) {
		es_cd_policy_free(&pol);
		return rc;
	}
	copy(r->res->policy_id, sizeof(r->res->policy_id), pol.id);
	if (!d->policy || strcmp(d->policy, pol.id) != 0) {
		char *xml = NULL;
		es_notef(r->fn, r->ud, "attaching policy %s to %s", pol.id, d->primary);
		rc = es_cf_config_set_policy(d->primary_xml, pol.id, &xml);
		if (!rc)
			rc = es_cf_update_distribution_config(r->aws, d->primary, d->primary_etag,
			                                      xml, NULL);
		free(xml);
	}
	es_cd_policy_free(&pol);
	return rc;
}

/* ------------------------------------------------------------ actions */

static int start(struct run *r, const struct es_release_buf *rel, const struct es_cd_traffic *t,
                 const char *bucket, struct es_aws_client *reader)
{
	struct changed ch[ES_CANARY_MAX_FUNCTIONS];
	struct dists d = {0};
	size_t n;
	int rc = changed_functions(r, rel, bucket, reader, ch, &n);

	for (size_t i = 0; i < n && !rc; i++) {
		copy(r->res->functions[i], sizeof(r->res->functions[i]), ch[i].physical);
		rc = canary_version(r, &ch[i], r->res->versions[i], sizeof(r->res->versions[i]));
		if (!rc)
			r->res->n_functions = i + 1;
	}
	if (!rc)
		rc = read_dists(r, &d);
	if (!rc && !d.staging[0])
		rc = make_staging(r, &d);
	if (!rc) {
		copy(r->res->staging_id, sizeof(r->res->staging_id), d.staging);
		rc = point_staging(r, &d);
	}
	if (!rc)
		rc = route(r, &d, t);
	if (!rc) {
		char desc[300];
		snprintf(r->res->message, sizeof(r->res->message),
		         "release %s on staging distribution %s; %s goes to it", rel->release,
		         d.staging, es_canary_describe(t, desc, sizeof(desc)));
	}
	dists_free(&d);
	return rc;
}

/* The policy of a stage's canary, which must be there. */
static int the_policy(struct run *r, struct dists *d)
{
	int rc = read_dists(r, d);

	if (rc)
		return rc;
	if (!d->have_pol || !d->staging[0])
		return es_fail(
		        ES_EREFUSED,
		        "%s has no canary: start one with `edgeship canary start --stage %s`",
		        r->sc->name, r->sc->name);
	copy(r->res->staging_id, sizeof(r->res->staging_id), d->staging);
	copy(r->res->policy_id, sizeof(r->res->policy_id), d->pol.id);
	return ES_OK;
}

static int widen(struct run *r, double weight)
{
	struct dists d = {0};
	struct es_cd_policy pol = {0};
	int rc = the_policy(r, &d);

	if (!rc && d.pol.traffic.header_based)
		rc = es_fail(ES_EREFUSED,
		             "%s's canary goes by header %s, not by weight: there is nothing to "
		             "widen",
		             r->sc->name, d.pol.traffic.header);
	else if (!rc && !d.pol.enabled)
		rc = es_fail(ES_EREFUSED,
		             "%s's canary is not sending traffic (discarded or promoted): start "
		             "one first",
		             r->sc->name);
	else if (!rc && weight <= d.pol.traffic.weight)
		rc = es_fail(ES_EREFUSED,
		             "%s's canary already gets %g%%: widen to more, or discard it",
		             r->sc->name, d.pol.traffic.weight * 100);
	if (!rc) {
		struct es_cd_traffic t = d.pol.traffic;
		t.weight = weight;
		r->res->traffic = t;
		rc = es_cd_traffic_check(&t);
		if (!rc)
			rc = es_cf_update_cd_policy(r->aws, d.pol.id, d.pol.etag, d.pol.staging_dns,
			                            true, &t, &pol);
		if (!rc)
			snprintf(r->res->message, sizeof(r->res->message),
			         "%g%% of requests go to staging distribution %s (was %g%%)",
			         weight * 100, d.staging, d.pol.traffic.weight * 100);
		es_cd_policy_free(&pol);
	}
	dists_free(&d);
	return rc;
}

static int discard(struct run *r)
{
	struct dists d = {0};
	struct es_cd_policy pol = {0};
	int rc = the_policy(r, &d);

	if (!rc && !d.pol.enabled) {
		snprintf(r->res->message, sizeof(r->res->message),
		         "%s's canary was already sending no traffic", r->sc->name);
	} else if (!rc) {
		rc = es_cf_update_cd_policy(r->aws, d.pol.id, d.pol.etag, d.pol.staging_dns, false,
		                            &d.pol.traffic, &pol);
		if (!rc)
			snprintf(r->res->message, sizeof(r->res->message),
			         "discarded: every request goes to %s's primary %s again",
			         r->sc->name, d.primary);
		es_cd_policy_free(&pol);
	}
	dists_free(&d);
	return rc;
}

/* The latest successful canary start on the stage, from the ledger. */
static bool latest_start(const struct es_record_list *recs, const char *stage, const char **json)
{
	for (size_t i = recs->n; i-- > 0;) {
		const struct es_record *x = &recs->items[i];
		if (strcmp(x->kind, "canary") != 0 || strcmp(x->phase, "outcome") != 0 ||
		    strcmp(x->stage, stage) != 0)
			continue;
		json_t *o = json_loads(x->json, 0, NULL);
		const char *a = json_string_value(json_object_get(o, "action"));
		bool is_start = a && strcmp(a, "start") == 0 && strcmp(x->result, "success") == 0;
		json_decref(o);
		if (is_start) {
			*json = x->json;
			return true;
		}
	}
	return false;
}

static int promote(struct run *r)
{
	struct dists d = {0};
	struct es_distribution st = {0}, pr = {0};
	const struct es_record_list *recs = NULL;
	const char *json = NULL;
	int rc = the_policy(r, &d);

	if (!rc && !d.pol.enabled)
		rc = es_fail(ES_EREFUSED,
		             "%s's canary is not sending traffic (discarded or promoted): there is "
		             "nothing tried to promote",
		             r->sc->name);
	if (!rc)
		rc = run_records(r, &recs);
	if (!rc && !latest_start(recs, r->sc->name, &json))
		rc = es_fail(ES_EREFUSED, "the ledger has no canary start on %s", r->sc->name);
	if (!rc) {
		json_t *o = json_loads(json, 0, NULL);
		copy(r->res->release, sizeof(r->res->release),
		     json_string_value(json_object_get(o, "release")));
		copy(r->res->commit, sizeof(r->res->commit),
		     json_string_value(json_object_get(o, "commit")));
		copy(r->res->template_key, sizeof(r->res->template_key),
		     json_string_value(json_object_get(o, "template_key")));
		copy(r->res->template_sha256, sizeof(r->res->template_sha256),
		     json_string_value(json_object_get(o, "template_sha256")));
		const char *sid = json_string_value(json_object_get(o, "staging_distribution"));
		if (!sid || strcmp(sid, d.staging) != 0)
			rc = es_fail(
			        ES_EREFUSED,
			        "staging distribution %s is not the one the latest canary start "
			        "recorded (%s): start the canary again",
			        d.staging, sid ? sid : "none");
		json_decref(o);
	}
	if (!rc)
		rc = es_cf_get_distribution(r->aws, d.staging, &st);
	if (!rc && (!st.status || strcmp(st.status, "Deployed") != 0))
		rc = es_fail(ES_EBUSY,
		             "staging distribution %s is %s: promote once it is Deployed, so the "
		             "primary gets what was tried",
		             d.staging, st.status ? st.status : "in an unknown state");
	if (!rc)
		rc = es_cf_get_distribution(r->aws, d.primary, &pr);
	if (!rc) {
		es_notef(r->fn, r->ud,
		         "promoting: %s takes staging %s's config "
		         "(UpdateDistributionWithStagingConfig)",
		         d.primary, d.staging);
		rc = es_cf_promote_staging(r->aws, d.primary, pr.etag, d.staging, st.etag, NULL);
	}
	if (!rc)
		snprintf(r->res->message, sizeof(r->res->message),
		         "promoted: %s serves release %s as its edges take the change; the canary "
		         "policy is disabled",
		         d.primary, r->res->release);
	es_distribution_free(&st);
	es_distribution_free(&pr);
	dists_free(&d);
	return rc;
}

/* ------------------------------------------------------------ entry points */

/* The stage, its account, the ledger and the lock; then f; then the outcome. */
static int with_stage(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                      const char *action, es_canary_note_fn fn, void *ud,
                      struct es_canary_result *res, int (*f)(struct run *r, void *arg), void *arg)
{
	struct run r = {
	        .base = aws, .conf = conf, .fn = fn, .ud = ud, .action = action, .res = res};
	struct es_lock *lk = NULL;
	int rc;

	r.sc = es_config_stage(conf, stage);
	if (!r.sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	if (es_config_refuse_pipeline_stage(conf, stage, "canary"))
		return ES_EREFUSED;
	if (!(r.aws = es_accounts_client(aws, conf, r.sc)))
		return es_fail_prefix("stage %s", r.sc->name);
	rc = es_ledger_open_home(aws, conf, r.sc, &r.l);
	if (rc)
		return rc;
	const char *who = es_ledger_who(r.l);
	if (!who) {
		es_ledger_free(r.l);
		return es_fail_prefix("ledger: cannot tell who is acting");
	}
	es_ledger_new_id(res->action_id);
	rc = es_lock_take(r.aws, conf, r.sc->name, "canary", who, res->action_id, NULL, NULL, NULL,
	                  &lk, NULL);
	if (rc) {
		es_ledger_free(r.l);
		return rc;
	}
	json_t *o = record(&r, "intent");
	json_object_set_new(o, "intent_seq", json_integer(0));
	if (arg && strcmp(action, "start") == 0)
		json_object_set_new(o, "traffic", traffic_json(&res->traffic));
	rc = es_ledger_append(r.l, o, &res->intent_seq);
	json_decref(o);
	if (!rc)
		rc = outcome(&r, f(&r, arg));
	run_records_drop(&r);
	es_lock_release_wait(es_aws_loop(r.aws), lk);
	es_ledger_free(r.l);
	return rc;
}

struct start_arg {
	struct es_release_buf rel;
	const char *bucket;
	struct es_aws_client *reader;
};

static int do_start(struct run *r, void *arg)
{
	struct start_arg *a = arg;
	return start(r, &a->rel, &r->res->traffic, a->bucket, a->reader);
}

int es_canary_start(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    const char *commit, const struct es_cd_traffic *traffic, es_canary_note_fn fn,
                    void *ud, struct es_canary_result *res)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct start_arg a = {0};
	bool already = false;
	char msg[300];
	int rc;

	memset(res, 0, sizeof(*res));
	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	if (traffic)
		res->traffic = *traffic;
	else if (!sc->canary)
		return es_fail(ES_EREFUSED,
		               "stage %s has no canary key: add e.g. canary = weight 5%% to its "
		               "[stage] in %s, or give --weight or --header",
		               sc->name, conf->path);
	else if (es_canary_parse(sc->canary, &res->traffic, msg, sizeof(msg)))
		return es_fail(ES_ECONFIG, "%s", msg);
	if (es_cd_traffic_check(&res->traffic))
		return ES_EINVAL;
	/* The release and its rules first: nothing changes if refused. */
	const struct es_stage_conf *from = sc;
	if (sc->promotes_from) {
		rc = es_promote_release(aws, conf, sc->name, &a.rel, &already);
		from = es_config_stage(conf, sc->promotes_from);
	} else if (commit) {
		rc = es_recorded_release(aws, conf, sc->name, commit, &a.rel, &already);
	} else {
		rc = es_fail(ES_EINVAL,
		             "stage %s deploys commits: name the commit whose recorded release the "
		             "canary tries",
		             sc->name);
	}
	if (rc)
		return rc;
	if (already)
		return es_fail(ES_EREFUSED, "%s already runs release %s: there is nothing to try",
		               sc->name, a.rel.release);
	copy(res->release, sizeof(res->release), a.rel.release);
	copy(res->commit, sizeof(res->commit), a.rel.commit);
	copy(res->template_key, sizeof(res->template_key), a.rel.template_key);
	copy(res->template_sha256, sizeof(res->template_sha256), a.rel.template_sha256);
	a.bucket = from->bucket ? from->bucket : conf->bucket;
	if (!(a.reader = es_accounts_client(aws, conf, from)))
		return es_fail_prefix("stage %s", from->name);
	return with_stage(aws, conf, stage, "start", fn, ud, res, do_start, &a);
}

static int do_widen(struct run *r, void *arg)
{
	return widen(r, *(double *)arg);
}

int es_canary_widen(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    double weight, es_canary_note_fn fn, void *ud, struct es_canary_result *res)
{
	memset(res, 0, sizeof(*res));
	if (weight <= 0 || weight > ES_CD_MAX_WEIGHT)
		return es_fail(
		        ES_EINVAL,
		        "a canary's weight is above 0 and at most 15%% (CloudFront's limit)");
	return with_stage(aws, conf, stage, "widen", fn, ud, res, do_widen, &weight);
}

static int do_discard(struct run *r, void *arg)
{
	(void)arg;
	return discard(r);
}

int es_canary_discard(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                      es_canary_note_fn fn, void *ud, struct es_canary_result *res)
{
	memset(res, 0, sizeof(*res));
	return with_stage(aws, conf, stage, "discard", fn, ud, res, do_discard, NULL);
}

static int do_promote(struct run *r, void *arg)
{
	(void)arg;
	return promote(r);
}

int es_canary_promote(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                      es_canary_note_fn fn, void *ud, struct es_canary_result *res)
{
	memset(res, 0, sizeof(*res));
	return with_stage(aws, conf, stage, "promote", fn, ud, res, do_promote, NULL);
}

struct check_arg {
	struct es_validation *v;
};

static int check(struct run *r, struct check_arg *a)
{
	struct dists d = {0};
	struct es_distribution st = {0}, pr = {0};
	char header[400];
	int rc = the_policy(r, &d);

	if (!rc && (!d.pol.enabled || !d.pol.traffic.header_based))
		rc = es_fail(ES_EREFUSED,
		             "%s's canary %s: only a header canary's staging distribution can be "
		             "asked on purpose; watch a weight canary's figures instead "
		             "(`edgeship canary status`)",
		             r->sc->name, !d.pol.enabled ? "is off" : "goes by weight");
	if (!rc)
		rc = es_cf_get_distribution(r->aws, d.staging, &st);
	if (!rc && (!st.status || strcmp(st.status, "Deployed") != 0))
		rc = es_fail(
		        ES_EBUSY,
		        "staging distribution %s is %s: some edges would still answer from the "
		        "primary; check once it is Deployed",
		        d.staging, st.status ? st.status : "in an unknown state");
	if (!rc)
		rc = es_cf_get_distribution(r->aws, d.primary, &pr);
	if (!rc) {
		snprintf(header, sizeof(header), "%s: %s", d.pol.traffic.header,
		         d.pol.traffic.value);
		es_notef(r->fn, r->ud, "checking %s's canary with %s", r->sc->name, header);
		rc = es_validation_run_with(es_aws_loop(r->aws), r->conf, r->sc, pr.domain_name,
		                            header, a->v);
	}
	if (!rc && a->v->n_checks == 0)
		rc = es_fail(ES_EREFUSED, "%s has no checks: add a [check] to %s", r->sc->name,
		             r->conf->path);
	if (!rc) {
		size_t ok = 0;
		for (size_t i = 0; i < a->v->n_checks; i++)
			ok += a->v->checks[i].result.passed;
		snprintf(
		        r->res->message, sizeof(r->res->message),
		        "canary check %s: %zu of %zu checks passed against staging distribution %s",
		        a->v->passed ? "passed" : "FAILED", ok, a->v->n_checks, d.staging);
		r->res->check_failed = !a->v->passed;
		r->res->traffic = d.pol.traffic;
	}
	es_distribution_free(&st);
	es_distribution_free(&pr);
	dists_free(&d);
	return rc;
}

static int do_check(struct run *r, void *arg)
{
	return check(r, arg);
}

int es_canary_check(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    es_canary_note_fn fn, void *ud, struct es_validation *out,
                    struct es_canary_result *res)
{
	struct check_arg a = {.v = out};

	memset(res, 0, sizeof(*res));
	memset(out, 0, sizeof(*out));
	return with_stage(aws, conf, stage, "check", fn, ud, res, do_check, &a);
}

struct adopt {
	es_canary_note_fn fn;
	void *ud;
};

static void adopt_event(const struct es_deploy_event *ev, void *ud)
{
	struct adopt *a = ud;

	if (ev->kind == ES_DEPLOY_LOG && ev->text)
		es_notef(a->fn, a->ud, "%s", ev->text);
}

int es_canary_adopt(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    const struct es_canary_result *res, long poll_ms, long timeout_s,
                    es_canary_note_fn fn, void *ud)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	double deadline = es_time_now() + (timeout_s > 0 ? timeout_s : 3600);
	struct adopt a = {.fn = fn, .ud = ud};
	bool said = false;

	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	for (;;) {
		struct es_deploy *d = NULL;
		int rc = sc->promotes_from ? es_promote_start(aws, conf, sc->name, true, poll_ms,
		                                              timeout_s, adopt_event, &a, &d)
		                           : es_redeploy_start(aws, conf, NULL, sc->name,
		                                               res->commit, "deploy", true, poll_ms,
		                                               timeout_s, adopt_event, &a, &d);
		if (rc)
			return rc;
		while (!es_deploy_done(d))
			if (es_loop_turn(es_aws_loop(aws), 500))
				break;
		const struct es_deploy_result *r = es_deploy_result(d);
		bool busy = !r->intent_seq && r->status == ES_EBUSY;
		if (busy && es_time_now() < deadline) {
			if (!said)
				es_notef(fn, ud, "waiting for %s to settle before deploying %s",
				         sc->name, res->release);
			said = true;
			es_deploy_free(d);
			es_loop_pause(es_aws_loop(aws), poll_ms > 0 ? poll_ms : 2000);
			continue;
		}
		bool ok = r->status == ES_OK && (strcmp(r->result, "success") == 0 ||
		                                 strcmp(r->result, "no-changes") == 0);
		rc = ok ? ES_OK
		        : es_fail(r->status ? r->status : ES_ERR, "deploying %s to %s: %s",
		                  res->release, sc->name, r->message);
		if (ok)
			es_notef(fn, ud, "%s", r->message);
		es_deploy_free(d);
		return rc;
	}
}

/* ------------------------------------------------------------ teardown */

/* The canary functions the stage's canary records name (ARNs without a
 * version), each once; false when the stage never had a canary. */
static bool canary_functions(const struct es_record_list *recs, const char *stage, char (*out)[300],
                             size_t max, size_t *n)
{
	bool any = false;

	*n = 0;
	for (size_t i = 0; i < recs->n; i++) {
		const struct es_record *x = &recs->items[i];
		if (strcmp(x->kind, "canary") != 0 || strcmp(x->stage, stage) != 0)
			continue;
		any = true;
		json_t *o = json_loads(x->json, 0, NULL);
		size_t k;
		json_t *f;
		json_array_foreach(json_object_get(o, "functions"), k, f)
		{
			char arn[300];
			bool seen = false;
			unqualified(json_string_value(json_object_get(f, "version")) ?: "", arn,
			            sizeof(arn));
			for (size_t j = 0; j < *n && !seen; j++)
				seen = strcmp(out[j], arn) == 0;
			if (arn[0] && !seen && *n < max)
				copy(out[(*n)++], sizeof(out[0]), arn);
		}
		json_decref(o);
	}
	return any;
}

static int delete_staging(struct run *r, const char *id, long poll_ms, double deadline)
{
	char *xml = NULL, *etag = NULL, *off = NULL;
	int rc = es_cf_get_distribution_config(r->aws, id, &xml, &etag);

	if (rc == ES_ENOTFOUND)
		return ES_OK;
	if (!rc && strstr(xml, "<Enabled>true</Enabled>")) {
		es_notef(r->fn, r->ud, "disabling staging distribution %s", id);
		rc = es_cf_config_set_enabled(xml, false, &off);
		if (!rc)
			rc = es_cf_update_distribution_config(r->aws, id, etag, off, NULL);
	}
	free(xml);
	free(etag);
	free(off);
	for (bool said = false; !rc;) {
		struct es_distribution st = {0};
		rc = es_cf_get_distribution(r->aws, id, &st);
		bool deployed = !rc && st.status && strcmp(st.status, "Deployed") == 0;
		if (deployed) {
			es_notef(r->fn, r->ud, "deleting staging distribution %s", id);
			rc = es_cf_delete_distribution(r->aws, id, st.etag);
		}
		es_distribution_free(&st);
		if (rc == ES_ENOTFOUND)
			return ES_OK;
		if (rc || deployed)
			return rc;
		if (es_time_now() > deadline)
			return es_fail(ES_ERR,
			               "staging distribution %s is still InProgress: run `edgeship "
			               "destroy --stage %s` again later",
			               id, r->sc->name);
		if (!said)
			es_notef(r->fn, r->ud, "waiting for staging distribution %s to be Deployed",
			         id);
		said = true;
		es_loop_pause(es_aws_loop(r->aws), poll_ms);
	}
	return rc;
}

int es_canary_teardown(struct es_aws_client *aws, const struct es_config *conf,
                       const struct es_stage_conf *sc, struct es_ledger *l, long poll_ms,
                       double deadline, es_canary_note_fn fn, void *ud, char (*functions)[300],
                       size_t max, size_t *n)
{
	struct es_canary_result scratch = {0};
	struct run r = {.aws = aws,
	                .base = aws,
	                .conf = conf,
	                .sc = sc,
	                .l = l,
	                .fn = fn,
	                .ud = ud,
	                .action = "teardown",
	                .res = &scratch};
	const struct es_record_list *recs;
	struct dists d = {0};
	char primary[64];
	int rc;

	*n = 0;
	rc = run_records(&r, &recs);
	bool had = !rc && canary_functions(recs, sc->name, functions, max, n);
	if (!rc && had)
		rc = es_cfn_stack_distribution(aws, sc->stack, primary, sizeof(primary));
	if (rc || !had || !primary[0]) {
		run_records_drop(&r);
		return rc;
	}
	rc = read_dists(&r, &d);
	if (!rc && d.policy && d.policy[0]) {
		char *xml = NULL;
		es_notef(fn, ud, "detaching canary policy %s from %s", d.policy, d.primary);
		rc = es_cf_config_set_policy(d.primary_xml, "", &xml);
		if (!rc)
			rc = es_cf_update_distribution_config(aws, d.primary, d.primary_etag, xml,
			                                      NULL);
		free(xml);
	}
	if (!rc && d.have_pol) {
		es_notef(fn, ud, "deleting canary policy %s", d.pol.id);
		rc = es_cf_delete_cd_policy(aws, d.pol.id, d.pol.etag);
		if (rc == ES_ENOTFOUND)
			rc = ES_OK;
	}
	if (!rc && d.staging[0])
		rc = delete_staging(&r, d.staging, poll_ms > 0 ? poll_ms : 2000, deadline);
	dists_free(&d);
	run_records_drop(&r);
	return rc;
}

/* ------------------------------------------------------------ status */

int es_canary_status(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                     struct es_canary_status *out)
{
	struct es_canary_result scratch = {0};
	struct run r = {.base = aws, .conf = conf, .res = &scratch, .action = "status"};
	struct dists d = {0};
	struct es_distribution pr = {0}, st = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	r.sc = es_config_stage(conf, stage);
	if (!r.sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	copy(out->stage, sizeof(out->stage), r.sc->name);
	if (!(r.aws = es_accounts_client(aws, conf, r.sc)))
		return es_fail_prefix("stage %s", r.sc->name);
	rc = read_dists(&r, &d);
	if (!rc)
		rc = es_cf_get_distribution(r.aws, d.primary, &pr);
	if (!rc) {
		copy(out->primary_id, sizeof(out->primary_id), d.primary);
		copy(out->primary_status, sizeof(out->primary_status), pr.status);
		copy(out->primary_lambda, sizeof(out->primary_lambda), pr.lambda_arn);
	}
	if (!rc && d.have_pol) {
		copy(out->policy_id, sizeof(out->policy_id), d.pol.id);
		out->enabled = d.pol.enabled;
		out->traffic = d.pol.traffic;
	}
	if (!rc && d.staging[0]) {
		copy(out->staging_id, sizeof(out->staging_id), d.staging);
		copy(out->staging_domain, sizeof(out->staging_domain), d.staging_domain);
		rc = es_cf_get_distribution(r.aws, d.staging, &st);
		if (!rc) {
			copy(out->staging_status, sizeof(out->staging_status), st.status);
			copy(out->staging_lambda, sizeof(out->staging_lambda), st.lambda_arn);
		}
	}
	es_distribution_free(&pr);
	es_distribution_free(&st);
	dists_free(&d);
	if (rc || !out->staging_id[0])
		return rc;
	/* Which release staging runs: the latest start the ledger has. */
	struct es_ledger *l;
	struct es_record_list recs = {0};
	const char *json;
	if (es_ledger_open_home(aws, conf, r.sc, &l) == ES_OK) {
		if (es_ledger_read(l, &recs) == ES_OK && latest_start(&recs, r.sc->name, &json)) {
			json_t *o = json_loads(json, 0, NULL);
			copy(out->release, sizeof(out->release),
			     json_string_value(json_object_get(o, "release")));
			copy(out->commit, sizeof(out->commit),
			     json_string_value(json_object_get(o, "commit")));
			copy(out->started_by, sizeof(out->started_by),
			     json_string_value(json_object_get(o, "who")));
			json_decref(o);
		}
		es_record_list_free(&recs);
		es_ledger_free(l);
	}
	return ES_OK;
}

/* ------------------------------------------------------------ figures */

static void sum_figures(const struct es_guard *g, int i, struct es_canary_figures *f)
{
	memset(f, 0, sizeof(*f));
	if (i < 0)
		return;
	const struct es_guard_stage *s = es_guard_stage(g, (size_t)i);
	for (size_t k = 0; k < s->n; k++) {
		f->requests += s->pts[k].requests;
		f->errors_5xx += s->pts[k].requests * s->pts[k].rate_5xx / 100.0;
		f->lambda_errors += s->pts[k].lambda_errors;
	}
	f->rate_5xx = f->requests > 0 ? 100.0 * f->errors_5xx / f->requests : 0;
	f->have = es_guard_last_ok(g) > 0 && !es_guard_stale(g);
	es_guard_line(g, (size_t)i, f->line, sizeof(f->line));
}

int es_canary_figures(struct es_aws_client *aws, const struct es_config *conf,
                      const struct es_canary_status *st, struct es_canary_figures *primary,
                      struct es_canary_figures *staging)
{
	const struct es_stage_conf *sc = es_config_stage(conf, st->stage);
	struct es_guard_settings set;
	struct es_guard *g = NULL;
	char canary_name[80];
	int rc;

	memset(primary, 0, sizeof(*primary));
	memset(staging, 0, sizeof(*staging));
	if (!sc || !st->primary_id[0])
		return ES_OK;
	struct es_aws_client *c = es_accounts_client(aws, conf, sc);
	if (!c)
		return es_fail_prefix("stage %s", sc->name);
	es_guard_settings_of(sc, &set);
	if (!set.on) {
		/* Figures only: a threshold nothing reaches. */
		set.on = true;
		set.threshold = 100;
	}
	rc = es_guard_new(c, &g);
	if (rc)
		return rc;
	snprintf(canary_name, sizeof(canary_name), "%s canary", sc->name);
	rc = es_guard_watch(g, sc->name, st->primary_id, "", &set);
	if (!rc && st->staging_id[0])
		rc = es_guard_watch(g, canary_name, st->staging_id, "", &set);
	if (!rc)
		rc = es_guard_poll_wait(g);
	if (!rc) {
		sum_figures(g, es_guard_find(g, sc->name), primary);
		if (st->staging_id[0])
			sum_figures(g, es_guard_find(g, canary_name), staging);
	}
	es_guard_free(g);
	return rc;
}

/* ------------------------------------------------------------ JSON */

static json_t *figures_json(const struct es_canary_figures *f)
{
	if (!f || !f->have)
		return json_null();
	return json_pack("{s:f,s:f,s:f,s:f}", "requests", f->requests, "errors_5xx", f->errors_5xx,
	                 "rate_5xx", f->rate_5xx, "lambda_errors", f->lambda_errors);
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

char *es_canary_status_json(const struct es_canary_status *st,
                            const struct es_canary_figures *primary,
                            const struct es_canary_figures *staging)
{
	json_t *o = json_pack(
	        "{s:b,s:s,s:s,s:{s:o,s:o,s:o,s:o},s:{s:o,s:o,s:o,s:o,s:o},s:o,s:b,s:o,s:o,s:o}",
	        "ok", 1, "command", "canary", "stage", st->stage, "primary", "id",
	        str_or_null(st->primary_id), "status", str_or_null(st->primary_status), "lambda",
	        str_or_null(st->primary_lambda), "figures", figures_json(primary), "staging", "id",
	        str_or_null(st->staging_id), "domain", str_or_null(st->staging_domain), "status",
	        str_or_null(st->staging_status), "lambda", str_or_null(st->staging_lambda),
	        "figures", figures_json(staging), "policy", str_or_null(st->policy_id), "active",
	        st->enabled, "traffic", st->policy_id[0] ? traffic_json(&st->traffic) : json_null(),
	        "release", str_or_null(st->release), "commit", str_or_null(st->commit));
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return text;
}

char *es_canary_result_json(const char *stage, const char *action, const struct es_canary_result *r)
{
	json_t *o = json_pack("{s:b,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "ok", 1, "command",
	                      "canary", "stage", stage, "action", action, "action_id", r->action_id,
	                      "release", str_or_null(r->release), "commit", str_or_null(r->commit),
	                      "staging", str_or_null(r->staging_id), "policy",
	                      str_or_null(r->policy_id), "message", r->message);
	if (o && (r->traffic.header_based || r->traffic.weight > 0))
		json_object_set_new(o, "traffic", traffic_json(&r->traffic));
	if (o && r->n_functions) {
		json_t *fs = json_array();
		for (size_t i = 0; i < r->n_functions; i++)
			json_array_append_new(fs,
			                      json_pack("{s:s,s:s}", "function", r->functions[i],
			                                "version", r->versions[i]));
		json_object_set_new(o, "functions", fs);
	}
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return text;
}
