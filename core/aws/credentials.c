/* The AWS credentials chain and its profiles (environment, static keys, assumed
 * roles); credential_process runs in cred_process.c, the container endpoint and
 * EC2 instance metadata in cred_metadata.c.  Secrets are wiped when freed. */
#include "config.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "cred_providers.h"
#include "cred_util.h"
#include "credentials.h"
#include "base/error.h"

#define METADATA_TIMEOUT_MS 1000
#define PROCESS_TIMEOUT_MS  60000
#define CACHE_MARGIN        300 /* seconds before expiry a cached role is dropped */
#define MAX_ROLE_CHAIN      8

/* One es_credentials_resolve() call. */
struct chain {
	const struct es_cred_options *o;
	const struct es_awsconfig *config;
	const char *path[MAX_ROLE_CHAIN]; /* profiles on the current role chain */
	size_t depth;
	long timeout_ms;         /* container/IMDS, per attempt */
	long process_timeout_ms; /* credential_process */
};

/* ------------------------------------------------------------ helpers */

/* A path as people know it: $HOME shown as "~". */
static const char *shown_path(const char *path, char *buf, size_t len)
{
	const char *home = getenv("HOME");
	size_t n = home ? strlen(home) : 0;

	if (!path)
		return "(no home directory)";
	if (n > 1 && strncmp(path, home, n) == 0 && path[n] == '/') {
		snprintf(buf, len, "~%s", path + n);
		return buf;
	}
	return path;
}

/* ------------------------------------------------------------ environment */

static int from_env(struct es_credentials *out, char *why, size_t len)
{
	const char *akid_name = "AWS_ACCESS_KEY_ID", *secret_name = "AWS_SECRET_ACCESS_KEY";
	const char *akid = es_cred_env(akid_name), *secret = es_cred_env(secret_name);
	const char *token = es_cred_env("AWS_SESSION_TOKEN");

	if (!akid && (akid = es_cred_env("AWS_ACCESS_KEY")))
		akid_name = "AWS_ACCESS_KEY";
	if (!secret && (secret = es_cred_env("AWS_SECRET_KEY")))
		secret_name = "AWS_SECRET_KEY";
	if (!token)
		token = es_cred_env("AWS_SECURITY_TOKEN");
	if (!akid && !secret) {
		snprintf(why, len, "AWS_ACCESS_KEY_ID not set");
		return ES_ENOTFOUND;
	}
	if (!secret)
		return es_fail(ES_ECREDS, "%s is set but AWS_SECRET_ACCESS_KEY is not", akid_name);
	if (!akid)
		return es_fail(ES_ECREDS, "%s is set but AWS_ACCESS_KEY_ID is not", secret_name);
	return es_cred_set(out, akid, secret, token, 0, "environment");
}

/* ------------------------------------------------------------ static keys */

static int from_static(struct chain *ch, const char *profile, struct es_credentials *out)
{
	enum es_awsconfig_file which = ES_AWSCONFIG_CREDENTIALS;
	const char *akid, *secret;
	char shown[256];

	for (int i = 0; i < 2; i++) {
		which = i == 0 ? ES_AWSCONFIG_CREDENTIALS : ES_AWSCONFIG_CONFIG;
		akid = es_awsconfig_get_in(ch->config, which, profile, "aws_access_key_id");
		secret = es_awsconfig_get_in(ch->config, which, profile, "aws_secret_access_key");
		if (akid || secret)
			break;
	}
	if (!akid && !secret)
		return ES_ENOTFOUND;
	if (!akid || !secret || !*akid || !*secret)
		return es_fail(
		        ES_ECREDS, "profile %s in %s has %s but no %s", profile,
		        shown_path(es_awsconfig_path(ch->config, which), shown, sizeof(shown)),
		        akid && *akid ? "aws_access_key_id" : "aws_secret_access_key",
		        akid && *akid ? "aws_secret_access_key" : "aws_access_key_id");
	return es_cred_set(out, akid, secret,
	                   es_awsconfig_get_in(ch->config, which, profile, "aws_session_token"), 0,
	                   "profile %s (%s)", profile,
	                   which == ES_AWSCONFIG_CREDENTIALS ? "shared credentials file"
	                                                     : "config file");
}

