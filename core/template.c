/* Template reading: libyaml's event stream built into jansson values, with
 * CloudFormation's short-form tags expanded and YAML 1.1 scalar typing as the
 * AWS CLI applies it, so what we deploy is what `package` would have sent. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/buf.h"
#include "base/error.h"
#include "template.h"

#define MAX_DEPTH 512
/* Alias expansion budgets ("billion laughs"): nested aliases multiply, so a
 * few kilobytes of YAML can stand for gigabytes. Bytes are what bound the
 * memory, since one value may be a long string; values bound the count of
 * small ones. Both are far beyond CloudFormation's own 1 MB template limit. */
#define MAX_BYTES     (16u << 20)
#define MAX_BYTES_TXT "16 MB"
#define MAX_NODES     4000000

struct yp {
	yaml_parser_t parser;
	const char *text;
	size_t len;
	const char *file;
	json_t *anchors;  /* anchor name → [finished value, its values, its bytes] */
	size_t nodes;     /* values built so far, aliases counted in full */
	size_t bytes;     /* about the compact JSON of those values */
	json_t *lines;    /* JSON pointer → line, when the caller asked for lines */
	struct es_buf at; /* JSON pointer of the value being built */
};

/* A short form !Name is {"Fn::Name": …}, except the two CloudFormation
 * writes without the prefix; any local tag is taken, as the AWS CLI's
 * yamlhelper does, so functions added later (!Length, !ToJsonString) need
 * no change here. */
static const char *const unprefixed[] = {"Ref", "Condition"};

#define TAG_STR  "tag:yaml.org,2002:str"
#define TAG_INT  "tag:yaml.org,2002:int"
#define TAG_FLT  "tag:yaml.org,2002:float"
#define TAG_BOOL "tag:yaml.org,2002:bool"
#define TAG_NULL "tag:yaml.org,2002:null"
#define TAG_MAP  "tag:yaml.org,2002:map"
#define TAG_SEQ  "tag:yaml.org,2002:seq"

static int fail_at(const struct yp *p, yaml_mark_t m, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail_at(const struct yp *p, yaml_mark_t m, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return es_fail(ES_EPARSE, "%s:%zu:%zu: %s", p->file, m.line + 1, m.column + 1, what);
}

/* Byte offset where 0-based line starts, or len when there is no such line. */
static size_t line_start(const struct yp *p, size_t line)
{
	size_t off = 0;

	while (line > 0 && off < p->len) {
		const char *nl = memchr(p->text + off, '\n', p->len - off);
		if (!nl)
			return p->len;
		off = (size_t)(nl - p->text) + 1;
		line--;
	}
	return off;
}

/* libyaml says "found character that cannot start any token" for a tab in
 * indentation; people need to hear it was a tab, and where. */
static bool tab_in_indent(const struct yp *p, size_t line, size_t *column)
{
	size_t off = line_start(p, line);

	for (size_t i = off; i < p->len && (p->text[i] == ' ' || p->text[i] == '\t'); i++) {
		if (p->text[i] == '\t') {
			*column = i - off;
			return true;
		}
	}
	return false;
}

static int parser_failed(struct yp *p)
{
	const yaml_parser_t *y = &p->parser;
	yaml_mark_t m = y->problem_mark;
	size_t col;

	if (y->error == YAML_MEMORY_ERROR)
		return es_fail(ES_ENOMEM, "%s: out of memory while parsing", p->file);
	if (y->error == YAML_READER_ERROR) {
		/* Only a byte offset is known: turn it into line and column. */
		size_t off = y->problem_offset < p->len ? y->problem_offset : p->len;
		m.line = m.column = 0;
		for (size_t i = 0; i < off; i++) {
			if (p->text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
		return fail_at(p, m, "%s", y->problem ? y->problem : "unreadable text");
	}
	if (tab_in_indent(p, m.line, &col)) {
		m.column = col;
		return fail_at(p, m, "tab character in indentation; YAML indents with spaces only");
	}
	if (y->context)
		return fail_at(p, m, "%s (%s at line %zu)",
		               y->problem ? y->problem : "syntax error", y->context,
		               y->context_mark.line + 1);
	return fail_at(p, m, "%s", y->problem ? y->problem : "syntax error");
}

static int next_event(struct yp *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->parser, ev))
		return parser_failed(p);
	return ES_OK;
}

/* ------------------------------------------------------------ scalar typing */

static bool one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}

