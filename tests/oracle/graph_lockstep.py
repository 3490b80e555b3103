"""Oracle: lockstep scores by brute force over all join pairs of each group.

usage: graph_lockstep.py CASE_DIR

The same rule as the Rust code, written plainly: joins of a group sorted by (time, account);
join i is paired with the joins j > i within the next `cap` positions whose time is at most
`window` later; pairs of distinct accounts count once per group.
"""

import sys
from collections import defaultdict

from graph_common import Report, cases


def main():
    report = Report()
    for name, case in cases(sys.argv[1], "lockstep_"):
        window, cap, min_groups, n = case["window_ms"], case["cap"], case["min_groups"], case["n_accounts"]
        by_group = defaultdict(list)
        for grp, a, t in case["joins"]:
            by_group[grp].append((t, a))
        shared = defaultdict(set)
        for grp, js in by_group.items():
            js.sort()
            for i, (ti, ai) in enumerate(js):
                for tj, aj in js[i + 1 : i + 1 + cap]:
                    if tj - ti > window:
                        break
                    if ai != aj:
                        shared[(min(ai, aj), max(ai, aj))].add(grp)
        best = [0] * n
        partners = [0] * n
        pairs = []
        for (a, b), gs in sorted(shared.items()):
            for x in (a, b):
                best[x] = max(best[x], len(gs))
            if len(gs) >= min_groups:
                partners[a] += 1
                partners[b] += 1
                pairs.append([a, b, len(gs)])
        ok = (best, partners, pairs) == (case["rust_max_shared"], case["rust_partners"], case["rust_pairs"])
        report.check(ok, name, f"{len(case['joins'])} joins, cap {cap}: {len(shared)} lockstep pairs, {len(pairs)} >= {min_groups} groups")
    report.finish()


if __name__ == "__main__":
    main()
