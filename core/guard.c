/* The error-rate guard: one GetMetricData per poll for every guarded stage
 * (Requests, 4xxErrorRate, 5xxErrorRate and, with the distribution's
 * additional metrics, LambdaExecutionError, LambdaValidationError and
 * LambdaLimitExceededErrors; us-east-1, Region=Global), the figures per
 * period, and the breach test. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudwatch.h"
#include "aws/services.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "guard.h"

#define N_METRICS 6

/* The figures of one stage, one query each; ids are "<metric><stage index>".
 * The Lambda ones exist only where the distribution has additional metrics
 * on: elsewhere CloudWatch answers no points and they stay 0. */
static const struct metric {
	const char *prefix;
	const char *name;
	const char *stat;
	size_t field; /* in struct es_guard_point */
} metrics[N_METRICS] = {
        {"req", "Requests", "Sum", offsetof(struct es_guard_point, requests)},
        {"e4x", "4xxErrorRate", "Average", offsetof(struct es_guard_point, rate_4xx)},
        {"e5x", "5xxErrorRate", "Average", offsetof(struct es_guard_point, rate_5xx)},
        {"lam", "LambdaExecutionError", "Sum", offsetof(struct es_guard_point, lambda_errors)},
        {"lva", "LambdaValidationError", "Sum", offsetof(struct es_guard_point, validation_errors)},
        {"lle", "LambdaLimitExceededErrors", "Sum", offsetof(struct es_guard_point, limit_errors)},
};

struct es_guard {
	struct es_aws_client *aws;
	struct es_guard_stage stages[ES_GUARD_MAX_STAGES];
	size_t n;
	es_guard_fn fn;
	void *ud;
	bool in_flight;
	double last_sent;
	double last_ok;
	long calls;
	char stale[256]; /* why the last poll failed; "" when fresh */
};

int es_guard_new(struct es_aws_client *aws, struct es_guard **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return es_fail(ES_ENOMEM, "out of memory");
	(*out)->aws = aws;
	return ES_OK;
}

void es_guard_free(struct es_guard *g)
{
	if (!g)
		return;
	/* The answer's callback holds g: wait for it (headless) a little. */
	for (int i = 0; g->in_flight && i < 60; i++)
		es_loop_turn(es_aws_loop(g->aws), 500);
	if (g->in_flight)
		return; /* leaked rather than freed under a callback still to come */
	free(g);
}

void es_guard_on_change(struct es_guard *g, es_guard_fn fn, void *ud)
{
	g->fn = fn;
	g->ud = ud;
}

int es_guard_find(const struct es_guard *g, const char *stage)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->stages[i].name, stage) == 0)
			return (int)i;
	return -1;
}

