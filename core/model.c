/* Keeping the live model fresh: one polling round asks DescribeStacks for
 * every stage and ListDistributions once, all asynchronously; the next round
 * comes sooner while anything is in progress and later when all is settled,
 * and backs off while AWS cannot be reached. */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "aws/cloudformation.h"
#include "aws/cloudfront.h"
#include "aws/s3.h"
#include "aws/xml.h"
#include "base/timefmt.h"
#include "edges.h"
#include "identity.h"
#include "ledger.h"
#include "model.h"
#include "model_pace.h"
#include "repo.h"
#include "release.h"
#include "resolve.h"
#include "stage_records.h"

#define ACTIVITY_MAX   500
#define FAST_MS        ES_MODEL_PACE_MOVING_MS
#define SLOW_MS        ES_MODEL_PACE_SETTLED_MS
#define MAX_BACKOFF_MS 60000L
/* How often new ledger records are looked for. */
#define LEDGER_EVERY_MS 15000L

struct es_model {
	struct es_aws_client *aws;
	struct es_loop *loop;
	const struct es_config *conf;
	struct es_stage_view *stages;
	struct es_edge_probe **sampling; /* per stage, in flight or NULL */
	struct edge_ctx *edge_ctx;       /* per stage */
	size_t n_stages;
	struct es_activity *activity; /* ring */
	size_t act_start, act_n;
	es_model_changed_fn fn;
	void *ud;
	int outstanding; /* requests of the current round in flight */
	bool round_failed;
	char round_error[256];
	long backoff_ms;
	int looks; /* rounds since something was first seen moving */
	char connection[320];
	uint64_t timer;
	uint64_t ledger_timer;
	bool zombie;              /* freed by its owner while answers were still due */
	bool again;               /* a refresh was asked for while a round was in flight */
	bool force;               /* the next round reads every stack (a refresh, or the first) */
	struct es_ledger *ledger; /* records read in the background (NULL: none) */
	int ledger_pending;       /* ledger refreshes and writes in flight */
	int locks_pending;        /* stage lock reads in flight */
	bool *lock_reading;       /* per stage: its lock read is in flight */
	bool resolving;           /* recording the end of abandoned actions */
	bool first_look;          /* the ledger and locks were looked at once */
	bool read_only;           /* record nothing, not even propagation times */
	bool who_pending;         /* waiting for the client's caller identity */
	double *stack_polled;     /* per stage: when DescribeStacks last went out */
	double *detail_modified;  /* per stage: dist_modified the detail was read for */
	struct es_record_list records; /* the ledger as last read, for the screen */
	unsigned long records_gen;     /* grows each time records is read again */
};

struct req {
	struct es_model *m;
	size_t stage; /* the stage a stack or distribution answer is for */
	long seq;     /* the ledger record a GetObject answer carries */
};

static void changed(struct es_model *m, unsigned what)
{
	if (m->fn)
		m->fn(m, what, m->ud);
}

void es_model_log(struct es_model *m, enum es_activity_level level, const char *fmt, ...)
{
	struct es_activity *a;
	va_list ap;

	if (m->act_n < ACTIVITY_MAX) {
		a = &m->activity[(m->act_start + m->act_n++) % ACTIVITY_MAX];
	} else {
		a = &m->activity[m->act_start];
		m->act_start = (m->act_start + 1) % ACTIVITY_MAX;
	}
	a->when = es_time_now();
	a->level = level;
	va_start(ap, fmt);
	vsnprintf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
	es_sanitize(a->text, false);
	changed(m, ES_MODEL_ACTIVITY);
}

size_t es_model_activity_count(const struct es_model *m)
{
	return m->act_n;
}

const struct es_activity *es_model_activity(const struct es_model *m, size_t i)
{
	if (i >= m->act_n)
		return NULL;
	return &m->activity[(m->act_start + i) % ACTIVITY_MAX];
}

size_t es_model_stage_count(const struct es_model *m)
{
	return m->n_stages;
}

const struct es_stage_view *es_model_stage(const struct es_model *m, size_t i)
{
	return i < m->n_stages ? &m->stages[i] : NULL;
}

const char *es_model_connection(const struct es_model *m)
{
	return m->connection;
}

bool es_model_busy(const struct es_model *m)
{
	if (m->outstanding > 0 || m->ledger_pending > 0 || m->who_pending || m->locks_pending > 0 ||
	    m->resolving || !m->first_look)
		return true;
	for (size_t i = 0; i < m->n_stages; i++)
		if (m->sampling[i])
			return true;
	return false;
}

void es_model_on_change(struct es_model *m, es_model_changed_fn fn, void *ud)
{
	m->fn = fn;
	m->ud = ud;
}

/* ------------------------------------------------------------ rounds */

static void start_round(struct es_model *m);

static void round_timer(struct es_loop *loop, void *ud)
{
	struct es_model *m = ud;

	(void)loop;
	m->timer = 0;
	start_round(m);
}

static bool anything_moving(const struct es_model *m)
{
	for (size_t i = 0; i < m->n_stages; i++) {
		const struct es_stage_view *s = &m->stages[i];
		if (s->busy || s->propagation == ES_PROP_IN_PROGRESS ||
		    s->invalidations_in_progress)
			return true;
		/* A distribution just learnt of: its status comes next round. */
		if (s->distribution_id[0] && s->propagation == ES_PROP_UNKNOWN)
			return true;
	}
	return false;
}

struct edge_ctx {
	struct es_model *m;
	size_t stage;
};

