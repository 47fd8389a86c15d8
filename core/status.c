/* Collecting stage status from CloudFormation and the ledger. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "aws/cloudfront.h"
#include "aws/services.h"
#include "base/timefmt.h"
#include "ops.h"
#include "resolve.h"
#include "replicas.h"
#include "status.h"
#include "validate.h"

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void read_distribution(struct es_aws_client *aws, struct es_stage_status *s)
{
	/* A stack whose resources cannot be read simply shows no distribution. */
	if (es_cfn_stack_distribution(aws, s->stack, s->distribution_id,
	                              sizeof(s->distribution_id)) != ES_OK) {
		s->distribution_id[0] = '\0';
		return;
	}
	if (!s->distribution_id[0])
		return;
	/* Whether the newest change has reached every edge: the one signal
	 * CloudFront gives, read as the dashboard reads it. */
	struct es_distribution d = {0};
	if (es_cf_get_distribution(aws, s->distribution_id, &d) == ES_OK) {
		copy(s->distribution_status, sizeof(s->distribution_status), d.status);
		copy(s->distribution_modified, sizeof(s->distribution_modified), d.last_modified);
		copy(s->distribution_domain, sizeof(s->distribution_domain), d.domain_name);
	} else {
		char line[600];
		copy(s->distribution_error, sizeof(s->distribution_error),
		     es_error_format(es_error_last(), line, sizeof(line)));
	}
	es_distribution_free(&d);
}

/* The status of the stack's read (ES_OK also when it does not exist). */
static int read_stage(struct es_aws_client *aws, const struct es_stage_conf *sc,
                      struct es_stage_status *s)
{
	struct es_stack st;
	int rc;

	copy(s->stage, sizeof(s->stage), sc->name);
	copy(s->stack, sizeof(s->stack), sc->stack);
	s->lock_age_s = -1;
	rc = es_cfn_describe_stack(aws, sc->stack, &st);
	if (rc == ES_ENOTFOUND) {
		copy(s->stack_status, sizeof(s->stack_status), "NOT_DEPLOYED");
		return ES_OK;
	}
	if (rc) {
		char line[600];
		copy(s->error, sizeof(s->error),
		     es_error_format(es_error_last(), line, sizeof(line)));
		copy(s->stack_status, sizeof(s->stack_status), "UNKNOWN");
		return rc;
	}
	s->exists = true;
	copy(s->stack_status, sizeof(s->stack_status), st.status);
	copy(s->status_reason, sizeof(s->status_reason), st.status_reason);
	if (strcmp(st.status, "UPDATE_ROLLBACK_FAILED") == 0)
		es_stack_failure(aws, sc->stack, s->failed_resource, sizeof(s->failed_resource),
		                 s->failed_reason, sizeof(s->failed_reason));
	copy(s->last_updated, sizeof(s->last_updated), st.last_updated);
	copy(s->commit, sizeof(s->commit), es_kv_get(st.tags, st.n_tags, "edgeship:commit"));
	copy(s->release, sizeof(s->release), es_kv_get(st.tags, st.n_tags, "edgeship:release"));
	copy(s->template_sha256, sizeof(s->template_sha256),
	     es_kv_get(st.tags, st.n_tags, "edgeship:template"));
	s->outputs = st.outputs;
	s->n_outputs = st.n_outputs;
	st.outputs = NULL;
	st.n_outputs = 0;
	es_stack_free(&st);
	read_distribution(aws, s);
	return ES_OK;
}

/* How long the lock has been held, from the time its holder wrote in it. */
static double lock_age(const struct es_lock_info *l)
{
	double since = l->held ? es_time_parse(l->since) : -1;
	double age = since < 0 ? -1 : es_time_now() - since;

	return since < 0 ? -1 : age < 0 ? 0 : age;
}

int es_overview_collect(struct es_aws_client *aws, const struct es_config *conf, bool read_only,
                        struct es_overview *out)
{
	struct es_ledger *ledger = NULL;
	struct es_record_list recs = {0};
	size_t unreadable = 0;
	struct es_error first = {0};

