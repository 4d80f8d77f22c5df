r"""Linear mixed model with a known kinship (relatedness) matrix.

The model is

.. math::

    y = X b + g + e, \qquad g \sim N(0, \sigma_k^2 K), \qquad e \sim N(0, \sigma_e^2 I)

for a known ``n x n`` kinship or relationship matrix ``K``. It is fitted exactly through the
eigendecomposition of ``K`` (computed once per model, block by block for independent
families); the fixed effects and the residual variance are profiled out and the single ratio
``delta = s_k^2 / s_e^2`` is searched globally.
"""
import copy
import warnings
from numbers import Real

import numpy as np
import pandas as pd
from patsy import DesignInfo, PatsyError
from scipy import linalg, sparse, stats
from statsmodels.base import model as base
from statsmodels.base import wrapper as wrap
from statsmodels.iolib import summary2
from statsmodels.stats.contrast import ContrastResults
try:  # statsmodels >= 0.15
    from statsmodels.tools._decorators import cache_readonly
except ImportError:  # pragma: no cover - statsmodels < 0.15
    from statsmodels.tools.decorators import cache_readonly
from statsmodels.tools.sm_exceptions import CollinearityWarning, ConvergenceWarning

from . import _prediction, bootstrap, inference
from ._components import (
    build_components,
    check_relationships,
    engine_class,
    kinship_dict,
    needs_engine,
    vc_design,
)
from ._engine import (
    CovarianceStructure,
    SpectralWoodburyLikelihood,
    variance_shares,
    vcomp_covariance,
)
from ._spectral import (
    IDENTIFIABILITY_RTOL,
    LOG_2PI,
    KinshipDecomposition,
    ProfiledLikelihood,
    aliased_columns,
    chol_inverse,
    profiled_loglike,
    residual_spectrum,
    serial_blas,
    spectrum_is_spread,
)
from ._validation import (
    all_rows_missing,
    check_alpha,
    check_bool,
    check_choice,
    check_endog,
    check_endog_shape,
    check_kinship,
    data_labels,
    is_labelled,
    match_kinship,
)
from .exceptions import BinaryTraitWarning, IdentifiabilityWarning, warn_at_user

__all__ = ["KinshipMixedLM", "KinshipMixedLMResults", "KinshipMixedLMResultsWrapper"]

_VCOMP_NAMES = ["kinship", "residual"]
#: A component estimated at 0 whose score (per unit of its share) is below this is on a flat
#: direction of the likelihood: it takes part in the identifiability check.
_FLAT_SCORE = 1e-6
#: Fewer residual degrees of freedom (n - rank(exog)) than this cannot estimate the two
#: variance components (two contrasts would be fitted exactly by two variances)
_MIN_RESID_DF = 3


#: y is in the column space of X when its OLS residual is below this fraction of its norm
#: (exactly in it, the residual is rounding, ~1e-15; an offset of 1e8 sd(y) gives ~1e-8)
_SPAN_RTOL = 1e-12


def _centre(endog, exog):
    """OLS coefficients ``b0`` of ``endog`` on ``exog`` (full column rank) and the residual
    ``endog - exog b0``. A residual that is zero to working precision (``endog`` a linear
    combination of the columns of ``exog``) is an error.

    Corrected semi-normal equations (Cholesky of the Gram matrix of the equilibrated columns,
    refined twice: about 8 times cheaper than a QR for p = 131), a QR when the columns are
    too close to dependent for that. ``b0`` need not be exact: the model is fitted to the
    residual as computed from the ``b0`` returned.
    """
    y = np.asarray(endog, dtype=float)
    n, p = exog.shape
    if p == 0:
        return np.zeros(0), y.copy()
    norms = np.linalg.norm(exog, axis=0)
    xs = exog / norms
    try:
        chol = linalg.cho_factor(xs.T @ xs, lower=True, check_finite=False)
        diag = np.abs(np.diag(chol[0]))
        if not diag.min() > 1e-5 * diag.max():  # condition number above ~1e5
            raise linalg.LinAlgError("ill-conditioned")

        def solve(v):
            return linalg.cho_solve(chol, xs.T @ v, check_finite=False)
    except linalg.LinAlgError:
        q, r = linalg.qr(xs, mode="economic", check_finite=False)

        def solve(v):
            return linalg.solve_triangular(r, q.T @ v, check_finite=False)
    b = np.zeros(p)
    resid = y
    for _ in range(3):  # each pass removes what rounding left in the column space
        b = b + solve(resid)
        resid = y - xs @ b
    b0 = b / norms
    resid = y - exog @ b0
    norm_y, norm_r = np.linalg.norm(y), np.linalg.norm(resid)
    if norm_r <= _SPAN_RTOL * norm_y:
        raise ValueError(
            "endog is a linear combination of the columns of exog: the residual sum of "
            f"squares is zero (OLS residual norm {norm_r:.3g}, {norm_r / norm_y:.3g} times "
            "the norm of endog), so there is no variance left to decompose")
    return b0, resid


def _ridge(info, names, rtol=1e-7):
    """The components that the data cannot separate, from the observed information of the
    variance components (those not at 0, and the residual): None when identified, else a
    message naming the components along the direction of (near) zero information."""
    if len(names) < 2:
        return None
    d = np.sqrt(np.abs(np.diag(info)))
    if not np.all(d > 0):
        return (f"the likelihood is flat in {', '.join(n for n, v in zip(names, d) if v == 0)}")
    corr = info / np.outer(d, d)
    lam, vec = np.linalg.eigh(corr)
    if lam[0] > rtol * max(lam[-1], 1.0):
        return None
    along = [n for n, v in zip(names, vec[:, 0]) if abs(v) > 0.1]
    return (f"the likelihood is flat along a direction that trades off {', '.join(along)} "
            f"(smallest eigenvalue of the scaled information matrix {lam[0]:.2g}): their "
            "split is not determined by the data")