static size_t span(const char *s, const char *set)
{
	return strspn(s, set);
}

/* Copy of s without the '_' digit separators YAML 1.1 allows. */
static void strip_underscores(const char *s, char *dst, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		if (*s != '_')
			dst[n++] = *s;
	dst[n] = '\0';
}

/* Base-60 digits "[0-5]?[0-9]" after each ':', as in 1:30:00. */
static bool sexagesimal_tail(const char *s, const char **end)
{
	bool any = false;

	while (*s == ':') {
		s++;
		if (s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9')
			s += 2;
		else if (s[0] >= '0' && s[0] <= '9')
			s += 1;
		else
			return false;
		any = true;
	}
	*end = s;
	return any;
}

/* Sum of ':'-separated parts in base 60. */
static double base60(const char *clean)
{
	double v = 0;
	const char *s = clean;

	for (;;) {
		char *end;
		double part = strtod(s, &end);
		v = v * 60 + part;
		if (*end != ':')
			return v;
		s = end + 1;
	}
}

/* PyYAML's YAML 1.1 int resolver, with its sign, base and separator rules. */
static json_t *plain_int(const char *s)
{
	const char *d = s + (*s == '-' || *s == '+');
	const char *end;
	char clean[128], *stop;
	int base = 10;
	bool neg = *s == '-';

	if (strlen(s) >= sizeof(clean))
		return NULL;
	if (d[0] == '0' && d[1] == 'b' && d[2] && !d[2 + span(d + 2, "01_")])
		base = 2, d += 2;
	else if (d[0] == '0' && d[1] == 'x' && d[2] &&
	         !d[2 + span(d + 2, "0123456789abcdefABCDEF_")])
		base = 16, d += 2;
	else if (d[0] == '0' && d[1] && !d[1 + span(d + 1, "01234567_")])
		base = 8;
	else if (d[0] == '0' && !d[1])
		return json_integer(0);
	else if (d[0] >= '1' && d[0] <= '9') {
		const char *t = d + 1 + span(d + 1, "0123456789_");
		if (*t == ':') {
			if (!sexagesimal_tail(t, &end) || *end)
				return NULL;
			strip_underscores(d, clean, sizeof(clean));
			double v = base60(clean);
			if (v > 9.2e18)
				return NULL;
			return json_integer(neg ? -(json_int_t)v : (json_int_t)v);
		}
		if (*t)
			return NULL;
	} else {
		return NULL;
	}
	strip_underscores(d, clean, sizeof(clean));
	if (!clean[0])
		return NULL;
	errno = 0;
	unsigned long long u = strtoull(clean, &stop, base);
	if (errno || *stop || u > (unsigned long long)INT64_MAX + (neg ? 1u : 0u))
		return NULL; /* beyond 64 bits: kept as text */
	return json_integer(neg ? (json_int_t)(0 - u) : (json_int_t)u);
}

/* PyYAML's YAML 1.1 float resolver: a dot is required, an exponent needs a
 * sign ("1.0e+5"), and "1:30.5" is base 60. .inf and .nan stay text. */
static json_t *plain_float(const char *s)
{
	const char *d = s + (*s == '-' || *s == '+');
	const char *t;
	char clean[128];

	if (strlen(s) >= sizeof(clean))
		return NULL;
	if (d[0] >= '0' && d[0] <= '9') {
		t = d + span(d, "0123456789_");
		if (*t == ':') {
			if (!sexagesimal_tail(t, &t) || *t != '.' ||
			    t[1 + span(t + 1, "0123456789_")])
				return NULL;
			strip_underscores(d, clean, sizeof(clean));
			double v = base60(clean);
			return json_real(*s == '-' ? -v : v);
		}
		if (*t != '.')
			return NULL;
		t++;
	} else if (d[0] == '.' && d == s && d[1] && strchr("0123456789_", d[1])) {
		t = d + 1;
	} else {
		return NULL;
	}
	t += span(t, "0123456789_");
	if ((*t == 'e' || *t == 'E') && (t[1] == '+' || t[1] == '-') && t[2]) {
		t += 2;
		if (t[span(t, "0123456789")])
			return NULL;
	} else if (*t) {
		return NULL;
	}
	strip_underscores(s, clean, sizeof(clean));
	char *end;
	double v = strtod(clean, &end);
	if (*end)
		return NULL;
	return json_real(v);
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", "yes", "Yes",
                                         "YES",  "on",   "On",   "ON",  NULL};
static const char *const false_words[] = {"false", "False", "FALSE", "no",  "No",
                                          "NO",    "off",   "Off",   "OFF", NULL};

/* The value of a plain scalar, or NULL when it is not of the kind asked
 * (tag) or, for implicit typing (tag NULL), when it is simply a string. */
static json_t *typed_scalar(const char *s, const char *tag)
{
	json_t *v;

	if ((!tag || !strcmp(tag, TAG_NULL)) && one_of(s, null_words))
		return json_null();
	if (!tag || !strcmp(tag, TAG_BOOL)) {
		if (one_of(s, true_words))
			return json_true();
		if (one_of(s, false_words))
			return json_false();
	}
	if ((!tag || !strcmp(tag, TAG_INT)) && (v = plain_int(s)))
		return v;
	if ((!tag || !strcmp(tag, TAG_FLT)) && (v = plain_float(s)))
		return v;
	if (tag && !strcmp(tag, TAG_FLT) && (v = plain_int(s))) {
		double r = (double)json_integer_value(v);
		json_decref(v);
		return json_real(r);
	}
	return NULL;
}

/* ------------------------------------------------------------ tags */

static int unknown_tag(const struct yp *p, yaml_mark_t m, const char *tag)
{
	return fail_at(p, m,
	               "unknown tag %s: only CloudFormation's short forms (!Ref, !Sub, "
	               "!GetAtt, …) and YAML's own !!str, !!int, !!float, !!bool, !!null are "
	               "read",
	               tag);
}

/* The long-form key of a local tag ("!Sub" → "Fn::Sub") into key, or false
 * when tag is not a local tag (a URI, "!!…", or a bare "!"). */
static bool short_form(const char *tag, char *key, size_t len)
{
	if (tag[0] != '!' || !tag[1] || tag[1] == '!' || strlen(tag) + 4 > len)
		return false;
	for (size_t i = 0; i < sizeof(unprefixed) / sizeof(unprefixed[0]); i++) {
		if (!strcmp(tag + 1, unprefixed[i])) {
			snprintf(key, len, "%s", tag + 1);
			return true;
		}
	}
	snprintf(key, len, "Fn::%s", tag + 1);
	return true;
}

/* Wrap v as {"Fn::X": v}; takes v's reference. */
static json_t *wrap(const char *key, json_t *v)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, key, v)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "Res.Attr.Sub" → ["Res", "Attr.Sub"]: CloudFormation splits at the first dot. */
static json_t *getatt_pair(const char *s)
{
	const char *dot = strchr(s, '.');

	if (!dot || dot == s || !dot[1])
		return NULL;
	return json_pack("[s#s]", s, (int)(dot - s), dot + 1);
}

