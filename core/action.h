/* The release actions that run whole on a background job: validating a
 * stage, invalidating its cache and polling that invalidation, reverting a
 * commit (local git, no AWS) and removing a dead console's stage lock. Each
 * is one start function and one outcome, delivered on the caller's loop;
 * the dashboard and the CLI start the same ones (the CLI turns its loop
 * until the outcome), so neither front end waits inside a call. */
#ifndef ES_ACTION_H
#define ES_ACTION_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "base/error.h"
#include "base/loop.h"
#include "conf.h"
#include "ops.h"
#include "release.h"
#include "replicas.h"
#include "repo.h"
#include "validate.h"

enum es_action_kind {
	ES_ACTION_VALIDATE,
	ES_ACTION_INVALIDATE,
	ES_ACTION_POLL_INVALIDATION,
	ES_ACTION_REVERT,
	ES_ACTION_UNLOCK,
	ES_ACTION_CLEANUP,
	ES_ACTION_DRIFT,
};

/* How an action ended. Everything here lives until the done callback
 * returns. */
struct es_action_outcome {
	struct es_action *action; /* the one that ended, as started */
	enum es_action_kind kind;
	int rc;                                 /* ES_OK, or the failure's status */
	const struct es_error *err;             /* why, when rc is not ES_OK */
	const char *stage;                      /* validate, invalidate, unlock ("" otherwise) */
	const char *paths;                      /* invalidate: the paths, space separated */
	const struct es_validation *validation; /* validate (ES_OK: filled) */
	const struct es_invalidation *invalidation; /* invalidate, poll (ES_OK: filled) */
	const char *rev;                            /* revert: the revision as given */
	const char *commit;                         /* revert: the new commit's id (ES_OK) */
	const struct es_cleanup_result *cleanup;    /* cleanup: what each try did (always) */
	const struct es_drift_report *drift;        /* drift: what the detection found (ES_OK) */
};

/* On the caller's loop, once, after the job ended. */
typedef void (*es_action_done_fn)(const struct es_action_outcome *o, void *ud);

struct es_action;

/* Validate stage now (es_validate on the job). conf must stay unchanged
 * until done. ES_EINVAL here for a stage conf does not have; every other
 * failure arrives as the outcome. */
int es_action_validate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                       es_action_done_fn done, void *ud, struct es_action **out);

/* Invalidate paths (copied; n 0: everything) on stage's distribution
 * (es_invalidate on the job). Paths that break CloudFront's rules and
 * unknown stages fail here, before anything is sent. */
int es_action_invalidate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                         const char *const *paths, size_t n, es_action_done_fn done, void *ud,
                         struct es_action **out);

/* Ask CloudFront once how inv (copied) is doing. */
int es_action_poll_invalidation(struct es_aws_client *aws, const struct es_invalidation *inv,
                                es_action_done_fn done, void *ud, struct es_action **out);

/* Commit the revert of rev on top of HEAD (es_revert_commit), through a
 * repository handle of the job's own, opened at repo's root: repo itself is
 * never touched off the caller's thread. The outcome arrives on loop. */
int es_action_revert(struct es_loop *loop, const struct es_repo *repo, const char *rev,
                     es_action_done_fn done, void *ud, struct es_action **out);

/* Remove stage's lock left by a console that died (es_deploy_unlock on the
 * job). */
int es_action_unlock(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                     es_action_done_fn done, void *ud, struct es_action **out);

/* Try once to delete the replicated functions a destroy retained
 * (es_cleanup on the job). The outcome's rc is ES_EBUSY while replicas
 * remain. */
int es_action_cleanup(struct es_aws_client *aws, const struct es_config *conf,
                      es_action_done_fn done, void *ud, struct es_action **out);

/* Run drift detection on stage's stack (es_drift_check on the job, at most
 * five minutes): read-only, so allowed under --read-only. */
int es_action_drift(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                    es_action_done_fn done, void *ud, struct es_action **out);

/* What a running action is. */
enum es_action_kind es_action_kind_of(const struct es_action *a);

/* Let go of a running action: done is never called; the job ends on its
 * own. Not from inside its done callback (the action is gone after it). */
void es_action_abandon(struct es_action *a);

/* Turn loop until *done is true (the caller's done callback sets it): how
 * a headless command waits for an action. Ordinary turns, so the job's
 * messages arrive; returns the loop's status. */
int es_action_wait(struct es_loop *loop, const bool *done);

#endif
