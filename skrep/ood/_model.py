"""Gaussian models of the OOD detector: built from statistics, scored in chunks.

A *model* is a dict of host (or, after :func:`to_device`, device) arrays:
the centring ``loc``, the per-feature ``scale`` and one dict of whitening
parameters per block of features. The Gaussians live in the coordinates ``z
= (x - loc) * scale`` with ``scale = a / g`` (``a`` the target's feature
scales, ``g`` the features' magnitudes, powers of two): scoring rescales
each chunk of rows to these coordinates, of order one whatever X's units,
before any product, so that a float32 row is never squared in X's units.
Scores are finite: a row so far from every Gaussian that its distance
overflows scores the dtype's most negative finite value. One code path
scores every namespace: NumPy input additionally calls a compiled kernel and
a triangular BLAS product as leaf operations, and threads over chunks of
rows.
"""

import numpy as np
from scipy import linalg
from scipy.linalg import get_blas_funcs

from skrep.ood._moments import take, total
from skrep.utils._array_api import is_numpy_namespace, to_namespace
from skrep.utils._compat import _logsumexp, supported_float_dtypes
from skrep.utils._threads import map_threads

__all__ = [
    "build",
    "covariances_in_units",
    "factor_covariance",
    "heldout_log_likelihood",
    "score_rows",
    "to_device",
]

# Bytes of working memory per scoring chunk on the CPU (stays in the caches).
_CHUNK_BYTES = 2**22
# Bytes per scoring chunk on an array-API device (a GPU wants large chunks:
# fewer kernel launches, and memory stays bounded).
_DEVICE_CHUNK_BYTES = 2**27


# ---------------------------------------------------------------- building
def shrinkage_coefficient(S, n, q4, shrinkage):
    """Shrinkage coefficient of the covariance S of n centred rows.

    ``q4`` is the sum of the rows' fourth powers of norms (Ledoit-Wolf).
    """
    p = S.shape[0]
    if shrinkage is None or p == 1:
        return 0.0
    if not isinstance(shrinkage, str):
        return float(shrinkage)
    mu = np.trace(S) / p
    fro2 = float(np.sum(S * S))
    if shrinkage == "ledoit_wolf":
        beta = (q4 / n - fro2) / (p * n)
        delta = (fro2 - 2.0 * mu * np.trace(S) + p * mu**2) / p
        beta = min(beta, delta)
        return 0.0 if beta <= 0 else beta / delta
    # OAS, as scikit-learn computes it.
    alpha = fro2 / p**2
    num = alpha + mu**2
    den = (n + 1) * (alpha - mu**2 / p)
    return 1.0 if den <= 0 else min(num / den, 1.0)


def factor_covariance(S, k, psi=None, tol=1e-4, max_iter=1000):
    """Maximum-likelihood factor-analysis covariance ``W W^T + diag(psi)``
    of the covariance S, with ``k`` factors.

    The alternating updates of scikit-learn's ``FactorAnalysis`` (the
    closed-form loadings given the noise variances ``psi``: the top ``k``
    eigenvectors of ``psi^{-1/2} S psi^{-1/2}``, then ``psi = diag(S - W
    W^T)``), run on S instead of the rows; they stop when the
    log-likelihood per row gains less than ``tol``. The model is equivariant
    under a rescaling of the features. A noise variance is kept at or above
    ``1e-6`` times its feature's variance (a Heywood case; the mean
    variance for a constant feature); S
    is returned as it is when no feature varies. ``psi``: the noise
    variances to start from (default: the variances). Returns the
    covariance and the final noise variances.
    """
    p = S.shape[0]
    d = np.diag(S).copy()
    if not d.mean() > 0:
        return S.copy(), d
    floor = 1e-6 * np.where(d > 0, d, d.mean())
    psi = np.maximum(d if psi is None else psi, floor)
    best = -np.inf
    for _ in range(max_iter):
        r = 1.0 / np.sqrt(psi)
        St = S * r[:, None] * r[None, :]
        lam, U = np.linalg.eigh(St)  # all of them: faster than a subset
        lam, U = lam[p - k :], U[:, p - k :]
        big = np.maximum(lam, 1.0)
        loglik = -0.5 * (
            np.log(psi).sum() + np.log(big).sum() + d @ (r * r) - lam.sum()
        ) - 0.5 * np.sum(lam / big)
        W = U * np.sqrt(big - 1.0) / r[:, None]
        psi = np.maximum(d - np.einsum("ij,ij->i", W, W), floor)
        if loglik - best < tol:
            break
        best = loglik
    return W @ W.T + np.diag(psi), psi


