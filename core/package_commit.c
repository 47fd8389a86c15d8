/* One commit packaged from its own git tree, compared with its parent, and
 * its objects uploaded where the artifact bucket lacks them. */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/s3.h"
#include "base/error.h"
#include "package_commit.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The build, in the export: its output goes to the caller line by line. */
static int run_build(const struct es_config *conf, const char *dir,
                     const struct es_package_run *run, struct es_build_info *info)
{
	struct es_build_spec spec = {
	        .command = conf->build,
	        .dir = dir,
	        .env_names = (const char *const *)conf->build_env,
	        .n_env = conf->n_build_env,
	        .timeout_ms = conf->build_timeout_ms,
	};
	struct es_build_result res;
	int rc;

	if (run->line) {
		char line[600];
		snprintf(line, sizeof(line), "building %.12s: %.500s", info->tree, conf->build);
		run->line(line, run->line_ud);
	}
	rc = es_build_run(&spec, run->line, run->line_ud, run->cancelled, &res);
	info->ran = true;
	info->duration_ms = res.duration_ms;
	es_build_result_free(&res);
	return rc;
}

int es_package_commit(struct es_repo *repo, const struct es_config *conf, const char *rev,
                      const struct es_package_run *run, char commit[41], struct es_packaged *out,
                      struct es_build_info *info)
{
	struct es_package_options po = {
	        .bucket = conf->bucket,
	        .prefix = conf->prefix,
	        .excludes = (const char *const *)conf->excludes,
	        .n_excludes = conf->n_excludes,
	        .region = conf->region,
	};
	static const struct es_package_run none;
	struct es_build_info scratch;
	const char *tmp = getenv("TMPDIR");
	char tmpl[4096], path[4400], *dir;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!run)
		run = &none;
	if (!info)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	if ((rc = es_repo_resolve(repo, rev ? rev : "HEAD", commit)))
		return rc;
	if (conf->build) {
		info->configured = true;
		if ((rc = es_repo_tree_id(repo, commit, info->tree)))
			return rc;
		es_build_cache_key(conf, info->tree, info->key);
		/* Built before: the same tree, command and inputs give the same
		 * package, so neither export nor build runs again. */
		if (!run->fresh && es_build_cache_load(info->key, out, NULL) == ES_OK) {
			info->cache_hit = true;
			if (run->line) {
				char line[200];
				snprintf(line, sizeof(line),
				         "build of %.12s found in the build cache (key %.12s): not "
				         "built again",
				         info->tree, info->key);
				run->line(line, run->line_ud);
			}
			return ES_OK;
		}
	}
	snprintf(tmpl, sizeof(tmpl), "%s/edgeship-export-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!(dir = mkdtemp(tmpl)))
		return es_fail(ES_ERR, "cannot create a temporary directory in %s",
		               tmp && *tmp ? tmp : "/tmp");
	/* The exported tree is the limit: a template in a subfolder may use
	 * "../src", never anything outside the commit (nor, after a build,
	 * anything a build output links to outside the export). */
	po.root = dir;
	rc = es_repo_export_with(repo, commit, dir, run->export_fn, run->export_ud);
	if (!rc && conf->build)
		rc = run_build(conf, dir, run, info);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/%s", dir, conf->template_path);
		rc = es_package_template(path, &po, out);
		if (rc && access(path, F_OK) != 0)
			rc = es_fail(ES_ECONFIG,
			             "commit %.7s has no %s (edgeship.conf: template = %s)", commit,
			             conf->template_path, conf->template_path);
	}
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (!rc && conf->build && !run->fresh) {
		struct es_error saved;
		es_error_save(&saved);
		if (es_build_cache_store(info->key, info->tree, conf->build, info->duration_ms,
		                         out) &&
		    run->line) {
			char line[1200];
			snprintf(line, sizeof(line), "warning: %s (the next deploy builds again)",
			         es_error_last()->message);
			run->line(line, run->line_ud);
		}
		es_error_restore(&saved);
	}
	return rc;
}

void es_package_compare_free(struct es_package_compare *c)
{
	if (!c)
		return;
	free(c->artifact_new);
	memset(c, 0, sizeof(*c));
}

int es_package_compare_parent(struct es_repo *repo, const struct es_config *conf,
                              const char *commit, const struct es_packaged *pk,
                              const struct es_package_run *run, struct es_package_compare *out)
{
	struct es_packaged parent = {0};
	char rev[64], oid[41];
	struct es_error saved;

	memset(out, 0, sizeof(*out));
	out->changed = true;
	out->n = pk->n_artifacts;
	if (!(out->artifact_new = calloc(pk->n_artifacts + 1, sizeof(bool))))
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < pk->n_artifacts; i++)
		out->artifact_new[i] = true;
	snprintf(rev, sizeof(rev), "%s^1", commit);
	es_error_save(&saved);
	if (es_repo_resolve(repo, rev, out->parent) != ES_OK) {
		es_error_restore(&saved);
		out->parent[0] = '\0';
		snprintf(out->note, sizeof(out->note),
		         "%.7s is the first commit: nothing before it to compare with", commit);
		return ES_OK;
	}
	if (es_package_commit(repo, conf, out->parent, run, oid, &parent, NULL) != ES_OK) {
		snprintf(out->note, sizeof(out->note), "the parent %.7s does not package: %s",
		         out->parent, es_error_last()->message);
		es_error_restore(&saved);
		return ES_OK;
	}
	out->compared = true;
	memcpy(out->parent_template_sha256, parent.template_sha256, 65);
	out->changed = strcmp(parent.template_sha256, pk->template_sha256) != 0;
	for (size_t i = 0; i < pk->n_artifacts; i++)
		for (size_t j = 0; j < parent.n_artifacts && out->artifact_new[i]; j++)
			out->artifact_new[i] =
			        strcmp(pk->artifacts[i].s3_key, parent.artifacts[j].s3_key) != 0;
	es_packaged_free(&parent);
	return ES_OK;
}

