/* Drift detection and ContinueUpdateRollback: the request bodies and the
 * parsing of DetectStackDrift, DescribeStackDriftDetectionStatus and
 * DescribeStackResourceDrifts answers. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/cloudformation.h"

#define NS "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""

static void request_bodies(void **state)
{
	const char *skip[] = {"EdgeFunction", "Alias"};
	struct es_aws_call c;

	(void)state;
	assert_int_equal(es_cfn_detect_stack_drift_call(&c, "demo-staging"), ES_OK);
	assert_string_equal(c.body.data,
	                    "Action=DetectStackDrift&Version=2010-05-15&StackName=demo-staging");
	es_aws_call_free(&c);
	assert_int_equal(es_cfn_drift_status_call(&c, "d-1"), ES_OK);
	assert_string_equal(c.body.data, "Action=DescribeStackDriftDetectionStatus&Version=2010-05-"
	                                 "15&StackDriftDetectionId=d-1");
	es_aws_call_free(&c);
	assert_int_equal(es_cfn_resource_drifts_call(&c, "demo", "tok 2"), ES_OK);
	assert_string_equal(c.body.data, "Action=DescribeStackResourceDrifts&Version=2010-05-15"
	                                 "&StackName=demo&MaxResults=100&NextToken=tok+2");
	es_aws_call_free(&c);
	assert_int_equal(es_cfn_continue_rollback_call(&c, "demo", skip, 2, "a1"), ES_OK);
	assert_string_equal(c.body.data,
	                    "Action=ContinueUpdateRollback&Version=2010-05-15&StackName=demo"
	                    "&ResourcesToSkip.member.1=EdgeFunction&ResourcesToSkip.member.2=Alias"
	                    "&ClientRequestToken=a1");
	assert_true(c.mutating);
	es_aws_call_free(&c);
	/* Nothing to skip: no list at all. */
	assert_int_equal(es_cfn_continue_rollback_call(&c, "demo", NULL, 0, NULL), ES_OK);
	assert_null(strstr(c.body.data, "ResourcesToSkip"));
	es_aws_call_free(&c);
}

static void detection_id_and_status(void **state)
{
	const char *id_xml = "<DetectStackDriftResponse " NS "><DetectStackDriftResult>"
	                     "<StackDriftDetectionId>b78ac9b0</StackDriftDetectionId>"
	                     "</DetectStackDriftResult></DetectStackDriftResponse>";
	const char *running = "<DescribeStackDriftDetectionStatusResponse " NS
	                      "><DescribeStackDriftDetectionStatusResult>"
	                      "<DetectionStatus>DETECTION_IN_PROGRESS</DetectionStatus>"
	                      "</DescribeStackDriftDetectionStatusResult></"
	                      "DescribeStackDriftDetectionStatusResponse>";
	const char *done = "<DescribeStackDriftDetectionStatusResponse " NS
	                   "><DescribeStackDriftDetectionStatusResult>"
	                   "<DetectionStatus>DETECTION_COMPLETE</DetectionStatus>"
	                   "<StackDriftStatus>DRIFTED</StackDriftStatus>"
	                   "<DriftedStackResourceCount>2</DriftedStackResourceCount>"
	                   "</DescribeStackDriftDetectionStatusResult></"
	                   "DescribeStackDriftDetectionStatusResponse>";
	struct es_drift_detection d;
	char *id;

	(void)state;
	id = es_cfn_parse_drift_id(id_xml, strlen(id_xml));
	assert_string_equal(id, "b78ac9b0");
	free(id);
	assert_null(es_cfn_parse_drift_id("<x/>", 4));
	assert_int_equal(es_cfn_parse_drift_detection(running, strlen(running), &d), ES_OK);
	assert_string_equal(d.detection_status, "DETECTION_IN_PROGRESS");
	assert_null(d.drift_status);
	es_drift_detection_free(&d);
	assert_int_equal(es_cfn_parse_drift_detection(done, strlen(done), &d), ES_OK);
	assert_string_equal(d.drift_status, "DRIFTED");
	assert_int_equal(d.drifted_count, 2);
	es_drift_detection_free(&d);
	assert_int_equal(es_cfn_parse_drift_detection("<a><b/></a>", 11, &d), ES_EPARSE);
}

static void resource_drifts_with_properties(void **state)
{
	const char *xml =
	        "<DescribeStackResourceDriftsResponse " NS "><DescribeStackResourceDriftsResult>"
	        "<StackResourceDrifts>"
	        "<member><LogicalResourceId>Fn</LogicalResourceId>"
	        "<PhysicalResourceId>demo-Fn-1</PhysicalResourceId>"
	        "<ResourceType>AWS::Lambda::Function</ResourceType>"
	        "<StackResourceDriftStatus>MODIFIED</StackResourceDriftStatus>"
	        "<PropertyDifferences><member><PropertyPath>/MemorySize</PropertyPath>"
	        "<ExpectedValue>128</ExpectedValue><ActualValue>512</ActualValue>"
	        "<DifferenceType>NOT_EQUAL</DifferenceType></member>"
	        "<member><PropertyPath>/Description</PropertyPath><ExpectedValue>x</ExpectedValue>"
	        "<DifferenceType>REMOVE</DifferenceType></member></PropertyDifferences></member>"
	        "<member><LogicalResourceId>Role</LogicalResourceId>"
	        "<ResourceType>AWS::IAM::Role</ResourceType>"
	        "<StackResourceDriftStatus>IN_SYNC</StackResourceDriftStatus></member>"
	        "</StackResourceDrifts><NextToken>2</NextToken>"
	        "</DescribeStackResourceDriftsResult></DescribeStackResourceDriftsResponse>";
	struct es_drift_page p;

	(void)state;
	assert_int_equal(es_cfn_parse_resource_drifts(xml, strlen(xml), &p), ES_OK);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.next_token, "2");
	assert_string_equal(p.items[0].logical_id, "Fn");
	assert_string_equal(p.items[0].status, "MODIFIED");
	assert_int_equal(p.items[0].n_diffs, 2);
	assert_string_equal(p.items[0].diffs[0].path, "/MemorySize");
	assert_string_equal(p.items[0].diffs[0].expected, "128");
	assert_string_equal(p.items[0].diffs[0].actual, "512");
	assert_string_equal(p.items[0].diffs[0].type, "NOT_EQUAL");
	/* A property removed outside the stack has no actual value. */
	assert_string_equal(p.items[0].diffs[1].actual, "");
	assert_string_equal(p.items[1].physical_id, "");
	assert_int_equal(p.items[1].n_diffs, 0);
	es_drift_page_free(&p);
	assert_int_equal(es_cfn_parse_resource_drifts("<r/>", 4, &p), ES_EPARSE);
	assert_int_equal(es_cfn_parse_resource_drifts("not xml", 7, &p) != ES_OK, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(request_bodies),
	        cmocka_unit_test(detection_id_and_status),
	        cmocka_unit_test(resource_drifts_with_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
