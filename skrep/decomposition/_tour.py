"""Tour entries of :mod:`skrep.decomposition` (``python -m skrep``)."""

from skrep._tour import TourResult, pyplot, register, save_figure, timed


@register(
    estimator="RobustPCA",
    dataset="surveillance video on china.jpg (scikit-learn sample image)",
)
def robust_pca(out_dir):
    import numpy as np
    from sklearn.decomposition import PCA

    from skrep.datasets import make_surveillance_video
    from skrep.decomposition import RobustPCA

    plt = pyplot()

    M, background, _, _, shape = make_surveillance_video(random_state=0)
    truth = np.broadcast_to(background, M.shape)

    rpca, seconds = timed(lambda: RobustPCA(random_state=0).fit(M))
    pca, base_seconds = timed(lambda: PCA(n_components=1).fit(M))
    L_pca = pca.inverse_transform(pca.transform(M))

    def error(L):
        return float(np.linalg.norm(L - truth) / np.linalg.norm(truth))

    frames = [10, 40, 70]
    fig, axes = plt.subplots(len(frames), 4, figsize=(10, 2.2 * len(frames)))
    titles = ["frame", "RobustPCA: L", "RobustPCA: |S|", "PCA (1 comp.)"]
    for row, f in enumerate(frames):
        images = [M[f], rpca.low_rank_[f], np.abs(rpca.sparse_[f]), L_pca[f]]
        for ax, image, title in zip(axes[row], images, titles, strict=True):
            ax.imshow(image.reshape(shape), cmap="gray")
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
    fig.suptitle("Background / foreground separation (rows: frames)")
    path = save_figure(fig, out_dir / "robust_pca_video.png", dpi=80)
    return TourResult(
        metric="background relative error (lower is better)",
        score=error(rpca.low_rank_),
        seconds=seconds,
        baseline="sklearn PCA (1 component)",
        baseline_score=error(L_pca),
        baseline_seconds=base_seconds,
        figures=(path,),
    )


@register(
    estimator="RobustSVD",
    dataset="surveillance video on china.jpg with 20% tampered frames",
)
def robust_svd(out_dir):
    """Background modelling as users do it: fit on the first 80 frames, then
    separate the next 40 with ``decompose``; background error on the frames
    nobody tampered with."""
    import numpy as np
    from sklearn.decomposition import TruncatedSVD

    from skrep.datasets import make_surveillance_video
    from skrep.decomposition import RobustSVD

    plt = pyplot()

    M, background, _, bad, shape = make_surveillance_video(
        120, tampered=0.2, random_state=0
    )
    early, late = slice(0, 80), slice(80, 120)
    rsvd, seconds = timed(RobustSVD(random_state=0).fit, M[early])
    svd, base_seconds = timed(TruncatedSVD(1, random_state=0).fit, M[early])
    L_rsvd, S_rsvd = rsvd.decompose(M[late])
    L_svd = svd.inverse_transform(svd.transform(M[late]))
    untouched = ~bad[late]

    def error(L):
        diff = np.linalg.norm(L[untouched] - background)
        return float(diff / np.linalg.norm(background) / np.sqrt(untouched.sum()))

    shown = np.flatnonzero(untouched)[[0, -1]].tolist() + [int(np.argmax(bad[late]))]
    fig, axes = plt.subplots(len(shown), 4, figsize=(10, 2.2 * len(shown)))
    titles = ["frame", "RobustSVD: background", "RobustSVD: |foreground|", "SVD"]
    for row, f in enumerate(shown):
        images = [M[late][f], L_rsvd[f], np.abs(S_rsvd[f]), L_svd[f]]
        for ax, image, title in zip(axes[row], images, titles, strict=True):
            ax.imshow(image.reshape(shape), cmap="gray", vmin=0, vmax=1)
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
        kind = "tampered" if bad[late][f] else "untouched"
        axes[row, 0].text(
            -0.03,
            0.5,
            f"frame {80 + f}\n({kind})",
            rotation=90,
            ha="right",
            va="center",
            transform=axes[row, 0].transAxes,
        )
    fig.suptitle("Later frames separated with the model of the first 80")
    path = save_figure(fig, out_dir / "robust_svd_video.png", dpi=80)
    return TourResult(
        metric="background error on untouched later frames (lower is better)",
        score=error(L_rsvd),
        seconds=seconds,
        baseline="sklearn TruncatedSVD (1 component)",
        baseline_score=error(L_svd),
        baseline_seconds=base_seconds,
        figures=(path,),
    )


