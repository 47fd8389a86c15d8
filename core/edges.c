/* Asynchronous edge sampling over the event loop. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edges.h"
#include "base/error.h"
#include "aws/http.h"
#include "repo.h"

struct slot {
	struct es_edge_probe *p;
	size_t i;
};

struct es_edge_probe {
	struct es_loop *loop;
	struct slot slots[ES_MODEL_MAX_EDGES];
	struct es_edge_sample samples[ES_MODEL_MAX_EDGES];
	struct es_http_call *calls[ES_MODEL_MAX_EDGES];
	size_t n;
	size_t pending;
	char marker[128];
	char expected[32];
	es_edges_done_fn done;
	void *ud;
};

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

static void on_answer(const struct es_http_response *resp, void *ud)
{
	struct slot *s = ud;
	struct es_edge_probe *p = s->p;
	struct es_edge_sample *e = &p->samples[s->i];

	p->calls[s->i] = NULL;
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
	if (--p->pending == 0) {
		p->done(p->samples, p->n, p->ud);
		free(p);
	}
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
	p->n = n;
	p->pending = n;
	for (size_t i = 0; i < n; i++) {
		struct es_edge_sample *e = &p->samples[i];
		char url[900], connect_to[400];
		const char *probe = stage->n_probes ? stage->probes[i] : NULL;
		const char *t = probe ? strstr(probe, "://") : NULL;
		snprintf(e->target, sizeof(e->target), "%s", probe ? (t ? t + 3 : probe) : "DNS");
		es_edges_route(base, probe, url, sizeof(url), connect_to, sizeof(connect_to));
		struct slot *s = &p->slots[i];
		struct es_http_request req = {
		        .method = "GET",
		        .url = url,
		        .connect_timeout_ms = 3000,
		        .timeout_ms = 8000,
		        .connect_to = connect_to[0] ? connect_to : NULL,
		};
		s->p = p;
		s->i = i;
		if (es_http_send(loop, &req, on_answer, s, &p->calls[i])) {
			snprintf(e->error, sizeof(e->error), "could not start the request");
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
	for (size_t i = 0; i < p->n; i++)
		if (p->calls[i])
			es_http_cancel(loop, p->calls[i]);
	free(p);
}
