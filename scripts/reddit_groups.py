#!/usr/bin/env python3
"""A group-level, high-prevalence evaluation dataset from a `groupwatch convert-reddit` folder.

The detection issue's real data labels *groups*, half of them positive, with 40 % of the truth
given as labels and nothing but structure and activity to go on. This builds the closest thing
from the Reddit data: subreddits (groups) are "violating" when the share of banned users among
their posters is above the median over subreddits with at least --min-members posters (so about
half of those are positive; --positive-share moves the cut to another quantile, e.g. 0.6 for a
majority of violating groups as in the issue's data); no account label is written (the bans are the hidden cause, not
evidence); --reveal of the groups' truth is written as labels, both classes, chosen by a seeded
hash. Memberships, accounts and groups are the conversion's, unchanged.

    python3 scripts/reddit_groups.py --from DIR --out OUT [--reveal 0.4] [--seed 1] [--min-members 5] [--positive-share 0.5]

DIR is a `convert-reddit` output (its `_truth/accounts.parquet` lists the banned users). OUT gets
the contract tables, `labels.parquet`, and `_truth/` in the layout `scripts/compare.py` reads
(groups with violating and network: every violating group is network 0; no planted accounts).
Subreddits with fewer posters than --min-members are benign in the truth and never labelled.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil

import polars as pl


def pick(seed: int, gid: int, share: float) -> bool:
    h = hashlib.sha256(f"reddit-groups:{seed}:{gid}".encode()).digest()
    return int.from_bytes(h[:8], "little") / 2**64 < share


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--reveal", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--min-members", type=int, default=5)
    p.add_argument("--positive-share", type=float, default=0.5,
                   help="share of the eligible subreddits above the cut (0.5: the median)")
    a = p.parse_args()
    os.makedirs(os.path.join(a.out, "_truth"), exist_ok=True)
    for t in ("accounts", "groups", "memberships"):
        shutil.copyfile(os.path.join(a.src, f"{t}.parquet"), os.path.join(a.out, f"{t}.parquet"))
    mem = pl.read_parquet(os.path.join(a.src, "memberships.parquet")).select("group_id", "account_id").unique()
    banned = pl.read_parquet(os.path.join(a.src, "_truth", "accounts.parquet")).select("account_id").with_columns(banned=pl.lit(True))
    per = (mem.join(banned, on="account_id", how="left")
              .group_by("group_id").agg(n=pl.len(), b=pl.col("banned").fill_null(False).sum())
              .with_columns(share=pl.col("b") / pl.col("n")))
    eligible = per.filter(pl.col("n") >= a.min_members)
    cut = eligible["share"].median() if a.positive_share == 0.5 else eligible["share"].quantile(1 - a.positive_share, "lower")
    groups = pl.read_parquet(os.path.join(a.src, "groups.parquet")).select("group_id")
    truth = (groups.join(per, on="group_id", how="left")
                   .with_columns(violating=(pl.col("n").fill_null(0) >= a.min_members) & (pl.col("share").fill_null(0) > cut))
                   .sort("group_id"))
    g_truth = truth.select("group_id", kind=pl.lit("subreddit"), violating="violating",
                           network=pl.when(pl.col("violating")).then(pl.lit(0, pl.UInt64)).otherwise(pl.lit(None, pl.UInt64)),
                           camouflaged=pl.lit(False))
    g_truth.write_parquet(os.path.join(a.out, "_truth", "groups.parquet"))
    pl.DataFrame(schema={"account_id": pl.UInt64, "network": pl.UInt64, "role": pl.Utf8, "throwaway": pl.Boolean,
                         "camouflaged": pl.Boolean}).write_parquet(os.path.join(a.out, "_truth", "accounts.parquet"))
    pl.DataFrame({"network": [0]}, schema={"network": pl.UInt64}).write_parquet(os.path.join(a.out, "_truth", "networks.parquet"))
    lab_src = pl.read_parquet(os.path.join(a.src, "labels.parquet")) if os.path.exists(os.path.join(a.src, "labels.parquet")) else None
    ts = lab_src["ts"].max() if lab_src is not None and lab_src.height else None
    rows = [r for r in truth.filter(pl.col("n").fill_null(0) >= a.min_members).iter_rows(named=True) if pick(a.seed, r["group_id"], a.reveal)]
    labels = pl.DataFrame({
        "entity_kind": ["group"] * len(rows),
        "entity_id": pl.Series([r["group_id"] for r in rows], dtype=pl.UInt64),
        "label": ["violating" if r["violating"] else "benign" for r in rows],
        "ts": pl.Series([ts] * len(rows), dtype=lab_src["ts"].dtype if lab_src is not None else pl.Datetime("ms", "UTC")),
        "source": ["review"] * len(rows),
    })
    labels.write_parquet(os.path.join(a.out, "labels.parquet"))
    n_pos = int(truth["violating"].sum())
    print(f"{truth.height} groups, {eligible.height} with >= {a.min_members} posters, banned share cut {cut:.4f}; "
          f"{n_pos} violating; {len(rows)} labelled ({sum(r['violating'] for r in rows)} violating)")


if __name__ == "__main__":
    main()
