"""Tests of PRESTO and PRESTOCV (Faletto & Bien, ICML 2023)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrep.datasets import make_rare_ordinal
from skrep.ordinal import PRESTO, PRESTOCV, CrossingWarning, ProportionalOdds


def _data(n=400, p=5, seed=0):
    # Non-parallel but well-specified cumulative logits (monotone on the box).
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, p)) * np.arange(1, p + 1)
    beta1 = np.array([1.0, -0.5, 0.0, 0.25, 0.0])[:p] / np.arange(1, p + 1)
    psi = np.zeros((3, p))
    psi[0] = beta1
    psi[2, 0] = 0.4
    B = np.cumsum(psi, axis=0)
    alpha = np.array([-1.0, 0.5, 2.5])
    cum = expit(alpha + X @ B.T)
    u = rng.uniform(size=(n, 1))
    return X, (u > cum).sum(axis=1)


def _loss_and_grad(Xs, y, alpha, B):
    """Mean negative log-likelihood and its gradient w.r.t. (alpha, B)."""
    n = len(y)
    eta = alpha + Xs @ B.T
    F = expit(eta)
    K = B.shape[0] + 1
    Fp = np.hstack([np.zeros((n, 1)), F, np.ones((n, 1))])
    rows = np.arange(n)
    P = Fp[rows, y + 1] - Fp[rows, y]
    if np.any(P <= 0) or np.any(np.diff(F, axis=1) < 0):
        return np.inf, None, None
    dens = np.hstack([np.zeros((n, 1)), F * (1 - F), np.zeros((n, 1))])
    G = np.zeros((n, K + 1))
    G[rows, y + 1] -= dens[rows, y + 1] / P
    G[rows, y] += dens[rows, y] / P
    G = G[:, 1:-1] / n
    return -np.mean(np.log(P)), G.sum(axis=0), G.T @ Xs


def _standardise(X):
    return (X - X.mean(0)) / X.std(0)


def _presto_objective(model, X, y, lam, w1):
    """The objective of a fitted model, recomputed from coef_/intercept_."""
    scale = X.std(0)
    B = model.coef_ * scale
    alpha = model.intercept_ + model.coef_ @ X.mean(0)
    loss = _loss_and_grad(_standardise(X), y, alpha, B)[0]
    psi = np.diff(B, axis=0, prepend=0.0)
    return loss + lam * (w1 * np.abs(psi[0]).sum() + np.abs(psi[1:]).sum())


def _split_variable_reference(X, y, lam, w1):
    """Solve PRESTO's objective with L-BFGS-B on psi = u - v, u, v >= 0."""
    Xs = _standardise(X)
    K = y.max() + 1
    p = X.shape[1]
    cum = np.cumsum(np.bincount(y))[:-1] / len(y)
    weights = np.ones((K - 1, p))
    weights[0] = w1

    def fun(z):
        alpha = z[: K - 1]
        u = z[K - 1 : K - 1 + (K - 1) * p].reshape(K - 1, p)
        v = z[K - 1 + (K - 1) * p :].reshape(K - 1, p)
        loss, g_alpha, g_B = _loss_and_grad(Xs, y, alpha, np.cumsum(u - v, axis=0))
        if not np.isfinite(loss):
            return 1e10, np.zeros_like(z)
        g_psi = np.cumsum(g_B[::-1], axis=0)[::-1]
        obj = loss + lam * np.sum(weights * (u + v))
        grad = np.concatenate(
            [g_alpha, (g_psi + lam * weights).ravel(), (-g_psi + lam * weights).ravel()]
        )
        return obj, grad

    z0 = np.concatenate([np.log(cum / (1 - cum)), np.zeros(2 * (K - 1) * p)])
    bounds = [(None, None)] * (K - 1) + [(0, None)] * (2 * (K - 1) * p)
    res = minimize(
        fun,
        z0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 50000, "maxfun": 100000},
    )
    return res.fun


