"""CodePipeline executions, on top of moto's pipeline definitions.

moto stores pipelines (create/get/list/update/delete) but has no
executions. Here StartPipelineExecution runs the stored definition stage by
stage, and the actions do their work:

- Source/S3 reads the object (the newest version, or the one asked for in
  sourceRevisions): the execution's source revision is the object's version
  ID, summarised by its `codepipeline-artifact-revision-summary`, `revision`
  or `commit` metadata. Other source providers take the revision given in
  sourceRevisions (or the configuration's BranchName) and an empty artifact.
- Deploy/CloudFormation creates or updates the stack through the
  simulator's stack machinery (cfn_ext): CREATE_UPDATE, CHANGE_SET_REPLACE,
  CHANGE_SET_EXECUTE, DELETE_ONLY; TemplatePath, TemplateConfiguration and
  ParameterOverrides come from the input artifact (a zip).
- Invoke/Lambda runs the function (lambda_ext) with a CodePipeline job event
  and waits for PutJobSuccessResult / PutJobFailureResult (or
  pipeline_job_timeout seconds: the action then fails, as CodePipeline's 20
  minutes do). A function that throws without reporting leaves the job open
  until then, as on AWS.
- Approval/Manual waits for PutApprovalResult (token in GetPipelineState),
  failing after the action's timeoutInMinutes (7 days by default, on the
  server clock).
- Any other action succeeds after pipeline_step seconds.

A failed action fails its stage and the execution. SUPERSEDED mode: a stage
holds one execution, which keeps it until it enters the next stage; a newer
execution waits at the entrance, and a waiting execution overtaken by a
newer one ends Superseded. StopPipelineExecution lets the running action
finish (Stopping, then Stopped) or abandons it at once; approvals and
Lambda jobs are abandoned by either. RetryStageExecution re-runs a failed
stage of the latest execution there. Actions can also be made to fail
through the control endpoint.
"""

import io
import json
import threading
import time
import uuid
import zipfile

from moto.codepipeline.models import codepipeline_backends

from .state import SIM

EXECUTIONS = {}  # (account, region, pipeline) -> [Execution], oldest first
STAGES = {}  # (account, region, pipeline) -> StageLocks
JOBS = {}  # job id -> ActionRun (Lambda invoke actions)
FAIL_ACTIONS = {}  # action name -> remaining failures (control endpoint)
COND = threading.Condition(SIM.lock)
DEFAULT_APPROVAL_MINUTES = 7 * 24 * 60


class PipelineError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class StageLocks:
    def __init__(self):
        self.occupant = {}  # stage -> Execution inside it
        self.waiting = {}  # stage -> Execution waiting at its entrance
        self.latest = {}  # stage -> newest Execution that entered it


class ActionRun:
    def __init__(self, action, stage):
        self.name = action["name"]
        self.stage = stage
        self.action = action
        self.category = action.get("actionTypeId", {}).get("category")
        self.provider = action.get("actionTypeId", {}).get("provider")
        self.id = str(uuid.uuid4())
        self.status = "InProgress"
        self.summary = None
        self.token = None
        self.start = time.time()
        self.last_change = self.start
        self.error = None
        self.updated_by = None
        self.external_id = None
        self.external_url = None
        self.decision = None  # approval: (status, summary); job: ("success"|"failure", input)
        self.expires = None
        self.job_id = None
        self.continuation = None

    def finish(self, status, summary=None, error=None):
        self.status = status
        if summary is not None:
            self.summary = summary
        self.error = error
        self.last_change = time.time()


class Execution:
    def __init__(self, key, pipeline, trigger, source_revisions=None, variables=None):
        self.key = key
        self.id = str(uuid.uuid4())
        self.pipeline = pipeline
        self.version = pipeline.get("version", 1)
        self.status = "InProgress"
        self.status_summary = None
        self.start = time.time()
        self.updated = self.start
        self.trigger = trigger
        self.stages = {}  # stage name -> {"status", "actions": {name: ActionRun}, "start", "end"}
        self.held = None  # the stage this execution occupies
        self.stop = None  # None | "wait" | "abandon"
        self.stop_reason = None
        self.superseded = False
        self.requested = {r.get("actionName"): r for r in (source_revisions or [])}
        self.variables = variables or []
        self.source_revisions = []
        self.artifacts = {}  # name -> {"bucket", "key", "version", "data", "summary"}

    def touch(self):
        self.updated = time.time()


