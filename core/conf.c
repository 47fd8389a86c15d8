/* Reading and checking edgeship.conf through libgit2's config parser; this
 * file only maps entries onto struct es_config and finds line numbers for
 * messages. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "conf.h"
#include "conf_pipeline.h"
#include "base/error.h"
#include "canary_conf.h"
#include "guard_conf.h"
#include "pathcheck.h"
#include "conf_accounts.h"

enum kind { K_STR, K_MULTI, K_KV, K_LONG, K_MS };

enum section { S_APP, S_STAGE, S_CHECK, S_PIPELINE, S_LEDGER };

struct key {
	enum section section;
	const char *name;
	enum kind kind;
	size_t offset;       /* of the field (char *, char **, struct es_kv *, long) */
	size_t count_offset; /* of the size_t count for K_MULTI / K_KV */
	const char *help;
};

#define APP(f) offsetof(struct es_config, f)
#define STG(f) offsetof(struct es_stage_conf, f)
#define CHK(f) offsetof(struct es_check_conf, f)
#define PIP(f) offsetof(struct es_pipeline_conf, f)

/* Every key edgeship.conf accepts; the starter file and error hints use it. */
static const struct key keys[] = {
        {S_APP, "name", K_STR, APP(app), 0, "application name, e.g. name = my-site"},
        {S_APP, "template", K_STR, APP(template_path), 0,
         "template path relative to the repository root, e.g. template = template.yaml"},
        {S_APP, "region", K_STR, APP(region), 0, "AWS region, e.g. region = us-east-1"},
        {S_APP, "bucket", K_STR, APP(bucket), 0, "artifact bucket, e.g. bucket = my-artifacts"},
        {S_APP, "prefix", K_STR, APP(prefix), 0, "key prefix in the bucket, e.g. prefix = my-site"},
        {S_APP, "capability", K_MULTI, APP(capabilities), APP(n_capabilities),
         "one per line, e.g. capability = CAPABILITY_IAM"},
        {S_APP, "exclude", K_MULTI, APP(excludes), APP(n_excludes),
         "packaging exclude glob, e.g. exclude = *.md"},
        {S_APP, "build", K_STR, APP(build), 0,
         "build command run in a fresh export before packaging, e.g. build = npm ci && npm "
         "run build"},
        {S_APP, "build-timeout", K_MS, APP(build_timeout_ms), 0,
         "the build's time limit, e.g. build-timeout = 10m"},
        {S_APP, "build-env", K_MULTI, APP(build_env), APP(n_build_env),
         "an environment variable the build may see, e.g. build-env = NPM_TOKEN"},
        {S_STAGE, "stack", K_STR, STG(stack), 0, "stack name, e.g. stack = my-site-staging"},
        {S_STAGE, "parameter", K_KV, STG(parameters), STG(n_parameters),
         "template parameter, e.g. parameter = Stage=staging"},
        {S_STAGE, "tag", K_KV, STG(tags), STG(n_tags), "stack tag, e.g. tag = team=web"},
        {S_STAGE, "url", K_STR, STG(url), 0, "public URL, e.g. url = https://staging.example.com"},
        {S_STAGE, "promotes-from", K_STR, STG(promotes_from), 0,
         "stage this one receives releases from, e.g. promotes-from = staging"},
        {S_STAGE, "probe", K_MULTI, STG(probes), STG(n_probes),
         "edge address to sample, e.g. probe = 203.0.113.10:443"},
        {S_STAGE, "marker-header", K_STR, STG(marker_header), 0,
         "response header naming the release, e.g. marker-header = x-release"},
        {S_STAGE, "probe-bypass", K_STR, STG(probe_bypass), 0,
         "a request the cache never answers, e.g. probe-bypass = /edgeship-probe"},
        {S_STAGE, "guard-error-rate", K_STR, STG(guard_error_rate), 0,
         "5xx error rate that is a breach of the guard, e.g. guard-error-rate = 5%"},
        {S_STAGE, "guard-window", K_MS, STG(guard_window_ms), 0,
         "how long the rate must stay above it (default one period), e.g. guard-window = 2m"},
        {S_STAGE, "guard-watch", K_MS, STG(guard_watch_ms), 0,
         "how long the guard watches after Deployed (default 10m), e.g. guard-watch = 10m"},
        {S_STAGE, "guard-action", K_STR, STG(guard_action), 0,
         "what a breach does: alert (default) or rollback, e.g. guard-action = rollback"},
        {S_STAGE, "guard-period", K_MS, STG(guard_period_ms), 0,
         "CloudWatch metric period (default 60s), e.g. guard-period = 1m"},
        {S_STAGE, "canary", K_STR, STG(canary), 0,
         "roll out through a staging distribution first, e.g. canary = weight 5% or canary = "
         "header aws-cf-cd-canary: yes"},
        {S_APP, "probe-bypass", K_STR, APP(probe_bypass), 0,
         "every stage's probe-bypass, e.g. probe-bypass = ?edgeship-nocache"},
        {S_CHECK, "stage", K_MULTI, CHK(stages), CHK(n_stages),
         "stage to check (default: all), e.g. stage = staging"},
        {S_CHECK, "path", K_STR, CHK(path), 0, "path on the stage URL, e.g. path = /"},
        {S_CHECK, "url", K_STR, CHK(url), 0, "full URL instead of a path"},
        {S_CHECK, "status", K_LONG, CHK(status), 0, "expected HTTP status, e.g. status = 200"},
        {S_CHECK, "body-contains", K_STR, CHK(body_contains), 0, "text the body must contain"},
        {S_CHECK, "body-matches", K_STR, CHK(body_matches), 0,
         "extended regular expression the body must match"},
        {S_CHECK, "header", K_STR, CHK(header), 0, "expected header, e.g. header = x-cache: Hit"},
        {S_CHECK, "timeout", K_MS, CHK(timeout_ms), 0, "per request, e.g. timeout = 5s"},
        {S_CHECK, "samples", K_LONG, CHK(samples), 0, "requests per run, e.g. samples = 3"},
        {S_CHECK, "lambda", K_STR, CHK(lambda), 0,
         "a function judging the stage instead of a request, e.g. lambda = my-site-validator"},
        {S_STAGE, "pipeline", K_STR, STG(pipeline), 0,
         "the [pipeline] that deploys this stage, e.g. pipeline = web"},
        {S_STAGE, "pipeline-stage", K_STR, STG(pipeline_stage), 0,
         "that pipeline's stage deploying it, e.g. pipeline-stage = Staging"},
        {S_PIPELINE, "name", K_STR, PIP(pipeline), 0,
         "the CodePipeline's name, e.g. name = my-site-release"},
        /* Stages in AWS accounts of their own (core/conf_accounts.c). */
        {S_STAGE, "profile", K_STR, STG(creds.profile), 0,
         "AWS profile whose credentials reach this stage's account, e.g. profile = prod"},
        {S_STAGE, "role-arn", K_STR, STG(creds.role_arn), 0,
         "role assumed from the default credentials for this stage, e.g. role-arn = "
         "arn:aws:iam::222222222222:role/edgeship-deploy"},
        {S_STAGE, "external-id", K_STR, STG(creds.external_id), 0,
         "external ID the role's trust policy asks for, e.g. external-id = web-team"},
        {S_STAGE, "session-name", K_STR, STG(creds.session_name), 0,
         "role session name shown in CloudTrail, e.g. session-name = edgeship-prod"},
        {S_STAGE, "bucket", K_STR, STG(bucket), 0,
         "this stage's artifact bucket (default: [app] bucket), e.g. bucket = "
         "my-site-prod-artifacts"},
        {S_LEDGER, "bucket", K_STR, APP(ledger_bucket), 0,
         "the ledger's one home every stage's console reads (default: [app] bucket), "
         "e.g. bucket = my-site-ledger"},
        {S_LEDGER, "profile", K_STR, APP(ledger_creds.profile), 0,
         "AWS profile that reaches the ledger's bucket, e.g. profile = tools"},
        {S_LEDGER, "role-arn", K_STR, APP(ledger_creds.role_arn), 0,
         "role assumed from the default credentials for the ledger, e.g. role-arn = "
         "arn:aws:iam::111111111111:role/edgeship-ledger"},
        {S_LEDGER, "external-id", K_STR, APP(ledger_creds.external_id), 0,
         "external ID for the ledger's role, e.g. external-id = web-team"},
        {S_LEDGER, "session-name", K_STR, APP(ledger_creds.session_name), 0,
         "role session name for the ledger, e.g. session-name = edgeship-ledger"},
};

