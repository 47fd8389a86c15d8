/* Parsing CloudFormation answers: stacks, change sets (and when an empty one
 * is a success), stack events; and the CreateChangeSet request body. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/cloudformation.h"
#include "base/timefmt.h"

#define NS "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\""

static void parses_stack_with_tags_and_outputs(void **state)
{
	const char *xml =
	        "<DescribeStacksResponse " NS "><DescribeStacksResult><Stacks><member>"
	        "<StackName>demo-staging</StackName><StackId>arn:aws:cloudformation:x</StackId>"
	        "<StackStatus>UPDATE_COMPLETE</StackStatus>"
	        "<CreationTime>2026-11-27T01:00:00.123Z</CreationTime>"
	        "<Outputs><member><OutputKey>DistributionId</OutputKey><OutputValue>E1"
	        "</OutputValue></member></Outputs>"
	        "<Tags><member><Key>edgeship:commit</Key><Value>abc</Value></member>"
	        "<member><Key>team</Key><Value>web</Value></member></Tags>"
	        "</member></Stacks></DescribeStacksResult></DescribeStacksResponse>";
	struct es_stack st;

	assert_int_equal(es_cfn_parse_stack(xml, strlen(xml), &st), ES_OK);
	assert_string_equal(st.status, "UPDATE_COMPLETE");
	assert_string_equal(es_kv_get(st.outputs, st.n_outputs, "DistributionId"), "E1");
	assert_string_equal(es_kv_get(st.tags, st.n_tags, "edgeship:commit"), "abc");
	assert_null(es_kv_get(st.tags, st.n_tags, "missing"));
	assert_string_equal(st.last_updated, "2026-11-27T01:00:00.123Z");
	es_stack_free(&st);
}

static void garbage_is_a_parse_error(void **state)
{
	struct es_stack st;
	assert_int_equal(es_cfn_parse_stack("<Describe", 9, &st), ES_EPARSE);
	assert_int_equal(es_cfn_parse_stack("<a/>", 4, &st), ES_ENOTFOUND);
}

static void change_set_with_changes(void **state)
{
	const char *xml =
	        "<DescribeChangeSetResponse " NS "><DescribeChangeSetResult>"
	        "<ChangeSetId>arn:cs</ChangeSetId><Status>CREATE_COMPLETE</Status>"
	        "<ExecutionStatus>AVAILABLE</ExecutionStatus>"
	        "<CreationTime>2026-11-27T02:00:00Z</CreationTime><Changes>"
	        "<member><Type>Resource</Type><ResourceChange><Action>Modify</Action>"
	        "<LogicalResourceId>Distribution</LogicalResourceId>"
	        "<ResourceType>AWS::CloudFront::Distribution</ResourceType>"
	        "<Replacement>False</Replacement></ResourceChange></member>"
	        "<member><Type>Resource</Type><ResourceChange><Action>Add</Action>"
	        "<LogicalResourceId>FnVersion1a2b</LogicalResourceId>"
	        "<ResourceType>AWS::Lambda::Version</ResourceType></ResourceChange></member>"
	        "</Changes></DescribeChangeSetResult></DescribeChangeSetResponse>";
	struct es_change_set cs;

	assert_int_equal(es_cfn_parse_change_set(xml, strlen(xml), &cs), ES_OK);
	assert_int_equal(cs.n_changes, 2);
	assert_string_equal(cs.changes[0].action, "Modify");
	assert_string_equal(cs.changes[0].replacement, "False");
	assert_string_equal(cs.changes[1].type, "AWS::Lambda::Version");
	assert_null(cs.changes[1].replacement);
	assert_false(es_cfn_change_set_empty(&cs));
	assert_true(es_time_parse(cs.creation_time) > 1.7e9);
	es_change_set_free(&cs);
}

static void empty_change_set_is_decided_by_reason(void **state)
{
	struct es_change_set cs = {0};
	char failed[] = "FAILED";
	char r1[] = "The submitted information didn't contain changes. Submit different "
	            "information to create a change set.";
	char r2[] = "No updates are to be performed.";
	char r3[] = "Template format error: unknown resource type";

	cs.status = failed;
	cs.status_reason = r1;
	assert_true(es_cfn_change_set_empty(&cs));
	cs.status_reason = r2;
	assert_true(es_cfn_change_set_empty(&cs));
	cs.status_reason = r3;
	assert_false(es_cfn_change_set_empty(&cs));
}

static void stack_events_keep_aws_order(void **state)
{
	const char *xml =
	        "<DescribeStackEventsResponse " NS "><DescribeStackEventsResult><StackEvents>"
	        "<member><EventId>e2</EventId><StackName>s</StackName><StackId>id</StackId>"
	        "<LogicalResourceId>Fn</LogicalResourceId><ResourceType>AWS::Lambda::Function"
	        "</ResourceType><Timestamp>2026-11-27T02:00:02Z</Timestamp>"
	        "<ResourceStatus>CREATE_FAILED</ResourceStatus>"
	        "<ResourceStatusReason>Invalid runtime</ResourceStatusReason></member>"
	        "<member><EventId>e1</EventId><StackName>s</StackName><StackId>id</StackId>"
	        "<LogicalResourceId>s</LogicalResourceId><PhysicalResourceId>id"
	        "</PhysicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType>"
	        "<Timestamp>2026-11-27T02:00:00Z</Timestamp>"
	        "<ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus></member>"
	        "</StackEvents><NextToken>tok</NextToken></DescribeStackEventsResult>"
	        "</DescribeStackEventsResponse>";
	struct es_stack_event_page p;

	assert_int_equal(es_cfn_parse_stack_events(xml, strlen(xml), &p), ES_OK);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.events[0].event_id, "e2");
	assert_string_equal(p.events[0].reason, "Invalid runtime");
	assert_null(p.events[1].reason);
	assert_string_equal(p.next_token, "tok");
	es_stack_event_page_free(&p);
}

static void finds_the_distribution_among_resources(void **state)
{
	const char *xml =
	        "<DescribeStackResourcesResponse " NS "><DescribeStackResourcesResult>"
	        "<StackResources><member><LogicalResourceId>Fn</LogicalResourceId>"
	        "<PhysicalResourceId>fn-1</PhysicalResourceId>"
	        "<ResourceType>AWS::Lambda::Function</ResourceType></member>"
	        "<member><LogicalResourceId>CFDistribution</LogicalResourceId>"
	        "<PhysicalResourceId>E2EXAMPLE</PhysicalResourceId>"
	        "<ResourceType>AWS::CloudFront::Distribution</ResourceType></member>"
	        "</StackResources></DescribeStackResourcesResult></DescribeStackResourcesResponse>";
	char id[64];

	assert_int_equal(es_cfn_resource_of_type(xml, strlen(xml), "AWS::CloudFront::Distribution",
	                                         id, sizeof(id)),
	                 ES_OK);
	assert_string_equal(id, "E2EXAMPLE");
	assert_int_equal(
	        es_cfn_resource_of_type(xml, strlen(xml), "AWS::S3::Bucket", id, sizeof(id)),
	        ES_OK);
	assert_string_equal(id, "");
	assert_int_equal(es_cfn_resource_of_type("<oops", 5, "X", id, sizeof(id)), ES_EPARSE);
}

static void status_classes(void **state)
{
	assert_true(es_cfn_status_in_progress("UPDATE_ROLLBACK_IN_PROGRESS"));
	assert_false(es_cfn_status_in_progress("UPDATE_COMPLETE"));
	assert_true(es_cfn_status_failed("UPDATE_ROLLBACK_COMPLETE"));
	assert_true(es_cfn_status_failed("CREATE_FAILED"));
	assert_false(es_cfn_status_failed("CREATE_COMPLETE"));
}

static void create_change_set_body(void **state)
{
	struct es_kv params[] = {{"Stage", "staging"}};
	struct es_kv tags[] = {{"edgeship:commit", "abc"}};
	const char *caps[] = {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"};
	struct es_change_set_request r = {
	        .stack_name = "demo",
	        .change_set_name = "edgeship-deploy-7",
	        .change_set_type = "CREATE",
	        .template_body = "{\"Resources\": {}}",
	        .parameters = params,
	        .n_parameters = 1,
	        .capabilities = caps,
	        .n_capabilities = 2,
	        .tags = tags,
	        .n_tags = 1,
	        .client_token = "edgeship-deploy-7",
	};
	struct es_aws_call c;

	assert_int_equal(es_cfn_create_change_set_call(&c, &r), ES_OK);
	assert_string_equal(
	        c.body.data,
	        "Action=CreateChangeSet&Version=2010-05-15&StackName=demo"
	        "&TemplateBody=%7B%22Resources%22%3A+%7B%7D%7D"
	        "&Parameters.member.1.ParameterKey=Stage&Parameters.member.1.ParameterValue=staging"
	        "&Capabilities.member.1=CAPABILITY_IAM&Capabilities.member.2=CAPABILITY_AUTO_EXPAND"
	        "&Tags.member.1.Key=edgeship%3Acommit&Tags.member.1.Value=abc"
	        "&ChangeSetName=edgeship-deploy-7&ClientToken=edgeship-deploy-7"
	        "&ChangeSetType=CREATE");
	assert_true(c.mutating);
	es_aws_call_free(&c);

	/* No capabilities, no tags: the lists are left out, never sent empty. */
	r.n_capabilities = 0;
	r.n_tags = 0;
	assert_int_equal(es_cfn_create_change_set_call(&c, &r), ES_OK);
	assert_null(strstr(c.body.data, "Capabilities"));
	assert_null(strstr(c.body.data, "Tags"));
	es_aws_call_free(&c);
}

static void iso_times(void **state)
{
	assert_true(es_time_parse("2026-11-27T02:00:00Z") == 1795744800.0);
	assert_true(es_time_parse("2026-11-27T02:00:00.500Z") == 1795744800.5);
	assert_true(es_time_parse("2026-11-27T03:00:00+01:00") == 1795744800.0);
	assert_true(es_time_parse("yesterday") < 0);
	char b[32];
	assert_string_equal(es_duration_format(125, b, sizeof(b)), "2m05s");
	assert_string_equal(es_duration_format(0.84, b, sizeof(b)), "0.8s");
	assert_string_equal(es_duration_format(3720, b, sizeof(b)), "1h02m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(parses_stack_with_tags_and_outputs),
	        cmocka_unit_test(garbage_is_a_parse_error),
	        cmocka_unit_test(change_set_with_changes),
	        cmocka_unit_test(empty_change_set_is_decided_by_reason),
	        cmocka_unit_test(stack_events_keep_aws_order),
	        cmocka_unit_test(finds_the_distribution_among_resources),
	        cmocka_unit_test(status_classes),
	        cmocka_unit_test(create_change_set_body),
	        cmocka_unit_test(iso_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
