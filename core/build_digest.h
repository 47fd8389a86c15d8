/* What a build produced, file by file: the digest of every artifact of a
 * package and of every file inside each zip, so two builds of the same
 * commit can be compared and the files that differ named. */
#ifndef ES_BUILD_DIGEST_H
#define ES_BUILD_DIGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "package.h"

struct es_file_digest {
	char *path; /* inside the zip (the artifact's own path for a plain file) */
	char sha256[65];
};

struct es_artifact_digest {
	char *id;       /* "TEMPLATE RESOURCE PROPERTY": the same in every build */
	char *rel_path; /* the local path packaged, relative to the export */
	char sha256[65];
	struct es_file_digest *files; /* sorted by path */
	size_t n_files;
};

struct es_build_digests {
	char template_sha256[65];
	struct es_artifact_digest *a;
	size_t n;
};

/* The digests of pk (its zips opened and every entry hashed). */
int es_build_digests_of(const struct es_packaged *pk, struct es_build_digests *out);
void es_build_digests_free(struct es_build_digests *d);

/* As JSON ({"template_sha256", "artifacts": [{id, local_path, sha256,
 * files: {PATH: SHA256}}]}) and back. from_json: ES_EPARSE when j does not
 * hold them. */
json_t *es_build_digests_json(const struct es_build_digests *d);
int es_build_digests_from_json(const json_t *j, struct es_build_digests *out);

/* One difference between two builds. */
struct es_build_diff {
	char *artifact;   /* "RESOURCE PROPERTY (LOCAL_PATH)" */
	char *file;       /* the file inside it; NULL when the artifact itself is
	                 * missing from one build */
	const char *what; /* "differs", "only in the first build", "only in the second build" */
};

/* The differences between builds a and b (none: *n is 0). */
int es_build_digests_compare(const struct es_build_digests *a, const struct es_build_digests *b,
                             struct es_build_diff **out, size_t *n);
void es_build_diffs_free(struct es_build_diff *d, size_t n);

#endif