class KinshipMixedLM(base.LikelihoodModel):
    __doc__ = r"""
    Linear mixed model with a known kinship matrix.

    Fits ``y = X b + g + e`` with ``g ~ N(0, s_k^2 K)`` and ``e ~ N(0, s_e^2 I)`` by REML
    (default) or maximum likelihood, exactly, through the spectral decomposition of ``K``.

    Parameters
    ----------
    endog : array_like, shape (n,)
        The response (a quantitative trait).
    exog : array_like, shape (n, k)
        The fixed-effects design. An intercept is not added. Rank-deficient designs are
        allowed: columns that are linear combinations of earlier columns are detected (R's
        rule, as in ``lm`` and lme4), reported in a :class:`CollinearityWarning`, left out of
        the fit and reported as aliased (NaN) in the results.
    kinship : ndarray, scipy.sparse matrix, pandas.DataFrame or SparseKinship
        Known kinship (coefficients, diagonal 0.5 for non-inbred individuals) or relationship
        matrix (diagonal near 1); symmetric positive semidefinite (to a tolerance set by the
        precision of its values: float32 GRMs are accepted), possibly singular. Labels are
        never ignored:

        * a DataFrame whose index and columns are individual IDs, or the labelled sparse
          matrix of ``kinship_from_pedigree(..., sparse=True)``, is matched by ID to the
          index of pandas data (exog's, else endog's, as statsmodels labels rows); K may hold
          more individuals. With numpy data, or pandas data whose index is the default
          ``0, ..., n-1``, it is refused (pass the data indexed by the IDs, or
          ``kinship.to_numpy()`` to match by position), unless its labels are ``0, ..., n-1``
          in order;
        * an array or sparse matrix is matched by position; with data indexed by IDs (not the
          default ``0, ..., n-1``) a :class:`~statsmodels_kinship.exceptions.LabelWarning`
          says so.

        A sparse matrix stays sparse: its independent blocks (families) are decomposed one by
        one, as dense matrices (a block too large for the memory available is refused up
        front).

        Several relationship components: a dict ``{name: matrix}`` (e.g. ``{"additive": A,
        "dominance": D}``). A relationship may also be given by its sparse inverse over a
        whole pedigree (``inverse_relationship_matrix(ped)``, an ``InverseRelationship``):
        records are matched to the pedigree's animals by ID, and the fit uses Henderson's
        mixed model equations with a sparse factorization (large connected pedigrees with
        repeated records and crossed factors, as in animal breeding); its BLUPs cover every
        animal of the pedigree.
    missing : {'none', 'drop', 'raise'}
        ``'drop'`` drops rows with NaN in endog or exog together with the matching rows and
        columns of the kinship.
    hasconst : None or bool
        As in statsmodels: whether exog holds a constant (detected when None).
    exog_vc : dict, optional
        Grouping (iid) components ``{name: labels or design}``: one label per row (a
        household, a herd, a dam), or a design matrix whose columns get iid effects (as
        statsmodels MixedLM's ``exog_vc``). ``from_formula`` takes them as ``vc_formula``.
    individual : array_like, optional
        The individual of each row, for repeated records (several rows per individual):
        relationship components apply to individuals. Default: the rows' labels (the index
        of pandas data), one individual per row.

    Attributes
    ----------
    decomposition : KinshipDecomposition
        The eigendecomposition of ``K``, reused by every refit.
    aliased : ndarray of bool
        Columns of exog that are linear combinations of earlier columns.
    rank : int
        Rank of exog.

    Notes
    -----
    After rotation by the eigenvectors ``U`` of ``K = U diag(lam) U'`` the covariance is
    diagonal, ``s_e^2 diag(delta lam + 1)`` with ``delta = s_k^2 / s_e^2``. For each ``delta``
    the fixed effects are the GLS estimate and ``s_e^2`` has a closed form, so the
    (restricted) likelihood is maximised over ``delta >= 0`` alone: a grid over ``log delta``
    together with ``delta = 0``, then safeguarded Newton on the score in the best bracket
    (``_spectral.maximize_ratio``, the search the bootstrap, the scan and the profiles share).
    ``delta = 0`` (no kinship variance) is a valid estimate. Several components (a dict of
    kinships, ``exog_vc``, repeated records) are fitted by the engine's block likelihood
    instead (``_engine``; see the user guide's "Variance components").

    Log-likelihood conventions (the same as lme4): under REML, ``llf`` is the restricted
    log-likelihood

    .. math::

        -\tfrac12\left[(n-p)\log 2\pi + \log|V| + \log|X'V^{-1}X| + r'V^{-1}r\right]

    which equals ``-1/2`` times lme4's REML criterion (it omits ``log|X'X|``); under ML it is
    the Gaussian log-likelihood, lme4's ``logLik``. ``p`` is the rank of exog.

    References
    ----------
    Bates, D., Maechler, M., Bolker, B., Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. Journal of Statistical Software 67(1).

    Lippert, C. et al. (2011). FaST linear mixed models for genome-wide association studies.
    Nature Methods 8, 833-835.

    Ziyatdinov, A. et al. (2018). lme4qtl: linear mixed models with flexible covariance
    structure for genetic studies of related individuals. BMC Bioinformatics 19, 68.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels_kinship as smk
    >>> rng = np.random.default_rng(0)
    >>> fam = np.kron(np.eye(50), np.full((4, 4), 0.25)) + np.eye(200) * 0.25
    >>> g = rng.multivariate_normal(np.zeros(200), 2 * fam)
    >>> x = np.column_stack([np.ones(200), rng.normal(size=200)])
    >>> y = x @ [1.0, 0.5] + g + rng.normal(size=200)
    >>> res = smk.KinshipMixedLM(y, x, kinship=fam).fit()
    >>> res.params.shape
    (2,)
    """

    def __init__(self, endog, exog, kinship=None, missing="none", hasconst=None,
                 exog_vc=None, individual=None, **kwargs):
        # internal (_fit_zeros): the decomposition of this very kinship, reused
        decomposition = kwargs.pop("_decomposition", None)
        row_labels = kwargs.pop("_row_labels", None)  # from_formula: the data's index
        # from_formula: the kinship as given (before matching to the rows), the vc_formula
        # and the column of individual IDs, for predictions of new rows (get_prediction)
        sources = kwargs.pop("_relationships", None)
        self._vc_formulas = dict(kwargs.pop("_vc_formula", None) or {})
        self._individual_column = kwargs.pop("_individual_column", None)
        if "groups" in kwargs or "re_formula" in kwargs:
            raise TypeError(
                "KinshipMixedLM has no groups= or re_formula= (statsmodels MixedLM's "
                "arguments): give a grouping component as exog_vc={'household': labels} "
                "(from_formula: vc_formula={'household': '0 + C(household)'}), and repeated "
                "records of individuals as individual=ids")
        relmats = kinship_dict(kinship)
        #: the labelled relationship matrices as given (they may hold individuals without
        #: records, whose values get_prediction predicts); None for unlabelled ones
        self._relationship_sources = {
            name: k if is_labelled(k) else None
            for name, k in (relmats if sources is None else sources).items()}
        exog_vc = dict(exog_vc or {})
        if not relmats and not exog_vc:
            raise TypeError("kinship must be a matrix (or a dict of matrices), got None: the "
                            "model needs a kinship or a grouping component (exog_vc= or "
                            "vc_formula=)")
        general = needs_engine(relmats, exog_vc, individual)
        if not general:
            (self.component_name, kinship), = relmats.items()
        if individual is not None and not general:  # one record per individual: the labels
            endog = pd.Series(np.asarray(endog), index=pd.Index(individual),
                              name=getattr(endog, "name", None))
            if isinstance(exog, pd.DataFrame):
                exog = exog.set_axis(endog.index)
            if "missing_idx" in kwargs:
                raise ValueError("individual= with one record per individual: pass the IDs as "
                                 "the data's index instead")
        self._check_kwargs(kwargs, keys_extra=["design_info"], error=True)
        check_choice(missing, "missing", ("none", "drop", "raise"))
        n_rows = check_endog_shape(endog)
        if exog is not None:
            exog_shape = np.shape(exog)
            if len(exog_shape) == 0 or exog_shape[0] != n_rows:
                raise ValueError(f"exog has shape {exog_shape} but endog has {n_rows} rows: "
                                 "give one row of exog per observation")
            if len(exog_shape) == 2 and exog_shape[1] == 0:
                raise ValueError("exog has no columns (a formula such as 'y ~ 0' or 'y ~ -1'?):"
                                 " the model needs at least one fixed effect; add an intercept "
                                 "(a column of ones)")
        # from_formula has already dropped rows with missing values (missing_idx masks the
        # rows of the original data, to which it has matched the kinship)
        from_formula = "missing_idx" in kwargs
        missing_idx = kwargs.get("missing_idx")
        nobs = len(missing_idx) if missing_idx is not None else n_rows
        if n_rows == 0 or (missing == "drop" and not from_formula
                           and all_rows_missing(endog, exog)):
            raise ValueError("no observations left after dropping rows with missing values "
                             f"(all {nobs} rows have NaN in endog or exog)" if nobs else
                             "endog has no observations")
        if general:
            self._init_components(endog, exog, relmats, exog_vc, individual, missing,
                                  hasconst, row_labels, kwargs)
            return
        self.structure = None
        self._engine = None
        self.component_names = [self.component_name]
        kinship = match_kinship(kinship, None if from_formula else data_labels(endog, exog),
                                nobs)
        kinship = check_kinship(kinship, nobs)
        is_sparse = sparse.issparse(kinship)
        # A dense K travels with the data so that statsmodels drops its rows *and* columns
        # together with missing rows (as GLS does with sigma). statsmodels cannot do that with
        # a sparse matrix, so a sparse K is subset below with the rows statsmodels dropped.
        with serial_blas():  # statsmodels' constant detection runs small SVDs
            super().__init__(endog, exog, missing=missing, hasconst=hasconst,
                             kinship=None if is_sparse else kinship, **kwargs)
        if is_sparse:
            keep = np.setdiff1d(np.arange(kinship.shape[0]),
                                getattr(self.data, "missing_row_idx", None) or [])
            self.kinship = kinship[keep][:, keep] if len(keep) < kinship.shape[0] else kinship
        self._check_design()
        self.decomposition = (KinshipDecomposition(self.kinship) if decomposition is None
                              else decomposition)
        self.n_blocks = self.decomposition.n_blocks
        self.mean_kinship_diagonal = float(np.mean(self.kinship.diagonal()))
        exog_kept = self.exog[:, ~self.aliased]
        # Centre y on the design before any cross product: the likelihood and the GLS fit
        # are computed for y - X b0 (b0 the OLS coefficients) and b0 is added back to the
        # fixed effects (GLS is equivariant, the residuals and the likelihood unchanged), so
        # that an offset in y (y + 1e8) or a large mean cannot cancel digits away.
        with serial_blas():
            self._endog_offset, endog_centred = _centre(self.endog, exog_kept)
        self._exog_rot = self.decomposition.rotate(exog_kept)
        #: ``U'(y - X b0)``: the rotated response centred on the design (b0 =
        #: ``_endog_offset``, the OLS coefficients of the kept columns), so that
        #: ``U'y = _endog_rot + _exog_rot @ _endog_offset``
        self._endog_rot = self.decomposition.rotate(endog_centred)
        self._profile = ProfiledLikelihood(self.decomposition.eigenvalues, self._exog_rot,
                                           self._endog_rot)
        # _batch_refits: the bootstrap's refit set-ups, made on first use
        # (statsmodels_kinship.bootstrap._batch_refit)
        self._data_attr.extend(["kinship", "decomposition", "_exog_rot", "_endog_rot",
                                "_profile", "_batch_refits", "_relationship_sources"])
        self._warn_binary()

    def _init_components(self, endog, exog, relmats, exog_vc, individual, missing, hasconst,
                         labels, kwargs):
        """The model with several variance components (or repeated records) on the engine's
        block likelihood (:class:`~statsmodels_kinship._engine.BlockLikelihood`)."""
        if labels is None:
            labels = data_labels(endog, exog)
        n_orig = len(labels) if labels is not None else np.shape(endog)[0]
        if individual is not None and np.ndim(individual) != 1:
            raise ValueError("individual must be one ID per row (a 1-d array or Series)")
        with serial_blas():
            super().__init__(endog, exog, missing=missing, hasconst=hasconst, **kwargs)
        missing_idx = kwargs.get("missing_idx")
        if missing_idx is not None:
            keep = ~np.asarray(missing_idx, dtype=bool)
        else:
            keep = np.ones(n_orig, dtype=bool)
            keep[list(getattr(self.data, "missing_row_idx", None) or [])] = False

        def rows(values):
            if isinstance(values, (pd.Series, pd.DataFrame)):
                return values.iloc[keep] if len(values) == n_orig else values
            if sparse.issparse(values):
                return values.tocsr()[keep] if values.shape[0] == n_orig else values
            arr = np.asarray(values)
            return arr[keep] if arr.ndim and arr.shape[0] == n_orig else arr

        self._check_design()
        n = self.exog.shape[0]
        components, self.individuals = build_components(
            relmats, {k: rows(v) for k, v in exog_vc.items()},
            None if individual is None else rows(np.asarray(individual)),
            None if labels is None else pd.Index(labels)[keep], n)
        # engine: dense blocks, the eigendecomposition of one K with Woodbury's identity, or
        # the sparse mixed-model equations for a relationship given by its inverse
        # (_components.engine_class)
        self.structure = CovarianceStructure(n, components)
        engine = engine_class(components, self.structure)
        if engine is not SpectralWoodburyLikelihood:  # which checks K as it decomposes it
            check_relationships(components)
        self.component_names = list(self.structure.names)
        self.component_name = None
        self.kinship = None
        self.decomposition = None
        self._profile = None
        self.n_blocks = self.structure.n_blocks
        kinds = [c.kind for c in components]
        self._first_relationship = (kinds.index("relationship") if "relationship" in kinds
                                    else None)
        self._component_scales = self.structure.mean_diagonals
        self.mean_kinship_diagonal = (float(self._component_scales[self._first_relationship])
                                      if self._first_relationship is not None else np.nan)
        exog_kept = self.exog[:, ~self.aliased]
        with serial_blas():
            self._endog_offset, endog_centred = _centre(self.endog, exog_kept)
            self._engine = engine(self.structure, exog_kept, endog_centred)
        self._data_attr.extend(["structure", "_engine", "_relationship_sources"])
        self._warn_binary()

    def _with_exog(self, exog):
        """The same model (several components: the same covariance structure, not built
        again) with another design, for :meth:`_fit_zeros`."""
        exog = np.asarray(exog, dtype=float)
        model = KinshipMixedLM.__new__(KinshipMixedLM)
        model.__dict__.update(self.__dict__)
        model.data = copy.copy(self.data)
        model.data._cache = {}  # not shared with this model's data
        model.data.exog = model.data.orig_exog = exog
        model.data.xnames = None
        model.exog = exog
        model._cache = {}
        model._check_design()
        model.k_constant = int(np.any(np.all(exog == 1, axis=0)))
        model.df_model = float(model.rank - model.k_constant)
        exog_kept = exog[:, ~model.aliased]
        with serial_blas():
            model._endog_offset, endog_centred = _centre(model.endog, exog_kept)
            model._engine = self._engine.with_exog(exog_kept, endog_centred)
        return model

    def _check_design(self):
        """Checks of endog and exog after statsmodels' data handling; aliased columns."""
        check_endog(self.endog)
        if self.exog is None or self.exog.ndim != 2:
            raise ValueError("exog must be a 2-d design matrix (add a column of ones for an "
                             "intercept)")
        if not np.all(np.isfinite(self.exog)):
            raise ValueError("exog contains NaN or infinite values; use missing='drop' to drop "
                             "those rows (and the matching rows and columns of the kinship)")

        with serial_blas():
            self.aliased = aliased_columns(self.exog)
        self.rank = int((~self.aliased).sum())
        self.nobs = float(self.exog.shape[0])
        self.df_model = float(self.rank - self.k_constant)
        self.df_resid = self.nobs - self.rank
        if self.df_resid <= 0:
            raise ValueError(f"no residual degrees of freedom: {int(self.nobs)} observations "
                             f"and rank(exog) = {self.rank}")
        if self.aliased.any():
            names = [self.exog_names[i] for i in np.flatnonzero(self.aliased)]
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            warn_at_user(
                f"exog is rank deficient (rank {self.rank} of {len(names) + self.rank} "
                f"columns): {len(names)} columns are linear combinations of earlier columns "
                f"and are aliased, their coefficients reported as NaN: {shown}",
                CollinearityWarning)

    def _warn_binary(self):
        values = np.unique(self.endog)
        if values.size == 2:
            warn_at_user(
                f"endog takes only two values ({values[0]:g} and {values[1]:g}): a linear mixed "
                "model fitted to a binary trait estimates h2 on the observed (0/1) scale, "
                "which depends on the prevalence; results.h2_liability(prevalence) converts "
                "it to the liability scale", BinaryTraitWarning)

    def __getstate__(self):
        # the bootstrap's refit set-ups (as large as the decomposition) are not pickled: they
        # are made again on first use
        state = self.__dict__.copy()
        state.pop("_batch_refits", None)
        return state

    @classmethod
    def from_formula(cls, formula, data, kinship=None, subset=None, drop_cols=None, *args,
                     vc_formula=None, individual=None, **kwargs):
        """
        Create a model from a formula and a DataFrame.

        Parameters
        ----------
        formula : str
            A patsy formula, e.g. ``"trait ~ SNP1 + SNP3"``.
        data : pandas.DataFrame
            The data. With a labelled ``kinship`` its index holds the individual IDs (or the
            ``individual`` column does).
        kinship : ndarray, scipy.sparse matrix, DataFrame, SparseKinship, or dict of them
            See :class:`KinshipMixedLM`. A DataFrame (or SparseKinship) is matched to the
            individual IDs before rows with missing values are dropped; an array by position
            (with a LabelWarning when ``data.index`` holds IDs rather than the default ``0,
            ..., n-1``). A dict ``{name: matrix}`` gives several relationship components.
        subset : array_like, optional
            Rows of ``data`` to use (boolean mask or labels).
        drop_cols : list of str, optional
            Columns to drop from the design.
        vc_formula : dict of str, optional
            Grouping (iid) components, as statsmodels MixedLM's: ``{"household": "0 +
            C(household)"}``; each formula gives the design of its component's effects.
        individual : str or array_like, optional
            The column of ``data`` (or the values) holding each record's individual, for
            repeated records; default: ``data.index``.
        *args, **kwargs
            Passed to the model (``exog_vc`` among them); ``missing`` defaults to ``'drop'``
            as in statsmodels.

        Returns
        -------
        KinshipMixedLM
        """
        if subset is not None:
            data = data.loc[subset]
        labelled = isinstance(data, pd.DataFrame)
        relmats = kinship_dict(kinship)
        individual_column = None
        if isinstance(individual, str):
            if not labelled or individual not in data.columns:
                raise ValueError(f"individual={individual!r} is not a column of the data")
            individual_column, individual = individual, data[individual]
        # kept for get_prediction: the kinship as given, the vc formulas, the ID column
        kwargs.update(_relationships=relmats, _vc_formula=vc_formula,
                      _individual_column=individual_column)
        exog_vc = dict(kwargs.pop("exog_vc", None) or {})
        for name, vcf in (vc_formula or {}).items():
            if name in exog_vc:
                raise ValueError(f"component {name!r} is given both in vc_formula and exog_vc")
            exog_vc[name] = vc_design(name, vcf, data)
        if needs_engine(relmats, exog_vc, individual):
            return super().from_formula(formula, data, *args, drop_cols=drop_cols,
                                        kinship=relmats, exog_vc=exog_vc,
                                        individual=individual,
                                        _row_labels=data.index if labelled else None,
                                        **kwargs)
        if individual is not None:  # one record per individual: the IDs label the rows
            data = data.set_axis(pd.Index(individual))
        (name, kinship), = relmats.items()
        kinship = match_kinship(kinship, data.index if labelled else None,
                                len(data) if labelled else None)
        return super().from_formula(formula, data, *args, drop_cols=drop_cols,
                                    kinship={name: kinship}, **kwargs)

    # -- likelihood ---------------------------------------------------------------------

    @property
    def vcomp_names(self):
        """Names of the variance components: each component's, then ``"residual"``."""
        return list(self.component_names) + ["residual"]

    def _split_vcomp(self, params):
        params = np.asarray(params, dtype=float)
        k = self.exog.shape[1]
        m = len(self.vcomp_names)
        if params.shape != (k + m,):
            raise ValueError(f"params must hold the {k} fixed effects followed by the "
                             f"variances {', '.join(self.vcomp_names)} ({k + m} values), got "
                             f"shape {params.shape}")
        if m == 2:
            return params[:k], params[k], params[k + 1]
        return params[:k], params[k:-1], params[-1]

    def loglike(self, params, reml=True):
        """
        Log-likelihood (REML: restricted log-likelihood) at given parameters.

        Parameters
        ----------
        params : array_like, shape (k + 2,)
            The k fixed effects (entries of aliased columns are ignored), then the kinship
            variance ``s_k^2`` and the residual variance ``s_e^2``. Under REML the restricted
            likelihood does not depend on the fixed effects.
        reml : bool
            Restricted (default) or full maximum likelihood.

        Returns
        -------
        float
            Under REML, ``-1/2`` times lme4's REML criterion; under ML, lme4's ``logLik``.
        """
        fe, s_k2, s_e2 = self._split_vcomp(params)
        if np.any(np.asarray(s_k2) < 0) or s_e2 < 0:
            return -np.inf
        if self._engine is not None:
            return self._loglike_components(fe, np.atleast_1d(np.asarray(s_k2, dtype=float)),
                                            s_e2, reml)
        v = s_k2 * self.decomposition.eigenvalues + s_e2
        if np.any(v <= 0):
            return -np.inf
        n, p = self._exog_rot.shape
        if reml:
            xv = self._exog_rot / v[:, None]
            chol = linalg.cho_factor(self._exog_rot.T @ xv, lower=True)
            b = linalg.cho_solve(chol, xv.T @ self._endog_rot)
            logdet_a = 2 * np.log(np.diag(chol[0])).sum()
            dof, extra = n - p, logdet_a
        else:  # the rotated response is centred on the design by _endog_offset
            b = np.asarray(fe)[~self.aliased] - self._endog_offset
            dof, extra = n, 0.0
        r = self._endog_rot - self._exog_rot @ b
        return -0.5 * (dof * LOG_2PI + np.log(v).sum() + extra + (r * r / v).sum())

    def _loglike_components(self, fe, s2, s_e2, reml):
        """:meth:`loglike` of a model on the block likelihood: from the engine's GLS solution
        at ``gamma = s2 / s_e2`` (``log|V| = n log s_e^2 + log|H|``, ``X'V^-1X = A / s_e^2``;
        under ML ``r'H^-1 r = RSS + d'A d`` with ``d`` the difference from the GLS estimate)."""
        if s_e2 <= 0:
            return -np.inf
        sol = self._engine.solve(s2 / s_e2)
        n, p = self._engine.n, self._engine.p
        if reml:
            val = ((n - p) * (LOG_2PI + np.log(s_e2)) + sol["logdet_v"] + sol["logdet_a"]
                   + sol["rss"] / s_e2)
        else:
            diff = (np.asarray(fe)[~self.aliased] - self._endog_offset) - sol["params"]
            a = sol["chol_A"] @ sol["chol_A"].T
            val = (n * (LOG_2PI + np.log(s_e2)) + sol["logdet_v"]
                   + (sol["rss"] + diff @ a @ diff) / s_e2)
        return -0.5 * val

    def score(self, params, reml=True):
        """
        Gradient of :meth:`loglike` with respect to ``params``.

        Parameters
        ----------
        params : array_like, shape (k + 2,)
            The fixed effects, then ``s_k^2`` and ``s_e^2`` (as for :meth:`loglike`).
        reml : bool

        Returns
        -------
        ndarray, shape (k + 2,)
            Central finite differences (``statsmodels.tools.numdiff.approx_fprime``); the
            entries of aliased coefficients, and under REML those of all fixed effects (the
            restricted likelihood does not depend on them), are 0.
        """
        from statsmodels.tools.numdiff import approx_fprime

        params = np.asarray(params, dtype=float)
        self._split_vcomp(params)
        reml = check_bool(reml, "reml")
        return approx_fprime(params, lambda p: self.loglike(p, reml=reml), centered=True)

    def hessian(self, params, reml=True):
        """
        Hessian of :meth:`loglike` with respect to ``params`` (fixed effects, ``s_k^2``,
        ``s_e^2``).

        Parameters
        ----------
        params : array_like, shape (k + 2,)
        reml : bool

        Returns
        -------
        ndarray, shape (k + 2, k + 2)
            Finite differences of :meth:`loglike`
            (``statsmodels.tools.numdiff.approx_hess3``) (the fixed-effects block of minus
            its inverse at the ML estimate is ``cov_params``, up to the accuracy of the
            differences). Rows and columns of aliased coefficients (and, under REML, of all
            fixed effects) are 0.
        """
        from statsmodels.tools.numdiff import approx_hess3

        params = np.asarray(params, dtype=float)
        self._split_vcomp(params)
        reml = check_bool(reml, "reml")
        return approx_hess3(params, lambda p: self.loglike(p, reml=reml))

    def loglike_profile(self, delta, reml=True):
        """
        (Restricted) log-likelihood profiled over the fixed effects and ``s_e^2``.

        Parameters
        ----------
        delta : float or array_like
            The variance ratio ``s_k^2 / s_e^2 >= 0``; with several components the ratios
            ``s_j^2 / s_e^2`` of every component, in ``component_names`` order.
        reml : bool

        Returns
        -------
        float
        """
        reml = check_bool(reml, "reml")
        if self._engine is not None:
            gamma = np.atleast_1d(np.asarray(delta, dtype=float))
            if gamma.shape != (len(self.component_names),) or not np.all(
                    np.isfinite(gamma)) or np.any(gamma < 0):
                raise ValueError(f"delta must hold {len(self.component_names)} finite ratios "
                                 f">= 0 ({', '.join(self.component_names)}), got {delta!r}")
            with serial_blas():
                return self._engine.loglike(gamma, reml)
        if isinstance(delta, bool) or not isinstance(delta, Real) or not 0 <= delta < np.inf:
            raise ValueError(f"delta must be a finite number >= 0, got {delta!r}")
        return self._profile.loglike(float(delta), reml)

    def _identifiability_reason(self):
        """Why these data cannot separate the two variance components, or None.

        The restricted likelihood depends on K only through its eigenvalues on the residual
        space of exog (the complement of the column space; see
        :func:`~statsmodels_kinship._spectral.residual_spectrum`). The variance components
        are not identified when those eigenvalues are all equal (to ``IDENTIFIABILITY_RTOL``
        relative: K = I; one family with exchangeable relatedness ``a I + b 11'`` and an
        intercept), when they are all zero, or when fewer than 3 residual degrees of
        freedom are left. Computed once per model, in O(n p^2).

        Returns
        -------
        reason : str or None
        flat : bool
            True when the restricted likelihood is flat along a ridge (the eigenvalues are
            equal or zero), False for too few degrees of freedom or when identified.
        """
        if not hasattr(self, "_identifiability"):
            n, p = self._exog_rot.shape
            reason, flat = None, False
            if n - p < _MIN_RESID_DF:
                reason = (f"too few residual degrees of freedom: n - rank(exog) = {n - p}, "
                          f"and at least {_MIN_RESID_DF} are needed to estimate two variance "
                          "components")
            elif not spectrum_is_spread(self.decomposition.eigenvalues, p):
                with serial_blas():
                    mean, sd = residual_spectrum(self.decomposition.eigenvalues,
                                                 self._exog_rot)
                if not mean > IDENTIFIABILITY_RTOL * self._profile.delta_scale:
                    reason = ("the kinship is zero outside the column space of exog (its "
                              f"mean eigenvalue on the residual space is {mean:.3g}): s_k^2 is "
                              "not identified")
                elif sd <= IDENTIFIABILITY_RTOL * mean:
                    reason = ("the kinship restricted to the residual space of exog has a "
                              f"single distinct eigenvalue a = {mean:.6g} (as for K = I, or "
                              "one family with exchangeable relatedness and an intercept): "
                              "only s_k^2 a + s_e^2 is identified, the split between s_k^2 "
                              "and s_e^2 is arbitrary")
                flat = reason is not None
            self._identifiability = reason, flat
        return self._identifiability

    def predict(self, params, exog=None):
        """
        Marginal mean ``X b`` for the model's rows or for new rows ``exog``.

        Aliased coefficients (NaN) are left out, as R's ``predict.lm`` does for a
        rank-deficient fit: the prediction is exact for rows in the column space of the
        fitted design. This is statsmodels' convention (``results.predict``); the
        conditional prediction of an individual (``x'b`` plus the BLUPs of its random
        effects given every phenotyped record, for relatives without phenotypes too) with
        intervals is ``results.get_prediction(new_rows)``.
        """
        exog = self.exog if exog is None else np.asarray(exog, dtype=float)
        params = np.asarray(params, dtype=float)
        kept = ~self.aliased
        return np.dot(exog[..., kept], params[kept])

    # -- fitting ------------------------------------------------------------------------

    def _check_start_params(self, start_params):
        """``start_params`` as floats: the k fixed effects, optionally followed by the kinship
        and residual variances, or an error naming the expected length."""
        k = self.exog.shape[1]
        m = len(self.vcomp_names)
        start_params = np.asarray(start_params, dtype=float)
        if start_params.shape not in ((k,), (k + m,)):
            raise ValueError(
                f"start_params must hold the {k} fixed effects, optionally followed by the "
                f"variances {', '.join(self.vcomp_names)} ({k} or {k + m} values); got shape "
                f"{start_params.shape}")
        return start_params

    def _check_fit_keywords(self, start_params, method, maxiter, disp, full_output, cov_type,
                            cov_kwds, kinship_ratio):
        """Validate statsmodels' standard keywords of :meth:`fit`; returns the variance
        ratio to hold fixed (``kinship_ratio``, or that of ``start_params`` with
        ``maxiter=0``)."""
        if method is not None:
            check_choice(method, "method", ("bounded",))
        if cov_type != "nonrobust":
            raise ValueError(f"cov_type must be 'nonrobust' (the model-based covariance of the "
                             f"fixed effects); got {cov_type!r}")
        if cov_kwds is not None:
            raise ValueError(f"cov_kwds must be None with cov_type='nonrobust'; got "
                             f"{cov_kwds!r}")
        for name, value in (("disp", disp), ("full_output", full_output)):
            if not isinstance(value, (bool, np.bool_, int, np.integer)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        if maxiter is not None and (isinstance(maxiter, bool) or not isinstance(maxiter, Real)
                                    or not (maxiter >= 0 and maxiter == np.floor(maxiter))):
            raise ValueError(f"maxiter must be an integer >= 0 or None, got {maxiter!r}")
        k = self.exog.shape[1]
        if start_params is not None:
            start_params = self._check_start_params(start_params)
            kept = np.concatenate([~self.aliased, np.ones(len(start_params) - k, bool)])
            if not np.all(np.isfinite(start_params[kept])):
                raise ValueError(f"start_params must be finite (NaN allowed only for aliased "
                                 f"columns); got {start_params}")
        m = len(self.vcomp_names)
        if maxiter == 0 and kinship_ratio is None:
            if start_params is None or len(start_params) != k + m:
                raise ValueError(
                    "maxiter=0 evaluates the fit at start_params without optimizing: "
                    f"start_params must then hold the {k} fixed effects and the {m} "
                    f"variances ({k + m} values); got "
                    f"{None if start_params is None else len(start_params)} values")
            if m > 2:
                s2, s_e2 = start_params[k:-1], start_params[-1]
                if not (np.all(s2 >= 0) and s_e2 > 0):
                    raise ValueError(f"start_params: the variances must be >= 0 and the "
                                     f"residual variance > 0; got {start_params[k:]}")
                return s2 / s_e2
            s_k2, s_e2 = start_params[k:]
            if not (s_k2 >= 0 and s_e2 > 0):
                raise ValueError(f"start_params: the variances must be s_k^2 >= 0 and s_e^2 > "
                                 f"0; got s_k^2 = {s_k2}, s_e^2 = {s_e2}")
            return float(s_k2 / s_e2)
        return kinship_ratio

    def fit(self, reml=True, use_t=False, kinship_ratio=None, df_method="residual",
            start_params=None, method=None, maxiter=None, disp=False, full_output=True,
            cov_type="nonrobust", cov_kwds=None):
        """
        Fit the model.

        Parameters
        ----------
        reml : bool
            REML (default, as lme4) or maximum likelihood.
        use_t : bool
            If True, tests and intervals of the fixed effects use Student's t with
            ``n - rank(exog)`` degrees of freedom; by default Wald z (normal), as lme4.
        kinship_ratio : float or array_like, optional
            Hold ``delta = s_k^2 / s_e^2`` at this value instead of estimating it (lme4's
            ``theta`` is ``sqrt(delta)``); useful to reproduce a published fit or for
            EMMAX-style fixed-ratio analyses. With several components, the ratios
            ``s_j^2 / s_e^2`` of all of them (``model.component_names`` order).
        df_method : {"residual", "satterthwaite"}
            Degrees of freedom of the t tests: ``n - rank(exog)``, or Satterthwaite's per
            coefficient (as R's lmerTest; implies ``use_t=True``), used by ``pvalues``,
            ``conf_int``, ``t_test``, ``wald_test``, ``f_test``, ``wald_test_terms`` and
            the summary.
        start_params : array_like, optional
            statsmodels' keyword: the ``k`` fixed effects, optionally followed by the kinship
            and residual variances (``k + 2`` values, the vector of :meth:`loglike`). The
            search does not need a start (the fixed effects and ``s_e^2`` are profiled out
            and ``delta`` is searched globally), so they are validated and used only with
            ``maxiter=0``.
        method : {None, 'bounded'}
            statsmodels' keyword: the optimizer. Only the built-in search (a grid, then
            safeguarded Newton; the name ``'bounded'`` is kept for compatibility) is
            available.
        maxiter : int, optional
            statsmodels' keyword. ``0`` evaluates the fit at ``start_params`` without
            optimizing: ``delta`` is held at ``s_k^2 / s_e^2`` of ``start_params`` (which must
            then hold the ``k + 2`` values), as ``kinship_ratio`` does. A positive value is
            accepted and has no effect: the search has a fixed number of steps.
        disp, full_output : bool
            statsmodels' keywords, accepted for compatibility: nothing is printed, and the
            convergence details are always kept (``fit_info``).
        cov_type : {'nonrobust'}
            statsmodels' keyword: only the model-based covariance is available.
        cov_kwds : None
            Must be None (no robust covariance).

        Returns
        -------
        KinshipMixedLMResults

        Warns
        -----
        IdentifiabilityWarning
            When the data cannot separate ``s_k^2`` from ``s_e^2`` (K restricted to the
            residual space of exog has a single distinct eigenvalue, as for K = I or one
            family with exchangeable relatedness and an intercept; or fewer than 3 residual
            degrees of freedom). ``results.identified`` is then False and the summary says
            so; when the likelihood is flat in the ratio, ``s_k^2 = 0`` is reported by
            convention.
        ConvergenceWarning
            When the likelihood still increases at the upper limit of the search over
            ``delta`` and is unbounded there (K singular on the residual space of exog). With
            a finite limit the end of the search is a converged boundary estimate (``s_e^2 =
            0``, h2 = 1; ``fit_info["boundary"] == "residual"``), without a warning.
        """
        reml, use_t = check_bool(reml, "reml"), check_bool(use_t, "use_t")
        check_choice(df_method, "df_method", ("residual", "satterthwaite"))
        kinship_ratio = self._check_fit_keywords(start_params, method, maxiter, disp,
                                                 full_output, cov_type, cov_kwds,
                                                 kinship_ratio)
        if self._engine is not None:
            res = self._fit_components(reml, use_t, kinship_ratio, df_method)
        else:
            res = self._fit_kinship(reml, use_t, kinship_ratio, df_method)
        # statsmodels' record of the fit settings (read by its generic checks and by
        # _fit_collinear): the search needs no start, so start_params are those given, else
        # statsmodels' default (zeros), unused
        k = self.exog.shape[1]
        res.mle_settings = {
            "optimizer": "bounded" if method is None else method,
            "start_params": (np.zeros(k) if start_params is None
                             else np.array(start_params, dtype=float))}
        # statsmodels makes the names from the data on first use: made now, so that the
        # summary still works after remove_data()
        self.endog_names, self.exog_names  # noqa: B018
        return KinshipMixedLMResultsWrapper(res)

    def _fit_components(self, reml, use_t, ratios, df_method):
        """:meth:`fit` of a model on the block likelihood."""
        m = len(self.component_names)
        if ratios is None:
            with serial_blas():
                gamma, _, info = self._engine.maximize(reml)
            if not info["converged"]:
                warn_at_user("KinshipMixedLM fit did not converge: " + info["message"],
                             ConvergenceWarning)
        else:
            gamma = np.atleast_1d(np.asarray(ratios, dtype=float))
            if gamma.shape != (m,) or not np.all(np.isfinite(gamma)) or np.any(gamma < 0):
                raise ValueError(f"kinship_ratio must hold {m} finite ratios >= 0 (one per "
                                 f"component: {', '.join(self.component_names)}), got "
                                 f"{ratios!r}")
            info = {"converged": True, "n_evals": 0, "n_iter": 0,
                    "message": "variance ratios held fixed",
                    "boundary": [c for c, g in zip(self.component_names, gamma) if g == 0]}
        info["fixed_ratio"] = ratios is not None
        info["identifiability"] = None
        with serial_blas():
            res = KinshipMixedLMResults(self, gamma, reml=reml,
                                        use_t=use_t or df_method == "satterthwaite",
                                        fit_info=info, df_method=df_method)
            if df_method == "satterthwaite":
                res.df_satterthwaite  # noqa: B018
        if not res.identified:
            warn_at_user("the variance components are not identified: "
                         + res.fit_info["identifiability"], IdentifiabilityWarning)
        return res

    def _fit_kinship(self, reml, use_t, kinship_ratio, df_method):
        """:meth:`fit` of the single-kinship model on the spectral likelihood."""
        if kinship_ratio is not None:
            if isinstance(kinship_ratio, bool) or not isinstance(kinship_ratio, Real):
                raise TypeError(f"kinship_ratio must be a number >= 0, got {kinship_ratio!r}")
        reason, flat = (None, False) if kinship_ratio is not None else (
            self._identifiability_reason())
        if flat:
            # the likelihood is flat along s_k^2 a + s_e^2 = const: any delta is a maximum;
            # report the one split that does not depend on rounding, s_k^2 = 0
            delta = 0.0
            info = {"converged": True, "boundary": "kinship", "n_evals": 0,
                    "message": "variance components not identified; s_k^2 reported as 0"}
        elif kinship_ratio is None:
            with serial_blas():
                delta, _, info = self._profile.maximize(reml)
            if not info["converged"]:
                warn_at_user("KinshipMixedLM fit did not converge: " + info["message"],
                             ConvergenceWarning)
        else:
            delta = float(kinship_ratio)
            if not np.isfinite(delta) or delta < 0:
                raise ValueError(f"kinship_ratio must be a finite number >= 0, got {delta}")
            info = {"converged": True, "boundary": "kinship" if delta == 0 else None,
                    "n_evals": 0, "message": "variance ratio held fixed"}
        info["fixed_ratio"] = kinship_ratio is not None
        # with the ratio held fixed only s_e^2 is estimated: identified
        info["identifiability"] = reason
        if reason is not None:
            warn_at_user("the variance components are not identified: "
                         + info["identifiability"], IdentifiabilityWarning)
        with serial_blas():
            res = KinshipMixedLMResults(self, delta, reml=reml,
                                        use_t=use_t or df_method == "satterthwaite",
                                        fit_info=info, df_method=df_method)
            if df_method == "satterthwaite":
                res.df_satterthwaite  # noqa: B018 (needs the data: computed now, kept)
        return res

    def _fit_zeros(self, keep_index=None, start_params=None, return_auxiliary=False,
                   k_params=None, **fit_kwds):
        """
        Fit the model with the coefficients of the columns not in ``keep_index`` held at 0.

        statsmodels' private hook (``LikelihoodModel._fit_zeros``, used by its score tests
        and ``_fit_collinear``). The model restricted to the kept columns (same endog,
        kinship and decomposition, not decomposed again) is fitted with ``fit_kwds`` (``reml``,
        ``use_t``, ``df_method``, ... as for :meth:`fit`), and its results are expanded to
        the full parameter vector as statsmodels does: params, bse and the rows and columns
        of ``cov_params()`` of the dropped columns are 0. Everything else (variance
        components, ``llf``, BLUPs, residuals, degrees of freedom) is that of the restricted
        fit, which is ``results_constrained``; ``keep_index`` and ``k_constr`` (the number of
        columns dropped) are attached, as by statsmodels. The methods that refit or profile
        the likelihood (``kinship_variance_test``, ``profile_conf_int``, ``bootstrap``,
        ``simulate``, ``compare_lr_test``, ``scan``) are those of the restricted fit.

        Parameters
        ----------
        keep_index : array_like of int or bool, slice, or None
            Columns of exog kept (None: all).
        start_params : array_like, optional
            ``k`` or ``k + 2`` values in the full parameterization (see :meth:`fit`); the
            kept entries (and the two variances) are passed to the restricted fit.
        return_auxiliary, k_params
            statsmodels' keywords, not used.
        **fit_kwds
            Keywords of :meth:`fit` for the restricted fit.

        Returns
        -------
        KinshipMixedLMResultsWrapper
        """
        k = self.exog.shape[1]
        keep = np.arange(k) if keep_index is None else np.arange(k)[keep_index]
        keep = np.unique(keep)  # sorted, as the columns of the restricted model
        if keep.size == 0:
            raise ValueError("keep_index keeps no column of exog: the model needs at least "
                             "one fixed effect")
        if start_params is not None:
            start_params = self._check_start_params(start_params)
            fit_kwds["start_params"] = np.concatenate([start_params[keep], start_params[k:]])
        with warnings.catch_warnings():
            # said already for this model
            warnings.simplefilter("ignore", BinaryTraitWarning)
            if self._engine is not None:
                mod_constr = self._with_exog(self.exog[:, keep])
            else:
                mod_constr = KinshipMixedLM(self.endog, self.exog[:, keep],
                                            kinship=self.kinship,
                                            _decomposition=self.decomposition)
        aliased = np.zeros(k, dtype=bool)  # dropped columns are held at 0, not aliased
        aliased[keep] = mod_constr.aliased
        lost = keep[self.aliased[keep] & ~mod_constr.aliased]
        if lost.size:
            # predict() of this model leaves its aliased columns out
            raise ValueError(
                "columns aliased in the full design are estimable once the others are "
                "dropped, and would be left out of this model's predictions: "
                + ", ".join(self.exog_names[i] for i in lost) + "; drop them too, or fit "
                "KinshipMixedLM on the kept columns")
        mod_constr.exog_names  # noqa: B018 (names made while the data are there)
        res_constr = mod_constr.fit(**fit_kwds)
        rc = res_constr._results
        res = KinshipMixedLMResults.__new__(KinshipMixedLMResults)
        res.__dict__.update(rc.__dict__)
        res.model = self
        res._cache = {}
        params = np.zeros(k)
        params[keep] = rc.params
        res.params = params
        norm_cov = np.zeros((k, k))
        norm_cov[np.ix_(keep, keep)] = rc.normalized_cov_params
        res.normalized_cov_params = norm_cov
        res.aliased = aliased
        res.k_fe = k
        if getattr(rc, "_df_satterthwaite", None) is not None:
            df = np.full(k, np.nan)
            df[keep] = rc._df_satterthwaite
            res._df_satterthwaite = df
        # what needs the restricted model's data is that of the restricted fit: the summary's
        # score and LR test, aic/bic (its rank), and the methods that refit or profile
        res._cache.update(aic=rc.aic, bic=rc.bic, _summary_facts=rc._summary_facts())
        for name in ("kinship_variance_test", "profile_conf_int", "bootstrap", "simulate",
                     "compare_lr_test", "scan"):
            setattr(res, name, getattr(rc, name))
        res.keep_index = keep
        res.k_constr = k - keep.size
        res.results_constrained = res_constr
        return KinshipMixedLMResultsWrapper(res)


class KinshipMixedLMResults(base.LikelihoodModelResults):
    """
    Results of a :class:`KinshipMixedLM` fit.

    ``params`` are the fixed effects (aliased columns NaN); their covariance is
    ``s_e^2 (X' (delta K + I)^{-1} X)^{-1}``, so ``cov_params``, ``bse``, ``tvalues``,
    ``pvalues``, ``conf_int``, ``t_test``, ``wald_test`` and ``f_test`` behave as for GLS.

    Attributes
    ----------
    params, fe_params : ndarray or Series
        Fixed effects.
    scale : float
        Residual variance ``s_e^2``.
    vcomp : pandas.Series
        Variance components: ``kinship`` (``s_k^2``) and ``residual`` (``s_e^2``).
    bse_vcomp : pandas.Series
        Their standard errors from the observed information (profiled over the fixed
        effects); ``vcomp_cov`` is their covariance.
    delta : float
        ``s_k^2 / s_e^2``.
    theta, bse_theta : float
        ``sqrt(s_k^2 / s_e^2)``, lme4's parameter, and its delta-method standard error.
    h2, bse_h2 : float
        Heritability ``s_k^2 m / (s_k^2 m + s_e^2)`` where ``m`` is the mean diagonal of K
        (0.5 for kinship coefficients of non-inbred people, about 1 for a genomic or
        additive relationship matrix, so h2 is the share of the phenotypic variance of a
        typical individual due to the kinship term), with its delta-method standard error.
    method : str
        ``'REML'`` or ``'ML'``.
    converged : bool
    identified : bool
        False when the data cannot separate ``s_k^2`` from ``s_e^2`` (an
        :class:`~statsmodels_kinship.exceptions.IdentifiabilityWarning` was issued; the reason
        is ``fit_info["identifiability"]``): the split reported is arbitrary and
        ``vcomp_cov`` is NaN.
    boundary : bool
        True at a boundary of the parameter space: the kinship variance estimated at zero,
        or the residual variance at its lower limit (``fit_info["boundary"]`` says which).
    llf : float
        Under REML the restricted log-likelihood (``-1/2`` lme4's REML criterion).
    aic, bic : float
        ``-2 llf + 2 q`` and ``-2 llf + log(n) q`` with ``q = rank(exog) + 2``, lme4's
        convention; under REML they are built from the restricted likelihood, so compare
        them only between REML fits with the same fixed effects.
    """

    _data_in_cache = ["fittedvalues", "resid", "random_effects"]

    def __init__(self, model, delta, reml=True, use_t=False, fit_info=None,
                 df_method="residual"):
        general = model._engine is not None
        if general:
            sol = model._engine.effects(delta)
            n, p = model._engine.n, model._engine.p
        else:
            sol = model._profile.solve(delta)
            n, p = model._exog_rot.shape
        dof = n - p if reml else n
        scale = sol["rss"] / dof
        k = model.exog.shape[1]
        kept = ~model.aliased
        params = np.full(k, np.nan)
        params[kept] = sol["params"] + model._endog_offset  # fitted to y centred (see model)
        a_inv = chol_inverse(sol["chol_A"])
        norm_cov = np.full((k, k), np.nan)
        norm_cov[np.ix_(kept, kept)] = a_inv
        super().__init__(model, params, normalized_cov_params=norm_cov, scale=scale,
                         use_t=use_t)
        self._cache = {}  # as statsmodels' results: remove_data() clears entries of it
        self.df_resid = model.df_resid
        self.df_model = model.df_model
        self.nobs = model.nobs
        self.reml = bool(reml)
        self.method = "REML" if reml else "ML"
        self.k_fe = k
        self.df_method = df_method
        fit_info = dict(fit_info or {})
        if general:
            self._init_components(model, sol, np.asarray(delta, dtype=float), scale, fit_info)
            return
        self.delta = float(delta)
        self.converged = bool(fit_info.get("converged", True))
        #: False when the data cannot separate s_k^2 from s_e^2 (the reason is in
        #: ``fit_info["identifiability"]``); the split reported is then arbitrary
        self.identified = fit_info.get("identifiability") is None
        #: True at a boundary of the parameter space: ``s_k^2 = 0`` (``delta = 0``) or
        #: ``s_e^2`` at its lower limit (``fit_info["boundary"] == "residual"``, h2 = 1)
        self.boundary = self.delta == 0.0 or fit_info.get("boundary") == "residual"
        self.fit_info = fit_info
        self.aliased = model.aliased
        self._llf = model._profile._loglike_from(sol, reml)
        # the variance components and their covariance are fitted quantities (they need the
        # data), so they are computed here and survive remove_data()
        self.gamma = np.array([self.delta])
        names = model.vcomp_names
        self.vcomp = pd.Series([self.delta * scale, scale], index=names, name="variance")
        info = model._profile.information(self.delta, scale, self.reml)
        try:
            if not self.identified:  # the information is singular along the ridge
                raise np.linalg.LinAlgError("variance components not identified")
            vcomp_cov = np.linalg.inv(info)
            if np.any(np.diag(vcomp_cov) < 0):
                raise np.linalg.LinAlgError("information matrix is not positive definite")
        except np.linalg.LinAlgError:
            vcomp_cov = np.full((2, 2), np.nan)
        self.vcomp_cov = pd.DataFrame(vcomp_cov, index=names, columns=names)
        self._residual_rot = model._endog_rot - model._exog_rot @ sol["params"]

    def _init_components(self, model, sol, gamma, scale, fit_info):
        """The variance components of a fit on the block likelihood."""
        names = model.vcomp_names
        self.gamma = gamma
        self.delta = None  # one ratio only for the single-kinship model; see gamma
        self._llf = profiled_loglike(sol, model._engine.n, model._engine.p, self.reml)
        self.vcomp = pd.Series(np.r_[gamma * scale, scale], index=names, name="variance")
        info = model._engine.information(gamma, scale, self.reml)
        # components at 0 take part in the check when the likelihood is flat there (a ridge
        # that reaches the boundary), not when it decreases into the parameter space
        flat = np.zeros(len(gamma), dtype=bool)
        if np.any(gamma == 0):
            score = model._engine.score(gamma, self.reml)
            flat = np.abs(score) / model._engine.scales <= _FLAT_SCORE
        free = np.r_[(gamma > 0) | flat, True]
        ridge = _ridge(info[np.ix_(free, free)], np.asarray(names)[free])
        if ridge is not None and fit_info.get("identifiability") is None \
                and not fit_info.get("fixed_ratio"):
            fit_info["identifiability"] = ridge
        self.converged = bool(fit_info.get("converged", True))
        self.identified = fit_info.get("identifiability") is None
        self.boundary = bool(np.any(gamma == 0))
        self.fit_info = fit_info
        self.aliased = model.aliased
        cov = (vcomp_covariance(info, gamma) if self.identified
               else np.full((len(names), len(names)), np.nan))
        self.vcomp_cov = pd.DataFrame(cov, index=names, columns=names)
        self._blups = sol["blups"]
        self._random = sol["random"]
        self._residual_rot = None

    # -- fixed effects ------------------------------------------------------------------

    @cache_readonly
    def fe_params(self):
        """Fixed effects, the same as ``params`` (MixedLM's name); NaN where aliased."""
        return self.params

    @cache_readonly
    def llf(self):
        """Log-likelihood at the estimate: restricted under REML (``-1/2`` lme4's REML criterion),
        Gaussian under ML (lme4's ``logLik``)."""
        return self._llf

    @cache_readonly
    def aic(self):
        """Akaike information criterion ``-2 llf + 2 q``, ``q = rank(exog)`` plus the number of
        variance components with the residual (lme4's count)."""
        return -2 * self.llf + 2 * (self.model.rank + len(self.vcomp))

    @cache_readonly
    def bic(self):
        """Bayesian information criterion ``-2 llf + log(n) q``, ``q`` as for :attr:`aic`."""
        return -2 * self.llf + np.log(self.nobs) * (self.model.rank + len(self.vcomp))

    @property
    def df_satterthwaite(self):
        """Satterthwaite degrees of freedom of each coefficient (NaN where aliased).

        Kept in a plain attribute, not statsmodels' cache, so that ``pvalues``,
        ``conf_int`` and the summary still work after ``remove_data()`` (fits with
        ``df_method="satterthwaite"`` compute them when fitted)."""
        if getattr(self, "_df_satterthwaite", None) is None:
            self._df_satterthwaite = inference.satterthwaite_df(self).to_numpy()
        return self._df_satterthwaite

    @cache_readonly
    def pvalues(self):
        """Two-sided p-values of the fixed effects (t with the degrees of freedom of ``df_method``
        when ``use_t``, else normal); NaN where aliased."""
        if self.df_method == "satterthwaite":
            return 2 * stats.t.sf(np.abs(self.tvalues), self.df_satterthwaite)
        return super().pvalues

    def conf_int(self, alpha=0.05):
        """
        Confidence intervals of the fixed effects (Wald; t with the fit's degrees of
        freedom when ``use_t``, per coefficient with Satterthwaite's).
        """
        alpha = check_alpha(alpha)
        if self.df_method != "satterthwaite":
            return super().conf_int(alpha=alpha)
        q = stats.t.ppf(1 - alpha / 2, self.df_satterthwaite)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    def get_prediction(self, exog=None, transform=True, row_labels=None, conditional=True,
                       individual=None, exog_vc=None, which="mean", component=None):
        """
        Predictions with standard errors, confidence and prediction intervals: conditional
        (Henderson's BLUP given every phenotyped record; relatives without phenotypes
        included), marginal, or breeding values.

        Parameters
        ----------
        exog : array_like or DataFrame, optional
            New rows of the design (default: the model's rows). For a formula model with
            ``transform=True``, a DataFrame with the formula's variables, transformed
            through the formula's design as :meth:`predict` does; otherwise columns are
            matched by position. For a conditional prediction the rows' individuals are its
            index (or the ``individual`` column of a model fitted with
            ``individual="column"``, or ``individual=``).
        transform : bool, default True
            Pass ``exog`` through the formula (formula models only).
        row_labels : array_like, optional
            Row labels of ``summary_frame()`` (default: the index of ``exog``, or the
            model's row labels).
        conditional : bool, default True
            True: ``mean = x'b + `` the BLUP of every random effect of the row given all
            phenotyped records. False: the marginal prediction ``x'b`` of a new individual
            unrelated to the sample (the rows' individuals are not used).
        individual : array_like, optional
            The individual of each new row (IDs of the relationship matrices), instead of
            the index of ``exog``. With ``which="breeding_value"`` and no ``exog``: the
            individuals whose breeding values are wanted (default: every individual of the
            relationship matrix, with records or without).
        exog_vc : dict, optional
            The level of each new row for the grouping components ``{name: labels}`` (or
            ``{name: design DataFrame}`` whose columns are levels). Formula models evaluate
            their ``vc_formula`` on ``exog`` instead. A level that is not in the data (a new
            household) contributes 0 to the mean and its full variance to the intervals.
        which : {"mean", "breeding_value"}
            ``"mean"``: the trait (``x'b`` plus the random effects); ``"breeding_value"``:
            the BLUP of one relationship component's effect alone (``component``), with its
            prediction error variance (PEV) and reliability, as breeders report.
        component : str, optional
            The relationship component of ``which="breeding_value"`` (default: the first).

        Returns
        -------
        KinshipPredictionResults
            statsmodels' ``PredictionResults`` (``predicted_mean``, ``se_mean``,
            ``var_pred_mean``, ``conf_int(obs=...)``, ``summary_frame(alpha)`` with the
            columns ``mean``, ``mean_se``, ``mean_ci_lower``, ``mean_ci_upper``,
            ``obs_ci_lower``, ``obs_ci_upper``) plus ``fixed``, ``random``, ``pev``,
            ``reliability``. Breeding values: ``summary_frame`` has ``mean``, ``mean_se``
            (``sqrt(PEV)``), the interval for the true breeding value and ``reliability``.

        Raises
        ------
        ValueError
            For a conditional prediction of individuals that are not in a relationship
            matrix (naming them), of rows without individual IDs, or of rows without the
            levels of a grouping component.

        Notes
        -----
        **Conditional** (default; lme4's ``predict`` default): for a row of individual ``t``
        with fixed-effects row ``x``, ``mean = x'b + c'V^-1 (y - X b)`` where ``c =
        Cov(u_t, y)`` sums ``s_j^2 K_j[t, ind(record)]`` over the relationship components and
        ``s_j^2`` over the records sharing a level of a grouping component (Henderson's
        BLUP; ``b`` the GLS estimate). ``var_pred_mean`` (``mean_se^2``) is the prediction
        error variance of ``mean`` as a predictor of the row's true value ``x'b + u_t``,
        including the uncertainty of ``b``: ``v - c'V^-1 c + (x - X'V^-1 c)'(X'V^-1
        X)^-1 (x - X'V^-1 c)`` with ``v = Var(u_t)``; the observation interval adds ``s_e^2``
        for a new record of the row. Both are exact under the model at the estimated
        variance components (their uncertainty is not included: with few families the
        intervals are slightly too narrow). For the model's own rows (``exog=None``) the
        mean is :attr:`fittedvalues`. ``V^-1`` is never formed (the spectral rotation, the
        engine's block factors, or the sparse mixed-model equations), and the rows are
        processed in chunks, so that many individuals can be predicted from a large
        model (sparse relationship matrices: the cost follows the targets' families, not
        ``n``).

        **Marginal** (``conditional=False``; what :meth:`predict` returns, statsmodels'
        convention ``x'b``): ``mean_se = sqrt(x' C x)`` with ``C`` the covariance of the
        non-aliased fixed effects (``cov_params()``); the observation interval is for one
        record of a new individual unrelated to the sample: variance ``x' C x + sum_j
        s_j^2 m_j + s_e^2``, with ``m_j`` the mean diagonal of each component's covariance
        (for one kinship ``s_k^2 m + s_e^2``, the same ``m`` as in ``h2``).

        Intervals use the normal distribution, or t when ``use_t``: with ``df_resid``
        (n - rank(X)) degrees of freedom; for marginal predictions with
        ``df_method="satterthwaite"`` with the Satterthwaite degrees of freedom of each
        row's contrast ``x'b``; the observation interval uses the same degrees of freedom
        as the row's mean.
        """
        return _prediction.get_prediction(
            self, exog=exog, transform=transform, row_labels=row_labels,
            conditional=conditional, individual=individual, exog_vc=exog_vc, which=which,
            component=component)

    def _constraints(self, r_matrix):
        """Numeric (R, q) for a hypothesis on the fixed effects, restricted to the
        non-aliased columns; a hypothesis involving an aliased coefficient is an error."""
        names = list(self.model.exog_names)
        try:
            lc = DesignInfo(names).linear_constraint(r_matrix)
        except (ValueError, PatsyError) as err:
            raise ValueError(f"r_matrix {r_matrix!r} is not a valid hypothesis on the "
                             f"{len(names)} coefficients {names}: {err}") from None
        r, q = np.asarray(lc.coefs, dtype=float), np.asarray(lc.constants, dtype=float).ravel()
        touched = np.any(r[:, self.aliased] != 0, axis=0)
        if touched.any():
            bad = [names[i] for i in np.flatnonzero(self.aliased)[touched]]
            raise ValueError(f"the hypothesis involves aliased coefficients: {', '.join(bad)}")
        return r[:, ~self.aliased], q

    def _kept(self, cov_p=None):
        """Non-aliased coefficients and their covariance (``cov_p``, k x k, instead of
        ``cov_params()`` when given)."""
        kept = ~self.aliased
        if cov_p is None:
            cov = self.cov_params()
        else:
            cov = np.asarray(cov_p, dtype=float)
            k = len(kept)
            if cov.shape != (k, k):
                raise ValueError(f"cov_p must be the {k} x {k} covariance of the fixed "
                                 f"effects; got shape {cov.shape}")
        return self.params[kept], cov[np.ix_(kept, kept)]

    def t_test(self, r_matrix, cov_p=None, use_t=None):
        """
        Test linear hypotheses ``R b = q`` one by one (t or z tests).

        Parameters
        ----------
        r_matrix : array_like, str or tuple
            As in statsmodels (a matrix, ``(R, q)``, or strings such as ``"SNP1 = SNP3"``).
        cov_p : array_like, optional
            A k x k covariance of the fixed effects to use instead of ``cov_params()``
            (rows and columns of aliased coefficients are ignored). The degrees of freedom
            are then ``n - rank(exog)`` (Satterthwaite's are those of the model's
            covariance).
        use_t : bool, optional
            Defaults to the fit's ``use_t``.

        Returns
        -------
        statsmodels.stats.contrast.ContrastResults
            With ``df_method="satterthwaite"`` (and t tests), ``df_denom`` holds one
            Satterthwaite df per hypothesis.
        """
        use_t = self.use_t if use_t is None else check_bool(use_t, "use_t")
        if use_t and self.df_method == "satterthwaite" and cov_p is None:
            return inference.t_test_satterthwaite(self, r_matrix)
        r, q = self._constraints(r_matrix)
        b, cov = self._kept(cov_p)
        effect = r @ b
        sd = np.sqrt(np.diag(r @ cov @ r.T))
        stat = (effect - q) / sd
        if use_t:
            return ContrastResults(effect=effect, t=stat, sd=sd, df_denom=self.df_resid)
        return ContrastResults(effect=effect, statistic=stat, sd=sd, df_denom=self.df_resid,
                               distribution="norm")

    def wald_test(self, r_matrix, cov_p=None, invcov=None, use_f=None, df_constraints=None,
                  scalar=True):
        """
        Joint Wald test of ``R b = q``: chi-square, or F with ``use_f`` (default: ``use_t``).

        Parameters
        ----------
        r_matrix : array_like, str or tuple
            As for :meth:`t_test`.
        cov_p : array_like, optional
            A k x k covariance of the fixed effects instead of ``cov_params()``.
        invcov : array_like, optional
            The inverse of ``R cov R'`` (q x q), instead of its pseudo-inverse.
        use_f : bool, optional
            F test (default: the fit's ``use_t``) or chi-square.
        df_constraints : int, optional
            Numerator degrees of freedom; by default the rank of ``R cov R'``.
        scalar : bool
            Statistic and p-value as floats (default); False gives statsmodels' 2-d
            statistic array.

        Returns
        -------
        statsmodels.stats.contrast.ContrastResults

        Notes
        -----
        With ``df_method="satterthwaite"`` the F test has Satterthwaite denominator degrees
        of freedom, those of R's lmerTest (``contestMD``, ``anova(type = 3)``): see
        :func:`statsmodels_kinship.inference.f_test_satterthwaite`. For one hypothesis the F
        test is the square of :meth:`t_test`'s.
        """
        scalar = check_bool(scalar, "scalar")
        use_f = self.use_t if use_f is None else check_bool(use_f, "use_f")
        if (use_f and self.df_method == "satterthwaite" and cov_p is None and invcov is None
                and df_constraints is None):
            res = inference.f_test_satterthwaite(self, r_matrix)
        else:
            r, q = self._constraints(r_matrix)
            b, cov = self._kept(cov_p)
            diff = r @ b - q
            cov_r = r @ cov @ r.T
            if invcov is None:
                invcov = np.linalg.pinv(cov_r)
                j = int(np.linalg.matrix_rank(cov_r))
            else:
                invcov = np.asarray(invcov, dtype=float)
                if invcov.shape != cov_r.shape:
                    raise ValueError(f"invcov must be the {cov_r.shape[0]} x "
                                     f"{cov_r.shape[0]} inverse of R cov R'; got shape "
                                     f"{invcov.shape}")
                j = r.shape[0]
            j = j if df_constraints is None else int(df_constraints)
            stat = float(diff @ invcov @ diff)
            if use_f:
                res = ContrastResults(F=stat / j, df_denom=self.df_resid, df_num=j)
            else:
                res = ContrastResults(chi2=stat, df_denom=j, statistic=stat,
                                      distribution="chi2", distargs=(j,))
        if not scalar:
            res.statistic = np.atleast_2d(res.statistic)
            if use_f:
                res.fvalue = res.statistic
        return res

    def f_test(self, r_matrix, cov_p=None, invcov=None):
        """Joint F test of ``R b = q`` (see :meth:`wald_test`)."""
        return self.wald_test(r_matrix, cov_p=cov_p, invcov=invcov, use_f=True)

    def wald_test_terms(self, skip_single=False, extra_constraints=None,
                        combine_terms=None, scalar=True):
        """
        Wald tests of the terms of the model (each formula term, or each column), as
        statsmodels' ``wald_test_terms``.

        With ``df_method="satterthwaite"`` the F tests have Satterthwaite denominator df
        (R's lmerTest ``anova(type = 3)``). Aliased coefficients are left out of the
        hypotheses, as OLS does: a term with aliased columns is tested on its estimable
        ones, with fewer numerator degrees of freedom; a term with none is reported with 0
        degrees of freedom and a NaN statistic.

        Returns
        -------
        statsmodels.stats.contrast.WaldTestResults
        """
        return base.LikelihoodModelResults.wald_test_terms(
            _EstimableHypotheses(self), skip_single=skip_single,
            extra_constraints=extra_constraints, combine_terms=combine_terms, scalar=scalar)

    def summary2(self, yname=None, xname=None, title=None, alpha=0.05):
        """The summary (:meth:`summary` is already built with statsmodels' ``summary2``)."""
        return self.summary(yname=yname, xname=xname, title=title, alpha=alpha)

    # -- inference beyond Wald (statsmodels_kinship.bootstrap, .inference) ---------------

    def bootstrap(self, nsim=1000, seed=None, batch_size=None, progress=None):
        """Parametric bootstrap: ``nsim`` responses drawn from the fit, each refitted exactly.

        See :func:`statsmodels_kinship.bootstrap.parametric_bootstrap`.
        """
        return bootstrap.parametric_bootstrap(self, nsim=nsim, seed=seed,
                                              batch_size=batch_size, progress=progress)

    def simulate(self, nsim=1, seed=None):
        """Draw ``nsim`` responses from the fitted model, shape (nsim, n).

        See :func:`statsmodels_kinship.bootstrap.simulate`.
        """
        return bootstrap.simulate(self, nsim=nsim, seed=seed)

    def compare_lr_test(self, restricted, method="chi2", nsim=1000, seed=None,
                        batch_size=None, progress=None):
        """Likelihood-ratio test against a nested restricted fit (ML; REML fits are refitted
        by ML with a warning); unpacks as ``(lr, pvalue, df)``.

        See :func:`statsmodels_kinship.inference.compare_lr_test`.
        """
        return inference.compare_lr_test(self, restricted, method=method, nsim=nsim,
                                         seed=seed, batch_size=batch_size, progress=progress)

    def kinship_variance_test(self, method="mixture", nsim=1000, seed=None, batch_size=None,
                              progress=None):
        """Likelihood-ratio test of ``s_k^2 = 0``: the 50:50 chi2(0)/chi2(1) mixture (Self and
        Liang) or a parametric bootstrap.

        See :func:`statsmodels_kinship.inference.kinship_variance_test`.
        """
        return inference.kinship_variance_test(self, method=method, nsim=nsim, seed=seed,
                                               batch_size=batch_size, progress=progress)

    def profile_conf_int(self, alpha=0.05, which=None):
        """Profile-likelihood intervals for h2, each component's share and variance, and
        ``s_e^2`` ('residual'); an interval may start at 0. By default h2 and the kinship
        variance (one kinship), or every share and variance (several components).

        See :func:`statsmodels_kinship.inference.profile_conf_int`.
        """
        return inference.profile_conf_int(self, alpha=alpha, which=which)

    def satterthwaite_df(self, r_matrix=None):
        """Satterthwaite degrees of freedom for t tests of the fixed effects (as lmerTest).

        See :func:`statsmodels_kinship.inference.satterthwaite_df`.
        """
        return inference.satterthwaite_df(self, r_matrix)

    def scan(self, genotypes, method="exact", loco=False, **kwargs):
        """Genome-wide association scan: each SNP of ``genotypes`` added in turn to this
        (null) model and tested (Wald, likelihood-ratio and score tests, as GEMMA ``-lmm 4``
        for ``method='exact'``; the ratio fixed at this fit's for ``method='fixed'``).
        Returns a DataFrame indexed by SNP.

        See :func:`statsmodels_kinship.scan.scan` for the arguments and the columns.
        """
        from .scan import scan

        return scan(self, genotypes, method=method, loco=loco, **kwargs)

    # -- variance components ------------------------------------------------------------

    @cache_readonly
    def bse_vcomp(self):
        """Standard errors of the variance components ``vcomp`` (observed information)."""
        return pd.Series(np.sqrt(np.diag(self.vcomp_cov)), index=self.vcomp.index,
                         name="std. error")

    def _delta_method(self, grad):
        grad = np.asarray(grad)
        cov = self.vcomp_cov.to_numpy()
        # components estimated at 0 (several components) have no standard error: they
        # enter as constants
        at_zero = np.r_[np.asarray(self.gamma) == 0, False] if self.delta is None else None
        if at_zero is not None and at_zero.any():
            cov = np.where(at_zero[:, None] | at_zero[None, :], 0.0, cov)
        return float(np.sqrt(grad @ cov @ grad))

    @cache_readonly
    def theta(self):
        """``sqrt(s_k^2 / s_e^2)``, lme4's relative standard deviation of the kinship term
        (a Series by component for several components)."""
        if self.delta is None:
            return pd.Series(np.sqrt(self.gamma), index=self.vcomp.index[:-1], name="theta")
        return float(np.sqrt(self.delta))

    @cache_readonly
    def bse_theta(self):
        """Delta-method standard error of ``theta`` (NaN when ``theta = 0``)."""
        s2, s_e2 = self.vcomp.to_numpy()[:-1], self.vcomp.iloc[-1]
        theta = np.sqrt(self.gamma)
        out = np.full(len(s2), np.nan)
        for j in np.flatnonzero(theta > 0):
            grad = np.zeros(len(s2) + 1)
            grad[j] = 1 / (2 * theta[j] * s_e2)
            grad[-1] = -s2[j] / (2 * theta[j] * s_e2 ** 2)
            out[j] = self._delta_method(grad)
        if self.delta is None:
            return pd.Series(out, index=self.vcomp.index[:-1], name="std. error")
        return float(out[0])

    @cache_readonly
    def variance_shares(self):
        """Each component's share of the phenotypic variance of a typical record, with
        delta-method standard errors.

        The share of component ``j`` is ``s_j^2 m_j / (sum_i s_i^2 m_i + s_e^2)``, ``m_j``
        the mean of the diagonal of ``Z_j K_j Z_j'`` over the records (0.5 for kinship
        coefficients of non-inbred people, about 1 for a relationship matrix or a grouping
        factor); for the first relationship component it is ``h2``, for a household ``c2``.
        The residual's share completes the sum to 1.

        Returns
        -------
        pandas.DataFrame
            Index: the components and ``residual``; columns ``share`` and ``std. error``.
        """
        scales = np.r_[self._component_scales(), 1.0]
        shares, ses = variance_shares(self.vcomp.to_numpy()[None, :],
                                      self.vcomp_cov.to_numpy()[None], scales)
        return pd.DataFrame({"share": shares[0], "std. error": ses[0]},
                            index=self.vcomp.index)

    def _component_scales(self):
        """``m_j`` of :attr:`variance_shares` (survives remove_data: kept on the model)."""
        if self.delta is None:
            return np.asarray(self.model._component_scales)
        return np.array([self.model.mean_kinship_diagonal])

    @cache_readonly
    def h2(self):
        """Heritability ``s_k^2 m / (s_k^2 m + s_e^2)``, ``m`` the mean diagonal of K (with
        several components: the share of the first relationship component, see
        :attr:`variance_shares`; NaN without one)."""
        if self.delta is None:
            first = self.model._first_relationship
            return np.nan if first is None else float(self.variance_shares["share"].iloc[first])
        s_k2, s_e2 = self.vcomp
        m = self.model.mean_kinship_diagonal
        return float(s_k2 * m / (s_k2 * m + s_e2))

    @cache_readonly
    def bse_h2(self):
        """Delta-method standard error of ``h2``."""
        if self.delta is None:
            first = self.model._first_relationship
            return np.nan if first is None else float(
                self.variance_shares["std. error"].iloc[first])
        s_k2, s_e2 = self.vcomp
        m = self.model.mean_kinship_diagonal
        denom = (s_k2 * m + s_e2) ** 2
        return self._delta_method([m * s_e2 / denom, -s_k2 * m / denom])

    # -- predictions --------------------------------------------------------------------

    @cache_readonly
    def random_effects(self):
        """BLUP of g: ``s_k^2 K V^{-1} (y - X b)``; with several components (or repeated
        records) each record's total random effect ``sum_j Z_j u_j`` (the BLUPs of each
        component, by individual or level, are :attr:`random_effects_by_component`)."""
        if self.delta is None:
            return self._random
        lam = self.model.decomposition.eigenvalues
        shrink = self.delta * lam / (self.delta * lam + 1.0)
        return self.model.decomposition.unrotate(shrink * self._residual_rot)

    @cache_readonly
    def random_effects_by_component(self):
        """BLUPs of each component's effects: ``{name: Series}``, indexed by individual (a
        relationship component) or level (a grouping component)."""
        if self.delta is None:
            return {c.name: pd.Series(self._blups[c.name], index=c.levels, name=c.name)
                    for c in self.model.structure.components}
        labels = self.model.data.row_labels
        name = self.model.vcomp_names[0]
        return {name: pd.Series(np.asarray(self.random_effects), index=labels, name=name)}

    @cache_readonly
    def fittedvalues(self):
        """``X b`` plus the BLUP of g (conditional fitted values, as lme4's ``fitted``)."""
        return self.model.predict(self.params) + self.random_effects

    @cache_readonly
    def resid(self):
        """Conditional residuals ``y - fittedvalues`` (lme4's ``resid``)."""
        return self.model.endog - self.fittedvalues

    # -- summary ------------------------------------------------------------------------

    #: statsmodels' ``summary_col`` rows for this model (used when it is given no
    #: ``info_dict``): the variance components and h2, each ``estimate (std. error)``. To add
    #: rows of your own keep these: ``info_dict={**res.default_model_infos, "N": ...}`` (the
    #: functions give an empty cell for the results of other models).
    default_model_infos = {
        "Kinship var (s_k^2)": lambda r: KinshipMixedLMResults._vcomp_info(r, "kinship"),
        "Residual var (s_e^2)": lambda r: KinshipMixedLMResults._vcomp_info(r, "residual"),
        "Heritability (h2)": lambda r: KinshipMixedLMResults._vcomp_info(r, "h2"),
    }

    @staticmethod
    def _vcomp_info(results, which):
        """``'estimate (std. error)'`` of a variance component or h2 for ``summary_col``;
        AttributeError (an empty cell there) for the results of another model."""
        res = getattr(results, "_results", results)
        if not isinstance(res, KinshipMixedLMResults):
            raise AttributeError(f"{type(res).__name__} has no kinship variance components")
        if which == "h2":
            return f"{res.h2:.4f} ({res.bse_h2:.4f})"
        return f"{res.vcomp[which]:.4f} ({res.bse_vcomp[which]:.4f})"

    def remove_data(self):
        """Remove the data arrays (statsmodels' ``remove_data``), after computing what the
        summary needs from them (family sizes, score at the estimate, the profile interval
        of h2 at ``alpha=0.05`` and the test of ``s_k^2 = 0``), so that :meth:`summary`
        gives the same table afterwards (with another ``alpha`` its h2 interval is "n/a").
        """
        self._summary_facts()
        if self.delta is not None:
            self._summary_h2_interval(0.05)
        super().remove_data()
        # n values, like the data (random_effects needs the data)
        self._residual_rot = self._random = self._blups = None

    def _data_removed(self):
        return (getattr(self.model, "_profile", None) is None
                and getattr(self.model, "_engine", None) is None)

    def _summary_facts(self):
        """Family sizes, score at the estimate and the LR test of ``s_k^2 = 0`` for the
        summary; computed once (a few ms), kept through ``remove_data()``."""
        facts = self._cache.get("_summary_facts")
        if facts is not None:
            return facts
        if self._data_removed():
            return {"sizes": None, "score": None, "lr": None, "lr_reason": "data removed"}
        if self.delta is None:
            facts = self._summary_facts_components()
            self._cache["_summary_facts"] = facts
            return facts
        sizes = np.asarray(self.model.decomposition.block_sizes)
        score = None
        if self.identified and not self.fit_info.get("fixed_ratio"):
            with serial_blas():
                score = float(self.model._profile.score(self.delta, self.reml))
        lr, reason = None, "not identified"
        if self.identified:
            try:
                lr, reason = self.kinship_variance_test(), None
            except ValueError as err:  # the ratio held fixed
                reason = "ratio held fixed" if self.fit_info.get("fixed_ratio") else str(err)
        facts = {"sizes": (int(sizes.min()), int(sizes.max())), "score": score, "lr": lr,
                 "lr_reason": reason}
        self._cache["_summary_facts"] = facts
        return facts

    def _summary_facts_components(self):
        """:meth:`_summary_facts` of a fit with several components: block sizes, levels,
        the largest |score| of the free ratios, and the LR test of each component."""
        model = self.model
        sizes = np.asarray(model.structure.block_sizes)
        score = None
        if self.identified and not self.fit_info.get("fixed_ratio"):
            with serial_blas():
                grad = model._engine.score(self.gamma, self.reml)
            free = (self.gamma > 0) | (grad > 0)
            score = float(np.max(np.abs(grad[free]))) if free.any() else 0.0
        tests, reason = {}, None
        if not self.identified:
            reason = "not identified"
        elif self.fit_info.get("fixed_ratio"):
            reason = "ratios held fixed"
        else:
            for name in model.component_names:
                tests[name] = inference.variance_component_test(self, name)
        levels = {c.name: c.n_levels for c in model.structure.components}
        return {"sizes": (int(sizes.min()), int(sizes.max())), "score": score, "lr": tests,
                "lr_reason": reason, "levels": levels,
                "individuals": (None if model.individuals is None
                                else len(model.individuals))}

    def _summary_h2_interval(self, alpha):
        """``(lower, upper, reason)`` of the profile-likelihood interval of h2 for the
        summary: the limits are None and ``reason`` says why when there is none."""
        key = ("_summary_h2_interval", float(alpha))
        if key in self._cache:
            return self._cache[key]
        if not self.identified:
            return None, None, "not identified"
        if self.fit_info.get("fixed_ratio"):
            return None, None, "ratio held fixed"
        if self._data_removed():
            return None, None, "data removed"
        try:
            ci = self.profile_conf_int(alpha=alpha, which="h2")
            out = (float(ci.loc["h2", "lower"]), float(ci.loc["h2", "upper"]), None)
        except (ValueError, RuntimeError) as err:
            out = (None, None, str(err))
        self._cache[key] = out
        return out

    @staticmethod
    def _equal_widths(smry):
        """Pad the first column of each table of ``smry`` so that all have the width of the
        widest (summary2 spreads the difference over the column gaps, unevenly)."""
        # rendered as Summary.as_text renders them before it pads them
        widths = [len(table.as_text().splitlines()[0])
                  for table in summary2._simple_tables(smry.tables, smry.settings)]
        for i, w in enumerate(widths):
            pad = " " * (max(widths) - w)
            if not pad:
                continue
            df = smry.tables[i].copy()
            if smry.settings[i]["index"]:
                df.index = [f"{label}{pad}" for label in df.index]
            else:
                df.iloc[:, 0] = [f"{v}{pad}" for v in df.iloc[:, 0]]
            smry.tables[i] = df
        return smry

    def _summary_start(self, ratio_word):
        """The summary's facts, the aliased columns (all, and the first three as shown) and
        the score's cell."""
        facts = self._summary_facts()
        aliased = list(np.asarray(self.model.exog_names)[np.asarray(self.aliased)])
        shown = ", ".join(aliased[:3]) + (", ..." if len(aliased) > 3 else "")
        if self.fit_info.get("fixed_ratio"):
            score = f"n/a ({ratio_word} fixed)"
        elif facts["score"] is None:
            score = "n/a (data removed)" if self.identified else "n/a (not identified)"
        else:
            score = f"{facts['score']:.2e}"
        return facts, aliased, shown, score

    def _summary_fit_rows(self, aliased, shown):
        """The summary's rows on the design and the fit, the same for every model."""
        return {
            "Rank of exog:": f"{self.model.rank} of {self.k_fe}",
            "Aliased columns:": f"{len(aliased)}" + (f" ({shown})" if aliased else ""),
            "Log-Likelihood:": f"{self.llf:.4f}",
            "AIC:": f"{self.aic:.4f}",
            "BIC:": f"{self.bic:.4f}",
            "Scale (s_e^2):": f"{self.scale:.4f}",
            "Converged:": ("Yes" if self.converged else "No") + (
                "" if self.identified else " (variance components not identified)"),
        }

    def _summary_aliased_note(self, aliased):
        """The note on the aliased columns (a list, empty without them)."""
        if not self.aliased.any():
            return []
        listed = ", ".join(aliased[:10]) + (", ..." if len(aliased) > 10 else "")
        return [f"{len(aliased)} coefficients are aliased (linear combinations of earlier "
                f"columns) and were not estimated: {listed}."]

    def _summary_fit_notes(self, fixed):
        """The notes on the degrees of freedom, the fixed ratio(s) and convergence."""
        notes = []
        if self.df_method == "satterthwaite":
            notes.append("t tests with Satterthwaite degrees of freedom per coefficient.")
        if self.fit_info.get("fixed_ratio"):
            notes.append(f"The variance {fixed} held fixed, not estimated.")
        if not self.converged:
            notes.append("The optimizer did not converge: " + self.fit_info.get("message", ""))
        return notes

    def _add_fixed_effects(self, smry, xname, alpha):
        """The table of the fixed effects; returns the interval columns' labels."""
        stat = "t" if self.use_t else "z"
        ci = np.asarray(self.conf_int(alpha))
        names = xname or list(self.model.exog_names)
        lo, hi = f"[{alpha / 2:.3f}", f"{1 - alpha / 2:.3f}]"
        cols = ["Coef.", "Std.Err.", stat, f"P>|{stat}|", lo, hi]
        vals = np.column_stack([self.params, self.bse, self.tvalues, self.pvalues, ci])
        table = pd.DataFrame([[f"{v:.3f}" for v in row] for row in vals], index=names,
                             columns=cols)
        table.loc[np.asarray(self.aliased)] = ["(aliased)"] + [""] * (len(cols) - 1)
        smry.add_df(table)
        return lo, hi

    def _summary_components(self, yname, xname, title, alpha):
        """:meth:`summary` of a fit with several variance components."""
        model = self.model
        alpha = check_alpha(alpha)
        facts, aliased, shown, score = self._summary_start("ratios")
        na = "n/a"
        sizes = facts["sizes"]
        at_zero = [n for n, g in zip(model.component_names, self.gamma) if g == 0]
        info = {
            "Model:": "KinshipMixedLM",
            "Method:": self.method,
            "Dependent Variable:": yname or model.endog_names,
            "Records:": f"{int(self.nobs)}",
            "Individuals:": (f"{facts['individuals']}" if facts.get("individuals") is not None
                             else "n/a" if sizes is None else f"{int(self.nobs)}"),
            "Independent blocks:": f"{model.n_blocks}",
            "Block size (min-max):": (f"{sizes[0]}-{sizes[1]}" if sizes
                                      else "n/a (data removed)"),
            **self._summary_fit_rows(aliased, shown),
            "Iterations:": f"{self.fit_info.get('n_iter', 0)}",
            "Max |score| (ratios):": score,
            "Boundary:": ", ".join(f"{n} = 0" for n in at_zero) or "none",
        }
        smry = summary2.Summary()
        smry.add_dict(info, ncols=2)
        smry.add_title(title or "Kinship Linear Mixed Model Results")
        self._add_fixed_effects(smry, xname, alpha)

        shares = self.variance_shares
        levels = facts.get("levels") or {}
        tests = facts["lr"] or {}
        rows = {}
        for name in self.vcomp.index:
            test = tests.get(name)
            rows[name] = [
                f"{self.vcomp[name]:.4f}", f"{self.bse_vcomp[name]:.4f}",
                f"{shares.loc[name, 'share']:.4f}", f"{shares.loc[name, 'std. error']:.4f}",
                f"{levels[name]}" if name in levels else "",
                f"{test.statistic:.3f}" if test is not None else (
                    na if name in model.component_names else ""),
                f"{test.pvalue:.3g}" if test is not None else (
                    na if name in model.component_names else "")]
        vc = pd.DataFrame(list(rows.values()), index=list(rows),
                          columns=["Variance", "Std.Err.", "Share", "Share SE", "Levels", "LR",
                                   "P>LR"])
        smry.add_df(vc)
        self._equal_widths(smry)

        notes = self._summary_aliased_note(aliased)
        if at_zero and self.identified and not self.fit_info.get("fixed_ratio"):
            notes.append(f"Estimated at zero (boundary of the parameter space): "
                         f"{', '.join(at_zero)}; their standard errors are not reported.")
        notes += self._summary_fit_notes("ratios were")
        if not self.identified:
            notes.append("The variance components are not identified: "
                         + self.fit_info["identifiability"] + ". The split shown is one of "
                         "many with the same likelihood; standard errors and tests are not "
                         "reported.")
        scales = ", ".join(f"{n} {m:.4g}" for n, m in zip(model.component_names,
                                                          self._component_scales()))
        notes.append("Share: the component's share of the phenotypic variance of a typical "
                     "record, s_j^2 m_j / (sum_i s_i^2 m_i + s_e^2), m_j the mean diagonal of "
                     f"its covariance ({scales}); h2 = {self.h2:.4f} is the share of the first "
                     "relationship component. LR: likelihood-ratio test of the component = 0, "
                     "the others estimated (50:50 mixture of chi2(0) and chi2(1))"
                     + ("" if facts["lr_reason"] is None else f" (n/a: {facts['lr_reason']})")
                     + ". Max |score|: the largest derivative of the profiled "
                     + ("restricted " if self.reml else "")
                     + "log-likelihood in the free variance ratios s_j^2/s_e^2 (0 at an "
                     "interior maximum).")
        for note in notes:
            smry.add_text(note)
        return smry

    def summary(self, yname=None, xname=None, title=None, alpha=0.05):
        """
        Summarize the fit.

        Parameters
        ----------
        yname, xname : str, list of str, optional
            Names for the response and the fixed effects.
        title : str, optional
        alpha : float
            Significance level of the confidence intervals.

        Returns
        -------
        statsmodels.iolib.summary2.Summary

        Notes
        -----
        Besides the fixed effects the summary reports the individuals, the kinship blocks
        (families: individuals connected by nonzero kinship) and their size range, the
        convergence details (likelihood evaluations, the score ``d llf / d delta`` at the
        estimate, the boundary reached if any), the aliased columns, the variance
        components and h2 with their standard errors, the profile-likelihood interval of h2
        (:meth:`profile_conf_int`) and the likelihood-ratio test of ``s_k^2 = 0``
        (:meth:`kinship_variance_test`, the 50:50 chi2 mixture). The interval and the test
        cost a few ms and are computed on the first call; :meth:`remove_data` computes them
        before removing the data (an h2 interval at another ``alpha`` is then "n/a"). They
        are "n/a" when the variance components are not identified or the ratio was held
        fixed. All blocks have the same width.
        """
        if self.delta is None:
            return self._summary_components(yname, xname, title, alpha)
        model = self.model
        alpha = check_alpha(alpha)
        facts, aliased, shown, score = self._summary_start("ratio")
        na = "n/a"
        sizes = facts["sizes"]
        boundary = {"kinship": "s_k^2 = 0", "residual": "s_e^2 = 0"}.get(
            self.fit_info.get("boundary") if self.identified else None, "none")
        info = {
            "Model:": "KinshipMixedLM",
            "Method:": self.method,
            "Dependent Variable:": yname or model.endog_names,
            "Individuals (records):": f"{int(self.nobs)}",
            "Kinship blocks:": f"{model.n_blocks}",
            "Family size (min-max):": (f"{sizes[0]}-{sizes[1]}" if sizes
                                       else "n/a (data removed)"),
            **self._summary_fit_rows(aliased, shown),
            "Likelihood evaluations:": f"{self.fit_info.get('n_evals', 0)}",
            "Score d llf/d delta:": score,
            "Boundary:": boundary,
        }
        smry = summary2.Summary()
        smry.add_dict(info, ncols=2)
        if title is None:
            title = "Kinship Linear Mixed Model Results"
        smry.add_title(title)

        lo, hi = self._add_fixed_effects(smry, xname, alpha)

        # variance components: the columns line up with those of the fixed effects, the
        # likelihood-ratio test (of s_k^2 = 0) in place of the Wald statistic
        h2_lo, h2_hi, h2_reason = self._summary_h2_interval(alpha)
        lr = facts["lr"]
        blank = [""] * 4
        rows = {
            "Kinship var (s_k^2)": [self.vcomp["kinship"], self.bse_vcomp["kinship"]] + (
                [f"{lr.statistic:.3f}", f"{lr.pvalue:.3g}", "", ""] if lr is not None
                else [na, na, "", ""]),
            "Residual var (s_e^2)": [self.vcomp["residual"], self.bse_vcomp["residual"]]
            + blank,
            "Heritability (h2)": [self.h2, self.bse_h2, "", ""] + (
                [f"{h2_lo:.3f}", f"{h2_hi:.3f}"] if h2_reason is None else [na, na]),
            "theta (lme4)": [self.theta, self.bse_theta] + blank,
        }
        vc = pd.DataFrame(
            [[f"{est:.4f}", f"{se:.4f}", *rest] for est, se, *rest in rows.values()],
            index=list(rows), columns=["Estimate", "Std.Err.", "LR", "P>LR", lo, hi])
        smry.add_df(vc)
        self._equal_widths(smry)

        notes = self._summary_aliased_note(aliased)
        if self.delta == 0.0 and self.identified:
            notes.append("The kinship variance is estimated at zero (boundary of the "
                         "parameter space): the fit equals GLS/OLS; its standard error and "
                         "the Wald interval are not reliable there.")
        if self.converged and self.fit_info.get("boundary") == "residual":
            notes.append("The residual variance is estimated at its lower boundary (s_e^2 "
                         f"= 1e-6 s_k^2 times the typical eigenvalue of K, delta = "
                         f"{self.delta:.3g}): h2 = 1 within about 1e-6; standard errors and "
                         "Wald intervals are not reliable there.")
        notes += self._summary_fit_notes("ratio s_k^2/s_e^2 was")
        if not self.identified:
            notes.append("The variance components are not identified: "
                         + self.fit_info["identifiability"] + ". The split shown (s_k^2, "
                         "s_e^2, h2, theta) is one of many with the same likelihood (when "
                         "the likelihood is flat, s_k^2 = 0 by convention); their standard "
                         "errors are not reported.")
        notes.append(f"h2 = s_k^2 m/(s_k^2 m + s_e^2), m = mean diag(K) = "
                     f"{model.mean_kinship_diagonal:.4g}; its interval is the "
                     "profile-likelihood interval"
                     + ("" if h2_reason is None else f" (n/a: {h2_reason})") + ". LR: "
                     "likelihood-ratio test of s_k^2 = 0 (50:50 mixture of chi2(0) and "
                     "chi2(1))" + ("" if lr is not None else f" (n/a: {facts['lr_reason']})")
                     + ". theta = sqrt(s_k^2/s_e^2), lme4's parameter. Score: derivative "
                     "of the profiled " + ("restricted " if self.reml else "")
                     + "log-likelihood in delta = s_k^2/s_e^2 at the estimate (0 at an "
                     "interior maximum).")
        for note in notes:
            smry.add_text(note)
        return smry

    def h2_liability(self, prevalence, sample_prevalence=None):
        r"""Heritability of a binary (0/1) trait converted from the observed to the liability
        scale.

        An LMM fitted to a 0/1 trait estimates ``h2`` on the observed scale, which depends on
        the prevalence. Under the liability-threshold model (a normal liability, affected
        above a threshold ``t`` with ``P(liability > t) = K``) it is converted to the
        heritability of the liability.

        Parameters
        ----------
        prevalence : float
            ``K``, the prevalence of the trait (the share coded 1) in the population, in
            (0, 1).
        sample_prevalence : float, optional
            ``P``, the share of cases in the sample, in (0, 1), for an ascertained
            (case-control) sample. None (default): the sample is a random sample of the
            population (``P = K``).

        Returns
        -------
        h2 : float
            Heritability on the liability scale.
        bse : float
            Its standard error, ``bse_h2`` times the same factor (delta method; the
            prevalences are taken as known).

        Notes
        -----
        With ``z = phi(t)``, the standard normal density at the threshold
        ``t = Phi^{-1}(1 - K)``, the conversion of Dempster and Lerner (1950) (Robertson's
        formula) is

        .. math::

            h^2_l = h^2_o \frac{K(1-K)}{z^2}

        and, for a sample with a share ``P`` of cases, that of Lee et al. (2011)

        .. math::

            h^2_l = h^2_o \frac{K^2(1-K)^2}{P(1-P) z^2}

        which reduces to the first when ``P = K``. Both assume that ``h2`` is small and the
        trait is coded 0/1 (h2 does not depend on the coding of the two values).

        References
        ----------
        Dempster, E. R., Lerner, I. M. (1950). Heritability of threshold characters.
        Genetics 35, 212-236.

        Lee, S. H., Wray, N. R., Goddard, M. E., Visscher, P. M. (2011). Estimating missing
        heritability for disease from genome-wide association studies. American Journal of
        Human Genetics 88, 294-305.
        """
        if sample_prevalence is None:
            sample_prevalence = prevalence
        for name, value in (("prevalence", prevalence), ("sample_prevalence", sample_prevalence)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
                raise TypeError(f"{name} must be a number in (0, 1), got {value!r}")
            if not 0 < value < 1:
                raise ValueError(f"{name} must be in (0, 1) (a proportion of cases), got "
                                 f"{value!r}")
        k, p = float(prevalence), float(sample_prevalence)
        z = stats.norm.pdf(stats.norm.isf(k))
        factor = k ** 2 * (1 - k) ** 2 / (p * (1 - p) * z ** 2)
        return float(self.h2 * factor), float(self.bse_h2 * factor)


class _EstimableHypotheses:
    """The results seen by statsmodels' ``wald_test_terms``: hypothesis rows on aliased
    coefficients are dropped (a term is tested on its estimable columns; one with none is
    reported as a test with 0 df and a NaN statistic)."""

    def __init__(self, results):
        self._results = results

    def __getattr__(self, name):
        return getattr(self._results, name)

    def wald_test(self, r_matrix, **kwargs):
        res = self._results
        r = np.atleast_2d(np.asarray(r_matrix, dtype=float))
        keep = ~np.any(r[:, np.asarray(res.aliased)] != 0, axis=1)
        if keep.any():
            return res.wald_test(r[keep], **kwargs)
        if res.use_t:  # nothing estimable: a test with 0 df and NaN statistic
            return ContrastResults(F=np.nan, df_denom=np.nan, df_num=0)
        return ContrastResults(chi2=np.nan, df_denom=0, statistic=np.nan, distribution="chi2",
                               distargs=(0,))


class KinshipMixedLMResultsWrapper(base.LikelihoodResultsWrapper):
    _attrs = {"fe_params": "columns", "random_effects": "rows", "aliased": "columns"}
    _wrap_attrs = wrap.union_dicts(base.LikelihoodResultsWrapper._wrap_attrs, _attrs)
    _methods = {}
    _wrap_methods = wrap.union_dicts(base.LikelihoodResultsWrapper._wrap_methods, _methods)


wrap.populate_wrapper(KinshipMixedLMResultsWrapper, KinshipMixedLMResults)
