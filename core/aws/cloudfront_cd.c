/* CloudFront continuous deployment requests: the staging copy, policies, a
 * distribution's whole config (edited in cloudfront_cd_config.c) and
 * promotion. Request bodies are built in botocore's member order with every
 * value escaped; the answers' NoSuch* codes become ES_ENOTFOUND with the
 * AWS fields kept. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloudfront_cd.h"
#include "xml.h"

#define CD_PATH ES_CF_API "/continuous-deployment-policy"

int es_cd_traffic_check(const struct es_cd_traffic *t)
{
	if (!t)
		return es_fail(ES_EINVAL, "no traffic configuration for the policy");
	if (t->header_based) {
		size_t plen = strlen(ES_CD_HEADER_PREFIX);
		if (strncmp(t->header, ES_CD_HEADER_PREFIX, plen) != 0 || !t->header[plen])
			return es_fail(ES_EINVAL,
			               "the staging header must be " ES_CD_HEADER_PREFIX
			               "NAME, not '%s'",
			               t->header);
		if (!t->value[0])
			return es_fail(ES_EINVAL, "the staging header %s needs a value", t->header);
		return ES_OK;
	}
	/* A small tolerance so that 0.15 typed by a person (not exactly
	 * representable) passes, while 0.1501 does not. */
	if (!(t->weight >= 0) || isnan(t->weight) || t->weight > ES_CD_MAX_WEIGHT + 1e-9)
		return es_fail(ES_EINVAL, "the staging weight must be from 0 to %g (%g%%), not %g",
		               ES_CD_MAX_WEIGHT, ES_CD_MAX_WEIGHT * 100, t->weight);
	if (t->idle_ttl == 0 && t->max_ttl == 0)
		return ES_OK;
	if (t->idle_ttl < ES_CD_MIN_TTL || t->idle_ttl > ES_CD_MAX_TTL ||
	    t->max_ttl < ES_CD_MIN_TTL || t->max_ttl > ES_CD_MAX_TTL)
		return es_fail(ES_EINVAL,
		               "session stickiness TTLs must be from %d to %d seconds (idle %d, "
		               "maximum %d)",
		               ES_CD_MIN_TTL, ES_CD_MAX_TTL, t->idle_ttl, t->max_ttl);
	if (t->idle_ttl > t->max_ttl)
		return es_fail(ES_EINVAL,
		               "the idle TTL (%d s) must not be longer than the maximum TTL (%d s)",
		               t->idle_ttl, t->max_ttl);
	return ES_OK;
}

/* ------------------------------------------------------------ sending */

/* A CloudFront call on path prefix + encoded id + suffix. */
static int cd_call(struct es_aws_call *call, const char *op, const char *method, const char *prefix,
                   const char *id, const char *suffix)
{
	int rc = es_aws_call_init(call, "cloudfront", op, ES_PROTO_REST_XML, method, prefix);
	if (!rc && id)
		rc = es_path_encode(&call->path, id, false);
	if (!rc && suffix)
		rc = es_buf_puts(&call->path, suffix);
	return rc ? es_fail(ES_ENOMEM, "out of memory") : ES_OK;
}

/* "NoSuchDistribution", "NoSuchContinuousDeploymentPolicy": an answer
 * about something that is not there, which callers branch on. */
static int not_found_or(int rc)
{
	const struct es_error *e = es_error_last();

	if (rc == ES_EAWS && strncmp(e->code, "NoSuch", 6) == 0) {
		struct es_error copy = *e;
		copy.status = ES_ENOTFOUND;
		es_error_restore(&copy);
		return ES_ENOTFOUND;
	}
	return rc;
}

/* Send call (consumed); *resp is the answer on ES_OK. */
static int cd_send(struct es_aws_client *c, struct es_aws_call *call, struct es_http_response *resp)
{
	return not_found_or(es_aws_send_sync(c, call, resp));
}

static char *etag_of(const struct es_http_response *resp)
{
	const char *e = es_http_header(resp, "ETag");
	return e ? strdup(e) : NULL;
}

/* ------------------------------------------------------------ the staging copy */

