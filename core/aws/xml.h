/* Small helpers over libxml2 for reading AWS XML answers (query and rest-xml
 * protocols) and escaping text for the XML bodies we send. */
#ifndef ES_XML_H
#define ES_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#include "base/buf.h"

/* Parse len bytes without network access or entity expansion. Returns the
 * document (free with xmlFreeDoc) or NULL with the last error set. */
xmlDoc *es_xml_parse(const char *data, size_t len);

/* First child element of n with this local name (namespaces ignored). */
xmlNode *es_xml_child(const xmlNode *n, const char *name);
/* Next sibling element after n with the same local name as n. */
xmlNode *es_xml_next(const xmlNode *n);
/* Follow a "/"-separated path of local names from n; NULL if any is missing. */
xmlNode *es_xml_path(const xmlNode *n, const char *path);
/* Text of n (malloc'd, caller frees), or NULL when n is NULL. */
char *es_xml_text(const xmlNode *n);
/* Text at path from n (malloc'd) or NULL. */
char *es_xml_path_text(const xmlNode *n, const char *path);
/* Search the whole subtree of n, depth first, for an element by name. */
xmlNode *es_xml_find(const xmlNode *n, const char *name);

/* Append s to b with &, <, >, ", ' escaped. */
int es_xml_escape(struct es_buf *b, const char *s);

#endif
