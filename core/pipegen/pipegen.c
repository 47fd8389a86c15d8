/* The pipeline template of `edgeship init --pipeline`, built as a JSON value
 * from edgeship.conf and written as YAML: source, one CloudFormation deploy
 * per stage, the validator after every stage but the last, and a manual
 * approval before the last. Names that become identifiers are checked, text
 * is carried as data (JSON inside strings, escaped for Fn::Sub). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "pipegen_int.h"
#include "template.h"
#include "yamlemit.h"

/* CodePipeline takes at most 1000 characters per configuration value. */
#define CONF_VALUE_MAX 1000
#define URL_MAX        500
#define URL_PATTERN    "^https?://[^\\s\"\\\\]+$"
#define ARN_PATTERN                                                                                \
	"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:"             \
	"connection/[A-Za-z0-9-]+$"
#define REPO_PATTERN   "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
#define BRANCH_PATTERN "^[A-Za-z0-9._/-]+$"
#define NAME_PATTERN   "^[A-Za-z0-9.@_-]+$"
#define CHANGE_SET     "edgeship-pipeline"
/* nodejs20.x can no longer be created (cfn-lint E2533: deprecated 2026-04-30);
 * the validator needs only what Node.js 18 has (fetch, AbortController). */
#define ES_PIPEGEN_RUNTIME "nodejs22.x"

/* s with every "${" written "${!", so Fn::Sub gives s back unchanged. */
static char *sub_escape(const char *s)
{
	struct es_buf b = ES_BUF_INIT;

	for (const char *p = s; *p; p++) {
		if (es_buf_putc(&b, *p))
			goto oom;
		if (p[0] == '$' && p[1] == '{') {
			if (es_buf_puts(&b, "{!"))
				goto oom;
			p++;
		}
	}
	return es_buf_steal(&b);
oom:
	es_buf_free(&b);
	return NULL;
}

/* s with every from replaced by to (malloc'd), or NULL. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct es_buf b = ES_BUF_INIT;
	size_t n = strlen(from);

	for (const char *p = s; *p;) {
		if (strncmp(p, from, n) == 0) {
			if (es_buf_puts(&b, to))
				goto oom;
			p += n;
		} else if (es_buf_putc(&b, *p++)) {
			goto oom;
		}
	}
	return es_buf_steal(&b);
oom:
	es_buf_free(&b);
	return NULL;
}

/* ------------------------------------------------------------ checks */

static bool matches_chars(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return false;
	return true;
}

static bool good_url(const char *u)
{
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return false;
	if (strlen(u) > URL_MAX || !u[strncmp(u, "https://", 8) ? 7 : 8])
		return false;
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
			return false;
	return true;
}

static bool good_arn(const char *a)
{
	const char *p = a, *field;
	int colons = 0;

	if (strncmp(a, "arn:aws", 7) != 0 || strlen(a) > 256)
		return false;
	if (!strstr(a, ":codestar-connections:") && !strstr(a, ":codeconnections:"))
		return false;
	for (; *p; p++)
		if (*p == ':')
			colons++;
		else if (!isalnum((unsigned char)*p) && !strchr("-/", *p))
			return false;
	field = strstr(a, ":connection/");
	return colons == 5 && field && field[12] && !strchr(field + 12, '/');
}

const char *es_pipegen_check_opts(const struct es_pipegen_opts *o)
{
	if (o->name && !matches_chars(o->name, ".@_-", 100))
		return "a pipeline name has 1 to 100 letters, digits, '.', '@', '_' and '-'";
	if (o->source != ES_PIPEGEN_CODESTAR)
		return (o->connection_arn || o->repository || o->branch)
		               ? "--connection-arn, --repository and --branch go with --source "
		                 "codestar"
		               : NULL;
	if (!o->connection_arn || !o->repository)
		return "--source codestar needs --connection-arn ARN and --repository OWNER/NAME";
	if (!good_arn(o->connection_arn))
		return "--connection-arn takes a connection's ARN, "
		       "arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID";
	const char *slash = strchr(o->repository, '/');
	if (!slash || slash == o->repository || !slash[1] || strchr(slash + 1, '/') ||
	    !matches_chars(o->repository, "_.-/", 200))
		return "--repository takes OWNER/NAME (letters, digits, '_', '.' and '-')";
	if (o->branch && !matches_chars(o->branch, "._/-", 255))
		return "--branch takes a branch name of letters, digits, '.', '_', '/' and '-'";
	return NULL;
}