/* ------------------------------------------------------------ line numbers */

/* Descend into key (escaped as RFC 6901 says) or, with key NULL, list item
 * index; returns the length to go back to with leave(). */
static size_t enter(struct yp *p, const char *key, size_t index)
{
	size_t was = p->at.len;

	if (!p->lines)
		return was;
	es_buf_puts(&p->at, "/");
	if (!key) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", index);
		es_buf_puts(&p->at, n);
		return was;
	}
	for (const char *c = key; *c; c++) {
		if (*c == '~')
			es_buf_puts(&p->at, "~0");
		else if (*c == '/')
			es_buf_puts(&p->at, "~1");
		else
			es_buf_append(&p->at, c, 1);
	}
	return was;
}

static void leave(struct yp *p, size_t was)
{
	if (p->lines && p->at.data) {
		p->at.len = was;
		p->at.data[was] = '\0';
	}
}

/* Remember where the value at the current pointer is written. */
static void mark_line(struct yp *p, yaml_mark_t m)
{
	if (p->lines)
		json_object_set_new(p->lines, es_buf_str(&p->at),
		                    json_integer((json_int_t)m.line + 1));
}

/* ------------------------------------------------------------ building */

static int load_node(struct yp *p, yaml_event_t *ev, int depth, json_t **out);

