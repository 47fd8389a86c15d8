/* Headless release actions beyond deploy: promote, rollback, revert,
 * invalidate, validate, watch and unlock. Each starts the engine's
 * operation, as the dashboard does, and turns the loop until its outcome. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "action.h"
#include "cmd.h"
#include "base/error.h"
#include "guard_cli.h"
#include "lock.h"
#include "model.h"
#include "ops.h"
#include "replicas.h"
#include "release.h"
#include "report.h"
#include "base/timefmt.h"
#include "validate.h"

static bool refuse_read_only(struct es_cli *cli, const char *command)
{
	if (!cli->read_only)
		return false;
	es_fail(ES_EREFUSED, "--read-only: %s changes something; run without --read-only", command);
	return true;
}

static int start_promote(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, void *arg)
{
	(void)arg;
	return es_promote_start(c->aws, c->conf, cli->to, cli->yes, cli->poll_ms, cli->timeout_s,
	                        on_deploy_event, ui, &ui->d);
}

int es_cmd_promote(struct es_cli *cli)
{
	struct ctx c;
	struct deploy_ui ui = {.cli = cli, .out = progress(cli)};
	int rc;

	if (refuse_read_only(cli, "promote"))
		return es_cli_fail(cli, "promote", ES_EREFUSED);
	if (!cli->to) {
		es_fail(ES_EINVAL,
		        "promote needs --to STAGE, e.g. edgeship promote --to production");
		return es_cli_fail(cli, "promote", ES_EINVAL);
	}
	rc = ctx_open_config(cli, &c);
	if (!rc)
		rc = ctx_known_stage(&c, cli->to);
	if (!rc)
		rc = ctx_open_aws(cli, &c);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "promote", rc);
	}
	ui.confirm_word = cli->to;
	return start_and_run(cli, &c, &ui, "promote", "promotion", start_promote, NULL);
}

static int start_rollback(struct es_cli *cli, struct ctx *c, struct deploy_ui *ui, void *arg)
{
	(void)arg;
	return es_rollback_start(c->aws, c->conf, c->repo, cli->stage, cli->to, cli->yes,
	                         cli->poll_ms, cli->timeout_s, on_deploy_event, ui, &ui->d);
}

int es_cmd_rollback(struct es_cli *cli)
{
	struct ctx c;
	struct deploy_ui ui = {.cli = cli, .out = progress(cli)};
	int rc;

	if (refuse_read_only(cli, "rollback"))
		return es_cli_fail(cli, "rollback", ES_EREFUSED);
	if (!cli->stage || !cli->to) {
		es_fail(ES_EINVAL, "rollback needs --stage NAME --to REV, e.g. edgeship rollback "
		                   "--stage production --to HEAD~1");
		return es_cli_fail(cli, "rollback", ES_EINVAL);
	}
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "rollback", rc);
	}
	ui.confirm_word = cli->stage;
	return start_and_run(cli, &c, &ui, "rollback", "rollback", start_rollback, NULL);
}

/* ------------------------------------------------------------ background actions */

/* A command waiting for one action (core/action.h): the action's done
 * callback reports and sets the exit code; the command turns its loop
 * until then. */
struct waiter {
	struct es_cli *cli;
	const char *command;
	bool done;
	int exit_code;
	char commit[41];            /* revert */
	struct es_invalidation inv; /* invalidate */
	bool polled;                /* the last poll of inv answered */
};

/* The outcome failed: report it as the command's failure. */
static bool failed(struct waiter *w, const struct es_action_outcome *o)
{
	w->done = true;
	if (o->rc == ES_OK)
		return false;
	es_error_restore(o->err);
	w->exit_code = es_cli_fail(w->cli, w->command, o->rc);
	return true;
}

/* Wait for the action whose start returned rc to end; frees c. The exit
 * code. */
static int wait_for(struct waiter *w, struct ctx *c, int rc)
{
	if (!rc && (rc = es_action_wait(c->loop, &w->done)) != ES_OK)
		/* The loop broke while the job runs, reading c's configuration:
		 * leave c be, the process ends here. */
		return es_cli_fail(w->cli, w->command, rc);
	ctx_free(c);
	return rc ? es_cli_fail(w->cli, w->command, rc) : w->exit_code;
}

