/* Template reading: short-form tags, YAML 1.1 scalar typing, key order, JSON
 * templates, and error messages that point at FILE:LINE:COLUMN. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "template.h"
#include "testutil.h"

/* Parse yaml and compare its compact JSON with want. */
static void check(const char *yaml, const char *want)
{
	json_t *t = NULL;
	int rc = es_template_parse(yaml, strlen(yaml), "t.yaml", &t);

	if (rc)
		fail_msg("parse failed: %s", es_error_last()->message);
	char *got = es_template_dump(t);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	json_decref(t);
}

/* Parse text as filename and expect exactly this error message. */
static void check_error(const char *text, const char *filename, const char *want)
{
	json_t *t = NULL;

	assert_int_equal(es_template_parse(text, strlen(text), filename, &t), ES_EPARSE);
	assert_null(t);
	assert_string_equal(es_error_last()->message, want);
}

static void tag_ref(void **state)
{
	check("A: !Ref Stage\n", "{\"A\":{\"Ref\":\"Stage\"}}");
}

static void tag_ref_keeps_dotted_name(void **state)
{
	/* SAM resolves Fn.Version itself: it must reach it untouched. */
	check("A: !Ref Fn.Version\n", "{\"A\":{\"Ref\":\"Fn.Version\"}}");
}

static void tag_condition(void **state)
{
	check("A: !Condition IsProd\n", "{\"A\":{\"Condition\":\"IsProd\"}}");
}

static void tag_getatt_dotted(void **state)
{
	check("A: !GetAtt Distribution.DomainName\n",
	      "{\"A\":{\"Fn::GetAtt\":[\"Distribution\",\"DomainName\"]}}");
}

static void tag_getatt_splits_at_first_dot(void **state)
{
	check("A: !GetAtt Stack.Outputs.Url\n",
	      "{\"A\":{\"Fn::GetAtt\":[\"Stack\",\"Outputs.Url\"]}}");
}

static void tag_getatt_list(void **state)
{
	check("A: !GetAtt [Role, Arn]\n", "{\"A\":{\"Fn::GetAtt\":[\"Role\",\"Arn\"]}}");
}

static void tag_getatt_without_dot_is_an_error(void **state)
{
	check_error("A: !GetAtt Role\n", "t.yaml",
	            "t.yaml:1:4: !GetAtt wants Resource.Attribute, not \"Role\"");
}

static void tag_sub(void **state)
{
	check("A: !Sub 'arn:${AWS::Partition}:s3:::${B}'\n",
	      "{\"A\":{\"Fn::Sub\":\"arn:${AWS::Partition}:s3:::${B}\"}}");
}

static void tag_sub_with_list_and_map(void **state)
{
	check("A: !Sub\n  - '${Name}-${AWS::Region}'\n  - Name: !Ref AppName\n",
	      "{\"A\":{\"Fn::Sub\":[\"${Name}-${AWS::Region}\",{\"Name\":{\"Ref\":\"AppName\"}}]}"
	      "}");
}

static void tag_find_in_map(void **state)
{
	check("A: !FindInMap [StageMap, !Ref Stage, Cname]\n",
	      "{\"A\":{\"Fn::FindInMap\":[\"StageMap\",{\"Ref\":\"Stage\"},\"Cname\"]}}");
}

static void tag_if_with_novalue(void **state)
{
	check("A: !If [c, !Ref a, !Ref \"AWS::NoValue\"]\n",
	      "{\"A\":{\"Fn::If\":[\"c\",{\"Ref\":\"a\"},{\"Ref\":\"AWS::NoValue\"}]}}");
}

static void tag_join_nested(void **state)
{
	check("A: !Join ['', [!Ref a, '-x']]\n",
	      "{\"A\":{\"Fn::Join\":[\"\",[{\"Ref\":\"a\"},\"-x\"]]}}");
}

static void tag_select_and_getazs(void **state)
{
	check("A: !Select [0, !GetAZs '']\n", "{\"A\":{\"Fn::Select\":[0,{\"Fn::GetAZs\":\"\"}]}}");
}

static void tag_split(void **state)
{
	check("A: !Split [',', !Ref List]\n", "{\"A\":{\"Fn::Split\":[\",\",{\"Ref\":\"List\"}]}}");
}

static void tag_base64(void **state)
{
	check("A: !Base64 hello\n", "{\"A\":{\"Fn::Base64\":\"hello\"}}");
}

