"""Shared machinery of skrep's asv benchmarks.

A benchmark module only declares *data* and *estimators*; this module turns
them into asv's ``time_*``, ``peakmem_*`` and ``track_*`` benchmarks.

The pattern (the same shape as scikit-learn's ``asv_benchmarks``, written
afresh for skrep):

- :class:`Estimator` -- subclass it, set ``param_names`` / ``params`` and
  implement ``make_data(p)`` and ``make_estimator(p)``, where ``p`` is a dict
  of the parameters of one combination.  ``setup_cache`` fits every
  combination once (asv pickles the result), ``setup`` loads the fitted
  estimator, rebuilds the data and warms numba up, and the class gets
  ``time_fit`` and ``peakmem_fit``.
- :class:`Transformer`, :class:`Predictor` -- add ``time_transform`` /
  ``time_predict`` (and their ``peakmem_*``) on ``Data.X_test``.
- :class:`Scored` -- adds ``track_score`` from ``score(estimator, X, y)`` on
  the test data (an accuracy or an error, so that speed is compared at a
  known quality).
- Peer comparison: make the first parameter ``"library"`` (see :func:`peers`)
  and let ``make_estimator`` return skrep's estimator or the peer's, built on
  the same data.  asv then times both in one run, side by side, and
  ``python ratios.py`` prints skrep / peer for every benchmark.

A combination whose estimator cannot be built (skrep's estimator not exported
yet, a peer library not installed) is *skipped* (asv shows ``n/a``): raise
:class:`SkipBenchmark` -- :func:`import_or_skip` does it for you.
"""

import importlib
import inspect
import itertools
import linecache
from abc import ABC, abstractmethod
from collections import namedtuple

import numpy as np

#: Raised in ``make_estimator``/``make_data`` to skip one combination; asv
#: treats ``NotImplementedError`` raised in ``setup`` as "skipped".
SkipBenchmark = NotImplementedError

#: What ``make_data`` returns.  ``y`` may be None (unsupervised); ``X_test``
#: defaults to ``X`` and ``y_test`` to ``y``.
Data = namedtuple("Data", ["X", "y", "X_test", "y_test"], defaults=(None, None, None))

#: Name of the parameter that selects skrep or a peer library.
LIBRARY = "library"


def peers(*names):
    """The values of the ``library`` parameter: ``"skrep"`` then the peers.

    >>> peers("sklearn")
    ['skrep', 'sklearn']
    """
    return ["skrep", *names]


def import_or_skip(module, name=None):
    """Import ``module`` (and return its attribute ``name``), or skip.

    Use it in ``make_estimator`` for skrep's estimators, which may not be
    exported yet, and for optional peer libraries.
    """
    try:
        mod = importlib.import_module(module)
        return mod if name is None else getattr(mod, name)
    except (ImportError, AttributeError) as exc:
        raise SkipBenchmark(f"{module}.{name or ''} unavailable: {exc}") from exc


def param_dict(benchmark, params):
    """The parameters of one combination as a dict keyed by ``param_names``."""
    names = getattr(benchmark, "param_names", None) or [
        f"param{i}" for i in range(len(params))
    ]
    return dict(zip(names, params, strict=False))


def _grid(benchmark):
    params = getattr(benchmark, "params", None)
    if params is None:
        return [()]
    if params and not isinstance(params[0], (list, tuple)):
        params = [params]  # a single parameter given as a flat list
    return list(itertools.product(*params))


