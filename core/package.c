/* Template packaging: walk everything the AWS CLI exports, check that each
 * local path stays inside the repository, turn it into content-addressed
 * bytes (a deterministic zip, or the file as-is) and rewrite the property to
 * point at where those bytes will live in S3. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "package.h"
#include "package_check.h"
#include "pathcheck.h"
#include "aws/sigv4.h"
#include "template.h"
#include "zipdet.h"

#define MAX_NESTING 8

enum rewrite {
	AS_S3_URI,     /* "s3://bucket/key" */
	AS_BUCKET_KEY, /* {"S3Bucket": …, "S3Key": …} (Lambda, Elastic Beanstalk) */
	AS_BKV,        /* {"Bucket": …, "Key": …} (API Gateway, Step Functions, CodeCommit) */
	AS_HTTPS_URL,  /* "https://s3…/bucket/key" (nested templates) */
};

enum zip_mode {
	ZIP_FORCE, /* a directory is zipped, and so is a single file unless it is a zip */
	ZIP_DIR,   /* a directory is zipped, a file is uploaded as it is */
	FILE_ONLY, /* a file uploaded as it is (AWS::Include, readme, licence) */
	TEMPLATE,  /* a nested template, packaged in turn */
};

/* The CLI's RESOURCES_EXPORT_LIST (awscli artifact_exporter.py), plus SAM's
 * GraphQL schema. property may name a nested key ("Command.ScriptLocation"). */
static const struct rule {
	const char *type;
	const char *property;
	enum zip_mode zip;
	enum rewrite how;
	bool missing_dir; /* absent: the template's directory is zipped, as the CLI does */
} rules[] = {
        {"AWS::Serverless::Function", "CodeUri", ZIP_FORCE, AS_S3_URI, false}, /* has_own_code */
        {"AWS::Lambda::Function", "Code", ZIP_FORCE, AS_BUCKET_KEY, true},
        {"AWS::Serverless::LayerVersion", "ContentUri", ZIP_FORCE, AS_S3_URI, true},
        {"AWS::Lambda::LayerVersion", "Content", ZIP_FORCE, AS_BUCKET_KEY, true},
        {"AWS::Serverless::Api", "DefinitionUri", ZIP_DIR, AS_S3_URI, false},
        {"AWS::Serverless::StateMachine", "DefinitionUri", ZIP_DIR, AS_BKV, false},
        {"AWS::Serverless::GraphQLApi", "SchemaUri", ZIP_DIR, AS_S3_URI, false},
        {"AWS::ElasticBeanstalk::ApplicationVersion", "SourceBundle", ZIP_DIR, AS_BUCKET_KEY, true},
        {"AWS::Glue::Job", "Command.ScriptLocation", ZIP_DIR, AS_S3_URI, true},
        {"AWS::AppSync::GraphQLSchema", "DefinitionS3Location", ZIP_DIR, AS_S3_URI, false},
        {"AWS::AppSync::Resolver", "RequestMappingTemplateS3Location", ZIP_DIR, AS_S3_URI, false},
        {"AWS::AppSync::Resolver", "ResponseMappingTemplateS3Location", ZIP_DIR, AS_S3_URI, false},
        {"AWS::AppSync::FunctionConfiguration", "RequestMappingTemplateS3Location", ZIP_DIR,
         AS_S3_URI, false},
        {"AWS::AppSync::FunctionConfiguration", "ResponseMappingTemplateS3Location", ZIP_DIR,
         AS_S3_URI, false},
        {"AWS::ApiGateway::RestApi", "BodyS3Location", ZIP_DIR, AS_BKV, false},
        {"AWS::StepFunctions::StateMachine", "DefinitionS3Location", ZIP_DIR, AS_BKV, false},
        {"AWS::CodeCommit::Repository", "Code.S3", ZIP_FORCE, AS_BKV, false},
        {"AWS::CloudFormation::Stack", "TemplateURL", TEMPLATE, AS_HTTPS_URL, false},
        {"AWS::Serverless::Application", "Location", TEMPLATE, AS_HTTPS_URL, false},
};

static const struct rule globals_rule = {"Globals", "CodeUri", ZIP_FORCE, AS_S3_URI, false};
static const struct rule include_rule = {"AWS::Include", "Location", FILE_ONLY, AS_S3_URI, false};
static const struct rule readme_rule = {"AWS::ServerlessRepo::Application", "ReadmeUrl", FILE_ONLY,
                                        AS_S3_URI, false};
