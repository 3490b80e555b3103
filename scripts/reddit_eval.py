"""Account-level evaluation on the converted Reddit banned-users data: groupwatch against two
baselines on the same folds.

Usage:
  reddit_eval.py --dataset DIR --features FILE --oof FILE [--evaluation FILE]
                 [--catalog FILE] [--json FILE] [--seed N] [--groupwatch-only]

  --dataset     the folder `groupwatch convert-reddit` wrote (memberships, labels)
  --features    account_features.parquet from `groupwatch features` on that folder
  --oof         the file `groupwatch train --oof-out` wrote (kind, entity_id, fold, label,
                raw_score, score)
  --evaluation  MODEL.evaluation.json from the same `groupwatch train`: its per-fold PR-AUC
                must equal the one computed here from the out-of-fold file (a cross-check of
                the export against the trainer's own metrics)
  --catalog     data-schemas/feature_catalog.toml (which features are seed-based)
  --json        where to write the results
  --groupwatch-only  skip the baselines (the cross-check and groupwatch's figures only)

Folds are groupwatch's: an account's fold is a hash of its id (5 folds); fold k is tested by
a model trained on the other four. Every method here is trained and tested on exactly those
rows. Metrics are scikit-learn's average_precision_score (PR-AUC) and roc_auc_score, per
fold (mean and spread) and on the pooled out-of-fold scores.

Methods:
- groupwatch: its out-of-fold scores (raw, and calibrated on the other folds).
- degree LR: logistic regression on ln(1 + groups joined), the degree counted here from the
  memberships table, not from groupwatch's features.
- scikit-learn best: LogisticRegression (C grid, standardised ln(1+|x|) features) and
  HistGradientBoostingClassifier (small grid), class-weighted, on the label-free columns of
  account_features.parquet; the grid point and model family are chosen per fold by a 3-fold
  stratified CV *inside the training folds* (average precision), then refitted on them.
- scikit-learn best + PPR: the same selection on the label-free columns plus a personalized
  PageRank computed here with networkx from the training folds' violating accounts only
  (training rows cross-fitted, so no row's own label seeds it): the baseline gets the
  propagation signal groupwatch has, without the leak.
- all features as written: the same selection on every column of account_features.parquet,
  whose seed-based columns `groupwatch features` computes per fold with that fold's labels
  hidden (so a fold's test rows never see their own labels there either).
"""
import argparse
import json
import sys
import tomllib
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler


def slog(x):
    return np.sign(x) * np.log1p(np.abs(x))


def lr_candidates(seed):
    for c in (0.01, 0.1, 1.0, 10.0):
        yield f"logistic C={c}", lambda c=c: make_pipeline(
            FunctionTransformer(slog), StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        )


def hgb_candidates(seed):
    for leaves in (7, 31):
        yield f"hist-gbt lr=0.1 leaves={leaves}", lambda leaves=leaves: HistGradientBoostingClassifier(
            learning_rate=0.1, max_leaf_nodes=leaves, max_iter=100, l2_regularization=1.0,
            class_weight="balanced", early_stopping=False, random_state=seed,
        )


def ppr(graph, seeds, accounts):
    """Personalized PageRank (damping 0.85) on the undirected account-subreddit graph,
    restarting at the seed accounts, times the number of nodes; zeros without seeds."""
    if not seeds:
        return np.zeros(len(accounts))
    pr = nx.pagerank(graph, alpha=0.85, personalization={("a", u): 1.0 for u in seeds}, tol=1e-10, max_iter=1000)
    n = graph.number_of_nodes()
    return np.array([pr.get(("a", u), 0.0) * n for u in accounts])


def fold_ppr(graph, tr, te):
    """PPR features for one fold with no label leaking into its own row: test rows from the
    training folds' violating accounts; training rows cross-fitted over 5 parts (a row's
    seeds are the violating accounts of the other parts), as a test row never seeds itself."""
    ids_tr = tr["entity_id"].to_list()
    pos = [u for u, y in zip(ids_tr, tr["y"].to_list()) if y == 1]
    test = ppr(graph, pos, te["entity_id"].to_list())
    train = np.zeros(len(ids_tr))
    part = np.array([u % 5 for u in ids_tr])
    for p in range(5):
        rows = np.flatnonzero(part == p)
        train[rows] = ppr(graph, [u for u in pos if u % 5 != p], [ids_tr[i] for i in rows])
    return train, test


