/* Handlers and Lambda@Edge rules, checked on the packaged template and the
 * zips in memory: a release that cannot run is refused before S3 hears of
 * it, with the rule it breaks named. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "package_check.h"
#include "template.h"
#include "zipdet.h"

/* Lambda@Edge quotas, per trigger kind (reference aws-facts.md section 5
 * "Quotas", aws-facts-2.md "Quota | Viewer req/resp | Origin req/resp",
 * from CloudFront's edge-functions-restrictions and cloudfront-limits):
 * viewer triggers 128 MB of memory, a 5 s timeout and a 1 MB compressed
 * package; origin triggers up to 10,240 MB, 30 s and 50 MB. */
static const struct edge_limits {
	const char *kind;
	long long max_zip; /* bytes */
	const char *zip_text;
	long long max_memory;  /* MB */
	long long max_timeout; /* seconds */
} viewer_limits = {"viewer", 1024LL * 1024, "1 MB", 128, 5},
  origin_limits = {"origin", 50LL * 1024 * 1024, "50 MB", 10240, 30};

struct chk {
	json_t *resources;
	json_t *globals_fn; /* Globals/Function, for SAM functions */
	const json_t *lines;
	const char *shown;
	const char *bucket;
	const struct es_artifact *arts;
	size_t n_arts;
};

static bool is_type(const json_t *res, const char *type)
{
	const char *t = json_string_value(json_object_get(res, "Type"));
	return t && !strcmp(t, type);
}

static bool is_sam(const json_t *res)
{
	return is_type(res, "AWS::Serverless::Function");
}

static bool is_function(const json_t *res)
{
	return is_sam(res) || is_type(res, "AWS::Lambda::Function");
}

/* A function's property, from Globals/Function when a SAM function does
 * not set it. */
static json_t *fn_prop(const struct chk *c, const char *id, const char *name, char *ptr, size_t len)
{
	json_t *res = json_object_get(c->resources, id);
	json_t *v = json_object_get(json_object_get(res, "Properties"), name);

	if (v || !is_sam(res)) {
		snprintf(ptr, len, "/Resources/%s/Properties/%s", id, name);
		return v;
	}
	snprintf(ptr, len, "/Globals/Function/%s", name);
	return json_object_get(c->globals_fn, name);
}

/* "template.yaml:12: resource Fn" for messages. */
static const char *where(const struct chk *c, const char *id, const char *ptr, char *buf,
                         size_t len)
{
	int line = es_template_line(c->lines, ptr);

	if (line > 0)
		snprintf(buf, len, "%s:%d: resource %s", c->shown, line, id);
	else
		snprintf(buf, len, "%s: resource %s", c->shown, id);
	return buf;
}

/* The artifact this function's code points at, when packaging made it. */
static const struct es_artifact *code_of(const struct chk *c, const char *id, char *ptr, size_t len)
{
	json_t *res = json_object_get(c->resources, id);
	const char *key = NULL;
	size_t bl = strlen(c->bucket);

	if (is_sam(res)) {
		const char *uri = json_string_value(fn_prop(c, id, "CodeUri", ptr, len));
		if (uri && !strncmp(uri, "s3://", 5) && !strncmp(uri + 5, c->bucket, bl) &&
		    uri[5 + bl] == '/')
			key = uri + 6 + bl;
	} else {
		json_t *code = json_object_get(json_object_get(res, "Properties"), "Code");
		const char *b = json_string_value(json_object_get(code, "S3Bucket"));
		snprintf(ptr, len, "/Resources/%s/Properties/Code", id);
		if (b && !strcmp(b, c->bucket))
			key = json_string_value(json_object_get(code, "S3Key"));
	}
	for (size_t i = 0; key && i < c->n_arts; i++)
		if (c->arts[i].is_zip && !strcmp(c->arts[i].s3_key, key))
			return &c->arts[i];
	return NULL;
}

static bool has_name(char **names, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], want))
			return true;
	return false;
}

/* What the zip holds, for the message: the first entries and a count. */
static void listing(char **names, size_t n, char *buf, size_t len)
{
	size_t used = 0, shown = 0;

	buf[0] = '\0';
	for (; shown < n && shown < 12 && used + 4 < len; shown++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", shown ? ", " : "",
		                         names[shown]);
	if (shown < n && used < len)
		snprintf(buf + used, len - used, " and %zu more", n - shown);
	if (!n)
		snprintf(buf, len, "nothing");
}

/* The files that can hold a handler's module for a runtime, e.g.
 * "src/index.handler" on nodejs → src/index.js, .mjs, .cjs; "pkg.app.run"
 * on python → pkg/app.py. false: a runtime whose handler names no file. */
