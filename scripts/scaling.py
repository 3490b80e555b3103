"""How groupwatch's cost grows: `groupwatch run` (training included) on datasets of several
sizes, each stage's seconds and the run's peak memory, absolute and per input row.

    python3 scripts/scaling.py --dataset DIR [DIR ...] [--gw BIN] [--as-of DATE] [--json F]

Each DIR is a dataset as `groupwatch synth` writes it (tables under DIR/input). The run goes
to DIR/scaling/run and is deleted afterwards. Input rows are the rows ingest read from every
table (the manifest's `ingest.rows_read`); a stage is linear in the input when its
microseconds per row stay level from one size to the next. Peak memory is the run's maximum
resident set (`ru_maxrss` of the child). Run it on an otherwise idle machine: other work on
the same cores inflates every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def run_one(gw: str, dataset: str, as_of: str) -> dict:
    inp = os.path.join(dataset, "input")
    out = os.path.join(dataset, "scaling", "run")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    t = time.time()
    with open(os.path.join(dataset, "scaling", "run.log"), "w") as log:
        child = subprocess.Popen([gw, "run", "--input", inp, "--out", out, "--as-of", as_of], stdout=log, stderr=subprocess.STDOUT)
        # wait4 gives this child's own peak resident set (ru_maxrss, KiB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - t
    if child.returncode != 0:
        sys.exit(f"groupwatch run on {dataset} failed with exit {child.returncode}; see {dataset}/scaling/run.log")
    peak = usage.ru_maxrss * 1024
    with open(os.path.join(out, f"run={as_of}", "manifest.json")) as f:
        m = json.load(f)
    rows = m["ingest"]["rows_read"]
    res = {"dataset": os.path.abspath(dataset), "wall_seconds": wall, "peak_bytes": peak, "input_rows": sum(rows.values()),
           "rows_read": rows, "accounts": rows.get("accounts"), "stages": [(s["stage"], s["seconds"], s.get("peak_rss_mib")) for s in m["stages"]]}
    shutil.rmtree(out, ignore_errors=True)
    return res


def table(results: list[dict]) -> str:
    head = "| stage | " + " | ".join(f"{r['accounts']:,} accounts, {r['input_rows']:,} rows" for r in results) + " |"
    lines = [head, "|---|" + "---|" * len(results)]
    stages = [s for s, _, _ in results[0]["stages"]]
    for st in stages:
        cells = []
        for r in results:
            secs = next((v for s, v, _ in r["stages"] if s == st), None)
            cells.append("–" if secs is None else f"{secs:.2f} s ({secs / r['input_rows'] * 1e6:.2f} µs/row)")
        lines.append(f"| {st} | " + " | ".join(cells) + " |")
    lines.append("| **wall** | " + " | ".join(f"{r['wall_seconds']:.1f} s ({r['wall_seconds'] / r['input_rows'] * 1e6:.2f} µs/row)" for r in results) + " |")
    lines.append("| **peak memory** | " + " | ".join(f"{r['peak_bytes'] / 2**30:.2f} GiB ({r['peak_bytes'] / r['input_rows']:.0f} B/row)" for r in results) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", nargs="+", required=True)
    ap.add_argument("--gw", default="target/release/groupwatch")
    ap.add_argument("--as-of", default="2026-11-24")
    ap.add_argument("--json")
    a = ap.parse_args()
    results = []
    for d in a.dataset:
        print(f"{d}: running", file=sys.stderr, flush=True)
        results.append(run_one(a.gw, d, a.as_of))
    results.sort(key=lambda r: r["input_rows"])
    print(table(results))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
