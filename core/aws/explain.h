/* Errors people can act on: a denial names the account, the role or
 * principal and the action and resource it may not use ("account
 * 222222222222, role arn:… cannot do s3:PutObject on BUCKET/KEY"), and an
 * S3 301 names the region the bucket is in. Internal to core/aws (aws.c
 * calls it on every final failure). */
#ifndef ES_EXPLAIN_H
#define ES_EXPLAIN_H

#include "aws.h"

/* Rewrite err's message in place when it is a denial or a redirect.
 * role_arn: the role the client assumes (NULL: none); principal: the
 * caller ARN STS gave for these credentials (NULL: not asked yet). */
void es_aws_explain(const struct es_aws_call *call, const struct es_http_response *resp,
                    const char *role_arn, const char *principal, struct es_error *err);

#endif
