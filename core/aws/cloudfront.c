/* CloudFront distributions and invalidations. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cloudfront.h"
#include "services.h"
#include "xml.h"

int es_cf_list_distributions_call(struct es_aws_call *call, const char *marker)
{
	int rc = es_aws_call_init(call, "cloudfront", "ListDistributions", ES_PROTO_REST_XML, "GET",
	                          ES_CF_API "/distribution");
	if (!rc && marker && *marker) {
		es_buf_puts(&call->query, "Marker=");
		rc = es_path_encode(&call->query, marker, false);
	}
	return rc;
}

int es_cf_get_distribution_call(struct es_aws_call *call, const char *id)
{
	int rc = es_aws_call_init(call, "cloudfront", "GetDistribution", ES_PROTO_REST_XML, "GET",
	                          ES_CF_API "/distribution/");
	return rc ? rc : es_path_encode(&call->path, id, false);
}

int es_cf_get_invalidation_call(struct es_aws_call *call, const char *distribution_id,
                                const char *invalidation_id)
{
	int rc = es_aws_call_init(call, "cloudfront", "GetInvalidation", ES_PROTO_REST_XML, "GET",
	                          ES_CF_API "/distribution/");

	if (rc || es_path_encode(&call->path, distribution_id, false) ||
	    es_buf_puts(&call->path, "/invalidation/"))
		return ES_ENOMEM;
	return es_path_encode(&call->path, invalidation_id, false);
}

int es_cf_create_invalidation_call(struct es_aws_call *call, const char *distribution_id,
                                   const char *caller_reference, const char *const *paths,
                                   size_t n_paths)
{
	struct es_buf *b = &call->body;
	int rc = es_aws_call_init(call, "cloudfront", "CreateInvalidation", ES_PROTO_REST_XML,
	                          "POST", ES_CF_API "/distribution/");

	if (rc || es_path_encode(&call->path, distribution_id, false) ||
	    es_buf_puts(&call->path, "/invalidation"))
		return ES_ENOMEM;
	call->mutating = true;
	/* Same element order and no XML declaration, as the AWS CLI sends. */
	es_buf_puts(b, "<InvalidationBatch xmlns=\"" ES_CF_XMLNS "\"><CallerReference>");
	es_xml_escape(b, caller_reference);
	es_buf_printf(b, "</CallerReference><Paths><Quantity>%zu</Quantity><Items>", n_paths);
	for (size_t i = 0; i < n_paths; i++) {
		es_buf_puts(b, "<Path>");
		es_xml_escape(b, paths[i]);
		es_buf_puts(b, "</Path>");
	}
	return es_buf_puts(b, "</Items></Paths></InvalidationBatch>");
}

void es_distribution_free(struct es_distribution *d)
{
	if (!d)
		return;
	free(d->id);
	free(d->status);
	free(d->domain_name);
	free(d->last_modified);
	free(d->comment);
	free(d->etag);
	free(d->lambda_arn);
	free(d->cd_policy_id);
	for (size_t i = 0; i < d->n_aliases; i++)
		free(d->aliases[i]);
	free(d->aliases);
	memset(d, 0, sizeof(*d));
}

