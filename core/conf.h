/* edgeship.conf: the release configuration at the repository root, in
 * git-config syntax, read with libgit2's config API. Every mistake is
 * reported as "edgeship.conf:LINE: message" with what to write instead. */
#ifndef ES_CONF_H
#define ES_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "aws/cloudformation.h" /* struct es_kv */

#define ES_CONFIG_FILE "edgeship.conf"

/* A check sends at most this many requests per run. */
#define ES_CHECK_MAX_SAMPLES 20

/* A build that runs longer is killed (build-timeout's default: 10m). */
#define ES_BUILD_TIMEOUT_MS (10L * 60 * 1000)

/* Whose credentials an account is reached with (core/conf_accounts.c):
 * a profile of ~/.aws/config, or a role assumed from the default chain;
 * all NULL: the default chain itself. */
struct es_creds_conf {
	char *profile;
	char *role_arn;
	char *external_id;
	char *session_name;
};

struct es_stage_conf {
	char *name;
	char *stack;              /* CloudFormation stack name */
	struct es_kv *parameters; /* parameter = Key=Value (multi) */
	size_t n_parameters;
	struct es_kv *tags; /* tag = key=value (multi) */
	size_t n_tags;
	char *url;           /* public URL of the stage */
	char *promotes_from; /* stage whose artifact this one receives; NULL: deploys commits */
	char **probes;       /* probe = HOST:PORT edge addresses (multi) */
	size_t n_probes;
	char *marker_header; /* response header carrying the release marker */
	char *probe_bypass;  /* path and/or ?query the cache never answers (NULL: none) */
	/* The error-rate guard (core/guard.h); off without guard-error-rate. */
	char *guard_error_rate; /* "5%": the 5xx rate that is a breach */
	char *guard_action;     /* "alert" (default) or "rollback" */
	long guard_window_ms;   /* how long the rate must stay above it (0: one period) */
	long guard_watch_ms;    /* how long after Deployed the watch lasts (0: 10 minutes) */
	long guard_period_ms;   /* metric period (0: 60 s) */
	/* A canary through CloudFront continuous deployment (canary_conf.h):
	 * "weight 5%" or "header aws-cf-cd-NAME: VALUE"; NULL: none. */
	char *canary;
	/* Pipeline mode (conf_pipeline.c): a CodePipeline deploys this stage;
	 * edgeship's own deploy and promote refuse it. */
	char *pipeline;             /* [pipeline "NAME"] that deploys it, or NULL */
	char *pipeline_stage;       /* that pipeline's stage deploying it */
	int line;                   /* line of the [stage] header */
	struct es_creds_conf creds; /* profile / role-arn: the stage's account */
	char *bucket;               /* its artifact bucket ([app] bucket when not set) */
};

/* [pipeline "NAME"]: a CodePipeline the console watches and drives. */
struct es_pipeline_conf {
	char *name;     /* the section's name, what stages refer to */
	char *pipeline; /* the CodePipeline's name (name = …) */
	int line;
};

struct es_check_conf {
	char *name;
	char **stages; /* stage = NAME (multi); none: every stage */
	size_t n_stages;
	char *path;  /* path appended to the stage URL, or… */
	char *url;   /* …a full URL */
	long status; /* expected HTTP status (default 200) */
	char *body_contains;
	char *body_matches; /* POSIX extended regular expression */
	char *header;       /* "Name: value" expected in the answer */
	long timeout_ms;    /* default 5000 */
	int samples;        /* requests per run, 1 to ES_CHECK_MAX_SAMPLES (default 1) */
	char *lambda;       /* a function judging the stage instead (check_lambda.h) */
	int line;
};

struct es_config {
	char *path; /* the file read */
	char *root; /* its directory (the repository root) */
	char *app;
	char *template_path; /* relative to root */
	char *region;
	char *bucket;
	char *prefix; /* key prefix in the bucket ("" for none) */
	char **capabilities;
	size_t n_capabilities;
	char *probe_bypass; /* default of the stages' probe-bypass (NULL: none) */
	char **excludes;    /* packaging exclude globs */
	size_t n_excludes;
	/* The build step (core/build.h): one command that builds every code
	 * tree of the template, run with /bin/sh -c in a fresh export of the
	 * commit before packaging (NULL: nothing is built). */
	char *build;
	long build_timeout_ms; /* build-timeout (default ES_BUILD_TIMEOUT_MS) */
	char **build_env;      /* build-env: environment variables let through */
	size_t n_build_env;
	struct es_stage_conf *stages; /* in file order */
	size_t n_stages;
	struct es_check_conf *checks;
	size_t n_checks;
	struct es_pipeline_conf *pipelines;
	size_t n_pipelines;
	/* [ledger]: the one home of the release ledger every stage's console
	 * reads (bucket: [app] bucket when not set; creds: the default chain). */
	struct es_creds_conf ledger_creds;
	char *ledger_bucket;
};

/* Load and validate path. ES_ENOTFOUND when the file does not exist;
 * ES_ECONFIG with "FILE:LINE: message" for any mistake. */
int es_config_load(const char *path, struct es_config **out);
void es_config_free(struct es_config *c);

/* The stage named name, or NULL. */
const struct es_stage_conf *es_config_stage(const struct es_config *c, const char *name);
/* The first stage that deploys commits (has no promotes-from). */
const struct es_stage_conf *es_config_first_stage(const struct es_config *c);

/* Write a commented starter file for a repository (fails if path exists). */
int es_config_write_starter(const char *path, const char *app_name, const char *template_path);
/* Print that starter text to f (also the example of edgeship.conf(5)). */
int es_config_print_starter(FILE *f, const char *app_name, const char *template_path);

/* The [pipeline "NAME"] section name, or NULL. */
const struct es_pipeline_conf *es_config_pipeline(const struct es_config *c, const char *name);
/* ES_EREFUSED, saying to use `edgeship pipeline`, when stage is deployed
 * by a pipeline: edgeship's own deploy and promote do not touch it. */
/* Production, or a stage another promotes into (or the last of several):
 * an action there asks for the stage's name to be typed. */
bool es_config_stage_guarded(const struct es_config *c, const struct es_stage_conf *s);
int es_config_refuse_pipeline_stage(const struct es_config *c, const char *stage,
                                    const char *command);

/* One key edgeship.conf accepts, for its documentation (man page). */
struct es_config_key_doc {
	const char *section; /* "app", "stage", "check", "pipeline" or "ledger" */
	const char *name;
	const char *value; /* what its value is: TEXT, KEY=VALUE, NUMBER or DURATION */
	bool repeatable;   /* may be given more than once */
	const char *help;  /* its meaning, with an example */
};

/* The i-th key of the table the loader reads (from 0); false past the last. */
bool es_config_key_doc(size_t i, struct es_config_key_doc *out);

#endif
