/* The AWS credentials chain, in the SDKs' order: environment, the profile
 * (static keys, credential_process, assumed roles), the container endpoint,
 * then EC2 instance metadata (IMDSv2). */
#ifndef ES_CREDENTIALS_H
#define ES_CREDENTIALS_H

#include <stdbool.h>
#include <time.h>

#include "awsconfig.h"

struct es_credentials {
	char *access_key_id;     /* owned */
	char *secret_access_key; /* owned */
	char *session_token;     /* owned; NULL for long-term keys */
	time_t expiration;       /* 0 = does not expire */
	/* Where they came from, for people ("environment", "profile dev (shared
	 * credentials file)", "credential_process (profile ci)", "assume role
	 * arn:… via profile base", "container endpoint", "EC2 instance
	 * metadata"); never a secret. */
	char source[160];
};

/* How a role is assumed: provided by the caller (the STS client lives
 * elsewhere).  source signs the call; out is filled and owned by the caller. */
typedef int (*es_assume_role_fn)(void *ctx, const struct es_credentials *source, const char *region,
                                 const char *role_arn, const char *session_name,
                                 const char *external_id, long duration_seconds,
                                 struct es_credentials *out);

/* A role assumed on top of whatever the chain found (a stage in an account
 * of its own); role_arn NULL: none. */
struct es_cred_role {
	const char *role_arn;
	const char *external_id;  /* NULL: none */
	const char *session_name; /* NULL: edgeship-TIME */
};

struct es_cred_options {
	const char *profile;               /* NULL: $AWS_PROFILE, else "default" */
	const struct es_awsconfig *config; /* NULL: load the default files */
	es_assume_role_fn assume_role;     /* NULL: role profiles fail, saying why */
	void *assume_ctx;
	const char *region;       /* passed to assume_role */
	long metadata_timeout_ms; /* container/IMDS per-attempt timeout; 0 = 1000 */
	long process_timeout_ms;  /* credential_process limit; 0 = 60000 */
	struct es_cred_role role; /* assumed with what the chain found */
};

/* Walk the chain and fill out (which the caller then owns: free it with
 * es_credentials_free()).  Fails with ES_ECREDS and one message naming every
 * source tried when nothing is found; a profile named explicitly (option or
 * $AWS_PROFILE) that does not exist fails at once; a source that is
 * configured but broken (bad credential_process, unreachable container
 * endpoint, …) fails with its own reason.  Messages never hold a secret.
 * Assumed-role credentials are remembered in this process until five
 * minutes before they expire. */
int es_credentials_resolve(const struct es_cred_options *o, struct es_credentials *out);

/* Wipe and free what c owns, leaving it empty; c itself is the caller's. */
void es_credentials_free(struct es_credentials *c);

/* True when c expires within margin_seconds of now (never for keys that do
 * not expire). */
bool es_credentials_expiring(const struct es_credentials *c, time_t now, long margin_seconds);

/* Deep copy: dst must own nothing beforehand and owns the copy after. */
int es_credentials_copy(struct es_credentials *dst, const struct es_credentials *src);

/* Forget every assumed role remembered by es_credentials_resolve(), wiping
 * the secrets (for tests, and when the user switches accounts). */
void es_credentials_cache_clear(void);

#endif
