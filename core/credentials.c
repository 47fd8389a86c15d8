/* The AWS credentials chain: environment, profile (static keys, assumed
 * roles, credential_process), container endpoint, EC2 instance metadata.
 * Secrets live only in the returned struct and are wiped when freed. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "credentials.h"
#include "error.h"

extern char **environ;

#define METADATA_TIMEOUT_MS 1000
#define METADATA_ATTEMPTS   2
#define PROCESS_TIMEOUT_MS  60000
#define MAX_OUTPUT          (64 * 1024)
#define CACHE_MARGIN        300 /* seconds before expiry a cached role is dropped */
#define MAX_ROLE_CHAIN      8
#define ECS_HOST_NAME       "169.254.170.2"
#define ECS_HOST            "http://" ECS_HOST_NAME
#define IMDS_HOST           "http://169.254.169.254"
#define IMDS_HOST_IPV6      "http://[fd00:ec2::254]"
#define IMDS_CREDS_PATH     "/latest/meta-data/iam/security-credentials/"

/* One es_credentials_resolve() call. */
struct chain {
	const struct es_cred_options *o;
	const struct es_awsconfig *config;
	const char *path[MAX_ROLE_CHAIN]; /* profiles on the current role chain */
	size_t depth;
	long timeout_ms;
};

static int from_container(struct chain *ch, struct es_credentials *out, char *why, size_t len);
static int from_imds(struct chain *ch, struct es_credentials *out, char *why, size_t len);

