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

#endif
