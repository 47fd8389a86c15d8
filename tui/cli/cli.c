/* The subcommand table and the headless commands built so far. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "aws/client.h"
#include "cli.h"
#include "base/error.h"
#include "identity.h"
#include "base/loop.h"
#include "dash/dashboard.h"
#include "help.h"
#include "whoami_stages.h"

typedef int (*cmd_fn)(struct es_cli *cli);

static int cmd_whoami(struct es_cli *cli);

/* "90", "90s", "45m", "2h" into seconds (> 0). */
static int parse_duration(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	long unit = 1;

	if (end == s || v <= 0)
		return -1;
	if (*end == 'h')
		unit = 3600;
	else if (*end == 'm')
		unit = 60;
	else if (*end == 's' || *end == '\0')
		unit = 1;
	else
		return -1;
	if (*end && end[1])
		return -1;
	if (v > 7L * 24 * 3600 / unit)
		return -1;
	*out = v * unit;
	return 0;
}
static int cmd_help(struct es_cli *cli);
static int cmd_version(struct es_cli *cli);

/* One row per subcommand, dispatched by name. What each takes and means is
 * in help.c's table (tests/unit/help.py checks every row has its help). */
#define ES_COMMANDS(X)                                                                             \
	X("init", es_cmd_init)                                                                     \
	X("status", es_cmd_status)                                                                 \
	X("deploy", es_cmd_deploy)                                                                 \
	X("package", es_cmd_package)                                                               \
	X("promote", es_cmd_promote)                                                               \
	X("validate", es_cmd_validate)                                                             \
	X("invalidate", es_cmd_invalidate)                                                         \
	X("rollback", es_cmd_rollback)                                                             \
	X("revert", es_cmd_revert)                                                                 \
	X("watch", es_cmd_watch)                                                                   \
	X("unlock", es_cmd_unlock)                                                                 \
	X("drift", es_cmd_drift)                                                                   \
	X("recover", es_cmd_recover)                                                               \
	X("destroy", es_cmd_destroy)                                                               \
	X("cleanup", es_cmd_cleanup)                                                               \
	X("pipeline", es_cmd_pipeline)                                                             \
	X("canary", es_cmd_canary)                                                                 \
	X("log", es_cmd_log)                                                                       \
	X("whoami", cmd_whoami)                                                                    \
	X("help", cmd_help)                                                                        \
	X("version", cmd_version)

static const struct command {
	const char *name;
	cmd_fn fn;
} commands[] = {
#define ROW(name, fn) {name, fn},
        ES_COMMANDS(ROW)
#undef ROW
};

static cmd_fn find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].fn;
	return NULL;
}

/* `edgeship help [COMMAND]` (argv[0] being "help"); the hidden --man,
 * --man-conf and --completion SHELL print the files `make` installs. */
static int help_main(int argc, char **argv)
{
	if (argc < 2) {
		es_help_print_usage(stdout);
		return ES_EXIT_OK;
	}
	const char *a = argv[1];
	if (argc > 2 && strcmp(a, "--completion") != 0) {
		fprintf(stderr, "edgeship help: one command at a time, e.g. edgeship help %s\n", a);
		return ES_EXIT_USAGE;
	}
	if (strcmp(a, "--man") == 0) {
		es_help_man(stdout);
		return ES_EXIT_OK;
	}
	if (strcmp(a, "--man-conf") == 0) {
		es_help_man_conf(stdout);
		return ES_EXIT_OK;
	}
	if (strcmp(a, "--completion") == 0) {
		if (argc == 3 && es_help_completion(stdout, argv[2]) == 0)
			return ES_EXIT_OK;
		fprintf(stderr, "edgeship help: --completion takes bash, zsh or fish\n");
		return ES_EXIT_USAGE;
	}
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		a = "help";
	const struct es_help_command *c = es_help_find(a);
	if (!c) {
		es_fprintf(stderr,
		           "edgeship help: there is no command '%s'; the commands are: ", a);
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			fprintf(stderr, "%s%s", i ? ", " : "", commands[i].name);
		fputc('\n', stderr);
		return ES_EXIT_USAGE;
	}
	es_help_print_command(stdout, c);
	return ES_EXIT_OK;
}

