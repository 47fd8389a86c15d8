/* Drawing primitives: every piece of text reaches the screen through
 * es_scr_text, which removes control characters whatever their origin. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "screen.h"

void es_scr_fill(struct es_rect r, attr_t attr)
{
	attrset(attr);
	for (int y = r.y; y < r.y + r.h; y++) {
		if (y < 0 || y >= LINES)
			continue;
		move(y, r.x);
		for (int x = r.x; x < r.x + r.w && x < COLS; x++)
			addch(' ');
	}
	attrset(A_NORMAL);
}

/* Next character of s: control characters become spaces, invalid bytes '?'. */
static size_t next_char(const char *s, size_t n, mbstate_t *st, wchar_t *wc)
{
	size_t k = mbrtowc(wc, s, n, st);

	if (k == (size_t)-1 || k == (size_t)-2) {
		memset(st, 0, sizeof(*st));
		*wc = L'?';
		return 1;
	}
	if (k == 0)
		k = 1;
	if (*wc < 0x20 || *wc == 0x7f || (*wc >= 0x80 && *wc < 0xa0) || *wc == 0x2028 ||
	    *wc == 0x2029 || (*wc >= 0x202a && *wc <= 0x202e) || (*wc >= 0x2066 && *wc <= 0x2069))
		*wc = L' ';
	return k;
}

int es_scr_width(const char *s)
{
	mbstate_t st;
	size_t n = strlen(s), i = 0;
	int cols = 0;

	memset(&st, 0, sizeof(st));
	while (i < n) {
		wchar_t wc;
		i += next_char(s + i, n - i, &st, &wc);
		int cw = wcwidth(wc);
		cols += cw < 0 ? 1 : cw;
	}
	return cols;
}

int es_scr_text(int y, int x, int maxw, attr_t attr, const char *s)
{
	wchar_t buf[512];
	mbstate_t st;
	size_t n, i = 0;
	int cols = 0, nb = 0;

	if (!s || maxw <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + maxw > COLS)
		maxw = COLS - x;
	memset(&st, 0, sizeof(st));
	n = strlen(s);
	while (i < n && nb < (int)(sizeof(buf) / sizeof(buf[0])) - 1) {
		wchar_t wc;
		i += next_char(s + i, n - i, &st, &wc);
		int cw = wcwidth(wc);
		if (cw < 0) {
			wc = L'?';
			cw = 1;
		}
		if (cols + cw > maxw)
			break;
		if (cw == 0 && nb == 0)
			continue;
		buf[nb++] = wc;
		cols += cw;
	}
	buf[nb] = 0;
	attrset(attr);
	mvaddnwstr(y, x, buf, nb);
	attrset(A_NORMAL);
	return cols;
}

int es_scr_printf(int y, int x, int maxw, attr_t attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return es_scr_text(y, x, maxw, attr, buf);
}

void es_scr_hline(int y, int x, int w, attr_t attr)
{
	if (w <= 0 || y < 0 || y >= LINES)
		return;
	attrset(attr);
	mvhline_set(y, x, WACS_HLINE, w);
	attrset(A_NORMAL);
}

void es_scr_box(struct es_rect r, const char *title, attr_t border, attr_t title_attr)
{
	if (r.h < 2 || r.w < 2)
		return;
	attrset(border);
	mvadd_wch(r.y, r.x, WACS_ULCORNER);
	mvhline_set(r.y, r.x + 1, WACS_HLINE, r.w - 2);
	mvadd_wch(r.y, r.x + r.w - 1, WACS_URCORNER);
	mvvline_set(r.y + 1, r.x, WACS_VLINE, r.h - 2);
	mvvline_set(r.y + 1, r.x + r.w - 1, WACS_VLINE, r.h - 2);
	mvadd_wch(r.y + r.h - 1, r.x, WACS_LLCORNER);
	mvhline_set(r.y + r.h - 1, r.x + 1, WACS_HLINE, r.w - 2);
	mvadd_wch(r.y + r.h - 1, r.x + r.w - 1, WACS_LRCORNER);
	attrset(A_NORMAL);
	if (title && *title && r.w > 6) {
		es_scr_text(r.y, r.x + 1, 1, border, " ");
		int n = es_scr_text(r.y, r.x + 2, r.w - 5, title_attr, title);
		es_scr_text(r.y, r.x + 2 + n, 1, border, " ");
	}
}

/* Line drawing as ASCII, whichever way curses stored it. */
static wchar_t ascii_of(wchar_t wc, attr_t attr)
{
	if (attr & A_ALTCHARSET) {
		switch (wc) {
		case 'q': return L'-';
		case 'x': return L'|';
		case 'l':
		case 'k':
		case 'm':
		case 'j':
		case 't':
		case 'u':
		case 'v':
		case 'w':
		case 'n': return L'+';
		case 'a': return L'#';
		case '~': return L'o';
		default: return wc;
		}
	}
	if (wc == 0x2500 || wc == 0x2501 || wc == 0x2550)
		return L'-';
	if (wc == 0x2502 || wc == 0x2503 || wc == 0x2551)
		return L'|';
	if (wc >= 0x250c && wc <= 0x254b)
		return L'+';
	if (wc >= 0x2580 && wc <= 0x259f)
		return L'#';
	return wc;
}

int es_scr_dump(FILE *f)
{
	for (int y = 0; y < LINES; y++) {
		char line[4096];
		size_t len = 0, keep = 0;
		for (int x = 0; x < COLS; x++) {
			cchar_t cc;
			wchar_t wch[CCHARW_MAX + 1] = {0};
			attr_t attr = 0;
			short pair = 0;
			char mb[MB_LEN_MAX];
			mbstate_t st;
			size_t k;
			if (mvin_wch(y, x, &cc) == ERR)
				break;
			getcchar(&cc, wch, &attr, &pair, NULL);
			wchar_t wc = ascii_of(wch[0] ? wch[0] : L' ', attr);
			int cw = wcwidth(wc);
			memset(&st, 0, sizeof(st));
			k = wcrtomb(mb, wc, &st);
			if (k == (size_t)-1) {
				mb[0] = '?';
				k = 1;
			}
			if (len + k >= sizeof(line))
				break;
			memcpy(line + len, mb, k);
			len += k;
			if (wc != L' ')
				keep = len;
			if (cw == 2)
				x++;
		}
		fprintf(f, "%.*s\n", (int)keep, line);
	}
	return ferror(f) ? -1 : 0;
}

int es_scr_dump_path(const char *path)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -1;
	rc = es_scr_dump(f);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}