static void tag_import_value(void **state)
{
	check("A: !ImportValue shared-bucket\n", "{\"A\":{\"Fn::ImportValue\":\"shared-bucket\"}}");
}

static void tag_conditions(void **state)
{
	check("C:\n  P: !Equals [!Ref Stage, production]\n"
	      "  Q: !And [!Condition P, !Not [!Condition R]]\n"
	      "  R: !Or [!Equals [a, b], !Equals [c, d]]\n",
	      "{\"C\":{\"P\":{\"Fn::Equals\":[{\"Ref\":\"Stage\"},\"production\"]},"
	      "\"Q\":{\"Fn::And\":[{\"Condition\":\"P\"},{\"Fn::Not\":[{\"Condition\":\"R\"}]}]},"
	      "\"R\":{\"Fn::Or\":[{\"Fn::Equals\":[\"a\",\"b\"]},{\"Fn::Equals\":[\"c\",\"d\"]}]}}"
	      "}");
}

static void tag_cidr(void **state)
{
	check("A: !Cidr [10.0.0.0/16, 4, 8]\n", "{\"A\":{\"Fn::Cidr\":[\"10.0.0.0/16\",4,8]}}");
}

static void tag_transform(void **state)
{
	check("A: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}\n",
	      "{\"A\":{\"Fn::Transform\":{\"Name\":\"AWS::Include\","
	      "\"Parameters\":{\"Location\":\"s3://b/k\"}}}}");
}

static void tagged_scalars_stay_strings(void **state)
{
	check("A: !Sub 123\nB: !Ref true\n",
	      "{\"A\":{\"Fn::Sub\":\"123\"},\"B\":{\"Ref\":\"true\"}}");
}

static const char edge_sample[] = "AWSTemplateFormatVersion: '2010-09-09'\n"
                                  "Transform: AWS::Serverless-2016-10-31\n"
                                  "Description: Lambda@Edge sample\n"
                                  "Parameters:\n"
                                  "  Stage:\n"
                                  "    Type: String\n"
                                  "    AllowedValues: [staging, production]\n"
                                  "Mappings:\n"
                                  "  StageMap:\n"
                                  "    staging: {Cname: staging.example.com}\n"
                                  "    production: {Cname: www.example.com}\n"
                                  "Conditions:\n"
                                  "  IsProd: !Equals [!Ref Stage, production]\n"
                                  "Resources:\n"
                                  "  Distribution:\n"
                                  "    Type: AWS::CloudFront::Distribution\n"
                                  "    Properties:\n"
                                  "      DistributionConfig:\n"
                                  "        Enabled: true\n"
                                  "        Aliases: [!FindInMap [StageMap, !Ref Stage, Cname]]\n"
                                  "        DefaultCacheBehavior:\n"
                                  "          TargetOriginId: origin\n"
                                  "          LambdaFunctionAssociations:\n"
                                  "            - EventType: origin-request\n"
                                  "              LambdaFunctionARN: !Ref Fn.Version\n"
                                  "  Fn:\n"
                                  "    Type: AWS::Serverless::Function\n"
                                  "    Properties:\n"
                                  "      CodeUri: src/\n"
                                  "      Handler: index.handler\n"
                                  "      Runtime: nodejs18.x\n"
                                  "      AutoPublishAlias: live\n"
                                  "      Role: !GetAtt FnRole.Arn\n"
                                  "      Timeout: 5\n"
                                  "Outputs:\n"
                                  "  DomainName:\n"
                                  "    Value: !GetAtt Distribution.DomainName\n"
                                  "  Version:\n"
                                  "    Value: !Ref Fn.Version\n";

