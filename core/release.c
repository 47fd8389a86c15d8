/* Promotion, rollback, revert, invalidation and validation: the release
 * rules, each checked before anything changes and each recorded in the
 * ledger. */
#include "config.h"

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "edges.h"
#include "ledger.h"
#include "release.h"
#include "aws/s3.h"
#include "base/timefmt.h"

/* ------------------------------------------------------------ stage facts */

/* What a stage runs right now, read synchronously. */
struct stage_now {
	bool exists;
	char status[64];
	char commit[41];
	char release[80];
	char template_sha[65];
	char distribution_id[64];
	struct es_distribution dist; /* zeroed when there is none */
};

static void stage_now_free(struct stage_now *s)
{
	es_distribution_free(&s->dist);
}

static int read_stage_now(struct es_aws_client *aws, const struct es_stage_conf *sc,
                          struct stage_now *out)
{
	struct es_stack st;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_cfn_describe_stack(aws, sc->stack, &st);
	if (rc == ES_ENOTFOUND)
		return ES_OK;
	if (rc)
		return es_fail_prefix("reading stack %s", sc->stack);
	out->exists = true;
	snprintf(out->status, sizeof(out->status), "%s", st.status);
	const char *v;
	if ((v = es_kv_get(st.tags, st.n_tags, "edgeship:commit")))
		snprintf(out->commit, sizeof(out->commit), "%s", v);
	if ((v = es_kv_get(st.tags, st.n_tags, "edgeship:release")))
		snprintf(out->release, sizeof(out->release), "%s", v);
	if ((v = es_kv_get(st.tags, st.n_tags, "edgeship:template")))
		snprintf(out->template_sha, sizeof(out->template_sha), "%s", v);
	es_stack_free(&st);

	rc = es_cfn_stack_distribution(aws, sc->stack, out->distribution_id,
	                               sizeof(out->distribution_id));
	if (rc)
		return es_fail_prefix("reading the resources of %s", sc->stack);
	if (out->distribution_id[0]) {
		rc = es_cf_get_distribution(aws, out->distribution_id, &out->dist);
		if (rc)
			return es_fail_prefix("reading distribution %s", out->distribution_id);
	}
	return ES_OK;
}

static bool busy(const char *status)
{
	return es_cfn_status_in_progress(status) && strcmp(status, "REVIEW_IN_PROGRESS") != 0;
}

/* The ledger record (newest first) of a release, for its template key. */
static bool find_release_record(const struct es_record_list *recs, const char *commit,
                                const char *release, char *key, size_t klen, char *sha, size_t slen,
                                char *rel, size_t rlen)
{
	for (size_t i = recs->n; i-- > 0;) {
		const struct es_record *r = &recs->items[i];
		bool kind_ok = strcmp(r->kind, "deploy") == 0 ||
		               strcmp(r->kind, "promotion") == 0 ||
		               strcmp(r->kind, "rollback") == 0;
		if (!kind_ok || strcmp(r->phase, "outcome") != 0)
			continue;
		if (strcmp(r->result, "success") != 0 && strcmp(r->result, "no-changes") != 0)
			continue;
		if (release && strcmp(r->release, release) != 0)
			continue;
		if (commit && strncmp(r->commit, commit, strlen(commit)) != 0)
			continue;
		json_t *o = json_loads(r->json, 0, NULL);
		const char *k =
		        json_string_value(json_object_get(json_object_get(o, "template"), "key"));
		const char *s = json_string_value(
		        json_object_get(json_object_get(o, "template"), "sha256"));
		bool ok = k && s;
		if (ok) {
			snprintf(key, klen, "%s", k);
			snprintf(sha, slen, "%s", s);
			snprintf(rel, rlen, "%s", r->release);
		}
		json_decref(o);
		if (ok)
			return true;
	}
	return false;
}

static int read_records(struct es_aws_client *aws, const struct es_config *conf,
                        struct es_record_list *recs)
{
	struct es_ledger *l;
	int rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);

	if (rc)
		return rc;
	rc = es_ledger_read(l, recs);
	es_ledger_free(l);
	if (!rc && recs->offline) {
		es_record_list_free(recs);
		return es_fail(ES_ENET, "the ledger cannot be read: %s", recs->offline_reason);
	}
	return rc;
}