/* The stages in release order: the one that deploys commits, then each one
 * promoting from the one before; file order when they do not form a chain. */
static int order_stages(struct pg *g)
{
	const struct es_config *c = g->conf;
	const struct es_stage_conf *cur = es_config_first_stage(c);

	if (c->n_stages == 0)
		return es_fail(ES_ECONFIG,
		               "%s defines no stage: add a [stage \"NAME\"] section for each stack "
		               "the pipeline deploys",
		               ES_CONFIG_FILE);
	if (c->n_stages > PG_MAX_STAGES)
		return es_fail(ES_ECONFIG,
		               "%s defines %zu stages; a pipeline of at most %d is written",
		               ES_CONFIG_FILE, c->n_stages, PG_MAX_STAGES);
	while (cur && g->n < c->n_stages) {
		const struct es_stage_conf *next = NULL;
		g->stages[g->n++] = cur;
		for (size_t i = 0; i < c->n_stages && !next; i++)
			if (c->stages[i].promotes_from &&
			    strcmp(c->stages[i].promotes_from, cur->name) == 0)
				next = &c->stages[i];
		cur = next;
	}
	if (g->n != c->n_stages) {
		g->n = 0;
		for (size_t i = 0; i < c->n_stages; i++)
			g->stages[g->n++] = &c->stages[i];
	}
	for (size_t i = 0; i < g->n; i++) {
		char *l = g->logical[i];
		size_t len = 0;
		bool up = true;
		for (const char *p = g->stages[i]->name; *p && len + 1 < sizeof(g->logical[i]);
		     p++) {
			if (!isalnum((unsigned char)*p)) {
				up = true;
				continue;
			}
			l[len++] = up ? (char)toupper((unsigned char)*p) : *p;
			up = false;
		}
		l[len] = '\0';
		if (!len || !isalpha((unsigned char)l[0]))
			snprintf(l, sizeof(g->logical[i]), "Stage%zu", i + 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(g->logical[j], l) == 0)
				return es_fail(
				        ES_ECONFIG,
				        "stages \"%s\" and \"%s\" differ only in '-' and '_': "
				        "rename one, the pipeline names them both %s",
				        g->stages[j]->name, g->stages[i]->name, l);
	}
	return ES_OK;
}

/* The deploy role's groups from the app's template (every group when it
 * cannot be read: the reference app's needs). */
static const struct {
	const char *prefix;
	unsigned groups;
} type_groups[] = {
        {"AWS::Serverless::Function", PG_LAMBDA | PG_IAM | PG_CODE},
        {"AWS::Lambda::", PG_LAMBDA | PG_CODE},
        {"AWS::IAM::Role", PG_IAM},
        {"AWS::IAM::Policy", PG_IAM},
        {"AWS::CloudFront::", PG_CLOUDFRONT},
};

static void read_app_template(struct pg *g, json_t **app)
{
	char path[4096];
	const char *type;
	json_t *r;

	*app = NULL;
	g->uncovered = json_array();
	snprintf(path, sizeof(path), "%s/%s", g->conf->root ? g->conf->root : ".",
	         g->conf->template_path ? g->conf->template_path : "template.yaml");
	if (es_template_load(path, app) != ES_OK || !json_is_object(*app)) {
		es_error_clear();
		json_decref(*app);
		*app = NULL;
		g->groups = PG_LAMBDA | PG_IAM | PG_CLOUDFRONT | PG_CODE;
		g->transform = true;
		return;
	}
	g->template_read = true;
	g->transform = json_object_get(*app, "Transform") != NULL;
	json_object_foreach(json_object_get(*app, "Resources"), type, r)
	{
		const char *t = json_string_value(json_object_get(r, "Type"));
		bool known = false;
		if (!t)
			continue;
		for (size_t i = 0; i < sizeof(type_groups) / sizeof(type_groups[0]); i++)
			if (strncmp(t, type_groups[i].prefix, strlen(type_groups[i].prefix)) == 0) {
				g->groups |= type_groups[i].groups;
				known = true;
			}
		if (!known) {
			bool seen = false;
			size_t i;
			json_t *u;
			json_array_foreach(g->uncovered, i, u) seen |=
			        strcmp(json_string_value(u), t) == 0;
			if (!seen)
				json_array_append_new(g->uncovered, pg_str(g, t));
		}
	}
}

