/* Starting a deploy: packaging the commit from its own tree (or naming a
 * recorded release), the release rules checked before anything changes, the
 * artifact bucket, the stage lock, uploads of what S3 lacks and the ledger
 * intent. All of it runs as a background job (core/job.c) with a client of
 * its own, so the loop that draws the screen never waits for git, zip, a
 * hash or AWS; the state machine (deploy.c) takes over on the owner's loop. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "aws/cloudfront.h"
#include "deploy_int.h"
#include "job.h"
#include "package_commit.h"
#include "aws/s3.h"

/* Progress lines from the job carry this mark, then "DONE TOTAL TEXT": the
 * owner's side turns them into ES_DEPLOY_PROGRESS events. */
#define PROGRESS_MARK     '\x1e'
#define PROGRESS_EVERY_MS 100

static const char *size_text(uint64_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MB", (double)n / (1024 * 1024));
	else
		snprintf(buf, len, "%.1f kB", (double)n / 1024);
	return buf;
}

/* The uploads of one release, as one step with one bar. */
struct upload_meter {
	struct es_deploy *d;
	uint64_t base;  /* bytes of the objects already sent */
	uint64_t total; /* bytes of every object to send */
	uint64_t shown; /* the figure last shown */
	int64_t last_ms;
};

static void meter_show(struct upload_meter *m, uint64_t done)
{
	char a[32], b[32];
	int64_t now = es_loop_now_ms();

	if (done == m->shown || (done < m->total && now - m->last_ms < PROGRESS_EVERY_MS))
		return;
	m->last_ms = now;
	m->shown = done;
	es_job_progress(m->d->prep_job, "%c%llu %llu uploading %s of %s", PROGRESS_MARK,
	                (unsigned long long)done, (unsigned long long)m->total,
	                size_text(done, a, sizeof(a)), size_text(m->total, b, sizeof(b)));
}

static void on_upload_progress(uint64_t sent, uint64_t total, void *ud)
{
	struct upload_meter *m = ud;

	(void)total;
	meter_show(m, m->base + sent);
}

struct upload {
	const char *key;
	const void *data;
	size_t len;
	const char *content_type;
	bool missing;
};

/* Objects up to this size are sent with If-None-Match: * rather than asked
 * for first: one request either way (412 says S3 has it). */
#define SEND_UNASKED_MAX (1024 * 1024)

/* Upload what S3 lacks (content-addressed keys: same key, same bytes). The
 * last object is the template, sent after what it names: when the ledger
 * recorded it, S3 is asked for it alone, and having it means having all. */
