/* Reading AWS XML with libxml2: no DTDs, no entities, no network. */
#include "config.h"

#include <libxml/parser.h>
#include <string.h>

#include "base/error.h"
#include "xml.h"

static void silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

xmlDoc *es_xml_parse(const char *data, size_t len)
{
	xmlDoc *doc;

	xmlSetGenericErrorFunc(NULL, silent);
	if (len > (size_t)0x7fffffff) {
		es_fail(ES_EPARSE, "XML answer too large");
		return NULL;
	}
	doc = xmlReadMemory(data, (int)len, "response.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                            XML_PARSE_NOBLANKS);
	if (!doc || !xmlDocGetRootElement(doc)) {
		if (doc)
			xmlFreeDoc(doc);
		es_fail(ES_EPARSE, "the answer is not well-formed XML");
		return NULL;
	}
	return doc;
}

static int named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *es_xml_child(const xmlNode *n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlNode *c = n->children; c; c = c->next)
		if (named(c, name))
			return c;
	return NULL;
}

xmlNode *es_xml_next(const xmlNode *n)
{
	if (!n)
		return NULL;
	for (xmlNode *c = n->next; c; c = c->next)
		if (named(c, (const char *)n->name))
			return c;
	return NULL;
}

xmlNode *es_xml_path(const xmlNode *n, const char *path)
{
	char part[128];
	const char *p = path;

	while (n && *p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len >= sizeof(part))
			return NULL;
		memcpy(part, p, len);
		part[len] = '\0';
		n = es_xml_child(n, part);
		p += len;
		if (*p == '/')
			p++;
	}
	return (xmlNode *)n;
}

char *es_xml_text(const xmlNode *n)
{
	xmlChar *t;
	char *s;

	if (!n)
		return NULL;
	t = xmlNodeGetContent(n);
	if (!t)
		return strdup("");
	s = strdup((const char *)t);
	xmlFree(t);
	return s;
}

char *es_xml_path_text(const xmlNode *n, const char *path)
{
	return es_xml_text(es_xml_path(n, path));
}

xmlNode *es_xml_find(const xmlNode *n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (named(c, name))
			return c;
		xmlNode *d = es_xml_find(c, name);
		if (d)
			return d;
	}
	return NULL;
}

int es_xml_escape(struct es_buf *b, const char *s)
{
	for (; *s; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		}
		if (rep ? es_buf_puts(b, rep) : es_buf_putc(b, *s))
			return ES_ENOMEM;
	}
	return ES_OK;
}
