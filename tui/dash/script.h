/* Script mode (`edgeship --script FILE`) for end-to-end tests: keys from a
 * file, each fed only when the event loop is idle, plus commands:
 *   :wait-idle          wait until nothing is loading or in flight
 *   :sleep MS           wait MS milliseconds
 *   :dump-screen PATH   write the screen as text (line drawing as ASCII)
 *   :resize COLSxLINES  resize the virtual terminal
 * A key line is literal characters with <Name> for special keys (<Enter>,
 * <Esc>, <Tab>, <Down>, <C-f>, <lt> for '<'); '#' starts a comment line. */
#ifndef ES_SCRIPT_H
#define ES_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

enum es_script_kind {
	ES_SCRIPT_KEY,
	ES_SCRIPT_WAIT_IDLE,
	ES_SCRIPT_SLEEP,
	ES_SCRIPT_DUMP,
	ES_SCRIPT_RESIZE
};

struct es_script_item {
	enum es_script_kind kind;
	int key;
	long ms;
	int cols, lines;
	char *path;
	int line; /* in the script file, for messages */
};

struct es_script {
	struct es_script_item *items;
	size_t n, next;
	char *file;
};

/* Parse path. On failure err holds "FILE:LINE: message". */
int es_script_load(const char *path, struct es_script **out, char *err, size_t errlen);
/* The next item, or NULL at the end (does not advance). */
const struct es_script_item *es_script_peek(const struct es_script *s);
void es_script_advance(struct es_script *s);
void es_script_free(struct es_script *s);

#endif