static int upload_all(struct es_aws_client *aws, struct es_deploy *d, struct upload *ups, size_t n)
{
	struct upload_meter m = {.d = d};
	size_t missing = 0;
	char size[32];

	if (n && es_ledger_mentions(d->prep_ledger, ups[n - 1].key)) {
		struct es_s3_head head;
		int rc = es_s3_head_object(aws, d->conf->bucket, ups[n - 1].key, &head);
		if (rc)
			return rc;
		if (head.exists) {
			es_dp_log(d, "all %zu objects are in S3 already", n);
			return ES_OK;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct es_s3_head head = {.exists = false};
		int rc = ups[i].len > SEND_UNASKED_MAX
		                 ? es_s3_head_object(aws, d->conf->bucket, ups[i].key, &head)
		                 : ES_OK;
		if (rc)
			return rc;
		ups[i].missing = !head.exists;
		if (ups[i].missing) {
			missing++;
			m.total += ups[i].len;
		}
	}
	if (!missing) {
		es_dp_log(d, "all %zu objects are in S3 already", n);
		return ES_OK;
	}
	es_dp_log(d, "uploading %zu of %zu objects (%s) unless S3 has them", missing, n,
	          size_text(m.total, size, sizeof(size)));
	for (size_t i = 0; i < n; i++) {
		if (!ups[i].missing)
			continue;
		struct es_s3_put put = {.content_type = ups[i].content_type,
		                        .if_none_match = ups[i].len <= SEND_UNASKED_MAX,
		                        .progress = d->prep_job ? on_upload_progress : NULL,
		                        .progress_ud = &m};
		es_dp_log(d, "uploading %s (%s)", ups[i].key,
		          size_text(ups[i].len, size, sizeof(size)));
		int rc = es_s3_put_object(aws, d->conf->bucket, ups[i].key, ups[i].data, ups[i].len,
		                          &put);
		if (put.if_none_match && es_s3_conflict(rc, es_error_last())) {
			/* Another console sends the same bytes at this moment. */
			put.if_none_match = false;
			rc = es_s3_put_object(aws, d->conf->bucket, ups[i].key, ups[i].data,
			                      ups[i].len, &put);
		}
		if (put.if_none_match && es_s3_precondition_failed(rc, es_error_last()))
			es_dp_log(d, "%s is in S3 already", ups[i].key);
		else if (rc)
			return rc;
		else
			d->res.n_uploaded++;
		m.base += ups[i].len;
		if (d->prep_job)
			meter_show(&m, m.base);
	}
	return ES_OK;
}

struct export_meter {
	struct es_deploy *d;
	size_t total, shown;
	int64_t last_ms;
};

static void on_export(size_t done, size_t total, void *ud)
{
	struct export_meter *m = ud;
	int64_t now = es_loop_now_ms();

	m->total = total;
	if (done == m->shown || (done < total && now - m->last_ms < PROGRESS_EVERY_MS))
		return;
	m->last_ms = now;
	m->shown = done;
	es_job_progress(m->d->prep_job, "%c%zu %zu exporting %zu of %zu files", PROGRESS_MARK, done,
	                total, done, total);
}

/* Each line of the build's output, as it comes, to the Activity strip or
 * the CI log. */
static void on_build_line(const char *line, void *ud)
{
	struct export_meter *m = ud;

	es_dp_log(m->d, "build: %s", line);
}

static bool build_cancelled(void *ud)
{
	struct export_meter *m = ud;

	return m->d->prep_job && es_job_cancelled(m->d->prep_job);
}

/* Package the commit from its own tree, locally: nothing is sent before
 * every path is known to stay inside the repository. A configured build
 * runs first in the export (or its cached result is used). */
static int package_commit(struct es_deploy *d, struct es_repo *repo, const char *rev,
                          struct es_packaged *pk)
{
	struct es_build_info info;
	int rc;

	es_dp_log(d, "exporting and packaging %s from git (zip and SHA-256 of every artifact)",
	          d->conf->template_path);
	struct export_meter m = {.d = d};
	struct es_package_run run = {
	        .export_fn = d->prep_job ? on_export : NULL,
	        .export_ud = &m,
	        .line = on_build_line,
	        .line_ud = &m,
	        .cancelled = build_cancelled,
	};
	rc = es_package_commit(repo, d->conf, rev ? rev : "HEAD", &run, d->res.commit, pk, &info);
	json_decref(d->build);
	d->build = es_build_info_json(&info);
	if (!rc && info.ran)
		es_dp_log(d, "built %.7s in %.1f s (cache key %.12s)", d->res.commit,
		          info.duration_ms / 1000.0, info.key);
	if (!rc && m.total)
		es_dp_log(d, "exported %zu file%s of %.7s", m.total, m.total == 1 ? "" : "s",
		          d->res.commit);
	if (rc)
		return rc;
	snprintf(d->res.template_sha256, sizeof(d->res.template_sha256), "%s", pk->template_sha256);
	snprintf(d->res.template_key, sizeof(d->res.template_key), "%s", pk->template_key);
	snprintf(d->res.release, sizeof(d->res.release), "%.7s-%.8s", d->res.commit,
	         pk->template_sha256);
	d->res.n_artifacts = pk->n_artifacts;
	for (size_t i = 0; i < pk->n_artifacts; i++) {
		struct es_artifact *a = &pk->artifacts[i];
		json_array_append_new(d->artifacts,
		                      json_pack("{s:s,s:s,s:s,s:s,s:I}", "logical_id",
		                                a->logical_id, "property", a->property, "key",
		                                a->s3_key, "sha256", a->sha256, "bytes",
		                                (json_int_t)a->bytes.len));
	}
	if (strlen(pk->template_json) <= TEMPLATE_BODY_MAX)
		d->template_body = strdup(pk->template_json);
	return ES_OK;
}

/* Upload what S3 lacks of a packaged release: its artifacts, then the
 * template that names them. */
static int upload_packaged(struct es_aws_client *aws, struct es_deploy *d,
                           const struct es_packaged *pk)
{
	struct upload *ups = calloc(pk->n_artifacts + 1, sizeof(*ups));
	int rc;

	if (!ups)
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < pk->n_artifacts; i++) {
		const struct es_artifact *a = &pk->artifacts[i];
		ups[i] = (struct upload){a->s3_key, a->bytes.data, a->bytes.len,
		                         a->is_zip ? "application/zip" : "application/octet-stream",
		                         false};
	}
	ups[pk->n_artifacts] =
	        (struct upload){pk->template_key, pk->template_json, strlen(pk->template_json),
	                        "application/json", false};
	rc = upload_all(aws, d, ups, pk->n_artifacts + 1);
	free(ups);
	return rc;
}

