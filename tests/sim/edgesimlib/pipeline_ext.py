"""CodePipeline executions, on top of moto's pipeline definitions.

moto stores pipelines (create/get/list/update/delete) but has no
executions. Here StartPipelineExecution runs the stored definition stage by
stage: Approval actions wait for PutApprovalResult (token in
GetPipelineState, as AWS does); every other action succeeds after
pipeline_step seconds (they are not executed: a CloudFormation deploy
action does not deploy). Actions can be made to fail through the control
endpoint.
"""

import threading
import time
import uuid

from moto.codepipeline.models import codepipeline_backends

from .state import SIM

EXECUTIONS = {}  # (account, region, pipeline) -> [Execution], newest last
FAIL_ACTIONS = {}  # action name -> remaining failures (control endpoint)


class PipelineError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class ActionRun:
    def __init__(self, name):
        self.name = name
        self.id = str(uuid.uuid4())
        self.status = "InProgress"
        self.summary = None
        self.token = None
        self.last_change = time.time()
        self.error = None
        self.updated_by = None
        self.decided = threading.Event()
        self.decision = None


class Execution:
    def __init__(self, key, pipeline, trigger):
        self.key = key
        self.id = str(uuid.uuid4())
        self.pipeline = pipeline
        self.version = pipeline.get("version", 1)
        self.status = "InProgress"
        self.status_summary = None
        self.start = time.time()
        self.updated = self.start
        self.trigger = trigger
        self.stages = {}  # stage name -> {"status":..., "actions": {name: ActionRun}}
        self.stopped = False


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


def _run(ex):
    for stage in ex.pipeline.get("stages", []):
        sname = stage["name"]
        with SIM.lock:
            st = {"status": "InProgress", "actions": {}}
            ex.stages[sname] = st
            ex.updated = time.time()
        groups = {}
        for a in stage.get("actions", []):
            groups.setdefault(int(a.get("runOrder", 1)), []).append(a)
        failed = False
        for order in sorted(groups):
            runs = []
            with SIM.lock:
                for a in groups[order]:
                    r = ActionRun(a["name"])
                    cat = a.get("actionTypeId", {}).get("category")
                    if cat == "Approval":
                        r.token = str(uuid.uuid4())
                    st["actions"][a["name"]] = r
                    runs.append((a, r))
            for a, r in runs:
                cat = a.get("actionTypeId", {}).get("category")
                if cat == "Approval":
                    r.decided.wait()
                    with SIM.lock:
                        status, summary = r.decision
                        r.summary = summary
                        r.last_change = time.time()
                        if status == "Approved":
                            r.status = "Succeeded"
                        else:
                            r.status = "Failed"
                            r.error = {"code": "JobFailed", "message": "Rejected"}
                            failed = True
                else:
                    SIM.sleep(SIM.p("pipeline_step"))
                    with SIM.lock:
                        r.last_change = time.time()
                        if FAIL_ACTIONS.get(a["name"], 0) > 0:
                            FAIL_ACTIONS[a["name"]] -= 1
                            r.status = "Failed"
                            r.error = {"code": "JobFailed", "message": f"Action {a['name']} failed (injected)"}
                            r.summary = "Failed"
                            failed = True
                        else:
                            r.status = "Succeeded"
                            if cat == "Source":
                                r.summary = "Source revision"
            if failed:
                break
        with SIM.lock:
            st["status"] = "Failed" if failed else "Succeeded"
            ex.updated = time.time()
            if failed:
                ex.status = "Failed"
                ex.status_summary = f"Stage {sname} failed"
                return
    with SIM.lock:
        ex.status = "Succeeded"
        ex.updated = time.time()


def start_execution(account, region, req, caller):
    name = req.get("name")
    pipeline = _pipeline(account, region, name)
    key = (account, region, name)
    ex = Execution(key, pipeline, {"triggerType": "StartPipelineExecution", "triggerDetail": caller or ""})
    EXECUTIONS.setdefault(key, []).append(ex)
    threading.Thread(target=_run, args=(ex,), daemon=True, name=f"pipeline-{name}").start()
    return {"pipelineExecutionId": ex.id}