/* ------------------------------------------------------------ promotion */

/* Rule 3: the newest validation of `from` must be for the release it runs,
 * must have passed, and must have run after its distribution last became
 * Deployed. */
static int check_validated(const struct es_record_list *recs, const struct es_stage_conf *from,
                           const struct stage_now *now)
{
	for (size_t i = recs->n; i-- > 0;) {
		const struct es_record *r = &recs->items[i];
		if (strcmp(r->kind, "validation") != 0 || strcmp(r->stage, from->name) != 0)
			continue;
		if (strcmp(r->release, now->release) != 0)
			return es_fail(
			        ES_EREFUSED,
			        "%s's latest validation (#%ld) was for release %s, but it runs "
			        "%s: run `edgeship validate --stage %s`",
			        from->name, r->seq, r->release, now->release, from->name);
		if (strcmp(r->result, "passed") != 0)
			return es_fail(ES_EREFUSED,
			               "%s's latest validation (#%ld) failed: %s; fix it, deploy, "
			               "validate again",
			               from->name, r->seq, r->message);
		json_t *o = json_loads(r->json, 0, NULL);
		const char *ds = json_string_value(json_object_get(o, "distribution_status"));
		const char *dm = json_string_value(json_object_get(o, "distribution_modified"));
		bool deployed = ds && strcmp(ds, "Deployed") == 0;
		bool same = !now->dist.last_modified ||
		            (dm && strcmp(dm, now->dist.last_modified) == 0);
		json_decref(o);
		if (!deployed)
			return es_fail(
			        ES_EREFUSED,
			        "%s's validation (#%ld) ran while its distribution was still "
			        "InProgress: validate again now that it is Deployed",
			        from->name, r->seq);
		if (!same)
			return es_fail(
			        ES_EREFUSED,
			        "%s's distribution changed after validation #%ld: validate again",
			        from->name, r->seq);
		return ES_OK;
	}
	return es_fail(ES_EREFUSED, "%s has not been validated: run `edgeship validate --stage %s`",
	               from->name, from->name);
}

int es_promote_start(struct es_aws_client *aws, const struct es_config *conf, const char *to,
                     bool yes, long poll_ms, long timeout_s, es_deploy_event_fn fn, void *ud,
                     struct es_deploy **out)
{
	const struct es_stage_conf *dst = es_config_stage(conf, to);
	const struct es_stage_conf *src;
	struct stage_now from_now, to_now;
	struct es_record_list recs;
	char key[512], sha[65], rel[80];
	int rc;

