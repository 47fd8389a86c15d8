/* Jobs: a thread with its own loop and AWS client; messages to the owner go
 * through a queue and a pipe the owner's loop watches, so the owner hears of
 * them between its own turns, never inside one of the job's. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/client.h"
#include "identity.h"
#include "job.h"

struct msg {
	char *text;
	struct msg *next;
};

struct es_job {
	pthread_t thread;
	struct es_loop *owner;
	int pipe[2];
	pthread_mutex_t mu;
	struct msg *head, *tail; /* progress lines not yet delivered (under mu) */
	bool finished;           /* the function returned (under mu) */
	bool orphan;             /* the owner let go (under mu) */
	bool inline_run;         /* runs on the owner's thread (tests) */
	uint64_t inline_timer;
	atomic_bool cancelled;
	es_job_fn fn;
	void *arg;
	void (*arg_free)(void *);
	es_job_progress_fn progress;
	es_job_done_fn done;
	void *ud;
	char *profile, *region;
	bool lazy;
	bool needs_aws;                /* started like a client: open one */
	struct es_caller_identity who; /* the owner's, when known: no second STS ask */
	struct es_loop *loop;
	struct es_aws_client *aws;
	int rc;
	struct es_error err;
};

static atomic_int jobs;
static bool run_inline;

void es_job_run_inline(bool inline_jobs)
{
	run_inline = inline_jobs;
}

int es_job_count(void)
{
	return atomic_load(&jobs);
}

static void job_free(struct es_job *job)
{
	struct msg *m = job->head;

	while (m) {
		struct msg *next = m->next;
		free(m->text);
		free(m);
		m = next;
	}
	if (job->pipe[0] >= 0)
		close(job->pipe[0]);
	if (job->pipe[1] >= 0)
		close(job->pipe[1]);
	pthread_mutex_destroy(&job->mu);
	if (job->arg_free)
		job->arg_free(job->arg);
	free(job->profile);
	free(job->region);
	es_caller_identity_free(&job->who);
	free(job);
	atomic_fetch_sub(&jobs, 1);
}

static void poke(struct es_job *job)
{
	char b = 1;

	/* A full pipe already says "look"; the owner drains it all. */
	if (write(job->pipe[1], &b, 1) < 0 && errno != EAGAIN) {
		/* nothing more can be done from here */
	}
}

static void *run(void *p)
{
	struct es_job *job = p;
	struct es_aws_options o = {
	        .profile = job->profile, .region = job->region, .lazy_credentials = job->lazy};
	bool orphan;

	job->loop = run_inline ? job->owner : es_loop_new();
	if (!job->loop || (job->needs_aws && es_aws_open(job->loop, &o, &job->aws) != ES_OK)) {
		job->rc = es_fail_prefix("starting a background job");
	} else {
		if (job->who.arn)
			es_identity_seed(job->aws, &job->who);
		job->rc = job->fn(job, job->arg);
	}
	if (job->rc)
		es_error_save(&job->err);
	es_aws_client_free(job->aws);
	job->aws = NULL;
	if (!run_inline)
		es_loop_free(job->loop);
	job->loop = NULL;
	pthread_mutex_lock(&job->mu);
	job->finished = true;
	orphan = job->orphan;
	pthread_mutex_unlock(&job->mu);
	if (orphan)
		job_free(job); /* detached: nobody else will */
	else
		poke(job);
	return NULL;
}

static void run_inline_job(struct es_loop *loop, void *ud)
{
	struct es_job *job = ud;

	(void)loop;
	job->inline_timer = 0;
	run(job);
}

static void on_pipe(struct es_loop *loop, int fd, short revents, void *ud)
{
	struct es_job *job = ud;
	char buf[64];
	struct msg *m;
	bool finished;

	(void)revents;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&job->mu);
	m = job->head;
	job->head = job->tail = NULL;
	finished = job->finished;
	pthread_mutex_unlock(&job->mu);
	while (m) {
		struct msg *next = m->next;
		if (job->progress)
			job->progress(m->text, job->ud);
		free(m->text);
		free(m);
		m = next;
	}
	if (!finished)
		return;
	es_loop_unwatch_fd(loop, fd);
	if (!job->inline_run)
		pthread_join(job->thread, NULL);
	if (job->done)
		job->done(job->rc, job->rc ? &job->err : NULL, job->ud);
	job_free(job);
}