struct loader {
	struct es_config *cfg;
	char *text; /* file contents, for line numbers */
};

/* ------------------------------------------------------------ line numbers */

/* Line of `key` in [section "sub"] (or of the header itself when key is
 * NULL; section NULL: before the first header); 0 when not found. libgit2
 * gives values, not positions. */
static int find_line(const char *text, const char *section, const char *sub, const char *key)
{
	int line = 0;
	bool in = section == NULL;

	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		line++;
		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		if (len && *s == '[') {
			char name[64] = "", subname[256] = "";
			int n = sscanf(s, "[%63[^] \t\"] \"%255[^\"]\"", name, subname);
			bool sec = n >= 1 && section && strcasecmp(name, section) == 0;
			in = sec && (sub ? (n == 2 && strcmp(subname, sub) == 0) : n == 1);
			if (in && !key)
				return line;
		} else if (in && key && len) {
			size_t klen = strlen(key);
			if (strncasecmp(s, key, klen) == 0 &&
			    (len == klen || s[klen] == '=' || isspace((unsigned char)s[klen])))
				return line;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int conf_fail(struct loader *l, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int conf_fail(struct loader *l, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return es_fail(ES_ECONFIG, "%s:%d: %s", l->cfg->path, line, msg);
	return es_fail(ES_ECONFIG, "%s: %s", l->cfg->path, msg);
}

/* ------------------------------------------------------------ values */

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64];

	if (lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int sub = prev + (tolower((unsigned char)a[i - 1]) !=
			                  tolower((unsigned char)b[j - 1]));
			int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	return row[lb];
}

static const struct key *lookup_key(enum section s, const char *name, const struct key **near)
{
	int best = 99;

	*near = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].section != s)
			continue;
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
		int d = edit_distance(name, keys[i].name);
		if (d < best && d <= 3) {
			best = d;
			*near = &keys[i];
		}
	}
	return NULL;
}

