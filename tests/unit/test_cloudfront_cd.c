/* The CloudFront continuous deployment client (core/aws/cloudfront_cd.h):
 * the requests it sends (paths, headers, escaped bodies), its reading of
 * answers shaped as botocore's cloudfront 2020-05-31 model says, the edits
 * of a DistributionConfig, the traffic limits, and the error answers the
 * canary branches on; through the fake AWS where a request goes out. */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "aws/cloudfront.h"
#include "aws/cloudfront_cd.h"
#include "base/error.h"
#include "fakeaws.h"

#define XMLNS   "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\""
#define FN_EDGE "arn:aws:lambda:us-east-1:123456789012:function:site-edge"
#define FN_AUTH "arn:aws:lambda:us-east-1:123456789012:function:site-edge-auth"
#define CANARY  "arn:aws:lambda:us-east-1:123456789012:function:es-canary-site-edge-1a2b3c4d:3"


static bool near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

static const char *call_header(const struct es_aws_call *c, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < c->n_headers; i++)
		if (strncasecmp(c->headers[i], name, len) == 0 && c->headers[i][len] == ':')
			return c->headers[i] + len + 2;
	return NULL;
}

/* A DistributionConfig as CloudFront answers it: a default behaviour
 * running FN_EDGE:7 on viewer-request and FN_AUTH:2 on origin-request, a
 * behaviour for /api/ paths running FN_EDGE:7 again, one for /static/ running
 * FN_EDGE:6 (an older version), and text with escaped characters. POLICY
 * is what stands between IsIPV6Enabled and Staging. */
#define CONFIG(POLICY, STAGING)                                                                    \
	"<DistributionConfig " XMLNS ">"                                                           \
	"<CallerReference>site-staging-cdn</CallerReference>"                                      \
	"<Aliases><Quantity>1</Quantity><Items><CNAME>www.example.com</CNAME></Items></Aliases>"   \
	"<DefaultRootObject>index.html</DefaultRootObject>"                                        \
	"<Origins><Quantity>1</Quantity><Items><Origin><Id>site</Id>"                              \
	"<DomainName>site.s3.us-east-1.amazonaws.com</DomainName><OriginPath/>"                    \
	"<CustomHeaders><Quantity>1</Quantity><Items><OriginCustomHeader>"                         \
	"<HeaderName>x-token</HeaderName><HeaderValue>a&amp;b&lt;c&gt;</HeaderValue>"              \
	"</OriginCustomHeader></Items></CustomHeaders>"                                            \
	"<S3OriginConfig><OriginAccessIdentity/></S3OriginConfig>"                                 \
	"<ConnectionAttempts>3</ConnectionAttempts><ConnectionTimeout>10</ConnectionTimeout>"      \
	"</Origin></Items></Origins>"                                                              \
	"<DefaultCacheBehavior><TargetOriginId>site</TargetOriginId>"                              \
	"<ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy>"                           \
	"<LambdaFunctionAssociations><Quantity>2</Quantity><Items>"                                \
	"<LambdaFunctionAssociation><LambdaFunctionARN>" FN_EDGE ":7</LambdaFunctionARN>"          \
	"<EventType>viewer-request</EventType><IncludeBody>false</IncludeBody>"                    \
	"</LambdaFunctionAssociation>"                                                             \
	"<LambdaFunctionAssociation><LambdaFunctionARN>" FN_AUTH ":2</LambdaFunctionARN>"          \
	"<EventType>origin-request</EventType><IncludeBody>false</IncludeBody>"                    \
	"</LambdaFunctionAssociation></Items></LambdaFunctionAssociations>"                        \
	"<CachePolicyId>658327ea-f89d-4fab-a63d-7e88639e58f6</CachePolicyId>"                      \
	"</DefaultCacheBehavior>"                                                                  \
	"<CacheBehaviors><Quantity>2</Quantity><Items>"                                            \
	"<CacheBehavior><PathPattern>/api/*</PathPattern><TargetOriginId>site</TargetOriginId>"    \
	"<ViewerProtocolPolicy>https-only</ViewerProtocolPolicy>"                                  \
	"<LambdaFunctionAssociations><Quantity>1</Quantity><Items><LambdaFunctionAssociation>"     \
	"<LambdaFunctionARN>" FN_EDGE ":7</LambdaFunctionARN>"                                     \
	"<EventType>origin-request</EventType></LambdaFunctionAssociation></Items>"                \
	"</LambdaFunctionAssociations></CacheBehavior>"                                            \
	"<CacheBehavior><PathPattern>/static/*</PathPattern><TargetOriginId>site</TargetOriginId>" \
	"<ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy>"                                   \
	"<LambdaFunctionAssociations><Quantity>1</Quantity><Items><LambdaFunctionAssociation>"     \
	"<LambdaFunctionARN>" FN_EDGE ":6</LambdaFunctionARN>"                                     \
	"<EventType>viewer-response</EventType></LambdaFunctionAssociation></Items>"               \
	"</LambdaFunctionAssociations></CacheBehavior></Items></CacheBehaviors>"                   \
	"<CustomErrorResponses><Quantity>0</Quantity></CustomErrorResponses>"                      \
	"<Comment>site &amp; co &lt;staging&gt;</Comment>"                                         \
	"<Logging><Enabled>false</Enabled><IncludeCookies>false</IncludeCookies><Bucket/>"         \
	"<Prefix/></Logging>"                                                                      \
	"<PriceClass>PriceClass_100</PriceClass><Enabled>true</Enabled>"                           \
	"<ViewerCertificate><CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate>"     \
	"</ViewerCertificate>"                                                                     \
	"<Restrictions><GeoRestriction><RestrictionType>none</RestrictionType>"                    \
	"<Quantity>0</Quantity></GeoRestriction></Restrictions>"                                   \
	"<WebACLId/><HttpVersion>http2</HttpVersion><IsIPV6Enabled>true</IsIPV6Enabled>" POLICY    \
	        STAGING "</DistributionConfig>"

