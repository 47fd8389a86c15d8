/* Faster loop timers for tests that wait on long ones (a lock renews every
 * 45 s): a test program linked with -Wl,--wrap=es_loop_timer and
 * tests/unit/timescale.c has every timer delay divided by the factor set
 * here (1 until then). */
#ifndef ES_TIMESCALE_H
#define ES_TIMESCALE_H

void timescale_set(long factor);

#endif