/* Keep an anchored value with what it cost to build, so that each alias of
 * it is charged in full without walking the copy. */
static void remember(struct yp *p, const char *anchor, json_t *v, size_t nodes, size_t bytes)
{
	json_object_set_new(p->anchors, anchor,
	                    json_pack("[O,I,I]", v, (json_int_t)nodes, (json_int_t)bytes));
}

static int load_scalar(struct yp *p, yaml_event_t *ev, json_t **out)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	json_t *v = NULL;
	char key[256];

	if (strlen(s) != ev->data.scalar.length)
		return fail_at(p, ev->start_mark, "NUL character in a value");
	if (!tag && plain && ev->data.scalar.plain_implicit)
		v = typed_scalar(s, NULL);
	else if (tag && (!strcmp(tag, TAG_INT) || !strcmp(tag, TAG_FLT) || !strcmp(tag, TAG_BOOL) ||
	                 !strcmp(tag, TAG_NULL))) {
		if (!(v = typed_scalar(s, tag)))
			return fail_at(p, ev->start_mark, "\"%s\" is not a valid %s", s, tag + 18);
	} else if (tag && strcmp(tag, TAG_STR) && strcmp(tag, "!") &&
	           !short_form(tag, key, sizeof(key))) {
		return unknown_tag(p, ev->start_mark, tag);
	}
	if (!v)
		v = json_stringn(s, ev->data.scalar.length);
	if (!v)
		return fail_at(p, ev->start_mark, "text is not valid UTF-8");
	*out = v;
	return ES_OK;
}

static int load_sequence(struct yp *p, yaml_event_t *start, int depth, json_t **out)
{
	json_t *arr = json_array();
	yaml_event_t ev;
	int rc;

	for (;;) {
		json_t *item;
		size_t was;
		if ((rc = next_event(p, &ev)))
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			*out = arr;
			return ES_OK;
		}
		was = enter(p, NULL, json_array_size(arr));
		mark_line(p, ev.start_mark);
		rc = load_node(p, &ev, depth + 1, &item);
		leave(p, was);
		yaml_event_delete(&ev);
		if (rc)
			goto fail;
		json_array_append_new(arr, item);
		p->bytes++; /* the comma */
	}
fail:
	json_decref(arr);
	return rc;
}

/* Fold one merge source (a mapping, or a list of them, earlier ones winning)
 * into merged, copying so the tree never shares a node. */
static int merge_into(struct yp *p, json_t *merged, json_t *src, yaml_mark_t m)
{
	const char *k;
	json_t *v;

	if (json_is_array(src)) {
		for (size_t i = json_array_size(src); i-- > 0;)
			if (!json_is_object(json_array_get(src, i)))
				return fail_at(p, m, "a merge key (<<) takes mappings only");
		for (size_t i = json_array_size(src); i-- > 0;)
			merge_into(p, merged, json_array_get(src, i), m);
		return ES_OK;
	}
	if (!json_is_object(src))
		return fail_at(p, m, "a merge key (<<) takes a mapping or a list of mappings");
	json_object_foreach(src, k, v) json_object_set_new(merged, k, json_deep_copy(v));
	return ES_OK;
}

