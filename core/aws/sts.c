/* STS GetCallerIdentity and AssumeRole over the query protocol. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sts.h"
#include "xml.h"

#define STS_VERSION "2011-06-15"
#define FORM        "application/x-www-form-urlencoded; charset=utf-8"

static int query_call(struct es_aws_call *call, const char *action)
{
	if (es_aws_call_init(call, "sts", action, ES_PROTO_QUERY, "POST", "/"))
		return ES_ENOMEM;
	call->content_type = FORM;
	return es_query_start(&call->body, action, STS_VERSION);
}

int es_sts_get_caller_identity_call(struct es_aws_call *call)
{
	return query_call(call, "GetCallerIdentity");
}

static xmlNode *result_node(xmlDoc *doc, const char *result)
{
	return es_xml_child(xmlDocGetRootElement(doc), result);
}

int es_sts_parse_caller_identity(const struct es_http_response *resp,
                                 struct es_caller_identity *out)
{
	xmlDoc *doc = es_xml_parse(resp->body.data, resp->body.len);
	xmlNode *r;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("GetCallerIdentity");
	r = result_node(doc, "GetCallerIdentityResult");
	out->arn = es_xml_path_text(r, "Arn");
	out->account = es_xml_path_text(r, "Account");
	out->user_id = es_xml_path_text(r, "UserId");
	xmlFreeDoc(doc);
	if (!out->arn || !out->account) {
		es_caller_identity_free(out);
		return es_fail(ES_EPARSE, "GetCallerIdentity: the answer has no Arn or Account");
	}
	return ES_OK;
}

int es_sts_get_caller_identity(struct es_aws_client *c, struct es_caller_identity *out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (es_sts_get_caller_identity_call(&call)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return rc;
	rc = es_sts_parse_caller_identity(&resp, out);
	es_http_response_free(&resp);
	return rc;
}

void es_caller_identity_free(struct es_caller_identity *id)
{
	if (!id)
		return;
	free(id->arn);
	free(id->account);
	free(id->user_id);
	memset(id, 0, sizeof(*id));
}

int es_sts_assume_role_call(struct es_aws_call *call, const char *role_arn,
                            const char *session_name, const char *external_id,
                            long duration_seconds)
{
	char dur[24];

	if (query_call(call, "AssumeRole"))
		return ES_ENOMEM;
	es_query_param(&call->body, "RoleArn", role_arn);
	es_query_param(&call->body, "RoleSessionName", session_name);
	if (external_id && *external_id)
		es_query_param(&call->body, "ExternalId", external_id);
	if (duration_seconds > 0) {
		snprintf(dur, sizeof(dur), "%ld", duration_seconds);
		es_query_param(&call->body, "DurationSeconds", dur);
	}
	call->mutating = false;
	return ES_OK;
}

/* ISO 8601 "2026-11-27T03:00:00Z" (fractions allowed) to UTC seconds. */
static time_t parse_iso8601(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

int es_sts_parse_credentials(const struct es_http_response *resp, struct es_credentials *out)
{
	xmlDoc *doc = es_xml_parse(resp->body.data, resp->body.len);
	xmlNode *cred;
	char *exp;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("AssumeRole");
	cred = es_xml_find(xmlDocGetRootElement(doc), "Credentials");
	out->access_key_id = es_xml_path_text(cred, "AccessKeyId");
	out->secret_access_key = es_xml_path_text(cred, "SecretAccessKey");
	out->session_token = es_xml_path_text(cred, "SessionToken");
	exp = es_xml_path_text(cred, "Expiration");
	out->expiration = parse_iso8601(exp);
	free(exp);
	xmlFreeDoc(doc);
	if (!out->access_key_id || !out->secret_access_key || !out->session_token) {
		es_credentials_free(out);
		return es_fail(ES_EPARSE, "AssumeRole: the answer carries no credentials");
	}
	return ES_OK;
}

/* One AssumeRole on the loop. */
struct assume {
	struct es_aws_client *client;
	struct es_http_call *http;
	es_assume_role_done_fn done;
	void *ud;
	char role_arn[256];
	char host[256];
};

static void on_assumed(const struct es_http_response *resp, void *ud)
{
	struct assume *a = ud;
	struct es_credentials out = {0};
	struct es_error err;
	int rc;

	if (resp->status == 0) {
		rc = es_fail(ES_ENET, "assuming role %s: cannot reach STS at %s: %s", a->role_arn,
		             a->host, resp->error);
	} else if (resp->status != 200) {
		es_proto_parse_error(ES_PROTO_QUERY, resp, &err);
		es_error_restore(&err);
		rc = es_fail_prefix("assuming role %s", a->role_arn);
	} else {
		rc = es_sts_parse_credentials(resp, &out);
		if (!rc)
			snprintf(out.source, sizeof(out.source), "assume role %s", a->role_arn);
	}
	if (rc)
		es_error_save(&err);
	a->done(rc, rc ? NULL : &out, rc ? &err : NULL, a->ud);
	es_credentials_free(&out);
	free(a);
}

static int assume_start(struct es_aws_client *c, const struct es_credentials *source,
                        const char *role_arn, const char *session_name, const char *external_id,
                        long duration_seconds, es_assume_role_done_fn done, void *ud, void **out)
{
	const struct es_endpoint *ep = es_aws_endpoint(c, "sts");
	struct es_aws_call call;
	struct es_aws_wire w;
	struct assume *a;
	int rc;

	*out = NULL;
	if (!ep)
		return es_fail_prefix("assuming role %s", role_arn);
	if (!(a = calloc(1, sizeof(*a))))
		return es_fail(ES_ENOMEM, "out of memory");
	a->client = c;
	a->done = done;
	a->ud = ud;
	snprintf(a->role_arn, sizeof(a->role_arn), "%s", role_arn);
	snprintf(a->host, sizeof(a->host), "%s", ep->host);
	if (es_sts_assume_role_call(&call, role_arn, session_name, external_id, duration_seconds)) {
		es_aws_call_free(&call);
		free(a);
		return ES_ENOMEM;
	}
	rc = es_aws_prepare(&call, ep, source, time(NULL) + es_aws_clock_offset(c), &w);
	if (rc) {
		es_aws_call_free(&call);
		free(a);
		return rc;
	}
	struct es_http_request req = {
	        .method = "POST",
	        .url = w.url,
	        .headers = (const char *const *)w.headers,
	        .body = w.body,
	        .body_len = w.body_len,
	        .timeout_ms = 15000,
	};
	rc = es_http_send(es_aws_loop(c), &req, on_assumed, a, &a->http);
	es_aws_wire_free(&w);
	es_aws_call_free(&call);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	return ES_OK;
}

static void assume_cancel(struct es_aws_client *c, void *call)
{
	struct assume *a = call;

	if (!a)
		return;
	es_http_cancel(es_aws_loop(c), a->http);
	free(a);
}

const struct es_assume_role_ops es_sts_assume_role = {
        .start = assume_start,
        .cancel = assume_cancel,
};