def _covariances(mom, b, scale, ctype, spec, reg, keys):
    """Shrunk (or, with ``spec['n_factors']``, factor-analysis) covariances
    of block ``b`` in the coordinates ``u * scale``, per class. Returns the
    list of covariances (one for 'tied') and their shrinkage coefficients
    (0 for a factor model). A factor model starts from the noise variances
    that the same spec last fitted for the same covariance
    (``spec['factor_starts']`` under ``(b, key)``, updated; ``keys``: one
    per covariance, e.g. the classes, which stay the same when a fold lacks
    a class): the models of the folds, fitted from nearly the same rows,
    then take a few iterations each.
    """
    n_c = mom["n"]
    M2 = mom["M2"][b] * scale[:, None] * scale[None, :]
    # The Ledoit-Wolf coefficient's sum of fourth powers (only it uses them:
    # the statistics hold F only then).
    Q4 = np.zeros(len(n_c))
    if "F" in mom:
        Q4 = np.einsum("i,cij,j->c", scale**2, mom["F"][b], scale**2)
    p = M2.shape[-1]
    k = spec.get("n_factors")
    starts = spec.get("factor_starts", {})

    def one(S, n, q4, key):
        if k is not None:
            cov, starts[b, key] = factor_covariance(S, k, starts.get((b, key)))
            cov.flat[:: p + 1] += reg
            return cov, 0.0
        s = shrinkage_coefficient(S, n, q4, spec["shrinkage"])
        cov = (1.0 - s) * S
        cov.flat[:: p + 1] += s * np.trace(S) / p + reg
        return cov, s

    if ctype == "tied":
        pairs = [one(M2.sum(axis=0) / n_c.sum(), n_c.sum(), Q4.sum(), keys[0])]
    else:
        pairs = [one(M2[c] / n_c[c], n_c[c], Q4[c], key) for c, key in enumerate(keys)]
    return [c for c, _ in pairs], np.array([s for _, s in pairs])


def _regularisation(mom, b, scale, reg_covar):
    """``reg_covar`` times the block's pooled within-class mean variance."""
    M2 = mom["M2"][b]
    p = M2.shape[-1]
    return reg_covar * float(np.einsum("cii,i->", M2, scale**2)) / (mom["n"].sum() * p)


def _subspace(S, spec):
    """Principal directions kept by ``subspace`` (columns) or None."""
    if spec["subspace"] is None:
        return None
    evals, evecs = linalg.eigh(S)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    total_var = evals.clip(min=0).sum()
    ratio = np.cumsum(evals.clip(min=0)) / total_var
    j = int(np.searchsorted(ratio, spec["variance_threshold"], side="right"))
    j = min(j, len(evals) - 1)
    keep = slice(0, j + 1) if spec["subspace"] == "top" else slice(j, None)
    return np.ascontiguousarray(evecs[:, keep])


def no_spread(where):
    """The error for rows that do not vary within their classes ``where``."""
    return ValueError(
        f"The rows do not vary within their classes {where}, so the "
        "covariance is singular whatever the shrinkage: each class has at "
        "most one row in the rows that a model is fitted on, or the features "
        "are constant. The detector fits a model on all rows and "
        "cross-fitted ones, each without a fold of every class's rows (1 row "
        "in 2 * cv): give classes more rows (the first chunk of partial_fit "
        "too)."
    )


def _scales(spec):
    """The features' scales from the statistics' coordinates ``u = x / g``
    to the model's (the diagonal target's or the identity target's), and
    their logs. A constant feature's statistics are zeros or rounding noise:
    its scale, whose square may overflow float64, is 0 on them (its log
    keeps it, for the scoring coordinates and the log-likelihood, at most
    ``log_cap``: a nonzero constant's rounding stays far below a unit)."""
    if spec["target"] == 1:
        a = spec["feature_scale"]
        log_a = np.log(a)
    else:
        a, log_a = spec["unit"], spec["log_unit"]
    return np.where(spec["constant"], 0.0, a), np.minimum(log_a, spec["log_cap"])