static void edge_sample_shape(void **state)
{
	check(edge_sample,
	      "{\"AWSTemplateFormatVersion\":\"2010-09-09\","
	      "\"Transform\":\"AWS::Serverless-2016-10-31\","
	      "\"Description\":\"Lambda@Edge sample\","
	      "\"Parameters\":{\"Stage\":{\"Type\":\"String\",\"AllowedValues\":[\"staging\","
	      "\"production\"]}},"
	      "\"Mappings\":{\"StageMap\":{\"staging\":{\"Cname\":\"staging.example.com\"},"
	      "\"production\":{\"Cname\":\"www.example.com\"}}},"
	      "\"Conditions\":{\"IsProd\":{\"Fn::Equals\":[{\"Ref\":\"Stage\"},\"production\"]}},"
	      "\"Resources\":{\"Distribution\":{\"Type\":\"AWS::CloudFront::Distribution\","
	      "\"Properties\":{\"DistributionConfig\":{\"Enabled\":true,"
	      "\"Aliases\":[{\"Fn::FindInMap\":[\"StageMap\",{\"Ref\":\"Stage\"},\"Cname\"]}],"
	      "\"DefaultCacheBehavior\":{\"TargetOriginId\":\"origin\","
	      "\"LambdaFunctionAssociations\":[{\"EventType\":\"origin-request\","
	      "\"LambdaFunctionARN\":{\"Ref\":\"Fn.Version\"}}]}}}},"
	      "\"Fn\":{\"Type\":\"AWS::Serverless::Function\",\"Properties\":{\"CodeUri\":\"src/\","
	      "\"Handler\":\"index.handler\",\"Runtime\":\"nodejs18.x\",\"AutoPublishAlias\":"
	      "\"live\","
	      "\"Role\":{\"Fn::GetAtt\":[\"FnRole\",\"Arn\"]},\"Timeout\":5}}},"
	      "\"Outputs\":{\"DomainName\":{\"Value\":{\"Fn::GetAtt\":[\"Distribution\","
	      "\"DomainName\"]}},"
	      "\"Version\":{\"Value\":{\"Ref\":\"Fn.Version\"}}}}");
}

static void scalars_quoted_stay_strings(void **state)
{
	check("a: \"123\"\nb: '1.5'\nc: \"true\"\nd: 'no'\ne: \"\"\n",
	      "{\"a\":\"123\",\"b\":\"1.5\",\"c\":\"true\",\"d\":\"no\",\"e\":\"\"}");
}

static void scalars_plain_numbers(void **state)
{
	check("a: 123\nb: -7\nc: 1.5\nd: 0x1F\ne: 010\nf: 1_000\ng: 1.0e+3\n",
	      "{\"a\":123,\"b\":-7,\"c\":1.5,\"d\":31,\"e\":8,\"f\":1000,\"g\":1000.0}");
}

static void scalars_yaml11_booleans_and_nulls(void **state)
{
	check("a: true\nb: False\nc: yes\nd: NO\ne: on\nf: Off\ng: ~\nh:\ni: null\n",
	      "{\"a\":true,\"b\":false,\"c\":true,\"d\":false,\"e\":true,\"f\":false,"
	      "\"g\":null,\"h\":null,\"i\":null}");
}

static void scalars_pyyaml_edges_stay_strings(void **state)
{
	/* As PyYAML: no sign in the exponent, a date, infinity, a leading-zero
	 * non-octal and an integer past 64 bits are all text. */
	check("a: 1e3\nb: 2010-09-09\nc: .inf\nd: 09\ne: 99999999999999999999\nf: y\n",
	      "{\"a\":\"1e3\",\"b\":\"2010-09-09\",\"c\":\".inf\",\"d\":\"09\","
	      "\"e\":\"99999999999999999999\",\"f\":\"y\"}");
}

static void scalars_base60(void **state)
{
	check("a: 1:30\nb: 1:30.5\n", "{\"a\":90,\"b\":90.5}");
}

static void explicit_standard_tags(void **state)
{
	check("a: !!str 123\nb: !!int '42'\nc: !!float 1\n", "{\"a\":\"123\",\"b\":42,\"c\":1.0}");
}

static void key_order_preserved(void **state)
{
	check("zeta: 1\nalpha: 2\nmid: {y: 1, b: 2, a: 3}\n",
	      "{\"zeta\":1,\"alpha\":2,\"mid\":{\"y\":1,\"b\":2,\"a\":3}}");
}

static void anchors_and_aliases_resolved(void **state)
{
	check("base: &b {Runtime: nodejs18.x, Timeout: 5}\ncopy: *b\nlist: [&n 3, *n]\n",
	      "{\"base\":{\"Runtime\":\"nodejs18.x\",\"Timeout\":5},"
	      "\"copy\":{\"Runtime\":\"nodejs18.x\",\"Timeout\":5},\"list\":[3,3]}");
}

/* "Billion laughs": each level lists the one below ten times, so nine short
 * lines stand for 10^8 copies of a 1 KB string, about 100 GB. */