static int push_str(char ***arr, size_t *n, const char *v)
{
	char **a = realloc(*arr, (*n + 1) * sizeof(*a));
	if (!a)
		return es_fail(ES_ENOMEM, "out of memory");
	*arr = a;
	a[*n] = strdup(v);
	if (!a[*n])
		return es_fail(ES_ENOMEM, "out of memory");
	(*n)++;
	return ES_OK;
}

static int parse_ms(const char *v, long *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno || d < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		*out = (long)d;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		*out = (long)(d * 1000);
	else if (strcmp(end, "m") == 0)
		*out = (long)(d * 60000);
	else if (strcmp(end, "h") == 0)
		*out = (long)(d * 3600000);
	else
		return -1;
	return 0;
}

static int set_value(struct loader *l, void *obj, const struct key *k, const char *value, int line)
{
	char *base = obj;

	switch (k->kind) {
	case K_STR: {
		char **field = (char **)(base + k->offset);
		if (*field)
			return conf_fail(l, line, "'%s' is given twice; keep one", k->name);
		if (!*value)
			return conf_fail(l, line, "'%s' is empty: %s", k->name, k->help);
		*field = strdup(value);
		return *field ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
	}
	case K_MULTI:
		return push_str((char ***)(base + k->offset), (size_t *)(base + k->count_offset),
		                value);
	case K_KV: {
		const char *eq = strchr(value, '=');
		if (!eq || eq == value)
			return conf_fail(l, line, "'%s = %s' needs KEY=VALUE: %s", k->name, value,
			                 k->help);
		struct es_kv **arr = (struct es_kv **)(base + k->offset);
		size_t *n = (size_t *)(base + k->count_offset);
		struct es_kv *a = realloc(*arr, (*n + 1) * sizeof(*a));
		if (!a)
			return es_fail(ES_ENOMEM, "out of memory");
		*arr = a;
		a[*n].key = strndup(value, (size_t)(eq - value));
		a[*n].value = strdup(eq + 1);
		(*n)++;
		return a[*n - 1].key && a[*n - 1].value ? ES_OK
		                                        : es_fail(ES_ENOMEM, "out of memory");
	}
	case K_LONG: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (end == value || *end || errno || v < 0)
			return conf_fail(l, line, "'%s = %s' is not a whole number: %s", k->name,
			                 value, k->help);
		if (k->offset == CHK(samples))
			((struct es_check_conf *)obj)->samples = v > INT_MAX ? INT_MAX : (int)v;
		else
			*(long *)(base + k->offset) = v;
		return ES_OK;
	}
	case K_MS:
		if (parse_ms(value, (long *)(base + k->offset)))
			return conf_fail(l, line, "'%s = %s' is not a duration: %s", k->name, value,
			                 k->help);
		return ES_OK;
	}
	return ES_OK;
}

/* ------------------------------------------------------------ objects */

static struct es_stage_conf *stage_for(struct loader *l, const char *name)
{
	struct es_config *c = l->cfg;
	for (size_t i = 0; i < c->n_stages; i++)
		if (strcmp(c->stages[i].name, name) == 0)
			return &c->stages[i];
	struct es_stage_conf *s = realloc(c->stages, (c->n_stages + 1) * sizeof(*s));
	if (!s)
		return NULL;
	c->stages = s;
	s = &s[c->n_stages++];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->line = find_line(l->text, "stage", name, NULL);
	return s->name ? s : NULL;
}

static struct es_check_conf *check_for(struct loader *l, const char *name)
{
	struct es_config *c = l->cfg;
	for (size_t i = 0; i < c->n_checks; i++)
		if (strcmp(c->checks[i].name, name) == 0)
			return &c->checks[i];
	struct es_check_conf *k = realloc(c->checks, (c->n_checks + 1) * sizeof(*k));
	if (!k)
		return NULL;
	c->checks = k;
	k = &k[c->n_checks++];
	memset(k, 0, sizeof(*k));
	k->name = strdup(name);
	k->status = 200;
	k->timeout_ms = 5000;
	k->samples = 1;
	k->line = find_line(l->text, "check", name, NULL);
	return k->name ? k : NULL;
}

