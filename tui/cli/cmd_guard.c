/* The error-rate guard in `watch` and `deploy --guard`: figures per period,
 * the breach with its numbers and where it fails, and the decision (a
 * rollback by the guard, or the operator's answer). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/timefmt.h"
#include "guard.h"
#include "guard_cli.h"
#include "guard_model.h"
#include "guard_record.h"
#include "release.h"
#include "signals.h"
#include "status.h"

#define ERRORS_SHOWN 10

struct guard_follow {
	struct es_cli *cli;
	struct ctx *c;
	struct es_model *m;
	struct es_guard *g;
	const char *stage;
	struct es_guard_follow follow;
	time_t printed[ES_GUARD_MAX_STAGES];
	bool stale_said;
	bool json_lines;                  /* watch --json: the figures as JSON lines on stdout */
	uint64_t timer;                   /* deploy --guard: ticks while the deploy is followed */
	bool in_timer;                    /* then breaches wait: saying them takes blocking calls */
	bool breach[ES_GUARD_MAX_STAGES]; /* new breach, not reported yet */
};

static FILE *out_of(const struct guard_follow *f)
{
	return progress(f->cli);
}

static void on_guard(struct es_guard *g, size_t i, unsigned what, void *ud)
{
	struct guard_follow *f = ud;

	(void)g;
	if ((what & ES_GUARD_BREACH) && i < ES_GUARD_MAX_STAGES)
		f->breach[i] = true;
}

static void sync_stages(struct guard_follow *f)
{
	es_guard_follow_model(f->g, &f->follow, f->c->conf, f->m);
}

struct guard_follow *guard_follow_new(struct es_cli *cli, struct ctx *c, struct es_model *m,
                                      const char *stage)
{
	struct guard_follow *f;

	if (!es_guard_any(c->conf, stage) || !(f = calloc(1, sizeof(*f))))
		return NULL;
	if (es_guard_new(c->aws, &f->g)) {
		free(f);
		return NULL;
	}
	f->cli = cli;
	f->c = c;
	f->m = m;
	f->stage = stage;
	f->follow.only = stage;
	f->json_lines = cli->json && cli->argc > 0 && strcmp(cli->argv[0], "watch") == 0;
	es_guard_on_change(f->g, on_guard, f);
	return f;
}

void guard_follow_free(struct guard_follow *f)
{
	if (!f)
		return;
	es_guard_free(f->g);
	free(f);
}

bool guard_follow_busy(const struct guard_follow *f)
{
	double now = es_time_now();

	if (!f)
		return false;
	if (!f->follow.synced_once)
		return true;
	for (size_t i = 0; i < es_guard_count(f->g); i++)
		if (es_guard_watching(f->g, i, now) && !es_guard_stage(f->g, i)->breached)
			return true;
	return false;
}

static void print_figures(struct guard_follow *f)
{
	const char *stale = es_guard_stale(f->g);

	for (size_t i = 0; i < es_guard_count(f->g); i++) {
		const struct es_guard_stage *s = es_guard_stage(f->g, i);
		char line[1024];
		if (!s->n || s->pts[s->n - 1].t <= f->printed[i])
			continue;
		f->printed[i] = s->pts[s->n - 1].t;
		if (f->json_lines) {
			char *j = es_guard_stage_json_text(f->g, i);
			if (j)
				puts(j);
			free(j);
			continue;
		}
		es_guard_line(f->g, i, line, sizeof(line));
		es_fprintf(out_of(f), "guard %s\n", line);
	}
	if (stale && !f->stale_said) {
		char ago[32];
		double last = es_guard_last_ok(f->g);
		es_fprintf(out_of(f), "guard figures stale: %s (last figures %s)\n", stale,
		           last ? es_duration_format(es_time_now() - last, ago, sizeof(ago))
		                : "never");
		es_fprintf(out_of(f), "guard no decision is taken on stale figures\n");
		f->stale_said = true;
	} else if (!stale) {
		f->stale_said = false;
	}
	fflush(out_of(f));
}

/* The regions of the edges the model sampled for stage (else us-east-1). */
static size_t regions_of(const struct guard_follow *f, const char *stage, const char **out,
                         size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < es_model_stage_count(f->m); i++) {
		const struct es_stage_view *s = es_model_stage(f->m, i);
		if (strcmp(s->name, stage) != 0)
			continue;
		for (size_t k = 0; k < s->n_edges && n < max; k++) {
			const char *r = es_guard_pop_region(s->edges[k].pop);
			bool dup = false;
			for (size_t j = 0; r && j < n; j++)
				dup = dup || strcmp(out[j], r) == 0;
			if (r && !dup)
				out[n++] = r;
		}
	}
	if (!n)
		out[n++] = "us-east-1";
	return n;
}

