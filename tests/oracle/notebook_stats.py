"""Oracle: the notebooks' statistics (notebooks/groupwatch_nb.py) against scikit-learn and scipy.

ROC-AUC against sklearn.metrics.roc_auc_score, Spearman's rho against scipy.stats.spearmanr and
the KS statistic against scipy.stats.ks_2samp, on seeded data with many ties (counts, like the
features); PSI on a case worked by hand. Prints "ok" or fails with the case.
"""

import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "notebooks"))
import groupwatch_nb as gw  # noqa: E402

rng = np.random.default_rng(11)
for case in range(200):
    n = int(rng.integers(5, 400))
    x = rng.poisson(rng.uniform(0.2, 5), n).astype(float) if case % 2 else rng.normal(size=n)
    y = rng.random(n) < rng.uniform(0.05, 0.6)
    if y.all() or not y.any():
        assert math.isnan(gw.auc(x, y)), case
        continue
    a, b = gw.auc(x, y), roc_auc_score(y, x)
    assert abs(a - b) < 1e-12, (case, a, b)
    z = x + rng.poisson(1.0, n) * (case % 3)
    if np.std(x) > 0 and np.std(z) > 0:
        r, s = gw.spearman(x, z), stats.spearmanr(x, z).statistic
        assert abs(r - s) < 1e-12, (case, r, s)
    new = rng.poisson(rng.uniform(0.2, 5), int(rng.integers(5, 400))).astype(float)
    k, t = gw.ks(x, new), stats.ks_2samp(x, new).statistic
    assert abs(k - t) < 1e-12, (case, k, t)

assert math.isnan(gw.spearman(np.ones(10), np.arange(10.0)))
# PSI: old 0..9 cut at its median (two bins, 0.5 / 0.5); new puts 0.8 below, 0.2 above.
old, new = np.arange(10.0), np.array([0.0] * 8 + [9.0] * 2)
want = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
got = gw.psi(old, new, bins=2)
assert abs(got - want) < 1e-12, (got, want)
assert gw.psi(old, old) == 0.0
# A bin the new run leaves empty counts with the floor, not as -inf.
empty = gw.psi(old, np.zeros(10), bins=2)
want = (1 - 0.5) * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
assert abs(empty - want) < 1e-12, (empty, want)
print("ok")
