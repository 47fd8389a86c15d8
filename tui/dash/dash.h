/* The running dashboard's state, shared by dashboard.c (setup, event loop,
 * keys, live data), actions_ask.c and actions.c (the mutating flows). */
#ifndef ES_DASH_H
#define ES_DASH_H

#include <stdbool.h>
#include <stdint.h>

#include "action.h"
#include "aws/aws.h"
#include "cli/cli.h"
#include "conf.h"
#include "deploy.h"
#include "dialog.h"
#include "job.h"
#include "pipeline.h"
#include "keymap.h"
#include "base/loop.h"
#include "model.h"
#include "notify.h"
#include "pager.h"
#include "release.h"
#include "repo.h"
#include "script.h"
#include "view.h"

#define ES_DASH_DIALOGS  4
#define ES_DASH_ACTIVITY 300
/* How long quitting waits for a detaching deploy to record its outcome and
 * release the lock. */
#define ES_DASH_QUIT_WAIT_MS 20000

/* What a chain of dialogs is about to do. */
struct es_pending {
	enum es_request req;
	int stage; /* index into conf->stages */
	char oid[41];
	char paths[512]; /* invalidation paths, space separated */
	int offer;       /* what a refusal offers instead (actions_ask.c) */
	bool by_guard;   /* the error-rate guard decided it: no question */
};

struct es_dash {
	struct es_cli *cli;
	struct es_repo *repo;
	struct es_config *conf;
	struct es_loop *loop;
	struct es_aws_client *aws;
	struct es_model *model;
	struct es_history *hist_iter;
	struct es_history_list history;
	struct es_keymap keymap;
	struct es_ui ui;
	struct es_pager *pager;
	struct es_ledger_view *ledger; /* the ledger view (L), under the pager */
	struct es_attn *attn;          /* bell, notifications (notify.c) */
	struct dash_guard *guard;      /* the error-rate guard (guard_dash.c) */
	bool guard_off;                /* no stage is guarded */
	struct es_dialog *dialogs[ES_DASH_DIALOGS];
	int n_dialogs;
	struct es_script *script;
	int64_t script_wait_until;
	int64_t script_idle_since;
	/* The demo's story (ES_SCRIPT_HANDOVER on a terminal): a key typed
	 * during it, or its end, hands the console to the person watching. */
	bool script_handover;
	struct es_pending pending;
	/* the running deploy (deploy, promotion, rollback) */
	struct es_deploy *deploy;
	char deploy_stage[64];
	char deploy_kind[16];
	bool deploy_done;
	bool deploy_seen_event; /* the running action's first stack event arrived */
	char **changes;         /* the change set preview, one line each */
	size_t n_changes;
	/* an invalidation being followed */
	struct es_invalidation inv;
	bool inv_active;
	uint64_t inv_timer;
	struct es_action *jobs[8]; /* validations, invalidations, reverts running */
	struct es_job *pl_job;     /* reading or changing the pipeline (view_pipeline.c) */
	bool pl_loading;
	struct es_pl_status *pl_status; /* what the pipeline view shows, NULL before */
	struct es_job *cn_job;          /* reading or changing a canary (view_canary.c) */
	bool cn_loading;
	char cn_stage[64]; /* the stage the canary view shows */
	size_t n_jobs;
	/* The panes read the model through ui.source. Until it exists (and
	 * when it cannot: no edgeship.conf, no AWS) they read these instead:
	 * the configured stages by name, and what was logged so far (handed
	 * to the model when it starts). */
	struct es_stage_view *conf_stages;
	size_t n_conf_stages;
	struct es_activity early_log[ES_DASH_ACTIVITY];
	size_t n_early_log;
	/* status line strings */
	/* account: the one account, or each stage's when they differ */
	char app[128], identity[256], account[192], region[48], endpoint[256];
	char credentials[512], conf_note[1400];
	int sig_pipe[2];
	bool quit, dirty, resized;
	/* Leaving once the running actions have ended (a deploy detached). */
	bool quitting;
	bool quit_asked;     /* the question "quit while a deploy runs or is queued?" is open */
	char exit_note[512]; /* said on stderr once the screen is gone, "" none */
	int64_t quit_deadline;
	int exit_code;
	FILE *timing; /* ES_TIMING: when frames reach the terminal */
	int64_t start_ms, key_ms;
	int keys_undrawn;    /* keys read since the last frame (ES_TIMING) */
	bool resize_undrawn; /* a resize not drawn yet (ES_TIMING) */
	bool signal_undrawn; /* Ctrl-C, SIGTERM or SIGHUP not drawn yet (ES_TIMING) */
	bool first_frame_done;
	int history_slices;
	/* What HEAD and the refs looked like at the last history load: the
	 * tick reloads the history when it changes. */
	char head_stamp[1024];
	char hist_keep[41]; /* the commit selected before a reload, "" none */
	/* A deploy waiting for its stage to settle (rule 2): it starts by
	 * itself once the distribution reports Deployed. */
	struct {
		bool active;
		int stage;
		char oid[41];
		double since;
	} queued;
	/* The low-rate retry of `edgeship cleanup` (cleanup.c). */
	struct es_action *cleanup;
	uint64_t cleanup_timer;
	bool cleanup_first;            /* the first try has not started yet */
	long long cleanup_first_until; /* when it starts, ready or not (loop ms) */
	size_t cleanup_said;           /* functions last said to be waiting (not said again) */
	/* Drift checks (drift.c): one at a time, on f and every half hour. */
	struct es_action *drift_job;
	int drift_stage; /* the stage it checks */
	uint64_t drift_timer;
	size_t drift_next; /* the periodic round's next stage */
};