/* ------------------------------------------------------------ parameters */

/* The check the validator makes for stage i: the first [check] that applies
 * to it (one with body-contains first). */
static const struct es_check_conf *stage_check(const struct pg *g, size_t i)
{
	const struct es_check_conf *best = NULL;

	for (size_t k = 0; k < g->conf->n_checks; k++) {
		const struct es_check_conf *c = &g->conf->checks[k];
		bool applies = c->n_stages == 0;
		for (size_t s = 0; s < c->n_stages; s++)
			applies |= strcmp(c->stages[s], g->stages[i]->name) == 0;
		if (applies && (!best || (!best->body_contains && c->body_contains)))
			best = c;
	}
	return best;
}

static int url_parameter(struct pg *g, json_t *params, size_t i)
{
	const struct es_stage_conf *s = g->stages[i];
	const struct es_check_conf *k = stage_check(g, i);
	char name[64], url[2048] = "", desc[200];
	json_t *p;

	if (k && k->url)
		snprintf(url, sizeof(url), "%s", k->url);
	else if (s->url) {
		size_t n = strlen(s->url);
		snprintf(url, sizeof(url), "%.*s%s", (int)(n && s->url[n - 1] == '/' ? n - 1 : n),
		         s->url, k && k->path ? k->path : "/");
	}
	if (url[0] && !good_url(url))
		return es_fail(ES_ECONFIG,
		               "stage %s: the validator cannot fetch \"%.80s\": write an http(s) "
		               "URL of at most %d characters without spaces, '\"' or '\\' (url = "
		               "in [stage \"%s\"], or the check's path/url)",
		               s->name, url, URL_MAX, s->name);
	snprintf(name, sizeof(name), "%sUrl", g->logical[i]);
	snprintf(desc, sizeof(desc), "The URL the validator fetches after deploying stage %s",
	         s->name);
	p = json_pack("{s:s, s:s, s:s, s:i, s:s}", "Type", "String", "Description", desc,
	              "AllowedPattern", URL_PATTERN, "MaxLength", URL_MAX, "ConstraintDescription",
	              "an http(s) URL without spaces, quotes or backslashes");
	if (url[0])
		json_object_set_new(p, "Default", pg_str(g, url));
	return json_object_set_new(params, name, p) ? es_fail(ES_ENOMEM, "out of memory") : ES_OK;
}

static json_t *parameters(struct pg *g)
{
	const struct es_pipegen_opts *o = g->o;
	char name[160];
	json_t *p = json_object();

	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		snprintf(name, sizeof(name), "%s-pipeline", g->conf->app ? g->conf->app : "");
	json_object_set_new(p, "PipelineName",
	                    json_pack("{s:s, s:o, s:s, s:i}", "Type", "String", "Default",
	                              pg_str(g, name), "AllowedPattern", NAME_PATTERN, "MaxLength",
	                              100));
	json_object_set_new(
	        p, "TemplatePath",
	        json_pack("{s:s, s:s, s:o}", "Type", "String", "Description",
	                  "The packaged template (edgeship package --output-template) inside the "
	                  "source artifact",
	                  "Default", pg_str(g, g->conf->template_path)));
	json_object_set_new(p, "CodeBucket",
	                    json_pack("{s:s, s:s, s:o}", "Type", "String", "Description",
	                              "The bucket the packaged template's code lives in", "Default",
	                              pg_str(g, g->conf->bucket)));
	if (o->source == ES_PIPEGEN_S3) {
		char key[300];
		snprintf(key, sizeof(key), "%s/source.zip",
		         g->conf->prefix && g->conf->prefix[0] ? g->conf->prefix : "source");
		json_object_set_new(
		        p, "SourceObjectKey",
		        json_pack("{s:s, s:s, s:o}", "Type", "String", "Description",
		                  "The key of the zipped source in the source bucket: uploading a "
		                  "new version starts the pipeline",
		                  "Default", pg_str(g, key)));
	} else {
		json_object_set_new(p, "ConnectionArn",
		                    json_pack("{s:s, s:o, s:s}", "Type", "String", "Default",
		                              pg_str(g, o->connection_arn), "AllowedPattern",
		                              ARN_PATTERN));
		json_object_set_new(p, "FullRepositoryId",
		                    json_pack("{s:s, s:o, s:s}", "Type", "String", "Default",
		                              pg_str(g, o->repository), "AllowedPattern",
		                              REPO_PATTERN));
		json_object_set_new(p, "BranchName",
		                    json_pack("{s:s, s:o, s:s}", "Type", "String", "Default",
		                              pg_str(g, o->branch ? o->branch : "main"),
		                              "AllowedPattern", BRANCH_PATTERN));
	}
	for (size_t i = 0; i + 1 < g->n; i++)
		if (url_parameter(g, p, i)) {
			json_decref(p);
			return NULL;
		}
	return p;
}