static int cmd_help(struct es_cli *cli)
{
	return help_main(cli->argc, cli->argv);
}

static int cmd_version(struct es_cli *cli)
{
	if (cli->json)
		es_printf("{\"version\": \"%s\"}\n", PACKAGE_VERSION);
	else
		es_printf("edgeship %s\n", PACKAGE_VERSION);
	return ES_EXIT_OK;
}

static int cmd_whoami(struct es_cli *cli)
{
	struct es_loop *loop = es_loop_new();
	struct es_aws_client *aws = NULL;
	struct es_aws_options opt = {.profile = cli->profile, .region = cli->region};
	struct es_identity id;
	int rc, code;

	memset(&id, 0, sizeof(id));
	if (!loop)
		return es_cli_fail(cli, "whoami", ES_ERR);
	rc = es_aws_open(loop, &opt, &aws);
	if (!rc)
		rc = es_identity_fetch(aws, &id);
	code = rc ? es_cli_fail(cli, "whoami", rc) : es_whoami_print(cli, aws, &id);
	es_identity_free(&id);
	es_aws_client_free(aws);
	es_loop_free(loop);
	return code;
}

/* Subcommand options followed by a value (command: the subcommand). */
static bool takes_value(const char *command, const char *a)
{
	static const char *const with_value[] = {"--stage",         "-s",    "--to", "--timeout",
	                                         "--poll-interval", "--skip"};

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (strcmp(a, with_value[i]) == 0)
			return true;
	/* pipeline's and canary's own (init --pipeline is a flag there) */
	if (strcmp(command, "canary") == 0)
		return strcmp(a, "--weight") == 0 || strcmp(a, "--header") == 0;
	return strcmp(command, "pipeline") == 0 &&
	       (strcmp(a, "--comment") == 0 || strcmp(a, "--pipeline") == 0 ||
	        strcmp(a, "--execution") == 0);
}