static char *laughs(int levels)
{
	char *doc = malloc(8192), *p = doc;

	assert_non_null(doc);
	p += sprintf(p, "Metadata:\n  l0: &l0 \"");
	memset(p, 'a', 1000);
	p += 1000;
	p += sprintf(p, "\"\n");
	for (int i = 1; i <= levels; i++) {
		p += sprintf(p, "  l%d: &l%d [", i, i);
		for (int j = 0; j < 10; j++)
			p += sprintf(p, "%s*l%d", j ? ", " : "", i - 1);
		p += sprintf(p, "]\n");
	}
	sprintf(p, "Resources: {}\n");
	return doc;
}

static void billion_laughs_fails_on_size(void **state)
{
	char *doc = laughs(8);

	/* Levels 1-4 take 10 KB, 100 KB, 1 MB and 10 MB: together 11 MB. The
	 * first alias on line 7 (level 5) adds 10 MB more, which is past the
	 * budget: the error names that alias, so nothing was copied for it
	 * (counting values instead let ~4 GB be copied before failing). */
	check_error(doc, "t.yaml", "t.yaml:7:12: the template expands past 16 MB through aliases");
	free(doc);
}

static void aliases_within_budget_expand(void **state)
{
	char *doc = laughs(4);
	json_t *t = NULL;

	/* 11 MB of copies is large for a template, but allowed. */
	assert_int_equal(es_template_parse(doc, strlen(doc), "t.yaml", &t), ES_OK);
	json_t *l4 = json_object_get(json_object_get(t, "Metadata"), "l4");
	assert_int_equal(json_array_size(l4), 10);
	json_t *leaf =
	        json_array_get(json_array_get(json_array_get(json_array_get(l4, 9), 9), 9), 9);
	assert_int_equal(json_string_length(leaf), 1000);
	json_decref(t);
	free(doc);
}

static void merge_keys_applied(void **state)
{
	check("base: &b {Runtime: nodejs18.x, Timeout: 5}\nfn:\n  Handler: i.h\n  <<: *b\n  "
	      "Timeout: 9\n",
	      "{\"base\":{\"Runtime\":\"nodejs18.x\",\"Timeout\":5},"
	      "\"fn\":{\"Runtime\":\"nodejs18.x\",\"Timeout\":9,\"Handler\":\"i.h\"}}");
}

static void json_template(void **state)
{
	const char *text = "{\n  \"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}},\n"
	                   "  \"Outputs\": {\"N\": {\"Value\": {\"Ref\": \"B\"}}}, \"X\": 1.5\n}\n";
	json_t *t = NULL;

	assert_int_equal(es_template_parse(text, strlen(text), "t.json", &t), ES_OK);
	char *got = es_template_dump(t);
	assert_string_equal(got, "{\"Resources\":{\"B\":{\"Type\":\"AWS::S3::Bucket\"}},"
	                         "\"Outputs\":{\"N\":{\"Value\":{\"Ref\":\"B\"}}},\"X\":1.5}");
	free(got);
	json_decref(t);
}

static void json_template_error_has_position(void **state)
{
	check_error("{\"a\":\n 1,, }", "t.json", "t.json:2:4: string or '}' expected near ','");
}

static void load_reads_a_file(void **state)
{
	char *dir = tu_mkdtemp();
	char *path = tu_write_file(dir, "template.yaml", "A: !Ref B\n");
	json_t *t = NULL;

	assert_int_equal(es_template_load(path, &t), ES_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(t, "A"), "Ref")),
	                    "B");
	json_decref(t);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

static void load_missing_file(void **state)
{
	json_t *t = NULL;
	assert_int_equal(es_template_load("/nonexistent/template.yaml", &t), ES_ENOTFOUND);
	assert_non_null(strstr(es_error_last()->message, "/nonexistent/template.yaml"));
}

static void error_bad_indentation(void **state)
{
	check_error("Resources:\n  Fn:\n    Type: x\n   Properties: {}\n", "template.yaml",
	            "template.yaml:4:4: did not find expected key "
	            "(while parsing a block mapping at line 2)");
}

static void error_unknown_tag(void **state)
{
	check_error("Resources:\n  X: !<tag:example.com,2000:x> Fn\n", "template.yaml",
	            "template.yaml:2:6: unknown tag tag:example.com,2000:x: only "
	            "CloudFormation's short forms (!Ref, !Sub, !GetAtt, …) and YAML's own "
	            "!!str, !!int, !!float, !!bool, !!null are read");
}