def build(mom, spec, g, X=None, y=None, seed=None, fit_em=None):
    """A model from the per-class statistics (and, for EM, the rows).

    Parameters
    ----------
    mom : dict
        Per-class statistics (leading shape ``(n_classes,)``), in the
        coordinates ``u = x / g``.
    spec : dict
        The detector's settings: ``covariance_type``, ``target`` (0: scaled
        identity, 1: diagonal), ``n_factors``, ``shrinkage``, ``reg_covar``,
        ``subspace``, ``variance_threshold``, ``n_components``, ``relative``,
        ``class_score``, ``bounds``, ``feature_scale`` (the diagonal
        target's inverse standard deviations of all rows, also used by the
        folds' models).
    g : ndarray of shape (n_features,)
        The magnitude of each feature, a power of two (the statistics are
        those of ``u = x / g``).
    X, y, seed, fit_em :
        Rows, labels and EM seed for ``n_components > 1``; ``fit_em(P, seed)``
        fits one class's mixture on its block coordinates ``P``.

    Returns
    -------
    model : dict
    report : dict
        Fitted attributes in X's units (means, covariances, shrinkages...).
    """
    present = np.flatnonzero(mom["n"] > 0)
    mom = take(mom, present, 0)
    n_c = mom["n"]
    N = n_c.sum()
    C, M = len(n_c), spec["n_components"]
    d = mom["mean"].shape[1]
    loc_u = (n_c @ mom["mean"]) / N
    a, log_a = _scales(spec)
    if spec["target"] == 1:
        log_scale = log_a - np.log(g)
    else:  # the scaled identity target of x: the same unit for every feature
        log_scale = np.full(d, -spec["log_top"])
    log_scale = np.minimum(log_scale, spec["log_cap"] - np.log(g))
    scale = np.exp(log_scale)
    if not np.all(np.isfinite(scale)):
        raise ValueError(
            "X has a feature whose spread is subnormal (below 2.2e-308): "
            "its scale cannot be represented in float64. Multiply X by a "
            "constant."
        )
    ctype = spec["covariance_type"]
    bounds = spec["bounds"]
    background = total(mom, axis=0, keepdims=True) if spec["relative"] else None
    model = {
        "loc": loc_u * g,
        "scale": scale,
        "blocks": [],
        "background": [] if spec["relative"] else None,
        "n_classes": C,
        "n_components": M,
    }
    report = {"covariances": [], "shrinkage": [], "components": [], "present": present}
    means_z = np.zeros((C, M, d))
    weights = np.ones((C, M, len(bounds) - 1))
    n_iter = 1
    for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        ab = a[s:e]
        reg = _regularisation(mom, b, ab, spec["reg_covar"])
        pooled = np.einsum("cij,i,j->ij", mom["M2"][b], ab, ab) / N
        if not np.trace(pooled) > 0:
            raise no_spread(f"in block {b} (features {s} to {e - 1})")
        V = _subspace(pooled, spec)
        k = e - s if V is None else V.shape[1]
        cmeans = (mom["mean"][:, s:e] - loc_u[s:e]) * ab
        if M == 1:
            keys = ["tied"] if ctype == "tied" else present.tolist()
            covs, shrink = _covariances(mom, b, ab, ctype, spec, reg, keys)
            covs = [c if V is None else V.T @ c @ V for c in covs]
            mu = (cmeans if V is None else cmeans @ V)[:, None, :]
            if ctype == "tied":
                cov_attr, groups = covs[0], covs
            elif ctype == "full":
                cov_attr, groups = np.stack(covs)[:, None], covs
            elif ctype == "diag":
                cov_attr = np.stack([np.diag(c) for c in covs])[:, None]
                groups = None
            else:
                cov_attr = np.array([np.trace(c) / k for c in covs])[:, None]
                groups = None
        else:
            data = []
            for label in present:
                P = (X[y == label][:, s:e] - model["loc"][s:e]) * scale[s:e]
                data.append(P if V is None else P @ V)
            mu, cov_attr, groups, wts, it = fit_em(data, ctype, reg, seed)
            shrink = np.zeros(1)
            weights[:, :, b] = wts
            n_iter = max(n_iter, it)
        means_z[:, :, s:e] = mu if V is None else mu @ V.T
        args = (V, k, b, spec, float(log_scale[s:e].sum()))
        model["blocks"].append(_whitening(mu, cov_attr, groups, *args))
        if background is not None:
            cov0, _ = _covariances(background, b, ab, "tied", spec, reg, ["all"])
            cov0 = cov0[0] if V is None else V.T @ cov0[0] @ V
            model["background"].append(
                _whitening(np.zeros((1, 1, k)), cov0, [cov0], *args)
            )
        # In X's units only when read (``covariances_in_units``): they may
        # overflow float64 where the scaled model and its scores do not.
        report["covariances"].append((cov_attr, ctype, 1.0 / scale[s:e], V))
        report["shrinkage"].append(shrink)
        report["components"].append(None if V is None else V.T.copy())
    report["means"] = model["loc"] + means_z / scale
    report["weights"] = weights
    report["location"] = model["loc"]
    report["class_count"] = n_c.astype(np.int64)
    report["df"] = int(sum(blk["k"] for blk in model["blocks"]))
    report["n_iter"] = n_iter
    if M > 1:
        model["logw"] = np.log(weights)
    # class_score='log_density': each class's log-determinant, relative to
    # the classes' mean (so that the scores keep X's scale out; in the
    # scaled coordinates, where the Jacobian of X's units is not added).
    model["log_det"] = None
    if M == 1 and spec.get("class_score") == "log_density":
        log_det = 2.0 * np.stack([blk["half_logdet"] for blk in model["blocks"]], 1)
        model["log_det"] = log_det - log_det.mean(axis=0)
    return model, report


