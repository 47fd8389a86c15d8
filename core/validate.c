/* Validation checks: every sample of every check sent at once on the loop,
 * each answer judged, nothing counted as passed that did not answer; the
 * outcome recorded with the state of the stage it was taken in; and the
 * rule that says whether a recorded validation still stands. */
#include "config.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "base/timefmt.h"
#include "edges.h"
#include "repo.h"
#include "stagenow.h"
#include "validate.h"
#include "check_lambda.h"

/* ------------------------------------------------------------ judging */

/* Why a request got no HTTP answer, in words that tell what to look at. */
static void transport_why(const struct es_check_conf *k, const struct es_http_response *r,
                          const char *url, const char *via, char *why, size_t len)
{
	char at[1400];

	snprintf(at, sizeof(at), "%s%s%s", url, via && *via ? " via " : "", via ? via : "");
	switch (r->curl_code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		snprintf(why, len, "DNS failure: cannot resolve the host of %s", at);
		break;
	case CURLE_COULDNT_CONNECT:
		/* curl 7.88 words a refusal "Couldn't connect to server". */
		snprintf(why, len, "unreachable: %s at %s",
		         strstr(r->error, "refused") ? "connection refused" : "cannot connect", at);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(why, len, "timeout: no answer within %ld ms from %s", k->timeout_ms, at);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED: snprintf(why, len, "TLS error at %s: %s", at, r->error); break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		snprintf(why, len, "connection dropped before a whole answer from %s (%s)", at,
		         r->error);
		break;
	default:
		snprintf(why, len, "no answer from %s%s%s", at, r->error[0] ? ": " : "", r->error);
		break;
	}
}

bool es_check_judge(const struct es_check_conf *k, const regex_t *re,
                    const struct es_http_response *resp, const char *url, const char *via,
                    char *why, size_t len)
{
	const char *body = es_buf_str(&resp->body);

	why[0] = '\0';
	if (resp->status == 0 || resp->curl_code != CURLE_OK)
		transport_why(k, resp, url, via, why, len);
	else if (resp->status != k->status)
		snprintf(why, len, "status %ld, expected %ld", resp->status, k->status);
	else if (k->body_contains && !strstr(body, k->body_contains))
		snprintf(why, len, "body lacks \"%s\"", k->body_contains);
	else if (k->body_matches && !re)
		snprintf(why, len, "body-matches /%s/ cannot be compiled", k->body_matches);
	else if (re && regexec(re, body, 0, NULL, 0) != 0)
		snprintf(why, len, "body does not match /%s/", k->body_matches);
	else if (k->header) {
		char name[128];
		const char *colon = strchr(k->header, ':');
		size_t n = colon ? (size_t)(colon - k->header) : strlen(k->header);
		snprintf(name, sizeof(name), "%.*s", (int)n, k->header);
		const char *want = colon ? colon + 1 : NULL;
		while (want && *want == ' ')
			want++;
		const char *got = es_http_header(resp, name);
		if (!got)
			snprintf(why, len, "header %s is missing", name);
		else if (want && *want && !strstr(got, want))
			snprintf(why, len, "header %s is \"%s\", expected \"%s\"", name, got, want);
	}
	if (why[0])
		es_sanitize(why, false);
	return why[0] == '\0';
}

/* ------------------------------------------------------------ running */

struct probe;

struct slot {
	struct probe *p;
	int i;
	struct es_http_call *call; /* in flight, NULL once answered */
	bool done;
};

struct probe {
	const struct es_check_conf *k;
	struct es_check_run *run;
	regex_t re;
	bool have_re;
	char connect_to[300]; /* curl's CONNECT_TO for the probe, "" for DNS */
	struct slot slots[ES_CHECK_MAX_SAMPLES];
	int pending;
};