def _backend(account, region):
    return codepipeline_backends[account][region]


def _pipeline(account, region, name):
    b = _backend(account, region)
    p = b.pipelines.get(name)
    if p is None:
        raise PipelineError(
            "PipelineNotFoundException", f"Account '{account}' does not have a pipeline with name '{name}'"
        )
    return p.pipeline


def _locks(key):
    return STAGES.setdefault(key, StageLocks())


def _now():
    return time.time() + SIM.clock_offset


# ---------------------------------------------------------------- stage locks
def _release(ex):
    locks = _locks(ex.key)
    if ex.held and locks.occupant.get(ex.held) is ex:
        del locks.occupant[ex.held]
    ex.held = None
    COND.notify_all()


def _end(ex, status, summary=None):
    """With COND held: the execution is over."""
    ex.status = status
    if summary:
        ex.status_summary = summary
    ex.touch()
    _release(ex)


def _enter(ex, sname):
    """Wait until ex may enter stage sname; False when it was superseded or
    stopped while waiting."""
    with COND:
        locks = _locks(ex.key)
        other = locks.waiting.get(sname)
        if other is not None and other is not ex:
            other.superseded = True
            COND.notify_all()
        locks.waiting[sname] = ex
        while True:
            if ex.superseded:
                _end(ex, "Superseded")
                return False
            if ex.stop:
                if locks.waiting.get(sname) is ex:
                    del locks.waiting[sname]
                _end(ex, "Stopped")
                return False
            occ = locks.occupant.get(sname)
            if occ is None or occ is ex:
                break
            COND.wait(0.5)
        del locks.waiting[sname]
        _release(ex)
        locks.occupant[sname] = ex
        locks.latest[sname] = ex
        ex.held = sname
        ex.stages[sname] = {"status": "InProgress", "actions": {}, "start": time.time(), "end": None}
        ex.touch()
        return True


# ---------------------------------------------------------------- actions
def _abandoned(ex):
    return ex.stop == "abandon"


def _wait(run, ex, until, also_on_stop=False):
    """Wait (COND held) until run.decision is set; returns "decided",
    "abandoned" or "timeout"."""
    while run.decision is None:
        if _abandoned(ex) or (also_on_stop and ex.stop):
            return "abandoned"
        if until is not None and _now() >= until:
            return "timeout"
        COND.wait(0.2)
    return "decided"


def _artifact(ex, action):
    arts = action.get("inputArtifacts") or []
    if not arts:
        return None
    return ex.artifacts.get(arts[0]["name"])


def _file_from(ex, ref):
    """'Artifact::path/in/zip' -> text."""
    art_name, _, path = (ref or "").partition("::")
    art = ex.artifacts.get(art_name)
    if art is None:
        raise ValueError(f"The input artifact {art_name} is not available")
    try:
        with zipfile.ZipFile(io.BytesIO(art["data"])) as z:
            return z.read(path).decode("utf-8")
    except KeyError:
        raise ValueError(f"File {path} does not exist in artifact [{art_name}]")
    except zipfile.BadZipFile:
        raise ValueError(f"The artifact [{art_name}] is not a zip file")