static const struct rule license_rule = {"AWS::ServerlessRepo::Application", "LicenseUrl",
                                         FILE_ONLY, AS_S3_URI, false};

/* Where the files of one template are read from. */
struct pk {
	const char *shown; /* the template's name in messages: relative to the root */
	char *dir;         /* realpath of the template's directory */
	char *rel_dir;     /* the same, relative to the root ("." for the root) */
	const char *root;  /* realpath of the directory nothing may leave */
	const char *where; /* what root is, for messages */
	json_t *lines;     /* JSON pointer → line, for messages */
	const struct es_package_options *o;
	struct es_packaged *out;
	int depth; /* nested stack level */
};

static int package_at(const char *path, const struct es_package_options *o, const char *root,
                      const char *where, int depth, struct es_packaged *out);

static void artifact_free(struct es_artifact *a)
{
	free(a->logical_id);
	free(a->property);
	free(a->local_path);
	free(a->rel_path);
	free(a->template);
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

/* The JSON pointer of a property (dots in property are nesting) of the
 * object at base, e.g. "/Resources/Fn/Properties" + "Code.S3". */
static void pointer_of(char *dst, size_t len, const char *base, const char *property)
{
	size_t n = (size_t)snprintf(dst, len, "%s/%s", base, property);

	for (size_t i = strlen(base) + 1; i < n && i < len; i++)
		if (dst[i] == '.')
			dst[i] = '/';
}

/* "template.yaml:12: resource Fn property CodeUri: " for messages. */
static const char *context(const struct pk *k, const char *id, const char *property,
                           const char *pointer, char *buf, size_t len)
{
	int line = es_template_line(k->lines, pointer);
	char at[32] = "";

	if (line > 0)
		snprintf(at, sizeof(at), ":%d", line);
	if (!strcmp(id, "Globals") || !strcmp(id, "Metadata") || !strcmp(id, "AWS::Include"))
		snprintf(buf, len, "%s%s: %s %s", k->shown, at, id, property);
	else
		snprintf(buf, len, "%s%s: resource %s property %s", k->shown, at, id, property);
	return buf;
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
	if ((rc = package_at(path, k->o, k->root, k->where, k->depth + 1, &child)))
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
	struct es_zip_options zo = {k->o->excludes, k->o->n_excludes, k->root};
	int rc;

	if (r->zip == TEMPLATE || r->zip == FILE_ONLY) {
		if (!S_ISREG(st->st_mode))
			return es_fail(ES_EINVAL, "%s is not a file", path);
		if (r->zip == TEMPLATE)
			return nested(k, path, a);
	}
	if (S_ISDIR(st->st_mode)) {
		rc = es_zip_dir(path, &zo, &a->bytes, &a->n_files);
		a->is_zip = true;
	} else if ((rc = read_file(path, &a->bytes)) == ES_OK) {
		a->is_zip = looks_like_zip(&a->bytes);
		if (r->zip == ZIP_FORCE && !a->is_zip) {
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

/* Point holder[key] at the artifact's S3 object. */
static int rewrite(struct pk *k, const struct rule *r, json_t *holder, const char *key,
                   const struct es_artifact *a)
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
	case AS_BKV: v = json_pack("{s:s,s:s}", "Bucket", bucket, "Key", a->s3_key); break;
	}
	if (s)
		v = json_string(s);
	free(s);
	if (!v || json_object_set_new(holder, key, v))
		return es_fail(ES_ENOMEM, "out of memory");
	return ES_OK;
}

/* Confinement: value (relative to the template) must name something inside
 * the root, lexically and once symbolic links are followed. On success
 * *real is its realpath (malloc'd). */
static int confine(struct pk *k, const char *value, const char *ctx, const char *property,
                   struct stat *st, char **real)
{
	char rel[4096], *path = NULL;
	int rc;

	*real = NULL;
	if (value[0] == '/')
		return es_fail(ES_EREFUSED,
		               "%s: %s is an absolute path: only files committed in %s are "
		               "deployed; write the path relative to the template, e.g. "
		               "%s: src/",
		               ctx, value, k->where, property);
	if (!es_path_join_inside(k->rel_dir, value, rel, sizeof(rel)))
		return es_fail(ES_EREFUSED,
		               "%s: %s leaves %s: only files committed in %s are deployed; move "
		               "them into it and point %s at them, e.g. %s: src/",
		               ctx, value, k->where, k->where, property, property);
	if (asprintf(&path, "%s/%s", k->root, rel) < 0)
		return es_fail(ES_ENOMEM, "out of memory");
	if (stat(path, st)) {
		rc = es_fail(ES_ENOTFOUND, "%s: path %s does not exist", ctx, value);
		free(path);
		return rc;
	}
	*real = realpath(path, NULL);
	free(path);
	if (!*real)
		return es_fail(ES_ERR, "%s: %s: %s", ctx, value, strerror(errno));
	if (!es_path_is_under(k->root, *real)) {
		rc = es_fail(ES_EREFUSED,
		             "%s: %s goes through a symbolic link to %s, outside %s: only files "
		             "committed in %s are deployed; replace the link with the files",
		             ctx, value, *real, k->where, k->where);
		free(*real);
		*real = NULL;
		return rc;
	}
	return ES_OK;
}

/* One property that names local files: value NULL means "the template's
 * directory" (a function that gives no code at all). */
static int export_one(struct pk *k, const char *id, const struct rule *r, json_t *holder,
                      const char *key, const char *value, const char *pointer)
{
	struct es_artifact a = {0};
	const struct es_artifact *kept;
	struct stat st;
	char ctx[600];
	int rc;

	context(k, id, r->property, pointer, ctx, sizeof(ctx));
	if ((rc = confine(k, value ? value : ".", ctx, r->property, &st, &a.local_path)))
		return rc;
	a.logical_id = strdup(id);
	a.property = strdup(r->property);
	a.template = strdup(k->shown);
	a.rel_path =
	        strdup(a.local_path[strlen(k->root)] ? a.local_path + strlen(k->root) + 1 : ".");
	if (!a.logical_id || !a.property || !a.template || !a.rel_path) {
		artifact_free(&a);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	a.outside_root = !es_path_is_under(k->dir, a.local_path);
	if ((rc = make_bytes(k, r, a.local_path, &st, &a))) {
		artifact_free(&a);
		return es_fail_prefix("%s", ctx);
	}
	if (!(kept = keep(k, &a)))
		return ES_ENOMEM;
	return rewrite(k, r, holder, key, kept);
}

/* Decide what holder[key] means: a local path, or something to leave. */
static int export_value(struct pk *k, const char *id, const struct rule *r, json_t *holder,
                        const char *key, const char *pointer)
{
	json_t *v = json_object_get(holder, key);
	const char *s;
	char ctx[600];

	if (!v || json_is_object(v))
		return ES_OK; /* absent, inline ({ZipFile}), S3 ({S3Bucket}) or intrinsic */
	if (!json_is_string(v))
		return es_fail(ES_EINVAL, "%s: expected a path or an S3 location",
		               context(k, id, r->property, pointer, ctx, sizeof(ctx)));
	s = json_string_value(v);
	if (!strncmp(s, "s3://", 5))
		return ES_OK;
	if (r->how == AS_HTTPS_URL && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7)))
		return ES_OK;
	if (!*s)
		return es_fail(ES_EINVAL, "%s is empty",
		               context(k, id, r->property, pointer, ctx, sizeof(ctx)));
	return export_one(k, id, r, holder, key, s, pointer);
}

/* A rule's property inside props: the object holding it and its last key. */
static json_t *holder_of(json_t *props, const char *property, char *key, size_t len)
{
	const char *dot;

	while (json_is_object(props) && (dot = strchr(property, '.'))) {
		char part[128];
		snprintf(part, sizeof(part), "%.*s", (int)(dot - property), property);
		props = json_object_get(props, part);
		property = dot + 1;
	}
	snprintf(key, len, "%s", property);
	return json_is_object(props) ? props : NULL;
}

/* The object that holds property inside props, made when missing (for a
 * nested "Command.ScriptLocation" without Command). */
static json_t *make_holder(json_t *props, const char *property, char *key, size_t len)
{
	const char *dot;

	while (json_is_object(props) && (dot = strchr(property, '.'))) {
		char part[128];
		snprintf(part, sizeof(part), "%.*s", (int)(dot - property), property);
		json_t *next = json_object_get(props, part);
		if (!next) {
			next = json_object();
			if (!next || json_object_set_new(props, part, next))
				return NULL;
		}
		props = next;
		property = dot + 1;
	}
	snprintf(key, len, "%s", property);
	return json_is_object(props) ? props : NULL;
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

/* Append "/key" to the JSON pointer in p (RFC 6901: '~' is "~0", '/' "~1"). */
static void append_key(char *p, size_t len, const char *key)
{
	size_t n = strlen(p);

	if (n + 1 < len)
		p[n++] = '/';
	for (; *key && n + 2 < len; key++) {
		if (*key == '~' || *key == '/') {
			p[n++] = '~';
			p[n++] = *key == '~' ? '0' : '1';
		} else {
			p[n++] = *key;
		}
	}
	p[n] = '\0';
}

/* Every {"Fn::Transform": {"Name": "AWS::Include", "Parameters":
 * {"Location": …}}} at any depth, as the CLI walks them. */
static int export_includes(struct pk *k, json_t *v, char *pointer, size_t len)
{
	size_t n = strlen(pointer);
	int rc = ES_OK;

	if (json_is_object(v)) {
		const char *key;
		json_t *child;
		json_t *tr = json_object_get(v, "Fn::Transform");
		const char *name = json_string_value(json_object_get(tr, "Name"));
		json_t *params = json_object_get(tr, "Parameters");
		if (name && !strcmp(name, "AWS::Include") && json_is_object(params)) {
			char at[4200];
			snprintf(at, sizeof(at), "%s/Fn::Transform/Parameters/Location", pointer);
			if ((rc = export_value(k, "AWS::Include", &include_rule, params, "Location",
			                       at)))
				return rc;
		}
		json_object_foreach(v, key, child)
		{
			if (child == tr)
				continue;
			append_key(pointer, len, key);
			rc = export_includes(k, child, pointer, len);
			pointer[n] = '\0';
			if (rc)
				return rc;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child)
		{
			snprintf(pointer + n, len - n, "/%zu", i);
			rc = export_includes(k, child, pointer, len);
			pointer[n] = '\0';
			if (rc)
				return rc;
		}
	}
	return rc;
}

/* Every resource of a Resources map; a "Fn::ForEach::Name" entry
 * ([identifier, collection, {resources}]) is walked into, as the CLI does. */
static int export_resource_map(struct pk *k, json_t *resources, const char *at, json_t *globals_fn,
                               int depth)
{
	const char *id;
	json_t *res;
	int rc;

	if (!json_is_object(resources))
		return ES_OK;
	json_object_foreach(resources, id, res)
	{
		const char *type = json_string_value(json_object_get(res, "Type"));
		json_t *props = json_object_get(res, "Properties");
		char base[600], pointer[800], key[128];
		if (!strncmp(id, "Fn::ForEach::", 13)) {
			if (!json_is_array(res) || json_array_size(res) != 3 ||
			    !json_is_object(json_array_get(res, 2)))
				return es_fail(
				        ES_EINVAL,
				        "%s: %s must be [Identifier, Collection, {Resources}]",
				        k->shown, id);
			if (depth >= 5)
				return es_fail(ES_EINVAL, "%s: Fn::ForEach nested deeper than 5",
				               k->shown);
			snprintf(base, sizeof(base), "%s/%s/2", at, id);
			if ((rc = export_resource_map(k, json_array_get(res, 2), base, globals_fn,
			                              depth + 1)))
				return rc;
			continue;
		}
		if (!type)
			continue;
		snprintf(base, sizeof(base), "%s/%s/Properties", at, id);
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			const struct rule *r = &rules[i];
			if (strcmp(type, r->type))
				continue;
			pointer_of(pointer, sizeof(pointer), base, r->property);
			if (!strcmp(r->property, "CodeUri") &&
			    !has_own_code(json_is_object(props) ? props : NULL, globals_fn)) {
				if (!props) {
					props = json_object();
					json_object_set_new(res, "Properties", props);
				}
				if (json_is_object(props) &&
				    (rc = export_one(k, id, r, props, "CodeUri", NULL, base)))
					return rc;
				continue;
			}
			json_t *holder = holder_of(props, r->property, key, sizeof(key));
			if (r->missing_dir && json_is_object(props) &&
			    !json_object_get(holder, key)) {
				/* As the CLI does: no value, the template's directory. */
				holder = make_holder(props, r->property, key, sizeof(key));
				if (!holder)
					return es_fail(ES_EINVAL,
					               "%s: resource %s: %s is not an object",
					               k->shown, id, r->property);
				if ((rc = export_one(k, id, r, holder, key, NULL, base)))
					return rc;
				continue;
			}
			if (holder && (rc = export_value(k, id, r, holder, key, pointer)))
				return rc;
		}
	}
	return ES_OK;
}

static int export_resources(struct pk *k, json_t *tpl)
{
	json_t *resources = json_object_get(tpl, "Resources");
	json_t *globals_fn = json_object_get(json_object_get(tpl, "Globals"), "Function");
	json_t *sar = json_object_get(json_object_get(tpl, "Metadata"),
	                              "AWS::ServerlessRepo::Application");
	int rc;

	/* The CLI ignores Globals, so each function zipped the whole directory. */
	if (json_is_object(globals_fn) &&
	    (rc = export_value(k, "Globals", &globals_rule, globals_fn, "CodeUri",
	                       "/Globals/Function/CodeUri")))
		return rc;
	if (json_is_object(sar) &&
	    ((rc = export_value(k, "Metadata", &readme_rule, sar, "ReadmeUrl",
	                        "/Metadata/AWS::ServerlessRepo::Application/ReadmeUrl")) ||
	     (rc = export_value(k, "Metadata", &license_rule, sar, "LicenseUrl",
	                        "/Metadata/AWS::ServerlessRepo::Application/LicenseUrl"))))
		return rc;
	if (!json_is_object(resources))
		return ES_OK;
	if ((rc = export_resource_map(k, resources, "/Resources", globals_fn, 0)))
		return rc;
	char pointer[4096] = "";
	return export_includes(k, tpl, pointer, sizeof(pointer));
}

static int package_at(const char *path, const struct es_package_options *o, const char *root,
                      const char *where, int depth, struct es_packaged *out)
{
	struct pk k = {.o = o, .out = out, .depth = depth, .root = root, .where = where};
	char *real;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(real = realpath(path, NULL)))
		return es_fail(ES_ENOTFOUND, "%s: %s", path, strerror(errno));
	/* The template itself may not be a link out of the tree either. */
	if (!es_path_is_under(root, real)) {
		rc = es_fail(ES_EREFUSED,
		             "%s is a symbolic link to %s, outside %s: only files committed in "
		             "%s are deployed",
		             path, real, where, where);
		free(real);
		return rc;
	}
	/* Relative paths resolve against the directory of the template they
	 * are written in; messages name the template from the root. */
	k.shown = real + strlen(root);
	while (*k.shown == '/')
		k.shown++;
	const char *slash = strrchr(k.shown, '/');
	k.rel_dir = slash ? strndup(k.shown, (size_t)(slash - k.shown)) : strdup(".");
	k.dir = strndup(real, (size_t)(strrchr(real, '/') - real));
	if (!k.dir || !k.rel_dir) {
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = es_template_load_lines(path, &out->template, &k.lines)))
		goto out;
	rc = export_resources(&k, out->template);
	/* Before anything leaves: each handler in its zip, the edge's rules. */
	if (!rc)
		rc = es_package_check(out->template, k.lines, k.shown, o->bucket, out->artifacts,
		                      out->n_artifacts);
	if (!rc && !(out->template_json = es_template_dump(out->template)))
		rc = ES_EINVAL;
	if (!rc) {
		es_sha256_hex(out->template_json, strlen(out->template_json), out->template_sha256);
		out->template_key =
		        object_key(o->prefix, "templates", out->template_sha256, ".json");
		if (!out->template_key)
			rc = es_fail(ES_ENOMEM, "out of memory");
	}
out:
	json_decref(k.lines);
	free(k.dir);
	free(k.rel_dir);
	free(real);
	if (rc)
		es_packaged_free(out);
	return rc;
}

int es_package_template(const char *template_path, const struct es_package_options *o,
                        struct es_packaged *out)
{
	char *root, *copy;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!o || !o->bucket || !*o->bucket)
		return es_fail(ES_EINVAL, "packaging needs an artifact bucket");
	/* Without a repository root, the template's own directory (as
	 * written, links resolved) is the most that may be packaged. */
	if (!(copy = strdup(o->root ? o->root : template_path)))
		return es_fail(ES_ENOMEM, "out of memory");
	root = realpath(o->root ? copy : dirname(copy), NULL);
	free(copy);
	if (!root)
		return es_fail(ES_ENOTFOUND, "%s: %s", o->root ? o->root : template_path,
		               strerror(errno));
	rc = package_at(template_path, o, root,
	                o->root ? "the repository" : "the template's directory", 0, out);
	free(root);
	return rc;
}
