#!/usr/bin/env python3
"""The fault matrix: edgeship behind a fault-injecting proxy of its own,
in front of the simulator.

Every mutating call of deploy, promote, rollback, validate and invalidate
meets each transport fault real networks produce: its answer lost after the
side effect, the connection reset before it, the answer cut inside the
headers or inside the body, a 4 s stall, and for S3's conditional writes a
409 ConditionalRequestConflict (before and after the write). Then kill -9 at
each step of a deploy, followed by `status` and a new deploy, and three
consoles with their own caches racing deploys and promotions.

After each case it checks, from the simulator's request log and from three
fresh consoles (empty caches, straight to the simulator):
  - outcome right: the action ends where CloudFormation says (the recorded
    outcome matches the stack's status; the command's exit code agrees);
  - no duplicate: each intended side effect happened once (one executed
    change set, one invalidation, one ledger object per record id, the
    action's intent and outcome once each, the stage lock released);
  - ledgers equal: the three consoles list the same records.
and prints the matrix at the end."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
sys.path.insert(0, HERE)

import proxyctl  # noqa: E402
import release  # noqa: E402
from release import App, wait_until  # noqa: E402

FAULTS = ["lose_answer", "reset_before", "cut_headers", "cut_body", "stall"]
S3_CONDITIONAL = ["status409", "status409_after"]
# A slow answer: thousands of times what the simulator takes, well under the
# client's 60 s read timeout (an answer that never comes is lose_answer).
STALL_S = 4


class FaultApp(App):
    """The app, its commands sent through the proxy."""

    @classmethod
    def wrap(cls, app, proxy):
        app.__class__ = cls
        app.proxy = proxy
        app.console = "main"
        return app

    def env(self):
        env = self.sim.env(XDG_STATE_HOME=os.path.join(self.sim.tmp, "state-" + self.console),
                           HOME=self.home)
        env["AWS_ENDPOINT_URL"] = self.proxy.endpoint
        return env

    def fresh_console(self, name):
        """Run commands as a console with an empty cache, straight to AWS."""
        env = self.sim.env(XDG_STATE_HOME=os.path.join(self.sim.tmp, "fresh-" + name, str(time.time())),
                           HOME=self.home)
        return env

    def run_env(self, env, *args, timeout=180):
        p = subprocess.run([release.EDGESHIP, *args], cwd=self.dir, env=env, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr


class Matrix:
    def __init__(self):
        self.rows = []

    def add(self, case, outcome, nodup, equal, note=""):
        self.rows.append((case, outcome, nodup, equal, note))

    def print(self, tap):
        w = max(len(r[0]) for r in self.rows) if self.rows else 10
        tap.diag(f"{'case'.ljust(w)}  outcome  no-dup  ledgers")
        for case, o, n, e, note in self.rows:
            mark = lambda b: "right" if b else "WRONG"  # noqa: E731
            tap.diag(f"{case.ljust(w)}  {mark(o):7}  {('yes' if n else 'NO'):6}  "
                     f"{('equal' if e else 'DIFFER'):7}  {note}")
        ok = sum(1 for r in self.rows if r[1] and r[2] and r[3])
        tap.diag(f"{len(self.rows)} cases, {ok} right on all three counts")


class Harness:
    def __init__(self, tap, sim, app, proxy):
        self.tap = tap
        self.sim = sim
        self.app = app
        self.proxy = proxy
        self.matrix = Matrix()
        self.n_change = 0
        self.s3 = sim.client("s3")
        self.cfn = sim.client("cloudformation")
        self.records_read = {}

    # ---- helpers
    def next_commit(self):
        self.n_change += 1
        path = os.path.join(self.app.dir, "src", "index.js")
        text = open(path).read()
        marker = "// change "
        lines = [l for l in text.splitlines() if not l.startswith(marker)]
        lines.append(f"{marker}{self.n_change}")
        open(path, "w").write("\n".join(lines) + "\n")
        self.app.git("commit", "-q", "-am", f"change {self.n_change}")
        return self.app.head()

    def log_seq(self):
        log = self.sim.log()
        return log[-1]["seq"] if log else 0

    def ledger_objects(self):
        """Every ledger record, from a fresh listing. A record is read once
        for each (key, ETag): one rewritten in place is read again."""
        out = []
        kw = {"Bucket": "edge-demo-artifacts", "Prefix": "edge-demo/ledger/"}
        while True:
            page = self.s3.list_objects_v2(**kw)
            for o in page.get("Contents", []):
                seen = (o["Key"], o.get("ETag"))
                if seen not in self.records_read:
                    body = self.s3.get_object(Bucket=kw["Bucket"], Key=o["Key"])["Body"].read()
                    try:
                        self.records_read[seen] = json.loads(body)
                    except ValueError:
                        self.records_read[seen] = {"unreadable": o["Key"]}
                out.append(self.records_read[seen])
            if not page.get("IsTruncated"):
                return out
            kw["ContinuationToken"] = page["NextContinuationToken"]

    def consoles_agree(self):
        """Three fresh consoles list the ledger; are the lists the same?"""
        lists = [None] * 3

        def one(i, name):
            rc, out, err = self.app.run_env(self.app.fresh_console(name), "log", "--json")
            try:
                recs = json.loads(out) if rc == 0 else None
            except ValueError:
                recs = None
            lists[i] = [(r.get("seq"), r.get("record_id")) for r in recs] if recs is not None else None

        # The three read at once: each waits on the simulator.
        threads = [threading.Thread(target=one, args=(i, name)) for i, name in enumerate("abc")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return all(l is not None for l in lists) and lists[0] == lists[1] == lists[2], lists[0] or []

    def lock_free(self, stage="staging"):
        try:
            self.s3.head_object(Bucket="edge-demo-artifacts", Key=f"edge-demo/locks/{stage}.json")
            return False
        except Exception:  # noqa: BLE001 - 404
            return True

    def stack_status(self, stack):
        return self.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]

    def settle(self, stage="staging"):
        stack = f"edge-demo-{stage}"
        wait_until(lambda: not self.stack_status(stack).endswith("_IN_PROGRESS"), 120, 0.3)
        wait_until(lambda: self.app.distribution(stage)["Status"] == "Deployed", 120, 0.3)

    def no_dup_records(self, objs):
        ids = [o.get("record_id") for o in objs if o.get("record_id")]
        return len(ids) == len(set(ids))

    def action_records(self, objs, action_id):
        intents = [o for o in objs if o.get("action_id") == action_id and o.get("phase") == "intent"]
        outcomes = [o for o in objs if o.get("action_id") == action_id and o.get("phase") == "outcome"
                    and o.get("result") != "detached"]
        return intents, outcomes

    def rule(self, kind, **kw):
        if kind == "stall":
            kw["seconds"] = STALL_S
        return self.proxy.add_rule(kind, **kw)

    # ---- one deploy-like case
    def deploy_like(self, name, stage, command, rule, expect_executed=True):
        """Run command with one proxy rule; check the three counts."""
        tap = self.tap
        start = self.log_seq()
        before = {o.get("record_id") for o in self.ledger_objects()}
        if rule:
            self.rule(**rule)
        rc, out, err = self.app.run(*command)
        self.proxy.clear_rules()
        hits = [r for r in self.proxy.log() if r.get("fault")]
        self.proxy.clear_log()
        self.settle(stage)
        log = self.sim.log(since=start)
        objs = self.ledger_objects()
        new = [o for o in objs if o.get("record_id") not in before]
        intents = [o for o in new if o.get("phase") == "intent"]
        action = intents[-1]["action_id"] if intents else None
        intents, outcomes = self.action_records(objs, action) if action else ([], [])
        stack = f"edge-demo-{stage}"
        status = self.stack_status(stack)
        result = outcomes[0]["result"] if len(outcomes) == 1 else None
        cfn_ok = status in ("UPDATE_COMPLETE", "CREATE_COMPLETE")
        outcome_right = (rc == 0 and result == "success" and cfn_ok) or \
                        (rc != 0 and result == "failed" and not cfn_ok)
        executes = [e for e in log if e.get("operation") == "ExecuteChangeSet" and e.get("status") == 200]
        # A retried CreateChangeSet with the same name and client token is
        # the same change set: count change sets, not accepted requests.
        cs_name = intents[0].get("change_set") if intents else None
        summaries = self.cfn.list_change_sets(StackName=stack).get("Summaries", [])
        creates = [c for c in summaries if c.get("ChangeSetName") == cs_name]
        nodup = (len(intents) == 1 and len(outcomes) == 1 and self.no_dup_records(objs)
                 and len(executes) == (1 if expect_executed else 0) and len(creates) == 1
                 and self.lock_free(stage))
        equal, _ = self.consoles_agree()
        fault_seen = not rule or bool(hits)
        note = "" if fault_seen else "(fault not hit)"
        self.matrix.add(name, outcome_right, nodup, equal, note)
        tap.ok(fault_seen and outcome_right and nodup and equal, f"{name}: outcome right, once, ledgers equal",
               {"rc": rc, "result": result, "stack": status, "intents": len(intents),
                "outcomes": len(outcomes), "executes": len(executes), "creates": len(creates),
                "lock_free": self.lock_free(stage), "fault_hits": len(hits), "ledgers_equal": equal,
                "err": err[-1500:]})

    # ---- the cases
    def deploy_cases(self):
        targets = [
            ("lock", {"service": "s3", "operation": "PutObject", "match": "locks/"}),
            ("artifact", {"service": "s3", "operation": "PutObject", "match": "artifacts/"}),
            ("template", {"service": "s3", "operation": "PutObject", "match": "templates/"}),
            ("intent", {"service": "s3", "operation": "PutObject", "match": "ledger/"}),
            ("CreateChangeSet", {"service": "cloudformation", "operation": "CreateChangeSet"}),
            ("ExecuteChangeSet", {"service": "cloudformation", "operation": "ExecuteChangeSet"}),
            ("outcome", {"service": "s3", "operation": "PutObject", "match": "ledger/", "skip": 1}),
            ("unlock", {"service": "s3", "operation": "DeleteObject", "match": "locks/"}),
        ]
        for target, sel in targets:
            faults = FAULTS + (S3_CONDITIONAL if target in ("lock", "intent", "outcome") else [])
            for fault in faults:
                self.next_commit()
                self.deploy_like(f"deploy {target} {fault}", "staging",
                                 ["deploy", "--yes", "--wait", "--poll-interval", "300"],
                                 dict(kind=fault, **sel))

    def validate_staging(self):
        rc, out, err = self.app.run("validate", "--stage", "staging")
        if rc != 0:
            raise RuntimeError(f"validation failed: {out}{err}")

    def promote_cases(self):
        targets = [
            ("lock", {"service": "s3", "operation": "PutObject", "match": "locks/"}),
            ("intent", {"service": "s3", "operation": "PutObject", "match": "ledger/"}),
            ("CreateChangeSet", {"service": "cloudformation", "operation": "CreateChangeSet"}),
            ("ExecuteChangeSet", {"service": "cloudformation", "operation": "ExecuteChangeSet"}),
            ("outcome", {"service": "s3", "operation": "PutObject", "match": "ledger/", "skip": 1}),
        ]
        for target, sel in targets:
            for fault in FAULTS:
                if fault == "stall" and target not in ("ExecuteChangeSet", "outcome"):
                    continue
                self.next_commit()
                rc, out, err = self.app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
                if rc != 0:
                    raise RuntimeError(f"staging deploy failed: {err}")
                self.settle("staging")
                self.validate_staging()
                self.deploy_like(f"promote {target} {fault}", "production",
                                 ["promote", "--to", "production", "--yes", "--wait", "--poll-interval", "300"],
                                 dict(kind=fault, **sel))

    def rollback_cases(self, old, new):
        targets = [
            ("intent", {"service": "s3", "operation": "PutObject", "match": "ledger/"}),
            ("ExecuteChangeSet", {"service": "cloudformation", "operation": "ExecuteChangeSet"}),
            ("outcome", {"service": "s3", "operation": "PutObject", "match": "ledger/", "skip": 1}),
        ]
        to = [old, new]
        i = 0
        for target, sel in targets:
            for fault in ["lose_answer", "reset_before", "cut_headers", "cut_body"]:
                self.deploy_like(f"rollback {target} {fault}", "staging",
                                 ["rollback", "--stage", "staging", "--to", to[i % 2], "--yes", "--wait",
                                  "--poll-interval", "300"], dict(kind=fault, **sel))
                i += 1

    def invalidations(self):
        dist = self.app.status("staging")["distribution_id"]
        items = self.sim.client("cloudfront").list_invalidations(DistributionId=dist)
        return {i["Id"] for i in items["InvalidationList"].get("Items", [])}

    def simple_case(self, name, command, rule, kind, count_op=None):
        """validate / invalidate: records of kind grow by the action's own, once."""
        tap = self.tap
        start = self.log_seq()
        before_objs = self.ledger_objects()
        before_inv = self.invalidations() if count_op else set()
        self.rule(**rule)
        rc, out, err = self.app.run(*command)
        self.proxy.clear_rules()
        hits = [r for r in self.proxy.log() if r.get("fault")]
        self.proxy.clear_log()
        log = self.sim.log(since=start)
        objs = self.ledger_objects()
        grew = len([o for o in objs if o.get("kind") == kind]) - \
            len([o for o in before_objs if o.get("kind") == kind])
        want = 2 if kind == "invalidation" else 1
        # A retried CreateInvalidation with the same caller reference is the
        # same invalidation: count invalidations, not accepted requests.
        ops = sorted(self.invalidations() - before_inv) if count_op else []
        nodup = grew == want and self.no_dup_records(objs) and (not count_op or len(ops) == 1)
        outcome_right = rc == 0
        equal, _ = self.consoles_agree()
        self.matrix.add(name, outcome_right, nodup, equal, "" if hits else "(fault not hit)")
        tap.ok(hits and outcome_right and nodup and equal, f"{name}: outcome right, once, ledgers equal",
               {"rc": rc, "grew": grew, "ops": len(ops), "hits": len(hits), "equal": equal,
                "out": out[-800:], "err": err[-800:]})

    def validate_cases(self):
        for fault in FAULTS + S3_CONDITIONAL:
            self.simple_case(f"validate record {fault}", ["validate", "--stage", "staging"],
                             dict(kind=fault, service="s3", operation="PutObject", match="ledger/"),
                             "validation")

    def invalidate_cases(self):
        targets = [
            ("intent", {"service": "s3", "operation": "PutObject", "match": "ledger/"}),
            ("CreateInvalidation", {"service": "cloudfront", "operation": "CreateInvalidation"}),
            ("outcome", {"service": "s3", "operation": "PutObject", "match": "ledger/", "skip": 1}),
        ]
        for target, sel in targets:
            for fault in FAULTS:
                if fault == "stall" and target != "CreateInvalidation":
                    continue
                self.simple_case(f"invalidate {target} {fault}", ["invalidate", "--stage", "staging", "--wait", "--yes"],
                                 dict(kind=fault, **sel), "invalidation", "CreateInvalidation")

    # ---- kill -9 at each step
    def kill_cases(self):
        steps = [
            ("after uploads", "release ", None),
            ("after the intent", "ledger record ", None),
            ("after the change set", "waiting for CloudFormation", None),
            ("mid-update", "executing change set", None),
            # Every attempt at the outcome is reset, so the kill comes
            # before it is recorded.
            ("before the outcome", "UPDATE_COMPLETE ",
             dict(kind="reset_before", service="s3", operation="PutObject", match="ledger/", skip=1,
                  count=1000)),
        ]
        for name, line_mark, rule in steps:
            self.settle("staging")
            self.next_commit()
            self.sim.config(stack_step=0.5)
            if rule:
                self.proxy.add_rule(**rule)
            p = self.app.popen("deploy", "--yes", "--poll-interval", "300")
            seen = ""
            deadline = time.time() + 120
            while time.time() < deadline:
                line = p.stdout.readline()
                seen += line
                if line_mark in line or not line:
                    break
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            self.proxy.clear_rules()
            self.sim.config(stack_step=0.1)
            killed_at = line_mark in seen
            self.settle("staging")
            # The dead console's lease: let S3's clock run past it instead
            # of waiting (the lock is judged by S3's clock alone).
            self.sim.ctl("POST", "/clock", {"offset": 400})
            rc_s, out_s, err_s = self.app.run("status", "--json")
            self.next_commit()
            rc, out, err = self.app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
            self.settle("staging")
            rc_s2, out_s2, _ = self.app.run("status", "--json")
            self.sim.ctl("POST", "/clock", {"offset": 0})
            objs = self.ledger_objects()
            intents = [o for o in objs if o.get("phase") == "intent" and o.get("kind") == "deploy"]
            open_ones = []
            wrong = []
            for it in intents:
                _, outs = self.action_records(objs, it.get("action_id"))
                if it.get("action_id") and len(outs) != 1:
                    open_ones.append(it["seq"])
                for o in outs:
                    if o["result"] == "success" and it is intents[-1] and \
                            self.stack_status("edge-demo-staging") != "UPDATE_COMPLETE":
                        wrong.append(o["seq"])
            st = json.loads(out_s2)["stages"][0] if rc_s2 == 0 else {}
            equal, _ = self.consoles_agree()
            outcome_right = rc == 0 and not wrong and not st.get("interrupted") and not st.get("running")
            nodup = not open_ones and self.no_dup_records(objs) and self.lock_free("staging")
            self.matrix.add(f"kill -9 {name}", outcome_right, nodup, equal,
                            "" if killed_at else "(did not reach the step)")
            self.tap.ok(killed_at and outcome_right and nodup and equal,
                        f"kill -9 {name}: status and a new deploy put everything right",
                        {"rc": rc, "err": err[-1500:], "open": open_ones, "wrong": wrong,
                         "status": st, "seen": seen[-600:], "status_err": err_s[-400:]})

    # ---- three consoles at once
    def race(self, name, stage, command):
        outs = [None] * 3

        def one(i):
            env = self.app.env()
            env["XDG_STATE_HOME"] = os.path.join(self.sim.tmp, f"racer-{i}")
            outs[i] = self.app.run_env(env, *command)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
        before = {o.get("record_id") for o in self.ledger_objects()}
        start = self.log_seq()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.settle(stage)
        codes = sorted(o[0] for o in outs)
        objs = self.ledger_objects()
        new = [o for o in objs if o.get("record_id") not in before]
        executes = [e for e in self.sim.log(since=start)
                    if e.get("operation") == "ExecuteChangeSet" and e.get("status") == 200]
        equal, _ = self.consoles_agree()
        winners = codes.count(0)
        outcome_right = winners == 1 and all(c == 3 for c in codes if c != 0)
        nodup = (len(executes) == 1 and len([o for o in new if o.get("phase") == "intent"]) == 1
                 and len([o for o in new if o.get("phase") == "outcome"]) == 1 and self.no_dup_records(objs)
                 and self.lock_free(stage))
        self.matrix.add(name, outcome_right, nodup, equal)
        self.tap.ok(outcome_right and nodup and equal, f"{name}: one wins, the others are refused, once",
                    {"codes": codes, "executes": len(executes), "new": [(o.get("kind"), o.get("phase"))
                                                                        for o in new],
                     "errs": [o[2][-300:] for o in outs]})

    def race_cases(self):
        self.settle("staging")
        self.next_commit()
        self.race("three consoles deploy", "staging", ["deploy", "--yes", "--poll-interval", "300"])
        self.settle("staging")
        self.validate_staging()
        self.settle("production")
        self.race("three consoles promote", "production", ["promote", "--to", "production", "--yes",
                                                           "--poll-interval", "300"])


