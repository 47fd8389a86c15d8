/* The help table: every command's synopsis, meaning, options, exit codes
 * and examples, and the plain-text help printed from it. To document a new
 * option, add a row to the command's OPTS list below (tests/unit/help.py
 * fails while an option the parser accepts has no row). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "help.h"

#define END_OPTS                                                                                   \
	{                                                                                          \
		NULL, NULL, NULL, ES_VAL_NONE, NULL                                                \
	}
#define END_EXITS                                                                                  \
	{                                                                                          \
		-1, NULL                                                                           \
	}
#define END_EXAMPLES                                                                               \
	{                                                                                          \
		NULL, NULL                                                                         \
	}

/* The options several commands share, worded once. */
#define OPT_JSON                                                                                   \
	{                                                                                          \
		"--json", NULL, NULL, ES_VAL_NONE,                                                 \
		        "print one JSON document on stdout; progress goes to stderr"               \
	}
#define OPT_YES                                                                                    \
	{                                                                                          \
		"--yes", "-y", NULL, ES_VAL_NONE,                                                  \
		        "answer yes to the question asked before the change (for scripts and CI)"  \
	}
#define OPT_WAIT                                                                                   \
	{                                                                                          \
		"--wait", NULL, NULL, ES_VAL_NONE,                                                 \
		        "when the stage is busy (another action holds it, its stack is busy or "   \
		        "its "                                                                     \
		        "distribution is InProgress), wait until it is ready instead of refusing"  \
	}
#define OPT_TIMEOUT                                                                                \
	{                                                                                          \
		"--timeout", NULL, "DURATION", ES_VAL_TEXT,                                        \
		        "stop following after this long (90s, 45m, 2h; default 2h) and end "       \
		        "detached: "                                                               \
		        "CloudFormation carries on"                                                \
	}
#define OPT_POLL                                                                                   \
	{                                                                                          \
		"--poll-interval", NULL, "MS", ES_VAL_TEXT,                                        \
		        "how often to poll AWS, in milliseconds (for tests)"                       \
	}
#define OPT_READ_ONLY                                                                              \
	{                                                                                          \
		"--read-only", NULL, NULL, ES_VAL_NONE,                                            \
		        "refuse every action that changes something"                               \
	}
#define OPT_STAGE(what)                                                                            \
	{                                                                                          \
		"--stage", "-s", "NAME", ES_VAL_STAGE, what                                        \
	}

#define EXIT(c)                                                                                    \
	{                                                                                          \
		c, NULL                                                                            \
	}
/* What every action that deploys can end with. */
#define DEPLOY_EXITS EXIT(0), EXIT(1), EXIT(2), EXIT(3), EXIT(4), EXIT(5), EXIT(6), END_EXITS

static const struct es_help_exit general_exits[] = {
        {0, "success (including \"no changes\")"},
        {1, "the action failed (an AWS error, the network, a failed stack)"},
        {2, "usage error, also a stage that edgeship.conf does not define (the message "
            "lists those it does)"},
        {3, "refused by a release rule (the reason is printed; a busy stage can be waited "
            "for with --wait)"},
        {4, "cancelled by the operator, also the \"no\" said for a question without a "
            "terminal"},
        {5, "configuration or credentials missing or wrong"},
        {6, "detached: the command stopped following (Ctrl-C, SIGTERM, SIGHUP or "
            "--timeout) while CloudFormation carries on; the first console to see the end "
            "records it"},
        {7, "drift: the stack differs from its template (edgeship drift)"},
        END_EXITS,
};

static const struct es_help_option global_opts[] = {
        {"--profile", NULL, "NAME", ES_VAL_TEXT,
         "AWS profile (default: $AWS_PROFILE, else default)"},
        {"--region", NULL, "NAME", ES_VAL_TEXT,
         "AWS region (default: $AWS_REGION, the profile's, else us-east-1)"},
        OPT_JSON,
        OPT_READ_ONLY,
        {"--theme", NULL, "NAME", ES_VAL_THEME,
         "dashboard colour theme: default, light, high-contrast, mono, or a theme file "
         "(NO_COLOR is honoured)"},
        {"--script", NULL, "FILE", ES_VAL_FILE,
         "drive the dashboard from a file of keys (for tests)"},
        {"--help", "-h", NULL, ES_VAL_NONE, "show the commands and these options"},
        {"--version", "-V", NULL, ES_VAL_NONE, "show the version"},
        END_OPTS,
};

/* ------------------------------------------------------------ commands */

static const struct es_help_option init_opts[] = {
        OPT_JSON,
        {"--pipeline", NULL, NULL, ES_VAL_NONE,
         "write instead the CloudFormation template of a CodePipeline that releases the "
         "stages of edgeship.conf (pipeline.yaml at the root)"},
        {"--source", NULL, "s3|codestar", ES_VAL_TEXT,
         "the pipeline's source: a zip in a versioned S3 bucket the template makes (default), "
         "or a repository through a CodeStar connection"},
        {"--connection-arn", NULL, "ARN", ES_VAL_TEXT,
         "with --source codestar: the connection (arn:aws:codestar-connections:…)"},
        {"--repository", NULL, "OWNER/NAME", ES_VAL_TEXT, "with --source codestar: the repository"},
        {"--branch", NULL, "BRANCH", ES_VAL_TEXT,
         "with --source codestar: the branch that is released (default main)"},
        {"--deploy-mode", NULL, "change-set|create-update", ES_VAL_TEXT,
         "deploy each stage through a change set, replaced then executed (default), or with "
         "one CREATE_UPDATE action"},
        {"--name", NULL, "NAME", ES_VAL_TEXT,
         "the pipeline's name (default: the app's name and -pipeline)"},
        {"--output", NULL, "FILE", ES_VAL_FILE,
         "write the template to FILE instead of pipeline.yaml; - prints it"},
        {"--force", NULL, NULL, ES_VAL_NONE, "replace the template file if it exists"},
        END_OPTS};