#define STAGING_FALSE "<Staging>false</Staging>"

/* A Distribution answer around a config. */
#define DISTRIBUTION(ID, STATUS, DOMAIN, CFG)                                                      \
	"<?xml version=\"1.0\"?>\n<Distribution " XMLNS "><Id>" ID "</Id>"                         \
	"<ARN>arn:aws:cloudfront::123456789012:distribution/" ID "</ARN>"                          \
	"<Status>" STATUS "</Status><LastModifiedTime>2026-12-02T10:00:00.123Z</LastModifiedTime>" \
	"<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"                         \
	"<DomainName>" DOMAIN "</DomainName>"                                                      \
	"<ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity>"                     \
	"</ActiveTrustedSigners>"                                                                  \
	"<ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity>"                   \
	"</ActiveTrustedKeyGroups>" CFG "</Distribution>"

/* ------------------------------------------------------------ traffic limits */

static void traffic_limits(void **state)
{
	(void)state;
	struct es_cd_traffic t = {.weight = 0.15};

	assert_int_equal(es_cd_traffic_check(&t), ES_OK);
	t.weight = 0;
	assert_int_equal(es_cd_traffic_check(&t), ES_OK);
	t.weight = 0.16;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "0.15"));
	t.weight = 0.1501;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);
	t.weight = -0.01;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);
	t.weight = NAN;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);

	/* Stickiness: both TTLs 300..3600, idle no longer than maximum. */
	t.weight = 0.05;
	t.idle_ttl = 300;
	t.max_ttl = 3600;
	assert_int_equal(es_cd_traffic_check(&t), ES_OK);
	t.idle_ttl = 299;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);
	t.idle_ttl = 300;
	t.max_ttl = 3601;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);
	t.idle_ttl = 1200;
	t.max_ttl = 600;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "idle"));
	t.idle_ttl = 600;
	t.max_ttl = 0;
	assert_int_equal(es_cd_traffic_check(&t), ES_EINVAL);

	/* Header: aws-cf-cd-NAME and a value; the weight is not looked at. */
	struct es_cd_traffic h = {
	        .header_based = true, .weight = 0.9, .header = "aws-cf-cd-canary", .value = "yes"};
	assert_int_equal(es_cd_traffic_check(&h), ES_OK);
	snprintf(h.header, sizeof(h.header), "x-canary");
	assert_int_equal(es_cd_traffic_check(&h), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "aws-cf-cd-"));
	snprintf(h.header, sizeof(h.header), "aws-cf-cd-");
	assert_int_equal(es_cd_traffic_check(&h), ES_EINVAL);
	/* Spelled as CloudFront spells it, lower case. */
	snprintf(h.header, sizeof(h.header), "AWS-CF-CD-canary");
	assert_int_equal(es_cd_traffic_check(&h), ES_EINVAL);
	snprintf(h.header, sizeof(h.header), "aws-cf-cd-canary");
	h.value[0] = '\0';
	assert_int_equal(es_cd_traffic_check(&h), ES_EINVAL);
	assert_int_equal(es_cd_traffic_check(NULL), ES_EINVAL);
}

/* ------------------------------------------------------------ requests built */

