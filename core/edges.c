/* Asynchronous edge sampling over the event loop: per edge what visitors
 * get and, with a bypass configured, what the function answers now. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edges.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "aws/http.h"
#include "repo.h"

struct slot {
	struct es_edge_probe *p;
	size_t i;
	bool bypass; /* the cache-bypassing request of edge i */
};

/* Per edge: the ordinary request (what visitors get), then, when a bypass
 * is configured, one that the cache cannot answer (what the function
 * answers now). */
struct es_edge_probe {
	struct es_loop *loop;
	struct slot slots[2 * ES_MODEL_MAX_EDGES];
	struct es_edge_sample samples[ES_MODEL_MAX_EDGES];
	struct es_http_call *calls[2 * ES_MODEL_MAX_EDGES];
	size_t n;
	size_t pending;
	char marker[128];
	char expected[32];
	es_edges_done_fn done;
	void *ud;
};

const char *es_edge_state_name(enum es_edge_state st)
{
	static const char *const names[] = {
	        [ES_EDGE_UNKNOWN] = "unknown", [ES_EDGE_NEW] = "new",
	        [ES_EDGE_OLD] = "old",         [ES_EDGE_CACHED_OLD] = "cached-old",
	        [ES_EDGE_ERROR] = "error",     [ES_EDGE_UNREACHABLE] = "unreachable",
	};
	return (unsigned)st < sizeof(names) / sizeof(*names) ? names[st] : "unknown";
}

enum es_edge_state es_edges_classify(long status, const char *error, const char *x_cache,
                                     const char *release, bool is_new)
{
	if (status == 0 || (error && *error))
		return ES_EDGE_UNREACHABLE;
	if (status >= 400)
		return ES_EDGE_ERROR;
	if (is_new)
		return ES_EDGE_NEW;
	if (!release || !*release)
		return ES_EDGE_UNKNOWN;
	/* "Hit from cloudfront", "RefreshHit from cloudfront" */
	if (x_cache && (strncmp(x_cache, "Hit", 3) == 0 || strncmp(x_cache, "RefreshHit", 10) == 0))
		return ES_EDGE_CACHED_OLD;
	return ES_EDGE_OLD;
}

const char *es_edges_version_of(const char *arn)
{
	const char *colon = arn ? strrchr(arn, ':') : NULL;

	if (!colon || !colon[1])
		return "";
	for (const char *c = colon + 1; *c; c++)
		if (*c < '0' || *c > '9')
			return "";
	return colon + 1;
}

void es_edges_route(const char *url, const char *probe, char *url_out, size_t url_len,
                    char *connect_to_out, size_t ct_len)
{
	bool https = strncmp(url, "https://", 8) == 0;
	const char *h = strstr(url, "://");
	char host[256];
	int port;

	h = h ? h + 3 : url;
	size_t hl = strcspn(h, ":/");
	snprintf(host, sizeof(host), "%.*s", (int)hl, h);
	port = h[hl] == ':' ? atoi(h + hl + 1) : (https ? 443 : 80);
	const char *path = strchr(h, '/');
	if (!probe || !*probe) {
		snprintf(url_out, url_len, "%s", url);
		connect_to_out[0] = '\0';
		return;
	}
	/* A probe may name its scheme ("http://127.0.0.1:8081"): a plain
	 * HTTP edge in a test, or a proxy in front of one. */
	const char *t = strstr(probe, "://");
	if (t) {
		https = strncmp(probe, "https://", 8) == 0;
		port = https ? 443 : 80;
	}
	const char *addr = t ? t + 3 : probe;
	snprintf(url_out, url_len, "%s://%s:%d%s", https ? "https" : "http", host, port,
	         path ? path : "/");
	snprintf(connect_to_out, ct_len, "%s:%d:%s", host, port, addr);
}

static void copy_header(const struct es_http_response *r, const char *name, char *dst, size_t len)
{
	const char *v = es_http_header(r, name);

	snprintf(dst, len, "%s", v ? v : "");
	es_sanitize(dst, false);
}

static void finish_one(struct es_edge_probe *p)
{
	if (--p->pending == 0) {
		p->done(p->samples, p->n, p->ud);
		free(p);
	}
}

void es_edges_bypass_url(const char *url, const char *bypass, unsigned long nonce, char *out,
                         size_t len)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	const char *path = strchr(h, '/');
	size_t origin = path ? (size_t)(path - url) : strlen(url);
	char base_path[512];

	/* "?QUERY" keeps the URL's path; "/PATH[?QUERY]" replaces it */
	if (bypass[0] == '?') {
		snprintf(base_path, sizeof(base_path), "%.*s%s",
		         (int)strcspn(path ? path : "/", "?"), path ? path : "/", bypass);
	} else {
		snprintf(base_path, sizeof(base_path), "%s", bypass);
	}
	/* A unique query value: a miss also where the query is in the cache key. */
	snprintf(out, len, "%.*s%s%sedgeship-probe=%lu", (int)origin, url, base_path,
	         strchr(base_path, '?') ? (base_path[strlen(base_path) - 1] == '?' ? "" : "&")
	                                : "?",
	         nonce);
}

