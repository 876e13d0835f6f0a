"""Link functions of the cumulative models: ``P(y <= k | x) = F(eta_k)``.

Each link is the CDF ``F`` of a latent error, given by the logarithms of
``F``, of its survival function ``S = 1 - F`` and of its density ``f``, and by
``q = f' / f``: from these the per-row loss ``-log(F(b) - F(a))`` and its
gradient and 2x2 Hessian in the row's two cumulative predictors ``(a, b)``
follow without cancellation in either tail. The logit link's derivatives
also have a compiled kernel (:func:`skrep.ordinal._kernels.row_derivatives`),
which the solvers use for it; the other links use the vectorised functions
here (scipy's ``log_ndtr`` for the probit tails).

The links and their ``F`` (R's ``MASS::polr`` names):

- ``logit``: ``1 / (1 + exp(-x))``;
- ``probit``: the standard normal CDF;
- ``cloglog``: ``1 - exp(-exp(x))`` (``log(-log(1 - p))``, the Gumbel
  minimum; statsmodels' ``scipy.stats.gumbel_l``);
- ``loglog``: ``exp(-exp(-x))`` (the Gumbel maximum, ``gumbel_r``);
- ``cauchit``: ``1/2 + arctan(x) / pi``.
"""

from abc import ABC, abstractmethod

import numpy as np
from scipy.special import expit, log_ndtr, ndtr, ndtri

from skrep.utils._array_api import get_namespace_and_device, to_namespace, to_numpy

LINKS = ("logit", "probit", "cloglog", "loglog", "cauchit")

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0``, accurate for every x."""
    x = np.asarray(x, dtype=float)
    small = x > -np.log(2.0)
    out = np.empty_like(x)
    out[small] = np.log(-np.expm1(x[small]))
    out[~small] = np.log1p(-np.exp(x[~small]))
    return out


class Link(ABC):
    """One link: its CDF and the logarithms the derivatives are built from."""

    name = None

    @abstractmethod
    def cdf(self, x):
        """``F(x)``."""

    @abstractmethod
    def logcdf(self, x):
        """``log F(x)``, accurate in the lower tail."""

    @abstractmethod
    def logsf(self, x):
        """``log(1 - F(x))``, accurate in the upper tail."""

    @abstractmethod
    def logpdf(self, x):
        """``log f(x)``."""

    @abstractmethod
    def q(self, x):
        """``f'(x) / f(x)``."""

    @abstractmethod
    def ppf(self, p):
        """``F^-1(p)``."""

    @abstractmethod
    def cdf_xp(self, eta, xp):
        """:meth:`cdf` in the array namespace ``xp``."""

    def pdf(self, x):
        """``f(x)``."""
        return np.exp(self.logpdf(x))


class _Logit(Link):
    name = "logit"

    def cdf(self, x):
        return expit(x)

    def logcdf(self, x):
        return -np.logaddexp(0.0, -x)

    def logsf(self, x):
        return -np.logaddexp(0.0, x)

    def logpdf(self, x):
        return -np.logaddexp(0.0, -x) - np.logaddexp(0.0, x)

    def q(self, x):
        return -np.tanh(0.5 * x)

    def ppf(self, p):
        return np.log(p) - np.log1p(-p)

    def cdf_xp(self, eta, xp):
        t = xp.exp(-xp.abs(eta))  # the logistic function, without overflow
        return xp.where(eta >= 0, 1.0 / (1.0 + t), t / (1.0 + t))


class _Probit(Link):
    name = "probit"

    def cdf(self, x):
        return ndtr(x)

    def logcdf(self, x):
        return log_ndtr(x)

    def logsf(self, x):
        return log_ndtr(-x)

    def logpdf(self, x):
        return -0.5 * x * x - _LOG_SQRT_2PI

    def q(self, x):
        return -x

    def ppf(self, p):
        return ndtri(p)

    def cdf_xp(self, eta, xp):
        # The array API has no erf: the normal CDF is evaluated on the host.
        _, _, device = get_namespace_and_device(eta)
        return to_namespace(ndtr(to_numpy(eta, xp)), xp, device)


class _CLogLog(Link):
    name = "cloglog"

    def cdf(self, x):
        return -np.expm1(-np.exp(x))

    def logcdf(self, x):
        return _log1mexp(-np.exp(x))

    def logsf(self, x):
        return -np.exp(x)

    def logpdf(self, x):
        return x - np.exp(x)

    def q(self, x):
        return 1.0 - np.exp(x)

    def ppf(self, p):
        return np.log(-np.log1p(-p))

    def cdf_xp(self, eta, xp):
        return -xp.expm1(-xp.exp(eta))