void es_distribution_list_free(struct es_distribution_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		es_distribution_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Staging and ContinuousDeploymentPolicyId of a summary or a config; an
 * empty policy id is none. */
static void read_cd_fields(const xmlNode *n, struct es_distribution *d)
{
	char *s = es_xml_path_text(n, "Staging");

	d->staging = s && strcmp(s, "true") == 0;
	free(s);
	d->cd_policy_id = es_xml_path_text(n, "ContinuousDeploymentPolicyId");
	if (d->cd_policy_id && !*d->cd_policy_id) {
		free(d->cd_policy_id);
		d->cd_policy_id = NULL;
	}
}

static int read_summary(xmlNode *s, struct es_distribution_list *out)
{
	struct es_distribution *d = realloc(out->items, (out->n + 1) * sizeof(*d));
	if (!d)
		return es_fail(ES_ENOMEM, "out of memory");
	out->items = d;
	d = &d[out->n];
	memset(d, 0, sizeof(*d));
	d->id = es_xml_path_text(s, "Id");
	d->status = es_xml_path_text(s, "Status");
	d->domain_name = es_xml_path_text(s, "DomainName");
	d->last_modified = es_xml_path_text(s, "LastModifiedTime");
	d->comment = es_xml_path_text(s, "Comment");
	read_cd_fields(s, d);
	d->lambda_arn = es_xml_path_text(s, "DefaultCacheBehavior/LambdaFunctionAssociations/Items/"
	                                    "LambdaFunctionAssociation/LambdaFunctionARN");
	for (xmlNode *a = es_xml_path(s, "Aliases/Items/CNAME"); a; a = es_xml_next(a)) {
		char **v = realloc(d->aliases, (d->n_aliases + 1) * sizeof(*v));
		if (!v)
			break;
		d->aliases = v;
		v[d->n_aliases] = es_xml_text(a);
		if (v[d->n_aliases])
			d->n_aliases++;
	}
	if (!d->id || !d->status) {
		es_distribution_free(d);
		return es_fail(ES_EPARSE, "ListDistributions: a distribution without Id or Status");
	}
	out->n++;
	return ES_OK;
}

int es_cf_parse_distribution_list(const char *xml, size_t len, struct es_distribution_list *out,
                                  char **next_marker)
{
	xmlDoc *doc = es_xml_parse(xml, len);
	int rc = ES_OK;

	*next_marker = NULL;
	if (!doc)
		return es_fail_prefix("ListDistributions");
	xmlNode *root = xmlDocGetRootElement(doc);
	for (xmlNode *s = es_xml_path(root, "Items/DistributionSummary"); s && !rc;
	     s = es_xml_next(s))
		rc = read_summary(s, out);
	char *trunc = es_xml_path_text(root, "IsTruncated");
	if (trunc && strcmp(trunc, "true") == 0)
		*next_marker = es_xml_path_text(root, "NextMarker");
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}

int es_cf_list_distributions(struct es_aws_client *c, struct es_distribution_list *out)
{
	char *marker = NULL;
	int rc = ES_OK;

	memset(out, 0, sizeof(*out));
	do {
		struct es_aws_call call;

		if (es_cf_list_distributions_call(&call, marker)) {
			es_aws_call_free(&call);
			rc = ES_ENOMEM;
			break;
		}
		free(marker);
		marker = NULL;
		struct es_http_response resp;
		rc = es_aws_send_sync(c, &call, &resp);
		if (rc)
			break;
		rc = es_cf_parse_distribution_list(resp.body.data, resp.body.len, out, &marker);
		es_http_response_free(&resp);
	} while (!rc && marker && *marker);
	free(marker);
	if (rc)
		es_distribution_list_free(out);
	return rc;
}

int es_cf_parse_distribution(const char *xml, size_t len, const char *etag,
                             struct es_distribution *out)
{
	xmlDoc *doc = es_xml_parse(xml, len);

	memset(out, 0, sizeof(*out));
	if (!doc)
		return es_fail_prefix("GetDistribution");
	xmlNode *root = xmlDocGetRootElement(doc);
	out->id = es_xml_path_text(root, "Id");
	out->status = es_xml_path_text(root, "Status");
	out->domain_name = es_xml_path_text(root, "DomainName");
	out->last_modified = es_xml_path_text(root, "LastModifiedTime");
	out->lambda_arn = es_xml_path_text(root, "DistributionConfig/DefaultCacheBehavior/"
	                                         "LambdaFunctionAssociations/Items/"
	                                         "LambdaFunctionAssociation/LambdaFunctionARN");
	read_cd_fields(es_xml_child(root, "DistributionConfig"), out);
	char *inv = es_xml_path_text(root, "InProgressInvalidationBatches");
	out->invalidations_in_progress = inv ? atoi(inv) : 0;
	free(inv);
	out->etag = etag ? strdup(etag) : NULL;
	xmlFreeDoc(doc);
	if (!out->id || !out->status) {
		es_distribution_free(out);
		return es_fail(ES_EPARSE, "GetDistribution: the answer has no Id or Status");
	}
	return ES_OK;
}

int es_cf_get_distribution(struct es_aws_client *c, const char *id, struct es_distribution *out)
{
	struct es_aws_call call;
	struct es_http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (es_cf_get_distribution_call(&call, id)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_aws_send_sync(c, &call, &resp);
	if (rc)
		return rc;
	rc = es_cf_parse_distribution(resp.body.data, resp.body.len, es_http_header(&resp, "ETag"),
	                              out);
	es_http_response_free(&resp);
	return rc;
}

int es_cf_create_invalidation(struct es_aws_client *c, const char *distribution_id,
                              const char *caller_reference, const char *const *paths,
                              size_t n_paths, char **id, char **status)
{
	struct es_aws_call call;
	xmlDoc *doc;
	int rc;

	*id = *status = NULL;
	if (es_cf_create_invalidation_call(&call, distribution_id, caller_reference, paths,
	                                   n_paths)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_svc_sync_xml(c, &call, &doc);
	if (rc)
		return rc;
	xmlNode *root = xmlDocGetRootElement(doc);
	*id = es_xml_path_text(root, "Id");
	*status = es_xml_path_text(root, "Status");
	xmlFreeDoc(doc);
	if (!*id) {
		free(*status);
		*status = NULL;
		return es_fail(ES_EPARSE, "CreateInvalidation: the answer has no Id");
	}
	return ES_OK;
}

int es_cf_get_invalidation(struct es_aws_client *c, const char *distribution_id,
                           const char *invalidation_id, char **status)
{
	struct es_aws_call call;
	xmlDoc *doc;
	int rc;

	*status = NULL;
	if (es_cf_get_invalidation_call(&call, distribution_id, invalidation_id)) {
		es_aws_call_free(&call);
		return ES_ENOMEM;
	}
	rc = es_svc_sync_xml(c, &call, &doc);
	if (rc)
		return rc;
	*status = es_xml_path_text(xmlDocGetRootElement(doc), "Status");
	xmlFreeDoc(doc);
	return *status ? ES_OK : es_fail(ES_EPARSE, "GetInvalidation: the answer has no Status");
}
