/* Packaging one commit: its tree exported from git (what is deployed is what
 * was committed), packaged, and compared with the commit before it; and the
 * upload of what S3 lacks. Used by `edgeship package` and by deploys. */
#ifndef ES_PACKAGE_COMMIT_H
#define ES_PACKAGE_COMMIT_H

#include <stdbool.h>

#include "aws/aws.h"
#include "build.h"
#include "build_cache.h"
#include "conf.h"
#include "package.h"
#include "repo.h"

/* How a commit is packaged, and who hears about it. Every field may be
 * zero. */
struct es_package_run {
	es_repo_export_fn export_fn; /* how the export goes */
	void *export_ud;
	es_build_line_fn line; /* each line the build writes, in order */
	void *line_ud;
	bool (*cancelled)(void *line_ud); /* asked while the build runs */
	bool fresh; /* build even when the cache has it, and keep it out of the cache */
};

/* Export rev's tree into a temporary directory, run conf's build there
 * when it has one (core/build.h; a cache hit skips export and build),
 * package conf's template from it (es_package_template with the exported
 * tree as root, so build outputs are packaged and nothing outside the
 * export is) and remove the directory. commit gets rev's full id; info
 * (may be NULL) what happened to the build; run may be NULL. On failure out
 * is empty and the last error says why: ES_ECONFIG when the commit has no
 * template, ES_EREFUSED for a release rule (a path outside the commit, a
 * missing handler, a Lambda@Edge limit), ES_ERR for a failed build (the
 * command, how it ended, its last lines). */
int es_package_commit(struct es_repo *repo, const struct es_config *conf, const char *rev,
                      const struct es_package_run *run, char commit[41], struct es_packaged *out,
                      struct es_build_info *info);

/* What "no change" is measured against: the commit's first parent,
 * packaged the same way. Its packaged template names every artifact by
 * content, so equal template digests mean nothing deployable changed. */
struct es_package_compare {
	bool compared;   /* false: a root commit, or the parent does not package */
	bool changed;    /* the packaged template differs from the parent's */
	char parent[41]; /* the parent's id ("" for a root commit) */
	char parent_template_sha256[65];
	char note[600];     /* why nothing was compared, when compared is false */
	bool *artifact_new; /* per artifact of the commit: the parent has no such key
	                       * (owned; free with es_package_compare_free) */
	size_t n;
};

/* Package commit's first parent and compare it with pk (commit's own
 * package). A parent that cannot be packaged is not an error: out says why
 * in note and counts everything as changed. */
int es_package_compare_parent(struct es_repo *repo, const struct es_config *conf,
                              const char *commit, const struct es_packaged *pk,
                              const struct es_package_run *run, struct es_package_compare *out);
void es_package_compare_free(struct es_package_compare *c);

/* Where each object of a package stands in the artifact bucket. */
enum es_upload_state {
	ES_UPLOAD_NOT_CHECKED, /* --no-upload: S3 was not asked */
	ES_UPLOAD_PRESENT,     /* the key was there already (same key, same bytes) */
	ES_UPLOAD_SENT,        /* uploaded now */
};

/* Upload every artifact of pk, then its template, that the bucket lacks.
 * states (n_artifacts + 1 entries, the template last) get what happened.
 * Idempotency key: the content-addressed object key. ES_ECONFIG when the
 * bucket does not exist (it is not created here). */
int es_package_upload(struct es_aws_client *aws, const struct es_config *conf,
                      const struct es_packaged *pk, enum es_upload_state *states);

/* The report of `edgeship package` as JSON (malloc'd; the caller frees):
 * the commit, the build, the template and every artifact with where it
 * stands in S3, and the comparison with the parent. states as from
 * es_package_upload (NULL: nothing was checked); output_template, build
 * and extra (an object whose members are added, e.g. the reproducibility
 * check's; stolen) may be NULL. */
char *es_package_report_json(const char *commit, const struct es_config *conf,
                             const struct es_packaged *pk, const enum es_upload_state *states,
                             const struct es_package_compare *cmp, const char *output_template,
                             const struct es_build_info *build, json_t *extra);

/* What a report says of a build: {"configured", "ran", "cache": "hit" |
 * "miss" | "off", "key", "tree", "duration_ms"}. */
json_t *es_build_info_json(const struct es_build_info *b);

/* "uploaded", "present" or "not-uploaded". */
const char *es_upload_state_name(enum es_upload_state s);

#endif