static int take_entry(struct loader *l, const char *name, const char *value)
{
	const char *dot1 = strchr(name, '.'), *dot2 = strrchr(name, '.');
	char section[32], sub[256] = "";
	const char *key;
	enum section s;
	void *obj;
	const struct key *k, *near;
	int line;

	/* libgit2 accepts a key above the first [section] and names it
	 * without one. */
	if (!dot1)
		return conf_fail(l, find_line(l->text, NULL, NULL, name),
		                 "'%s' is outside any section; put it under [app], "
		                 "[stage \"NAME\"] or [check \"NAME\"]",
		                 name);
	if ((size_t)(dot1 - name) >= sizeof(section))
		return conf_fail(l, 0, "unreadable entry '%s'", name);
	key = dot2 + 1;
	snprintf(section, sizeof(section), "%.*s", (int)(dot1 - name), name);
	if (dot2 > dot1)
		snprintf(sub, sizeof(sub), "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);

	if (strcmp(section, "app") == 0)
		s = S_APP;
	else if (strcmp(section, "ledger") == 0)
		s = S_LEDGER;
	else if (strcmp(section, "stage") == 0)
		s = S_STAGE;
	else if (strcmp(section, "check") == 0)
		s = S_CHECK;
	else if (strcmp(section, "pipeline") == 0)
		s = S_PIPELINE;
	else
		return conf_fail(l, find_line(l->text, section, *sub ? sub : NULL, NULL),
		                 "unknown section [%s]; edgeship.conf has [app], [stage \"NAME\"], "
		                 "[check \"NAME\"], [pipeline \"NAME\"] and [ledger]",
		                 section);
	line = find_line(l->text, section, *sub ? sub : NULL, key);
	if ((s == S_APP || s == S_LEDGER) && *sub)
		return conf_fail(l, line, "[%s] takes no name; write [%s]", section, section);
	if (s != S_APP && s != S_LEDGER && !*sub)
		return conf_fail(l, line, "[%s] needs a name, e.g. [%s \"staging\"]", section,
		                 section);
	k = lookup_key(s, key, &near);
	if (!k) {
		if (near)
			return conf_fail(l, line,
			                 "unknown key '%s' in [%s]; did you mean '%s'? (%s)", key,
			                 section, near->name, near->help);
		return conf_fail(l, line, "unknown key '%s' in [%s]", key, section);
	}
	if (!value)
		return conf_fail(l, line, "'%s' has no value: %s", key, k->help);
	obj = s == S_APP || s == S_LEDGER ? (void *)l->cfg
	      : s == S_STAGE              ? (void *)stage_for(l, sub)
	      : s == S_CHECK              ? (void *)check_for(l, sub)
	                                  : (void *)es_conf_pipeline_for(l->cfg, sub,
	                                                                 find_line(l->text, section, sub, NULL));
	if (!obj)
		return es_fail(ES_ENOMEM, "out of memory");
	return set_value(l, obj, k, value, line);
}

/* ------------------------------------------------------------ names */

#define STAGE_NAME_MAX 32
#define PREFIX_MAX     200

/* Why name breaks S3's bucket naming rules, or NULL when it keeps them. */
static const char *bad_bucket(const char *b)
{
	size_t n = strlen(b);
	static const char *const bad_prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
	static const char *const bad_suffixes[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3",
	                                           "--table-s3"};
	int dots = 0;
	bool numeric = true;

	if (n < 3 || n > 63)
		return "a bucket name has 3 to 63 characters";
	for (const char *c = b; *c; c++) {
		if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-' ||
		      *c == '.'))
			return "a bucket name has only lower-case letters, digits, '-' and '.'";
		dots += *c == '.';
		numeric &= isdigit((unsigned char)*c) || *c == '.';
	}
	if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return "a bucket name starts and ends with a letter or a digit";
	if (strstr(b, "..") || strstr(b, ".-") || strstr(b, "-."))
		return "a bucket name has no '..', '.-' or '-.'";
	if (numeric && dots == 3)
		return "a bucket name is not an IP address";
	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++)
		if (strncmp(b, bad_prefixes[i], strlen(bad_prefixes[i])) == 0)
			return "S3 reserves that start of a bucket name";
	for (size_t i = 0; i < sizeof(bad_suffixes) / sizeof(bad_suffixes[0]); i++) {
		size_t m = strlen(bad_suffixes[i]);
		if (n >= m && strcmp(b + n - m, bad_suffixes[i]) == 0)
			return "S3 reserves that end of a bucket name";
	}
	return NULL;
}

/* Why prefix cannot be an S3 key prefix, or NULL. The prefix becomes part
 * of every key and of the local cache path, so "." and ".." segments (which
 * HTTP clients collapse, breaking the signature, and which would climb out
 * of the cache directory) and characters that need encoding are refused. */
static const char *bad_prefix(const char *p)
{
	if (strlen(p) > PREFIX_MAX)
		return "the prefix is longer than 200 characters";
	if (p[0] == '/')
		return "the prefix starts with '/'; S3 keys do not";
	for (const char *c = p; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_./", *c))
			return "the prefix has only letters, digits, '-', '_', '.' and '/'";
	for (const char *seg = p; *seg;) {
		size_t n = strcspn(seg, "/");
		if (n == 0 && seg[n] == '/')
			return "the prefix has an empty segment ('//')";
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "the prefix has a '.' or '..' segment";
		seg += n;
		if (*seg == '/')
			seg++;
	}
	return NULL;
}

/* Stage names go into lock keys, ledger records and the screen. */
static const char *bad_stage_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > STAGE_NAME_MAX)
		return "a stage name has 1 to 32 characters";
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return "a stage name has only letters, digits, '-' and '_'";
	return NULL;
}

/* CloudFormation's rule for stack names. */
static const char *bad_stack_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return "a stack name has 1 to 128 characters";
	if (!isalpha((unsigned char)s[0]))
		return "a stack name starts with a letter";
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-')
			return "a stack name has only letters, digits and '-'";
	return NULL;
}

