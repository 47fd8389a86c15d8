/* What the ledger says about each stage: its last action, whether an action
 * was interrupted, the newest validation and the propagation estimate. Pure:
 * the model reads the records, this turns them into the stages' view. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"
#include "repo.h"
#include "stage_records.h"
#include "validate.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void es_stage_records_apply(struct es_stage_view *stages, size_t n_stages,
                            const struct es_record_list *list)
{
	const struct es_record_list recs = *list;

	for (size_t i = 0; i < n_stages; i++) {
		struct es_stage_view *s = &stages[i];
		double durations[64];
		size_t nd = 0;
		s->interrupted = false;
		/* The newest validation of this stage, and whether it stands for
		 * what the stage runs now (the same judge promotion uses). */
		struct es_stage_state now = {.release = s->release,
		                             .distribution_id = s->distribution_id,
		                             .distribution_modified = s->dist_modified};
		struct es_validation_verdict v;
		es_validation_judge(list, s->name, &now, &v);
		s->validated = v.state >= ES_VALIDATION_IN_PROGRESS;
		s->validation_passed = v.state == ES_VALIDATION_PASSED;
		snprintf(s->validation_why, sizeof(s->validation_why), "%s",
		         s->validation_passed ? "" : v.why);
		s->n_checks = 0;
		s->validated_at[0] = '\0';
		s->validated_release[0] = '\0';
		if (v.record) {
			const struct es_record *r = v.record;
			json_t *o = json_loads(r->json, 0, NULL), *c;
			size_t k;
			s->n_checks = 0;
			json_array_foreach(json_object_get(o, "checks"), k, c)
			{
				if (s->n_checks == ES_MODEL_MAX_CHECKS)
					break;
				struct es_check_result *cr = &s->checks[s->n_checks++];
				const char *nm = json_string_value(json_object_get(c, "name"));
				const char *dt = json_string_value(json_object_get(c, "detail"));
				snprintf(cr->name, sizeof(cr->name), "%s", nm ? nm : "");
				snprintf(cr->detail, sizeof(cr->detail), "%s", dt ? dt : "");
				es_sanitize(cr->detail, false);
				cr->passed = json_is_true(json_object_get(c, "passed"));
				cr->status = (long)json_integer_value(json_object_get(c, "status"));
				cr->latency_ms =
				        json_number_value(json_object_get(c, "latency_ms"));
			}
			json_decref(o);
			snprintf(s->validated_at, sizeof(s->validated_at), "%s", r->when);
			snprintf(s->validated_release, sizeof(s->validated_release), "%s",
			         r->release);
		}
		/* The newest action on this stage. */
		for (size_t j = recs.n; j-- > 0;) {
			const struct es_record *r = &recs.items[j];
			if (strcmp(r->stage, s->name) != 0 || strcmp(r->kind, "propagation") == 0)
				continue;
			char ago[32];
			const char *who = strrchr(r->who, '/');
			double t = es_time_parse(r->when);
			snprintf(s->last_action, sizeof(s->last_action), "%s %s by %s, %s ago",
			         r->kind, r->result[0] ? r->result : r->phase,
			         who ? who + 1 : r->who,
			         es_duration_format(t > 0 ? es_time_now() - t : 0, ago,
			                            sizeof(ago)));
			s->last_action_at = t > 0 ? t : 0;
			s->interrupted = r->open && !s->busy;
			break;
		}
		for (size_t j = 0; j < recs.n && nd < 64; j++) {
			const struct es_record *r = &recs.items[j];
			if (strcmp(r->stage, s->name) == 0 && strcmp(r->kind, "propagation") == 0) {
				double d = atof(r->message);
				if (d > 0)
					durations[nd++] = d;
			}
		}
		if (nd) {
			qsort(durations, nd, sizeof(durations[0]), cmp_double);
			s->prop_estimate_s =
			        nd % 2 ? durations[nd / 2]
			               : (durations[nd / 2 - 1] + durations[nd / 2]) / 2;
		} else {
			s->prop_estimate_s = -1;
		}
	}
}

json_t *es_propagation_record(const struct es_stage_view *s, double seconds, const char *modified)
{
	char msg[32], id[160];
	json_t *r;

	snprintf(msg, sizeof(msg), "%.1f", seconds);
	/* One record per change, whichever console saw it: the id is the change. */
	snprintf(id, sizeof(id), "propagation:%s:%s:%s", s->name, s->distribution_id, modified);
	r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f}", "record_id", id, "kind",
	              "propagation", "phase", "outcome", "result", "success", "stage", s->name,
	              "commit", s->commit, "release", s->release, "distribution_id",
	              s->distribution_id, "distribution_modified", modified, "message", msg,
	              "seconds", seconds);
	return r;
}
