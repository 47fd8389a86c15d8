/* The event loop: timers in order, descriptors alongside, idle slices only
 * when nothing else is ready, and a stop that stops. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(timers_fire_in_order),
	        cmocka_unit_test(fd_wakes_the_loop),
	        cmocka_unit_test(idle_slices_run_until_done),
	        cmocka_unit_test(quiet_turn_leaves_descriptors_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
