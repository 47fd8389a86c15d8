/* The event loop: timers in order, descriptors alongside, idle slices only
 * when nothing else is ready, a stop that stops, posts from other threads
 * that wake it, and synchronous waits on the screen's loop counted and
 * reported. */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/loop.h"

struct rec {
	char order[16];
	int n;
	int64_t at[8];
};

static void mark_a(struct es_loop *l, void *ud)
{
	struct rec *r = ud;
	r->at[r->n] = es_loop_now_ms();
	r->order[r->n++] = 'a';
}

static void mark_b(struct es_loop *l, void *ud)
{
	struct rec *r = ud;
	r->at[r->n] = es_loop_now_ms();
	r->order[r->n++] = 'b';
	es_loop_stop(l);
}

static void timers_fire_in_order(void **state)
{
	struct es_loop *l = es_loop_new();
	struct rec r = {0};
	int64_t t0 = es_loop_now_ms();

	assert_non_null(l);
	es_loop_timer(l, 60, mark_b, &r);
	es_loop_timer(l, 20, mark_a, &r);
	uint64_t cancelled = es_loop_timer(l, 10, mark_b, &r);
	es_loop_timer_cancel(l, cancelled);
	assert_int_equal(es_loop_run(l), 0);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.order, "ab", 2);
	assert_true(r.at[0] - t0 >= 20);
	assert_true(r.at[1] - t0 >= 60);
	es_loop_free(l);
}

static void on_readable(struct es_loop *l, int fd, short revents, void *ud)
{
	int *got = ud;
	char c;
	assert_true(revents & POLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	*got = c;
	es_loop_stop(l);
}

static void write_later(struct es_loop *l, void *ud)
{
	int fd = *(int *)ud;
	assert_int_equal(write(fd, "k", 1), 1);
}

static void fd_wakes_the_loop(void **state)
{
	struct es_loop *l = es_loop_new();
	int p[2], got = 0;

	assert_int_equal(pipe(p), 0);
	es_loop_watch_fd(l, p[0], POLLIN, on_readable, &got);
	es_loop_timer(l, 10, write_later, &p[1]);
	int64_t t0 = es_loop_now_ms();
	es_loop_run(l);
	assert_int_equal(got, 'k');
	/* The pipe woke the poll at once, not at some 1 s tick. */
	assert_true(es_loop_now_ms() - t0 < 900);
	es_loop_unwatch_fd(l, p[0]);
	close(p[0]);
	close(p[1]);
	es_loop_free(l);
}

static int slices;

static bool slice(struct es_loop *l, void *ud)
{
	slices++;
	if (slices == 5) {
		es_loop_stop(l);
		return false;
	}
	return true;
}

static void idle_slices_run_until_done(void **state)
{
	struct es_loop *l = es_loop_new();

	slices = 0;
	es_loop_idle(l, slice, NULL);
	assert_false(es_loop_is_idle(l));
	es_loop_run(l);
	assert_int_equal(slices, 5);
	assert_true(es_loop_is_idle(l));
	es_loop_free(l);
}

static void count_fd(struct es_loop *l, int fd, short revents, void *ud)
{
	char c;
	(void)l;
	(void)revents;
	assert_int_equal(read(fd, &c, 1), 1);
	(*(int *)ud)++;
}

static void count_timer(struct es_loop *l, void *ud)
{
	(void)l;
	(*(int *)ud)++;
}

/* Inside an action, a synchronous wait must not handle a key. */
static void quiet_turn_leaves_descriptors_alone(void **state)
{
	struct es_loop *l = es_loop_new();
	int p[2], keys = 0, timers = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "k", 1), 1);
	es_loop_watch_fd(l, p[0], POLLIN, count_fd, &keys);
	es_loop_timer(l, 0, count_timer, &timers);
	assert_int_equal(es_loop_turn_quiet(l, 50), 0);
	assert_int_equal(keys, 0);
	assert_int_equal(timers, 1);
	assert_int_equal(es_loop_turn(l, 50), 0);
	assert_int_equal(keys, 1);
	es_loop_unwatch_fd(l, p[0]);
	close(p[0]);
	close(p[1]);
	es_loop_free(l);
}

/* ------------------------------------------------------------ posts */

struct poster {
	struct es_loop *loop;
	int ran;
	pthread_t from; /* the thread the posted function ran on */
};

static void posted(struct es_loop *l, void *ud)
{
	struct poster *p = ud;
	p->ran++;
	p->from = pthread_self();
	es_loop_stop(l);
}

static void *post_later(void *ud)
{
	struct poster *p = ud;
	usleep(50 * 1000);
	es_loop_post(p->loop, posted, p);
	return NULL;
}

/* Another thread's post wakes a loop waiting with no timer at all, and
 * runs on the loop's thread. */
