/* The guard following the model's stages, and the release a guarded
 * rollback goes back to. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/timefmt.h"
#include "guard_model.h"

/* Our clock against CloudFront's LastModifiedTime. */
#define CLOCK_SLACK_S 5.0
/* Longer than the model takes to read a distribution again. */
#define MODEL_LAG_S 15.0

bool es_guard_any(const struct es_config *conf, const char *only)
{
	for (size_t i = 0; conf && i < conf->n_stages; i++) {
		struct es_guard_settings set;
		if (only && strcmp(conf->stages[i].name, only) != 0)
			continue;
		es_guard_settings_of(&conf->stages[i], &set);
		if (set.on)
			return true;
	}
	return false;
}

/* "arn:aws:lambda:us-east-1:123:function:NAME:7" → NAME */
static void function_of(const char *arn, char *out, size_t len)
{
	const char *p = arn;

	out[0] = '\0';
	for (int k = 0; k < 6 && p; k++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (p)
		snprintf(out, len, "%.*s", (int)strcspn(p, ":"), p);
}

void es_guard_follow_model(struct es_guard *g, struct es_guard_follow *f,
                           const struct es_config *conf, const struct es_model *m)
{
	double now = es_time_now();
	bool known = es_model_stage_count(m) > 0;

	for (size_t i = 0; i < es_model_stage_count(m); i++) {
		const struct es_stage_view *s = es_model_stage(m, i);
		const struct es_stage_conf *sc = es_config_stage(conf, s->name);
		struct es_guard_settings set;
		char fn[128];

		if (!sc || (f->only && strcmp(s->name, f->only) != 0) || !s->distribution_id[0])
			continue;
		es_guard_settings_of(sc, &set);
		if (!set.on)
			continue;
		if (s->propagation == ES_PROP_UNKNOWN) {
			known = false; /* its distribution is not read yet */
			continue;
		}
		function_of(s->lambda_arn, fn, sizeof(fn));
		if (es_guard_watch(g, s->name, s->distribution_id, fn, &set))
			continue;
		int k = es_guard_find(g, s->name);
		const struct es_guard_stage *gs = es_guard_stage(g, (size_t)k);
		if (f->fixed_rollout) {
			if (!gs->rollout_start)
				es_guard_rollout(g, s->name, f->fixed_rollout);
		} else {
			/* the distribution's last change, else the last recorded action */
			double began = s->dist_modified ? s->dist_modified : s->last_action_at;
			if (began && began != f->dist_seen[k]) {
				f->dist_seen[k] = began;
				es_guard_rollout(g, s->name, began);
				/* Deployed at first sight: about when it changed. */
				if (s->propagation == ES_PROP_DEPLOYED && !f->synced_once)
					es_guard_deployed(g, s->name, began);
			}
		}
		if (s->propagation != ES_PROP_DEPLOYED)
			continue;
		if (!f->fixed_rollout) {
			es_guard_deployed(g, s->name, now);
		} else if (s->dist_modified >= f->fixed_rollout - CLOCK_SLACK_S) {
			/* Deployed after this deploy's change (not the state before it) */
			es_guard_deployed(g, s->name, now);
		} else if (f->deploy_ended && now > f->deploy_ended + MODEL_LAG_S) {
			/* the deploy did not change the distribution */
			es_guard_deployed(g, s->name, f->deploy_ended);
		}
	}
	if (known)
		f->synced_once = true;
}

static bool is_release(const struct es_record *r, const char *stage)
{
	return strcmp(r->phase, "outcome") == 0 && strcmp(r->result, "success") == 0 &&
	       strcmp(r->stage, stage) == 0 && r->commit[0] &&
	       (strcmp(r->kind, "deploy") == 0 || strcmp(r->kind, "promotion") == 0 ||
	        strcmp(r->kind, "rollback") == 0);
}

bool es_guard_previous_in(const struct es_record_list *recs, const char *stage, char commit[41],
                          char release[80])
{
	const char *current = NULL;

	for (size_t i = recs ? recs->n : 0; i-- > 0;) {
		const struct es_record *r = &recs->items[i];
		if (!is_release(r, stage))
			continue;
		if (!current) {
			current = r->commit;
			continue;
		}
		if (strcmp(r->commit, current) == 0)
			continue;
		snprintf(commit, 41, "%s", r->commit);
		snprintf(release, 80, "%s", r->release);
		return true;
	}
	return false;
}
