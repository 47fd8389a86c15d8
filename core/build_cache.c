/* The build cache on disk: KEY/manifest.json (what was built, the package's
 * artifacts and the digests of the files inside them), KEY/template.json
 * and KEY/objects/SHA256. Written into a temporary directory and renamed,
 * read back only when every object still has its digest. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/error.h"
#include "build_cache.h"
#include "ledger_cache.h"

#define CACHE_FORMAT 1

static void add_line(struct es_buf *b, const char *name, const char *value)
{
	/* Lengths first, so no value can pose as another line. */
	es_buf_printf(b, "%s %zu %s\n", name, value ? strlen(value) : 0, value ? value : "");
}

void es_build_cache_key(const struct es_config *conf, const char *tree, char key[65])
{
	struct es_buf b = ES_BUF_INIT;

	es_buf_printf(&b, "edgeship build cache %d\n", CACHE_FORMAT);
	add_line(&b, "edgeship", PACKAGE_VERSION);
	add_line(&b, "tree", tree);
	add_line(&b, "command", conf->build);
	for (size_t i = 0; i < conf->n_build_env; i++) {
		const char *v = getenv(conf->build_env[i]);
		char digest[65] = "unset";
		if (v)
			es_sha256_hex(v, strlen(v), digest);
		add_line(&b, conf->build_env[i], digest);
	}
	/* Packaging's own inputs: the same build packaged for another bucket
	 * or prefix names other keys. */
	add_line(&b, "template", conf->template_path);
	add_line(&b, "bucket", conf->bucket);
	add_line(&b, "prefix", conf->prefix);
	add_line(&b, "region", conf->region);
	for (size_t i = 0; i < conf->n_excludes; i++)
		add_line(&b, "exclude", conf->excludes[i]);
	es_sha256_hex(b.data ? b.data : "", b.len, key);
	es_buf_free(&b);
}

char *es_build_cache_dir(void)
{
	const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *dir;

	if (cache && *cache) {
		if (asprintf(&dir, "%s/edgeship/builds", cache) < 0)
			return NULL;
	} else if (asprintf(&dir, "%s/.cache/edgeship/builds", home && *home ? home : "/tmp") < 0) {
		return NULL;
	}
	return dir;
}

static int read_all(const char *path, struct es_buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = ES_OK;

	if (!f)
		return ES_ENOTFOUND;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = es_buf_append(out, chunk, n);
	if (ferror(f))
		rc = ES_ERR;
	fclose(f);
	return rc;
}

static int write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return ES_ERR;
	/* fclose runs whatever fwrite did: it flushes, and it may fail too. */
	bool short_write = len && fwrite(data, 1, len, f) != len;
	bool close_failed = fclose(f) != 0;
	return short_write || close_failed ? ES_ERR : ES_OK;
}

static char *dup_field(const json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));
	return v ? strdup(v) : NULL;
}

/* One artifact of the manifest, its bytes read from objects/. */
static int load_artifact(const char *dir, const json_t *j, struct es_artifact *a)
{
	const char *sha = json_string_value(json_object_get(j, "sha256"));
	char path[4400], check[65];

	if (!sha || strlen(sha) != 64)
		return ES_ENOTFOUND;
	memcpy(a->sha256, sha, 65);
	a->logical_id = dup_field(j, "logical_id");
	a->property = dup_field(j, "property");
	a->rel_path = dup_field(j, "local_path");
	a->local_path = dup_field(j, "local_path");
	a->template = dup_field(j, "template");
	a->s3_key = dup_field(j, "s3_key");
	a->n_files = (size_t)json_integer_value(json_object_get(j, "n_files"));
	a->is_zip = json_is_true(json_object_get(j, "is_zip"));
	a->outside_root = json_is_true(json_object_get(j, "outside_root"));
	if (!a->logical_id || !a->property || !a->rel_path || !a->local_path || !a->template ||
	    !a->s3_key)
		return ES_ENOTFOUND;
	snprintf(path, sizeof(path), "%s/objects/%s", dir, sha);
	if (read_all(path, &a->bytes))
		return ES_ENOTFOUND;
	es_sha256_hex(a->bytes.data ? a->bytes.data : "", a->bytes.len, check);
	return strcmp(check, sha) == 0 ? ES_OK : ES_ENOTFOUND;
}