# The matrix in two parts, each against its own simulator, so that make
# runs them side by side: each starts from a first release in both stages.
PARTS = {
    "deploy": ("deploy", "rollback"),
    "others": ("validate", "invalidate", "promote", "kill", "race"),
}


def main(tap, sim, app0, part=None):
    phases = PARTS[part] if part else PARTS["deploy"] + PARTS["others"]
    proxy = proxyctl.start_proxy(sim.endpoint)
    try:
        app = FaultApp.wrap(app0, proxy)
        sim.config(propagation_min=0.2, propagation_max=0.5, stack_step=0.1)
        h = Harness(tap, sim, app, proxy)
        # A first release in both stages, without faults.
        first = app.head()
        rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
        tap.ok(rc == 0, "the first deploy creates the staging stack", err)
        h.settle("staging")
        h.validate_staging()
        rc, out, err = app.run("promote", "--to", "production", "--yes", "--wait", "--poll-interval", "300")
        tap.ok(rc == 0, "the first promotion creates the production stack", err)
        h.settle("production")
        if "deploy" in phases:
            h.deploy_cases()
        if "rollback" in phases:
            second = h.next_commit()
            rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
            tap.ok(rc == 0, "a second release for the rollbacks", err)
            h.settle("staging")
            h.rollback_cases(first, second)
            h.settle("staging")
        if "validate" in phases:
            h.validate_cases()
        if "invalidate" in phases:
            h.invalidate_cases()
        if "promote" in phases:
            h.promote_cases()
        if "kill" in phases:
            h.kill_cases()
        if "race" in phases:
            h.race_cases()
        h.matrix.print(tap)
    finally:
        proxy.stop()


if __name__ == "__main__":
    # The whole matrix in one run; `make check` runs its two parts
    # (t_matrix_deploy.py, t_matrix_others.py).
    release.run(main)