def _source(ex, run, account):
    cfg = run.action.get("configuration") or {}
    SIM.sleep(SIM.p("pipeline_step"))
    req = ex.requested.get(run.name) or {}
    out_names = [a["name"] for a in run.action.get("outputArtifacts") or []]
    if run.provider == "S3":
        from moto.s3.models import s3_backends

        bucket, key = cfg.get("S3Bucket"), cfg.get("S3ObjectKey")
        version = None
        if req.get("revisionType") == "S3_OBJECT_VERSION_ID":
            version = req.get("revisionValue")
        elif req.get("revisionType") == "S3_OBJECT_KEY":
            key = req.get("revisionValue")
        with COND:
            try:
                obj = s3_backends[account]["aws"].get_object(bucket, key, version_id=version)
            except Exception:
                obj = None
            if obj is None:
                run.finish("Failed", error={
                    "code": "JobFailed",
                    "message": f"The object with key '{key}' does not exist in bucket '{bucket}'"
                    + (f" (version {version})" if version else "")})
                return
            meta = {k.lower(): v for k, v in (obj.metadata or {}).items()}
            data = obj.value
            rev = obj.version_id if obj.version_id and obj.version_id != "null" else obj.etag.strip('"')
        summary = (meta.get("x-amz-meta-codepipeline-artifact-revision-summary")
                   or meta.get("x-amz-meta-revision") or meta.get("x-amz-meta-commit"))
        art = {"bucket": bucket, "key": key, "version": rev, "data": data, "summary": summary}
        url = f"https://console.aws.amazon.com/s3/home?region=us-east-1#&bucket={bucket}&prefix={key}"
    else:
        rev = req.get("revisionValue") or cfg.get("BranchName") or "HEAD"
        summary = cfg.get("FullRepositoryId") or cfg.get("RepositoryName")
        art = {"bucket": None, "key": None, "version": rev, "data": b"", "summary": summary}
        url = None
    with COND:
        for n in out_names:
            ex.artifacts[n] = art
        entry = {"actionName": run.name, "revisionId": rev}
        if summary:
            entry["revisionSummary"] = summary
        if url:
            entry["revisionUrl"] = url
        ex.source_revisions.append(entry)
        run.external_id = rev
        run.finish("Succeeded", summary)


def _cfn_backend(account, region):
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account][region]


def _live_stack(cfn, name):
    for s in cfn.stacks.values():
        if s.name == name and s.status != "DELETE_COMPLETE":
            return s
    return None


def _failure_text(stack):
    for ev in reversed(stack.events):
        st = ev.resource_status or ""
        if st.endswith("_FAILED") and ev.resource_status_reason:
            return f"{ev.logical_resource_id}: {ev.resource_status_reason}"
    return stack.status


def _wait_stack(ex, run, cfn, name):
    from . import cfn_ext

    while True:
        with COND:
            stack = _live_stack(cfn, name)
            if stack is None:
                return "DELETE_COMPLETE", None
            if not cfn_ext.is_busy(stack):
                return stack.status, stack
            if _abandoned(ex):
                return None, stack
        time.sleep(0.1)


def _params(ex, cfg):
    params = {}
    if cfg.get("TemplateConfiguration"):
        tc = json.loads(_file_from(ex, cfg["TemplateConfiguration"]))
        params.update(tc.get("Parameters") or {})
    if cfg.get("ParameterOverrides"):
        params.update(json.loads(cfg["ParameterOverrides"]))
    return {str(k): str(v) for k, v in params.items()}