static void request_bodies_and_headers(void **state)
{
	(void)state;
	struct es_aws_call c;
	struct es_cd_traffic w = {.weight = 0.05, .idle_ttl = 300, .max_ttl = 600};
	struct es_cd_traffic h = {
	        .header_based = true, .header = "aws-cf-cd-team", .value = "a&b<c>\"d'"};

	assert_int_equal(es_cf_copy_distribution_call(&c, "E1PRIMARY", "E3ETAG", "canary<&>1"),
	                 ES_OK);
	assert_string_equal(c.method, "POST");
	assert_string_equal(es_buf_str(&c.path), "/2020-05-31/distribution/E1PRIMARY/copy");
	assert_string_equal(call_header(&c, "Staging"), "true");
	assert_string_equal(call_header(&c, "If-Match"), "E3ETAG");
	assert_string_equal(es_buf_str(&c.body),
	                    "<CopyDistributionRequest " XMLNS
	                    "><CallerReference>canary&lt;&amp;&gt;1"
	                    "</CallerReference><Enabled>true</Enabled></CopyDistributionRequest>");
	assert_true(c.mutating);
	es_aws_call_free(&c);

	assert_int_equal(es_cf_create_cd_policy_call(&c, "d111.cloudfront.net", true, &w), ES_OK);
	assert_string_equal(c.method, "POST");
	assert_string_equal(es_buf_str(&c.path), "/2020-05-31/continuous-deployment-policy");
	assert_string_equal(
	        es_buf_str(&c.body),
	        "<ContinuousDeploymentPolicyConfig " XMLNS "><StagingDistributionDnsNames>"
	        "<Quantity>1</Quantity><Items><DnsName>d111.cloudfront.net</DnsName></Items>"
	        "</StagingDistributionDnsNames><Enabled>true</Enabled><TrafficConfig>"
	        "<SingleWeightConfig><Weight>0.05</Weight><SessionStickinessConfig>"
	        "<IdleTTL>300</IdleTTL><MaximumTTL>600</MaximumTTL></SessionStickinessConfig>"
	        "</SingleWeightConfig><Type>SingleWeight</Type></TrafficConfig>"
	        "</ContinuousDeploymentPolicyConfig>");
	assert_true(c.mutating);
	es_aws_call_free(&c);

	/* No stickiness: no SessionStickinessConfig at all. */
	w.idle_ttl = w.max_ttl = 0;
	w.weight = 0.15;
	assert_int_equal(
	        es_cf_update_cd_policy_call(&c, "cdp/1", "E9", "d111.cloudfront.net", false, &w),
	        ES_OK);
	assert_string_equal(c.method, "PUT");
	assert_string_equal(es_buf_str(&c.path),
	                    "/2020-05-31/continuous-deployment-policy/cdp%2F1");
	assert_string_equal(call_header(&c, "If-Match"), "E9");
	assert_non_null(strstr(es_buf_str(&c.body), "<Enabled>false</Enabled><TrafficConfig>"
	                                            "<SingleWeightConfig><Weight>0.15</Weight>"
	                                            "</SingleWeightConfig>"));
	assert_true(c.mutating);
	es_aws_call_free(&c);

	/* Header traffic: both texts escaped. */
	assert_int_equal(es_cf_update_cd_policy_call(&c, "cdp1", "E9", "d<1>.net", true, &h),
	                 ES_OK);
	assert_non_null(strstr(es_buf_str(&c.body), "<DnsName>d&lt;1&gt;.net</DnsName>"));
	assert_non_null(strstr(es_buf_str(&c.body),
	                       "<TrafficConfig><SingleHeaderConfig><Header>aws-cf-cd-team</Header>"
	                       "<Value>a&amp;b&lt;c&gt;&quot;d&apos;</Value></SingleHeaderConfig>"
	                       "<Type>SingleHeader</Type></TrafficConfig>"));
	assert_null(strstr(es_buf_str(&c.body), "Weight"));
	es_aws_call_free(&c);

	assert_int_equal(es_cf_delete_cd_policy_call(&c, "cdp1", "E9"), ES_OK);
	assert_string_equal(c.method, "DELETE");
	assert_string_equal(es_buf_str(&c.path), "/2020-05-31/continuous-deployment-policy/cdp1");
	assert_string_equal(call_header(&c, "If-Match"), "E9");
	assert_int_equal(c.body.len, 0);
	assert_true(c.mutating);
	es_aws_call_free(&c);

	assert_int_equal(es_cf_update_distribution_config_call(&c, "E1PRIMARY", "E3",
	                                                       CONFIG("", STAGING_FALSE)),
	                 ES_OK);
	assert_string_equal(c.method, "PUT");
	assert_string_equal(es_buf_str(&c.path), "/2020-05-31/distribution/E1PRIMARY/config");
	assert_string_equal(call_header(&c, "If-Match"), "E3");
	assert_string_equal(es_buf_str(&c.body), CONFIG("", STAGING_FALSE));
	assert_true(c.mutating);
	es_aws_call_free(&c);

	w.weight = 0;
	assert_int_equal(es_cf_create_cd_policy_call(&c, "d1.net", true, &w), ES_OK);
	assert_non_null(strstr(es_buf_str(&c.body), "<Weight>0</Weight>"));
	es_aws_call_free(&c);

	assert_int_equal(es_cf_promote_staging_call(&c, "E1PRIMARY", "E3P", "E2STAGING", "E4S"),
	                 ES_OK);
	assert_string_equal(c.method, "PUT");
	assert_string_equal(es_buf_str(&c.path),
	                    "/2020-05-31/distribution/E1PRIMARY/promote-staging-config");
	assert_string_equal(es_buf_str(&c.query), "StagingDistributionId=E2STAGING");
	assert_string_equal(call_header(&c, "If-Match"), "E3P,E4S");
	assert_int_equal(c.body.len, 0);
	assert_true(c.mutating);
	es_aws_call_free(&c);
}

static void remove_dir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A locale that writes 0.5 as "0,5": an installed one, else one compiled
 * with localedef into dir (LOCPATH is read at each setlocale). */
static const char *comma_locale(const char *dir)
{
	static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
	                                    "fr_FR.utf8"};
	char cmd[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (setlocale(LC_NUMERIC, names[i]))
			return names[i];
	snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
	         dir);
	if (system(cmd) != 0)
		return NULL;
	setenv("LOCPATH", dir, 1);
	return setlocale(LC_NUMERIC, "de_DE.UTF-8");
}

/* The dashboard sets LC_ALL from the environment: a decimal comma must
 * reach neither the wire nor the reading of an answer. */
static void weights_ignore_the_locale(void **state)
{
	(void)state;
	char dir[] = "/tmp/es-locale-XXXXXX";
	struct es_aws_call c;
	struct es_cd_traffic w = {.weight = 0.125};
	struct es_cd_policy p;
	const char *answer = "<ContinuousDeploymentPolicy " XMLNS "><Id>cdp-1</Id>"
	                     "<ContinuousDeploymentPolicyConfig><Enabled>true</Enabled>"
	                     "<TrafficConfig><SingleWeightConfig><Weight>5.0E-2</Weight>"
	                     "</SingleWeightConfig><Type>SingleWeight</Type></TrafficConfig>"
	                     "</ContinuousDeploymentPolicyConfig></ContinuousDeploymentPolicy>";

	assert_non_null(mkdtemp(dir));
	if (!comma_locale(dir)) {
		/* Neither installed nor buildable here (no localedef or no
		 * locale sources): nothing to check against. */
		print_message("no locale with a decimal comma; not checked\n");
		remove_dir(dir);
		return;
	}
	char probe[16];
	snprintf(probe, sizeof(probe), "%.1f", 0.5);
	assert_string_equal(probe, "0,5"); /* the locale really has a comma */
	assert_int_equal(es_cf_create_cd_policy_call(&c, "d1.net", true, &w), ES_OK);
	assert_non_null(strstr(es_buf_str(&c.body), "<Weight>0.125</Weight>"));
	es_aws_call_free(&c);
	assert_int_equal(es_cf_parse_cd_policy(answer, strlen(answer), NULL, &p), ES_OK);
	assert_true(near(p.traffic.weight, 0.05));
	es_cd_policy_free(&p);
	setlocale(LC_NUMERIC, "C");
	unsetenv("LOCPATH");
	remove_dir(dir);
}

