"""Independent recomputation of `groupwatch evaluate` from the same Parquet files.

Usage: evaluate_oracle.py RUN_DIR TRUTH_DIR K RUST_JSON

Reads the run's scores and labels and the synthetic truth with polars, computes every figure
with scikit-learn (average precision, ROC-AUC) and plain sorting (top k, ties by ascending
id), and compares with the JSON groupwatch wrote. Exits non-zero on any difference > 1e-9.
"""
import json
import math
import sys

import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

run, truth, k, rust_json = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rust = json.load(open(rust_json))

labels = pl.read_parquet(f"{run}/labels.parquet")
problems = []


def close(name, a, b):
    if a is None or b is None:
        if a is not b and not (a is None and b is None):
            problems.append(f"{name}: rust {b} oracle {a}")
        return
    if not math.isclose(a, b, rel_tol=0, abs_tol=1e-9):
        problems.append(f"{name}: rust {b} oracle {a}")


def slice_figures(df, name, rust_slice):
    # df: id, score, positive (bool); ties broken by ascending id.
    df = df.sort("id")
    y = df["positive"].to_list()
    s = df["score"].to_list()
    pos = sum(y)
    ap = average_precision_score(y, s) if pos > 0 else None
    roc = roc_auc_score(y, s) if 0 < pos < len(y) else None
    top = df.sort(["score", "id"], descending=[True, False]).head(k)
    kk = min(k, len(df))
    p_at_k = top["positive"].sum() / kk if kk > 0 else None
    r_at_k = top["positive"].sum() / pos if pos > 0 else None
    if rust_slice["entities"] != len(df) or rust_slice["positives"] != pos:
        problems.append(f"{name}: counts rust {rust_slice['entities']}/{rust_slice['positives']} oracle {len(df)}/{pos}")
    close(f"{name}.pr_auc", ap, rust_slice["pr_auc"])
    close(f"{name}.roc_auc", roc, rust_slice["roc_auc"])
    close(f"{name}.precision_at_k", p_at_k, rust_slice["precision_at_k"])
    close(f"{name}.recall_at_k", r_at_k, rust_slice["recall_at_k"])


def kind(kind_name, key, truth_df):
    scores = pl.read_parquet(f"{run}/{kind_name}_scores.parquet").select(pl.col(key).alias("id"), "score")
    lab = labels.filter(pl.col("entity_kind") == kind_name).select(pl.col("entity_id").alias("id"))
    unl = scores.join(lab, on="id", how="anti")
    df = unl.join(truth_df, on="id", how="left").with_columns(
        positive=pl.col("network").is_not_null(), camo=pl.col("camouflaged").fill_null(False)
    )
    r = rust[f"{kind_name}s"]
    if r["labelled_excluded"] != scores.height - unl.height:
        problems.append(f"{kind_name}: labelled_excluded rust {r['labelled_excluded']} oracle {scores.height - unl.height}")
    slice_figures(df, f"{kind_name}.all", r["all"])
    slice_figures(df.filter(~pl.col("positive") | pl.col("camo")), f"{kind_name}.camouflaged", r["camouflaged"])
    slice_figures(df.filter(~pl.col("positive") | ~pl.col("camo")), f"{kind_name}.loud", r["loud"])
    return df


tg = pl.read_parquet(f"{truth}/groups.parquet").filter(pl.col("violating")).select(
    pl.col("group_id").alias("id"), "network", "camouflaged"
)
ta = pl.read_parquet(f"{truth}/accounts.parquet").select(pl.col("account_id").alias("id"), "network", "camouflaged")
groups = kind("group", "group_id", tg)
kind("account", "account_id", ta)

# Network recall: networks with a group among the top k unlabelled groups.
nets = pl.read_parquet(f"{truth}/networks.parquet")
top = groups.sort(["score", "id"], descending=[True, False]).head(k)
found = set(top.filter(pl.col("positive"))["network"].to_list())
evaluable = set(groups.filter(pl.col("positive"))["network"].to_list())
camo_nets = set(nets.filter(pl.col("camouflaged"))["network"].to_list())
n = rust["networks"]
expect = {
    "networks": len(evaluable),
    "found": len(found),
    "camouflaged_networks": len(evaluable & camo_nets),
    "camouflaged_found": len(found & camo_nets),
    "not_evaluable": nets.height - len(evaluable),
}
for key, v in expect.items():
    if n[key] != v:
        problems.append(f"networks.{key}: rust {n[key]} oracle {v}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"evaluate oracle: every figure agrees (groups {groups.height}, k {k})")