def _deploy(ex, run, account, region):
    cfg = run.action.get("configuration") or {}
    mode = cfg.get("ActionMode") or "CREATE_UPDATE"
    name = cfg.get("StackName")
    cfn = _cfn_backend(account, region)
    ok = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "REVIEW_IN_PROGRESS"}
    try:
        template = _file_from(ex, cfg["TemplatePath"]) if mode != "DELETE_ONLY" and mode != "CHANGE_SET_EXECUTE" else None
        params = _params(ex, cfg) if template is not None else {}
        with COND:
            stack = _live_stack(cfn, name)
            if mode == "CREATE_UPDATE":
                if stack is None or stack.status == "REVIEW_IN_PROGRESS":
                    cfn.create_stack(name=name, template=template, parameters=params, role_arn=cfg.get("RoleArn"))
                else:
                    try:
                        cfn.update_stack(name=name, template=template, role_arn=cfg.get("RoleArn"),
                                         parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
                                         tags=None)
                    except Exception as e:
                        if "No updates are to be performed" in str(e):
                            run.finish("Succeeded", f"Stack {name} was already up to date")
                            return
                        raise
            elif mode == "CHANGE_SET_REPLACE":
                cs_name = cfg.get("ChangeSetName") or "pipeline-changeset"
                for cid, cs in list(cfn.change_sets.items()):
                    if cs.change_set_name == cs_name and stack is not None and cs.stack_id == stack.stack_id:
                        del cfn.change_sets[cid]
                kind = "CREATE" if stack is None or stack.status == "REVIEW_IN_PROGRESS" else "UPDATE"
                if kind == "CREATE" and stack is not None:
                    for sid, s in list(cfn.stacks.items()):
                        if s is stack:
                            del cfn.stacks[sid]
                cfn.create_change_set(stack_name=name, change_set_name=cs_name, template=template, parameters=params,
                                      description=f"Created by CodePipeline execution {ex.id}",
                                      change_set_type=kind, role_arn=cfg.get("RoleArn"))
            elif mode == "CHANGE_SET_EXECUTE":
                cs_name = cfg.get("ChangeSetName") or "pipeline-changeset"
                cs = next((c for c in cfn.change_sets.values()
                           if c.change_set_name == cs_name and stack is not None and c.stack_id == stack.stack_id), None)
                if cs is None:
                    raise ValueError(f"ChangeSet [{cs_name}] does not exist")
                if cs.status == "FAILED" and "didn't contain changes" in (cs.status_reason or ""):
                    run.finish("Succeeded", f"Change set {cs_name} had no changes: stack {name} unchanged")
                    return
                cfn.execute_change_set(change_set_name=cs.change_set_id, stack_name=name)
            elif mode == "DELETE_ONLY":
                if stack is None:
                    run.finish("Succeeded", f"Stack {name} does not exist")
                    return
                cfn.delete_stack(name)
            else:
                raise ValueError(f"ActionMode {mode} is not supported by the simulator")
    except Exception as e:  # moto's ValidationError and ours
        msg = getattr(e, "message", None) or str(e)
        with COND:
            run.finish("Failed", error={"code": "JobFailed", "message": msg})
        return
    if mode == "CHANGE_SET_REPLACE":
        with COND:
            run.finish("Succeeded", f"Change set {cfg.get('ChangeSetName') or 'pipeline-changeset'} created for stack {name}")
        return
    status, stack = _wait_stack(ex, run, cfn, name)
    with COND:
        if status is None:
            run.finish("Abandoned")
        elif status in ok:
            run.external_id = stack.stack_id if stack is not None else name
            run.finish("Succeeded", f"Stack {name}: {status}")
        else:
            run.finish("Failed", f"Stack {name}: {status}",
                       {"code": "JobFailed", "message": f"Stack {name} is in {status}: {_failure_text(stack)}"})


def _job_event(ex, run, account):
    cfg = run.action.get("configuration") or {}
    ins = []
    for a in run.action.get("inputArtifacts") or []:
        art = ex.artifacts.get(a["name"]) or {}
        ins.append({"name": a["name"], "revision": art.get("version"),
                    "location": {"type": "S3", "s3Location": {"bucketName": art.get("bucket"),
                                                              "objectKey": art.get("key")}}})
    data = {
        "actionConfiguration": {"configuration": {k: str(v) for k, v in cfg.items()}},
        "inputArtifacts": ins,
        "outputArtifacts": [{"name": a["name"], "revision": None, "location": {"type": "S3", "s3Location": {}}}
                            for a in run.action.get("outputArtifacts") or []],
        # a placeholder: the simulator hands out no credentials
        "artifactCredentials": {"accessKeyId": "ASIAEDGESIMARTIFACTS", "secretAccessKey": "-", "sessionToken": "-"},
    }
    if run.continuation:
        data["continuationToken"] = run.continuation
    return {"CodePipeline.job": {"id": run.job_id, "accountId": account, "data": data}}