def fit_score(make, x_tr, y_tr, x_te):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = make()
        m.fit(x_tr, y_tr)
        return m.predict_proba(x_te)[:, 1]


def select_and_score(x_tr, y_tr, x_te, seed):
    """Chooses the candidate by inner 3-fold CV average precision on the training rows only,
    refits it on all of them and scores the test rows."""
    cands = list(lr_candidates(seed)) + list(hgb_candidates(seed))
    inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    best = None
    for name, make in cands:
        aps = []
        for a, b in inner.split(x_tr, y_tr):
            aps.append(average_precision_score(y_tr[b], fit_score(make, x_tr[a], y_tr[a], x_tr[b])))
        ap = float(np.mean(aps))
        if best is None or ap > best[0]:
            best = (ap, name, make)
    return fit_score(best[2], x_tr, y_tr, x_te), best[1], best[0]


def metrics(folds):
    """folds: list of (y, s) per tested fold -> per-fold and pooled PR-AUC and ROC-AUC."""
    pr = [average_precision_score(y, s) for y, s in folds]
    roc = [roc_auc_score(y, s) for y, s in folds]
    y = np.concatenate([f[0] for f in folds])
    s = np.concatenate([f[1] for f in folds])
    return {
        "pr_auc_per_fold": pr,
        "roc_auc_per_fold": roc,
        "pr_auc_mean": float(np.mean(pr)),
        "pr_auc_sd": float(np.std(pr, ddof=1)) if len(pr) > 1 else 0.0,
        "roc_auc_mean": float(np.mean(roc)),
        "roc_auc_sd": float(np.std(roc, ddof=1)) if len(roc) > 1 else 0.0,
        "pr_auc_pooled": float(average_precision_score(y, s)),
        "roc_auc_pooled": float(roc_auc_score(y, s)),
        "rows": int(len(y)),
        "positives": int(y.sum()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, type=Path)
    ap.add_argument("--features", required=True, type=Path)
    ap.add_argument("--oof", required=True, type=Path)
    ap.add_argument("--evaluation", type=Path)
    ap.add_argument("--catalog", type=Path, default=Path(__file__).resolve().parent.parent / "data-schemas/feature_catalog.toml")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--groupwatch-only", action="store_true")
    a = ap.parse_args()

    oof = pl.read_parquet(a.oof).filter(pl.col("kind") == "account").sort("entity_id")
    if oof.height == 0:
        sys.exit("no account rows in the out-of-fold file (was an account model trained?)")
    oof = oof.with_columns((pl.col("label") == "violating").cast(pl.Int8).alias("y"))

    # Degree from the memberships table itself (distinct groups joined).
    mem = pl.read_parquet(a.dataset / "memberships.parquet")
    degree = mem.filter(pl.col("event") == "join").group_by("account_id").agg(pl.col("group_id").n_unique().alias("degree"))
    oof = oof.join(degree.rename({"account_id": "entity_id"}), on="entity_id", how="left").with_columns(pl.col("degree").fill_null(0))

    catalog = tomllib.loads(a.catalog.read_text())["feature"]
    seed_based = {f["name"] for f in catalog if f["entity"] == "account" and f.get("seed_based", False)}
    feats = pl.read_parquet(a.features).rename({"account_id": "entity_id"})
    all_cols = [c for c in feats.columns if c != "entity_id" and feats[c].null_count() < feats.height]
    free_cols = [c for c in all_cols if c not in seed_based]
    # Constant columns carry nothing; dropping them keeps the scaler quiet.
    free_cols = [c for c in free_cols if feats[c].n_unique() > 1]
    all_cols = [c for c in all_cols if feats[c].n_unique() > 1]
    t = oof.join(feats, on="entity_id", how="left")
    missing = t.filter(pl.col(free_cols[0]).is_null()).height if free_cols else 0
    chunks = sorted(t["fold"].unique().to_list())
    tested = [k for k in chunks if t.filter(pl.col("fold") == k)["raw_score"].null_count() == 0]

    def xy(cols, rows):
        x = rows.select(cols).to_numpy().astype(float)
        return np.nan_to_num(x, nan=0.0), rows["y"].to_numpy()

    results = {"methods": {}, "folds": {}, "label_free_features": free_cols, "all_features": all_cols}
    graph = nx.Graph()
    graph.add_edges_from((("a", u), ("g", g)) for u, g in mem.select("account_id", "group_id").iter_rows())
    best_free, best_ppr, leaky = (
        "scikit-learn best (label-free features)",
        "scikit-learn best (label-free + PPR, per-fold seeds)",
        "scikit-learn best (all features as written, seed-based ones fold-masked)",
    )
    per = {"groupwatch (calibrated)": [], "groupwatch (raw)": [], "degree LR": [], best_free: [], best_ppr: [], leaky: []}
    chosen = {best_free: [], best_ppr: [], leaky: []}
    for k in tested:
        tr = t.filter(pl.col("fold") != k)
        te = t.filter(pl.col("fold") == k)
        y = te["y"].to_numpy()
        results["folds"][int(k)] = {"train_rows": tr.height, "train_positives": int(tr["y"].sum()), "test_rows": te.height, "test_positives": int(y.sum())}
        per["groupwatch (raw)"].append((y, te["raw_score"].to_numpy()))
        cal = te["score"].to_numpy()
        per["groupwatch (calibrated)"].append((y, np.where(np.isnan(cal.astype(float)), 0.0, cal)))
        if a.groupwatch_only:
            continue
        d_tr = np.log1p(tr["degree"].to_numpy().astype(float))[:, None]
        d_te = np.log1p(te["degree"].to_numpy().astype(float))[:, None]
        per["degree LR"].append((y, fit_score(lambda: LogisticRegression(class_weight="balanced", max_iter=5000), d_tr, tr["y"].to_numpy(), d_te)))
        p_tr, p_te = fold_ppr(graph, tr, te)
        for name, cols in ((best_free, free_cols), (best_ppr, free_cols), (leaky, all_cols)):
            x_tr, y_tr = xy(cols, tr)
            x_te, _ = xy(cols, te)
            if name == best_ppr:
                x_tr, x_te = np.column_stack([x_tr, p_tr]), np.column_stack([x_te, p_te])
            s, cand, inner_ap = select_and_score(x_tr, y_tr, x_te, a.seed)
            per[name].append((y, s))
            chosen[name].append({"fold": int(k), "candidate": cand, "inner_cv_pr_auc": inner_ap})
        print(f"fold {k}: train {tr.height} ({int(tr['y'].sum())} banned), test {te.height} ({int(y.sum())} banned)", file=sys.stderr)
    for name, folds in per.items():
        if not folds:
            continue
        results["methods"][name] = metrics(folds)
        if name in chosen:
            results["methods"][name]["chosen_per_fold"] = chosen[name]
    pos_rate = float(np.concatenate([f[0] for f in per["groupwatch (raw)"]]).mean())
    results["positive_rate"] = pos_rate
    results["accounts_without_feature_row"] = missing

    if a.evaluation:
        ev = json.loads(a.evaluation.read_text())["account"]["all_features"]
        c = ev["candidates"][ev["chosen"]]
        trainer = [v for v in c["pr_auc"]["per_fold"] if v is not None]
        ours = results["methods"]["groupwatch (raw)"]["pr_auc_per_fold"]
        diff = max(abs(x - y) for x, y in zip(trainer, ours)) if len(trainer) == len(ours) else float("inf")
        results["cross_check"] = {"trainer_pr_auc_per_fold": trainer, "max_abs_difference": diff, "chosen": c["description"]}
        if not diff < 1e-9:
            sys.exit(f"out-of-fold export disagrees with the trainer's per-fold PR-AUC: {trainer} vs {ours}")

    print(f"{'method':<50} {'PR-AUC mean±sd':>16} {'pooled':>7} {'ROC-AUC mean±sd':>17} {'pooled':>7}")
    for name, m in results["methods"].items():
        print(f"{name:<50} {m['pr_auc_mean']:>8.3f} ± {m['pr_auc_sd']:.3f} {m['pr_auc_pooled']:>7.3f} "
              f"{m['roc_auc_mean']:>9.3f} ± {m['roc_auc_sd']:.3f} {m['roc_auc_pooled']:>7.3f}")
    print(f"positive rate in the tested rows: {pos_rate:.4f} ({len(tested)} folds)")
    print(f"label-free features: {', '.join(free_cols)}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
