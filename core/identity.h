/* Who and where we are: the caller ARN and account from STS, the region and
 * endpoint in use, and where the credentials came from (never the secret).
 * The caller identity is asked of STS once per client and shared by every
 * part that needs it (dashboard, model, ledger, whoami). */
#ifndef ES_IDENTITY_H
#define ES_IDENTITY_H

#include <stdbool.h>
#include <time.h>

#include "aws/aws.h"
#include "aws/sts.h"

struct es_identity {
	char *arn;
	char *account;
	char *user_id;
	char *profile;
	char region[32];
	char region_source[64];
	char *endpoint; /* STS endpoint URL used */
	char endpoint_source[64];
	char credential_source[160];
	char access_key_hint[24]; /* "AKIA…WXYZ": first 4 and last 4 characters */
	bool temporary;           /* session credentials */
	time_t expiration;        /* 0 when they do not expire */
};

/* An answer to es_identity_get(): on success id (borrowed, valid as long as
 * the client) and err NULL; on failure id NULL and err says why (also left
 * as the last error). */
typedef void (*es_identity_fn)(int rc, const struct es_caller_identity *id,
                               const struct es_error *err, void *ud);

/* The caller identity of c's credentials. At most one GetCallerIdentity is
 * in flight per client: whoever asks meanwhile waits for the same answer,
 * and a success is kept, so later asks cost no request. A failure is told
 * to every waiter and not kept: the next ask sends again. done is called
 * from the loop, never before this returns. */
int es_identity_get(struct es_aws_client *c, es_identity_fn done, void *ud);
/* Forget every ask made with ud (its owner is going away); the request in
 * flight runs on and its answer is still kept. */
void es_identity_cancel(struct es_aws_client *c, void *ud);
/* Tell c who it is, when another client of the same credentials already
 * knows (a background job's client, from its owner's): no request. */
int es_identity_seed(struct es_aws_client *c, const struct es_caller_identity *id);
/* The identity when already known, else NULL; never sends. */
const struct es_caller_identity *es_identity_cached(const struct es_aws_client *c);
/* Blocking form for headless commands: the cached identity, or ask and turn
 * the loop (quietly: no keys) until the answer. *out is borrowed as above. */
int es_identity_wait(struct es_aws_client *c, const struct es_caller_identity **out);

/* whoami: who the client's credentials belong to (through the cache above).
 * Fields known without a request (region, endpoint, profile, source) are
 * filled even on failure. */
int es_identity_fetch(struct es_aws_client *c, struct es_identity *out);
/* The identity as one JSON object (malloc'd text, caller frees). */
char *es_identity_json(const struct es_identity *id);
void es_identity_free(struct es_identity *id);

#endif
