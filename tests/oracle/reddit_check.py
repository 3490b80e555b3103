"""Oracle for tests/it/reddit.rs: the converted Reddit dataset against its source CSVs.

Usage: reddit_check.py EDGES_CSV LABELS_CSV DATASET_DIR AS_OF(YYYY-MM-DD)

Checks, with polars reading both sides independently of the converter: the memberships are
exactly the distinct (user, subreddit) pairs as (account_id, group_id) joins with null method,
link and actor; accounts and groups are exactly the users and subreddits; labels are the
banned flags (1 -> violating, 0 -> benign); every join and label time falls in the 30 days
ending with the as-of day; creation times are one constant before the window. Prints the
counts on its last line as JSON.
"""
import datetime as dt
import json
import sys
from pathlib import Path

import polars as pl


def main():
    edges_csv, labels_csv, d, as_of = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    edges = pl.read_csv(edges_csv).select("user", "subreddit").unique()
    banned = pl.read_csv(labels_csv).select("user", "banned")
    acc = pl.read_parquet(d / "accounts.parquet")
    grp = pl.read_parquet(d / "groups.parquet")
    mem = pl.read_parquet(d / "memberships.parquet")
    lab = pl.read_parquet(d / "labels.parquet")

    pairs = mem.select(pl.col("account_id").cast(pl.Int64).alias("user"), pl.col("group_id").cast(pl.Int64).alias("subreddit"))
    assert pairs.height == edges.height, (pairs.height, edges.height)
    assert pairs.unique().height == pairs.height, "a pair written twice"
    assert pairs.join(edges, on=["user", "subreddit"], how="anti").height == 0, "a membership not in the edges"
    assert set(mem["event"].unique().to_list()) == {"join"}
    for c in ("method", "invite_link_id", "actor_id"):
        assert mem[c].null_count() == mem.height, c

    assert sorted(acc["account_id"].cast(pl.Int64).to_list()) == sorted(edges["user"].unique().to_list())
    assert sorted(grp["group_id"].cast(pl.Int64).to_list()) == sorted(edges["subreddit"].unique().to_list())
    assert grp["creator_id"].n_unique() == 1 and grp["creator_id"][0] == 1 << 48
    assert not set(acc["account_id"].to_list()) & {1 << 48}

    got = lab.select(pl.col("entity_id").cast(pl.Int64).alias("user"), (pl.col("label") == "violating").cast(pl.Int64).alias("v"))
    both = banned.join(got, on="user", how="full", coalesce=True)
    assert both.height == banned.height == lab.height
    assert (both["banned"] == both["v"]).all(), "a label differs from the banned flag"
    assert set(lab["entity_kind"].unique().to_list()) == {"account"}
    assert set(lab["source"].unique().to_list()) == {"enforcement"}

    end = dt.datetime.fromisoformat(as_of) + dt.timedelta(days=1)
    start = end - dt.timedelta(days=30)
    for name, ts in (("memberships.ts", mem["ts"]), ("labels.ts", lab["ts"])):
        assert ts.min() >= start and ts.max() < end, (name, ts.min(), ts.max())
    created = start - dt.timedelta(days=365)
    assert acc["created_at"].n_unique() == 1 and acc["created_at"][0] == created
    assert grp["created_at"].n_unique() == 1 and grp["created_at"][0] == created
    # Seeded uniform times: every day of the window gets joins.
    assert mem["ts"].dt.date().n_unique() == 30

    print(json.dumps({
        "accounts": acc.height, "groups": grp.height, "memberships": mem.height,
        "violating": int(got["v"].sum()), "benign": int(got.height - got["v"].sum()),
    }))


if __name__ == "__main__":
    main()
