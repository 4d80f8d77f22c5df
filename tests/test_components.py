"""Several variance components (issue 10) against oracles that need no R.

The model ``y = X b + sum_j Z_j u_j + e`` with ``u_j ~ N(0, s_j^2 K_j)`` has the covariance
``V = sum_j s_j^2 Z_j K_j Z_j' + s_e^2 I``. Every check here builds ``V`` as a dense matrix and
compares the package (``KinshipMixedLM`` on its block likelihood, ``_engine.BlockLikelihood``)
with what nobody can bend: ``scipy.stats.multivariate_normal.logpdf``, the REML formula with
dense ``V``, statsmodels' GLS with ``sigma=V``, the single-kinship spectral path, the dense
BLUP formula, a grid over the variance ratios, and invariances of the likelihood.

The data are small simulated three-generation families of twelve people in three households,
so that every test runs in well under two seconds.
"""
import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.tools.numdiff import approx_hess3

from statsmodels_kinship import KinshipMixedLM
from statsmodels_kinship._engine import BlockLikelihood, Component, CovarianceStructure
from statsmodels_kinship.exceptions import IdentifiabilityWarning
from statsmodels_kinship.inference import variance_component_test

from oracles import reml_oracle

# The pedigree of one family (as in the seed study): founders 1 and 2 with children 4 and 5;
# 4 and the founder 3 with children 7, 8, 9; 5 and the founder 6 with children 10, 11, 12.
# person: (father, mother), parents first; 0 unknown
PEDIGREE = {1: (0, 0), 2: (0, 0), 3: (0, 0), 6: (0, 0), 4: (2, 1), 5: (2, 1), 7: (3, 4),
            8: (3, 4), 9: (3, 4), 10: (5, 6), 11: (5, 6), 12: (5, 6)}
# three households: the grandparents, and each child's couple with their children
HOUSEHOLDS = {1: 0, 2: 0, 3: 1, 4: 1, 7: 1, 8: 1, 9: 1, 5: 2, 6: 2, 10: 2, 11: 2, 12: 2}
FAM_SIZE = len(PEDIGREE)


def family_kinship():
    """Kinship coefficients of the family (the tabular method: A = 2 x kinship)."""
    where = {p: i for i, p in enumerate(PEDIGREE)}
    a = np.zeros((FAM_SIZE, FAM_SIZE))
    for i, (father, mother) in enumerate(PEDIGREE.values()):
        parents = [where[q] for q in (father, mother) if q]
        for j in range(i):
            a[i, j] = a[j, i] = 0.5 * sum(a[q, j] for q in parents)
        a[i, i] = 1.0 + (0.5 * a[parents[0], parents[1]] if len(parents) == 2 else 0.0)
    return a / 2


def family_dominance():
    """Dominance relationships of the family: full sibs share 1/4 (nobody is inbred)."""
    parents = list(PEDIGREE.values())
    return np.array([[1.0 if i == j else 0.25 if parents[i] == parents[j] != (0, 0) else 0.0
                      for j in range(FAM_SIZE)] for i in range(FAM_SIZE)])


FAMILY_KINSHIP = family_kinship()
FAMILY_DOMINANCE = family_dominance()


def families(n_fam=20, seed=0, variances=(1.6, 0.8, 0.5, 1.0)):
    """Families in households: y = 1 + 0.5 x + g + d + h + e with ``g ~ N(0, s_k^2 K)``,
    ``d ~ N(0, s_d^2 D)``, ``h ~ N(0, s_h^2)`` per household and ``e ~ N(0, s_e^2)``.

    Returns a DataFrame indexed by person (columns y, x, household), the labelled kinship
    and dominance matrices, and the dense matrices (K, D, household incidence Z_h)."""
    rng = np.random.default_rng(seed)
    n = n_fam * FAM_SIZE
    ids = [f"p{i:03d}" for i in range(n)]
    K = np.kron(np.eye(n_fam), FAMILY_KINSHIP)
    D = np.kron(np.eye(n_fam), FAMILY_DOMINANCE)
    household = np.array([f"f{f:02d}h{HOUSEHOLDS[p]}" for f in range(n_fam) for p in PEDIGREE])
    z_h = (household[:, None] == np.unique(household)[None, :]).astype(float)
    s_k, s_d, s_h, s_e = variances
    x = rng.normal(size=n)
    y = (1.0 + 0.5 * x + rng.multivariate_normal(np.zeros(n), s_k * K)
         + rng.multivariate_normal(np.zeros(n), s_d * D)
         + z_h @ rng.normal(scale=np.sqrt(s_h), size=z_h.shape[1])
         + rng.normal(scale=np.sqrt(s_e), size=n))
    df = pd.DataFrame({"y": y, "x": x, "household": household}, index=pd.Index(ids, name="id"))
    return {"df": df, "K": pd.DataFrame(K, index=ids, columns=ids),
            "D": pd.DataFrame(D, index=ids, columns=ids), "Kd": K, "Dd": D, "Zh": z_h,
            "X": np.column_stack([np.ones(n), x]), "y": y}


@pytest.fixture(scope="module")
def fam():
    return families()


def two_component_model(data):
    return KinshipMixedLM.from_formula("y ~ x", data["df"], kinship={"kinship": data["K"]},
                                       vc_formula={"household": "0 + C(household)"})


