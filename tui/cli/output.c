/* How a headless command speaks: every line it prints goes through
 * es_fprintf(), which strips what a terminal would obey from text that came
 * from AWS, git or the configuration; the exit code for a core status; the
 * last core error reported as text or JSON. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
