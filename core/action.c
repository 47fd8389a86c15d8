/* Validation, invalidation and its polling, revert and unlock as background
 * jobs: the job function calls the synchronous engine function with the
 * job's own client (or repository), and the outcome goes back to whoever
 * started it on their loop. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "deploy.h"
#include "job.h"

struct es_action {
	enum es_action_kind kind;
	struct es_job *job;
	es_action_done_fn done;
	void *ud;
	const struct es_config *conf;
	char stage[64];
	char **paths; /* invalidate: owned copies */
	size_t n_paths;
	char *paths_text; /* the same, space separated */
	char repo_root[4096];
	char rev[256];
	char commit[41];
	struct es_invalidation inv;
	struct es_validation v; /* large: this struct lives on the heap */
	struct es_cleanup_result cleanup;
	struct es_drift_report drift;
};

static void action_free(void *p)
{
	struct es_action *a = p;

	if (!a)
		return;
	for (size_t i = 0; i < a->n_paths; i++)
		free(a->paths[i]);
	free(a->paths);
	free(a->paths_text);
	es_cleanup_result_free(&a->cleanup);
	es_drift_report_free(&a->drift);
	free(a);
}

static struct es_action *action_new(enum es_action_kind kind, es_action_done_fn done, void *ud)
{
	struct es_action *a = calloc(1, sizeof(*a));

	if (!a) {
		es_fail(ES_ENOMEM, "out of memory");
		return NULL;
	}
	a->kind = kind;
	a->done = done;
	a->ud = ud;
	return a;
}

static void on_done(int rc, const struct es_error *err, void *ud)
{
	struct es_action *a = ud;
	struct es_action_outcome o = {
	        .action = a,
	        .kind = a->kind,
	        .rc = rc,
	        .err = err,
	        .stage = a->stage,
	        .paths = a->paths_text ? a->paths_text : "",
	        .rev = a->rev,
	        .cleanup = a->kind == ES_ACTION_CLEANUP ? &a->cleanup : NULL,
	};

	if (rc == ES_OK) {
		o.validation = a->kind == ES_ACTION_VALIDATE ? &a->v : NULL;
		o.invalidation =
		        a->kind == ES_ACTION_INVALIDATE || a->kind == ES_ACTION_POLL_INVALIDATION
		                ? &a->inv
		                : NULL;
		o.commit = a->kind == ES_ACTION_REVERT ? a->commit : NULL;
		o.drift = a->kind == ES_ACTION_DRIFT ? &a->drift : NULL;
	}
	/* The job frees a (its arg) once this returns. */
	if (a->done)
		a->done(&o, a->ud);
}

/* Hand a to a job (like NULL: one without AWS). On failure a is freed. */
static int start(struct es_loop *loop, const struct es_aws_client *like, es_job_fn fn,
                 struct es_action *a, struct es_action **out)
{
	int rc = es_job_start(loop, like, fn, a, action_free, NULL, on_done, a, &a->job);

	if (rc) {
		action_free(a);
		return rc;
	}
	if (out)
		*out = a;
	return ES_OK;
}

static int known_stage(const struct es_config *conf, const char *stage)
{
	if (!es_config_stage(conf, stage))
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	return ES_OK;
}

/* ------------------------------------------------------------ validate */

static int validate_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;

	return es_validate(es_job_aws(job), a->conf, a->stage, &a->v);
}

int es_action_validate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                       es_action_done_fn done, void *ud, struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (known_stage(conf, stage))
		return ES_EINVAL;
	if (!(a = action_new(ES_ACTION_VALIDATE, done, ud)))
		return ES_ENOMEM;
	a->conf = conf;
	snprintf(a->stage, sizeof(a->stage), "%s", stage);
	return start(es_aws_loop(aws), aws, validate_fn, a, out);
}

/* ------------------------------------------------------------ invalidate */

static int invalidate_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;

	return es_invalidate(es_job_aws(job), a->conf, a->stage, (const char *const *)a->paths,
	                     a->n_paths, &a->inv);
}

static int copy_paths(struct es_action *a, const char *const *paths, size_t n)
{
	size_t len = 1;

	a->paths = calloc(n ? n : 1, sizeof(*a->paths));
	if (!a->paths)
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!(a->paths[i] = strdup(paths[i])))
			return es_fail(ES_ENOMEM, "out of memory");
		a->n_paths++;
		len += strlen(paths[i]) + 1;
	}
	if (!(a->paths_text = calloc(1, n ? len : 3)))
		return es_fail(ES_ENOMEM, "out of memory");
	if (!n)
		strcpy(a->paths_text, "/*");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(a->paths_text, " ");
		strcat(a->paths_text, paths[i]);
	}
	return ES_OK;
}

