/* Edits of a CloudFront <DistributionConfig> document (cloudfront_cd.h):
 * the continuous deployment policy it names and its Lambda@Edge ARNs. Pure
 * document work, no requests. */
#include "config.h"

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "cloudfront_cd.h"
#include "xml.h"

/* The document is parsed as it came (blanks kept, no entities loaded, no
 * network), one node is changed, and the root element is written back, so
 * every element edgeship does not know about goes back to CloudFront as it
 * was. */

static xmlDoc *config_parse(const char *xml)
{
	xmlDoc *doc;

	if (!xml)
		return NULL;
	size_t len = strlen(xml);
	if (len > (size_t)0x7fffffff) {
		es_fail(ES_EPARSE, "the distribution config is too large");
		return NULL;
	}
	doc = xmlReadMemory(xml, (int)len, "DistributionConfig.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	/* CloudFront sends no DOCTYPE; one could declare entities that the
	 * root element, written back alone, would no longer define. */
	if (!root || doc->intSubset ||
	    strcmp((const char *)root->name, "DistributionConfig") != 0) {
		if (doc)
			xmlFreeDoc(doc);
		es_fail(ES_EPARSE, "not a CloudFront DistributionConfig document");
		return NULL;
	}
	return doc;
}

/* The root element as text (malloc'd into *out); frees doc. */
static int config_dump(xmlDoc *doc, char **out)
{
	xmlBuffer *buf = xmlBufferCreate();
	int rc = ES_OK;

	*out = NULL;
	if (!buf || xmlNodeDump(buf, doc, xmlDocGetRootElement(doc), 0, 0) < 0)
		rc = es_fail(ES_ENOMEM, "out of memory writing the distribution config");
	else if (!(*out = strdup((const char *)xmlBufferContent(buf))))
		rc = es_fail(ES_ENOMEM, "out of memory");
	if (buf)
		xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return rc;
}

/* Replace n's content with text, taken literally (no entity references). */
static int set_text(xmlNode *n, const char *text)
{
	while (n->children) {
		xmlNode *c = n->children;
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	if (*text)
		xmlNodeAddContent(n, (const xmlChar *)text);
	return *text && !n->children ? es_fail(ES_ENOMEM, "out of memory") : ES_OK;
}

/* DistributionConfig members that come after ContinuousDeploymentPolicyId
 * in the model's order, which CloudFront's schema enforces. */
static const char *const after_policy_id[] = {
        "Staging",        "AnycastIpListId",  "TenantConfig",
        "ConnectionMode", "ViewerMtlsConfig", "ConnectionFunctionAssociation",
        "CacheTagConfig",
};

static xmlNode *first_after_policy_id(xmlNode *root)
{
	for (xmlNode *c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = 0; i < sizeof(after_policy_id) / sizeof(*after_policy_id); i++)
			if (strcmp((const char *)c->name, after_policy_id[i]) == 0)
				return c;
	}
	return NULL;
}

int es_cf_config_set_policy(const char *xml, const char *policy_id, char **out)
{
	xmlDoc *doc = config_parse(xml);

	*out = NULL;
	if (!doc)
		return ES_EPARSE;
	xmlNode *root = xmlDocGetRootElement(doc);
	xmlNode *n = es_xml_child(root, "ContinuousDeploymentPolicyId");
	if (!n) {
		/* Present even when empty: an absent element keeps the
		 * current policy, an empty one detaches it. */
		n = xmlNewDocNode(doc, root->ns, (const xmlChar *)"ContinuousDeploymentPolicyId",
		                  NULL);
		xmlNode *before = n ? first_after_policy_id(root) : NULL;
		if (!n || !(before ? xmlAddPrevSibling(before, n) : xmlAddChild(root, n))) {
			xmlFreeNode(n);
			xmlFreeDoc(doc);
			return es_fail(ES_ENOMEM, "out of memory");
		}
	}
	if (set_text(n, policy_id ? policy_id : "")) {
		xmlFreeDoc(doc);
		return ES_ENOMEM;
	}
	return config_dump(doc, out);
}

int es_cf_config_set_enabled(const char *xml, bool enabled, char **out)
{
	xmlDoc *doc = config_parse(xml);

	*out = NULL;
	if (!doc)
		return ES_EPARSE;
	xmlNode *n = es_xml_child(xmlDocGetRootElement(doc), "Enabled");
	if (!n) {
		xmlFreeDoc(doc);
		return es_fail(ES_EPARSE, "the distribution's config has no Enabled element");
	}
	if (set_text(n, enabled ? "true" : "false")) {
		xmlFreeDoc(doc);
		return ES_ENOMEM;
	}
	return config_dump(doc, out);
}

int es_cf_config_policy(const char *xml, char **policy_id)
{
	xmlDoc *doc = config_parse(xml);

	*policy_id = NULL;
	if (!doc)
		return ES_EPARSE;
	char *t = es_xml_path_text(xmlDocGetRootElement(doc), "ContinuousDeploymentPolicyId");
	xmlFreeDoc(doc);
	*policy_id = t ? t : strdup("");
	return *policy_id ? ES_OK : es_fail(ES_ENOMEM, "out of memory");
}

/* Length of arn without its version or alias: a function ARN is
 * arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]. */
static size_t function_part(const char *arn)
{
	const char *p = arn;
	int colons = 0;

	for (; *p; p++)
		if (*p == ':' && ++colons == 7)
			break;
	return (size_t)(p - arn);
}

/* Calls fn on every LambdaFunctionARN under n, in document order. */
typedef int (*arn_fn)(xmlNode *n, void *ud);
static int each_arn(xmlNode *n, arn_fn fn, void *ud)
{
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		int rc = strcmp((const char *)c->name, "LambdaFunctionARN") == 0
		                 ? fn(c, ud)
		                 : each_arn(c, fn, ud);
		if (rc)
			return rc;
	}
	return ES_OK;
}

