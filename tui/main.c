/* edgeship's entry point: headless commands today, the dashboard when run
 * without one. */
#include "config.h"

#include <locale.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	return es_cli_main(argc, argv);
}
