/* Event loop over curl_multi_poll(): transfers, extra descriptors, timers and
 * idle slices, all on one thread. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "loop.h"

struct fd_watch {
	int fd;
	short events;
	es_fd_fn fn;
	void *ud;
};

struct timer {
	uint64_t id;
	int64_t due;
	es_timer_fn fn;
	void *ud;
};

struct idle {
	es_idle_fn fn;
	void *ud;
};

/* Posted from any thread (under post_mu). */
struct post {
	es_timer_fn fn;
	void *ud;
	struct post *next;
};

struct transfer {
	CURL *easy;
	es_transfer_done_fn done;
	void *ud;
};

struct es_loop {
	CURLM *multi;
	struct fd_watch *fds;
	size_t n_fds, cap_fds;
	struct timer *timers; /* unsorted; few */
	size_t n_timers, cap_timers;
	uint64_t next_timer_id;
	struct idle *idles;
	size_t n_idles, cap_idles;
	size_t idle_next; /* round-robin position */
	struct transfer *xfers;
	size_t n_xfers, cap_xfers;
	unsigned holds; /* es_loop_hold() not yet released */
	pthread_mutex_t post_mu;
	struct post *posts, *posts_tail; /* under post_mu */
	bool stopped;
	bool ui;                 /* it draws the screen: nothing may block it */
	unsigned long ui_blocks; /* synchronous waits made on it */
	es_timer_fn on_block;    /* told of each, before it waits */
	void *on_block_ud;
};

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t c;
	void *p;

	if (need <= *cap)
		return ES_OK;
	c = *cap ? *cap * 2 : 8;
	while (c < need)
		c *= 2;
	p = realloc(*arr, c * size);
	if (!p)
		return es_fail(ES_ENOMEM, "out of memory");
	*arr = p;
	*cap = c;
	return ES_OK;
}

int64_t es_loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool curl_ready;

/* Once per process, whichever thread opens the first loop. */
static void init_curl(void)
{
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct es_loop *es_loop_new(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct es_loop *loop;

	pthread_once(&once, init_curl);
	if (!curl_ready) {
		es_fail(ES_ERR, "libcurl could not be initialised");
		return NULL;
	}
	loop = calloc(1, sizeof(*loop));
	if (!loop) {
		es_fail(ES_ENOMEM, "out of memory");
		return NULL;
	}
	loop->multi = curl_multi_init();
	if (!loop->multi) {
		free(loop);
		es_fail(ES_ERR, "libcurl multi handle could not be created");
		return NULL;
	}
	pthread_mutex_init(&loop->post_mu, NULL);
	/* Keep connections to each endpoint alive between polls. */
	curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, 16L);
	return loop;
}

void es_loop_free(struct es_loop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->n_xfers; i++)
		curl_multi_remove_handle(loop->multi, loop->xfers[i].easy);
	curl_multi_cleanup(loop->multi);
	while (loop->posts) {
		struct post *next = loop->posts->next;
		free(loop->posts);
		loop->posts = next;
	}
	pthread_mutex_destroy(&loop->post_mu);
	free(loop->fds);
	free(loop->timers);
	free(loop->idles);
	free(loop->xfers);
	free(loop);
}

int es_loop_watch_fd(struct es_loop *loop, int fd, short events, es_fd_fn fn, void *ud)
{
	for (size_t i = 0; i < loop->n_fds; i++) {
		if (loop->fds[i].fd == fd) {
			loop->fds[i] = (struct fd_watch){fd, events, fn, ud};
			return ES_OK;
		}
	}
	if (grow((void **)&loop->fds, &loop->cap_fds, loop->n_fds + 1, sizeof(*loop->fds)))
		return ES_ENOMEM;
	loop->fds[loop->n_fds++] = (struct fd_watch){fd, events, fn, ud};
	return ES_OK;
}

void es_loop_unwatch_fd(struct es_loop *loop, int fd)
{
	for (size_t i = 0; i < loop->n_fds; i++) {
		if (loop->fds[i].fd == fd) {
			loop->fds[i] = loop->fds[--loop->n_fds];
			return;
		}
	}
}

uint64_t es_loop_timer(struct es_loop *loop, long delay_ms, es_timer_fn fn, void *ud)
{
	if (grow((void **)&loop->timers, &loop->cap_timers, loop->n_timers + 1,
	         sizeof(*loop->timers)))
		return 0;
	if (delay_ms < 0)
		delay_ms = 0;
	struct timer *t = &loop->timers[loop->n_timers++];
	t->id = ++loop->next_timer_id;
	t->due = es_loop_now_ms() + delay_ms;
	t->fn = fn;
	t->ud = ud;
	return t->id;
}

void es_loop_timer_cancel(struct es_loop *loop, uint64_t id)
{
	for (size_t i = 0; i < loop->n_timers; i++) {
		if (loop->timers[i].id == id) {
			loop->timers[i] = loop->timers[--loop->n_timers];
			return;
		}
	}
}

