/* CodePipeline over json-1.1 (CodePipeline_20150709). */
#ifndef ES_CODEPIPELINE_H
#define ES_CODEPIPELINE_H

#include <stddef.h>

#include "aws.h"

struct json_t; /* jansson's */

#define ES_CODEPIPELINE_TARGET "CodePipeline_20150709"

int es_codepipeline_list_pipelines_call(struct es_aws_call *call, const char *next_token);
int es_codepipeline_get_pipeline_state_call(struct es_aws_call *call, const char *name);

/* Add the pipeline names of one ListPipelines answer to *names and *n (the
 * caller frees them, also on failure); *token (malloc'd) names the next
 * page, or is NULL. */
int es_codepipeline_parse_pipelines(const struct json_t *root, char ***names, size_t *n,
                                    char **token);

/* Names of all pipelines (caller frees each and the array). */
int es_codepipeline_list_pipelines(struct es_aws_client *c, char ***names, size_t *n);

/* Any CodePipeline operation with body (stolen); Start/Stop/Retry and
 * PutApprovalResult are marked mutating. */
int es_codepipeline_call(struct es_aws_call *call, const char *operation, struct json_t *body);
/* The same, sent synchronously: *root is the answer (caller decrefs). */
int es_codepipeline_sync(struct es_aws_client *c, const char *operation, struct json_t *body,
                         struct json_t **root);

#endif