/* ------------------------------------------------------------ through the fake */

static void copy_makes_a_staging_distribution(void **state)
{
	struct fake_fixture *e = *state;
	struct es_distribution d;

	fake_rule_header_is(
	        fake_rule_header_is(
	                fake_expect(e->fake, "POST", "/2020-05-31/distribution/E1PRIMARY/copy", 201,
	                            "ETag: E2COPYETAG\nLocation: https://cloudfront.amazonaws.com/"
	                            "2020-05-31/distribution/E2STAGING",
	                            DISTRIBUTION("E2STAGING", "InProgress", "d222.cloudfront.net",
	                                         CONFIG("", "<Staging>true</Staging>"))),
	                "Staging", "true"),
	        "If-Match", "E3PRIMARY");

	assert_int_equal(es_cf_copy_distribution(e->aws, "E1PRIMARY", "E3PRIMARY", "canary-7", &d),
	                 ES_OK);
	assert_string_equal(d.id, "E2STAGING");
	assert_string_equal(d.domain_name, "d222.cloudfront.net");
	assert_string_equal(d.status, "InProgress");
	assert_string_equal(d.etag, "E2COPYETAG");
	assert_true(d.staging);
	assert_null(d.cd_policy_id);
	es_distribution_free(&d);
	const struct fake_request *q = fake_last(e->fake);
	assert_non_null(strstr(q->body, "<CallerReference>canary-7</CallerReference>"));
	assert_string_equal(q->service, "cloudfront");

	fake_expect_error(e->fake, "POST", "/2020-05-31/distribution/E1GONE/copy", 404,
	                  "NoSuchDistribution", "The specified distribution does not exist.");
	assert_int_equal(es_cf_copy_distribution(e->aws, "E1GONE", "E3", "canary-8", &d),
	                 ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "NoSuchDistribution");
	assert_int_equal(es_error_last()->http_status, 404);
	assert_null(d.id);
}

#define POLICY_ANSWER(ENABLED, TRAFFIC)                                                            \
	"<?xml version=\"1.0\"?>\n<ContinuousDeploymentPolicy " XMLNS ">"                          \
	"<Id>cdp-1234</Id><LastModifiedTime>2026-12-02T10:00:00Z</LastModifiedTime>"               \
	"<ContinuousDeploymentPolicyConfig><StagingDistributionDnsNames><Quantity>1</Quantity>"    \
	"<Items><DnsName>d222.cloudfront.net</DnsName></Items></StagingDistributionDnsNames>"      \
	"<Enabled>" ENABLED "</Enabled><TrafficConfig>" TRAFFIC "</TrafficConfig>"                 \
	"</ContinuousDeploymentPolicyConfig></ContinuousDeploymentPolicy>"

#define WEIGHT_TRAFFIC                                                                             \
	"<SingleWeightConfig><Weight>0.05</Weight><SessionStickinessConfig><IdleTTL>300</IdleTTL>" \
	"<MaximumTTL>900</MaximumTTL></SessionStickinessConfig></SingleWeightConfig>"              \
	"<Type>SingleWeight</Type>"