int es_loop_post(struct es_loop *loop, es_timer_fn fn, void *ud)
{
	struct post *p = calloc(1, sizeof(*p));

	if (!p)
		return es_fail(ES_ENOMEM, "out of memory");
	p->fn = fn;
	p->ud = ud;
	pthread_mutex_lock(&loop->post_mu);
	if (loop->posts_tail)
		loop->posts_tail->next = p;
	else
		loop->posts = p;
	loop->posts_tail = p;
	pthread_mutex_unlock(&loop->post_mu);
	/* Made for this: safe from any thread, and it ends a wait in
	 * curl_multi_poll() at once. */
	curl_multi_wakeup(loop->multi);
	return ES_OK;
}

bool es_loop_post_cancel(struct es_loop *loop, es_timer_fn fn, void *ud)
{
	struct post **pp, *prev = NULL;
	bool found = false;

	pthread_mutex_lock(&loop->post_mu);
	for (pp = &loop->posts; *pp; prev = *pp, pp = &(*pp)->next) {
		struct post *p = *pp;
		if (p->fn == fn && p->ud == ud) {
			*pp = p->next;
			if (loop->posts_tail == p)
				loop->posts_tail = prev;
			free(p);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&loop->post_mu);
	return found;
}

static bool posts_pending(const struct es_loop *loop)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)&loop->post_mu;
	bool any;

	pthread_mutex_lock(mu);
	any = loop->posts != NULL;
	pthread_mutex_unlock(mu);
	return any;
}

/* Run what was posted before this turn began, one at a time (a callback
 * may withdraw a later post); what callbacks post waits for the next turn. */
static bool run_posts(struct es_loop *loop)
{
	size_t n = 0;
	bool ran = false;

	pthread_mutex_lock(&loop->post_mu);
	for (struct post *p = loop->posts; p; p = p->next)
		n++;
	pthread_mutex_unlock(&loop->post_mu);
	while (n--) {
		pthread_mutex_lock(&loop->post_mu);
		struct post *p = loop->posts;
		if (p) {
			loop->posts = p->next;
			if (!loop->posts)
				loop->posts_tail = NULL;
		}
		pthread_mutex_unlock(&loop->post_mu);
		if (!p)
			break;
		struct post run = *p;
		free(p);
		run.fn(loop, run.ud);
		ran = true;
	}
	return ran;
}

void es_loop_hold(struct es_loop *loop)
{
	loop->holds++;
}

void es_loop_release(struct es_loop *loop)
{
	if (loop->holds)
		loop->holds--;
}

int es_loop_idle(struct es_loop *loop, es_idle_fn fn, void *ud)
{
	if (grow((void **)&loop->idles, &loop->cap_idles, loop->n_idles + 1, sizeof(*loop->idles)))
		return ES_ENOMEM;
	loop->idles[loop->n_idles++] = (struct idle){fn, ud};
	return ES_OK;
}

void es_loop_idle_cancel(struct es_loop *loop, es_idle_fn fn, void *ud)
{
	for (size_t i = 0; i < loop->n_idles; i++) {
		if (loop->idles[i].fn == fn && loop->idles[i].ud == ud) {
			memmove(&loop->idles[i], &loop->idles[i + 1],
			        (loop->n_idles - i - 1) * sizeof(*loop->idles));
			loop->n_idles--;
			return;
		}
	}
}

void *es_loop_multi(struct es_loop *loop)
{
	return loop->multi;
}

int es_loop_add_transfer(struct es_loop *loop, void *easy, es_transfer_done_fn done, void *ud)
{
	if (grow((void **)&loop->xfers, &loop->cap_xfers, loop->n_xfers + 1, sizeof(*loop->xfers)))
		return ES_ENOMEM;
	if (curl_multi_add_handle(loop->multi, easy) != CURLM_OK)
		return es_fail(ES_ERR, "libcurl refused a transfer");
	loop->xfers[loop->n_xfers++] = (struct transfer){easy, done, ud};
	return ES_OK;
}

void es_loop_remove_transfer(struct es_loop *loop, void *easy)
{
	for (size_t i = 0; i < loop->n_xfers; i++) {
		if (loop->xfers[i].easy == easy) {
			curl_multi_remove_handle(loop->multi, easy);
			loop->xfers[i] = loop->xfers[--loop->n_xfers];
			return;
		}
	}
}

int es_loop_transfers(const struct es_loop *loop)
{
	return (int)loop->n_xfers;
}

bool es_loop_is_idle(const struct es_loop *loop)
{
	int64_t now = es_loop_now_ms();

	if (loop->n_xfers || loop->n_idles || loop->holds || posts_pending(loop))
		return false;
	for (size_t i = 0; i < loop->n_timers; i++)
		if (loop->timers[i].due <= now)
			return false;
	return true;
}

