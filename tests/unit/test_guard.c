/* The error-rate guard's pure parts: the GetMetricData request and answer,
 * the guard keys, the sparkline, the release a rollback goes back to. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/cloudwatch.h"
#include "guard.h"
#include "guard_conf.h"
#include "guard_model.h"

static const char answer[] =
        "<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
        "<GetMetricDataResult><MetricDataResults>"
        "<member><Id>req0</Id><Label>Requests</Label>"
        "<Timestamps><member>2026-12-02T13:00:02Z</member><member>2026-12-02T13:00:00Z</member>"
        "</Timestamps><Values><member>7.0</member><member>12.0</member></Values>"
        "<StatusCode>Complete</StatusCode></member>"
        "<member><Id>e5x0</Id><Timestamps><member>2026-12-02T13:00:02Z</member></Timestamps>"
        "<Values><member>28.5</member></Values><StatusCode>Complete</StatusCode></member>"
        "</MetricDataResults><NextToken>tok</NextToken></GetMetricDataResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetMetricDataResponse>";

static void parses_series(void **state)
{
	struct es_cw_series *s = NULL;
	size_t n = 0;
	char *token = NULL;

	(void)state;
	assert_int_equal(es_cw_parse_metric_data(answer, strlen(answer), &s, &n, &token), ES_OK);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].id, "req0");
	assert_int_equal(s[0].n, 2);
	assert_true(s[0].ts[0] < s[0].ts[1]); /* time order, whatever the answer's */
	assert_true(s[0].v[0] == 12.0 && s[0].v[1] == 7.0);
	assert_true(s[1].v[0] == 28.5);
	assert_string_equal(token, "tok");
	free(token);
	es_cw_series_free(s, n);
}

static void refuses_hostile_answers(void **state)
{
	static const char *const bad[] = {
	        "<x><MetricDataResults><member><Timestamps/></member></MetricDataResults></x>",
	        "<x><MetricDataResults><member><Id>a</Id><Timestamps><member>never</member>"
	        "</Timestamps><Values><member>1</member></Values></member></MetricDataResults></x>",
	        "<x><MetricDataResults><member><Id>a</Id><Timestamps><member>2026-12-02T13:00:00Z"
	        "</member></Timestamps><Values><member>lots</member></Values></member>"
	        "</MetricDataResults></x>",
	        "not xml at all",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct es_cw_series *s = NULL;
		size_t n = 0;
		char *token = NULL;
		assert_int_not_equal(
		        es_cw_parse_metric_data(bad[i], strlen(bad[i]), &s, &n, &token), ES_OK);
		free(token);
		es_cw_series_free(s, n);
	}
}

