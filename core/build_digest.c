/* Digests of a package's artifacts and of the files inside their zips, and
 * the comparison of two builds by them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/error.h"
#include "build_digest.h"

static void digest_free(struct es_artifact_digest *a)
{
	for (size_t i = 0; i < a->n_files; i++)
		free(a->files[i].path);
	free(a->files);
	free(a->id);
	free(a->rel_path);
}

void es_build_digests_free(struct es_build_digests *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		digest_free(&d->a[i]);
	free(d->a);
	memset(d, 0, sizeof(*d));
}

static int by_path(const void *x, const void *y)
{
	return strcmp(((const struct es_file_digest *)x)->path,
	              ((const struct es_file_digest *)y)->path);
}

static int add_file(struct es_artifact_digest *a, const char *path, const void *data, size_t len)
{
	struct es_file_digest *f = realloc(a->files, (a->n_files + 1) * sizeof(*f));

	if (!f)
		return es_fail(ES_ENOMEM, "out of memory");
	a->files = f;
	f = &f[a->n_files];
	if (!(f->path = strdup(path)))
		return es_fail(ES_ENOMEM, "out of memory");
	es_sha256_hex(data, len, f->sha256);
	a->n_files++;
	return ES_OK;
}

/* Every entry of the zip in data, hashed. */
static int zip_files(struct es_artifact_digest *a, const void *data, size_t len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	int rc = ES_OK;

	zip_error_init(&ze);
	if (!(src = zip_source_buffer_create(data, len, 0, &ze))) {
		zip_error_fini(&ze);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	if (!(za = zip_open_from_source(src, ZIP_RDONLY, &ze))) {
		rc = es_fail(ES_EINVAL, "%s: not a zip archive: %s", a->rel_path,
		             zip_error_strerror(&ze));
		zip_source_free(src);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	zip_int64_t count = zip_get_num_entries(za, 0);
	for (zip_int64_t i = 0; !rc && i < count; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
		zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
		struct es_buf b = ES_BUF_INIT;
		char chunk[65536];
		zip_int64_t n;
		if (!name || !zf) {
			rc = es_fail(ES_EINVAL, "%s: an entry cannot be read", a->rel_path);
			if (zf)
				zip_fclose(zf);
			break;
		}
		while (!rc && (n = zip_fread(zf, chunk, sizeof(chunk))) > 0)
			rc = es_buf_append(&b, chunk, (size_t)n);
		zip_fclose(zf);
		if (!rc)
			rc = add_file(a, name, b.data ? b.data : "", b.len);
		es_buf_free(&b);
	}
	zip_discard(za);
	return rc;
}

int es_build_digests_of(const struct es_packaged *pk, struct es_build_digests *out)
{
	int rc = ES_OK;

	memset(out, 0, sizeof(*out));
	memcpy(out->template_sha256, pk->template_sha256, 65);
	if (pk->n_artifacts && !(out->a = calloc(pk->n_artifacts, sizeof(*out->a))))
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < pk->n_artifacts; i++) {
		const struct es_artifact *art = &pk->artifacts[i];
		struct es_artifact_digest *a = &out->a[out->n++];
		if (asprintf(&a->id, "%s %s %s", art->template, art->logical_id, art->property) <
		    0) {
			a->id = NULL;
			rc = es_fail(ES_ENOMEM, "out of memory");
			break;
		}
		if (!(a->rel_path = strdup(art->rel_path))) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			break;
		}
		memcpy(a->sha256, art->sha256, 65);
		rc = art->is_zip ? zip_files(a, art->bytes.data, art->bytes.len)
		                 : add_file(a, art->rel_path,
		                            art->bytes.data ? art->bytes.data : "", art->bytes.len);
		if (!rc && a->n_files > 1)
			qsort(a->files, a->n_files, sizeof(*a->files), by_path);
	}
	if (rc)
		es_build_digests_free(out);
	return rc;
}

json_t *es_build_digests_json(const struct es_build_digests *d)
{
	json_t *arts = json_array();

	for (size_t i = 0; i < d->n; i++) {
		const struct es_artifact_digest *a = &d->a[i];
		json_t *files = json_object();
		for (size_t j = 0; j < a->n_files; j++)
			json_object_set_new(files, a->files[j].path,
			                    json_string(a->files[j].sha256));
		json_array_append_new(arts,
		                      json_pack("{s:s,s:s,s:s,s:o}", "id", a->id, "local_path",
		                                a->rel_path, "sha256", a->sha256, "files", files));
	}
	return json_pack("{s:s,s:o}", "template_sha256", d->template_sha256, "artifacts", arts);
}