static const struct es_help_exit init_exits[] = {
        EXIT(0),
        {1, "the file already exists (--pipeline: unless --force), or cannot be written"},
        EXIT(2),
        {5, "not inside a git repository; --pipeline: edgeship.conf is missing, or holds "
            "something a pipeline cannot carry (the message says what)"},
        END_EXITS};
static const struct es_help_example init_examples[] = {
        {"cd my-site && edgeship init", "write my-site/edgeship.conf, then edit its bucket"},
        {"edgeship init --pipeline",
         "write pipeline.yaml: S3 source, change sets, the validator, an approval before the "
         "last stage"},
        {"edgeship init --pipeline --source codestar --connection-arn \"$CONNECTION\" "
         "--repository acme/site --branch main",
         "the same pipeline, its source a GitHub repository through the connection whose ARN "
         "is in $CONNECTION"},
        {"edgeship init --pipeline --output - | cfn-lint", "print the template and lint it"},
        {"aws cloudformation deploy --template-file pipeline.yaml --stack-name my-site-pipeline "
         "--capabilities CAPABILITY_IAM --parameter-overrides "
         "StagingUrl=https://staging.example.com/",
         "deploy it (a stage without url needs its URL given); or commit it in a repository "
         "of its own whose edgeship.conf names it, and edgeship deploy"},
        END_EXAMPLES};

static const struct es_help_option status_opts[] = {OPT_JSON, OPT_READ_ONLY, END_OPTS};
static const struct es_help_exit status_exits[] = {EXIT(0), EXIT(1), EXIT(2), EXIT(5), END_EXITS};
static const struct es_help_example status_examples[] = {
        {"edgeship status", "one block per stage"},
        {"edgeship status --json | jq '.stages[0].status'", "the first stage's stack status"},
        END_EXAMPLES};

static const struct es_help_option deploy_opts[] = {
        {"REV", NULL, NULL, ES_VAL_REV, "the commit to deploy (default HEAD)"},
        OPT_STAGE("the stage to deploy to (default: the first stage that deploys commits)"),
        OPT_YES,
        OPT_WAIT,
        OPT_TIMEOUT,
        {"--guard", NULL, NULL, ES_VAL_NONE,
         "then watch the stage's error rate (guard-* keys) until guard-watch after Deployed; "
         "on a breach roll back (guard-action = rollback) or ask (alert), and exit 1"},
        OPT_JSON,
        OPT_POLL,
        END_OPTS};
static const struct es_help_exit deploy_exits[] = {DEPLOY_EXITS};
static const struct es_help_example deploy_examples[] = {
        {"edgeship deploy", "package HEAD and deploy it to the first stage, asking first"},
        {"edgeship deploy v1.4.0 --stage staging --yes --wait",
         "deploy the tag v1.4.0 to staging without asking, waiting while the stage is busy"},
        {"edgeship deploy --yes --timeout 30m --json", "in CI: give up following after 30 minutes"},
        {"edgeship deploy --stage staging --yes --guard",
         "deploy, then watch the 5xx rate and roll back on a breach"},
        END_EXAMPLES};

static const struct es_help_option package_opts[] = {
        {"REV", NULL, NULL, ES_VAL_REV, "the commit to package (default HEAD)"},
        {"--output-template", NULL, "FILE", ES_VAL_FILE, "write the packaged template to FILE"},
        {"--no-upload", NULL, NULL, ES_VAL_NONE,
         "upload nothing, only compute (as --read-only does)"},
        {"--check-reproducible", NULL, NULL, ES_VAL_NONE,
         "build REV twice in two fresh exports and name every file that differs (exit 1, "
         "nothing uploaded)"},
        OPT_JSON,
        OPT_READ_ONLY,
        END_OPTS};
static const struct es_help_exit package_exits[] = {
        {0, "packaged, changed or not"},
        EXIT(1),
        EXIT(2),
        {3, "refused: a path outside the commit, a missing handler, a Lambda@Edge limit"},
        {5, "no edgeship.conf, no template in the commit, or no artifact bucket"},
        END_EXITS};
static const struct es_help_example package_examples[] = {
        {"edgeship package --check-reproducible --no-upload",
         "build HEAD twice and say whether the artifacts are the same"},
        {"edgeship package --no-upload", "what a deploy of HEAD would upload, and whether it "
                                         "changes anything deployable"},
        {"edgeship package HEAD~1 --json --output-template packaged.yaml",
         "package the previous commit for CI and keep its packaged template"},
        END_EXAMPLES};

static const struct es_help_option promote_opts[] = {
        {"--to", NULL, "STAGE", ES_VAL_STAGE,
         "the stage to promote to; it receives the release validated in its promotes-from "
         "stage"},
        OPT_YES,
        OPT_WAIT,
        OPT_TIMEOUT,
        OPT_JSON,
        OPT_POLL,
        END_OPTS};