class _LogLog(Link):
    name = "loglog"

    def cdf(self, x):
        return np.exp(-np.exp(-x))

    def logcdf(self, x):
        return -np.exp(-x)

    def logsf(self, x):
        return _log1mexp(-np.exp(-x))

    def logpdf(self, x):
        return -x - np.exp(-x)

    def q(self, x):
        return np.exp(-x) - 1.0

    def ppf(self, p):
        return -np.log(-np.log(p))

    def cdf_xp(self, eta, xp):
        return xp.exp(-xp.exp(-eta))


class _Cauchit(Link):
    name = "cauchit"

    def cdf(self, x):
        return np.arctan2(1.0, -x) / np.pi

    def logcdf(self, x):
        return np.log(np.arctan2(1.0, -x)) - np.log(np.pi)

    def logsf(self, x):
        return np.log(np.arctan2(1.0, x)) - np.log(np.pi)

    def logpdf(self, x):
        return -np.log(np.pi) - np.log1p(x * x)

    def q(self, x):
        return -2.0 * x / (1.0 + x * x)

    def ppf(self, p):
        return np.tan(np.pi * (p - 0.5))

    def cdf_xp(self, eta, xp):
        return xp.atan2(xp.ones_like(eta), -eta) / np.pi


_BY_NAME = {
    link.name: link for link in (_Logit(), _Probit(), _CLogLog(), _LogLog(), _Cauchit())
}


def get_link(name):
    """The :class:`Link` called ``name`` (one of :data:`LINKS`)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"Unknown link {name!r}; the links are {', '.join(map(repr, LINKS))}."
        ) from None


def row_derivatives(link, eta, y, sw, ga, gb, haa, hab, hbb, want_loss):
    """Vectorised :func:`skrep.ordinal._kernels.row_derivatives` for any link.

    Writes each row's weighted gradient and Hessian in its two cumulative
    predictors ``(a, b)`` into ``ga, gb, haa, hab, hbb`` and returns the
    weighted loss (``inf`` if a row's own class has a non-positive
    probability; 0 unless ``want_loss``).
    """
    n, last = eta.shape
    rows = np.arange(n)
    has_a = y > 0
    has_b = y < last
    a = eta[rows, np.maximum(y - 1, 0)]
    b = eta[rows, np.minimum(y, last - 1)]
    middle = has_a & has_b
    if np.any(b[middle] <= a[middle]):
        return np.inf
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        log_p = np.empty(n)
        log_p[~has_a] = link.logcdf(b[~has_a])
        log_p[~has_b] = link.logsf(a[~has_b])
        if np.any(middle):
            log_p[middle] = _log_interval(link, a[middle], b[middle])
        ra = np.where(has_a, np.exp(link.logpdf(a) - log_p), 0.0)
        rb = np.where(has_b, np.exp(link.logpdf(b) - log_p), 0.0)
        # r * (r +- q) with r = 0 where the density underflows (q may be inf).
        curv_a = np.where(ra > 0, ra * (ra + link.q(a)), 0.0)
        curv_b = np.where(rb > 0, rb * (rb - link.q(b)), 0.0)
    np.multiply(sw, ra, out=ga)
    np.multiply(-sw, rb, out=gb)
    np.multiply(sw, curv_a, out=haa)
    np.multiply(sw, curv_b, out=hbb)
    np.multiply(-sw, ra * rb, out=hab)
    if not want_loss:
        return 0.0
    if np.any(np.isneginf(log_p)):
        return np.inf
    return float(-(sw @ log_p))


def _log_interval(link, a, b):
    """``log(F(b) - F(a))`` for ``a < b``, from the side of the nearer tail."""
    median = link.ppf(0.5)
    out = np.empty_like(a)
    low = b <= median
    high = (a >= median) & ~low
    mid = ~(low | high)
    fa, fb = link.logcdf(a[low]), link.logcdf(b[low])
    out[low] = fb + _log1mexp(fa - fb)
    sa, sb = link.logsf(a[high]), link.logsf(b[high])
    out[high] = sa + _log1mexp(sb - sa)
    out[mid] = np.log1p(-(np.exp(link.logcdf(a[mid])) + np.exp(link.logsf(b[mid]))))
    return out