static void on_sample(const struct es_http_response *resp, void *ud)
{
	struct slot *s = ud;
	struct probe *p = s->p;
	struct es_sample_result *r = &p->run->samples[s->i];

	s->call = NULL;
	s->done = true;
	p->pending--;
	r->status = resp->status;
	r->latency_ms = resp->total_seconds * 1000.0;
	r->ok = es_check_judge(p->k, p->have_re ? &p->re : NULL, resp, p->run->url, p->run->via,
	                       r->why, sizeof(r->why));
	if (r->ok)
		p->run->n_ok++;
}

static bool applies(const struct es_check_conf *k, const char *stage)
{
	for (size_t j = 0; j < k->n_stages; j++)
		if (strcmp(k->stages[j], stage) == 0)
			return true;
	return k->n_stages == 0;
}

/* The URL a check asks for, routed through the stage's first probe. */
static bool check_url(const struct es_check_conf *k, const struct es_stage_conf *sc,
                      const char *domain, struct es_check_run *run, char *connect_to, size_t ct_len)
{
	char url[1024];

	if (k->url) {
		snprintf(url, sizeof(url), "%s", k->url);
	} else if (sc->url) {
		size_t ul = strlen(sc->url);
		snprintf(url, sizeof(url), "%.*s%s",
		         (int)(ul && sc->url[ul - 1] == '/' ? ul - 1 : ul), sc->url, k->path);
	} else if (domain && *domain) {
		snprintf(url, sizeof(url), "https://%s%s", domain, k->path);
	} else {
		return false;
	}
	if (sc->n_probes) {
		const char *probe = sc->probes[0], *t = strstr(probe, "://");
		es_edges_route(url, probe, run->url, sizeof(run->url), connect_to, ct_len);
		snprintf(run->via, sizeof(run->via), "%s", t ? t + 3 : probe);
	} else {
		snprintf(run->url, sizeof(run->url), "%s", url);
	}
	return true;
}

/* Fill run->result from its samples. */
static void summarise(struct es_check_run *run)
{
	struct es_check_result *r = &run->result;
	double total = 0;
	int first_bad = -1, bad = 0;

	for (int i = 0; i < run->n_samples; i++) {
		total += run->samples[i].latency_ms;
		if (!run->samples[i].ok && bad++ == 0)
			first_bad = i;
	}
	r->passed = run->n_samples > 0 && run->n_ok == run->n_samples;
	r->latency_ms = run->n_samples ? total / run->n_samples : 0;
	if (r->passed) {
		r->status = run->samples[run->n_samples - 1].status;
		snprintf(r->detail, sizeof(r->detail), "%d/%d ok", run->n_ok, run->n_samples);
	} else if (first_bad >= 0) {
		r->status = run->samples[first_bad].status;
		snprintf(r->detail, sizeof(r->detail), "%d/%d failed: sample %d: %s", bad,
		         run->n_samples, first_bad + 1, run->samples[first_bad].why);
	}
}

int es_validation_run(struct es_loop *loop, const struct es_config *conf,
                      const struct es_stage_conf *sc, const char *domain, struct es_validation *out)
{
	return es_validation_run_with(loop, conf, sc, domain, NULL, out);
}

int es_validation_run_with(struct es_loop *loop, const struct es_config *conf,
                           const struct es_stage_conf *sc, const char *domain, const char *header,
                           struct es_validation *out)
{
	const char *const headers[] = {header, NULL};
	struct probe *probes = calloc(ES_MODEL_MAX_CHECKS, sizeof(*probes));
	size_t np = 0;
	long longest = 0;