static void error_python_tag(void **state)
{
	check_error("A: !!python/object:os.system x\n", "t.yaml",
	            "t.yaml:1:4: unknown tag tag:yaml.org,2002:python/object:os.system: only "
	            "CloudFormation's short forms (!Ref, !Sub, !GetAtt, …) and YAML's own "
	            "!!str, !!int, !!float, !!bool, !!null are read");
}

static void tag_any_short_form(void **state)
{
	/* As the AWS CLI does: every !Name is Fn::Name, so newer functions
	 * (and language extensions) pass through to CloudFormation. */
	check("A: !Length [1, 2]\nB: !ToJsonString {k: !Ref P}\nC: !Reff x\n",
	      "{\"A\":{\"Fn::Length\":[1,2]},\"B\":{\"Fn::ToJsonString\":{\"k\":{\"Ref\":"
	      "\"P\"}}},\"C\":{\"Fn::Reff\":\"x\"}}");
}

static void error_duplicate_key(void **state)
{
	check_error("Resources:\n  Fn: {}\n  Fn: {}\n", "template.yaml",
	            "template.yaml:3:3: duplicate key \"Fn\" (first at line 2)");
}

static void error_tab(void **state)
{
	check_error(
	        "Resources:\n\tFn: {}\n", "template.yaml",
	        "template.yaml:2:1: tab character in indentation; YAML indents with spaces only");
}

static void error_empty_file(void **state)
{
	check_error("", "template.yaml", "template.yaml:1:1: the template is empty");
	check_error("# nothing yet\n", "template.yaml", "template.yaml:1:1: the template is empty");
}

static void error_not_a_mapping(void **state)
{
	check_error(
	        "- a\n- b\n", "template.yaml",
	        "template.yaml:1:1: a template must be a mapping (Key: value) at the top level");
}

static void error_two_documents(void **state)
{
	check_error("a: 1\n---\nb: 2\n", "template.yaml",
	            "template.yaml:2:1: a template holds exactly one YAML document");
}

static void error_unknown_alias(void **state)
{
	check_error("a: *nope\n", "template.yaml",
	            "template.yaml:1:4: alias *nope names no anchor defined before it");
}

/* ------------------------------------------------------------ line numbers */

static void lines_name_where_each_value_is_written(void **state)
{
	static const char text[] = "Resources:\n"                          /* 1 */
	                           "  Fn:\n"                               /* 2 */
	                           "    Type: AWS::Serverless::Function\n" /* 3 */
	                           "    Properties:\n"                     /* 4 */
	                           "      CodeUri: src/\n"                 /* 5 */
	                           "      Layers:\n"                       /* 6 */
	                           "        - !Ref L1\n"                   /* 7 */
	                           "        -\n"                           /* 8 */
	                           "          Ref: L2\n"                   /* 9 */
	                           "  Odd/Name~x:\n"                       /* 10 */
	                           "    Type: X\n"                         /* 11 */
	                           "Defaults: &d {Timeout: 3}\n"           /* 12 */
	                           "Globals:\n"                            /* 13 */
	                           "  <<: *d\n"                            /* 14 */
	                           "  Runtime: nodejs18.x\n";              /* 15 */
	json_t *t = NULL, *lines = NULL;

	(void)state;
	assert_int_equal(es_template_parse_lines(text, strlen(text), "t.yaml", &t, &lines), ES_OK);
	assert_non_null(lines);
	assert_int_equal(es_template_line(lines, "/Resources"), 1);
	assert_int_equal(es_template_line(lines, "/Resources/Fn/Properties/CodeUri"), 5);
	assert_int_equal(es_template_line(lines, "/Resources/Fn/Properties/Layers/0"), 7);
	assert_int_equal(es_template_line(lines, "/Resources/Fn/Properties/Layers/1/Ref"), 9);
	assert_int_equal(es_template_line(lines, "/Resources/Odd~1Name~0x/Type"), 11);
	assert_int_equal(es_template_line(lines, "/Globals/Runtime"), 15);
	/* Merged and aliased values have no line of their own: the nearest
	 * ancestor written in the text stands for them. */
	assert_int_equal(es_template_line(lines, "/Globals/Timeout"), 13);
	assert_int_equal(es_template_line(lines, "/Resources/Fn/Properties/Missing/Deep"), 4);
	assert_int_equal(es_template_line(lines, "/Nowhere"), 0);
	assert_int_equal(es_template_line(NULL, "/Resources"), 0);
	/* The value is the same as without lines. */
	char *dump = es_template_dump(t);
	json_t *plain = NULL;
	assert_int_equal(es_template_parse(text, strlen(text), "t.yaml", &plain), ES_OK);
	char *dump_plain = es_template_dump(plain);
	assert_string_equal(dump, dump_plain);
	free(dump);
	free(dump_plain);
	json_decref(plain);
	json_decref(lines);
	json_decref(t);
}