def three_component_model(data):
    return KinshipMixedLM.from_formula(
        "y ~ x", data["df"], kinship={"kinship": data["K"], "dominance": data["D"]},
        vc_formula={"household": "0 + C(household)"})


def weights(data, names):
    """``W_j = Z_j K_j Z_j'`` of the components, dense, by name."""
    all_w = {"kinship": data["Kd"], "dominance": data["Dd"],
             "household": data["Zh"] @ data["Zh"].T}
    return [all_w[name] for name in names]


def dense_v(ws, s2, s_e2):
    return sum(s * w for s, w in zip(s2, ws)) + s_e2 * np.eye(len(ws[0]))


def gls_dense(y, X, V):
    vinv = np.linalg.inv(V)
    return np.linalg.solve(X.T @ vinv @ X, X.T @ vinv @ y)


# -------------------------------------------------------------------------------------------
# The likelihood against dense oracles
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["two", "three"])
@pytest.mark.parametrize("params", [(0.3, -0.2, 0.8, 0.4, 0.6, 0.9),
                                    (1.1, 0.5, 0.05, 1.7, 0.0, 0.3)])
def test_loglike_equals_dense_formulas(fam, which, params):
    """``model.loglike`` at arbitrary parameters: ML is the multivariate normal density
    (scipy), REML the restricted likelihood computed with dense V."""
    model = two_component_model(fam) if which == "two" else three_component_model(fam)
    m = len(model.component_names)
    fe, s2, s_e2 = np.array(params[:2]), np.array(params[2:2 + m]), params[-1]
    V = dense_v(weights(fam, model.component_names), s2, s_e2)
    full = np.r_[fe, s2, s_e2]
    ml = stats.multivariate_normal(fam["X"] @ fe, V, allow_singular=False).logpdf(fam["y"])
    assert_allclose(model.loglike(full, reml=False), ml, rtol=1e-11)
    assert_allclose(model.loglike(full, reml=True),
                    reml_oracle(fam["y"], fam["X"], V), rtol=1e-11)


@pytest.mark.parametrize("reml", [True, False])
def test_llf_at_the_estimate_is_the_loglike_of_its_parameters(fam, reml):
    model = three_component_model(fam)
    res = model.fit(reml=reml)
    V = dense_v(weights(fam, model.component_names), res.vcomp.iloc[:-1], res.vcomp.iloc[-1])
    assert_allclose(model.loglike(np.r_[res.params, res.vcomp], reml=reml), res.llf, rtol=1e-12)
    oracle = (reml_oracle(fam["y"], fam["X"], V) if reml
              else stats.multivariate_normal(fam["X"] @ res.params, V).logpdf(fam["y"]))
    assert_allclose(res.llf, oracle, rtol=1e-11)
    # the fixed effects are GLS at the estimated V
    assert_allclose(res.params, gls_dense(fam["y"], fam["X"], V), rtol=1e-10)


@pytest.mark.parametrize("reml", [True, False])
def test_gls_at_fixed_variances_equals_statsmodels_gls(fam, reml):
    """With the ratios held fixed the fixed effects are GLS with ``sigma = V``: the same
    estimates as statsmodels' GLS; under REML also its scale and standard errors."""
    model = three_component_model(fam)
    gamma = np.array([1.3, 0.4, 0.7])
    res = model.fit(reml=reml, kinship_ratio=gamma)
    assert res.fit_info["fixed_ratio"]
    H = dense_v(weights(fam, model.component_names), gamma, 1.0)
    gls = sm.GLS(fam["y"], fam["X"], sigma=H).fit()
    assert_allclose(res.params, gls.params, rtol=1e-10)
    n, p = fam["X"].shape
    dof = n - p if reml else n
    assert_allclose(res.scale, gls.scale * (n - p) / dof, rtol=1e-10)
    assert_allclose(res.bse, gls.bse * np.sqrt((n - p) / dof), rtol=1e-10)
    assert_allclose(res.vcomp.iloc[:-1], gamma * res.scale, rtol=1e-12)
    assert_allclose(res.gamma, gamma)


# -------------------------------------------------------------------------------------------
# One relationship component: the engine equals the spectral path
# -------------------------------------------------------------------------------------------

