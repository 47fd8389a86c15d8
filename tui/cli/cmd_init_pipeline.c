/* `edgeship init --pipeline`: write the CloudFormation template of a
 * CodePipeline for this repository's edgeship.conf (core/pipegen), never
 * over an existing file unless --force. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "cli.h"
#include "conf.h"
#include "pipegen/pipegen.h"
#include "repo.h"
#include "report.h"

#define USAGE                                                                                      \
	"usage: edgeship init --pipeline [--source s3|codestar] [--connection-arn ARN "            \
	"--repository OWNER/NAME --branch BRANCH] [--deploy-mode change-set|create-update] "       \
	"[--name NAME] [--output FILE] [--force] [--json]"

struct init_args {
	struct es_pipegen_opts gen;
	const char *output; /* NULL: pipeline.yaml at the repository root; "-": stdout */
	bool force;
};

/* The value of option name at argv[*i] ("--name V" or "--name=V"), or NULL. */
static const char *value_of(struct es_cli *cli, int *i, const char *name, bool *missing)
{
	const char *a = cli->argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= cli->argc) {
		*missing = true;
		return NULL;
	}
	return cli->argv[++*i];
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;

	es_fprintf(stderr, "edgeship init: ");
	va_start(ap, fmt);
	es_vfprintf(stderr, fmt, ap);
	va_end(ap);
	es_fprintf(stderr, "\n%s\n", USAGE);
	return ES_EXIT_USAGE;
}

static int parse(struct es_cli *cli, struct init_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < cli->argc; i++) {
		const char *s = cli->argv[i], *v;
		bool missing = false;
		if (!strcmp(s, "--pipeline") || !strcmp(s, "--json"))
			continue;
		if (!strcmp(s, "--force")) {
			a->force = true;
		} else if ((v = value_of(cli, &i, "--source", &missing))) {
			if (!strcmp(v, "s3"))
				a->gen.source = ES_PIPEGEN_S3;
			else if (!strcmp(v, "codestar"))
				a->gen.source = ES_PIPEGEN_CODESTAR;
			else
				return usage("--source takes s3 or codestar, not '%s'", v);
		} else if ((v = value_of(cli, &i, "--deploy-mode", &missing))) {
			if (!strcmp(v, "change-set"))
				a->gen.mode = ES_PIPEGEN_CHANGE_SET;
			else if (!strcmp(v, "create-update"))
				a->gen.mode = ES_PIPEGEN_CREATE_UPDATE;
			else
				return usage(
				        "--deploy-mode takes change-set or create-update, not '%s'",
				        v);
		} else if ((v = value_of(cli, &i, "--connection-arn", &missing))) {
			a->gen.connection_arn = v;
		} else if ((v = value_of(cli, &i, "--repository", &missing))) {
			a->gen.repository = v;
		} else if ((v = value_of(cli, &i, "--branch", &missing))) {
			a->gen.branch = v;
		} else if ((v = value_of(cli, &i, "--name", &missing))) {
			a->gen.name = v;
		} else if ((v = value_of(cli, &i, "--output", &missing))) {
			a->output = v;
		} else if (missing) {
			return usage("%s needs a value", s);
		} else {
			return usage("unexpected '%s'", s);
		}
	}
	const char *why = es_pipegen_check_opts(&a->gen);
	if (why)
		return usage("%s", why);
	if (a->output && !a->output[0])
		return usage("%s", "--output takes a file name, or - for stdout");
	if (a->output && !strcmp(a->output, "-") && cli->json)
		return usage("%s", "--output - prints the template: it cannot go with --json");
	return ES_EXIT_OK;
}

/* Write text to path through a temporary file beside it: linked in place
 * (so an existing file is never replaced, even by a race) or, with force,
 * renamed over it. */
