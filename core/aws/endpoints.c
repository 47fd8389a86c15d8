/* AWS settings and endpoint resolution: profile, region, retry knobs and the
 * URL, Host and signing scope for each service, overrides first. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoints.h"
#include "base/error.h"

#define MAX_ATTEMPTS_LIMIT 20

/* One row per service edgeship calls. */
static const struct service {
	const char *id;      /* as the services section and callers spell it */
	const char *env;     /* suffix of AWS_ENDPOINT_URL_ */
	const char *signing; /* SigV4 service name */
	bool global;         /* one endpoint everywhere, signed for us-east-1 */
} services[] = {
        {"sts", "STS", "sts", false},
        {"cloudformation", "CLOUDFORMATION", "cloudformation", false},
        {"cloudfront", "CLOUDFRONT", "cloudfront", true},
        {"s3", "S3", "s3", false},
        {"lambda", "LAMBDA", "lambda", false},
        {"codepipeline", "CODEPIPELINE", "codepipeline", false},
        {"monitoring", "CLOUDWATCH", "monitoring", false},
        {"logs", "CLOUDWATCH_LOGS", "logs", false},
};

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static bool is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}

/* ------------------------------------------------------------ settings */

static bool valid_region(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n >= 32)
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return false;
	return true;
}

static int pick_region(struct es_aws_settings *s, const char *override)
{
	const char *v = override && *override ? override : NULL;
	const char *from = "override";
	char where[64];

	if (!v && (v = env("AWS_REGION")))
		from = "AWS_REGION";
	if (!v && (v = env("AWS_DEFAULT_REGION")))
		from = "AWS_DEFAULT_REGION";
	if (!v && (v = es_awsconfig_get(s->config, s->profile, "region"))) {
		snprintf(where, sizeof(where), "profile %s", s->profile);
		from = where;
	}
	if (!v || !*v) {
		snprintf(s->region_source, sizeof(s->region_source), "default");
		return ES_OK;
	}
	if (!valid_region(v))
		return es_fail(
		        ES_ECONFIG,
		        "%s gives region \"%.40s\", which is not a region name (like eu-west-1)",
		        from, v);
	s->region = strdup(v);
	if (!s->region)
		return es_fail(ES_ENOMEM, "out of memory");
	snprintf(s->region_source, sizeof(s->region_source), "%s", from);
	return ES_OK;
}

static int pick_max_attempts(struct es_aws_settings *s)
{
	const char *v = env("AWS_MAX_ATTEMPTS");
	char from[96] = "AWS_MAX_ATTEMPTS";
	char *end;
	long n;

	if (!v) {
		v = es_awsconfig_get(s->config, s->profile, "max_attempts");
		snprintf(from, sizeof(from), "max_attempts in profile %s", s->profile);
	}
	if (!v) {
		s->max_attempts = 3;
		return ES_OK;
	}
	n = strtol(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || n < 1 || n > MAX_ATTEMPTS_LIMIT)
		return es_fail(ES_ECONFIG, "%s must be a whole number from 1 to %d, not \"%.40s\"",
		               from, MAX_ATTEMPTS_LIMIT, v);
	s->max_attempts = (int)n;
	return ES_OK;
}

static int pick_retry_mode(struct es_aws_settings *s)
{
	static const char *const modes[] = {"standard", "legacy", "adaptive"};
	const char *v = env("AWS_RETRY_MODE");
	char from[96] = "AWS_RETRY_MODE";

	if (!v) {
		v = es_awsconfig_get(s->config, s->profile, "retry_mode");
		snprintf(from, sizeof(from), "retry_mode in profile %s", s->profile);
	}
	if (!v)
		v = "standard";
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcasecmp(v, modes[i]) == 0) {
			snprintf(s->retry_mode, sizeof(s->retry_mode), "%s", modes[i]);
			return ES_OK;
		}
	}
	return es_fail(ES_ECONFIG, "%s must be standard, legacy or adaptive, not \"%.40s\"", from,
	               v);
}