static void revert_done(const struct es_action_outcome *o, void *ud)
{
	struct waiter *w = ud;

	if (failed(w, o))
		return;
	snprintf(w->commit, sizeof(w->commit), "%s", o->commit);
	es_fprintf(progress(w->cli), "committed %.7s: revert of %s\n", o->commit, o->rev);
	w->exit_code = ES_EXIT_OK;
}

int es_cmd_revert(struct es_cli *cli)
{
	struct ctx c;
	struct waiter w = {.cli = cli, .command = "revert"};
	int rc;

	if (refuse_read_only(cli, "revert"))
		return es_cli_fail(cli, "revert", ES_EREFUSED);
	if (!cli->rev) {
		es_fail(ES_EINVAL, "revert needs a commit, e.g. edgeship revert HEAD");
		return es_cli_fail(cli, "revert", ES_EINVAL);
	}
	rc = ctx_open(cli, &c, cli->deploy);
	if (!rc && !c.loop && !(c.loop = es_loop_new()))
		rc = ES_ERR;
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "revert", rc);
	}
	rc = es_action_revert(c.loop, c.repo, cli->rev, revert_done, &w, NULL);
	if (!rc)
		rc = es_action_wait(c.loop, &w.done);
	if (rc || w.exit_code != ES_EXIT_OK) {
		ctx_free(&c);
		return rc ? es_cli_fail(cli, "revert", rc) : w.exit_code;
	}
	if (!cli->deploy) {
		if (cli->json) {
			const char *kv[] = {"commit", w.commit, NULL};
			char *j = es_report_ok_json("revert", kv);
			if (j)
				puts(j);
			free(j);
		}
		ctx_free(&c);
		return ES_EXIT_OK;
	}
	const struct es_stage_conf *first = es_config_first_stage(c.conf);
	struct deploy_ui ui = {.cli = cli, .out = progress(cli)};
	ui.interactive = can_ask();
	struct es_deploy_request req = {
	        .conf = c.conf,
	        .repo = c.repo,
	        .rev = w.commit,
	        .stage = first->name,
	        .yes = cli->yes,
	        .poll_ms = cli->poll_ms,
	        .timeout_s = cli->timeout_s,
	};
	rc = es_deploy_start(c.aws, &req, on_deploy_event, &ui, &ui.d);
	if (rc) {
		es_deploy_free(ui.d);
		ctx_free(&c);
		return es_cli_fail(cli, "revert", rc);
	}
	rc = run_deploy(cli, &c, &ui, "deploy");
	ctx_free(&c);
	return rc;
}

static void invalidate_done(const struct es_action_outcome *o, void *ud)
{
	struct waiter *w = ud;

	if (failed(w, o))
		return;
	w->inv = *o->invalidation;
	es_fprintf(progress(w->cli), "invalidation %s on %s: %s (caller reference %s)\n", w->inv.id,
	           w->inv.distribution_id, w->inv.status, w->inv.caller_reference);
	w->exit_code = ES_EXIT_OK;
}

static void poll_done(const struct es_action_outcome *o, void *ud)
{
	struct waiter *w = ud;

	w->done = true;
	w->polled = o->rc == ES_OK;
	if (o->rc != ES_OK) {
		char line[600];
		es_fprintf(progress(w->cli), "polling: %s (trying again)\n",
		           es_error_format(o->err, line, sizeof(line)));
		return;
	}
	w->inv = *o->invalidation;
}

