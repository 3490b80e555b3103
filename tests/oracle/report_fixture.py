"""Cluster tables for the report test, built from a synthetic dataset's ground truth.

Usage: report_fixture.py RUN_DIR DATASET_DIR

Writes clusters.parquet, cluster_members.parquet, cluster_edges.parquet and
cluster_timeline.parquet into RUN_DIR (formats per data-schemas/ and the report's brief), one
cluster per planted network of DATASET_DIR/truth, with scores from the run's score tables.
It stands in for the networks stage in runs that do not write clusters yet, and does nothing
when RUN_DIR already has clusters.parquet. Not an oracle: the report test compares the page
with whatever these files say.
"""
import datetime as dt
import json
import sys
from pathlib import Path

import polars as pl

run, data = Path(sys.argv[1]), Path(sys.argv[2])
if (run / "clusters.parquet").exists():
    print("clusters.parquet present: fixture not needed")
    sys.exit(0)


def table(name):
    return pl.read_parquet(str(data / "input" / name / "**" / "*.parquet"), hive_partitioning=False)


truth_g = pl.read_parquet(data / "truth" / "groups.parquet").filter(pl.col("network").is_not_null())
truth_a = pl.read_parquet(data / "truth" / "accounts.parquet")
gs = pl.read_parquet(run / "group_scores.parquet").select(pl.col("group_id").alias("entity_id"), "score")
acs = pl.read_parquet(run / "account_scores.parquet").select(pl.col("account_id").alias("entity_id"), "score")
memberships = table("memberships")
links = table("invite_links")
forwards = table("forwards")
reports = table("reports")
groups = table("groups")
hm = pl.read_parquet(run / "hash_matches.parquet")
facts = pl.read_parquet(run / "policy_facts.parquet")

