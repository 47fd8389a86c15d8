/* Growable byte buffer used for request bodies, canonical strings and output. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

int es_buf_grow(struct es_buf *b, size_t n)
{
	size_t need = b->len + n + 1;
	size_t cap;
	char *p;

	if (need <= b->cap)
		return ES_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return es_fail(ES_ENOMEM, "out of memory");
	b->data = p;
	b->cap = cap;
	return ES_OK;
}

int es_buf_append(struct es_buf *b, const void *data, size_t len)
{
	if (es_buf_grow(b, len))
		return ES_ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return ES_OK;
}

int es_buf_puts(struct es_buf *b, const char *s)
{
	return es_buf_append(b, s, strlen(s));
}

int es_buf_putc(struct es_buf *b, char c)
{
	return es_buf_append(b, &c, 1);
}

int es_buf_vprintf(struct es_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return es_fail(ES_EINVAL, "bad format");
	if (es_buf_grow(b, (size_t)n))
		return ES_ENOMEM;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return ES_OK;
}

int es_buf_printf(struct es_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = es_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void es_buf_reset(struct es_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *es_buf_steal(struct es_buf *b)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void es_buf_free(struct es_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *es_buf_str(const struct es_buf *b)
{
	return b->data ? b->data : "";
}
