/* The ncurses release dashboard: entry point from the command line. */
#ifndef ES_DASHBOARD_H
#define ES_DASHBOARD_H

#include "cli/cli.h"

/* Open the dashboard in the current repository; returns the exit code. */
int es_dashboard_main(struct es_cli *cli);

#endif