manifest = json.loads((run / "manifest.json").read_text())
window_end = dt.datetime.fromisoformat(manifest["as_of"]) + dt.timedelta(days=1)
window_start = window_end - dt.timedelta(days=manifest["window_days"])
role_of = {"operator": "admin", "distributor": "forwarder_hub", "consumer": "member"}
cl, mem, edg, tl = [], [], [], []
for net in sorted(truth_g["network"].unique().to_list()):
    cid = 9000 + net
    gids = truth_g.filter(pl.col("network") == net)["group_id"].to_list()
    acc = truth_a.filter(pl.col("network") == net)
    roles = {a: role_of[r] for a, r in zip(acc["account_id"], acc["role"])}
    creators = links.filter(pl.col("group_id").is_in(gids))
    for a in creators["created_by"].unique().to_list():
        if a in roles and roles[a] != "admin":
            roles[a] = "link_creator"
    m = memberships.filter(pl.col("group_id").is_in(gids) & pl.col("account_id").is_in(list(roles)))
    ties = m.filter(pl.col("event") == "join").select("account_id", "group_id").unique()
    edges = [("account", a, "group", g, "member", 1.0) for a, g in zip(ties["account_id"], ties["group_id"])]
    adm = m.filter(pl.col("event").is_in(["promote"]) | (pl.col("method") == "creator")).select("account_id", "group_id").unique()
    edges += [("account", a, "group", g, "admin", 1.0) for a, g in zip(adm["account_id"], adm["group_id"])]
    lc = creators.filter(pl.col("created_by").is_in(list(roles))).group_by("created_by", "group_id").len()
    edges += [("account", a, "group", g, "link_creator", float(n)) for a, g, n in lc.sort("created_by", "group_id").iter_rows()]
    fw = forwards.filter(pl.col("dst_group_id").is_in(gids) & pl.col("sender_id").is_in(list(roles)))
    fwd = fw.group_by("sender_id", "dst_group_id").len().sort("sender_id", "dst_group_id")
    edges += [("account", a, "group", g, "forward", float(n)) for a, g, n in fwd.iter_rows()]
    media = fw.select("media_fp", "dst_group_id").unique()
    pairs = media.join(media, on="media_fp").filter(pl.col("dst_group_id") < pl.col("dst_group_id_right"))
    shared = pairs.group_by("dst_group_id", "dst_group_id_right").len().sort("dst_group_id", "dst_group_id_right")
    edges += [("group", a, "group", b, "shared_media", float(n)) for a, b, n in shared.iter_rows()]
    deg = {}
    for sk, s, dk, d, _, _ in edges:
        deg[(sk, s)] = deg.get((sk, s), 0) + 1
        deg[(dk, d)] = deg.get((dk, d), 0) + 1
    top = max(deg.values(), default=1)
    ms = [("group", g, "group") for g in gids] + [("account", a, r) for a, r in roles.items()]
    score = {("group", e): s for e, s in gs.iter_rows()} | {("account", e): s for e, s in acs.iter_rows()}
    for k, e, r in ms:
        mem.append((cid, k, e, r, score.get((k, e), 0.0), deg.get((k, e), 0) / top))
    for sk, s, dk, d, tie, w in edges:
        edg.append((cid, sk, s, dk, d, tie, w))
    aids = list(roles)
    ev = []
    ev.append(groups.filter(pl.col("group_id").is_in(gids)).select(pl.col("created_at").alias("ts"), pl.lit("group_created").alias("event")))
    cl_links = links.filter(pl.col("group_id").is_in(gids))
    ev.append(cl_links.select(pl.col("created_at").alias("ts"), pl.lit("link_created").alias("event")))
    ev.append(cl_links.filter(pl.col("revoked_at").is_not_null()).select(pl.col("revoked_at").alias("ts"), pl.lit("link_revoked").alias("event")))
    gm = memberships.filter(pl.col("group_id").is_in(gids))
    ev.append(gm.filter(pl.col("event") == "join").select("ts", pl.lit("joins").alias("event")))
    ev.append(gm.filter(pl.col("event").is_in(["leave", "removed"])).select("ts", pl.lit("leaves").alias("event")))
    ev.append(forwards.filter(pl.col("dst_group_id").is_in(gids)).select("ts", pl.lit("forwards").alias("event")))
    cs = reports.filter((pl.col("reason") == "child_safety") & (((pl.col("target_kind") == "group") & pl.col("target_id").is_in(gids)) | ((pl.col("target_kind") == "account") & pl.col("target_id").is_in(aids))))
    ev.append(cs.select("ts", pl.lit("child_safety_reports").alias("event")))
    events = pl.concat([e.with_columns(pl.col("ts").cast(pl.Datetime("ms"))) for e in ev])
    events = events.filter((pl.col("ts") >= window_start) & (pl.col("ts") < window_end))
    daily = events.with_columns(pl.col("ts").dt.truncate("1d").alias("day")).group_by("day", "event").len().sort("day", "event")
    for day, event, n in daily.iter_rows():
        tl.append((cid, day, event, n))
    keys = pl.DataFrame({"entity_kind": [k for k, _, _ in ms], "entity_id": [e for _, e, _ in ms]}, schema={"entity_kind": pl.String, "entity_id": pl.UInt64})
    n_hash = hm.join(keys, on=["entity_kind", "entity_id"]).height
    n_cs = int(facts.join(keys, on=["entity_kind", "entity_id"])["child_safety_reports"].sum())
    scores = sorted((score.get((k, e), 0.0) for k, e, _ in ms), reverse=True)[:10]
    risk = min(1.0, sum(scores) / max(len(scores), 1) + 0.01 * n_hash)
    summary = f"{len(gids)} groups, {len(roles)} accounts; {n_hash} hash matches, {n_cs} child-safety reports"
    cl.append((cid, len(gids), len(roles), risk, events["ts"].min() if events.height else None, events["ts"].max() if events.height else None, n_hash, n_cs, summary))

clusters = pl.DataFrame(cl, schema={"cluster_id": pl.UInt64, "n_groups": pl.UInt64, "n_accounts": pl.UInt64, "risk_score": pl.Float64,
                                    "first_activity": pl.Datetime("ms"), "last_activity": pl.Datetime("ms"), "hash_matches": pl.UInt64,
                                    "child_safety_reports": pl.UInt64, "summary": pl.String}, orient="row")
clusters = clusters.sort(["risk_score", "cluster_id"], descending=[True, False]).with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.UInt64))
clusters.select("cluster_id", "n_groups", "n_accounts", "risk_score", "rank", "first_activity", "last_activity", "hash_matches", "child_safety_reports", "summary").write_parquet(run / "clusters.parquet")
pl.DataFrame(mem, schema={"cluster_id": pl.UInt64, "entity_kind": pl.String, "entity_id": pl.UInt64, "role": pl.String, "score": pl.Float64, "centrality": pl.Float64}, orient="row").write_parquet(run / "cluster_members.parquet")
pl.DataFrame(edg, schema={"cluster_id": pl.UInt64, "src_kind": pl.String, "src_id": pl.UInt64, "dst_kind": pl.String, "dst_id": pl.UInt64, "tie": pl.String, "weight": pl.Float64}, orient="row").write_parquet(run / "cluster_edges.parquet")
pl.DataFrame(tl, schema={"cluster_id": pl.UInt64, "day": pl.Datetime("ms"), "event": pl.String, "count": pl.UInt64}, orient="row").write_parquet(run / "cluster_timeline.parquet")
print(f"fixture: {len(cl)} clusters, {len(mem)} members, {len(edg)} edges, {len(tl)} timeline rows")
