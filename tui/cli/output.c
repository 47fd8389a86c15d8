/* How a headless command ends: the exit code for a core status, and the
 * last core error reported as text or JSON. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
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
		fprintf(stderr, "edgeship %s: %s\n", command,
		        es_error_format(e, line, sizeof(line)));
	}
	return es_cli_exit_for(status);
}