int es_cf_copy_distribution_call(struct es_aws_call *call, const char *primary_id,
                                 const char *primary_etag, const char *caller_reference)
{
	struct es_buf *b = &call->body;
	int rc = cd_call(call, "CopyDistribution", "POST", ES_CF_API "/distribution/", primary_id,
	                 "/copy");

	call->mutating = true;
	if (!rc)
		rc = es_aws_call_header(call, "Staging", "true");
	if (!rc && primary_etag)
		rc = es_aws_call_header(call, "If-Match", primary_etag);
	if (rc)
		return rc;
	es_buf_puts(b, "<CopyDistributionRequest xmlns=\"" ES_CF_XMLNS "\"><CallerReference>");
	es_xml_escape(b, caller_reference);
	return es_buf_puts(b,
	                   "</CallerReference><Enabled>true</Enabled></CopyDistributionRequest>");
}

int es_cf_copy_distribution(struct es_aws_client *c, const char *primary_id,
                            const char *primary_etag, const char *caller_reference,
                            struct es_distribution *staging_out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	memset(staging_out, 0, sizeof(*staging_out));
	/* Idempotency: caller_reference; CloudFront refuses a second copy
	 * with the same reference (DistributionAlreadyExists). */
	if (es_cf_copy_distribution_call(&call, primary_id, primary_etag, caller_reference)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = cd_send(c, &call, &resp);
	if (rc)
		return rc;
	rc = es_cf_parse_distribution(resp.body.data, resp.body.len, es_http_header(&resp, "ETag"),
	                              staging_out);
	es_http_response_free(&resp);
	return rc ? es_fail_prefix("CopyDistribution") : ES_OK;
}

/* ------------------------------------------------------------ policies */

void es_cd_policy_free(struct es_cd_policy *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->etag);
	free(p->staging_dns);
	memset(p, 0, sizeof(*p));
}

/* The weight as text whatever the locale (the dashboard sets LC_ALL, and
 * a decimal comma would be refused): up to six decimals, no trailing zeros. */
static void weight_text(double w, char *buf, size_t size)
{
	double a = w < 0 ? -w : w;
	long long v = isfinite(w) && a < 1e12 ? (long long)(a * 1e6 + 0.5) : 0;
	size_t len;

	snprintf(buf, size, "%s%lld.%06lld", w < 0 && v ? "-" : "", v / 1000000, v % 1000000);
	len = strlen(buf);
	while (len && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '.')
		buf[--len] = '\0';
}

/* A weight as CloudFront writes it ("0.05", or "5.0E-2" from Java), read
 * without the locale's decimal point. */
static double weight_value(const char *s)
{
	double v = 0, scale = 1, sign = 1;

	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			v += (*s - '0') * (scale /= 10);
	if (*s == 'e' || *s == 'E') {
		int e = atoi(s + 1);
		for (; e > 0 && e < 30; e--)
			v *= 10;
		for (; e < 0 && e > -30; e++)
			v /= 10;
	}
	return sign * v;
}

static int policy_body(struct es_buf *b, const char *staging_dns, bool enabled,
                       const struct es_cd_traffic *t)
{
	es_buf_puts(b, "<ContinuousDeploymentPolicyConfig xmlns=\"" ES_CF_XMLNS "\">"
	               "<StagingDistributionDnsNames><Quantity>1</Quantity><Items><DnsName>");
	es_xml_escape(b, staging_dns);
	es_buf_printf(b, "</DnsName></Items></StagingDistributionDnsNames><Enabled>%s</Enabled>",
	              enabled ? "true" : "false");
	if (!t) /* optional: a policy being disabled may leave it out */
		return es_buf_puts(b, "</ContinuousDeploymentPolicyConfig>");
	es_buf_puts(b, "<TrafficConfig>");
	if (t->header_based) {
		es_buf_puts(b, "<SingleHeaderConfig><Header>");
		es_xml_escape(b, t->header);
		es_buf_puts(b, "</Header><Value>");
		es_xml_escape(b, t->value);
		es_buf_puts(b, "</Value></SingleHeaderConfig><Type>SingleHeader</Type>");
	} else {
		char w[48];
		weight_text(t->weight, w, sizeof(w));
		es_buf_printf(b, "<SingleWeightConfig><Weight>%s</Weight>", w);
		if (t->idle_ttl || t->max_ttl)
			es_buf_printf(b,
			              "<SessionStickinessConfig><IdleTTL>%d</IdleTTL>"
			              "<MaximumTTL>%d</MaximumTTL></SessionStickinessConfig>",
			              t->idle_ttl, t->max_ttl);
		es_buf_puts(b, "</SingleWeightConfig><Type>SingleWeight</Type>");
	}
	return es_buf_puts(b, "</TrafficConfig></ContinuousDeploymentPolicyConfig>");
}

