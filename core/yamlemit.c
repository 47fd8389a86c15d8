/* JSON into YAML with libyaml's emitter: the emitter decides how a string
 * must be quoted to stay valid; we only keep it from writing plain a string
 * that a YAML 1.1 reader (the AWS CLI, CloudFormation) would type as a
 * number, a boolean or null. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "base/buf.h"
#include "base/error.h"
#include "yamlemit.h"

#define MAX_DEPTH 64

static int write_out(void *data, unsigned char *buffer, size_t size)
{
	return es_buf_append(data, buffer, size) == ES_OK;
}

/* Plain only for text that cannot be read as another type: starting with a
 * letter, of a few punctuation marks (so "arn:aws:…", "Fn::Sub" and
 * "index.handler" stay readable), and none of YAML 1.1's boolean and null
 * words. Everything else is quoted, and the emitter picks the quoting. */
static bool plain_is_safe(const char *s)
{
	static const char *const words[] = {"y",   "n",    "yes",   "no",   "on",
	                                    "off", "true", "false", "null", "nan"};

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		          (*p >= '0' && *p <= '9') || strchr("-_./:@", *p);
		if (!ok || (p[0] == ':' && p[1] == '\0'))
			return false;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

static int scalar(yaml_emitter_t *e, const char *text, bool is_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	int plain = 1;

	if (is_string && !plain_is_safe(text)) {
		plain = 0;
		if (strchr(text, '\n'))
			style = YAML_LITERAL_SCALAR_STYLE;
	}
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
	                                  plain, 1, style))
		return es_fail(ES_ENOMEM, "out of memory");
	return yaml_emitter_emit(e, &ev) ? ES_OK : ES_ERR;
}

static int node(yaml_emitter_t *e, const json_t *v, int depth)
{
	yaml_event_t ev;
	char num[64];
	int rc;

	if (depth > MAX_DEPTH)
		return es_fail(ES_EINVAL, "value nested deeper than %d levels", MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *item;
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return ES_ERR;
		json_object_foreach((json_t *)v, k, item)
		{
			if ((rc = scalar(e, k, true)) || (rc = node(e, item, depth + 1)))
				return rc;
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? ES_OK : ES_ERR;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *item;
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return ES_ERR;
		json_array_foreach((json_t *)v, i, item)
		{
			if ((rc = node(e, item, depth + 1)))
				return rc;
		}
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? ES_OK : ES_ERR;
	}
	case JSON_STRING: return scalar(e, json_string_value(v), true);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return scalar(e, num, false);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return scalar(e, num, false);
	case JSON_TRUE: return scalar(e, "true", false);
	case JSON_FALSE: return scalar(e, "false", false);
	case JSON_NULL: return scalar(e, "null", false);
	}
	return es_fail(ES_EINVAL, "unknown JSON type");
}

int es_yaml_emit(const json_t *v, char **out)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	struct es_buf b = ES_BUF_INIT;
	int rc = ES_ERR;

	*out = NULL;
	if (!yaml_emitter_initialize(&e))
		return es_fail(ES_ENOMEM, "out of memory");
	yaml_emitter_set_output(&e, write_out, &b);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	yaml_emitter_set_width(&e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&e, &ev))
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&e, &ev))
		goto out;
	if ((rc = node(&e, v, 0)))
		goto out;
	rc = ES_ERR;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&e, &ev))
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&e, &ev) || !yaml_emitter_flush(&e))
		goto out;
	*out = es_buf_steal(&b);
	rc = *out ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
out:
	if (rc && rc != ES_ENOMEM && rc != ES_EINVAL)
		rc = es_fail(ES_ERR, "writing YAML: %s",
		             e.problem ? e.problem : "the emitter refused a value");
	yaml_emitter_delete(&e);
	es_buf_free(&b);
	return rc;
}