static void on_edges(const struct es_edge_sample *samples, size_t n, void *ud)
{
	struct edge_ctx *c = ud;
	struct es_model *m = c->m;
	struct es_stage_view *s = &m->stages[c->stage];
	size_t before = s->edges_new, cached_before = s->edges_cached_old;
	bool hinted = es_stage_settled_with_cache(s);

	m->sampling[c->stage] = NULL;
	memcpy(s->edges, samples, n * sizeof(*samples));
	s->n_edges = n;
	s->edges_new = s->edges_cached_old = s->edges_fn_new = 0;
	s->edges_bypassed = false;
	for (size_t i = 0; i < n; i++) {
		s->edges_new += samples[i].is_new;
		s->edges_cached_old += samples[i].state == ES_EDGE_CACHED_OLD;
		s->edges_fn_new += samples[i].bypassed && samples[i].fn_state == ES_EDGE_NEW;
		s->edges_bypassed |= samples[i].bypassed;
	}
	if ((s->edges_new != before || s->edges_cached_old != cached_before) &&
	    s->propagation != ES_PROP_UNKNOWN) {
		char cached[64] = "";
		if (s->edges_cached_old)
			snprintf(cached, sizeof(cached), ", %zu answer%s old from cache",
			         s->edges_cached_old, s->edges_cached_old == 1 ? "s" : "");
		es_model_log(m, ES_ACT_EVENT, "%s: %zu of %zu sampled edges serve version %s%s",
		             s->name, s->edges_new, n, es_edges_version_of(s->lambda_arn), cached);
	}
	if (es_stage_settled_with_cache(s) && !hinted)
		es_model_log(m, ES_ACT_WARN,
		             "%s: Deployed, but %zu edge%s still answer%s from cache: invalidate "
		             "to serve version %s",
		             s->name, s->edges_cached_old, s->edges_cached_old == 1 ? "" : "s",
		             s->edges_cached_old == 1 ? "s" : "",
		             es_edges_version_of(s->lambda_arn));
	changed(m, ES_MODEL_STAGES);
}

bool es_stage_settled_with_cache(const struct es_stage_view *s)
{
	return s->propagation == ES_PROP_DEPLOYED && s->edges_cached_old > 0;
}

/* Edges are sampled once per round for stages that have something to
 * sample: a configured probe or a distribution domain. */
static void sample_edges(struct es_model *m)
{
	for (size_t i = 0; i < m->n_stages; i++) {
		const struct es_stage_conf *sc = &m->conf->stages[i];
		struct es_stage_view *s = &m->stages[i];
		if (m->sampling[i] || !s->distribution_domain[0])
			continue;
		if (!sc->n_probes && !sc->url)
			continue;
		m->edge_ctx[i] = (struct edge_ctx){m, i};
		es_edges_sample(m->loop, sc, s->distribution_domain,
		                es_edges_version_of(s->lambda_arn), on_edges, &m->edge_ctx[i],
		                &m->sampling[i]);
	}
}

static void free_now(struct es_model *m)
{
	free(m->lock_reading);
	free(m->sampling);
	free(m->edge_ctx);
	free(m->stack_polled);
	free(m->detail_modified);
	es_ledger_free(m->ledger);
	es_record_list_free(&m->records);
	free(m->stages);
	free(m->activity);
	free(m);
}

/* Freed by its owner: free for real once nothing is due any more. */
static void free_if_idle(struct es_model *m)
{
	if (m->zombie && m->outstanding == 0 && m->locks_pending == 0 && !m->resolving)
		free_now(m);
}

/* An answer arrived after es_model_free(): drop it, free with the last. */
static bool gone(struct es_model *m)
{
	if (!m->zombie)
		return false;
	m->outstanding--;
	free_if_idle(m);
	return true;
}

static void end_round(struct es_model *m)
{
	long next;
	char before[sizeof(m->connection)];

	snprintf(before, sizeof(before), "%s", m->connection);
	if (m->round_failed) {
		m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : FAST_MS;
		if (m->backoff_ms > MAX_BACKOFF_MS)
			m->backoff_ms = MAX_BACKOFF_MS;
		next = m->backoff_ms;
		snprintf(m->connection, sizeof(m->connection), "offline: retrying in %lds (%s)",
		         next / 1000, m->round_error);
	} else {
		m->backoff_ms = 0;
		m->connection[0] = '\0';
		next = es_model_pace(&m->looks, anything_moving(m));
	}
	if (m->again) {
		m->again = false;
		next = 0;
	}
	if (strcmp(before, m->connection) != 0) {
		if (m->connection[0])
			es_model_log(m, ES_ACT_WARN, "%s", m->connection);
		else if (before[0])
			es_model_log(m, ES_ACT_INFO, "connection to AWS restored");
		changed(m, ES_MODEL_CONNECTION);
	}
	changed(m, ES_MODEL_STAGES);
	if (!m->round_failed)
		sample_edges(m);
	if (!m->timer)
		m->timer = es_loop_timer(m->loop, next, round_timer, m);
}

static void note_failure(struct es_model *m, const struct es_error *err)
{
	char line[300];

	m->round_failed = true;
	snprintf(m->round_error, sizeof(m->round_error), "%s",
	         es_error_format(err, line, sizeof(line)));
}

static void on_resources(int rc, const struct es_http_response *resp, const struct es_error *err,
                         void *ud)
{
	struct req *r = ud;
	struct es_model *m = r->m;
	struct es_stage_view *s = &m->stages[r->stage];

	if (gone(m)) {
		free(r);
		return;
	}
	if (rc == ES_OK)
		es_cfn_resource_of_type(resp->body.data, resp->body.len,
		                        "AWS::CloudFront::Distribution", s->distribution_id,
		                        sizeof(s->distribution_id));
	(void)err;
	free(r);
	if (--m->outstanding == 0)
		end_round(m);
}