/* ------------------------------------------------------------ assumed roles */

/* Assumed credentials, kept until CACHE_MARGIN before they expire so each
 * resolve does not cost an STS call (and an MFA prompt, one day). */
struct cached_role {
	char *key;
	struct es_credentials creds;
	struct cached_role *next;
};

/* Shared by the loop and background jobs, so guarded. */
static struct cached_role *role_cache;
static pthread_mutex_t role_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static struct cached_role **cache_find(const char *key)
{
	struct cached_role **p;

	for (p = &role_cache; *p; p = &(*p)->next)
		if (strcmp((*p)->key, key) == 0)
			return p;
	return NULL;
}

static void cache_drop(struct cached_role **p)
{
	struct cached_role *e = *p;

	*p = e->next;
	free(e->key);
	es_credentials_free(&e->creds);
	free(e);
}

static bool cache_get(const char *key, struct es_credentials *out)
{
	struct cached_role **p;
	bool hit = false;

	pthread_mutex_lock(&role_cache_mu);
	p = cache_find(key);
	if (p && es_credentials_expiring(&(*p)->creds, time(NULL), CACHE_MARGIN))
		cache_drop(p);
	else if (p)
		hit = es_credentials_copy(out, &(*p)->creds) == ES_OK;
	pthread_mutex_unlock(&role_cache_mu);
	return hit;
}

static void cache_put(const char *key, const struct es_credentials *creds)
{
	struct cached_role **p;
	struct cached_role *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	e->key = strdup(key);
	if (!e->key || es_credentials_copy(&e->creds, creds)) {
		free(e->key);
		free(e);
		return;
	}
	pthread_mutex_lock(&role_cache_mu);
	p = cache_find(key);
	if (p)
		cache_drop(p);
	e->next = role_cache;
	role_cache = e;
	pthread_mutex_unlock(&role_cache_mu);
}

void es_credentials_cache_clear(void)
{
	pthread_mutex_lock(&role_cache_mu);
	while (role_cache)
		cache_drop(&role_cache);
	pthread_mutex_unlock(&role_cache_mu);
}

static int from_profile(struct chain *ch, const char *profile, bool as_source,
                        struct es_credentials *out);

/* The credentials a role profile signs its AssumeRole call with. */
static int role_source(struct chain *ch, const char *profile, const char *source_profile,
                       const char *credential_source, struct es_credentials *out)
{
	char why[256], shown1[256], shown2[256];
	int rc;

	if (credential_source) {
		if (strcmp(credential_source, "Environment") == 0)
			rc = from_env(out, why, sizeof(why));
		else if (strcmp(credential_source, "EcsContainer") == 0)
			rc = es_cred_from_container(ch->timeout_ms, out, why, sizeof(why));
		else if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
			rc = es_cred_from_imds(ch->timeout_ms, out, why, sizeof(why));
		else
			return es_fail(ES_ECONFIG,
			               "profile %s: credential_source must be Environment, "
			               "EcsContainer or Ec2InstanceMetadata, not \"%.40s\"",
			               profile, credential_source);
		if (rc == ES_ENOTFOUND)
			rc = es_fail(ES_ECREDS,
			             "profile %s: credential_source %s gave nothing (%s)", profile,
			             credential_source, why);
		return rc;
	}
	if (!es_awsconfig_has_profile(ch->config, source_profile))
		return es_fail(ES_ECONFIG,
		               "profile %s names source_profile %s, which is not in %s or %s",
		               profile, source_profile,
		               shown_path(es_awsconfig_path(ch->config, ES_AWSCONFIG_CREDENTIALS),
		                          shown1, sizeof(shown1)),
		               shown_path(es_awsconfig_path(ch->config, ES_AWSCONFIG_CONFIG),
		                          shown2, sizeof(shown2)));
	/* A profile may be its own source: its static keys assume its role. */
	if (strcmp(source_profile, profile) == 0) {
		rc = from_static(ch, profile, out);
		if (rc == ES_ENOTFOUND)
			rc = es_fail(ES_ECONFIG,
			             "profile %s is its own source_profile but has no static keys",
			             profile);
		return rc;
	}
	for (size_t i = 0; i < ch->depth; i++) {
		if (strcmp(ch->path[i], source_profile) == 0) {
			struct es_buf loop = ES_BUF_INIT;
			for (size_t j = i; j < ch->depth; j++)
				es_buf_printf(&loop, "%s -> ", ch->path[j]);
			es_buf_puts(&loop, source_profile);
			rc = es_fail(ES_ECONFIG, "source_profile settings form a loop: %s",
			             es_buf_str(&loop));
			es_buf_free(&loop);
			return rc;
		}
	}
	if (ch->depth == MAX_ROLE_CHAIN)
		return es_fail(ES_ECONFIG, "profile %s: more than %d roles chained", profile,
		               MAX_ROLE_CHAIN);
	return from_profile(ch, source_profile, true, out);
}