static int write_file(const char *path, const char *text, bool force)
{
	size_t len = strlen(path), n = strlen(text);
	char *tmp = malloc(len + 16);
	int fd, rc = ES_OK;

	if (!tmp)
		return es_fail(ES_ENOMEM, "out of memory");
	snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		rc = es_fail(ES_ERR, "cannot write %s: %s", path, strerror(errno));
		free(tmp);
		return rc;
	}
	if (fchmod(fd, 0644) != 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) != 0)
		rc = es_fail(ES_ERR, "cannot write %s: %s", path, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = es_fail(ES_ERR, "cannot write %s: %s", path, strerror(errno));
	if (!rc && force && rename(tmp, path) != 0)
		rc = es_fail(ES_ERR, "cannot write %s: %s", path, strerror(errno));
	if (!rc && !force && link(tmp, path) != 0)
		rc = errno == EEXIST
		             ? es_fail(ES_ERR,
		                       "%s already exists: pass --force to replace it, or "
		                       "--output FILE to write another",
		                       path)
		             : es_fail(ES_ERR, "cannot write %s: %s", path, strerror(errno));
	if (rc || !force)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* edgeship.conf at the root of the repository around the current directory. */
static int open_config(struct es_config **conf)
{
	struct es_repo *repo = NULL;
	char path[4096];
	int rc = es_repo_discover(NULL, &repo);

	*conf = NULL;
	if (rc == ES_ENOTFOUND)
		rc = es_fail(ES_ECONFIG,
		             "not inside a git repository: run it where edgeship.conf is");
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", es_repo_root(repo), ES_CONFIG_FILE);
	es_repo_free(repo);
	rc = es_config_load(path, conf);
	if (rc == ES_ENOTFOUND)
		rc = es_fail(ES_ECONFIG, "%s not found: run `edgeship init` to write one", path);
	return rc;
}

/* Whether the pipeline validates stage i: a stage another promotes from,
 * or, when no stage promotes from another, every stage but the last. */
static bool validated(const struct es_config *conf, size_t i)
{
	bool chain = false;

	for (size_t k = 0; k < conf->n_stages; k++) {
		const char *from = conf->stages[k].promotes_from;
		if (!from)
			continue;
		chain = true;
		if (strcmp(from, conf->stages[i].name) == 0)
			return true;
	}
	return !chain && i + 1 < conf->n_stages;
}

/* The validator refuses an answer from CloudFront's cache (an older copy
 * proves nothing about the release): say so for validated stages that give
 * it no probe-bypass to ask past the cache. */
static void note_cache(const struct es_config *conf)
{
	char names[512] = "";
	size_t len = 0;

	if (conf->probe_bypass)
		return;
	for (size_t i = 0; i < conf->n_stages && len < sizeof(names); i++)
		if (validated(conf, i) && !conf->stages[i].probe_bypass)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
			                        len ? ", " : "", conf->stages[i].name);
	if (names[0])
		es_fprintf(
		        stderr,
		        "note: without probe-bypass (%s), a validator fails when CloudFront "
		        "answers it from its cache, since a cached copy may be an older release: "
		        "give those stages a probe-bypass (a path or query the cache never "
		        "answers), or invalidate after each deploy\n",
		        names);
}

int es_cmd_init_pipeline(struct es_cli *cli)
{
	struct init_args a;
	struct es_config *conf = NULL;
	char path[4096];
	char *yaml = NULL;
	int rc = parse(cli, &a);

	if (rc)
		return rc;
	if ((rc = open_config(&conf)))
		goto fail;
	if (a.output)
		snprintf(path, sizeof(path), "%s", a.output);
	else
		snprintf(path, sizeof(path), "%s/pipeline.yaml", conf->root);
	if ((rc = es_pipegen_yaml(conf, &a.gen, &yaml)))
		goto fail;
	note_cache(conf);
	if (!strcmp(path, "-")) {
		fputs(yaml, stdout);
	} else if ((rc = write_file(path, yaml, a.force))) {
		goto fail;
	} else if (cli->json) {
		const char *kv[] = {"path", path, NULL};
		char *j = es_report_ok_json("init", kv);
		if (j)
			puts(j);
		free(j);
	} else {
		es_printf("wrote %s: deploy it with aws cloudformation deploy --template-file %s "
		          "--stack-name STACK --capabilities CAPABILITY_IAM (its first lines say "
		          "more)\n",
		          path, path);
	}
	free(yaml);
	es_config_free(conf);
	return ES_EXIT_OK;
fail:
	free(yaml);
	es_config_free(conf);
	return es_cli_fail(cli, "init", rc);
}
