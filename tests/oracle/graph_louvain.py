"""Oracle: modularity of the Rust Louvain partition, computed by networkx, must be at least
networkx's own louvain_communities modularity (best of a few seeds) minus a margin; the Rust
`modularity` must agree with networkx's on the same partition.

usage: graph_louvain.py CASE_DIR [MARGIN]
"""

import sys

import networkx as nx
from networkx.algorithms import community

from graph_common import Report, cases


def main():
    margin = float(sys.argv[2]) if len(sys.argv) > 2 else 0.02
    report = Report()
    for name, case in cases(sys.argv[1], "louvain_"):
        n = case["n"]
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from((u, v, w) for u, v, w in case["edges"])
        parts = {}
        for v, c in enumerate(case["rust_labels"]):
            parts.setdefault(c, set()).add(v)
        q_rust = community.modularity(g, list(parts.values()))
        q_nx = max(
            community.modularity(g, community.louvain_communities(g, seed=s))
            for s in case["nx_seeds"]
        )
        report.check(
            q_rust >= q_nx - margin,
            name,
            f"n={n} m={g.number_of_edges()} rust Q={q_rust:.5f} ({len(parts)} communities) nx louvain Q={q_nx:.5f}",
        )
        d = abs(q_rust - case["rust_modularity"])
        report.check(d < 1e-9, name, f"Rust modularity() = networkx modularity within {d:.1e}")
    report.finish()


if __name__ == "__main__":
    main()