static void request_names_every_query(void **state)
{
	struct es_cw_query q[2] = {
	        {.id = "req0",
	         .ns = "AWS/CloudFront",
	         .metric = "Requests",
	         .stat = "Sum",
	         .period = 60,
	         .dim_name = {"DistributionId", "Region"},
	         .dim_value = {"E1", "Global"}},
	        {.id = "e5x1",
	         .ns = "AWS/CloudFront",
	         .metric = "5xxErrorRate",
	         .stat = "Average",
	         .period = 60,
	         .dim_name = {"DistributionId", "Region"},
	         .dim_value = {"E2", "Global"}},
	};
	struct es_aws_call call;

	(void)state;
	assert_int_equal(
	        es_cw_get_metric_data_call(&call, "monitoring@us-east-1", q, 2, 0, 60, NULL),
	        ES_OK);
	const char *b = call.body.data;
	assert_non_null(strstr(b, "Action=GetMetricData&Version=2010-08-01"));
	assert_non_null(strstr(b, "MetricDataQueries.member.2.Id=e5x1"));
	assert_non_null(strstr(
	        b, "MetricDataQueries.member.2.MetricStat.Metric.Dimensions.member.1.Value=E2"));
	assert_non_null(strstr(
	        b,
	        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Value=Global"));
	assert_non_null(strstr(b, "MetricDataQueries.member.1.MetricStat.Period=60"));
	assert_non_null(strstr(b, "StartTime=1970-01-01T00%3A00%3A00Z"));
	assert_string_equal(call.service, "monitoring@us-east-1");
	assert_false(call.mutating);
	es_aws_call_free(&call);
}

static void guard_keys(void **state)
{
	struct es_stage_conf s = {.name = "staging"};
	struct es_guard_settings set;
	char msg[256];

	(void)state;
	assert_null(es_guard_conf_check(&s, msg, sizeof(msg)));
	es_guard_settings_of(&s, &set);
	assert_false(set.on);
	s.guard_action = "rollback";
	assert_string_equal(es_guard_conf_check(&s, msg, sizeof(msg)), "guard-action");
	s.guard_error_rate = "5%";
	assert_null(es_guard_conf_check(&s, msg, sizeof(msg)));
	es_guard_settings_of(&s, &set);
	assert_true(set.on && set.threshold == 5.0 && set.period_s == 60 &&
	            set.window_periods == 1 && set.watch_s == 600 &&
	            set.action == ES_GUARD_ROLLBACK);
	s.guard_window_ms = 120000;
	s.guard_period_ms = 2000;
	es_guard_settings_of(&s, &set);
	assert_int_equal(set.window_periods, 60);
	static const char *const bad_rates[] = {"0%", "150", "-3%", "five", "5%%", ""};
	for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
		s.guard_error_rate = (char *)bad_rates[i];
		assert_string_equal(es_guard_conf_check(&s, msg, sizeof(msg)), "guard-error-rate");
	}
	s.guard_error_rate = "2.5 %";
	s.guard_action = "nuke";
	assert_string_equal(es_guard_conf_check(&s, msg, sizeof(msg)), "guard-action");
	s.guard_action = "alert";
	s.guard_period_ms = 500;
	assert_string_equal(es_guard_conf_check(&s, msg, sizeof(msg)), "guard-period");
}

static void sparkline_marks_the_rollout(void **state)
{
	struct es_guard_stage s = {.set = {.threshold = 5, .period_s = 60}, .n = 4};
	char line[128];

	(void)state;
	for (size_t i = 0; i < 4; i++)
		s.pts[i] = (struct es_guard_point){.t = (time_t)(1000 + 60 * i),
		                                   .requests = 10.0 * (double)(i + 1),
		                                   .rate_5xx = i >= 2 ? 20.0 : 0.0};
	s.rollout_start = 1130; /* inside the third period */
	es_guard_sparkline(&s, true, line, sizeof(line));
	assert_string_equal(line, "▁▁|██");
	es_guard_sparkline(&s, false, line, sizeof(line));
	assert_string_equal(line, "▃▅|▆█");
	s.breached = true;
	s.breach = (struct es_guard_breach){
	        .rate_5xx = 20, .threshold = 5, .periods = 1, .requests = 30, .lambda_errors = 6};
	es_guard_breach_text(&s, line, sizeof(line));
	assert_string_equal(line,
	                    "5xx 20.0% > 5% in 1 period of 60s (30 requests, 6 Lambda errors)");
	/* the rarer Lambda errors are said when there are some */
	s.breach.validation_errors = 4;
	es_guard_breach_text(&s, line, sizeof(line));
	assert_string_equal(line,
	                    "5xx 20.0% > 5% in 1 period of 60s (30 requests, 6 Lambda errors, "
	                    "4 LambdaValidationError, 0 LambdaLimitExceeded)");
}

static void previous_release(void **state)
{
	struct es_record items[4] = {
	        {.kind = "deploy",
	         .phase = "outcome",
	         .stage = "staging",
	         .commit = "aaa",
	         .release = "r1",
	         .result = "success"},
	        {.kind = "deploy",
	         .phase = "outcome",
	         .stage = "staging",
	         .commit = "bbb",
	         .release = "r2",
	         .result = "success"},
	        {.kind = "deploy",
	         .phase = "outcome",
	         .stage = "staging",
	         .commit = "ccc",
	         .release = "r3",
	         .result = "failed"},
	        {.kind = "guard",
	         .phase = "outcome",
	         .stage = "staging",
	         .commit = "",
	         .result = "breach"},
	};
	struct es_record_list recs = {.items = items, .n = 4};
	char commit[41], release[80];

	(void)state;
	assert_true(es_guard_previous_in(&recs, "staging", commit, release));
	assert_string_equal(commit, "aaa");
	assert_string_equal(release, "r1");
	assert_false(es_guard_previous_in(&recs, "production", commit, release));
	recs.n = 1;
	assert_false(es_guard_previous_in(&recs, "staging", commit, release));
}

static void pops(void **state)
{
	(void)state;
	assert_string_equal(es_guard_pop_region("FRA56-P1"), "eu-central-1");
	assert_string_equal(es_guard_pop_region("IAD89-P1"), "us-east-1");
	assert_null(es_guard_pop_region("XYZ1"));
	assert_null(es_guard_pop_region(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(parses_series),
	        cmocka_unit_test(refuses_hostile_answers),
	        cmocka_unit_test(request_names_every_query),
	        cmocka_unit_test(guard_keys),
	        cmocka_unit_test(sparkline_marks_the_rollout),
	        cmocka_unit_test(previous_release),
	        cmocka_unit_test(pops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