int es_guard_watch(struct es_guard *g, const char *stage, const char *distribution_id,
                   const char *function, const struct es_guard_settings *set)
{
	int at = es_guard_find(g, stage);
	struct es_guard_stage *s;

	if (!set->on)
		return es_fail(ES_EINVAL, "stage %s has no guard-error-rate", stage);
	if (at < 0) {
		if (g->n == ES_GUARD_MAX_STAGES)
			return es_fail(ES_EINVAL, "the guard watches at most %d stages",
			               ES_GUARD_MAX_STAGES);
		s = &g->stages[g->n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", stage);
	} else {
		s = &g->stages[at];
	}
	if (strcmp(s->distribution_id, distribution_id ? distribution_id : "") != 0)
		s->n = 0;
	snprintf(s->distribution_id, sizeof(s->distribution_id), "%s",
	         distribution_id ? distribution_id : "");
	snprintf(s->function, sizeof(s->function), "us-east-1.%s", function ? function : "");
	s->set = *set;
	return ES_OK;
}

void es_guard_rollout(struct es_guard *g, const char *stage, double when)
{
	int i = es_guard_find(g, stage);

	if (i < 0)
		return;
	g->stages[i].after_breach = g->stages[i].breached;
	g->stages[i].rollout_start = when;
	g->stages[i].deployed_at = 0;
	g->stages[i].breached = false;
	memset(&g->stages[i].breach, 0, sizeof(g->stages[i].breach));
}

void es_guard_deployed(struct es_guard *g, const char *stage, double when)
{
	int i = es_guard_find(g, stage);

	if (i >= 0 && !g->stages[i].deployed_at)
		g->stages[i].deployed_at = when;
}

bool es_guard_watching(const struct es_guard *g, size_t i, double now)
{
	const struct es_guard_stage *s = &g->stages[i];

	if (!s->rollout_start)
		return false;
	return !s->deployed_at || now < s->deployed_at + (double)s->set.watch_s;
}

size_t es_guard_count(const struct es_guard *g)
{
	return g->n;
}

const struct es_guard_stage *es_guard_stage(const struct es_guard *g, size_t i)
{
	return i < g->n ? &g->stages[i] : NULL;
}

const char *es_guard_stale(const struct es_guard *g)
{
	return g->stale[0] ? g->stale : NULL;
}

double es_guard_last_ok(const struct es_guard *g)
{
	return g->last_ok;
}

bool es_guard_polling(const struct es_guard *g)
{
	return g->in_flight;
}

struct es_loop *es_guard_loop(const struct es_guard *g)
{
	return es_aws_loop(g->aws);
}

long es_guard_calls(const struct es_guard *g)
{
	return g->calls;
}

double es_guard_interval(const struct es_guard *g)
{
	int p = 0;

	for (size_t i = 0; i < g->n; i++)
		if (!p || g->stages[i].set.period_s < p)
			p = g->stages[i].set.period_s;
	return p ? p / 2.0 : 30.0;
}

/* ------------------------------------------------------------ figures */

static struct es_guard_point *point_at(struct es_guard_stage *s, time_t t)
{
	size_t at = s->n;

	for (size_t i = 0; i < s->n; i++)
		if (s->pts[i].t == t)
			return &s->pts[i];
	while (at > 0 && s->pts[at - 1].t > t)
		at--;
	if (s->n == ES_GUARD_POINTS) {
		if (at == 0)
			return NULL; /* older than all we keep */
		memmove(&s->pts[0], &s->pts[1], (at - 1) * sizeof(s->pts[0]));
		at--;
	} else {
		memmove(&s->pts[at + 1], &s->pts[at], (s->n - at) * sizeof(s->pts[0]));
		s->n++;
	}
	memset(&s->pts[at], 0, sizeof(s->pts[at]));
	s->pts[at].t = t;
	return &s->pts[at];
}

static void take_series(struct es_guard *g, const struct es_cw_series *sr)
{
	for (size_t m = 0; m < N_METRICS; m++) {
		size_t len = strlen(metrics[m].prefix);
		char *end;
		if (strncmp(sr->id, metrics[m].prefix, len) != 0)
			continue;
		unsigned long i = strtoul(sr->id + len, &end, 10);
		if (*end || i >= g->n)
			return;
		struct es_guard_stage *s = &g->stages[i];
		for (size_t k = 0; k < sr->n; k++) {
			struct es_guard_point *p = point_at(s, sr->ts[k]);
			if (!p)
				continue;
			double v = isfinite(sr->v[k]) ? sr->v[k] : 0;
			*(double *)((char *)p + metrics[m].field) = v;
		}
		return;
	}
}

/* The breach test: the last window_periods periods in a row (one period
 * apart, each with requests) above the threshold, within the watch. */
static bool check_breach(struct es_guard_stage *s, double now)
{
	int run = 0;
	double req = 0, lam = 0, lva = 0, lle = 0;
	double watch_end = s->deployed_at ? s->deployed_at + (double)s->set.watch_s : 0;

	if (s->breached || !s->rollout_start || (s->after_breach && !s->deployed_at))
		return false;
	for (size_t i = 0; i < s->n; i++) {
		const struct es_guard_point *p = &s->pts[i];
		bool in = (double)(p->t + s->set.period_s) > s->rollout_start &&
		          (!watch_end || (double)p->t < watch_end) &&
		          (!s->after_breach || (double)p->t >= s->deployed_at);
		bool above = in && p->requests > 0 && p->rate_5xx > s->set.threshold;
		bool next = run > 0 && p->t == s->pts[i - 1].t + s->set.period_s;
		if (!above || !next) {
			run = 0;
			req = lam = lva = lle = 0;
		}
		if (!above)
			continue;
		run++;
		req += p->requests;
		lam += p->lambda_errors;
		lva += p->validation_errors;
		lle += p->limit_errors;
		if (run >= s->set.window_periods) {
			s->breached = true;
			s->breach = (struct es_guard_breach){
			        .period = p->t,
			        .periods = run,
			        .rate_5xx = p->rate_5xx,
			        .requests = req,
			        .lambda_errors = lam,
			        .validation_errors = lva,
			        .limit_errors = lle,
			        .threshold = s->set.threshold,
			        .detected_at = now,
			};
			return true;
		}
	}
	return false;
}

static void notify(struct es_guard *g, size_t i, unsigned what)
{
	if (g->fn)
		g->fn(g, i, what, g->ud);
}

static void on_answer(int rc, const struct es_http_response *resp, const struct es_error *err,
                      void *ud)
{
	struct es_guard *g = ud;
	struct es_cw_series *sr = NULL;
	size_t n = 0;
	char *token = NULL;
	double now = es_time_now();

	g->in_flight = false;
	if (rc == ES_OK) {
		rc = es_cw_parse_metric_data(resp->body.data, resp->body.len, &sr, &n, &token);
		if (rc)
			err = es_error_last();
	}
	free(token); /* 30 periods of 6 metrics per stage fit in one page */
	if (rc) {
		snprintf(g->stale, sizeof(g->stale), "GetMetricData: %s%s%s",
		         err && err->code[0] ? err->code : "", err && err->code[0] ? ": " : "",
		         err ? err->message : "failed");
		es_cw_series_free(sr, n);
		for (size_t i = 0; i < g->n; i++)
			notify(g, i, ES_GUARD_STALE);
		return;
	}
	g->stale[0] = '\0';
	g->last_ok = now;
	for (size_t k = 0; k < n; k++)
		take_series(g, &sr[k]);
	es_cw_series_free(sr, n);
	for (size_t i = 0; i < g->n; i++)
		notify(g, i,
		       ES_GUARD_FIGURES | (check_breach(&g->stages[i], now) ? ES_GUARD_BREACH : 0));
}

int es_guard_poll(struct es_guard *g, double min_interval_s)
{
	struct es_cw_query q[ES_GUARD_MAX_STAGES * N_METRICS];
	char ids[ES_GUARD_MAX_STAGES * N_METRICS][16];
	struct es_aws_call call;
	size_t nq = 0;
	time_t end, start;
	int longest = 0;
	double now = es_time_now();
	int rc;

	if (g->in_flight || g->n == 0 || (g->last_sent && now - g->last_sent < min_interval_s))
		return ES_OK;
	for (size_t i = 0; i < g->n; i++) {
		const struct es_guard_stage *s = &g->stages[i];
		if (!s->distribution_id[0])
			continue;
		if (s->set.period_s > longest)
			longest = s->set.period_s;
		for (size_t m = 0; m < N_METRICS; m++, nq++) {
			snprintf(ids[nq], sizeof(ids[nq]), "%s%zu", metrics[m].prefix, i);
			q[nq] = (struct es_cw_query){
			        .id = ids[nq],
			        .ns = "AWS/CloudFront",
			        .metric = metrics[m].name,
			        .stat = metrics[m].stat,
			        .period = s->set.period_s,
			        .dim_name = {"DistributionId", "Region"},
			        .dim_value = {s->distribution_id, "Global"},
			};
		}
	}
	if (!nq)
		return ES_OK;
	end = (time_t)now + 1;
	start = end - (time_t)longest * ES_GUARD_POINTS;
	start -= start % longest;
	rc = es_cw_get_metric_data_call(&call, "monitoring@us-east-1", q, nq, start, end, NULL);
	if (rc) {
		es_aws_call_free(&call);
		return rc;
	}
	rc = es_aws_send(g->aws, &call, on_answer, g);
	if (rc)
		return rc;
	g->in_flight = true;
	g->last_sent = now;
	g->calls++;
	return ES_OK;
}

/* ------------------------------------------------------------ text */

void es_guard_sparkline(const struct es_guard_stage *s, bool rate, char *out, size_t len)
{
	static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	double top = 0;
	size_t o = 0;
	bool marked = false;

	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		double v = rate ? s->pts[i].rate_5xx : s->pts[i].requests;
		if (v > top)
			top = v;
	}
	if (rate && top < s->set.threshold)
		top = s->set.threshold; /* a healthy rate stays low on the line */
	for (size_t i = 0; i < s->n; i++) {
		double v = rate ? s->pts[i].rate_5xx : s->pts[i].requests;
		int k = top > 0 ? (int)(v / top * 7.0 + 0.5) : 0;
		const char *b = bars[k < 0 ? 0 : k > 7 ? 7 : k];
		if (!marked && s->rollout_start &&
		    (double)(s->pts[i].t + s->set.period_s) > s->rollout_start) {
			marked = true;
			if (i > 0 && o + 2 < len)
				out[o++] = '|';
		}
		size_t bl = strlen(b);
		if (o + bl + 1 >= len)
			break;
		memcpy(out + o, b, bl);
		o += bl;
	}
	out[o] = '\0';
}