static void post_from_a_thread_wakes_the_loop(void **state)
{
	struct poster p = {.loop = es_loop_new()};
	pthread_t t;

	(void)state;
	assert_non_null(p.loop);
	int64_t t0 = es_loop_now_ms();
	assert_int_equal(pthread_create(&t, NULL, post_later, &p), 0);
	assert_int_equal(es_loop_run(p.loop), 0);
	pthread_join(t, NULL);
	assert_int_equal(p.ran, 1);
	assert_true(pthread_equal(p.from, pthread_self()));
	assert_true(es_loop_now_ms() - t0 < 900);
	assert_true(es_loop_is_idle(p.loop));
	es_loop_free(p.loop);
}

static void count_post(struct es_loop *l, void *ud)
{
	(void)l;
	(*(int *)ud)++;
}

/* Posts run in quiet turns too (a synchronous wait needs them), in order;
 * a withdrawn one never runs; the loop is not idle while one waits. */
static void posts_run_in_quiet_turns_and_can_be_withdrawn(void **state)
{
	struct es_loop *l = es_loop_new();
	int a = 0, b = 0;

	(void)state;
	assert_int_equal(es_loop_post(l, count_post, &a), 0);
	assert_int_equal(es_loop_post(l, count_post, &b), 0);
	assert_int_equal(es_loop_post(l, count_post, &a), 0);
	assert_false(es_loop_is_idle(l));
	assert_true(es_loop_post_cancel(l, count_post, &b));
	assert_false(es_loop_post_cancel(l, count_post, &b));
	int64_t t0 = es_loop_now_ms();
	assert_int_equal(es_loop_turn_quiet(l, 5000), 0);
	assert_true(es_loop_now_ms() - t0 < 1000); /* pending posts do not wait */
	assert_int_equal(a, 2);
	assert_int_equal(b, 0);
	assert_true(es_loop_is_idle(l));
	/* Dropped uncalled when the loop goes. */
	assert_int_equal(es_loop_post(l, count_post, &b), 0);
	es_loop_free(l);
	assert_int_equal(b, 0);
}

/* Work held elsewhere keeps the loop from looking idle (script mode
 * would otherwise feed the next key while credentials are resolved). */
static void a_hold_is_not_idle(void **state)
{
	struct es_loop *l = es_loop_new();

	(void)state;
	assert_true(es_loop_is_idle(l));
	es_loop_hold(l);
	es_loop_hold(l);
	assert_false(es_loop_is_idle(l));
	es_loop_release(l);
	assert_false(es_loop_is_idle(l));
	es_loop_release(l);
	assert_true(es_loop_is_idle(l));
	es_loop_release(l); /* one too many does not wrap */
	assert_true(es_loop_is_idle(l));
	es_loop_hold(l);
	assert_false(es_loop_is_idle(l));
	es_loop_free(l);
}

/* ------------------------------------------------------------ the screen's loop */

static void on_block(struct es_loop *l, void *ud)
{
	int *n = ud;
	/* told before it waits, the count already raised */
	assert_int_equal(es_loop_ui_blocks(l), (unsigned long)*n + 1);
	(*n)++;
}

/* Synchronous waits on the screen's loop are counted and reported to the
 * front end (which makes them fatal in tests); ordinary turns and other
 * loops' waits are not. */
static void ui_blocks_are_counted_and_reported(void **state)
{
	struct es_loop *l = es_loop_new(), *job = es_loop_new();
	int told = 0, told_job = 0;

	(void)state;
	es_loop_on_ui_block(l, on_block, &told);
	es_loop_on_ui_block(job, on_block, &told_job);
	assert_int_equal(es_loop_turn_quiet(l, 0), 0);
	assert_int_equal(es_loop_ui_blocks(l), 0); /* not marked yet */
	assert_int_equal(told, 0);
	es_loop_set_ui(l, true);
	assert_int_equal(es_loop_turn(l, 0), 0);
	assert_int_equal(es_loop_ui_blocks(l), 0); /* an ordinary turn is no block */
	assert_int_equal(es_loop_turn_quiet(l, 0), 0);
	assert_int_equal(es_loop_turn_quiet(l, 0), 0);
	assert_int_equal(es_loop_ui_blocks(l), 2);
	assert_int_equal(told, 2);
	assert_int_equal(es_loop_turn_quiet(job, 0), 0); /* a job's loop may wait */
	assert_int_equal(told_job, 0);
	es_loop_on_ui_block(l, NULL, NULL);
	assert_int_equal(es_loop_turn_quiet(l, 0), 0);
	assert_int_equal(es_loop_ui_blocks(l), 3);
	assert_int_equal(told, 2);
	es_loop_free(l);
	es_loop_free(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(timers_fire_in_order),
	        cmocka_unit_test(fd_wakes_the_loop),
	        cmocka_unit_test(idle_slices_run_until_done),
	        cmocka_unit_test(quiet_turn_leaves_descriptors_alone),
	        cmocka_unit_test(post_from_a_thread_wakes_the_loop),
	        cmocka_unit_test(posts_run_in_quiet_turns_and_can_be_withdrawn),
	        cmocka_unit_test(a_hold_is_not_idle),
	        cmocka_unit_test(ui_blocks_are_counted_and_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