int es_cmd_invalidate(struct es_cli *cli)
{
	struct ctx c;
	struct waiter w = {.cli = cli, .command = "invalidate"};
	FILE *out = progress(cli);
	int rc;

	if (refuse_read_only(cli, "invalidate"))
		return es_cli_fail(cli, "invalidate", ES_EREFUSED);
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "invalidate", rc);
	}
	const struct es_stage_conf *first = es_config_first_stage(c.conf);
	const char *stage = cli->stage ? cli->stage : first ? first->name : "";
	/* Bad paths are refused before the question: no answer would help. */
	if (cli->n_args && (rc = es_invalidation_check_paths((const char *const *)cli->args,
	                                                     (size_t)cli->n_args))) {
		ctx_free(&c);
		return es_cli_fail(cli, "invalidate", rc);
	}
	if (!cli->yes) {
		char paths[300] = "/*", q[400];
		size_t len = 0;
		for (int i = 0; i < cli->n_args && len < sizeof(paths); i++)
			len += (size_t)snprintf(paths + len, sizeof(paths) - len, "%s%s",
			                        i ? " " : "", cli->args[i]);
		snprintf(q, sizeof(q), "Invalidate %s in %s's CloudFront cache?", paths, stage);
		if (!ask(out, can_ask(), q, NULL)) {
			ctx_free(&c);
			es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", stage);
			return es_cli_fail(cli, "invalidate", ES_ECANCELLED);
		}
	}
	rc = es_action_invalidate(c.aws, c.conf, stage, (const char *const *)cli->args,
	                          (size_t)cli->n_args, invalidate_done, &w, NULL);
	if (!rc && (rc = es_action_wait(c.loop, &w.done)) != ES_OK)
		return es_cli_fail(cli, "invalidate", rc); /* the job reads c.conf: keep it */
	if (rc || w.exit_code != ES_EXIT_OK) {
		ctx_free(&c);
		return rc ? es_cli_fail(cli, "invalidate", rc) : w.exit_code;
	}
	double start = es_time_now();
	while (cli->wait && strcmp(w.inv.status, "Completed") != 0) {
		double until = es_time_now() + (cli->poll_ms > 0 ? cli->poll_ms : 3000) / 1000.0;
		while (es_time_now() < until)
			es_loop_turn(c.loop, 200);
		w.done = false;
		/* A poll reads only its own copy of inv: c may go at any time. */
		rc = es_action_poll_invalidation(c.aws, &w.inv, poll_done, &w, NULL);
		if (rc || (rc = es_action_wait(c.loop, &w.done))) {
			ctx_free(&c);
			return es_cli_fail(cli, "invalidate", rc);
		}
		if (!w.polled)
			continue; /* poll_done said why */
		char took[32];
		es_fprintf(out, "invalidation %s: %s after %s\n", w.inv.id, w.inv.status,
		           es_duration_format(es_time_now() - start, took, sizeof(took)));
		fflush(out);
	}
	if (cli->json) {
		const char *kv[] = {"id",
		                    w.inv.id,
		                    "status",
		                    w.inv.status,
		                    "distribution_id",
		                    w.inv.distribution_id,
		                    "caller_reference",
		                    w.inv.caller_reference,
		                    NULL};
		char *j = es_report_ok_json("invalidate", kv);
		if (j)
			puts(j);
		free(j);
	}
	ctx_free(&c);
	return ES_EXIT_OK;
}

static void print_validation(const struct es_validation *v, const char *stage)
{
	for (size_t i = 0; i < v->n_checks; i++) {
		const struct es_check_run *k = &v->checks[i];
		es_printf("%s %-20s %3ld %7.1f ms  %d/%d ok  %s\n",
		          k->result.passed ? "pass" : "FAIL", k->result.name, k->result.status,
		          k->result.latency_ms, k->n_ok, k->n_samples, k->url);
		if (k->n_samples == 0)
			es_printf("     %s\n", k->result.detail);
		/* Which samples failed, and why. */
		for (int s = 0; s < k->n_samples; s++)
			if (!k->samples[s].ok)
				es_printf("     sample %d: %s\n", s + 1, k->samples[s].why);
	}
	if (v->n_checks == 0)
		es_printf("no [check] applies to stage %s: add one to %s\n", stage, ES_CONFIG_FILE);
	es_printf("%s: validation %s for release %s (stack %s", stage,
	          v->passed ? "passed" : "failed", v->release, v->stack_status);
	if (v->distribution_id[0])
		es_printf(", distribution %s %s", v->distribution_id, v->distribution_status);
	es_printf("), recorded as #%ld\n", v->seq);
	if (v->passed && v->distribution_id[0] && strcmp(v->distribution_status, "Deployed") != 0)
		es_printf("note: the distribution was %s, so this validation does not count "
		          "for promotion: validate again once it is Deployed\n",
		          v->distribution_status);
}

static void validate_done(const struct es_action_outcome *o, void *ud)
{
	struct waiter *w = ud;

	if (failed(w, o))
		return;
	if (w->cli->json) {
		char *j = es_validation_json(o->validation);
		if (j)
			puts(j);
		free(j);
	} else {
		print_validation(o->validation, o->stage);
	}
	w->exit_code = o->validation->passed ? ES_EXIT_OK : ES_EXIT_FAILURE;
}

