/* Who and where we are: the caller ARN and account from STS, the region and
 * endpoint in use, and where the credentials came from (never the secret). */
#ifndef ES_IDENTITY_H
#define ES_IDENTITY_H

#include <stdbool.h>
#include <time.h>

#include "aws/aws.h"

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

/* Ask STS who the client's credentials belong to. Fields known without a
 * request (region, endpoint, profile, source) are filled even on failure. */
int es_identity_fetch(struct es_aws_client *c, struct es_identity *out);
/* The identity as one JSON object (malloc'd text, caller frees). */
char *es_identity_json(const struct es_identity *id);
void es_identity_free(struct es_identity *id);

#endif