/* ------------------------------------------------------------ actions */

static json_t *action_type(const char *category, const char *provider)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "Category", category, "Owner", "AWS", "Provider",
	                 provider, "Version", "1");
}

static json_t *source_stage(struct pg *g)
{
	json_t *cfg;
	const char *provider;

	if (g->o->source == ES_PIPEGEN_S3) {
		provider = "S3";
		cfg = json_pack("{s:o, s:o, s:s}", "S3Bucket", pg_ref("SourceBucket"),
		                "S3ObjectKey", pg_ref("SourceObjectKey"), "PollForSourceChanges",
		                "false");
	} else {
		provider = "CodeStarSourceConnection";
		cfg = json_pack("{s:o, s:o, s:o, s:s}", "ConnectionArn", pg_ref("ConnectionArn"),
		                "FullRepositoryId", pg_ref("FullRepositoryId"), "BranchName",
		                pg_ref("BranchName"), "OutputArtifactFormat", "CODE_ZIP");
	}
	return json_pack("{s:s, s:[{s:s, s:o, s:o, s:[{s:s}], s:i}]}", "Name", "Source", "Actions",
	                 "Name", "Source", "ActionTypeId", action_type("Source", provider),
	                 "Configuration", cfg, "OutputArtifacts", "Name", "SourceOutput",
	                 "RunOrder", 1);
}

/* ParameterOverrides: Stage (when the app's template takes it and the stage
 * does not set it) and the stage's parameters, as a JSON string. */
static int overrides(struct pg *g, const json_t *app, size_t i, char **out)
{
	const struct es_stage_conf *s = g->stages[i];
	json_t *o = json_object();
	const json_t *params = app ? json_object_get(app, "Parameters") : NULL;
	bool takes_stage = !app || (params && json_object_get(params, "Stage"));

	if (takes_stage)
		json_object_set_new(o, "Stage", pg_str(g, s->name));
	for (size_t k = 0; k < s->n_parameters; k++)
		if (json_object_set_new(o, s->parameters[k].key, pg_str(g, s->parameters[k].value)))
			g->bad_text = true; /* a key that is not UTF-8 */
	char *dumped = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	/* "${" only occurs inside JSON strings here; written "\u0024{" it means
	 * the same to CodePipeline and no linter takes it for a forgotten
	 * Fn::Sub (CloudFormation itself leaves plain strings alone). */
	*out = dumped ? replace_all(dumped, "${", "\\u0024{") : NULL;
	free(dumped);
	if (!*out)
		return es_fail(ES_ECONFIG, "stage %s: a parameter is not UTF-8 text", s->name);
	if (strlen(*out) > CONF_VALUE_MAX) {
		size_t n = strlen(*out);
		free(*out);
		*out = NULL;
		return es_fail(ES_ECONFIG,
		               "stage %s: its parameters make ParameterOverrides %zu characters "
		               "long; CodePipeline takes at most %d: shorten the parameter values",
		               s->name, n, CONF_VALUE_MAX);
	}
	return ES_OK;
}