@pytest.mark.parametrize("w1", [1.0, 0.0])
def test_split_variable_lbfgsb_reference(w1):
    X, y = _data()
    lmax = PRESTO(lam=1e6, w1=w1).fit(X, y).lambda_max_
    for ratio in (0.5, 0.1, 0.01):
        lam = ratio * lmax
        model = PRESTO(lam=lam, w1=w1, tol=1e-12).fit(X, y)
        reference = _split_variable_reference(X, y, lam, w1)
        own = _presto_objective(model, X, y, lam, w1)
        assert_allclose(own, model.objective_, rtol=0, atol=1e-10)
        # PRESTO is at least as good as the reference, and they agree.
        assert model.objective_ <= reference + 1e-10
        assert abs(model.objective_ - reference) < 1e-8


def test_lambda_max_is_the_smallest_lambda_with_zero_differences():
    X, y = _data()
    model = PRESTO(lam=1e6).fit(X, y)
    lmax = model.lambda_max_
    at_max = PRESTO(lam=lmax * (1 + 1e-9), tol=1e-12).fit(X, y)
    assert_array_equal(at_max.coef_, 0.0)
    # w1 = 1 at large lambda: the intercept-only model.
    cum = np.cumsum(np.bincount(y))[:-1] / len(y)
    assert_allclose(at_max.intercept_, np.log(cum / (1 - cum)), atol=1e-8)
    below = PRESTO(lam=lmax * 0.99, tol=1e-12).fit(X, y)
    assert np.count_nonzero(below.coef_) > 0
    assert below.lambdas_[0] == pytest.approx(lmax)


def test_lambda_zero_is_the_non_parallel_mle():
    X, y = _data()
    model = PRESTO(lam=0.0, n_lambdas=30, tol=1e-13).fit(X, y)
    K, p = 4, X.shape[1]

    def fun(z):
        loss, g_alpha, g_B = _loss_and_grad(
            X, y, z[: K - 1], z[K - 1 :].reshape(K - 1, p)
        )
        if not np.isfinite(loss):
            return 1e10, np.zeros_like(z)
        return loss, np.concatenate([g_alpha, g_B.ravel()])

    cum = np.cumsum(np.bincount(y))[:-1] / len(y)
    z0 = np.concatenate([np.log(cum / (1 - cum)), np.zeros((K - 1) * p)])
    res = minimize(fun, z0, jac=True, method="BFGS", options={"gtol": 1e-11})
    assert abs(model.objective_ - res.fun) < 1e-9
    assert_allclose(model.coef_, res.x[K - 1 :].reshape(K - 1, p), atol=1e-4)
    assert_allclose(model.intercept_, res.x[: K - 1], atol=1e-4)
    # The slopes are not parallel.
    assert np.ptp(model.coef_[:, 0]) > 0.1


def test_w1_zero_and_large_lambda_is_proportional_odds():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    X, y = _data()
    presto = PRESTO(lam=1e3, w1=0.0, tol=1e-14).fit(X, y)
    po = ProportionalOdds(tol=1e-14).fit(X, y)
    assert_allclose(presto.coef_, po.coef_, atol=1e-5)
    assert_allclose(presto.intercept_, po.intercept_, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = OrderedModel(y, X, distr="logit").fit(
            method="bfgs", disp=0, maxiter=10000, gtol=1e-10
        )
    assert_allclose(presto.coef_[0], -res.params[: X.shape[1]], atol=1e-5)
    thresholds = res.model.transform_threshold_params(res.params)[1:-1]
    assert_allclose(presto.intercept_, thresholds, atol=1e-5)


def test_training_fit_is_monotone_and_new_data_is_repaired():
    X, y = _data()
    model = PRESTO(lam=1e-4).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CrossingWarning)
        proba = model.predict_proba(X)
    assert np.all(proba >= 0)
    far = 50 * X[:20]
    with pytest.warns(CrossingWarning, match="rows had crossing"):
        proba = model.predict_proba(far)
    assert np.all(proba >= 0)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_path_attributes_and_warm_start():
    X, y = _data()
    model = PRESTO(lam=1e-3, n_lambdas=7).fit(X, y)
    assert model.lambdas_.shape == (7,)
    assert np.all(np.diff(model.lambdas_) < 0)
    assert model.lambdas_[-1] == pytest.approx(1e-3)
    assert model.coef_path_.shape == (7, 3, X.shape[1])
    assert model.intercept_path_.shape == (7, 3)
    assert_array_equal(model.coef_, model.coef_path_[-1])
    # Sparser at larger lambda.
    nnz = [np.count_nonzero(np.diff(c, axis=0, prepend=0.0)) for c in model.coef_path_]
    assert nnz[0] <= nnz[-1]