	*out = NULL;
	if (!dst)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", to ? to : "", conf->path);
	if (!dst->promotes_from)
		return es_fail(ES_EREFUSED,
		               "stage %s receives commits, not promotions: use "
		               "`edgeship deploy REV --stage %s`",
		               dst->name, dst->name);
	src = es_config_stage(conf, dst->promotes_from);
	rc = read_stage_now(aws, src, &from_now);
	if (rc)
		return rc;
	rc = read_stage_now(aws, dst, &to_now);
	if (rc) {
		stage_now_free(&from_now);
		return rc;
	}
	if (!from_now.exists || !from_now.release[0])
		rc = es_fail(ES_EREFUSED,
		             "%s runs no edgeship release yet: deploy a commit to it first",
		             src->name);
	else if (busy(from_now.status))
		rc = es_fail(ES_EBUSY, "stack %s is %s: wait until it settles", src->stack,
		             from_now.status);
	else if (from_now.dist.status && strcmp(from_now.dist.status, "Deployed") != 0)
		rc = es_fail(ES_EBUSY,
		             "%s's distribution %s is %s: promotion waits until it is Deployed and "
		             "validated",
		             src->name, from_now.distribution_id, from_now.dist.status);
	else if (to_now.exists && busy(to_now.status))
		rc = es_fail(ES_EBUSY, "stack %s is %s: wait until it settles", dst->stack,
		             to_now.status);
	else if (to_now.dist.status && strcmp(to_now.dist.status, "Deployed") != 0)
		rc = es_fail(ES_EBUSY,
		             "%s's distribution %s is %s: no new change until the current one is "
		             "fully deployed (use --wait)",
		             dst->name, to_now.distribution_id, to_now.dist.status);
	if (rc)
		goto out;
	rc = read_records(aws, conf, &recs);
	if (rc)
		goto out;
	rc = check_validated(&recs, src, &from_now);
	if (!rc && !find_release_record(&recs, from_now.commit, from_now.release, key, sizeof(key),
	                                sha, sizeof(sha), rel, sizeof(rel)))
		rc = es_fail(ES_ENOTFOUND,
		             "the ledger has no successful deploy of release %s: cannot find its "
		             "packaged template",
		             from_now.release);
	es_record_list_free(&recs);
	if (rc)
		goto out;
	if (strcmp(sha, from_now.template_sha) != 0 && from_now.template_sha[0]) {
		rc = es_fail(ES_EREFUSED,
		             "the ledger's template for %s does not match what %s runs",
		             from_now.release, src->name);
		goto out;
	}
	struct es_release_ref ref = {
	        .commit = from_now.commit,
	        .release = rel,
	        .template_key = key,
	        .template_sha256 = sha,
	};
	struct es_deploy_request req = {
	        .conf = conf,
	        .stage = dst->name,
	        .release = &ref,
	        .kind = "promotion",
	        .yes = yes,
	        .poll_ms = poll_ms,
	        .timeout_s = timeout_s,
	};
	rc = es_deploy_start(aws, &req, fn, ud, out);
out:
	stage_now_free(&from_now);
	stage_now_free(&to_now);
	return rc;
}

/* ------------------------------------------------------------ rollback */

int es_rollback_start(struct es_aws_client *aws, const struct es_config *conf, struct es_repo *repo,
                      const char *stage, const char *rev, bool yes, long poll_ms, long timeout_s,
                      es_deploy_event_fn fn, void *ud, struct es_deploy **out, bool *already)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct stage_now now;
	struct es_record_list recs;
	char commit[41], key[512], sha[65], rel[80];
	int rc;

	*out = NULL;
	*already = false;
	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	rc = es_repo_resolve(repo, rev, commit);
	if (rc)
		return rc;
	rc = read_records(aws, conf, &recs);
	if (rc)
		return rc;
	bool found = find_release_record(&recs, commit, NULL, key, sizeof(key), sha, sizeof(sha),
	                                 rel, sizeof(rel));
	es_record_list_free(&recs);
	if (!found)
		return es_fail(ES_ENOTFOUND,
		               "no release of %.7s was ever deployed, so there is nothing recorded "
		               "to roll back to: deploy it with `edgeship deploy %.7s --stage %s` "
		               "(it will be packaged)",
		               commit, commit, sc->promotes_from ? sc->promotes_from : sc->name);
	rc = read_stage_now(aws, sc, &now);
	if (rc)
		return rc;
	if (now.exists && strcmp(now.release, rel) == 0) {
		stage_now_free(&now);
		*already = true;
		return es_fail(ES_OK, "%s already runs release %s (%.7s)", sc->name, rel, commit);
	}
	if (now.dist.status && strcmp(now.dist.status, "Deployed") != 0) {
		rc = es_fail(ES_EBUSY,
		             "%s's distribution %s is %s: no new change until the current one is "
		             "fully deployed (use --wait)",
		             sc->name, now.distribution_id, now.dist.status);
		stage_now_free(&now);
		return rc;
	}
	stage_now_free(&now);
	struct es_release_ref ref = {
	        .commit = commit,
	        .release = rel,
	        .template_key = key,
	        .template_sha256 = sha,
	};
	struct es_deploy_request req = {
	        .conf = conf,
	        .stage = sc->name,
	        .release = &ref,
	        .kind = "rollback",
	        .yes = yes,
	        .poll_ms = poll_ms,
	        .timeout_s = timeout_s,
	};
	return es_deploy_start(aws, &req, fn, ud, out);
}

int es_revert_commit(struct es_repo *repo, const char *rev, char new_oid[41])
{
	return es_repo_revert(repo, rev, new_oid);
}

/* ------------------------------------------------------------ invalidation */

