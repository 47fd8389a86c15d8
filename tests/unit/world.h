/* A release world on the fake AWS, shared by the engine tests: a loop, the
 * fake, a client, a state directory of its own (XDG_STATE_HOME: the ledger
 * caches), background jobs run inline, a known caller, the artifact bucket,
 * and a config with two stages: staging (deploys commits, stack
 * app-staging) and production (promotes from staging, stack
 * app-production). Tests change the config in place (w->stages[i],
 * w->conf) before starting anything.
 *
 * Helpers to script what a stage runs and what the ledger holds sit here
 * too, so each test says only what differs. Everything belongs to the
 * world and lives until world_free(). */
#ifndef ES_WORLD_H
#define ES_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "conf.h"
#include "fakeaws.h"

#define WORLD_BUCKET     "artifacts"
#define WORLD_WHO        "arn:aws:iam::123456789012:user/release-manager"
#define WORLD_MAX_CHECKS 4

struct world {
	struct es_loop *loop;
	struct fake_aws *fake;
	struct es_aws_client *aws;
	char *state_dir;
	struct es_config conf;
	struct es_stage_conf stages[2]; /* staging, production */
	struct es_check_conf checks[WORLD_MAX_CHECKS];
};

/* A new world (fails the test when it cannot be made). */
struct world *world_new(void);
/* Free it; fails the test when a request met no rule, after printing the
 * request log. */
void world_free(struct world *w);

/* Turn the loop until *done (fails the test after timeout_ms). */
void world_run(struct world *w, const bool *done, long timeout_ms);

/* Stack stack exists in status with the release and commit tags (NULL: no
 * such tag), and its distribution dist (NULL: it has none) is dist_status,
 * for every request from now on (rules added earlier win: add a
 * short-lived answer before this one). */
void world_stack(struct world *w, const char *stack, const char *status, const char *release,
                 const char *commit, const char *dist, const char *dist_status);

/* CloudFormation takes one change set for stack and runs it: CreateChangeSet,
 * DescribeChangeSet (CREATE_COMPLETE, AVAILABLE, one Lambda change),
 * ExecuteChangeSet, then stack events ending UPDATE_COMPLETE (for ever). The
 * final DescribeStacks is world_stack's. */
void world_change_set_runs(struct world *w, const char *stack);

/* A DescribeChangeSet answer for stack's change set in status (e.g.
 * CREATE_COMPLETE, FAILED) and exec_status (AVAILABLE, EXECUTE_IN_PROGRESS,
 * UNAVAILABLE), with n_changes Lambda changes and reason (NULL: none);
 * times answers. Returns the rule. */
struct fake_rule *world_change_set(struct world *w, const char *stack, const char *status,
                                   const char *exec_status, int n_changes, const char *reason,
                                   int times);

/* Ledger record seq, straight into S3 as another console wrote it (json is
 * the whole object; printf format). */
void world_record(struct world *w, long seq, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* How many ledger records (1 to 99) contain text. */
size_t world_records_with(struct world *w, const char *text);
/* Ledger record seq's text, or NULL. */
const char *world_record_text(struct world *w, long seq);

#endif
