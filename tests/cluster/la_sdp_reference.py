"""The LA-SDP solved exactly by cvxpy + SCS: the reference of the cluster tests.

Imported by ``test_ilasdp.py`` and ``test_certificate.py`` (cvxpy is a test
dependency; callers skip when it is missing).
"""

import numpy as np


def exact_la_sdp(Xc, omegas, c, eps=1e-6):
    """max sum_k <Xc Omega_k Xc^T, B_k> - c_k^T B_k 1 over B_k PSD, B_k >= 0,
    tr B_k = 1, sum_k B_k 1 = 1, by cvxpy + SCS.

    Returns the optimal value and the row sums ``(B_k 1)_i``, shape (n, K).
    """
    import cvxpy as cp

    n, K = c.shape
    Bs = [cp.Variable((n, n), PSD=True) for _ in range(K)]
    objective = sum(
        cp.trace((Xc @ omegas[k] @ Xc.T) @ Bs[k]) - c[:, k] @ cp.sum(Bs[k], axis=1)
        for k in range(K)
    )
    constraints = [B >= 0 for B in Bs] + [cp.trace(B) == 1 for B in Bs]
    constraints.append(sum(cp.sum(B, axis=1) for B in Bs) == 1)
    problem = cp.Problem(cp.Maximize(objective), constraints)
    problem.solve(solver="SCS", eps=eps, max_iters=100_000)
    return problem.value, np.stack([B.value.sum(axis=1) for B in Bs], axis=1)
