/* The guard kept in step with the model: which stages it watches (those
 * with guard-error-rate and a distribution), when their rollout began and
 * when they were Deployed. Shared by `watch`, `deploy --guard` and the
 * dashboard. */
#ifndef ES_GUARD_MODEL_H
#define ES_GUARD_MODEL_H

#include <stdbool.h>

#include "conf.h"
#include "guard.h"
#include "ledger.h"
#include "model.h"

struct es_guard_follow {
	const char *only;     /* one stage, or NULL for all */
	double fixed_rollout; /* deploy --guard: when the deploy began; 0: the
	                       * distribution's last change is the rollout */
	double deploy_ended;  /* deploy --guard: when the deploy was done (0: running) */
	double dist_seen[ES_GUARD_MAX_STAGES];
	bool synced_once;
};

/* Whether conf guards any stage (only `only` when not NULL). */
bool es_guard_any(const struct es_config *conf, const char *only);

/* Watch m's guarded stages in g, following f. */
void es_guard_follow_model(struct es_guard *g, struct es_guard_follow *f,
                           const struct es_config *conf, const struct es_model *m);

/* The release stage ran before its current one, from recs (oldest
 * first): false when there is none. */
bool es_guard_previous_in(const struct es_record_list *recs, const char *stage, char commit[41],
                          char release[80]);

#endif