static int load_mapping(struct yp *p, int depth, json_t **out)
{
	json_t *obj = json_object(), *lines = json_object(), *merged = NULL;
	yaml_event_t ev;
	int rc;

	for (;;) {
		json_t *value, *seen;
		char *key;
		yaml_mark_t km;
		bool merge;

		if ((rc = next_event(p, &ev)))
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		km = ev.start_mark;
		if (ev.type != YAML_SCALAR_EVENT ||
		    (ev.data.scalar.tag && strcmp((char *)ev.data.scalar.tag, TAG_STR))) {
			yaml_event_delete(&ev);
			rc = fail_at(p, km, "a mapping key must be plain text");
			goto fail;
		}
		merge = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		        !strcmp((char *)ev.data.scalar.value, "<<");
		if (ev.data.scalar.anchor) {
			json_t *k = json_string((char *)ev.data.scalar.value);
			remember(p, (char *)ev.data.scalar.anchor, k, 1, ev.data.scalar.length + 2);
			json_decref(k);
		}
		key = strdup((char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
		if (!key) {
			rc = es_fail(ES_ENOMEM, "out of memory");
			goto fail;
		}
		p->bytes += strlen(key) + 4; /* "key": and a comma */
		if ((seen = json_object_get(lines, key))) {
			rc = fail_at(p, km, "duplicate key \"%s\" (first at line %lld)", key,
			             (long long)json_integer_value(seen));
			free(key);
			goto fail;
		}
		json_object_set_new(lines, key, json_integer((json_int_t)km.line + 1));
		if ((rc = next_event(p, &ev))) {
			free(key);
			goto fail;
		}
		size_t was = enter(p, key, 0);
		mark_line(p, km);
		rc = load_node(p, &ev, depth + 1, &value);
		leave(p, was);
		yaml_event_delete(&ev);
		if (rc) {
			free(key);
			goto fail;
		}
		if (merge) {
			merged = json_object();
			rc = merge_into(p, merged, value, km);
			json_decref(value);
		} else {
			json_object_set_new(obj, key, value);
		}
		free(key);
		if (rc)
			goto fail;
	}
	json_decref(lines);
	if (merged) {
		/* As PyYAML does: merged keys first, explicit keys override. */
		json_object_update(merged, obj);
		json_decref(obj);
		obj = merged;
	}
	*out = obj;
	return ES_OK;
fail:
	json_decref(obj);
	json_decref(lines);
	json_decref(merged);
	return rc;
}

static int apply_tag(struct yp *p, const char *tag, bool scalar, yaml_mark_t m, json_t **v)
{
	char key[256];

	if (!tag || !strcmp(tag, TAG_MAP) || !strcmp(tag, TAG_SEQ) || !strcmp(tag, "!"))
		return ES_OK;
	if (scalar && (!strncmp(tag, "tag:yaml.org,2002:", 18)))
		return ES_OK;
	if (!short_form(tag, key, sizeof(key)))
		return unknown_tag(p, m, tag);
	p->bytes += strlen(key) + 6; /* {"Fn::X":} */
	if (!strcmp(tag, "!GetAtt") && scalar) {
		json_t *pair = getatt_pair(json_string_value(*v));
		if (!pair)
			return fail_at(p, m, "!GetAtt wants Resource.Attribute, not \"%s\"",
			               json_string_value(*v));
		json_decref(*v);
		*v = pair;
	}
	*v = wrap(key, *v);
	return *v ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
}

static int load_node(struct yp *p, yaml_event_t *ev, int depth, json_t **out)
{
	const char *anchor = NULL, *tag = NULL;
	size_t nodes = p->nodes, bytes = p->bytes;
	json_t *v = NULL;
	int rc;

	if (depth > MAX_DEPTH)
		return fail_at(p, ev->start_mark, "nested more than %d levels deep", MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		json_t *target = json_object_get(p->anchors, (char *)ev->data.alias.anchor);
		if (!target)
			return fail_at(p, ev->start_mark,
			               "alias *%s names no anchor defined before it",
			               ev->data.alias.anchor);
		/* Charged before copying, so a bomb fails before it costs. */
		p->nodes += (size_t)json_integer_value(json_array_get(target, 1));
		p->bytes += (size_t)json_integer_value(json_array_get(target, 2));
		if (p->bytes > MAX_BYTES)
			return fail_at(p, ev->start_mark,
			               "the template expands past " MAX_BYTES_TXT
			               " through aliases");
		if (p->nodes > MAX_NODES)
			return fail_at(p, ev->start_mark,
			               "the template expands past %d values through aliases",
			               MAX_NODES);
		*out = json_deep_copy(json_array_get(target, 0));
		return *out ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
	}
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		tag = (const char *)ev->data.scalar.tag;
		p->bytes += ev->data.scalar.length + 2;
		rc = load_scalar(p, ev, &v);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		tag = (const char *)ev->data.sequence_start.tag;
		if (tag && !strcmp(tag, TAG_MAP))
			return fail_at(p, ev->start_mark, "!!map on a list");
		p->bytes += 2;
		rc = load_sequence(p, ev, depth, &v);
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		tag = (const char *)ev->data.mapping_start.tag;
		if (tag && !strcmp(tag, TAG_SEQ))
			return fail_at(p, ev->start_mark, "!!seq on a mapping");
		p->bytes += 2;
		rc = load_mapping(p, depth, &v);
		break;
	default: return fail_at(p, ev->start_mark, "unexpected YAML event");
	}
	if (rc)
		return rc;
	if (++p->nodes > MAX_NODES) {
		json_decref(v);
		return fail_at(p, ev->start_mark, "too many values");
	}
	if ((rc = apply_tag(p, tag, ev->type == YAML_SCALAR_EVENT, ev->start_mark, &v))) {
		json_decref(v);
		return rc;
	}
	if (anchor)
		remember(p, anchor, v, p->nodes - nodes, p->bytes - bytes);
	*out = v;
	return ES_OK;
}

/* Expect the given event type next (stream and document framing). */
static int expect(struct yp *p, yaml_event_type_t type, yaml_event_t *ev)
{
	int rc = next_event(p, ev);

	if (rc)
		return rc;
	if (ev->type != type) {
		yaml_mark_t m = ev->start_mark;
		yaml_event_delete(ev);
		return fail_at(p, m, "a template holds exactly one YAML document");
	}
	return ES_OK;
}

static int parse_yaml(struct yp *p, json_t **out)
{
	yaml_event_t ev;
	json_t *doc = NULL;
	yaml_mark_t m;
	int rc;

	if ((rc = expect(p, YAML_STREAM_START_EVENT, &ev)))
		return rc;
	yaml_event_delete(&ev);
	if ((rc = next_event(p, &ev)))
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		m = ev.start_mark;
		yaml_event_delete(&ev);
		m.line = m.column = 0;
		return fail_at(p, m, "the template is empty");
	}
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		m = ev.start_mark;
		yaml_event_delete(&ev);
		return fail_at(p, m, "expected a YAML document");
	}
	yaml_event_delete(&ev);
	if ((rc = next_event(p, &ev)))
		return rc;
	m = ev.start_mark;
	rc = load_node(p, &ev, 0, &doc);
	yaml_event_delete(&ev);
	if (rc)
		return rc;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return fail_at(p, m, "a template must be a mapping (Key: value) at the top level");
	}
	if ((rc = expect(p, YAML_DOCUMENT_END_EVENT, &ev)) ||
	    (yaml_event_delete(&ev), rc = expect(p, YAML_STREAM_END_EVENT, &ev))) {
		json_decref(doc);
		return rc;
	}
	yaml_event_delete(&ev);
	*out = doc;
	return ES_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* JSON first, as the CLI does: it is faster and gives jansson's positions
 * for a .json file. Returns 1 when the text is not JSON at all. */