static json_t *deploy_config(struct pg *g, size_t i, const char *mode, const char *params)
{
	const struct es_config *c = g->conf;
	json_t *cfg = json_pack("{s:s, s:o}", "ActionMode", mode, "StackName",
	                        pg_str(g, g->stages[i]->stack));
	struct es_buf caps = ES_BUF_INIT;

	if (strcmp(mode, "CHANGE_SET_EXECUTE") == 0) {
		json_object_set_new(cfg, "ChangeSetName", json_string(CHANGE_SET));
		return cfg;
	}
	if (strcmp(mode, "CHANGE_SET_REPLACE") == 0)
		json_object_set_new(cfg, "ChangeSetName", json_string(CHANGE_SET));
	json_object_set_new(cfg, "TemplatePath", pg_sub(g, "SourceOutput::${TemplatePath}"));
	json_object_set_new(cfg, "ParameterOverrides", pg_str(g, params));
	for (size_t k = 0; k < c->n_capabilities; k++)
		es_buf_printf(&caps, "%s%s", k ? "," : "", c->capabilities[k]);
	if (caps.len)
		json_object_set_new(cfg, "Capabilities", pg_str(g, es_buf_str(&caps)));
	es_buf_free(&caps);
	json_object_set_new(cfg, "RoleArn", pg_getatt("DeployRole", "Arn"));
	return cfg;
}

static json_t *deploy_action(struct pg *g, const char *name, json_t *cfg, int run_order)
{
	return json_pack("{s:s, s:o, s:o, s:[{s:s}], s:i}", "Name", name, "ActionTypeId",
	                 action_type("Deploy", "CloudFormation"), "Configuration", cfg,
	                 "InputArtifacts", "Name", "SourceOutput", "RunOrder", run_order);
}

/* The validator's action: UserParameters is JSON, with the URL parameter
 * substituted and the expected text escaped for Fn::Sub. */
static int validate_action(struct pg *g, size_t i, int run_order, json_t **out)
{
	const struct es_check_conf *k = stage_check(g, i);
	json_t *text = json_string(k && k->body_contains ? k->body_contains : "");
	char *text_json = text ? json_dumps(text, JSON_ENCODE_ANY) : NULL;
	char *text_sub = text_json ? sub_escape(text_json) : NULL;
	struct es_buf b = ES_BUF_INIT;
	size_t url_ref;
	int rc = ES_OK;

	json_decref(text);
	free(text_json);
	if (!text_sub) {
		return es_fail(ES_ECONFIG, "[check \"%s\"] body-contains is not UTF-8 text",
		               k ? k->name : "");
	}
	es_buf_printf(&b, "{\"url\":\"${%sUrl}\",\"text\":%s,\"status\":%ld,\"timeoutMs\":%ld",
	              g->logical[i], text_sub, k && k->status ? k->status : 200L,
	              k && k->timeout_ms > 0 ? k->timeout_ms : 5000L);
	free(text_sub);
	/* The stage's probe-bypass: the validator asks there, past the cache,
	 * as edgeship's own probe does (without it, a cached answer fails). */
	const char *bypass =
	        g->stages[i]->probe_bypass ? g->stages[i]->probe_bypass : g->conf->probe_bypass;
	if (bypass) {
		json_t *bj = json_string(bypass);
		char *b_json = bj ? json_dumps(bj, JSON_ENCODE_ANY) : NULL;
		char *b_sub = b_json ? sub_escape(b_json) : NULL;
		json_decref(bj);
		free(b_json);
		if (!b_sub) {
			es_buf_free(&b);
			return es_fail(ES_ECONFIG, "[stage \"%s\"] probe-bypass is not UTF-8 text",
			               g->stages[i]->name);
		}
		es_buf_printf(&b, ",\"bypass\":%s", b_sub);
		free(b_sub);
	}
	es_buf_puts(&b, "}");
	url_ref = strlen(g->logical[i]) + 6; /* ${NAMEUrl} */
	if (b.len - url_ref + URL_MAX > CONF_VALUE_MAX) {
		rc = es_fail(ES_ECONFIG,
		             "[check \"%s\"] body-contains is too long for the validator: its "
		             "UserParameters (URL up to %d characters, then the text) hold at most "
		             "%d characters; check a shorter part of the page",
		             k ? k->name : "", URL_MAX, CONF_VALUE_MAX);
		es_buf_free(&b);
		return rc;
	}
	*out = json_pack("{s:s, s:o, s:{s:o, s:o}, s:i}", "Name", "Validate", "ActionTypeId",
	                 action_type("Invoke", "Lambda"), "Configuration", "FunctionName",
	                 pg_ref("ValidatorFunction"), "UserParameters", pg_sub(g, es_buf_str(&b)),
	                 "RunOrder", run_order);
	es_buf_free(&b);
	return ES_OK;
}

