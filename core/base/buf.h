/* A growable byte buffer, always NUL-terminated so text can be read in place. */
#ifndef ES_BUF_H
#define ES_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct es_buf {
	char *data; /* owned; NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define ES_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

int es_buf_append(struct es_buf *b, const void *data, size_t len);
int es_buf_puts(struct es_buf *b, const char *s);
int es_buf_putc(struct es_buf *b, char c);
int es_buf_printf(struct es_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int es_buf_vprintf(struct es_buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
/* Reserve room for n more bytes without changing len. */
int es_buf_grow(struct es_buf *b, size_t n);
void es_buf_reset(struct es_buf *b);
/* Hand the bytes to the caller (who frees them) and empty the buffer. Never
 * returns NULL unless allocation fails: an empty buffer gives "". */
char *es_buf_steal(struct es_buf *b);
void es_buf_free(struct es_buf *b);
/* The contents as a C string ("" when empty). */
const char *es_buf_str(const struct es_buf *b);

#endif