static void on_answer(const struct es_http_response *resp, void *ud)
{
	struct slot *s = ud;
	struct es_edge_probe *p = s->p;
	struct es_edge_sample *e = &p->samples[s->i];

	p->calls[s - p->slots] = NULL;
	if (s->bypass) {
		char release[sizeof(e->fn_release)] = "", cache[48];
		copy_header(resp, "X-Cache", cache, sizeof(cache));
		if (p->marker[0])
			copy_header(resp, p->marker, release, sizeof(release));
		bool is_new = p->expected[0] && release[0] && strcmp(release, p->expected) == 0;
		e->bypassed = true;
		snprintf(e->fn_release, sizeof(e->fn_release), "%s", release);
		/* a hit here means the bypass does not bypass: not the function's word */
		e->fn_state = es_edges_classify(resp->status, resp->status ? "" : "down", "",
		                                release, is_new);
		if (strncmp(cache, "Hit", 3) == 0 && !is_new)
			e->fn_state = ES_EDGE_UNKNOWN;
		finish_one(p);
		return;
	}
	e->status = resp->status;
	e->latency_ms = resp->total_seconds * 1000.0;
	if (resp->status == 0) {
		snprintf(e->error, sizeof(e->error), "%s", resp->error);
		es_sanitize(e->error, false);
	}
	copy_header(resp, "X-Amz-Cf-Pop", e->pop, sizeof(e->pop));
	copy_header(resp, "X-Cache", e->cache, sizeof(e->cache));
	if (p->marker[0])
		copy_header(resp, p->marker, e->release, sizeof(e->release));
	e->is_new = p->expected[0] && e->release[0] && strcmp(e->release, p->expected) == 0;
	const char *age = es_http_header(resp, "Age");
	e->age_s = age && *age >= '0' && *age <= '9' ? atol(age) : -1;
	e->state = es_edges_classify(e->status, e->error, e->cache, e->release, e->is_new);
	finish_one(p);
}

int es_edges_sample(struct es_loop *loop, const struct es_stage_conf *stage, const char *domain,
                    const char *expected_version, es_edges_done_fn done, void *ud,
                    struct es_edge_probe **out)
{
	struct es_edge_probe *p = calloc(1, sizeof(*p));
	char base[512];

	*out = NULL;
	if (!p)
		return es_fail(ES_ENOMEM, "out of memory");
	p->loop = loop;
	p->done = done;
	p->ud = ud;
	snprintf(p->marker, sizeof(p->marker), "%s",
	         stage->marker_header ? stage->marker_header : "");
	snprintf(p->expected, sizeof(p->expected), "%s", expected_version ? expected_version : "");
	if (stage->url)
		snprintf(base, sizeof(base), "%s", stage->url);
	else if (domain && *domain)
		snprintf(base, sizeof(base), "https://%s/", domain);
	else {
		free(p);
		return es_fail(ES_ECONFIG,
		               "stage %s has neither a url nor a distribution to sample",
		               stage->name);
	}
	size_t n = stage->n_probes ? stage->n_probes : 1;
	if (n > ES_MODEL_MAX_EDGES)
		n = ES_MODEL_MAX_EDGES;
	const char *bypass =
	        stage->probe_bypass && *stage->probe_bypass ? stage->probe_bypass : NULL;
	static unsigned long nonce;
	p->n = n;
	p->pending = bypass ? 2 * n : n;
	for (size_t k = 0; k < (bypass ? 2 * n : n); k++) {
		size_t i = k % n;
		bool by = k >= n;
		struct es_edge_sample *e = &p->samples[i];
		char url[900], connect_to[400], want[900];
		const char *probe = stage->n_probes ? stage->probes[i] : NULL;
		const char *t = probe ? strstr(probe, "://") : NULL;
		if (!by) {
			e->age_s = -1;
			snprintf(e->target, sizeof(e->target), "%s",
			         probe ? (t ? t + 3 : probe) : "DNS");
		}
		if (by)
			es_edges_bypass_url(base, bypass,
			                    (unsigned long)es_time_now() * 1000 + ++nonce, want,
			                    sizeof(want));
		else
			snprintf(want, sizeof(want), "%s", base);
		es_edges_route(want, probe, url, sizeof(url), connect_to, sizeof(connect_to));
		struct slot *s = &p->slots[k];
		struct es_http_request req = {
		        .method = "GET",
		        .url = url,
		        .connect_timeout_ms = 3000,
		        .timeout_ms = 8000,
		        .connect_to = connect_to[0] ? connect_to : NULL,
		};
		s->p = p;
		s->i = i;
		s->bypass = by;
		if (es_http_send(loop, &req, on_answer, s, &p->calls[k])) {
			if (!by) {
				snprintf(e->error, sizeof(e->error), "could not start the request");
				e->state = ES_EDGE_UNREACHABLE;
			}
			p->pending--;
		}
	}
	if (p->pending == 0) {
		done(p->samples, p->n, ud);
		free(p);
		return ES_OK;
	}
	*out = p;
	return ES_OK;
}

void es_edges_cancel(struct es_loop *loop, struct es_edge_probe *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < 2 * p->n; i++)
		if (p->calls[i])
			es_http_cancel(loop, p->calls[i]);
	free(p);
}