/* ------------------------------------------------------------ helpers */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void wipe_buf(struct es_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	es_buf_free(b);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fill out from borrowed strings; the source is a printf format. */
static int set_creds(struct es_credentials *out, const char *akid, const char *secret,
                     const char *token, time_t expiration, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
static int set_creds(struct es_credentials *out, const char *akid, const char *secret,
                     const char *token, time_t expiration, const char *fmt, ...)
{
	va_list ap;

	memset(out, 0, sizeof(*out));
	out->access_key_id = strdup(akid);
	out->secret_access_key = strdup(secret);
	out->session_token = token && *token ? strdup(token) : NULL;
	if (!out->access_key_id || !out->secret_access_key ||
	    (token && *token && !out->session_token)) {
		es_credentials_free(out);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	out->expiration = expiration;
	va_start(ap, fmt);
	vsnprintf(out->source, sizeof(out->source), fmt, ap);
	va_end(ap);
	return ES_OK;
}

/* RFC 3339 ("2026-11-27T03:00:00Z", fractions and ±HH:MM allowed) to UTC
 * seconds; -1 when it is not one. */
static time_t parse_rfc3339(const char *s)
{
	struct tm tm;
	const char *p;
	int oh, om;
	long offset = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
	           strlen(p) == 6) {
		offset = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
	} else {
		return -1;
	}
	return timegm(&tm) - offset;
}

static void format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

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

/* The keys of a credentials JSON document (container, IMDS and
 * credential_process share all but the token's name).  Never quotes the
 * document: it holds the secret. */
static int creds_from_json(json_t *doc, const char *token_key, const char *what,
                           struct es_credentials *out, const char *source)
{
	const char *akid = json_string_value(json_object_get(doc, "AccessKeyId"));
	const char *secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
	const char *token = json_string_value(json_object_get(doc, token_key));
	json_t *exp = json_object_get(doc, "Expiration");
	time_t expiration = 0;

	if (!json_is_object(doc))
		return es_fail(ES_ECREDS, "%s: the answer is not a JSON object", what);
	if (!akid || !*akid)
		return es_fail(ES_ECREDS, "%s: the answer lacks AccessKeyId", what);
	if (!secret || !*secret)
		return es_fail(ES_ECREDS, "%s: the answer lacks SecretAccessKey", what);
	if (exp && !json_is_null(exp)) {
		expiration = json_is_string(exp) ? parse_rfc3339(json_string_value(exp)) : -1;
		if (expiration == -1)
			return es_fail(ES_ECREDS, "%s: Expiration is not an RFC 3339 time", what);
		if (expiration <= time(NULL)) {
			char when[32];
			format_time(expiration, when, sizeof(when));
			return es_fail(ES_ECREDS, "%s: the credentials expired at %s", what, when);
		}
	}
	return set_creds(out, akid, secret, token, expiration, "%s", source);
}

/* ------------------------------------------------------------ environment */

static int from_env(struct es_credentials *out, char *why, size_t len)
{
	const char *akid_name = "AWS_ACCESS_KEY_ID", *secret_name = "AWS_SECRET_ACCESS_KEY";
	const char *akid = env(akid_name), *secret = env(secret_name);
	const char *token = env("AWS_SESSION_TOKEN");

	if (!akid && (akid = env("AWS_ACCESS_KEY")))
		akid_name = "AWS_ACCESS_KEY";
	if (!secret && (secret = env("AWS_SECRET_KEY")))
		secret_name = "AWS_SECRET_KEY";
	if (!token)
		token = env("AWS_SECURITY_TOKEN");
	if (!akid && !secret) {
		snprintf(why, len, "AWS_ACCESS_KEY_ID not set");
		return ES_ENOTFOUND;
	}
	if (!secret)
		return es_fail(ES_ECREDS, "%s is set but AWS_SECRET_ACCESS_KEY is not", akid_name);
	if (!akid)
		return es_fail(ES_ECREDS, "%s is set but AWS_ACCESS_KEY_ID is not", secret_name);
	return set_creds(out, akid, secret, token, 0, "environment");
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
	return set_creds(out, akid, secret,
	                 es_awsconfig_get_in(ch->config, which, profile, "aws_session_token"), 0,
	                 "profile %s (%s)", profile,
	                 which == ES_AWSCONFIG_CREDENTIALS ? "shared credentials file"
	                                                   : "config file");
}

/* ------------------------------------------------------------ credential_process */

/* What a finished (or stopped) child left behind. */
struct child {
	struct es_buf out;  /* stdout: holds secrets */
	char err_line[200]; /* first line of stderr, control characters removed */
	bool too_big, timed_out;
	int status;
};

static void keep_first_line(struct child *c, const char *data, size_t n)
{
	size_t have = strlen(c->err_line);

	if (c->err_line[sizeof(c->err_line) - 1] == '\n')
		return; /* the first line is complete */
	for (size_t i = 0; i < n && have + 1 < sizeof(c->err_line) - 1; i++) {
		if (data[i] == '\n') {
			c->err_line[sizeof(c->err_line) - 1] = '\n';
			return;
		}
		c->err_line[have++] = (unsigned char)data[i] < 0x20 ? ' ' : data[i];
	}
	c->err_line[have] = '\0';
}

/* Run cmd through /bin/sh with stdin from /dev/null, collecting stdout and
 * the start of stderr, and stop it when timeout_ms has passed. */
static int run_process(const char *cmd, long timeout_ms, struct child *c)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	posix_spawn_file_actions_t fa;
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd[2];
	pid_t pid;
	int rc;

	memset(c, 0, sizeof(*c));
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		rc = es_fail(ES_ERR, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (rc) {
		rc = es_fail(ES_ERR, "cannot start /bin/sh: %s", strerror(rc));
		goto fail;
	}

	pfd[0] = (struct pollfd){.fd = outp[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = errp[0], .events = POLLIN};
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		int64_t left = deadline - now_ms();
		char chunk[4096];

		if (left <= 0) {
			c->timed_out = true;
			break;
		}
		if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			} else if (i == 1) {
				keep_first_line(c, chunk, (size_t)n);
			} else if (c->out.len + (size_t)n > MAX_OUTPUT) {
				c->too_big = true;
			} else if (es_buf_append(&c->out, chunk, (size_t)n)) {
				c->too_big = true;
			}
		}
		explicit_bzero(chunk, sizeof(chunk));
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	/* The pipes may close before the shell exits: keep to the deadline. */
	while (!c->timed_out && waitpid(pid, &c->status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			c->timed_out = true;
			break;
		}
		usleep(5000);
	}
	if (c->timed_out) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
			;
	}
	c->err_line[sizeof(c->err_line) - 1] = '\0';
	return ES_OK;
fail:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return rc;
}