def _one_kinship_data(seed=3):
    data = families(n_fam=16, seed=seed, variances=(2.0, 0.0, 0.0, 1.0))
    # symmetric square root of K, family by family: Z = L with Z Z' = K, so that a grouping
    # "component" with design L has the covariance of the kinship term
    w, u = np.linalg.eigh(FAMILY_KINSHIP)
    root = u @ np.diag(np.sqrt(np.clip(w, 0, None))) @ u.T
    data["L"] = np.kron(np.eye(len(data["y"]) // FAM_SIZE), root)
    assert_allclose(data["L"] @ data["L"].T, data["Kd"], atol=1e-15)
    return data


@pytest.mark.parametrize("reml", [True, False])
def test_engine_with_one_component_equals_spectral_fit(reml):
    """The kinship term as a grouping component with design ``L`` (``L L' = K``) goes through
    the engine; the fit equals the single-kinship spectral fit."""
    data = _one_kinship_data()
    spectral = KinshipMixedLM(data["y"], data["X"], kinship=data["Kd"])
    engine = KinshipMixedLM(data["y"], data["X"], exog_vc={"kinship": data["L"]})
    assert spectral._engine is None and engine._engine is not None
    rs, re = spectral.fit(reml=reml), engine.fit(reml=reml)
    assert rs.delta > 0  # an interior estimate
    assert re.delta is None
    assert_allclose(re.gamma, [rs.delta], rtol=1e-7)
    assert_allclose(re.llf, rs.llf, rtol=1e-12)
    assert_allclose(re.params, rs.params, rtol=1e-7)
    assert_allclose(re.bse, rs.bse, rtol=1e-7)
    assert list(re.vcomp.index) == list(rs.vcomp.index) == ["kinship", "residual"]
    assert_allclose(re.vcomp, rs.vcomp, rtol=1e-7)
    assert_allclose(re.vcomp_cov, rs.vcomp_cov, rtol=1e-6)
    # a grouping component: no relationship component, so no h2; its share is h2
    assert np.isnan(re.h2)
    assert_allclose(re.variance_shares.loc["kinship", "share"], rs.h2, rtol=1e-7)
    assert_allclose(re.variance_shares.loc["kinship", "std. error"], rs.bse_h2, rtol=1e-6)
    # the per-record random effect is the BLUP of g either way (Z u = L gamma L' Py = g)
    assert_allclose(re.random_effects, rs.random_effects, rtol=1e-6, atol=1e-9)
    assert_allclose(re.fittedvalues, rs.fittedvalues, rtol=1e-9)


@pytest.mark.parametrize("reml", [True, False])
def test_block_likelihood_with_one_relationship_equals_spectral(reml):
    """``BlockLikelihood`` built directly with one relationship component: its criterion at
    any ratio, its maximum and its information equal the spectral likelihood's."""
    data = _one_kinship_data(seed=5)
    n = len(data["y"])
    structure = CovarianceStructure(
        n, [Component("kinship", "relationship", codes=np.arange(n), matrix=data["Kd"])])
    assert structure.n_blocks == n // FAM_SIZE
    engine = BlockLikelihood(structure, data["X"], data["y"])
    spectral = KinshipMixedLM(data["y"], data["X"], kinship=data["Kd"])
    for delta in (0.0, 0.1, 1.0, 7.5):
        assert_allclose(engine.loglike([delta], reml), spectral.loglike_profile(delta, reml),
                        rtol=1e-12)
    gamma, llf, info = engine.maximize(reml)
    rs = spectral.fit(reml=reml)
    assert info["converged"]
    assert_allclose(gamma, [rs.delta], rtol=1e-7)
    assert_allclose(llf, rs.llf, rtol=1e-12)
    assert_allclose(engine.information(gamma, rs.scale, reml), np.linalg.inv(rs.vcomp_cov),
                    rtol=1e-6)


# -------------------------------------------------------------------------------------------
# The estimate: a global maximum, standard errors from the curvature
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("which", ["two", "three"])
def test_no_grid_point_beats_the_fit(fam, which, reml):
    model = two_component_model(fam) if which == "two" else three_component_model(fam)
    res = model.fit(reml=reml)
    assert res.converged
    m = len(model.component_names)
    levels = [0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]
    grid = np.array(list(itertools.product(levels, repeat=m))) / model._engine.scales
    values = np.array([model._engine.loglike(g, reml) for g in grid])
    assert values.max() <= res.llf + 1e-9
    # and no small move of a ratio (kept >= 0) increases it
    for j, step in itertools.product(range(m), (-1e-4, 1e-4)):
        g = res.gamma.copy()
        g[j] = max(g[j] * (1 + step) + (step if g[j] == 0 else 0.0), 0.0)
        assert model._engine.loglike(g, reml) <= res.llf + 1e-10


def test_vcomp_cov_is_the_inverse_curvature_of_the_likelihood(fam):
    """``vcomp_cov`` (observed information of the variances, fixed effects profiled or
    integrated out) equals minus the inverse numerical Hessian of ``model.loglike`` in the
    variances at the REML estimate."""
    model = two_component_model(fam)
    res = model.fit()
    assert not res.boundary
    fe = np.asarray(res.params)

    def restricted(v):
        return model.loglike(np.r_[fe, v], reml=True)

    hess = approx_hess3(res.vcomp.to_numpy(), restricted)
    assert_allclose(res.vcomp_cov, -np.linalg.inv(hess), rtol=1e-4)
    assert_allclose(res.bse_vcomp, np.sqrt(np.diag(-np.linalg.inv(hess))), rtol=1e-4)


def test_lr_test_against_the_model_without_the_component(fam):
    """The LR test of the household component is twice the difference of the log-likelihoods
    of two separate fits: with it (engine) and without it (spectral single-kinship path)."""
    res = two_component_model(fam).fit()
    assert res.gamma[1] > 0
    without = KinshipMixedLM.from_formula("y ~ x", fam["df"], kinship=fam["K"]).fit()
    assert without.model._engine is None
    test = variance_component_test(res, "household")
    assert_allclose(test.statistic, 2 * (res.llf - without.llf), rtol=1e-8)
    assert_allclose(test.pvalue, 0.5 * stats.chi2.sf(test.statistic, 1), rtol=1e-12)
    assert test.df_diff == 1


# -------------------------------------------------------------------------------------------
# Invariances
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reml", [True, False])
def test_invariant_to_row_order(fam, reml):
    res = three_component_model(fam).fit(reml=reml)
    perm = np.random.default_rng(7).permutation(len(fam["df"]))
    shuffled = dict(fam, df=fam["df"].iloc[perm])  # labelled K matched by ID
    res_p = three_component_model(shuffled).fit(reml=reml)
    assert_allclose(res_p.llf, res.llf, rtol=1e-12)
    assert_allclose(res_p.params, res.params, rtol=1e-7)
    assert_allclose(res_p.vcomp, res.vcomp, rtol=1e-6, atol=1e-9)
    assert_allclose(res_p.bse, res.bse, rtol=1e-6)
    for name, blups in res.random_effects_by_component.items():
        other = res_p.random_effects_by_component[name]
        assert_allclose(other[blups.index], blups, rtol=1e-6, atol=1e-8)
    assert_allclose(pd.Series(np.asarray(res_p.fittedvalues), index=res_p.model.data.row_labels)
                    [fam["df"].index], res.fittedvalues, rtol=1e-8)


def test_reml_invariant_to_a_shift_of_y(fam):
    res = two_component_model(fam).fit()
    c = 1e4
    shifted = dict(fam, df=fam["df"].assign(y=fam["df"]["y"] + c))
    res_c = two_component_model(shifted).fit()
    assert_allclose(res_c.llf, res.llf, rtol=1e-10)
    assert_allclose(res_c.vcomp, res.vcomp, rtol=1e-6)
    assert_allclose(res_c.params - [c, 0.0], res.params, rtol=1e-6, atol=1e-8)
    assert_allclose(res_c.bse, res.bse, rtol=1e-6)


def test_reml_invariant_to_kinship_plus_constant(fam):
    """Under REML with an intercept, ``K + c 11'`` (a shift of the kinship scale, which joins
    all families into one block) changes no contrast of the records: the same likelihood,
    variances, fixed effects and slope standard error; only the intercept's variance grows,
    by ``c s_k^2``."""
    c = 0.3
    res = three_component_model(fam).fit()
    shifted = dict(fam, K=fam["K"] + c)
    model_c = three_component_model(shifted)
    assert model_c.n_blocks == 1
    res_c = model_c.fit()
    assert_allclose(res_c.llf, res.llf, rtol=1e-10)
    assert_allclose(res_c.vcomp, res.vcomp, rtol=1e-6)
    assert_allclose(res_c.params, res.params, rtol=1e-6)
    assert_allclose(res_c.bse["x"], res.bse["x"], rtol=1e-6)
    assert_allclose(res_c.bse["Intercept"] ** 2, res.bse["Intercept"] ** 2
                    + c * res.vcomp["kinship"], rtol=1e-6)


@pytest.mark.parametrize("reml", [True, False])
def test_scaling_y_scales_the_variances(fam, reml):
    c = 37.0
    res = three_component_model(fam).fit(reml=reml)
    scaled = dict(fam, df=fam["df"].assign(y=fam["df"]["y"] * c))
    res_c = three_component_model(scaled).fit(reml=reml)
    n, p = fam["X"].shape
    dof = n - p if reml else n
    assert_allclose(res_c.llf, res.llf - dof * np.log(c), rtol=1e-10)
    assert_allclose(res_c.gamma, res.gamma, rtol=1e-6, atol=1e-10)
    assert_allclose(res_c.vcomp, c ** 2 * res.vcomp, rtol=1e-6, atol=1e-9)
    assert_allclose(res_c.params, c * res.params, rtol=1e-6)
    assert_allclose(res_c.variance_shares["share"], res.variance_shares["share"], rtol=1e-6,
                    atol=1e-10)


def test_missing_response_drops_the_record_everywhere(fam):
    """A NaN in y drops the row, its household label and its row of K together: the fit
    equals the fit on the data without that row."""
    df = fam["df"].copy()
    df.iloc[7, df.columns.get_loc("y")] = np.nan
    res = KinshipMixedLM.from_formula("y ~ x", df, kinship={"kinship": fam["K"]},
                                      vc_formula={"household": "0 + C(household)"}).fit()
    ref = KinshipMixedLM.from_formula("y ~ x", df.dropna(), kinship={"kinship": fam["K"]},
                                      vc_formula={"household": "0 + C(household)"}).fit()
    assert res.nobs == len(df) - 1
    assert_allclose(res.llf, ref.llf, rtol=1e-12)
    assert_allclose(res.vcomp, ref.vcomp, rtol=1e-10)
    assert_allclose(res.params, ref.params, rtol=1e-10)


# -------------------------------------------------------------------------------------------
# BLUPs
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reml", [True, False])
def test_blups_equal_the_dense_formula(fam, reml):
    """BLUP of component j: ``s_j^2 K_j Z_j' V^-1 (y - X b)`` at the estimates; the record's
    random effect is ``sum_j Z_j u_j``; ``fittedvalues = X b + that`` and ``+ resid = y``."""
    model = three_component_model(fam)
    res = model.fit(reml=reml)
    s2 = res.vcomp.iloc[:-1].to_numpy()
    V = dense_v(weights(fam, model.component_names), s2, res.vcomp.iloc[-1])
    py = np.linalg.solve(V, fam["y"] - fam["X"] @ res.params)
    hh_levels = np.unique(fam["df"]["household"])
    # a vc_formula component's effects are labelled by its design's columns (as statsmodels
    # MixedLM labels them)
    hh_columns = [f"C(household)[{h}]" for h in hh_levels]
    expected = {"kinship": s2[0] * fam["Kd"] @ py, "dominance": s2[1] * fam["Dd"] @ py,
                "household": s2[2] * fam["Zh"].T @ py}
    by_comp = res.random_effects_by_component
    assert set(by_comp) == {"kinship", "dominance", "household"}
    assert list(by_comp["kinship"].index) == list(fam["df"].index)
    assert list(by_comp["dominance"].index) == list(fam["df"].index)
    assert list(by_comp["household"].index) == hh_columns
    for name, value in expected.items():
        index = hh_columns if name == "household" else fam["df"].index
        assert_allclose(by_comp[name][index], value, rtol=1e-8, atol=1e-12)
    total = expected["kinship"] + expected["dominance"] + fam["Zh"] @ expected["household"]
    assert_allclose(res.random_effects, total, rtol=1e-8, atol=1e-12)
    assert_allclose(res.fittedvalues, fam["X"] @ res.params + total, rtol=1e-10)
    assert_allclose(res.fittedvalues + res.resid, fam["y"], rtol=1e-13)


# -------------------------------------------------------------------------------------------
# Repeated records
# -------------------------------------------------------------------------------------------

def repeated_records(n_fam=5, seed=11):
    """Two or three records per person: additive (kinship) + permanent environment."""
    rng = np.random.default_rng(seed)
    n_ind = n_fam * FAM_SIZE
    ids = np.array([f"a{i:03d}" for i in range(n_ind)])
    K = np.kron(np.eye(n_fam), FAMILY_KINSHIP)
    counts = rng.integers(2, 4, size=n_ind)
    ind = np.repeat(np.arange(n_ind), counts)
    rng.shuffle(ind)  # records of one person are not adjacent
    n = len(ind)
    Z = np.zeros((n, n_ind))
    Z[np.arange(n), ind] = 1.0
    x = rng.normal(size=n)
    g = rng.multivariate_normal(np.zeros(n_ind), 2.0 * K)
    pe = rng.normal(scale=0.7, size=n_ind)
    y = 2.0 - 0.3 * x + Z @ (g + pe) + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "x": x, "iid": ids[ind]})
    first = pd.unique(ids[ind])  # the individuals in order of their first record
    order = [int(i[1:]) for i in first]
    return {"df": df, "K": pd.DataFrame(K, index=ids, columns=ids), "Kd": K, "Z": Z,
            "X": np.column_stack([np.ones(n), x]), "y": y, "first": first, "order": order}


