/* The four AWS wire protocols edgeship speaks: query (CloudFormation, STS),
 * rest-xml (CloudFront, S3), rest-json (Lambda) and json-1.1 (CodePipeline):
 * how a request body is written and how an error answer is read. */
#ifndef ES_PROTOCOL_H
#define ES_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "http.h"

enum es_protocol { ES_PROTO_QUERY, ES_PROTO_REST_XML, ES_PROTO_REST_JSON, ES_PROTO_JSON };

/* Form-encode s as the query protocol does: unreserved characters kept,
 * space as '+', everything else %XX (upper-case hex). */
int es_form_encode(struct es_buf *b, const char *s);

/* Append "&key=value" (form-encoded value) to a query body. */
int es_query_param(struct es_buf *b, const char *key, const char *value);
/* Same, with a printf-style key: es_query_paramf(b, v, "Tags.member.%d.Key", i). */
int es_query_paramf(struct es_buf *b, const char *value, const char *keyfmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Start a query body: "Action=X&Version=Y". */
int es_query_start(struct es_buf *b, const char *action, const char *version);

/* Percent-encode for a URL path segment (keep_slash keeps '/': S3 keys). */
int es_path_encode(struct es_buf *b, const char *s, bool keep_slash);

/* Read the error an AWS service answered with. Fills code, message and
 * request id as far as the body and headers allow; a body that cannot be
 * read still yields the HTTP status and a generic code. */
void es_proto_parse_error(enum es_protocol proto, const struct es_http_response *resp,
                          struct es_error *out);

/* The request id header of any AWS answer, or NULL. */
const char *es_proto_request_id(const struct es_http_response *resp);

#endif