static int int_at(const xmlNode *n, const char *path)
{
	char *s = es_xml_path_text(n, path);
	int v = s ? atoi(s) : 0;
	free(s);
	return v;
}

static void copy_at(const xmlNode *n, const char *path, char *dst, size_t size)
{
	char *s = es_xml_path_text(n, path);
	snprintf(dst, size, "%s", s ? s : "");
	free(s);
}

int es_cf_parse_cd_policy(const char *xml, size_t len, const char *etag, struct es_cd_policy *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);

	memset(out, 0, sizeof(*out));
	if (!doc)
		return ES_EPARSE;
	xmlNode *root = xmlDocGetRootElement(doc);
	xmlNode *cfg = es_xml_child(root, "ContinuousDeploymentPolicyConfig");
	xmlNode *tc = es_xml_child(cfg, "TrafficConfig");
	char *s;

	out->id = es_xml_path_text(root, "Id");
	out->etag = etag ? strdup(etag) : NULL;
	s = es_xml_path_text(cfg, "Enabled");
	out->enabled = s && strcmp(s, "true") == 0;
	free(s);
	out->staging_dns = es_xml_path_text(cfg, "StagingDistributionDnsNames/Items/DnsName");
	s = es_xml_path_text(tc, "Type");
	out->traffic.header_based = s && strcmp(s, "SingleHeader") == 0;
	free(s);
	s = es_xml_path_text(tc, "SingleWeightConfig/Weight");
	out->traffic.weight = s ? weight_value(s) : 0;
	free(s);
	out->traffic.idle_ttl = int_at(tc, "SingleWeightConfig/SessionStickinessConfig/IdleTTL");
	out->traffic.max_ttl = int_at(tc, "SingleWeightConfig/SessionStickinessConfig/MaximumTTL");
	copy_at(tc, "SingleHeaderConfig/Header", out->traffic.header, sizeof(out->traffic.header));
	copy_at(tc, "SingleHeaderConfig/Value", out->traffic.value, sizeof(out->traffic.value));
	xmlFreeDoc(doc);
	if (!out->id || !cfg) {
		es_cd_policy_free(out);
		return es_fail(ES_EPARSE, "the answer has no policy Id or config");
	}
	return ES_OK;
}

/* Send a policy call and read the policy it answers. */
static int policy_exchange(struct es_aws_client *c, struct es_aws_call *call,
                           struct es_cd_policy *out)
{
	struct es_http_response resp;
	char op[64];
	int rc;

	snprintf(op, sizeof(op), "%s", call->operation);
	memset(out, 0, sizeof(*out));
	rc = cd_send(c, call, &resp);
	if (rc)
		return rc;
	rc = es_cf_parse_cd_policy(resp.body.data, resp.body.len, es_http_header(&resp, "ETag"),
	                           out);
	es_http_response_free(&resp);
	return rc ? es_fail_prefix("%s", op) : ES_OK;
}

int es_cf_create_cd_policy_call(struct es_aws_call *call, const char *staging_dns, bool enabled,
                                const struct es_cd_traffic *t)
{
	int rc = cd_call(call, "CreateContinuousDeploymentPolicy", "POST", CD_PATH, NULL, NULL);

	call->mutating = true;
	return rc ? rc : policy_body(&call->body, staging_dns, enabled, t);
}