static void on_stack(int rc, const struct es_http_response *resp, const struct es_error *err,
                     void *ud)
{
	struct req *r = ud;
	struct es_model *m = r->m;
	struct es_stage_view *s = &m->stages[r->stage];
	struct es_stack st;
	char old_status[64];

	if (gone(m)) {
		free(r);
		return;
	}
	snprintf(old_status, sizeof(old_status), "%s", s->stack_status);
	if (rc == ES_EAWS && strcmp(err->code, "ValidationError") == 0 &&
	    strstr(err->message, "does not exist")) {
		snprintf(s->stack_status, sizeof(s->stack_status), "NOT_DEPLOYED");
		s->commit[0] = s->release[0] = s->distribution_id[0] = '\0';
		s->busy = false;
		s->error[0] = '\0';
	} else if (rc) {
		es_error_format(err, s->error, sizeof(s->error));
		note_failure(m, err);
	} else if (es_cfn_parse_stack(resp->body.data, resp->body.len, &st) == ES_OK) {
		s->error[0] = '\0';
		snprintf(s->stack_status, sizeof(s->stack_status), "%s", st.status);
		snprintf(s->status_reason, sizeof(s->status_reason), "%s",
		         st.status_reason ? st.status_reason : "");
		es_sanitize(s->status_reason, false);
		const char *c = es_kv_get(st.tags, st.n_tags, "edgeship:commit");
		const char *rel = es_kv_get(st.tags, st.n_tags, "edgeship:release");
		snprintf(s->commit, sizeof(s->commit), "%s", c ? c : "");
		snprintf(s->release, sizeof(s->release), "%s", rel ? rel : "");
		s->busy = es_cfn_status_in_progress(st.status) &&
		          strcmp(st.status, "REVIEW_IN_PROGRESS") != 0;
		es_stack_free(&st);
		if (old_status[0] && strcmp(old_status, s->stack_status) != 0 &&
		    strcmp(old_status, "UNKNOWN") != 0)
			es_model_log(m, ES_ACT_EVENT, "%s: stack %s %s", s->name, s->stack,
			             s->stack_status);
		/* The distribution comes from the stack's resources, read when
		 * unknown or when the stack just changed. */
		if (!s->distribution_id[0] || strcmp(old_status, s->stack_status) != 0) {
			struct es_aws_call call;
			struct req *r2 = malloc(sizeof(*r2));
			if (r2 && es_cfn_describe_stack_resources_call(&call, s->stack) == ES_OK) {
				*r2 = *r;
				m->outstanding++;
				es_aws_send(es_accounts_stage_client(m->aws, m->conf, r->stage),
				            &call, on_resources, r2);
			} else {
				free(r2);
			}
		}
	} else {
		snprintf(s->error, sizeof(s->error), "%s", es_error_last()->message);
	}
	free(r);
	if (--m->outstanding == 0)
		end_round(m);
}

static void record_propagation(struct es_model *m, size_t stage, double seconds,
                               const char *modified);

static void apply_distribution(struct es_model *m, const struct es_distribution *d)
{
	for (size_t i = 0; i < m->n_stages; i++) {
		struct es_stage_view *s = &m->stages[i];
		if (strcmp(s->distribution_id, d->id) != 0)
			continue;
		enum es_prop_state before = s->propagation;
		s->propagation =
		        strcmp(d->status, "Deployed") == 0 ? ES_PROP_DEPLOYED : ES_PROP_IN_PROGRESS;
		s->dist_modified = es_time_parse(d->last_modified);
		if (s->dist_modified < 0)
			s->dist_modified = 0;
		s->prop_elapsed_s = s->dist_modified > 0 ? es_time_now() - s->dist_modified : 0;
		snprintf(s->distribution_domain, sizeof(s->distribution_domain), "%s",
		         d->domain_name ? d->domain_name : "");
		if (d->lambda_arn)
			snprintf(s->lambda_arn, sizeof(s->lambda_arn), "%s", d->lambda_arn);
		if (before != ES_PROP_UNKNOWN && before != s->propagation) {
			char took[32];
			if (s->propagation == ES_PROP_DEPLOYED) {
				es_model_log(
				        m, ES_ACT_EVENT, "%s: distribution %s Deployed after %s",
				        s->name, d->id,
				        es_duration_format(s->prop_elapsed_s, took, sizeof(took)));
				/* Seen from start to end: a duration for later estimates. */
				if (before == ES_PROP_IN_PROGRESS && s->prop_elapsed_s > 0)
					record_propagation(m, i, s->prop_elapsed_s,
					                   d->last_modified);
			} else
				es_model_log(m, ES_ACT_EVENT, "%s: distribution %s InProgress",
				             s->name, d->id);
		}
	}
}

