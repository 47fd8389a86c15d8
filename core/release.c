/* Promotion, rollback, revert and invalidation: the release rules, each
 * checked before anything changes and each recorded in the ledger.
 * Validation itself lives in validate.c. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "ledger.h"
#include "release.h"
#include "aws/s3.h"
#include "base/timefmt.h"
#include "stagenow.h"
#include "validate.h"

/* ------------------------------------------------------------ records */

/* The ledger record (newest first) of a release, for its template key. */
static bool find_release_record(const struct es_record_list *recs, const char *commit,
                                const char *release, const char *want_sha, char *key, size_t klen,
                                char *sha, size_t slen, char *rel, size_t rlen)
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
		/* One release has a template per bucket it was copied into. */
		bool ok = k && s && (!want_sha || !*want_sha || strcmp(s, want_sha) == 0);
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

bool es_release_recorded(const struct es_record_list *recs, const char *commit, char *release,
                         size_t len)
{
	char key[512], sha[80];

	return find_release_record(recs, commit, NULL, NULL, key, sizeof(key), sha, sizeof(sha),
	                           release, len);
}

static int read_records(struct es_aws_client *aws, const struct es_config *conf,
                        struct es_record_list *recs)
{
	struct es_ledger *l;
	int rc = es_ledger_open_home(aws, conf, NULL, &l);

	if (rc)
		return rc;
	rc = es_ledger_read(l, recs);
	es_ledger_free(l);
	if (rc == ES_OK)
		return ES_OK;
	/* A ledger S3 could not give holds only what the cache had: the rules
	 * need every record, so refuse rather than judge on part of them. */
	if (recs->offline) {
		char reason[sizeof(recs->offline_reason)];
		snprintf(reason, sizeof(reason), "%s", recs->offline_reason);
		es_record_list_free(recs);
		return es_fail(ES_ENET, "the ledger cannot be read: %s", reason);
	}
	es_record_list_free(recs);
	return rc;
}

/* ------------------------------------------------------------ promotion */

/* Rule 3: the newest validation of `from` must stand for what it runs now
 * (same release, same distribution, nothing deployed since), must have
 * passed, and must have run after its distribution reached Deployed. */
static int check_validated(const struct es_record_list *recs, const struct es_stage_conf *from,
                           const struct es_stage_now *now)
{
	struct es_stage_state state = {
	        .release = now->release,
	        .distribution_id = now->distribution_id,
	        .distribution_etag = now->dist.etag,
	        .distribution_modified =
	                now->dist.last_modified ? es_time_parse(now->dist.last_modified) : 0,
	};
	struct es_validation_verdict v;

	es_validation_judge(recs, from->name, &state, &v);
	if (v.state != ES_VALIDATION_PASSED)
		return es_fail(ES_EREFUSED, "%s", v.why);
	return ES_OK;
}

/* What a promotion's check needs, owned by the deploy. */
struct promote_arg {
	char to[64];
};

/* On the deploy's job: rule 3, and the release of the stage promoted from. */
static int promote_check(struct es_aws_client *aws, const struct es_config *conf, void *arg,
                         struct es_release_buf *out, bool *already)
{
	const struct promote_arg *a = arg;
	const struct es_stage_conf *dst = es_config_stage(conf, a->to);
	const struct es_stage_conf *src = es_config_stage(conf, dst->promotes_from);
	struct es_stage_now from_now, to_now;
	struct es_record_list recs;
	int rc;

	*already = false;
	struct es_aws_client *src_aws = es_accounts_client(aws, conf, src);
	struct es_aws_client *dst_aws = es_accounts_client(aws, conf, dst);
	if (!src_aws || !dst_aws)
		return es_fail_prefix("promoting to %s", dst->name);
	rc = es_stage_now_read(src_aws, src, &from_now);
	if (rc)
		return rc;
	rc = es_stage_now_read(dst_aws, dst, &to_now);
	if (rc) {
		es_stage_now_free(&from_now);
		return rc;
	}
	if (!from_now.exists || !from_now.release[0])
		rc = es_fail(ES_EREFUSED,
		             "%s runs no edgeship release yet: deploy a commit to it first",
		             src->name);
	else if (es_stack_busy(from_now.status))
		rc = es_fail(ES_EBUSY, "stack %s is %s: wait until it settles", src->stack,
		             from_now.status);
	else if (from_now.dist.status && strcmp(from_now.dist.status, "Deployed") != 0)
		rc = es_fail(ES_EBUSY,
		             "%s's distribution %s is %s: promotion waits until it is Deployed and "
		             "validated",
		             src->name, from_now.distribution_id, from_now.dist.status);
	else if (to_now.exists && es_stack_busy(to_now.status))
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
	/* The source stage's own template of the release first (a copy in
	 * another stage's bucket has its own); else any, which then refuses. */
	if (!rc &&
	    !find_release_record(&recs, from_now.commit, from_now.release, from_now.template_sha256,
	                         out->template_key, sizeof(out->template_key), out->template_sha256,
	                         sizeof(out->template_sha256), out->release,
	                         sizeof(out->release)) &&
	    !find_release_record(&recs, from_now.commit, from_now.release, NULL, out->template_key,
	                         sizeof(out->template_key), out->template_sha256,
	                         sizeof(out->template_sha256), out->release, sizeof(out->release)))
		rc = es_fail(ES_ENOTFOUND,
		             "the ledger has no successful deploy of release %s: cannot find its "
		             "packaged template",
		             from_now.release);
	es_record_list_free(&recs);
	if (rc)
		goto out;
	if (strcmp(out->template_sha256, from_now.template_sha256) != 0 &&
	    from_now.template_sha256[0]) {
		rc = es_fail(ES_EREFUSED,
		             "the ledger's template for %s does not match what %s runs",
		             from_now.release, src->name);
		goto out;
	}
	snprintf(out->commit, sizeof(out->commit), "%s", from_now.commit);
out:
	es_stage_now_free(&from_now);
	es_stage_now_free(&to_now);
	return rc;
}