static json_t *approval_action(struct pg *g, size_t i)
{
	char data[512], url[64];

	snprintf(data, sizeof(data),
	         "Release to %s what passed validation in %s: look at ${%sUrl} first.",
	         g->stages[i]->name, g->stages[i - 1]->name, g->logical[i - 1]);
	snprintf(url, sizeof(url), "%sUrl", g->logical[i - 1]);
	return json_pack("{s:s, s:o, s:{s:o, s:o}, s:i}", "Name", "Approve", "ActionTypeId",
	                 action_type("Approval", "Manual"), "Configuration", "CustomData",
	                 pg_sub(g, data), "ExternalEntityLink", pg_ref(url), "RunOrder", 1);
}

static int release_stage(struct pg *g, const json_t *app, size_t i, json_t **out)
{
	json_t *actions = json_array(), *a = NULL;
	char *params = NULL;
	int run = 1, rc;

	if (i > 0 && i + 1 == g->n) {
		json_array_append_new(actions, approval_action(g, i));
		run++;
	}
	if ((rc = overrides(g, app, i, &params)))
		goto fail;
	if (g->o->mode == ES_PIPEGEN_CREATE_UPDATE) {
		json_array_append_new(actions,
		                      deploy_action(g, "Deploy",
		                                    deploy_config(g, i, "CREATE_UPDATE", params),
		                                    run++));
	} else {
		json_array_append_new(
		        actions,
		        deploy_action(g, "CreateChangeSet",
		                      deploy_config(g, i, "CHANGE_SET_REPLACE", params), run++));
		a = json_pack("{s:s, s:o, s:o, s:i}", "Name", "ExecuteChangeSet", "ActionTypeId",
		              action_type("Deploy", "CloudFormation"), "Configuration",
		              deploy_config(g, i, "CHANGE_SET_EXECUTE", NULL), "RunOrder", run++);
		json_array_append_new(actions, a);
	}
	free(params);
	if (i + 1 < g->n) {
		if ((rc = validate_action(g, i, run++, &a)))
			goto fail;
		json_array_append_new(actions, a);
	}
	*out = json_pack("{s:s, s:o}", "Name", g->stages[i]->name, "Actions", actions);
	return *out ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
fail:
	json_decref(actions);
	return rc;
}

/* ------------------------------------------------------------ resources */

static json_t *private_bucket(bool versioned, bool eventbridge)
{
	json_t *props = json_pack(
	        "{s:{s:[{s:{s:s}}]}, s:{s:b, s:b, s:b, s:b}}", "BucketEncryption",
	        "ServerSideEncryptionConfiguration", "ServerSideEncryptionByDefault",
	        "SSEAlgorithm", "AES256", "PublicAccessBlockConfiguration", "BlockPublicAcls", 1,
	        "BlockPublicPolicy", 1, "IgnorePublicAcls", 1, "RestrictPublicBuckets", 1);

	if (versioned)
		json_object_set_new(props, "VersioningConfiguration",
		                    json_pack("{s:s}", "Status", "Enabled"));
	if (eventbridge)
		json_object_set_new(props, "NotificationConfiguration",
		                    json_pack("{s:{s:b}}", "EventBridgeConfiguration",
		                              "EventBridgeEnabled", 1));
	return json_pack("{s:s, s:o}", "Type", "AWS::S3::Bucket", "Properties", props);
}

/* The validator's own time limit: its slowest check's timeout and some
 * seconds to report, at least a minute (Lambda allows 15). */
static int validator_timeout_s(const struct pg *g)
{
	long most = 60;

	for (size_t i = 0; i + 1 < g->n; i++) {
		const struct es_check_conf *k = stage_check(g, i);
		long s = (k && k->timeout_ms > 0 ? k->timeout_ms : 5000L) / 1000 + 15;
		if (s > most)
			most = s;
	}
	return (int)(most > 900 ? 900 : most);
}