/* A recorded release: no rebuild, the template comes from the bucket
 * (copied first from the stage it comes from when that stage keeps its
 * artifacts in another bucket). */
static int use_release(struct es_aws_client *base, struct es_aws_client *aws, struct es_deploy *d,
                       const struct es_release_ref *r)
{
	struct es_buf body = ES_BUF_INIT;
	int rc;

	snprintf(d->res.commit, sizeof(d->res.commit), "%s", r->commit);
	snprintf(d->res.release, sizeof(d->res.release), "%s", r->release);
	/* Its artifacts are in S3 already: nothing is exported nor built. */
	json_decref(d->build);
	d->build =
	        json_pack("{s:b,s:b,s:s,s:s}", "configured", d->conf->build != NULL, "ran", 0,
	                  "cache", "off", "reason", "a recorded release: its artifacts are reused");
	snprintf(d->res.template_key, sizeof(d->res.template_key), "%s", r->template_key);
	snprintf(d->res.template_sha256, sizeof(d->res.template_sha256), "%s", r->template_sha256);
	if ((rc = es_dp_fetch_release(base, aws, d)))
		return es_fail_prefix("release %s", r->release);
	rc = es_s3_get_object(aws, d->conf->bucket, d->res.template_key, &body);
	if (rc)
		return es_fail_prefix("release %s: its packaged template s3://%s/%s", r->release,
		                      d->conf->bucket, r->template_key);
	if (body.len <= TEMPLATE_BODY_MAX)
		d->template_body = es_buf_steal(&body);
	es_buf_free(&body);
	return ES_OK;
}

/* The stack's distribution, if it has one and it is still InProgress. */
static int distribution_in_progress(struct es_aws_client *aws, const char *stack, char *id,
                                    size_t len, bool *moving)
{
	*moving = false;
	int rc = es_cfn_stack_distribution(aws, stack, id, len);
	if (rc)
		return rc;
	if (!id[0])
		return ES_OK;
	struct es_distribution dist;
	rc = es_cf_get_distribution(aws, id, &dist);
	if (rc)
		return rc;
	*moving = strcmp(dist.status, "Deployed") != 0;
	es_distribution_free(&dist);
	return ES_OK;
}

/* Whether the ledger holds the end of action_id: then the console that
 * holds its lock died after the end was recorded. */
static bool action_ended(const char *action_id, void *ud)
{
	struct es_deploy *d = ud;
	struct es_record_list recs;
	bool ended = false;

	if (es_ledger_read(d->prep_ledger, &recs) != ES_OK) {
		es_record_list_free(&recs);
		return false;
	}
	for (size_t i = 0; i < recs.n && !ended; i++)
		ended = strcmp(recs.items[i].phase, "intent") == 0 && !recs.items[i].open &&
		        strcmp(recs.items[i].action_id, action_id) == 0;
	es_record_list_free(&recs);
	return ended;
}

