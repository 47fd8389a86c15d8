/* edgeship's entry point: headless commands today, the dashboard when run
 * without one. */
#include "config.h"

#include <locale.h>

#include "cli/cli.h"
#include "cli/signals.h"

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	es_signals_ignore_pipe();
	return es_cli_main(argc, argv);
}