int es_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"profile", required_argument, NULL, 'p'},
	        {"region", required_argument, NULL, 'r'},
	        {"json", no_argument, NULL, 'j'},
	        {"read-only", no_argument, NULL, 'R'},
	        {"theme", required_argument, NULL, 't'},
	        {"script", required_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	struct es_cli cli = {0};
	int c;

	/* '+' stops at the subcommand; its own options are parsed by it. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'p': cli.profile = optarg; break;
		case 'r': cli.region = optarg; break;
		case 'j': cli.json = true; break;
		case 'R': cli.read_only = true; break;
		case 't': cli.theme = optarg; break;
		case 'S': cli.script = optarg; break;
		case 'h': es_help_print_usage(stdout); return ES_EXIT_OK;
		case 'V': return cmd_version(&cli);
		default:
			fprintf(stderr, "edgeship: see edgeship --help for the global options\n");
			return ES_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return es_dashboard_main(&cli);
	const char *name = argv[optind];
	cli.argc = argc - optind;
	cli.argv = argv + optind;
	cmd_fn fn = find_command(name);
	if (!fn) {
		es_fprintf(stderr, "edgeship: unknown command '%s' (see edgeship --help)\n", name);
		return ES_EXIT_USAGE;
	}
	/* help reads its own arguments; COMMAND --help is help COMMAND. */
	if (fn == cmd_help)
		return cmd_help(&cli);
	for (int i = 1; i < cli.argc; i++)
		if (strcmp(cli.argv[i], "--help") == 0 || strcmp(cli.argv[i], "-h") == 0)
			return help_main(2, (char *[]){"help", (char *)name, NULL});
	/* init --pipeline reads options of its own (cmd_init_pipeline.c). */
	bool init_pipeline = false;
	for (int i = 1; i < cli.argc && strcmp(name, "init") == 0; i++)
		init_pipeline |= strcmp(cli.argv[i], "--pipeline") == 0;
	/* Subcommand options, shared by all commands that take them. */
	for (int i = 1; i < cli.argc; i++) {
		const char *a = cli.argv[i];
		if (strcmp(a, "--json") == 0) {
			cli.json = true;
		} else if (strcmp(a, "--read-only") == 0) {
			cli.read_only = true;
		} else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) {
			cli.yes = true;
		} else if ((strcmp(a, "--stage") == 0 || strcmp(a, "-s") == 0) &&
		           i + 1 < cli.argc) {
			cli.stage = cli.argv[++i];
		} else if (strncmp(a, "--stage=", 8) == 0) {
			cli.stage = a + 8;
		} else if (strcmp(a, "--poll-interval") == 0 && i + 1 < cli.argc) {
			cli.poll_ms = atol(cli.argv[++i]);
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < cli.argc) {
			if (parse_duration(cli.argv[++i], &cli.timeout_s) != 0) {
				es_fprintf(
				        stderr,
				        "edgeship %s: --timeout takes a duration such as 90s, 45m "
				        "or "
				        "2h, not '%s'\n",
				        name, cli.argv[i]);
				return ES_EXIT_USAGE;
			}
		} else if (strcmp(a, "--to") == 0 && i + 1 < cli.argc) {
			cli.to = cli.argv[++i];
		} else if (strncmp(a, "--to=", 5) == 0) {
			cli.to = a + 5;
		} else if (strcmp(a, "--wait") == 0) {
			cli.wait = true;
		} else if (strcmp(a, "--deploy") == 0) {
			cli.deploy = true;
		} else if (strcmp(a, "--guard") == 0) {
			cli.guard = true;
		} else if ((a[0] != '-' || a[1] == '\0') && cli.n_args < 64) {
			/* Revisions and invalidation paths are positional. */
			if (!cli.rev)
				cli.rev = a;
			cli.args[cli.n_args++] = a;
		} else if (i + 1 == cli.argc && takes_value(name, a)) {
			es_fprintf(stderr, "edgeship %s: %s needs a value (see edgeship help %s)\n",
			           name, a, name);
			return ES_EXIT_USAGE;
		} else if (strcmp(name, "recover") == 0 && strcmp(a, "--skip") == 0 &&
		           i + 1 < cli.argc) {
			i++; /* read by cmd_ops.c */
		} else if (strcmp(name, "recover") == 0 && strncmp(a, "--skip=", 7) == 0) {
			continue;
		} else if (strcmp(name, "destroy") == 0 && strcmp(a, "--force") == 0) {
			continue; /* read by cmd_destroy.c */
		} else if (strcmp(name, "pipeline") == 0 &&
		           (strcmp(a, "--comment") == 0 || strcmp(a, "--pipeline") == 0 ||
		            strcmp(a, "--execution") == 0) &&
		           i + 1 < cli.argc) {
			i++; /* read by cmd_pipeline.c */
		} else if (strcmp(name, "pipeline") == 0 &&
		           (strcmp(a, "--abandon") == 0 || strncmp(a, "--comment=", 10) == 0 ||
		            strncmp(a, "--pipeline=", 11) == 0 ||
		            strncmp(a, "--execution=", 12) == 0)) {
			continue;
		} else if (strcmp(name, "canary") == 0 &&
		           (strcmp(a, "--weight") == 0 || strcmp(a, "--header") == 0) &&
		           i + 1 < cli.argc) {
			i++; /* read by cmd_canary.c */
		} else if (strcmp(name, "canary") == 0 &&
		           (strncmp(a, "--weight=", 9) == 0 || strncmp(a, "--header=", 9) == 0)) {
			continue;
		} else if (strcmp(name, "package") == 0 && a[0] == '-' && a[1]) {
			continue; /* its own options, read by cmd_package.c */
		} else if (init_pipeline && a[0] == '-' && a[1]) {
			continue; /* init --pipeline's options, read by cmd_init_pipeline.c */
		} else {
			es_fprintf(stderr,
			           "edgeship %s: unknown option '%s' (see edgeship help %s)\n",
			           name, cli.argv[i], name);
			return ES_EXIT_USAGE;
		}
	}
	return fn(&cli);
}
