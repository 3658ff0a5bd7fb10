"""Block-diagonal covariance matrices stored cluster by cluster, stacked by cluster size.

A k-by-k block-diagonal matrix is never formed. The rows of each cluster are gathered into a
small dense block; blocks of the same size are stacked into one ``(m, n, n)`` array so that
Cholesky factors, inverses and eigen-decompositions run batched in LAPACK. Memory is the sum
of the squared cluster sizes, linear in k when cluster sizes are bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Grouping:
    """Where each cluster's rows are, grouped by cluster size.

    Attributes
    ----------
    codes : ndarray
        Cluster number (0 .. J-1, in sorted label order) of every row.
    sizes : ndarray
        Rows per cluster.
    groups : tuple of (n, cluster_ids, idx)
        For each distinct size n, the clusters of that size and an ``(m, n)`` array of their rows.
    group_of, slot, local : ndarray
        Per row: which size group, which block within it, which position within the block.
    """

    codes: np.ndarray = field(repr=False)
    sizes: np.ndarray = field(repr=False)
    groups: tuple = field(repr=False)
    group_of: np.ndarray = field(repr=False)
    slot: np.ndarray = field(repr=False)
    local: np.ndarray = field(repr=False)

    @property
    def k(self) -> int:
        return len(self.codes)

    @property
    def n_clusters(self) -> int:
        return len(self.sizes)

    def gather(self, x: np.ndarray) -> list:
        """The vector ``x`` (length k) cut into one ``(m, n)`` array per size group."""
        return [x[idx] for _, _, idx in self.groups]

    def stack(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> list:
        """Dense ``(m, n, n)`` blocks from the within-cluster entries (rows, cols, vals) of a matrix."""
        rows, cols = np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)
        if np.any(self.codes[rows] != self.codes[cols]):
            raise ValueError("the covariance matrix has entries between clusters; "
                             "its blocks must lie within the clusters of the model")
        out = []
        for g, (n, ids, _) in enumerate(self.groups):
            block = np.zeros((len(ids), n, n))
            sel = self.group_of[rows] == g
            r, c = rows[sel], cols[sel]
            block[self.slot[r], self.local[r], self.local[c]] = vals[sel]
            out.append(block)
        return out

    def nested_in(self, other: Grouping) -> bool:
        """True when every cluster of ``self`` lies within one cluster of ``other``."""
        first = np.full(self.n_clusters, -1)
        first[self.codes] = other.codes
        return bool(np.all(first[self.codes] == other.codes))


def grouping(cluster) -> Grouping:
    """The :class:`Grouping` of the rows by their cluster labels (any sortable labels)."""
    cluster = np.asarray(cluster).ravel()
    if cluster.size == 0:
        raise ValueError("cluster must not be empty")
    _, codes = np.unique(cluster, return_inverse=True)
    codes = codes.ravel()
    k = len(codes)
    sizes = np.bincount(codes)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group_of, slot, local = (np.empty(k, dtype=np.intp) for _ in range(3))
    groups = []
    for g, n in enumerate(np.unique(sizes)):
        ids = np.flatnonzero(sizes == n)
        idx = order[starts[ids][:, None] + np.arange(n)]
        group_of[idx] = g
        slot[idx] = np.arange(len(ids))[:, None]
        local[idx] = np.arange(n)
        groups.append((int(n), ids, idx))
    return Grouping(codes, sizes, tuple(groups), group_of, slot, local)


@dataclass(frozen=True)
class BlockCov:
    """A block-diagonal sampling covariance matrix kept as its within-cluster entries.

    ``rows``, ``cols`` and ``vals`` list every entry (diagonal included) of every block, as
    a sparse COO matrix does; ``cluster`` holds the labels that define the blocks.
    """

    cluster: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)
    cols: np.ndarray = field(repr=False)
    vals: np.ndarray = field(repr=False)

    @property
    def k(self) -> int:
        return len(self.cluster)

    def diagonal(self) -> np.ndarray:
        """The sampling variances."""
        d = np.zeros(self.k)
        on = self.rows == self.cols
        d[self.rows[on]] = self.vals[on]
        return d

    def to_dense(self) -> np.ndarray:
        """The full k-by-k matrix; for tests at small k only."""
        out = np.zeros((self.k, self.k))
        out[self.rows, self.cols] = self.vals
        return out


def diagonal_cov(vi, cluster) -> BlockCov:
    """diag(vi) as a :class:`BlockCov`."""
    vi = np.asarray(vi, dtype=float).ravel()
    ar = np.arange(len(vi))
    return BlockCov(np.asarray(cluster).ravel(), ar, ar, vi)


def within_pairs(grp: Grouping) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every pair of rows (both orders, and each row with itself) in a cluster."""
    rows, cols = [], []
    for n, _, idx in grp.groups:
        rows.append(np.repeat(idx, n, axis=1).ravel())
        cols.append(np.tile(idx, (1, n)).ravel())
    return np.concatenate(rows), np.concatenate(cols)


def matvec(blocks: list, xs: list) -> list:
    """Blockwise products ``B x`` for stacked blocks and gathered vectors."""
    return [np.einsum("mij,mj->mi", b, x) for b, x in zip(blocks, xs)]