@pytest.mark.parametrize("reml", [True, False])
def test_repeated_records_equal_the_dense_formula(reml):
    data = repeated_records()
    model = KinshipMixedLM.from_formula("y ~ x", data["df"], kinship={"additive": data["K"]},
                                        vc_formula={"permanent": "0 + C(iid)"}, individual="iid")
    assert list(model.individuals) == list(data["first"])
    assert model.component_names == ["additive", "permanent"]
    Z, K = data["Z"], data["Kd"]
    ws = [Z @ K @ Z.T, Z @ Z.T]
    # the likelihood at arbitrary parameters
    params = np.array([1.5, -0.2, 0.9, 0.4, 1.1])
    V = dense_v(ws, params[2:4], params[4])
    ml = stats.multivariate_normal(data["X"] @ params[:2], V).logpdf(data["y"])
    assert_allclose(model.loglike(params, reml=False), ml, rtol=1e-11)
    assert_allclose(model.loglike(params, reml=True),
                    reml_oracle(data["y"], data["X"], V), rtol=1e-11)
    # the fit and its BLUPs, by individual
    res = model.fit(reml=reml)
    assert res.converged and res.nobs == len(data["y"])
    s2 = res.vcomp.iloc[:-1].to_numpy()
    V = dense_v(ws, s2, res.vcomp.iloc[-1])
    py = np.linalg.solve(V, data["y"] - data["X"] @ res.params)
    assert_allclose(res.params, gls_dense(data["y"], data["X"], V), rtol=1e-10)
    additive = s2[0] * K @ Z.T @ py
    permanent = s2[1] * Z.T @ py
    ids = [f"a{i:03d}" for i in range(K.shape[0])]
    blups = res.random_effects_by_component
    assert sorted(blups["additive"].index) == ids
    assert_allclose(blups["additive"][ids], additive, rtol=1e-8, atol=1e-12)
    assert_allclose(blups["permanent"][[f"C(iid)[{i}]" for i in ids]], permanent, rtol=1e-8,
                    atol=1e-12)
    assert_allclose(res.random_effects, Z @ (additive + permanent), rtol=1e-8, atol=1e-12)
    assert_allclose(res.fittedvalues + res.resid, data["y"], rtol=1e-13)


