"""numba peers of jaxstat's cluster samplers: the plain loops an expert writes.

2D square-lattice Ising ferromagnet, periodic L x L, J = 1, h = 0, spins
+-1 in an ``(L, L)`` array (int8 or float32; numba compiles one version per
dtype). Everything is single-threaded and uses numba's own Mersenne Twister,
seeded with ``np.random.seed(seed)`` inside the compiled function, as in
``benchmarks/ising.py``. Imported by ``benchmarks/cluster.py``, which runs
these side by side with jaxstat's Swendsen-Wang and Wolff samplers.

* :func:`wolff_run` -- Wolff single-cluster updates. The cluster grows from a
  random seed site with an explicit stack (size L*L); a neighbour aligned with
  the seed joins with ``p = 1 - exp(-2 beta)``. Each site is flipped the moment
  it joins, so the spin itself is the visited mask (a joined site is no longer
  aligned with the seed and is never tested again) and no mask has to be
  cleared between clusters. E and M are kept exactly, incrementally (each
  join is a single-spin flip whose dE is read from the 4 neighbours it
  already touches).
* :func:`sw_run` -- Swendsen-Wang. Bonds between aligned neighbours are
  activated with ``p = 1 - exp(-2 beta)`` and merged as they are drawn by
  union-find (path halving, union by size, written out inline; a site's root
  is found once for both its bonds, right and down: together about 1.5-2x
  faster labelling than calling a ``union(a, b)`` helper); each cluster is
  then flipped with probability 1/2 (one random number per cluster, drawn
  when its root is first met). M comes out of the flip pass; E is recomputed
  at record time.
* :func:`sw_label_time` -- median seconds of the union-find labelling alone
  (every site gets its root) of an equilibrated Swendsen-Wang bond
  configuration at size L: the numba side of "labelling time vs L".
* :func:`metropolis_checkerboard_run` -- single-spin Metropolis, checkerboard
  order, acceptance table ``exp(-beta dE)`` for dE in {4, 8}, a random number
  drawn only when dE > 0; E and M kept incrementally. L must be even (the two
  colours of the checkerboard must not touch across the periodic boundary).

Conventions shared by the ``*_run`` functions: ``s`` is updated **in place**
and returned (pass a copy to keep the original); the trace has shape
``(n_steps // record_every, 2)``, float64, column 0 = ``|m|`` = |M| / N per
spin, column 1 = total energy ``E = -sum_<ij> s_i s_j`` (divide by N for
the energy per spin), recorded after every ``record_every``-th step (a step is
one cluster for Wolff, one sweep for Swendsen-Wang and Metropolis).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from numba import njit

__all__ = ["wolff_run", "sw_run", "sw_label_time", "metropolis_checkerboard_run"]


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
@njit(cache=True)
def _energy_mag(s):
    """Total energy E = -sum_<ij> s_i s_j and magnetization M = sum_i s_i (int64)."""
    L = s.shape[0]
    E = 0
    M = 0
    for i in range(L):
        ip = i + 1 if i + 1 < L else 0
        for j in range(L):
            jp = j + 1 if j + 1 < L else 0
            si = np.int64(s[i, j])
            E -= si * (np.int64(s[ip, j]) + np.int64(s[i, jp]))
            M += si
    return E, M


@njit(cache=True)
def _find(parent, x):
    """Root of x, with path halving."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


