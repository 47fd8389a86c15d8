/* `edgeship package REV`: what a deploy of REV would upload, computed from
 * the commit's own tree, uploaded where S3 lacks it (unless --no-upload),
 * and compared with the commit before it. Nothing is deployed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "build_repro.h"
#include "cmd.h"
#include "package_commit.h"
#include "signals.h"

struct package_args {
	const char *rev;
	const char *output_template;
	bool no_upload;
	bool check_reproducible;
};

/* Its own options: the shared parser leaves them to the command (and
 * answers --help itself, from tui/cli/help.c). */
static int parse(struct es_cli *cli, struct package_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < cli->argc; i++) {
		const char *s = cli->argv[i];
		if (!strcmp(s, "--no-upload")) {
			a->no_upload = true;
		} else if (!strcmp(s, "--check-reproducible")) {
			a->check_reproducible = true;
		} else if (!strcmp(s, "--output-template") && i + 1 < cli->argc) {
			a->output_template = cli->argv[++i];
		} else if (!strncmp(s, "--output-template=", 18) && s[18]) {
			a->output_template = s + 18;
		} else if (!strcmp(s, "--json") || !strcmp(s, "--read-only")) {
			continue; /* read by the shared parser */
		} else if (s[0] != '-' && !a->rev) {
			a->rev = s;
		} else {
			es_fprintf(
			        stderr,
			        "edgeship package: unexpected '%s'; usage: edgeship package [REV] "
			        "[--json] [--output-template FILE] [--no-upload] "
			        "[--check-reproducible]\n",
			        s);
			return ES_EXIT_USAGE;
		}
	}
	if (!a->rev)
		a->rev = "HEAD";
	return ES_EXIT_OK;
}

static const char *human_size(size_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MB", (double)n / (1024 * 1024));
	else if (n >= 1024)
		snprintf(buf, len, "%.1f kB", (double)n / 1024);
	else
		snprintf(buf, len, "%zu B", n);
	return buf;
}

static void print_text(const char *commit, const struct es_config *conf,
                       const struct es_packaged *pk, const enum es_upload_state *states,
                       const struct es_package_compare *cmp, const char *output_template)
{
	char size[32];

	es_printf("commit    %s\n", commit);
	for (size_t i = 0; i < pk->n_artifacts; i++) {
		const struct es_artifact *a = &pk->artifacts[i];
		es_printf("artifact  %s %s (%s): %s\n", a->logical_id, a->property, a->template,
		          a->rel_path);
		es_printf("          s3://%s/%s\n", conf->bucket, a->s3_key);
		es_printf("          sha256 %s, %s, %s%s\n", a->sha256,
		          human_size(a->bytes.len, size, sizeof(size)),
		          es_upload_state_name(states[i]),
		          cmp->compared && !cmp->artifact_new[i] ? ", as in the parent" : "");
	}
	es_printf("template  %s\n", conf->template_path);
	es_printf("          s3://%s/%s\n", conf->bucket, pk->template_key);
	es_printf("          sha256 %s, %s, %s\n", pk->template_sha256,
	          human_size(strlen(pk->template_json), size, sizeof(size)),
	          es_upload_state_name(states[pk->n_artifacts]));
	if (output_template)
		es_printf("written   %s\n", output_template);
	if (!cmp->compared)
		es_printf("change    %s\n", cmp->note);
	else if (cmp->changed)
		es_printf("change    changed since the parent %.7s\n", cmp->parent);
	else
		es_printf("change    no change since the parent %.7s: the same packaged template "
		          "and artifacts\n",
		          cmp->parent);
}

static int write_template(const char *path, const struct es_packaged *pk)
{
	FILE *f = fopen(path, "wb");
	size_t n = strlen(pk->template_json);

	if (!f)
		return es_fail(ES_ERR, "--output-template %s: cannot write it", path);
	if (fwrite(pk->template_json, 1, n, f) != n || fclose(f) != 0)
		return es_fail(ES_ERR, "--output-template %s: write failed", path);
	return ES_OK;
}

/* The build's output, line by line, on the progress stream (the CI log). */
static void on_build_line(const char *line, void *ud)
{
	FILE *out = ud;

	es_fprintf(out, "build: %s\n", line);
	fflush(out);
}

static bool interrupted(void *ud)
{
	(void)ud;
	return es_cli_signal() != 0;
}