static int from_process(struct chain *ch, const char *profile, const char *cmd,
                        struct es_credentials *out)
{
	long timeout =
	        ch->o->process_timeout_ms > 0 ? ch->o->process_timeout_ms : PROCESS_TIMEOUT_MS;
	char what[160], source[160];
	struct child c;
	json_error_t jerr;
	json_t *doc = NULL, *version;
	int rc;

	snprintf(what, sizeof(what), "credential_process for profile %s", profile);
	rc = run_process(cmd, timeout, &c);
	if (rc) {
		es_fail_prefix("%s", what);
		goto done;
	}
	if (c.timed_out) {
		rc = es_fail(ES_ECREDS, "%s did not finish within %ld ms", what, timeout);
	} else if (WIFSIGNALED(c.status)) {
		rc = es_fail(ES_ECREDS, "%s was killed by signal %d", what, WTERMSIG(c.status));
	} else if (WEXITSTATUS(c.status) != 0) {
		rc = es_fail(ES_ECREDS, "%s failed with exit status %d%s%s", what,
		             WEXITSTATUS(c.status), c.err_line[0] ? ": " : "", c.err_line);
	} else if (c.too_big) {
		rc = es_fail(ES_ECREDS, "%s printed more than %d bytes", what, MAX_OUTPUT);
	} else if (!(doc = json_loadb(es_buf_str(&c.out), c.out.len, 0, &jerr))) {
		/* jerr.text may quote the output, which holds secrets. */
		rc = es_fail(ES_ECREDS,
		             "%s printed something that is not JSON (line %d, column %d)", what,
		             jerr.line, jerr.column);
	} else if (!json_is_object(doc)) {
		rc = es_fail(ES_ECREDS, "%s printed JSON that is not an object", what);
	} else if (!json_is_integer(version = json_object_get(doc, "Version"))) {
		rc = es_fail(ES_ECREDS, "%s printed no numeric Version (it must be 1)", what);
	} else if (json_integer_value(version) != 1) {
		rc = es_fail(ES_ECREDS,
		             "%s printed Version %" JSON_INTEGER_FORMAT
		             "; only Version 1 is understood",
		             what, json_integer_value(version));
	} else {
		snprintf(source, sizeof(source), "credential_process (profile %s)", profile);
		rc = creds_from_json(doc, "SessionToken", what, out, source);
	}
done:
	json_decref(doc);
	wipe_buf(&c.out);
	return rc;
}

/* ------------------------------------------------------------ assumed roles */

/* Assumed credentials, kept until CACHE_MARGIN before they expire so each
 * resolve does not cost an STS call (and an MFA prompt, one day). */
struct cached_role {
	char *key;
	struct es_credentials creds;
	struct cached_role *next;
};

static struct cached_role *role_cache;

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
	struct cached_role **p = cache_find(key);

	if (!p)
		return false;
	if (es_credentials_expiring(&(*p)->creds, time(NULL), CACHE_MARGIN)) {
		cache_drop(p);
		return false;
	}
	return es_credentials_copy(out, &(*p)->creds) == ES_OK;
}

static void cache_put(const char *key, const struct es_credentials *creds)
{
	struct cached_role **p = cache_find(key);
	struct cached_role *e;

	if (p)
		cache_drop(p);
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	if (!e->key || es_credentials_copy(&e->creds, creds)) {
		free(e->key);
		free(e);
		return;
	}
	e->next = role_cache;
	role_cache = e;
}

