/* STS: who the credentials belong to, and assuming roles for profiles. */
#ifndef ES_STS_H
#define ES_STS_H

#include "aws.h"
#include "credentials.h"

struct es_caller_identity {
	char *arn;     /* owned */
	char *account; /* owned */
	char *user_id; /* owned */
};

int es_sts_get_caller_identity_call(struct es_aws_call *call);
int es_sts_parse_caller_identity(const struct es_http_response *resp,
                                 struct es_caller_identity *out);
/* Synchronous GetCallerIdentity (headless commands). */
int es_sts_get_caller_identity(struct es_aws_client *c, struct es_caller_identity *out);
void es_caller_identity_free(struct es_caller_identity *id);

/* AssumeRole request signed with `source` (not the client's own
 * credentials); parses the temporary credentials into out. */
int es_sts_assume_role_call(struct es_aws_call *call, const char *role_arn,
                            const char *session_name, const char *external_id,
                            long duration_seconds);
int es_sts_parse_credentials(const struct es_http_response *resp, struct es_credentials *out);

/* AssumeRole for the client's role profiles, sent on its loop (what
 * es_aws_open() wires in). */
extern const struct es_assume_role_ops es_sts_assume_role;

#endif
