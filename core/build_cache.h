/* The build cache: a built and packaged commit kept under
 * $XDG_CACHE_HOME/edgeship/builds/KEY/ (else ~/.cache/edgeship/builds),
 * keyed by what the build depends on (the commit's tree, the command, the
 * allow-listed variables' names and values' digests, and what packaging
 * depends on), so the same commit is never built twice. */
#ifndef ES_BUILD_CACHE_H
#define ES_BUILD_CACHE_H

#include <stdbool.h>

#include "build_digest.h"
#include "conf.h"
#include "package.h"

/* What happened to the build of one package. */
struct es_build_info {
	bool configured;  /* [app] build is set */
	bool ran;         /* the command ran for this package */
	bool cache_hit;   /* the package came from the cache */
	long duration_ms; /* of the build that ran (0 on a hit) */
	char key[65];     /* the cache key ("" without a build) */
	char tree[41];    /* the tree built */
};

/* The key of conf's build of tree: SHA-256 of every input, one per line. */
void es_build_cache_key(const struct es_config *conf, const char *tree, char key[65]);

/* The cache's directory (malloc'd). */
char *es_build_cache_dir(void);

/* The package stored under key into out (every object checked against its
 * digest), with the digests recorded when it was built (digests may be
 * NULL). ES_ENOTFOUND when there is no such entry, or a damaged one. */
int es_build_cache_load(const char *key, struct es_packaged *out, struct es_build_digests *digests);

/* Store pk under key, with its digests and how long its build took.
 * Atomic: an entry appears whole or not at all. */
int es_build_cache_store(const char *key, const char *tree, const char *command, long duration_ms,
                         const struct es_packaged *pk);

#endif