static void policies_round_trip(void **state)
{
	struct fake_fixture *e = *state;
	struct es_cd_policy p;
	struct es_cd_traffic w = {.weight = 0.05, .idle_ttl = 300, .max_ttl = 900};

	fake_rule_body_has(fake_expect(e->fake, "POST", "/2020-05-31/continuous-deployment-policy",
	                               201,
	                               "ETag: E1POL\nLocation: https://cloudfront.amazonaws.com/"
	                               "2020-05-31/continuous-deployment-policy/cdp-1234",
	                               POLICY_ANSWER("true", WEIGHT_TRAFFIC)),
	                   "<Weight>0.05</Weight>");
	assert_int_equal(es_cf_create_cd_policy(e->aws, "d222.cloudfront.net", true, &w, &p),
	                 ES_OK);
	assert_string_equal(p.id, "cdp-1234");
	assert_string_equal(p.etag, "E1POL");
	assert_true(p.enabled);
	assert_string_equal(p.staging_dns, "d222.cloudfront.net");
	assert_false(p.traffic.header_based);
	assert_true(near(p.traffic.weight, 0.05));
	assert_int_equal(p.traffic.idle_ttl, 300);
	assert_int_equal(p.traffic.max_ttl, 900);
	es_cd_policy_free(&p);

	/* Refused before anything is sent. */
	size_t before = fake_count(e->fake);
	w.weight = 0.2;
	assert_int_equal(es_cf_create_cd_policy(e->aws, "d222.cloudfront.net", true, &w, &p),
	                 ES_EINVAL);
	assert_int_equal(fake_count(e->fake), before);

	fake_expect(e->fake, "GET", "/2020-05-31/continuous-deployment-policy/cdp-1234", 200,
	            "ETag: E2POL",
	            POLICY_ANSWER("false", "<SingleHeaderConfig><Header>aws-cf-cd-canary</Header>"
	                                   "<Value>on &amp; off</Value></SingleHeaderConfig>"
	                                   "<Type>SingleHeader</Type>"));
	assert_int_equal(es_cf_get_cd_policy(e->aws, "cdp-1234", &p), ES_OK);
	assert_false(p.enabled);
	assert_string_equal(p.etag, "E2POL");
	assert_true(p.traffic.header_based);
	assert_string_equal(p.traffic.header, "aws-cf-cd-canary");
	assert_string_equal(p.traffic.value, "on & off");
	assert_int_equal(p.traffic.idle_ttl, 0);
	es_cd_policy_free(&p);

	fake_expect_error(e->fake, "GET", "/2020-05-31/continuous-deployment-policy/cdp-gone", 404,
	                  "NoSuchContinuousDeploymentPolicy",
	                  "The continuous deployment policy does not exist.");
	assert_int_equal(es_cf_get_cd_policy(e->aws, "cdp-gone", &p), ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "NoSuchContinuousDeploymentPolicy");
	assert_non_null(strstr(es_error_last()->request_id, "FAKE-"));
	assert_null(p.id);

	/* Widen: a higher weight, If-Match the policy's ETag. */
	w.weight = 0.1;
	fake_rule_body_has(
	        fake_rule_header_is(
	                fake_expect(e->fake, "PUT",
	                            "/2020-05-31/continuous-deployment-policy/cdp-1234", 200,
	                            "ETag: E3POL",
	                            POLICY_ANSWER("true", "<SingleWeightConfig><Weight>0.1"
	                                                  "</Weight></SingleWeightConfig>"
	                                                  "<Type>SingleWeight</Type>")),
	                "If-Match", "E2POL"),
	        "<Weight>0.1</Weight>");
	assert_int_equal(es_cf_update_cd_policy(e->aws, "cdp-1234", "E2POL", "d222.cloudfront.net",
	                                        true, &w, &p),
	                 ES_OK);
	assert_string_equal(p.etag, "E3POL");
	assert_true(near(p.traffic.weight, 0.1));
	es_cd_policy_free(&p);

	/* Someone changed it since: 412, the caller rereads. */
	fake_expect_error(e->fake, "PUT", "/2020-05-31/continuous-deployment-policy/cdp-1234", 412,
	                  "PreconditionFailed",
	                  "The precondition given in one or more of the request header fields "
	                  "evaluated to false.");
	assert_int_equal(es_cf_update_cd_policy(e->aws, "cdp-1234", "E2POL", "d222.cloudfront.net",
	                                        true, &w, &p),
	                 ES_EAWS);
	assert_string_equal(es_error_last()->code, "PreconditionFailed");
	assert_int_equal(es_error_last()->http_status, 412);
	assert_null(p.id);

	/* Discard: disabling is allowed with any traffic, even none. */
	fake_rule_body_has(fake_expect(e->fake, "PUT",
	                               "/2020-05-31/continuous-deployment-policy/cdp-1234", 200,
	                               "ETag: E4POL", POLICY_ANSWER("false", WEIGHT_TRAFFIC)),
	                   "<Enabled>false</Enabled></ContinuousDeploymentPolicyConfig>");
	assert_int_equal(es_cf_update_cd_policy(e->aws, "cdp-1234", "E3POL", "d222.cloudfront.net",
	                                        false, NULL, &p),
	                 ES_OK);
	assert_false(p.enabled);
	es_cd_policy_free(&p);
}

static void deleting_a_policy(void **state)
{
	struct fake_fixture *e = *state;

	fake_rule_header_is(fake_expect_error(e->fake, "DELETE",
	                                      "/2020-05-31/continuous-deployment-policy/cdp-1234",
	                                      409, "ContinuousDeploymentPolicyInUse",
	                                      "The policy is attached to a distribution."),
	                    "If-Match", "E4POL");
	assert_int_equal(es_cf_delete_cd_policy(e->aws, "cdp-1234", "E4POL"), ES_EAWS);
	assert_string_equal(es_error_last()->code, "ContinuousDeploymentPolicyInUse");
	assert_int_equal(es_error_last()->http_status, 409);

	fake_expect(e->fake, "DELETE", "/2020-05-31/continuous-deployment-policy/cdp-1234", 204,
	            NULL, NULL);
	assert_int_equal(es_cf_delete_cd_policy(e->aws, "cdp-1234", "E4POL"), ES_OK);
	assert_int_equal(fake_count_matching(e->fake, "DELETE", "/2020-05-31/continuous-*"), 2);
}