int es_invalidation_check_paths(const char *const *paths, size_t n)
{
	if (n == 0)
		return es_fail(ES_EINVAL, "give at least one path, e.g. /*");
	if (n > 3000)
		return es_fail(ES_EINVAL,
		               "%zu paths: CloudFront takes at most 3000 at once; use a "
		               "wildcard such as /assets/*",
		               n);
	for (size_t i = 0; i < n; i++) {
		const char *p = paths[i];
		size_t len = strlen(p);
		const char *star = strchr(p, '*');
		if (p[0] != '/')
			return es_fail(ES_EINVAL, "path \"%s\" must start with '/'", p);
		if (len > 4000)
			return es_fail(ES_EINVAL, "path \"%.40s…\" is longer than 4000 characters",
			               p);
		if (star && star != p + len - 1)
			return es_fail(ES_EINVAL, "path \"%s\": '*' may only be the last character",
			               p);
		for (const unsigned char *c = (const unsigned char *)p; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return es_fail(ES_EINVAL,
				               "path \"%s\" has a space or control character: "
				               "URL-encode it (e.g. %%20)",
				               p);
	}
	return ES_OK;
}

int es_invalidate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                  const char *const *paths, size_t n_paths, struct es_invalidation *out)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	static const char *const all[] = {"/*"};
	struct stage_now now;
	struct es_ledger *l = NULL;
	long seq = 0, oseq;
	char *id = NULL, *status = NULL;
	json_t *rec;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	if (n_paths == 0) {
		paths = all;
		n_paths = 1;
	}
	rc = es_invalidation_check_paths(paths, n_paths);
	if (rc)
		return rc;
	rc = read_stage_now(aws, sc, &now);
	if (rc)
		return rc;
	if (!now.distribution_id[0]) {
		stage_now_free(&now);
		return es_fail(ES_ENOTFOUND,
		               "stack %s has no CloudFront distribution to invalidate", sc->stack);
	}
	json_t *jpaths = json_array();
	for (size_t i = 0; i < n_paths; i++)
		json_array_append_new(jpaths, json_string(paths[i]));
	rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:i}", "kind", "invalidation", "phase",
	                "intent", "stage", sc->name, "commit", now.commit, "release", now.release,
	                "distribution_id", now.distribution_id, "paths", jpaths, "intent_seq", 0);
	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (!rc)
		rc = es_ledger_append(l, rec, &seq);
	if (rc)
		goto out;
	/* One caller reference per recorded intent: any retry of this request
	 * finds the invalidation it already made instead of making another. */
	snprintf(out->caller_reference, sizeof(out->caller_reference), "edgeship-%s-%ld",
	         now.release[0] ? now.release : "none", seq);
	snprintf(out->distribution_id, sizeof(out->distribution_id), "%s", now.distribution_id);
	rc = es_cf_create_invalidation(aws, now.distribution_id, out->caller_reference, paths,
	                               n_paths, &id, &status);
	json_object_set_new(rec, "phase", json_string("outcome"));
	json_object_set_new(rec, "intent_seq", json_integer(seq));
	json_object_set_new(rec, "caller_reference", json_string(out->caller_reference));
	if (rc) {
		struct es_error saved;
		char line[600];
		es_error_save(&saved);
		json_object_set_new(rec, "result", json_string("failed"));
		json_object_set_new(rec, "message",
		                    json_string(es_error_format(&saved, line, sizeof(line))));
		json_object_del(rec, "when");
		es_ledger_append(l, rec, &oseq);
		es_error_restore(&saved);
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->status, sizeof(out->status), "%s", status ? status : "InProgress");
	json_object_set_new(rec, "result", json_string("success"));
	json_object_set_new(rec, "invalidation_id", json_string(id));
	json_object_set_new(rec, "message", json_string(out->status));
	json_object_del(rec, "when");
	rc = es_ledger_append(l, rec, &oseq);
out:
	free(id);
	free(status);
	json_decref(jpaths);
	json_decref(rec);
	es_ledger_free(l);
	stage_now_free(&now);
	return rc;
}