static bool module_files(const char *runtime, const char *handler, char files[3][512], size_t *n)
{
	const char *dot = strrchr(handler, '.');
	char module[480];

	*n = 0;
	if (!dot || dot == handler)
		return false;
	snprintf(module, sizeof(module), "%.*s", (int)(dot - handler), handler);
	if (!strncmp(runtime, "nodejs", 6)) {
		static const char *const ext[] = {".js", ".mjs", ".cjs"};
		for (size_t i = 0; i < 3; i++)
			snprintf(files[(*n)++], 512, "%s%s", module, ext[i]);
		return true;
	}
	if (!strncmp(runtime, "python", 6)) {
		/* Python modules nest with dots after the last slash. */
		char *base = strrchr(module, '/');
		for (char *p = base ? base : module; *p; p++)
			if (*p == '.')
				*p = '/';
		snprintf(files[(*n)++], 512, "%s.py", module);
		return true;
	}
	if (!strncmp(runtime, "ruby", 4)) {
		snprintf(files[(*n)++], 512, "%s.rb", module);
		return true;
	}
	return false;
}

/* No handler, no deploy: the zip must hold the module the handler names. */
static int check_handler(const struct chk *c, const char *id)
{
	char ptr[600], at[700], files[3][512];
	const struct es_artifact *a = code_of(c, id, ptr, sizeof(ptr));
	const char *runtime = json_string_value(fn_prop(c, id, "Runtime", ptr, sizeof(ptr)));
	const char *handler = json_string_value(fn_prop(c, id, "Handler", ptr, sizeof(ptr)));
	char **names = NULL, list[1200];
	size_t n = 0, nf = 0;
	int rc;

	if (!a || !runtime || !handler)
		return ES_OK; /* code not made here, an image, or set by an intrinsic */
	where(c, id, ptr, at, sizeof(at));
	if (!module_files(runtime, handler, files, &nf)) {
		if (strrchr(handler, '.') ||
		    (strncmp(runtime, "nodejs", 6) && strncmp(runtime, "python", 6)))
			return ES_OK; /* Java, Go, .NET, custom runtimes: no file to look for */
		return es_fail(ES_EREFUSED,
		               "%s: Handler %s is not FILE.FUNCTION: write it as e.g. "
		               "index.handler",
		               at, handler);
	}
	if ((rc = es_zip_names(a->bytes.data, a->bytes.len, &names, &n)))
		return es_fail_prefix("%s: reading its zip", at);
	for (size_t i = 0; i < nf; i++) {
		if (has_name(names, n, files[i])) {
			es_zip_names_free(names, n);
			return ES_OK;
		}
	}
	listing(names, n, list, sizeof(list));
	rc = es_fail(ES_EREFUSED,
	             "%s: Handler %s (%s) needs %s%s%s%s%s in its code (%s), which holds: %s; "
	             "commit the file or fix Handler",
	             at, handler, runtime, files[0], nf > 1 ? ", " : "", nf > 1 ? files[1] : "",
	             nf > 2 ? " or " : "", nf > 2 ? files[2] : "", a->rel_path, list);
	es_zip_names_free(names, n);
	return rc;
}

/* A whole number, written as one or as a string of digits; false for an
 * intrinsic or anything else. */
static bool number_of(const json_t *v, long long *out)
{
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!json_is_string(v) || !*json_string_value(v))
		return false;
	*out = strtoll(json_string_value(v), &end, 10);
	return *end == '\0';
}

/* One function CloudFront runs at the edge, against the limits of its
 * trigger kind. event and dist say which association asked. */