/* Release a lock taken on the job's loop before the job ends. */
static void drop_lock_sync(struct es_deploy *d, struct es_loop *loop)
{
	if (!d->lock)
		return;
	es_lock_release_wait(loop, d->lock);
	d->lock = NULL;
}

/* The artifact bucket (or the ledger's home), created with --yes when it
 * does not exist. */
static int ensure_bucket(struct es_aws_client *aws, struct es_deploy *d, const char *bucket)
{
	bool ok;
	int rc = es_s3_bucket_exists(aws, bucket, &ok);

	if (rc)
		return es_fail_prefix("checking artifact bucket %s", bucket);
	if (ok)
		return ES_OK;
	if (!d->prep.yes && !d->prep.create_bucket)
		return es_fail(ES_EREFUSED,
		               "artifact bucket %s does not exist: run with --yes to create it, or "
		               "create it and run again",
		               bucket);
	es_dp_log(d, "creating the artifact bucket %s", bucket);
	/* Idempotency: the bucket name. A retry after a lost answer, or
	 * another console creating it meanwhile, finds it ours. */
	rc = es_s3_create_bucket(aws, bucket, es_aws_region(aws));
	if (rc == ES_EAWS && strcmp(es_error_last()->code, "BucketAlreadyOwnedByYou") == 0)
		rc = ES_OK;
	if (rc)
		return es_fail_prefix("creating artifact bucket %s", bucket);
	return ES_OK;
}

/* Everything after packaging, on the job: the release rules against AWS,
 * the bucket, the stage lock, uploads and the ledger intent. */