static int from_role(struct chain *ch, const char *profile, const char *role_arn,
                     struct es_credentials *out)
{
	const struct es_awsconfig *cf = ch->config;
	const char *source_profile = es_awsconfig_get(cf, profile, "source_profile");
	const char *credential_source = es_awsconfig_get(cf, profile, "credential_source");
	const char *external_id = es_awsconfig_get(cf, profile, "external_id");
	const char *session = es_awsconfig_get(cf, profile, "role_session_name");
	const char *duration_text = es_awsconfig_get(cf, profile, "duration_seconds");
	char session_buf[64], *end;
	struct es_credentials src = {0};
	struct es_buf key = ES_BUF_INIT;
	long duration = 0;
	int rc;

	if (source_profile && !*source_profile)
		source_profile = NULL;
	if (credential_source && !*credential_source)
		credential_source = NULL;
	if (source_profile && credential_source)
		return es_fail(
		        ES_ECONFIG,
		        "profile %s sets both source_profile and credential_source; keep one",
		        profile);
	if (!source_profile && !credential_source)
		return es_fail(ES_ECONFIG,
		               "profile %s has role_arn but neither source_profile nor "
		               "credential_source",
		               profile);
	if (es_awsconfig_get(cf, profile, "mfa_serial"))
		return es_fail(
		        ES_ECREDS,
		        "profile %s needs an MFA code (mfa_serial), which edgeship cannot ask "
		        "for; use a credential_process that prompts, or assume the role first",
		        profile);
	if (duration_text) {
		duration = strtol(duration_text, &end, 10);
		if (*duration_text < '0' || *duration_text > '9' || *end || duration < 900 ||
		    duration > 43200)
			return es_fail(
			        ES_ECONFIG,
			        "duration_seconds in profile %s must be from 900 to 43200, not "
			        "\"%.20s\"",
			        profile, duration_text);
	}
	if (!session || !*session) {
		snprintf(session_buf, sizeof(session_buf), "edgeship-%lld", (long long)time(NULL));
		session = session_buf;
	}
	if (!ch->o->assume_role)
		return es_fail(
		        ES_ECREDS,
		        "profile %s assumes role %s, but no STS client was given to assume it",
		        profile, role_arn);

	/* Keyed by everything that shapes the answer except the session name
	 * we made up. */
	es_buf_printf(&key, "%s\n%s\n%s\n%s\n%ld\n%s\n%s\n%s", profile, role_arn,
	              external_id ? external_id : "", session == session_buf ? "" : session,
	              duration, source_profile ? source_profile : "",
	              credential_source ? credential_source : "",
	              ch->o->region ? ch->o->region : "");
	if (cache_get(es_buf_str(&key), out)) {
		es_buf_free(&key);
		return ES_OK;
	}

	ch->path[ch->depth++] = profile;
	rc = role_source(ch, profile, source_profile, credential_source, &src);
	ch->depth--;
	if (rc)
		goto done;
	rc = ch->o->assume_role(ch->o->assume_ctx, &src, ch->o->region, role_arn, session,
	                        external_id && *external_id ? external_id : NULL, duration, out);
	if (rc) {
		es_credentials_free(out);
		es_fail_prefix("profile %s", profile);
		goto done;
	}
	if (!out->access_key_id || !out->secret_access_key) {
		es_credentials_free(out);
		rc = es_fail(ES_ECREDS, "profile %s: assuming %s gave no credentials", profile,
		             role_arn);
		goto done;
	}
	if (source_profile)
		snprintf(out->source, sizeof(out->source), "assume role %s via profile %s",
		         role_arn, source_profile);
	else
		snprintf(out->source, sizeof(out->source), "assume role %s via %s", role_arn,
		         credential_source);
	cache_put(es_buf_str(&key), out);
done:
	es_credentials_free(&src);
	es_buf_free(&key);
	return rc;
}

