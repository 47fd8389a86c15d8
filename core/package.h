/* Packaging: what `aws cloudformation package` does (zip local code, key it
 * by content, point the template at S3), reproducibly. Nothing is uploaded
 * here; the caller sends the artifacts and the template. */
#ifndef ES_PACKAGE_H
#define ES_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"

/* One object to upload. */
struct es_artifact {
	char *logical_id;    /* resource logical id ("Globals" for Globals/Function) */
	char *property;      /* "CodeUri", "Code", "ContentUri", "Content", "DefinitionUri",
	                     * "TemplateURL" */
	char *local_path;    /* absolute path packaged */
	char *rel_path;      /* the same, relative to the root ("." for the root itself) */
	char *template;      /* the template that names it, relative to the root */
	char sha256[65];     /* hex digest of bytes */
	char *s3_key;        /* "<prefix>/artifacts/<sha256>.zip"; a file uploaded as-is keeps
	                     * its extension; a nested template is "<prefix>/templates/<sha256>.json" */
	struct es_buf bytes; /* the zip (or file, or nested template) bytes */
	size_t n_files;      /* entries in the zip; 0 when not a zip we built */
	bool is_zip;         /* bytes are a zip archive */
	bool outside_root;   /* local_path is not under the template's own directory (a
	                      * "../src" that stays inside the repository) */
};

struct es_package_options {
	const char *bucket;          /* required */
	const char *prefix;          /* may be NULL or "" */
	const char *const *excludes; /* globs, as in struct es_zip_options */
	size_t n_excludes;
	const char *region; /* for nested TemplateURL links; NULL means us-east-1 */
	/* The repository's tree (the exported commit): every path packaged must
	 * resolve inside it. NULL: the template's own directory, so a template
	 * in a subfolder cannot reach "../src" until its root is given. */
	const char *root;
};

struct es_packaged {
	json_t *template;    /* the rewritten template (owned) */
	char *template_json; /* es_template_dump of it (owned) */
	char template_sha256[65];
	char *template_key;            /* "<prefix>/templates/<sha256>.json" (owned) */
	struct es_artifact *artifacts; /* each digest once, in template order (owned) */
	size_t n_artifacts;
};

/* Package the template at template_path (YAML or JSON) as `aws cloudformation
 * package` does for everything in its RESOURCES_EXPORT_LIST (Lambda and SAM
 * code and layers, API and state machine definitions, AppSync templates,
 * Glue scripts, Elastic Beanstalk bundles, CodeCommit seeds, SAM GraphQL
 * schemas), AWS::Include locations at any depth, the serverless repository
 * readme and licence, and nested templates (CloudFormation::Stack
 * TemplateURL, Serverless::Application Location, packaged recursively).
 * Relative paths resolve against the directory of the template that holds
 * them; s3:// URIs, mappings and InlineCode are left alone; Globals/Function
 * CodeUri is honoured; a function with no code at all gets the template's
 * directory, as the CLI does, minus excludes and .git (and so does a
 * Lambda function, layer, Beanstalk bundle or Glue script that names none);
 * Fn::ForEach resource blocks are walked into. Before anything is returned,
 * es_package_check() (package_check.h) refuses a missing handler or a broken
 * Lambda@Edge rule.
 * Nothing outside o->root is ever read: an absolute path, a path whose ".."
 * climbs out, or one that reaches out through a symbolic link (the template
 * itself, a property, or a link inside a zipped directory) is ES_EREFUSED
 * with "TEMPLATE:LINE: resource ID property PROP: …" and what to do.
 * On success out (zeroed first) holds everything; release it with
 * es_packaged_free(). On failure out is empty and the last error says
 * "TEMPLATE:LINE: resource ID property PROP: …" (TEMPLATE relative to the
 * root; LINE when the template's text gives it). */
int es_package_template(const char *template_path, const struct es_package_options *o,
                        struct es_packaged *out);

/* Release everything p owns and zero it; NULL-safe. */
void es_packaged_free(struct es_packaged *p);

#endif
