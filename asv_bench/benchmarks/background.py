"""Benchmarks of background modelling in ``skrep.decomposition`` (issue 17).

- ``BackgroundBench``: ``RobustSVD`` (rSVDdpd) against ``RobustPCA`` (PCP)
  and scikit-learn's ``TruncatedSVD`` on the same video (120 frames of 54 x
  80 pixels on ``china.jpg``, two moving blocks, 20 % tampered frames):
  fit time, and ``track_score`` = relative background error on the
  untouched frames (lower is better).
- ``NewRowsBench``: ``RobustPCA`` fitted on 3,000 x 600 (rank 10, 5 %
  gross entries), ``time_transform`` = the l1 regression of 3,000 new rows
  corrupted the same way (new-row throughput), ``track_score`` = their
  recovery error.
- ``FirstCallPCP``: ``RobustPCA().fit`` against pyrpca's ``rpca_pcp_ialm``
  on 3,000 x 600 (rank 10, 5 % gross entries), each in a fresh Python
  process: the first call after the import (numba's loading included) and
  a second, warm call. ``track_*_ratio`` = pyrpca's time / skrep's (issue 17
  asks for >= 10 on the first call and >= 20 warm).
"""

import json
import subprocess
import sys

import numpy as np

from .common import Data, Scored, Transformer, import_or_skip

#: Run in a fresh interpreter: the data are made with numpy only, the library
#: is imported (``RobustPCA``'s lazy import brings scikit-learn), then called
#: twice; prints the wall-clock and CPU times of both calls. The first call
#: pays what a user's first call pays after the import: numba's import and
#: cache loading, the start of its thread pool, lazily imported helpers.
FRESH_PROCESS = """
import json, sys, time
import numpy as np
rng = np.random.RandomState(0)
m, n, r = 3000, 600, 10
L = rng.standard_normal((m, r)) @ rng.standard_normal((r, n)) / n
S = np.zeros(m * n)
idx = rng.choice(m * n, int(0.05 * m * n), replace=False)
S[idx] = rng.choice([-1.0, 1.0], idx.size)
M = L + S.reshape(m, n)
if sys.argv[1] == "skrep":
    from skrep.decomposition import RobustPCA
    def solve():
        return RobustPCA(random_state=0).fit(M).low_rank_
else:
    from pyrpca import rpca_pcp_ialm
    def solve():
        return rpca_pcp_ialm(M, 1 / np.sqrt(m), verbose=False)[0]
times, cpu = [], []
for _ in range(2):
    start, start_cpu = time.perf_counter(), time.process_time()
    low_rank = solve()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
error = float(np.linalg.norm(low_rank - L) / np.linalg.norm(L))
print(json.dumps({"first": times[0], "warm": times[1], "first_cpu": cpu[0],
                  "warm_cpu": cpu[1], "error": error}))
"""


def fresh_process_times(library):
    """First-call and warm times of ``library``'s PCP in a new process."""
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, library],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


class FirstCallPCP:
    """PCP as a user meets it: a fresh process, first and second call."""

    timeout = 600.0
    number = 1
    repeat = 1

    def setup_cache(self):
        import_or_skip("pyrpca")
        import_or_skip("skrep.decomposition", "RobustPCA")
        fresh_process_times("skrep")  # the numba cache is filled
        return {lib: fresh_process_times(lib) for lib in ("skrep", "pyrpca")}

    def track_first_call_ratio(self, times):
        return times["pyrpca"]["first"] / times["skrep"]["first"]

    def track_warm_ratio(self, times):
        return times["pyrpca"]["warm"] / times["skrep"]["warm"]

    def track_skrep_first_call_seconds(self, times):
        return times["skrep"]["first"]

    def track_skrep_warm_seconds(self, times):
        return times["skrep"]["warm"]

    def track_pyrpca_first_call_seconds(self, times):
        return times["pyrpca"]["first"]

    def track_skrep_error(self, times):
        return times["skrep"]["error"]

    def track_pyrpca_error(self, times):
        return times["pyrpca"]["error"]


for _name, _benchmark in vars(FirstCallPCP).copy().items():
    if _name.startswith("track_"):
        _benchmark.unit = _name.rsplit("_", 1)[-1]  # ratio, seconds, error


class BackgroundBench(Scored):
    """Background of a tampered video; score = error on untouched frames."""

    param_names = ["method"]
    params = ["RobustSVD", "RobustPCA", "TruncatedSVD"]
    warmup_n_samples = 0

    def make_data(self, p):
        from skrep.datasets import make_surveillance_video

        M, background, _, tampered, _ = make_surveillance_video(
            120, tampered=0.2, random_state=0
        )
        self.background, self.untouched = background, ~tampered
        return Data(M)

    def make_estimator(self, p):
        if p["method"] == "TruncatedSVD":
            from sklearn.decomposition import TruncatedSVD

            return TruncatedSVD(1, random_state=0)
        Estimator = import_or_skip("skrep.decomposition", p["method"])
        return Estimator(random_state=0)

    def warmup(self):
        self.fit(self.fresh_estimator(), Data(self.data.X[:30, :200]))

    def score(self, estimator, X, y):
        if hasattr(estimator, "low_rank_"):
            L = estimator.low_rank_
        else:
            L = estimator.inverse_transform(estimator.transform(X))
        rows = L[self.untouched]
        diff = np.linalg.norm(rows - self.background)
        return float(diff / np.linalg.norm(self.background) / np.sqrt(len(rows)))


class NewRowsBench(Transformer, Scored):
    """l1 regression of 3,000 corrupted new rows on a fitted RobustPCA."""

    param_names = ["method"]
    params = ["pcp", "altproj"]
    timeout = 600.0

    def make_data(self, p):
        from skrep.datasets import make_low_rank_sparse

        M, L, _ = make_low_rank_sparse(6000, 600, 10, 0.05, random_state=0)
        self.clean = L[3000:]
        return Data(M[:3000], X_test=M[3000:])

    def make_estimator(self, p):
        RobustPCA = import_or_skip("skrep.decomposition", "RobustPCA")
        return RobustPCA(p["method"], n_components=10, random_state=0)

    def score(self, estimator, X, y):
        low_rank = estimator.decompose(X)[0]
        return float(np.linalg.norm(low_rank - self.clean) / np.linalg.norm(self.clean))