def _invoke(ex, run, account, region):
    from . import lambda_ext

    cfg = run.action.get("configuration") or {}
    run.continuation = None
    deadline = None
    while True:
        with COND:
            run.job_id = str(uuid.uuid4())
            run.decision = None
            JOBS[run.job_id] = run
            event = _job_event(ex, run, account)
            deadline = _now() + SIM.p("pipeline_job_timeout")

        def call():
            try:
                lambda_ext.invoke(account, region, cfg.get("FunctionName") or "", event)
            except lambda_ext.LambdaError as e:
                with COND:
                    if run.decision is None:
                        run.decision = ("failure", {"failureDetails": {"type": "ConfigurationError", "message": e.message}})
                        COND.notify_all()

        threading.Thread(target=call, daemon=True, name=f"job-{run.job_id[:8]}").start()
        with COND:
            how = _wait(run, ex, deadline, also_on_stop=True)
            if how == "abandoned":
                run.finish("Abandoned")
                return
            if how == "timeout":
                run.finish("Failed", error={"code": "JobFailed", "message": "The action timed out: the Lambda function "
                                            "did not call PutJobSuccessResult or PutJobFailureResult"})
                return
            kind, body = run.decision
            if kind == "failure":
                fd = body.get("failureDetails") or {}
                run.external_id = fd.get("externalExecutionId")
                run.finish("Failed", fd.get("message"), {"code": fd.get("type") or "JobFailed",
                                                         "message": fd.get("message") or ""})
                return
            details = body.get("executionDetails") or {}
            run.external_id = details.get("externalExecutionId")
            if body.get("continuationToken"):
                run.continuation = body["continuationToken"]
                run.summary = details.get("summary")
                continue
            run.finish("Succeeded", details.get("summary"))
            return


def _approve(ex, run):
    with COND:
        run.token = str(uuid.uuid4())
        minutes = int(run.action.get("timeoutInMinutes") or DEFAULT_APPROVAL_MINUTES)
        run.expires = _now() + 60 * minutes
        how = _wait(run, ex, run.expires, also_on_stop=True)
        if how == "abandoned":
            run.finish("Abandoned")
        elif how == "timeout":
            run.finish("Failed", error={"code": "JobFailed", "message": "The approval request expired"})
        else:
            status, summary = run.decision
            if status == "Approved":
                run.finish("Succeeded", summary)
            else:
                run.finish("Failed", summary, {"code": "JobFailed", "message": "Rejected"})


def _other(ex, run):
    SIM.sleep(SIM.p("pipeline_step"))
    with COND:
        run.finish("Succeeded")


def _run_action(ex, run, account, region):
    with COND:
        injected = FAIL_ACTIONS.get(run.name, 0) > 0
        if injected:
            FAIL_ACTIONS[run.name] -= 1
    if injected:
        SIM.sleep(SIM.p("pipeline_step"))
        with COND:
            run.finish("Failed", "Failed", {"code": "JobFailed", "message": f"Action {run.name} failed (injected)"})
        return
    if run.category == "Source":
        _source(ex, run, account)
    elif run.category == "Deploy" and run.provider == "CloudFormation":
        _deploy(ex, run, account, region)
    elif run.category == "Invoke" and run.provider == "Lambda":
        _invoke(ex, run, account, region)
    elif run.category == "Approval":
        _approve(ex, run)
    else:
        _other(ex, run)


def _run_stage(ex, stage, region, account, retry_mode=None):
    sname = stage["name"]
    st = ex.stages[sname]
    groups = {}
    for a in stage.get("actions", []):
        groups.setdefault(int(a.get("runOrder", 1)), []).append(a)
    failed = False
    for order in sorted(groups):
        for a in groups[order]:
            with COND:
                old = st["actions"].get(a["name"])
                if retry_mode == "FAILED_ACTIONS" and old is not None and old.status == "Succeeded":
                    continue
                if ex.stop:
                    return "Stopped"
                run = ActionRun(a, sname)
                st["actions"][a["name"]] = run
                ex.touch()
            _run_action(ex, run, account, region)
            with COND:
                ex.touch()
                if run.status == "Abandoned":
                    return "Stopped"
                if run.status == "Failed":
                    failed = True
        if failed:
            return "Failed"
    return "Succeeded"