def covariances_in_units(covariances, target):
    """The blocks' covariance attributes in X's units.

    ``covariances`` holds, per block, the covariance in the scaled
    coordinates, its type, ``unit`` (X's units per scaled unit, per feature)
    and the subspace ``V``; projected and spherical covariances are in
    standardised units with the diagonal target (``target == 1``). Raises a
    ``ValueError`` when an entry overflows float64 in X's units.
    """
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for cov, ctype, unit, V in covariances:
            if V is not None or ctype == "spherical":
                # Every feature has the same unit with the identity target.
                f = 1.0 if target == 1 else float(unit.max())
                out.append((cov * f) * f)
            elif ctype in ("tied", "full"):
                out.append(cov * unit[:, None] * unit[None, :])
            else:
                out.append((cov * unit) * unit)
            if not np.all(np.isfinite(out[-1])):
                raise ValueError(
                    "covariances_ overflows float64 in X's units (the model's "
                    f"unit is about {float(unit.max()):.1e} of X's units); the "
                    "detector computes in scaled units, so its scores are "
                    "unaffected. Divide X by a constant to read the covariances."
                )
    return out


def _whitening(mu, cov_attr, groups, V, k, b, spec, log_scale):
    """Whitening matrices and whitened means of one block.

    mu has shape (C, M, k) in the block's scaled coordinates ``z = (x - loc)
    * scale`` (``log_scale``: the sum of the block's ``log(scale)``). For
    'full' and 'tied' covariances Sigma = L L^T, the whitening is W = V
    L^{-T} (V = I without subspace): the squared distance of a scaled row z
    to a mean is ``||z W - mu L^{-T}||^2``. W is triangular without a
    subspace.
    """
    log_jac = log_scale if V is None else 0.0
    C, M = mu.shape[:2]
    G = C * M
    flat_mu = mu.reshape(G, k)
    params = {"k": k, "kind": "dense" if groups is not None else "diag"}
    if groups is not None:
        Ws, Ls = [], []
        for gi, cov in enumerate(groups):
            try:
                L = linalg.cholesky(cov, lower=True)
            except linalg.LinAlgError:
                L = None
            if L is None or not np.all(np.diag(L) > 0):
                raise ValueError(
                    f"The covariance of block {b} (group {gi}) is singular. "
                    "Use shrinkage ('ledoit_wolf', 'oas' or a float) or a "
                    f"positive reg_covar (got shrinkage={spec['shrinkage']!r}, "
                    f"reg_covar={spec['reg_covar']!r})."
                )
            Linv_T = linalg.solve_triangular(L, np.eye(k), lower=True).T
            Ws.append(Linv_T if V is None else V @ Linv_T)
            Ls.append(L)
        n_groups = len(groups)
        per = G // n_groups  # Gaussians per group (consecutive)
        member = np.arange(G) // per
        nu = np.stack(
            [
                linalg.solve_triangular(Ls[member[i]], flat_mu[i], lower=True)
                for i in range(G)
            ]
        )
        logdets = np.array([np.log(np.diag(L)).sum() for L in Ls])
        triangular = V is None and n_groups == G
        params.update(
            UT=np.stack([W.T for W in Ws]) if triangular else None,
            W=np.ascontiguousarray(np.hstack(Ws)),
            nu=nu,
            nu_sq=np.einsum("ij,ij->i", nu, nu),
            n_groups=n_groups,
            per=per,
            half_logdet=logdets[member],
        )
    else:
        if cov_attr.ndim == 2:  # spherical: (C, M)
            var = np.repeat(cov_attr.reshape(G, 1), k, axis=1)
        else:
            var = cov_attr.reshape(G, k)
        if np.any(var <= 0):
            raise ValueError(
                f"A variance of block {b} is zero. Use shrinkage or a positive "
                f"reg_covar (got shrinkage={spec['shrinkage']!r}, "
                f"reg_covar={spec['reg_covar']!r})."
            )
        iv = 1.0 / var
        const = np.einsum("ij,ij->i", flat_mu * flat_mu, iv)
        mu_iv = flat_mu * iv
        params.update(
            V=V,
            iv=iv,
            mu_iv=mu_iv,
            const=const,
            half_logdet=0.5 * np.log(var).sum(axis=1),
        )
    # Half the log-determinants in the scaled coordinates z, and the log
    # Jacobian of x -> z: the log-density of x has -half_logdet + log_jac
    # (kept apart, so that differences between Gaussians are exact when the
    # Jacobian is large: about -9e3 for 13 features of magnitude 1e300).
    params["log_jac"] = float(log_jac)
    return params


