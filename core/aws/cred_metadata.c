/* The container (ECS/EKS) endpoint and EC2 instance metadata (IMDSv2)
 * providers: local HTTP calls, never through a proxy, whose answers hold
 * secrets and are wiped.  IMDS failures are "nothing here", with a reason. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "cred_providers.h"
#include "cred_util.h"
#include "base/error.h"

#define METADATA_ATTEMPTS 2
#define MAX_OUTPUT        (64 * 1024)
#define ECS_HOST_NAME     "169.254.170.2"
#define ECS_HOST          "http://" ECS_HOST_NAME
#define IMDS_HOST         "http://169.254.169.254"
#define IMDS_HOST_IPV6    "http://[fd00:ec2::254]"
#define IMDS_CREDS_PATH   "/latest/meta-data/iam/security-credentials/"

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
		es_cred_wipe_buf(&a->body);
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
	es_cred_wipe_buf(&a->body);
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
	rc = es_cred_from_json(doc, "Token", what, out, source);
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
	const char *rel = es_cred_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = es_cred_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
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
	const char *file = es_cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
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
	} else if (es_cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
		es_buf_puts(&token, es_cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	} else {
		return ES_OK;
	}
	if (strpbrk(es_buf_str(&token), "\r\n"))
		rc = es_fail(ES_ECREDS, "%s holds a line break, which cannot go in a header", name);
	else if (asprintf(header, "Authorization: %s", es_buf_str(&token)) < 0)
		rc = es_fail(ES_ENOMEM, "out of memory");
	if (rc)
		*header = NULL;
	es_cred_wipe_buf(&token);
	return rc;
}

int es_cred_from_container(long timeout_ms, struct es_credentials *out, char *why, size_t len)
{
	char *url = NULL, *host = NULL, *auth = NULL, what[200];
	struct answer a = {0};
	int rc;

	if (!es_cred_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") &&
	    !es_cred_env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
		snprintf(why, len, "AWS_CONTAINER_CREDENTIALS_* not set");
		return ES_ENOTFOUND;
	}
	rc = container_url(&url, &host);
	if (!rc)
		rc = container_auth(&auth);
	if (rc)
		goto done;
	snprintf(what, sizeof(what), "container endpoint %s", host);
	rc = http_call("GET", url, auth, timeout_ms, &a);
	if (rc)
		goto done;
	if (a.code != CURLE_OK || a.status != 200) {
		char reason[256];
		describe_failure(&a, host, timeout_ms, "the credentials request", reason,
		                 sizeof(reason));
		rc = es_fail(ES_ECREDS, "container credentials: %s", reason);
		goto done;
	}
	rc = parse_answer(&a, what, "container endpoint", out);
done:
	answer_free(&a);
	es_cred_wipe_free(auth);
	free(url);
	free(host);
	return rc;
}

/* ------------------------------------------------------------ instance metadata */

/* IMDSv2 only: a session token first, then the role name, then its keys.
 * Every failure is "nothing here" with a reason for the tried list. */
int es_cred_from_imds(long timeout_ms, struct es_credentials *out, char *why, size_t len)
{
	const char *base = es_cred_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = es_cred_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *host;
	char *url = NULL, *token_header = NULL, role[128];
	struct answer a = {0};
	size_t base_len;
	int rc = ES_ENOTFOUND;

	if (es_cred_env("AWS_EC2_METADATA_DISABLED") &&
	    strcasecmp(es_cred_env("AWS_EC2_METADATA_DISABLED"), "true") == 0) {
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
	if ((rc = http_call("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", timeout_ms,
	                    &a)))
		goto done;
	if (a.code != CURLE_OK || a.status != 200 || !a.body.len ||
	    strpbrk(es_buf_str(&a.body), "\r\n")) {
		describe_failure(&a, host, timeout_ms, "the token request", why, len);
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
	if ((rc = http_call("GET", url, token_header, timeout_ms, &a)))
		goto done;
	snprintf(role, sizeof(role), "%.*s", (int)strcspn(es_buf_str(&a.body), "\r\n"),
	         es_buf_str(&a.body));
	if (a.code == CURLE_OK && (a.status == 404 || (a.status == 200 && !role[0]))) {
		snprintf(why, len, "no IAM role attached to the instance at %s", host);
		rc = ES_ENOTFOUND;
		goto done;
	}
	if (a.code != CURLE_OK || a.status != 200 || strpbrk(role, "/?#% ")) {
		describe_failure(&a, host, timeout_ms, "the role request", why, len);
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
	if ((rc = http_call("GET", url, token_header, timeout_ms, &a)))
		goto done;
	if (a.code != CURLE_OK || a.status != 200) {
		describe_failure(&a, host, timeout_ms, "the credentials request", why, len);
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
	es_cred_wipe_free(token_header);
	free(url);
	return rc;
}