static int start_remote(struct es_job *job, struct es_deploy *d, const struct es_packaged *pk)
{
	struct es_aws_client *aws = es_accounts_client(es_job_aws(job), d->conf, d->stage);
	const struct es_stage_conf *stage = d->stage;
	const struct es_config *conf = d->conf;
	struct es_stack st;
	int rc;

	/* Rule 2: never start on a stack CloudFormation is still working on. */
	es_dp_log(d, "checking %s: stack %s and its distribution", stage->name, stage->stack);
	rc = es_cfn_describe_stack(aws, stage->stack, &st);
	/* The state machine starts from this status ("": no stack yet). */
	d->stack_status_before = rc == ES_OK ? strdup(st.status) : strdup("");
	if (rc == ES_OK) {
		bool busy = es_cfn_status_in_progress(st.status) &&
		            strcmp(st.status, "REVIEW_IN_PROGRESS") != 0;
		if (busy) {
			rc = es_fail(ES_EBUSY,
			             "stack %s is %s: wait until it settles (or use --wait)",
			             stage->stack, st.status);
			es_stack_free(&st);
			return rc;
		}
		es_stack_free(&st);
		/* The classic restriction: no new change until the last one has
		 * reached every edge. */
		char dist_id[64];
		bool moving;
		rc = distribution_in_progress(aws, stage->stack, dist_id, sizeof(dist_id), &moving);
		if (rc)
			return es_fail_prefix("reading the distribution of %s", stage->stack);
		if (moving)
			return es_fail(
			        ES_EBUSY,
			        "%s's distribution %s is InProgress: no new change until the "
			        "current one is fully deployed (or use --wait)",
			        stage->name, dist_id);
	} else if (rc != ES_ENOTFOUND) {
		return es_fail_prefix("reading stack %s", stage->stack);
	}
	if (es_job_cancelled(job))
		return es_fail(ES_ECANCELLED, "cancelled before anything changed");

	const char *who = es_ledger_who(d->prep_ledger);
	if (!who)
		return es_fail_prefix("ledger: cannot tell who is acting");
	snprintf(d->prep.who, sizeof(d->prep.who), "%s", who);
	/* A bucket whose ledger this console has read is not asked for: the
	 * lock's conditional create proves it (NoSuchBucket otherwise). */
	bool bucket_ok = es_ledger_cached(d->prep_ledger);
	if (!bucket_ok && (rc = ensure_bucket(aws, d, d->conf->bucket)))
		return rc;
	/* A ledger in a home of its own, reached with its own credentials. */
	if (!bucket_ok && conf->ledger_bucket && strcmp(conf->ledger_bucket, conf->bucket) != 0) {
		struct es_aws_client *lc = es_accounts_ledger_client(es_job_aws(job), conf);
		if (!lc || (rc = ensure_bucket(lc, d, conf->ledger_bucket)))
			return lc ? rc : es_fail_prefix("the ledger's client");
	}
	struct es_lock_info stale;
	es_dp_log(d, "taking the %s lock", stage->name);
	rc = es_lock_take(aws, conf, stage->name, d->kind, who, d->action_id, action_ended,
	                  es_dp_lock_event, d, &d->lock, &stale);
	if (bucket_ok && rc && strcmp(es_error_last()->code, "NoSuchBucket") == 0 &&
	    !(rc = ensure_bucket(aws, d, d->conf->bucket)))
		rc = es_lock_take(aws, conf, stage->name, d->kind, who, d->action_id, action_ended,
		                  es_dp_lock_event, d, &d->lock, &stale);
	if (rc)
		return rc;
	if (stale.held)
		es_dp_log(d, "took over the %s lock that %s took at %s and stopped renewing",
		          stage->name, stale.who[0] ? stale.who : "someone", stale.since);
	if (es_job_cancelled(job))
		rc = es_fail(ES_ECANCELLED, "cancelled before anything changed");
	if (!rc)
		rc = d->prep.has_release ? use_release(es_job_aws(job), aws, d, &d->prep.ref)
		                         : upload_packaged(aws, d, pk);
	if (rc) {
		drop_lock_sync(d, es_job_loop(job));
		return rc;
	}
	es_dp_log(d, "release %s: %zu artifact%s, %zu uploaded, template %s", d->res.release,
	          d->res.n_artifacts, d->res.n_artifacts == 1 ? "" : "s", d->res.n_uploaded,
	          d->res.template_key);
	/* One change set per action: a retried CreateChangeSet finds its own
	 * (same name, same client token), a retried execution its own token. */
	snprintf(d->cs_name, sizeof(d->cs_name), "edgeship-%s-%s", d->kind, d->action_id);
	snprintf(d->exec_token, sizeof(d->exec_token), "%s-exec", d->cs_name);
	snprintf(d->res.change_set, sizeof(d->res.change_set), "%s", d->cs_name);
	rc = es_dp_write_intent(d, d->prep_ledger);
	if (rc) {
		es_fail_prefix("writing the ledger intent");
		drop_lock_sync(d, es_job_loop(job));
		return rc;
	}
	es_dp_log(d, "ledger record %ld: %s of %.7s to %s by %s", d->res.intent_seq, d->kind,
	          d->res.commit, stage->name, who);
	/* The lock is renewed on the owner's loop from now on. */
	es_lock_pause(d->lock);
	return ES_OK;
}