def _latest_for_stage(key, sname):
    for ex in reversed(EXECUTIONS.get(key, [])):
        if sname in ex.stages:
            return ex
    return None


def get_state(account, region, req):
    name = req.get("name")
    pipeline = _pipeline(account, region, name)
    p = _backend(account, region).pipelines[name]
    key = (account, region, name)
    stages = []
    for stage in pipeline.get("stages", []):
        sname = stage["name"]
        ex = _latest_for_stage(key, sname)
        entry = {"stageName": sname, "inboundTransitionState": {"enabled": True}, "actionStates": []}
        if ex is not None:
            st = ex.stages[sname]
            entry["latestExecution"] = {"pipelineExecutionId": ex.id, "status": st["status"]}
        for a in stage.get("actions", []):
            astate = {"actionName": a["name"]}
            run = ex.stages[sname]["actions"].get(a["name"]) if ex is not None else None
            if run is not None:
                le = {
                    "actionExecutionId": run.id,
                    "status": run.status,
                    "lastStatusChange": run.last_change,
                }
                if run.summary:
                    le["summary"] = run.summary
                if run.token and run.status == "InProgress":
                    le["token"] = run.token
                if run.updated_by:
                    le["lastUpdatedBy"] = run.updated_by
                if run.error:
                    le["errorDetails"] = run.error
                astate["latestExecution"] = le
                if a.get("actionTypeId", {}).get("category") == "Source":
                    astate["currentRevision"] = {"revisionId": ex.id[:8]}
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
    token = req.get("token")
    for ex in EXECUTIONS.get((account, region, name), []):
        st = ex.stages.get(stage["name"])
        run = st["actions"].get(req.get("actionName")) if st else None
        if run is not None and run.token == token:
            if run.decision is not None:
                raise PipelineError("ApprovalAlreadyCompletedException", "This approval request has already been completed")
            run.decision = (status, result.get("summary"))
            run.updated_by = caller
            run.decided.set()
            return {"approvedAt": time.time()}
    raise PipelineError(
        "InvalidApprovalTokenException",
        "The token for the approval request is invalid, or the request has already received a response or has expired.",
    )


def _summary(ex):
    return {
        "pipelineExecutionId": ex.id,
        "status": ex.status,
        "startTime": ex.start,
        "lastUpdateTime": ex.updated,
        "sourceRevisions": [],
        "trigger": ex.trigger,
        "executionMode": "SUPERSEDED",
        "executionType": "STANDARD",
    }


def list_executions(account, region, req):
    name = req.get("pipelineName")
    _pipeline(account, region, name)
    exs = list(reversed(EXECUTIONS.get((account, region, name), [])))
    maxr = int(req.get("maxResults") or 100)
    return {"pipelineExecutionSummaries": [_summary(e) for e in exs[:maxr]]}


def get_execution(account, region, req):
    name = req.get("pipelineName")
    _pipeline(account, region, name)
    for ex in EXECUTIONS.get((account, region, name), []):
        if ex.id == req.get("pipelineExecutionId"):
            out = {
                "pipelineName": name,
                "pipelineVersion": ex.version,
                "pipelineExecutionId": ex.id,
                "status": ex.status,
                "artifactRevisions": [],
                "trigger": ex.trigger,
                "executionMode": "SUPERSEDED",
                "executionType": "STANDARD",
            }
            if ex.status_summary:
                out["statusSummary"] = ex.status_summary
            return {"pipelineExecution": out}
    raise PipelineError(
        "PipelineExecutionNotFoundException",
        f"Pipeline execution {req.get('pipelineExecutionId')} not found for pipeline {name}",
    )


OPS = {
    "GetPipelineState": lambda a, r, q, c: get_state(a, r, q),
    "StartPipelineExecution": start_execution,
    "PutApprovalResult": put_approval,
    "ListPipelineExecutions": lambda a, r, q, c: list_executions(a, r, q),
    "GetPipelineExecution": lambda a, r, q, c: get_execution(a, r, q),
}
