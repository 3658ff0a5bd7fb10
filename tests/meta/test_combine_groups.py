"""Cochrane's formula for combining groups (Handbook Table 6.5.a) against the raw data it summarises."""

import numpy as np
import pytest

from analysis.meta.conversions import combine_groups


def test_three_groups_combine_to_the_pooled_sample():
    rng = np.random.default_rng(7)
    groups = [rng.normal(loc, scale, size) for loc, scale, size in ((10, 4, 23), (12.5, 3, 41), (8, 5, 17))]
    n, mean, sd = combine_groups([len(g) for g in groups], [g.mean() for g in groups],
                                 [g.std(ddof=1) for g in groups])
    everyone = np.concatenate(groups)
    assert n == 81
    assert mean == pytest.approx(everyone.mean(), abs=1e-12)
    assert sd == pytest.approx(everyone.std(ddof=1), abs=1e-12)


def test_one_group_is_itself_and_bad_lengths_are_refused():
    assert combine_groups(30, 5.5, 2.0) == (30.0, 5.5, 2.0)
    with pytest.raises(ValueError, match="same, non-zero length"):
        combine_groups([10, 20], [1.0], [1.0, 2.0])
