"""Oracle: networkx connected components vs the Rust labels (same partition, exactly),
and the Rust numbering (component ids ordered by their smallest node).

usage: graph_components.py CASE_DIR
"""

import sys

import networkx as nx

from graph_common import Report, cases


def main():
    report = Report()
    for name, case in cases(sys.argv[1], "components_"):
        n = case["n"]
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from((u, v) for u, v, _ in case["edges"])
        want = {frozenset(c) for c in nx.connected_components(g)}
        labels = case["rust_labels"]
        got = {}
        for v, c in enumerate(labels):
            got.setdefault(c, set()).add(v)
        same = want == {frozenset(c) for c in got.values()}
        report.check(same, name, f"n={n} components nx={len(want)} rust={len(got)} same partition={same}")
        firsts = [min(got[c]) for c in sorted(got)]
        ordered = sorted(got) == list(range(len(got))) and firsts == sorted(firsts)
        sizes_ok = case["rust_sizes"] == [len(got[c]) for c in sorted(got)]
        report.check(ordered and sizes_ok, name, f"ids dense and ordered by smallest node={ordered}, sizes={sizes_ok}")
    report.finish()


if __name__ == "__main__":
    main()
