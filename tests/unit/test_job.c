/* Background jobs on real threads: progress lines reach the owner's loop in
 * order and the one result after them; the job has a client and loop of its
 * own that already knows who the owner's caller is; cancel is seen between
 * steps; an orphaned job ends on its own and tells nobody. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "aws/client.h"
#include "aws/sts.h"
#include "base/error.h"
#include "fakeaws.h"
#include "identity.h"
#include "job.h"

struct env {
	struct es_loop *loop;
	struct es_aws_client *owner;
	bool done;
	int rc;
	char err[512];
	char lines[8][64];
	int n_lines;
	int freed;
};

/* What a job saw, for the owner to check afterwards. */
struct seen {
	struct env *e;
	bool own_loop;
	bool has_client;
	char who[128];
	int steps;
	atomic_bool release; /* the orphan test lets its job end */
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_env();
	es_job_run_inline(false);
	e->loop = es_loop_new();
	assert_int_equal(es_aws_open(e->loop, NULL, &e->owner), ES_OK);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	es_aws_client_free(e->owner);
	es_loop_free(e->loop);
	free(e);
	return 0;
}

static void on_progress(const char *text, void *ud)
{
	struct env *e = ud;

	if (e->n_lines < 8)
		snprintf(e->lines[e->n_lines++], sizeof(e->lines[0]), "%s", text);
}

static void on_done(int rc, const struct es_error *err, void *ud)
{
	struct env *e = ud;

	e->done = true;
	e->rc = rc;
	if (err)
		snprintf(e->err, sizeof(e->err), "%s", err->message);
	else
		assert_int_equal(rc, ES_OK);
}

static void arg_free(void *arg)
{
	struct seen *s = arg;

	s->e->freed++;
}

static void run_until_done(struct env *e)
{
	int64_t end = es_loop_now_ms() + 10000;

	while (!e->done && es_loop_now_ms() < end)
		es_loop_turn(e->loop, 20);
	assert_true(e->done);
}

static int reporting_job(struct es_job *job, void *arg)
{
	struct seen *s = arg;
	const struct es_caller_identity *id;

	s->own_loop = es_job_loop(job) && es_job_loop(job) != s->e->loop;
	s->has_client = es_job_aws(job) != NULL;
	id = es_job_aws(job) ? es_identity_cached(es_job_aws(job)) : NULL;
	snprintf(s->who, sizeof(s->who), "%s", id && id->arn ? id->arn : "");
	for (int i = 1; i <= 3; i++)
		es_job_progress(job, "step %d of %d", i, 3);
	return ES_OK;
}

static void progress_then_result_on_the_owner_s_loop(void **state)
{
	struct env *e = *state;
	struct seen s = {.e = e};
	struct es_caller_identity id = {.arn = "arn:aws:iam::123456789012:user/ann",
	                                .account = "123456789012",
	                                .user_id = "AIDAEXAMPLE"};
	struct es_job *job = NULL;

	/* The owner knows who it is: the job's client is told, not STS. */
	assert_int_equal(es_identity_seed(e->owner, &id), ES_OK);
	assert_int_equal(es_job_start(e->loop, e->owner, reporting_job, &s, arg_free, on_progress,
	                              on_done, e, &job),
	                 ES_OK);
	assert_non_null(job);
	/* Nothing is told inside the start. */
	assert_false(e->done);
	assert_int_equal(e->n_lines, 0);
	run_until_done(e);
	assert_int_equal(e->rc, ES_OK);
	assert_int_equal(e->n_lines, 3);
	assert_string_equal(e->lines[0], "step 1 of 3");
	assert_string_equal(e->lines[2], "step 3 of 3");
	assert_true(s.own_loop);
	assert_true(s.has_client);
	assert_string_equal(s.who, "arn:aws:iam::123456789012:user/ann");
	/* The argument was freed once, after done. */
	assert_int_equal(e->freed, 1);
	assert_int_equal(es_job_count(), 0);
}

static int failing_job(struct es_job *job, void *arg)
{
	(void)arg;
	es_job_progress(job, "about to fail");
	return es_fail(ES_EREFUSED, "refused for a reason");
}

