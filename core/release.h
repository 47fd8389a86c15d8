/* The release rules on top of deploy: promotion of exactly what was proven
 * in the previous stage, rollback to a recorded release, revert commits and
 * cache invalidation (validation checks are in validate.h). Each action is
 * recorded in the ledger; a refusal is ES_EREFUSED with a one-line reason. */
#ifndef ES_RELEASE_H
#define ES_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "deploy.h"
#include "ledger.h"
#include "repo.h"

/* Promote to stage `to` the release running in the stage it promotes from.
 * Refused unless that stage's latest validation stands for what it runs
 * and passed after its distribution reached Deployed (es_validation_judge),
 * and nothing is in progress on `to`.
 * On success *out runs like es_deploy_start's. */
int es_promote_start(struct es_aws_client *aws, const struct es_config *conf, const char *to,
                     bool yes, long poll_ms, long timeout_s, es_deploy_event_fn fn, void *ud,
                     struct es_deploy **out);

/* Whether recs (ascending) hold a successful deploy, promotion or rollback
 * of commit (a full id or a prefix), whose packaged release a rollback can
 * redeploy; release gets its name. Pure: the rollback's own rule. */
bool es_release_recorded(const struct es_record_list *recs, const char *commit, char *release,
                         size_t len);

/* Redeploy the artifacts recorded for commit rev to stage (no rebuild). The
 * checks run on the deploy's job: a commit never deployed ends "refused",
 * one the stage already runs ends "no-changes". */
int es_rollback_start(struct es_aws_client *aws, const struct es_config *conf, struct es_repo *repo,
                      const char *stage, const char *rev, bool yes, long poll_ms, long timeout_s,
                      es_deploy_event_fn fn, void *ud, struct es_deploy **out);

/* The release a promotion to `to` would deploy, every rule of the
 * promotion checked (the canary's way in); *already: `to` runs it. */
int es_promote_release(struct es_aws_client *aws, const struct es_config *conf, const char *to,
                       struct es_release_buf *out, bool *already);
/* The recorded release of commit (a full id) for stage, as a rollback finds
 * it: ES_EREFUSED when no release of it was ever deployed. */
int es_recorded_release(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                        const char *commit, struct es_release_buf *out, bool *already);

/* The same redeploy recorded under kind (a canary's promotion deploys the
 * release it tried as a "deploy"). */
int es_redeploy_start(struct es_aws_client *aws, const struct es_config *conf, struct es_repo *repo,
                      const char *stage, const char *rev, const char *kind, bool yes, long poll_ms,
                      long timeout_s, es_deploy_event_fn fn, void *ud, struct es_deploy **out);

/* Create a git revert commit of rev on the current branch (clean tree
 * required); new_oid receives the new commit's id. */
int es_revert_commit(struct es_repo *repo, const char *rev, char new_oid[41]);

struct es_invalidation {
	char id[64];
	char status[24]; /* InProgress | Completed */
	char caller_reference[128];
	char distribution_id[64];
	/* The stage's credentials, for polling in its account (borrowed from
	 * the configuration es_invalidate was given; NULL: the caller's). */
	const struct es_creds_conf *creds;
};

/* Check invalidation paths by CloudFront's rules; ES_EINVAL with the
 * offending path otherwise. */
int es_invalidation_check_paths(const char *const *paths, size_t n);

/* Invalidate paths (default: everything, "/" followed by "*") on stage's distribution, with a caller
 * reference derived from the release and attempt so a retry never makes a
 * second one; recorded in the ledger. Synchronous create; follow with
 * es_invalidation_poll(). */
int es_invalidate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                  const char *const *paths, size_t n_paths, struct es_invalidation *out);
int es_invalidation_poll(struct es_aws_client *aws, struct es_invalidation *inv);

#endif