def test_presto_cv_selection_and_parallel_folds():
    X, y = _data()
    model = PRESTOCV(n_lambdas=8, cv=4, random_state=0).fit(X, y)
    parallel = PRESTOCV(n_lambdas=8, cv=4, n_jobs=2, random_state=0).fit(X, y)
    assert_allclose(parallel.cv_scores_, model.cv_scores_)
    assert model.cv_scores_.shape == (4, 8)
    best = np.flatnonzero(model.mean_cv_scores_ == model.mean_cv_scores_.max())
    assert model.lambda_ == model.lambdas_[best.min()]  # the largest lambda
    index = int(np.flatnonzero(model.lambdas_ == model.lambda_)[0])
    assert model.coef_path_.shape == (index + 1, 3, X.shape[1])
    assert_allclose(model.coef_, model.coef_path_[index])
    # The refit equals PRESTO at lambda_ on the same grid.
    single = PRESTO(lam=model.lambda_, n_lambdas=index + 1).fit(X, y)
    assert_allclose(single.lambdas_, model.lambdas_[: index + 1])
    assert_allclose(single.coef_, model.coef_, atol=1e-8)
    # The default score is the negative multiclass Brier score.
    assert np.all(model.cv_scores_ <= 0) and np.all(model.cv_scores_ >= -2)
    log_loss = PRESTOCV(n_lambdas=5, cv=3, scoring="neg_log_loss").fit(X, y)
    assert log_loss.lambda_ in log_loss.lambdas_
    explicit = PRESTOCV(lambdas=[1e-3, 1e-2], cv=3).fit(X, y)
    assert_array_equal(explicit.lambdas_, [1e-2, 1e-3])


def test_presto_cv_missing_class_in_a_fold():
    X, y = _data()
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    y[-3:] = 4  # a tiny class, all in the last fold
    with pytest.raises(ValueError, match="lacks the classes"):
        PRESTOCV(n_lambdas=3, cv=KFold(3)).fit(X, y)


def test_pandas_ordered_labels_pipeline_and_grid_search():
    X, y = _data()
    names = np.array(["never", "sometimes", "often", "always"])
    labels = pd.Series(pd.Categorical(names[y], categories=names, ordered=True))
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    search = GridSearchCV(
        make_pipeline(StandardScaler(), PRESTO(n_lambdas=5)),
        {"presto__lam": [1e-3, 1e-2]},
        cv=3,
    ).fit(frame, labels)
    model = search.best_estimator_[-1]
    assert_array_equal(model.classes_, names)
    assert set(search.predict(frame)) <= set(names)
    cv = PRESTOCV(n_lambdas=4, cv=3).fit(frame, labels)
    assert_array_equal(cv.classes_, names)


def test_synthetic_study_rare_class_error():
    # Faletto & Bien sec. 4.1 at small scale: n = 2500, p = 10, K = 4, a 1%
    # rare class, sparse differences; in-sample squared error of the rare
    # class probability over replicates. The paper reports median ratios
    # PRESTO/PO of about 0.65-0.9 and PRESTO/logit of about 0.3-0.75.
    # Over three blocks of 10 seeds the ratios were 0.81-0.88 (PO) and
    # 0.64-0.70 (logit).
    errors = []
    for seed in range(10):
        X, y, proba = make_rare_ordinal(2500, 10, 4, 0.01, 0.5, random_state=seed)
        presto = PRESTOCV(n_lambdas=10).fit(X, y)
        po = ProportionalOdds().fit(X, y)
        logit = LogisticRegression(C=1e10, max_iter=1000).fit(X, y == 3)
        rare = [
            presto.predict_proba(X)[:, -1],
            po.predict_proba(X)[:, -1],
            logit.predict_proba(X)[:, 1],
        ]
        errors.append([np.mean((r - proba[:, -1]) ** 2) for r in rare])
    median = np.median(errors, axis=0)
    assert median[0] < 0.95 * median[1]
    assert median[0] < 0.85 * median[2]


