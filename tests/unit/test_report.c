/* The --json reports every headless command prints: an error keeps what
 * AWS said (HTTP status, code, request id) and says null for what it did
 * not; a success carries the command's own string fields in order. */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "report.h"

static json_t *parsed(char *text)
{
	json_t *o = json_loads(text, 0, NULL);

	assert_non_null(o);
	free(text);
	return o;
}

static void aws_error_keeps_status_code_and_request_id(void **state)
{
	struct es_error e = {.status = ES_EAWS, .http_status = 403};

	(void)state;
	snprintf(e.code, sizeof(e.code), "AccessDenied");
	snprintf(e.message, sizeof(e.message), "User: ann is not authorized");
	snprintf(e.request_id, sizeof(e.request_id), "1a2b3c");
	json_t *o = parsed(es_report_error_json("deploy", &e));
	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "command")), "deploy");
	json_t *err = json_object_get(o, "error");
	assert_string_equal(json_string_value(json_object_get(err, "kind")),
	                    es_status_name(ES_EAWS));
	assert_int_equal(json_integer_value(json_object_get(err, "http_status")), 403);
	assert_string_equal(json_string_value(json_object_get(err, "code")), "AccessDenied");
	assert_string_equal(json_string_value(json_object_get(err, "message")),
	                    "User: ann is not authorized");
	assert_string_equal(json_string_value(json_object_get(err, "request_id")), "1a2b3c");
	json_decref(o);
}

static void local_error_has_nulls_for_what_aws_did_not_say(void **state)
{
	struct es_error e = {.status = ES_ECONFIG};

	(void)state;
	snprintf(e.message, sizeof(e.message), "edgeship.conf:3: unknown key");
	json_t *o = parsed(es_report_error_json("status", &e));
	json_t *err = json_object_get(o, "error");
	assert_true(json_is_null(json_object_get(err, "http_status")));
	assert_true(json_is_null(json_object_get(err, "code")));
	assert_true(json_is_null(json_object_get(err, "request_id")));
	assert_string_equal(json_string_value(json_object_get(err, "kind")),
	                    es_status_name(ES_ECONFIG));
	json_decref(o);
}

static void success_carries_the_pairs_in_order(void **state)
{
	const char *const pairs[] = {"path", "edgeship.conf", "app", "shop", "dangling", NULL};

	(void)state;
	char *text = es_report_ok_json("init", pairs);
	/* In the order given, after ok and command. */
	const char *ok = strstr(text, "\"ok\""), *path = strstr(text, "\"path\""),
	           *app = strstr(text, "\"app\"");
	assert_true(ok && path && app && ok < path && path < app);
	json_t *o = parsed(text);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "command")), "init");
	assert_string_equal(json_string_value(json_object_get(o, "app")), "shop");
	/* A key without a value is left out. */
	assert_null(json_object_get(o, "dangling"));
	assert_int_equal(json_object_size(o), 4);
	json_decref(o);
	o = parsed(es_report_ok_json("unlock", NULL));
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(aws_error_keeps_status_code_and_request_id),
	        cmocka_unit_test(local_error_has_nulls_for_what_aws_did_not_say),
	        cmocka_unit_test(success_carries_the_pairs_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