def test_repeated_records_one_component():
    """Repeated records with the kinship term alone (no permanent environment) also go
    through the engine and match the dense likelihood."""
    data = repeated_records(seed=12)
    model = KinshipMixedLM.from_formula("y ~ x", data["df"], kinship=data["K"],
                                        individual="iid")
    assert model._engine is not None
    assert model.vcomp_names == ["kinship", "residual"]
    Z, K = data["Z"], data["Kd"]
    params = np.array([1.5, -0.2, 0.9, 1.1])
    V = dense_v([Z @ K @ Z.T], params[2:3], params[3])
    ml = stats.multivariate_normal(data["X"] @ params[:2], V).logpdf(data["y"])
    assert_allclose(model.loglike(params, reml=False), ml, rtol=1e-11)
    res = model.fit()
    V = dense_v([Z @ K @ Z.T], res.vcomp.iloc[:1], res.vcomp.iloc[1])
    assert_allclose(res.llf, reml_oracle(data["y"], data["X"], V), rtol=1e-11)


# -------------------------------------------------------------------------------------------
# Shares, h2 and the summary
# -------------------------------------------------------------------------------------------

def test_variance_shares_and_h2(fam):
    res = three_component_model(fam).fit()
    shares = res.variance_shares
    assert list(shares.index) == ["kinship", "dominance", "household", "residual"]
    assert list(shares.columns) == ["share", "std. error"]
    assert_allclose(shares["share"].sum(), 1.0, rtol=1e-14)
    # s_j^2 m_j / (sum_i s_i^2 m_i + s_e^2), m_j the mean diagonal of Z_j K_j Z_j'
    m = np.array([0.5, 1.0, 1.0, 1.0])
    parts = res.vcomp.to_numpy() * m
    assert_allclose(shares["share"], parts / parts.sum(), rtol=1e-12)
    assert res.h2 == shares.loc["kinship", "share"]  # the first relationship component
    assert res.bse_h2 == shares.loc["kinship", "std. error"]
    assert np.all(shares["std. error"] > 0)
    assert_allclose(res.theta, np.sqrt(res.vcomp.iloc[:-1] / res.scale), rtol=1e-12)


