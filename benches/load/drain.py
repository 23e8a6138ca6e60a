#!/usr/bin/env python3
"""Drain rate of the embedded queue on a fresh database and after a restart.

A new SQLITE_PATH once drained about 8x slower than the same file after a
restart (the queue file had no SQLite statistics until then). This pushes a
backlog of one-entry jobs into a server on a brand-new database (workers in
the server, backpressure off), times how fast the backlog drains, then
restarts the server on the same files and does the same again.

  python3 benches/load/drain.py          # 20,000 jobs per round (JOBS)

Environment: JOBS (default 20000), CLIENTS (parallel pushers, default 16),
EVERFIT_BIN (default: the bench-profile binary), PORT (default 3112).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
JOBS = int(os.environ.get("JOBS", "20000"))
CLIENTS = int(os.environ.get("CLIENTS", "16"))
PORT = int(os.environ.get("PORT", "3112"))
BASE = f"http://127.0.0.1:{PORT}"
USER = "665f1c2b8a1e4d0012345678"


def everfit_bin():
    if os.environ.get("EVERFIT_BIN"):
        return os.environ["EVERFIT_BIN"]
    subprocess.run(["cargo", "build", "--profile", "bench", "--bin", "everfit"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "everfit")


def get_json(path):
    with urllib.request.urlopen(BASE + path, timeout=30) as r:
        return json.load(r)


def start(binary, data):
    env = dict(os.environ, SQLITE_PATH=os.path.join(data, "everfit.db"), PORT=str(PORT),
               HOST="127.0.0.1", QUEUE="sqlite", QUEUE_MAX_PERSIST_DEPTH="0",
               RATE_LIMIT_PER_SECOND="1000000", RATE_LIMIT_BURST="1000000", RUST_LOG="warn")
    env.pop("MASTER_KEY", None)
    env.pop("MONGODB_URI", None)
    log = open(os.path.join(data, "server.log"), "a")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
    for _ in range(200):
        try:
            if get_json("/health")["status"] in ("ok", "degraded"):
                return server
        except Exception:
            pass
        time.sleep(0.1)
    server.kill()
    sys.exit("server did not become healthy")


def depth():
    return get_json("/health")["info"]["queue"]["depth"] or 0


def push(count, offset):
    """`count` one-entry POSTs from CLIENTS threads; returns the 202s."""
    accepted = [0] * CLIENTS
    base_day = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def client(k):
        for i in range(k, count, CLIENTS):
            n = offset + i
            body = json.dumps({"userId": USER, "entries": [{
                "exerciseName": f"Drain Press {n % 7}",
                "date": (base_day + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
                "idempotencyKey": f"drain-{n}",
                "sets": [{"reps": 1 + n % 5, "weight": 100 + n % 40, "unit": "kg"}]}]}).encode()
            req = urllib.request.Request(BASE + "/workouts", data=body, method="POST",
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                if r.status == 202:
                    accepted[k] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(accepted)


def round_(name, binary, data, offset):
    server = start(binary, data)
    try:
        started = time.monotonic()
        accepted = push(JOBS, offset)
        pushed = time.monotonic() - started
        backlog = depth()
        last, last_at = backlog, time.monotonic()
        while True:
            d = depth()
            now = time.monotonic()
            if now - last_at >= 10:
                print(f"  {name}: {d:,} jobs waiting ({(last - d) / (now - last_at):,.0f} jobs/s)", flush=True)
                last, last_at = d, now
            if d == 0:
                break
            time.sleep(0.2)
        total = time.monotonic() - started
        rate = JOBS / total
        print(f"{name}: {accepted:,} accepted in {pushed:.1f} s, {backlog:,} still waiting then; "
              f"all {JOBS:,} drained {total:.1f} s after the first push: {rate:,.0f} jobs/s", flush=True)
        return rate
    finally:
        server.terminate()
        server.wait(timeout=60)


def main():
    binary = everfit_bin()
    data = tempfile.mkdtemp(prefix="everfit-drain-")
    try:
        fresh = round_("fresh database", binary, data, 0)
        restarted = round_("after a restart", binary, data, JOBS)
        print(f"fresh / restarted drain rate: {fresh / restarted:.2f}")
        stored = get_stored(binary, data)
        print(f"stored: {stored:,} entries for {2 * JOBS:,} accepted")
        if stored != 2 * JOBS:
            sys.exit("FAILED: not every accepted entry is stored exactly once")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def get_stored(binary, data):
    server = start(binary, data)
    try:
        total, cursor = 0, None
        while True:
            q = f"/workouts/history?userId={USER}&limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = get_json(q)
            total += len(page["items"])
            cursor = page.get("nextCursor")
            if not cursor:
                return total
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