static void on_distribution_detail(int rc, const struct es_http_response *resp,
                                   const struct es_error *err, void *ud)
{
	struct req *r = ud;
	struct es_model *m = r->m;

	(void)err;
	if (gone(m)) {
		free(r);
		return;
	}
	if (rc == ES_OK) {
		xmlDoc *doc = es_xml_parse(resp->body.data, resp->body.len);
		if (doc) {
			char *arn = es_xml_path_text(xmlDocGetRootElement(doc),
			                             "DistributionConfig/DefaultCacheBehavior/"
			                             "LambdaFunctionAssociations/Items/"
			                             "LambdaFunctionAssociation/LambdaFunctionARN");
			char *inv = es_xml_path_text(xmlDocGetRootElement(doc),
			                             "InProgressInvalidationBatches");
			struct es_stage_view *s = &m->stages[r->stage];
			snprintf(s->lambda_arn, sizeof(s->lambda_arn), "%s", arn ? arn : "");
			s->invalidations_in_progress = inv ? atoi(inv) : 0;
			free(arn);
			free(inv);
			xmlFreeDoc(doc);
		}
	}
	free(r);
	if (--m->outstanding == 0)
		end_round(m);
}

/* The summary may leave out the Lambda association and never carries the
 * invalidation count: ask for the whole distribution when it is moving or
 * when its association is unknown. */
static void want_detail(struct es_model *m)
{
	for (size_t i = 0; i < m->n_stages; i++) {
		struct es_stage_view *s = &m->stages[i];
		struct es_aws_call call;
		if (!s->distribution_id[0])
			continue;
		/* Once per change of the distribution, and while invalidations
		 * run (only the whole distribution counts them). */
		if (s->lambda_arn[0] && s->dist_modified == m->detail_modified[i] &&
		    !s->invalidations_in_progress)
			continue;
		m->detail_modified[i] = s->dist_modified;
		struct req *r = malloc(sizeof(*r));
		if (!r || es_cf_get_distribution_call(&call, s->distribution_id) != ES_OK) {
			free(r);
			es_aws_call_free(&call);
			continue;
		}
		r->m = m;
		r->stage = i;
		m->outstanding++;
		es_aws_send(es_accounts_stage_client(m->aws, m->conf, i), &call,
		            on_distribution_detail, r);
	}
}

static void on_distributions(int rc, const struct es_http_response *resp,
                             const struct es_error *err, void *ud)
{
	struct es_model *m = ud;
	struct es_distribution_list l = {0};
	char *marker = NULL;

	if (gone(m))
		return;
	if (rc) {
		note_failure(m, err);
	} else if (es_cf_parse_distribution_list(resp->body.data, resp->body.len, &l, &marker) ==
	           ES_OK) {
		for (size_t i = 0; i < l.n; i++)
			apply_distribution(m, &l.items[i]);
		if (!marker || !*marker)
			want_detail(m);
		if (marker && *marker) {
			struct es_aws_call call;
			if (es_cf_list_distributions_call(&call, marker) == ES_OK) {
				m->outstanding++;
				es_aws_send(m->aws, &call, on_distributions, m);
			} else {
				es_aws_call_free(&call);
			}
		}
	}
	free(marker);
	es_distribution_list_free(&l);
	if (--m->outstanding == 0)
		end_round(m);
}

static void start_round(struct es_model *m)
{
	struct es_aws_call call;

	if (m->outstanding > 0)
		return;
	m->round_failed = false;
	m->round_error[0] = '\0';
	/* A settled stack is read at the slow pace even while its distribution
	 * propagates: ListDistributions alone follows that. */
	double now = es_time_now();
	bool poll[m->n_stages ? m->n_stages : 1];
	int n_poll = 0;
	for (size_t i = 0; i < m->n_stages; i++) {
		const struct es_stage_view *s = &m->stages[i];
		poll[i] = m->force || s->busy || strcmp(s->stack_status, "UNKNOWN") == 0 ||
		          s->error[0] || now - m->stack_polled[i] >= SLOW_MS / 1000.0 - 0.5;
		n_poll += poll[i];
	}
	m->force = false;
	/* Count every request before sending any: an answer that arrives at
	 * once must not end the round early. */
	m->outstanding = n_poll + 1;
	for (size_t i = 0; i < m->n_stages; i++) {
		if (!poll[i])
			continue;
		m->stack_polled[i] = now;
		struct req *r = malloc(sizeof(*r));
		if (!r || es_cfn_describe_stacks_call(&call, m->stages[i].stack) != ES_OK) {
			free(r);
			es_aws_call_free(&call);
			m->outstanding--;
			continue;
		}
		r->m = m;
		r->stage = i;
		es_aws_send(es_accounts_stage_client(m->aws, m->conf, i), &call, on_stack, r);
	}
	if (es_cf_list_distributions_call(&call, NULL) == ES_OK) {
		es_aws_send(m->aws, &call, on_distributions, m);
	} else {
		es_aws_call_free(&call);
		if (--m->outstanding == 0)
			end_round(m);
	}
}

/* ------------------------------------------------------------ ledger */

static void read_ledger(struct es_loop *loop, void *ud);

bool es_stage_locked(const struct es_stage_view *s)
{
	return s->lock.held && !s->lock_stale && es_stage_lock_expires_in(s) > 0;
}

double es_stage_lock_expires_in(const struct es_stage_view *s)
{
	if (!s->lock.held)
		return 0;
	return s->lock.expires_in_s - (es_time_now() - s->lock_read_at);
}

static bool deploy_like(const char *kind)
{
	return strcmp(kind, "deploy") == 0 || strcmp(kind, "promotion") == 0 ||
	       strcmp(kind, "rollback") == 0;
}

/* The last-action line of a stage whose action is under way: "deploy
 * running by ann, 12s ago" (es_model_tick keeps the age moving). */