void es_credentials_cache_clear(void)
{
	while (role_cache)
		cache_drop(&role_cache);
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
			rc = from_container(ch, out, why, sizeof(why));
		else if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
			rc = from_imds(ch, out, why, sizeof(why));
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
		rc = from_process(ch, profile, process, out);
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

/* ------------------------------------------------------------ HTTP (metadata) */

struct answer {
	long status; /* 0 when nothing came back */
	CURLcode code;
	struct es_buf body; /* may hold secrets */
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct answer *a = ud;

	if (a->body.len + size * n > MAX_OUTPUT) {
		a->too_big = true;
		return 0;
	}
	return es_buf_append(&a->body, data, size * n) ? 0 : size * n;
}

/* One metadata request, tried up to METADATA_ATTEMPTS times when the
 * transport fails or the server errs.  Never through a proxy: these hosts
 * are local and the answers are secrets. */
static int http_call(const char *method, const char *url, const char *header, long timeout_ms,
                     struct answer *a)
{
	struct curl_slist *hdrs = NULL;
	CURL *e = curl_easy_init();

	memset(a, 0, sizeof(*a));
	if (!e)
		return es_fail(ES_ENOMEM, "cannot start libcurl");
	if (header && !(hdrs = curl_slist_append(NULL, header))) {
		curl_easy_cleanup(e);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	for (int attempt = 0; attempt < METADATA_ATTEMPTS; attempt++) {
		wipe_buf(&a->body);
		a->status = 0;
		a->code = curl_easy_perform(e);
		if (a->code == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->status);
		if ((a->code == CURLE_OK && a->status < 500) || a->too_big)
			break;
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	return ES_OK;
}

static void answer_free(struct answer *a)
{
	wipe_buf(&a->body);
}

/* Why a metadata request got no usable answer, for the "tried" list. */
static void describe_failure(const struct answer *a, const char *host, long timeout_ms,
                             const char *step, char *why, size_t len)
{
	if (a->code == CURLE_OPERATION_TIMEDOUT || a->code == CURLE_COULDNT_CONNECT) {
		if (timeout_ms % 1000 == 0)
			snprintf(why, len, "no answer from %s within %lds", host,
			         timeout_ms / 1000);
		else
			snprintf(why, len, "no answer from %s within %ld ms", host, timeout_ms);
	} else if (a->too_big) {
		snprintf(why, len, "%s sent more than %d bytes for %s", host, MAX_OUTPUT, step);
	} else if (a->code != CURLE_OK) {
		snprintf(why, len, "%s: %s", host, curl_easy_strerror(a->code));
	} else {
		snprintf(why, len, "%s answered HTTP %ld to %s", host, a->status, step);
	}
}

static int parse_answer(const struct answer *a, const char *what, const char *source,
                        struct es_credentials *out)
{
	json_error_t jerr;
	json_t *doc = json_loadb(es_buf_str(&a->body), a->body.len, 0, &jerr);
	int rc;

	if (!doc)
		return es_fail(ES_ECREDS, "%s: the answer is not JSON", what);
	rc = creds_from_json(doc, "Token", what, out, source);
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------ container */

/* FULL_URI may point anywhere only over https; plain http is for the
 * container agent's own addresses, so the token never crosses a network. */
static bool container_host_allowed(const char *scheme, const char *host)
{
	static const char *const local[] = {"localhost", "[::1]", "169.254.170.2", "169.254.170.23",
	                                    "[fd00:ec2::23]"};

	if (strcasecmp(scheme, "https") == 0)
		return true;
	if (strcasecmp(scheme, "http") != 0)
		return false;
	if (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host))
		return true;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (strcasecmp(host, local[i]) == 0)
			return true;
	return false;
}

static int container_url(char **url, char **host)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	char *scheme = NULL, *h = NULL, *port = NULL;
	CURLU *u;
	int rc = ES_OK;

	*url = *host = NULL;
	if (rel) {
		if (asprintf(url, "%s%s%s", ECS_HOST, *rel == '/' ? "" : "/", rel) < 0 ||
		    !(*host = strdup(ECS_HOST_NAME))) {
			free(*url);
			*url = NULL;
			return es_fail(ES_ENOMEM, "out of memory");
		}
		return ES_OK;
	}
	u = curl_url();
	if (!u)
		return es_fail(ES_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, full, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		rc = es_fail(ES_ECONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
	} else if (!container_host_allowed(scheme, h)) {
		rc = es_fail(ES_ECONFIG,
		             "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https, or http to a "
		             "loopback address or the ECS/EKS container host, not %s://%s",
		             scheme, h);
	} else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		if (port)
			rc = asprintf(host, "%s:%s", h, port) < 0 ? ES_ENOMEM : ES_OK;
		else
			rc = (*host = strdup(h)) ? ES_OK : ES_ENOMEM;
		if (!rc && !(*url = strdup(full)))
			rc = ES_ENOMEM;
		if (rc) {
			free(*host);
			*host = NULL;
			es_fail(rc, "out of memory");
		}
	}
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/* The Authorization header, from _TOKEN_FILE (re-read each time: EKS
 * rotates it) or _TOKEN.  *header is NULL when neither is set. */
static int container_auth(char **header)
{
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *name = file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	                        : "AWS_CONTAINER_AUTHORIZATION_TOKEN";
	struct es_buf token = ES_BUF_INIT;
	int rc = ES_OK;

	*header = NULL;
	if (file) {
		FILE *f = fopen(file, "r");
		char chunk[1024];
		size_t n;
		if (!f)
			return es_fail(ES_ECREDS, "cannot read %s (%s): %s", name, file,
			               strerror(errno));
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && token.len < 16384)
			es_buf_append(&token, chunk, n);
		explicit_bzero(chunk, sizeof(chunk));
		fclose(f);
		while (token.len && strchr(" \t\r\n", token.data[token.len - 1]))
			token.data[--token.len] = '\0';
	} else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
		es_buf_puts(&token, env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	} else {
		return ES_OK;
	}
	if (strpbrk(es_buf_str(&token), "\r\n"))
		rc = es_fail(ES_ECREDS, "%s holds a line break, which cannot go in a header", name);
	else if (asprintf(header, "Authorization: %s", es_buf_str(&token)) < 0)
		rc = es_fail(ES_ENOMEM, "out of memory");
	if (rc)
		*header = NULL;
	wipe_buf(&token);
	return rc;
}

static int from_container(struct chain *ch, struct es_credentials *out, char *why, size_t len)
{
	char *url = NULL, *host = NULL, *auth = NULL, what[200];
	struct answer a = {0};
	int rc;

	if (!env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") &&
	    !env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
		snprintf(why, len, "AWS_CONTAINER_CREDENTIALS_* not set");
		return ES_ENOTFOUND;
	}
	rc = container_url(&url, &host);
	if (!rc)
		rc = container_auth(&auth);
	if (rc)
		goto done;
	snprintf(what, sizeof(what), "container endpoint %s", host);
	rc = http_call("GET", url, auth, ch->timeout_ms, &a);
	if (rc)
		goto done;
	if (a.code != CURLE_OK || a.status != 200) {
		char reason[256];
		describe_failure(&a, host, ch->timeout_ms, "the credentials request", reason,
		                 sizeof(reason));
		rc = es_fail(ES_ECREDS, "container credentials: %s", reason);
		goto done;
	}
	rc = parse_answer(&a, what, "container endpoint", out);
done:
	answer_free(&a);
	wipe_free(auth);
	free(url);
	free(host);
	return rc;
}

/* ------------------------------------------------------------ instance metadata */

/* IMDSv2 only: a session token first, then the role name, then its keys.
 * Every failure is "nothing here" with a reason for the tried list. */
static int from_imds(struct chain *ch, struct es_credentials *out, char *why, size_t len)
{
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *host;
	char *url = NULL, *token_header = NULL, role[128];
	struct answer a = {0};
	size_t base_len;
	int rc = ES_ENOTFOUND;

	if (env("AWS_EC2_METADATA_DISABLED") &&
	    strcasecmp(env("AWS_EC2_METADATA_DISABLED"), "true") == 0) {
		snprintf(why, len, "disabled by AWS_EC2_METADATA_DISABLED");
		return ES_ENOTFOUND;
	}
	if (!base)
		base = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_HOST_IPV6 : IMDS_HOST;
	base_len = strlen(base);
	while (base_len && base[base_len - 1] == '/')
		base_len--;
	host = strstr(base, "://") ? strstr(base, "://") + 3 : base;

	if (asprintf(&url, "%.*s/latest/api/token", (int)base_len, base) < 0)
		return es_fail(ES_ENOMEM, "out of memory");
	if ((rc = http_call("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600",
	                    ch->timeout_ms, &a)))
		goto done;
	if (a.code != CURLE_OK || a.status != 200 || !a.body.len ||
	    strpbrk(es_buf_str(&a.body), "\r\n")) {
		describe_failure(&a, host, ch->timeout_ms, "the token request", why, len);
		rc = ES_ENOTFOUND;
		goto done;
	}
	if (asprintf(&token_header, "X-aws-ec2-metadata-token: %s", es_buf_str(&a.body)) < 0) {
		token_header = NULL;
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto done;
	}

	free(url);
	answer_free(&a);
	if (asprintf(&url, "%.*s%s", (int)base_len, base, IMDS_CREDS_PATH) < 0) {
		url = NULL;
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = http_call("GET", url, token_header, ch->timeout_ms, &a)))
		goto done;
	snprintf(role, sizeof(role), "%.*s", (int)strcspn(es_buf_str(&a.body), "\r\n"),
	         es_buf_str(&a.body));
	if (a.code == CURLE_OK && (a.status == 404 || (a.status == 200 && !role[0]))) {
		snprintf(why, len, "no IAM role attached to the instance at %s", host);
		rc = ES_ENOTFOUND;
		goto done;
	}
	if (a.code != CURLE_OK || a.status != 200 || strpbrk(role, "/?#% ")) {
		describe_failure(&a, host, ch->timeout_ms, "the role request", why, len);
		rc = ES_ENOTFOUND;
		goto done;
	}

	free(url);
	answer_free(&a);
	if (asprintf(&url, "%.*s%s%s", (int)base_len, base, IMDS_CREDS_PATH, role) < 0) {
		url = NULL;
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = http_call("GET", url, token_header, ch->timeout_ms, &a)))
		goto done;
	if (a.code != CURLE_OK || a.status != 200) {
		describe_failure(&a, host, ch->timeout_ms, "the credentials request", why, len);
		rc = ES_ENOTFOUND;
		goto done;
	}
	rc = parse_answer(&a, "EC2 instance metadata", "EC2 instance metadata", out);
	if (rc && rc != ES_ENOMEM) {
		snprintf(why, len, "%.300s", es_error_last()->message);
		rc = ES_ENOTFOUND;
	}
done:
	answer_free(&a);
	wipe_free(token_header);
	free(url);
	return rc;
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
	profile = o->profile && *o->profile ? o->profile : env("AWS_PROFILE");
	if (!profile)
		profile = "default";
	/* Like the AWS CLI, a missing "default" is no error even when named:
	 * containers and instances have no files at all. */
	named = strcmp(profile, "default") != 0;
	ch.o = o;
	ch.config = o->config;
	ch.timeout_ms = o->metadata_timeout_ms > 0 ? o->metadata_timeout_ms : METADATA_TIMEOUT_MS;
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

	rc = from_container(&ch, out, why, sizeof(why));
	if (rc != ES_ENOTFOUND)
		goto done;
	es_buf_printf(&tried, ", container (%s)", why);

	rc = from_imds(&ch, out, why, sizeof(why));
	if (rc != ES_ENOTFOUND)
		goto done;
	es_buf_printf(&tried, ", instance metadata (%s)", why);

	rc = es_fail(ES_ECREDS,
	             "no AWS credentials found: tried %s. Set AWS_PROFILE or run `aws configure`.",
	             es_buf_str(&tried));
done:
	if (rc)
		es_credentials_free(out);
	es_buf_free(&tried);
	es_awsconfig_free(own);
	return rc;
}

void es_credentials_free(struct es_credentials *c)
{
	if (!c)
		return;
	wipe_free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

bool es_credentials_expiring(const struct es_credentials *c, time_t now, long margin_seconds)
{
	return c->expiration != 0 && now + margin_seconds >= c->expiration;
}

int es_credentials_copy(struct es_credentials *dst, const struct es_credentials *src)
{
	int rc = set_creds(dst, src->access_key_id ? src->access_key_id : "",
	                   src->secret_access_key ? src->secret_access_key : "", src->session_token,
	                   src->expiration, "%s", src->source);

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