def test_monotone_region_is_searched_not_just_its_boundary():
    # Nominal blobs: the unconstrained Newton steps of the non-parallel
    # model leave the training rows' monotone region. The fit must stay
    # inside it (no crossing on the training rows) and still improve as the
    # penalty decreases, rather than stop at the first blocked step.
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=300, random_state=0)
    X = StandardScaler().fit_transform(X)
    objectives = []
    for lam in (1e-2, 1e-3, 1e-4):
        model = PRESTO(lam=lam).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CrossingWarning)
            proba = model.predict_proba(X)
        assert np.all(proba >= 0)
        objectives.append(model.objective_)
    assert objectives[0] > objectives[1] > objectives[2]
    # The intercept-only objective is log(3) ~ 1.10; the fit is far below.
    assert objectives[2] < 0.6


def _cvxpy_optimum(X, y, sample_weight, lam, w1):
    """PRESTO's problem solved by cvxpy (Clarabel): the weighted mean loss
    plus the fused penalty on features standardised with the weights, over
    the training rows' monotone region (every cumulative predictor ordered)."""
    cp = pytest.importorskip("cvxpy")
    w = sample_weight / sample_weight.sum()
    mean = w @ X
    Xs = (X - mean) / np.sqrt(w @ (X - mean) ** 2)
    K = y.max() + 1
    n, p = Xs.shape
    psi = cp.Variable((K - 1, p))
    alpha = cp.Variable(K - 1)
    eta = Xs @ cp.cumsum(psi, axis=0).T + np.ones((n, 1)) @ cp.reshape(
        alpha, (1, K - 1), order="C"
    )
    loss = 0
    for c in range(K):
        rows = np.flatnonzero((y == c) & (w > 0))
        if c == 0:
            loss += w[rows] @ cp.logistic(-eta[rows, 0])
        elif c == K - 1:
            loss += w[rows] @ cp.logistic(eta[rows, K - 2])
        else:
            a, b = eta[rows, c - 1], eta[rows, c]
            loss += w[rows] @ (
                -cp.log(1 - cp.exp(a - b)) + cp.logistic(-b) + cp.logistic(a)
            )
    weights = np.ones((K - 1, p))
    weights[0] = w1
    used = w > 0
    problem = cp.Problem(
        cp.Minimize(loss + lam * cp.sum(cp.multiply(weights, cp.abs(psi)))),
        [eta[used, k] >= eta[used, k - 1] for k in range(1, K - 1)],
    )
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11)
    return problem.value, Xs, mean, np.sqrt(w @ (X - mean) ** 2)


