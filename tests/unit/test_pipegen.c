/* The pipeline template of init --pipeline from an edgeship.conf and the
 * app's template: Stage only where the template takes it, the deploy role
 * only for the types the template holds (and the rest named in the file),
 * stages in promotion order, and refusals for what a pipeline cannot carry
 * (no stage, stage names that collide as identifiers, text not UTF-8). */
#include "config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "conf.h"
#include "pipegen/pipegen.h"
#include "testutil.h"

static const char *const app_template = "Resources:\n"
                                        "  Topic:\n"
                                        "    Type: AWS::SNS::Topic\n"
                                        "  Role:\n"
                                        "    Type: AWS::IAM::Role\n"
                                        "    Properties: {}\n";

static struct es_config *load(char **dir, const char *conf, const char *tpl)
{
	struct es_config *c = NULL;
	char *path;

	*dir = tu_mkdtemp();
	path = tu_write_file(*dir, "edgeship.conf", conf);
	if (tpl)
		free(tu_write_file(*dir, "template.yaml", tpl));
	assert_int_equal(es_config_load(path, &c), ES_OK);
	free(path);
	return c;
}

static const struct es_pipegen_opts s3 = {.source = ES_PIPEGEN_S3};

static json_t *stage_actions(json_t *tpl, size_t i)
{
	json_t *stages = json_object_get(
	        json_object_get(json_object_get(json_object_get(tpl, "Resources"), "Pipeline"),
	                        "Properties"),
	        "Stages");
	return json_object_get(json_array_get(stages, i), "Actions");
}

static const char *stage_name(json_t *tpl, size_t i)
{
	json_t *stages = json_object_get(
	        json_object_get(json_object_get(json_object_get(tpl, "Resources"), "Pipeline"),
	                        "Properties"),
	        "Stages");
	return json_string_value(json_object_get(json_array_get(stages, i), "Name"));
}

static const char *conf_text = "[app]\n\tname = shop\n\ttemplate = template.yaml\n"
                               "\tbucket = shop-artifacts\n\tregion = us-east-1\n"
                               "[stage \"production\"]\n\tstack = shop-prod\n"
                               "\tpromotes-from = staging\n"
                               "[stage \"staging\"]\n\tstack = shop-staging\n"
                               "\tparameter = Env=stg\n\turl = https://stg.example.com\n"
                               "[check \"slow\"]\n\tpath = /slow\n\ttimeout = 2m\n";

static void follows_the_template_and_the_promotion_order(void **state)
{
	char *dir, *yaml = NULL;
	struct es_config *c = load(&dir, conf_text, app_template);
	json_t *tpl = NULL;

	(void)state;
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_OK);
	/* staging comes first although the file names production first. */
	assert_string_equal(stage_name(tpl, 1), "staging");
	assert_string_equal(stage_name(tpl, 2), "production");
	/* The template has no Stage parameter: only the stage's own. */
	json_t *cfg = json_object_get(json_array_get(stage_actions(tpl, 1), 0), "Configuration");
	assert_string_equal(json_string_value(json_object_get(cfg, "ParameterOverrides")),
	                    "{\"Env\":\"stg\"}");
	/* The check's timeout reaches the validator, whose own limit allows it. */
	json_t *val = json_object_get(json_array_get(stage_actions(tpl, 1), 2), "Configuration");
	assert_non_null(strstr(json_string_value(json_object_get(
	                               json_object_get(val, "UserParameters"), "Fn::Sub")),
	                       "\"timeoutMs\":120000"));
	assert_int_equal(json_integer_value(json_object_get(
	                         json_object_get(json_object_get(json_object_get(tpl, "Resources"),
	                                                         "ValidatorFunction"),
	                                         "Properties"),
	                         "Timeout")),
	                 135);
	/* No capability in edgeship.conf: none asked for. */
	assert_null(json_object_get(cfg, "Capabilities"));
	/* The deploy role grants roles only: the template has no function and
	 * no distribution; without a transform the pipeline role has no
	 * transform statement. */
	char *roles = json_dumps(json_object_get(tpl, "Resources"), 0);
	assert_non_null(strstr(roles, "\"Sid\": \"Roles\""));
	assert_null(strstr(roles, "\"Sid\": \"Functions\""));
	assert_null(strstr(roles, "\"Sid\": \"Distributions\""));
	assert_null(strstr(roles, "\"Sid\": \"Transform\""));
	free(roles);
	/* The type no group covers is named at the top of the file. */
	assert_int_equal(es_pipegen_yaml(c, &s3, &yaml), ES_OK);
	char *body = strstr(yaml, "AWSTemplateFormatVersion");
	char *named = strstr(yaml, "#   AWS::SNS::Topic\n");
	assert_non_null(named);
	assert_true(named < body);
	free(yaml);
	json_decref(tpl);
	es_config_free(c);
	tu_rmtree(dir);
	free(dir);
}