static int parse_json(const char *text, size_t len, const char *filename, json_t **out)
{
	json_error_t err;
	json_t *doc;
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	if (i == len || text[i] != '{')
		return 1;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (doc) {
		*out = doc;
		return ES_OK;
	}
	if (!ends_with(filename, ".json"))
		return 1; /* YAML is a superset in spirit: let it try and explain */
	return es_fail(ES_EPARSE, "%s:%d:%d: %s", filename, err.line > 0 ? err.line : 1,
	               err.column > 0 ? err.column : 1, err.text);
}

/* Parse text as YAML; with lines, fill *lines as es_template_parse_lines says. */
static int parse_yaml_text(const char *text, size_t len, const char *file, json_t **out,
                           json_t **lines)
{
	struct yp p = {.text = text, .len = len, .file = file};
	int rc;

	if (!yaml_parser_initialize(&p.parser))
		return es_fail(ES_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
	p.anchors = json_object();
	if (lines) {
		p.lines = json_object();
		es_buf_puts(&p.at, "");
	}
	rc = parse_yaml(&p, out);
	json_decref(p.anchors);
	yaml_parser_delete(&p.parser);
	es_buf_free(&p.at);
	if (lines && !rc)
		*lines = p.lines;
	else
		json_decref(p.lines);
	return rc;
}

int es_template_parse_lines(const char *text, size_t len, const char *filename, json_t **out,
                            json_t **lines)
{
	const char *file = filename ? filename : "template";
	int rc;

	*out = NULL;
	if (lines)
		*lines = NULL;
	if ((rc = parse_json(text, len, file, out)) > 0)
		return parse_yaml_text(text, len, file, out, lines);
	if (rc == ES_OK && lines) {
		/* jansson keeps no positions: the text goes through the YAML
		 * reader too (JSON is YAML's flow style) only for its marks;
		 * where that fails, lines stay unknown. */
		struct es_error saved;
		json_t *doc = NULL;
		es_error_save(&saved);
		if (parse_yaml_text(text, len, file, &doc, lines) != ES_OK)
			*lines = json_object();
		json_decref(doc);
		es_error_restore(&saved);
	}
	return rc;
}

int es_template_parse(const char *text, size_t len, const char *filename, json_t **out)
{
	return es_template_parse_lines(text, len, filename, out, NULL);
}

int es_template_load_lines(const char *path, json_t **out, json_t **lines)
{
	struct es_buf b = ES_BUF_INIT;
	char chunk[65536];
	size_t n;
	FILE *f;
	int rc = ES_OK;

	*out = NULL;
	if (lines)
		*lines = NULL;
	if (!(f = fopen(path, "rb")))
		return es_fail(ES_ENOTFOUND, "%s: cannot read: %s", path, strerror(errno));
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = es_buf_append(&b, chunk, n);
	if (!rc && ferror(f))
		rc = es_fail(ES_ERR, "%s: read failed: %s", path, strerror(errno));
	fclose(f);
	if (!rc)
		rc = es_template_parse_lines(b.data ? b.data : "", b.len, path, out, lines);
	es_buf_free(&b);
	return rc;
}

int es_template_load(const char *path, json_t **out)
{
	return es_template_load_lines(path, out, NULL);
}

int es_template_line(const json_t *lines, const char *pointer)
{
	char *p = pointer ? strdup(pointer) : NULL;
	int line = 0;

	/* Values merged in (<<) or copied from an alias have no line of their
	 * own: the nearest ancestor written in the text stands for them. */
	while (p && lines) {
		json_t *v = json_object_get(lines, p);
		char *slash = strrchr(p, '/');
		if (v) {
			line = (int)json_integer_value(v);
			break;
		}
		if (!slash)
			break;
		*slash = '\0';
	}
	free(p);
	return line;
}

char *es_template_dump(const json_t *tpl)
{
	/* 15 significant digits print 1.1 as 1.1 (17 would give
	 * 1.1000000000000001) and round-trip every literal a template holds. */
	char *s = json_dumps(tpl, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

	if (!s)
		es_fail(ES_EINVAL, "the template cannot be written as JSON");
	return s;
}