# --------------------------------------------------------------------------- #
# Wolff
# --------------------------------------------------------------------------- #
@njit(cache=True)
def wolff_run(s, beta, n_clusters, record_every, seed):
    """``n_clusters`` Wolff single-cluster updates of ``s`` (in place).

    Returns ``(s, trace, n_flipped)``: trace ``(n_clusters // record_every, 2)``
    of ``(|m|, E)`` after every ``record_every``-th cluster, and the total
    number of spins flipped (mean cluster size = n_flipped / n_clusters).
    """
    np.random.seed(seed)
    L = s.shape[0]
    N = L * L
    p = 1.0 - np.exp(-2.0 * beta)
    stack = np.empty(N, np.int64)
    trace = np.empty((n_clusters // record_every, 2), np.float64)
    E, M = _energy_mag(s)
    n_flipped = 0
    for c in range(n_clusters):
        k = np.random.randint(0, N)
        i = k // L
        j = k - i * L
        s0 = s[i, j]
        ip = i + 1 if i + 1 < L else 0
        im = i - 1 if i > 0 else L - 1
        jp = j + 1 if j + 1 < L else 0
        jm = j - 1 if j > 0 else L - 1
        nb = np.int64(s[ip, j]) + np.int64(s[im, j]) + np.int64(s[i, jp]) + np.int64(s[i, jm])
        E += 2 * np.int64(s0) * nb
        s[i, j] = -s0
        stack[0] = k
        top = 1
        size = 1
        while top > 0:
            top -= 1
            k = stack[top]
            i = k // L
            j = k - i * L
            ip = i + 1 if i + 1 < L else 0
            im = i - 1 if i > 0 else L - 1
            jp = j + 1 if j + 1 < L else 0
            jm = j - 1 if j > 0 else L - 1
            for d in range(4):
                if d == 0:
                    a, b = ip, j
                elif d == 1:
                    a, b = im, j
                elif d == 2:
                    a, b = i, jp
                else:
                    a, b = i, jm
                if s[a, b] == s0 and np.random.random() < p:
                    ap = a + 1 if a + 1 < L else 0
                    am = a - 1 if a > 0 else L - 1
                    bp = b + 1 if b + 1 < L else 0
                    bm = b - 1 if b > 0 else L - 1
                    nb = np.int64(s[ap, b]) + np.int64(s[am, b]) + np.int64(s[a, bp]) + np.int64(s[a, bm])
                    E += 2 * np.int64(s0) * nb  # single-spin dE of flipping s0 -> -s0
                    s[a, b] = -s0
                    stack[top] = a * L + b
                    top += 1
                    size += 1
        M -= 2 * np.int64(s0) * size
        n_flipped += size
        if (c + 1) % record_every == 0:
            r = (c + 1) // record_every - 1
            trace[r, 0] = abs(M) / N
            trace[r, 1] = E
    return s, trace, n_flipped


# --------------------------------------------------------------------------- #
# Swendsen-Wang
# --------------------------------------------------------------------------- #
@njit(cache=True)
def sw_run(s, beta, n_sweeps, record_every, seed):
    """``n_sweeps`` Swendsen-Wang updates of ``s`` (in place).

    Returns ``(s, trace)``: trace ``(n_sweeps // record_every, 2)`` of
    ``(|m|, E)`` after every ``record_every``-th sweep.
    """
    np.random.seed(seed)
    L = s.shape[0]
    N = L * L
    p = 1.0 - np.exp(-2.0 * beta)
    parent = np.empty(N, np.int32)
    size = np.empty(N, np.int32)
    flip = np.empty(N, np.int8)
    trace = np.empty((n_sweeps // record_every, 2), np.float64)
    for t in range(n_sweeps):
        for k in range(N):
            parent[k] = k
            size[k] = 1
            flip[k] = 0
        # bonds right and down, merged as they are drawn
        for i in range(L):
            ip = i + 1 if i + 1 < L else 0
            for j in range(L):
                jp = j + 1 if j + 1 < L else 0
                sk = s[i, j]
                br = s[i, jp] == sk and np.random.random() < p
                bd = s[ip, j] == sk and np.random.random() < p
                if br or bd:
                    r = _find(parent, i * L + j)  # this site's root, found once for both bonds
                    if br:
                        q = _find(parent, i * L + jp)
                        if q != r:  # union by size (written out: as a call it is ~1.5x slower here)
                            if size[r] < size[q]:
                                r, q = q, r
                            parent[q] = r
                            size[r] += size[q]
                    if bd:
                        q = _find(parent, ip * L + j)
                        if q != r:
                            if size[r] < size[q]:
                                r, q = q, r
                            parent[q] = r
                            size[r] += size[q]
        # flip each cluster with probability 1/2, decided at its root's first visit
        M = 0
        for i in range(L):
            for j in range(L):
                r = _find(parent, i * L + j)
                f = flip[r]
                if f == 0:
                    f = 1 if np.random.random() < 0.5 else -1
                    flip[r] = f
                if f < 0:
                    s[i, j] = -s[i, j]
                M += np.int64(s[i, j])
        if (t + 1) % record_every == 0:
            E, _ = _energy_mag(s)
            r = (t + 1) // record_every - 1
            trace[r, 0] = abs(M) / N
            trace[r, 1] = E
    return s, trace


@njit(cache=True)
def _sw_bonds(s, beta, seed, right, down):
    """Draw one Swendsen-Wang bond configuration of ``s`` into ``right``/``down`` (bool)."""
    np.random.seed(seed)
    L = s.shape[0]
    p = 1.0 - np.exp(-2.0 * beta)
    for i in range(L):
        ip = i + 1 if i + 1 < L else 0
        for j in range(L):
            jp = j + 1 if j + 1 < L else 0
            right[i, j] = s[i, jp] == s[i, j] and np.random.random() < p
            down[i, j] = s[ip, j] == s[i, j] and np.random.random() < p


@njit(cache=True)
def _uf_label(right, down, parent, size, label, inner):
    """Union-find labelling of a bond configuration, ``inner`` times over:
    every site's ``label`` is its cluster's root. Returns the number of clusters."""
    L = right.shape[0]
    N = L * L
    n_clusters = 0
    for _ in range(inner):
        for k in range(N):
            parent[k] = k
            size[k] = 1
        for i in range(L):
            ip = i + 1 if i + 1 < L else 0
            for j in range(L):
                jp = j + 1 if j + 1 < L else 0
                br = right[i, j]
                bd = down[i, j]
                if br or bd:
                    r = _find(parent, i * L + j)
                    if br:
                        q = _find(parent, i * L + jp)
                        if q != r:  # union by size (written out: as a call it is ~1.5x slower here)
                            if size[r] < size[q]:
                                r, q = q, r
                            parent[q] = r
                            size[r] += size[q]
                    if bd:
                        q = _find(parent, ip * L + j)
                        if q != r:
                            if size[r] < size[q]:
                                r, q = q, r
                            parent[q] = r
                            size[r] += size[q]
        n_clusters = 0
        for k in range(N):
            r = _find(parent, k)
            label[k] = r
            n_clusters += r == k
    return n_clusters


def sw_label_time(L, beta, repeats=7, seed=0, n_equil=50, dtype=np.int8):
    """Median seconds of one union-find labelling of a Swendsen-Wang bond
    configuration on an L x L lattice at ``beta``.

    The spins are first equilibrated by ``n_equil`` Swendsen-Wang sweeps from a
    cold start; for each of ``repeats`` timings one more sweep is made and a fresh
    bond configuration is drawn (both untimed), then only the labelling is timed
    (init of parent/size, the unions, a find for every site). Small lattices are
    labelled several times per call so that call overhead stays below ~1%.
    """
    N = L * L
    s = np.ones((L, L), dtype)
    sw_run(s, beta, n_equil, n_equil, seed)
    right = np.empty((L, L), np.bool_)
    down = np.empty((L, L), np.bool_)
    parent = np.empty(N, np.int32)
    size = np.empty(N, np.int32)
    label = np.empty(N, np.int32)
    inner = max(1, (1 << 18) // N)
    _uf_label(right, down, parent, size, label, 1)  # compile (if needed) before timing
    times = []
    for r in range(repeats):
        sw_run(s, beta, 1, 1, seed + 1 + r)
        _sw_bonds(s, beta, seed + 1 + r, right, down)
        t0 = time.perf_counter()
        _uf_label(right, down, parent, size, label, inner)
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


# --------------------------------------------------------------------------- #
# Metropolis
# --------------------------------------------------------------------------- #
@njit(cache=True)
def metropolis_checkerboard_run(s, beta, n_sweeps, record_every, seed):
    """``n_sweeps`` checkerboard Metropolis sweeps of ``s`` (in place).

    Returns ``(s, trace)``: trace ``(n_sweeps // record_every, 2)`` of
    ``(|m|, E)`` after every ``record_every``-th sweep. ``L`` must be even.
    """
    np.random.seed(seed)
    L = s.shape[0]
    N = L * L
    # acceptance for s_i * (sum of neighbours) = 2, 4, i.e. dE = 4, 8
    w = np.array([1.0, np.exp(-4.0 * beta), np.exp(-8.0 * beta)])
    trace = np.empty((n_sweeps // record_every, 2), np.float64)
    E, M = _energy_mag(s)
    for t in range(n_sweeps):
        for colour in range(2):
            for i in range(L):
                ip = i + 1 if i + 1 < L else 0
                im = i - 1 if i > 0 else L - 1
                for j in range((i + colour) & 1, L, 2):
                    jp = j + 1 if j + 1 < L else 0
                    jm = j - 1 if j > 0 else L - 1
                    si = np.int64(s[i, j])
                    h = si * (np.int64(s[ip, j]) + np.int64(s[im, j]) + np.int64(s[i, jp]) + np.int64(s[i, jm]))
                    if h <= 0 or np.random.random() < w[h >> 1]:
                        s[i, j] = -s[i, j]
                        E += 2 * h
                        M -= 2 * si
        if (t + 1) % record_every == 0:
            r = (t + 1) // record_every - 1
            trace[r, 0] = abs(M) / N
            trace[r, 1] = E
    return s, trace