	memset(out, 0, sizeof(*out));
	out->stages = calloc(conf->n_stages ? conf->n_stages : 1, sizeof(*out->stages));
	if (!out->stages)
		return es_fail(ES_ENOMEM, "out of memory");
	out->n = conf->n_stages;
	for (size_t i = 0; i < conf->n_stages; i++) {
		/* Each stage with the credentials of its own account. */
		struct es_aws_client *sa = es_accounts_client(aws, conf, &conf->stages[i]);
		if (!sa) {
			copy(out->stages[i].stage, sizeof(out->stages[i].stage),
			     conf->stages[i].name);
			copy(out->stages[i].error, sizeof(out->stages[i].error),
			     es_error_last()->message);
		}
		if (!sa || read_stage(sa, &conf->stages[i], &out->stages[i]) != ES_OK) {
			if (!unreadable++)
				es_error_save(&first);
		} else if (es_lock_read(sa, conf, conf->stages[i].name, &out->stages[i].lock)) {
			memset(&out->stages[i].lock, 0, sizeof(out->stages[i].lock));
		}
		out->stages[i].lock_age_s = lock_age(&out->stages[i].lock);
		if (sa)
			es_accounts_account(sa, out->stages[i].account);
	}
	/* Offline, the cached records still say what was last seen. */
	int lrc = es_ledger_open_home(aws, conf, NULL, &ledger);
	if (lrc == ES_OK)
		lrc = es_ledger_read(ledger, &recs);
	/* Actions whose consoles stopped: record how they ended, once. */
	if (lrc == ES_OK && !read_only &&
	    es_resolve(aws, conf, ledger, &recs, &out->resolved) == ES_OK && out->resolved) {
		es_record_list_free(&recs);
		lrc = es_ledger_records(ledger, &recs);
	}
	if (lrc == ES_OK || recs.offline) {
		out->ledger_offline = recs.offline;
		out->ledger_no_bucket = recs.no_bucket;
		copy(out->ledger_note, sizeof(out->ledger_note), recs.offline_reason);
		for (size_t i = 0; i < out->n; i++) {
			struct es_stage_status *s = &out->stages[i];
			for (size_t j = recs.n; j-- > 0;) {
				if (strcmp(recs.items[j].stage, s->stage) != 0)
					continue;
				s->last = recs.items[j];
				s->last.json = NULL;
				s->has_last = true;
				break;
			}
			/* The newest open intent for this stage, if nothing closed it. */
			for (size_t j = recs.n; j-- > 0;) {
				const struct es_record *r = &recs.items[j];
				if (strcmp(r->stage, s->stage) != 0 ||
				    (strcmp(r->kind, "deploy") != 0 &&
				     strcmp(r->kind, "promotion") != 0 &&
				     strcmp(r->kind, "rollback") != 0))
					continue;
				if (r->open) {
					bool busy =
					        es_cfn_status_in_progress(s->stack_status) &&
					        strcmp(s->stack_status, "REVIEW_IN_PROGRESS") != 0;
					bool locked = s->lock.held && !s->lock.expired;
					s->running = busy || locked;
					s->detached = r->detached && !s->running;
					s->interrupted = !r->detached && !s->running;
				}
				if (strcmp(r->phase, "intent") == 0 ||
				    strcmp(r->phase, "outcome") == 0)
					break;
			}
			/* A lock held for an action that has ended is stale: its
			 * console died after the end was recorded for it. */
			for (size_t j = 0; s->lock.held && j < recs.n; j++) {
				const struct es_record *r = &recs.items[j];
				if (strcmp(r->phase, "intent") == 0 && !r->open &&
				    s->lock.action_id[0] &&
				    strcmp(r->action_id, s->lock.action_id) == 0)
					s->lock_stale = true;
			}
			if (s->lock.held && !s->lock.expired && !s->lock_stale)
				s->running = true;
			struct es_stage_state now = {.release = s->release,
			                             .distribution_id = s->distribution_id};
			struct es_validation_verdict v;
			es_validation_judge(&recs, s->stage, &now, &v);
			copy(s->validation, sizeof(s->validation),
			     es_validation_state_name(v.state));
			s->validation_seq = v.record ? v.record->seq : 0;
			copy(s->validation_note, sizeof(s->validation_note), v.why);
		}
	}
	es_replicas_count(&recs, &out->replicas_pending);
	es_record_list_free(&recs);
	es_ledger_free(ledger);
	/* Nothing could be read: fail as the first read failed, so that a
	 * caller tells missing credentials from a network outage. */
	if (unreadable == out->n && out->n > 0) {
		es_error_restore(&first);
		return first.status ? first.status : ES_ENET;
	}
	return ES_OK;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

char *es_overview_json(const struct es_overview *st)
{
	json_t *root = json_object(), *stages = json_array();
	char *text;

	for (size_t i = 0; i < st->n; i++) {
		const struct es_stage_status *s = &st->stages[i];
		json_t *o = json_object(), *outs = json_object();
		json_object_set_new(o, "stage", json_string(s->stage));
		json_object_set_new(o, "stack", json_string(s->stack));
		json_object_set_new(o, "account",
		                    s->account[0] ? json_string(s->account) : json_null());
		json_object_set_new(o, "exists", json_boolean(s->exists));
		json_object_set_new(o, "stack_status", json_string(s->stack_status));
		json_object_set_new(o, "status_reason", str_or_null(s->status_reason));
		json_object_set_new(o, "failed_resource", str_or_null(s->failed_resource));
		json_object_set_new(o, "failed_reason", str_or_null(s->failed_reason));
		json_object_set_new(o, "last_updated", str_or_null(s->last_updated));
		json_object_set_new(o, "commit", str_or_null(s->commit));
		json_object_set_new(o, "release", str_or_null(s->release));
		json_object_set_new(o, "template_sha256", str_or_null(s->template_sha256));
		json_object_set_new(o, "distribution_id", str_or_null(s->distribution_id));
		json_object_set_new(o, "distribution_status", str_or_null(s->distribution_status));
		json_object_set_new(o, "distribution_last_modified",
		                    str_or_null(s->distribution_modified));
		json_object_set_new(o, "distribution_domain", str_or_null(s->distribution_domain));
		json_object_set_new(o, "distribution_error", str_or_null(s->distribution_error));
		for (size_t k = 0; k < s->n_outputs; k++)
			json_object_set_new(outs, s->outputs[k].key,
			                    json_string(s->outputs[k].value));
		json_object_set_new(o, "outputs", outs);
		if (s->has_last)
			json_object_set_new(o, "last_action",
			                    json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "seq",
			                              (json_int_t)s->last.seq, "kind", s->last.kind,
			                              "phase", s->last.phase, "result",
			                              s->last.result, "who", s->last.who, "when",
			                              s->last.when));
		else
			json_object_set_new(o, "last_action", json_null());
		if (s->validation[0])
			json_object_set_new(
			        o, "validation",
			        json_pack("{s:s,s:o,s:s}", "state", s->validation, "seq",
			                  s->validation_seq ? json_integer(s->validation_seq)
			                                    : json_null(),
			                  "note", s->validation_note));
		else
			json_object_set_new(o, "validation", json_null());
		json_object_set_new(o, "interrupted", json_boolean(s->interrupted));
		json_object_set_new(o, "detached", json_boolean(s->detached));
		json_object_set_new(o, "running", json_boolean(s->running));
		json_t *lock = es_lock_info_json(&s->lock);
		if (s->lock.held && lock)
			json_object_set_new(lock, "age_s",
			                    s->lock_age_s >= 0 ? json_real(s->lock_age_s)
			                                       : json_null());
		json_object_set_new(o, "lock", lock);
		json_object_set_new(o, "lock_stale", json_boolean(s->lock_stale));
		json_object_set_new(o, "error", str_or_null(s->error));
		json_array_append_new(stages, o);
	}
	json_object_set_new(root, "stages", stages);
	json_object_set_new(root, "ledger_offline", json_boolean(st->ledger_offline));
	json_object_set_new(root, "ledger_bucket_missing", json_boolean(st->ledger_no_bucket));
	json_object_set_new(root, "outcomes_recorded", json_integer((json_int_t)st->resolved));
	json_object_set_new(root, "replicas_pending",
	                    json_integer((json_int_t)st->replicas_pending));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

void es_overview_free(struct es_overview *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; k < s->stages[i].n_outputs; k++) {
			free(s->stages[i].outputs[k].key);
			free(s->stages[i].outputs[k].value);
		}
		free(s->stages[i].outputs);
	}
	free(s->stages);
	memset(s, 0, sizeof(*s));
}

char *es_records_json(const struct es_record_list *l, const char *stage)
{
	json_t *arr = json_array();
	char *text;

	for (size_t i = 0; i < l->n; i++) {
		const struct es_record *r = &l->items[i];
		if (stage && strcmp(r->stage, stage) != 0)
			continue;
		json_t *o = json_loads(r->json, 0, NULL);
		if (!o)
			continue;
		if (strcmp(r->phase, "intent") == 0)
			json_object_set_new(o, "open", json_boolean(r->open));
		json_array_append_new(arr, o);
	}
	text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	return text;
}