int es_cmd_validate(struct es_cli *cli)
{
	struct ctx c;
	struct waiter w = {.cli = cli, .command = "validate"};
	int rc = ctx_open(cli, &c, true);

	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "validate", rc);
	}
	const struct es_stage_conf *first = es_config_first_stage(c.conf);
	const char *stage = cli->stage ? cli->stage : first ? first->name : "";
	rc = es_action_validate(c.aws, c.conf, stage, validate_done, &w, NULL);
	return wait_for(&w, &c, rc);
}

/* ------------------------------------------------------------ watch */

struct watch {
	struct es_model *m;
	const char *stage;
	size_t printed;
	bool changed;
	char failure_told[32][64]; /* per stage: the *_FAILED status explained */
};

/* A stack that reached a *_FAILED status: the resource that failed and
 * why (its newest failed event), once per status, and what to do. */
static void print_failure(struct watch *w, struct ctx *c, size_t i, bool json)
{
	const struct es_stage_view *v = es_model_stage(w->m, i);
	size_t n = strlen(v->stack_status);
	char resource[128], reason[512];
	/* The call below turns the loop, and the model may change meanwhile. */
	struct es_stage_view *s = malloc(sizeof(*s));

	if (!s)
		return;
	*s = *v;
	if (i >= 32 || n < 7 || strcmp(s->stack_status + n - 7, "_FAILED") != 0 ||
	    strcmp(w->failure_told[i], s->stack_status) == 0) {
		free(s);
		return;
	}
	snprintf(w->failure_told[i], sizeof(w->failure_told[i]), "%s", s->stack_status);
	if (es_stack_failure(es_accounts_stage_client(c->aws, c->conf, i), s->stack, resource,
	                     sizeof(resource), reason, sizeof(reason)) != ES_OK ||
	    !resource[0]) {
		free(s);
		return;
	}
	if (json) {
		const char *kv[] = {"stage",
		                    s->name,
		                    "stack_status",
		                    s->stack_status,
		                    "failed_resource",
		                    resource,
		                    "failed_reason",
		                    reason,
		                    NULL};
		char *j = es_report_ok_json("watch", kv);
		if (j)
			puts(j);
		free(j);
		free(s);
		return;
	}
	es_printf("  failed     %s: %s\n", resource, reason);
	if (strcmp(s->stack_status, "UPDATE_ROLLBACK_FAILED") == 0)
		es_printf("  recover    the rollback failed: `edgeship recover --stage %s [--skip "
		          "%s]`\n",
		          s->name, resource);
	else if (es_replicas_error_is_replicated(reason))
		es_printf("  destroy    its edge replicas remain: `edgeship destroy --stage %s` "
		          "retains the function and finishes the delete\n",
		          s->name);
	free(s);
}

static void on_model(struct es_model *m, unsigned what, void *ud)
{
	struct watch *w = ud;
	(void)m;
	(void)what;
	w->changed = true;
}

static bool settled(const struct watch *w)
{
	for (size_t i = 0; i < es_model_stage_count(w->m); i++) {
		const struct es_stage_view *s = es_model_stage(w->m, i);
		if (w->stage && strcmp(s->name, w->stage) != 0)
			continue;
		if (strcmp(s->stack_status, "UNKNOWN") == 0 || s->busy ||
		    s->propagation == ES_PROP_IN_PROGRESS)
			return false;
		if (s->distribution_id[0] && s->propagation == ES_PROP_UNKNOWN)
			return false;
		/* An action holds the stage: it is preparing, or asking. */
		if (es_stage_locked(s))
			return false;
	}
	return true;
}

/* An activity line about a stage other than the one watched: the model
 * names the stage a line is about first ("production: …"). */
static bool of_another_stage(const struct es_config *conf, const char *stage, const char *text)
{
	for (size_t i = 0; stage && i < conf->n_stages; i++) {
		const char *name = conf->stages[i].name;
		size_t len = strlen(name);
		if (strcmp(name, stage) != 0 && strncmp(text, name, len) == 0 && text[len] == ':' &&
		    text[len + 1] == ' ')
			return true;
	}
	return false;
}

