/* Two fresh builds of one commit compared, artifact by artifact and file by
 * file, and the first compared with the digests the build cache recorded
 * when the same key was built before. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "build_repro.h"

void es_repro_check_free(struct es_repro_check *c)
{
	if (!c)
		return;
	es_build_diffs_free(c->diffs, c->n_diffs);
	es_build_diffs_free(c->cache_diffs, c->n_cache_diffs);
	memset(c, 0, sizeof(*c));
}

int es_package_check_reproducible(struct es_repo *repo, const struct es_config *conf,
                                  const char *rev, const struct es_package_run *run,
                                  char commit[41], struct es_packaged *pk,
                                  struct es_repro_check *out)
{
	struct es_package_run fresh = run ? *run : (struct es_package_run){0};
	struct es_build_digests a = {0}, b = {0}, cached = {0};
	struct es_packaged second = {0}, earlier = {0};
	char again[41];
	int rc;

	memset(out, 0, sizeof(*out));
	fresh.fresh = true;
	if (fresh.line)
		fresh.line("reproducibility: first build in a fresh export", fresh.line_ud);
	rc = es_package_commit(repo, conf, rev, &fresh, commit, pk, &out->first);
	if (!rc && fresh.line)
		fresh.line("reproducibility: second build in another fresh export", fresh.line_ud);
	if (!rc)
		rc = es_package_commit(repo, conf, commit, &fresh, again, &second, &out->second);
	if (!rc)
		rc = es_build_digests_of(pk, &a);
	if (!rc)
		rc = es_build_digests_of(&second, &b);
	if (!rc)
		rc = es_build_digests_compare(&a, &b, &out->diffs, &out->n_diffs);
	out->same = !rc && out->n_diffs == 0 && strcmp(a.template_sha256, b.template_sha256) == 0;
	/* An earlier build of the same inputs, when the cache kept one. */
	if (!rc && out->first.key[0] &&
	    es_build_cache_load(out->first.key, &earlier, &cached) == ES_OK) {
		out->cached = true;
		rc = es_build_digests_compare(&cached, &a, &out->cache_diffs, &out->n_cache_diffs);
		out->cached_same = !rc && out->n_cache_diffs == 0;
	}
	es_packaged_free(&earlier);
	es_packaged_free(&second);
	es_build_digests_free(&a);
	es_build_digests_free(&b);
	es_build_digests_free(&cached);
	if (rc) {
		es_packaged_free(pk);
		es_repro_check_free(out);
	}
	return rc;
}

static json_t *diffs_json(const struct es_build_diff *d, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s?,s:s}", "artifact", d[i].artifact,
		                                     "file", d[i].file, "what", d[i].what));
	return arr;
}

json_t *es_repro_check_json(const struct es_repro_check *c)
{
	json_t *cache =
	        c->cached ? json_pack("{s:b,s:b,s:o}", "compared", 1, "same", c->cached_same,
	                              "differences", diffs_json(c->cache_diffs, c->n_cache_diffs))
	                  : json_pack("{s:b}", "compared", 0);

	return json_pack("{s:{s:b,s:i,s:o,s:o,s:o}}", "reproducible", "same", c->same, "builds", 2,
	                 "differences", diffs_json(c->diffs, c->n_diffs), "cache", cache,
	                 "second_build", es_build_info_json(&c->second));
}