static void print_build(FILE *out, const struct es_build_info *b)
{
	if (!b->configured)
		return;
	if (b->cache_hit)
		es_fprintf(out, "build     not run: cache hit (key %.12s, tree %.12s)\n", b->key,
		           b->tree);
	else if (b->ran)
		es_fprintf(out, "build     ran in %.1f s (cache miss, key %.12s, tree %.12s)\n",
		           b->duration_ms / 1000.0, b->key, b->tree);
}

static void print_diffs(FILE *out, const struct es_build_diff *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i].file)
			es_fprintf(out, "          %s: %s %s\n", d[i].artifact, d[i].file,
			           d[i].what);
		else
			es_fprintf(out, "          %s %s\n", d[i].artifact, d[i].what);
	}
}

/* What --check-reproducible found, as lines (on stdout without --json). */
static void print_repro(FILE *out, const struct es_repro_check *r)
{
	if (r->same)
		es_fprintf(out, "reproducible  two fresh builds gave the same artifacts\n");
	else {
		es_fprintf(out, "reproducible  no: two fresh builds of the same commit differ (a "
		                "timestamp or a random\n"
		                "              value in a build output?):\n");
		print_diffs(out, r->diffs, r->n_diffs);
	}
	if (r->cached && !r->cached_same) {
		es_fprintf(out, "reproducible  the build cache's earlier build differs:\n");
		print_diffs(out, r->cache_diffs, r->n_cache_diffs);
	}
}

int es_cmd_package(struct es_cli *cli)
{
	struct package_args a;
	struct ctx c;
	struct es_packaged pk = {0};
	struct es_package_compare cmp = {0};
	struct es_build_info build = {0};
	struct es_repro_check repro = {0};
	enum es_upload_state *states = NULL;
	char commit[41] = "";
	bool not_reproducible = false;
	int rc, code;

	if ((code = parse(cli, &a)) != ES_EXIT_OK)
		return code;
	if (cli->read_only && !a.no_upload) {
		es_fprintf(progress(cli), "read-only: nothing is uploaded (as with --no-upload)\n");
		a.no_upload = true;
	}
	es_cli_signals_install();
	struct es_package_run run = {
	        .line = on_build_line,
	        .line_ud = progress(cli),
	        .cancelled = interrupted,
	};
	rc = ctx_open(cli, &c, !a.no_upload);
	if (!rc) {
		es_fprintf(progress(cli), "packaging %s of %s from git\n", c.conf->template_path,
		           a.rev);
		fflush(progress(cli));
		if (a.check_reproducible) {
			rc = es_package_check_reproducible(c.repo, c.conf, a.rev, &run, commit, &pk,
			                                   &repro);
			build = repro.first;
			not_reproducible =
			        !rc && (!repro.same || (repro.cached && !repro.cached_same));
		} else {
			rc = es_package_commit(c.repo, c.conf, a.rev, &run, commit, &pk, &build);
		}
	}
	if (!rc)
		rc = es_package_compare_parent(c.repo, c.conf, commit, &pk, &run, &cmp);
	if (!rc && !(states = calloc(pk.n_artifacts + 1, sizeof(*states))))
		rc = es_fail(ES_ENOMEM, "out of memory");
	/* Artifacts that are not reproducible are not uploaded. */
	if (!rc && !a.no_upload && !not_reproducible)
		rc = es_package_upload(c.aws, c.conf, &pk, states);
	if (!rc && a.output_template)
		rc = write_template(a.output_template, &pk);
	if (rc) {
		/* A template that cannot be read is a failure, not a bad command line. */
		code = es_cli_fail(cli, "package", rc == ES_EINVAL ? ES_ERR : rc);
	} else if (cli->json) {
		/* Whether this run built or hit the cache goes to the log, so the
		 * report stays the same bytes for the same commit. */
		print_build(stderr, &build);
		char *j = es_package_report_json(
		        commit, c.conf, &pk, states, &cmp, a.output_template, &build,
		        a.check_reproducible ? es_repro_check_json(&repro) : NULL);
		if (j)
			puts(j);
		code = !j ? ES_EXIT_FAILURE : not_reproducible ? ES_EXIT_FAILURE : ES_EXIT_OK;
		free(j);
	} else {
		print_build(stdout, &build);
		print_text(commit, c.conf, &pk, states, &cmp, a.output_template);
		if (a.check_reproducible)
			print_repro(stdout, &repro);
		code = not_reproducible ? ES_EXIT_FAILURE : ES_EXIT_OK;
	}
	free(states);
	es_repro_check_free(&repro);
	es_package_compare_free(&cmp);
	es_packaged_free(&pk);
	ctx_free(&c);
	return code;
}