# ------------------------------------------------------- model selection
def heldout_log_likelihood(pairs, specs):
    """Mean held-out log-likelihood per row of closed-form models.

    Each fold's rows are scored under the model fitted on the other folds,
    from the folds' statistics alone (``pairs`` yields, fold by fold, the
    statistics of the fold and of every other fold, with leading shape
    ``(n_classes,)``; each pair serves every spec of ``specs``): the
    log-density of a class's rows under its own Gaussian, summed over the
    blocks (no subspace). Densities are those of ``u`` whatever the target,
    so models compare. One value per spec, -inf where a covariance is
    singular.
    """
    totals, count = np.zeros(len(specs)), 0.0
    for test, train in pairs:
        ok = (train["n"] > 0) & (test["n"] > 0)
        if not np.any(ok):
            continue
        present = np.flatnonzero(train["n"] > 0)
        train = take(train, present, 0)
        for i, spec in enumerate(specs):
            if np.isfinite(totals[i]):
                totals[i] += _heldout_fold(test, train, ok, present, spec)
        count += test["n"][ok].sum()
    return totals / max(count, 1.0)


def _heldout_fold(test, train, ok, present, spec):
    """Held-out log-likelihood of one fold's rows (``test``) under the
    model of ``train`` (its classes ``present``)."""
    bounds, ctype = spec["bounds"], spec["covariance_type"]
    keys = ["tied"] if ctype == "tied" else present.tolist()
    a, log_a = _scales(spec)
    position = np.searchsorted(present, np.flatnonzero(ok))
    total_ll = 0.0
    for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        ab = a[s:e]
        reg = _regularisation(train, b, ab, spec["reg_covar"])
        covs, _ = _covariances(train, b, ab, ctype, spec, reg, keys)
        # Score the covariance that ``build`` fits, not its full source.
        if ctype == "diag":
            covs = [np.diag(np.diag(c)) for c in covs]
        elif ctype == "spherical":
            covs = [np.eye(len(c)) * np.trace(c) / len(c) for c in covs]
        for c, pos in zip(np.flatnonzero(ok), position, strict=True):
            cov = covs[0] if ctype == "tied" else covs[pos]
            n = test["n"][c]
            delta = (test["mean"][c, s:e] - train["mean"][pos, s:e]) * ab
            S = test["M2"][b][c] * ab[:, None] * ab[None, :]
            S = S + n * np.outer(delta, delta)
            try:
                L = linalg.cholesky(cov, lower=True)
            except linalg.LinAlgError:
                return -np.inf
            logdet = 2.0 * np.log(np.diag(L)).sum()
            quad = np.trace(linalg.cho_solve((L, True), S))
            total_ll += n * log_a[s:e].sum() - 0.5 * (
                n * ((e - s) * np.log(2 * np.pi) + logdet) + quad
            )
    return total_ll


