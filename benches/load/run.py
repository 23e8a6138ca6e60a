#!/usr/bin/env python3
"""Load test: a realistic mix against a seeded server, then a storage check.

Starts `everfit seed --count 50000` + `everfit serve` on a fresh SQLite file
(or uses BASE_URL), then runs three wrk processes at the same time, one per
endpoint, with the connections split 70/20/10 (history / PRs / POST logs),
for a fixed duration. Prints throughput and p50/p99 per endpoint and the
errors (any error or non-2xx fails the run). Then waits for the write queue
to drain and checks that every accepted entry (each POST carries unique
idempotency keys) is stored, by counting the load exercise in the history.

With LAG_PROBE=1, a probe logs one entry every 200 ms during the run and
times how long each takes from its 202 to being readable (the lag), and the
report ends with the time the queue took to drain after the run.

The write path under load, on a fresh database (the figures in BENCHMARKS.md):
  SEED_COUNT=0 CONNECTIONS=64 DURATION=60s MIX=history:0.5,prs:0.2,post:0.3 \
    LAG_PROBE=1 python3 benches/load/run.py

Environment (all optional):
  BASE_URL      use a running server instead of starting one
  DURATION      wrk duration, e.g. 30s (default 30s)
  CONNECTIONS   total connections (default 20)
  MIX           shares per endpoint (default history:0.7,prs:0.2,post:0.1)
  LAG_PROBE     1: measure the lag from 202 to visible
  SEED_COUNT    entries seeded for the load user (default 50000; 0: none)
  LOAD_USER     the user (default 665f1c2b8a1e4d0012345678)
  EVERFIT_BIN   the binary (default: built with `cargo build --profile bench`)
  PORT          port of the started server (default 3111)
Extra variables (QUEUE, REDIS_URL, ...) are passed to the started server.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
USER = os.environ.get("LOAD_USER", "665f1c2b8a1e4d0012345678")
DURATION = os.environ.get("DURATION", "30s")
CONNECTIONS = int(os.environ.get("CONNECTIONS", "20"))
SEED_COUNT = int(os.environ.get("SEED_COUNT", "50000"))
LOAD_EXERCISE_PREFIX = "load%20test%20press"
def mix():
    shares = dict(history=0.7, prs=0.2, post=0.1)
    for part in filter(None, os.environ.get("MIX", "").split(",")):
        name, share = part.split(":")
        shares[name] = float(share)
    return [(name, f"{name}.lua", share) for name, share in shares.items() if share > 0]


MIX = mix()


def get_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def count_load_entries(base):
    """Entries of the load exercise, counted by paging the history."""
    total, cursor = 0, None
    while True:
        url = f"{base}/workouts/history?userId={USER}&exercise={LOAD_EXERCISE_PREFIX}&limit=100"
        if cursor:
            url += f"&cursor={cursor}"
        page = get_json(url)
        total += page["count"]
        cursor = page.get("nextCursor")
        if not cursor:
            return total


def everfit_bin():
    if "EVERFIT_BIN" in os.environ:
        return os.environ["EVERFIT_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    print("building: cargo build --profile bench --bin everfit", flush=True)
    subprocess.run(["cargo", "build", "--profile", "bench", "--bin", "everfit"], cwd=ROOT, check=True)
    return os.path.join(target, "release", "everfit")


def start_server(workdir):
    binary = everfit_bin()
    port = os.environ.get("PORT", "3111")
    env = dict(os.environ, SQLITE_PATH=os.path.join(workdir, "everfit.db"), PORT=port,
               LOG_FORMAT="json", RUST_LOG="warn")
    started = time.time()
    if SEED_COUNT > 0:
        subprocess.run([binary, "seed", "--user", USER, "--count", str(SEED_COUNT)], env=env,
                       check=True, stdout=subprocess.PIPE)
        print(f"seeded {SEED_COUNT} entries in {time.time() - started:.1f} s", flush=True)
    log = open(os.path.join(workdir, "server.log"), "w")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            get_json(f"{base}/health", timeout=1)
            return server, base
        except OSError:
            if server.poll() is not None:
                sys.exit(f"server exited; see {workdir}/server.log")
            time.sleep(0.1)
    server.terminate()
    sys.exit("server did not become healthy")


def run_mix(base):
    run_id = str(int(time.time()))
    day = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    env = dict(os.environ, LOAD_DIR=HERE, LOAD_USER=USER, LOAD_RUN_ID=run_id, LOAD_DAY=day)
    procs = []
    for name, script, share in MIX:
        conns = max(1, round(CONNECTIONS * share))
        cmd = ["wrk", "-t1", f"-c{conns}", f"-d{DURATION}", "--timeout", "10s", "--latency",
               "-s", os.path.join(HERE, script), base]
        procs.append((name, conns, subprocess.Popen(cmd, env=env, cwd=HERE, stdout=subprocess.PIPE,
                                                     stderr=subprocess.STDOUT, text=True)))
    results = []
    for name, conns, p in procs:
        out, _ = p.communicate()
        line = next((l for l in out.splitlines() if l.startswith("LOAD_RESULT ")), None)
        if p.returncode != 0 or line is None:
            sys.exit(f"wrk for {name} failed:\n{out}")
        r = json.loads(line[len("LOAD_RESULT "):])
        r["connections"] = conns
        results.append(r)
    return results


def report(results):
    total_req = sum(r["requests"] for r in results)
    seconds = max(r["duration_us"] for r in results) / 1e6
    print(f"\nmix over {seconds:.1f} s, {sum(r['connections'] for r in results)} connections "
          f"({os.cpu_count()} CPUs shared by server and wrk)")
    print(f"{'endpoint':<9} {'conns':>5} {'requests':>9} {'share':>6} {'req/s':>8} {'p50 ms':>7} "
          f"{'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}")
    errors = 0
    for r in results:
        # 503/429 refusals are documented answers, not errors (wrk counts
        # them as status errors).
        e = sum(r[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status",
                               "errors_timeout", "bad_bodies")) - r.get("refused", 0)
        errors += e
        print(f"{r['endpoint']:<9} {r['connections']:>5} {r['requests']:>9} "
              f"{100 * r['requests'] / max(total_req, 1):>5.1f}% {r['requests'] / seconds:>8.0f} "
              f"{r['p50_us'] / 1e3:>7.2f} {r['p90_us'] / 1e3:>7.2f} {r['p99_us'] / 1e3:>7.2f} "
              f"{r['max_us'] / 1e3:>7.1f} {e:>6}")
    print(f"{'total':<9} {'':>5} {total_req:>9} {'':>6} {total_req / seconds:>8.0f}")
    refused = sum(r.get("refused", 0) for r in results)
    print(f"refused (503 queue_backlogged / 429): {refused} requests")
    return errors


class LagProbe:
    """Logs one entry every 200 ms and times its 202 -> readable lag."""

    def __init__(self, base):
        import threading
        self.base, self.lags, self.refused, self.stop = base, [], 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            body = json.dumps({"userId": USER, "entries": [{
                "exerciseName": "Lag Probe", "date": "2026-05-01",
                "idempotencyKey": f"probe-{time.time_ns()}-{n}",
                "sets": [{"reps": 1, "weight": 1, "unit": "kg"}]}]}).encode()
            req = urllib.request.Request(f"{self.base}/workouts", data=body,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    entry = json.load(r)["ids"][0]
                accepted = time.time()
            except urllib.error.HTTPError as e:
                if e.code in (429, 503):
                    self.refused += 1
                    time.sleep(0.2)
                    continue
                raise
            while True:
                try:
                    urllib.request.urlopen(f"{self.base}/workouts/{entry}?userId={USER}", timeout=30)
                    break
                except urllib.error.HTTPError as e:
                    if e.code != 404:
                        raise
                    time.sleep(0.005)
            self.lags.append(time.time() - accepted)
            self.stop.wait(0.2)

    def report(self):
        lags = sorted(self.lags)
        if not lags:
            print("lag probe: no sample")
            return
        pct = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] * 1e3
        print(f"lag 202 -> visible over {len(lags)} probes: p50 {pct(0.5):.1f} ms, "
              f"p99 {pct(0.99):.1f} ms, max {lags[-1] * 1e3:.1f} ms ({self.refused} probes refused)")


def main():
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install wrk)")
    server, workdir = None, None
    base = os.environ.get("BASE_URL")
    if base is None:
        workdir = tempfile.mkdtemp(prefix="everfit-load-")
        server, base = start_server(workdir)
    try:
        before = count_load_entries(base)
        probe = LagProbe(base) if os.environ.get("LAG_PROBE") == "1" else None
        if probe:
            probe.thread.start()
        results = run_mix(base)
        if probe:
            probe.stop.set()
            probe.thread.join()
        errors = report(results)
        if probe:
            probe.report()
        stopped = time.time()
        backlog = get_json(f"{base}/health")["info"]["queue"].get("depth")
        accepted = sum(r["accepted_entries"] for r in results)
        sent = sum(r["sent_entries"] for r in results)
        expected = before + accepted
        # The write queue may still hold accepted batches: wait for them.
        deadline = time.time() + 120
        stored = count_load_entries(base)
        while stored < expected and time.time() < deadline:
            time.sleep(1)
            stored = count_load_entries(base)
        while get_json(f"{base}/health")["info"]["queue"].get("depth") not in (0, None) \
                and time.time() < deadline:
            time.sleep(0.2)
        if backlog:
            print(f"the queue held {backlog} jobs when the load stopped and drained in "
                  f"{time.time() - stopped:.1f} s")
        # Requests still in flight when wrk stopped may be stored without their
        # 202 being counted: allowed, up to what was sent.
        ok = expected <= stored <= before + sent
        print(f"\naccepted {accepted} entries (202), sent {sent}; stored {stored - before} "
              f"({stored - expected} from requests in flight when wrk stopped) "
              f"{'- every accepted entry is stored' if ok else '- MISMATCH'}")
        print(f"errors: {errors}")
        if errors or not ok:
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
