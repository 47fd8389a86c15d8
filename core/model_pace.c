/* The pace of the live model's rounds: soon after a change starts, then
 * backing off, as a deploy follows its stack (core/deploy.c). */
#include "config.h"

#include "model_pace.h"

long es_model_pace(int *looks, bool moving)
{
	long ms;

	if (!moving) {
		*looks = 0;
		return ES_MODEL_PACE_SETTLED_MS;
	}
	ms = ES_MODEL_PACE_FIRST_MS << (*looks < 4 ? *looks : 4);
	(*looks)++;
	return ms < ES_MODEL_PACE_MOVING_MS ? ms : ES_MODEL_PACE_MOVING_MS;
}