/* The sampled edges on a stage's line: how many serve the new release, and
 * each edge that does not, with its cached object's age when cached. */
static void print_edges(const struct es_stage_view *s)
{
	char age[32];

	if (!s->n_edges)
		return;
	es_printf(" edges %zu/%zu new", s->edges_new, s->n_edges);
	if (s->edges_cached_old)
		es_printf(", %zu cached-old", s->edges_cached_old);
	if (s->edges_bypassed)
		es_printf(" (function new on %zu/%zu, bypassing the cache)", s->edges_fn_new,
		          s->n_edges);
	for (size_t i = 0; i < s->n_edges; i++) {
		const struct es_edge_sample *e = &s->edges[i];
		if (e->state == ES_EDGE_NEW)
			continue;
		es_printf("%s %s %s", i ? ";" : ":", e->pop[0] ? e->pop : e->target,
		          es_edge_state_name(e->state));
		if (e->state == ES_EDGE_CACHED_OLD && e->age_s >= 0)
			es_printf(" age %s",
			          es_duration_format((double)e->age_s, age, sizeof(age)));
	}
}

/* The last word: settled, or settled with stages whose edges still answer
 * old releases from cache, which an invalidation fixes. */
static void print_settled(const struct watch *w, bool json)
{
	size_t n = 0;

	if (json) {
		char *text = es_model_settled_json(w->m, w->stage);
		if (text)
			es_printf("%s\n", text);
		free(text);
		return;
	}
	for (size_t i = 0; i < es_model_stage_count(w->m); i++) {
		const struct es_stage_view *s = es_model_stage(w->m, i);
		if ((w->stage && strcmp(s->name, w->stage) != 0) || !es_stage_settled_with_cache(s))
			continue;
		n++;
		es_printf("%s: Deployed, but %zu edge%s still answer%s from cache with the old "
		          "release: run `edgeship invalidate --stage %s`\n",
		          s->name, s->edges_cached_old, s->edges_cached_old == 1 ? "" : "s",
		          s->edges_cached_old == 1 ? "s" : "", s->name);
	}
	es_printf(n ? "settled with cached edges (not live everywhere until invalidated)\n"
	            : "settled\n");
}

int es_cmd_watch(struct es_cli *cli)
{
	struct ctx c;
	struct watch w = {.stage = cli->stage};
	double last_line = 0;
	int rc = ctx_open(cli, &c, true);

	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "watch", rc);
	}
	rc = es_model_new(c.aws, c.conf, &w.m);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "watch", rc);
	}
	es_model_set_read_only(w.m, cli->read_only);
	es_model_on_change(w.m, on_model, &w);
	struct guard_follow *gf = guard_follow_new(cli, &c, w.m, w.stage);
	bool first_round = true;
	for (;;) {
		es_loop_turn(c.loop, gf ? 200 : 500);
		guard_follow_tick(gf);
		if (gf && !first_round && !guard_follow_busy(gf) && settled(&w))
			break;
		for (; w.printed < es_model_activity_count(w.m); w.printed++) {
			const struct es_activity *a = es_model_activity(w.m, w.printed);
			if (of_another_stage(c.conf, w.stage, a->text))
				continue;
			if (cli->json) {
				char *j = es_model_activity_json(a);
				if (j)
					puts(j);
				free(j);
			} else {
				es_printf("%s\n", a->text);
			}
		}
		if (es_model_busy(w.m) || !w.changed)
			continue;
		w.changed = false;
		double now = es_time_now();
		bool quiet = settled(&w);
		if (first_round || now - last_line >= 5 || quiet) {
			for (size_t i = 0; i < es_model_stage_count(w.m); i++) {
				const struct es_stage_view *s = es_model_stage(w.m, i);
				char el[32], est[32];
				if (w.stage && strcmp(s->name, w.stage) != 0)
					continue;
				if (cli->json) {
					char *j = es_model_stage_json(s);
					if (j)
						puts(j);
					free(j);
					print_failure(&w, &c, i, true);
					continue;
				}
				es_printf("%-12s stack %-22s release %-18s", s->name,
				          s->stack_status, s->release[0] ? s->release : "-");
				if (s->propagation == ES_PROP_IN_PROGRESS)
					es_printf(" distribution InProgress %s (estimate %s)",
					          es_duration_format(s->prop_elapsed_s, el,
					                             sizeof(el)),
					          s->prop_estimate_s < 0
					                  ? "no history yet"
					                  : es_duration_format(s->prop_estimate_s,
					                                       est, sizeof(est)));
				else if (s->propagation == ES_PROP_DEPLOYED)
					es_printf(" distribution Deployed");
				if (s->lock.held) {
					const char *who = strrchr(s->lock.who, '/');
					es_printf(" %s %s by %s since %s",
					          es_stage_locked(s) ? "locked for a"
					                             : "stale lock of a",
					          s->lock.kind[0] ? s->lock.kind : "action",
					          who ? who + 1 : s->lock.who, s->lock.since);
					if (es_stage_locked(s))
						es_printf(" (expires in %s)",
						          es_duration_format(
						                  es_stage_lock_expires_in(s), el,
						                  sizeof(el)));
				}
				print_edges(s);
				if (s->detached)
					es_printf(" detached: its console stopped following");
				else if (s->interrupted)
					es_printf(" interrupted: no outcome recorded");
				if (s->error[0])
					es_printf(" error: %s", s->error);
				es_printf("\n");
				print_failure(&w, &c, i, false);
			}
			if (es_model_connection(w.m)[0] && !cli->json)
				es_printf("%s\n", es_model_connection(w.m));
			last_line = now;
			first_round = false;
		}
		fflush(stdout);
		if (quiet && !guard_follow_busy(gf))
			break;
	}
	print_settled(&w, cli->json);
	guard_follow_free(gf);
	es_model_free(w.m);
	ctx_free(&c);
	return ES_EXIT_OK;
}

