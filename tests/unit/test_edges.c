/* Edge sampling against the fake transport: each probe is asked for the
 * stage's URL with Host and SNI kept (curl's CONNECT_TO), and its answer
 * says which location served it, whether from cache, and which release;
 * an edge that does not answer says why; a sampling cancelled in flight
 * never calls back. */
#include "config.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "edges.h"
#include "world.h"

struct got {
	bool done;
	int calls;
	size_t n;
	struct es_edge_sample samples[ES_MODEL_MAX_EDGES];
};

static void on_done(const struct es_edge_sample *samples, size_t n, void *ud)
{
	struct got *g = ud;

	g->done = true;
	g->calls++;
	g->n = n;
	memcpy(g->samples, samples, n * sizeof(*samples));
}

static int setup(void **state)
{
	*state = world_new();
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static void version_is_the_arn_s_last_number(void **state)
{
	(void)state;
	assert_string_equal(es_edges_version_of("arn:aws:lambda:us-east-1:1:function:edge:17"),
	                    "17");
	assert_string_equal(es_edges_version_of("arn:aws:lambda:us-east-1:1:function:edge:$LATEST"),
	                    "");
	assert_string_equal(es_edges_version_of("arn:aws:lambda:us-east-1:1:function:edge:"), "");
	assert_string_equal(es_edges_version_of("no colon"), "");
	assert_string_equal(es_edges_version_of(NULL), "");
}

static void route_keeps_host_and_names_the_edge(void **state)
{
	char url[512], ct[512];

	(void)state;
	es_edges_route("https://app.example.com/health?x=1", NULL, url, sizeof(url), ct,
	               sizeof(ct));
	assert_string_equal(url, "https://app.example.com/health?x=1");
	assert_string_equal(ct, "");
	es_edges_route("https://app.example.com/health", "", url, sizeof(url), ct, sizeof(ct));
	assert_string_equal(ct, "");

	es_edges_route("https://app.example.com/health", "198.51.100.7:443", url, sizeof(url), ct,
	               sizeof(ct));
	assert_string_equal(url, "https://app.example.com:443/health");
	assert_string_equal(ct, "app.example.com:443:198.51.100.7:443");

	/* The URL's own port, and no path. */
	es_edges_route("http://app.example.com:8080", "198.51.100.7:80", url, sizeof(url), ct,
	               sizeof(ct));
	assert_string_equal(url, "http://app.example.com:8080/");
	assert_string_equal(ct, "app.example.com:8080:198.51.100.7:80");

	/* A probe naming its scheme picks it, and that scheme's port. */
	es_edges_route("https://app.example.com/x", "http://127.0.0.1:8081", url, sizeof(url), ct,
	               sizeof(ct));
	assert_string_equal(url, "http://app.example.com:80/x");
	assert_string_equal(ct, "app.example.com:80:127.0.0.1:8081");
	es_edges_route("http://app.example.com/x", "https://127.0.0.1:8443", url, sizeof(url), ct,
	               sizeof(ct));
	assert_string_equal(url, "https://app.example.com:443/x");
	assert_string_equal(ct, "app.example.com:443:127.0.0.1:8443");
}

static void states_from_what_an_edge_answered(void **state)
{
	(void)state;
	assert_int_equal(es_edges_classify(200, "", "Hit from cloudfront", "7", true), ES_EDGE_NEW);
	assert_int_equal(es_edges_classify(200, "", "Hit from cloudfront", "6", false),
	                 ES_EDGE_CACHED_OLD);
	assert_int_equal(es_edges_classify(200, "", "RefreshHit from cloudfront", "6", false),
	                 ES_EDGE_CACHED_OLD);
	assert_int_equal(es_edges_classify(200, "", "Miss from cloudfront", "6", false),
	                 ES_EDGE_OLD);
	assert_int_equal(es_edges_classify(200, "", "LambdaGeneratedResponse from cloudfront", "6",
	                                   false),
	                 ES_EDGE_OLD);
	assert_int_equal(es_edges_classify(200, "", "Hit from cloudfront", "", false),
	                 ES_EDGE_UNKNOWN);
	assert_int_equal(es_edges_classify(503, "", "LambdaExecutionError from cloudfront", "",
	                                   false),
	                 ES_EDGE_ERROR);
	assert_int_equal(es_edges_classify(0, "connection reset", "", "", false),
	                 ES_EDGE_UNREACHABLE);
	assert_string_equal(es_edge_state_name(ES_EDGE_CACHED_OLD), "cached-old");
	assert_string_equal(es_edge_state_name(ES_EDGE_UNREACHABLE), "unreachable");
}

static void bypass_url_adds_a_unique_query(void **state)
{
	char url[512];

	(void)state;
	es_edges_bypass_url("https://app.example.com/health?x=1", "/edgeship-probe", 7, url,
	                    sizeof(url));
	assert_string_equal(url, "https://app.example.com/edgeship-probe?edgeship-probe=7");
	es_edges_bypass_url("https://app.example.com/health?x=1", "?fresh", 8, url, sizeof(url));
	assert_string_equal(url, "https://app.example.com/health?fresh&edgeship-probe=8");
	es_edges_bypass_url("https://app.example.com", "?", 9, url, sizeof(url));
	assert_string_equal(url, "https://app.example.com/?edgeship-probe=9");
	es_edges_bypass_url("http://app.example.com:8080/", "/p?a=b", 10, url, sizeof(url));
	assert_string_equal(url, "http://app.example.com:8080/p?a=b&edgeship-probe=10");
}

/* With probe-bypass: what visitors get (an old release from cache, with
 * its Age) and, bypassing the cache, what the function answers now. */
static void bypass_sees_the_function_behind_the_cache(void **state)
{
	struct world *w = *state;
	char *probes[] = {"198.51.100.1:443", "198.51.100.2:443"};
	struct es_stage_conf sc = {.name = "staging",
	                           .url = "https://app.example.com/",
	                           .probes = probes,
	                           .n_probes = 2,
	                           .marker_header = "X-Edge-Release",
	                           .probe_bypass = "?fresh"};
	struct es_edge_probe *p = NULL;
	struct got g = {0};

	fake_expect(w->fake, "GET", "/", 200,
	            "X-Amz-Cf-Pop: FRA56-P1\nX-Cache: Hit from cloudfront\nAge: 45\n"
	            "X-Edge-Release: 6",
	            "ok");
	fake_expect(w->fake, "GET", "/", 200,
	            "X-Amz-Cf-Pop: IAD89-P1\nX-Cache: Miss from cloudfront\nX-Edge-Release: 7",
	            "ok");
	fake_expect(w->fake, "GET", "/", 200,
	            "X-Cache: LambdaGeneratedResponse from cloudfront\nX-Edge-Release: 7", "ok");
	fake_expect(w->fake, "GET", "/", 200,
	            "X-Cache: LambdaGeneratedResponse from cloudfront\nX-Edge-Release: 7", "ok");
	assert_int_equal(es_edges_sample(w->loop, &sc, "d111.cloudfront.net", "7", on_done, &g, &p),
	                 ES_OK);
	world_run(w, &g.done, 5000);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.samples[0].state, ES_EDGE_CACHED_OLD);
	assert_int_equal(g.samples[0].age_s, 45);
	assert_true(g.samples[0].bypassed);
	assert_int_equal(g.samples[0].fn_state, ES_EDGE_NEW);
	assert_string_equal(g.samples[0].fn_release, "7");
	assert_int_equal(g.samples[1].state, ES_EDGE_NEW);
	assert_int_equal(g.samples[1].age_s, -1);
	assert_int_equal(g.samples[1].fn_state, ES_EDGE_NEW);
	/* the bypassing requests: the same edges, a unique query each */
	const struct fake_request *b0 = fake_request_at(w->fake, 2);
	const struct fake_request *b1 = fake_request_at(w->fake, 3);
	assert_non_null(strstr(b0->url, "/?fresh&edgeship-probe="));
	assert_string_equal(b0->connect_to, "app.example.com:443:198.51.100.1:443");
	assert_string_equal(b1->connect_to, "app.example.com:443:198.51.100.2:443");
	assert_string_not_equal(b0->url, b1->url);
}

