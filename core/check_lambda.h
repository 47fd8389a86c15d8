/* [check] lambda = FUNCTION: a validation check judged by a Lambda
 * function instead of a request.
 *
 * The contract: the function is invoked (RequestResponse) with
 *   {"url": STAGE_URL, "release": RELEASE, "stage": STAGE, "check": NAME}
 * (STAGE_URL is the stage's url, or https://DISTRIBUTION_DOMAIN, with the
 * check's path when it has one) and answers
 *   {"ok": true|false, "message": "what it found"}.
 * The check passes only on "ok": true. A function error (it threw, timed
 * out, or is missing), no answer within the check's timeout, or any other
 * answer is a failure, with the reason as the check's detail. */
#ifndef ES_CHECK_LAMBDA_H
#define ES_CHECK_LAMBDA_H

#include "aws/aws.h"
#include "validate.h"

/* Run the lambda checks among out's checks (es_validation_run left them
 * unsent) against stage sc serving domain, and recompute out->passed. */
int es_check_lambda_run(struct es_aws_client *aws, const struct es_config *conf,
                        const struct es_stage_conf *sc, const char *domain,
                        struct es_validation *out);

#endif