int es_promote_start(struct es_aws_client *aws, const struct es_config *conf, const char *to,
                     bool yes, long poll_ms, long timeout_s, es_deploy_event_fn fn, void *ud,
                     struct es_deploy **out)
{
	const struct es_stage_conf *dst = es_config_stage(conf, to);
	struct promote_arg *a;
	int rc;

	*out = NULL;
	if (!dst)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", to ? to : "", conf->path);
	if (es_config_refuse_pipeline_stage(conf, to, "promote"))
		return ES_EREFUSED;
	if (!dst->promotes_from)
		return es_fail(ES_EREFUSED,
		               "stage %s receives commits, not promotions: use "
		               "`edgeship deploy REV --stage %s`",
		               dst->name, dst->name);
	if (!es_config_stage(conf, dst->promotes_from))
		return es_fail(ES_ECONFIG, "stage %s promotes from %s, which %s does not define",
		               dst->name, dst->promotes_from, conf->path);
	a = calloc(1, sizeof(*a));
	if (!a)
		return es_fail(ES_ENOMEM, "out of memory");
	snprintf(a->to, sizeof(a->to), "%s", dst->name);
	struct es_deploy_request req = {
	        .conf = conf,
	        .stage = dst->name,
	        .kind = "promotion",
	        .yes = yes,
	        .poll_ms = poll_ms,
	        .timeout_s = timeout_s,
	        .check = promote_check,
	        .check_arg = a,
	        .check_free = free,
	        .from = dst->promotes_from,
	};
	rc = es_deploy_start(aws, &req, fn, ud, out);
	if (rc)
		free(a);
	return rc;
}

/* ------------------------------------------------------------ rollback */

struct rollback_arg {
	char stage[64];
	char commit[41];
};

/* On the deploy's job: the recorded release of the commit, and whether the
 * stage can take it. */
static int rollback_check(struct es_aws_client *aws, const struct es_config *conf, void *arg,
                          struct es_release_buf *out, bool *already)
{
	const struct rollback_arg *a = arg;
	const struct es_stage_conf *sc = es_config_stage(conf, a->stage);
	struct es_stage_now now;
	struct es_record_list recs;
	int rc;

	*already = false;
	rc = read_records(aws, conf, &recs);
	if (rc)
		return rc;
	bool found = find_release_record(&recs, a->commit, NULL, NULL, out->template_key,
	                                 sizeof(out->template_key), out->template_sha256,
	                                 sizeof(out->template_sha256), out->release,
	                                 sizeof(out->release));
	es_record_list_free(&recs);
	if (!found)
		return es_fail(ES_EREFUSED,
		               "no release of %.7s was ever deployed, so there is nothing recorded "
		               "to roll back to: deploy it with `edgeship deploy %.7s --stage %s` "
		               "(it will be packaged)",
		               a->commit, a->commit,
		               sc->promotes_from ? sc->promotes_from : sc->name);
	snprintf(out->commit, sizeof(out->commit), "%s", a->commit);
	if (!es_accounts_client(aws, conf, sc))
		return es_fail_prefix("stage %s", sc->name);
	rc = es_stage_now_read(es_accounts_client(aws, conf, sc), sc, &now);
	if (rc)
		return rc;
	if (now.exists && strcmp(now.release, out->release) == 0) {
		*already = true;
		snprintf(out->message, sizeof(out->message),
		         "already running this release: %s runs release %s (%.7s)", sc->name,
		         out->release, a->commit);
	} else if (now.dist.status && strcmp(now.dist.status, "Deployed") != 0) {
		rc = es_fail(ES_EBUSY,
		             "%s's distribution %s is %s: no new change until the current one is "
		             "fully deployed (use --wait)",
		             sc->name, now.distribution_id, now.dist.status);
	}
	es_stage_now_free(&now);
	return rc;
}

