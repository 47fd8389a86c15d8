/* CloudFormation templates, YAML or JSON, read into jansson values with the
 * YAML short-form intrinsics (!Ref, !GetAtt, !Sub…) turned into their long
 * JSON form, and written back out compactly and deterministically. */
#ifndef ES_TEMPLATE_H
#define ES_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

/* Parse a YAML or JSON template of len bytes; filename only labels errors.
 * Plain YAML scalars are typed with YAML 1.1 rules as PyYAML's SafeLoader
 * (which `aws cloudformation package` uses) types them: true/false, yes/no,
 * on/off are booleans, ~/null/empty are null, decimal, 0x, 0b, 0-octal and
 * base-60 integers and dotted floats are numbers; dates stay strings, as do
 * .inf/.nan and integers beyond 64 bits, which JSON cannot carry. Quoted
 * and tagged scalars stay strings. Key order is kept, aliases are expanded,
 * merge keys (<<) are applied, duplicate keys are refused.
 * On success *out is a new reference the caller owns (json_decref). On
 * failure returns ES_EPARSE with "FILE:LINE:COLUMN: what is wrong". */
int es_template_parse(const char *text, size_t len, const char *filename, json_t **out);

/* Read and parse the file at path; *out as for es_template_parse.
 * ES_ENOTFOUND when the file cannot be read. */
int es_template_load(const char *path, json_t **out);

/* As es_template_parse and es_template_load, and, when lines is not NULL,
 * *lines (a new object the caller owns) maps the JSON pointer (RFC 6901,
 * e.g. "/Resources/Fn/Properties/CodeUri") of every mapping key and list
 * item written in the text to its 1-based line, so messages about a value
 * can name where it is. For a JSON template the lines are found on a best
 * effort basis and may be missing. */
int es_template_parse_lines(const char *text, size_t len, const char *filename, json_t **out,
                            json_t **lines);
int es_template_load_lines(const char *path, json_t **out, json_t **lines);

/* The line of pointer in lines (from es_template_parse_lines), or of its
 * nearest ancestor that has one; 0 when unknown. */
int es_template_line(const json_t *lines, const char *pointer);

/* The template as compact JSON with keys in document order; the same value
 * always gives the same bytes. Returns malloc'd text the caller frees, or
 * NULL (with the last error set) when tpl cannot be encoded. */
char *es_template_dump(const json_t *tpl);

#endif
