/* Modal dialogs that never block the event loop: the dashboard sends them
 * keys and draws them over the panes; when one closes, its callback runs.
 * Confirmations default to No; dangerous ones need the stage name typed.
 * A dialog takes keys only once it has been drawn (armed): a key typed
 * before the question was on screen never answers it. */
#ifndef ES_DIALOG_H
#define ES_DIALOG_H

#include <stdbool.h>
#include <stddef.h>

enum es_dialog_kind {
	ES_DLG_CONFIRM,   /* y / n, Enter = No */
	ES_DLG_YES_ENTER, /* y selects Yes, then Enter; Enter alone, n, Esc = No */
	ES_DLG_TYPE,      /* type the expected word, Enter */
	ES_DLG_PROMPT,    /* edit a line of text, Enter */
	ES_DLG_CHOOSE,    /* pick one of several, Enter */
	ES_DLG_MESSAGE,   /* any key closes */
};

/* One row of a change-set table, as CloudFormation describes it. */
struct es_dialog_change {
	char *action;      /* Add | Modify | Remove | Import | Dynamic */
	char *logical_id;  /* shortened with … in the middle when it does not fit */
	char *type;        /* AWS::Lambda::Function */
	char *replacement; /* True | Conditional | False, NULL for Add/Remove */
};

struct es_dialog;
/* ok: yes / Enter on valid input; text: the input; choice: the index. */
typedef void (*es_dialog_fn)(struct es_dialog *d, bool ok, const char *text, int choice, void *ud);

struct es_dialog {
	enum es_dialog_kind kind;
	char title[128];
	char question[1024];
	char **body; /* lines shown above the question (change set, …) */
	size_t n_body, top;
	/* A change-set table above the body lines, scrolled with them; its
	 * header row stays. */
	struct es_dialog_change *changes;
	size_t n_changes;
	char expect[128];
	char input[512];
	char **choices;
	size_t n_choices, sel;
	char note[256]; /* a hint after a wrong answer */
	bool danger;
	bool yes;    /* ES_DLG_YES_ENTER: Yes is selected */
	bool armed;  /* drawn on screen: from now on keys answer it */
	int ignored; /* keys dropped while it was not armed yet */
	bool done, ok;
	es_dialog_fn fn;
	void *ud;
	/* validate PROMPT input: NULL or a reason written into why */
	bool (*check)(const char *input, char *why, size_t len);
};

struct es_dialog *es_dialog_new(enum es_dialog_kind kind, const char *title, const char *question,
                                es_dialog_fn fn, void *ud);
/* Add body lines (text is split at newlines and sanitised). */
void es_dialog_body(struct es_dialog *d, const char *text);
void es_dialog_bodyf(struct es_dialog *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void es_dialog_choice(struct es_dialog *d, const char *text);
/* Add a row to the change-set table (columns sized from the content). */
void es_dialog_change(struct es_dialog *d, const char *action, const char *logical_id,
                      const char *type, const char *replacement);
/* Feed one key (curses key code or character). Returns true once closed.
 * Before es_dialog_arm() the key is dropped (counted in d->ignored, with a
 * note in the dialog) and false is returned. */
bool es_dialog_key(struct es_dialog *d, int key);
/* The dialog is now on the screen: keys from here on answer it. The owner
 * calls it after the refresh that first showed the dialog. */
void es_dialog_arm(struct es_dialog *d);
/* Run the callback (after the owner took the dialog off screen). */
void es_dialog_finish(struct es_dialog *d);
/* Draw over the screen; false when the terminal is too small to show it
 * (then it must not be armed). */
bool es_dialog_draw(const struct es_dialog *d);
void es_dialog_free(struct es_dialog *d);

#endif