static void say_running(struct es_stage_view *s, const struct es_record *r)
{
	const char *who = s->lock.held && s->lock.who[0] ? s->lock.who : r->who;
	const char *slash = strrchr(who, '/');
	double t = es_time_parse(r->when);
	char ago[32];

	s->last_action_at = t > 0 ? t : 0;
	snprintf(s->last_action, sizeof(s->last_action), "%s running by %s, %s ago", r->kind,
	         slash ? slash + 1 : who,
	         es_duration_format(t > 0 ? es_time_now() - t : 0, ago, sizeof(ago)));
}

/* What the records say of each stage's lock and open action: a lock held
 * for an action whose end is recorded is stale (its console died after
 * the end was written); an open action whose console still holds the lock
 * is running, not interrupted. */
static void apply_locks(struct es_model *m, const struct es_record_list *recs)
{
	for (size_t i = 0; i < m->n_stages; i++) {
		struct es_stage_view *s = &m->stages[i];
		s->lock_stale = false;
		s->detached = false;
		for (size_t j = 0; s->lock.held && s->lock.action_id[0] && j < recs->n; j++) {
			const struct es_record *r = &recs->items[j];
			if (strcmp(r->phase, "intent") == 0 && !r->open &&
			    strcmp(r->action_id, s->lock.action_id) == 0)
				s->lock_stale = true;
		}
		const struct es_record *open = NULL;
		for (size_t j = recs->n; j-- > 0;) {
			const struct es_record *r = &recs->items[j];
			if (strcmp(r->stage, s->name) != 0 || !deploy_like(r->kind))
				continue;
			s->detached = r->open && r->detached;
			open = r->open ? r : NULL;
			break;
		}
		/* An open action is running while anyone still works on it: its
		 * console holds the lock, CloudFormation works on the stack, or
		 * this very process follows it (before the lock is read again). */
		s->running = open && (es_stage_locked(s) || es_lock_held_here(open->action_id) ||
		                      (s->busy && !open->detached));
		if (s->running || es_stage_locked(s))
			s->interrupted = s->detached = false;
		if (s->busy) {
			s->validated = s->validation_passed = false;
			snprintf(s->validation_why, sizeof(s->validation_why),
			         "%s's stack is %s: validate once it is done", s->name,
			         s->stack_status);
		}
		if (s->running) {
			say_running(s, open);
			/* A release on its way in (a rollback to one validated
			 * before, too) is not validated until a check of it,
			 * taken after the action, passes. */
			s->validated = s->validation_passed = false;
			snprintf(s->validation_why, sizeof(s->validation_why),
			         "a %s is running on %s: validate its release once it is done",
			         open->kind, s->name);
		}
	}
}

static void apply_records(struct es_model *m)
{
	struct es_record_list recs;

	if (!m->ledger || es_ledger_records(m->ledger, &recs) != ES_OK)
		return;
	es_stage_records_apply(m->stages, m->n_stages, &recs);
	apply_locks(m, &recs);
	/* kept for the screen's ledger view, so it never reads the cache */
	es_record_list_free(&m->records);
	m->records = recs;
	m->records_gen++;
	changed(m, ES_MODEL_STAGES);
}

static void sync_ledger(struct es_model *m);

static void on_resolved(int rc, size_t recorded, void *ud)
{
	struct es_model *m = ud;

	(void)rc;
	m->resolving = false;
	if (m->zombie) {
		/* es_model_free left the ledger to the resolver */
		es_ledger_free(m->ledger);
		m->ledger = NULL;
		free_if_idle(m);
		return;
	}
	if (recorded) {
		es_model_log(m, ES_ACT_EVENT,
		             "recorded how %zu abandoned action%s ended (their consoles stopped "
		             "before they did)",
		             recorded, recorded == 1 ? "" : "s");
		apply_records(m);
		sync_ledger(m);
	}
}

/* Actions whose consoles stopped (killed, detached): record how they ended,
 * once, as `status` does. Their own consoles, while alive, hold the lock
 * and record it themselves. */
static void resolve_abandoned(struct es_model *m)
{
	struct es_record_list recs;

	if (m->read_only || m->resolving || m->zombie || !m->ledger ||
	    !es_ledger_knows_who(m->ledger) || es_ledger_records(m->ledger, &recs) != ES_OK)
		return;
	if (!recs.offline) {
		m->resolving = true;
		if (es_resolve_start(m->aws, m->conf, m->ledger, &recs, on_resolved, m) != ES_OK)
			m->resolving = false;
	}
	es_record_list_free(&recs);
}

static void on_synced(int rc, void *ud)
{
	struct es_model *m = ud;

	m->ledger_pending--;
	m->first_look = true;
	if (rc) {
		char line[600];
		es_model_log(m, ES_ACT_WARN, "ledger: %s",
		             es_error_format(es_error_last(), line, sizeof(line)));
	}
	apply_records(m);
	if (rc == ES_OK)
		resolve_abandoned(m);
}

static void sync_ledger(struct es_model *m)
{
	if (es_ledger_sync(m->ledger, on_synced, m) == ES_OK)
		m->ledger_pending++;
	else
		m->first_look = true;
}

/* The client's shared caller identity (es_model_free cancels the ask). */
static void on_who(int rc, const struct es_caller_identity *id, const struct es_error *err,
                   void *ud)
{
	struct es_model *m = ud;

	(void)err; /* the next round asks again */
	m->who_pending = false;
	if (rc)
		m->first_look = true; /* nothing to read the ledger as, for now */
	if (rc == ES_OK && m->ledger) {
		es_ledger_set_who(m->ledger, id->arn);
		apply_records(m);
		sync_ledger(m);
	}
}

/* ------------------------------------------------------------ locks */