@register(
    estimator="OutlierRobustPCA",
    dataset="digits (scikit-learn) with 10% planted outlying rows",
)
def outlier_robust_pca(out_dir):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    from skrep.decomposition import OutlierRobustPCA

    plt = pyplot()

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    k, eps = 2, 0.1
    clean = PCA(n_components=k).fit(X)
    # Outliers: eps of the rows replaced by points far along one direction
    # orthogonal to the clean principal plane, with the inliers' spread
    # elsewhere (they tilt PCA's plane towards that direction).
    n_out = int(eps * X.shape[0])
    v = rng.standard_normal(X.shape[1])
    v -= clean.components_.T @ (clean.components_ @ v)
    v /= np.linalg.norm(v)
    strength = np.sqrt(3 * clean.explained_variance_[0] / eps)
    rows = rng.choice(X.shape[0], n_out, replace=False)
    Xc = X.copy()
    signs = rng.choice([-1.0, 1.0], n_out)
    Xc[rows] = X[rng.choice(X.shape[0], n_out)] + strength * signs[:, None] * v

    def sin_angle(components):
        Q = np.linalg.qr(components.T)[0]
        cos = np.linalg.svd(clean.components_ @ Q, compute_uv=False).min()
        return float(np.sqrt(max(0.0, 1 - cos**2)))

    est, seconds = timed(lambda: OutlierRobustPCA(k, eps=eps, random_state=0).fit(Xc))
    pca, base_seconds = timed(lambda: PCA(n_components=k).fit(Xc))

    inliers = np.ones(X.shape[0], dtype=bool)
    inliers[rows] = False
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, model, title in [(axes[0], est, "OutlierRobustPCA"), (axes[1], pca, "PCA")]:
        Z = model.transform(X[inliers])
        points = ax.scatter(Z[:, 0], Z[:, 1], c=y[inliers], cmap="tab10", s=6)
        ax.set_title(f"{title}: clean digits in the fitted plane")
    axes[1].legend(
        *points.legend_elements(),
        title="digit",
        fontsize=7,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    path = save_figure(fig, out_dir / "outlier_robust_pca_digits.png", dpi=80)
    return TourResult(
        metric="sin of largest angle to the clean PCA plane (lower is better)",
        score=sin_angle(est.components_),
        seconds=seconds,
        baseline="sklearn PCA",
        baseline_score=sin_angle(pca.components_),
        baseline_seconds=base_seconds,
        figures=(path,),
    )


@register(estimator="DualKernelPCA", dataset="digits (scikit-learn)")
def dual_kernel_pca(out_dir):
    """Kernel PCA of the digits: squared loss against scikit-learn, and the
    robust and sparse variants side by side."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.decomposition import KernelPCA

    from skrep.decomposition import DualKernelPCA

    plt = pyplot()

    X, y = load_digits(return_X_y=True)
    params = {"n_components": 10, "kernel": "rbf", "gamma": 1e-3}
    ours, seconds = timed(DualKernelPCA(random_state=0, **params).fit, X)
    ref, ref_seconds = timed(KernelPCA(eigen_solver="arpack", **params).fit, X)
    error = np.abs(ours.eigenvalues_ - ref.eigenvalues_).max() / ref.eigenvalues_[0]
    sparse = DualKernelPCA(loss="epsilon_insensitive", random_state=0, **params).fit(X)
    robust = DualKernelPCA(loss="huber", random_state=0, **params).fit(X)

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), layout="constrained")
    for ax, model, title in [
        (axes[0], ours, "squared loss\n(= kernel PCA)"),
        (axes[1], robust, "Huber loss\n(robust)"),
        (
            axes[2],
            sparse,
            "epsilon-insensitive loss\n"
            f"(sparse: {sparse.n_support_} of {X.shape[0]} support points)",
        ),
    ]:
        Z = model.transform(X)
        ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=5)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("DualKernelPCA on the digits: first two components (colour: digit)")
    path = save_figure(fig, out_dir / "dual_kernel_pca.png")
    return TourResult(
        metric="top-10 eigenvalues, max rel. error vs sklearn arpack",
        score=float(error),
        seconds=seconds,
        baseline="sklearn KernelPCA (arpack)",
        baseline_score=0.0,
        baseline_seconds=ref_seconds,
        figures=(path,),
    )
