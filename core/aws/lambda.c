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

int es_lambda_invoke_call(struct es_aws_call *call, const char *name, const char *payload,
                          long timeout_ms)
{
	int rc = es_aws_call_init(call, "lambda", "Invoke", ES_PROTO_REST_JSON, "POST",
	                          LAMBDA_API "/functions/");

	if (!rc)
		rc = es_path_encode(&call->path, name, false);
	if (!rc)
		rc = es_buf_puts(&call->path, "/invocations");
	if (!rc)
		rc = es_buf_puts(&call->body, payload);
	call->content_type = "application/json";
	call->timeout_ms = timeout_ms;
	return rc;
}

int es_lambda_invoke(struct es_aws_client *c, const char *name, const char *payload,
                     long timeout_ms, struct es_lambda_result *out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	const char *fe;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = es_lambda_invoke_call(&call, name, payload, timeout_ms);
	if (rc) {
		es_aws_call_free(&call);
		return rc;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return rc;
	fe = es_http_header(&resp, "X-Amz-Function-Error");
	out->function_error = fe ? strdup(fe) : NULL;
	out->payload = strndup(resp.body.data ? resp.body.data : "", resp.body.len);
	es_http_response_free(&resp);
	if (!out->payload || (fe && !out->function_error)) {
		es_lambda_result_free(out);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return ES_OK;
}

void es_lambda_result_free(struct es_lambda_result *r)
{
	if (!r)
		return;
	free(r->payload);
	free(r->function_error);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ canary functions
 *
 * GetFunctionConfiguration, CreateFunction, UpdateFunctionCode and
 * UpdateFunctionConfiguration, and the wait for a change to settle: Lambda
 * answers a change at once and applies it meanwhile (State Pending,
 * LastUpdateStatus InProgress), and refuses the next change until then. */

/* How often and how long create and configuration updates wait. */
#define LAMBDA_POLL_MS  1000
#define LAMBDA_SETTLE_S 300

void es_lambda_config_free(struct es_lambda_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->name);
	free(cfg->arn);
	free(cfg->role);
	free(cfg->runtime);
	free(cfg->handler);
	free(cfg->code_sha256);
	free(cfg->version);
	free(cfg->state);
	free(cfg->last_update_status);
	free(cfg->state_reason);
	free(cfg->last_update_reason);
	free(cfg->last_update_reason_code);
	memset(cfg, 0, sizeof(*cfg));
}

int es_lambda_parse_config(const struct json_t *root, struct es_lambda_config *out)
{
	memset(out, 0, sizeof(*out));
	out->name = es_svc_json_str(root, "FunctionName");
	out->arn = es_svc_json_str(root, "FunctionArn");
	out->role = es_svc_json_str(root, "Role");
	out->runtime = es_svc_json_str(root, "Runtime");
	out->handler = es_svc_json_str(root, "Handler");
	out->code_sha256 = es_svc_json_str(root, "CodeSha256");
	out->version = es_svc_json_str(root, "Version");
	out->state = es_svc_json_str(root, "State");
	out->last_update_status = es_svc_json_str(root, "LastUpdateStatus");
	out->state_reason = es_svc_json_str(root, "StateReason");
	out->last_update_reason = es_svc_json_str(root, "LastUpdateStatusReason");
	out->last_update_reason_code = es_svc_json_str(root, "LastUpdateStatusReasonCode");
	out->timeout_s = (int)json_integer_value(json_object_get(root, "Timeout"));
	out->memory_mb = (int)json_integer_value(json_object_get(root, "MemorySize"));
	if (!out->name || !out->arn) {
		es_lambda_config_free(out);
		return es_fail(ES_EPARSE, "the function configuration has no FunctionName or "
		                          "FunctionArn");
	}
	return ES_OK;
}

/* ResourceNotFoundException: the function (or version) is not there. */
static int lambda_not_found_or(int rc)
{
	const struct es_error *e = es_error_last();

	if (rc == ES_EAWS && strcmp(e->code, "ResourceNotFoundException") == 0) {
		struct es_error copy = *e;
		copy.status = ES_ENOTFOUND;
		es_error_restore(&copy);
		return ES_ENOTFOUND;
	}
	return rc;
}

/* Send call (consumed) and read the FunctionConfiguration it answers. */
static int config_exchange(struct es_aws_client *c, struct es_aws_call *call,
                           struct es_lambda_config *out)
{
	json_t *root;
	char op[64];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(op, sizeof(op), "%s", call->operation);
	rc = lambda_not_found_or(es_svc_sync_json(c, call, &root));
	if (rc)
		return rc;
	rc = es_lambda_parse_config(root, out);
	json_decref(root);
	return rc ? es_fail_prefix("%s", op) : ES_OK;
}

/* A rest-json call on /functions/NAME + suffix with body (stolen). */
static int function_call(struct es_aws_call *call, const char *op, const char *method,
                         const char *name, const char *suffix, json_t *body)
{
	char *text = NULL;
	int rc = es_aws_call_init(call, "lambda", op, ES_PROTO_REST_JSON, method,
	                          LAMBDA_API "/functions");

	if (!rc && name)
		rc = es_buf_putc(&call->path, '/') || es_path_encode(&call->path, name, false);
	if (!rc && suffix)
		rc = es_buf_puts(&call->path, suffix);
	if (!rc && body) {
		call->content_type = "application/json";
		text = json_dumps(body, JSON_PRESERVE_ORDER);
		rc = text ? es_buf_puts(&call->body, text) : ES_ENOMEM;
	}
	free(text);
	json_decref(body);
	return rc ? es_fail(ES_ENOMEM, "out of memory") : ES_OK;
}

int es_lambda_get_config(struct es_aws_client *c, const char *name, struct es_lambda_config *out)
{
	struct es_aws_call call;

	memset(out, 0, sizeof(*out));
	if (function_call(&call, "GetFunctionConfiguration", "GET", name, "/configuration", NULL)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return config_exchange(c, &call, out);
}

/* Still changing: Lambda is creating it or applying an update. */
static bool settling(const struct es_lambda_config *cfg)
{
	return (cfg->state && strcmp(cfg->state, "Pending") == 0) ||
	       (cfg->last_update_status && strcmp(cfg->last_update_status, "InProgress") == 0);
}

/* Failed, with Lambda's reason and reason code in the error. */
static int failed(const char *name, const struct es_lambda_config *cfg)
{
	const char *reason = NULL, *code = NULL;

	if (cfg->last_update_status && strcmp(cfg->last_update_status, "Failed") == 0) {
		reason = cfg->last_update_reason;
		code = cfg->last_update_reason_code;
	} else if (cfg->state && strcmp(cfg->state, "Failed") == 0) {
		reason = cfg->state_reason;
	} else {
		return ES_OK;
	}
	es_fail(ES_ERR, "the change to Lambda function %s failed: %s", name,
	        reason && *reason ? reason : "no reason given");
	if (code && *code) {
		struct es_error e;
		es_error_save(&e);
		snprintf(e.code, sizeof(e.code), "%s", code);
		es_error_restore(&e);
	}
	return ES_ERR;
}

/* Wait from cfg (what the change answered) until name settles. */
static int settle(struct es_aws_client *c, const char *name, const struct es_lambda_config *cfg,
                  long poll_ms, long timeout_s)
{
	int64_t deadline;
	struct es_lambda_config now;
	char state[32], update[32];
	int rc;

	if ((rc = failed(name, cfg)) || !settling(cfg))
		return rc;
	snprintf(state, sizeof(state), "%s", cfg->state ? cfg->state : "-");
	snprintf(update, sizeof(update), "%s",
	         cfg->last_update_status ? cfg->last_update_status : "-");
	if (timeout_s <= 0)
		timeout_s = LAMBDA_SETTLE_S;
	deadline = es_loop_now_ms() + (int64_t)timeout_s * 1000;
	for (;;) {
		if (es_loop_now_ms() >= deadline)
			return es_fail(ES_ERR,
			               "Lambda function %s is still being changed after %ld s "
			               "(State %s, LastUpdateStatus %s)",
			               name, timeout_s, state, update);
		es_loop_pause(es_aws_loop(c), poll_ms > 0 ? poll_ms : LAMBDA_POLL_MS);
		rc = es_lambda_get_config(c, name, &now);
		if (rc)
			return es_fail_prefix("waiting for Lambda function %s", name);
		rc = failed(name, &now);
		bool more = settling(&now);
		snprintf(state, sizeof(state), "%s", now.state ? now.state : "-");
		snprintf(update, sizeof(update), "%s",
		         now.last_update_status ? now.last_update_status : "-");
		es_lambda_config_free(&now);
		if (rc || !more)
			return rc;
	}
}

int es_lambda_wait_ready(struct es_aws_client *c, const char *name, long poll_ms, long timeout_s)
{
	struct es_lambda_config cfg;
	int rc = es_lambda_get_config(c, name, &cfg);

	if (rc)
		return rc;
	rc = settle(c, name, &cfg, poll_ms, timeout_s);
	es_lambda_config_free(&cfg);
	return rc;
}

/* The published version's ARN from a Publish: true answer. */
static int version_arn_of(const char *op, const struct es_lambda_config *cfg, char **out)
{
	const char *v = cfg->version;
	const char *arn = cfg->arn;
	int colons = 0;
	const char *q = NULL;

	*out = NULL;
	if (!v || !*v || strcmp(v, "$LATEST") == 0)
		return es_fail(ES_EPARSE, "%s: Lambda published no version of %s", op, cfg->name);
	for (const char *p = arn; *p; p++)
		if (*p == ':' && ++colons == 7)
			q = p + 1;
	if (q && strcmp(q, v) != 0)
		return es_fail(ES_EPARSE, "%s: the answer's ARN %s is not of version %s", op, arn,
		               v);
	if (q) {
		*out = strdup(arn);
	} else {
		struct es_buf b = ES_BUF_INIT;
		if (es_buf_printf(&b, "%s:%s", arn, v) == ES_OK)
			*out = es_buf_steal(&b);
		es_buf_free(&b);
	}
	return *out ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
}

/* Send a change that publishes, wait for it, and name the version. */
static int publish_exchange(struct es_aws_client *c, struct es_aws_call *call, long poll_ms,
                            long timeout_s, char **version_arn)
{
	struct es_lambda_config cfg;
	char op[64];
	int rc;

	*version_arn = NULL;
	snprintf(op, sizeof(op), "%s", call->operation);
	rc = config_exchange(c, call, &cfg);
	if (rc)
		return rc;
	rc = version_arn_of(op, &cfg, version_arn);
	/* The version is what CloudFront will run: wait for it, not $LATEST. */
	if (!rc)
		rc = settle(c, *version_arn, &cfg, poll_ms, timeout_s);
	es_lambda_config_free(&cfg);
	if (rc) {
		free(*version_arn);
		*version_arn = NULL;
	}
	return rc;
}

int es_lambda_create_function_call(struct es_aws_call *call, const char *name,
                                   const struct es_lambda_config *like, const char *s3_bucket,
                                   const char *s3_key)
{
	json_t *body = json_object(), *code = json_object();

	/* Members in botocore's order, as the AWS CLI sends them. */
	json_object_set_new(body, "FunctionName", json_string(name));
	if (like->runtime)
		json_object_set_new(body, "Runtime", json_string(like->runtime));
	if (like->role)
		json_object_set_new(body, "Role", json_string(like->role));
	if (like->handler)
		json_object_set_new(body, "Handler", json_string(like->handler));
	json_object_set_new(code, "S3Bucket", json_string(s3_bucket));
	json_object_set_new(code, "S3Key", json_string(s3_key));
	json_object_set_new(body, "Code", code);
	if (like->timeout_s > 0)
		json_object_set_new(body, "Timeout", json_integer(like->timeout_s));
	if (like->memory_mb > 0)
		json_object_set_new(body, "MemorySize", json_integer(like->memory_mb));
	json_object_set_new(body, "Publish", json_true());
	int rc = function_call(call, "CreateFunction", "POST", NULL, NULL, body);
	call->mutating = true;
	return rc;
}

int es_lambda_update_code_call(struct es_aws_call *call, const char *name, const char *s3_bucket,
                               const char *s3_key)
{
	json_t *body = json_object();

	json_object_set_new(body, "S3Bucket", json_string(s3_bucket));
	json_object_set_new(body, "S3Key", json_string(s3_key));
	json_object_set_new(body, "Publish", json_true());
	int rc = function_call(call, "UpdateFunctionCode", "PUT", name, "/code", body);
	call->mutating = true;
	return rc;
}

int es_lambda_update_config_call(struct es_aws_call *call, const char *name,
                                 const struct es_lambda_config *like)
{
	json_t *body = json_object();

	if (like->role)
		json_object_set_new(body, "Role", json_string(like->role));
	if (like->handler)
		json_object_set_new(body, "Handler", json_string(like->handler));
	if (like->timeout_s > 0)
		json_object_set_new(body, "Timeout", json_integer(like->timeout_s));
	if (like->memory_mb > 0)
		json_object_set_new(body, "MemorySize", json_integer(like->memory_mb));
	if (like->runtime)
		json_object_set_new(body, "Runtime", json_string(like->runtime));
	int rc = function_call(call, "UpdateFunctionConfiguration", "PUT", name, "/configuration",
	                       body);
	call->mutating = true;
	return rc;
}

int es_lambda_create_from(struct es_aws_client *c, const char *name,
                          const struct es_lambda_config *like, const char *s3_bucket,
                          const char *s3_key, char **version_arn)
{
	struct es_aws_call call;

	*version_arn = NULL;
	if (!like->role)
		return es_fail(ES_EINVAL, "CreateFunction %s: no role to copy", name);
	/* Idempotency: the function name; a second create answers
	 * ResourceConflictException and the caller updates instead. */
	if (es_lambda_create_function_call(&call, name, like, s3_bucket, s3_key)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return publish_exchange(c, &call, LAMBDA_POLL_MS, LAMBDA_SETTLE_S, version_arn);
}

int es_lambda_update_code_publish(struct es_aws_client *c, const char *name, const char *s3_bucket,
                                  const char *s3_key, long poll_ms, long timeout_s,
                                  char **version_arn)
{
	struct es_aws_call call;

	*version_arn = NULL;
	/* Idempotency: Lambda publishes no new version when neither code nor
	 * configuration changed since the last one; it answers that one. */
	if (es_lambda_update_code_call(&call, name, s3_bucket, s3_key)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return publish_exchange(c, &call, poll_ms, timeout_s, version_arn);
}

int es_lambda_update_config_like(struct es_aws_client *c, const char *name,
                                 const struct es_lambda_config *like)
{
	struct es_aws_call call;
	struct es_lambda_config cfg;
	int rc;

	/* Idempotency: the whole configuration is set; sending it twice
	 * leaves the same function. */
	if (es_lambda_update_config_call(&call, name, like)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = config_exchange(c, &call, &cfg);
	if (rc)
		return rc;
	/* Lambda refuses the next change (a code update) until this one is in. */
	rc = settle(c, name, &cfg, LAMBDA_POLL_MS, LAMBDA_SETTLE_S);
	es_lambda_config_free(&cfg);
	return rc;
}
