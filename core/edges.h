/* Sampling edge locations: the stage's URL fetched through several edge
 * addresses (curl's connect-to keeps Host and SNI right), reading which
 * location answered (X-Amz-Cf-Pop), X-Cache, and the release marker header.
 * CloudFront has no per-edge API: this is a sample, and `Deployed` stays the
 * only authoritative signal that every edge has the change. */
#ifndef ES_EDGES_H
#define ES_EDGES_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "base/loop.h"
#include "model.h"

struct es_edge_probe;

/* Called once when every sample is in. */
typedef void (*es_edges_done_fn)(const struct es_edge_sample *samples, size_t n, void *ud);

/* Sample stage through its configured probes (or, without any, once through
 * whatever edge DNS gives for domain). expected_version is the Lambda
 * version the stage should serve ("" when unknown): an edge whose marker
 * header equals it serves the new release. */
int es_edges_sample(struct es_loop *loop, const struct es_stage_conf *stage, const char *domain,
                    const char *expected_version, es_edges_done_fn done, void *ud,
                    struct es_edge_probe **out);
/* Forget a sampling in flight (its callback will not run). */
void es_edges_cancel(struct es_loop *loop, struct es_edge_probe *p);

/* The request for url through probe ("[scheme://]host:port"): url_out is
 * url with the probe's scheme when it names one, connect_to_out the curl
 * CONNECT_TO entry ("" without a probe). */
void es_edges_route(const char *url, const char *probe, char *url_out, size_t url_len,
                    char *connect_to_out, size_t ct_len);

/* What an edge's answer says: status 0 or an error is unreachable, >= 400
 * an error; then new, old from cache (X-Cache Hit/RefreshHit), old, or
 * unknown without a marker. */
enum es_edge_state es_edges_classify(long status, const char *error, const char *x_cache,
                                     const char *release, bool is_new);

/* The cache-bypassing URL for url: bypass is "/PATH[?QUERY]" (replaces the
 * path) or "?QUERY" (keeps it); a unique edgeship-probe=NONCE is added to
 * the query, so a query string in the cache key also misses. */
void es_edges_bypass_url(const char *url, const char *bypass, unsigned long nonce, char *out,
                         size_t len);

/* The version number at the end of a version ARN ("…:function:f:17" → "17"). */
const char *es_edges_version_of(const char *arn);

#endif
