"""Empirical coverage of the 95% intervals of conditional predictions (issue 11).

Usage::

    python benchmarks/coverage_prediction.py [--replicates R] [--families F] [--seed S]
                                             [--model {household,kinship,both}]

Each replicate simulates F families with the seed study's 12-member, 3-generation pedigree
(kinship ``K`` from ``kinship_from_pedigree``, three households per family from
``household_labels``) from the model itself, with known parameters::

    y = 1 + 0.3 x + 0.2 snp + g + h + e,   g ~ N(0, s_k^2 K),  h ~ N(0, s_h^2) per household,
                                           e ~ N(0, s_e^2),

``s_k^2 = 0.7`` (h2 = 0.35 with the kinship diagonal 1/2), ``s_h^2 = 0.15``, ``s_e^2 = 0.5``;
``x`` normal and ``snp`` binomial(2, 0.3), drawn anew in each replicate. One non-founder per
family is held out; the model (kinship + household, REML) is fitted on the other 11 people
of each family, with the kinship of all, and ``get_prediction`` of the held-out rows is
checked:

* the 95% observation interval (``obs_ci_*``) against the held-out phenotype ``y``
  (expected 94-96%);
* the 95% interval of the mean (``mean_ci_*``) against the true ``x'b + g + h``;
* the 95% interval of ``which="breeding_value"`` against the true ``g``.

The single-kinship variant (``--model kinship``) simulates and fits without households
(``s_h^2 = 0``; the spectral path) and checks the same intervals (the mean is ``x'b + g``).

Coverage is printed with its binomial standard error over all R x F predictions and, since the
predictions of one replicate share the estimates, the standard error from the spread of the
per-replicate coverages. The intervals use the estimated variance components as if known,
so a shortfall of a few tenths of a percent is expected with few families. Defaults (500
replicates of 100 families, 1,200 people, both models: 50,000 predictions per model) run in
about a minute on a 2-core machine.
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

import statsmodels_kinship as smk
from statsmodels_kinship.simulate import household_labels, replicate_pedigree, seed_pedigree

BETA = np.array([1.0, 0.3, 0.2])
S_K2, S_H2, S_E2 = 0.7, 0.15, 0.5
BAND = (94.0, 96.0)


class Design:
    """What every replicate shares: pedigree kinship, households, the held-out candidates."""

    def __init__(self, n_families):
        ped = replicate_pedigree(seed_pedigree(), n_families)
        self.kinship = smk.kinship_from_pedigree(ped)
        self.ids = self.kinship.index.to_numpy()
        hh = household_labels(ped).reindex(self.kinship.index)
        self.household = hh.to_numpy()
        self.hh_code, levels = pd.factorize(self.household)
        self.n_households = len(levels)
        self.chol = np.linalg.cholesky(self.kinship.to_numpy())
        # one non-founder of each family is held out
        ped = ped.set_index("individual").reindex(self.kinship.index)
        self.family = ped["family"].to_numpy()
        self.nonfounder = (ped["father"] != "0").to_numpy()
        self.n = len(self.ids)


def simulate(design, households, rng):
    """One data set: (exog, y, true mean x'b + g + h, true g, held-out mask)."""
    n = design.n
    exog = np.column_stack([np.ones(n), rng.normal(size=n),
                            rng.binomial(2, 0.3, size=n).astype(float)])
    g = np.sqrt(S_K2) * design.chol @ rng.normal(size=n)
    h = (np.sqrt(S_H2) * rng.normal(size=design.n_households)[design.hh_code] if households
         else np.zeros(n))
    mean = exog @ BETA + g + h
    y = mean + np.sqrt(S_E2) * rng.normal(size=n)
    held = np.zeros(n, dtype=bool)
    keys = rng.random(n) + ~design.nonfounder  # founders sort last
    order = np.lexsort((keys, design.family))
    first = np.r_[True, design.family[order][1:] != design.family[order][:-1]]
    held[order[first]] = True
    return exog, y, mean, g, held


def covered(lower, upper, truth):
    return (np.asarray(lower) <= truth) & (truth <= np.asarray(upper))


def run(design, households, replicates, rng, label):
    counts = {"obs": [], "mean": [], "breeding value": []}
    failed, est = 0, []
    start = time.perf_counter()
    for _ in range(replicates):
        exog, y, mean, g, held = simulate(design, households, rng)
        fit, new = ~held, held
        kwargs = {"exog_vc": {"household": design.household[fit]}} if households else {}
        try:
            res = smk.KinshipMixedLM(y[fit], exog[fit], kinship=design.kinship,
                                     individual=design.ids[fit], **kwargs).fit()
        except Exception:  # counted and reported, never silently dropped from the rates
            failed += 1
            continue
        est.append(res.vcomp.to_numpy())
        new_vc = {"exog_vc": {"household": design.household[new]}} if households else {}
        sf = res.get_prediction(exog[new], individual=design.ids[new], **new_vc).summary_frame()
        bv = res.get_prediction(which="breeding_value", individual=design.ids[new],
                                component="kinship").summary_frame()
        counts["obs"].append(covered(sf["obs_ci_lower"], sf["obs_ci_upper"], y[new]))
        counts["mean"].append(covered(sf["mean_ci_lower"], sf["mean_ci_upper"], mean[new]))
        counts["breeding value"].append(covered(bv["mean_ci_lower"], bv["mean_ci_upper"],
                                                g[new]))
    elapsed = time.perf_counter() - start
    done = replicates - failed
    truth = [S_K2, S_H2, S_E2] if households else [S_K2, S_E2]
    mean_est = np.mean(est, axis=0)
    print(f"\n{label}: {done} replicates of {design.n} people ({len(counts['obs'][0])} "
          f"held out each), {elapsed:.0f} s; failed fits: {failed}")
    print("   mean estimates " + ", ".join(f"{v:.3f} (true {t})"
                                           for v, t in zip(mean_est, truth)))
    print(f"   {'95% interval':32s} {'coverage':>8s} {'binom. SE':>9s} {'repl. SE':>8s}")
    out = {}
    what = {"obs": "observation  vs y", "mean": "mean         vs x'b + u",
            "breeding value": "breeding val vs g"}
    for name, hits in counts.items():
        hits = np.array(hits, dtype=float)
        rate = 100 * hits.mean()
        se_binom = 100 * np.sqrt(hits.mean() * (1 - hits.mean()) / hits.size)
        se_rep = 100 * hits.mean(axis=1).std(ddof=1) / np.sqrt(len(hits))
        band = ""
        if name == "obs":
            inside = BAND[0] <= rate <= BAND[1]
            band = f"   band {BAND[0]:.0f}-{BAND[1]:.0f}%: {'inside' if inside else 'OUTSIDE'}"
        print(f"   {what[name]:32s} {rate:7.2f}% {se_binom:8.2f}% {se_rep:7.2f}%{band}")
        out[name] = rate
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--families", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--model", choices=("household", "kinship", "both"), default="both")
    args = parser.parse_args(argv)
    if args.replicates < 2 or args.families < 2:
        raise SystemExit("--replicates and --families must be at least 2")
    warnings.simplefilter("ignore")
    design = Design(args.families)
    print(f"{args.families} families of 12 (seed pedigree), n = {design.n}; true s_k^2 = "
          f"{S_K2}, s_h^2 = {S_H2}, s_e^2 = {S_E2}, beta = {BETA.tolist()}; seed {args.seed}")
    rngs = np.random.default_rng(args.seed).spawn(2)
    if args.model in ("household", "both"):
        run(design, True, args.replicates, rngs[0], "kinship + household")
    if args.model in ("kinship", "both"):
        run(design, False, args.replicates, rngs[1], "single kinship")


if __name__ == "__main__":
    main()
