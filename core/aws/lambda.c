/* Lambda function listing and lookup. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lambda.h"
#include "services.h"

#define LAMBDA_API "/2015-03-31"

int es_lambda_list_functions_call(struct es_aws_call *call, const char *marker)
{
	int rc = es_aws_call_init(call, "lambda", "ListFunctions", ES_PROTO_REST_JSON, "GET",
	                          LAMBDA_API "/functions/");
	if (!rc && marker && *marker) {
		es_buf_puts(&call->query, "Marker=");
		rc = es_path_encode(&call->query, marker, false);
	}
	return rc;
}

int es_lambda_get_function_call(struct es_aws_call *call, const char *name)
{
	int rc = es_aws_call_init(call, "lambda", "GetFunction", ES_PROTO_REST_JSON, "GET",
	                          LAMBDA_API "/functions/");
	return rc ? rc : es_path_encode(&call->path, name, false);
}

int es_lambda_delete_function_call(struct es_aws_call *call, const char *name)
{
	int rc = es_aws_call_init(call, "lambda", "DeleteFunction", ES_PROTO_REST_JSON, "DELETE",
	                          LAMBDA_API "/functions/");
	call->mutating = true;
	return rc ? rc : es_path_encode(&call->path, name, false);
}

void es_lambda_function_list_free(struct es_lambda_function_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].arn);
		free(l->items[i].runtime);
		free(l->items[i].version);
		free(l->items[i].code_sha256);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int es_lambda_parse_function_list(const struct json_t *root, struct es_lambda_function_list *out,
                                  char **marker)
{
	json_t *fn;
	size_t i;

	*marker = NULL;
	json_array_foreach(json_object_get(root, "Functions"), i, fn)
	{
		struct es_lambda_function *f = realloc(out->items, (out->n + 1) * sizeof(*f));
		if (!f)
			return es_fail(ES_ENOMEM, "out of memory");
		out->items = f;
		f = &f[out->n++];
		f->name = es_svc_json_str(fn, "FunctionName");
		f->arn = es_svc_json_str(fn, "FunctionArn");
		f->runtime = es_svc_json_str(fn, "Runtime");
		f->version = es_svc_json_str(fn, "Version");
		f->code_sha256 = es_svc_json_str(fn, "CodeSha256");
	}
	*marker = es_svc_json_str(root, "NextMarker");
	return ES_OK;
}

int es_lambda_list_functions(struct es_aws_client *c, struct es_lambda_function_list *out)
{
	char *marker = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	do {
		struct es_aws_call call;
		json_t *root;

		if (es_lambda_list_functions_call(&call, marker)) {
			es_aws_call_free(&call);
			rc = ES_ENOMEM;
			break;
		}
		free(marker);
		marker = NULL;
		rc = es_svc_sync_json(c, &call, &root);
		if (rc)
			break;
		rc = es_lambda_parse_function_list(root, out, &marker);
		json_decref(root);
	} while (!rc && marker && *marker);
	free(marker);
	if (rc)
		es_lambda_function_list_free(out);
	return rc;
}