def test_h2_without_a_relationship_component(fam):
    res = KinshipMixedLM.from_formula("y ~ x", fam["df"],
                                      vc_formula={"household": "0 + C(household)"}).fit()
    assert np.isnan(res.h2) and np.isnan(res.bse_h2)
    assert_allclose(res.variance_shares["share"].sum(), 1.0, rtol=1e-14)


def test_summary_has_one_row_per_component(fam):
    res = three_component_model(fam).fit()
    smry = res.summary()
    text = smry.as_text()
    table = next(t for t in smry.tables if "Levels" in getattr(t, "columns", []))
    assert [name.strip() for name in table.index] == ["kinship", "dominance", "household",
                                                      "residual"]
    n_fam = len(fam["df"]) // FAM_SIZE
    assert [v.strip() for v in table["Levels"]] == [str(len(fam["df"])), str(len(fam["df"])),
                                                     str(3 * n_fam), ""]
    assert [v.strip() for v in table["Variance"]] == [f"{v:.4f}" for v in res.vcomp]
    for name in res.model.component_names:  # the LR test of each component
        lr = variance_component_test(res, name)
        row = table.iloc[[n.strip() for n in table.index].index(name)]
        assert row["LR"].strip() == f"{lr.statistic:.3f}"
        assert row["P>LR"].strip() == f"{lr.pvalue:.3g}"
    assert f"h2 = {res.h2:.4f} is the share of the first relationship" in " ".join(text.split())
    assert "Individuals:          240" in text and "Block size (min-max): 12-12" in text


# -------------------------------------------------------------------------------------------
# Bad input
# -------------------------------------------------------------------------------------------

def _fam_model(data, **kwargs):
    kwargs.setdefault("kinship", {"kinship": data["K"]})
    kwargs.setdefault("vc_formula", {"household": "0 + C(household)"})
    df = kwargs.pop("df", data["df"])
    return KinshipMixedLM.from_formula("y ~ x", df, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kinship={"household": "K"}), r"unique: 'household' is both a kinship and an exog"),
    (dict(kinship={"residual": "K"}), r"'residual' are reserved"),
    (dict(vc_formula={"total": "0 + C(household)"}), r"'total' are reserved"),
])
def test_component_names(fam, kwargs, match):
    if "kinship" in kwargs:
        kwargs["kinship"] = {name: fam["K"] for name in kwargs["kinship"]}
    with pytest.raises(ValueError, match=match):
        _fam_model(fam, **kwargs)


def test_component_names_must_be_strings(fam):
    with pytest.raises(TypeError, match="kinship dict keys must be non-empty strings"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"": fam["Kd"]},
                       exog_vc={"household": fam["df"]["household"].to_numpy()})
    with pytest.raises(TypeError, match="exog_vc keys must be non-empty strings"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"]},
                       exog_vc={3: fam["df"]["household"].to_numpy()})


def test_unknown_component_in_tests_and_ratios(fam):
    res = _fam_model(fam).fit()
    for name in ("nope", "residual"):
        with pytest.raises(ValueError, match=r"one of \['kinship', 'household'\], got '"
                           + name):
            variance_component_test(res, name)
    with pytest.raises(ValueError, match=r"2 finite ratios >= 0 .*kinship, household"):
        res.model.fit(kinship_ratio=[1.0])