	out->passed = false;
	out->n_checks = 0;
	if (!probes)
		return es_fail(ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < conf->n_checks && np < ES_MODEL_MAX_CHECKS; i++) {
		const struct es_check_conf *k = &conf->checks[i];
		if (!applies(k, sc->name))
			continue;
		struct probe *p = &probes[np];
		struct es_check_run *run = &out->checks[np++];
		memset(run, 0, sizeof(*run));
		p->k = k;
		p->run = run;
		snprintf(run->result.name, sizeof(run->result.name), "%s", k->name);
		if (k->lambda)
			continue; /* judged by its function: check_lambda.c */
		if (!check_url(k, sc, domain, run, p->connect_to, sizeof(p->connect_to))) {
			/* Nothing to ask is nothing answered: the check fails. */
			snprintf(run->result.detail, sizeof(run->result.detail),
			         "no URL: the check has a path but stage %s has no url and no "
			         "distribution",
			         sc->name);
			continue;
		}
		if (k->body_matches)
			p->have_re =
			        regcomp(&p->re, k->body_matches, REG_EXTENDED | REG_NOSUB) == 0;
		run->n_samples = k->samples > 0 ? k->samples : 1;
		if (run->n_samples > ES_CHECK_MAX_SAMPLES)
			run->n_samples = ES_CHECK_MAX_SAMPLES;
		if (k->timeout_ms > longest)
			longest = k->timeout_ms;
	}
	out->n_checks = np;

	/* Every sample of every check goes out at once. */
	int pending = 0;
	for (size_t i = 0; i < np; i++) {
		struct probe *p = &probes[i];
		struct es_check_run *run = p->run;
		for (int s = 0; s < run->n_samples; s++) {
			struct slot *sl = &p->slots[s];
			struct es_http_request req = {
			        .method = "GET",
			        .url = run->url,
			        .timeout_ms = p->k->timeout_ms,
			        .connect_timeout_ms = p->k->timeout_ms,
			        .connect_to = p->connect_to[0] ? p->connect_to : NULL,
			        .headers = header ? headers : NULL,
			};
			sl->p = p;
			sl->i = s;
			if (es_http_send(loop, &req, on_sample, sl, &sl->call) == ES_OK) {
				p->pending++;
				pending++;
			} else {
				sl->done = true;
				snprintf(run->samples[s].why, sizeof(run->samples[s].why),
				         "could not send: %s", es_error_last()->message);
			}
		}
	}
	/* curl ends each request at its timeout; the deadline only guards
	 * against a loop that stops turning. */
	int64_t deadline = es_loop_now_ms() + longest + 10000;
	while (pending > 0 && es_loop_now_ms() < deadline) {
		if (es_loop_turn_quiet(loop, 500) != ES_OK)
			break;
		pending = 0;
		for (size_t i = 0; i < np; i++)
			pending += probes[i].pending;
	}
	for (size_t i = 0; i < np; i++) {
		struct probe *p = &probes[i];
		for (int s = 0; s < p->run->n_samples; s++) {
			struct slot *sl = &p->slots[s];
			if (sl->done)
				continue;
			if (sl->call)
				es_http_cancel(loop, sl->call);
			snprintf(p->run->samples[s].why, sizeof(p->run->samples[s].why),
			         "no answer: abandoned after %ld ms", longest + 10000);
		}
		summarise(p->run);
		if (p->have_re)
			regfree(&p->re);
	}
	out->passed = np > 0;
	for (size_t i = 0; i < np; i++)
		out->passed &= out->checks[i].result.passed;
	free(probes);
	return ES_OK;
}

/* ------------------------------------------------------------ recording */