static const struct es_help_exit promote_exits[] = {DEPLOY_EXITS};
static const struct es_help_example promote_examples[] = {
        {"edgeship promote --to production", "asks for the stage name to be typed"},
        {"edgeship promote --to production --yes --wait", "from a pipeline"},
        END_EXAMPLES};

static const struct es_help_option validate_opts[] = {OPT_STAGE("the stage to check (required)"),
                                                      OPT_JSON, OPT_POLL, END_OPTS};
static const struct es_help_exit validate_exits[] = {
        {0, "every check passed"},
        {1, "a check failed (the failed samples are listed), or AWS could not be read"},
        EXIT(2),
        {3, "refused: the stage has no successful deploy, or its stack is busy"},
        EXIT(5),
        END_EXITS};
static const struct es_help_example validate_examples[] = {
        {"edgeship validate --stage staging", "run staging's checks and record the result"},
        END_EXAMPLES};

static const struct es_help_option invalidate_opts[] = {
        {"PATH", NULL, NULL, ES_VAL_TEXT, "a path to invalidate, e.g. /index.html (default /*)"},
        OPT_STAGE("the stage whose distribution to invalidate (required)"),
        OPT_YES,
        OPT_WAIT,
        OPT_JSON,
        OPT_POLL,
        END_OPTS};
static const struct es_help_exit invalidate_exits[] = {EXIT(0), EXIT(1), EXIT(2),  EXIT(3),
                                                       EXIT(4), EXIT(5), END_EXITS};
static const struct es_help_example invalidate_examples[] = {
        {"edgeship invalidate --stage production", "invalidate /* and follow it to Completed"},
        {"edgeship invalidate --stage staging /index.html '/assets/*' --yes", "two paths"},
        END_EXAMPLES};

static const struct es_help_option rollback_opts[] = {
        OPT_STAGE("the stage to roll back (required)"),
        {"--to", NULL, "REV", ES_VAL_REV, "the earlier commit whose recorded artifacts to deploy"},
        OPT_YES,
        OPT_WAIT,
        OPT_TIMEOUT,
        OPT_JSON,
        OPT_POLL,
        END_OPTS};
static const struct es_help_exit rollback_exits[] = {DEPLOY_EXITS};
static const struct es_help_example rollback_examples[] = {
        {"edgeship rollback --stage production --to v1.3.2",
         "redeploy what v1.3.2 deployed, without rebuilding"},
        END_EXAMPLES};

static const struct es_help_option revert_opts[] = {
        {"REV", NULL, NULL, ES_VAL_REV, "the commit to revert (required)"},
        {"--deploy", NULL, NULL, ES_VAL_NONE, "then deploy the revert to the first stage"},
        OPT_YES,
        OPT_TIMEOUT,
        OPT_JSON,
        OPT_POLL,
        END_OPTS};
static const struct es_help_exit revert_exits[] = {DEPLOY_EXITS};
static const struct es_help_example revert_examples[] = {
        {"edgeship revert HEAD", "commit a revert of the newest commit"},
        {"edgeship revert 1a2b3c4 --deploy --yes", "revert a commit and deploy the revert"},
        END_EXAMPLES};

static const struct es_help_option watch_opts[] = {OPT_STAGE("follow this stage only"), OPT_JSON,
                                                   OPT_POLL, END_OPTS};
static const struct es_help_exit watch_exits[] = {
        {0, "everything settled"}, EXIT(1), EXIT(2), EXIT(5), END_EXITS};
static const struct es_help_example watch_examples[] = {
        {"edgeship watch", "follow every stage until all settles"},
        {"edgeship watch --stage production", "follow production only"},
        END_EXAMPLES};

static const struct es_help_option unlock_opts[] = {
        OPT_STAGE("the stage whose lock to remove (required)"), OPT_YES, OPT_JSON, END_OPTS};
static const struct es_help_exit unlock_exits[] = {EXIT(0), EXIT(1), EXIT(2),
                                                   EXIT(4), EXIT(5), END_EXITS};
static const struct es_help_example unlock_examples[] = {
        {"edgeship unlock --stage staging", "names the holder and asks first"}, END_EXAMPLES};

static const struct es_help_option drift_opts[] = {
        OPT_STAGE("the stage whose stack to check (required)"),
        {"--timeout", NULL, "DURATION", ES_VAL_TEXT,
         "how long to wait for the detection (90s, 45m; default 5m)"},
        OPT_JSON,
        END_OPTS};
static const struct es_help_exit drift_exits[] = {
        {0, "in sync: every checked resource matches the template"},
        EXIT(1),
        EXIT(2),
        EXIT(5),
        {7, "drifted: the resources and properties that differ are printed"},
        END_EXITS};
static const struct es_help_example drift_examples[] = {
        {"edgeship drift --stage production", "what was changed outside CloudFormation"},
        {"edgeship drift --stage staging --json", "the same for a script; exit 7 when drifted"},
        END_EXAMPLES};

static const struct es_help_option recover_opts[] = {
        OPT_STAGE("the stage whose stack is in UPDATE_ROLLBACK_FAILED (required)"),
        {"--skip", NULL, "LOGICAL_ID", ES_VAL_TEXT,
         "a resource the rollback leaves as it is (ResourcesToSkip); repeat for several"},
        {"--yes", "-y", NULL, ES_VAL_NONE,
         "do not ask for the stage name to be typed (for scripts and CI)"},
        OPT_TIMEOUT,
        OPT_POLL,
        OPT_JSON,
        END_OPTS};