def test_vc_formula_column_missing(fam):
    with pytest.raises(ValueError, match=r"vc_formula\['household'\] = '0 \+ C\(home\)' "
                                         r"cannot be evaluated.*home"):
        _fam_model(fam, vc_formula={"household": "0 + C(home)"})


def test_vc_formula_and_exog_vc_name_clash(fam):
    with pytest.raises(ValueError, match="'household' is given both in vc_formula and exog_vc"):
        _fam_model(fam, exog_vc={"household": fam["df"]["household"]})


def test_individuals_missing_from_labelled_kinship(fam):
    K = fam["K"].drop(index=["p003", "p011"], columns=["p003", "p011"])
    with pytest.raises(ValueError, match=r"2 IDs in the data are not in the kinship matrix: "
                                         r"'p003', 'p011'"):
        _fam_model(fam, kinship={"kinship": K})


@pytest.mark.parametrize("how", ["vc_formula", "exog_vc"])
def test_grouping_with_one_record_per_level(fam, how):
    df = fam["df"].assign(person=np.arange(len(fam["df"])))
    kwargs = ({"vc_formula": {"person": "0 + C(person)"}} if how == "vc_formula" else
              {"vc_formula": None, "exog_vc": {"person": df["person"]}})
    with pytest.raises(ValueError, match=rf"component 'person' has one record per level "
                                         rf"\({len(df)} levels\).*cannot be separated"):
        _fam_model(fam, df=df, **kwargs)


@pytest.mark.parametrize("how", ["vc_formula", "exog_vc"])
def test_identical_groupings(fam, how):
    # the same households under other labels
    df = fam["df"].assign(home=fam["df"]["household"].str.replace("h", "home"))
    kwargs = ({"vc_formula": {"household": "0 + C(household)", "home": "0 + C(home)"}}
              if how == "vc_formula" else
              {"vc_formula": None, "exog_vc": {"household": df["household"],
                                               "home": df["home"]}})
    with pytest.raises(ValueError, match="components 'household' and 'home' group the records "
                                         "identically"):
        _fam_model(fam, df=df, **kwargs)


def test_missing_value_in_a_grouping(fam):
    df = fam["df"].copy()
    df.iloc[4, df.columns.get_loc("household")] = np.nan
    with pytest.raises(ValueError, match=r"vc_formula\['household'\].*missing values"):
        _fam_model(fam, df=df)
    with pytest.raises(ValueError, match=r"exog_vc\['household'\] has 1 missing values"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"]},
                       exog_vc={"household": df["household"].to_numpy()})


def test_exog_vc_of_the_wrong_length(fam):
    n = len(fam["y"])
    labels = fam["df"]["household"].to_numpy()
    with pytest.raises(ValueError, match=rf"exog_vc\['household'\] has {n - 1} values but the "
                                         rf"data have {n} rows"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"]},
                       exog_vc={"household": labels[1:]})
    q = fam["Zh"].shape[1]
    with pytest.raises(ValueError, match=rf"exog_vc\['household'\] must be labels .* design "
                                         rf"with {n} rows, got shape \({n - 1}, {q}\)"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"]},
                       exog_vc={"household": fam["Zh"][1:]})


def test_kinship_as_a_list_suggests_a_dict(fam):
    for kinship in ([fam["Kd"], fam["Dd"]], (fam["K"], fam["D"])):
        with pytest.raises(TypeError, match=r"as a dict naming each component, e\.g\. "
                                            r"kinship=\{'additive': A, 'dominance': D\}"):
            KinshipMixedLM(fam["y"], fam["X"], kinship=kinship)
    with pytest.raises(TypeError, match="as a dict naming each component"):
        _fam_model(fam, kinship=[fam["K"], fam["D"]])


def test_non_psd_kinship_in_a_dict_names_the_component(fam):
    bad = fam["Dd"].copy()
    bad[0, 1] = bad[1, 0] = 1.4  # |r| > 1 between two individuals
    with pytest.raises(ValueError, match=r"kinship 'dominance' is not positive semidefinite: "
                                         r"smallest eigenvalue -0\.4"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"], "dominance": bad})


def test_kinship_in_a_dict_of_the_wrong_shape(fam):
    n = len(fam["y"])
    with pytest.raises(ValueError, match=rf"kinship 'dominance' has shape \({n - 1}, {n - 1}\) "
                                         rf"but the data have {n} individuals"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"],
                                                    "dominance": fam["Dd"][1:, 1:]})


def test_relationship_equal_to_identity_is_refused(fam):
    """A "dominance" matrix equal to I (nobody shares dominance deviations) cannot be
    separated from the residual, whatever the response."""
    with pytest.raises(ValueError, match=r"kinship 'dominance' is a multiple of the identity "
                                         r"over the records.*cannot be separated from the "
                                         r"residual"):
        KinshipMixedLM(fam["y"], fam["X"], kinship={"kinship": fam["Kd"],
                                                    "dominance": 0.5 * np.eye(len(fam["y"]))})


