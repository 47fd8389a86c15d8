/* Template packaging: walk the resources the AWS CLI exports, turn each local
 * path into content-addressed bytes (a deterministic zip, or the file as-is)
 * and rewrite the property to point at where those bytes will live in S3. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "package.h"
#include "aws/sigv4.h"
#include "template.h"
#include "zipdet.h"

#define MAX_NESTING 8

enum rewrite {
	AS_S3_URI,     /* "s3://bucket/key" (SAM properties) */
	AS_BUCKET_KEY, /* {"S3Bucket": …, "S3Key": …} (Lambda properties) */
	AS_HTTPS_URL,  /* "https://s3…/bucket/key" (nested stacks) */
};

/* The CLI's RESOURCES_EXPORT_LIST, for the resources a Lambda@Edge app uses. */
static const struct rule {
	const char *type;
	const char *property;
	bool force_zip; /* a single file is zipped unless it is a zip already */
	enum rewrite how;
} rules[] = {
        {"AWS::Serverless::Function", "CodeUri", true, AS_S3_URI},
        {"AWS::Lambda::Function", "Code", true, AS_BUCKET_KEY},
        {"AWS::Serverless::LayerVersion", "ContentUri", true, AS_S3_URI},
        {"AWS::Lambda::LayerVersion", "Content", true, AS_BUCKET_KEY},
        {"AWS::Serverless::Api", "DefinitionUri", false, AS_S3_URI},
        {"AWS::CloudFormation::Stack", "TemplateURL", false, AS_HTTPS_URL},
};

static const struct rule globals_rule = {"Globals", "CodeUri", true, AS_S3_URI};

struct pk {
	const char *tpl; /* template path as given, for messages */
	char *dir;       /* realpath of the template's directory */
	const struct es_package_options *o;
	struct es_packaged *out;
	int depth; /* nested stack level */
};

static int package_at(const char *path, const struct es_package_options *o, int depth,
                      struct es_packaged *out);

static void artifact_free(struct es_artifact *a)
{
	free(a->logical_id);
	free(a->property);
	free(a->local_path);
	free(a->s3_key);
	es_buf_free(&a->bytes);
	memset(a, 0, sizeof(*a));
}

void es_packaged_free(struct es_packaged *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_artifacts; i++)
		artifact_free(&p->artifacts[i]);
	free(p->artifacts);
	json_decref(p->template);
	free(p->template_json);
	free(p->template_key);
	memset(p, 0, sizeof(*p));
}

static bool inside(const char *root, const char *path)
{
	size_t n = strlen(root);
	return !strncmp(root, path, n) &&
	       (path[n] == '\0' || path[n] == '/' || (n == 1 && root[0] == '/'));
}

/* "<prefix>/<kind>/<sha><ext>", the prefix's trailing slashes dropped. */
static char *object_key(const char *prefix, const char *kind, const char *sha, const char *ext)
{
	size_t n = prefix ? strlen(prefix) : 0;
	char *key;

	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (asprintf(&key, "%.*s%s%s/%s%s", (int)n, n ? prefix : "", n ? "/" : "", kind, sha, ext) <
	    0)
		return NULL;
	return key;
}

/* The extension a file uploaded as-is keeps in its key (".yaml"), or "". */
static const char *kept_extension(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot = strrchr(base ? base + 1 : path, '.');

	if (!dot || dot[1] == '\0' || strlen(dot) > 8 ||
	    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
	            strlen(dot + 1))
		return "";
	return dot;
}

static int read_file(const char *path, struct es_buf *b)
{
	char chunk[65536];
	size_t n;
	int rc = ES_OK;
	FILE *f = fopen(path, "rb");

	if (!f)
		return es_fail(ES_ERR, "%s: %s", path, strerror(errno));
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = es_buf_append(b, chunk, n);
	if (!rc && ferror(f))
		rc = es_fail(ES_ERR, "%s: read failed", path);
	fclose(f);
	if (!rc && !b->data)
		rc = es_buf_append(b, "", 0);
	return rc;
}

static bool looks_like_zip(const struct es_buf *b)
{
	return b->len >= 4 && !memcmp(b->data, "PK", 2) &&
	       ((b->data[2] == 3 && b->data[3] == 4) || (b->data[2] == 5 && b->data[3] == 6));
}

/* Take a (filled-in) artifact into the list unless its digest is there.
 * Returns the listed artifact, whose key the property will point at. */
static const struct es_artifact *keep(struct pk *k, struct es_artifact *a)
{
	struct es_packaged *p = k->out;

	for (size_t i = 0; i < p->n_artifacts; i++) {
		if (!strcmp(p->artifacts[i].sha256, a->sha256) &&
		    !strcmp(p->artifacts[i].s3_key, a->s3_key)) {
			artifact_free(a);
			return &p->artifacts[i];
		}
	}
	struct es_artifact *v = realloc(p->artifacts, (p->n_artifacts + 1) * sizeof(*v));
	if (!v) {
		artifact_free(a);
		es_fail(ES_ENOMEM, "out of memory");
		return NULL;
	}
	p->artifacts = v;
	v[p->n_artifacts] = *a;
	memset(a, 0, sizeof(*a));
	return &v[p->n_artifacts++];
}