int es_cf_update_cd_policy_call(struct es_aws_call *call, const char *id, const char *etag,
                                const char *staging_dns, bool enabled,
                                const struct es_cd_traffic *t)
{
	int rc = cd_call(call, "UpdateContinuousDeploymentPolicy", "PUT", CD_PATH "/", id, NULL);

	call->mutating = true;
	if (!rc && etag)
		rc = es_aws_call_header(call, "If-Match", etag);
	return rc ? rc : policy_body(&call->body, staging_dns, enabled, t);
}

int es_cf_delete_cd_policy_call(struct es_aws_call *call, const char *id, const char *etag)
{
	int rc = cd_call(call, "DeleteContinuousDeploymentPolicy", "DELETE", CD_PATH "/", id, NULL);

	call->mutating = true;
	if (!rc && etag)
		rc = es_aws_call_header(call, "If-Match", etag);
	return rc;
}

int es_cf_create_cd_policy(struct es_aws_client *c, const char *staging_dns, bool enabled,
                           const struct es_cd_traffic *t, struct es_cd_policy *out)
{
	struct es_aws_call call;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = es_cd_traffic_check(t)))
		return rc;
	/* Not idempotent by itself: a second create for the same staging
	 * domain answers StagingDistributionInUse; the caller looks the
	 * policy up from the primary before creating. */
	if (es_cf_create_cd_policy_call(&call, staging_dns, enabled, t)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return policy_exchange(c, &call, out);
}