static void config_read_and_sent_back(void **state)
{
	struct fake_fixture *e = *state;
	char *xml, *etag, *edited, *new_etag;

	fake_expect(e->fake, "GET", "GetDistributionConfig", 200, "ETag: E5CFG",
	            "<?xml version=\"1.0\"?>\n" CONFIG("", STAGING_FALSE));
	assert_int_equal(es_cf_get_distribution_config(e->aws, "E1PRIMARY", &xml, &etag), ES_OK);
	assert_string_equal(fake_last(e->fake)->path, "/2020-05-31/distribution/E1PRIMARY/config");
	assert_string_equal(etag, "E5CFG");
	assert_string_equal(xml, "<?xml version=\"1.0\"?>\n" CONFIG("", STAGING_FALSE));

	assert_int_equal(es_cf_config_set_policy(xml, "cdp-1234", &edited), ES_OK);
	fake_rule_header_is(
	        fake_expect(e->fake, "PUT", "UpdateDistribution", 200, "ETag: E6CFG",
	                    DISTRIBUTION("E1PRIMARY", "InProgress", "d111.cloudfront.net", "")),
	        "If-Match", "E5CFG");
	assert_int_equal(
	        es_cf_update_distribution_config(e->aws, "E1PRIMARY", etag, edited, &new_etag),
	        ES_OK);
	assert_string_equal(new_etag, "E6CFG");
	assert_string_equal(fake_last(e->fake)->body, edited);
	free(xml);
	free(etag);
	free(edited);
	free(new_etag);

	/* Another writer between read and write. */
	fake_expect_error(e->fake, "PUT", "UpdateDistribution", 412, "PreconditionFailed",
	                  "The If-Match version is out of date.");
	assert_int_equal(es_cf_update_distribution_config(e->aws, "E1PRIMARY", "E5CFG",
	                                                  CONFIG("", STAGING_FALSE), &new_etag),
	                 ES_EAWS);
	assert_string_equal(es_error_last()->code, "PreconditionFailed");
	assert_null(new_etag);

	fake_expect_error(e->fake, "GET", "GetDistributionConfig", 404, "NoSuchDistribution",
	                  "The specified distribution does not exist.");
	assert_int_equal(es_cf_get_distribution_config(e->aws, "E1GONE", &xml, &etag),
	                 ES_ENOTFOUND);
	assert_string_equal(es_error_last()->code, "NoSuchDistribution");
	assert_null(xml);
	assert_null(etag);

	/* An answer that is not a DistributionConfig is not handed on. */
	fake_expect(e->fake, "GET", "GetDistributionConfig", 200, "ETag: E7",
	            "<Distribution " XMLNS "><Id>E1</Id></Distribution>");
	assert_int_equal(es_cf_get_distribution_config(e->aws, "E1PRIMARY", &xml, &etag),
	                 ES_EPARSE);
	assert_null(xml);
}

static void promotion(void **state)
{
	struct fake_fixture *e = *state;
	char *etag;

	fake_rule_header_is(
	        fake_expect(e->fake, "PUT",
	                    "/2020-05-31/distribution/E1PRIMARY/promote-staging-config"
	                    "?StagingDistributionId=E2STAGING",
	                    200, "ETag: E8PRI",
	                    DISTRIBUTION("E1PRIMARY", "InProgress", "d111.cloudfront.net",
	                                 CONFIG("<ContinuousDeploymentPolicyId>cdp-1234"
	                                        "</ContinuousDeploymentPolicyId>",
	                                        STAGING_FALSE))),
	        "If-Match", "E6CFG,E2COPYETAG");
	assert_int_equal(es_cf_promote_staging(e->aws, "E1PRIMARY", "E6CFG", "E2STAGING",
	                                       "E2COPYETAG", &etag),
	                 ES_OK);
	assert_string_equal(etag, "E8PRI");
	free(etag);

	fake_expect_error(e->fake, "PUT", "/2020-05-31/distribution/E1PRIMARY/promote-staging-*",
	                  412, "PreconditionFailed", "The If-Match version is out of date.");
	assert_int_equal(es_cf_promote_staging(e->aws, "E1PRIMARY", "E6CFG", "E2STAGING",
	                                       "E2COPYETAG", &etag),
	                 ES_EAWS);
	assert_string_equal(es_error_last()->code, "PreconditionFailed");
	assert_null(etag);
}

static void finding_staging_by_domain(void **state)
{
	struct fake_fixture *e = *state;
	char *id;
	char *page1 = fake_cf_list_xml("E1PRIMARY|Deployed|2026-12-01T00:00:00Z", "E1PRIMARY");
	char *page2 = fake_cf_list_xml("E2STAGING|Deployed|2026-12-01T00:00:00Z", NULL);

	/* The page after the marker first: a rule on the bare path would
	 * take the second request too. */
	fake_rule_times(fake_expect(e->fake, "GET", "/2020-05-31/distribution?Marker=E1PRIMARY",
	                            200, NULL, page2),
	                2);
	fake_rule_times(fake_expect(e->fake, "GET", "/2020-05-31/distribution", 200, NULL, page1),
	                2);
	/* DNS names: no case, no final dot. */
	assert_int_equal(
	        es_cf_find_distribution_by_domain(e->aws, "E2staging.CloudFront.net.", &id), ES_OK);
	assert_string_equal(id, "E2STAGING");
	free(id);
	assert_int_equal(es_cf_find_distribution_by_domain(e->aws, "d999.cloudfront.net", &id),
	                 ES_ENOTFOUND);
	assert_null(id);
	free(page1);
	free(page2);
}

/* ------------------------------------------------------------ distributions say staging and policy */

