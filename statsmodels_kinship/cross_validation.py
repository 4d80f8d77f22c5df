"""K-fold cross-validated prediction of a kinship mixed model.

:func:`cross_validate` refits a model specification on all but one fold of the data and
predicts the held-out fold from the fitted model (conditional predictions: the held-out
individuals' random effects are predicted from their relatives' records), fold after fold.
:class:`CrossValidationResults` holds the out-of-fold predictions and the accuracy, error and
interval coverage of every fold.
"""
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from statsmodels.iolib import summary2

from ._components import kinship_dict
from ._validation import _show, as_rng, check_alpha, check_bool, is_labelled
from .kinship import SparseKinship
from .kinship_mixed_model import KinshipMixedLM

__all__ = ["CrossValidationResults", "cross_validate"]

#: the per-fold statistics that :meth:`CrossValidationResults.summary_frame` averages
METRICS = ["accuracy", "accuracy_genetic", "mse", "coverage", "h2"]


def _corr(x, y):
    """Pearson correlation of the finite pairs; NaN (without a warning) when fewer than two
    pairs remain or either variable is constant (all predicted breeding values 0: a fold
    without relatives in the training set)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return np.nan
    for v in (x, y):
        if np.ptp(v) <= 1e-12 * max(1.0, float(np.max(np.abs(v)))):
            return np.nan
    return float(np.corrcoef(x, y)[0, 1])


def _complete_rows(formula, data, vc_formula, individual):
    """Boolean mask of the rows of ``data`` without missing values in the variables of the
    formula, of the ``vc_formula`` and in the ``individual`` column (the rows the model
    keeps)."""
    import patsy

    keep = pd.Series(False, index=pd.RangeIndex(len(data)))
    numbered = data.set_axis(pd.RangeIndex(len(data)))
    try:
        y, _ = patsy.dmatrices(formula, numbered, NA_action="drop", return_type="dataframe")
        keep[y.index] = True
        for name, vcf in (vc_formula or {}).items():
            design = patsy.dmatrix(vcf, numbered, NA_action="drop", return_type="dataframe")
            keep &= keep.index.isin(design.index)
    except patsy.PatsyError as err:
        raise ValueError(f"cannot evaluate the formulas on the data: {err}") from None
    if isinstance(individual, str):
        keep &= data[individual].notna().to_numpy()
    return keep.to_numpy()


def _relationship_labels(k):
    """The IDs of a labelled relationship matrix."""
    return pd.Index(k.index if isinstance(k, pd.DataFrame) else k.labels)


def _label_kinship(relmats, ids):
    """Unlabelled matrices labelled by ``ids`` (the individual of each row of the data, by
    position); labelled ones as given."""
    out = {}
    for name, k in relmats.items():
        if is_labelled(k):
            out[name] = k
            continue
        shape = np.shape(k)
        if len(shape) != 2 or shape != (len(ids), len(ids)):
            raise ValueError(
                f"the kinship{'' if name == 'kinship' else f' {name!r}'} is not labelled, so "
                f"it is matched to the rows of the data by position and must be "
                f"{len(ids)} x {len(ids)}, got shape {shape}; or give it labelled (a "
                "DataFrame indexed by individual ID, or a SparseKinship)")
        if not ids.is_unique:
            raise ValueError("an unlabelled kinship is matched to the rows by position, which "
                             "needs one record per individual; the individuals "
                             f"{_show(ids[ids.duplicated()].unique())} have several: give the "
                             "kinship labelled by individual ID")
        if sparse.issparse(k):
            out[name] = SparseKinship(sparse.csr_matrix(k), ids)
        else:
            out[name] = pd.DataFrame(np.asarray(k, dtype=float), index=ids, columns=ids)
    return out


def _relationship_submatrix(k, ids):
    """The entries of a labelled relationship matrix among ``ids`` (sparse)."""
    labels = _relationship_labels(k)
    pos = labels.get_indexer(ids)
    if isinstance(k, pd.DataFrame):
        return sparse.csr_matrix(k.to_numpy()[np.ix_(pos, pos)])
    return sparse.csr_matrix(k.matrix)[pos][:, pos]


def _families(relmats, ids):
    """Connected components of the relationships among ``ids`` (unique individuals): two
    individuals are in one family when a relationship matrix has a non-zero entry for
    them (directly or through other individuals of ``ids``)."""
    graph = None
    for k in relmats.values():
        sub = _relationship_submatrix(k, ids)
        sub = (abs(sub) > 0).astype(np.int8)
        graph = sub if graph is None else graph + sub
    _, labels = connected_components(graph, directed=False)
    return labels


def _assign_folds(units, n_folds, rng):
    """Fold (0, ..., n_folds - 1) of each row from the unit of each row: the units in
    random order, larger units first, each to the fold with the fewest records so far."""
    codes, uniques = pd.factorize(units)
    sizes = np.bincount(codes)
    n_units = len(uniques)
    order = rng.permutation(n_units)
    order = order[np.argsort(-sizes[order], kind="stable")]
    unit_fold = np.empty(n_units, dtype=int)
    load = np.zeros(n_folds, dtype=int)
    for u in order:
        f = int(np.argmin(load))
        unit_fold[u] = f
        load[f] += sizes[u]
    return unit_fold[codes]


class CrossValidationResults:
    """
    Out-of-fold predictions of a k-fold cross-validation, made by :func:`cross_validate`.

    Attributes
    ----------
    predictions : pandas.DataFrame
        One row per record used (indexed like the rows of the data; rows with missing
        values are left out, as the model leaves them out): ``fold``, ``observed``, the
        conditional prediction of the record from the fold's fit (``mean``, ``mean_se``,
        ``obs_ci_lower``, ``obs_ci_upper``: the ``1 - alpha`` prediction interval of the
        record), the breeding value of the record's individual for the first relationship
        component (``breeding_value``, ``breeding_value_se``, ``reliability``) and, when
        given, the true ``genetic_value``.
    folds : pandas.DataFrame
        One row per fold: ``n_train``, ``n_test`` (records), ``accuracy`` (correlation of
        ``mean`` and ``observed`` in the fold), ``accuracy_genetic`` (correlation of
        ``breeding_value`` and ``genetic_value``, with a genetic value; NaN when every
        predicted breeding value is 0), ``mse`` (mean of ``(observed - mean)^2``),
        ``coverage`` (share of the records inside their prediction interval), ``h2`` of the
        fold's fit and ``converged``.
    formula, by, n_folds, alpha, seed, reml
        The arguments of :func:`cross_validate`.
    component : str
        The relationship component whose breeding values are predicted.
    """

    def __init__(self, predictions, folds, *, formula, by, n_folds, alpha, seed, reml,
                 component):
        self.predictions = predictions
        self.folds = folds
        self.formula = formula
        self.by = by
        self.n_folds = n_folds
        self.alpha = alpha
        self.seed = seed
        self.reml = reml
        self.component = component

    def summary_frame(self):
        """
        Mean and standard error over the folds of each statistic of :attr:`folds`.

        Returns
        -------
        pandas.DataFrame
            Rows ``accuracy``, ``accuracy_genetic`` (with a genetic value), ``mse``,
            ``coverage``, ``h2``; columns ``mean``, ``std. error`` (the standard deviation
            over the folds divided by the square root of their number; folds with NaN left
            out), ``min``, ``max`` and ``n_folds`` (the number of folds with a value).
        """
        rows = {}
        for name in METRICS:
            if name == "accuracy_genetic" and "genetic_value" not in self.predictions:
                continue
            v = self.folds[name].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            n = len(v)
            rows[name] = {
                "mean": v.mean() if n else np.nan,
                "std. error": v.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
                "min": v.min() if n else np.nan, "max": v.max() if n else np.nan,
                "n_folds": n}
        return pd.DataFrame.from_dict(rows, orient="index")

    def summary(self):
        """
        Summarize the cross-validation.

        Returns
        -------
        statsmodels.iolib.summary2.Summary
        """
        smry = summary2.Summary()
        smry.add_title("Cross-validated prediction of a Kinship Linear Mixed Model")
        info = {
            "Formula:": self.formula,
            "Folds:": f"{self.n_folds}, by {self.by}",
            "Records:": f"{len(self.predictions)}",
            "Method:": "REML" if self.reml else "ML",
            "Seed:": f"{self.seed}",
            "Breeding values:": self.component,
        }
        smry.add_dict(info)
        frame = self.summary_frame()
        table = frame.drop(columns="n_folds").map(lambda v: f"{v:.4f}")
        table["folds"] = frame["n_folds"].astype(int).astype(str)
        smry.add_df(table)
        smry.add_text(
            "accuracy: corr(prediction, observed) in each fold; accuracy_genetic: "
            "corr(breeding value, true genetic value); mse: mean squared prediction error; "
            f"coverage: share of records in their {100 * (1 - self.alpha):g}% prediction "
            "interval. Means over folds, standard error = SD over folds / sqrt(folds).")
        return smry

    def __repr__(self):
        s = self.summary_frame()
        acc, cov = s.loc["accuracy"], s.loc["coverage"]
        text = (f"<CrossValidationResults: {self.n_folds} folds by {self.by}, "
                f"{len(self.predictions)} records; accuracy {acc['mean']:.3f} "
                f"(SE {acc['std. error']:.3f})")
        if "accuracy_genetic" in s.index and s.loc["accuracy_genetic", "n_folds"]:
            gen = s.loc["accuracy_genetic"]
            text += f", genetic {gen['mean']:.3f} (SE {gen['std. error']:.3f})"
        return text + f", coverage {cov['mean']:.3f}>"


def cross_validate(formula, data, kinship, *, folds=5, by="individual", vc_formula=None,
                   individual=None, genetic_value=None, reml=True, seed=None, alpha=0.05,
                   fit_kwargs=None):
    """
    K-fold cross-validated prediction of a kinship mixed model specification.

    For each fold the model ``KinshipMixedLM.from_formula(formula, <other folds>,
    kinship, vc_formula=..., individual=...)`` is fitted and the records of the fold are
    predicted with ``results.get_prediction(<fold>)`` (conditional: ``x'b`` plus the BLUP
    of the held-out individuals' random effects from their relatives' records, since the
    relationship matrices hold the held-out individuals too), together with the breeding
    values of the fold's individuals (``which="breeding_value"``).

    Parameters
    ----------
    formula : str
        The model's formula, e.g. ``"trait ~ SNP1 + SNP3"``.
    data : pandas.DataFrame
        The records; its index labels the rows (it must be unique) and, without
        ``individual``, holds the individual IDs.
    kinship : DataFrame, SparseKinship, ndarray, scipy.sparse matrix, or dict of them
        The relationship matrix (or ``{name: matrix}`` for several components), as
        :class:`~statsmodels_kinship.KinshipMixedLM` takes it. A labelled matrix may hold
        more individuals than the data. An unlabelled one (ndarray, scipy.sparse) is matched
        to the rows of ``data`` by position (before rows with missing values are dropped)
        and labelled by the rows' individuals, so it needs one record per individual.
    folds : int, default 5
        Number of folds, at least 2 and at most the number of units (individuals or
        families).
    by : str or array_like, default "individual"
        The units kept whole within a fold. ``"individual"``: every record of an individual
        is in one fold (relatives of a held-out individual may be in the training folds).
        ``"family"``: whole families; the families are the column ``family`` of ``data`` if
        it has one, else the connected components of the relationships among the data's
        individuals (two individuals are in one family when an entry of a relationship
        matrix linking them, directly or through other individuals of the data, is non-zero;
        a genomic relationship matrix links everyone: give the families as a column). Any
        other string: a column of ``data`` holding the units; an array: one unit label per
        row. Every record of an individual must be in one unit.
    vc_formula : dict of str, optional
        Grouping components, e.g. ``{"household": "0 + C(household)"}``. A level of a
        held-out record that is not in the training folds contributes 0 to its prediction.
    individual : str or array_like, optional
        The column of ``data`` (or the values) holding each record's individual, for
        repeated records; default: ``data.index``.
    genetic_value : str or array_like, optional
        The true genetic value of each record (simulated data): a column of ``data``, a
        pandas Series indexed by individual ID (aligned to the records' individuals), or
        values by position. Adds ``accuracy_genetic``, the correlation of the predicted
        breeding values with it.
    reml : bool, default True
        REML or maximum likelihood fits.
    seed : int, numpy.random.Generator or None
        Seed of :func:`numpy.random.default_rng` that draws the folds.
    alpha : float, default 0.05
        The prediction intervals (``obs_ci_lower``, ``obs_ci_upper``) and their coverage are
        for ``1 - alpha``.
    fit_kwargs : dict, optional
        Further arguments of :meth:`KinshipMixedLM.fit` (``method``, ``maxiter``, ...).

    Returns
    -------
    CrossValidationResults
        ``predictions`` (one row per record), ``folds`` (one row per fold),
        ``summary_frame()`` and ``summary()`` (means and standard errors over the folds).

    Raises
    ------
    ValueError
        For ``folds`` below 2 or above the number of units, ``by`` or ``individual`` or
        ``genetic_value`` naming no column, arrays of the wrong length, a unit splitting an
        individual's records, individuals missing from a labelled relationship matrix.

    Notes
    -----
    Folds are drawn at random: the units in random order (``seed``), larger units first,
    each to the fold with the fewest records so far, so the folds' numbers of records
    differ by at most the size of the largest unit (equal units: by at most one unit).
    Rows with missing values in the variables of ``formula``, ``vc_formula``, the
    ``individual`` column or the units of ``by`` are left out before the folds are drawn.

    The accuracy of a fold is the correlation of the predictions and the observed trait
    (the "predictive ability"); ``accuracy_genetic``, with simulated data, the correlation
    of the predicted and the true breeding values. Folds by family measure prediction of
    new families: with a pedigree kinship a held-out family has no relatives in training,
    its breeding values are all 0 and ``accuracy_genetic`` is NaN.

    Examples
    --------
    >>> import statsmodels_kinship as smk
    >>> ped = smk.replicate_pedigree(smk.seed_pedigree(), 20)  # 20 families of 12
    >>> study = smk.simulate_family_study(ped, n_snps=10, polygenic=0.5, seed=1)
    >>> data = study.genotypes.assign(trait=study.phenotype)
    >>> cv = smk.cross_validate("trait ~ SNP1", data, smk.kinship_from_pedigree(ped),
    ...                         folds=4, seed=2, genetic_value=study.components["polygenic"])
    >>> cv.folds[["n_train", "n_test"]].to_numpy().tolist()
    [[180, 60], [180, 60], [180, 60], [180, 60]]
    >>> cv.summary_frame()[["mean", "std. error"]].round(2)
                      mean  std. error
    accuracy          0.41        0.05
    accuracy_genetic  0.55        0.05
    mse               0.89        0.12
    coverage          0.95        0.02
    h2                0.52        0.03
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not data.index.is_unique:
        raise ValueError("the index of data must be unique (it labels the predictions); "
                         f"repeated labels: {_show(data.index[data.index.duplicated()])}. "
                         "For repeated records of individuals pass individual='column'")
    if isinstance(folds, (bool, np.bool_)) or not isinstance(folds, (int, np.integer)):
        raise TypeError(f"folds must be an integer >= 2, got {folds!r}")
    folds = int(folds)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    reml = check_bool(reml, "reml")
    alpha = check_alpha(alpha)
    rng = as_rng(seed)
    fit_kwargs = dict(fit_kwargs or {})
    if "reml" in fit_kwargs:
        raise ValueError("give reml as cross_validate's argument, not in fit_kwargs")
    if vc_formula is not None and not isinstance(vc_formula, dict):
        raise TypeError("vc_formula must be a dict {name: formula}, e.g. "
                        "{'household': '0 + C(household)'}")
    n = len(data)

    # the individual of each row
    if individual is None:
        ids = pd.Index(data.index)
    elif isinstance(individual, str):
        if individual not in data.columns:
            raise ValueError(f"individual={individual!r} is not a column of the data")
        ids = pd.Index(data[individual])
    else:
        ids = pd.Index(np.asarray(individual).ravel())
        if len(ids) != n:
            raise ValueError(f"individual has {len(ids)} values but the data has {n} rows")
    relmats = kinship_dict(kinship)
    if not relmats:
        raise TypeError("kinship must be a matrix (or a dict of matrices), got None")
    relmats = _label_kinship(relmats, ids)
    for name, k in relmats.items():
        missing = ids.unique().difference(_relationship_labels(k))
        if len(missing):
            raise ValueError(f"{len(missing)} individuals of the data are not in the "
                             f"relationship matrix {name!r}: {_show(missing)}")

    # the true genetic values, by row
    truth = None
    if genetic_value is not None:
        if isinstance(genetic_value, str):
            if genetic_value not in data.columns:
                raise ValueError(f"genetic_value={genetic_value!r} is not a column of the "
                                 "data")
            truth = data[genetic_value].to_numpy(dtype=float)
        elif isinstance(genetic_value, pd.Series):
            missing = ids.unique().difference(genetic_value.index)
            if len(missing):
                raise ValueError(f"genetic_value (a Series indexed by individual) lacks "
                                 f"{len(missing)} individuals of the data: {_show(missing)}")
            truth = genetic_value.reindex(ids).to_numpy(dtype=float)
        else:
            truth = np.asarray(genetic_value, dtype=float).ravel()
            if len(truth) != n:
                raise ValueError(f"genetic_value has {len(truth)} values but the data has "
                                 f"{n} rows")

    # the units kept whole
    if isinstance(by, str) and by == "individual":
        units, by_name = ids, "individual"
    elif isinstance(by, str):
        if by in data.columns:
            units, by_name = pd.Index(data[by]), by
        elif by == "family":
            units, by_name = None, "family (connected components of the kinship)"
        else:
            raise ValueError(f"by={by!r} is not 'individual', 'family' or a column of the "
                             "data")
    else:
        units, by_name = pd.Index(np.asarray(by).ravel()), "the given units"
        if len(units) != n:
            raise ValueError(f"by has {len(units)} labels but the data has {n} rows")

    keep = _complete_rows(formula, data, vc_formula,
                          individual if isinstance(individual, str) else None)
    if units is not None:
        keep = keep & ~np.asarray(pd.isna(units))
    if not keep.any():
        raise ValueError("no rows left after dropping those with missing values")
    rows = np.flatnonzero(keep)
    ids_kept = ids[rows]
    if units is None:
        first = pd.Index(ids_kept).unique()
        units_kept = _families(relmats, first)[first.get_indexer(ids_kept)]
    else:
        units_kept = np.asarray(units[rows])
        per_individual = pd.DataFrame({"id": np.asarray(ids_kept, dtype=object),
                                       "unit": units_kept}).groupby("id")["unit"].nunique()
        split = per_individual.index[per_individual > 1]
        if len(split):
            raise ValueError(f"the records of {len(split)} individuals are in several units "
                             f"of by={by_name!r}: {_show(split)}")
    n_units = len(pd.unique(units_kept))
    if folds > n_units:
        raise ValueError(f"folds={folds} is more than the {n_units} units (by {by_name}) "
                         "of the data")
    fold = _assign_folds(units_kept, folds, rng)

    used = data.iloc[rows]
    observed = np.asarray(_endog(formula, used), dtype=float)
    cols = ["mean", "mean_se", "obs_ci_lower", "obs_ci_upper", "breeding_value",
            "breeding_value_se", "reliability"]
    pred = pd.DataFrame(np.nan, index=used.index, columns=cols)
    fold_rows = []
    component = next(iter(relmats))  # get_prediction's default: the first relationship
    for f in range(folds):
        test = fold == f
        train_df, test_df = used.iloc[~test], used.iloc[test]
        if individual is None or isinstance(individual, str):  # the index, the column
            ind_train, extra = individual, {}
        else:  # the values, split with the rows
            ind_train, extra = ids_kept[~test], {"individual": ids_kept[test]}
        model = KinshipMixedLM.from_formula(formula, train_df, kinship=relmats,
                                            vc_formula=vc_formula, individual=ind_train)
        res = model.fit(reml=reml, **fit_kwargs)
        frame = res.get_prediction(test_df, **extra).summary_frame(alpha=alpha)
        bv = res.get_prediction(individual=ids_kept[test], which="breeding_value")
        vals = np.column_stack([
            frame[["mean", "mean_se", "obs_ci_lower", "obs_ci_upper"]].to_numpy(),
            bv.predicted_mean, np.sqrt(bv.var_pred_mean), bv.reliability])
        pred.iloc[np.flatnonzero(test)] = vals
        mean = vals[:, 0]
        obs = observed[test]
        fold_rows.append({
            "n_train": int((~test).sum()), "n_test": int(test.sum()),
            "accuracy": _corr(mean, obs),
            "accuracy_genetic": (_corr(vals[:, 4], truth[rows][test]) if truth is not None
                                 else np.nan),
            "mse": float(np.mean((obs - mean) ** 2)),
            "coverage": float(np.mean((obs >= vals[:, 2]) & (obs <= vals[:, 3]))),
            "h2": float(res.h2), "converged": bool(res.converged)})
    pred.insert(0, "fold", fold)
    pred.insert(1, "observed", observed)
    if truth is not None:
        pred["genetic_value"] = truth[rows]
    table = pd.DataFrame(fold_rows, index=pd.RangeIndex(folds, name="fold"))
    if truth is None:
        table = table.drop(columns="accuracy_genetic")
    return CrossValidationResults(pred, table, formula=formula, by=by_name, n_folds=folds,
                                  alpha=alpha, seed=seed, reml=reml, component=component)


def _endog(formula, data):
    """The response of ``formula`` evaluated on ``data`` (rows without missing values)."""
    import patsy

    y = patsy.dmatrices(formula, data, NA_action="raise", return_type="dataframe")[0]
    if y.shape[1] != 1:
        raise ValueError(f"the formula's response must be one column, got {y.shape[1]}")
    return y.iloc[:, 0].to_numpy()
