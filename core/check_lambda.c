/* Validation checks judged by a Lambda function (check_lambda.h has the
 * contract). */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "check_lambda.h"

static const struct es_check_conf *check_named(const struct es_config *conf, const char *name)
{
	for (size_t i = 0; i < conf->n_checks; i++)
		if (strcmp(conf->checks[i].name, name) == 0)
			return &conf->checks[i];
	return NULL;
}

static void stage_url(const struct es_check_conf *k, const struct es_stage_conf *sc,
                      const char *domain, char *buf, size_t len)
{
	const char *path = k->path ? k->path : "";

	if (k->url) {
		snprintf(buf, len, "%s", k->url);
	} else if (sc->url) {
		size_t ul = strlen(sc->url);
		snprintf(buf, len, "%.*s%s",
		         (int)(ul && sc->url[ul - 1] == '/' && *path ? ul - 1 : ul), sc->url, path);
	} else if (domain && *domain) {
		snprintf(buf, len, "https://%s%s", domain, *path ? path : "/");
	} else {
		buf[0] = '\0';
	}
}

/* Judge the function's answer into r. */
static void judge(const struct es_lambda_result *res, struct es_check_result *r)
{
	json_error_t jerr;
	json_t *root = json_loads(res->payload, JSON_DECODE_ANY, &jerr);
	json_t *ok = json_object_get(root, "ok");
	const char *msg = json_string_value(json_object_get(root, "message"));

	if (res->function_error) {
		const char *type = json_string_value(json_object_get(root, "errorType"));
		const char *em = json_string_value(json_object_get(root, "errorMessage"));
		snprintf(r->detail, sizeof(r->detail), "the function failed (%s): %s%s%s",
		         res->function_error, type ? type : "", type && em ? ": " : "",
		         em ? em : res->payload);
	} else if (!json_is_boolean(ok)) {
		snprintf(r->detail, sizeof(r->detail),
		         "the function answered %.120s, not {\"ok\": true|false, \"message\": …}",
		         res->payload);
	} else {
		r->passed = json_is_true(ok);
		snprintf(r->detail, sizeof(r->detail), "%s",
		         msg         ? msg
		         : r->passed ? "ok"
		                     : "not ok");
	}
	json_decref(root);
}

int es_check_lambda_run(struct es_aws_client *aws, const struct es_config *conf,
                        const struct es_stage_conf *sc, const char *domain,
                        struct es_validation *out)
{
	for (size_t i = 0; i < out->n_checks; i++) {
		struct es_check_run *run = &out->checks[i];
		const struct es_check_conf *k = check_named(conf, run->result.name);
		struct es_lambda_result res;
		char url[1024];

		if (!k || !k->lambda)
			continue;
		run->result.passed = false;
		run->result.status = 0;
		run->result.detail[0] = '\0';
		stage_url(k, sc, domain, url, sizeof(url));
		snprintf(run->url, sizeof(run->url), "lambda:%s", k->lambda);
		json_t *payload = json_pack("{s:s,s:s,s:s,s:s}", "url", url, "release",
		                            out->release, "stage", sc->name, "check", k->name);
		char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
		json_decref(payload);
		if (!text)
			return es_fail(ES_ENOMEM, "out of memory");
		double t0 = es_time_now();
		int rc = es_lambda_invoke(aws, k->lambda, text, k->timeout_ms, &res);
		free(text);
		run->result.latency_ms = (es_time_now() - t0) * 1000;
		run->n_samples = 1;
		if (rc) {
			char why[400];
			es_error_format(es_error_last(), why, sizeof(why));
			snprintf(run->result.detail, sizeof(run->result.detail),
			         "invoking %s failed: %s", k->lambda, why);
			run->result.status = es_error_last()->http_status;
			es_error_clear();
		} else {
			run->result.status = 200;
			judge(&res, &run->result);
			es_lambda_result_free(&res);
		}
		run->n_ok = run->result.passed;
		run->samples[0].ok = run->result.passed;
		run->samples[0].status = run->result.status;
		run->samples[0].latency_ms = run->result.latency_ms;
		if (!run->result.passed) {
			/* a bounded copy: snprintf's "%s" between two members of
			 * one struct is -Wrestrict to gcc without optimisation */
			char *why = run->samples[0].why;
			size_t n = strnlen(run->result.detail, sizeof(run->samples[0].why) - 1);
			memcpy(why, run->result.detail, n);
			why[n] = '\0';
		}
	}
	out->passed = out->n_checks > 0;
	for (size_t i = 0; i < out->n_checks; i++)
		out->passed &= out->checks[i].result.passed;
	return ES_OK;
}
