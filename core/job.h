/* Work that must not hold up the event loop: a job runs a function on a
 * thread of its own, with a loop and an AWS client of its own, so packaging
 * (git export, zip, hashing) and the requests an action makes before its
 * state machine starts never run on the loop that draws the screen. What the
 * job says (progress lines, its one result) arrives on the owner's loop.
 *
 * Rules for a job function: it touches only what its owner handed it and
 * will not touch until the job is done; it reports through es_job_progress();
 * it looks at es_job_cancelled() between steps. */
#ifndef ES_JOB_H
#define ES_JOB_H

#include <stdbool.h>

#include "aws/aws.h"
#include "base/error.h"
#include "base/loop.h"

struct es_job;

/* Runs on the job's thread; returns an es_status (the last error says why). */
typedef int (*es_job_fn)(struct es_job *job, void *arg);
/* On the owner's loop, in order. */
typedef void (*es_job_progress_fn)(const char *text, void *ud);
/* On the owner's loop, once, after the thread ended; err is NULL on ES_OK. */
typedef void (*es_job_done_fn)(int rc, const struct es_error *err, void *ud);

/* Start fn(job, arg) on a new thread whose AWS client is opened like
 * `like` (its profile and region; who it is, when known, without asking STS
 * again); like NULL: the job needs no AWS and has no client. The job frees
 * itself after done ran, and arg with arg_free (may be NULL) then, or when
 * an orphaned job ends. */
int es_job_start(struct es_loop *owner, const struct es_aws_client *like, es_job_fn fn, void *arg,
                 void (*arg_free)(void *), es_job_progress_fn progress, es_job_done_fn done,
                 void *ud, struct es_job **out);

/* Ask the job to stop at its next step (its result then says so). */
void es_job_cancel(struct es_job *job);
/* Forget the owner: progress and done are no longer called (the thread
 * still ends on its own and frees the job). */
void es_job_orphan(struct es_job *job);

/* ---- for the job function, on its thread */

/* The job's own client and loop (NULL client for a job started without
 * one). */
struct es_aws_client *es_job_aws(struct es_job *job);
struct es_loop *es_job_loop(struct es_job *job);
/* A progress line for the owner (printf format). */
void es_job_progress(struct es_job *job, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
bool es_job_cancelled(struct es_job *job);

/* For unit tests against a scripted transport installed on the owner's
 * loop: jobs then run on the owner's thread, with a client on the owner's
 * loop, as soon as the loop turns (their synchronous calls turn it quietly);
 * progress and the result arrive as they would from a thread. */
void es_job_run_inline(bool inline_jobs);

/* Jobs not yet done, for tests and for waiting at exit. */
int es_job_count(void);

#endif