/* A line in the Activity strip (through the model when there is one). */
void es_dash_log(struct es_dash *d, enum es_activity_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A note on the status line (error: drawn as one). */
void es_dash_message(struct es_dash *d, bool error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Show a dialog on top (takes it over); keys typed before it is drawn are
 * dropped. */
void es_dash_push(struct es_dash *d, struct es_dialog *dlg);
/* Drop a key that came before dlg was on the screen, and say so. */
void es_dash_ignore_key(struct es_dash *d, struct es_dialog *dlg, int key);
/* Show the last core error in a message dialog and the activity strip. */
void es_dash_fail(struct es_dash *d, const char *what);
/* Mark loop as the screen's (its synchronous waits are counted) and, with
 * ES_ASSERT_NO_UI_BLOCK set (not "0"), make such a wait abort with its call
 * stack: the dashboard's end-to-end tests run that way. */
void es_dash_guard_loop(struct es_loop *loop);
/* Restart history loading from HEAD (after a revert, R, or when the
 * repository's refs change); the selected commit stays selected. */
void es_dash_reload_history(struct es_dash *d);
/* Reload the history when HEAD or the refs changed since the last load
 * (a commit, pull, reset or branch switch in another terminal). */
void es_dash_watch_history(struct es_dash *d);

/* Retry deleting the functions a destroy retained now and every ten
 * minutes, on a background job (never under --read-only); and stop. */
void es_dash_cleanup_start(struct es_dash *d);
void es_dash_cleanup_free(struct es_dash *d);

/* Check stage (index in the configuration) for drift now, on a background
 * job; start the periodic checks; stop. */
void es_dash_drift_check(struct es_dash *d, size_t stage);
void es_dash_drift_start(struct es_dash *d);
void es_dash_drift_free(struct es_dash *d);

/* The pipeline view (P, view_pipeline.c) and its keys (A approves there,
 * J rejects, T retries, E starts, S stops): 0 when req is not its own. */
unsigned es_pipeline_view_request(struct es_dash *d, enum es_request req);
/* Forget a pipeline read still running (the dashboard is closing). */
void es_pipeline_view_stop(struct es_dash *d);
/* The canary view (c, view_canary.c) and its keys (C starts; in the view A
 * promotes, W widens, K checks, Z discards): 0 when req is not its own. */
unsigned es_canary_view_request(struct es_dash *d, enum es_request req);
void es_canary_view_stop(struct es_dash *d);
/* Mutating requests (D A I V X U): asks, then runs. */
void es_actions_request(struct es_dash *d, enum es_request req);
/* Whether a mutating request may run now (not --read-only, edgeship.conf
 * and AWS there, no action running); says why not on the status line. */
bool es_actions_allowed(struct es_dash *d, enum es_request req);
/* Every second: start a queued deploy once its stage has settled. */
void es_actions_tick(struct es_dash *d);
/* Free the finished deploy (called from the main loop, never from its
 * own callback). */
void es_actions_reap(struct es_dash *d);
void es_actions_free(struct es_dash *d);
/* Whether an action is under way (a deploy, a validation, an invalidation). */
bool es_actions_running(const struct es_dash *d);
/* Leave the dashboard: at once when nothing runs; else, with ask, a running
 * or queued deploy asks first (default No); a queued deploy is dropped
 * (nothing of it was sent: said in the Activity and on leaving); a running
 * one detaches (cancelled before the change
 * set runs, `detached` after: its outcome recorded and the lock released),
 * and the dashboard leaves once that is done (at most ES_DASH_QUIT_WAIT_MS). */
void es_actions_quit(struct es_dash *d, bool ask);
/* Called from the main loop: whether the leaving is over. */
bool es_actions_quit_ready(struct es_dash *d);

/* Between actions_ask.c (asking) and actions.c (running). */
/* Production, or a stage another promotes into: asks for its name typed. */
bool es_act_guarded_stage(const struct es_config *c, const struct es_stage_conf *s);
/* The stage d->pending goes to, NULL when none. */
/* Ask to roll stage (index into conf->stages) back to oid, as X does. */
void es_actions_rollback_to(struct es_dash *d, int stage, const char *oid);
const struct es_stage_conf *es_act_pending_stage(struct es_dash *d);
/* Run d->pending now (deploy, promotion, rollback, revert, validation,
 * invalidation). */
void es_act_run(struct es_dash *d);
/* Whether a background action of that kind is running. */
bool es_act_running_kind(const struct es_dash *d, enum es_action_kind kind);

#endif
