/* The request table, key names, and bindings with the user's overrides. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "keymap.h"
#include "kvfile.h"
#include "screen.h"

static const struct es_request_info requests[] = {{ES_REQ_NONE, "", "", 0, ""},
#define ES_REQ_ROW(id, name, keys, flags, help) {ES_REQ_##id, name, keys, flags, help},
                                                  ES_REQUESTS(ES_REQ_ROW)
#undef ES_REQ_ROW
};

const struct es_request_info *es_request_info(enum es_request req)
{
	if (req <= ES_REQ_NONE || req >= ES_REQ_COUNT)
		return NULL;
	return &requests[req];
}

enum es_request es_request_by_name(const char *name)
{
	for (int i = 1; i < ES_REQ_COUNT; i++)
		if (strcasecmp(requests[i].name, name) == 0)
			return (enum es_request)i;
	return ES_REQ_NONE;
}

static const struct {
	const char *name;
	int key;
} named_keys[] = {
        {"Enter", '\n'},       {"Tab", '\t'},
        {"BackTab", KEY_BTAB}, {"Esc", 27},
        {"Space", ' '},        {"Up", KEY_UP},
        {"Down", KEY_DOWN},    {"Left", KEY_LEFT},
        {"Right", KEY_RIGHT},  {"PgUp", KEY_PPAGE},
        {"PgDn", KEY_NPAGE},   {"Home", KEY_HOME},
        {"End", KEY_END},      {"Backspace", KEY_BACKSPACE},
        {"Delete", KEY_DC},    {"Insert", KEY_IC},
        {"PageUp", KEY_PPAGE}, {"PageDown", KEY_NPAGE},
        {"Return", '\n'},      {"Escape", 27},
};

int es_key_parse(const char *name)
{
	if (!name || !*name)
		return -1;
	if (name[1] == 0)
		return (unsigned char)name[0];
	for (size_t i = 0; i < sizeof(named_keys) / sizeof(named_keys[0]); i++)
		if (strcasecmp(named_keys[i].name, name) == 0)
			return named_keys[i].key;
	if ((name[0] == 'C' || name[0] == 'c' || name[0] == '^') && (name[1] == '-' || !name[2])) {
		const char *c = name[0] == '^' ? name + 1 : name + 2;
		if (c[0] && !c[1] && isalpha((unsigned char)c[0]))
			return tolower((unsigned char)c[0]) - 'a' + 1;
	}
	if ((name[0] == 'F' || name[0] == 'f') && isdigit((unsigned char)name[1])) {
		int n = atoi(name + 1);
		if (n >= 1 && n <= 12)
			return KEY_F(n);
	}
	return -1;
}

const char *es_key_name(int key, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(named_keys) / sizeof(named_keys[0]); i++)
		if (named_keys[i].key == key) {
			snprintf(buf, len, "%s", named_keys[i].name);
			return buf;
		}
	if (key == KEY_ENTER || key == '\r')
		snprintf(buf, len, "Enter");
	else if (key >= KEY_F(1) && key <= KEY_F(12))
		snprintf(buf, len, "F%d", key - KEY_F(0));
	else if (key >= 1 && key <= 26)
		snprintf(buf, len, "C-%c", 'a' + key - 1);
	else if (key > ' ' && key < 127)
		snprintf(buf, len, "%c", key);
	else
		snprintf(buf, len, "<%d>", key);
	return buf;
}

static void unbind_key(struct es_keymap *km, int key)
{
	for (size_t i = 0; i < km->n; i++)
		if (km->bind[i].key == key) {
			km->bind[i] = km->bind[--km->n];
			return;
		}
}

bool es_keymap_bind(struct es_keymap *km, int key, enum es_request req)
{
	const struct es_request_info *ri = es_request_info(req);

	if (!ri || key < 0)
		return false;
	if ((ri->flags & ES_REQ_MUTATING) && key < 128 && !isupper(key))
		return false;
	unbind_key(km, key);
	if (km->n >= ES_KEYMAP_MAX)
		return false;
	km->bind[km->n].key = key;
	km->bind[km->n].req = req;
	km->n++;
	return true;
}

void es_keymap_defaults(struct es_keymap *km)
{
	km->n = 0;
	for (int r = 1; r < ES_REQ_COUNT; r++) {
		char keys[64], *save = NULL;
		snprintf(keys, sizeof(keys), "%s", requests[r].keys);
		for (char *k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save))
			es_keymap_bind(km, es_key_parse(k), (enum es_request)r);
	}
}

enum es_request es_keymap_lookup(const struct es_keymap *km, int key)
{
	if (key == KEY_ENTER || key == '\r')
		key = '\n';
	for (size_t i = 0; i < km->n; i++)
		if (km->bind[i].key == key)
			return km->bind[i].req;
	return ES_REQ_NONE;
}

const char *es_keymap_keys(const struct es_keymap *km, enum es_request req, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	/* in the order of the defaults first, then added keys */
	for (size_t i = 0; i < km->n && used + 16 < len; i++) {
		char name[16];
		if (km->bind[i].req != req)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
		                         es_key_name(km->bind[i].key, name, sizeof(name)));
	}
	return buf;
}

struct load_ctx {
	struct es_keymap *km;
	const char *path;
	char *err;
	size_t errlen;
};

static void note(struct load_ctx *lc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct load_ctx *lc, const char *fmt, ...)
{
	if (lc->err && lc->errlen && !lc->err[0]) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(lc->err, lc->errlen, "%s: %s", lc->path, msg);
	}
}

static void on_entry(const char *section, const char *sub, const char *key, const char *value,
                     void *ud)
{
	struct load_ctx *lc = ud;
	enum es_request req;
	char keys[128], *save = NULL;

	(void)sub;
	if (strcmp(section, "bind") != 0)
		return;
	req = es_request_by_name(key);
	if (req == ES_REQ_NONE) {
		note(lc, "bind: unknown request '%s'", key);
		return;
	}
	for (size_t i = 0; i < lc->km->n;)
		if (lc->km->bind[i].req == req)
			lc->km->bind[i] = lc->km->bind[--lc->km->n];
		else
			i++;
	snprintf(keys, sizeof(keys), "%s", value);
	for (char *k = strtok_r(keys, " ,", &save); k; k = strtok_r(NULL, " ,", &save)) {
		int code = es_key_parse(k);
		if (code < 0)
			note(lc, "bind.%s: unknown key '%s'", key, k);
		else if (!es_keymap_bind(lc->km, code, req))
			note(lc, "bind.%s: '%s' refused (actions take upper-case keys)", key, k);
	}
}

int es_keymap_load(struct es_keymap *km, const char *path, char *err, size_t errlen)
{
	struct load_ctx lc = {km, path, err, errlen};

	if (err && errlen)
		err[0] = 0;
	int rc = es_kvfile_read(path, on_entry, &lc);
	if (rc && rc != ES_ENOTFOUND && err && errlen) {
		char line[1400];
		snprintf(err, errlen, "%s", es_error_format(es_error_last(), line, sizeof(line)));
	}
	return rc;
}
