/* Synchronous send-and-parse helpers shared by the service modules. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "services.h"
#include "xml.h"

int es_svc_sync_xml(struct es_aws_client *c, struct es_aws_call *call, xmlDoc **doc)
{
	struct es_http_response resp;
	char op[64];
	int rc;

	*doc = NULL;
	snprintf(op, sizeof(op), "%s", call->operation);
	rc = es_aws_send_sync(c, call, &resp);
	if (rc)
		return rc;
	*doc = es_xml_parse(resp.body.data, resp.body.len);
	es_http_response_free(&resp);
	if (!*doc)
		return es_fail_prefix("%s", op);
	return ES_OK;
}

int es_svc_sync_json(struct es_aws_client *c, struct es_aws_call *call, json_t **root)
{
	struct es_http_response resp;
	json_error_t jerr;
	char op[64];
	int rc;

	*root = NULL;
	snprintf(op, sizeof(op), "%s", call->operation);
	rc = es_aws_send_sync(c, call, &resp);
	if (rc)
		return rc;
	if (resp.body.len == 0)
		*root = json_object();
	else
		*root = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
	es_http_response_free(&resp);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return es_fail(ES_EPARSE, "%s: the answer is not a JSON object", op);
	}
	return ES_OK;
}

int es_svc_json_call(struct es_aws_call *call, const char *service, const char *target_prefix,
                     const char *operation, json_t *body)
{
	char target[128];
	char *text;
	int rc;

	rc = es_aws_call_init(call, service, operation, ES_PROTO_JSON, "POST", "/");
	if (rc)
		goto out;
	call->content_type = "application/x-amz-json-1.1";
	snprintf(target, sizeof(target), "%s.%s", target_prefix, operation);
	rc = es_aws_call_header(call, "X-Amz-Target", target);
	if (rc)
		goto out;
	if (!body)
		body = json_object();
	/* jansson's default separators (", " and ": ") are the AWS CLI's, so
	 * our bodies match its captures byte for byte. */
	text = body ? json_dumps(body, JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		rc = es_fail(ES_ENOMEM, "out of memory");
		goto out;
	}
	rc = es_buf_puts(&call->body, text);
	free(text);
out:
	json_decref(body);
	return rc;
}

char *es_svc_json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? strdup(s) : NULL;
}
