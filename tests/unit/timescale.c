/* es_loop_timer() with its delay divided (see timescale.h). */
#include "config.h"

#include <stdint.h>

#include "base/loop.h"
#include "timescale.h"

static long factor = 1;

void timescale_set(long f)
{
	factor = f > 0 ? f : 1;
}

uint64_t __real_es_loop_timer(struct es_loop *loop, long delay_ms, es_timer_fn fn, void *ud);
uint64_t __wrap_es_loop_timer(struct es_loop *loop, long delay_ms, es_timer_fn fn, void *ud);

uint64_t __wrap_es_loop_timer(struct es_loop *loop, long delay_ms, es_timer_fn fn, void *ud)
{
	return __real_es_loop_timer(loop, delay_ms / factor, fn, ud);
}
