/* CodePipeline calls for interoperating with an existing classic pipeline. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "codepipeline.h"
#include "services.h"

int es_codepipeline_list_pipelines_call(struct es_aws_call *call, const char *next_token)
{
	json_t *body = json_object();

	if (body && next_token && *next_token)
		json_object_set_new(body, "nextToken", json_string(next_token));
	return es_svc_json_call(call, "codepipeline", ES_CODEPIPELINE_TARGET, "ListPipelines",
	                        body);
}

int es_codepipeline_get_pipeline_state_call(struct es_aws_call *call, const char *name)
{
	json_t *body = json_pack("{s:s}", "name", name);

	return es_svc_json_call(call, "codepipeline", ES_CODEPIPELINE_TARGET, "GetPipelineState",
	                        body);
}

int es_codepipeline_parse_pipelines(const struct json_t *root, char ***names, size_t *n,
                                    char **token)
{
	json_t *p;
	size_t i;

	*token = NULL;
	json_array_foreach(json_object_get(root, "pipelines"), i, p)
	{
		char **v = realloc(*names, (*n + 1) * sizeof(*v));
		if (!v)
			return es_fail(ES_ENOMEM, "out of memory");
		*names = v;
		v[*n] = es_svc_json_str(p, "name");
		if (v[*n])
			(*n)++;
	}
	*token = es_svc_json_str(root, "nextToken");
	return ES_OK;
}

int es_codepipeline_list_pipelines(struct es_aws_client *c, char ***names, size_t *n)
{
	char *token = NULL;
	int rc;

	*names = NULL;
	*n = 0;
	do {
		struct es_aws_call call;
		json_t *root;

		rc = es_codepipeline_list_pipelines_call(&call, token);
		free(token);
		token = NULL;
		if (rc) {
			es_aws_call_free(&call);
			break;
		}
		rc = es_svc_sync_json(c, &call, &root);
		if (rc)
			break;
		rc = es_codepipeline_parse_pipelines(root, names, n, &token);
		json_decref(root);
	} while (!rc && token && *token);
	free(token);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

/* The calls that change a pipeline's executions. */
static bool mutating_op(const char *op)
{
	static const char *const ops[] = {"StartPipelineExecution", "StopPipelineExecution",
	                                  "RetryStageExecution", "PutApprovalResult"};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i]) == 0)
			return true;
	return false;
}

int es_codepipeline_call(struct es_aws_call *call, const char *operation, json_t *body)
{
	int rc = es_svc_json_call(call, "codepipeline", ES_CODEPIPELINE_TARGET, operation, body);

	if (!rc)
		call->mutating = mutating_op(operation);
	return rc;
}

int es_codepipeline_sync(struct es_aws_client *c, const char *operation, json_t *body,
                         json_t **root)
{
	struct es_aws_call call;
	int rc = es_codepipeline_call(&call, operation, body);

	*root = NULL;
	if (rc) {
		es_aws_call_free(&call);
		return rc;
	}
	return es_svc_sync_json(c, &call, root);
}