static void each_probe_reports_location_cache_and_release(void **state)
{
	struct world *w = *state;
	char *probes[] = {"198.51.100.1:443", "http://198.51.100.2:8081", "198.51.100.3:443"};
	struct es_stage_conf sc = {.name = "staging",
	                           .url = "https://app.example.com/health",
	                           .probes = probes,
	                           .n_probes = 3,
	                           .marker_header = "X-Edge-Release"};
	struct es_edge_probe *p = NULL;
	struct got g = {0};

	/* The probes are asked in order: one rule each. */
	fake_expect(w->fake, "GET", "/health", 200,
	            "X-Amz-Cf-Pop: FRA56-P1\nX-Cache: Hit from cloudfront\nX-Edge-Release: 7",
	            "ok");
	fake_expect(w->fake, "GET", "/health", 200,
	            "X-Amz-Cf-Pop: IAD89-C2\nX-Cache: Miss from cloudfront\n"
	            "X-Edge-Release: 6\x1b[2J",
	            "ok");
	fake_rule_reset(fake_expect(w->fake, "GET", "/health", 200, NULL, NULL));
	assert_int_equal(es_edges_sample(w->loop, &sc, "d111.cloudfront.net", "7", on_done, &g, &p),
	                 ES_OK);
	assert_non_null(p);
	assert_false(g.done); /* answers come on the loop, never inside the call */
	world_run(w, &g.done, 5000);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.n, 3);

	assert_string_equal(g.samples[0].target, "198.51.100.1:443");
	assert_int_equal(g.samples[0].status, 200);
	assert_string_equal(g.samples[0].pop, "FRA56-P1");
	assert_string_equal(g.samples[0].cache, "Hit from cloudfront");
	assert_string_equal(g.samples[0].release, "7");
	assert_true(g.samples[0].is_new);
	assert_string_equal(g.samples[0].error, "");

	assert_string_equal(g.samples[1].target, "198.51.100.2:8081");
	assert_string_equal(g.samples[1].pop, "IAD89-C2");
	assert_false(g.samples[1].is_new);
	/* Header text reaches the screen: no escape sequences. */
	assert_null(strchr(g.samples[1].release, '\x1b'));

	assert_int_equal(g.samples[2].status, 0);
	assert_false(g.samples[2].is_new);
	assert_non_null(strstr(g.samples[2].error, "reset"));

	/* Host and SNI stay the stage's; the connection goes to the probe. */
	const struct fake_request *r0 = fake_request_at(w->fake, 0);
	const struct fake_request *r1 = fake_request_at(w->fake, 1);
	assert_string_equal(r0->url, "https://app.example.com:443/health");
	assert_string_equal(r0->connect_to, "app.example.com:443:198.51.100.1:443");
	assert_string_equal(r1->url, "http://app.example.com:80/health");
	assert_string_equal(r1->connect_to, "app.example.com:80:198.51.100.2:8081");
}

