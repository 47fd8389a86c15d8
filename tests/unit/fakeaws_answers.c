/* Canned answers for the fake: STS identity, CloudFormation stacks and
 * resources, CloudFront distributions. */
#include "config.h"

#include <curl/curl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "aws/client.h"
#include "aws/http.h"
#include "base/error.h"
#include "fakeaws_int.h"

/* ------------------------------------------------------------ answer builders */

struct fake_rule *fake_sts_identity(struct fake_aws *f, const char *arn)
{
	struct es_buf b = ES_BUF_INIT;
	char account[32] = "";
	const char *p = arn;

	/* arn:aws:sts::123456789012:assumed-role/… → the fifth field */
	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (p)
		snprintf(account, sizeof(account), "%.*s", (int)strcspn(p, ":"), p);
	es_buf_puts(&b, "<GetCallerIdentityResponse "
	                "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	                "<GetCallerIdentityResult><Arn>");
	fk_xml_escape(&b, arn);
	es_buf_printf(&b,
	              "</Arn><UserId>AIDAFAKEUSERID</UserId><Account>%s</Account>"
	              "</GetCallerIdentityResult><ResponseMetadata><RequestId>fake"
	              "</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
	              account);
	struct fake_rule *r =
	        fake_expect(f, "POST", "GetCallerIdentity", 200, NULL, es_buf_str(&b));
	es_buf_free(&b);
	return fake_rule_times(r, FAKE_FOREVER);
}

/* "k=v;k=v" → <member><K>k</K><V>v</V></member>… */
static void pairs_xml(struct es_buf *b, const char *list, const char *kname, const char *vname)
{
	while (list && *list) {
		size_t n = strcspn(list, ";");
		const char *eq = memchr(list, '=', n);
		if (eq) {
			char *k = strndup(list, (size_t)(eq - list));
			char *v = strndup(eq + 1, n - (size_t)(eq - list) - 1);
			es_buf_printf(b, "<member><%s>", kname);
			fk_xml_escape(b, k);
			es_buf_printf(b, "</%s><%s>", kname, vname);
			fk_xml_escape(b, v);
			es_buf_printf(b, "</%s></member>", vname);
			free(k);
			free(v);
		}
		list += n;
		if (*list == ';')
			list++;
	}
}

static char *form_value(const char *s)
{
	struct es_buf b = ES_BUF_INIT;
	es_form_encode(&b, s);
	return es_buf_steal(&b);
}

struct fake_rule *fake_cfn_stack(struct fake_aws *f, const char *stack, const char *status,
                                 const char *tags, const char *outputs)
{
	struct es_buf b = ES_BUF_INIT, needle = ES_BUF_INIT;
	char *enc = form_value(stack);

	es_buf_puts(&b, "<DescribeStacksResponse "
	                "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	                "<DescribeStacksResult><Stacks><member><StackName>");
	fk_xml_escape(&b, stack);
	es_buf_puts(&b, "</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:"
	                "stack/");
	fk_xml_escape(&b, stack);
	es_buf_puts(&b, "/00000000-fake</StackId><StackStatus>");
	fk_xml_escape(&b, status);
	es_buf_puts(&b, "</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>"
	                "<LastUpdatedTime>2026-01-02T00:00:00Z</LastUpdatedTime><Outputs>");
	pairs_xml(&b, outputs, "OutputKey", "OutputValue");
	es_buf_puts(&b, "</Outputs><Tags>");
	pairs_xml(&b, tags, "Key", "Value");
	es_buf_puts(&b, "</Tags></member></Stacks></DescribeStacksResult>"
	                "<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>"
	                "</DescribeStacksResponse>");
	es_buf_printf(&needle, "StackName=%s", enc);
	struct fake_rule *r = fake_expect(f, "POST", "DescribeStacks", 200, NULL, es_buf_str(&b));
	fake_rule_body_has(r, es_buf_str(&needle));
	es_buf_free(&b);
	es_buf_free(&needle);
	free(enc);
	return r;
}

struct fake_rule *fake_cfn_no_stack(struct fake_aws *f, const char *stack)
{
	struct es_buf msg = ES_BUF_INIT, needle = ES_BUF_INIT;
	char *enc = form_value(stack);

	es_buf_printf(&msg, "Stack with id %s does not exist", stack);
	es_buf_printf(&needle, "StackName=%s", enc);
	struct fake_rule *r = fake_expect_error(f, "POST", "DescribeStacks", 400, "ValidationError",
	                                        es_buf_str(&msg));
	fake_rule_body_has(r, es_buf_str(&needle));
	es_buf_free(&msg);
	es_buf_free(&needle);
	free(enc);
	return r;
}

struct fake_rule *fake_cfn_resources(struct fake_aws *f, const char *stack, const char *resources)
{
	struct es_buf b = ES_BUF_INIT, needle = ES_BUF_INIT;
	char *enc = form_value(stack);
	const char *p = resources;

	es_buf_puts(&b, "<DescribeStackResourcesResponse "
	                "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	                "<DescribeStackResourcesResult><StackResources>");
	while (p && *p) {
		size_t n = strcspn(p, ";");
		char *item = strndup(p, n), *save = NULL;
		char *logical = strtok_r(item, "|", &save);
		char *type = strtok_r(NULL, "|", &save);
		char *physical = strtok_r(NULL, "|", &save);
		es_buf_puts(&b, "<member><StackName>");
		fk_xml_escape(&b, stack);
		es_buf_puts(&b, "</StackName><LogicalResourceId>");
		fk_xml_escape(&b, logical ? logical : "");
		es_buf_puts(&b, "</LogicalResourceId><PhysicalResourceId>");
		fk_xml_escape(&b, physical ? physical : "");
		es_buf_puts(&b, "</PhysicalResourceId><ResourceType>");
		fk_xml_escape(&b, type ? type : "");
		es_buf_puts(&b, "</ResourceType><ResourceStatus>UPDATE_COMPLETE</ResourceStatus>"
		                "<Timestamp>2026-01-02T00:00:00Z</Timestamp></member>");
		free(item);
		p += n;
		if (*p == ';')
			p++;
	}
	es_buf_puts(&b, "</StackResources></DescribeStackResourcesResult>"
	                "</DescribeStackResourcesResponse>");
	es_buf_printf(&needle, "StackName=%s", enc);
	struct fake_rule *r =
	        fake_expect(f, "POST", "DescribeStackResources", 200, NULL, es_buf_str(&b));
	fake_rule_body_has(r, es_buf_str(&needle));
	es_buf_free(&b);
	es_buf_free(&needle);
	free(enc);
	return r;
}

char *fake_cf_distribution_xml(const char *id, const char *status)
{
	struct es_buf b = ES_BUF_INIT;

	es_buf_puts(&b, "<?xml version=\"1.0\"?>\n<Distribution "
	                "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Id>");
	fk_xml_escape(&b, id);
	es_buf_puts(&b, "</Id><ARN>arn:aws:cloudfront::123456789012:distribution/");
	fk_xml_escape(&b, id);
	es_buf_puts(&b, "</ARN><Status>");
	fk_xml_escape(&b, status);
	es_buf_puts(&b, "</Status><LastModifiedTime>2026-01-02T00:00:00Z</LastModifiedTime>"
	                "<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"
	                "<DomainName>");
	fk_xml_escape(&b, id);
	es_buf_puts(&b, ".cloudfront.net</DomainName><DistributionConfig>"
	                "<DefaultCacheBehavior><LambdaFunctionAssociations><Quantity>1"
	                "</Quantity><Items><LambdaFunctionAssociation><LambdaFunctionARN>"
	                "arn:aws:lambda:us-east-1:123456789012:function:edge:7"
	                "</LambdaFunctionARN><EventType>origin-request</EventType>"
	                "</LambdaFunctionAssociation></Items></LambdaFunctionAssociations>"
	                "</DefaultCacheBehavior></DistributionConfig></Distribution>");
	return es_buf_steal(&b);
}

struct fake_rule *fake_cf_distribution(struct fake_aws *f, const char *id, const char *status)
{
	struct es_buf path = ES_BUF_INIT, etag = ES_BUF_INIT;
	char *xml = fake_cf_distribution_xml(id, status);

	es_buf_printf(&path, "/2020-05-31/distribution/%s", id);
	es_buf_printf(&etag, "ETag: E-%s", id);
	struct fake_rule *r = fake_expect(f, "GET", es_buf_str(&path), 200, es_buf_str(&etag), xml);
	es_buf_free(&path);
	es_buf_free(&etag);
	free(xml);
	return r;
}

char *fake_cf_list_xml(const char *items, const char *next_marker)
{
	struct es_buf b = ES_BUF_INIT;
	const char *p = items;

	es_buf_puts(&b, "<?xml version=\"1.0\"?>\n<DistributionList "
	                "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Items>");
	while (p && *p) {
		size_t n = strcspn(p, ";");
		char *item = strndup(p, n), *save = NULL;
		char *id = strtok_r(item, "|", &save);
		char *status = strtok_r(NULL, "|", &save);
		char *modified = strtok_r(NULL, "|", &save);
		char *arn = strtok_r(NULL, "|", &save);
		es_buf_puts(&b, "<DistributionSummary><Id>");
		fk_xml_escape(&b, id ? id : "");
		es_buf_puts(&b, "</Id><Status>");
		fk_xml_escape(&b, status ? status : "");
		es_buf_puts(&b, "</Status><LastModifiedTime>");
		fk_xml_escape(&b, modified ? modified : "");
		es_buf_puts(&b, "</LastModifiedTime><DomainName>");
		fk_xml_escape(&b, id ? id : "");
		es_buf_puts(&b, ".cloudfront.net</DomainName>");
		if (arn)
			es_buf_printf(&b,
			              "<DefaultCacheBehavior><LambdaFunctionAssociations>"
			              "<Quantity>1</Quantity><Items><LambdaFunctionAssociation>"
			              "<LambdaFunctionARN>%s</LambdaFunctionARN>"
			              "</LambdaFunctionAssociation></Items>"
			              "</LambdaFunctionAssociations></DefaultCacheBehavior>",
			              arn);
		es_buf_puts(&b, "</DistributionSummary>");
		free(item);
		p += n;
		if (*p == ';')
			p++;
	}
	es_buf_puts(&b, "</Items>");
	if (next_marker)
		es_buf_printf(&b, "<IsTruncated>true</IsTruncated><NextMarker>%s</NextMarker>",
		              next_marker);
	else
		es_buf_puts(&b, "<IsTruncated>false</IsTruncated>");
	es_buf_puts(&b, "</DistributionList>");
	return es_buf_steal(&b);
}