/* The whole preparation, on the job's thread. */
static int prep_job(struct es_job *job, void *arg)
{
	struct es_deploy *d = arg;
	struct es_aws_client *aws = es_job_aws(job);
	struct es_packaged pk;
	struct es_repo *repo = NULL;
	bool packed = false;
	int rc;

	if (!es_accounts_client(aws, d->conf, d->stage))
		return es_fail_prefix("stage %s", d->stage->name);
	d->prep_job = job;
	es_dp_preparing(d);
	memset(&pk, 0, sizeof(pk));
	rc = es_ledger_open_home(aws, d->conf, d->stage, &d->prep_ledger);
	if (!rc && d->prep.check) {
		rc = d->prep.check(aws, d->conf, d->prep.check_arg, &d->prep.rel, &d->prep.already);
		d->prep.has_release = !rc && !d->prep.already;
		if (d->prep.already) {
			es_ledger_free(d->prep_ledger);
			d->prep_ledger = NULL;
			es_dp_preparing(NULL);
			return ES_OK;
		}
	}
	if (!rc && !d->prep.has_release) {
		/* A repository handle of our own: libgit2 objects are not shared
		 * between threads, and the owner keeps reading history. */
		rc = es_repo_discover(d->prep.repo_root, &repo);
		if (!rc)
			rc = package_commit(d, repo, d->prep.rev, &pk);
		packed = !rc;
	}
	if (!rc && es_job_cancelled(job))
		rc = es_fail(ES_ECANCELLED, "cancelled before anything changed");
	if (!rc)
		rc = start_remote(job, d, packed ? &pk : NULL);
	if (packed)
		es_packaged_free(&pk);
	es_repo_free(repo);
	es_ledger_free(d->prep_ledger);
	d->prep_ledger = NULL;
	es_dp_preparing(NULL);
	return rc;
}

static void on_prep_progress(const char *text, void *ud)
{
	unsigned long long done, total;
	int used = 0;

	if (text[0] == PROGRESS_MARK &&
	    sscanf(text + 1, "%llu %llu %n", &done, &total, &used) == 2 && used > 0) {
		struct es_deploy_event ev = {.kind = ES_DEPLOY_PROGRESS,
		                             .text = text + 1 + used,
		                             .done = done,
		                             .total = total};
		es_dp_deliver(ud, &ev);
		return;
	}
	es_dp_emit(ud, ES_DEPLOY_LOG, text);
}

/* On the owner's loop: the preparation ended. */
static void on_prep_done(int rc, const struct es_error *err, void *ud)
{
	struct es_deploy *d = ud;

	d->job = NULL;
	if (rc == ES_OK && d->prep.already) {
		es_dp_set_result(d, ES_OK, "no-changes", "%s", d->prep.rel.message);
		es_dp_finish(d);
		return;
	}
	if (rc) {
		const char *result = err->status == ES_EBUSY || err->status == ES_EREFUSED
		                             ? "refused"
		                     : err->status == ES_ECANCELLED ? "cancelled"
		                                                    : "failed";
		char line[1200];
		if (d->detach_reason[0] && err->status == ES_ECANCELLED)
			es_dp_set_result(d, ES_ECANCELLED, "cancelled",
			                 "cancelled (%s) before anything changed in %s",
			                 d->detach_reason, d->stage->stack);
		else
			es_dp_set_result(d, err->status ? err->status : ES_ERR, result, "%s",
			                 es_error_format(err, line, sizeof(line)));
		es_error_restore(err);
		es_dp_finish(d);
		return;
	}
	es_ledger_set_who(d->ledger, d->prep.who);
	es_lock_resume(d->lock, d->aws);
	if (d->detach_reason[0]) {
		/* Asked to stop while preparing: the intent is written, so the
		 * outcome says cancelled and the lock goes. */
		es_dp_set_result(d, ES_ECANCELLED, "cancelled",
		                 "cancelled (%s) before anything changed in %s", d->detach_reason,
		                 d->stage->stack);
		es_dp_finish(d);
		return;
	}
	es_dp_begin(d);
}

int es_deploy_unlock(struct es_aws_client *aws, const struct es_config *conf, const char *stage)

{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct es_lock_info was;
	struct es_ledger *l;
	char msg[600];
	long seq;
	int rc;

	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	rc = es_lock_break(aws, conf, sc->name, &was);
	if (rc)
		return rc;
	rc = es_ledger_open_home(aws, conf, NULL, &l);
	if (rc)
		return rc;
	snprintf(msg, sizeof(msg), "removed the %s lock of a %s by %s taken at %s%s", sc->name,
	         was.kind[0] ? was.kind : "release action", was.who[0] ? was.who : "someone",
	         was.since[0] ? was.since : "an unknown time",
	         was.expired ? " (expired)" : " (still within its lease)");
	json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "unlock", "phase", "outcome",
	                      "stage", sc->name, "result", "success", "message", msg, "lock_owner",
	                      was.owner);
	rc = r ? es_ledger_append(l, r, &seq) : es_fail(ES_ENOMEM, "out of memory");
	json_decref(r);
	es_ledger_free(l);
	return rc;
}