struct replace {
	const char *from;
	size_t from_len;
	const char *to;
	int n;
};

static int replace_one(xmlNode *n, void *ud)
{
	struct replace *r = ud;
	char *arn = es_xml_text(n);
	int rc = ES_OK;

	if (!arn)
		return es_fail(ES_ENOMEM, "out of memory");
	if (function_part(arn) == r->from_len && strncmp(arn, r->from, r->from_len) == 0) {
		rc = set_text(n, r->to);
		r->n++;
	}
	free(arn);
	return rc;
}

int es_cf_config_replace_lambda(const char *xml, const char *from_function_arn,
                                const char *to_version_arn, int *replaced, char **out)
{
	/* Given with a version or without, only the function part counts. */
	struct replace r = {.from = from_function_arn,
	                    .from_len = function_part(from_function_arn),
	                    .to = to_version_arn};
	xmlDoc *doc;
	int rc;

	*out = NULL;
	if (replaced)
		*replaced = 0;
	if (!from_function_arn[0] || !to_version_arn[0])
		return es_fail(ES_EINVAL, "replacing a Lambda ARN needs both ARNs");
	if (!(doc = config_parse(xml)))
		return ES_EPARSE;
	rc = each_arn(xmlDocGetRootElement(doc), replace_one, &r);
	if (rc) {
		xmlFreeDoc(doc);
		return rc;
	}
	if (replaced)
		*replaced = r.n;
	return config_dump(doc, out);
}

struct collect {
	char **v;
	size_t n;
};

static int collect_one(xmlNode *n, void *ud)
{
	struct collect *c = ud;
	char **v = realloc(c->v, (c->n + 1) * sizeof(*v));

	if (!v)
		return es_fail(ES_ENOMEM, "out of memory");
	c->v = v;
	if (!(v[c->n] = es_xml_text(n)))
		return es_fail(ES_ENOMEM, "out of memory");
	c->n++;
	return ES_OK;
}

int es_cf_config_lambdas(const char *xml, char ***arns, size_t *n)
{
	struct collect c = {0};
	xmlDoc *doc = config_parse(xml);
	int rc;

	*arns = NULL;
	*n = 0;
	if (!doc)
		return ES_EPARSE;
	rc = each_arn(xmlDocGetRootElement(doc), collect_one, &c);
	xmlFreeDoc(doc);
	if (rc) {
		for (size_t i = 0; i < c.n; i++)
			free(c.v[i]);
		free(c.v);
		return rc;
	}
	*arns = c.v;
	*n = c.n;
	return ES_OK;
}