int es_validation_may_run(const char *stage, bool exists, const char *stack_status,
                          const char *release)
{
	static const char *const settled_ok[] = {"CREATE_COMPLETE", "UPDATE_COMPLETE",
	                                         "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"};
	bool ok = false;

	if (!exists || !stack_status || strcmp(stack_status, "REVIEW_IN_PROGRESS") == 0)
		return es_fail(
		        ES_EREFUSED,
		        "%s is not deployed: nothing to validate; deploy a commit to it first",
		        stage);
	if (es_stack_busy(stack_status))
		return es_fail(ES_EBUSY,
		               "stack of %s is %s: validate once it settles, so the checks see "
		               "what it will run",
		               stage, stack_status);
	for (size_t i = 0; i < sizeof(settled_ok) / sizeof(settled_ok[0]); i++)
		ok |= strcmp(stack_status, settled_ok[i]) == 0;
	if (!ok)
		return es_fail(ES_EREFUSED,
		               "stack of %s is %s: it has no successful deploy to validate; deploy "
		               "again first",
		               stage, stack_status);
	if (!release || !*release)
		return es_fail(ES_EREFUSED,
		               "%s runs no edgeship release (its stack has no edgeship:release "
		               "tag): deploy a commit with edgeship first",
		               stage);
	return ES_OK;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *checks_json(const struct es_validation *v, bool with_samples)
{
	json_t *checks = json_array();

	for (size_t i = 0; i < v->n_checks; i++) {
		const struct es_check_run *c = &v->checks[i];
		json_t *o = json_pack(
		        "{s:s,s:b,s:I,s:f,s:s,s:s,s:o,s:i,s:i}", "name", c->result.name, "passed",
		        c->result.passed, "status", (json_int_t)c->result.status, "latency_ms",
		        c->result.latency_ms, "detail", c->result.detail, "url", c->url, "via",
		        str_or_null(c->via), "samples_sent", c->n_samples, "samples_ok", c->n_ok);
		if (with_samples) {
			json_t *samples = json_array();
			for (int s = 0; s < c->n_samples; s++) {
				const struct es_sample_result *r = &c->samples[s];
				json_array_append_new(samples,
				                      json_pack("{s:I,s:f,s:b,s:o}", "status",
				                                (json_int_t)r->status, "latency_ms",
				                                r->latency_ms, "ok", r->ok, "why",
				                                str_or_null(r->why)));
			}
			json_object_set_new(o, "samples", samples);
		}
		json_array_append_new(checks, o);
	}
	return checks;
}

/* The fields of the stage's state that a record and the JSON output share. */
static void state_fields(json_t *o, const struct es_validation *v)
{
	json_object_set_new(o, "stack", json_string(v->stack));
	json_object_set_new(o, "stack_status", json_string(v->stack_status));
	json_object_set_new(o, "template_sha256", str_or_null(v->template_sha256));
	json_object_set_new(o, "distribution_id", str_or_null(v->distribution_id));
	json_object_set_new(o, "distribution_status", str_or_null(v->distribution_status));
	json_object_set_new(o, "distribution_etag", str_or_null(v->distribution_etag));
	json_object_set_new(o, "distribution_modified", str_or_null(v->distribution_modified));
}

static bool counts_for_promotion(const struct es_validation *v)
{
	return v->passed &&
	       (v->distribution_id[0] ? strcmp(v->distribution_status, "Deployed") == 0 : true);
}

int es_validate(struct es_aws_client *aws, const struct es_config *conf, const char *stage,
                struct es_validation *out)
{
	const struct es_stage_conf *sc = es_config_stage(conf, stage);
	struct es_stage_now now;
	struct es_ledger *l = NULL;
	char msg[400];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sc)
		return es_fail(ES_EINVAL, "no stage \"%s\" in %s", stage ? stage : "", conf->path);
	struct es_aws_client *sa = es_accounts_client(aws, conf, sc);
	if (!sa)
		return es_fail_prefix("stage %s", sc->name);
	rc = es_stage_now_read(sa, sc, &now);
	if (!rc)
		rc = es_validation_may_run(sc->name, now.exists, now.status, now.release);
	if (rc) {
		es_stage_now_free(&now);
		return rc;
	}
	snprintf(out->stage, sizeof(out->stage), "%s", sc->name);
	snprintf(out->stack, sizeof(out->stack), "%s", sc->stack);
	snprintf(out->stack_status, sizeof(out->stack_status), "%s", now.status);
	snprintf(out->commit, sizeof(out->commit), "%s", now.commit);
	snprintf(out->release, sizeof(out->release), "%s", now.release);
	snprintf(out->template_sha256, sizeof(out->template_sha256), "%s", now.template_sha256);
	snprintf(out->distribution_id, sizeof(out->distribution_id), "%s", now.distribution_id);
	if (now.distribution_id[0]) {
		const struct es_distribution *d = &now.dist;
		snprintf(out->distribution_status, sizeof(out->distribution_status), "%s",
		         d->status ? d->status : "");
		snprintf(out->distribution_etag, sizeof(out->distribution_etag), "%s",
		         d->etag ? d->etag : "");
		snprintf(out->distribution_modified, sizeof(out->distribution_modified), "%s",
		         d->last_modified ? d->last_modified : "");
	}
	rc = es_validation_run(es_aws_loop(aws), conf, sc, now.dist.domain_name, out);
	if (!rc)
		rc = es_check_lambda_run(aws, conf, sc, now.dist.domain_name, out);
	es_stage_now_free(&now);
	if (rc)
		return rc;

	if (out->n_checks == 0)
		snprintf(msg, sizeof(msg), "no [check] applies to stage %s: add one to %s",
		         sc->name, ES_CONFIG_FILE);
	else
		snprintf(msg, sizeof(msg), "all %zu check%s passed", out->n_checks,
		         out->n_checks == 1 ? "" : "s");
	for (size_t i = 0; i < out->n_checks; i++)
		if (!out->checks[i].result.passed) {
			snprintf(msg, sizeof(msg), "%s: %s", out->checks[i].result.name,
			         out->checks[i].result.detail);
			break;
		}
	/* The record promotion reads: the release, the result, and the state
	 * of the stack and distribution when the checks ran. */
	json_t *rec =
	        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "validation", "phase", "outcome",
	                  "stage", sc->name, "commit", out->commit, "release", out->release,
	                  "result", out->passed ? "passed" : "failed", "message", msg);
	state_fields(rec, out);
	json_object_set_new(rec, "checks", checks_json(out, true));
	rc = es_ledger_open_home(aws, conf, sc, &l);
	if (!rc)
		rc = es_ledger_append(l, rec, &out->seq);
	es_ledger_free(l);
	json_decref(rec);
	if (rc)
		return es_fail_prefix("recording the validation of %s", sc->name);
	return ES_OK;
}