int es_deploy_start(struct es_aws_client *aws, const struct es_deploy_request *req,
                    es_deploy_event_fn fn, void *ud, struct es_deploy **out)
{
	struct es_deploy *d;
	int rc;

	*out = NULL;
	const struct es_stage_conf *stage = es_config_stage(req->conf, req->stage);
	if (!stage)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", req->stage ? req->stage : "",
		               req->conf->path);
	if (!req->release && !req->repo && !req->check)
		return es_fail(ES_EINVAL, "deploy needs a repository or a recorded release");
	if (!req->check && es_config_refuse_pipeline_stage(req->conf, stage->name, "deploy"))
		return ES_EREFUSED;
	d = calloc(1, sizeof(*d));
	if (!d)
		return es_fail(ES_ENOMEM, "out of memory");
	/* The stage's own account and bucket (core/accounts.h). */
	d->aws = es_accounts_client(aws, req->conf, stage);
	d->loop = es_aws_loop(aws);
	d->conf_view = *req->conf;
	d->conf_view.bucket = stage->bucket ? stage->bucket : req->conf->bucket;
	d->conf = &d->conf_view;
	d->stage = stage;
	if (!d->aws) {
		free(d);
		return es_fail_prefix("stage %s", stage->name);
	}
	d->fn = fn;
	d->ud = ud;
	d->yes = req->yes;
	d->poll_ms = req->poll_ms > 0 ? req->poll_ms : 2000;
	d->timeout_s = req->timeout_s > 0 ? req->timeout_s : 7200;
	/* One id names this action's records, change set and execution. */
	es_ledger_new_id(d->action_id);
	snprintf(d->res.action_id, sizeof(d->res.action_id), "%s", d->action_id);
	d->kind = req->kind ? req->kind : "deploy";
	d->artifacts = json_array();
	d->st = ST_PREPARE;
	snprintf(d->res.stage, sizeof(d->res.stage), "%s", stage->name);
	/* What the job needs, copied: the request is the caller's. */
	d->prep.yes = req->yes;
	d->prep.create_bucket = req->create_bucket;
	d->prep.check = req->check;
	d->prep.check_arg = req->check_arg;
	d->prep.check_free = req->check_free;
	struct es_release_buf *rel = &d->prep.rel;
	if (req->release) {
		d->prep.has_release = true;
		snprintf(rel->commit, sizeof(rel->commit), "%s", req->release->commit);
		snprintf(rel->release, sizeof(rel->release), "%s", req->release->release);
		snprintf(rel->template_key, sizeof(rel->template_key), "%s",
		         req->release->template_key);
		snprintf(rel->template_sha256, sizeof(rel->template_sha256), "%s",
		         req->release->template_sha256);
	}
	d->prep.ref = (struct es_release_ref){rel->commit, rel->release, rel->template_key,
	                                      rel->template_sha256};
	if (req->repo)
		snprintf(d->prep.repo_root, sizeof(d->prep.repo_root), "%s",
		         es_repo_root(req->repo));
	snprintf(d->prep.rev, sizeof(d->prep.rev), "%s", req->rev ? req->rev : "HEAD");
	snprintf(d->prep.from, sizeof(d->prep.from), "%s", req->from ? req->from : "");
	rc = es_ledger_open_home(aws, req->conf, stage, &d->ledger);
	if (rc) {
		es_deploy_free(d);
		return rc;
	}
	rc = es_job_start(d->loop, aws, prep_job, d, NULL, on_prep_progress, on_prep_done, d,
	                  &d->job);
	if (rc) {
		d->st = ST_DONE;
		es_deploy_free(d);
		return rc;
	}
	*out = d;
	return ES_OK;
}