static void say_lock_change(struct es_model *m, const struct es_stage_view *s,
                            const struct es_lock_info *before, bool first)
{
	const char *who = strrchr(s->lock.who, '/');

	who = who ? who + 1 : s->lock.who;
	if (s->lock.held && (first || !before->held || strcmp(before->owner, s->lock.owner) != 0))
		es_model_log(m, ES_ACT_INFO, "%s: locked for a %s by %s since %s%s", s->name,
		             s->lock.kind[0] ? s->lock.kind : "action", who[0] ? who : "?",
		             s->lock.since[0] ? s->lock.since : "?",
		             s->lock.expired ? " (expired: the next action takes it over)" : "");
	else if (!s->lock.held && before->held)
		es_model_log(m, ES_ACT_INFO, "%s: lock released", s->name);
}

static void on_lock(int rc, const struct es_http_response *resp, const struct es_error *err,
                    void *ud)
{
	struct req *r = ud;
	struct es_model *m = r->m;
	size_t i = r->stage;

	free(r);
	m->locks_pending--;
	if (m->zombie) {
		free_if_idle(m);
		return;
	}
	m->lock_reading[i] = false;
	struct es_stage_view *s = &m->stages[i];
	struct es_lock_info before = s->lock;
	bool first = !s->lock_known;
	if (rc == ES_OK) {
		es_lock_parse_answer(resp, &s->lock);
	} else if (es_s3_not_found(rc, err)) {
		memset(&s->lock, 0, sizeof(s->lock)); /* no lock, or no bucket yet */
	} else {
		return; /* unreadable now: keep what was seen, read again later */
	}
	s->lock_known = true;
	s->lock_read_at = es_time_now();
	say_lock_change(m, s, &before, first);
	apply_records(m);
	changed(m, ES_MODEL_STAGES);
}

/* Who holds each stage (read with the ledger: both change when actions
 * start and end). */
static void read_locks(struct es_model *m)
{
	for (size_t i = 0; m->conf->bucket && i < m->n_stages; i++) {
		struct es_aws_call call;
		char key[600];
		if (m->lock_reading[i])
			continue;
		struct req *r = malloc(sizeof(*r));
		es_lock_key(m->conf, m->stages[i].name, key, sizeof(key));
		if (!r || es_s3_get_object_call(&call, es_lock_bucket(m->conf, m->stages[i].name),
		                                key) != ES_OK) {
			free(r);
			es_aws_call_free(&call);
			continue;
		}
		*r = (struct req){.m = m, .stage = i};
		m->lock_reading[i] = true;
		m->locks_pending++;
		es_aws_send(es_accounts_stage_client(m->aws, m->conf, i), &call, on_lock, r);
	}
}

/* Timer: the cached records at once, then what S3 has that the cache lacks.
 * The account picks the cache, so who this is comes first. */
static void read_ledger(struct es_loop *loop, void *ud)
{
	struct es_model *m = ud;

	(void)loop;
	m->ledger_timer = es_loop_timer(m->loop, LEDGER_EVERY_MS, read_ledger, m);
	read_locks(m);
	if (!m->ledger) {
		m->first_look = true;
		return;
	}
	if (!es_ledger_knows_who(m->ledger) && es_identity_cached(m->aws))
		es_ledger_set_who(m->ledger, es_identity_cached(m->aws)->arn);
	if (es_ledger_knows_who(m->ledger)) {
		apply_records(m);
		sync_ledger(m);
		return;
	}
	if (!m->who_pending && es_identity_get(m->aws, on_who, m) == ES_OK)
		m->who_pending = true;
	else if (!m->who_pending)
		m->first_look = true;
}

static void on_propagation_recorded(int rc, long seq, void *ud)
{
	struct es_model *m = ud;

	(void)seq;
	m->ledger_pending--;
	if (rc) {
		char line[600];
		es_model_log(m, ES_ACT_WARN, "ledger: the propagation time was not recorded: %s",
		             es_error_format(es_error_last(), line, sizeof(line)));
	}
	apply_records(m);
}

/* Write how long a change took to reach every edge, once per change (other
 * consoles may have seen it too): the medians are the estimates. */
static void record_propagation(struct es_model *m, size_t stage, double seconds,
                               const char *modified)
{
	json_t *r;

	if (m->read_only || !m->ledger || !modified || !es_ledger_knows_who(m->ledger))
		return;
	r = es_propagation_record(&m->stages[stage], seconds, modified);
	if (r && es_ledger_append_async(m->ledger, r, true, on_propagation_recorded, m) == ES_OK)
		m->ledger_pending++;
	json_decref(r);
}

static struct es_stage_view *find_stage(struct es_model *m, const char *name)
{
	for (size_t i = 0; name && i < m->n_stages; i++)
		if (strcmp(m->stages[i].name, name) == 0)
			return &m->stages[i];
	return NULL;
}