# ------------------------------------------------------------------ device
def _map_arrays(model, f, drop=()):
    """The model with ``f`` applied to each of its float arrays, in one walk
    over the model, its blocks (the keys in ``drop`` set to None), the
    background blocks and the combiner."""

    def one(value):
        if isinstance(value, dict):
            return {key: None if key in drop else one(v) for key, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(one(v) for v in value)
        return f(value)

    return one(model)


def to_device(model, xp, device):
    """The model's arrays in namespace ``xp`` on ``device`` (float64 where
    the device has it). The triangular factors (a CPU shortcut) are dropped."""
    if is_numpy_namespace(xp):
        return model
    dt = supported_float_dtypes(xp, device)[0]

    def move(value):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return to_namespace(value, xp, device, dtype=dt)
        return value

    return _map_arrays(model, move, drop=("UT",))


# ----------------------------------------------------------------- scoring
def _state(model, xp, dt):
    """The model's float arrays cast to the input's dtype (once per call)."""

    def cast(value):
        if hasattr(value, "shape") and xp.isdtype(value.dtype, "real floating"):
            return xp.astype(value, dt)
        return value

    return _map_arrays(model, cast)


def _block_sq(Zb, blk, xp):
    """Squared distances of scaled, centred rows Zb (n, d_b) to a block's
    Gaussians: (n, n_gaussians)."""
    k = blk["k"]
    on_host = is_numpy_namespace(xp)
    if blk["kind"] == "diag":
        P = Zb if blk["V"] is None else Zb @ blk["V"]
        out = (P * P) @ blk["iv"].T
        out = out - 2.0 * (P @ blk["mu_iv"].T)
        return out + blk["const"][None, :]
    nu, per = blk["nu"], blk["per"]
    if per == 1 and on_host:
        from skrep.ood._kernels import stacked_sq_distances

        out = np.empty((Zb.shape[0], nu.shape[0]), dtype=Zb.dtype)
        if blk["UT"] is not None:
            # Per-Gaussian covariances without a subspace: the whitening
            # L^{-T} is triangular, and a triangular product (TRMM) costs half
            # of a general one.
            trmm = get_blas_funcs("trmm", (Zb,))
            for i in range(nu.shape[0]):
                B = np.array(Zb, order="C")
                Z = trmm(1.0, blk["UT"][i].T, B.T, lower=0, trans_a=1, overwrite_b=1)
                stacked_sq_distances(Z.T, nu[i], k, out, i)
            return out
        Z = Zb @ blk["W"]
        stacked_sq_distances(Z, np.ascontiguousarray(nu.reshape(-1)), k, out, 0)
        return out
    Z = Zb @ blk["W"]  # (n, n_groups * k): one product for every group
    if per == 1:
        D = xp.reshape(Z, (Z.shape[0], nu.shape[0], k)) - nu[None, :, :]
        return xp.sum(D * D, axis=2)
    parts = []
    for i in range(blk["n_groups"]):
        # Tied within each group: ||z||^2 - 2 z.nu + ||nu||^2, one product.
        Zg = Z[:, i * k : (i + 1) * k]
        members = slice(i * per, (i + 1) * per)
        cross = Zg @ nu[members, :].T
        if on_host:  # in place, and the row norms without a temporary
            cross *= -2.0
            cross += np.einsum("ij,ij->i", Zg, Zg)[:, None]
            cross += blk["nu_sq"][members][None, :]
        else:
            cross = -2.0 * cross + xp.sum(Zg * Zg, axis=1)[:, None]
            cross = cross + blk["nu_sq"][members][None, :]
        parts.append(cross)
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)


def _sq(Zc, blocks, bounds, xp):
    """Squared distances of a chunk to every Gaussian: (chunk, G, B)."""
    if len(blocks) == 1:
        sq = _block_sq(Zc, blocks[0], xp)[:, :, None]
    else:
        sq = xp.stack(
            [
                _block_sq(Zc[:, bounds[b] : bounds[b + 1]], blk, xp)
                for b, blk in enumerate(blocks)
            ],
            axis=2,
        )
    # Rows so far away that the expansion overflows (inf - inf) are at an
    # infinite distance.
    if is_numpy_namespace(xp):
        sq[np.isnan(sq)] = np.inf
        return np.maximum(sq, 0, out=sq)
    sq = xp.where(xp.isnan(sq), xp.full_like(sq, float("inf")), sq)
    return xp.clip(sq, min=0)