def _run(ex, first=0, retry_mode=None):
    account, region, _ = ex.key
    stages = ex.pipeline.get("stages", [])
    try:
        for i in range(first, len(stages)):
            stage = stages[i]
            sname = stage["name"]
            if not (retry_mode and i == first) and not _enter(ex, sname):
                return
            result = _run_stage(ex, stage, region, account, retry_mode if i == first else None)
            with COND:
                st = ex.stages[sname]
                st["status"] = result
                st["end"] = time.time()
                if result == "Stopped" or (ex.stop and result == "Succeeded" and i + 1 < len(stages)):
                    st["status"] = "Stopped" if result == "Stopped" else result
                    _end(ex, "Stopped", ex.stop_reason)
                    return
                if result == "Failed":
                    failed = next((r for r in st["actions"].values() if r.status == "Failed"), None)
                    why = f"Stage {sname} failed"
                    if failed is not None and failed.error:
                        why += f": action {failed.name}: {failed.error.get('message')}"
                    _end(ex, "Failed", why)
                    return
        with COND:
            _end(ex, "Succeeded")
    except Exception as e:  # a bug in the simulator must not hang the execution
        import traceback

        traceback.print_exc()
        with COND:
            _end(ex, "Failed", f"simulator error: {e}")


# ---------------------------------------------------------------- API
def start_execution(account, region, req, caller):
    name = req.get("name")
    pipeline = _pipeline(account, region, name)
    key = (account, region, name)
    ex = Execution(key, pipeline, {"triggerType": "StartPipelineExecution", "triggerDetail": caller or ""},
                   req.get("sourceRevisions"), req.get("variables"))
    EXECUTIONS.setdefault(key, []).append(ex)
    threading.Thread(target=_run, args=(ex,), daemon=True, name=f"pipeline-{name}").start()
    return {"pipelineExecutionId": ex.id}


def _find(account, region, name, ex_id):
    _pipeline(account, region, name)
    for ex in EXECUTIONS.get((account, region, name), []):
        if ex.id == ex_id:
            return ex
    raise PipelineError(
        "PipelineExecutionNotFoundException",
        f"Pipeline execution {ex_id} not found for pipeline {name}",
    )


def stop_execution(account, region, req, caller):
    name = req.get("pipelineName")
    ex = _find(account, region, name, req.get("pipelineExecutionId"))
    reason = req.get("reason")
    if reason and len(reason) > 200:
        raise PipelineError("ValidationException", "reason must be at most 200 characters")
    abandon = bool(req.get("abandon"))
    if ex.status not in ("InProgress", "Stopping"):
        raise PipelineError("PipelineExecutionNotStoppableException",
                            f"Pipeline execution {ex.id} is {ex.status} and cannot be stopped")
    if ex.stop == "abandon" or (ex.stop == "wait" and not abandon):
        raise PipelineError("DuplicatedStopRequestException",
                            f"A stop request for pipeline execution {ex.id} is already in progress")
    ex.stop = "abandon" if abandon else "wait"
    ex.stop_reason = reason
    ex.status = "Stopping"
    ex.touch()
    COND.notify_all()
    return {"pipelineExecutionId": ex.id}


def retry_stage(account, region, req, caller):
    name = req.get("pipelineName")
    pipeline = _pipeline(account, region, name)
    sname = req.get("stageName")
    idx = next((i for i, s in enumerate(pipeline.get("stages", [])) if s["name"] == sname), None)
    if idx is None:
        raise PipelineError("StageNotFoundException", f"Stage {sname} not found in pipeline {name}")
    mode = req.get("retryMode")
    if mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
        raise PipelineError("ValidationException", "retryMode must be FAILED_ACTIONS or ALL_ACTIONS")
    ex = _find(account, region, name, req.get("pipelineExecutionId"))
    key = (account, region, name)
    locks = _locks(key)
    if locks.latest.get(sname) is not ex:
        raise PipelineError("NotLatestPipelineExecutionException",
                            f"Pipeline execution {ex.id} is not the latest execution of stage {sname}")
    st = ex.stages.get(sname)
    if ex.status != "Failed" or st is None or st["status"] != "Failed":
        raise PipelineError("StageNotRetryableException",
                            f"Stage {sname} of pipeline execution {ex.id} has not failed and cannot be retried")
    occ = locks.occupant.get(sname)
    if occ is not None and occ is not ex:
        raise PipelineError("StageNotRetryableException", f"Stage {sname} is in use by execution {occ.id}")
    locks.occupant[sname] = ex
    ex.held = sname
    ex.status = "InProgress"
    ex.status_summary = None
    st["status"] = "InProgress"
    st["end"] = None
    ex.touch()
    threading.Thread(target=_run, args=(ex, idx, mode), daemon=True, name=f"pipeline-{name}-retry").start()
    return {"pipelineExecutionId": ex.id}