static const struct es_help_exit recover_exits[] = {
        {0, "the stack reached UPDATE_ROLLBACK_COMPLETE"},
        {1, "the rollback failed again (the resource and reason are printed) or AWS refused"},
        EXIT(2),
        {3, "refused: --read-only, the stage is locked, or the stack is not in "
            "UPDATE_ROLLBACK_FAILED"},
        EXIT(4),
        EXIT(5),
        END_EXITS};
static const struct es_help_example recover_examples[] = {
        {"edgeship recover --stage production", "shows the failed resource, asks for the name"},
        {"edgeship recover --stage staging --skip LambdaEdgeFunctionSample --yes",
         "continue, leaving that resource as it is"},
        END_EXAMPLES};

static const struct es_help_option destroy_opts[] = {
        OPT_STAGE("the stage whose stack to delete (required)"),
        {"--force", NULL, NULL, ES_VAL_NONE, "destroy a stage that another stage promotes from"},
        {"--yes", "-y", NULL, ES_VAL_NONE,
         "do not ask for the stage name to be typed (for scripts and CI)"},
        OPT_TIMEOUT,
        OPT_POLL,
        OPT_JSON,
        END_OPTS};
static const struct es_help_exit destroy_exits[] = {
        {0, "the stack is deleted (replicated functions retained are printed), or there was "
            "none"},
        {1, "a step failed (the stack is left where it got to; run it again)"},
        EXIT(2),
        {3, "refused: --read-only, the stage is locked, another stage promotes from it "
            "(--force), or the stack is in UPDATE_ROLLBACK_FAILED"},
        EXIT(4),
        EXIT(5),
        END_EXITS};
static const struct es_help_example destroy_examples[] = {
        {"edgeship destroy --stage preview", "asks for the stage name to be typed"},
        {"edgeship destroy --stage staging --force --yes",
         "a stage production promotes from, in a script"},
        END_EXAMPLES};

static const struct es_help_option cleanup_opts[] = {OPT_JSON, END_OPTS};
static const struct es_help_exit cleanup_exits[] = {
        {0, "no retained function is left"},
        {1, "a deletion failed otherwise (AWS's error is printed)"},
        {3, "some functions still have edge replicas: run it again later (or --read-only)"},
        EXIT(5),
        END_EXITS};
static const struct es_help_example cleanup_examples[] = {
        {"edgeship cleanup", "delete the functions a destroy retained, if their replicas are gone"},
        {"edgeship cleanup --json", "the same for a script; exit 3 while replicas remain"},
        END_EXAMPLES};

static const struct es_help_option pipeline_opts[] = {
        {"SUBCOMMAND", NULL, NULL, ES_VAL_TEXT,
         "status (default), approve, reject, retry [PIPELINE_STAGE], start or stop"},
        {"--pipeline", NULL, "NAME", ES_VAL_TEXT,
         "the [pipeline \"NAME\"] of edgeship.conf (needed when there are several)"},
        {"--comment", NULL, "TEXT", ES_VAL_TEXT,
         "approve/reject: the summary CodePipeline keeps (512 characters at most); stop: the "
         "reason (200)"},
        {"--execution", NULL, "ID", ES_VAL_TEXT,
         "stop: the execution to stop (default: the newest one running)"},
        {"--abandon", NULL, NULL, ES_VAL_NONE,
         "stop: abandon the running actions instead of letting them finish"},
        OPT_YES,
        OPT_READ_ONLY,
        OPT_JSON,
        END_OPTS};
static const struct es_help_exit pipeline_exits[] = {
        {0, "status shown, or the change made (and recorded in the ledger)"},
        {1, "AWS refused or could not be reached (the error code says why, e.g. "
            "InvalidApprovalTokenException)"},
        EXIT(2),
        {3, "refused: --read-only, or nothing to do (no approval waiting, no failed stage, "
            "nothing running)"},
        EXIT(4),
        {5, "no [pipeline] in edgeship.conf, or credentials missing"},
        END_EXITS};
static const struct es_help_example pipeline_examples[] = {
        {"edgeship pipeline status", "stages, the approval waiting, the latest executions"},
        {"edgeship pipeline status --json | jq .approval",
         "the approval waiting: token, custom data, URL, seconds left"},
        {"edgeship pipeline approve --comment 'staging looks right'",
         "approve the waiting approval; asks for the stage name it releases into"},
        {"edgeship pipeline reject --comment 'wrong banner' --yes", "reject it from a script"},
        {"edgeship pipeline retry", "re-run the failed actions of the failed stage"},
        {"edgeship pipeline start", "release the newest source revision"},
        {"edgeship pipeline stop --abandon --comment 'bad release'",
         "stop the running execution at once"},
        END_EXAMPLES};

static const struct es_help_option canary_opts[] = {
        {"SUBCOMMAND", NULL, NULL, ES_VAL_TEXT,
         "status (default), start [REV], widen PERCENT, check, promote or discard"},
        OPT_STAGE("the stage whose canary it is (required)"),
        {"--weight", NULL, "PERCENT", ES_VAL_TEXT,
         "start: the share of requests staging gets instead of the stage's canary key (at most "
         "15%); widen: the new share"},
        {"--header", NULL, "'aws-cf-cd-NAME: VALUE'", ES_VAL_TEXT,
         "start: staging gets the requests carrying this header instead"},
        OPT_YES,
        OPT_WAIT,
        OPT_READ_ONLY,
        OPT_JSON,
        END_OPTS};