/* Package the nested template at path into a; its own artifacts join ours. */
static int nested(struct pk *k, const char *path, struct es_artifact *a)
{
	struct es_packaged child = {0};
	int rc;

	if (k->depth + 1 > MAX_NESTING)
		return es_fail(ES_EINVAL, "nested stacks deeper than %d levels", MAX_NESTING);
	if ((rc = package_at(path, k->o, k->depth + 1, &child)))
		return rc;
	for (size_t i = 0; i < child.n_artifacts; i++) {
		if (!keep(k, &child.artifacts[i])) {
			es_packaged_free(&child);
			return ES_ENOMEM;
		}
	}
	memcpy(a->sha256, child.template_sha256, sizeof(a->sha256));
	a->s3_key = child.template_key;
	child.template_key = NULL;
	rc = es_buf_puts(&a->bytes, child.template_json);
	es_packaged_free(&child);
	return rc;
}

/* Fill a with the bytes for local path (already checked to exist). */
static int make_bytes(struct pk *k, const struct rule *r, const char *path, const struct stat *st,
                      struct es_artifact *a)
{
	struct es_zip_options zo = {k->o->excludes, k->o->n_excludes};
	int rc;

	if (r->how == AS_HTTPS_URL) {
		if (!S_ISREG(st->st_mode))
			return es_fail(ES_EINVAL, "%s is not a template file", path);
		return nested(k, path, a);
	}
	if (S_ISDIR(st->st_mode)) {
		rc = es_zip_dir(path, &zo, &a->bytes, &a->n_files);
		a->is_zip = true;
	} else if ((rc = read_file(path, &a->bytes)) == ES_OK) {
		a->is_zip = looks_like_zip(&a->bytes);
		if (r->force_zip && !a->is_zip) {
			/* As the CLI does, but with a fixed stamp: its copy to a
			 * temporary directory gave a new zip on every run. */
			es_buf_free(&a->bytes);
			rc = es_zip_file(path, &a->bytes);
			a->is_zip = true;
			a->n_files = 1;
		}
	}
	if (rc)
		return rc;
	es_sha256_hex(a->bytes.data, a->bytes.len, a->sha256);
	a->s3_key = object_key(k->o->prefix, "artifacts", a->sha256,
	                       a->is_zip ? ".zip" : kept_extension(path));
	return a->s3_key ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
}

/* Point props[property] at the artifact's S3 object. */
static int rewrite(struct pk *k, const struct rule *r, json_t *props, const struct es_artifact *a)
{
	const char *bucket = k->o->bucket;
	json_t *v = NULL;
	char *s = NULL;

	switch (r->how) {
	case AS_S3_URI:
		if (asprintf(&s, "s3://%s/%s", bucket, a->s3_key) < 0)
			s = NULL;
		break;
	case AS_HTTPS_URL: {
		const char *region = k->o->region && *k->o->region ? k->o->region : "us-east-1";
		int n = strcmp(region, "us-east-1")
		                ? asprintf(&s, "https://s3.%s.amazonaws.com/%s/%s", region, bucket,
		                           a->s3_key)
		                : asprintf(&s, "https://s3.amazonaws.com/%s/%s", bucket, a->s3_key);
		if (n < 0)
			s = NULL;
		break;
	}
	case AS_BUCKET_KEY:
		v = json_pack("{s:s,s:s}", "S3Bucket", bucket, "S3Key", a->s3_key);
		break;
	}
	if (s)
		v = json_string(s);
	free(s);
	if (!v || json_object_set_new(props, r->property, v))
		return es_fail(ES_ENOMEM, "out of memory");
	return ES_OK;
}

/* One property that names local code: value NULL means "the template's
 * directory" (a function that gives no code at all). */
