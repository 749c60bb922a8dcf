# Locust (FastHttpUser, the engine dimagi/commcare-perf uses) as a peer of the harness in bench/harness.ts: each
# user posts the bench's sample of corpus bodies in turn with the headers a submission carries, no wait, until the
# users together have sent BENCH_TOTAL requests; then Locust quits (bench/harness.ts also bounds it with --run-time).
# Environment: BENCH_BODY_DIR (b0.bin ... and types.json, written by the harness), BENCH_BODIES, BENCH_TOTAL, BENCH_PATH.
import itertools
import json
import os

import gevent
from locust import FastHttpUser, constant, task

BODY_DIR = os.environ["BENCH_BODY_DIR"]
COUNT = int(os.environ["BENCH_BODIES"])
TOTAL = int(os.environ["BENCH_TOTAL"])
PATH = os.environ.get("BENCH_PATH", "/sink/a/bench/receiver/")

with open(os.path.join(BODY_DIR, "types.json"), encoding="utf8") as f:
    TYPES = json.load(f)
BODIES = []
for i in range(COUNT):
    with open(os.path.join(BODY_DIR, f"b{i}.bin"), "rb") as f:
        BODIES.append(f.read())
# headers built once per body, as the minimal k6 script and wrk do
HEADERS = [
    {"Content-Type": TYPES[i], "Authorization": "Basic bWluOmltYWw=", "X-OpenRosa-Version": "3.0"}
    for i in range(COUNT)
]

sent = itertools.count(1)
users = itertools.count()


class Submitter(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.k = next(users)

    @task
    def submit(self):
        k = self.k % COUNT
        self.k += 1
        self.client.post(PATH, data=BODIES[k], headers=HEADERS[k])
        if next(sent) == TOTAL:
            # quit from a greenlet of its own: quitting stops every user, this one among them
            gevent.spawn(self.environment.runner.quit)