int es_job_start(struct es_loop *owner, const struct es_aws_client *like, es_job_fn fn, void *arg,
                 void (*arg_free)(void *), es_job_progress_fn progress, es_job_done_fn done,
                 void *ud, struct es_job **out)
{
	struct es_job *job = calloc(1, sizeof(*job));

	if (out)
		*out = NULL;
	if (!job)
		return es_fail(ES_ENOMEM, "out of memory");
	job->pipe[0] = job->pipe[1] = -1;
	pthread_mutex_init(&job->mu, NULL);
	atomic_fetch_add(&jobs, 1);
	job->owner = owner;
	job->fn = fn;
	job->arg = arg;
	job->progress = progress;
	job->done = done;
	job->ud = ud;
	if (like) {
		const struct es_aws_settings *st = es_aws_settings_of(like);
		const struct es_caller_identity *who = es_identity_cached(like);
		job->profile = st->profile ? strdup(st->profile) : NULL;
		job->region = es_aws_region(like) ? strdup(es_aws_region(like)) : NULL;
		job->lazy = true;
		job->needs_aws = true;
		if (who && who->arn) {
			job->who.arn = strdup(who->arn);
			job->who.account = who->account ? strdup(who->account) : NULL;
			job->who.user_id = who->user_id ? strdup(who->user_id) : NULL;
		}
	}
	if (pipe2(job->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		job_free(job);
		return es_fail(ES_ERR, "cannot start a background job: %s", strerror(errno));
	}
	if (es_loop_watch_fd(owner, job->pipe[0], POLLIN, on_pipe, job) != ES_OK) {
		job_free(job);
		return es_fail_prefix("cannot start a background job");
	}
	/* From here the job owns arg (a failure above leaves it the caller's). */
	job->arg_free = arg_free;
	if (run_inline) {
		job->inline_run = true;
		job->inline_timer = es_loop_timer(owner, 0, run_inline_job, job);
		if (out)
			*out = job;
		return ES_OK;
	}
	int e = pthread_create(&job->thread, NULL, run, job);
	if (e) {
		es_loop_unwatch_fd(owner, job->pipe[0]);
		job->arg_free = NULL;
		job_free(job);
		return es_fail(ES_ERR, "cannot start a background job: %s", strerror(e));
	}
	if (out)
		*out = job;
	return ES_OK;
}

void es_job_cancel(struct es_job *job)
{
	if (job)
		atomic_store(&job->cancelled, true);
}

void es_job_orphan(struct es_job *job)
{
	bool finished;

	if (!job)
		return;
	atomic_store(&job->cancelled, true);
	es_loop_unwatch_fd(job->owner, job->pipe[0]);
	pthread_mutex_lock(&job->mu);
	finished = job->finished;
	job->orphan = !finished;
	pthread_mutex_unlock(&job->mu);
	if (job->inline_run) {
		if (job->inline_timer)
			es_loop_timer_cancel(job->owner, job->inline_timer);
		if (finished || job->inline_timer) {
			job->inline_timer = 0;
			job_free(job);
		}
		return;
	}
	if (finished) {
		pthread_join(job->thread, NULL);
		job_free(job);
	} else {
		pthread_detach(job->thread);
	}
}

struct es_aws_client *es_job_aws(struct es_job *job)
{
	return job->aws;
}

struct es_loop *es_job_loop(struct es_job *job)
{
	return job->loop;
}

bool es_job_cancelled(struct es_job *job)
{
	return atomic_load(&job->cancelled);
}

void es_job_progress(struct es_job *job, const char *fmt, ...)
{
	struct msg *m = calloc(1, sizeof(*m));
	va_list ap;

	if (!m)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m->text, fmt, ap) < 0)
		m->text = NULL;
	va_end(ap);
	if (!m->text) {
		free(m);
		return;
	}
	pthread_mutex_lock(&job->mu);
	if (job->tail)
		job->tail->next = m;
	else
		job->head = m;
	job->tail = m;
	pthread_mutex_unlock(&job->mu);
	poke(job);
}
