/* Fuzz target: CloudFront continuous deployment documents. 'p' then a
 * ContinuousDeploymentPolicy answer (es_cf_parse_cd_policy); anything else
 * then a DistributionConfig, edited as the canary edits it: the policy id
 * set and detached, and the first Lambda@Edge function's ARNs replaced.
 * The edits must keep their promises: the id reads back, and the ARNs of
 * the document are the same but for the replaced ones. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudfront_cd.h"
#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TO "arn:aws:lambda:us-east-1:123456789012:function:es-canary-f-00000000:1"

static void policy(const char *x, size_t n)
{
	struct es_cd_policy p;

	if (es_cf_parse_cd_policy(x, n, "E1", &p) == ES_OK) {
		if (!p.id || strcmp(p.etag, "E1") != 0)
			abort();
		(void)es_cd_traffic_check(&p.traffic);
		es_cd_policy_free(&p);
	}
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The id must read back after it is set ("" after a detach). */
static void set_reads_back(const char *xml, const char *id)
{
	char *out = NULL, *got = NULL;

	if (es_cf_config_set_policy(xml, id, &out) != ES_OK)
		return;
	if (es_cf_config_policy(out, &got) != ES_OK || strcmp(got, id) != 0)
		abort();
	free(got);
	free(out);
}

static size_t function_len(const char *arn)
{
	const char *p = arn;
	int colons = 0;
	for (; *p; p++)
		if (*p == ':' && ++colons == 7)
			break;
	return (size_t)(p - arn);
}

static void config(const char *xml)
{
	char **before, **after, *out = NULL, *id = NULL;
	size_t n, m;
	int replaced;

	if (es_cf_config_policy(xml, &id) != ES_OK)
		return;
	free(id);
	set_reads_back(xml, "cdp-0123456789");
	set_reads_back(xml, "");
	set_reads_back(xml, "a<b>&c\"d'");

	if (es_cf_config_lambdas(xml, &before, &n) != ES_OK)
		abort(); /* it parsed above */
	if (n == 0 || !before[0][0]) {
		free_strv(before, n);
		return;
	}
	char *from = strndup(before[0], function_len(before[0]));
	if (es_cf_config_replace_lambda(xml, from, TO, &replaced, &out) == ES_OK) {
		if (es_cf_config_lambdas(out, &after, &m) != ES_OK || m != n)
			abort();
		int seen = 0;
		for (size_t i = 0; i < n; i++) {
			bool ours = function_len(before[i]) == strlen(from) &&
			            strncmp(before[i], from, strlen(from)) == 0;
			if (strcmp(after[i], ours ? TO : before[i]) != 0)
				abort();
			seen += ours;
		}
		if (seen != replaced || replaced < 1)
			abort();
		free_strv(after, m);
		free(out);
	}
	free(from);
	free_strv(before, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 'p') {
		policy((const char *)data + 1, size - 1);
		return 0;
	}
	/* The edits take NUL-terminated text; a NUL inside ends it. */
	char *xml = strndup((const char *)data + 1, size - 1);
	if (xml)
		config(xml);
	free(xml);
	return 0;
}