static int check_edge(const struct chk *c, const char *id, const struct edge_limits *lim,
                      const char *event, const char *dist)
{
	char ptr[600], at[1000], by[300];
	const char *runtime = json_string_value(fn_prop(c, id, "Runtime", ptr, sizeof(ptr)));
	const struct es_artifact *a;
	json_t *env, *arch;
	long long v;

	snprintf(by, sizeof(by), "runs as %s on %s", event, dist);
	if (runtime && strncmp(runtime, "nodejs", 6) && strncmp(runtime, "python", 6))
		return es_fail(ES_EREFUSED,
		               "%s: Lambda@Edge rule \"runtimes: Node.js and Python only\": "
		               "Runtime is %s and it %s; use a nodejs or python runtime",
		               where(c, id, ptr, at, sizeof(at)), runtime, by);
	env = fn_prop(c, id, "Environment", ptr, sizeof(ptr));
	if (env && json_object_size(json_object_get(env, "Variables")) > 0)
		return es_fail(ES_EREFUSED,
		               "%s: Lambda@Edge rule \"no environment variables\": it sets "
		               "Environment Variables and it %s; put the values in the code or "
		               "read them from the request",
		               where(c, id, ptr, at, sizeof(at)), by);
	if (number_of(fn_prop(c, id, "MemorySize", ptr, sizeof(ptr)), &v) && v > lim->max_memory)
		return es_fail(ES_EREFUSED,
		               "%s: Lambda@Edge rule \"%s triggers: memory at most %lld MB\": "
		               "MemorySize is %lld and it %s; lower MemorySize%s",
		               where(c, id, ptr, at, sizeof(at)), lim->kind, lim->max_memory, v, by,
		               lim == &viewer_limits ? " or use an origin trigger" : "");
	if (number_of(fn_prop(c, id, "Timeout", ptr, sizeof(ptr)), &v) && v > lim->max_timeout)
		return es_fail(ES_EREFUSED,
		               "%s: Lambda@Edge rule \"%s triggers: timeout at most %lld s\": "
		               "Timeout is %lld and it %s; lower Timeout%s",
		               where(c, id, ptr, at, sizeof(at)), lim->kind, lim->max_timeout, v,
		               by, lim == &viewer_limits ? " or use an origin trigger" : "");
	/* Layers are not supported at the edge (aws-facts.md, Lambda@Edge "Not
	 * supported"): CloudFront would refuse the association. */
	if (json_array_size(fn_prop(c, id, "Layers", ptr, sizeof(ptr))) > 0)
		return es_fail(ES_EREFUSED,
		               "%s: Lambda@Edge rule \"no layers\": it names Layers and it %s; "
		               "put what the layer holds into the function's own code, or use "
		               "the layer from a regional function",
		               where(c, id, ptr, at, sizeof(at)), by);
	arch = fn_prop(c, id, "Architectures", ptr, sizeof(ptr));
	for (size_t i = 0; i < json_array_size(arch); i++) {
		const char *s = json_string_value(json_array_get(arch, i));
		if (s && !strcmp(s, "arm64"))
			return es_fail(ES_EREFUSED,
			               "%s: Lambda@Edge rule \"x86_64 only\": Architectures names "
			               "arm64 and it %s; remove Architectures",
			               where(c, id, ptr, at, sizeof(at)), by);
	}
	a = code_of(c, id, ptr, sizeof(ptr));
	if (a && (long long)a->bytes.len > lim->max_zip)
		return es_fail(ES_EREFUSED,
		               "%s: Lambda@Edge rule \"%s triggers: zip at most %s\": the zip of "
		               "%s is %zu bytes (limit %lld) and it %s; exclude what it does not "
		               "need (edgeship.conf: exclude = GLOB)%s",
		               where(c, id, ptr, at, sizeof(at)), lim->kind, lim->zip_text,
		               a->rel_path, a->bytes.len, lim->max_zip, by,
		               lim == &viewer_limits ? " or use an origin trigger" : "");
	return ES_OK;
}

/* The function an association's LambdaFunctionARN names: a SAM
 * "Fn.Version" or "Fn.Alias", a Lambda::Version of a function, or the
 * function itself. NULL for an ARN from elsewhere. */
static const char *edge_function(const struct chk *c, const json_t *arn, char *buf, size_t len)
{
	const char *ref = json_string_value(json_object_get(arn, "Ref"));
	json_t *ga = json_object_get(arn, "Fn::GetAtt");
	const char *dot;

	if (json_is_array(ga))
		ref = json_string_value(json_array_get(ga, 0));
	if (!ref)
		return NULL;
	snprintf(buf, len, "%s", ref);
	if ((dot = strchr(ref, '.')) && !json_is_array(ga)) {
		snprintf(buf, len, "%.*s", (int)(dot - ref), ref);
		return is_sam(json_object_get(c->resources, buf)) ? buf : NULL;
	}
	json_t *res = json_object_get(c->resources, buf);
	if (is_function(res))
		return buf;
	if (!is_type(res, "AWS::Lambda::Version"))
		return NULL;
	json_t *fn = json_object_get(json_object_get(res, "Properties"), "FunctionName");
	return edge_function(c, fn, buf, len) && is_function(json_object_get(c->resources, buf))
	               ? buf
	               : NULL;
}

/* The packaged template of a nested stack resource (its TemplateURL, or a
 * SAM application's Location, names one of our artifacts), read back with
 * the line map of its source, as a context for checking what it holds.
 * false when the child is not ours (an S3 URL from elsewhere, a serverless
 * repository application). On true the caller releases *tpl and *lines. */
