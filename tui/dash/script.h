/* Script mode (`edgeship --script FILE`) for end-to-end tests: keys from a
 * file, each fed when the event loop has settled (nothing loading or in
 * flight, or a running action waits at a dialog) and after the screen was
 * redrawn, as a person who reads the screen before each key. Commands:
 *   :wait-idle          wait until the loop has settled
 *   :wait-dialog        wait until a dialog is on the screen (drawn, so it
 *                       takes keys)
 *   :wait-text TEXT     wait until TEXT is on the screen (within one row)
 *   :timeout MS         limit the waits that follow to MS (default 60000);
 *                       a wait for a dialog or text that runs out fails the
 *                       run, saying so, and the script goes on
 *   :sleep MS           wait MS milliseconds
 *   :dump-screen PATH   write the screen as text (line drawing as ASCII)
 *   :resize COLSxLINES  resize the virtual terminal
 *   :now KEYS           KEYS arrive at once, without waiting for the loop
 *                       and without a redraw between them: typeahead, or a
 *                       paste (a dialog one of them opens drops the rest)
 *   :nowait             from here, key lines and :dump-screen go on without
 *                       waiting for the loop (typing while a deploy runs);
 *                       each key still comes after a redraw
 *   :wait               end a :nowait section and wait until settled
 * A key line is literal characters with <Name> for special keys (<Enter>,
 * <Esc>, <Tab>, <Down>, <C-f>, <lt> for '<'); '#' starts a comment line.
 *
 *   D
 *   y
 *   :wait-dialog
 *   y<Enter>
 *   :nowait
 *   ?
 *   :dump-screen /tmp/help-while-deploying.txt
 *   <Esc>
 *   :wait
 */
#ifndef ES_SCRIPT_H
#define ES_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

enum es_script_kind {
	ES_SCRIPT_KEY,
	ES_SCRIPT_WAIT_IDLE,
	ES_SCRIPT_SLEEP,
	ES_SCRIPT_DUMP,
	ES_SCRIPT_RESIZE,
	ES_SCRIPT_WAIT_DIALOG,
	ES_SCRIPT_WAIT_TEXT
};

/* How long a wait lasts before it is reported (:timeout changes it). */
#define ES_SCRIPT_LIMIT_MS 60000L

struct es_script_item {
	enum es_script_kind kind;
	int key;
	long ms; /* :sleep's time; for the others, the limit on their wait */
	int cols, lines;
	char *path;  /* :dump-screen's file, :wait-text's text */
	int line;    /* in the script file, for messages */
	int burst;   /* keys of one :now line share a number (0: none) */
	bool nowait; /* in a :nowait section */
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
