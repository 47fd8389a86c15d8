/* Reproducibility, checked rather than assumed: the same commit built twice
 * in two fresh exports must give the same artifacts; when it does not, the
 * files that differ inside them are named (a timestamp in a bundle). */
#ifndef ES_BUILD_REPRO_H
#define ES_BUILD_REPRO_H

#include "build_digest.h"
#include "package_commit.h"

struct es_repro_check {
	bool same;                   /* both builds gave the same artifacts */
	struct es_build_diff *diffs; /* first build against second */
	size_t n_diffs;
	bool cached; /* the build cache holds an earlier build of this key */
	bool cached_same;
	struct es_build_diff *cache_diffs; /* that earlier build against the first */
	size_t n_cache_diffs;
	struct es_build_info first, second;
};

/* Package rev twice, each time from a fresh export with a fresh build
 * (the cache neither used nor written), and compare. pk gets the first
 * package (for the rest of `edgeship package`); out what was found. A
 * difference is not an error: out->same says it. */
int es_package_check_reproducible(struct es_repo *repo, const struct es_config *conf,
                                  const char *rev, const struct es_package_run *run,
                                  char commit[41], struct es_packaged *pk,
                                  struct es_repro_check *out);
void es_repro_check_free(struct es_repro_check *c);

/* {"reproducible": {"same", "builds": 2, "differences": [{artifact, file,
 * what}], "cache": {"compared", "same", "differences"}}} for the report. */
json_t *es_repro_check_json(const struct es_repro_check *c);

#endif