int es_invalidation_poll(struct es_aws_client *aws, struct es_invalidation *inv)
{
	char *status = NULL;
	int rc = es_cf_get_invalidation(aws, inv->distribution_id, inv->id, &status);

	if (!rc)
		snprintf(inv->status, sizeof(inv->status), "%s", status);
	free(status);
	return rc;
}

/* ------------------------------------------------------------ validation */

struct probe {
	const struct es_check_conf *check;
	struct es_check_result *result;
	int pending;
	int failures;
	double total_ms;
	char url[1024];
	char connect_to[300];
	regex_t re;
	bool have_re;
};

static void on_check_answer(const struct es_http_response *resp, void *ud)
{
	struct probe *p = ud;
	const struct es_check_conf *k = p->check;
	struct es_check_result *r = p->result;
	char why[256] = "";

	p->pending--;
	p->total_ms += resp->total_seconds * 1000.0;
	r->status = resp->status;
	if (resp->status == 0)
		snprintf(why, sizeof(why), "no answer: %s", resp->error);
	else if (resp->status != k->status)
		snprintf(why, sizeof(why), "status %ld, expected %ld", resp->status, k->status);
	else if (k->body_contains && !strstr(es_buf_str(&resp->body), k->body_contains))
		snprintf(why, sizeof(why), "body lacks \"%s\"", k->body_contains);
	else if (p->have_re && regexec(&p->re, es_buf_str(&resp->body), 0, NULL, 0) != 0)
		snprintf(why, sizeof(why), "body does not match /%s/", k->body_matches);
	else if (k->header) {
		char name[128];
		const char *colon = strchr(k->header, ':');
		size_t n = colon ? (size_t)(colon - k->header) : strlen(k->header);
		snprintf(name, sizeof(name), "%.*s", (int)n, k->header);
		const char *want = colon ? colon + 1 : NULL;
		while (want && *want == ' ')
			want++;
		const char *got = es_http_header(resp, name);
		if (!got || (want && *want && !strstr(got, want)))
			snprintf(why, sizeof(why), "header %s is %s", name, got ? got : "missing");
	}
	if (why[0]) {
		if (!p->failures)
			snprintf(r->detail, sizeof(r->detail), "%s", why);
		p->failures++;
	}
}