class Estimator(ABC):
    """Base of every estimator benchmark: ``time_fit`` and ``peakmem_fit``.

    Subclasses implement :meth:`make_data` and :meth:`make_estimator`.  Both
    must be deterministic (fixed ``random_state``) so that ``setup_cache`` and
    ``setup`` see the same data.
    """

    # asv settings shared by all benchmarks; a subclass may override them.
    timeout = 300.0
    processes = 1
    #: Rows used by :meth:`warmup` to compile numba kernels before timing.
    warmup_n_samples = 256

    @abstractmethod
    def make_data(self, p):
        """Return a :data:`Data` for the parameter dict ``p``."""

    @abstractmethod
    def make_estimator(self, p):
        """Return an unfitted estimator for ``p`` (or raise SkipBenchmark)."""

    # -- asv hooks ---------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "setup_cache" not in vars(cls):
            cls.setup_cache = _own_setup_cache(cls)

    def setup_cache(self):
        """Fit every combination once; asv pickles the returned dict."""
        fitted = {}
        for params in _grid(self):
            p = param_dict(self, params)
            try:
                estimator = self.make_estimator(p)
            except SkipBenchmark:
                fitted[params] = None
                continue
            data = self.make_data(p)
            fitted[params] = self.fit(estimator, data)
        return fitted

    def setup(self, fitted, *params):
        self.p = param_dict(self, params)
        if fitted.get(params) is None:
            raise SkipBenchmark(f"no estimator for {self.p}")
        self.estimator = fitted[params]
        self.data = self.make_data(self.p)
        self.warmup()

    # -- overridable pieces ------------------------------------------------
    def fit(self, estimator, data):
        """Fit ``estimator`` on ``data`` (override for unusual fit calls)."""
        if data.y is None:
            return estimator.fit(data.X)
        return estimator.fit(data.X, data.y)

    def fresh_estimator(self):
        """An unfitted copy of the benchmarked estimator."""
        from sklearn.base import clone

        return clone(self.estimator)

    def warmup(self):
        """Run the code paths once on a few rows, so that numba's JIT (and
        any other first-call cost) is paid before timing: ``time_*`` then
        measures the steady state.  Override when a subset fit is not valid.
        """
        n = self.warmup_n_samples
        if not n:
            return
        data = self.data
        small = Data(
            data.X[:n],
            None if data.y is None else data.y[:n],
            _test(data).X_test[:n],
            None,
        )
        small_fit = self.fit(self.fresh_estimator(), small)
        self._warmup_inference(small_fit, small.X_test)

    def _warmup_inference(self, estimator, X):
        """Call the timed inference methods once (mixins extend this)."""
        return None

    # -- benchmarks --------------------------------------------------------
    def time_fit(self, *args):
        self.fit(self.fresh_estimator(), self.data)

    def peakmem_fit(self, *args):
        self.fit(self.fresh_estimator(), self.data)


def _own_setup_cache(cls):
    """A ``setup_cache`` function of ``cls``'s own.

    asv keys the result of ``setup_cache`` by the *module and line* where the
    function is defined, so every class inheriting ``Estimator.setup_cache``
    would share one cache (the first class's fitted estimators).  This gives
    each subclass a function that asv sees as defined in the subclass's module,
    at the line of the ``class`` statement, calling ``Estimator.setup_cache``.
    """
    try:
        lineno = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return Estimator.setup_cache
    filename = f"<asv setup_cache of {cls.__module__}.{cls.__qualname__}>"
    source = "\n" * (lineno - 1) + "def setup_cache(self):\n    return _fit_all(self)\n"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    namespace = {"_fit_all": Estimator.setup_cache}
    exec(compile(source, filename, "exec"), namespace)
    function = namespace["setup_cache"]
    function.__module__ = cls.__module__
    function.__qualname__ = f"{cls.__qualname__}.setup_cache"
    function.__doc__ = Estimator.setup_cache.__doc__
    function.timeout = cls.timeout
    return function


def _test(data):
    if data.X_test is None:
        return data._replace(X_test=data.X, y_test=data.y)
    return data


class Transformer(Estimator):
    """Adds ``time_transform`` and ``peakmem_transform`` on ``X_test``."""

    def _warmup_inference(self, estimator, X):
        super()._warmup_inference(estimator, X)
        estimator.transform(X)

    def time_transform(self, *args):
        self.estimator.transform(_test(self.data).X_test)

    def peakmem_transform(self, *args):
        self.estimator.transform(_test(self.data).X_test)


class Predictor(Estimator):
    """Adds ``time_predict`` and ``peakmem_predict`` on ``X_test``.

    ``predict_method`` names the method timed: ``"predict"``,
    ``"predict_proba"``, ``"score_samples"``, ``"decision_function"``...;
    override :meth:`predict` when skrep and the peer are called differently
    (e.g. ``query`` against ``predict_proba``).
    """

    predict_method = "predict"

    def predict(self, estimator, X):
        return getattr(estimator, self.predict_method)(X)

    def _warmup_inference(self, estimator, X):
        super()._warmup_inference(estimator, X)
        self.predict(estimator, X)

    def time_predict(self, *args):
        self.predict(self.estimator, _test(self.data).X_test)

    def peakmem_predict(self, *args):
        self.predict(self.estimator, _test(self.data).X_test)


class Scored(Estimator):
    """Adds ``track_score``: :meth:`score` on ``(X_test, y_test)``.

    Implement :meth:`score`, and say in the subclass docstring whether higher
    or lower is better.  Without a test split the score is on the training
    data.
    """

    @abstractmethod
    def score(self, estimator, X, y):
        """A float measuring the fitted ``estimator`` on ``(X, y)``."""

    def track_score(self, *args):
        data = _test(self.data)
        return float(self.score(self.estimator, data.X_test, data.y_test))

    track_score.unit = "score"


def rng(seed=0):
    """The random generator every benchmark's data comes from."""
    return np.random.default_rng(seed)
