/* Escape sequences the dashboard sends to the terminal on purpose: the bell,
 * desktop notifications (OSC 9, OSC 777), the clipboard (OSC 52), wrapped
 * for tmux when it sits in between; and the cleaning every text gets before
 * it goes into one: no control characters (no injected sequences) and no
 * credentials. */
#ifndef ES_TERMSEQ_H
#define ES_TERMSEQ_H

#include <stdbool.h>
#include <stddef.h>

/* How a desktop notification is sent (the user's `notify` setting). */
enum es_notify_mode {
	ES_NOTIFY_OFF,
	ES_NOTIFY_OSC9,   /* iTerm2, WezTerm, kitty, ghostty */
	ES_NOTIFY_OSC777, /* urxvt, foot, VTE */
	ES_NOTIFY_SEND,   /* the notify-send program */
	ES_NOTIFY_AUTO,   /* pick one from the environment */
};

/* The mode named name ("off", "osc9", "osc777", "notify-send", "auto"), or
 * -1. */
int es_notify_mode_parse(const char *name);
const char *es_notify_mode_name(enum es_notify_mode mode);
/* What auto means here, from TERM, TERM_PROGRAM and the display variables;
 * have_notify_send: notify-send is on PATH. */
enum es_notify_mode es_notify_mode_auto(bool have_notify_send);

/* In place: control characters removed (as es_sanitize), AWS credentials
 * masked as [redacted] (access key ids, the values of the AWS_* secret
 * variables, long secret-shaped tokens), then cut to at most max bytes
 * (a UTF-8 character is never split). */
void es_term_clean(char *s, size_t max);

/* The sequences, malloc'd (NULL when out of memory); their text is cleaned
 * here whatever the caller did. With tmux, wrapped in tmux's passthrough
 * (ESC P tmux; ... ESC \, every ESC inside doubled). */
char *es_term_osc9(const char *text, bool tmux);
char *es_term_osc777(const char *title, const char *body, bool tmux);
/* OSC 52: text into the clipboard, base64-encoded. Only control characters
 * are removed from text (an URL or a commit id is copied as it is). */
char *es_term_osc52(const char *text, bool tmux);
/* seq wrapped for tmux's passthrough (malloc'd). */
char *es_term_tmux_wrap(const char *seq);

#endif