static void print_where_it_fails(struct guard_follow *f, const struct es_guard_stage *s)
{
	const char *regions[16];
	size_t nr = regions_of(f, s->name, regions, 16);
	struct es_log_event *ev = NULL;
	size_t n = 0;
	FILE *o = out_of(f);

	if (es_guard_errors(f->c->aws, s, regions, nr, ERRORS_SHOWN, &ev, &n)) {
		es_fprintf(o, "guard where it fails: CloudWatch Logs unreadable: %s\n",
		           es_error_last()->message);
		return;
	}
	es_fprintf(o, "guard where it fails: %zu recent error%s of %s (CloudWatch Logs, ", n,
	           n == 1 ? "" : "s", s->function);
	for (size_t i = 0; i < nr; i++)
		es_fprintf(o, "%s%s", i ? ", " : "", regions[i]);
	es_fprintf(o, ")\n");
	for (size_t i = 0; i < nr; i++) {
		double err, thr, dur;
		if (es_guard_lambda_figures(f->c->aws, s, regions[i], &err, &thr, &dur) != ES_OK)
			continue;
		es_fprintf(o, "  %-14s Lambda Errors %.0f  Throttles %.0f  Duration %s", regions[i],
		           err, thr, dur < 0 ? "-" : "");
		if (dur >= 0)
			es_fprintf(o, "%.0f ms", dur);
		es_fprintf(o, "\n");
	}
	for (size_t i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)ev[i].time;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		es_fprintf(o, "  %s %-14s %s\n", when, ev[i].region, ev[i].message);
	}
	es_log_events_free(ev, n);
}

/* A new breach: say it with its numbers and where it fails. */
static void report_breach(struct guard_follow *f, const struct es_guard_stage *s)
{
	char text[256];
	double first_err = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->pts[i].rate_5xx > 0 &&
		    (double)(s->pts[i].t + s->set.period_s) > s->rollout_start) {
			first_err = (double)s->pts[i].t;
			break;
		}
	es_guard_breach_text(s, text, sizeof(text));
	if (isatty(STDERR_FILENO))
		fputc('\a', stderr);
	es_fprintf(out_of(f),
	           "guard BREACH %s: %s, detected %.0fs after the first failing period "
	           "began\n",
	           s->name, text, first_err ? s->breach.detected_at - first_err : 0.0);
	print_where_it_fails(f, s);
}

void guard_follow_tick(struct guard_follow *f)
{
	if (!f)
		return;
	sync_stages(f);
	es_guard_poll(f->g, es_guard_interval(f->g));
	print_figures(f);
	if (f->in_timer)
		return;
	for (size_t i = 0; i < es_guard_count(f->g); i++) {
		if (!f->breach[i])
			continue;
		f->breach[i] = false;
		report_breach(f, es_guard_stage(f->g, i));
		if (!f->follow.fixed_rollout) {
			char commit[41], release[80];
			const struct es_guard_stage *s = es_guard_stage(f->g, i);
			if (es_guard_previous_release(f->c->aws, f->c->conf, s->name, commit,
			                              release) == ES_OK)
				es_fprintf(out_of(f),
				           "guard to roll back: edgeship rollback --stage %s --to "
				           "%.12s "
				           "(release %s)\n",
				           s->name, commit, release);
		}
	}
}

/* ------------------------------------------------------------ deploy --guard */

static int roll_back(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, const char *stage,
                     const char *commit)
{
	int rc = es_rollback_start(c->aws, c->conf, c->repo, stage, commit, true, cli->poll_ms,
	                           cli->timeout_s, on_deploy_event, ui, &ui->d);
	if (rc)
		return es_cli_fail(cli, "rollback", rc);
	return run_deploy(cli, c, ui, "rollback");
}

/* The breach of stage: roll back by the guard, or alert and ask. */
static int decide(struct guard_follow *f, struct deploy_ui *ui, const struct es_guard_stage *s)
{
	struct es_cli *cli = f->cli;
	char commit[41], release[80], note[160];
	bool rollback = s->set.action == ES_GUARD_ROLLBACK;
	const char *by = "guard";
	int rc;

	rc = es_guard_previous_release(f->c->aws, f->c->conf, s->name, commit, release);
	if (rc) {
		es_fprintf(ui->out, "guard cannot roll back: %s\n", es_error_last()->message);
		es_guard_record(f->c->aws, f->c->conf, s, "alert", "guard",
		                "no earlier release to roll back to");
		return ES_EXIT_FAILURE;
	}
	snprintf(note, sizeof(note), "back to %.12s (release %s)", commit, release);
	if (!rollback) {
		bool yes = ask(ui->out, can_ask(),
		               "The guard saw a breach. Roll back to the previous release?", NULL);
		by = NULL; /* the operator's identity */
		if (!yes) {
			es_guard_record(f->c->aws, f->c->conf, s, can_ask() ? "declined" : "alert",
			                can_ask() ? NULL : "guard",
			                can_ask() ? "the operator kept the release"
			                          : "no terminal to ask: nothing rolled back");
			es_fprintf(ui->out,
			           "guard: nothing rolled back; to roll back: edgeship rollback "
			           "--stage %s --to %.12s\n",
			           s->name, commit);
			return ES_EXIT_FAILURE;
		}
	}
	rc = es_guard_record(f->c->aws, f->c->conf, s, "rollback", by, note);
	if (rc)
		es_fprintf(ui->out, "guard: the ledger did not take the breach: %s\n",
		           es_error_last()->message);
	es_fprintf(ui->out, "guard: rolling %s back to %.12s (release %s)\n", s->name, commit,
	           release);
	rc = roll_back(cli, f->c, ui, s->name, commit);
	return rc == ES_EXIT_OK ? ES_EXIT_FAILURE : rc;
}

