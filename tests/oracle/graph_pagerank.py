"""Oracle: networkx PageRank / personalized PageRank vs the Rust results, per node.

usage: graph_pagerank.py CASE_DIR [TOLERANCE]

Directed cases (pagerank_*.json): plain and personalized PageRank on an nx.DiGraph.
Bipartite cases (bipartite_*.json): personalized PageRank on the undirected account-group
nx.Graph (accounts 0..na, group g as na + g), personalization 1 on each seed.
networkx's `pagerank` needs scipy; without it the pure-Python `_pagerank_python` (same
conventions: dangling mass to the personalization, L1 stop at n * tol) is used.
"""

import sys

import networkx as nx

from graph_common import Report, cases

try:
    import scipy  # noqa: F401

    PAGERANK, IMPL = nx.pagerank, "nx.pagerank (scipy)"
except ImportError:
    from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

    PAGERANK, IMPL = _pagerank_python, "networkx _pagerank_python (no scipy)"


def max_diff(nx_scores, rust, nodes):
    return max((abs(nx_scores[v] - rust[i]) for i, v in enumerate(nodes)), default=0.0)


def main():
    directory = sys.argv[1]
    tolerance = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-6
    print(f"using {IMPL}, networkx {nx.__version__}")
    report = Report()
    for name, case in cases(directory, "pagerank_"):
        n = case["n"]
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from((u, v, w) for u, v, w in case["edges"])
        kw = dict(alpha=case["damping"], tol=case["tol"], max_iter=100_000)
        dangling = sum(1 for v in g if g.out_degree(v, weight="weight") == 0)
        plain = PAGERANK(g, **kw)
        d = max_diff(plain, case["rust_pagerank"], range(n))
        report.check(d <= tolerance, name, f"pagerank n={n} dangling={dangling} max |diff| = {d:.2e}")
        pers = {i: r for i, r in enumerate(case["restart"]) if r > 0}
        ppr = PAGERANK(g, personalization=pers, **kw)
        d = max_diff(ppr, case["rust_ppr"], range(n))
        report.check(d <= tolerance, name, f"personalized ({len(pers)} seeds) max |diff| = {d:.2e}")
    for name, case in cases(directory, "bipartite_"):
        na, ng = case["n_accounts"], case["n_groups"]
        g = nx.Graph()
        g.add_nodes_from(range(na + ng))
        g.add_weighted_edges_from((a, na + grp, w) for a, grp, w in case["edges"])
        pers = {a: 1.0 for a in case["seed_accounts"]}
        pers.update({na + grp: 1.0 for grp in case["seed_groups"]})
        ppr = PAGERANK(g, alpha=case["damping"], tol=case["tol"], max_iter=100_000, personalization=pers)
        rust = case["rust_accounts"] + case["rust_groups"]
        d = max_diff(ppr, rust, range(na + ng))
        report.check(d <= tolerance, name, f"bipartite {na}x{ng} {len(pers)} seeds max |diff| = {d:.2e}")
    report.finish()


if __name__ == "__main__":
    main()