def get_state(account, region, req):
    name = req.get("name")
    pipeline = _pipeline(account, region, name)
    p = _backend(account, region).pipelines[name]
    key = (account, region, name)
    locks = _locks(key)
    stages = []
    for stage in pipeline.get("stages", []):
        sname = stage["name"]
        ex = locks.latest.get(sname)
        entry = {"stageName": sname, "inboundTransitionState": {"enabled": True}, "actionStates": []}
        w = locks.waiting.get(sname)
        if w is not None:
            entry["inboundExecutions"] = [{"pipelineExecutionId": w.id, "status": "InProgress", "type": "STANDARD"}]
        if ex is not None:
            entry["latestExecution"] = {"pipelineExecutionId": ex.id, "status": ex.stages[sname]["status"],
                                        "type": "STANDARD"}
        for a in stage.get("actions", []):
            astate = {"actionName": a["name"]}
            run = ex.stages[sname]["actions"].get(a["name"]) if ex is not None else None
            if run is not None:
                le = {"actionExecutionId": run.id, "status": run.status, "lastStatusChange": run.last_change}
                if run.summary:
                    le["summary"] = run.summary
                if run.token and run.status == "InProgress":
                    le["token"] = run.token
                if run.updated_by:
                    le["lastUpdatedBy"] = run.updated_by
                if run.error:
                    le["errorDetails"] = run.error
                if run.external_id:
                    le["externalExecutionId"] = run.external_id
                astate["latestExecution"] = le
                if run.category == "Source" and run.external_id:
                    astate["currentRevision"] = {"revisionId": run.external_id}
            entry["actionStates"].append(astate)
        stages.append(entry)
    return {
        "pipelineName": name,
        "pipelineVersion": pipeline.get("version", 1),
        "stageStates": stages,
        "created": p._created.timestamp(),
        "updated": p._updated.timestamp(),
    }


def put_approval(account, region, req, caller):
    name = req.get("pipelineName")
    pipeline = _pipeline(account, region, name)
    stage = next((s for s in pipeline.get("stages", []) if s["name"] == req.get("stageName")), None)
    if stage is None:
        raise PipelineError("StageNotFoundException", f"Stage {req.get('stageName')} not found")
    if not any(a["name"] == req.get("actionName") for a in stage.get("actions", [])):
        raise PipelineError("ActionNotFoundException", f"Action {req.get('actionName')} not found")
    result = req.get("result") or {}
    status = result.get("status")
    if status not in ("Approved", "Rejected"):
        raise PipelineError("ValidationException", "result.status must be Approved or Rejected")
    if len(result.get("summary") or "") > 512:
        raise PipelineError("ValidationException", "result.summary must be at most 512 characters")
    token = req.get("token")
    for ex in EXECUTIONS.get((account, region, name), []):
        st = ex.stages.get(stage["name"])
        run = st["actions"].get(req.get("actionName")) if st else None
        if run is not None and token and run.token == token:
            if run.decision is not None:
                raise PipelineError("ApprovalAlreadyCompletedException", "This approval request has already been completed")
            if run.status != "InProgress":
                break
            run.decision = (status, result.get("summary"))
            run.updated_by = caller
            COND.notify_all()
            return {"approvedAt": time.time()}
    raise PipelineError(
        "InvalidApprovalTokenException",
        "The token for the approval request is invalid, or the request has already received a response or has expired.",
    )


