/* Lambda over rest-json (API 2015-03-31). */
#ifndef ES_LAMBDA_H
#define ES_LAMBDA_H

#include <stddef.h>

#include "aws.h"

struct json_t; /* jansson's */

struct es_lambda_function {
	char *name;
	char *arn;
	char *runtime;
	char *version;
	char *code_sha256;
};

struct es_lambda_function_list {
	struct es_lambda_function *items;
	size_t n;
};

int es_lambda_list_functions_call(struct es_aws_call *call, const char *marker);
int es_lambda_get_function_call(struct es_aws_call *call, const char *name);
/* DeleteFunction of name without a qualifier: the function and every version. */
int es_lambda_delete_function_call(struct es_aws_call *call, const char *name);
/* Add the functions of one ListFunctions answer to out (free with
 * es_lambda_function_list_free even on failure); *marker (malloc'd) names
 * the next page, or is NULL. */
int es_lambda_parse_function_list(const struct json_t *root, struct es_lambda_function_list *out,
                                  char **marker);
/* All functions, following NextMarker pages. */
int es_lambda_list_functions(struct es_aws_client *c, struct es_lambda_function_list *out);
void es_lambda_function_list_free(struct es_lambda_function_list *l);

/* What Invoke (RequestResponse) answered: the payload, and the
 * X-Amz-Function-Error header ("Unhandled") when the function failed. */
struct es_lambda_result {
	char *payload;        /* the function's result (JSON text), or its error */
	char *function_error; /* NULL when the function returned */
};

/* POST /functions/NAME/invocations with payload (JSON text). */
int es_lambda_invoke_call(struct es_aws_call *call, const char *name, const char *payload,
                          long timeout_ms);
/* Invoke name synchronously; ES_OK when Lambda answered (even with a
 * function error: see out->function_error). Free out with
 * es_lambda_result_free. */
int es_lambda_invoke(struct es_aws_client *c, const char *name, const char *payload,
                     long timeout_ms, struct es_lambda_result *out);
void es_lambda_result_free(struct es_lambda_result *r);

/* A function's configuration, as GetFunctionConfiguration answers. */
struct es_lambda_config {
	char *name;
	char *arn;
	char *role;
	char *runtime;
	char *handler;
	char *code_sha256;
	char *version;            /* "$LATEST" or the version number */
	char *state;              /* Pending | Active | Inactive | Failed */
	char *last_update_status; /* InProgress | Successful | Failed */
	char *state_reason;
	char *last_update_reason;      /* LastUpdateStatusReason */
	char *last_update_reason_code; /* LastUpdateStatusReasonCode */
	int timeout_s;
	int memory_mb;
};

/* Read a FunctionConfiguration answer (GetFunctionConfiguration and the
 * changes that answer one); ES_EPARSE without FunctionName or FunctionArn. */
int es_lambda_parse_config(const struct json_t *root, struct es_lambda_config *out);
/* GetFunctionConfiguration of name (or a version ARN) until it is neither
 * Pending nor InProgress (poll_ms apart, at most timeout_s); ES_ERR when
 * the change Failed, the error carrying Lambda's reason (and its reason
 * code as the error code). */
int es_lambda_wait_ready(struct es_aws_client *c, const char *name, long poll_ms, long timeout_s);
/* GetFunctionConfiguration of name (or name:qualifier); ES_ENOTFOUND when
 * there is no such function. */
int es_lambda_get_config(struct es_aws_client *c, const char *name, struct es_lambda_config *out);
/* CreateFunction from code in S3 (us-east-1 for Lambda@Edge) with Publish:
 * true, copying role, runtime, handler, timeout and memory from like;
 * *version_arn (malloc'd) is the published version's ARN, returned once
 * that version is no longer Pending (checked every second, at most 5 min). */
int es_lambda_create_from(struct es_aws_client *c, const char *name,
                          const struct es_lambda_config *like, const char *s3_bucket,
                          const char *s3_key, char **version_arn);
/* UpdateFunctionCode from S3 with Publish: true; waits while the function's
 * LastUpdateStatus is InProgress (poll_ms apart, at most timeout_s); the
 * published version's ARN in *version_arn (malloc'd). */
int es_lambda_update_code_publish(struct es_aws_client *c, const char *name, const char *s3_bucket,
                                  const char *s3_key, long poll_ms, long timeout_s,
                                  char **version_arn);
/* UpdateFunctionConfiguration of role, runtime, handler, timeout and memory
 * to like's; returns once the update is in (Lambda refuses a code update
 * meanwhile), checked every second, at most 5 min. */
int es_lambda_update_config_like(struct es_aws_client *c, const char *name,
                                 const struct es_lambda_config *like);
void es_lambda_config_free(struct es_lambda_config *cfg);

/* The requests of the three changes above, built but not sent, marked
 * mutating (aws.h): JSON bodies in botocore's member order, Publish true
 * where it applies. */
int es_lambda_create_function_call(struct es_aws_call *call, const char *name,
                                   const struct es_lambda_config *like, const char *s3_bucket,
                                   const char *s3_key);
int es_lambda_update_code_call(struct es_aws_call *call, const char *name, const char *s3_bucket,
                               const char *s3_key);
int es_lambda_update_config_call(struct es_aws_call *call, const char *name,
                                 const struct es_lambda_config *like);

#endif
