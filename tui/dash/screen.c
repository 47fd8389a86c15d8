/* Drawing primitives: every piece of text reaches the screen through
 * es_scr_text, which removes control characters whatever their origin. */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

size_t es_scr_wrap_len(const char *s, size_t end, int width)
{
	size_t i = 0, brk = 0;
	int cols = 0;

	while (i < end) {
		size_t n = 1;
		while (i + n < end && ((unsigned char)s[i + n] & 0xC0) == 0x80)
			n++; /* a whole UTF-8 character, one column */
		if (cols + 1 > width)
			break;
		cols++;
		i += n;
		if (s[i - 1] == ' ')
			brk = i;
	}
	if (i >= end)
		return end;
	return brk ? brk : (i ? i : 1);
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

/* The mark that says text was cut: an ellipsis, '~' without UTF-8. */
static wchar_t ellipsis(void)
{
	return MB_CUR_MAX > 1 ? 0x2026 : L'~';
}

/* Decode s into buf (at most cap-1 characters, sanitised) fitting maxw
 * columns; text that does not fit ends in an ellipsis, unless all that is
 * cut is blank. Returns the characters kept; *cols gets their width. */
static int fit_wide(const char *s, int maxw, wchar_t *buf, int cap, int *cols_out)
{
	mbstate_t st;
	size_t n = strlen(s), i = 0;
	int cols = 0, nb = 0;
	int keep_nb = 0, keep_cols = 0; /* what stays when an ellipsis is needed */
	bool cut = false;

	memset(&st, 0, sizeof(st));
	while (i < n && nb < cap - 1) {
		wchar_t wc;
		i += next_char(s + i, n - i, &st, &wc);
		int cw = wcwidth(wc);
		if (cw < 0) {
			wc = L'?';
			cw = 1;
		}
		if (cw == 0 && nb == 0)
			continue;
		if (cols + cw > maxw) {
			/* cut: only blanks left is no cut at all */
			cut = wc != L' ';
			for (size_t j = i; j < n && !cut; j++)
				cut = s[j] != ' ';
			break;
		}
		buf[nb++] = wc;
		cols += cw;
		if (cols <= maxw - 1) {
			keep_nb = nb;
			keep_cols = cols;
		}
	}
	if (cut) {
		while (keep_nb > 0 && buf[keep_nb - 1] == L' ') {
			keep_nb--;
			keep_cols--;
		}
		buf[keep_nb++] = ellipsis();
		nb = keep_nb;
		cols = keep_cols + 1;
	}
	buf[nb] = 0;
	*cols_out = cols;
	return nb;
}

int es_scr_text(int y, int x, int maxw, attr_t attr, const char *s)
{
	wchar_t buf[512];
	int cols = 0, nb;

	if (!s || maxw <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + maxw > COLS)
		maxw = COLS - x;
	nb = fit_wide(s, maxw, buf, (int)(sizeof(buf) / sizeof(buf[0])), &cols);
	attrset(attr);
	mvaddnwstr(y, x, buf, nb);
	attrset(A_NORMAL);
	return cols;
}

int es_scr_cell(int y, int x, int w, attr_t attr, const char *s)
{
	if (w <= 0)
		return 0;
	es_scr_fill((struct es_rect){y, x, 1, w}, attr);
	es_scr_text(y, x, w, attr, s);
	return w;
}

char *es_scr_fit(char *out, size_t len, const char *s, int w)
{
	wchar_t buf[512];
	mbstate_t st;
	int cols, nb;
	size_t o = 0;

	if (!len)
		return out;
	nb = fit_wide(s ? s : "", w < 0 ? 0 : w, buf, (int)(sizeof(buf) / sizeof(buf[0])), &cols);
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < nb; i++) {
		char mb[MB_LEN_MAX];
		size_t k = wcrtomb(mb, buf[i], &st);
		if (k == (size_t)-1) {
			mb[0] = '?';
			k = 1;
		}
		if (o + k >= len)
			break;
		memcpy(out + o, mb, k);
		o += k;
	}
	out[o] = 0;
	return out;
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
	/* written aside and renamed: whoever waits for the file reads it whole */
	size_t n = strlen(path) + sizeof(".part");
	char *part = malloc(n);
	FILE *f;
	int rc;

	if (!part)
		return -1;
	snprintf(part, n, "%s.part", path);
	if (!(f = fopen(part, "w"))) {
		free(part);
		return -1;
	}
	rc = es_scr_dump(f);
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(part, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(part);
	free(part);
	return rc;
}

bool es_scr_shows(const char *text)
{
	char *dump = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&dump, &len);
	bool found;
	int rc;

	if (!m)
		return false;
	rc = es_scr_dump(m);
	if (fclose(m) != 0)
		rc = -1;
	found = rc == 0 && dump && strstr(dump, text);
	free(dump);
	return found;
}