int es_validate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                struct es_check_result *results, size_t max, size_t *n, bool *passed)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct probe probes[ES_MODEL_MAX_CHECKS];
	struct stage_now now;
	size_t np = 0;
	int rc;

	*n = 0;
	*passed = false;
	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	rc = read_stage_now(aws, sc, &now);
	if (rc)
		return rc;
	if (!now.exists) {
		stage_now_free(&now);
		return es_fail(ES_EREFUSED, "%s is not deployed: nothing to validate", sc->name);
	}
	memset(probes, 0, sizeof(probes));
	for (size_t i = 0; i < conf->n_checks && np < max && np < ES_MODEL_MAX_CHECKS; i++) {
		const struct es_check_conf *k = &conf->checks[i];
		bool mine = k->n_stages == 0;
		for (size_t j = 0; j < k->n_stages; j++)
			mine |= strcmp(k->stages[j], sc->name) == 0;
		if (!mine)
			continue;
		struct probe *p = &probes[np];
		p->check = k;
		p->result = &results[np];
		memset(p->result, 0, sizeof(*p->result));
		snprintf(p->result->name, sizeof(p->result->name), "%s", k->name);
		if (k->url) {
			snprintf(p->url, sizeof(p->url), "%s", k->url);
		} else if (sc->url) {
			size_t ul = strlen(sc->url);
			snprintf(p->url, sizeof(p->url), "%.*s%s",
			         (int)(ul && sc->url[ul - 1] == '/' ? ul - 1 : ul), sc->url,
			         k->path);
		} else if (now.dist.domain_name) {
			snprintf(p->url, sizeof(p->url), "https://%s%s", now.dist.domain_name,
			         k->path);
		} else {
			stage_now_free(&now);
			return es_fail(ES_ECONFIG,
			               "[check \"%s\"] has a path but stage %s has no url", k->name,
			               sc->name);
		}
		/* Through the first configured edge, keeping Host and SNI right. */
		if (sc->n_probes) {
			char routed[1024];
			es_edges_route(p->url, sc->probes[0], routed, sizeof(routed), p->connect_to,
			               sizeof(p->connect_to));
			snprintf(p->url, sizeof(p->url), "%s", routed);
		}
		if (k->body_matches)
			p->have_re =
			        regcomp(&p->re, k->body_matches, REG_EXTENDED | REG_NOSUB) == 0;
		np++;
	}
	if (np == 0) {
		stage_now_free(&now);
		return es_fail(ES_ECONFIG,
		               "no [check] applies to stage %s: add one to edgeship.conf",
		               sc->name);
	}
	/* Every sample of every check goes out at once. */
	struct es_loop *loop = es_aws_loop(aws);
	int pending = 0;
	for (size_t i = 0; i < np; i++) {
		struct probe *p = &probes[i];
		for (int s = 0; s < (p->check->samples > 0 ? p->check->samples : 1); s++) {
			struct es_http_request req = {
			        .method = "GET",
			        .url = p->url,
			        .timeout_ms = p->check->timeout_ms,
			        .connect_timeout_ms = p->check->timeout_ms,
			        .connect_to = p->connect_to[0] ? p->connect_to : NULL,
			};
			if (es_http_send(loop, &req, on_check_answer, p, NULL) == ES_OK) {
				p->pending++;
				pending++;
			}
		}
	}
	for (;;) {
		int left = 0;
		for (size_t i = 0; i < np; i++)
			left += probes[i].pending;
		if (!left)
			break;
		if (es_loop_turn_quiet(loop, 500))
			break;
	}
	*passed = true;
	json_t *checks = json_array();
	for (size_t i = 0; i < np; i++) {
		struct probe *p = &probes[i];
		int samples = p->check->samples > 0 ? p->check->samples : 1;
		p->result->passed = p->failures == 0;
		p->result->latency_ms = p->total_ms / samples;
		if (p->result->passed)
			snprintf(p->result->detail, sizeof(p->result->detail), "%d/%d ok", samples,
			         samples);
		*passed &= p->result->passed;
		if (p->have_re)
			regfree(&p->re);
		json_array_append_new(checks,
		                      json_pack("{s:s,s:b,s:I,s:f,s:s,s:s}", "name",
		                                p->result->name, "passed", p->result->passed,
		                                "status", (json_int_t)p->result->status,
		                                "latency_ms", p->result->latency_ms, "detail",
		                                p->result->detail, "url", p->url));
	}
	*n = np;
	/* The record promotion reads: release, result, and the distribution's
	 * state when the checks ran. */
	struct es_ledger *l;
	long seq;
	char msg[300];
	snprintf(msg, sizeof(msg), "%s", *passed ? "all checks passed" : results[0].detail);
	for (size_t i = 0; i < np && !*passed; i++)
		if (!results[i].passed) {
			snprintf(msg, sizeof(msg), "%s: %s", results[i].name, results[i].detail);
			break;
		}
	json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "kind", "validation", "phase",
	                        "outcome", "stage", sc->name, "commit", now.commit, "release",
	                        now.release, "result", *passed ? "passed" : "failed", "message",
	                        msg, "checks", checks);
	json_object_set_new(rec, "distribution_status",
	                    now.dist.status ? json_string(now.dist.status) : json_null());
	json_object_set_new(rec, "distribution_modified",
	                    now.dist.last_modified ? json_string(now.dist.last_modified)
	                                           : json_null());
	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (!rc)
		rc = es_ledger_append(l, rec, &seq);
	es_ledger_free(l);
	json_decref(rec);
	stage_now_free(&now);
	return rc;
}

char *es_validation_json(const char *stage, const struct es_check_result *results, size_t n,
                         bool passed)
{
	json_t *o = json_object(), *checks = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		        checks, json_pack("{s:s,s:b,s:I,s:f,s:s}", "name", results[i].name,
		                          "passed", results[i].passed, "status",
		                          (json_int_t)results[i].status, "latency_ms",
		                          results[i].latency_ms, "detail", results[i].detail));
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "command", json_string("validate"));
	json_object_set_new(o, "stage", json_string(stage));
	json_object_set_new(o, "passed", json_boolean(passed));
	json_object_set_new(o, "checks", checks);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