int es_promote_release(struct es_aws_client *aws, const struct es_config *conf, const char *to,
                       struct es_release_buf *out, bool *already)
{
	const struct es_stage_conf *dst = es_config_stage(conf, to);
	struct promote_arg a;

	memset(out, 0, sizeof(*out));
	*already = false;
	if (!dst || !dst->promotes_from || !es_config_stage(conf, dst->promotes_from))
		return es_fail(ES_EREFUSED, "stage %s receives commits, not promotions",
		               to ? to : "");
	snprintf(a.to, sizeof(a.to), "%s", dst->name);
	return promote_check(aws, conf, &a, out, already);
}

int es_recorded_release(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                        const char *commit, struct es_release_buf *out, bool *already)
{
	struct rollback_arg a;

	memset(out, 0, sizeof(*out));
	*already = false;
	if (!es_config_stage(conf, stage))
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	snprintf(a.stage, sizeof(a.stage), "%s", stage);
	snprintf(a.commit, sizeof(a.commit), "%s", commit);
	return rollback_check(aws, conf, &a, out, already);
}

int es_rollback_start(struct es_aws_client *aws, const struct es_config *conf, struct es_repo *repo,
                      const char *stage, const char *rev, bool yes, long poll_ms, long timeout_s,
                      es_deploy_event_fn fn, void *ud, struct es_deploy **out)
{
	return es_redeploy_start(aws, conf, repo, stage, rev, "rollback", yes, poll_ms, timeout_s,
	                         fn, ud, out);
}

int es_redeploy_start(struct es_aws_client *aws, const struct es_config *conf, struct es_repo *repo,
                      const char *stage, const char *rev, const char *kind, bool yes, long poll_ms,
                      long timeout_s, es_deploy_event_fn fn, void *ud, struct es_deploy **out)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct rollback_arg *a;
	int rc;

	*out = NULL;
	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	a = calloc(1, sizeof(*a));
	if (!a)
		return es_fail(ES_ENOMEM, "out of memory");
	/* Naming the commit is local and quick; the rest runs on the job. A
	 * full id needs no repository (a background job has none). */
	if (!repo && rev && strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40) {
		snprintf(a->commit, sizeof(a->commit), "%s", rev);
		rc = ES_OK;
	} else {
		rc = es_repo_resolve(repo, rev, a->commit);
	}
	if (rc) {
		free(a);
		return rc;
	}
	snprintf(a->stage, sizeof(a->stage), "%s", sc->name);
	struct es_deploy_request req = {
	        .conf = conf,
	        .stage = sc->name,
	        .kind = kind,
	        .yes = yes,
	        .poll_ms = poll_ms,
	        .timeout_s = timeout_s,
	        .check = rollback_check,
	        .check_arg = a,
	        .check_free = free,
	};
	rc = es_deploy_start(aws, &req, fn, ud, out);
	if (rc)
		free(a);
	return rc;
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
	struct es_stage_now now;
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
	struct es_aws_client *base = aws;
	if (!(aws = es_accounts_client(base, conf, sc)))
		return es_fail_prefix("stage %s", sc->name);
	rc = es_stage_now_read(aws, sc, &now);
	if (rc)
		return rc;
	if (!now.distribution_id[0]) {
		es_stage_now_free(&now);
		return es_fail(ES_ENOTFOUND,
		               "stack %s has no CloudFront distribution to invalidate", sc->stack);
	}
	json_t *jpaths = json_array();
	for (size_t i = 0; i < n_paths; i++)
		json_array_append_new(jpaths, json_string(paths[i]));
	rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:i}", "kind", "invalidation", "phase",
	                "intent", "stage", sc->name, "commit", now.commit, "release", now.release,
	                "distribution_id", now.distribution_id, "paths", jpaths, "intent_seq", 0);
	rc = es_ledger_open_home(base, conf, sc, &l);
	if (!rc)
		rc = es_ledger_append(l, rec, &seq);
	if (rc)
		goto out;
	/* One caller reference per recorded intent: any retry of this request
	 * finds the invalidation it already made instead of making another. */
	snprintf(out->caller_reference, sizeof(out->caller_reference), "edgeship-%s-%ld",
	         now.release[0] ? now.release : "none", seq);
	snprintf(out->distribution_id, sizeof(out->distribution_id), "%s", now.distribution_id);
	out->creds = &sc->creds;
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
	es_stage_now_free(&now);
	return rc;
}

int es_invalidation_poll(struct es_aws_client *aws, struct es_invalidation *inv)
{
	char *status = NULL;
	struct es_stage_conf st = {.creds = inv->creds ? *inv->creds : (struct es_creds_conf){0}};
	struct es_aws_client *sa = es_accounts_client(aws, NULL, &st);
	int rc = sa ? es_cf_get_invalidation(sa, inv->distribution_id, inv->id, &status)
	            : es_fail_prefix("polling invalidation %s", inv->id);

	if (!rc)
		snprintf(inv->status, sizeof(inv->status), "%s", status);
	free(status);
	return rc;
}
