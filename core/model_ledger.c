/* The model's reading and writing of the release ledger, all asynchronous:
 * the local cache applied at once, newer records listed and fetched in the
 * background, and observed propagation times recorded for estimates. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "repo.h"
#include "aws/sts.h"
#include "base/timefmt.h"

/* How often new records are looked for. */
#define LEDGER_EVERY_MS 15000L

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The ledger is read with blocking calls, so only from a timer after the
 * first frame and then rarely; its records are cached on disk. */
/* Fill the stages' last action, validation and propagation estimate from
 * the ledger records in the local cache (a disk read, no network). */
static void apply_records(struct es_model *m)
{
	struct es_record_list recs;

	if (!m->ledger || es_ledger_read_cache(m->ledger, &recs) != ES_OK)
		return;
	for (size_t i = 0; i < m->n_stages; i++) {
		struct es_stage_view *s = &m->stages[i];
		double durations[64];
		size_t nd = 0;
		s->interrupted = false;
		/* The newest validation of this stage, and whether it is for
		 * the release the stage runs now. */
		for (size_t j = recs.n; j-- > 0;) {
			const struct es_record *r = &recs.items[j];
			if (strcmp(r->stage, s->name) != 0 || strcmp(r->kind, "validation") != 0)
				continue;
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
			s->validated = strcmp(r->release, s->release) == 0;
			s->validation_passed = strcmp(r->result, "passed") == 0;
			snprintf(s->validated_at, sizeof(s->validated_at), "%s", r->when);
			break;
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
	es_record_list_free(&recs);
	es_mdl_changed(m, ES_MODEL_STAGES);
}

static void fetch_ledger(struct es_model *m);

static void ledger_request_done(struct es_model *m)
{
	if (--m->ledger_pending > 0)
		return;
	apply_records(m);
	if (m->ledger_again) {
		m->ledger_again = false;
		fetch_ledger(m);
	}
}

static void on_ledger_record(int rc, const struct es_http_response *resp,
                             const struct es_error *err, void *ud)
{
	struct req *r = ud;
	struct es_model *m = r->m;

	(void)err;
	if (es_mdl_ledger_gone(m)) {
		free(r);
		return;
	}
	if (rc == ES_OK)
		es_ledger_store(m->ledger, r->seq, es_buf_str(&resp->body), resp->body.len);
	free(r);
	ledger_request_done(m);
}

static void on_ledger_list(int rc, const struct es_http_response *resp, const struct es_error *err,
                           void *ud)
{
	struct es_model *m = ud;
	long *seqs = NULL;
	size_t n = 0;

	(void)err;
	if (es_mdl_ledger_gone(m))
		return;
	if (rc == ES_OK && es_ledger_parse_list(resp->body.data, resp->body.len, &seqs, &n) == 0) {
		/* Records are immutable: fetch only the ones the cache lacks. */
		for (size_t i = 0; i < n; i++) {
			struct es_aws_call call;
			struct req *r = malloc(sizeof(*r));
			if (!r || es_ledger_get_call(m->ledger, seqs[i], &call) != ES_OK) {
				free(r);
				es_aws_call_free(&call);
				continue;
			}
			r->m = m;
			r->seq = seqs[i];
			m->ledger_pending++;
			es_aws_send(m->aws, &call, on_ledger_record, r);
		}
	}
	free(seqs);
	ledger_request_done(m);
}

static void on_who(int rc, const struct es_http_response *resp, const struct es_error *err,
                   void *ud)
{
	struct es_model *m = ud;
	struct es_caller_identity id;

	(void)err;
	if (es_mdl_ledger_gone(m))
		return;
	if (rc == ES_OK && es_sts_parse_caller_identity(resp, &id) == ES_OK) {
		es_ledger_set_who(m->ledger, id.arn);
		es_caller_identity_free(&id);
	}
	ledger_request_done(m);
}

/* Ask S3 for records newer than the cache holds; everything asynchronous. */
static void fetch_ledger(struct es_model *m)
{
	struct es_aws_call call;

	if (!m->ledger)
		return;
	/* Who this console is, for the records it may write. */
	if (!m->asked_who && !m->read_only) {
		m->asked_who = true;
		if (es_sts_get_caller_identity_call(&call) == ES_OK) {
			m->ledger_pending++;
			es_aws_send(m->aws, &call, on_who, m);
		} else {
			es_aws_call_free(&call);
		}
	}
	if (m->ledger_pending > 0) {
		m->ledger_again = true;
		return;
	}
	if (es_ledger_list_call(m->ledger, es_ledger_cached_max(m->ledger), &call) != ES_OK) {
		es_aws_call_free(&call);
		return;
	}
	m->ledger_pending++;
	es_aws_send(m->aws, &call, on_ledger_list, m);
}

void es_mdl_read_ledger(struct es_loop *loop, void *ud)
{
	struct es_model *m = ud;

	(void)loop;
	m->ledger_timer = es_loop_timer(m->loop, LEDGER_EVERY_MS, es_mdl_read_ledger, m);
	apply_records(m);
	fetch_ledger(m);
}

/* ------------------------------------------------------------ life */

/* ------------------------------------------------------------ propagation records */

struct claim {
	struct es_model *m;
	json_t *record;
	long seq;
	int attempts;
	char *text;
};

static void send_claim(struct claim *c);

static void claim_done(struct claim *c)
{
	struct es_model *m = c->m;

	json_decref(c->record);
	free(c->text);
	free(c);
	if (!es_mdl_ledger_gone(m))
		ledger_request_done(m);
}

static void on_claim(int rc, const struct es_http_response *resp, const struct es_error *err,
                     void *ud)
{
	struct claim *c = ud;

	(void)resp;
	if (!c->m->zombie && rc == ES_OK) {
		es_ledger_store(c->m->ledger, c->seq, c->text, strlen(c->text));
	} else if (!c->m->zombie && rc == ES_EAWS && err && err->http_status == 412 &&
	           ++c->attempts < 16) {
		/* Someone else took that number: the next one. */
		c->seq++;
		free(c->text);
		c->text = NULL;
		send_claim(c);
		return;
	}
	claim_done(c);
}

static void send_claim(struct claim *c)
{
	struct es_aws_call call;

	if (es_ledger_claim_call(c->m->ledger, c->record, c->seq, &call, &c->text) != ES_OK) {
		es_aws_call_free(&call);
		claim_done(c);
		return;
	}
	es_aws_send(c->m->aws, &call, on_claim, c);
}

/* Write how long a change took to reach every edge, once per change (other
 * consoles may have seen it too), without blocking: the medians of these
 * records are the propagation estimates. */
void es_mdl_record_propagation(struct es_model *m, size_t stage, double seconds,
                               const char *modified)
{
	const struct es_stage_view *s = &m->stages[stage];
	struct es_record_list recs;
	char msg[32];

	if (m->read_only || !m->ledger || !modified)
		return;
	if (es_ledger_read_cache(m->ledger, &recs) == ES_OK) {
		bool seen = false;
		for (size_t i = 0; i < recs.n && !seen; i++) {
			if (strcmp(recs.items[i].kind, "propagation") != 0 ||
			    strcmp(recs.items[i].stage, s->name) != 0)
				continue;
			json_t *o = json_loads(recs.items[i].json, 0, NULL);
			const char *dm =
			        json_string_value(json_object_get(o, "distribution_modified"));
			seen = dm && strcmp(dm, modified) == 0;
			json_decref(o);
		}
		es_record_list_free(&recs);
		if (seen)
			return;
	}
	struct claim *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	snprintf(msg, sizeof(msg), "%.1f", seconds);
	c->m = m;
	c->seq = es_ledger_cached_max(m->ledger) + 1;
	c->record =
	        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f}", "kind", "propagation", "phase",
	                  "outcome", "stage", s->name, "commit", s->commit, "release", s->release,
	                  "distribution_id", s->distribution_id, "distribution_modified", modified,
	                  "message", msg, "seconds", seconds);
	json_object_set_new(c->record, "result", json_string("success"));
	if (!c->record) {
		free(c);
		return;
	}
	m->ledger_pending++;
	send_claim(c);
}