def job_result(req, success):
    """PutJobSuccessResult / PutJobFailureResult (API or control endpoint)."""
    job_id = req.get("jobId")
    run = JOBS.get(job_id)
    if run is None:
        raise PipelineError("JobNotFoundException", f"Job {job_id} not found")
    if run.decision is not None or run.status != "InProgress" or run.job_id != job_id:
        raise PipelineError("InvalidJobStateException", f"Job {job_id} is already closed")
    if not success:
        fd = req.get("failureDetails") or {}
        if fd.get("type") not in ("JobFailed", "ConfigurationError", "PermissionError", "RevisionOutOfSync",
                                  "RevisionUnavailable", "SystemUnavailable"):
            raise PipelineError("ValidationException", "failureDetails.type is not valid")
    run.decision = ("success" if success else "failure", req)
    COND.notify_all()
    return {}


def _summary(ex):
    out = {
        "pipelineExecutionId": ex.id,
        "status": ex.status,
        "startTime": ex.start,
        "lastUpdateTime": ex.updated,
        "sourceRevisions": list(ex.source_revisions),
        "trigger": ex.trigger,
        "executionMode": "SUPERSEDED",
        "executionType": "STANDARD",
    }
    if ex.stop_reason or ex.stop:
        out["stopTrigger"] = {"reason": ex.stop_reason or ""}
    if ex.status_summary:
        out["statusSummary"] = ex.status_summary
    return out


def list_executions(account, region, req):
    name = req.get("pipelineName")
    _pipeline(account, region, name)
    exs = list(reversed(EXECUTIONS.get((account, region, name), [])))
    maxr = int(req.get("maxResults") or 100)
    return {"pipelineExecutionSummaries": [_summary(e) for e in exs[:maxr]]}


def get_execution(account, region, req):
    name = req.get("pipelineName")
    ex = _find(account, region, name, req.get("pipelineExecutionId"))
    out = {
        "pipelineName": name,
        "pipelineVersion": ex.version,
        "pipelineExecutionId": ex.id,
        "status": ex.status,
        "artifactRevisions": [
            {"name": n, "revisionId": a["version"], "revisionSummary": a.get("summary")}
            for n, a in ex.artifacts.items()
        ],
        "variables": ex.variables,
        "trigger": ex.trigger,
        "executionMode": "SUPERSEDED",
        "executionType": "STANDARD",
    }
    if ex.status_summary:
        out["statusSummary"] = ex.status_summary
    return {"pipelineExecution": out}


def list_action_executions(account, region, req):
    name = req.get("pipelineName")
    _pipeline(account, region, name)
    want = ((req.get("filter") or {}).get("pipelineExecutionId"))
    out = []
    for ex in reversed(EXECUTIONS.get((account, region, name), [])):
        if want and ex.id != want:
            continue
        for sname, st in ex.stages.items():
            for run in st["actions"].values():
                d = {
                    "pipelineExecutionId": ex.id,
                    "actionExecutionId": run.id,
                    "pipelineVersion": ex.version,
                    "stageName": sname,
                    "actionName": run.name,
                    "startTime": run.start,
                    "lastUpdateTime": run.last_change,
                    "status": run.status,
                    "input": {"actionTypeId": run.action.get("actionTypeId"),
                              "configuration": run.action.get("configuration") or {}},
                    "output": {"executionResult": {}},
                }
                er = d["output"]["executionResult"]
                if run.external_id:
                    er["externalExecutionId"] = run.external_id
                if run.summary or run.error:
                    er["externalExecutionSummary"] = run.summary or run.error.get("message")
                if run.error:
                    er["errorDetails"] = run.error
                if run.updated_by:
                    d["updatedBy"] = run.updated_by
                out.append(d)
    maxr = int(req.get("maxResults") or 100)
    return {"actionExecutionDetails": out[:maxr]}


OPS = {
    "GetPipelineState": lambda a, r, q, c: get_state(a, r, q),
    "StartPipelineExecution": start_execution,
    "StopPipelineExecution": stop_execution,
    "RetryStageExecution": retry_stage,
    "PutApprovalResult": put_approval,
    "PutJobSuccessResult": lambda a, r, q, c: job_result(q, True),
    "PutJobFailureResult": lambda a, r, q, c: job_result(q, False),
    "ListPipelineExecutions": lambda a, r, q, c: list_executions(a, r, q),
    "GetPipelineExecution": lambda a, r, q, c: get_execution(a, r, q),
    "ListActionExecutions": lambda a, r, q, c: list_action_executions(a, r, q),
}