static void unlock_done(const struct es_action_outcome *o, void *ud)
{
	struct waiter *w = ud;

	if (failed(w, o))
		return;
	if (w->cli->json) {
		const char *kv[] = {"stage", o->stage, NULL};
		char *j = es_report_ok_json("unlock", kv);
		if (j)
			puts(j);
		free(j);
	} else {
		es_printf("%s unlocked\n", o->stage);
	}
	w->exit_code = ES_EXIT_OK;
}

/* Ask before removing a lock, saying whose it is: one removed under a
 * console that is still working lets a second action run beside its own.
 * No lock, nothing to ask: the unlock itself says so. */
static bool confirm_unlock(struct es_cli *cli, struct ctx *c)
{
	struct es_lock_info l;
	char q[700], lease[96], left[32];

	if (es_lock_read(c->aws, c->conf, cli->stage, &l) != ES_OK) {
		snprintf(q, sizeof(q), "Remove the lock on %s?", cli->stage);
	} else if (!l.held) {
		return true;
	} else {
		if (l.expired)
			snprintf(lease, sizeof(lease), "expired");
		else
			snprintf(lease, sizeof(lease),
			         "its lease runs %s more: that console may still be working",
			         es_duration_format(l.expires_in_s, left, sizeof(left)));
		snprintf(q, sizeof(q), "Remove the %s lock of a %s by %s taken at %s (%s)?",
		         cli->stage, l.kind[0] ? l.kind : "release action",
		         l.who[0] ? l.who : "someone", l.since[0] ? l.since : "an unknown time",
		         lease);
	}
	return ask(progress(cli), can_ask(), q, NULL);
}

int es_cmd_unlock(struct es_cli *cli)
{
	struct ctx c;
	struct waiter w = {.cli = cli, .command = "unlock"};
	int rc;

	if (refuse_read_only(cli, "unlock"))
		return es_cli_fail(cli, "unlock", ES_EREFUSED);
	if (!cli->stage) {
		es_fail(ES_EINVAL, "unlock needs --stage NAME");
		return es_cli_fail(cli, "unlock", ES_EINVAL);
	}
	rc = ctx_open(cli, &c, true);
	if (rc) {
		ctx_free(&c);
		return es_cli_fail(cli, "unlock", rc);
	}
	if (!cli->yes && !confirm_unlock(cli, &c)) {
		ctx_free(&c);
		es_fail(ES_ECANCELLED, "cancelled: nothing was changed in %s", cli->stage);
		return es_cli_fail(cli, "unlock", ES_ECANCELLED);
	}
	rc = es_action_unlock(c.aws, c.conf, cli->stage, unlock_done, &w, NULL);
	return wait_for(&w, &c, rc);
}