int es_build_cache_load(const char *key, struct es_packaged *out, struct es_build_digests *digests)
{
	char *root = es_build_cache_dir(), dir[4200], path[4400], check[65];
	struct es_buf tb = ES_BUF_INIT;
	json_t *m = NULL, *arts, *a;
	int rc = ES_ENOTFOUND;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (digests)
		memset(digests, 0, sizeof(*digests));
	if (!root)
		return es_fail(ES_ENOMEM, "out of memory");
	snprintf(dir, sizeof(dir), "%s/%s", root, key);
	free(root);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (!(m = json_load_file(path, 0, NULL)) ||
	    json_integer_value(json_object_get(m, "format")) != CACHE_FORMAT)
		goto done;
	snprintf(path, sizeof(path), "%s/template.json", dir);
	const char *tsha = json_string_value(json_object_get(m, "template_sha256"));
	const char *tkey = json_string_value(json_object_get(m, "template_key"));
	arts = json_object_get(m, "artifacts");
	if (!tsha || !tkey || !json_is_array(arts) || read_all(path, &tb))
		goto done;
	es_sha256_hex(tb.data ? tb.data : "", tb.len, check);
	if (strcmp(check, tsha) != 0 || !(out->template = json_loads(es_buf_str(&tb), 0, NULL)))
		goto done;
	memcpy(out->template_sha256, check, 65);
	out->template_json = es_buf_steal(&tb);
	out->template_key = strdup(tkey);
	if (json_array_size(arts) &&
	    !(out->artifacts = calloc(json_array_size(arts), sizeof(*out->artifacts))))
		goto done;
	json_array_foreach(arts, i, a)
	{
		int r = load_artifact(dir, a, &out->artifacts[out->n_artifacts++]);
		if (r)
			goto done;
	}
	if (!out->template_key)
		goto done;
	if (digests && es_build_digests_from_json(json_object_get(m, "digests"), digests))
		goto done;
	rc = ES_OK;
done:
	es_buf_free(&tb);
	json_decref(m);
	if (rc) {
		es_packaged_free(out);
		if (digests)
			es_build_digests_free(digests);
		es_error_clear();
	}
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static json_t *manifest(const char *key, const char *tree, const char *command, long duration_ms,
                        const struct es_packaged *pk, json_t *digests)
{
	json_t *arts = json_array();
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (size_t i = 0; i < pk->n_artifacts; i++) {
		const struct es_artifact *a = &pk->artifacts[i];
		json_array_append_new(
		        arts, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:b}", "logical_id",
		                        a->logical_id, "property", a->property, "local_path",
		                        a->rel_path, "template", a->template, "sha256", a->sha256,
		                        "s3_key", a->s3_key, "n_files", (json_int_t)a->n_files,
		                        "is_zip", a->is_zip, "outside_root", a->outside_root));
	}
	return json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:o}", "format", CACHE_FORMAT, "key",
	                 key, "tree", tree, "command", command, "built_at", when, "duration_ms",
	                 (json_int_t)duration_ms, "template_sha256", pk->template_sha256,
	                 "template_key", pk->template_key, "artifacts", arts, "digests", digests);
}

int es_build_cache_store(const char *key, const char *tree, const char *command, long duration_ms,
                         const struct es_packaged *pk)
{
	char *root = es_build_cache_dir(), tmp[4200], dest[4200], path[4400];
	struct es_build_digests d;
	json_t *m = NULL;
	int rc;

	if (!root)
		return es_fail(ES_ENOMEM, "out of memory");
	snprintf(tmp, sizeof(tmp), "%s/.new-XXXXXX", root);
	snprintf(dest, sizeof(dest), "%s/%s", root, key);
	if (es_lcache_mkdirs(root) != 0 || !mkdtemp(tmp)) {
		rc = es_fail(ES_ERR, "cannot write the build cache in %s", root);
		free(root);
		return rc;
	}
	free(root);
	if ((rc = es_build_digests_of(pk, &d)))
		goto done;
	m = manifest(key, tree, command, duration_ms, pk, es_build_digests_json(&d));
	es_build_digests_free(&d);
	snprintf(path, sizeof(path), "%s/objects", tmp);
	rc = m && mkdir(path, 0700) == 0 ? ES_OK : ES_ERR;
	for (size_t i = 0; !rc && i < pk->n_artifacts; i++) {
		const struct es_artifact *a = &pk->artifacts[i];
		snprintf(path, sizeof(path), "%s/objects/%s", tmp, a->sha256);
		rc = write_all(path, a->bytes.data, a->bytes.len);
	}
	snprintf(path, sizeof(path), "%s/template.json", tmp);
	if (!rc)
		rc = write_all(path, pk->template_json, strlen(pk->template_json));
	snprintf(path, sizeof(path), "%s/manifest.json", tmp);
	if (!rc && json_dump_file(m, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
		rc = ES_ERR;
	/* Whole or not at all; another console that stored it first wins. */
	if (!rc && rename(tmp, dest) != 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = ES_ERR;
	if (rc)
		rc = es_fail(ES_ERR, "cannot write the build cache entry %.12s", key);
done:
	json_decref(m);
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
