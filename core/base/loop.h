/* The single-threaded event loop: one curl multi handle polled together with
 * extra descriptors (stdin, a signal self-pipe), one-shot timers and idle
 * slices, so nothing slow ever blocks a keypress. */
#ifndef ES_LOOP_H
#define ES_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct es_loop;

typedef void (*es_fd_fn)(struct es_loop *loop, int fd, short revents, void *ud);
typedef void (*es_timer_fn)(struct es_loop *loop, void *ud);
/* An idle slice does a bounded piece of work; it returns true while more
 * remains (it is then called again on a later turn) and false when done. */
typedef bool (*es_idle_fn)(struct es_loop *loop, void *ud);

/* Create a loop (owns a curl multi handle). Returns NULL on failure. */
struct es_loop *es_loop_new(void);
void es_loop_free(struct es_loop *loop);

/* Watch fd for poll(2) events (POLLIN, …). One watcher per fd. */
int es_loop_watch_fd(struct es_loop *loop, int fd, short events, es_fd_fn fn, void *ud);
void es_loop_unwatch_fd(struct es_loop *loop, int fd);

/* Run fn once after delay_ms. Returns a timer id (> 0) or 0 on failure. */
uint64_t es_loop_timer(struct es_loop *loop, long delay_ms, es_timer_fn fn, void *ud);
void es_loop_timer_cancel(struct es_loop *loop, uint64_t id);

/* Run fn(loop, ud) on the loop's thread at its next turn, quiet turns
 * included, in the order posted. The one loop function any thread may call:
 * it wakes the loop if it is waiting. Returns ES_OK or ES_ENOMEM. A post
 * still pending when the loop is freed is dropped uncalled. */
int es_loop_post(struct es_loop *loop, es_timer_fn fn, void *ud);
/* Withdraw a pending post of fn with ud (on the loop's thread): true when
 * there was one, which then never runs. */
bool es_loop_post_cancel(struct es_loop *loop, es_timer_fn fn, void *ud);

/* Work going on elsewhere (a thread) that will post back: while any is
 * held, the loop is not idle. Both on the loop's thread. */
void es_loop_hold(struct es_loop *loop);
void es_loop_release(struct es_loop *loop);

/* Call fn on turns when nothing else is ready, until it returns false. */
int es_loop_idle(struct es_loop *loop, es_idle_fn fn, void *ud);
void es_loop_idle_cancel(struct es_loop *loop, es_idle_fn fn, void *ud);

/* One turn: wait at most max_wait_ms (−1: until something happens) for
 * transfers, descriptors or timers; dispatch what is ready; run one idle
 * slice when nothing was. Returns ES_OK or an error status. */
int es_loop_turn(struct es_loop *loop, long max_wait_ms);

/* A turn for a synchronous call that waits inside someone else's callback:
 * transfers and timers run, but descriptors (the keyboard) and idle slices
 * wait, so no key is handled in the middle of an action. */
int es_loop_turn_quiet(struct es_loop *loop, long max_wait_ms);
/* Quiet turns for ms milliseconds (transfers and timers, such as a held
 * lock's renewal, go on); earlier when a turn fails. */
void es_loop_pause(struct es_loop *loop, long ms);

/* Mark the loop that draws the screen: every es_loop_turn_quiet() on it
 * (what a synchronous call waits with, freezing the screen meanwhile) is
 * counted, so tests can hold the dashboard to none. */
void es_loop_set_ui(struct es_loop *loop, bool ui);
unsigned long es_loop_ui_blocks(const struct es_loop *loop);
/* Call fn(loop, ud) on each such wait, counted, before it waits (NULL:
 * none): the dashboard makes it fatal under ES_ASSERT_NO_UI_BLOCK. */
void es_loop_on_ui_block(struct es_loop *loop, es_timer_fn fn, void *ud);

/* Turn until es_loop_stop() is called. */
int es_loop_run(struct es_loop *loop);
void es_loop_stop(struct es_loop *loop);
bool es_loop_stopped(const struct es_loop *loop);

/* True when no transfer, post, hold, timer due within the next turn or
 * idle slice is pending: used by script mode to feed the next key only
 * when idle. */
bool es_loop_is_idle(const struct es_loop *loop);
/* Number of transfers in flight. */
int es_loop_transfers(const struct es_loop *loop);

/* Monotonic milliseconds. */
int64_t es_loop_now_ms(void);

/* For core/http.c only: the multi handle and transfer bookkeeping. */
void *es_loop_multi(struct es_loop *loop);
typedef void (*es_transfer_done_fn)(void *easy, int curl_code, void *ud);
int es_loop_add_transfer(struct es_loop *loop, void *easy, es_transfer_done_fn done, void *ud);
void es_loop_remove_transfer(struct es_loop *loop, void *easy);

#endif
