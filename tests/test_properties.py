r"""Property tests (hypothesis) of what the likelihood guarantees (issue 9, item 1).

Each test draws a study (a kinship from a random pedigree or a dense genomic relationship
matrix, a design with an intercept and 1-3 covariates, a trait with a real kinship signal),
transforms it in a way the model is known to be invariant or equivariant to, refits, and
compares with the fit of the untransformed study to 1e-6:

* ``y + c 1`` (c up to 1e8 sd(y)): under REML and ML with an intercept the residual
  contrasts, hence the variance components, the log-likelihood, the standard errors and
  every coefficient but the intercept (which moves by c) are unchanged.
* ``K + c 11'``: with 1 in the span of X, ``V = V_0 + s_k^2 c 11'`` only moves along the
  columns of X, so (i) REML uses contrasts A'y with A'1 = 0 and A' V A = A' V_0 A: the REML
  criterion (which omits log|X'X| only) is the same function of (s_k^2, s_e^2), hence the
  same vcomp, delta and llf; (ii) for ``V = V_0 + X G X'`` the GLS estimator is the same
  (Rao 1967), hence the same params, and ``(X'V^-1X)^-1 = (X'V_0^-1X)^-1 + G``, so every
  standard error is the same except the intercept's, ``bse_0^2 + s_k^2 c``; (iii) the BLUP
  ``s_k^2 (K + c11') V^-1 r`` is unchanged because ``1' V_0^-1 r = 0`` (GLS normal equations),
  so are the fitted values; (iv) h2 is *not* invariant: m becomes m + c, and h2 must be
  ``s_k^2 (m + c) / (s_k^2 (m + c) + s_e^2)`` of the untransformed fit. ML is not
  invariant (its log|V| sees c) and is not tested.
* ``s K`` (s from 1e-12 to 1e12): the same family of covariances, so s_k^2 / s, the same
  s_e^2, llf, params, bse, BLUPs and h2 (whose m scales by s).
* a permutation of the individuals (rows of y and X, rows and columns of K).
* ``a y`` (|a| from 1e-6 to 1e6, either sign): params and BLUPs times a, bse times |a|,
  vcomp times a^2, the same delta and h2, llf minus ``dof log|a|`` (dof = n - p under REML,
  n under ML: the density of a y is that of y divided by |a|^dof on the contrasts).
* the same for the scan (p-values and statistics invariant, beta equivariant) and for the
  parametric bootstrap (the same seed gives replicates of y + c that are those of y plus c,
  hence the same replicate variance components).

Tolerances (all 1e-6): relative for positive quantities (variance components, standard
errors, test statistics above 1); absolute for h2 and p-values (bounded, and relative
error means nothing near 0 or 1); coefficients to 1e-6 of their standard error (a
coefficient near zero has no meaningful relative error, and its standard error is the
scale on which an estimate can be judged, the rule of ``tests/test_seed_reference.py``);
log-likelihoods absolute (they enter tests by differences: 1e-6 in llf moves an LR p-value
by less than 1e-6); BLUPs and fitted values to 1e-6 of sd(y).

Boundaries: delta = 0 is exact, and both fits must report it; an optimum at s_e^2 = 0
(h2 = 1) is reported where the search for delta stopped: a variance component below 1e-5 of
the phenotypic variance is compared absolutely, to 1e-6 of the phenotypic variance, and the
ratio delta is then not compared (``assert_vcomp``).
Excluded (``assume``), with the reason at the place: ML fits whose likelihood has no
maximum (``_interior``), designs not of full rank.

The studies are built so that the transformed data are *exact* in floating point where it
matters: y is rounded to a multiple of 2^-20 and c to a multiple of 2^-20, so y + c (below
2^32 in magnitude) is exactly representable and differs from y only by c; a discrepancy
is then the fit's, not the input's rounding.

A failure reports the first failing example as ``make_study(...)`` arguments (rebuild it
with :func:`make_study`); ``HYPOTHESIS_SHRINK=1`` shrinks it first (minutes).
"""
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

import statsmodels_kinship as smk
from statsmodels_kinship.kinship import kinship_from_pedigree
from statsmodels_kinship.simulate import replicate_pedigree, seed_pedigree

RTOL = 1e-6
BOUNDARY = 1e-5  # a variance component below this share of the total is at its boundary
QUANTUM = 2.0 ** -20  # y and offsets are multiples of this: y + c is exact