def sibships(seed, n_fam=40, size=4):
    """Full sibs only (unrelated, non-inbred parents without records), y = 1 + 0.5 x + g + e,
    g ~ N(0, K): within a sibship K = 1/4 I + 1/4 J, and a "dam" grouping has W = J, so
    ``s_a^2 K + s_d^2 J + s_e^2 I`` depends only on ``s_a^2/4 + s_e^2`` and ``s_a^2/4 +
    s_d^2``: additive, dam and residual are not identified (the blue tits' tarsus_adf)."""
    rng = np.random.default_rng(seed)
    K = np.kron(np.eye(n_fam), 0.25 * np.eye(size) + 0.25)
    dam = np.repeat(np.arange(n_fam), size)
    x = rng.normal(size=len(dam))
    y = 1 + 0.5 * x + rng.multivariate_normal(np.zeros(len(x)), K) + rng.normal(size=len(x))
    return KinshipMixedLM(y, np.column_stack([np.ones(len(x)), x]), kinship={"additive": K},
                          exog_vc={"dam": dam})


@pytest.mark.parametrize("seed", [1, 27])
def test_not_identified_split_warns(seed):
    """Along the ridge the fit stops anywhere, the dam variance at 0 included (seed 27: a
    point of the ridge, not a boundary estimate): the fit always warns, naming the
    components."""
    model = sibships(seed)
    with pytest.warns(IdentifiabilityWarning, match=r"trades off additive, dam, residual"):
        res = model.fit()
    assert not res.identified
    assert res.vcomp_cov.isna().all().all()
    # the two identified combinations are those of the one-factor fit
    ref = KinshipMixedLM(model.endog, model.exog, exog_vc={"dam": model.structure.components[1]
                                                           .codes}).fit()
    v = res.vcomp
    assert_allclose(v["additive"] / 4 + v["dam"], ref.vcomp["dam"], rtol=1e-6)
    assert_allclose(v["additive"] / 4 + v["residual"], ref.vcomp["residual"], rtol=1e-6)
    assert_allclose(res.llf, ref.llf, rtol=1e-10)


def test_both_at_zero_on_a_collapsed_ridge_is_identified():
    """When the sibship covariance wants to be negative, ``s_a^2/4 + s_d^2 = 0`` forces both to
    0: a unique estimate at the boundary, identified (seed 22)."""
    res = sibships(22).fit()
    assert res.identified
    assert res.fit_info["boundary"] == ["additive", "dam"]
    assert_allclose(res.vcomp.iloc[:2], 0.0, atol=0)


def test_grouping_labels_name_the_levels(fam):
    """With ``exog_vc`` labels the effects are indexed by the labels themselves, and equal
    those of the same component given by ``vc_formula``."""
    labels = fam["df"]["household"]
    res = KinshipMixedLM(fam["df"]["y"], sm.add_constant(fam["df"][["x"]]),
                         kinship={"kinship": fam["K"]}, exog_vc={"household": labels}).fit()
    ref = two_component_model(fam).fit()
    blups = res.random_effects_by_component["household"]
    assert list(blups.index) == list(pd.unique(labels))
    assert_allclose(res.llf, ref.llf, rtol=1e-12)
    assert_allclose(blups, ref.random_effects_by_component["household"]
                    [[f"C(household)[{h}]" for h in blups.index]], rtol=1e-8)


def test_mixedlm_groups_argument_points_to_exog_vc():
    """A user coming from MixedLM tries groups=: the error says what to use instead."""
    y = np.arange(12.0) % 5
    kin = np.kron(np.eye(4), np.full((3, 3), 0.25)) + 0.25 * np.eye(12)
    with pytest.raises(TypeError, match=r"exog_vc=\{'household': labels\}"):
        KinshipMixedLM(y, np.ones((12, 1)), kinship=kin, groups=np.arange(12) // 3)


@pytest.mark.parametrize("formula", ["0 + C(household)", "C(household) - 1", "0 + household",
                                     "0 + C(n)", "0 + C(household):C(n)", "0 + x",
                                     "C(household)", "0 + C(household, Sum)"])
def test_vc_design_is_patsys_design(formula):
    """vc_formula designs equal patsy's dmatrix; indicator designs come back as their levels
    (a categorical of patsy's column names, in its column order) without the dense design."""
    import patsy

    from statsmodels_kinship._components import vc_design

    df = pd.DataFrame({"household": ["b", "a", "c", "a", "A]", "b"],
                       "x": [1.0, 2, 3, 4, 5, 6], "n": [3, 1, 2, 1, 10, 3]},
                      index=list("uvwxyz"))
    ref = patsy.dmatrix(formula, df, return_type="dataframe")
    got = vc_design("h", formula, df)
    if isinstance(got, pd.Series):
        assert list(got.cat.categories) == list(ref.columns)
        assert got.index.equals(df.index)
        dummies = pd.get_dummies(got).astype(float).reindex(columns=ref.columns)
        np.testing.assert_array_equal(dummies.to_numpy(), ref.to_numpy())
    else:
        pd.testing.assert_frame_equal(got, ref)


def test_vc_design_errors():
    from statsmodels_kinship._components import vc_design

    df = pd.DataFrame({"household": [None, "a", "b"]})
    with pytest.raises(ValueError, match="C\\(household\\) has 1 missing values"):
        vc_design("household", "0 + C(household)", df)
    with pytest.raises(ValueError, match="cannot be evaluated on the data"):
        vc_design("household", "0 + C(hh)", df)
    with pytest.raises(TypeError, match="must be a formula string"):
        vc_design("household", 3, df)
