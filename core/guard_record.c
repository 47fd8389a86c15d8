/* The guard's ledger records, the release a guarded rollback goes back to,
 * and its figures in JSON. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "guard_model.h"
#include "guard_record.h"
#include "ledger.h"

static json_t *record_of(const struct es_guard_stage *s, const char *decision,
                         const char *decided_by, const char *note)
{
	char text[256], msg[512];

	es_guard_breach_text(s, text, sizeof(text));
	snprintf(msg, sizeof(msg), "breach: %s; decision: %s by %s%s%s", text, decision,
	         decided_by && *decided_by ? decided_by : "someone", note && *note ? "; " : "",
	         note ? note : "");
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:I,s:s,"
	                 "s:f}}",
	                 "kind", "guard", "phase", "outcome", "stage", s->name, "result", "breach",
	                 "message", msg, "decision", decision, "decided_by",
	                 decided_by ? decided_by : "", "figures", "rate_5xx", s->breach.rate_5xx,
	                 "threshold", s->breach.threshold, "requests", s->breach.requests,
	                 "lambda_errors", s->breach.lambda_errors, "validation_errors",
	                 s->breach.validation_errors, "limit_errors", s->breach.limit_errors,
	                 "periods", s->breach.periods, "period_s", s->set.period_s, "period_start",
	                 (json_int_t)s->breach.period, "distribution_id", s->distribution_id,
	                 "detected_at", s->breach.detected_at);
}

int es_guard_record(struct es_aws_client *aws, const struct es_config *conf,
                    const struct es_guard_stage *s, const char *decision, const char *decided_by,
                    const char *note)
{
	struct es_ledger *l;
	long seq;
	int rc;

	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (rc)
		return rc;
	if (!decided_by)
		decided_by = es_ledger_who(l);
	json_t *r = record_of(s, decision, decided_by, note);
	rc = r ? es_ledger_append(l, r, &seq) : es_fail(ES_ENOMEM, "out of memory");
	json_decref(r);
	es_ledger_free(l);
	return rc;
}

struct async_record {
	struct es_ledger *l;
	struct es_loop *loop;
};

static void free_later(struct es_loop *loop, void *ud)
{
	struct async_record *a = ud;

	(void)loop;
	es_ledger_free(a->l);
	free(a);
}

/* The ledger goes once its write is answered (retries after a race for
 * the record number included), outside its own callback. */
static void appended(int rc, long seq, void *ud)
{
	struct async_record *a = ud;

	(void)rc;
	(void)seq;
	if (es_loop_post(a->loop, free_later, a) != ES_OK) {
		es_ledger_free(a->l);
		free(a);
	}
}

int es_guard_record_async(struct es_aws_client *aws, const struct es_config *conf,
                          const struct es_guard_stage *s, const char *decision,
                          const char *decided_by, const char *who, const char *note)
{
	struct es_ledger *l;
	struct async_record *a;
	int rc;

	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (rc)
		return rc;
	if (!(a = malloc(sizeof(*a)))) {
		es_ledger_free(l);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	*a = (struct async_record){.l = l, .loop = es_aws_loop(aws)};
	if (who && strncmp(who, "arn:", 4) == 0)
		es_ledger_set_who(l, who);
	json_t *r = record_of(s, decision, decided_by, note);
	if (r && who && *who)
		json_object_set_new(r, "who", json_string(who));
	rc = r ? es_ledger_append_async(l, r, false, appended, a)
	       : es_fail(ES_ENOMEM, "out of memory");
	json_decref(r);
	if (rc) {
		es_ledger_free(l);
		free(a);
	}
	return rc;
}

int es_guard_previous_release(struct es_aws_client *aws, const struct es_config *conf,
                              const char *stage, char commit[41], char release[80])
{
	struct es_record_list recs = {0};
	struct es_ledger *l;
	int rc;

	rc = es_ledger_open(aws, conf->bucket, conf->prefix, &l);
	if (rc)
		return rc;
	rc = es_ledger_read(l, &recs);
	if (!rc && !es_guard_previous_in(&recs, stage, commit, release))
		rc = es_fail(ES_ENOTFOUND, "no earlier release of %s in the ledger", stage);
	es_record_list_free(&recs);
	es_ledger_free(l);
	return rc;
}

char *es_guard_stage_json_text(const struct es_guard *g, size_t i)
{
	json_t *o = es_guard_stage_json(g, i);
	char *text;

	json_object_set_new(o, "type", json_string("guard"));
	json_object_set_new(o, "stage", json_string(es_guard_stage(g, i)->name));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

char *es_guard_overview_json(const char *overview_json, const struct es_guard *g)
{
	json_t *root = json_loads(overview_json, 0, NULL), *st;
	char *text;
	size_t k;

	if (!root)
		return NULL;
	json_array_foreach(json_object_get(root, "stages"), k, st)
	{
		const char *name = json_string_value(json_object_get(st, "stage"));
		int i = name ? es_guard_find(g, name) : -1;
		if (i >= 0)
			json_object_set_new(st, "guard", es_guard_stage_json(g, (size_t)i));
	}
	text = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

int es_guard_poll_wait(struct es_guard *g)
{
	long before = es_guard_calls(g);
	int rc = es_guard_poll(g, 0);

	if (rc || es_guard_calls(g) == before)
		return rc;
	for (int i = 0; i < 240 && es_guard_polling(g); i++)
		es_loop_turn(es_guard_loop(g), 250);
	return ES_OK;
}