static void without_probes_dns_picks_the_edge_of_the_domain(void **state)
{
	struct world *w = *state;
	struct es_stage_conf sc = {.name = "staging"}; /* no url, no marker */
	struct es_edge_probe *p = NULL;
	struct got g = {0};

	fake_expect(w->fake, "GET", "/", 200, "X-Amz-Cf-Pop: LHR5-C1\nX-Edge-Release: 7", "ok");
	assert_int_equal(es_edges_sample(w->loop, &sc, "d111.cloudfront.net", "7", on_done, &g, &p),
	                 ES_OK);
	world_run(w, &g.done, 5000);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.samples[0].target, "DNS");
	assert_string_equal(g.samples[0].pop, "LHR5-C1");
	/* Without a marker header the release cannot be told. */
	assert_string_equal(g.samples[0].release, "");
	assert_false(g.samples[0].is_new);
	assert_string_equal(fake_last(w->fake)->url, "https://d111.cloudfront.net/");
	assert_string_equal(fake_last(w->fake)->connect_to, "");
}

static void nothing_to_sample_is_a_config_error(void **state)
{
	struct world *w = *state;
	struct es_stage_conf sc = {.name = "staging"};
	struct es_edge_probe *p = (struct es_edge_probe *)&sc;
	struct got g = {0};

	assert_int_equal(es_edges_sample(w->loop, &sc, "", "7", on_done, &g, &p), ES_ECONFIG);
	assert_null(p);
	assert_non_null(strstr(es_error_last()->message, "neither a url nor a distribution"));
	assert_int_equal(es_edges_sample(w->loop, &sc, NULL, NULL, on_done, &g, &p), ES_ECONFIG);
	assert_int_equal(fake_count(w->fake), 0);
	assert_int_equal(g.calls, 0);
}