/* Write why and return rc: one line per refusal below. */
static int say(int rc, char *why, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int say(int rc, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* Rule 2 as the model sees it: is anything still moving on s? */
static int stage_moving(const struct es_stage_view *s, char *why, size_t len)
{
	char t[32];
	const char *who = strrchr(s->lock.who, '/');

	if (s->busy)
		return say(ES_EBUSY, why, len,
		           "%s's stack is %s: CloudFormation is still working on it", s->name,
		           s->stack_status);
	if (s->propagation == ES_PROP_IN_PROGRESS)
		return say(ES_EBUSY, why, len,
		           "%s's distribution is InProgress: its last change has not reached "
		           "every edge yet (%s so far)",
		           s->name, es_duration_format(s->prop_elapsed_s, t, sizeof(t)));
	if (es_stage_locked(s) && !es_lock_held_here(s->lock.action_id))
		return say(ES_EBUSY, why, len, "%s is locked for a %s by %s", s->name,
		           s->lock.kind[0] ? s->lock.kind : "action", who ? who + 1 : s->lock.who);
	return ES_OK;
}

int es_model_check(struct es_model *m, const char *action, const char *stage, const char *commit,
                   char *why, size_t len)
{
	struct es_stage_view *s = find_stage(m, stage);
	const struct es_stage_conf *sc = es_config_stage(m->conf, stage);
	int rc;

	why[0] = '\0';
	if (!s || !sc)
		return ES_OK; /* the engine says what is wrong */
	if (strcmp(action, "promotion") == 0 && sc->promotes_from) {
		struct es_stage_view *from = find_stage(m, sc->promotes_from);
		if (from && !from->release[0] && strcmp(from->stack_status, "UNKNOWN") != 0)
			return say(ES_EREFUSED, why, len,
			           "%s runs no release yet: deploy a commit to it first",
			           from->name);
		if (from && (rc = stage_moving(from, why, len)) != ES_OK)
			return rc;
		/* The verdict of es_validation_judge, as the stage view keeps it. */
		if (from && m->first_look && !from->validation_passed)
			return say(ES_EREFUSED, why, len,
			           "%s's release %s is not validated: promotion takes only a "
			           "release whose checks passed after it reached every edge (%s)",
			           from->name, from->release,
			           from->validation_why[0] ? from->validation_why
			                                   : "no validation of it is recorded");
	}
	if (strcmp(action, "rollback") == 0 && commit && m->ledger) {
		struct es_record_list recs;
		char rel[80];
		if (es_ledger_records(m->ledger, &recs) == ES_OK) {
			bool found = es_release_recorded(&recs, commit, rel, sizeof(rel));
			bool complete = !recs.offline && m->first_look;
			es_record_list_free(&recs);
			if (!found && complete)
				return say(ES_EREFUSED, why, len,
				           "%.7s was never deployed, so no release of it is "
				           "recorded to roll back to",
				           commit);
		}
	}
	return stage_moving(s, why, len);
}

bool es_model_tick(struct es_model *m)
{
	bool moved = false;

	for (size_t i = 0; i < m->n_stages; i++) {
		struct es_stage_view *s = &m->stages[i];
		char *comma = strrchr(s->last_action, ',');
		char ago[32], tail[48];
		if (!s->last_action_at || !comma)
			continue;
		snprintf(tail, sizeof(tail), ", %s ago",
		         es_duration_format(es_time_now() - s->last_action_at, ago, sizeof(ago)));
		if (strcmp(comma, tail) == 0)
			continue;
		snprintf(comma, sizeof(s->last_action) - (size_t)(comma - s->last_action), "%s",
		         tail);
		moved = true;
	}
	if (moved)
		changed(m, ES_MODEL_STAGES);
	return moved;
}

void es_model_refresh(struct es_model *m)
{
	m->force = true;
	/* Actions write the ledger: read it again soon too. */
	if (m->ledger_timer)
		es_loop_timer_cancel(m->loop, m->ledger_timer);
	m->ledger_timer = es_loop_timer(m->loop, 10, read_ledger, m);
	if (m->outstanding > 0) {
		m->again = true;
		return;
	}
	if (m->timer) {
		es_loop_timer_cancel(m->loop, m->timer);
		m->timer = 0;
	}
	start_round(m);
}

/* ------------------------------------------------------------ life */

int es_model_new(struct es_aws_client *aws, const struct es_config *conf, struct es_model **out)
{
	struct es_model *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return es_fail(ES_ENOMEM, "out of memory");
	m->aws = aws;
	m->loop = es_aws_loop(aws);
	m->conf = conf;
	m->activity = calloc(ACTIVITY_MAX, sizeof(*m->activity));
	m->n_stages = conf->n_stages;
	m->stages = calloc(m->n_stages ? m->n_stages : 1, sizeof(*m->stages));
	m->sampling = calloc(m->n_stages ? m->n_stages : 1, sizeof(*m->sampling));
	m->edge_ctx = calloc(m->n_stages ? m->n_stages : 1, sizeof(*m->edge_ctx));
	m->stack_polled = calloc(m->n_stages ? m->n_stages : 1, sizeof(*m->stack_polled));
	m->detail_modified = calloc(m->n_stages ? m->n_stages : 1, sizeof(*m->detail_modified));
	m->lock_reading = calloc(m->n_stages ? m->n_stages : 1, sizeof(*m->lock_reading));
	m->force = true;
	es_ledger_open_home(aws, conf, NULL, &m->ledger);
	if (!m->activity || !m->stages || !m->sampling || !m->edge_ctx || !m->stack_polled ||
	    !m->detail_modified || !m->lock_reading) {
		es_model_free(m);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < m->n_stages; i++) {
		struct es_stage_view *s = &m->stages[i];
		snprintf(s->name, sizeof(s->name), "%s", conf->stages[i].name);
		snprintf(s->stack, sizeof(s->stack), "%s", conf->stages[i].stack);
		snprintf(s->stack_status, sizeof(s->stack_status), "UNKNOWN");
		s->prop_estimate_s = -1;
	}
	/* The first round goes out at once; the ledger waits for the first frame. */
	m->timer = es_loop_timer(m->loop, 0, round_timer, m);
	m->ledger_timer = es_loop_timer(m->loop, 50, read_ledger, m);
	*out = m;
	return ES_OK;
}

void es_model_free(struct es_model *m)
{
	if (!m)
		return;
	if (m->timer)
		es_loop_timer_cancel(m->loop, m->timer);
	if (m->ledger_timer)
		es_loop_timer_cancel(m->loop, m->ledger_timer);
	m->fn = NULL;
	for (size_t i = 0; m->sampling && i < m->n_stages; i++)
		if (m->sampling[i])
			es_edges_cancel(m->loop, m->sampling[i]);
	/* The ledger drops its own answers once freed; while the end of an
	 * abandoned action is being recorded, the resolver still writes to it
	 * and frees it when done. */
	if (!m->resolving) {
		es_ledger_free(m->ledger);
		m->ledger = NULL;
	}
	m->ledger_pending = 0;
	es_identity_cancel(m->aws, m);
	m->who_pending = false;
	m->zombie = true;
	free_if_idle(m);
}

static const char *prop_name(enum es_prop_state p)
{
	switch (p) {
	case ES_PROP_IN_PROGRESS: return "InProgress";
	case ES_PROP_DEPLOYED: return "Deployed";
	default: return NULL;
	}
}

char *es_model_stage_json(const struct es_stage_view *s)
{
	json_t *o = json_object(), *edges = json_array();
	char *text;

	for (size_t i = 0; i < s->n_edges; i++) {
		const struct es_edge_sample *e = &s->edges[i];
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "target", e->target, "pop",
		                      e->pop, "state", es_edge_state_name(e->state), "release",
		                      e->release, "status", (json_int_t)e->status, "new", e->is_new,
		                      "x_cache", e->cache);
		json_object_set_new(j, "age_s",
		                    e->age_s < 0 ? json_null()
		                                 : json_integer((json_int_t)e->age_s));
		if (e->bypassed) {
			json_object_set_new(j, "function_state",
			                    json_string(es_edge_state_name(e->fn_state)));
			json_object_set_new(j, "function_release", json_string(e->fn_release));
		}
		json_array_append_new(edges, j);
	}
	json_object_set_new(o, "type", json_string("stage"));
	json_object_set_new(o, "stage", json_string(s->name));
	json_object_set_new(o, "stack_status", json_string(s->stack_status));
	json_object_set_new(o, "release", json_string(s->release));
	json_object_set_new(o, "commit", json_string(s->commit));
	json_object_set_new(o, "distribution_id", json_string(s->distribution_id));
	const char *p = prop_name(s->propagation);
	json_object_set_new(o, "distribution_status", p ? json_string(p) : json_null());
	json_object_set_new(o, "propagation_elapsed_s", json_real(s->prop_elapsed_s));
	json_object_set_new(o, "propagation_estimate_s",
	                    s->prop_estimate_s < 0 ? json_null() : json_real(s->prop_estimate_s));
	json_object_set_new(o, "lambda_arn", json_string(s->lambda_arn));
	json_object_set_new(o, "edges_new", json_integer((json_int_t)s->edges_new));
	json_object_set_new(o, "edges_cached_old", json_integer((json_int_t)s->edges_cached_old));
	json_object_set_new(o, "edges_function_new",
	                    s->edges_bypassed ? json_integer((json_int_t)s->edges_fn_new)
	                                      : json_null());
	/* Deployed, yet not live everywhere: the cache still serves the old
	 * release (the hint says to invalidate). */
	json_object_set_new(o, "settled_with_cache", json_boolean(es_stage_settled_with_cache(s)));
	json_object_set_new(o, "edges", edges);
	json_object_set_new(o, "invalidations_in_progress",
	                    json_integer(s->invalidations_in_progress));
	json_object_set_new(o, "busy", json_boolean(s->busy));
	json_object_set_new(o, "running", json_boolean(s->running));
	json_object_set_new(o, "interrupted", json_boolean(s->interrupted));
	json_object_set_new(o, "detached", json_boolean(s->detached));
	if (s->lock_known) {
		struct es_lock_info l = s->lock;
		l.expires_in_s = es_stage_lock_expires_in(s);
		l.expired = l.held && l.expires_in_s <= 0;
		json_object_set_new(o, "lock", es_lock_info_json(&l));
		json_object_set_new(o, "lock_stale", json_boolean(s->lock_stale));
	} else {
		json_object_set_new(o, "lock", json_null());
	}
	json_object_set_new(o, "error", s->error[0] ? json_string(s->error) : json_null());
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

char *es_model_activity_json(const struct es_activity *a)
{
	static const char *const levels[] = {"info", "warn", "error", "event"};
	json_t *o = json_pack("{s:s,s:f,s:s,s:s}", "type", "activity", "when", a->when, "level",
	                      levels[a->level], "text", a->text);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	return text;
}

char *es_model_settled_json(const struct es_model *m, const char *stage)
{
	json_t *cached = json_array();
	char *text;

	for (size_t i = 0; i < m->n_stages; i++) {
		const struct es_stage_view *s = &m->stages[i];
		if ((!stage || strcmp(s->name, stage) == 0) && es_stage_settled_with_cache(s))
			json_array_append_new(cached, json_string(s->name));
	}
	json_t *o = json_pack("{s:s,s:b,s:o}", "type", "settled", "settled_with_cache",
	                      json_array_size(cached) > 0, "cached_stages", cached);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

void es_model_set_read_only(struct es_model *m, bool read_only)
{
	m->read_only = read_only;
}

const struct es_record_list *es_model_records(const struct es_model *m, unsigned long *generation)
{
	if (generation)
		*generation = m->records_gen;
	return &m->records;
}