static const struct es_help_exit canary_exits[] = {
        {0, "status shown, or the change made (and recorded in the ledger)"},
        {1, "AWS refused or could not be reached (its error is printed), or a check failed"},
        EXIT(2),
        {3, "refused: --read-only, the stage is locked, a promotion rule, no canary to widen, "
            "promote or discard, or staging not Deployed yet"},
        EXIT(4),
        EXIT(5),
        END_EXITS};
static const struct es_help_example canary_examples[] = {
        {"edgeship canary start --stage production",
         "staging gets what a promotion would deploy, with the stage's canary key"},
        {"edgeship canary status --stage production --json",
         "primary and staging side by side: status, functions, policy"},
        {"edgeship canary widen 10% --stage production", "send more requests to it"},
        {"edgeship canary check --stage production",
         "a header canary: the checks, with its header, against staging"},
        {"edgeship canary promote --stage production",
         "the primary takes the staging config, then the stack is deployed with that release"},
        {"edgeship canary discard --stage production", "every request goes to the primary again"},
        END_EXAMPLES};

static const struct es_help_option log_opts[] = {OPT_STAGE("this stage's records only"), OPT_JSON,
                                                 END_OPTS};
static const struct es_help_exit log_exits[] = {EXIT(0), EXIT(1), EXIT(2), EXIT(5), END_EXITS};
static const struct es_help_example log_examples[] = {
        {"edgeship log --stage production", "production's releases, oldest first"},
        {"COLUMNS=200 edgeship log | less -S", "wider columns when stdout is not a terminal"},
        END_EXAMPLES};

static const struct es_help_option whoami_opts[] = {OPT_JSON, END_OPTS};
static const struct es_help_exit whoami_exits[] = {EXIT(0), EXIT(1), EXIT(5), END_EXITS};
static const struct es_help_example whoami_examples[] = {
        {"edgeship --profile prod whoami", "which account and region the prod profile reaches"},
        END_EXAMPLES};

static const struct es_help_option help_opts[] = {
        {"COMMAND", NULL, NULL, ES_VAL_COMMAND, "the command to explain"},
        {"--man", NULL, NULL, ES_VAL_NONE, "print edgeship(1) in man(7) format (for packagers)"},
        {"--man-conf", NULL, NULL, ES_VAL_NONE,
         "print edgeship.conf(5) in man(7) format (for packagers)"},
        {"--completion", NULL, "SHELL", ES_VAL_TEXT,
         "print the completion script for bash, zsh or fish, e.g. source <(edgeship help "
         "--completion bash)"},
        END_OPTS};
static const struct es_help_exit help_exits[] = {
        {0, "the help was printed"}, {2, "no such command (the message lists them)"}, END_EXITS};
static const struct es_help_example help_examples[] = {
        {"edgeship help deploy", "the same as edgeship deploy --help"}, END_EXAMPLES};

static const struct es_help_option version_opts[] = {OPT_JSON, END_OPTS};
static const struct es_help_exit version_exits[] = {EXIT(0), END_EXITS};
static const struct es_help_example version_examples[] = {
        {"edgeship version --json", "{\"version\": \"…\"}"}, END_EXAMPLES};

#define CMD(n, syn, sum, desc)                                                                     \
	{                                                                                          \
#n, syn, sum, desc, n##_opts, n##_exits, n##_examples                              \
	}