# derandomize: the same examples on every run (CI is deterministic); deadline=None: a fit's
# time varies with the machine's load; max_examples (per test) keeps the file in about 15 s.
# Shrinking a failure to a minimal example can take minutes (each example is a few fits),
# so it is off unless HYPOTHESIS_SHRINK=1 is set: a failure reports the first failing example.
_PHASES = tuple(Phase) if os.environ.get("HYPOTHESIS_SHRINK") == "1" else \
    (Phase.explicit, Phase.reuse, Phase.generate)
PROPERTY = settings(deadline=None, derandomize=True, database=None, phases=_PHASES,
                    print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """The matrices here are at most a few hundred wide: threaded BLAS only adds thread
    wake-ups (five times slower on two busy cores)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ---------------------------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------------------------

_PEDIGREE_COLUMNS = ["family", "individual", "father", "mother"]


def _random_family(rng):
    """One family: two founders, 1 to 4 children; each child, with probability 1/2, has a
    married-in spouse and 1 to 3 children of their own (three generations)."""
    rows = [(1, 0, 0, 1), (2, 0, 0, 2)]
    nxt = 3
    for _ in range(rng.integers(1, 5)):
        child, sex = nxt, int(rng.integers(1, 3))
        rows.append((child, 1, 2, sex))
        nxt += 1
        if rng.random() < 0.5:
            spouse = nxt
            rows.append((spouse, 0, 0, 3 - sex))
            nxt += 1
            father, mother = (child, spouse) if sex == 1 else (spouse, child)
            for _ in range(rng.integers(1, 4)):
                rows.append((nxt, father, mother, int(rng.integers(1, 3))))
                nxt += 1
    return pd.DataFrame(rows, columns=["individual", "father", "mother", "sex"])


def _pedigree_kinship(rng, target_n):
    """Kinship coefficients of a random pedigree of about ``target_n`` people: copies of the
    seed study's 12-member pedigree, of random three-generation families and of unrelated
    singletons (copies of one template give tied eigenvalues, as in real family studies)."""
    parts, n = [], 0
    while n < target_n:
        r = rng.random()
        if r < 0.3:
            template = seed_pedigree()
        elif r < 0.4:
            template = pd.DataFrame({"individual": [1], "father": [0], "mother": [0],
                                     "sex": [1]})
        else:
            template = _random_family(rng)
        ped = replicate_pedigree(template, int(rng.integers(1, 5)))
        for col in _PEDIGREE_COLUMNS:  # IDs unique across templates
            ped[col] = ped[col].where(ped[col] == "0", f"T{len(parts)}" + ped[col])
        parts.append(ped)
        n += len(ped)
    return kinship_from_pedigree(pd.concat(parts, ignore_index=True)).to_numpy()


def _genotypes(rng, n, m, structured=False):
    """Allele counts (n, m), polymorphic; with ``structured`` two subpopulations whose
    allele frequencies differ (a GRM with a large top eigenvalue)."""
    freq = rng.uniform(0.05, 0.5, m)
    if structured:
        pop = rng.integers(0, 2, n)
        freq = np.clip(freq + rng.normal(0, 0.15, (2, m)), 0.02, 0.98)[pop]
    g = rng.binomial(2, freq, size=(n, m)).astype(float)
    return g[:, g.std(axis=0) > 0]


class Study:
    """y (n,), X (n, p) with the intercept first, K (n, n), genotypes to scan (n, <= 8).

    Made by :func:`make_study` from its arguments, which the repr shows (with a summary of
    K), so that a failing example can be rebuilt: ``make_study(**study.args)``."""

    def __init__(self, args, y, X, K, snps):
        self.args, self.y, self.X, self.K, self.snps = args, y, X, K, snps

    def __repr__(self):
        lam = np.linalg.eigvalsh(self.K)
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return (f"make_study({args})  # n={len(self.y)}, p={self.X.shape[1]}, mean diag K="
                f"{np.diag(self.K).mean():.4g}, lam_max={lam[-1]:.4g}, distinct eigenvalues="
                f"{len(np.unique(np.round(lam, 10)))}")


def make_study(kind, seed, n_target, h2, n_cov, snp_ratio):
    """A study: ``kind`` 'pedigree' (kinship coefficients of a random pedigree of about
    ``n_target`` people), 'grm' or 'structured grm' (a GRM of ``snp_ratio * n_target``
    SNPs, from one population or two); ``n_cov`` covariates besides the intercept; a trait
    with heritability ``h2`` (phenotypic variance 1 before the fixed effects), an intercept
    up to 100 in magnitude and an effect of the first SNP to scan."""
    args = dict(kind=kind, seed=seed, n_target=n_target, h2=h2, n_cov=n_cov,
                snp_ratio=snp_ratio)
    rng = np.random.default_rng(seed)
    if kind == "pedigree":
        K = _pedigree_kinship(rng, n_target)
        n = K.shape[0]
        order = rng.permutation(n)  # families not contiguous, as in real data
        K = K[np.ix_(order, order)]
    else:
        n = n_target
        # fewer SNPs than people (singular GRM) or more
        K = smk.genomic_relationship_matrix(
            _genotypes(rng, n, int(n * snp_ratio), kind == "structured grm"))
    covariates = []
    for _ in range(n_cov):
        if rng.random() < 0.3:  # a 0/1 covariate (sex)
            covariates.append(rng.integers(0, 2, n).astype(float))
        else:  # a measured one on its own scale (age, dose)
            covariates.append(rng.normal(rng.uniform(-50, 50), rng.uniform(0.1, 20), n))
    X = np.column_stack([np.ones(n)] + covariates)
    snps = _genotypes(rng, n, 8)
    # g ~ N(0, s_k^2 K), s_k^2 m / (s_k^2 m + s_e^2) = h2, phenotypic variance 1
    lam, vecs = np.linalg.eigh(K)
    m = np.diag(K).mean()
    g = vecs @ (np.sqrt(np.clip(lam, 0, None) * h2 / m) * rng.standard_normal(n))
    e = rng.normal(0, np.sqrt(1 - h2), n)
    beta = np.r_[rng.uniform(-100, 100), rng.normal(0, 0.3, n_cov) / X[:, 1:].std(axis=0)]
    y = X @ beta + g + e + 0.3 * (snps[:, 0] - snps[:, 0].mean())
    y = np.round(y / QUANTUM) * QUANTUM
    return Study(args, y, X, K, snps)


@st.composite
def studies(draw, max_n=120):
    study = make_study(kind=draw(st.sampled_from(["pedigree", "grm", "structured grm"])),
                       seed=draw(st.integers(0, 2 ** 32 - 1)),
                       n_target=draw(st.integers(30, max_n)),
                       h2=draw(st.floats(0.2, 0.9)),
                       n_cov=draw(st.integers(1, 3)),
                       snp_ratio=draw(st.sampled_from([0.5, 3.0])))
    # a design of full rank (a 0/1 covariate constant in 30 people is possible), SNPs to scan
    assume(np.linalg.matrix_rank(study.X) == study.X.shape[1])
    assume(study.snps.shape[1] >= 2)
    return study


def _fit(y, X, K, reml=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are other tests' business
        return smk.KinshipMixedLM(y, X, K).fit(reml=reml)


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------

def assert_close(actual, desired, what, rtol=0.0, atol=0.0):
    """``|actual - desired| <= atol + rtol |desired|`` elementwise (NaN only where NaN);
    the message gives the largest violation as a multiple of the tolerance."""
    actual = np.asarray(actual, dtype=float)
    desired = np.asarray(desired, dtype=float)
    assert actual.shape == desired.shape, f"{what}: shapes {actual.shape} {desired.shape}"
    nan = np.isnan(desired)
    assert np.array_equal(np.isnan(actual), nan), f"{what}: NaN in {actual} vs {desired}"
    with np.errstate(invalid="ignore"):  # inf - inf: a violation, reported below
        diff = np.abs(actual - desired)[~nan]
    diff[np.isnan(diff)] = np.inf
    tol = np.broadcast_to(atol + rtol * np.abs(desired), desired.shape)[~nan]
    if not np.all(diff <= tol):
        k = int(np.argmax(diff - tol))
        raise AssertionError(
            f"{what}: |difference| {diff[k]:.3g} exceeds the tolerance {tol[k]:.3g} "
            f"(actual {actual[~nan][k]!r}, desired {desired[~nan][k]!r}, "
            f"relative {diff[k] / max(abs(desired[~nan][k]), 1e-300):.3g})")


def _boundary(vcomp, m):
    """Whether ``(s_k^2 m, s_e^2)`` are below BOUNDARY of the phenotypic variance."""
    s_k2, s_e2 = np.asarray(vcomp, dtype=float)
    v_p = s_k2 * m + s_e2
    return np.array([s_k2 * m <= BOUNDARY * v_p, s_e2 <= BOUNDARY * v_p])


def assert_vcomp(res, ref, vcomp):
    """Variance components to 1e-6 relative, except at a boundary of the parameter space.
    There a component is zero, and only where the search stopped tells it from zero:
    delta = 0 is exact (both fits must report it), but s_e^2 = 0 (h2 = 1) is reported
    where the search for delta ends (by design at a multiple of 1 / the typical eigenvalue
    of K, which e.g. K + c 11' moves). A component below BOUNDARY (1e-5) of the phenotypic
    variance s_k^2 m + s_e^2 is therefore compared absolutely, to 1e-6 of it (the precision
    h2 is held to), which also makes the other fit's component that small."""
    assert res.converged == ref.converged, f"converged {res.converged} != {ref.converged}"
    assert (res.delta == 0) == (ref.delta == 0), f"delta {res.delta} vs {ref.delta}"
    vcomp = np.asarray(vcomp, dtype=float)
    m = res.model.mean_kinship_diagonal
    v_p = vcomp[0] * m + vcomp[1]
    atol = np.where(_boundary(vcomp, m), RTOL * v_p / np.array([m, 1.0]), 0.0)
    assert_close(res.vcomp, vcomp, "vcomp", rtol=RTOL, atol=atol)


def _residual_boundary(res):
    return bool(_boundary(res.vcomp, res.model.mean_kinship_diagonal)[1])


def assert_fit(res, ref, *, params=None, params_atol=0.0, bse=None, vcomp=None, h2=None,
               llf=None, blup=None):
    """Compare the fit ``res`` of transformed data with what the invariance predicts from
    the fit ``ref`` of the original data; each prediction defaults to ``ref``'s own value."""
    bse = ref.bse if bse is None else bse
    assert_vcomp(res, ref, ref.vcomp if vcomp is None else vcomp)
    assert_close(res.h2, ref.h2 if h2 is None else h2, "h2", atol=RTOL)
    assert_close(res.llf, ref.llf if llf is None else llf, "llf", atol=RTOL)
    assert_close(res.params, ref.params if params is None else params, "params",
                 atol=RTOL * bse + params_atol)
    assert_close(res.bse, bse, "bse", rtol=RTOL)
    blup = ref.random_effects if blup is None else blup
    assert_close(res.random_effects, blup, "random_effects",
                 atol=RTOL * np.std(res.model.endog))


def exponents(lo, hi):
    """Powers of ten from ``lo`` to ``hi``, the ends often: the extremes are where numerics
    break (absolute tolerances, search ranges), and a handful of examples must reach them."""
    return st.one_of(st.sampled_from([float(lo), float(hi)]), st.floats(lo, hi))


def _offset(sd, log10_mult, sign):
    """``sign 10^log10_mult sd`` rounded to a multiple of QUANTUM (so that y + c is exact)."""
    return sign * float(np.round(10.0 ** log10_mult * sd / QUANTUM) * QUANTUM)


def _interior(ref):
    """ML with a kinship whose null space is spanned by columns of X (a GRM of standardized
    genotypes has K 1 = 0) has no maximum: s_e^2 -> 0 along 1 sends the likelihood to
    infinity, and the fit stops where its search ends, which is no estimate to compare (its
    llf grows without bound). REML (whose contrasts remove 1; its likelihood is bounded, an
    optimum at s_e^2 = 0 is compared by :func:`assert_vcomp`) and pedigree kinships are not
    affected. ML fits at s_e^2 = 0 are left out as possibly unbounded."""
    return ref.reml or (ref.converged and not _residual_boundary(ref))


# ---------------------------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------------------------

@settings(PROPERTY, max_examples=25)
@given(study=studies(), log10_mult=exponents(-2, 8), sign=st.sampled_from([1, -1]),
       reml=st.booleans())
def test_fit_invariant_to_offset_in_y(study, log10_mult, sign, reml):
    """y + c: the same fit, the intercept moved by c (REML and ML, with an intercept)."""
    c = _offset(study.y.std(), log10_mult, sign)
    assert np.array_equal((study.y + c) - c, study.y)  # the transformed input is exact
    ref = _fit(study.y, study.X, study.K, reml)
    assume(_interior(ref))
    res = _fit(study.y + c, study.X, study.K, reml)
    params = ref.params.copy()
    params[0] += c
    # the intercept of y + c is about c: a few ulp of c of its own rounding are allowed
    # (at c = 1e8 sd(y), 6e-8 sd(y), well below 1e-6 of its standard error)
    params_atol = np.r_[4 * np.spacing(abs(c)), np.zeros(len(params) - 1)]
    assert_fit(res, ref, params=params, params_atol=params_atol)


@settings(PROPERTY, max_examples=25)
@given(study=studies(), log10_mult=exponents(-3, 3))
def test_reml_invariant_to_constant_added_to_kinship(study, log10_mult):
    """K + c 11' (c from 1e-3 to 1e3 times mean diag K), REML with an intercept: the same
    s_k^2, s_e^2, llf, params, BLUPs and fitted values; the intercept's variance grows by
    s_k^2 c; h2 is that of the same components with m + c (see the module docstring)."""
    m = np.diag(study.K).mean()
    c = 10.0 ** log10_mult * m
    ref = _fit(study.y, study.X, study.K)
    res = _fit(study.y, study.X, study.K + c)
    s_k2, s_e2 = ref.vcomp
    bse = ref.bse.copy()
    bse[0] = np.sqrt(bse[0] ** 2 + s_k2 * c)
    h2 = s_k2 * (m + c) / (s_k2 * (m + c) + s_e2)
    assert_fit(res, ref, bse=bse, h2=h2)
    assert_close(res.fittedvalues, ref.fittedvalues, "fittedvalues",
                 atol=RTOL * study.y.std())


@settings(PROPERTY, max_examples=25)
@given(study=studies(), log10_s=exponents(-12, 12), reml=st.booleans())
def test_h2_invariant_to_scale_of_kinship(study, log10_s, reml):
    """s K: h2, s_e^2, llf, params, bse and BLUPs unchanged, s_k^2 divided by s."""
    s = 10.0 ** log10_s
    ref = _fit(study.y, study.X, study.K, reml)
    assume(_interior(ref))
    res = _fit(study.y, study.X, study.K * s, reml)
    assert_fit(res, ref, vcomp=ref.vcomp.to_numpy() / [s, 1.0])
    if not _residual_boundary(ref):  # else delta is where the search stopped
        assert_close(res.delta, ref.delta / s, "delta", rtol=RTOL)


@settings(PROPERTY, max_examples=20)
@given(study=studies(), perm_seed=st.integers(0, 2 ** 32 - 1), reml=st.booleans())
def test_fit_invariant_to_row_order(study, perm_seed, reml):
    """Individuals in another order (y, X rows; K rows and columns): the same fit, the
    BLUPs and fitted values permuted alike."""
    perm = np.random.default_rng(perm_seed).permutation(len(study.y))
    ref = _fit(study.y, study.X, study.K, reml)
    assume(_interior(ref))
    res = _fit(study.y[perm], study.X[perm], study.K[np.ix_(perm, perm)], reml)
    assert_fit(res, ref, blup=ref.random_effects[perm])
    assert_close(res.fittedvalues, ref.fittedvalues[perm], "fittedvalues",
                 atol=RTOL * study.y.std())


@settings(PROPERTY, max_examples=12)
@given(study=studies(), perm_seed=st.integers(0, 2 ** 32 - 1))
def test_labelled_kinship_aligned_to_data_in_another_order(study, perm_seed):
    """A labelled kinship in one order and labelled data in another: aligned by label, the
    fit of the data in K's order."""
    n = len(study.y)
    ids = pd.Index([f"id{i}" for i in range(n)])
    perm = np.random.default_rng(perm_seed).permutation(n)
    K = pd.DataFrame(study.K, index=ids, columns=ids)
    y = pd.Series(study.y, index=ids, name="y").iloc[perm]
    X = pd.DataFrame(study.X, index=ids,
                     columns=[f"x{j}" for j in range(study.X.shape[1])]).iloc[perm]
    ref = _fit(study.y, study.X, study.K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = smk.KinshipMixedLM(y, X, K).fit()
    assert_vcomp(res, ref, ref.vcomp)
    assert_close(res.llf, ref.llf, "llf", atol=RTOL)
    assert_close(res.params, ref.params, "params", atol=RTOL * ref.bse)
    assert_close(res.bse, ref.bse, "bse", rtol=RTOL)
    assert_close(pd.Series(res.random_effects, index=y.index).reindex(ids),
                 ref.random_effects, "random_effects", atol=RTOL * study.y.std())


@settings(PROPERTY, max_examples=25)
@given(study=studies(), log10_a=exponents(-6, 6), sign=st.sampled_from([1, -1]),
       reml=st.booleans())
def test_fit_equivariant_to_scale_of_y(study, log10_a, sign, reml):
    """a y: params and BLUPs times a, bse times |a|, vcomp times a^2, h2 and delta
    unchanged, llf minus dof log|a| (dof = n - p under REML, n under ML)."""
    a = sign * 10.0 ** log10_a
    ref = _fit(study.y, study.X, study.K, reml)
    assume(_interior(ref))
    res = _fit(study.y * a, study.X, study.K, reml)
    n, p = study.X.shape
    dof = n - p if reml else n
    assert_fit(res, ref, params=ref.params * a, bse=ref.bse * abs(a),
               vcomp=ref.vcomp.to_numpy() * a ** 2, llf=ref.llf - dof * np.log(abs(a)),
               blup=ref.random_effects * a)
    if not _residual_boundary(ref):  # else delta is where the search stopped
        assert_close(res.delta, ref.delta, "delta", rtol=RTOL)


# ---------------------------------------------------------------------------------------------
# The scan
# ---------------------------------------------------------------------------------------------

_STATISTICS = ["stat_wald", "stat_lrt", "stat_score"]
_PVALUES = ["p_wald", "p_lrt", "p_score"]
_ML_DEPENDENT = ["stat_lrt", "stat_score", "p_lrt", "p_score", "delta_ml", "llf_ml"]


def _scan(results, snps, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = results.scan(snps, method=method)
    frame.attrs["test_null_converged"] = results.converged
    frame.attrs["test_null_boundary"] = _residual_boundary(results)
    frame.attrs["test_mean_diagonal"] = results.model.mean_kinship_diagonal
    return frame


def assert_scan(frame, ref, method, *, beta_factor=1.0, delta_factor=1.0, llf_shift=0.0,
                columns=None):
    """Compare a scan of transformed data with the prediction from the scan ``ref``:
    ``beta`` times ``beta_factor`` (to 1e-6 of its se), ``se`` times ``|beta_factor|``,
    statistics and p-values unchanged, ratios times ``delta_factor``, ``llf_ml`` plus
    ``llf_shift``. Under 'exact', columns that depend on the ML fits, and the REML ratio,
    are compared only for SNPs flagged 'ok' in ``ref`` (for the others the ML or REML
    search stopped at its end, see :func:`_interior` and :func:`assert_vcomp`); under
    'fixed' the ratio (the null model's) only when the null fit is not at s_e^2 = 0, and
    under 'exact' the ratios only where they are not at s_e^2 = 0 (h2 below 1 - 1e-5): there
    a ratio is where the search stopped (see :func:`assert_vcomp`). ``columns`` restricts the
    comparison."""
    null_converged = ref.attrs["test_null_converged"]
    assert frame.attrs["test_null_converged"] == null_converged, "null fits: converged differs"
    wanted = set(_STATISTICS + _PVALUES + ["beta", "se", "delta", "llf_ml"]
                 + (["delta_ml"] if method == "exact" else []))
    if columns is not None:
        wanted &= set(columns)
    flags, ref_flags = list(frame["flag"]), list(ref["flag"])
    if method == "exact" and not wanted & set(_ML_DEPENDENT):
        # 'not_converged' may come from the ML fits, which are not compared
        flags, ref_flags = ([f.replace("not_converged", "ok") for f in x]
                            for x in (flags, ref_flags))
    assert flags == ref_flags, f"flags differ: {flags} != {ref_flags}"
    ok = (ref["flag"] == "ok").to_numpy() if method == "exact" else \
        np.ones(len(ref), dtype=bool)
    tested = ref["beta"].notna().to_numpy()

    if method == "fixed" and ref.attrs["test_null_boundary"]:
        wanted.discard("delta")
    interior = {name: (ref[name] * ref.attrs["test_mean_diagonal"] < 1 / BOUNDARY).to_numpy()
                for name in ["delta", "delta_ml"]}

    def rows(name):
        r = ok if name in _ML_DEPENDENT else tested
        return r & interior[name] if name in interior and method == "exact" else r

    if "beta" in wanted:
        assert_close(frame["beta"][tested], ref["beta"][tested] * beta_factor, "beta",
                     atol=RTOL * ref["se"][tested] * abs(beta_factor))
    if "se" in wanted:
        assert_close(frame["se"][tested], ref["se"][tested] * abs(beta_factor), "se",
                     rtol=RTOL)
    for name in _STATISTICS:  # relative above 1, absolute below (chi2(1) scale)
        if name in wanted:
            r = rows(name)
            assert_close(frame[name][r], ref[name][r], name, rtol=RTOL, atol=RTOL)
    for name in _PVALUES:
        if name in wanted:
            r = rows(name)
            assert_close(frame[name][r], ref[name][r], name, atol=RTOL)
    for name in ["delta", "delta_ml"]:
        if name in wanted:
            r = rows(name)
            assert_close(frame[name][r], ref[name][r] * delta_factor, name, rtol=RTOL)
    if "llf_ml" in wanted:
        r = rows("llf_ml")
        assert_close(frame["llf_ml"][r], ref["llf_ml"][r] + llf_shift, "llf_ml", atol=RTOL)


_METHODS = st.sampled_from(["exact", "fixed"])


@settings(PROPERTY, max_examples=15)
@given(study=studies(), log10_mult=exponents(-2, 8), sign=st.sampled_from([1, -1]),
       method=_METHODS)
def test_scan_invariant_to_offset_in_y(study, log10_mult, sign, method):
    """y + c: every column of the scan unchanged (REML and ML, with an intercept)."""
    c = _offset(study.y.std(), log10_mult, sign)
    ref = _scan(_fit(study.y, study.X, study.K), study.snps, method)
    frame = _scan(_fit(study.y + c, study.X, study.K), study.snps, method)
    assert_scan(frame, ref, method)


@settings(PROPERTY, max_examples=15)
@given(study=studies(), log10_a=exponents(-6, 6), sign=st.sampled_from([1, -1]),
       method=_METHODS)
def test_scan_equivariant_to_scale_of_y(study, log10_a, sign, method):
    """a y: beta times a, se times |a|, tests and ratios unchanged, llf_ml minus n log|a|."""
    a = sign * 10.0 ** log10_a
    ref = _scan(_fit(study.y, study.X, study.K), study.snps, method)
    frame = _scan(_fit(study.y * a, study.X, study.K), study.snps, method)
    assert_scan(frame, ref, method, beta_factor=a, llf_shift=-len(study.y) * np.log(abs(a)))


@settings(PROPERTY, max_examples=15)
@given(study=studies(), log10_s=exponents(-12, 12), method=_METHODS)
def test_scan_invariant_to_scale_of_kinship(study, log10_s, method):
    """s K: ratios divided by s, everything else unchanged."""
    s = 10.0 ** log10_s
    ref = _scan(_fit(study.y, study.X, study.K), study.snps, method)
    frame = _scan(_fit(study.y, study.X, study.K * s), study.snps, method)
    # ML log-likelihoods see s only through s_k^2 s: unchanged
    assert_scan(frame, ref, method, delta_factor=1 / s)


@settings(PROPERTY, max_examples=15)
@given(study=studies(), perm_seed=st.integers(0, 2 ** 32 - 1), method=_METHODS)
def test_scan_invariant_to_row_order(study, perm_seed, method):
    """Individuals (and their genotypes) in another order: the same scan."""
    perm = np.random.default_rng(perm_seed).permutation(len(study.y))
    ref = _scan(_fit(study.y, study.X, study.K), study.snps, method)
    null = _fit(study.y[perm], study.X[perm], study.K[np.ix_(perm, perm)])
    assert_scan(_scan(null, study.snps[perm], method), ref, method)


@settings(PROPERTY, max_examples=15)
@given(study=studies(), log10_mult=exponents(-3, 3), method=_METHODS)
def test_scan_wald_invariant_to_constant_added_to_kinship(study, log10_mult, method):
    """K + c 11': the REML parts (beta, se, Wald test, REML ratio) are invariant, and under
    'fixed' also the likelihood-ratio and score tests (both at the invariant REML ratio of
    the null model, where the weighted residual sums of squares are invariant); the ML fits
    of 'exact' and the ML log-likelihood are not (their log|V| sees c)."""
    c = 10.0 ** log10_mult * np.diag(study.K).mean()
    ref = _scan(_fit(study.y, study.X, study.K), study.snps, method)
    frame = _scan(_fit(study.y, study.X, study.K + c), study.snps, method)
    columns = ["beta", "se", "stat_wald", "p_wald", "delta"]
    if method == "fixed":
        columns += ["stat_lrt", "p_lrt", "stat_score", "p_score"]
    assert_scan(frame, ref, method, columns=columns)


# ---------------------------------------------------------------------------------------------
# The bootstrap
# ---------------------------------------------------------------------------------------------
# With the same seed, the replicates of a fit of y + c are those of y plus c (the same
# decomposition of the same K, the same draws z; only X b moves, by c 1), and those of a y
# (a > 0) are a times those of y. Transformations of K change its eigenvectors (arbitrary
# within tied eigenvalues, signs), hence the draws for the same seed: there the bootstrap is
# invariant only in distribution, which a 1e-6 test cannot check.

def _bootstrap(results, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return results.bootstrap(nsim=20, seed=seed, progress=False)


def assert_replicates(boot, ref, *, params, params_atol=0.0, vcomp_factor=1.0,
                      bse_factor=1.0, llf_shift=0.0):
    assert np.array_equal(boot.converged, ref.converged), (
        f"replicates not converged: {np.flatnonzero(~boot.converged.to_numpy())} vs "
        f"{np.flatnonzero(~ref.converged.to_numpy())}")
    assert_close(boot.vcomp, ref.vcomp * vcomp_factor, "replicate vcomp", rtol=RTOL)
    assert_close(boot.h2, ref.h2, "replicate h2", atol=RTOL)
    assert_close(boot.delta, ref.delta, "replicate delta", rtol=RTOL)
    assert_close(boot.llf, ref.llf + llf_shift, "replicate llf", atol=RTOL)
    bse = ref.bse.to_numpy() * bse_factor
    assert_close(boot.params, params, "replicate params", atol=RTOL * bse + params_atol)
    assert_close(boot.bse, bse, "replicate bse", rtol=RTOL)


@settings(PROPERTY, max_examples=12)
@given(study=studies(), log10_mult=exponents(-2, 8), sign=st.sampled_from([1, -1]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_bootstrap_invariant_to_offset_in_y(study, log10_mult, sign, seed):
    """y + c, the same seed: the same replicate vcomp, h2, delta, llf and bse; replicate
    intercepts moved by c."""
    c = _offset(study.y.std(), log10_mult, sign)
    ref = _bootstrap(_fit(study.y, study.X, study.K), seed)
    boot = _bootstrap(_fit(study.y + c, study.X, study.K), seed)
    params = ref.params.to_numpy().copy()
    params[:, 0] += c
    # replicates of y + c are drawn around X b with an intercept of about c: their own
    # rounding is a few ulp of c (see test_fit_invariant_to_offset_in_y)
    params_atol = np.r_[16 * np.spacing(abs(c)), np.zeros(params.shape[1] - 1)]
    assert_replicates(boot, ref, params=params, params_atol=params_atol)


@settings(PROPERTY, max_examples=12)
@given(study=studies(), log10_a=exponents(-6, 6), seed=st.integers(0, 2 ** 32 - 1))
def test_bootstrap_equivariant_to_scale_of_y(study, log10_a, seed):
    """a y (a > 0), the same seed: replicate params and bse times a, vcomp times a^2, the
    same h2 and delta, llf minus (n - p) log a."""
    # a > 0 only: the draws are X b + sd z with sd > 0, so the replicates of -y are not minus
    # those of y for the same seed (they are only equal in distribution)
    a = 10.0 ** log10_a
    ref = _bootstrap(_fit(study.y, study.X, study.K), seed)
    boot = _bootstrap(_fit(study.y * a, study.X, study.K), seed)
    n, p = study.X.shape
    assert_replicates(boot, ref, params=ref.params.to_numpy() * a, vcomp_factor=a ** 2,
                      bse_factor=abs(a), llf_shift=-(n - p) * np.log(abs(a)))
