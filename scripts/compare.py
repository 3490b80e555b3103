#!/usr/bin/env python3
"""groupwatch beside the Python baseline on one dataset with known truth, in one sitting.

    python3 scripts/compare.py --dataset DIR [DIR ...] [--work NAME] [--gw BIN] [--as-of DATE]
                               [--baseline ../shared/baselines/peer.py] [--json FILE]

DIR holds `input/` (the data contract's layout) and `truth/` (`groups.parquet` with
group_id, violating, network; `accounts.parquet` with account_id, network for planted
accounts; `networks.parquet` with network), as written by `groupwatch synth` and
`scripts/indgen.py`. Both tools score the same input; their scores are measured on the same
held-out truth:

- held out = every entity that carries no label in the input (labelled ones are the tools'
  training data and propagation seeds);
- `new networks` = planted networks none of whose groups or accounts carries a violating
  label in the input (leave-networks-out: nothing about them was revealed), measured with
  their held-out entities as positives against every held-out benign entity;
- network recall = the share of planted networks with a held-out group among the 100
  highest-scored held-out groups.

PR-AUC is scikit-learn's average precision; ties in scores are as scikit-learn treats them.
Prints one Markdown table per dataset and, for several datasets, their mean and standard
deviation; writes the figures as JSON (DATASET/NAME/compare.json, and --json for all).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
K = 100


def labelled(inp: str) -> tuple[set[int], set[int], set[int], set[int]]:
    """(groups with any label, accounts with any label, violating groups, violating accounts),
    the latest label per entity deciding 'violating'."""
    path = os.path.join(inp, "labels")
    if not os.path.exists(path):
        path = os.path.join(inp, "labels.parquet")
        if not os.path.exists(path):
            return set(), set(), set(), set()
        lab = pl.read_parquet(path)
    else:
        lab = pl.read_parquet(os.path.join(path, "**", "*.parquet"), hive_partitioning=False)
    lab = lab.with_columns(pl.col("entity_id").cast(pl.UInt64))
    latest = lab.sort("ts").group_by(["entity_kind", "entity_id"]).agg(pl.col("label").last())
    g = latest.filter(pl.col("entity_kind") == "group")
    a = latest.filter(pl.col("entity_kind") == "account")
    vg = g.filter(pl.col("label") == "violating")
    va = a.filter(pl.col("label") == "violating")
    return (set(g["entity_id"].to_list()), set(a["entity_id"].to_list()),
            set(vg["entity_id"].to_list()), set(va["entity_id"].to_list()))


def metrics(ids: np.ndarray, score: np.ndarray, pos: set[int], keep: np.ndarray) -> dict:
    y = np.fromiter((int(i) in pos for i in ids), bool, len(ids))
    y, s = y[keep], score[keep]
    out = {"entities": int(len(y)), "positives": int(y.sum())}
    if 0 < y.sum() < len(y):
        out["pr_auc"] = float(average_precision_score(y, s))
        out["roc_auc"] = float(roc_auc_score(y, s))
    return out


def evaluate(groups: pl.DataFrame, accounts: pl.DataFrame, truth: dict, lab: tuple) -> dict:
    """`groups` (group_id, score) and `accounts` (account_id, score) against the truth."""
    lg, la, vg, va = lab
    tg, ta, net_groups, nets = truth["groups"], truth["accounts"], truth["net_groups"], truth["networks"]
    new_nets = {n for n in nets if not (truth["net_groups"].get(n, set()) & vg) and not (truth["net_accounts"].get(n, set()) & va)}
    res = {"new_networks": len(new_nets), "networks": len(nets)}

    gid = groups["group_id"].cast(pl.UInt64).to_numpy()
    gs = groups["score"].cast(pl.Float64).fill_null(0.0).fill_nan(0.0).to_numpy()
    held = np.fromiter((int(i) not in lg for i in gid), bool, len(gid))
    res["groups"] = metrics(gid, gs, set(tg), held)
    new_pos = {g for n in new_nets for g in net_groups.get(n, set())}
    old_pos = set(tg) - new_pos
    keep_new = held & np.fromiter((int(i) not in old_pos for i in gid), bool, len(gid))
    res["groups_new_networks"] = metrics(gid, gs, new_pos, keep_new)
    # Network recall: planted networks with a held-out group in the top K held-out groups.
    order = np.lexsort((gid[held], -gs[held]))
    top = gid[held][order[:K]]
    net_of = truth["group_network"]
    found = {net_of[int(g)] for g in top if int(g) in net_of}
    evaluable = {net_of[int(g)] for g in gid[held] if int(g) in net_of}
    res["network_recall"] = {"found": len(found & evaluable), "evaluable": len(evaluable),
                             "recall": len(found & evaluable) / max(len(evaluable), 1),
                             "new_found": len(found & evaluable & new_nets),
                             "new_evaluable": len(evaluable & new_nets)}
    if accounts is not None:
        aid = accounts["account_id"].cast(pl.UInt64).to_numpy()
        ascore = accounts["score"].cast(pl.Float64).fill_null(0.0).fill_nan(0.0).to_numpy()
        aheld = np.fromiter((int(i) not in la for i in aid), bool, len(aid))
        res["accounts"] = metrics(aid, ascore, set(ta), aheld)
        new_apos = {a for n in new_nets for a in truth["net_accounts"].get(n, set())}
        old_apos = set(ta) - new_apos
        keep = aheld & np.fromiter((int(i) not in old_apos for i in aid), bool, len(aid))
        res["accounts_new_networks"] = metrics(aid, ascore, new_apos, keep)
    return res


def read_truth(d: str) -> dict:
    g = pl.read_parquet(os.path.join(d, "groups.parquet")).filter(pl.col("violating"))
    a = pl.read_parquet(os.path.join(d, "accounts.parquet"))
    n = pl.read_parquet(os.path.join(d, "networks.parquet"))
    net_groups: dict[int, set[int]] = {}
    for gid, net in zip(g["group_id"].to_list(), g["network"].to_list()):
        net_groups.setdefault(net, set()).add(gid)
    net_accounts: dict[int, set[int]] = {}
    for aid, net in zip(a["account_id"].to_list(), a["network"].to_list()):
        net_accounts.setdefault(net, set()).add(aid)
    return {"groups": set(g["group_id"].to_list()), "accounts": set(a["account_id"].to_list()),
            "group_network": dict(zip(g["group_id"].to_list(), g["network"].to_list())),
            "net_groups": net_groups, "net_accounts": net_accounts, "networks": set(n["network"].to_list())}


def folder_layout(inp: str, work: str) -> str:
    """The baseline reads table folders only: a dataset with `<table>.parquet` files gets a
    folder of links beside it (`<work>/input/<table>/part-0.parquet`, folders linked whole)."""
    entries = [f for f in os.listdir(inp) if not f.startswith(("_", "."))]
    if not any(f.endswith(".parquet") for f in entries):
        return inp
    out = os.path.join(work, "input")
    os.makedirs(out, exist_ok=True)
    for f in entries:
        src = os.path.abspath(os.path.join(inp, f))
        if f.endswith(".parquet"):
            d = os.path.join(out, f[: -len(".parquet")])
            os.makedirs(d, exist_ok=True)
            link = os.path.join(d, "part-0.parquet")
        elif os.path.isdir(src):
            link = os.path.join(out, f)
        else:
            continue
        if not os.path.lexists(link):
            os.symlink(src, link)
    return out


def timed(cmd: list[str], log: str) -> float:
    t = time.time()
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with exit {r.returncode}; see {log}")
    return time.time() - t


def compare_one(a, dataset: str) -> dict:
    # `synth` and indgen write DIR/input and DIR/truth; `convert-reddit` writes the tables in DIR
    # and the truth in DIR/_truth.
    inp = os.path.join(dataset, "input") if os.path.isdir(os.path.join(dataset, "input")) else dataset
    work = os.path.join(dataset, ("_" if inp == dataset else "") + a.work)
    os.makedirs(work, exist_ok=True)
    truth = read_truth(os.path.join(dataset, "truth") if os.path.isdir(os.path.join(dataset, "truth")) else os.path.join(dataset, "_truth"))
    lab = labelled(inp)
    out = {"dataset": os.path.abspath(dataset), "as_of": a.as_of}
    run_dir = os.path.join(work, "gw")
    if not a.skip_gw:
        subprocess.run(["rm", "-rf", run_dir])
        out["gw_seconds"] = timed([a.gw, "run", "--input", inp, "--out", run_dir, "--as-of", a.as_of] + a.gw_args.split(),
                                  os.path.join(work, "gw.log"))
    rd = os.path.join(run_dir, f"run={a.as_of}")
    gw = None
    if os.path.exists(os.path.join(rd, "group_scores.parquet")):
        gw = evaluate(pl.read_parquet(os.path.join(rd, "group_scores.parquet"), columns=["group_id", "score"]),
                      pl.read_parquet(os.path.join(rd, "account_scores.parquet"), columns=["account_id", "score"]), truth, lab)
    # The baseline's scores live beside the dataset whatever the work name, so every variant of
    # groupwatch is compared with the same baseline run.
    base_dir = os.path.join(dataset, "_baseline" if inp == dataset else "compare")
    os.makedirs(base_dir, exist_ok=True)
    pg, pa = os.path.join(base_dir, "peer_groups.parquet"), os.path.join(base_dir, "peer_accounts.parquet")
    if not a.skip_baseline or not os.path.exists(pg):
        out["baseline_seconds"] = timed([sys.executable, a.baseline, "--input", folder_layout(inp, base_dir), "--out", pg,
                                         "--account-out", pa], os.path.join(base_dir, "peer.log"))
    peer = evaluate(pl.read_parquet(pg), pl.read_parquet(pa), truth, lab)
    out["groupwatch"], out["baseline"] = gw, peer
    with open(os.path.join(work, "compare.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    return out


FIGURES = [("group PR-AUC", lambda r: r["groups"].get("pr_auc")),
           ("group ROC", lambda r: r["groups"].get("roc_auc")),
           ("new-network group PR-AUC", lambda r: r["groups_new_networks"].get("pr_auc")),
           ("network recall top 100", lambda r: r["network_recall"]["recall"]),
           ("account PR-AUC", lambda r: r["accounts"].get("pr_auc")),
           ("new-network account PR-AUC", lambda r: r["accounts_new_networks"].get("pr_auc"))]


def table(rows: list[tuple[str, dict, float | None]]):
    f = lambda v: "–" if v is None else f"{v:.3f}"
    print("| tool | " + " | ".join(n for n, _ in FIGURES) + " | seconds |")
    print("|---|" + "---|" * (len(FIGURES) + 1))
    for name, r, sec in rows:
        if r is None:
            continue
        nr = r["network_recall"]
        cells = [f(get(r)) for _, get in FIGURES]
        cells[3] += f" ({nr['found']}/{nr['evaluable']}; new {nr['new_found']}/{nr['new_evaluable']})"
        print(f"| {name} | " + " | ".join(cells) + f" | {'–' if sec is None else f'{sec:.1f}'} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, nargs="+")
    ap.add_argument("--work", default="compare", help="sub-folder of each dataset for groupwatch's run (default compare)")
    ap.add_argument("--gw", default=os.environ.get("GW", "groupwatch"), help="groupwatch binary")
    ap.add_argument("--gw-args", default="", help="extra arguments for groupwatch run")
    ap.add_argument("--as-of", default="2026-11-24")
    ap.add_argument("--baseline", default=os.path.join(HERE, "..", "..", "shared", "baselines", "peer.py"))
    ap.add_argument("--skip-baseline", action="store_true", help="reuse the baseline's scores from an earlier call")
    ap.add_argument("--skip-gw", action="store_true", help="reuse groupwatch's run from an earlier call")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    results = []
    for d in a.dataset:
        r = compare_one(a, d)
        results.append(r)
        g = r["groupwatch"] or r["baseline"]
        print(f"\n{d}: {g['networks']} networks, {g['new_networks']} with no labelled member; "
              f"held-out groups {g['groups']['entities']} ({g['groups']['positives']} violating)")
        table([("groupwatch", r["groupwatch"], r.get("gw_seconds")), ("baseline", r["baseline"], r.get("baseline_seconds"))])
    if len(results) > 1:
        print(f"\nmean ± sd over {len(results)} datasets")
        print("| tool | " + " | ".join(n for n, _ in FIGURES) + " |")
        print("|---|" + "---|" * len(FIGURES))
        for tool in ["groupwatch", "baseline"]:
            cells = []
            for _, get in FIGURES:
                v = [get(r[tool]) for r in results if r[tool] is not None and get(r[tool]) is not None]
                cells.append(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else "–")
            print(f"| {tool} | " + " | ".join(cells) + " |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
