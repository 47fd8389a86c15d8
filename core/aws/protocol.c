/* Request encoding and error decoding for the query, rest-xml, rest-json and
 * json-1.1 protocols. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"
#include "xml.h"

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int es_form_encode(struct es_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		if (unreserved(*p)) {
			rc = es_buf_putc(b, (char)*p);
		} else if (*p == ' ') {
			rc = es_buf_putc(b, '+');
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = es_buf_append(b, e, 3);
		}
		if (rc)
			return rc;
	}
	return ES_OK;
}

int es_path_encode(struct es_buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			rc = es_buf_putc(b, (char)*p);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = es_buf_append(b, e, 3);
		}
		if (rc)
			return rc;
	}
	return ES_OK;
}

int es_query_start(struct es_buf *b, const char *action, const char *version)
{
	es_buf_reset(b);
	return es_buf_printf(b, "Action=%s&Version=%s", action, version);
}

int es_query_param(struct es_buf *b, const char *key, const char *value)
{
	if (es_buf_putc(b, '&') || es_buf_puts(b, key) || es_buf_putc(b, '='))
		return ES_ENOMEM;
	return es_form_encode(b, value ? value : "");
}

int es_query_paramf(struct es_buf *b, const char *value, const char *keyfmt, ...)
{
	char key[256];
	va_list ap;

	va_start(ap, keyfmt);
	vsnprintf(key, sizeof(key), keyfmt, ap);
	va_end(ap);
	return es_query_param(b, key, value);
}

const char *es_proto_request_id(const struct es_http_response *resp)
{
	static const char *const names[] = {"x-amzn-RequestId", "x-amz-request-id",
	                                    "x-amzn-requestid", "x-amz-cf-id"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = es_http_header(resp, names[i]);
		if (v && *v)
			return v;
	}
	return NULL;
}

/* Keep the AWS message readable on one line and bounded. */
static void set_message(struct es_error *out, const char *msg)
{
	size_t j = 0;

	for (size_t i = 0; msg && msg[i] && j + 1 < sizeof(out->message); i++) {
		unsigned char c = (unsigned char)msg[i];
		out->message[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out->message[j] = '\0';
}

static void from_xml(const struct es_http_response *resp, struct es_error *out)
{
	xmlDoc *doc = es_xml_parse(resp->body.data ? resp->body.data : "", resp->body.len);
	xmlNode *root, *err;
	char *code, *msg, *rid;

	if (!doc)
		return;
	root = xmlDocGetRootElement(doc);
	/* query/CloudFront: <ErrorResponse><Error>…; S3: <Error> at the root. */
	err = strcmp((const char *)root->name, "Error") == 0 ? root : es_xml_find(root, "Error");
	code = es_xml_path_text(err, "Code");
	msg = es_xml_path_text(err, "Message");
	rid = es_xml_path_text(root, "RequestId");
	if (!rid)
		rid = es_xml_path_text(err, "RequestId");
	if (code)
		snprintf(out->code, sizeof(out->code), "%s", code);
	if (msg)
		set_message(out, msg);
	if (rid && !out->request_id[0])
		snprintf(out->request_id, sizeof(out->request_id), "%s", rid);
	free(code);
	free(msg);
	free(rid);
	xmlFreeDoc(doc);
}

/* "aws.protocoltests#FooException:http://..." → "FooException". */
static void set_json_code(struct es_error *out, const char *type)
{
	const char *hash = strrchr(type, '#');
	const char *p = hash ? hash + 1 : type;
	size_t len = strcspn(p, ":");

	if (len >= sizeof(out->code))
		len = sizeof(out->code) - 1;
	memcpy(out->code, p, len);
	out->code[len] = '\0';
}

static void from_json(const struct es_http_response *resp, struct es_error *out)
{
	const char *type = es_http_header(resp, "x-amzn-ErrorType");
	json_t *root = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);

	if (type && *type)
		set_json_code(out, type);
	if (!json_is_object(root)) {
		json_decref(root);
		return;
	}
	const char *t = json_string_value(json_object_get(root, "__type"));
	if (!t)
		t = json_string_value(json_object_get(root, "code"));
	if (!t)
		t = json_string_value(json_object_get(root, "Type"));
	if (t && !out->code[0])
		set_json_code(out, t);
	const char *m = json_string_value(json_object_get(root, "message"));
	if (!m)
		m = json_string_value(json_object_get(root, "Message"));
	if (!m)
		m = json_string_value(json_object_get(root, "errorMessage"));
	if (m)
		set_message(out, m);
	json_decref(root);
}

/* When the body says nothing (HEAD, proxies, truncation), name the status. */
static const char *code_for_status(long status)
{
	switch (status) {
	case 301: return "PermanentRedirect";
	case 304: return "NotModified";
	case 400: return "BadRequest";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 429: return "TooManyRequestsException";
	case 500: return "InternalError";
	case 502: return "BadGateway";
	case 503: return "ServiceUnavailable";
	case 504: return "GatewayTimeout";
	default: return "HttpError";
	}
}

void es_proto_parse_error(enum es_protocol proto, const struct es_http_response *resp,
                          struct es_error *out)
{
	const char *rid = es_proto_request_id(resp);
	struct es_error saved;

	es_error_save(&saved);
	memset(out, 0, sizeof(*out));
	out->status = ES_EAWS;
	out->http_status = resp->status;
	if (rid)
		snprintf(out->request_id, sizeof(out->request_id), "%s", rid);
	if (resp->body.len) {
		/* Trust the body's shape over the protocol: proxies and some
		 * servers answer an XML service with a JSON error, or the reverse. */
		const char *b = resp->body.data;
		while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
			b++;
		bool xml = *b == '<' ||
		           (*b != '{' && (proto == ES_PROTO_QUERY || proto == ES_PROTO_REST_XML));
		if (xml)
			from_xml(resp, out);
		else
			from_json(resp, out);
	} else if (proto == ES_PROTO_REST_JSON || proto == ES_PROTO_JSON) {
		from_json(resp, out);
	}
	if (!out->code[0])
		snprintf(out->code, sizeof(out->code), "%s", code_for_status(resp->status));
	if (!out->message[0]) {
		if (resp->body.len && resp->body.len < 200 && resp->body.data[0] != '<' &&
		    resp->body.data[0] != '{')
			set_message(out, resp->body.data);
		else
			snprintf(out->message, sizeof(out->message),
			         "HTTP %ld with no error message", resp->status);
	}
	es_error_restore(&saved);
}