/* The template path must name a file inside the repository; it is kept
 * normalised ("./a/../t.yaml" → "t.yaml") for joining onto an export. */
static int check_template_path(struct loader *l)
{
	struct es_config *c = l->cfg;
	int line = find_line(l->text, "app", NULL, "template");
	char norm[4096];

	if (c->template_path[0] == '/')
		return conf_fail(l, line,
		                 "template = %s is an absolute path: deploys package the commit's "
		                 "own tree, so write the path relative to the repository root, "
		                 "e.g. template = template.yaml",
		                 c->template_path);
	if (!es_path_join_inside("", c->template_path, norm, sizeof(norm)))
		return conf_fail(l, line,
		                 "template = %s leaves the repository: only files committed in it "
		                 "are deployed; move the template into the repository and name it "
		                 "relative to the root, e.g. template = template.yaml",
		                 c->template_path);
	if (strcmp(norm, ".") == 0)
		return conf_fail(l, line,
		                 "template = %s names the repository itself; name the template "
		                 "file, e.g. template = template.yaml",
		                 c->template_path);
	if (strcmp(norm, c->template_path) != 0) {
		char *n = strdup(norm);
		if (!n)
			return es_fail(ES_ENOMEM, "out of memory");
		free(c->template_path);
		c->template_path = n;
	}
	return ES_OK;
}

/* The build's settings: a time limit above zero, and variable names that
 * are names, never AWS credentials nor what edgeship sets itself. */
static int check_build(struct loader *l)
{
	struct es_config *c = l->cfg;

	if (c->build_timeout_ms <= 0) {
		int line = find_line(l->text, "app", NULL, "build-timeout");
		if (line)
			return conf_fail(
			        l, line,
			        "build-timeout must be more than 0, e.g. build-timeout = 10m");
		c->build_timeout_ms = ES_BUILD_TIMEOUT_MS;
	}
	for (size_t i = 0; i < c->n_build_env; i++) {
		const char *v = c->build_env[i];
		int line = find_line(l->text, "app", NULL, "build-env");
		bool ok = (isalpha((unsigned char)v[0]) || v[0] == '_');
		for (const char *p = v; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok)
			return conf_fail(
			        l, line,
			        "build-env = %s is not a variable name; write one name per "
			        "line, e.g. build-env = NPM_TOKEN",
			        v);
		if (strncasecmp(v, "AWS_", 4) == 0)
			return conf_fail(l, line,
			                 "build-env = %s: AWS settings and credentials never reach "
			                 "the build; remove this line",
			                 v);
		if (strcmp(v, "HOME") == 0 || strcmp(v, "PATH") == 0)
			return conf_fail(
			        l, line,
			        "build-env = %s: the build always gets %s (HOME is a fresh "
			        "temporary directory); remove this line",
			        v, v);
	}
	return ES_OK;
}

static int check_names(struct loader *l)
{
	struct es_config *c = l->cfg;
	const char *why;
	int rc;

	if ((rc = check_template_path(l)))
		return rc;
	if ((rc = check_build(l)))
		return rc;
	if ((why = bad_bucket(c->bucket)))
		return conf_fail(l, find_line(l->text, "app", NULL, "bucket"),
		                 "bucket = %s is not a valid S3 bucket name: %s", c->bucket, why);
	if ((why = bad_prefix(c->prefix)))
		return conf_fail(l, find_line(l->text, "app", NULL, "prefix"),
		                 "prefix = %s cannot be used: %s; e.g. prefix = %s", c->prefix, why,
		                 c->app);
	for (size_t i = 0; i < c->n_stages; i++) {
		const struct es_stage_conf *st = &c->stages[i];
		if ((why = bad_stage_name(st->name)))
			return conf_fail(l, st->line,
			                 "[stage \"%s\"]: %s, e.g. [stage \"staging\"]", st->name,
			                 why);
		if (st->stack && (why = bad_stack_name(st->stack)))
			return conf_fail(l, find_line(l->text, "stage", st->name, "stack"),
			                 "stack = %s: %s", st->stack, why);
	}
	return ES_OK;
}

/* ------------------------------------------------------------ checks */

