#!/usr/bin/env python3
"""History pages over HTTP, unfiltered and with each kind of filter.

Starts `everfit seed --count 50000` + `everfit serve` on a fresh SQLite file
(as run.py does; or uses BASE_URL), then runs one wrk connection per URL for
a fixed duration, one URL after the other, and prints requests per second
and p50/p99 latency per URL with the ratio of each p50 to the unfiltered
page's. This is the shape of the side-by-side comparison that found
filtered pages slow (one connection, 10 s, p50).

Environment (all optional): DURATION (default 10s), SEED_COUNT (50000),
BASE_URL, EVERFIT_BIN, PORT, as in run.py.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import USER, start_server  # noqa: E402

DURATION = os.environ.get("DURATION", "10s")
PAGES = [
    ("unfiltered", ""),
    ("exercise=zz (matches nothing)", "&exercise=zz"),
    ("exercise=deadlift (one exercise)", "&exercise=deadlift"),
    ("exercise=d (a one-letter prefix)", "&exercise=d"),
    ("muscleGroup=core (sparse)", "&muscleGroup=core"),
    ("muscleGroup=chest (dense)", "&muscleGroup=chest"),
]


def ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def measure(url):
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{DURATION}", "--latency", url],
                         check=True, capture_output=True, text=True).stdout
    pct = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", out, re.M))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"Non-2xx", out):
        sys.exit(f"non-2xx answers from {url}:\n{out}")
    return pct["50"], pct["99"], rate


def main():
    workdir, server = None, None
    base = os.environ.get("BASE_URL")
    try:
        if not base:
            workdir = tempfile.mkdtemp(prefix="everfit-history-")
            server, base = start_server(workdir)
        rows = []
        for name, query in PAGES:
            url = f"{base}/workouts/history?userId={USER}{query}"
            rows.append((name, *measure(url)))
            print(f"measured {name}", flush=True)
        first = rows[0][1]
        print(f"\nhistory, first page of 20, one connection, {DURATION} each")
        print(f"{'page':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50 / unfiltered':>17}")
        for name, p50, p99, rate in rows:
            print(f"{name:<34} {rate:>8.0f} {p50:>8.2f} {p99:>8.2f} {p50 / first:>16.2f}x")
    finally:
        if server:
            server.terminate()
            server.wait()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
