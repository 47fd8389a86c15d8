/* The request table: every request has a name and help, no two requests
 * share a default key, no mutating request sits on a lower-case key, and
 * key names read back. TAP output. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/keymap.h"
#include "dash/screen.h"

static int n, failed;

static void ok(bool cond, const char *fmt, const char *arg) __attribute__((format(printf, 2, 0)));
static void ok(bool cond, const char *fmt, const char *arg)
{
	n++;
	if (!cond)
		failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", n);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	printf(fmt, arg);
#pragma GCC diagnostic pop
	printf("\n");
}

int main(void)
{
	struct es_keymap km;
	char buf[64];

	for (int r = 1; r < ES_REQ_COUNT; r++) {
		const struct es_request_info *ri = es_request_info((enum es_request)r);
		char keys[64], *save = NULL;
		bool has_help = ri && ri->help[0] && ri->name[0], lower = false, parse = true;
		ok(has_help, "%s has a name and help text", ri ? ri->name : "?");
		ok(es_request_by_name(ri->name) == (enum es_request)r, "%s is found by its name",
		   ri->name);
		snprintf(keys, sizeof(keys), "%s", ri->keys);
		for (char *k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
			int code = es_key_parse(k);
			if (code < 0)
				parse = false;
			if (code >= 0 && code < 128 && !isupper(code))
				lower = true;
			/* no other request claims the same default key */
			for (int o = 1; o < ES_REQ_COUNT; o++) {
				char other[64], *s2 = NULL;
				if (o == r)
					continue;
				snprintf(other, sizeof(other), "%s", es_request_info((enum es_request)o)->keys);
				for (char *k2 = strtok_r(other, " ", &s2); k2; k2 = strtok_r(NULL, " ", &s2))
					if (es_key_parse(k2) == code) {
						printf("# %s and %s both default to %s\n", ri->name,
						       es_request_info((enum es_request)o)->name, k);
						failed++;
					}
			}
		}
		ok(parse && ri->keys[0], "%s has default keys that parse", ri->name);
		if (ri->flags & ES_REQ_MUTATING)
			ok(!lower, "mutating %s uses upper-case keys only", ri->name);
	}
	es_keymap_defaults(&km);
	ok(es_keymap_lookup(&km, 'j') == ES_REQ_MOVE_DOWN, "%s", "j moves down");
	ok(es_keymap_lookup(&km, KEY_ENTER) == ES_REQ_ENTER, "%s", "KEY_ENTER is Enter");
	ok(!es_keymap_bind(&km, 'd', ES_REQ_DEPLOY), "%s", "a mutating request refuses 'd'");
	ok(es_keymap_bind(&km, 'J', ES_REQ_MOVE_DOWN) && es_keymap_lookup(&km, 'J') == ES_REQ_MOVE_DOWN,
	   "%s", "rebinding a key works");
	ok(!strcmp(es_key_name(es_key_parse("C-f"), buf, sizeof(buf)), "C-f"), "%s",
	   "C-f reads back");
	ok(!strcmp(es_key_name(KEY_BTAB, buf, sizeof(buf)), "BackTab"), "%s", "BackTab reads back");

	/* user bindings from a git-config file */
	char path[] = "/tmp/es-keymap-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fputs("[bind]\n\tmove-down = J Down\n\tdeploy = d\n\tnonsense = x\n", f);
		fclose(f);
		es_keymap_defaults(&km);
		int rc = es_keymap_load(&km, path, buf, sizeof(buf));
		ok(rc == 0 && es_keymap_lookup(&km, 'J') == ES_REQ_MOVE_DOWN &&
		           es_keymap_lookup(&km, 'j') == ES_REQ_NONE,
		   "%s", "[bind] replaces a request's keys");
		ok(es_keymap_lookup(&km, 'd') == ES_REQ_NONE && buf[0], "%s",
		   "a lower-case key for a mutating request is refused, with a reason");
		remove(path);
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