static int validate(struct loader *l)
{
	struct es_config *c = l->cfg;
	int first = 0, rc;
	const char *bad;
	char msg[256];

	if (!c->template_path && !(c->template_path = strdup("template.yaml")))
		return es_fail(ES_ENOMEM, "out of memory");
	if (!c->region && !(c->region = strdup("us-east-1")))
		return es_fail(ES_ENOMEM, "out of memory");
	if (!c->prefix && !(c->prefix = strdup("")))
		return es_fail(ES_ENOMEM, "out of memory");
	if (!c->app)
		return conf_fail(l, find_line(l->text, "app", NULL, NULL),
		                 "[app] needs a name, e.g. name = my-site");
	if (!c->bucket)
		return conf_fail(l, find_line(l->text, "app", NULL, NULL),
		                 "[app] needs an artifact bucket, e.g. bucket = %s-artifacts",
		                 c->app);
	if (strcmp(c->region, "us-east-1") != 0)
		return conf_fail(l, find_line(l->text, "app", NULL, "region"),
		                 "region = %s: Lambda@Edge functions must be created in us-east-1; "
		                 "write region = us-east-1",
		                 c->region);
	if (c->n_stages == 0)
		return conf_fail(l, 0,
		                 "no stage is defined; add e.g.\n[stage \"staging\"]\n"
		                 "\tstack = %s-staging",
		                 c->app);
	if (c->probe_bypass && c->probe_bypass[0] != '/' && c->probe_bypass[0] != '?')
		return conf_fail(l, find_line(l->text, "app", NULL, "probe-bypass"),
		                 "probe-bypass = %s: write a path (/edgeship-probe) or a query "
		                 "(?nocache)",
		                 c->probe_bypass);
	for (size_t i = 0; i < c->n_stages; i++) {
		struct es_stage_conf *s = &c->stages[i];
		if (!s->stack)
			return conf_fail(l, s->line,
			                 "[stage \"%s\"] has no stack; add stack = %s-%s", s->name,
			                 c->app, s->name);
		if (s->probe_bypass && s->probe_bypass[0] != '/' && s->probe_bypass[0] != '?')
			return conf_fail(l, find_line(l->text, "stage", s->name, "probe-bypass"),
			                 "probe-bypass = %s: write a path (/edgeship-probe) or a "
			                 "query (?nocache)",
			                 s->probe_bypass);
		if ((bad = es_guard_conf_check(s, msg, sizeof(msg))))
			return conf_fail(l, find_line(l->text, "stage", s->name, bad), "%s", msg);
		if ((bad = es_canary_conf_check(s, msg, sizeof(msg))))
			return conf_fail(l, find_line(l->text, "stage", s->name, bad), "%s", msg);
		if (!s->probe_bypass && c->probe_bypass &&
		    !(s->probe_bypass = strdup(c->probe_bypass)))
			return es_fail(ES_ENOMEM, "out of memory");
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->stages[j].stack, s->stack) == 0)
				return conf_fail(
				        l, find_line(l->text, "stage", s->name, "stack"),
				        "stages \"%s\" and \"%s\" share stack %s; give each "
				        "its own",
				        c->stages[j].name, s->name, s->stack);
		if (!s->promotes_from) {
			first++;
			continue;
		}
		if (strcmp(s->promotes_from, s->name) == 0 || !es_config_stage(c, s->promotes_from))
			return conf_fail(l, find_line(l->text, "stage", s->name, "promotes-from"),
			                 "promotes-from = %s names no other stage",
			                 s->promotes_from);
		/* Follow the chain: it must reach a stage that deploys commits. */
		const struct es_stage_conf *t = s;
		for (size_t hops = 0; t && t->promotes_from; hops++) {
			if (hops > c->n_stages)
				return conf_fail(l, s->line,
				                 "promotes-from forms a loop through \"%s\"",
				                 s->name);
			t = es_config_stage(c, t->promotes_from);
		}
	}
	if (first == 0)
		return conf_fail(l, 0,
		                 "every stage promotes from another; the first stage "
		                 "(e.g. staging) must have no promotes-from");
	for (size_t i = 0; i < c->n_checks; i++) {
		struct es_check_conf *k = &c->checks[i];
		if (!k->path && !k->url && !k->lambda)
			return conf_fail(l, k->line,
			                 "[check \"%s\"] needs path = /, url = … or lambda = …",
			                 k->name);
		if (k->path && k->path[0] != '/')
			return conf_fail(l, find_line(l->text, "check", k->name, "path"),
			                 "path = %s must start with '/'", k->path);
		for (size_t j = 0; j < k->n_stages; j++)
			if (!es_config_stage(c, k->stages[j]))
				return conf_fail(l, find_line(l->text, "check", k->name, "stage"),
				                 "[check \"%s\"] names stage \"%s\", which is not "
				                 "defined",
				                 k->name, k->stages[j]);
		if (k->body_matches) {
			regex_t re;
			if (regcomp(&re, k->body_matches, REG_EXTENDED | REG_NOSUB) != 0)
				return conf_fail(
				        l, find_line(l->text, "check", k->name, "body-matches"),
				        "body-matches is not a valid extended regular "
				        "expression");
			regfree(&re);
		}
		if (k->samples < 1 || k->samples > ES_CHECK_MAX_SAMPLES)
			return conf_fail(l, find_line(l->text, "check", k->name, "samples"),
			                 "samples = %d: a check sends 1 to %d requests per run",
			                 k->samples, ES_CHECK_MAX_SAMPLES);
		if (k->status < 100 || k->status > 599)
			return conf_fail(l, find_line(l->text, "check", k->name, "status"),
			                 "status = %ld is not an HTTP status", k->status);
	}
	if (es_conf_pipeline_validate(c, l->text, find_line))
		return ES_ECONFIG;
	if ((rc = check_names(l)))
		return rc;
	return es_conf_accounts_check(c, l->text, &(struct es_conf_helpers){find_line, bad_bucket});
}

/* ------------------------------------------------------------ public */