static const struct es_help_command commands[] = {
        CMD(init,
            "[--pipeline [--source s3|codestar] [--connection-arn ARN --repository OWNER/NAME "
            "--branch BRANCH] [--deploy-mode MODE] [--name NAME] [--output FILE] [--force]]",
            "write a commented edgeship.conf, or with --pipeline a CodePipeline template",
            "Write a commented starter edgeship.conf at the root of the git repository "
            "(named after its directory, with a staging and a production stage); it is never "
            "overwritten. Set its bucket and stages, then run edgeship status. "
            "edgeship.conf(5) describes every key.\n\n"
            "With --pipeline, write instead the CloudFormation template (YAML) of the "
            "CodePipeline this console replaces, from edgeship.conf: a source (a zip in a "
            "versioned S3 bucket, started by each new version, or a CodeStar connection), a "
            "CloudFormation deploy of each stage's stack with Stage and its parameters and the "
            "app's capabilities, the validator Lambda after every stage but the last (it fetches "
            "the stage's URL and reports PutJobSuccessResult when the first [check] that applies "
            "answers its status with its body-contains text, else PutJobFailureResult), a manual "
            "approval before the last stage linking to the stage before, an artifact bucket and "
            "one role each for the pipeline, CloudFormation and the validator, granting what "
            "each does. The stage URLs are parameters (defaults from edgeship.conf). Names "
            "that cannot be CodePipeline identifiers and values too long for it are refused "
            "with what to change; the file is never replaced without --force."),
        CMD(status, "[--json]",
            "each stage's stack, commit, release, distribution, lock and last action",
            "For each stage: its stack status, the commit and release it runs, the stack's "
            "outputs, its distribution and that distribution's status (InProgress until every "
            "edge has the newest change, then Deployed), whether that release is validated, "
            "its lock (holder, action, how long held, expiry, or stale) and its last action, "
            "with any action that never recorded an outcome.\n\n"
            "An action whose console stopped following (detached, or killed) is settled here: "
            "status reads its change set and stack and records how it really ended."),
        CMD(deploy, "[REV] [--stage NAME] [--yes] [--wait] [--timeout DURATION] [--guard] [--json]",
            "package REV (default HEAD) and deploy it to a stage through a change set",
            "Package REV from its git tree (never the working directory), upload the "
            "artifacts the bucket lacks, and deploy it through a change set to a stage, "
            "asking first (the answer defaults to no; production asks for the stage name to "
            "be typed). The stack is followed until it completes; an empty change set is a "
            "success.\n\n"
            "The release rules refuse a deploy into a stage that is busy (its stack, its "
            "distribution InProgress, or another console's action); --wait waits instead. A "
            "first Ctrl-C stops following cleanly (outcome detached, lock released); a "
            "second quits at once.\n\n"
            "With --guard, the stage's CloudFront error rate is then watched (one CloudWatch "
            "GetMetricData per poll) until guard-watch after Deployed. A breach of "
            "guard-error-rate prints the figures and the function's recent errors from "
            "CloudWatch Logs, is recorded in the ledger, and with guard-action = rollback rolls "
            "the stage back to its previous release; with alert it asks first."),
        CMD(package, "[REV] [--json] [--output-template FILE] [--no-upload] [--check-reproducible]",
            "package REV (default HEAD) as a deploy would, deploy nothing",
            "Package REV from its git tree exactly as a deploy would: zip and hash every "
            "artifact the template names, upload what the artifact bucket lacks (nothing with "
            "--no-upload or --read-only), and list each artifact: template, resource and "
            "property, local path, SHA-256, S3 key, size, uploaded or present. Nothing is "
            "deployed.\n\n"
            "\"No change\" is measured against REV's first parent, packaged the same way: "
            "artifacts are named by their SHA-256, so equal packaged templates mean nothing "
            "deployable changed (a README-only commit). A first commit, or a parent that does "
            "not package, counts as changed and the output says why.\n\n"
            "Before anything is uploaded, each function's zip must hold its handler's file "
            "and functions run by CloudFront must keep to Lambda@Edge's limits.\n\n"
            "With `build = COMMAND` in edgeship.conf, the command runs first in a fresh "
            "export of REV (its output on stderr), unless the build cache holds the same "
            "tree, command and inputs; the report is the same bytes either way."),
        CMD(promote, "--to STAGE [--yes] [--wait] [--timeout DURATION] [--json]",
            "deploy to STAGE exactly the validated release of the stage before it",
            "Deploy to STAGE exactly the packaged release that runs in the stage it promotes "
            "from (its promotes-from), only if that stage's newest validation passed for that "
            "release after its distribution reached Deployed. Nothing is rebuilt."),
        CMD(validate, "--stage NAME [--json]", "run the stage's checks now and record the result",
            "Run the checks that apply to the stage ([check] sections of edgeship.conf) "
            "against its URL and sampled edges, say which samples failed and why, and record "
            "the result in the ledger. A check passes only when every sample answered and "
            "matched; no check at all is not a pass. A validation taken while the "
            "distribution is InProgress is recorded but does not count for promotion."),
        CMD(invalidate, "--stage NAME [PATH…] [--yes] [--wait] [--json]",
            "invalidate the stage's CloudFront cache (default /*), tracked to Completed",
            "Create a CloudFront invalidation of PATHs (default /*) on the stage's "
            "distribution, asking first, and follow it to Completed. Its caller reference "
            "comes from its ledger record, so a retried request never creates a second one."),
        CMD(rollback, "--stage NAME --to REV [--yes] [--wait] [--timeout DURATION] [--json]",
            "redeploy the recorded artifacts of an earlier commit (no rebuild)",
            "Redeploy to a stage the artifacts recorded for an earlier commit: nothing is "
            "rebuilt. When the stage already runs them it says so. It asks for the stage name "
            "to be typed."),
        CMD(revert, "REV [--deploy] [--yes] [--json]",
            "commit a git revert of REV; --deploy sends it to the first stage",
            "Commit a git revert of REV on the current branch (the working tree must be "
            "clean). With --deploy, the revert is then deployed to the first stage as edgeship "
            "deploy would."),
        CMD(watch, "[--stage NAME] [--json]",
            "follow stacks, propagation and invalidations line by line until settled",
            "Follow stacks, propagation, sampled edges, invalidations and stage locks (who "
            "holds a stage, since when, until when) line by line until everything settles. A "
            "held stage is not settled. A stage with guard-error-rate also gets its requests "
            "and 5xx rate per period (sparklines, the rollout marked |) and any breach, and is "
            "followed until guard-watch after Deployed."),
        CMD(unlock, "--stage NAME [--yes] [--json]",
            "remove a stage lock left by a console that died (recorded in the ledger)",
            "Remove the stage's lock when the console holding it died. It names the holder "
            "and asks first; the removal is recorded in the ledger."),
        CMD(drift, "--stage NAME [--timeout DURATION] [--json]",
            "compare the stage's stack with its template (read-only)",
            "Run CloudFormation drift detection on the stage's stack and list each resource "
            "changed outside CloudFormation, with each property's expected and actual value. "
            "Detection changes nothing, so it runs under --read-only too. Exit 7 when the "
            "stack has drifted."),
        CMD(recover, "--stage NAME [--skip LOGICAL_ID…] [--yes] [--json]",
            "continue the rollback of a stack stuck in UPDATE_ROLLBACK_FAILED",
            "Run ContinueUpdateRollback on the stage's stack, skipping the resources given, "
            "and follow it to UPDATE_ROLLBACK_COMPLETE. It shows the resource that failed "
            "and why, and asks for the stage name to be typed; it takes the stage lock and "
            "is recorded in the ledger. A skipped resource is left as it is: check it by "
            "hand afterwards."),
        CMD(destroy, "--stage NAME [--force] [--yes] [--timeout DURATION] [--json]",
            "delete a stage's stack, its Lambda@Edge associations first",
            "Delete the stage's stack. First an update removes the Lambda@Edge associations "
            "from its distribution and edgeship waits for it to be Deployed; then the stack "
            "is deleted. A function whose edge replicas remain (CloudFront removes them "
            "hours after the last association goes) is retained so the delete completes, "
            "and recorded in the ledger for edgeship cleanup. It asks for the stage name to "
            "be typed, takes the stage lock, and is refused for a stage another stage "
            "promotes from unless --force. Run it again after any failure: it goes on from "
            "where the stack is."),
        CMD(cleanup, "[--json]", "delete the replicated functions a destroy retained",
            "Try to delete each Lambda@Edge function a destroy retained (every version), "
            "and record each deletion in the ledger. While CloudFront still holds a "
            "function's replicas Lambda refuses, and cleanup says so and exits 3: run it "
            "again later. The dashboard retries every 10 minutes; status shows how many "
            "are pending."),
        CMD(pipeline,
            "[status|approve|reject|retry [STAGE]|start|stop] [--pipeline NAME] [--comment "
            "TEXT] [--execution ID] [--abandon] [--yes] [--json]",
            "watch and drive the CodePipeline that deploys the stages in pipeline mode",
            "For stages deployed by a CodePipeline ([pipeline \"NAME\"] in edgeship.conf, "
            "stages with pipeline = NAME and pipeline-stage = STAGE), edgeship deploy and "
            "promote refuse; this command watches and drives the pipeline instead.\n\n"
            "status shows each pipeline stage, the approval waiting (its custom data, the URL "
            "to review and the time left before it expires, 7 days by default), the "
            "validator's result and the latest executions: their source revision, matched to "
            "a commit of the repository when its summary or id names one, and each action "
            "with its status, times and summary or error.\n\n"
            "approve and reject answer the waiting approval (PutApprovalResult with the token "
            "GetPipelineState gives); retry re-runs the failed actions of a failed stage "
            "(RetryStageExecution, FAILED_ACTIONS); start releases the newest source revision "
            "(StartPipelineExecution); stop stops the running execution, letting its actions "
            "finish unless --abandon. Each asks first (approve asks for the name of the stage "
            "it releases into to be typed; the others y/N), is refused under --read-only and "
            "is recorded in the ledger: what, who, the execution and the comment."),
        CMD(canary,
            "[status|start [REV]|widen PERCENT|check|promote|discard] --stage NAME [--weight "
            "PERCENT | --header 'aws-cf-cd-NAME: VALUE'] [--yes] [--wait] [--json]",
            "try a release on a share of a stage's requests (CloudFront continuous deployment)",
            "A canary puts a release on a staging distribution of the stage's primary "
            "distribution and sends it a share of the requests: a weight (at most 15%, "
            "optionally sticky per viewer) or those carrying a header whose name begins with "
            "aws-cf-cd-. The stage's canary key in edgeship.conf gives the default.\n\n"
            "start takes, for a stage that promotes, the release a promotion would deploy "
            "(every promotion rule checked); for a stage that deploys commits, the recorded "
            "release of REV. Each function whose code the release changes gets a canary "
            "function (es-canary-…, made from the stack function's configuration with the new "
            "code); the staging distribution, a copy of the primary made once, runs its "
            "versions; the continuous deployment policy is created or updated and attached to "
            "the primary. The stack's own functions and template are not changed.\n\n"
            "check sends the stage's checks with a header canary's header, so they reach the "
            "staging distribution, and records the result (a weight canary cannot be asked on "
            "purpose: watch its figures in status). "
            "widen raises the weight; discard disables the policy, so every request goes to "
            "the primary again. promote (once staging is Deployed) makes the primary take the "
            "staging config (UpdateDistributionWithStagingConfig, which disables the policy), "
            "then deploys the release to the stack, so its template says what the primary "
            "serves. Each takes the stage lock and is recorded in the ledger (kind canary)."),
        CMD(log, "[--stage NAME] [--json]", "the release ledger, oldest first",
            "Print the release ledger, oldest first: who did what, when, the outcome and "
            "why. Columns fit the terminal (80 columns, or COLUMNS, when stdout is not one); "
            "long values are cut with an ellipsis."),
        CMD(whoami, "[--json]",
            "show the AWS identity, account, region, endpoint and credential source",
            "Show the AWS caller ARN, account, profile, region, endpoint and where the "
            "credentials came from (never the secret). Inside a repository whose "
            "edgeship.conf gives stages accounts of their own (profile or role-arn), also the "
            "account and ARN each such stage acts as (exit 1 when one cannot be reached)."),
        CMD(help, "[COMMAND | --man | --man-conf | --completion SHELL]",
            "show the commands, or what COMMAND takes and does",
            "Without a command, list the commands and the global options; with one, its "
            "synopsis, description, options, exit codes and examples. edgeship COMMAND --help "
            "is the same.\n\n"
            "--man, --man-conf and --completion print the manual pages and shell completions "
            "that make install installs, from the same tables as this help."),
        CMD(version, "[--json]", "show the version", "Print edgeship's version."),
};

