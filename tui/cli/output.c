/* How a headless command speaks: every line it prints goes through
 * es_fprintf(), which strips what a terminal would obey from text that came
 * from AWS, git or the configuration; tables that fit the terminal; the exit
 * code for a core status; the last core error reported as text or JSON. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"
#include "cli.h"
#include "report.h"

int es_cli_exit_for(int status)
{
	switch (status) {
	case ES_OK: return ES_EXIT_OK;
	case ES_ECONFIG:
	case ES_ECREDS: return ES_EXIT_CONFIG;
	case ES_EREFUSED:
	case ES_EBUSY: return ES_EXIT_REFUSED;
	case ES_ECANCELLED: return ES_EXIT_CANCELLED;
	case ES_EINVAL: return ES_EXIT_USAGE;
	default: return ES_EXIT_FAILURE;
	}
}

int es_cli_fail(const struct es_cli *cli, const char *command, int status)
{
	const struct es_error *e = es_error_last();
	char line[1400];

	if (cli->json) {
		char *j = es_report_error_json(command, e);
		if (j)
			puts(j);
		free(j);
	} else {
		es_fprintf(stderr, "edgeship %s: %s\n", command,
		           es_error_format(e, line, sizeof(line)));
	}
	return es_cli_exit_for(status);
}

int es_vfprintf(FILE *f, const char *fmt, va_list ap)
{
	char small[1024], *buf = small;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (buf)
			vsnprintf(buf, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	if (n < 0 || !buf)
		return -1;
	es_sanitize(buf, true);
	fputs(buf, f);
	if (buf != small)
		free(buf);
	return n;
}

int es_fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = es_vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int es_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = es_vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}

/* ------------------------------------------------------------ tables */

int es_cli_width(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	long n = env ? strtol(env, NULL, 10) : 0;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return n >= 20 && n <= 1000 ? (int)n : 80;
}

/* Display columns of UTF-8 text: one per code point (the text is
 * sanitised, so valid and without controls). */
static int text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Byte offset of the code point that starts display column col. */
static size_t offset_of(const char *s, int col)
{
	size_t i = 0;

	for (int n = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == col)
			return i;
	}
	return i;
}

/* Append cell to line, cut to w columns (with "…" where it was cut) and
 * padded to w unless pad is false. */
static void put_cell(char **p, const char *cell, int w, bool cut_left, bool pad)
{
	int len = text_width(cell);

	if (len <= w) {
		*p += sprintf(*p, "%s", cell);
	} else if (w > 0 && cut_left) {
		*p += sprintf(*p, "\u2026%s", cell + offset_of(cell, len - (w - 1)));
		len = w;
	} else if (w > 0) {
		size_t keep = offset_of(cell, w - 1);
		memcpy(*p, cell, keep);
		*p += keep;
		*p += sprintf(*p, "\u2026");
		len = w;
	} else {
		len = 0;
	}
	while (pad && len++ < w)
		*(*p)++ = ' ';
	**p = '\0';
}

void es_table_print(FILE *f, int width, const struct es_column *cols, size_t n_cols, char **cells,
                    size_t n_rows)
{
	int w[n_cols ? n_cols : 1], total = 0, shown = 0, worst = 0;
	size_t line_len = 0;

	for (size_t j = 0; j < n_cols; j++) {
		w[j] = 0;
		for (size_t i = 0; i < n_rows; i++) {
			char *c = cells[i * n_cols + j];
			es_sanitize(c, false);
			int len = text_width(c);
			w[j] = len > w[j] ? len : w[j];
			line_len += strlen(c) + 1;
		}
		/* A column nobody filled takes no room at all. */
		if (w[j]) {
			total += w[j] + (shown++ ? 1 : 0);
			line_len += (size_t)w[j] + 4;
		}
		worst = cols[j].shrink > worst ? cols[j].shrink : worst;
	}
	/* Too wide: the columns that give way first shrink first, each down to
	 * its minimum; what no shrinking saves is cut at the end of the row. */
	for (int rank = 1; rank <= worst && total > width; rank++)
		for (size_t j = 0; j < n_cols && total > width; j++) {
			if (cols[j].shrink != rank || w[j] <= cols[j].min)
				continue;
			int give = total - width < w[j] - cols[j].min ? total - width
			                                              : w[j] - cols[j].min;
			w[j] -= give;
			total -= give;
		}
	char *line = malloc(line_len + 8);
	if (!line)
		return;
	for (size_t i = 0; i < n_rows; i++) {
		char *p = line;
		size_t last = n_cols;
		for (size_t j = 0; j < n_cols; j++)
			if (w[j] && cells[i * n_cols + j][0])
				last = j;
		bool first = true;
		for (size_t j = 0; j < n_cols && last < n_cols && j <= last; j++) {
			if (!w[j])
				continue;
			if (!first)
				*p++ = ' ';
			first = false;
			put_cell(&p, cells[i * n_cols + j], w[j], cols[j].cut_left, j < last);
		}
		*p = '\0';
		if (text_width(line) > width) {
			p = line + offset_of(line, width - 1);
			sprintf(p, "\u2026");
		}
		fputs(line, f);
		fputc('\n', f);
	}
	free(line);
}
