/* JSON error reports for headless commands. */
#include "config.h"

#include <jansson.h>

#include "report.h"

char *es_report_error_json(const char *command, const struct es_error *e)
{
	json_t *o = json_object(), *err = json_object();
	char *text;

	if (!o || !err) {
		json_decref(o);
		json_decref(err);
		return NULL;
	}
	json_object_set_new(err, "kind", json_string(es_status_name(e->status)));
	json_object_set_new(err, "http_status",
	                    e->http_status ? json_integer(e->http_status) : json_null());
	json_object_set_new(err, "code", e->code[0] ? json_string(e->code) : json_null());
	json_object_set_new(err, "message", json_string(e->message));
	json_object_set_new(err, "request_id",
	                    e->request_id[0] ? json_string(e->request_id) : json_null());
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "command", json_string(command));
	json_object_set_new(o, "error", err);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

char *es_report_ok_json(const char *command, const char *const *pairs)
{
	json_t *o = json_object();
	char *text;

	if (!o)
		return NULL;
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "command", json_string(command));
	for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
		json_object_set_new(o, pairs[i], json_string(pairs[i + 1]));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