@pytest.mark.parametrize("case", ["sklearn_check", "four_classes", "five_classes"])
def test_objective_equals_cvxpy_on_the_monotone_boundary(case):
    # At small penalties the optimum lies on the boundary of the training
    # rows' monotone region (some rows' cumulative predictors tie). From a
    # cold start (one lambda, no path), with weights and with the rows
    # repeated instead, and down the default path, PRESTO reaches cvxpy's
    # optimum; coordinate descent alone used to stop on the boundary, 1-26%
    # above it, and the path's strong-set check, ignoring the constraints'
    # multipliers, 0.9% above it (five_classes, lam=1e-2).
    if case == "sklearn_check":  # the data of check_sample_weight_equivalence
        rng = np.random.RandomState(42)
        X = rng.rand(15, 30)
        y = rng.randint(0, 3, size=15)
        sw = rng.randint(0, 5, size=15).astype(float)
    else:
        n, p, K = (60, 8, 4) if case == "four_classes" else (40, 5, 5)
        rng = np.random.default_rng(0 if case == "four_classes" else 100)
        X = rng.normal(size=(n, p))
        if case == "five_classes":
            X *= rng.uniform(0.1, 10, p)
        latent = (X / X.std(axis=0)) @ rng.normal(size=p) + rng.logistic(size=n)
        y = np.digitize(latent, np.quantile(latent, np.linspace(0, 1, K + 1)[1:-1]))
        sw = rng.integers(0, 4, size=n).astype(float)
    for lam in (1e-3, 1e-2):
        reference, Xs, mean, scale = _cvxpy_optimum(X, y, sw, lam, 1.0)
        fits = [
            PRESTO(lam=lam, n_lambdas=1).fit(X, y, sample_weight=sw),
            PRESTO(lam=lam, n_lambdas=1).fit(
                X.repeat(sw.astype(int), axis=0), y.repeat(sw.astype(int))
            ),
            PRESTO(lam=lam).fit(X, y, sample_weight=sw),
        ]
        for model in fits:
            B = model.coef_ * scale
            alpha = model.intercept_ + model.coef_ @ mean
            eta = alpha + Xs @ B.T
            assert np.all(np.diff(eta[sw > 0], axis=1) >= -1e-9)  # feasible
            psi = np.diff(B, axis=0, prepend=0.0)
            own = model.objective_
            assert own == pytest.approx(
                _weighted_loss(eta[sw > 0], y[sw > 0], sw[sw > 0])
                + lam * np.abs(psi).sum(),
                rel=1e-10,
            )
            assert abs(own - reference) <= 1e-6 * reference
            assert np.any(np.diff(eta[sw > 0], axis=1) < 1e-6)  # on the boundary
        # No training row crosses. (The probabilities themselves need not
        # agree: a cumulative predictor that no row's likelihood uses is
        # pinned only by the penalty and the ordering, which can leave a
        # face of optima; the sklearn check's data has a unique one.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CrossingWarning)
            for model in fits:
                model.predict_proba(X[sw > 0])


@pytest.mark.parametrize("seed, lam", [(42, 0.05), (0, 0.01)])
def test_repeated_rows_take_the_weighted_route_to_the_same_optimum(seed, lam):
    # Rows tie at these optima (seed 42: the data of the sklearn check). A
    # repeated row's copies are one constraint: joining the tied rows one
    # copy at a time (seed 42), or releasing them so (seed 0), a copy left
    # behind stopped the active-set method and the repeated fit fell back
    # to the barrier (9 iterations against 1 at the last lambda). And the
    # active-set method stopped on a gradient of 1e-7 times its scale, where
    # the objective no longer tells points 1e-7 apart: at seed 42 the
    # weighted fit ended 9e-8 from the repeated one in psi, 1.7e-8 in
    # predict_proba, and 7e-9 from its own fit at tol=1e-14. Polished to
    # rounding, the solution depends on neither.
    rng = np.random.RandomState(seed)
    X, y = rng.rand(15, 30), rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    fits = []
    for tol in (1e-8, 1e-14):
        weighted = PRESTO(lam=lam, n_lambdas=5, tol=tol).fit(X, y, sample_weight=sw)
        repeated = PRESTO(lam=lam, n_lambdas=5, tol=tol).fit(
            X.repeat(sw, axis=0), y.repeat(sw)
        )
        assert_array_equal(weighted.n_iter_, repeated.n_iter_)
        fits += [weighted, repeated]
    for model in fits[1:]:
        assert_allclose(model.coef_, fits[0].coef_, rtol=0, atol=1e-12)
        assert_allclose(model.intercept_, fits[0].intercept_, rtol=0, atol=1e-12)