def _log_likelihood(sq, blocks, xp, dt):
    """Gaussian log-densities from squared distances: (chunk, G, B)."""
    offset = xp.stack(
        [
            float(-0.5 * blk["k"] * np.log(2 * np.pi) + blk["log_jac"])
            - blk["half_logdet"]
            for blk in blocks
        ],
        axis=1,
    )
    return -0.5 * sq + xp.astype(offset, dt)[None, :, :]


def _chunk(Xc, state, what, bounds, xp):
    """``what`` ('sq', 'stats', 'block', 'score') of a chunk of rows."""
    dt = Xc.dtype
    Zc = (Xc - state["loc"]) * state["scale"]
    sq = _sq(Zc, state["blocks"], bounds, xp)
    C, M = state["n_classes"], state["n_components"]
    B = len(state["blocks"])
    if what == "sq":
        return xp.min(xp.reshape(sq, (-1, C, M, B)), axis=2)
    if M == 1:
        stats = -sq
        if state["log_det"] is not None:
            stats = stats - state["log_det"][None, :, :]
    else:
        logp = _log_likelihood(sq, state["blocks"], xp, dt)
        logp = xp.reshape(logp, (-1, C, M, B)) + state["logw"][None, ...]
        stats = _logsumexp(logp, axis=2, xp=xp)
    if state["background"] is not None:
        sq0 = _sq(Zc, state["background"], bounds, xp)
        base = -sq0 if M == 1 else _log_likelihood(sq0, state["background"], xp, dt)
        stats = stats - base
    if what == "stats":
        return stats
    if state["aggregation"] == "joint":
        return xp.max(xp.sum(stats, axis=2), axis=1)
    per_block = xp.max(stats, axis=1)  # the nearest class in each block
    if what == "block":
        return per_block
    if state.get("combiner") is not None:
        mean, scale, coef, intercept = state["combiner"]
        return ((per_block - mean) / scale) @ coef + intercept
    return xp.sum(per_block, axis=1)


def _finite(values, what, xp):
    """Overflowed results clipped to the dtype's finite range: a distance
    that overflows is the largest finite value, a score (or a NaN from
    ``inf - inf``: a row infinitely far from two Gaussians) the most
    negative one."""
    info = xp.finfo(values.dtype)
    far = info.max if what == "sq" else info.min
    values = xp.where(xp.isnan(values), xp.full_like(values, far), values)
    return xp.clip(values, min=float(info.min), max=float(info.max))


def score_rows(model, X, what, bounds, xp, n_jobs=None):
    """``what`` of every row of X, chunk by chunk (threads on the CPU).

    'score': the detector's score; 'block': the per-block scores (separate
    aggregation); 'stats': the per-class, per-block scores before the
    aggregation, (n, C, B); 'sq': the squared distances to each class,
    (n, C, B). Always finite: overflowed values are clipped to the dtype's
    finite range (:func:`_finite`).
    """
    state = _state(model, xp, X.dtype)
    on_host = is_numpy_namespace(xp)
    width = X.shape[1] + 4 * model["n_classes"] * model["n_components"] * len(
        model["blocks"]
    )
    for blk in model["blocks"] + (model["background"] or []):
        width += blk["W"].shape[1] if blk["kind"] == "dense" else 3 * blk["k"]
    itemsize = 4 if X.dtype == xp.float32 else 8
    budget = _CHUNK_BYTES if on_host else _DEVICE_CHUNK_BYTES
    step = max(budget // (itemsize * width), 64)
    n = X.shape[0]
    chunks = [slice(start, min(start + step, n)) for start in range(0, n, step)]

    def one(rows):
        # A row so far away that its squared distance overflows scores the
        # most negative finite value.
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite(_chunk(X[rows, ...], state, what, bounds, xp), what, xp)

    if on_host:
        work = 2.0 * n * X.shape[1] * width
        parts = map_threads(one, chunks, n_jobs, work=work)
    else:
        parts = [one(rows) for rows in chunks]
    if not parts:
        return one(slice(0, 0))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