static void lines_of_a_json_template(void **state)
{
	static const char text[] = "{\n"
	                           "  \"Resources\": {\n"
	                           "    \"Fn\": {\n"
	                           "      \"Properties\": {\"CodeUri\": \"src/\",\n"
	                           "                     \"Layers\": [\"a\", \"b\"]}\n"
	                           "    }\n"
	                           "  }\n"
	                           "}\n";
	json_t *t = NULL, *lines = NULL;

	(void)state;
	assert_int_equal(es_template_parse_lines(text, strlen(text), "t.json", &t, &lines), ES_OK);
	assert_int_equal(es_template_line(lines, "/Resources/Fn"), 3);
	assert_int_equal(es_template_line(lines, "/Resources/Fn/Properties/CodeUri"), 4);
	assert_int_equal(es_template_line(lines, "/Resources/Fn/Properties/Layers/1"), 5);
	json_decref(lines);
	json_decref(t);
	/* A parse error leaves neither value nor lines. */
	assert_int_equal(es_template_parse_lines("{\"a\": }", 7, "t.json", &t, &lines), ES_EPARSE);
	assert_null(t);
	assert_null(lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(tag_ref),
	        cmocka_unit_test(tag_ref_keeps_dotted_name),
	        cmocka_unit_test(tag_condition),
	        cmocka_unit_test(tag_getatt_dotted),
	        cmocka_unit_test(tag_getatt_splits_at_first_dot),
	        cmocka_unit_test(tag_getatt_list),
	        cmocka_unit_test(tag_getatt_without_dot_is_an_error),
	        cmocka_unit_test(tag_sub),
	        cmocka_unit_test(tag_sub_with_list_and_map),
	        cmocka_unit_test(tag_find_in_map),
	        cmocka_unit_test(tag_if_with_novalue),
	        cmocka_unit_test(tag_join_nested),
	        cmocka_unit_test(tag_select_and_getazs),
	        cmocka_unit_test(tag_split),
	        cmocka_unit_test(tag_base64),
	        cmocka_unit_test(tag_import_value),
	        cmocka_unit_test(tag_conditions),
	        cmocka_unit_test(tag_cidr),
	        cmocka_unit_test(tag_transform),
	        cmocka_unit_test(tagged_scalars_stay_strings),
	        cmocka_unit_test(edge_sample_shape),
	        cmocka_unit_test(scalars_quoted_stay_strings),
	        cmocka_unit_test(scalars_plain_numbers),
	        cmocka_unit_test(scalars_yaml11_booleans_and_nulls),
	        cmocka_unit_test(scalars_pyyaml_edges_stay_strings),
	        cmocka_unit_test(scalars_base60),
	        cmocka_unit_test(explicit_standard_tags),
	        cmocka_unit_test(key_order_preserved),
	        cmocka_unit_test(anchors_and_aliases_resolved),
	        cmocka_unit_test(billion_laughs_fails_on_size),
	        cmocka_unit_test(aliases_within_budget_expand),
	        cmocka_unit_test(merge_keys_applied),
	        cmocka_unit_test(json_template),
	        cmocka_unit_test(json_template_error_has_position),
	        cmocka_unit_test(load_reads_a_file),
	        cmocka_unit_test(load_missing_file),
	        cmocka_unit_test(error_bad_indentation),
	        cmocka_unit_test(error_unknown_tag),
        cmocka_unit_test(error_python_tag),
        cmocka_unit_test(tag_any_short_form),
	        cmocka_unit_test(error_duplicate_key),
	        cmocka_unit_test(error_tab),
	        cmocka_unit_test(error_empty_file),
	        cmocka_unit_test(error_not_a_mapping),
	        cmocka_unit_test(error_two_documents),
	        cmocka_unit_test(error_unknown_alias),
	        cmocka_unit_test(lines_name_where_each_value_is_written),
	        cmocka_unit_test(lines_of_a_json_template),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
