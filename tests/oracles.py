"""Likelihoods written directly from their definitions, with dense matrices: the independent
oracles the engine's tests compare against (never used by the package)."""
import numpy as np

__all__ = ["reml_oracle"]


def reml_oracle(y, X, V):
    """Restricted log-likelihood written directly from its definition (lme4's convention:
    -1/2 the REML criterion, without log det X'X)."""
    n, p = X.shape
    Vi = np.linalg.inv(V)
    A = X.T @ Vi @ X
    b = np.linalg.solve(A, X.T @ Vi @ y)
    r = y - X @ b
    return -0.5 * ((n - p) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1]
                   + np.linalg.slogdet(A)[1] + r @ Vi @ r)