/* Milliseconds until the earliest timer, or -1 when there is none. */
static long next_timer_wait(const struct es_loop *loop, int64_t now)
{
	int64_t best = -1;

	for (size_t i = 0; i < loop->n_timers; i++) {
		int64_t d = loop->timers[i].due - now;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return (long)best;
}

static bool run_due_timers(struct es_loop *loop)
{
	int64_t now = es_loop_now_ms();
	bool ran = false;

	/* Callbacks may add or cancel timers: restart the scan after each. */
	for (;;) {
		size_t i;
		for (i = 0; i < loop->n_timers; i++)
			if (loop->timers[i].due <= now)
				break;
		if (i == loop->n_timers)
			return ran;
		struct timer t = loop->timers[i];
		loop->timers[i] = loop->timers[--loop->n_timers];
		t.fn(loop, t.ud);
		ran = true;
	}
}

static bool finish_transfers(struct es_loop *loop)
{
	CURLMsg *msg;
	int left;
	bool any = false;

	while ((msg = curl_multi_info_read(loop->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		int code = msg->data.result;
		for (size_t i = 0; i < loop->n_xfers; i++) {
			if (loop->xfers[i].easy == easy) {
				struct transfer t = loop->xfers[i];
				es_loop_remove_transfer(loop, easy);
				t.done(easy, code, t.ud);
				any = true;
				break;
			}
		}
	}
	return any;
}

static int turn(struct es_loop *loop, long max_wait_ms, bool quiet);

int es_loop_turn(struct es_loop *loop, long max_wait_ms)
{
	return turn(loop, max_wait_ms, false);
}

int es_loop_turn_quiet(struct es_loop *loop, long max_wait_ms)
{
	/* A synchronous call waiting on the loop that draws the screen freezes
	 * it: counted, so the tests can hold the dashboard to none. */
	if (loop->ui) {
		loop->ui_blocks++;
		if (loop->on_block)
			loop->on_block(loop, loop->on_block_ud);
	}
	return turn(loop, max_wait_ms, true);
}

void es_loop_set_ui(struct es_loop *loop, bool ui)
{
	loop->ui = ui;
}

void es_loop_on_ui_block(struct es_loop *loop, es_timer_fn fn, void *ud)
{
	loop->on_block = fn;
	loop->on_block_ud = ud;
}

unsigned long es_loop_ui_blocks(const struct es_loop *loop)
{
	return loop->ui_blocks;
}

static int turn(struct es_loop *loop, long max_wait_ms, bool quiet)
{
	struct curl_waitfd extra[16];
	unsigned n_extra = 0;
	int64_t now = es_loop_now_ms();
	long wait = next_timer_wait(loop, now);
	int running = 0, numfds = 0;
	bool did = false;

	if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
		wait = max_wait_ms;
	if ((loop->n_idles && !quiet) || posts_pending(loop))
		wait = 0;
	if (wait < 0 || wait > 60000)
		wait = 60000;

	for (size_t i = 0; !quiet && i < loop->n_fds && n_extra < 16; i++) {
		extra[n_extra].fd = loop->fds[i].fd;
		extra[n_extra].events = (short)loop->fds[i].events;
		extra[n_extra].revents = 0;
		n_extra++;
	}
	if (curl_multi_poll(loop->multi, extra, n_extra, (int)wait, &numfds) != CURLM_OK)
		return es_fail(ES_ERR, "event loop: curl_multi_poll failed");
	curl_multi_perform(loop->multi, &running);
	did |= finish_transfers(loop);

	for (unsigned i = 0; i < n_extra; i++) {
		if (!extra[i].revents)
			continue;
		/* Look the watcher up again: an earlier callback may have
		 * removed it. */
		for (size_t j = 0; j < loop->n_fds; j++) {
			if (loop->fds[j].fd == extra[i].fd) {
				struct fd_watch w = loop->fds[j];
				w.fn(loop, w.fd, extra[i].revents, w.ud);
				did = true;
				break;
			}
		}
	}
	did |= run_posts(loop);
	did |= run_due_timers(loop);

	if (!did && !quiet && loop->n_idles) {
		if (loop->idle_next >= loop->n_idles)
			loop->idle_next = 0;
		struct idle it = loop->idles[loop->idle_next];
		if (!it.fn(loop, it.ud))
			es_loop_idle_cancel(loop, it.fn, it.ud);
		else
			loop->idle_next++;
	}
	return ES_OK;
}

int es_loop_run(struct es_loop *loop)
{
	loop->stopped = false;
	while (!loop->stopped) {
		int rc = es_loop_turn(loop, -1);
		if (rc)
			return rc;
	}
	return ES_OK;
}

void es_loop_stop(struct es_loop *loop)
{
	loop->stopped = true;
}

bool es_loop_stopped(const struct es_loop *loop)
{
	return loop->stopped;
}

void es_loop_pause(struct es_loop *loop, long ms)
{
	int64_t until = es_loop_now_ms() + ms;
	int64_t left;

	while ((left = until - es_loop_now_ms()) > 0)
		if (es_loop_turn_quiet(loop, (long)left) != ES_OK)
			break;
}