const struct es_help_command *es_help_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

const struct es_help_command *es_help_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const struct es_help_option *es_help_global_options(void)
{
	return global_opts;
}

const struct es_help_exit *es_help_exit_codes(void)
{
	return general_exits;
}

const char *es_help_exit_meaning(int code)
{
	for (const struct es_help_exit *e = general_exits; e->code >= 0; e++)
		if (e->code == code)
			return e->meaning;
	return "";
}

/* ------------------------------------------------------------ plain text */

/* Columns a UTF-8 string takes (every code point counts one). */
static int text_width(const char *s, size_t len)
{
	int w = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			w++;
	return w;
}

/* Wrap text from column col (what the line already holds), later lines
 * indented by indent. */
static void wrap_from(FILE *out, const char *text, int col, int indent, int width, const char *sep)
{
	const char *p = text;
	bool fresh = true; /* nothing of text on this line yet */

	while (*p) {
		if (p[0] == '\n' && p[1] == '\n') {
			fputs(fresh ? "" : "\n", out);
			fputs(sep, out);
			col = 0;
			fresh = true;
			p += 2;
			continue;
		}
		if (*p == ' ' || *p == '\n') {
			p++;
			continue;
		}
		size_t len = strcspn(p, " \n");
		int w = text_width(p, len);
		if (!fresh && col + 1 + w > width) {
			fputc('\n', out);
			col = 0;
			fresh = true;
		}
		if (fresh && col < indent) {
			fprintf(out, "%*s", indent - col, "");
			col = indent;
		} else if (!fresh) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, len, out);
		col += w;
		fresh = false;
		p += len;
	}
	if (!fresh)
		fputc('\n', out);
}

