"""The one-dimensional search of the kinship model (``_spectral.maximize_ratio``), shared by
the fit, the bootstrap, the profile intervals and the scan: its rules on batches, its last
resorts, and the derivatives it is given by ``ProfiledLikelihood``."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats

from statsmodels_kinship._spectral import (
    DELTA_LOG_MAX,
    ProfiledLikelihood,
    RatioCriterion,
    _Curve,
    delta_scale,
    maximize_ratio,
)

FAMILY = np.array([[2, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]) / 4.0


def problem(seed, n=80, s_k2=1.0, s_e2=1.0, grm=True):
    rng = np.random.default_rng(seed)
    if grm:
        g = rng.normal(size=(n, 3 * n))
        kinship = g @ g.T / g.shape[1]
    else:
        kinship = np.kron(np.eye(n // 4), FAMILY)
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    v = s_k2 * kinship + s_e2 * np.eye(n)
    y = x @ [1.0, 0.5] + rng.multivariate_normal(np.zeros(n), v)
    return kinship, x, y


def profiled(kinship, x, y):
    lam, u = np.linalg.eigh(kinship)
    return ProfiledLikelihood(np.clip(lam, 0, None), u.T @ x, u.T @ y)


@pytest.mark.parametrize("grm", [True, False])  # distinct eigenvalues, or a few groups
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("held", [None, ("residual", 0.8), ("kinship", 0.6)])
def test_derivatives_match_finite_differences(reml, held, grm):
    curve = _Curve(profiled(*problem(1, grm=grm)), reml, held)
    for d in (0.05, 0.4, 3.0):
        f, f1, f2 = (v[0] for v in curve.derivatives(np.array([d]), None))
        assert f == pytest.approx(curve.values(np.array([d]), None)[0], rel=1e-13)
        assert f == pytest.approx(curve.grid_values(np.array([d]), None)[0, 0], rel=1e-12)
        h = 1e-5 * d
        plus, minus = (curve.derivatives(np.array([d + s]), None) for s in (h, -h))
        assert_allclose(f1, (plus[0][0] - minus[0][0]) / (2 * h), rtol=1e-7, atol=1e-7)
        assert_allclose(f2, (plus[1][0] - minus[1][0]) / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("reml", [True, False])
def test_held_maxima_are_maxima(reml):
    """Along s_e^2 = c (and s_k^2 = c) the maximum over delta equals a brute-force one."""
    prof = profiled(*problem(2))
    dof = prof.n - prof.p if reml else prof.n
    for kind, c in (("residual", 0.7), ("residual", 1.6), ("kinship", 0.4), ("kinship", 1.5)):
        delta, llf, info = prof.maximize(reml, held=(kind, c))
        assert info["converged"] and info["boundary"] is None

        def loglike(t):
            d = np.exp(t)
            rss, logdet = prof.parts(d, reml, order=0)
            s = c if kind == "residual" else c / d
            return -0.5 * (dof * np.log(2 * np.pi * s) + rss[0] / s + logdet[0])

        ts = np.linspace(-8, 8, 801)
        t0 = ts[np.argmax([loglike(t) for t in ts])]
        best = optimize.minimize_scalar(lambda t: -loglike(t), bounds=(t0 - 0.03, t0 + 0.03),
                                        method="bounded", options={"xatol": 1e-10})
        assert_allclose(llf, -best.fun, rtol=1e-12)
        assert_allclose(np.log(delta), best.x, atol=1e-6)


def test_held_residual_against_the_normal_density():
    """ML at s_e^2 = c, maximised over s_k^2: the MVN log-density with GLS means."""
    kinship, x, y = problem(3, n=40)
    prof = profiled(kinship, x, y)
    c = 0.9
    delta, llf, _ = prof.maximize(False, held=("residual", c))
    v = c * (delta * kinship + np.eye(len(y)))
    vi = np.linalg.inv(v)
    b = np.linalg.solve(x.T @ vi @ x, x.T @ vi @ y)
    assert_allclose(llf, stats.multivariate_normal(x @ b, v).logpdf(y), rtol=1e-10)


def batch_criterion(profs, reml):
    """The criteria of several ProfiledLikelihood problems as one batch."""
    curves = [_Curve(p, reml) for p in profs]

    def grid_values(deltas, rows):
        return np.concatenate([curves[r].grid_values(deltas, None) for r in rows])

    def values(delta, rows):
        return np.array([curves[r].values(delta[i:i + 1], None)[0]
                         for i, r in enumerate(rows)])

    def derivs(delta, rows):
        parts = [curves[r].derivatives(delta[i:i + 1], None) for i, r in enumerate(rows)]
        return tuple(np.array([p[k][0] for p in parts]) for k in range(3))

    return RatioCriterion(grid_values, values, lambda lo, hi: derivs)


@pytest.mark.parametrize("reml", [True, False])
def test_a_batch_is_searched_as_each_problem_alone(reml):
    """Interior maxima, delta = 0 and s_e^2 = 0 (the end of the extended grid) in one
    batch: every problem gets what ProfiledLikelihood.maximize gives it alone."""
    kinship = problem(4, n=60)[0]
    rng = np.random.default_rng(3)
    lam, u = np.linalg.eigh(kinship)
    x = np.column_stack([np.ones(60), rng.normal(size=60)])
    profs = []
    for s_k2, s_e2 in [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (3.0, 0.2), (2.0, 0.5)]:
        y = rng.multivariate_normal(np.zeros(60), s_k2 * kinship + s_e2 * np.eye(60))
        profs.append(ProfiledLikelihood(lam, u.T @ x, u.T @ y))
    found = maximize_ratio(batch_criterion(profs, reml), len(profs), delta_scale(lam))
    alone = [p.maximize(reml) for p in profs]
    assert_allclose(found.delta, [a[0] for a in alone], rtol=1e-12)
    assert_allclose(-0.5 * found.value, [a[1] for a in alone], rtol=1e-13)
    assert found.converged.all()
    kinds = {a[2]["boundary"] for a in alone}
    assert "kinship" in kinds and "residual" in kinds  # both boundaries are exercised
    at_end = np.isfinite(found.slope)
    assert_allclose(found.delta[at_end], np.exp(DELTA_LOG_MAX) / delta_scale(lam))


def analytic(shape):
    """A criterion of t = log(delta) given by ``shape(t) -> (F, F', F'')``, for every row."""
    def derivs(delta, rows):
        with np.errstate(divide="ignore", invalid="ignore"):  # at delta = 0: f = inf
            t = np.log(delta)
            f, f1, f2 = shape(t)
            return f, f1 / delta, (f2 - f1) / delta ** 2

    return RatioCriterion(lambda deltas, rows: np.tile(derivs(deltas, None)[0], (len(rows), 1)),
                          lambda delta, rows: derivs(delta, rows)[0], lambda lo, hi: derivs)


def test_several_extrema_next_to_the_best_point():
    """f' does not change sign as expected between the best grid point (t = 0) and its
    neighbour: bounded Brent on f between the neighbours finds the minimum."""
    def shape(t):
        z = (t - 0.45) / 0.05
        bump = 0.1 * np.exp(-z ** 2)
        return ((t - 0.1) ** 2 + bump, 2 * (t - 0.1) - 2 * z / 0.05 * bump,
                2 + (4 * z ** 2 - 2) / 0.05 ** 2 * bump)

    crit = analytic(shape)
    assert crit.derivatives(None, None)(np.exp([0.5]), None)[1][0] < 0  # decreasing at hi
    found = maximize_ratio(crit, 1, 1.0)
    t = optimize.minimize_scalar(lambda t: shape(t)[0], bounds=(-0.5, 0.3),
                                 method="bounded", options={"xatol": 1e-12}).x
    assert found.converged[0]
    assert_allclose(np.log(found.delta[0]), t, atol=1e-7)


def test_newton_in_log_delta_and_from_zero():
    """A minimum between grid points, and one below the first positive grid point (the
    bracket starts at 0: Newton in delta, then in log delta)."""
    for t_min in (0.23, -9.0):
        found = maximize_ratio(analytic(lambda t: ((t - t_min) ** 2, 2 * (t - t_min),
                                                   2 + 0 * t)), 3, 1.0)
        assert_allclose(np.log(found.delta), t_min, rtol=1e-12)
        assert np.isnan(found.slope).all() and found.converged.all()
