/* Reading key scripts: a line of keys becomes one item per key; :now and
 * :nowait mark the items that do not wait for the loop. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "keymap.h"
#include "script.h"

static int add(struct es_script *s, struct es_script_item it)
{
	void *p = realloc(s->items, (s->n + 1) * sizeof(*s->items));

	if (!p)
		return -1;
	s->items = p;
	s->items[s->n++] = it;
	return 0;
}

/* Parse state: the :nowait section, the :now lines seen so far and the
 * limit on waits (:timeout). */
struct parse {
	bool nowait;
	int bursts;
	long limit_ms;
};

static int parse_keys(struct es_script *s, const struct parse *ps, int burst, const char *l,
                      int lineno, char *err, size_t errlen)
{
	while (*l) {
		struct es_script_item it = {.kind = ES_SCRIPT_KEY,
		                            .line = lineno,
		                            .burst = burst,
		                            .ms = ps->limit_ms,
		                            .nowait = ps->nowait};
		if (*l == '<') {
			const char *end = strchr(l, '>');
			char name[32];
			if (!end || end - l - 1 >= (long)sizeof(name)) {
				snprintf(err, errlen, "%s:%d: unterminated <key>", s->file, lineno);
				return -1;
			}
			snprintf(name, sizeof(name), "%.*s", (int)(end - l - 1), l + 1);
			it.key = strcmp(name, "lt") == 0 ? '<' : es_key_parse(name);
			if (it.key < 0 || !name[0]) {
				snprintf(err, errlen, "%s:%d: unknown key <%s>", s->file, lineno,
				         name);
				return -1;
			}
			l = end + 1;
		} else {
			/* one UTF-8 character */
			unsigned char c = (unsigned char)*l;
			int n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			unsigned v = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
			for (int k = 1; k < n && l[k]; k++)
				v = (v << 6) | ((unsigned char)l[k] & 0x3f);
			it.key = (int)v;
			for (int k = 0; k < n && *l; k++)
				l++;
		}
		if (add(s, it))
			return -1;
	}
	return 0;
}

static int parse_command(struct es_script *s, struct parse *ps, char *l, int lineno, char *err,
                         size_t errlen)
{
	struct es_script_item it = {.line = lineno, .ms = ps->limit_ms, .nowait = ps->nowait};
	char *arg = strchr(l, ' ');

	if (arg) {
		*arg++ = 0;
		while (*arg == ' ')
			arg++;
	}
	if (strcmp(l, ":now") == 0 && arg && *arg) {
		return parse_keys(s, ps, ++ps->bursts, arg, lineno, err, errlen);
	} else if (strcmp(l, ":nowait") == 0 && !arg) {
		if (ps->nowait) {
			snprintf(err, errlen, "%s:%d: already in a :nowait section", s->file,
			         lineno);
			return -1;
		}
		ps->nowait = true;
		return 0;
	} else if (strcmp(l, ":wait") == 0 && !arg) {
		if (!ps->nowait) {
			snprintf(err, errlen, "%s:%d: :wait without :nowait", s->file, lineno);
			return -1;
		}
		ps->nowait = false;
		it.nowait = false;
		it.kind = ES_SCRIPT_WAIT_IDLE;
	} else if (strcmp(l, ":wait-idle") == 0) {
		it.kind = ES_SCRIPT_WAIT_IDLE;
	} else if (strcmp(l, ":wait-dialog") == 0) {
		it.kind = ES_SCRIPT_WAIT_DIALOG;
	} else if (strcmp(l, ":wait-text") == 0 && arg && *arg) {
		it.kind = ES_SCRIPT_WAIT_TEXT;
		it.path = strdup(arg);
		if (!it.path)
			return -1;
	} else if (strcmp(l, ":timeout") == 0 && arg && atol(arg) > 0) {
		ps->limit_ms = atol(arg);
		return 0;
	} else if (strcmp(l, ":sleep") == 0 && arg) {
		it.kind = ES_SCRIPT_SLEEP;
		it.ms = atol(arg);
	} else if (strcmp(l, ":dump-screen") == 0 && arg && *arg) {
		it.kind = ES_SCRIPT_DUMP;
		it.path = strdup(arg);
		if (!it.path)
			return -1;
	} else if (strcmp(l, ":resize") == 0 && arg &&
	           sscanf(arg, "%dx%d", &it.cols, &it.lines) == 2 && it.cols > 0 && it.lines > 0) {
		it.kind = ES_SCRIPT_RESIZE;
	} else {
		snprintf(
		        err, errlen,
		        "%s:%d: unknown command '%s' (use :wait-idle, :wait-dialog, :wait-text "
		        "TEXT, "
		        ":timeout MS, :sleep MS, :dump-screen PATH, :resize COLSxLINES, :now KEYS, "
		        ":nowait, :wait)",
		        s->file, lineno, l);
		return -1;
	}
	return add(s, it);
}

int es_script_load(const char *path, struct es_script **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct es_script *s;
	char line[4096];
	int lineno = 0, rc = 0;
	struct parse ps = {false, 0, ES_SCRIPT_LIMIT_MS};

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open the script", path);
		return ES_ENOTFOUND;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->file = strdup(path))) {
		free(s);
		fclose(f);
		return ES_ENOMEM;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (!n || line[0] == '#')
			continue;
		rc = line[0] == ':' ? parse_command(s, &ps, line, lineno, err, errlen)
		                    : parse_keys(s, &ps, 0, line, lineno, err, errlen);
	}
	fclose(f);
	if (rc) {
		es_script_free(s);
		return ES_EINVAL;
	}
	*out = s;
	return ES_OK;
}

const struct es_script_item *es_script_peek(const struct es_script *s)
{
	return s && s->next < s->n ? &s->items[s->next] : NULL;
}

void es_script_advance(struct es_script *s)
{
	if (s && s->next < s->n)
		s->next++;
}

void es_script_free(struct es_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i].path);
	free(s->items);
	free(s->file);
	free(s);
}