/* "red on default, bold reverse": what a cell looks like. */
static void describe_style(attr_t attr, short pair, char *buf, size_t len)
{
	static const struct {
		attr_t bit;
		const char *name;
	} bits[] = {
	        {A_BOLD, "bold"},         {A_DIM, "dim"},     {A_UNDERLINE, "underline"},
	        {A_REVERSE, "reverse"},   {A_BLINK, "blink"}, {A_ITALIC, "italic"},
	        {A_STANDOUT, "standout"},
	};
	static const char *const colours[] = {"black", "red",     "green", "yellow",
	                                      "blue",  "magenta", "cyan",  "white"};
	short fg = -1, bg = -1;
	size_t o = 0;

	if (pair > 0)
		pair_content(pair, &fg, &bg);
	if (pair > 0) {
		char f[16], b[16];
		snprintf(f, sizeof(f), "%s", fg < 0 ? "default" : fg < 8 ? colours[fg] : "");
		if (fg >= 8)
			snprintf(f, sizeof(f), "color%d", fg);
		snprintf(b, sizeof(b), "%s", bg < 0 ? "default" : bg < 8 ? colours[bg] : "");
		if (bg >= 8)
			snprintf(b, sizeof(b), "color%d", bg);
		o += (size_t)snprintf(buf, len, "%s on %s", f, b);
	} else {
		o += (size_t)snprintf(buf, len, "no colour");
	}
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]) && o < len; i++)
		if ((attr & bits[i].bit) == bits[i].bit && bits[i].bit != A_STANDOUT)
			o += (size_t)snprintf(buf + o, len - o, ", %s", bits[i].name);
}

int es_scr_dump_attrs(FILE *f, const char *(*name_of)(attr_t attr, void *ud), void *ud)
{
	static const char codes[] =
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	attr_t seen[sizeof(codes) - 1];
	size_t n_seen = 0;
	char *grid = calloc((size_t)LINES * ((size_t)COLS + 1), 1);

	if (!grid)
		return -1;
	for (int y = 0; y < LINES; y++) {
		char *line = grid + (size_t)y * ((size_t)COLS + 1);
		int len = 0, keep = 0;
		for (int x = 0; x < COLS; x++) {
			cchar_t cc;
			wchar_t wch[CCHARW_MAX + 1] = {0};
			attr_t attr = 0;
			short pair = 0;
			if (mvin_wch(y, x, &cc) == ERR)
				break;
			getcchar(&cc, wch, &attr, &pair, NULL);
			attr = (attr & ~(A_ALTCHARSET | A_COLOR)) |
			       (pair > 0 ? COLOR_PAIR(pair) : 0);
			char code = ' ';
			if (attr) {
				size_t k = 0;
				while (k < n_seen && seen[k] != attr)
					k++;
				if (k == n_seen && n_seen < sizeof(seen) / sizeof(seen[0]))
					seen[n_seen++] = attr;
				code = k < n_seen ? codes[k] : '?';
			}
			line[len++] = code;
			if (code != ' ')
				keep = len;
			/* one code per character, as the text dump has one per character */
			if (wcwidth(ascii_of(wch[0] ? wch[0] : L' ', attr)) == 2)
				x++;
		}
		line[keep] = 0;
	}
	for (size_t k = 0; k < n_seen; k++) {
		char style[160];
		const char *name = name_of ? name_of(seen[k], ud) : NULL;
		describe_style(seen[k] & ~A_COLOR, (short)PAIR_NUMBER(seen[k]), style,
		               sizeof(style));
		fprintf(f, "%c: %s (%s)\n", codes[k], name && *name ? name : "?", style);
	}
	fprintf(f, "--\n");
	for (int y = 0; y < LINES; y++)
		fprintf(f, "%s\n", grid + (size_t)y * ((size_t)COLS + 1));
	free(grid);
	return ferror(f) ? -1 : 0;
}