int es_cf_get_cd_policy(struct es_aws_client *c, const char *id, struct es_cd_policy *out)
{
	struct es_aws_call call;

	memset(out, 0, sizeof(*out));
	if (cd_call(&call, "GetContinuousDeploymentPolicy", "GET", CD_PATH "/", id, NULL)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	return policy_exchange(c, &call, out);
}

int es_cf_update_cd_policy(struct es_aws_client *c, const char *id, const char *etag,
                           const char *staging_dns, bool enabled, const struct es_cd_traffic *t,
                           struct es_cd_policy *out)
{
	struct es_aws_call call;
	int rc;

	memset(out, 0, sizeof(*out));
	/* Disabling (discard) must work whatever the traffic says. */
	if (enabled && (rc = es_cd_traffic_check(t)))
		return rc;
	/* Idempotency: the whole config is sent; If-Match etag refuses a
	 * policy changed since it was read (412 PreconditionFailed). */
	if (es_cf_update_cd_policy_call(&call, id, etag, staging_dns, enabled, t)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	return policy_exchange(c, &call, out);
}

int es_cf_delete_cd_policy(struct es_aws_client *c, const char *id, const char *etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	if (es_cf_delete_cd_policy_call(&call, id, etag)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = cd_send(c, &call, &resp);
	if (!rc)
		es_http_response_free(&resp);
	return rc;
}

int es_cf_delete_distribution(struct es_aws_client *c, const char *id, const char *etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc = cd_call(&call, "DeleteDistribution", "DELETE", ES_CF_API "/distribution/", id,
	                 NULL);

	call.mutating = true;
	if (!rc && etag)
		rc = es_aws_call_header(&call, "If-Match", etag);
	if (rc) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = cd_send(c, &call, &resp);
	if (!rc)
		es_http_response_free(&resp);
	return rc;
}

/* ------------------------------------------------------------ whole configs */

int es_cf_get_distribution_config(struct es_aws_client *c, const char *id, char **xml, char **etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	*xml = *etag = NULL;
	if (cd_call(&call, "GetDistributionConfig", "GET", ES_CF_API "/distribution/", id,
	            "/config")) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = cd_send(c, &call, &resp);
	if (rc)
		return rc;
	xmlDoc *doc = es_xml_parse(resp.body.data, resp.body.len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "DistributionConfig") != 0)
		rc = doc ? es_fail(ES_EPARSE, "GetDistributionConfig: the answer is not a "
		                              "DistributionConfig")
		         : es_fail_prefix("GetDistributionConfig");
	if (doc)
		xmlFreeDoc(doc);
	if (!rc) {
		*xml = strndup(resp.body.data, resp.body.len);
		*etag = etag_of(&resp);
		if (!*xml)
			rc = es_fail(ES_ENOMEM, "out of memory");
	}
	es_http_response_free(&resp);
	if (rc) {
		free(*xml);
		free(*etag);
		*xml = *etag = NULL;
	}
	return rc;
}

int es_cf_update_distribution_config_call(struct es_aws_call *call, const char *id,
                                          const char *etag, const char *xml)
{
	int rc = cd_call(call, "UpdateDistribution", "PUT", ES_CF_API "/distribution/", id,
	                 "/config");

	call->mutating = true;
	if (!rc && etag)
		rc = es_aws_call_header(call, "If-Match", etag);
	return rc ? rc : es_buf_puts(&call->body, xml);
}

int es_cf_update_distribution_config(struct es_aws_client *c, const char *id, const char *etag,
                                     const char *xml, char **new_etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	if (new_etag)
		*new_etag = NULL;
	/* Idempotency: the whole config is sent; If-Match etag refuses a
	 * distribution changed since it was read (412 PreconditionFailed). */
	if (es_cf_update_distribution_config_call(&call, id, etag, xml)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = cd_send(c, &call, &resp);
	if (rc)
		return rc;
	if (new_etag)
		*new_etag = etag_of(&resp);
	es_http_response_free(&resp);
	return ES_OK;
}

/* ------------------------------------------------------------ promotion and lookup */

int es_cf_promote_staging_call(struct es_aws_call *call, const char *primary_id,
                               const char *primary_etag, const char *staging_id,
                               const char *staging_etag)
{
	struct es_buf match = ES_BUF_INIT;
	int rc = cd_call(call, "UpdateDistributionWithStagingConfig", "PUT",
	                 ES_CF_API "/distribution/", primary_id, "/promote-staging-config");

	call->mutating = true;
	if (!rc && (es_buf_puts(&call->query, "StagingDistributionId=") ||
	            es_path_encode(&call->query, staging_id, false)))
		rc = ES_ENOMEM;
	if (!rc && es_buf_printf(&match, "%s,%s", primary_etag ? primary_etag : "",
	                         staging_etag ? staging_etag : ""))
		rc = ES_ENOMEM;
	if (!rc)
		rc = es_aws_call_header(call, "If-Match", es_buf_str(&match));
	es_buf_free(&match);
	return rc;
}

int es_cf_promote_staging(struct es_aws_client *c, const char *primary_id, const char *primary_etag,
                          const char *staging_id, const char *staging_etag, char **new_etag)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	if (new_etag)
		*new_etag = NULL;
	/* Idempotency: If-Match of both ETags; a second promotion of the
	 * same pair fails with PreconditionFailed once the primary changed. */
	if (es_cf_promote_staging_call(&call, primary_id, primary_etag, staging_id, staging_etag)) {
		es_aws_call_free(&call);
		return es_fail(ES_ENOMEM, "out of memory");
	}
	rc = cd_send(c, &call, &resp);
	if (rc)
		return rc;
	if (new_etag)
		*new_etag = etag_of(&resp);
	es_http_response_free(&resp);
	return ES_OK;
}

/* DNS names compare without case and without a final dot. */
static bool same_domain(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && la && strncasecmp(a, b, la) == 0;
}

int es_cf_find_distribution_by_domain(struct es_aws_client *c, const char *domain, char **id)
{
	struct es_distribution_list l;
	int rc;

	*id = NULL;
	rc = es_cf_list_distributions(c, &l);
	if (rc)
		return rc;
	const char *found = NULL;
	for (size_t i = 0; i < l.n && !found; i++)
		if (l.items[i].domain_name && same_domain(l.items[i].domain_name, domain))
			found = l.items[i].id;
	if (found && !(*id = strdup(found)))
		rc = es_fail(ES_ENOMEM, "out of memory");
	else if (!found)
		rc = es_fail(ES_ENOTFOUND, "no distribution has the domain %s", domain);
	es_distribution_list_free(&l);
	return rc;
}
