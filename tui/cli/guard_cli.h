/* The error-rate guard in the headless commands: `watch` prints each
 * guarded stage's figures per period and its breach; `deploy --guard`
 * follows the rollout and, on a breach, rolls back (guard-action =
 * rollback) or alerts and asks (alert). */
#ifndef ES_GUARD_CLI_H
#define ES_GUARD_CLI_H

#include <stdbool.h>

#include "cmd.h"
#include "model.h"

struct guard_follow;

/* Follow the guarded stages of m (only `stage` when not NULL); NULL when
 * none is guarded (every function below takes NULL). */
struct guard_follow *guard_follow_new(struct es_cli *cli, struct ctx *c, struct es_model *m,
                                      const char *stage);
/* Keep the guard in step with the model, poll when due, print what came. */
void guard_follow_tick(struct guard_follow *f);
/* A guarded stage is still watched (rollout, or guard-watch after Deployed). */
bool guard_follow_busy(const struct guard_follow *f);
void guard_follow_free(struct guard_follow *f);

/* status --json: the overview with each guarded stage's latest figures
 * (one GetMetricData for all); malloc'd. */
struct es_overview;
char *guard_status_json(struct ctx *c, const struct es_overview *ov);

/* deploy --guard: start and follow the deploy, then watch it; frees c. */
int guard_deploy(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, action_start_fn start,
                 void *arg, const char *stage);

#endif
