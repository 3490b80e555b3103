"""Shared helpers of the graph oracles: load the case files the Rust test wrote, report."""

import json
import pathlib
import sys


def cases(directory, prefix):
    paths = sorted(pathlib.Path(directory).glob(f"{prefix}*.json"))
    if not paths:
        sys.exit(f"no {prefix}*.json case files in {directory}")
    for p in paths:
        with open(p) as f:
            yield p.stem, json.load(f)


class Report:
    def __init__(self):
        self.failures = []

    def check(self, ok, case, message):
        status = "ok  " if ok else "FAIL"
        print(f"{status} {case}: {message}")
        if not ok:
            self.failures.append(f"{case}: {message}")

    def finish(self):
        if self.failures:
            print(f"{len(self.failures)} failure(s)", file=sys.stderr)
            sys.exit(1)
