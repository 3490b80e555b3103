"""Oracle: Fraudar greedy peeling, reimplemented plainly (heapq with lazy deletion, a set of
removed edges), with the same 32.32 fixed-point column weights round(2^32 / ln(d + c)) and
tie-breaks (smallest (priority, node), accounts before groups; strictly denser sets only).
The blocks must be identical and the densities equal.

usage: graph_fraudar.py CASE_DIR
"""

import heapq
import math
import sys
from collections import defaultdict

from graph_common import Report, cases

ONE = 2**32


def peel(na, ng, edges, gone, c):
    live = [(a, g) for a, g in edges if (a, g) not in gone]
    deg = defaultdict(int)
    for _, g in live:
        deg[g] += 1
    w = {g: round(ONE / math.log(deg[g] + c)) for g in range(ng)}
    adj = defaultdict(list)
    prio = [0] * (na + ng)
    for a, g in live:
        adj[a].append(na + g)
        adj[na + g].append(a)
        prio[a] += w[g]
        prio[na + g] += w[g]
    f = sum(prio[:na])
    n = na + ng
    heap = [(prio[v], v) for v in range(n)]
    heapq.heapify(heap)
    removed = [False] * n
    order = []
    best_f, best_size, best_cut = f, n, 0
    while heap:
        p, u = heapq.heappop(heap)
        if removed[u] or p != prio[u]:
            continue
        removed[u] = True
        order.append(u)
        f -= prio[u]
        for v in adj[u]:
            if not removed[v]:
                prio[v] -= w[u - na] if u >= na else w[v - na]
                heapq.heappush(heap, (prio[v], v))
        size = n - len(order)
        if size > 0 and f * best_size > best_f * size:
            best_f, best_size, best_cut = f, size, len(order)
    block = sorted(order[best_cut:])
    return [u for u in block if u < na], [u - na for u in block if u >= na], best_f, best_size


def main():
    report = Report()
    for name, case in cases(sys.argv[1], "fraudar_"):
        na, ng, c = case["n_accounts"], case["n_groups"], case["log_offset"]
        edges = [(a, g) for a, g in case["edges"]]
        gone = set()
        blocks = []
        for _ in range(case["blocks"]):
            accounts, groups, f, size = peel(na, ng, edges, gone, c)
            if f == 0:
                break
            blocks.append((accounts, groups, f / ONE / size))
            ga, gg = set(accounts), set(groups)
            gone.update((a, g) for a, g in edges if a in ga and g in gg)
        rust = case["rust_blocks"]
        same = [(b[0], b[1]) for b in blocks] == [(b["accounts"], b["groups"]) for b in rust]
        dens = max((abs(b[2] - r["density"]) for b, r in zip(blocks, rust)), default=0.0)
        report.check(
            same and dens < 1e-12 and len(blocks) == len(rust),
            name,
            f"{len(blocks)} blocks, sizes {[(len(b[0]), len(b[1])) for b in blocks]}, identical={same}, max density diff {dens:.1e}",
        )
    report.finish()


if __name__ == "__main__":
    main()
