/* edgeship.conf's account keys: per stage profile / role-arn and bucket,
 * the [ledger] section, and refusals that name the line. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_accounts.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static const char *head = "[app]\n"                      /* 1 */
                          "\tname = demo\n"              /* 2 */
                          "\tbucket = demo-artifacts\n"  /* 3 */
                          "[stage \"staging\"]\n"        /* 4 */
                          "\tstack = demo-staging\n"     /* 5 */
                          "[stage \"production\"]\n"     /* 6 */
                          "\tstack = demo-production\n"  /* 7 */
                          "\tpromotes-from = staging\n"; /* 8 */

static int load(const char *tail, struct es_config **out)
{
	char *text = NULL;
	assert_true(asprintf(&text, "%s%s", head, tail) > 0);
	char *path = tu_write_file(dir, "edgeship.conf", text);
	int rc = es_config_load(path, out);
	free(path);
	free(text);
	return rc;
}

static void refused(const char *tail, int line, const char *needle)
{
	struct es_config *c = NULL;
	char prefix[64];

	assert_int_equal(load(tail, &c), ES_ECONFIG);
	assert_null(c);
	const char *msg = es_error_last()->message;
	snprintf(prefix, sizeof(prefix), "edgeship.conf:%d: ", line);
	if (!strstr(msg, prefix) || !strstr(msg, needle))
		fail_msg("expected '%s' and '%s' in: %s", prefix, needle, msg);
}

static void two_accounts_load(void **state)
{
	struct es_config *c = NULL;

	(void)state;
	assert_int_equal(load("\trole-arn = arn:aws:iam::222222222222:role/edgeship-deploy\n"
	                      "\texternal-id = web-team\n"
	                      "\tsession-name = edgeship-prod\n"
	                      "\tbucket = demo-prod-artifacts\n"
	                      "[ledger]\n"
	                      "\tbucket = demo-ledger\n"
	                      "\tprofile = tools\n",
	                      &c),
	                 ES_OK);
	const struct es_stage_conf *st = es_config_stage(c, "staging");
	const struct es_stage_conf *pr = es_config_stage(c, "production");
	/* Defaults: the [app] bucket and the default chain. */
	assert_string_equal(st->bucket, "demo-artifacts");
	assert_null(st->creds.profile);
	assert_null(st->creds.role_arn);
	assert_string_equal(pr->bucket, "demo-prod-artifacts");
	assert_string_equal(pr->creds.role_arn, "arn:aws:iam::222222222222:role/edgeship-deploy");
	assert_string_equal(pr->creds.external_id, "web-team");
	assert_string_equal(pr->creds.session_name, "edgeship-prod");
	assert_string_equal(c->ledger_bucket, "demo-ledger");
	assert_string_equal(c->ledger_creds.profile, "tools");
	assert_false(es_creds_conf_same(&st->creds, &pr->creds));
	char acct[13];
	es_conf_role_account(pr->creds.role_arn, acct);
	assert_string_equal(acct, "222222222222");
	es_config_free(c);
}

static void ledger_defaults_to_the_app_bucket(void **state)
{
	struct es_config *c = NULL;

	(void)state;
	assert_int_equal(load("\tprofile = prod\n", &c), ES_OK);
	assert_string_equal(c->ledger_bucket, "demo-artifacts");
	assert_null(c->ledger_creds.profile);
	assert_string_equal(es_config_stage(c, "production")->creds.profile, "prod");
	es_config_free(c);
}

static void bad_values_name_their_line(void **state)
{
	(void)state;
	refused("\trole-arn = prod-role\n", 9, "role-arn = prod-role is not an IAM role ARN");
	refused("\trole-arn = arn:aws:iam::2222:role/x\n", 9, "12-digit account");
	refused("\trole-arn = arn:aws:iam::222222222222:user/bob\n", 9, "names no role");
	refused("\trole-arn = arn:aws:s3:::bucket\n", 9, "iam service");
	refused("\tprofile = prod\n\trole-arn = arn:aws:iam::222222222222:role/d\n", 10,
	        "profile and role-arn are both set; keep one");
	refused("\tprofile = has space\n", 9, "not a profile name");
	refused("\texternal-id = team\n", 9, "external-id is used only with role-arn");
	refused("\trole-arn = arn:aws:iam::222222222222:role/d\n\tsession-name = a b\n", 10,
	        "a session name has 2 to 64");
	refused("\tbucket = Prod_Bucket\n", 9,
	        "bucket = Prod_Bucket is not a valid S3 bucket name");
	refused("[ledger]\n\tbucket = x\n", 10, "is not a valid S3 bucket name");
	refused("[ledger]\n\tprofile = a\n\trole-arn = arn:aws:iam::111111111111:role/l\n", 11,
	        "profile and role-arn are both set");
	refused("[ledger \"main\"]\n\tbucket = demo-ledger\n", 10, "[ledger] takes no name");
	refused("[ledger]\n\tstack = x\n", 10, "unknown key 'stack' in [ledger]");
	refused("\trole-arn = arn:aws:iam::222222222222:role/d\n\trole-arn = "
	        "arn:aws:iam::333333333333:role/d\n",
	        9, "given twice");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(two_accounts_load),
	        cmocka_unit_test(ledger_defaults_to_the_app_bucket),
	        cmocka_unit_test(bad_values_name_their_line),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
