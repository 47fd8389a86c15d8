/* whoami: STS caller identity plus the local settings that produced it. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "aws/sts.h"

static void key_hint(const char *akid, char out[24])
{
	size_t n = akid ? strlen(akid) : 0;

	if (n < 12)
		snprintf(out, 24, "%s", n ? "****" : "");
	else
		snprintf(out, 24, "%.4s…%s", akid, akid + n - 4);
}

int es_identity_fetch(struct es_aws_client *c, struct es_identity *out)
{
	const struct es_aws_settings *s = es_aws_settings_of(c);
	const struct es_endpoint *ep;
	const struct es_credentials *cr;
	struct es_caller_identity ci;
	int rc;

	memset(out, 0, sizeof(*out));
	out->profile = strdup(s->profile ? s->profile : "default");
	snprintf(out->region, sizeof(out->region), "%s", es_aws_region(c));
	snprintf(out->region_source, sizeof(out->region_source), "%s",
	         s->region ? s->region_source : "default (us-east-1)");
	ep = es_aws_endpoint(c, "sts");
	if (!ep)
		return es_error_last()->status ? es_error_last()->status : ES_ECONFIG;
	out->endpoint = strdup(ep->url);
	snprintf(out->endpoint_source, sizeof(out->endpoint_source), "%s", ep->source);
	cr = es_aws_credentials(c);
	if (!cr)
		return es_error_last()->status ? es_error_last()->status : ES_ECREDS;
	snprintf(out->credential_source, sizeof(out->credential_source), "%s", cr->source);
	key_hint(cr->access_key_id, out->access_key_hint);
	out->temporary = cr->session_token && *cr->session_token;
	out->expiration = cr->expiration;
	rc = es_sts_get_caller_identity(c, &ci);
	if (rc)
		return rc;
	out->arn = ci.arn;
	out->account = ci.account;
	out->user_id = ci.user_id;
	return ES_OK;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

char *es_identity_json(const struct es_identity *id)
{
	json_t *o = json_object();
	char exp[32] = "";
	char *text;

	if (!o)
		return NULL;
	if (id->expiration) {
		struct tm tm;
		gmtime_r(&id->expiration, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	json_object_set_new(o, "arn", str_or_null(id->arn));
	json_object_set_new(o, "account", str_or_null(id->account));
	json_object_set_new(o, "user_id", str_or_null(id->user_id));
	json_object_set_new(o, "profile", str_or_null(id->profile));
	json_object_set_new(o, "region", str_or_null(id->region));
	json_object_set_new(o, "region_source", str_or_null(id->region_source));
	json_object_set_new(o, "endpoint", str_or_null(id->endpoint));
	json_object_set_new(o, "endpoint_source", str_or_null(id->endpoint_source));
	json_object_set_new(o, "credential_source", str_or_null(id->credential_source));
	json_object_set_new(o, "access_key", str_or_null(id->access_key_hint));
	json_object_set_new(o, "temporary", json_boolean(id->temporary));
	json_object_set_new(o, "expiration", str_or_null(exp));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

void es_identity_free(struct es_identity *id)
{
	if (!id)
		return;
	free(id->arn);
	free(id->account);
	free(id->user_id);
	free(id->profile);
	free(id->endpoint);
	memset(id, 0, sizeof(*id));
}
