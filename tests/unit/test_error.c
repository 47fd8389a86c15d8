/* The last-error record and its one-line format. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/text.h"

static void fail_sets_status_and_message(void **state)
{
	assert_int_equal(es_fail(ES_ECONFIG, "edgeship.conf:%d: unknown key", 7), ES_ECONFIG);
	assert_int_equal(es_error_last()->status, ES_ECONFIG);
	assert_string_equal(es_error_last()->message, "edgeship.conf:7: unknown key");
}

static void aws_error_format(void **state)
{
	char line[256];
	es_fail_aws(403, "AccessDenied", "User is not authorized", "1a2b3c4d5e6f7a8b9c");
	assert_string_equal(es_error_format(es_error_last(), line, sizeof(line)),
	                    "AccessDenied (403): User is not authorized [req 1a2b3c4d5e6f]");
}

static void prefix_keeps_status(void **state)
{
	es_fail(ES_ENET, "connection reset");
	assert_int_equal(es_fail_prefix("DescribeStacks"), ES_ENET);
	assert_string_equal(es_error_last()->message, "DescribeStacks: connection reset");
}

/* What reaches a terminal from outside: no escape sequence survives. */
static void sanitize_strips_escapes(void **state)
{
	char esc[] = "ok\033[2J\033]0;pwned\007 done";
	char c1[] = "a\xc2\x9b" "31mred";
	char bad[] = "x\xff\xc0\x80y";
	char good[] = "caf\xc3\xa9 \xf0\x9f\x9a\x80 \xe2\x9c\x93";
	char nl[] = "one\ntwo\tthree\rfour";
	char nl2[] = "one\ntwo";

	es_sanitize(esc, false);
	assert_null(strchr(esc, '\033'));
	assert_null(strchr(esc, '\007'));
	es_sanitize(c1, false);
	assert_string_equal(c1, "a  31mred");
	es_sanitize(bad, false);
	assert_string_equal(bad, "x???y");
	es_sanitize(good, false);
	assert_string_equal(good, "caf\xc3\xa9 \xf0\x9f\x9a\x80 \xe2\x9c\x93");
	es_sanitize(nl, true);
	assert_string_equal(nl, "one\ntwo three four");
	es_sanitize(nl2, false);
	assert_string_equal(nl2, "one two");
	es_sanitize(NULL, false);
}

static void save_restore(void **state)
{
	struct es_error saved;
	es_fail(ES_EPARSE, "first");
	es_error_save(&saved);
	es_fail(ES_ENET, "second");
	es_error_restore(&saved);
	assert_string_equal(es_error_last()->message, "first");
	assert_int_equal(es_error_last()->status, ES_EPARSE);
}

static void message_is_bounded(void **state)
{
	char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	es_fail(ES_ERR, "%s", big);
	assert_int_equal(strlen(es_error_last()->message), sizeof(es_error_last()->message) - 1);
}

static void buf_grows_and_steals(void **state)
{
	struct es_buf b = ES_BUF_INIT;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(es_buf_printf(&b, "%d,", i), ES_OK);
	assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
	assert_int_equal(b.len, strlen(b.data));
	char *s = es_buf_steal(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
	s = es_buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(fail_sets_status_and_message),
	        cmocka_unit_test(aws_error_format),
	        cmocka_unit_test(prefix_keeps_status),
	        cmocka_unit_test(save_restore),
	        cmocka_unit_test(sanitize_strips_escapes),
	        cmocka_unit_test(message_is_bounded),
	        cmocka_unit_test(buf_grows_and_steals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
