"""Oracle: scikit-learn / scipy / numpy values for the metrics and calibration cases.

usage: metrics_oracle.py CASE_DIR

Reads CASE_DIR/cases.json (written by tests/it/metrics_oracle.rs: inputs only, no Rust results)
and writes CASE_DIR/oracle.json with, per case:

- ranking cases: sklearn average_precision_score and roc_auc_score; the points of
  precision_recall_curve as (k = rows at or above the threshold, precision, recall);
  precision/recall at the requested k by a plain numpy top-k (ties by ascending index);
  recall at each requested min precision as max recall over precision_recall_curve points
  with precision >= p; brier_score_loss when the scores are probabilities.
- isotonic cases: sklearn IsotonicRegression(out_of_bounds="clip") thresholds and
  predictions on the training x and on new x.
- platt cases: (a, b) minimising Platt's smoothed-target log loss with scipy BFGS.
- interval cases: mean and 95 % interval from scipy.stats.t (df <= 30) or norm (beyond).

The Rust test does the comparing, so a mismatch fails there with both numbers.
"""

import json
import pathlib
import sys
import warnings

import numpy as np
import scipy
import sklearn
from scipy import optimize, stats
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
)


def ranking(case):
    s = np.asarray(case["scores"], dtype=np.float64)
    y = np.asarray(case["labels"], dtype=np.int64)
    out = {}
    both = 0 < y.sum() < len(y)
    out["average_precision"] = float(average_precision_score(y, s)) if y.sum() > 0 else None
    out["roc_auc"] = float(roc_auc_score(y, s)) if both else None

    precision, recall, thresholds = precision_recall_curve(y, s)
    # Drop the appended (1, 0) end point; the rest are per threshold, thresholds ascending.
    ks = [int((s >= t).sum()) for t in thresholds]
    out["pr_points"] = [[k, float(p), float(r)] for k, p, r in zip(ks, precision[:-1], recall[:-1])]

    # Plain top-k with ties broken by ascending index: sort by (-score, index).
    order = np.lexsort((np.arange(len(s)), -s))
    n_pos = int(y.sum())
    at_k = []
    for k in case["ks"]:
        kk = min(k, len(s))
        hits = int(y[order[:kk]].sum())
        at_k.append([k, hits / kk if kk > 0 else None, hits / n_pos if n_pos > 0 else None])
    out["at_k"] = at_k

    out["recall_at_precision"] = [
        [p, float(recall[precision >= p].max()) if n_pos > 0 else 0.0]
        for p in case["min_precisions"]
    ]
    if np.all((s >= 0) & (s <= 1)):
        out["brier"] = float(brier_score_loss(y, s))
    return out


def isotonic(case):
    x = np.asarray(case["x"], dtype=np.float64)
    y = np.asarray(case["y"], dtype=np.float64)
    model = IsotonicRegression(out_of_bounds="clip").fit(x, y)
    return {
        "thresholds": model.X_thresholds_.tolist(),
        "values": model.y_thresholds_.tolist(),
        "predict_fit": model.predict(x).tolist(),
        "predict_new": model.predict(np.asarray(case["x_new"], dtype=np.float64)).tolist(),
    }


def platt(case):
    s = np.asarray(case["scores"], dtype=np.float64)
    y = np.asarray(case["labels"], dtype=bool)
    n_pos, n_neg = y.sum(), (~y).sum()
    t = np.where(y, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(ab):
        z = ab[0] * s + ab[1]
        # -t log p - (1-t) log(1-p), p = 1 / (1 + e^z)  ==  logaddexp(0, z) - (1-t) z
        return np.mean(np.logaddexp(0.0, z) - (1.0 - t) * z)

    def grad(ab):
        z = ab[0] * s + ab[1]
        d = t - 1.0 / (1.0 + np.exp(z))  # t - p
        return np.array([np.mean(s * d), np.mean(d)])

    x0 = np.array([0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = optimize.minimize(loss, x0, jac=grad, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000})
    return {
        "a": float(res.x[0]),
        "b": float(res.x[1]),
        "grad": grad(res.x).tolist(),
        "message": str(res.message),
    }


def interval(case):
    v = np.asarray(case["values"], dtype=np.float64)
    n = len(v)
    mean = float(v.mean())
    df = n - 1
    q = stats.t.ppf(0.975, df) if df <= 30 else stats.norm.ppf(0.975)
    half = q * v.std(ddof=1) / np.sqrt(n)
    return {"mean": mean, "lo": float(mean - half), "hi": float(mean + half), "q": float(q)}


KINDS = {"ranking": ranking, "isotonic": isotonic, "platt": platt, "interval": interval}


def main():
    directory = pathlib.Path(sys.argv[1])
    cases = json.loads((directory / "cases.json").read_text())
    out = {}
    for name, case in cases.items():
        out[name] = KINDS[case["kind"]](case)
    out["_versions"] = {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__}
    (directory / "oracle.json").write_text(json.dumps(out))
    versions = out["_versions"]
    print(f"{len(cases)} cases; " + ", ".join(f"{k} {v}" for k, v in versions.items()))


if __name__ == "__main__":
    main()
