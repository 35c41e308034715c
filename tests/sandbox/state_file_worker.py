"""One process of the no-lost-update test: threads that claim seats and record usage on a
sandbox kept in a state file, through the API, as an app's workers would.

    python state_file_worker.py STATE PRICING SUBSCRIPTION_ID GO_FILE THREADS

Waits until GO_FILE exists (so the processes start together), then prints what its
threads were answered, as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from flask_flowglad.sandbox import Sandbox

CLAIMS_PER_THREAD = 5
EVENTS_PER_THREAD = 25
AMOUNT = 3


def main(state: str, pricing: str, sub_id: str, go: str, threads: int) -> None:
    sandbox = Sandbox(pricing, path=state)
    key = {"Authorization": sandbox.secret_key}
    answered: dict[str, int] = {"claimed": 0, "refused": 0, "recorded": 0, "failed": 0}
    lock = threading.Lock()

    def post(path: str, body: dict[str, object]) -> int:
        status, _, _ = sandbox.handle("POST", path, body=json.dumps(body).encode(), headers=key)
        return status

    def work(number: int) -> None:
        for i in range(CLAIMS_PER_THREAD):
            status = post(
                f"/api/v1/resource-claims/{sub_id}/claim", {"resourceSlug": "seats", "quantity": 1}
            )
            with lock:
                answered["claimed" if status == 200 else "refused"] += 1
            for j in range(EVENTS_PER_THREAD // CLAIMS_PER_THREAD):
                event = {
                    "subscriptionId": sub_id,
                    "usageMeterSlug": "api_calls",
                    "amount": AMOUNT,
                    "transactionId": f"{os.getpid()}-{number}-{i}-{j}",
                }
                status = post("/api/v1/usage-events", {"usageEvent": event})
                with lock:
                    answered["recorded" if status == 200 else "failed"] += 1

    while not Path(go).exists():
        time.sleep(0.005)
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(answered))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