static int pipeline_resources(struct pg *g, const json_t *app)
{
	json_t *stages = json_array(), *st;
	int rc;

	json_array_append_new(stages, source_stage(g));
	for (size_t i = 0; i < g->n; i++) {
		if ((rc = release_stage(g, app, i, &st))) {
			json_decref(stages);
			return rc;
		}
		json_array_append_new(stages, st);
	}
	json_object_set_new(g->resources, "ArtifactStore", private_bucket(false, false));
	if (g->o->source == ES_PIPEGEN_S3) {
		json_object_set_new(g->resources, "SourceBucket", private_bucket(true, true));
		json_object_set_new(
		        g->resources, "SourceTrigger",
		        json_pack("{s:s, s:{s:s, s:{s:[s], s:[s], s:{s:{s:[o]}, s:{s:[o]}}}, "
		                  "s:[{s:s, s:o, s:o}]}}",
		                  "Type", "AWS::Events::Rule", "Properties", "Description",
		                  "A new version of the source starts the pipeline", "EventPattern",
		                  "source", "aws.s3", "detail-type", "Object Created", "detail",
		                  "bucket", "name", pg_ref("SourceBucket"), "object", "key",
		                  pg_ref("SourceObjectKey"), "Targets", "Id", "pipeline", "Arn",
		                  pg_sub(g, "arn:${AWS::Partition}:codepipeline:${AWS::Region}:"
		                            "${AWS::AccountId}:${Pipeline}"),
		                  "RoleArn", pg_getatt("TriggerRole", "Arn")));
	}
	json_object_set_new(
	        g->resources, "ValidatorFunction",
	        json_pack("{s:s, s:{s:s, s:s, s:s, s:i, s:i, s:o, s:{s:s}}}", "Type",
	                  "AWS::Lambda::Function", "Properties", "Description",
	                  "Fetches a stage's URL for the pipeline: passes on the expected status "
	                  "and text",
	                  "Runtime", ES_PIPEGEN_RUNTIME, "Handler", "index.handler", "Timeout",
	                  validator_timeout_s(g), "MemorySize", 128, "Role",
	                  pg_getatt("ValidatorRole", "Arn"), "Code", "ZipFile",
	                  es_pipegen_validator_js));
	json_object_set_new(g->resources, "ValidatorLogGroup",
	                    json_pack("{s:s, s:{s:o, s:i}}", "Type", "AWS::Logs::LogGroup",
	                              "Properties", "LogGroupName",
	                              pg_sub(g, "/aws/lambda/${ValidatorFunction}"),
	                              "RetentionInDays", 30));
	json_object_set_new(g->resources, "Pipeline",
	                    json_pack("{s:s, s:{s:o, s:o, s:s, s:s, s:{s:s, s:o}, s:o}}", "Type",
	                              "AWS::CodePipeline::Pipeline", "Properties", "Name",
	                              pg_ref("PipelineName"), "RoleArn",
	                              pg_getatt("PipelineRole", "Arn"), "PipelineType", "V2",
	                              "ExecutionMode", "SUPERSEDED", "ArtifactStore", "Type", "S3",
	                              "Location", pg_ref("ArtifactStore"), "Stages", stages));
	return ES_OK;
}

static json_t *outputs(struct pg *g)
{
	json_t *o = json_object();

	json_object_set_new(o, "PipelineName",
	                    json_pack("{s:s, s:o}", "Description", "The pipeline", "Value",
	                              pg_ref("Pipeline")));
	json_object_set_new(o, "ArtifactStoreBucket",
	                    json_pack("{s:s, s:o}", "Description",
	                              "Where the pipeline keeps its artifacts", "Value",
	                              pg_ref("ArtifactStore")));
	json_object_set_new(o, "ValidatorFunctionName",
	                    json_pack("{s:s, s:o}", "Description",
	                              "The Lambda that checks a stage's URL", "Value",
	                              pg_ref("ValidatorFunction")));
	if (g->o->source == ES_PIPEGEN_S3)
		json_object_set_new(o, "SourceBucketName",
		                    json_pack("{s:s, s:o}", "Description",
		                              "Upload the zipped source here, at SourceObjectKey",
		                              "Value", pg_ref("SourceBucket")));
	return o;
}

/* ------------------------------------------------------------ the template */

