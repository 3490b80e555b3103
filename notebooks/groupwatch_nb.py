"""Helpers the notebooks share: finding run folders and reading their tables.

Kept beside the notebooks (Jupyter starts them with this folder as the working directory) so
each notebook's first cell stays short and every notebook finds runs the same way.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Where `groupwatch demo` writes when run from the repository root (`cargo run -- demo`).
DEMO_RUNS = REPO / "groupwatch-demo" / "runs"

_RUN_NAME = re.compile(r"^run=\d{4}-\d{2}-\d{2}$")


def runs_in(folder: Path) -> list[Path]:
    """Complete run folders (`run=YYYY-MM-DD`) in `folder`, oldest first.

    Staging folders are hidden (`.run=...`), so a run being written is never picked.
    """
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and _RUN_NAME.match(p.name))


def run_folder(env: str = "GROUPWATCH_RUN") -> Path:
    """The run to read: `$GROUPWATCH_RUN`, else the newest run the demo wrote."""
    given = os.environ.get(env, "").strip()
    if given:
        run = Path(given).expanduser().resolve()
        if not (run / "manifest.json").is_file():
            raise FileNotFoundError(f"{env}={given} is not a run folder (no manifest.json)")
        return run
    runs = runs_in(DEMO_RUNS)
    if not runs:
        raise FileNotFoundError(
            f"no run in {DEMO_RUNS}: run `cargo run -- demo` from the repository root, "
            f"or set {env} to a run folder (…/runs/run=YYYY-MM-DD)"
        )
    return runs[-1]


def previous_run(run: Path, env: str = "PREVIOUS_RUN") -> Path | None:
    """The run to compare against: `$PREVIOUS_RUN` (`none` for no comparison), else the
    newest run before `run` in the same folder, else None."""
    given = os.environ.get(env, "").strip()
    if given.lower() == "none":
        return None
    if given:
        prev = Path(given).expanduser().resolve()
        if not (prev / "manifest.json").is_file():
            raise FileNotFoundError(f"{env}={given} is not a run folder (no manifest.json)")
        return prev
    earlier = [p for p in runs_in(run.parent) if p.name < run.name]
    return earlier[-1] if earlier else None


def read(run: Path, table: str) -> pl.DataFrame | None:
    """`run/<table>.parquet`, or None when the run has no such table."""
    path = run / f"{table}.parquet"
    return pl.read_parquet(path) if path.is_file() else None


def labelled(features: pl.DataFrame, labels: pl.DataFrame, kind: str) -> pl.DataFrame:
    """A feature table with a `label` column: violating, benign or unlabelled.

    `labels.parquet` holds the latest label per entity as of the run (an upheld appeal is
    benign), so this is the label the run's model trained on.
    """
    key = f"{kind}_id"
    lab = labels.filter(pl.col("entity_kind") == kind).select(pl.col("entity_id").alias(key), "label")
    return features.join(lab, on=key, how="left").with_columns(pl.col("label").fill_null("unlabelled"))


def catalog() -> dict[str, dict]:
    """The feature catalog (`data-schemas/feature_catalog.toml`) by feature name."""
    path = REPO / "data-schemas" / "feature_catalog.toml"
    with path.open("rb") as f:
        return {f["name"]: f for f in tomllib.load(f)["feature"]}


def policy(path: Path) -> dict:
    """A policy file as a dict (groupwatch itself validates it; see policies/default.toml)."""
    with Path(path).open("rb") as f:
        return tomllib.load(f)


def decide(facts: pl.DataFrame, pol: dict) -> pl.Series:
    """Whether `pol` flags each row of `policy_facts.parquet`: the rule of `Policy::decide`
    (src/policy.rs) written as one polars expression, so a notebook can try a policy file
    without re-running groupwatch. The notebook test checks it against `groupwatch sweep
    --compare`."""
    review, rules = pol["review"], pol["rules"]
    threshold = (
        pl.when(pl.col("entity_kind") == "group")
        .then(pl.lit(review["group_threshold"]))
        .otherwise(pl.lit(review["account_threshold"]))
    )
    big_enough = (pl.col("entity_kind") == "account") | (pl.col("members_now").fill_null(0) >= review["min_group_size"])
    # NaN never passes: NaN >= t is false in Rust; polars orders NaN above every number.
    flag = big_enough & pl.col("score").is_not_nan() & (pl.col("score") >= threshold)
    if rules.get("hash_match_always_review"):
        flag = flag | pl.col("hash_match")
    if rules.get("violating_admin_always_review"):
        flag = flag | pl.col("violating_admin")
    if rules.get("child_safety_reports_at_least") is not None:
        flag = flag | (pl.col("child_safety_reports") >= rules["child_safety_reports_at_least"])
    return facts.select(flag.fill_null(False).alias("flagged")).to_series()


# Statistics the notebooks report; tests/oracle/notebook_stats.py checks them against
# scikit-learn and scipy.


def auc(values: np.ndarray, positive: np.ndarray) -> float:
    """ROC-AUC of `values` as a score for `positive` (Mann–Whitney U with average ranks, so
    ties count half); NaN without both classes."""
    positive = np.asarray(positive, dtype=bool)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pl.Series(np.asarray(values, dtype=float)).rank("average").to_numpy()
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ of two equally long arrays without nulls; NaN if either is constant."""
    ra = pl.Series(np.asarray(a, dtype=float)).rank("average").to_numpy()
    rb = pl.Series(np.asarray(b, dtype=float)).rank("average").to_numpy()
    if len(ra) < 2 or ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def ks(old: np.ndarray, new: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs."""
    old, new = np.sort(np.asarray(old, dtype=float)), np.sort(np.asarray(new, dtype=float))
    grid = np.union1d(old, new)
    gap = np.searchsorted(old, grid, side="right") / len(old) - np.searchsorted(new, grid, side="right") / len(new)
    return float(np.max(np.abs(gap)))


def psi(old: np.ndarray, new: np.ndarray, bins: int = 10, floor: float = 1e-4) -> float:
    """Population stability index of `new` against `old`: `old`'s quantiles cut both into at
    most `bins` bins (fewer where quantiles coincide, as with counts), and
    PSI = Σ (new share − old share) · ln(new share / old share), shares floored at `floor`."""
    old, new = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    edges = np.unique(np.quantile(old, np.linspace(0, 1, bins + 1)[1:-1]))
    o = np.bincount(np.searchsorted(edges, old, side="right"), minlength=len(edges) + 1) / len(old)
    n = np.bincount(np.searchsorted(edges, new, side="right"), minlength=len(edges) + 1) / len(new)
    o, n = np.maximum(o, floor), np.maximum(n, floor)
    return float(np.sum((n - o) * np.log(n / o)))
