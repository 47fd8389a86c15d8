/* JSON written as YAML reads back as the same JSON: every string that YAML
 * 1.1 (as the AWS CLI and CloudFormation read it) would type as something
 * else, or that YAML syntax would swallow, comes back as that string; keys
 * keep their order; the pipeline template comes back whole. */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "template.h"
#include "yamlemit.h"

static const char *const hostile[] = {
        "yes", "No", "on", "OFF", "y", "n", "true", "False", "null", "Null", "~", "", " ",
        "0012", "12", "-1", "1e3", "0x1F", "0o17", "1_000", ".5", ".inf", "-.Inf", ".nan",
        "2001-12-14", "12:30:45", "1:20", "a: b", "a:b", "a:", "#not a comment", "a #b",
        "- x", "-", "? x", "[x]", "{y: z}", "&anchor", "*alias", "!Ref x", "!!str", "%TAG",
        "@at", "`tick", "|", ">", "'single'", "\"double\"", "it's", "back\\slash",
        " leading", "trailing ", "two\nlines", "two\nlines\n", "trailing\n\n\n",
        "\nleading newline", "tab\there", "bell\a and \x01", "caf\xc3\xa9 \xe2\x80\xa6",
        "${AWS::Region}", "Fn::Sub", "arn:aws:iam::123456789012:role/x", "<<", "=",
        "line with trailing spaces   \nnext", "  indented\n  block\n",
};

static json_t *round_trip(const json_t *v)
{
	char *yaml = NULL;
	json_t *back = NULL;

	assert_int_equal(es_yaml_emit(v, &yaml), ES_OK);
	assert_int_equal(es_template_parse(yaml, strlen(yaml), "emitted.yaml", &back), ES_OK);
	free(yaml);
	return back;
}

static void every_hostile_string_comes_back_as_itself(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		/* As a value, as a key, and as an item of a list. */
		json_t *v = json_pack("{s:s, s:[s,s]}", "Value", hostile[i], "List", hostile[i], "x");
		json_object_set_new(v, hostile[i], json_string("as a key"));
		json_t *back = round_trip(v);
		if (!json_equal(v, back)) {
			char *a = json_dumps(v, JSON_ENCODE_ANY), *b = json_dumps(back, JSON_ENCODE_ANY);
			print_error("%s came back as %s\n", a, b);
			free(a);
			free(b);
			fail();
		}
		json_decref(v);
		json_decref(back);
	}
}

static void numbers_and_booleans_stay_typed(void **state)
{
	json_t *v = json_pack("{s:i, s:b, s:b, s:n, s:s, s:f}", "RunOrder", 2, "Enabled", 1, "Off",
	                      0, "Nothing", "Version", "1", "Ratio", 0.5);
	json_t *back = round_trip(v);

	(void)state;
	assert_true(json_equal(v, back));
	json_decref(v);
	json_decref(back);
}

static void keys_keep_their_order_and_long_text_its_length(void **state)
{
	char *long_text = malloc(100001);
	json_t *v, *back;
	const char *k;
	json_t *item;
	const char *want[] = {"Zeta", "Alpha", "Mid"};
	size_t i = 0;

	(void)state;
	memset(long_text, 'x', 100000);
	long_text[100000] = '\0';
	for (size_t j = 0; j < 100000; j += 997)
		long_text[j] = j % 2 ? ' ' : ':';
	v = json_pack("{s:s, s:i, s:[]}", "Zeta", long_text, "Alpha", 1, "Mid");
	back = round_trip(v);
	json_object_foreach(back, k, item) {
		assert_true(i < 3);
		assert_string_equal(k, want[i++]);
	}
	assert_string_equal(json_string_value(json_object_get(back, "Zeta")), long_text);
	free(long_text);
	json_decref(v);
	json_decref(back);
}

static void nesting_beyond_the_limit_is_refused(void **state)
{
	json_t *v = json_array();
	char *yaml = (char *)"untouched";

	(void)state;
	for (int i = 0; i < 100; i++)
		v = json_pack("[o]", v);
	assert_int_equal(es_yaml_emit(v, &yaml), ES_EINVAL);
	assert_null(yaml);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_hostile_string_comes_back_as_itself),
	        cmocka_unit_test(numbers_and_booleans_stay_typed),
	        cmocka_unit_test(keys_keep_their_order_and_long_text_its_length),
	        cmocka_unit_test(nesting_beyond_the_limit_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
