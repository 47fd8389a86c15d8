"""Process-wide simulator state: timing profile, clock, lock, random source."""

import datetime
import os
import random
import threading
import time

ACCOUNT_ID = "123456789012"

# Timing profiles, all in seconds. "test" keeps a whole deploy/propagate/
# invalidate cycle around a second or two; "demo" is closer to what AWS does
# (tens of seconds instead of tens of minutes).
PROFILES = {
    "test": {
        "stack_step": 0.1,  # per resource step of a stack operation
        "changeset_delay": 0.0,  # CREATE_PENDING -> CREATE_COMPLETE
        "propagation_min": 0.3,  # first edge applies a distribution change
        "propagation_max": 1.2,  # last edge applies it; then Deployed
        "invalidation": 0.8,  # InProgress -> Completed
        "pipeline_step": 0.3,  # per non-approval pipeline action
        "replica_cleanup": 0.0,  # Lambda@Edge replicas stay after the last association
    },
    "demo": {
        "stack_step": 2.0,
        "changeset_delay": 2.0,
        "propagation_min": 8.0,
        "propagation_max": 45.0,
        "invalidation": 15.0,
        "pipeline_step": 4.0,
        "replica_cleanup": 60.0,
    },
}

EDGE_POPS = [
    ("IAD", "IAD89-P1"),
    ("FRA", "FRA56-P1"),
    ("NRT", "NRT57-P2"),
    ("GRU", "GRU3-P1"),
    ("SYD", "SYD62-P1"),
    ("LHR", "LHR50-C1"),
    ("BOM", "BOM78-P4"),
    ("ORD", "ORD53-C1"),
]


class Sim:
    def __init__(self):
        # One lock around moto's backends: request threads, stack workers,
        # pipeline workers and edges take it for short critical sections.
        self.lock = threading.RLock()
        self.params = dict(PROFILES["test"])
        self.speed = "test"
        self.rng = random.Random(0)
        self.region = "us-east-1"
        self.state_dir = None
        self.edges = []  # set by edges.start_fleet: list of Edge
        self.clock_offset = 0.0  # seconds added to the server clock
        self.cfn_wait_deployed = False
        self.verify_signatures = True
        self.node = "node"
        # Cleared by POST /stacks/hold: stack operations stop at their next
        # resource step (still *_IN_PROGRESS) until the gate is set again.
        self.stack_gate = threading.Event()
        self.stack_gate.set()

    def configure(self, speed="test", seed=0, state_dir=None, region="us-east-1"):
        self.speed = speed
        self.params = dict(PROFILES[speed])
        self.rng = random.Random(seed)
        self.state_dir = state_dir
        self.region = region
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)

    def p(self, name):
        return float(self.params[name])

    def now(self):
        """Monotonic-ish wall time used for all simulated durations."""
        return time.time()

    def server_time(self):
        """The server's idea of the current time (clock faults shift it)."""
        return time.time() + self.clock_offset

    def utcnow(self):
        return datetime.datetime.fromtimestamp(self.now(), datetime.timezone.utc)

    def sleep(self, seconds):
        if seconds > 0:
            time.sleep(seconds)


SIM = Sim()