int es_settings_load(const char *profile_override, const char *region_override,
                     struct es_aws_settings *out)
{
	const char *profile = profile_override && *profile_override ? profile_override : NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!profile)
		profile = env("AWS_PROFILE");
	out->profile = strdup(profile ? profile : "default");
	if (!out->profile)
		return es_fail(ES_ENOMEM, "out of memory");
	rc = es_awsconfig_load(NULL, NULL, &out->config);
	if (!rc)
		rc = pick_region(out, region_override);
	if (!rc)
		rc = pick_max_attempts(out);
	if (!rc)
		rc = pick_retry_mode(out);
	if (rc)
		es_settings_free(out);
	return rc;
}

void es_settings_free(struct es_aws_settings *s)
{
	if (!s)
		return;
	free(s->profile);
	free(s->region);
	es_awsconfig_free(s->config);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ endpoints */

/* The URL as it may appear in a message: no user:password, no controls. */
static void quote_url(const char *url, char *out, size_t len)
{
	size_t i = 0;

	if (strchr(url, '@')) {
		snprintf(out, len, "(not shown: it holds a user name)");
		return;
	}
	for (; *url && i + 4 < len && i < 120; url++)
		out[i++] = (unsigned char)*url < 0x20 || *url == 0x7f ? '?' : *url;
	out[i] = '\0';
	if (*url)
		snprintf(out + i, len - i, "...");
}

static int bad_url(const char *origin, const char *url, const char *why)
{
	char shown[160];

	quote_url(url, shown, sizeof(shown));
	return es_fail(ES_ECONFIG, "%s is not a usable endpoint URL (\"%s\"): %s", origin, shown,
	               why);
}

/* Check an override and split it into url and host: http or https, a host,
 * an optional port (dropped when it is the scheme's default), a base path
 * without trailing slash, no user info, query or fragment. */
static int parse_url(const char *text, const char *origin, struct es_endpoint *out)
{
	const char *sep = strstr(text, "://");
	const char *auth, *path, *host_end, *port = NULL;
	size_t scheme_len, path_len;
	bool https;
	long port_no = 0;

	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return bad_url(origin, text, "it contains spaces or control characters");
	if (!sep)
		return bad_url(origin, text, "it must start with http:// or https://");
	scheme_len = (size_t)(sep - text);
	if (scheme_len == 5 && strncasecmp(text, "https", 5) == 0)
		https = true;
	else if (scheme_len == 4 && strncasecmp(text, "http", 4) == 0)
		https = false;
	else
		return bad_url(origin, text, "the scheme must be http or https");
	auth = sep + 3;
	path = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(path - auth)))
		return bad_url(origin, text, "it must not carry a user name or password");
	if (*auth == '[') {
		host_end = memchr(auth, ']', (size_t)(path - auth));
		if (!host_end)
			return bad_url(origin, text, "the IPv6 address lacks its closing ]");
		host_end++;
	} else {
		host_end = auth + strcspn(auth, ":/?#");
	}
	if (host_end == auth || (*auth == '[' && host_end == auth + 2))
		return bad_url(origin, text, "it has no host");
	if (host_end < path) {
		char *end;
		if (*host_end != ':')
			return bad_url(origin, text, "junk after the host");
		port = host_end + 1;
		port_no = strtol(port, &end, 10);
		if (end != path || port == path || *port == '-' || *port == '+' || port_no < 1 ||
		    port_no > 65535)
			return bad_url(origin, text, "the port must be a number from 1 to 65535");
	}
	if (strpbrk(path, "?#"))
		return bad_url(origin, text, "it must not have a query or fragment");
	path_len = strlen(path);
	while (path_len && path[path_len - 1] == '/')
		path_len--;
	if (port && port_no == (https ? 443 : 80))
		port = NULL;

	int hn = (int)(host_end - auth);
	if (port) {
		if (asprintf(&out->host, "%.*s:%ld", hn, auth, port_no) < 0)
			out->host = NULL;
	} else {
		out->host = strndup(auth, (size_t)hn);
	}
	if (!out->host || asprintf(&out->url, "%s://%s%.*s", https ? "https" : "http", out->host,
	                           (int)path_len, path) < 0) {
		out->url = NULL;
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return ES_OK;
}