int es_action_invalidate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                         const char *const *paths, size_t n, es_action_done_fn done, void *ud,
                         struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (known_stage(conf, stage))
		return ES_EINVAL;
	if (n && es_invalidation_check_paths(paths, n))
		return ES_EINVAL;
	if (!(a = action_new(ES_ACTION_INVALIDATE, done, ud)))
		return ES_ENOMEM;
	a->conf = conf;
	snprintf(a->stage, sizeof(a->stage), "%s", stage);
	if (copy_paths(a, paths, n)) {
		action_free(a);
		return ES_ENOMEM;
	}
	return start(es_aws_loop(aws), aws, invalidate_fn, a, out);
}

static int poll_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;

	return es_invalidation_poll(es_job_aws(job), &a->inv);
}

int es_action_poll_invalidation(struct es_aws_client *aws, const struct es_invalidation *inv,
                                es_action_done_fn done, void *ud, struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (!(a = action_new(ES_ACTION_POLL_INVALIDATION, done, ud)))
		return ES_ENOMEM;
	a->inv = *inv;
	return start(es_aws_loop(aws), aws, poll_fn, a, out);
}

/* ------------------------------------------------------------ revert */

static int revert_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;
	struct es_repo *repo;
	int rc;

	(void)job;
	/* A handle of our own: libgit2 objects are not shared across threads,
	 * and the caller goes on reading history with theirs. */
	rc = es_repo_discover(a->repo_root, &repo);
	if (rc)
		return rc;
	rc = es_revert_commit(repo, a->rev, a->commit);
	es_repo_free(repo);
	return rc;
}

int es_action_revert(struct es_loop *loop, const struct es_repo *repo, const char *rev,
                     es_action_done_fn done, void *ud, struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (!rev || !*rev)
		return es_fail(ES_EINVAL, "revert needs a commit, e.g. HEAD");
	if (!(a = action_new(ES_ACTION_REVERT, done, ud)))
		return ES_ENOMEM;
	snprintf(a->repo_root, sizeof(a->repo_root), "%s", es_repo_root(repo));
	snprintf(a->rev, sizeof(a->rev), "%s", rev);
	return start(loop, NULL, revert_fn, a, out);
}

/* ------------------------------------------------------------ unlock */

static int unlock_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;

	return es_deploy_unlock(es_job_aws(job), a->conf, a->stage);
}

int es_action_unlock(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                     es_action_done_fn done, void *ud, struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (known_stage(conf, stage))
		return ES_EINVAL;
	if (!(a = action_new(ES_ACTION_UNLOCK, done, ud)))
		return ES_ENOMEM;
	a->conf = conf;
	snprintf(a->stage, sizeof(a->stage), "%s", stage);
	return start(es_aws_loop(aws), aws, unlock_fn, a, out);
}

/* ------------------------------------------------------------ cleanup */

static int cleanup_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;

	return es_cleanup(es_job_aws(job), a->conf, NULL, NULL, &a->cleanup);
}

int es_action_cleanup(struct es_aws_client *aws, const struct es_config *conf,
                      es_action_done_fn done, void *ud, struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (!(a = action_new(ES_ACTION_CLEANUP, done, ud)))
		return ES_ENOMEM;
	a->conf = conf;
	return start(es_aws_loop(aws), aws, cleanup_fn, a, out);
}

/* ------------------------------------------------------------ drift */

static int drift_fn(struct es_job *job, void *arg)
{
	struct es_action *a = arg;

	return es_drift_check(es_job_aws(job), a->conf, a->stage, 300, &a->drift);
}

int es_action_drift(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    es_action_done_fn done, void *ud, struct es_action **out)
{
	struct es_action *a;

	if (out)
		*out = NULL;
	if (known_stage(conf, stage))
		return ES_EINVAL;
	if (!(a = action_new(ES_ACTION_DRIFT, done, ud)))
		return ES_ENOMEM;
	a->conf = conf;
	snprintf(a->stage, sizeof(a->stage), "%s", stage);
	return start(es_aws_loop(aws), aws, drift_fn, a, out);
}

/* ------------------------------------------------------------ */

enum es_action_kind es_action_kind_of(const struct es_action *a)
{
	return a->kind;
}

void es_action_abandon(struct es_action *a)
{
	if (a)
		es_job_orphan(a->job);
}

int es_action_wait(struct es_loop *loop, const bool *done)
{
	while (!*done) {
		int rc = es_loop_turn(loop, 500);
		if (rc)
			return rc;
	}
	return ES_OK;
}
