/* Stripping what a terminal would obey from text that came from outside,
 * and base64 for what is sent to it on purpose. */
#include "config.h"

#include <stdarg.h>

#include <openssl/evp.h>
#include <stddef.h>
#include <stdlib.h>

#include "text.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not text. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void es_sanitize(char *s, bool keep_nl)
{
	unsigned char *p = (unsigned char *)s;

	while (p && *p) {
		if (*p < 0x80) {
			if ((*p < 0x20 && !(keep_nl && *p == '\n')) || *p == 0x7f)
				*p = ' ';
			p++;
			continue;
		}
		size_t n = utf8_len(p);
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		if (n == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* A C1 control such as CSI (U+009B). */
			p[0] = ' ';
			p[1] = ' ';
		}
		p += n;
	}
}

char *es_base64(const void *data, size_t len)
{
	/* four characters per three bytes, and the NUL EVP_EncodeBlock adds */
	char *out = len < (size_t)1 << 30 ? malloc((len + 2) / 3 * 4 + 1) : NULL;

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int es_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void es_notef(es_note_fn fn, void *ud, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(line, ud);
}