/* A profile's own credentials.  At the top a role wins over keys kept beside
 * it; as a role's source, static keys win (the AWS CLI's rule). */
static int from_profile(struct chain *ch, const char *profile, bool as_source,
                        struct es_credentials *out)
{
	const char *role_arn = es_awsconfig_get(ch->config, profile, "role_arn");
	const char *process = es_awsconfig_get(ch->config, profile, "credential_process");
	int rc = ES_ENOTFOUND;

	if (role_arn && !*role_arn)
		role_arn = NULL;
	if (as_source)
		rc = from_static(ch, profile, out);
	if (rc == ES_ENOTFOUND && role_arn)
		return from_role(ch, profile, role_arn, out);
	if (rc == ES_ENOTFOUND && !as_source)
		rc = from_static(ch, profile, out);
	if (rc == ES_ENOTFOUND && process && *process)
		rc = es_cred_from_process(profile, process, ch->process_timeout_ms, out);
	if (rc != ES_ENOTFOUND)
		return rc;
	if (es_awsconfig_get(ch->config, profile, "sso_session") ||
	    es_awsconfig_get(ch->config, profile, "sso_start_url"))
		return es_fail(
		        ES_ECREDS,
		        "profile %s uses IAM Identity Center (SSO), which edgeship cannot "
		        "read yet: set credential_process = aws configure export-credentials "
		        "--profile %s --format process",
		        profile, profile);
	if (es_awsconfig_get(ch->config, profile, "web_identity_token_file"))
		return es_fail(ES_ECREDS,
		               "profile %s uses web_identity_token_file, which edgeship does not "
		               "support",
		               profile);
	if (as_source)
		return es_fail(ES_ECREDS, "source profile %s has no credentials", profile);
	return ES_ENOTFOUND;
}

/* The role of o->role assumed with base (what the chain found), kept in the
 * cache like a role profile's; base is replaced by the role's credentials. */
static int assume_on_top(const struct es_cred_options *o, struct es_credentials *base)
{
	const struct es_cred_role *r = &o->role;
	struct es_credentials out = {0};
	struct es_buf key = ES_BUF_INIT;
	char session[64];
	int rc;

	if (!o->assume_role)
		return es_fail(ES_ECREDS, "role %s cannot be assumed: no STS client was given",
		               r->role_arn);
	if (r->session_name && *r->session_name)
		snprintf(session, sizeof(session), "%s", r->session_name);
	else
		snprintf(session, sizeof(session), "edgeship-%lld", (long long)time(NULL));
	/* Keyed by the role and by who assumes it (never by a secret). */
	es_buf_printf(&key, "role-on-top\n%s\n%s\n%s\n%s\n%s", r->role_arn,
	              r->external_id ? r->external_id : "", r->session_name ? r->session_name : "",
	              base->access_key_id ? base->access_key_id : "", o->region ? o->region : "");
	if (cache_get(es_buf_str(&key), &out)) {
		es_buf_free(&key);
		es_credentials_free(base);
		*base = out;
		return ES_OK;
	}
	rc = o->assume_role(o->assume_ctx, base, o->region, r->role_arn, session,
	                    r->external_id && *r->external_id ? r->external_id : NULL, 0, &out);
	if (!rc && (!out.access_key_id || !out.secret_access_key))
		rc = es_fail(ES_ECREDS, "assuming %s gave no credentials", r->role_arn);
	if (rc) {
		es_credentials_free(&out);
		es_buf_free(&key);
		return rc;
	}
	snprintf(out.source, sizeof(out.source), "assume role %s via %.100s", r->role_arn,
	         base->source);
	cache_put(es_buf_str(&key), &out);
	es_buf_free(&key);
	es_credentials_free(base);
	*base = out;
	return ES_OK;
}

/* ------------------------------------------------------------ the chain */