static const struct service *find_service(const char *id)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strcmp(services[i].id, id) == 0)
			return &services[i];
	return NULL;
}

/* The configured override for svc, if any, and a name for where it came
 * from (also the wording of errors about it). */
static const char *find_override(const struct es_aws_settings *s, const struct service *svc,
                                 char *origin, size_t len, char *source, size_t slen)
{
	const char *profile = s->profile ? s->profile : "default";
	char var[64];
	const char *v;

	if (is_true(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
	    is_true(es_awsconfig_get(s->config, profile, "ignore_configured_endpoint_urls")))
		return NULL;
	snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", svc->env);
	if ((v = env(var))) {
		snprintf(origin, len, "%s", var);
		snprintf(source, slen, "%s", var);
		return v;
	}
	v = es_awsconfig_get_service(s->config, profile, svc->id, "endpoint_url");
	if (v && *v) {
		snprintf(origin, len, "endpoint_url for %s in [services %s] (profile %s)", svc->id,
		         es_awsconfig_get_in(s->config, ES_AWSCONFIG_CONFIG, profile, "services"),
		         profile);
		snprintf(source, slen, "services section");
		return v;
	}
	if ((v = env("AWS_ENDPOINT_URL"))) {
		snprintf(origin, len, "AWS_ENDPOINT_URL");
		snprintf(source, slen, "AWS_ENDPOINT_URL");
		return v;
	}
	v = es_awsconfig_get(s->config, profile, "endpoint_url");
	if (v && *v) {
		snprintf(origin, len, "endpoint_url in profile %s", profile);
		snprintf(source, slen, "profile endpoint_url");
		return v;
	}
	return NULL;
}

int es_endpoint_resolve(const struct es_aws_settings *s, const char *service_id,
                        struct es_endpoint *out)
{
	char id[32], *at;
	const char *region = s && s->region && *s->region ? s->region : "us-east-1";

	/* "logs@eu-west-1": the service in a region other than the client's. */
	snprintf(id, sizeof(id), "%s", service_id ? service_id : "");
	if ((at = strchr(id, '@')) && at[1]) {
		*at = '\0';
		region = service_id + (at - id) + 1;
	}
	const struct service *svc = service_id ? find_service(id) : NULL;
	const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
	char origin[256];
	const char *url;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!svc)
		return es_fail(ES_EINVAL, "no endpoint known for service \"%s\"",
		               service_id ? service_id : "(null)");
	snprintf(out->signing_name, sizeof(out->signing_name), "%s", svc->signing);
	snprintf(out->signing_region, sizeof(out->signing_region), "%s",
	         svc->global ? "us-east-1" : region);

	url = s ? find_override(s, svc, origin, sizeof(origin), out->source, sizeof(out->source))
	        : NULL;
	if (url) {
		rc = parse_url(url, origin, out);
		if (rc) {
			es_endpoint_free(out);
			return rc;
		}
		out->overridden = true;
		out->path_style = strcmp(svc->id, "s3") == 0;
		return ES_OK;
	}

	snprintf(out->source, sizeof(out->source), "default");
	if (svc->global)
		out->host = strdup("cloudfront.amazonaws.com");
	else if (asprintf(&out->host, "%s.%s.%s", svc->id, region, suffix) < 0)
		out->host = NULL;
	if (!out->host || asprintf(&out->url, "https://%s", out->host) < 0) {
		out->url = NULL;
		es_endpoint_free(out);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return ES_OK;
}

void es_endpoint_free(struct es_endpoint *e)
{
	if (!e)
		return;
	free(e->url);
	free(e->host);
	memset(e, 0, sizeof(*e));
}