char *es_validation_json(const struct es_validation *v)
{
	json_t *o = json_object();
	char *text;

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "command", json_string("validate"));
	json_object_set_new(o, "stage", json_string(v->stage));
	json_object_set_new(o, "passed", json_boolean(v->passed));
	json_object_set_new(o, "counts_for_promotion", json_boolean(counts_for_promotion(v)));
	json_object_set_new(o, "commit", str_or_null(v->commit));
	json_object_set_new(o, "release", str_or_null(v->release));
	state_fields(o, v);
	json_object_set_new(o, "seq", json_integer(v->seq));
	json_object_set_new(o, "checks", checks_json(v, true));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* ------------------------------------------------------------ the rule */

const char *es_validation_state_name(enum es_validation_state s)
{
	switch (s) {
	case ES_VALIDATION_NONE: return "none";
	case ES_VALIDATION_STALE: return "stale";
	case ES_VALIDATION_IN_PROGRESS: return "in-progress";
	case ES_VALIDATION_FAILED: return "failed";
	case ES_VALIDATION_PASSED: return "passed";
	}
	return "none";
}

static bool changes_stage(const struct es_record *r)
{
	return (strcmp(r->kind, "deploy") == 0 || strcmp(r->kind, "promotion") == 0 ||
	        strcmp(r->kind, "rollback") == 0) &&
	       strcmp(r->phase, "outcome") == 0 && strcmp(r->result, "success") == 0;
}

