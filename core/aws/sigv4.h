/* AWS Signature Version 4: canonical request, string to sign, signing key and
 * the Authorization header, computed with OpenSSL's EVP interfaces. */
#ifndef ES_SIGV4_H
#define ES_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct es_sigv4_header {
	const char *name;  /* any case; lower-cased when signed */
	const char *value; /* raw value; trimmed and space-folded when signed */
};

/* The request as it will go on the wire. */
struct es_sigv4_request {
	const char *method; /* "GET", "POST", … */
	const char *path;   /* already URI-encoded path as sent, e.g. "/bucket/a%20b" */
	const char *query;  /* raw query string without '?', or NULL */
	const struct es_sigv4_header *headers; /* must include Host */
	size_t n_headers;
	const void *body; /* may be NULL when body_len is 0 */
	size_t body_len;
	/* Hex SHA-256 of the payload if already known (or "UNSIGNED-PAYLOAD");
	 * NULL means: hash body. */
	const char *payload_hash;
};

struct es_sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL or "" when none */
	const char *region;
	const char *service;
	time_t when;             /* signing time (UTC seconds) */
	bool normalize_path;     /* false for S3: keep "//" and dot segments */
	bool add_content_sha256; /* S3: add and sign x-amz-content-sha256 */
	bool omit_session_token; /* compute without X-Amz-Security-Token signed */
	/* Also sign the headers a transport may rewrite (content-length, …;
	 * never authorization). Off for wire requests; the aws-c-auth vectors
	 * sign Content-Length and need it on. */
	bool sign_all_headers;
};

/* Everything the signer produced; all strings owned by the result. */
struct es_sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;  /* "host;x-amz-date" */
	char *authorization;   /* full Authorization header value */
	char amz_date[17];     /* "20150830T123600Z" */
	char payload_hash[65]; /* hex SHA-256 used in the canonical request */
	/* Headers the caller must add to the request (X-Amz-Date, and when
	 * applicable X-Amz-Security-Token and x-amz-content-sha256). */
	struct es_sigv4_header extra[3];
	size_t n_extra;
};

/* Sign req. On success fills out (free with es_sigv4_result_free) and returns
 * ES_OK; on failure returns an es_status and sets the last error. Headers in
 * req that are signed: every header given, except those a proxy or the
 * transport may rewrite (user-agent, expect, content-length,
 * accept-encoding, connection, transfer-encoding, authorization) —
 * callers pass only headers they want signed plus those. Headers the signer
 * adds itself (X-Amz-Date; X-Amz-Security-Token when a token is given;
 * x-amz-content-sha256 when add_content_sha256) must not be passed. */
int es_sigv4_sign(const struct es_sigv4_request *req, const struct es_sigv4_params *p,
                  struct es_sigv4_result *out);

void es_sigv4_result_free(struct es_sigv4_result *r);

/* Presigned URL query (X-Amz-Algorithm … X-Amz-Signature), for tests and S3
 * links. On success *query (owned by caller) holds the full signed query;
 * out->authorization is NULL and out->extra empty, since everything travels
 * in the query. */
int es_sigv4_presign(const struct es_sigv4_request *req, const struct es_sigv4_params *p,
                     long expires_seconds, char **query, struct es_sigv4_result *out);

/* Hex SHA-256 of data into hex[65]. */
void es_sha256_hex(const void *data, size_t len, char hex[65]);

/* RFC 3986 percent-encoding as SigV4 wants it (unreserved kept, '/' kept
 * when keep_slash). Returns a malloc'd string or NULL. */
char *es_uri_encode(const char *s, size_t len, bool keep_slash);

/* The SigV4 signing key for secret, date ("YYYYMMDD"), region and service,
 * from the cache when present. Returns ES_OK or an es_status. */
int es_sigv4_signing_key(const char *secret, const char *date, const char *region,
                         const char *service, unsigned char key[32]);

/* Forget cached signing keys (tests; credential rotation). */
void es_sigv4_cache_clear(void);

#endif