/* edgeship.conf is a short text file; anything far bigger is a mistake. */
#define CONF_MAX_BYTES (1024 * 1024)

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct es_buf b = ES_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= CONF_MAX_BYTES)
		es_buf_append(&b, chunk, n);
	fclose(f);
	return es_buf_steal(&b);
}

/* libgit2 follows [include] and [includeIf] while it reads, before any
 * section is judged: they are refused from the text first, so the file a
 * hostile include names (/dev/zero, a FIFO, another repository's secrets) is
 * never opened. */
static int refuse_includes(const char *path, const char *text)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		const char *s = p + strspn(p, " \t");
		if (*s == '[') {
			s += 1 + strspn(s + 1, " \t");
			if (strncasecmp(s, "include", 7) == 0)
				return es_fail(
				        ES_ECONFIG,
				        "%s:%d: [include] and [includeIf] are not followed: "
				        "edgeship.conf stands alone; copy the settings into it",
				        path, line);
		}
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return ES_OK;
}

/* Turn libgit2's parse error into "PATH:LINE: message". Most of its
 * messages end "(in PATH:LINE, column N)"; an invalid escape says only
 * "invalid escape at REST-OF-LINE", so the line is found from that text. */
static int parse_failed(struct loader *l, const char *path)
{
	const git_error *ge = git_error_last();
	const char *msg = ge && ge->message ? ge->message : "unreadable";
	const char *in = strstr(msg, "(in "), *at = strstr(msg, "invalid escape at ");
	const char *hit;
	int line = 0;

	if (in && in > msg) {
		const char *colon = strrchr(in, ':');
		if (colon)
			line = atoi(colon + 1);
		return es_fail(ES_ECONFIG,
		               "%s:%d: %.*s; check the brackets and quotes on that line", path,
		               line, (int)(in - msg - 1), msg);
	}
	if (at && at[18] && (hit = strstr(l->text, at + 18))) {
		line = 1;
		for (const char *p = l->text; p < hit; p++)
			line += *p == '\n';
		return es_fail(ES_ECONFIG, "%s:%d: %s", path, line, msg);
	}
	return es_fail(ES_ECONFIG, "%s: %s", path, msg);
}