static const struct es_guard_point *latest(const struct es_guard_stage *s)
{
	return s->n ? &s->pts[s->n - 1] : NULL;
}

void es_guard_line(const struct es_guard *g, size_t i, char *out, size_t len)
{
	const struct es_guard_stage *s = &g->stages[i];
	const struct es_guard_point *p = latest(s);
	char req[ES_GUARD_POINTS * 4 + 4], rate[ES_GUARD_POINTS * 4 + 4];

	es_guard_sparkline(s, false, req, sizeof(req));
	es_guard_sparkline(s, true, rate, sizeof(rate));
	snprintf(out, len, "%-12s requests %s %.0f/%ds  5xx %s %.1f%% (limit %g%%)%s%s", s->name,
	         req[0] ? req : "-", p ? p->requests : 0.0, s->set.period_s, rate[0] ? rate : "-",
	         p ? p->rate_5xx : 0.0, s->set.threshold, g->stale[0] ? "  stale: " : "", g->stale);
}

void es_guard_breach_text(const struct es_guard_stage *s, char *out, size_t len)
{
	const struct es_guard_breach *b = &s->breach;
	char more[96] = "";

	/* the rarer Lambda errors only when there are some: the line stays short */
	if (b->validation_errors > 0 || b->limit_errors > 0)
		snprintf(more, sizeof(more),
		         ", %.0f LambdaValidationError, %.0f LambdaLimitExceeded",
		         b->validation_errors, b->limit_errors);
	snprintf(out, len,
	         "5xx %.1f%% > %g%% in %d period%s of %ds (%.0f requests, %.0f Lambda errors%s)",
	         b->rate_5xx, b->threshold, b->periods, b->periods == 1 ? "" : "s", s->set.period_s,
	         b->requests, b->lambda_errors, more);
}

