"""Tour entries of skrep.cluster on data sets bundled with scikit-learn."""

from skrep._tour import TourResult, pyplot, register, save_figure, timed


def _standardised(loader):
    from sklearn.preprocessing import StandardScaler

    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _matched(reference, labels):
    """``labels`` renamed to agree with ``reference`` as far as possible.

    The renaming maximises the points on which both agree (Hungarian matching
    on the confusion matrix); clusters left unmatched take new names.
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import confusion_matrix

    ref_names, ref_codes = np.unique(reference, return_inverse=True)
    names, codes = np.unique(labels, return_inverse=True)
    size = max(len(ref_names), len(names))
    counts = confusion_matrix(ref_codes, codes, labels=np.arange(size))
    rows, cols = linear_sum_assignment(counts, maximize=True)
    renamed = np.empty(size, dtype=int)
    renamed[cols] = rows
    return renamed[codes]


def _scatter(X, panels, path, title):
    """Scatter of the first two principal components, one panel per labelling.

    The first panel is the reference: every other panel's clusters are
    renamed to match it, so one colour is one cluster across panels.
    """
    import numpy as np
    from sklearn.decomposition import PCA

    plt = pyplot()

    Z = PCA(2).fit_transform(X)
    reference = np.unique(next(iter(panels.values())), return_inverse=True)[1]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4 * len(panels), 3.6), layout="constrained"
    )
    for ax, (name, labels) in zip(axes, panels.items(), strict=True):
        colours = plt.cm.tab10(_matched(reference, labels) % 10)
        ax.scatter(Z[:, 0], Z[:, 1], c=colours, s=12)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    return save_figure(fig, path, dpi=90)


@register(estimator="ILASDPClustering", dataset="iris (scikit-learn, standardised)")
def ilasdp_iris(out_dir):
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    from skrep.cluster import ILASDPClustering

    # like with like: full covariances and one start for both, the median
    # adjusted Rand index over 10 seeds (the timing and figure: seed 0)
    X, y = _standardised(load_iris)
    model, seconds = timed(
        lambda: ILASDPClustering(3, covariance_type="full", random_state=0).fit(X)
    )
    em, em_seconds = timed(lambda: GaussianMixture(3, n_init=1, random_state=0).fit(X))
    ila_scores, em_scores = [], []
    for seed in range(10):
        ila = ILASDPClustering(3, covariance_type="full", random_state=seed)
        ila_scores.append(adjusted_rand_score(y, ila.fit(X).labels_))
        gm = GaussianMixture(3, n_init=1, random_state=seed).fit(X)
        em_scores.append(adjusted_rand_score(y, gm.predict(X)))
    path = _scatter(
        X,
        {"true classes": y, "iLA-SDP": model.labels_, "EM": em.predict(X)},
        out_dir / "ilasdp_iris.png",
        "iris: iLA-SDP and EM clusters, full covariances\n"
        "(first two principal components; colours matched to the classes)",
    )
    return TourResult(
        metric="adjusted Rand index, median over 10 seeds (higher is better)",
        score=float(np.median(ila_scores)),
        seconds=seconds,
        baseline="sklearn GaussianMixture (full, n_init=1)",
        baseline_score=float(np.median(em_scores)),
        baseline_seconds=em_seconds,
        figures=(path,),
    )


@register(estimator="SDPKMeans", dataset="wine (scikit-learn, standardised)")
def sdp_kmeans_wine(out_dir):
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_wine
    from sklearn.metrics import adjusted_rand_score

    from skrep.cluster import SDPKMeans

    X, y = _standardised(load_wine)
    model, seconds = timed(lambda: SDPKMeans(3, random_state=0).fit(X))
    km, km_seconds = timed(lambda: KMeans(3, n_init=1, random_state=0).fit(X))
    path = _scatter(
        X,
        {"true classes": y, "SDP K-means": model.labels_, "Lloyd K-means": km.labels_},
        out_dir / "sdp_kmeans_wine.png",
        "wine: SDP and Lloyd K-means\n"
        "(first two principal components; colours matched to the classes)",
    )
    return TourResult(
        metric="adjusted Rand index (higher is better)",
        score=adjusted_rand_score(y, model.labels_),
        seconds=seconds,
        baseline="sklearn KMeans (k-means++, n_init=1)",
        baseline_score=adjusted_rand_score(y, km.labels_),
        baseline_seconds=km_seconds,
        figures=(path,),
    )