static void no_more_than_the_view_holds(void **state)
{
	struct world *w = *state;
	char *probes[ES_MODEL_MAX_EDGES + 3];
	struct es_stage_conf sc = {.name = "staging",
	                           .url = "https://app.example.com/",
	                           .probes = probes,
	                           .n_probes = ES_MODEL_MAX_EDGES + 3};
	struct es_edge_probe *p = NULL;
	struct got g = {0};

	for (size_t i = 0; i < sc.n_probes; i++)
		probes[i] = "198.51.100.9:443";
	fake_rule_times(fake_expect(w->fake, "GET", "/", 200, NULL, "ok"), FAKE_FOREVER);
	assert_int_equal(es_edges_sample(w->loop, &sc, NULL, "", on_done, &g, &p), ES_OK);
	world_run(w, &g.done, 5000);
	assert_int_equal(g.n, ES_MODEL_MAX_EDGES);
	assert_int_equal(fake_count(w->fake), ES_MODEL_MAX_EDGES);
	/* No expected version: nothing is new, whatever it serves. */
	for (size_t i = 0; i < g.n; i++)
		assert_false(g.samples[i].is_new);
}

static void cancelled_sampling_never_calls_back(void **state)
{
	struct world *w = *state;
	char *probes[] = {"198.51.100.1:443", "198.51.100.2:443"};
	struct es_stage_conf sc = {.name = "staging",
	                           .url = "https://app.example.com/",
	                           .probes = probes,
	                           .n_probes = 2};
	struct es_edge_probe *p = NULL;
	struct got g = {0};
	bool later = false;

	fake_expect(w->fake, "GET", "/", 200, NULL, "ok");
	fake_rule_delay(fake_expect(w->fake, "GET", "/", 200, NULL, "ok"), 200);
	assert_int_equal(es_edges_sample(w->loop, &sc, NULL, "", on_done, &g, &p), ES_OK);
	/* The quick answer arrives; the slow one is still due. */
	fake_run_until(w->fake, &later, 60);
	assert_int_equal(g.calls, 0);
	es_edges_cancel(w->loop, p);
	es_edges_cancel(w->loop, NULL);
	/* Time enough for the slow answer: nobody hears of it. */
	fake_run_until(w->fake, &later, 400);
	assert_int_equal(g.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(version_is_the_arn_s_last_number),
	        cmocka_unit_test(route_keeps_host_and_names_the_edge),
	        cmocka_unit_test(states_from_what_an_edge_answered),
	        cmocka_unit_test(bypass_url_adds_a_unique_query),
	        cmocka_unit_test_setup_teardown(bypass_sees_the_function_behind_the_cache, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(each_probe_reports_location_cache_and_release,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(without_probes_dns_picks_the_edge_of_the_domain,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(nothing_to_sample_is_a_config_error, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(no_more_than_the_view_holds, setup, teardown),
	        cmocka_unit_test_setup_teardown(cancelled_sampling_never_calls_back, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