json_t *es_guard_stage_json(const struct es_guard *g, size_t i)
{
	const struct es_guard_stage *s = &g->stages[i];
	const struct es_guard_point *p = latest(s);
	json_t *o = json_object(), *pts = json_array();

	for (size_t k = 0; k < s->n; k++)
		json_array_append_new(
		        pts, json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "t",
		                       (json_int_t)s->pts[k].t, "requests", s->pts[k].requests,
		                       "rate_4xx", s->pts[k].rate_4xx, "rate_5xx",
		                       s->pts[k].rate_5xx, "lambda_errors", s->pts[k].lambda_errors,
		                       "validation_errors", s->pts[k].validation_errors,
		                       "limit_errors", s->pts[k].limit_errors));
	json_object_set_new(o, "period", json_integer(s->set.period_s));
	json_object_set_new(o, "threshold", json_real(s->set.threshold));
	json_object_set_new(o, "action",
	                    json_string(s->set.action == ES_GUARD_ROLLBACK ? "rollback" : "alert"));
	json_object_set_new(o, "requests", p ? json_real(p->requests) : json_null());
	json_object_set_new(o, "rate_4xx", p ? json_real(p->rate_4xx) : json_null());
	json_object_set_new(o, "rate_5xx", p ? json_real(p->rate_5xx) : json_null());
	json_object_set_new(o, "lambda_errors", p ? json_real(p->lambda_errors) : json_null());
	json_object_set_new(o, "validation_errors",
	                    p ? json_real(p->validation_errors) : json_null());
	json_object_set_new(o, "limit_errors", p ? json_real(p->limit_errors) : json_null());
	json_object_set_new(o, "latest_period", p ? json_integer((json_int_t)p->t) : json_null());
	json_object_set_new(o, "stale", json_boolean(g->stale[0] != '\0'));
	if (g->stale[0])
		json_object_set_new(o, "stale_reason", json_string(g->stale));
	json_object_set_new(o, "breached", json_boolean(s->breached));
	if (s->breached)
		json_object_set_new(
		        o, "breach",
		        json_pack("{s:I,s:i,s:f,s:f,s:f,s:f,s:f,s:f}", "period",
		                  (json_int_t)s->breach.period, "periods", s->breach.periods,
		                  "rate_5xx", s->breach.rate_5xx, "requests", s->breach.requests,
		                  "lambda_errors", s->breach.lambda_errors, "validation_errors",
		                  s->breach.validation_errors, "limit_errors",
		                  s->breach.limit_errors, "threshold", s->breach.threshold));
	json_object_set_new(o, "points", pts);
	return o;
}

/* ------------------------------------------------------------ where it fails */

/* Edge location codes (the first three letters of X-Amz-Cf-Pop) and the
 * region whose CloudWatch Logs their Lambda@Edge replicas write to. */