static void distributions_show_staging_and_policy(void **state)
{
	(void)state;
	struct es_distribution d;
	const char *primary = DISTRIBUTION(
	        "E1PRIMARY", "Deployed", "d111.cloudfront.net",
	        CONFIG("<ContinuousDeploymentPolicyId>cdp-1234</ContinuousDeploymentPolicyId>",
	               STAGING_FALSE));
	const char *detached = DISTRIBUTION(
	        "E1PRIMARY", "Deployed", "d111.cloudfront.net",
	        CONFIG("<ContinuousDeploymentPolicyId></ContinuousDeploymentPolicyId>", ""));
	const char *staging = DISTRIBUTION("E2STAGING", "Deployed", "d222.cloudfront.net",
	                                   CONFIG("", "<Staging>true</Staging>"));

	assert_int_equal(es_cf_parse_distribution(primary, strlen(primary), "E1", &d), ES_OK);
	assert_false(d.staging);
	assert_string_equal(d.cd_policy_id, "cdp-1234");
	assert_string_equal(d.lambda_arn, FN_EDGE ":7");
	es_distribution_free(&d);
	assert_int_equal(es_cf_parse_distribution(detached, strlen(detached), "E1", &d), ES_OK);
	assert_null(d.cd_policy_id);
	es_distribution_free(&d);
	assert_int_equal(es_cf_parse_distribution(staging, strlen(staging), "E2", &d), ES_OK);
	assert_true(d.staging);
	assert_null(d.cd_policy_id);
	es_distribution_free(&d);

	const char *list =
	        "<DistributionList " XMLNS "><Marker/><MaxItems>100</MaxItems>"
	        "<IsTruncated>false</IsTruncated><Quantity>2</Quantity><Items>"
	        "<DistributionSummary><Id>E1PRIMARY</Id><ARN>arn:aws:cloudfront::1:distribution/E1"
	        "</ARN><ETag>E1</ETag><Status>Deployed</Status>"
	        "<LastModifiedTime>2026-12-01T00:00:00Z</LastModifiedTime>"
	        "<DomainName>d111.cloudfront.net</DomainName><Comment/><Enabled>true</Enabled>"
	        "<ContinuousDeploymentPolicyId>cdp-1234</ContinuousDeploymentPolicyId>"
	        "<Staging>false</Staging></DistributionSummary>"
	        "<DistributionSummary><Id>E2STAGING</Id><ARN>arn:aws:cloudfront::1:distribution/E2"
	        "</ARN><Status>InProgress</Status>"
	        "<LastModifiedTime>2026-12-01T00:00:00Z</LastModifiedTime>"
	        "<DomainName>d222.cloudfront.net</DomainName><Comment/><Enabled>true</Enabled>"
	        "<Staging>true</Staging></DistributionSummary></Items></DistributionList>";
	struct es_distribution_list l = {0};
	char *marker;
	assert_int_equal(es_cf_parse_distribution_list(list, strlen(list), &l, &marker), ES_OK);
	assert_int_equal(l.n, 2);
	assert_false(l.items[0].staging);
	assert_string_equal(l.items[0].cd_policy_id, "cdp-1234");
	assert_true(l.items[1].staging);
	assert_null(l.items[1].cd_policy_id);
	assert_null(marker);
	es_distribution_list_free(&l);
}

/* ------------------------------------------------------------ config edits */

#define POLICY_EL(ID) "<ContinuousDeploymentPolicyId>" ID "</ContinuousDeploymentPolicyId>"

static void setting_and_detaching_the_policy(void **state)
{
	(void)state;
	char *out, *id;

	/* Absent, Staging present: inserted right before Staging, the rest
	 * as it was (escaped text stays escaped). */
	assert_int_equal(es_cf_config_set_policy(CONFIG("", STAGING_FALSE), "cdp-1234", &out),
	                 ES_OK);
	assert_string_equal(out, CONFIG(POLICY_EL("cdp-1234"), STAGING_FALSE));
	assert_int_equal(es_cf_config_policy(out, &id), ES_OK);
	assert_string_equal(id, "cdp-1234");
	free(id);
	free(out);

	/* Absent, no Staging: appended at the end. */
	assert_int_equal(es_cf_config_set_policy(CONFIG("", ""), "cdp-1234", &out), ES_OK);
	assert_string_equal(out, CONFIG(POLICY_EL("cdp-1234"), ""));
	free(out);

	/* Present: its text replaced, nothing moved. */
	assert_int_equal(es_cf_config_set_policy(CONFIG(POLICY_EL("cdp-old"), STAGING_FALSE),
	                                         "cdp-new", &out),
	                 ES_OK);
	assert_string_equal(out, CONFIG(POLICY_EL("cdp-new"), STAGING_FALSE));
	free(out);

	/* Detach: an empty element, present or not before (absent would keep). */
	assert_int_equal(
	        es_cf_config_set_policy(CONFIG(POLICY_EL("cdp-old"), STAGING_FALSE), "", &out),
	        ES_OK);
	assert_string_equal(out, CONFIG("<ContinuousDeploymentPolicyId/>", STAGING_FALSE));
	assert_int_equal(es_cf_config_policy(out, &id), ES_OK);
	assert_string_equal(id, "");
	free(id);
	free(out);
	assert_int_equal(es_cf_config_set_policy(CONFIG("", STAGING_FALSE), "", &out), ES_OK);
	assert_string_equal(out, CONFIG("<ContinuousDeploymentPolicyId/>", STAGING_FALSE));
	free(out);
	assert_int_equal(es_cf_config_policy(CONFIG("", STAGING_FALSE), &id), ES_OK);
	assert_string_equal(id, "");
	free(id);

	/* An id is text, never markup. */
	assert_int_equal(es_cf_config_set_policy(CONFIG("", ""), "a<b>&c", &out), ES_OK);
	assert_string_equal(out, CONFIG(POLICY_EL("a&lt;b&gt;&amp;c"), ""));
	free(out);
}

