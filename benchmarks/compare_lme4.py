"""Agreement of KinshipMixedLM with lme4 on the seed study (the README's table).

Usage::

    python benchmarks/compare_lme4.py [SEED_DATA_DIR]   # default: $KINSHIP_SEED_DATA

Reads lme4's numbers from tests/results/lme4_seed.json (made by tests/results/lme4_seed.R)
and prints, for each design and method, the largest relative differences of theta, the
criterion, s_e^2, the fixed effects and their standard errors, and whether the same columns
are kept.
"""
import json
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd

from _common import blog_design, load_seed, seed_dir, snp_names
from statsmodels_kinship import KinshipMixedLM

RESULTS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "results"


def main(path):
    ref_all = json.loads((RESULTS / "lme4_seed.json").read_text())
    y, D, K = load_seed(path)
    n = len(y)
    names = ["Intercept"] + snp_names(D.shape[1])
    designs = {"blog": blog_design(D).to_numpy(), "correct": np.column_stack([np.ones(n), D])}
    print(f"{'design':8s} {'method':6s} {'kept':>9s} {'theta':>9s} {'criterion':>9s} "
          f"{'s_e^2':>9s} {'fixef':>9s} {'fixef/SE':>9s} {'SE':>9s}")
    for design, X in designs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = KinshipMixedLM(pd.Series(y, name="y"), pd.DataFrame(X, columns=names),
                                   kinship=K)
        for method in ("REML", "ML"):
            ref = ref_all[design][method]
            res = model.fit(reml=method == "REML")
            kept = list(res.params.index[~res.aliased.to_numpy()])
            fe, se = pd.Series(ref["fixef"])[kept], pd.Series(ref["se"])[kept]

            def rel(a, b):
                return np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b)))
            same = "same" if kept == ref["kept"] else "DIFFER"
            print(f"{design:8s} {method:6s} {len(kept):4d} {same:4s} "
                  f"{rel(res.theta, ref['theta']):9.1e} {rel(-2 * res.llf, ref['criterion']):9.1e} "
                  f"{rel(res.scale, ref['sigma2']):9.1e} {rel(res.params[kept], fe):9.1e} "
                  f"{np.max(np.abs(res.params[kept] - fe) / se):9.1e} "
                  f"{rel(res.bse[kept], se):9.1e}")


if __name__ == "__main__":
    main(seed_dir(sys.argv))