static const struct {
	const char *code;
	const char *region;
} pops[] = {
        {"IAD", "us-east-1"},      {"JFK", "us-east-1"},      {"ATL", "us-east-1"},
        {"ORD", "us-east-2"},      {"DFW", "us-east-2"},      {"SFO", "us-west-1"},
        {"LAX", "us-west-1"},      {"SEA", "us-west-2"},      {"YUL", "ca-central-1"},
        {"GRU", "sa-east-1"},      {"FRA", "eu-central-1"},   {"AMS", "eu-central-1"},
        {"LHR", "eu-west-2"},      {"DUB", "eu-west-1"},      {"CDG", "eu-west-3"},
        {"ARN", "eu-north-1"},     {"MXP", "eu-south-1"},     {"NRT", "ap-northeast-1"},
        {"ICN", "ap-northeast-2"}, {"KIX", "ap-northeast-3"}, {"SIN", "ap-southeast-1"},
        {"SYD", "ap-southeast-2"}, {"BOM", "ap-south-1"},     {"HKG", "ap-east-1"},
};

const char *es_guard_pop_region(const char *pop)
{
	for (size_t i = 0; pop && i < sizeof(pops) / sizeof(pops[0]); i++)
		if (strncmp(pop, pops[i].code, 3) == 0)
			return pops[i].region;
	return NULL;
}

int es_guard_errors(struct es_aws_client *aws, const struct es_guard_stage *s,
                    const char *const *regions, size_t n_regions, size_t limit,
                    struct es_log_event **ev, size_t *n)
{
	char group[192];
	time_t since = (time_t)(s->rollout_start ? s->rollout_start : es_time_now() - 600);
	int rc = ES_OK;

	*ev = NULL;
	*n = 0;
	snprintf(group, sizeof(group), "/aws/lambda/%s", s->function);
	for (size_t i = 0; i < n_regions && *n < limit; i++) {
		struct es_aws_call call;
		json_t *root;
		int r = es_logs_filter_call(&call, regions[i], group, since, (int)(limit - *n),
		                            "ERROR");
		if (r) {
			es_aws_call_free(&call);
			rc = r;
			continue;
		}
		r = es_svc_sync_json(aws, &call, &root);
		if (r) {
			/* a region without the group has no errors of ours */
			const struct es_error *e = es_error_last();
			if (!e || strcmp(e->code, "ResourceNotFoundException") != 0)
				rc = r;
			continue;
		}
		r = es_logs_parse_events(root, regions[i], ev, n, limit);
		json_decref(root);
		if (r)
			rc = r;
	}
	return *n ? ES_OK : rc;
}

int es_guard_lambda_figures(struct es_aws_client *aws, const struct es_guard_stage *s,
                            const char *region, double *errors, double *throttles,
                            double *duration_ms)
{
	static const char *const names[] = {"Errors", "Throttles", "Duration"};
	static const char *const stats[] = {"Sum", "Sum", "Average"};
	static const char *const ids[] = {"err", "thr", "dur"};
	const char *service = es_cw_service(region);
	struct es_cw_query q[3];
	struct es_cw_series *sr = NULL;
	struct es_http_response resp;
	struct es_aws_call call;
	size_t n = 0;
	char *token = NULL;
	time_t end = (time_t)es_time_now() + 1;
	time_t start = (time_t)(s->rollout_start ? s->rollout_start : (double)end - 600);
	double dur = 0, count = 0;
	int rc;

	*errors = *throttles = 0;
	*duration_ms = -1;
	if (!service)
		return es_fail(ES_EINVAL, "no CloudWatch region %s", region);
	for (size_t k = 0; k < 3; k++)
		q[k] = (struct es_cw_query){.id = ids[k],
		                            .ns = "AWS/Lambda",
		                            .metric = names[k],
		                            .stat = stats[k],
		                            .period = s->set.period_s,
		                            .dim_name = {"FunctionName"},
		                            .dim_value = {s->function}};
	start -= start % s->set.period_s;
	rc = es_cw_get_metric_data_call(&call, service, q, 3, start, end, NULL);
	if (rc) {
		es_aws_call_free(&call);
		return rc;
	}
	rc = es_aws_send_sync(aws, &call, &resp);
	if (rc)
		return rc;
	rc = es_cw_parse_metric_data(resp.body.data, resp.body.len, &sr, &n, &token);
	es_http_response_free(&resp);
	free(token);
	for (size_t k = 0; !rc && k < n; k++)
		for (size_t p = 0; p < sr[k].n; p++) {
			if (strcmp(sr[k].id, "err") == 0)
				*errors += sr[k].v[p];
			else if (strcmp(sr[k].id, "thr") == 0)
				*throttles += sr[k].v[p];
			else if (strcmp(sr[k].id, "dur") == 0) {
				dur += sr[k].v[p];
				count++;
			}
		}
	if (count > 0)
		*duration_ms = dur / count;
	es_cw_series_free(sr, n);
	return rc;
}