int es_package_upload(struct es_aws_client *aws, const struct es_config *conf,
                      const struct es_packaged *pk, enum es_upload_state *states)
{
	bool exists;

	if (es_s3_bucket_exists(aws, conf->bucket, &exists))
		return es_fail_prefix("checking artifact bucket %s", conf->bucket);
	if (!exists)
		return es_fail(ES_ECONFIG,
		               "artifact bucket %s does not exist: create it (a first `edgeship "
		               "deploy --yes` does), or run with --no-upload",
		               conf->bucket);
	for (size_t i = 0; i <= pk->n_artifacts; i++) {
		const struct es_artifact *a = i < pk->n_artifacts ? &pk->artifacts[i] : NULL;
		const char *key = a ? a->s3_key : pk->template_key;
		const void *data = a ? (const void *)a->bytes.data : pk->template_json;
		size_t len = a ? a->bytes.len : strlen(pk->template_json);
		struct es_s3_put put = {.content_type = !a          ? "application/json"
		                                        : a->is_zip ? "application/zip"
		                                                    : "application/octet-stream"};
		struct es_s3_head head;
		int rc = es_s3_head_object(aws, conf->bucket, key, &head);
		if (rc)
			return es_fail_prefix("checking s3://%s/%s", conf->bucket, key);
		states[i] = ES_UPLOAD_PRESENT;
		if (head.exists)
			continue;
		/* Idempotency: the key is the content's digest, so a retry after
		 * a lost answer writes the same bytes again. */
		if ((rc = es_s3_put_object(aws, conf->bucket, key, data, len, &put)))
			return es_fail_prefix("uploading s3://%s/%s", conf->bucket, key);
		states[i] = ES_UPLOAD_SENT;
	}
	return ES_OK;
}

const char *es_upload_state_name(enum es_upload_state s)
{
	switch (s) {
	case ES_UPLOAD_PRESENT: return "present";
	case ES_UPLOAD_SENT: return "uploaded";
	case ES_UPLOAD_NOT_CHECKED: break;
	}
	return "not-uploaded";
}

char *es_package_report_json(const char *commit, const struct es_config *conf,
                             const struct es_packaged *pk, const enum es_upload_state *states,
                             const struct es_package_compare *cmp, const char *output_template,
                             const struct es_build_info *build, json_t *extra)
{
	json_t *arts = json_array();
	json_t *change;
	char *text;

	for (size_t i = 0; i < pk->n_artifacts; i++) {
		const struct es_artifact *a = &pk->artifacts[i];
		json_array_append_new(
		        arts, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "template",
		                        a->template, "resource", a->logical_id, "property",
		                        a->property, "local_path", a->rel_path, "sha256", a->sha256,
		                        "s3_key", a->s3_key, "bytes", (json_int_t)a->bytes.len,
		                        "changed", cmp && i < cmp->n ? cmp->artifact_new[i] : 1,
		                        "upload", es_upload_state_name(states ? states[i] : 0)));
	}
	bool compared = cmp && cmp->compared;
	change = json_pack("{s:s,s:s?,s:b,s:b,s:s?,s:s?}", "against", "parent", "parent",
	                   cmp && cmp->parent[0] ? cmp->parent : NULL, "compared", compared,
	                   "changed", compared ? cmp->changed : 1, "parent_template_sha256",
	                   compared ? cmp->parent_template_sha256 : NULL, "note",
	                   compared ? NULL
	                   : cmp    ? cmp->note
	                            : "not compared");
	json_t *r =
	        json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:I,s:s},s:o,s:o,s:s?}", "command",
	                  "package", "commit", commit, "bucket", conf->bucket, "template", "path",
	                  conf->template_path, "sha256", pk->template_sha256, "s3_key",
	                  pk->template_key, "bytes", (json_int_t)strlen(pk->template_json),
	                  "upload", es_upload_state_name(states ? states[pk->n_artifacts] : 0),
	                  "artifacts", arts, "change", change, "output_template", output_template);
	if (!r) {
		json_decref(extra);
		return NULL;
	}
	/* What was built, not whether this run built it or took it from the
	 * cache: the same commit prints the same bytes every time. */
	json_object_set_new(r, "build",
	                    build && build->configured
	                            ? json_pack("{s:b,s:s,s:s}", "configured", 1, "key", build->key,
	                                        "tree", build->tree)
	                            : json_pack("{s:b}", "configured", 0));
	if (extra)
		json_object_update(r, extra);
	json_decref(extra);
	text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(r);
	return text;
}

json_t *es_build_info_json(const struct es_build_info *b)
{
	if (!b || !b->configured)
		return json_pack("{s:b,s:b,s:s,s:n,s:n,s:I}", "configured", 0, "ran", 0, "cache",
		                 "off", "key", "tree", "duration_ms", (json_int_t)0);
	return json_pack("{s:b,s:b,s:s,s:s,s:s,s:I}", "configured", 1, "ran", b->ran, "cache",
	                 b->cache_hit          ? "hit"
	                 : b->ran && b->key[0] ? "miss"
	                                       : "off",
	                 "key", b->key, "tree", b->tree, "duration_ms", (json_int_t)b->duration_ms);
}
