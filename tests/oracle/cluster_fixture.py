"""A test fixture, not an oracle: cluster tables for a run folder that has none.

    python3 cluster_fixture.py RUN_DIR

Writes clusters, cluster_members, cluster_timeline and cluster_edges (the columns and
values of their data-schemas/*.toml files on the clusters branch) into RUN_DIR, built from the run's highest-scoring groups and
accounts with seeded random ties. tests/notebooks.rs uses it only while `groupwatch run` writes
no clusters, so that cluster_review's drawing code runs in the test; the figures mean nothing.
"""

import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROLES = ["admin", "link_creator", "forwarder_hub", "member", "member", "member"]


def main(run: Path) -> None:
    rng = np.random.default_rng(7)
    groups = pl.read_parquet(run / "group_scores.parquet").sort("score", descending=True).head(24)
    accounts = pl.read_parquet(run / "account_scores.parquet").sort("score", descending=True).head(60)
    as_of = datetime.fromisoformat(run.name.removeprefix("run=")) + timedelta(days=1)
    clusters, members, timeline, edges = [], [], [], []
    for c in range(2):
        cid = 1000 + c
        gs = groups[c::2]
        accs = accounts[c::2]
        for gid, s in gs.select("group_id", "score").iter_rows():
            members.append((cid, "group", gid, "group", s, float(rng.random())))
        for i, (aid, s) in enumerate(accs.select("account_id", "score").iter_rows()):
            members.append((cid, "account", aid, ROLES[i % len(ROLES)], s, float(rng.random())))
            for gid in rng.choice(gs["group_id"].to_numpy(), size=int(rng.integers(1, 4)), replace=False):
                tie = "admin" if ROLES[i % len(ROLES)] == "admin" else "member"
                edges.append((cid, "account", aid, "group", int(gid), tie, 1.0))
        gids = gs["group_id"].to_list()
        for a in range(len(gids)):
            for b in range(a + 1, len(gids)):
                if rng.random() < 0.3:
                    edges.append((cid, "group", gids[a], "group", gids[b], "member", float(rng.integers(1, 20))))
                if rng.random() < 0.15:
                    edges.append((cid, "group", gids[a], "group", gids[b], "forward", float(rng.integers(1, 10))))
        for d in range(14):
            day = as_of - timedelta(days=14 - d)
            for event in ("joins", "forwards", "child_safety_reports"):
                n = int(rng.poisson(5 if event != "child_safety_reports" else 1))
                if n:
                    timeline.append((cid, day, event, n))
        clusters.append({
            "cluster_id": cid, "n_groups": gs.height, "n_accounts": accs.height, "risk_score": 0.9 - 0.3 * c,
            "rank": c + 1, "first_activity": as_of - timedelta(days=14), "last_activity": as_of,
            "hash_matches": 0, "child_safety_reports": 3, "summary": f"fixture cluster {cid}",
        })
    u64 = pl.UInt64
    pl.DataFrame(clusters, schema={
        "cluster_id": u64, "n_groups": u64, "n_accounts": u64, "risk_score": pl.Float64, "rank": u64,
        "first_activity": pl.Datetime("ms"), "last_activity": pl.Datetime("ms"), "hash_matches": u64,
        "child_safety_reports": u64, "summary": pl.String,
    }, orient="row").write_parquet(run / "clusters.parquet")
    pl.DataFrame(members, schema={
        "cluster_id": u64, "entity_kind": pl.String, "entity_id": u64, "role": pl.String, "score": pl.Float64,
        "centrality": pl.Float64,
    }, orient="row").write_parquet(run / "cluster_members.parquet")
    pl.DataFrame(timeline, schema={"cluster_id": u64, "day": pl.Datetime("ms"), "event": pl.String, "count": u64},
                 orient="row").write_parquet(run / "cluster_timeline.parquet")
    pl.DataFrame(edges, schema={
        "cluster_id": u64, "src_kind": pl.String, "src_id": u64, "dst_kind": pl.String, "dst_id": u64,
        "tie": pl.String, "weight": pl.Float64,
    }, orient="row").write_parquet(run / "cluster_edges.parquet")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