/* While the deploy is followed, the guard already reads the figures: the
 * new release reaches edges before the stack completes. */
static void on_timer(struct es_loop *loop, void *ud)
{
	struct guard_follow *f = ud;

	f->in_timer = true;
	guard_follow_tick(f);
	f->in_timer = false;
	f->timer = es_loop_timer(loop, 200, on_timer, f);
}

int guard_deploy(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, action_start_fn start,
                 void *arg, const char *stage)
{
	struct guard_follow *f = NULL;
	struct es_model *m = NULL;
	double began = es_time_now();
	int rc, code;

	rc = es_model_new(c->aws, c->conf, &m);
	if (rc) {
		ctx_free(c);
		return es_cli_fail(cli, "deploy", rc);
	}
	if (!(f = guard_follow_new(cli, c, m, stage))) {
		es_fprintf(ui->out, "guard: stage %s has no guard-error-rate: nothing to watch\n",
		           stage);
		es_model_free(m);
		ctx_free(c);
		return ES_EXIT_OK;
	}
	f->follow.fixed_rollout = began;
	f->timer = es_loop_timer(c->loop, 200, on_timer, f);
	ui->interactive = can_ask();
	ui->progress_tty = isatty(STDERR_FILENO) && !cli->json;
	ui->command = "deploy";
	rc = start(cli, c, ui, arg);
	bool ran = !rc && ui->d;
	if (rc) {
		es_deploy_free(ui->d);
		ui->d = NULL;
		code = es_cli_fail(cli, "deploy", rc);
	} else {
		code = ran ? run_deploy(cli, c, ui, "deploy") : ES_EXIT_OK;
	}
	es_loop_timer_cancel(c->loop, f->timer);
	f->follow.deploy_ended = es_time_now();
	if (!ran || code != ES_EXIT_OK) {
		guard_follow_free(f);
		es_model_free(m);
		ctx_free(c);
		return code;
	}
	es_fprintf(ui->out, "guard: watching %s's error rate until guard-watch after Deployed\n",
	           stage);
	es_cli_signals_install();
	code = ES_EXIT_OK;
	double limit = began + (double)(cli->timeout_s ? cli->timeout_s : 7200);
	for (;;) {
		es_loop_turn(c->loop, 200);
		guard_follow_tick(f);
		int i = es_guard_find(f->g, stage);
		const struct es_guard_stage *s = i >= 0 ? es_guard_stage(f->g, (size_t)i) : NULL;
		if (s && s->breached) {
			code = decide(f, ui, s);
			break;
		}
		if (s && !guard_follow_busy(f)) {
			if (es_guard_stale(f->g))
				es_fprintf(ui->out,
				           "guard: the watch of %s ended on stale figures (%s): "
				           "nothing "
				           "decided\n",
				           stage, es_guard_stale(f->g));
			else
				es_fprintf(ui->out,
				           "guard: no breach in %s (watched until %lds after "
				           "Deployed)\n",
				           stage, s->set.watch_s);
			break;
		}
		if (es_cli_signal() || es_time_now() > limit) {
			es_fprintf(ui->out, "guard: stopped watching %s\n", stage);
			break;
		}
	}
	guard_follow_free(f);
	es_model_free(m);
	ctx_free(c);
	return code;
}

/* ------------------------------------------------------------ status --json */

char *guard_status_json(struct ctx *c, const struct es_overview *ov)
{
	char *text = es_overview_json(ov), *with;
	struct es_guard *g = NULL;
	bool any = false;

	if (!text || es_guard_new(c->aws, &g))
		return text;
	for (size_t i = 0; i < ov->n; i++) {
		const struct es_stage_status *s = &ov->stages[i];
		const struct es_stage_conf *sc = es_config_stage(c->conf, s->stage);
		struct es_guard_settings set;
		if (!sc || !s->distribution_id[0])
			continue;
		es_guard_settings_of(sc, &set);
		if (set.on && es_guard_watch(g, s->stage, s->distribution_id, "", &set) == ES_OK)
			any = true;
	}
	if (any && es_guard_poll_wait(g) == ES_OK && (with = es_guard_overview_json(text, g))) {
		free(text);
		text = with;
	}
	es_guard_free(g);
	return text;
}
