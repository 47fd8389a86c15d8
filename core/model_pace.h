/* How soon the live model looks again. */
#ifndef ES_MODEL_PACE_H
#define ES_MODEL_PACE_H

#include <stdbool.h>

/* The wait before the next round: while something moves (a stack being
 * changed, a distribution InProgress, invalidations running) 250 ms after
 * the round that saw it, doubling up to 2 s, so that a short change is seen
 * to end soon and a long one is asked no more often than every 2 s; once
 * all is settled, 30 s, and the count starts over. *looks counts the rounds
 * since the movement was first seen. */
long es_model_pace(int *looks, bool moving);

#define ES_MODEL_PACE_FIRST_MS   250L
#define ES_MODEL_PACE_MOVING_MS  2000L
#define ES_MODEL_PACE_SETTLED_MS 30000L

#endif