static int export_one(struct pk *k, const char *id, const struct rule *r, json_t *props,
                      const char *value)
{
	struct es_artifact a = {0};
	const struct es_artifact *kept;
	struct stat st;
	char *path = NULL;
	int rc;

	if (!value)
		path = strdup(k->dir);
	else if (value[0] == '/')
		path = strdup(value);
	else if (asprintf(&path, "%s/%s", k->dir, value) < 0)
		path = NULL;
	if (!path)
		return es_fail(ES_ENOMEM, "out of memory");
	if (stat(path, &st)) {
		rc = es_fail(ES_ENOTFOUND, "%s: resource %s property %s: path %s does not exist",
		             k->tpl, id, r->property, value ? value : ".");
		free(path);
		return rc;
	}
	a.local_path = realpath(path, NULL);
	free(path);
	a.logical_id = strdup(id);
	a.property = strdup(r->property);
	if (!a.local_path || !a.logical_id || !a.property) {
		artifact_free(&a);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	a.outside_root = !inside(k->dir, a.local_path);
	if ((rc = make_bytes(k, r, a.local_path, &st, &a))) {
		artifact_free(&a);
		return es_fail_prefix("%s: resource %s property %s", k->tpl, id, r->property);
	}
	if (!(kept = keep(k, &a)))
		return ES_ENOMEM;
	return rewrite(k, r, props, kept);
}

/* Decide what a property's value means: local path, or leave alone. */
static int export_value(struct pk *k, const char *id, const struct rule *r, json_t *props)
{
	json_t *v = json_object_get(props, r->property);
	const char *s;

	if (!v || json_is_object(v))
		return ES_OK; /* absent, inline ({ZipFile}), S3 ({S3Bucket}) or intrinsic */
	if (!json_is_string(v))
		return es_fail(ES_EINVAL,
		               "%s: resource %s property %s: expected a path or an S3 location",
		               k->tpl, id, r->property);
	s = json_string_value(v);
	if (!strncmp(s, "s3://", 5))
		return ES_OK;
	if (r->how == AS_HTTPS_URL && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7)))
		return ES_OK;
	if (!*s)
		return es_fail(ES_EINVAL, "%s: resource %s property %s is empty", k->tpl, id,
		               r->property);
	return export_one(k, id, r, props, s);
}

/* A SAM function that names no code: CodeUri from Globals, InlineCode, an
 * image, or else — as the CLI does — the template's whole directory. */
static bool has_own_code(json_t *props, json_t *globals_fn)
{
	const char *pt = json_string_value(json_object_get(props, "PackageType"));

	if (json_object_get(props, "CodeUri") || json_object_get(props, "InlineCode") ||
	    json_object_get(props, "ImageUri") || (pt && !strcmp(pt, "Image")))
		return true;
	return globals_fn && (json_object_get(globals_fn, "CodeUri") ||
	                      json_object_get(globals_fn, "InlineCode"));
}

static int export_resources(struct pk *k, json_t *tpl)
{
	json_t *resources = json_object_get(tpl, "Resources");
	json_t *globals_fn = json_object_get(json_object_get(tpl, "Globals"), "Function");
	const char *id;
	json_t *res;
	int rc;

	/* The CLI ignores Globals, so each function zipped the whole directory. */
	if (json_is_object(globals_fn) &&
	    (rc = export_value(k, "Globals", &globals_rule, globals_fn)))
		return rc;
	if (!json_is_object(resources))
		return ES_OK;
	json_object_foreach(resources, id, res)
	{
		const char *type = json_string_value(json_object_get(res, "Type"));
		json_t *props = json_object_get(res, "Properties");
		if (!type)
			continue;
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			const struct rule *r = &rules[i];
			if (strcmp(type, r->type))
				continue;
			if (!strcmp(r->property, "CodeUri") &&
			    !has_own_code(json_is_object(props) ? props : NULL, globals_fn)) {
				if (!props) {
					props = json_object();
					json_object_set_new(res, "Properties", props);
				}
				if (json_is_object(props) &&
				    (rc = export_one(k, id, r, props, NULL)))
					return rc;
				continue;
			}
			if (json_is_object(props) && (rc = export_value(k, id, r, props)))
				return rc;
		}
	}
	return ES_OK;
}

static int package_at(const char *path, const struct es_package_options *o, int depth,
                      struct es_packaged *out)
{
	struct pk k = {.tpl = path, .o = o, .out = out, .depth = depth};
	char *real, *copy;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!o || !o->bucket || !*o->bucket)
		return es_fail(ES_EINVAL, "packaging needs an artifact bucket");
	if ((rc = es_template_load(path, &out->template)))
		return rc;
	if (!(real = realpath(path, NULL))) {
		es_packaged_free(out);
		return es_fail(ES_ENOTFOUND, "%s: %s", path, strerror(errno));
	}
	copy = strdup(dirname(real));
	free(real);
	if (!(k.dir = copy)) {
		es_packaged_free(out);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = export_resources(&k, out->template);
	free(k.dir);
	if (!rc && !(out->template_json = es_template_dump(out->template)))
		rc = ES_EINVAL;
	if (!rc) {
		es_sha256_hex(out->template_json, strlen(out->template_json), out->template_sha256);
		out->template_key =
		        object_key(o->prefix, "templates", out->template_sha256, ".json");
		if (!out->template_key)
			rc = es_fail(ES_ENOMEM, "out of memory");
	}
	if (rc)
		es_packaged_free(out);
	return rc;
}

int es_package_template(const char *template_path, const struct es_package_options *o,
                        struct es_packaged *out)
{
	return package_at(template_path, o, 0, out);
}