static int build(struct pg *g, json_t **out)
{
	const struct es_config *c = g->conf;
	const char *why = es_pipegen_check_opts(g->o);
	json_t *app = NULL, *tpl = NULL, *params;
	char desc[300];
	int rc;

	*out = NULL;
	if (why)
		return es_fail(ES_EINVAL, "%s", why);
	if (!g->o->name && (!c->app || !matches_chars(c->app, ".@_-", 100 - 9)))
		return es_fail(ES_ECONFIG,
		               "name = %.60s%s in [app] cannot name a pipeline (1 to 91 letters, "
		               "digits, '.', '@', '_' and '-'): give one with --name NAME",
		               c->app ? c->app : "", c->app && strlen(c->app) > 60 ? "…" : "");
	if ((rc = order_stages(g)))
		return rc;
	read_app_template(g, &app);
	g->resources = json_object();
	if (!(params = parameters(g))) {
		rc = es_error_last()->status ? es_error_last()->status : ES_ENOMEM;
		goto out;
	}
	snprintf(desc, sizeof(desc),
	         "The release pipeline of the stacks in edgeship.conf: source, a deploy of each "
	         "stage, validation, a manual approval before %s (edgeship init --pipeline)",
	         g->stages[g->n - 1]->name);
	tpl = json_pack("{s:s, s:s, s:o}", "AWSTemplateFormatVersion", "2010-09-09", "Description",
	                desc, "Parameters", params);
	if ((rc = pipeline_resources(g, app)) || (rc = pg_roles(g)))
		goto out;
	json_object_set(tpl, "Resources", g->resources);
	json_object_set_new(tpl, "Outputs", outputs(g));
	if (g->bad_text) {
		rc = es_fail(ES_ECONFIG,
		             "%s holds text that is not UTF-8: the template cannot "
		             "carry it",
		             ES_CONFIG_FILE);
		goto out;
	}
	*out = tpl;
	tpl = NULL;
out:
	json_decref(tpl);
	json_decref(app);
	return rc;
}

int es_pipegen_template(const struct es_config *conf, const struct es_pipegen_opts *o,
                        struct json_t **out)
{
	struct pg g = {.conf = conf, .o = o};
	int rc = build(&g, out);

	json_decref(g.resources);
	json_decref(g.uncovered);
	return rc;
}

int es_pipegen_yaml(const struct es_config *conf, const struct es_pipegen_opts *o, char **out)
{
	struct pg g = {.conf = conf, .o = o};
	struct es_buf b = ES_BUF_INIT;
	json_t *tpl = NULL, *param, *u;
	char *yaml = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = build(&g, &tpl)) || (rc = es_yaml_emit(tpl, &yaml)))
		goto out;
	param = json_object_get(json_object_get(json_object_get(tpl, "Parameters"), "PipelineName"),
	                        "Default");
	es_buf_printf(&b,
	              "# The CodePipeline that releases the stacks of edgeship.conf, written by\n"
	              "# `edgeship init --pipeline`. Deploy it with:\n"
	              "#   aws cloudformation deploy --template-file THIS_FILE \\\n"
	              "#     --stack-name %s --capabilities CAPABILITY_IAM\n",
	              json_string_value(param));
	if (o->source == ES_PIPEGEN_S3)
		es_buf_puts(
		        &b,
		        "# then upload a zip of the source (holding the packaged template at\n"
		        "# TemplatePath) to the SourceBucketName output, at SourceObjectKey.\n");
	if (!g.template_read)
		es_buf_puts(
		        &b,
		        "# The app's template could not be read: the deploy role grants what\n"
		        "# the reference Lambda@Edge app needs (Lambda, IAM roles, CloudFront).\n");
	if (json_array_size(g.uncovered)) {
		es_buf_puts(&b,
		            "# The deploy role (DeployRole) grants nothing for these types of the\n"
		            "# app's template; add what they need before deploying:\n");
		json_array_foreach(g.uncovered, i, u)
		{
			char t[120];
			snprintf(t, sizeof(t), "%s", json_string_value(u));
			for (char *p = t; *p; p++)
				if ((unsigned char)*p < ' ' || *p == 0x7f)
					*p = '?';
			es_buf_printf(&b, "#   %s\n", t);
		}
	}
	es_buf_puts(&b, yaml);
	*out = es_buf_steal(&b);
	rc = *out ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
out:
	free(yaml);
	es_buf_free(&b);
	json_decref(tpl);
	json_decref(g.resources);
	json_decref(g.uncovered);
	return rc;
}