static bool open_child(const struct chk *c, const json_t *res, struct chk *out, json_t **tpl,
                       json_t **lines)
{
	json_t *props = json_object_get(res, "Properties");
	const char *url = is_type(res, "AWS::CloudFormation::Stack")
	                          ? json_string_value(json_object_get(props, "TemplateURL"))
	                  : is_type(res, "AWS::Serverless::Application")
	                          ? json_string_value(json_object_get(props, "Location"))
	                          : NULL;
	size_t ul = url ? strlen(url) : 0;

	for (size_t i = 0; url && i < c->n_arts; i++) {
		const struct es_artifact *a = &c->arts[i];
		size_t kl = strlen(a->s3_key);
		if (strcmp(a->property, "TemplateURL") && strcmp(a->property, "Location"))
			continue;
		if (kl + 1 > ul || url[ul - kl - 1] != '/' || strcmp(url + ul - kl, a->s3_key))
			continue;
		*tpl = json_loadb(a->bytes.data, a->bytes.len, 0, NULL);
		if (!*tpl)
			return false;
		/* Messages point into the source; the packaged JSON has no lines. */
		json_t *src = NULL;
		*lines = NULL;
		if (es_template_load_lines(a->local_path, &src, lines))
			*lines = NULL;
		json_decref(src);
		*out = *c;
		out->resources = json_object_get(*tpl, "Resources");
		out->globals_fn = json_object_get(json_object_get(*tpl, "Globals"), "Function");
		out->lines = *lines;
		out->shown = a->rel_path;
		return true;
	}
	return false;
}

/* The function an association runs, checked against its trigger's limits;
 * Fn::GetAtt Child.Outputs.NAME of a nested stack is followed into the
 * child's template, where the output's value names the function. */
static int check_target(const struct chk *c, const json_t *arn, const struct edge_limits *lim,
                        const char *event, const char *dist, int depth)
{
	json_t *ga = json_object_get(arn, "Fn::GetAtt");
	const char *child = json_string_value(json_array_get(ga, 0));
	const char *att = json_string_value(json_array_get(ga, 1));
	json_t *tpl = NULL, *lines = NULL;
	struct chk cc;
	char fn[256];
	int rc = ES_OK;

	const char *id = edge_function(c, arn, fn, sizeof(fn));
	if (id)
		return check_edge(c, id, lim, event, dist);
	if (!child || !att || strncmp(att, "Outputs.", 8) || depth >= 8 ||
	    !open_child(c, json_object_get(c->resources, child), &cc, &tpl, &lines))
		return ES_OK;
	json_t *out = json_object_get(json_object_get(tpl, "Outputs"), att + 8);
	if (json_object_get(out, "Value"))
		rc = check_target(&cc, json_object_get(out, "Value"), lim, event, dist, depth + 1);
	json_decref(tpl);
	json_decref(lines);
	return rc;
}

static int check_behaviour(const struct chk *c, const json_t *behaviour, const char *dist)
{
	json_t *assocs = json_object_get(behaviour, "LambdaFunctionAssociations");
	int rc;

	for (size_t i = 0; i < json_array_size(assocs); i++) {
		json_t *as = json_array_get(assocs, i);
		const char *event = json_string_value(json_object_get(as, "EventType"));
		if (!event)
			continue;
		const struct edge_limits *lim = !strncmp(event, "viewer-", 7)   ? &viewer_limits
		                                : !strncmp(event, "origin-", 7) ? &origin_limits
		                                                                : NULL;
		if (lim && (rc = check_target(c, json_object_get(as, "LambdaFunctionARN"), lim,
		                              event, dist, 0)))
			return rc;
	}
	return ES_OK;
}

int es_package_check(const json_t *tpl, const json_t *lines, const char *shown, const char *bucket,
                     const struct es_artifact *arts, size_t n_arts)
{
	struct chk c = {
	        .resources = json_object_get(tpl, "Resources"),
	        .globals_fn = json_object_get(json_object_get(tpl, "Globals"), "Function"),
	        .lines = lines,
	        .shown = shown,
	        .bucket = bucket,
	        .arts = arts,
	        .n_arts = n_arts,
	};
	const char *id;
	json_t *res;
	int rc;

	json_object_foreach(c.resources, id, res)
	{
		if (is_function(res) && (rc = check_handler(&c, id)))
			return rc;
	}
	json_object_foreach(c.resources, id, res)
	{
		if (!is_type(res, "AWS::CloudFront::Distribution"))
			continue;
		json_t *dc =
		        json_object_get(json_object_get(res, "Properties"), "DistributionConfig");
		json_t *cbs = json_object_get(dc, "CacheBehaviors");
		if ((rc = check_behaviour(&c, json_object_get(dc, "DefaultCacheBehavior"), id)))
			return rc;
		for (size_t i = 0; i < json_array_size(cbs); i++)
			if ((rc = check_behaviour(&c, json_array_get(cbs, i), id)))
				return rc;
	}
	return ES_OK;
}