def test_max_iter_bounds_the_boundary_solve_and_warns_when_it_cuts_it():
    # The interior-point stages count towards max_iter: cut short, the fit
    # says so, n_iter_ stays within max_iter, and its stages improved on
    # the coordinate-descent point they started from (one iteration).
    rng = np.random.RandomState(42)
    X, y = rng.rand(15, 30), rng.randint(0, 3, size=15)
    full = PRESTO(lam=1e-3, n_lambdas=1).fit(X, y)
    assert full.n_iter_[0] < full.max_iter
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        start = PRESTO(lam=1e-3, n_lambdas=1, max_iter=1).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        short = PRESTO(lam=1e-3, n_lambdas=1, max_iter=3).fit(X, y)
    assert short.n_iter_[0] <= 3
    assert full.objective_ <= short.objective_ < start.objective_
    # Converging in the last allowed iteration (the barrier's last stage)
    # is converging: no warning, the same fit.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        exact = PRESTO(lam=1e-3, n_lambdas=1, max_iter=full.n_iter_[0]).fit(X, y)
    assert exact.n_iter_[0] == exact.max_iter
    assert exact.objective_ == pytest.approx(full.objective_, rel=1e-12)


def _weighted_loss(eta, y, sw):
    F = np.hstack([np.zeros((len(y), 1)), expit(eta), np.ones((len(y), 1))])
    rows = np.arange(len(y))
    return -np.average(np.log(F[rows, y + 1] - F[rows, y]), weights=sw)


def test_verbose_prints_one_line_per_lambda(capsys):
    X, y = _data(n=300)
    model = PRESTO(n_lambdas=5, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(model.lambdas_) == 5
    for index, (line, lam, n_iter) in enumerate(
        zip(lines, model.lambdas_, model.n_iter_, strict=True), 1
    ):
        assert line.startswith(f"[PRESTO] lambda {index}/5: objective=")
        assert f"lam={lam:.7g}, iterations={n_iter}, nonzero=" in line
    assert f"objective={model.objective_:.7g}," in lines[-1]
    cv = PRESTOCV(n_lambdas=4, cv=3, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    # One line per fold, then one per lambda of the refit.
    assert [line.split(":")[0] for line in lines[:3]] == [
        f"[PRESTOCV] fold {k}/3" for k in (1, 2, 3)
    ]
    for line, scores in zip(lines[:3], cv.cv_scores_, strict=True):
        assert f"best_score={scores.max():.7g}, " in line
    refit = lines[3:]
    assert len(refit) == len(cv.n_iter_) >= 1
    assert all(line.startswith("[PRESTOCV] lambda ") for line in refit)


def test_separated_data_warn_when_the_penalty_leaves_the_direction_free():
    # Classes cut from x0: proportional odds is separated along x0. The
    # penalty leaves that direction free with w1 = 0 (a common slope costs
    # nothing) and with lam = 0, so the objective has no minimum there: the
    # fit must say so, as ProportionalOdds does. With w1 > 0 and lam > 0
    # the penalised objective has a minimum: no warning.
    from skrep.ordinal import PerfectSeparationWarning

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    for model in (PRESTO(w1=0.0), PRESTO(lam=0.0), PRESTOCV(w1=0.0, cv=3)):
        with pytest.warns(PerfectSeparationWarning, match="no minimum"):
            model.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        bounded = PRESTO().fit(X, y)
        # Not separated: neither free direction raises a warning.
        y_noisy = np.digitize(X[:, 0] + rng.logistic(size=60), [-0.5, 0.5])
        PRESTO(w1=0.0).fit(X, y_noisy)
        PRESTO(lam=0.0).fit(X, y_noisy)
    assert np.abs(bounded.coef_).max() < 20
    # Separated only by slopes that differ between thresholds: lam = 0
    # leaves them free (no minimum), w1 = 0 with lam > 0 does not.
    X = rng.normal(size=(40, 2))
    y = np.where(X[:, 0] < -0.7, 0, np.where(X[:, 0] + 2 * X[:, 1] > 1.5, 2, 1))
    with pytest.warns(PerfectSeparationWarning, match="any slopes"):
        PRESTO(lam=0.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        assert np.abs(PRESTO(w1=0.0).fit(X, y).coef_).max() < 20