static void edits_keep_the_document_as_it_came(void **state)
{
	(void)state;
	char *out;
	/* Pretty-printed, with a declaration and an element we do not know. */
	const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                  "<DistributionConfig " XMLNS ">\n"
	                  "  <CallerReference>ref</CallerReference>\n"
	                  "  <Comment>  two  spaces  </Comment>\n"
	                  "  <FutureThing a=\"1\"><X>y</X></FutureThing>\n"
	                  "  <Staging>false</Staging>\n"
	                  "</DistributionConfig>\n";

	assert_int_equal(es_cf_config_set_policy(xml, "cdp-9", &out), ES_OK);
	assert_string_equal(out, "<DistributionConfig " XMLNS ">\n"
	                         "  <CallerReference>ref</CallerReference>\n"
	                         "  <Comment>  two  spaces  </Comment>\n"
	                         "  <FutureThing a=\"1\"><X>y</X></FutureThing>\n"
	                         "  " POLICY_EL("cdp-9") "<Staging>false</Staging>\n"
	                                                 "</DistributionConfig>");
	free(out);

	/* Not a DistributionConfig, or not XML. */
	assert_int_equal(es_cf_config_set_policy("<Distribution/>", "x", &out), ES_EPARSE);
	assert_null(out);
	assert_int_equal(es_cf_config_set_policy("<DistributionConfig>", "x", &out), ES_EPARSE);
	assert_int_equal(es_cf_config_replace_lambda("", FN_EDGE, CANARY, NULL, &out), ES_EPARSE);
	/* A DOCTYPE could define entities the edited root would lose. */
	assert_int_equal(es_cf_config_set_policy("<!DOCTYPE DistributionConfig [<!ENTITY e \"x\">]>"
	                                         "<DistributionConfig><Comment>&e;</Comment>"
	                                         "</DistributionConfig>",
	                                         "x", &out),
	                 ES_EPARSE);
}

#define ASSOC(ARN) "<LambdaFunctionARN>" ARN "</LambdaFunctionARN>"

static void replacing_a_function_s_arns(void **state)
{
	(void)state;
	char *out, **arns;
	size_t n;
	int replaced = -1;

	assert_int_equal(es_cf_config_lambdas(CONFIG("", STAGING_FALSE), &arns, &n), ES_OK);
	assert_int_equal(n, 4);
	assert_string_equal(arns[0], FN_EDGE ":7");
	assert_string_equal(arns[1], FN_AUTH ":2");
	assert_string_equal(arns[2], FN_EDGE ":7");
	assert_string_equal(arns[3], FN_EDGE ":6");
	for (size_t i = 0; i < n; i++)
		free(arns[i]);
	free(arns);

	/* Every version of site-edge, in every behaviour; site-edge-auth
	 * (whose name starts the same) untouched. */
	assert_int_equal(es_cf_config_replace_lambda(CONFIG("", STAGING_FALSE), FN_EDGE, CANARY,
	                                             &replaced, &out),
	                 ES_OK);
	assert_int_equal(replaced, 3);
	assert_int_equal(es_cf_config_lambdas(out, &arns, &n), ES_OK);
	assert_int_equal(n, 4);
	assert_string_equal(arns[0], CANARY);
	assert_string_equal(arns[1], FN_AUTH ":2");
	assert_string_equal(arns[2], CANARY);
	assert_string_equal(arns[3], CANARY);
	for (size_t i = 0; i < n; i++)
		free(arns[i]);
	free(arns);
	/* Only those texts changed: put the old ones back and it is the same. */
	const char *expect = CONFIG("", STAGING_FALSE);
	char *p;
	while ((p = strstr(out, CANARY))) {
		const char *orig = strstr(expect + (p - out), FN_EDGE);
		assert_non_null(orig);
		size_t olen = strlen(FN_EDGE) + 2; /* ":7" or ":6" */
		size_t clen = strlen(CANARY);
		memmove(p + olen, p + clen, strlen(p + clen) + 1);
		memcpy(p, orig, olen);
	}
	assert_string_equal(out, expect);
	free(out);

	/* Given with a version, the function part is what counts. */
	assert_int_equal(es_cf_config_replace_lambda(CONFIG("", STAGING_FALSE), FN_AUTH ":1",
	                                             FN_AUTH ":5", &replaced, &out),
	                 ES_OK);
	assert_int_equal(replaced, 1);
	assert_non_null(strstr(out, ASSOC(FN_AUTH ":5")));
	assert_non_null(strstr(out, ASSOC(FN_EDGE ":7")));
	assert_non_null(strstr(out, ASSOC(FN_EDGE ":6")));
	free(out);

	/* A function the config does not run: nothing replaced, same document. */
	assert_int_equal(es_cf_config_replace_lambda(CONFIG("", STAGING_FALSE),
	                                             "arn:aws:lambda:us-east-1:123456789012:"
	                                             "function:other",
	                                             CANARY, &replaced, &out),
	                 ES_OK);
	assert_int_equal(replaced, 0);
	assert_string_equal(out, CONFIG("", STAGING_FALSE));
	free(out);

	/* A config without any association. */
	assert_int_equal(es_cf_config_lambdas("<DistributionConfig " XMLNS "/>", &arns, &n), ES_OK);
	assert_int_equal(n, 0);
	free(arns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(traffic_limits),
	        cmocka_unit_test(request_bodies_and_headers),
	        cmocka_unit_test(weights_ignore_the_locale),
	        cmocka_unit_test_setup_teardown(copy_makes_a_staging_distribution, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(policies_round_trip, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(deleting_a_policy, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(config_read_and_sent_back, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(promotion, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test_setup_teardown(finding_staging_by_domain, fake_fixture_setup, fake_fixture_teardown),
	        cmocka_unit_test(distributions_show_staging_and_policy),
	        cmocka_unit_test(setting_and_detaching_the_policy),
	        cmocka_unit_test(edits_keep_the_document_as_it_came),
	        cmocka_unit_test(replacing_a_function_s_arns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