static void failure_arrives_with_its_error(void **state)
{
	struct env *e = *state;

	assert_int_equal(
	        es_job_start(e->loop, NULL, failing_job, NULL, NULL, on_progress, on_done, e, NULL),
	        ES_OK);
	run_until_done(e);
	assert_int_equal(e->rc, ES_EREFUSED);
	assert_string_equal(e->err, "refused for a reason");
	assert_int_equal(e->n_lines, 1);
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int patient_job(struct es_job *job, void *arg)
{
	struct seen *s = arg;

	/* Steps of 5 ms, looking at cancel between them (at most 10 s). */
	for (int i = 0; i < 2000; i++) {
		if (es_job_cancelled(job))
			return es_fail(ES_ECANCELLED, "cancelled after %d steps", s->steps);
		if (atomic_load(&s->release))
			return ES_OK;
		s->steps++;
		pause_ms(5);
	}
	return ES_OK;
}

static void cancel_is_seen_between_steps(void **state)
{
	struct env *e = *state;
	struct seen s = {.e = e};
	struct es_job *job = NULL;

	assert_int_equal(es_job_start(e->loop, e->owner, patient_job, &s, NULL, on_progress,
	                              on_done, e, &job),
	                 ES_OK);
	while (s.steps < 2)
		es_loop_turn(e->loop, 5);
	es_job_cancel(job);
	es_job_cancel(NULL);
	run_until_done(e);
	assert_int_equal(e->rc, ES_ECANCELLED);
	assert_non_null(strstr(e->err, "cancelled after"));
	assert_true(s.steps < 2000);
}

static void orphan_ends_on_its_own_and_tells_nobody(void **state)
{
	struct env *e = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct es_job *job = NULL;

	s->e = e;
	assert_int_equal(es_job_start(e->loop, e->owner, patient_job, s, arg_free, on_progress,
	                              on_done, e, &job),
	                 ES_OK);
	while (s->steps < 1)
		es_loop_turn(e->loop, 5);
	es_job_orphan(job);
	es_job_orphan(NULL);
	/* The job sees the cancel, ends and frees itself with its argument. */
	int64_t end = es_loop_now_ms() + 10000;
	while (es_job_count() > 0 && es_loop_now_ms() < end) {
		es_loop_turn(e->loop, 10);
	}
	assert_int_equal(es_job_count(), 0);
	assert_false(e->done);
	assert_int_equal(e->freed, 1);
	free(s);
}

static void orphan_of_a_finished_job_frees_it(void **state)
{
	struct env *e = *state;
	struct seen s = {.e = e};
	struct es_job *job = NULL;

	atomic_store(&s.release, true);
	assert_int_equal(es_job_start(e->loop, e->owner, patient_job, &s, arg_free, on_progress,
	                              on_done, e, &job),
	                 ES_OK);
	/* Let it end without turning the owner's loop: nobody has heard. */
	pause_ms(100);
	es_job_orphan(job);
	for (int i = 0; i < 1000 && es_job_count() > 0; i++)
		pause_ms(5);
	assert_int_equal(es_job_count(), 0);
	assert_int_equal(e->freed, 1);
	/* Its pipe is no longer watched: turning the loop tells nothing. */
	es_loop_turn(e->loop, 10);
	assert_false(e->done);
}

static void inline_jobs_run_on_the_loop_and_can_be_orphaned_first(void **state)
{
	struct env *e = *state;
	struct seen s = {.e = e};
	struct es_job *job = NULL;

	es_job_run_inline(true);
	assert_int_equal(es_job_start(e->loop, e->owner, reporting_job, &s, arg_free, on_progress,
	                              on_done, e, &job),
	                 ES_OK);
	run_until_done(e);
	assert_int_equal(e->n_lines, 3);
	/* On the owner's loop, with a client of its own. */
	assert_false(s.own_loop);
	assert_true(s.has_client);
	assert_int_equal(e->freed, 1);

	/* Orphaned before it ran: it never runs. */
	e->done = false;
	e->n_lines = 0;
	assert_int_equal(es_job_start(e->loop, e->owner, reporting_job, &s, arg_free, on_progress,
	                              on_done, e, &job),
	                 ES_OK);
	es_job_orphan(job);
	es_loop_turn(e->loop, 10);
	es_loop_turn(e->loop, 10);
	assert_false(e->done);
	assert_int_equal(e->n_lines, 0);
	assert_int_equal(e->freed, 2);
	assert_int_equal(es_job_count(), 0);
	es_job_run_inline(false);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(progress_then_result_on_the_owner_s_loop),
	        T(failure_arrives_with_its_error),
	        T(cancel_is_seen_between_steps),
	        T(orphan_ends_on_its_own_and_tells_nobody),
	        T(orphan_of_a_finished_job_frees_it),
	        T(inline_jobs_run_on_the_loop_and_can_be_orphaned_first),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