void es_help_wrap(FILE *out, const char *text, int indent, int width, const char *sep)
{
	wrap_from(out, text, 0, indent, width, sep);
}

/* "  -s, --stage NAME" and its meaning, wrapped beside it. */
static void print_option(FILE *out, const struct es_help_option *o)
{
	char left[80];
	int w;

	snprintf(left, sizeof(left), "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "",
	         o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	w = text_width(left, strlen(left));
	fprintf(out, "  %s", left);
	if (w > 22) {
		fputc('\n', out);
		w = -2;
	}
	wrap_from(out, o->help, 2 + w, 26, 79, "");
}

/* "  N  meaning", later lines under the meaning. */
static void print_exit(FILE *out, const struct es_help_exit *e)
{
	fprintf(out, "  %d", e->code);
	wrap_from(out, e->meaning ? e->meaning : es_help_exit_meaning(e->code), 3, 5, 79, "");
}

void es_help_print_usage(FILE *out)
{
	size_t n;
	const struct es_help_command *c = es_help_commands(&n);

	fprintf(out, "usage: edgeship [global options] [<command> [options]]\n\n"
	             "A terminal release console for Lambda@Edge applications on CloudFront.\n"
	             "Without a command, edgeship opens the release dashboard.\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < n; i++) {
		char left[128];
		snprintf(left, sizeof(left), "%s %s", c[i].name, c[i].synopsis);
		/* A long synopsis gets the summary on a line of its own. */
		int w = text_width(left, strlen(left));
		fprintf(out, "  %s", left);
		if (w > 22) {
			fputc('\n', out);
			w = -2;
		}
		wrap_from(out, c[i].summary, 2 + w, 26, 79, "");
	}
	fprintf(out, "\nGlobal options (before the command):\n");
	for (const struct es_help_option *o = global_opts; o->name; o++)
		print_option(out, o);
	fprintf(out, "\nExit codes:\n");
	for (const struct es_help_exit *e = general_exits; e->code >= 0; e++) {
		print_exit(out, e);
	}
	fprintf(out, "\n'edgeship help COMMAND' (or COMMAND --help) explains a command, with "
	             "examples;\n'man edgeship' and 'man edgeship.conf' explain everything.\n");
}

void es_help_print_command(FILE *out, const struct es_help_command *c)
{
	fprintf(out, "usage: edgeship %s%s%s\n\n", c->name, *c->synopsis ? " " : "", c->synopsis);
	es_help_wrap(out, c->description, 0, 79, "\n");
	if (c->options[0].name) {
		fprintf(out, "\nOptions:\n");
		for (const struct es_help_option *o = c->options; o->name; o++)
			print_option(out, o);
	}
	fprintf(out, "\nExit codes:\n");
	for (const struct es_help_exit *e = c->exits; e->code >= 0; e++)
		print_exit(out, e);
	fprintf(out, "\nExamples:\n");
	for (const struct es_help_example *x = c->examples; x->line; x++) {
		fprintf(out, "  %s\n", x->line);
		es_help_wrap(out, x->what, 6, 79, "");
	}
	fprintf(out, "\nGlobal options (--profile, --region, --read-only, …) go before the "
	             "command:\nsee edgeship --help.\n");
}