void es_validation_judge(const struct es_record_list *recs, const char *stage,
                         const struct es_stage_state *now, struct es_validation_verdict *out)
{
	const struct es_record *r = NULL;
	const char *now_release = now && now->release ? now->release : "";
	const char *now_dist = now && now->distribution_id ? now->distribution_id : "";
	size_t at = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = recs ? recs->n : 0; i-- > 0;) {
		const struct es_record *c = &recs->items[i];
		if (strcmp(c->kind, "validation") == 0 && strcmp(c->stage, stage) == 0) {
			r = c;
			at = i;
			break;
		}
	}
	out->record = r;
	if (!r) {
		out->state = ES_VALIDATION_NONE;
		snprintf(out->why, sizeof(out->why),
		         "%s has not been validated: run `edgeship validate --stage %s`", stage,
		         stage);
		return;
	}
	out->state = ES_VALIDATION_STALE;
	if (!*now_release || strcmp(r->release, now_release) != 0) {
		snprintf(out->why, sizeof(out->why),
		         "%s's latest validation (#%ld) was for release %s, but it runs %s: run "
		         "`edgeship validate --stage %s`",
		         stage, r->seq, r->release[0] ? r->release : "(none)",
		         *now_release ? now_release : "no edgeship release", stage);
		return;
	}
	for (size_t j = at + 1; j < recs->n; j++) {
		const struct es_record *d = &recs->items[j];
		if (strcmp(d->stage, stage) == 0 && changes_stage(d)) {
			snprintf(out->why, sizeof(out->why),
			         "%s was changed by %s #%ld after validation #%ld: validate again",
			         stage, d->kind, d->seq, r->seq);
			return;
		}
	}
	json_t *o = json_loads(r->json ? r->json : "{}", 0, NULL);
	/* null: the stage had no distribution; absent: an older record. */
	json_t *jid = json_object_get(o, "distribution_id");
	const char *rid = jid ? (json_string_value(jid) ? json_string_value(jid) : "") : NULL;
	const char *retag = json_string_value(json_object_get(o, "distribution_etag"));
	const char *rmod = json_string_value(json_object_get(o, "distribution_modified"));
	const char *rstatus = json_string_value(json_object_get(o, "distribution_status"));
	double t = rmod ? es_time_parse(rmod) : 0;
	bool changed =
	        (rid && strcmp(rid, now_dist) != 0) ||
	        (retag && *retag && now->distribution_etag && *now->distribution_etag &&
	         strcmp(retag, now->distribution_etag) != 0) ||
	        (t > 0 && now->distribution_modified > 0 &&
	         (t - now->distribution_modified > 0.5 || now->distribution_modified - t > 0.5));
	/* A stage with a distribution counts only once it reached every edge. */
	bool had_dist = (rid && *rid) || (!rid && *now_dist);
	bool deployed = rstatus ? strcmp(rstatus, "Deployed") == 0 : !had_dist;
	if (changed) {
		snprintf(out->why, sizeof(out->why),
		         "%s's distribution changed after validation #%ld: validate again", stage,
		         r->seq);
	} else if (!deployed && rstatus) {
		out->state = ES_VALIDATION_IN_PROGRESS;
		snprintf(out->why, sizeof(out->why),
		         "%s's validation (#%ld) ran while its distribution was still %s: "
		         "validate again now that it is Deployed",
		         stage, r->seq, rstatus);
	} else if (!deployed) {
		out->state = ES_VALIDATION_IN_PROGRESS;
		snprintf(out->why, sizeof(out->why),
		         "%s's validation (#%ld) does not record that its distribution was "
		         "Deployed: validate again",
		         stage, r->seq);
	} else if (strcmp(r->result, "passed") != 0) {
		out->state = ES_VALIDATION_FAILED;
		snprintf(out->why, sizeof(out->why),
		         "%s's latest validation (#%ld) failed: %s; fix it, deploy, validate again",
		         stage, r->seq, r->message);
	} else {
		out->state = ES_VALIDATION_PASSED;
		snprintf(out->why, sizeof(out->why), "%s's validation #%ld passed for release %s",
		         stage, r->seq, r->release);
	}
	json_decref(o);
}
