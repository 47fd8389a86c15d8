/* Untrusted text made safe for a terminal: stack event reasons, commit
 * messages, HTTP bodies, AWS error messages and request ids can hold escape
 * sequences that would drive the terminal. */
#ifndef ES_TEXT_H
#define ES_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* In place: C0 controls (but '\n' when keep_nl), DEL and the C1 controls
 * (U+0080..U+009F, as UTF-8) become spaces; a byte that is not part of
 * valid UTF-8 becomes '?'. Tabs become spaces. NULL is fine. */
void es_sanitize(char *s, bool keep_nl);

/* data as standard base64 without line breaks (malloc'd, NUL-terminated;
 * NULL when out of memory): what OSC 52 carries to a terminal's clipboard. */
char *es_base64(const void *data, size_t len);

/* The value of one hexadecimal digit (either case), or -1. */
int es_hex_digit(char c);

/* A progress line for a synchronous command's note callback: fmt
 * formatted (at most 1,199 bytes) and handed to fn with ud; nothing
 * without fn. */
typedef void (*es_note_fn)(const char *text, void *ud);
void es_notef(es_note_fn fn, void *ud, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