int es_config_load(const char *path, struct es_config **out)
{
	struct loader l = {0};
	git_config *gc = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = ES_OK, grc;
	char *slash;

	*out = NULL;
	if (access(path, F_OK) != 0)
		return es_fail(ES_ENOTFOUND, "%s not found: run `edgeship init` to write one",
		               path);
	git_libgit2_init();
	l.cfg = calloc(1, sizeof(*l.cfg));
	if (!l.cfg)
		return es_fail(ES_ENOMEM, "out of memory");
	l.cfg->path = strdup(path);
	l.cfg->root = strdup(path);
	if (!l.cfg->path || !l.cfg->root) {
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(l.cfg->root, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(l.cfg->root, ".");
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = es_fail(ES_ECONFIG, "%s: not a regular file; edgeship.conf is a text file",
		             path);
		goto out;
	}
	l.text = read_text(path);
	if (!l.text) {
		rc = es_fail(ES_ECONFIG, "%s: cannot be read", path);
		goto out;
	}
	if (strlen(l.text) > CONF_MAX_BYTES) {
		rc = es_fail(ES_ECONFIG,
		             "%s: larger than %d KiB; edgeship.conf is a short text file", path,
		             CONF_MAX_BYTES / 1024);
		goto out;
	}
	rc = refuse_includes(path, l.text);
	if (rc)
		goto out;
	if (git_config_open_ondisk(&gc, path) < 0 || git_config_iterator_new(&it, gc) < 0) {
		rc = parse_failed(&l, path);
		goto out;
	}
	while ((grc = git_config_next(&e, it)) == 0) {
		rc = take_entry(&l, e->name, e->value);
		if (rc)
			goto out;
	}
	if (grc != GIT_ITEROVER) {
		rc = es_fail(ES_ECONFIG, "%s: cannot be read", path);
		goto out;
	}
	rc = validate(&l);
out:
	git_config_iterator_free(it);
	git_config_free(gc);
	free(l.text);
	if (rc) {
		es_config_free(l.cfg);
		return rc;
	}
	*out = l.cfg;
	return ES_OK;
}

static void free_strs(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

static void free_kvs(struct es_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

bool es_config_stage_guarded(const struct es_config *c, const struct es_stage_conf *s)
{
	return strstr(s->name, "prod") != NULL || s->promotes_from != NULL ||
	       (c->n_stages > 1 && s == &c->stages[c->n_stages - 1]);
}

void es_config_free(struct es_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_stages; i++) {
		struct es_stage_conf *s = &c->stages[i];
		free(s->name);
		free(s->stack);
		free_kvs(s->parameters, s->n_parameters);
		free_kvs(s->tags, s->n_tags);
		free(s->url);
		free(s->promotes_from);
		free_strs(s->probes, s->n_probes);
		free(s->marker_header);
		free(s->probe_bypass);
		free(s->guard_error_rate);
		free(s->guard_action);
		free(s->canary);
		es_conf_accounts_free_stage(s);
	}
	for (size_t i = 0; i < c->n_checks; i++) {
		struct es_check_conf *k = &c->checks[i];
		free(k->name);
		free_strs(k->stages, k->n_stages);
		free(k->path);
		free(k->url);
		free(k->body_contains);
		free(k->body_matches);
		free(k->header);
	}
	es_conf_pipeline_free(c);
	free(c->stages);
	free(c->checks);
	free(c->path);
	free(c->root);
	free(c->app);
	free(c->template_path);
	free(c->region);
	free(c->bucket);
	free(c->prefix);
	free(c->probe_bypass);
	free(c->build);
	free_strs(c->build_env, c->n_build_env);
	free_strs(c->capabilities, c->n_capabilities);
	free_strs(c->excludes, c->n_excludes);
	es_conf_accounts_free(c);
	free(c);
}

const struct es_stage_conf *es_config_stage(const struct es_config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_stages; i++)
		if (strcmp(c->stages[i].name, name) == 0)
			return &c->stages[i];
	return NULL;
}

const struct es_stage_conf *es_config_first_stage(const struct es_config *c)
{
	for (size_t i = 0; c && i < c->n_stages; i++)
		if (!c->stages[i].promotes_from)
			return &c->stages[i];
	return NULL;
}

int es_config_print_starter(FILE *f, const char *app, const char *template_path)
{
	fprintf(f,
	        "# edgeship release configuration (git-config syntax).\n"
	        "# Check it with `edgeship status`; see README.md for every key.\n"
	        "\n"
	        "[app]\n"
	        "\tname = %s\n"
	        "\t# CloudFormation/SAM template, relative to this file.\n"
	        "\ttemplate = %s\n"
	        "\t# Lambda@Edge functions must live in us-east-1.\n"
	        "\tregion = us-east-1\n"
	        "\t# Artifacts and the release ledger are kept here.\n"
	        "\tbucket = %s-artifacts\n"
	        "\tprefix = %s\n"
	        "\tcapability = CAPABILITY_IAM\n"
	        "\tcapability = CAPABILITY_AUTO_EXPAND\n"
	        "\t# Never packaged (.git never is).\n"
	        "\texclude = *.md\n"
	        "\t# A build step, when the template names build outputs (CodeUri: dist/):\n"
	        "\t# run in a fresh export of the commit, no AWS credentials, HOME empty.\n"
	        "\t# build = npm ci && npm run build\n"
	        "\t# build-timeout = 10m\n"
	        "\t# build-env = NPM_TOKEN\n"
	        "\n"
	        "[stage \"staging\"]\n"
	        "\tstack = %s-staging\n"
	        "\tparameter = Stage=staging\n"
	        "\t# url = https://staging.example.com\n"
	        "\t# Edges answer old releases from cache until it expires or is\n"
	        "\t# invalidated. To see the function itself, sample with a request the\n"
	        "\t# cache never answers too: a path whose cache behaviour has TTL 0, or\n"
	        "\t# ?QUERY when the query string is part of the cache key.\n"
	        "\t# probe-bypass = /edgeship-probe\n"
	        "\n"
	        "[stage \"production\"]\n"
	        "\tstack = %s-production\n"
	        "\tparameter = Stage=production\n"
	        "\tpromotes-from = staging\n"
	        "\t# url = https://www.example.com\n"
	        "\n"
	        "# [check \"home\"]\n"
	        "# \tpath = /\n"
	        "# \tstatus = 200\n"
	        "# \tbody-contains = Welcome\n",
	        app, template_path ? template_path : "template.yaml", app, app, app, app);
	return ferror(f) ? ES_ERR : ES_OK;
}

int es_config_write_starter(const char *path, const char *app, const char *template_path)
{
	FILE *f;

	if (access(path, F_OK) == 0)
		return es_fail(ES_EINVAL, "%s already exists; edit it instead", path);
	f = fopen(path, "wx");
	if (!f)
		return es_fail(ES_ECONFIG, "%s: cannot be created", path);
	int rc = es_config_print_starter(f, app, template_path);
	if (fclose(f) != 0 || rc)
		return es_fail(ES_ECONFIG, "%s: cannot be written", path);
	return ES_OK;
}

/* ------------------------------------------------------------ documentation */

bool es_config_key_doc(size_t i, struct es_config_key_doc *out)
{
	static const char *const sections[] = {[S_APP] = "app",
	                                       [S_STAGE] = "stage",
	                                       [S_CHECK] = "check",
	                                       [S_PIPELINE] = "pipeline",
	                                       [S_LEDGER] = "ledger"};

	if (i >= sizeof(keys) / sizeof(keys[0]))
		return false;
	/* A section this list does not name yet is still documented, as "?". */
	out->section = (size_t)keys[i].section < sizeof(sections) / sizeof(sections[0]) &&
	                               sections[keys[i].section]
	                       ? sections[keys[i].section]
	                       : "?";
	out->name = keys[i].name;
	out->repeatable = keys[i].kind == K_MULTI || keys[i].kind == K_KV;
	out->value = keys[i].kind == K_KV     ? "KEY=VALUE"
	             : keys[i].kind == K_LONG ? "NUMBER"
	             : keys[i].kind == K_MS   ? "DURATION"
	                                      : "TEXT";
	out->help = keys[i].help;
	return true;
}
