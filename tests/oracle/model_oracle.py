"""Oracle for tests/it/model.rs: scikit-learn's LogisticRegression on the same folds.

Usage: model_oracle.py FOLD_DIR ALPHA

FOLD_DIR holds fold{k}_train.csv and fold{k}_test.csv (label first, then the standardised
features, no header). linfa's penalty is 0.5 * alpha * |w|^2 on the summed log loss, which is
scikit-learn's C = 1 / alpha. Prints the per-fold average precision on the last line.
"""
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score


def main():
    d, alpha = Path(sys.argv[1]), float(sys.argv[2])
    aps = []
    k = 0
    while (d / f"fold{k}_train.csv").exists():
        tr = np.loadtxt(d / f"fold{k}_train.csv", delimiter=",", ndmin=2)
        te = np.loadtxt(d / f"fold{k}_test.csv", delimiter=",", ndmin=2)
        m = LogisticRegression(C=1.0 / alpha, solver="lbfgs", max_iter=5000, tol=1e-10)
        m.fit(tr[:, 1:], tr[:, 0].astype(int))
        p = m.predict_proba(te[:, 1:])[:, 1]
        aps.append(average_precision_score(te[:, 0].astype(int), p))
        print(f"fold {k}: train {len(tr)} rows, test {len(te)} rows, AP {aps[-1]:.6f}")
        k += 1
    print(",".join(f"{a:.12f}" for a in aps))


if __name__ == "__main__":
    main()