static void without_a_template_grants_what_the_reference_app_needs(void **state)
{
	char *dir, *yaml = NULL;
	struct es_config *c = load(&dir, conf_text, NULL);

	(void)state;
	assert_int_equal(es_pipegen_yaml(c, &s3, &yaml), ES_OK);
	assert_non_null(strstr(yaml, "# The app's template could not be read"));
	assert_non_null(strstr(yaml, "Sid: Functions"));
	assert_non_null(strstr(yaml, "Sid: Distributions"));
	assert_non_null(strstr(yaml, "\"Stage\":\"staging\""));
	free(yaml);
	es_config_free(c);
	tu_rmtree(dir);
	free(dir);
}

static void one_stage_has_no_validation_nor_approval(void **state)
{
	char *dir;
	struct es_config *c = load(&dir,
	                           "[app]\n\tname = shop\n\ttemplate = template.yaml\n"
	                           "\tbucket = shop-artifacts\n"
	                           "[stage \"live\"]\n\tstack = shop-live\n",
	                           app_template);
	json_t *tpl = NULL;

	(void)state;
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_OK);
	assert_string_equal(stage_name(tpl, 1), "live");
	assert_null(stage_name(tpl, 2));
	assert_int_equal(json_array_size(stage_actions(tpl, 1)), 2);
	json_decref(tpl);
	es_config_free(c);
	tu_rmtree(dir);
	free(dir);
}

static void refuses_what_a_pipeline_cannot_carry(void **state)
{
	char *dir;
	json_t *tpl = NULL;
	struct es_config *c = load(&dir,
	                           "[app]\n\tname = shop\n\ttemplate = template.yaml\n"
	                           "\tbucket = shop-artifacts\n"
	                           "[stage \"a-b\"]\n\tstack = shop-1\n"
	                           "[stage \"a_b\"]\n\tstack = shop-2\n",
	                           app_template);

	(void)state;
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_ECONFIG);
	assert_null(tpl);
	assert_non_null(strstr(es_error_last()->message, "differ only in"));

	/* Text that is not UTF-8 cannot go into a template. */
	c->stages[0].name[1] = 'x';
	free(c->stages[0].stack);
	c->stages[0].stack = strdup("shop-1");
	c->n_stages = 1;
	c->stages[0].n_parameters = 0;
	free(c->app);
	c->app = strdup("shop");
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_OK);
	json_decref(tpl);
	tpl = NULL;
	char *bad = strdup("caf\xe9");
	struct es_kv kv = {.key = (char *)"Motto", .value = bad};
	c->stages[0].parameters = &kv;
	c->stages[0].n_parameters = 1;
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_ECONFIG);
	assert_null(tpl);
	assert_non_null(strstr(es_error_last()->message, "UTF-8"));
	/* …nor a parameter's name that is not. */
	kv.key = bad;
	kv.value = (char *)"x";
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_ECONFIG);
	assert_null(tpl);
	assert_non_null(strstr(es_error_last()->message, "UTF-8"));
	c->stages[0].parameters = NULL;
	c->stages[0].n_parameters = 0;
	free(bad);

	/* No stage at all. */
	c->n_stages = 0;
	assert_int_equal(es_pipegen_template(c, &s3, &tpl), ES_ECONFIG);
	assert_non_null(strstr(es_error_last()->message, "defines no stage"));
	c->n_stages = 2;
	es_config_free(c);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(follows_the_template_and_the_promotion_order),
	        cmocka_unit_test(without_a_template_grants_what_the_reference_app_needs),
	        cmocka_unit_test(one_stage_has_no_validation_nor_approval),
	        cmocka_unit_test(refuses_what_a_pipeline_cannot_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
