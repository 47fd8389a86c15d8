/* Turning a raw AccessDenied or PermanentRedirect into what to do. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

static bool denial(const struct es_error *e)
{
	static const char *const codes[] = {"AccessDenied", "AccessDeniedException",
	                                    "UnauthorizedOperation", "AuthorizationError",
	                                    "Forbidden"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(e->code, codes[i]) == 0)
			return true;
	return false;
}

/* The 12 digits after the fourth ':' of an ARN, or "". */
static void arn_account(const char *arn, char out[13])
{
	const char *p = arn;

	out[0] = '\0';
	for (int i = 0; i < 4 && p; i++)
		if ((p = strchr(p, ':')))
			p++;
	if (p && strcspn(p, ":") == 12) {
		memcpy(out, p, 12);
		out[12] = '\0';
	}
}

/* "/bucket/key" (percent-encoded) as "bucket/key", or "" for the root. */
static void s3_resource(const struct es_aws_call *call, char *out, size_t len)
{
	const char *p = call->path.data ? call->path.data : "";
	size_t n = 0;

	if (*p == '/')
		p++;
	for (; *p && n + 1 < len; p++) {
		if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = {p[1], p[2], 0};
			out[n++] = (char)strtol(hex, NULL, 16);
			p += 2;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	/* Never print what is not plain text. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

/* The IAM action an S3 operation needs (HeadObject is s3:GetObject, a copy
 * writes with s3:PutObject); other services name theirs after the
 * operation. */
static const char *iam_action(const struct es_aws_call *call)
{
	static const struct {
		const char *op, *action;
	} s3[] = {
	        {"HeadObject", "GetObject"},     {"CopyObject", "PutObject"},
	        {"ListObjectsV2", "ListBucket"}, {"HeadBucket", "ListBucket"},
	        {"ListObjects", "ListBucket"},
	};

	if (strcmp(call->service, "s3") == 0)
		for (size_t i = 0; i < sizeof(s3) / sizeof(s3[0]); i++)
			if (strcmp(call->operation, s3[i].op) == 0)
				return s3[i].action;
	return call->operation;
}

static void explain_denial(const struct es_aws_call *call, const char *role_arn,
                           const char *principal, struct es_error *err)
{
	char account[13] = "", resource[512] = "", was[sizeof(err->message)];
	const char *who = role_arn && *role_arn ? role_arn : principal;

	arn_account(who ? who : "", account);
	if (strcmp(call->service, "s3") == 0)
		s3_resource(call, resource, sizeof(resource));
	snprintf(was, sizeof(was), "%s", err->message);
	snprintf(err->message, sizeof(err->message),
	         "%s%s%s%s%s cannot do %s:%s%s%s (AWS said: %.200s); allow it in %s%s",
	         account[0] ? "account " : "", account, account[0] ? ", " : "",
	         role_arn && *role_arn ? "role "
	         : who                 ? ""
	                               : "these credentials",
	         who ? who : "", call->service, iam_action(call), resource[0] ? " on " : "",
	         resource, was,
	         role_arn && *role_arn ? "that role's policy" : "the policy of these credentials",
	         strcmp(call->service, "s3") == 0 ? " or the bucket's policy" : "");
}

static void explain_redirect(const struct es_aws_call *call, const struct es_http_response *resp,
                             struct es_error *err)
{
	const char *region = resp ? es_http_header(resp, "x-amz-bucket-region") : NULL;
	char resource[512];
	size_t n;

	s3_resource(call, resource, sizeof(resource));
	n = strcspn(resource, "/");
	resource[n] = '\0';
	if (region && *region)
		snprintf(err->message, sizeof(err->message),
		         "bucket %s is in region %.32s, not the region edgeship uses (us-east-1, "
		         "where Lambda@Edge functions and their code must be): name a bucket in "
		         "us-east-1 in edgeship.conf (bucket = …), or create one there",
		         resource, region);
	else
		snprintf(err->message, sizeof(err->message),
		         "bucket %s is in another region (S3 answered 301 without saying which): "
		         "name a bucket in us-east-1 in edgeship.conf (bucket = …)",
		         resource);
}

void es_aws_explain(const struct es_aws_call *call, const struct es_http_response *resp,
                    const char *role_arn, const char *principal, struct es_error *err)
{
	if (!call || !err || err->status != ES_EAWS)
		return;
	if (denial(err) &&
	    (err->http_status == 403 || err->http_status == 401 || err->http_status == 400))
		explain_denial(call, role_arn, principal, err);
	else if (strcmp(call->service, "s3") == 0 &&
	         (err->http_status == 301 || strcmp(err->code, "PermanentRedirect") == 0))
		explain_redirect(call, resp, err);
}