int es_build_digests_from_json(const json_t *j, struct es_build_digests *out)
{
	json_t *arts = json_object_get(j, "artifacts"), *a;
	const char *ts = json_string_value(json_object_get(j, "template_sha256"));
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!ts || !json_is_array(arts))
		return es_fail(ES_EPARSE, "no digests recorded");
	snprintf(out->template_sha256, sizeof(out->template_sha256), "%s", ts);
	if (json_array_size(arts) && !(out->a = calloc(json_array_size(arts), sizeof(*out->a))))
		return es_fail(ES_ENOMEM, "out of memory");
	json_array_foreach(arts, i, a)
	{
		struct es_artifact_digest *d = &out->a[out->n++];
		const char *id = json_string_value(json_object_get(a, "id"));
		const char *lp = json_string_value(json_object_get(a, "local_path"));
		const char *sha = json_string_value(json_object_get(a, "sha256"));
		json_t *files = json_object_get(a, "files"), *v;
		const char *path;
		if (!id || !lp || !sha || !json_is_object(files) || !(d->id = strdup(id)) ||
		    !(d->rel_path = strdup(lp))) {
			es_build_digests_free(out);
			return es_fail(ES_EPARSE, "damaged digests");
		}
		snprintf(d->sha256, sizeof(d->sha256), "%s", sha);
		if (json_object_size(files) &&
		    !(d->files = calloc(json_object_size(files), sizeof(*d->files)))) {
			es_build_digests_free(out);
			return es_fail(ES_ENOMEM, "out of memory");
		}
		json_object_foreach(files, path, v)
		{
			struct es_file_digest *f = &d->files[d->n_files];
			if (!json_is_string(v) || !(f->path = strdup(path))) {
				es_build_digests_free(out);
				return es_fail(ES_EPARSE, "damaged digests");
			}
			snprintf(f->sha256, sizeof(f->sha256), "%s", json_string_value(v));
			d->n_files++;
		}
		qsort(d->files, d->n_files, sizeof(*d->files), by_path);
	}
	return ES_OK;
}

void es_build_diffs_free(struct es_build_diff *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++) {
		free(d[i].artifact);
		free(d[i].file);
	}
	free(d);
}

static int push_diff(struct es_build_diff **out, size_t *n, const struct es_artifact_digest *a,
                     const char *file, const char *what)
{
	struct es_build_diff *d = realloc(*out, (*n + 1) * sizeof(*d));
	const char *sp = strchr(a->id, ' ');

	if (!d)
		return es_fail(ES_ENOMEM, "out of memory");
	*out = d;
	d = &d[*n];
	d->what = what;
	d->file = file ? strdup(file) : NULL;
	/* The id without its template, and the path packaged. */
	if (asprintf(&d->artifact, "%s (%s)", sp ? sp + 1 : a->id, a->rel_path) < 0)
		d->artifact = NULL;
	if (!d->artifact || (file && !d->file)) {
		free(d->artifact);
		free(d->file);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	(*n)++;
	return ES_OK;
}

static const struct es_artifact_digest *find_id(const struct es_build_digests *d, const char *id)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->a[i].id, id) == 0)
			return &d->a[i];
	return NULL;
}

/* Files of x and y (both sorted), walked together. */
static int compare_files(const struct es_artifact_digest *x, const struct es_artifact_digest *y,
                         struct es_build_diff **out, size_t *n)
{
	size_t i = 0, j = 0;
	int rc = ES_OK;

	while (!rc && (i < x->n_files || j < y->n_files)) {
		int c = i == x->n_files   ? 1
		        : j == y->n_files ? -1
		                          : strcmp(x->files[i].path, y->files[j].path);
		if (c < 0)
			rc = push_diff(out, n, x, x->files[i++].path, "only in the first build");
		else if (c > 0)
			rc = push_diff(out, n, x, y->files[j++].path, "only in the second build");
		else if (strcmp(x->files[i++].sha256, y->files[j++].sha256) != 0)
			rc = push_diff(out, n, x, x->files[i - 1].path, "differs");
	}
	return rc;
}

int es_build_digests_compare(const struct es_build_digests *a, const struct es_build_digests *b,
                             struct es_build_diff **out, size_t *n)
{
	int rc = ES_OK;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; !rc && i < a->n; i++) {
		const struct es_artifact_digest *y = find_id(b, a->a[i].id);
		if (!y)
			rc = push_diff(out, n, &a->a[i], NULL, "only in the first build");
		else if (strcmp(a->a[i].sha256, y->sha256) != 0) {
			size_t before = *n;
			rc = compare_files(&a->a[i], y, out, n);
			/* Same files, other bytes: the archive itself (modes). */
			if (!rc && *n == before)
				rc = push_diff(out, n, &a->a[i], NULL, "differs (file modes)");
		}
	}
	for (size_t i = 0; !rc && i < b->n; i++)
		if (!find_id(a, b->a[i].id))
			rc = push_diff(out, n, &b->a[i], NULL, "only in the second build");
	if (rc) {
		es_build_diffs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