int es_credentials_resolve(const struct es_cred_options *o, struct es_credentials *out)
{
	static const struct es_cred_options none;
	struct es_awsconfig *own = NULL;
	struct es_buf tried = ES_BUF_INIT;
	struct chain ch = {0};
	const char *profile;
	bool named;
	char why[512], shown1[256], shown2[256];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!o)
		o = &none;
	profile = o->profile && *o->profile ? o->profile : es_cred_env("AWS_PROFILE");
	if (!profile)
		profile = "default";
	/* Like the AWS CLI, a missing "default" is no error even when named:
	 * containers and instances have no files at all. */
	named = strcmp(profile, "default") != 0;
	ch.o = o;
	ch.config = o->config;
	ch.timeout_ms = o->metadata_timeout_ms > 0 ? o->metadata_timeout_ms : METADATA_TIMEOUT_MS;
	ch.process_timeout_ms =
	        o->process_timeout_ms > 0 ? o->process_timeout_ms : PROCESS_TIMEOUT_MS;
	if (!ch.config) {
		rc = es_awsconfig_load(NULL, NULL, &own);
		if (rc)
			return rc;
		ch.config = own;
	}
	shown_path(es_awsconfig_path(ch.config, ES_AWSCONFIG_CREDENTIALS), shown1, sizeof(shown1));
	shown_path(es_awsconfig_path(ch.config, ES_AWSCONFIG_CONFIG), shown2, sizeof(shown2));

	rc = from_env(out, why, sizeof(why));
	if (rc != ES_ENOTFOUND)
		goto done;
	es_buf_printf(&tried, "environment (%s)", why);

	if (es_awsconfig_has_profile(ch.config, profile)) {
		rc = from_profile(&ch, profile, false, out);
		if (rc != ES_ENOTFOUND)
			goto done;
		es_buf_printf(&tried, ", profile %s (no credentials in it)", profile);
	} else if (named) {
		rc = es_fail(ES_ECREDS, "AWS profile \"%s\" not found in %s or %s", profile,
		             shown_path(es_awsconfig_path(ch.config, ES_AWSCONFIG_CREDENTIALS),
		                        shown1, sizeof(shown1)),
		             shown_path(es_awsconfig_path(ch.config, ES_AWSCONFIG_CONFIG), shown2,
		                        sizeof(shown2)));
		goto done;
	} else {
		es_buf_printf(&tried, ", profile %s (not in %s or %s)", profile,
		              shown_path(es_awsconfig_path(ch.config, ES_AWSCONFIG_CREDENTIALS),
		                         shown1, sizeof(shown1)),
		              shown_path(es_awsconfig_path(ch.config, ES_AWSCONFIG_CONFIG), shown2,
		                         sizeof(shown2)));
	}

	rc = es_cred_from_container(ch.timeout_ms, out, why, sizeof(why));
	if (rc != ES_ENOTFOUND)
		goto done;
	es_buf_printf(&tried, ", container (%s)", why);

	rc = es_cred_from_imds(ch.timeout_ms, out, why, sizeof(why));
	if (rc != ES_ENOTFOUND)
		goto done;
	es_buf_printf(&tried, ", instance metadata (%s)", why);

	rc = es_fail(ES_ECREDS,
	             "no AWS credentials found: tried %s. Set AWS_PROFILE or run `aws configure`.",
	             es_buf_str(&tried));
done:
	if (!rc && o->role.role_arn && *o->role.role_arn)
		rc = assume_on_top(o, out);
	if (rc)
		es_credentials_free(out);
	es_buf_free(&tried);
	es_awsconfig_free(own);
	return rc;
}

bool es_credentials_expiring(const struct es_credentials *c, time_t now, long margin_seconds)
{
	return c->expiration != 0 && now + margin_seconds >= c->expiration;
}

int es_credentials_copy(struct es_credentials *dst, const struct es_credentials *src)
{
	int rc = es_cred_set(dst, src->access_key_id ? src->access_key_id : "",
	                     src->secret_access_key ? src->secret_access_key : "",
	                     src->session_token, src->expiration, "%s", src->source);

	if (!rc && !src->access_key_id) {
		free(dst->access_key_id);
		dst->access_key_id = NULL;
	}
	if (!rc && !src->secret_access_key) {
		free(dst->secret_access_key);
		dst->secret_access_key = NULL;
	}
	return rc;
}
