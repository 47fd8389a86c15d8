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

#endif
