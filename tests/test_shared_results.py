"""Results shared across chapters (analysis.review.shared): computed once per build, keyed by content."""

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.book.params import ROOT
from analysis.review import comparisons
from analysis.review.shared import ENV, call_key, shared, shared_results

CALLS = []


@shared
def _count(path, scale=1.0):
    CALLS.append(path)
    warnings.warn(f"read {path}", UserWarning)
    return float(len(open(path).read())) * scale


@pytest.fixture(autouse=True)
def _reset(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    CALLS.clear()


def test_outside_a_build_nothing_is_cached(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("abc")
    with pytest.warns(UserWarning):
        assert _count(str(f)) == _count(str(f)) == 3.0
    assert len(CALLS) == 2


def test_computed_once_per_content_and_warnings_raised_on_every_call(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("abc")
    with shared_results(tmp_path / "shared"):
        with pytest.warns(UserWarning, match="read"):
            assert _count(str(f)) == 3.0
        with pytest.warns(UserWarning, match="read"):  # read from the cache, warning replayed
            assert _count(str(f)) == 3.0
        assert len(CALLS) == 1
        assert _count(str(f), scale=2.0) == 6.0  # another argument value: computed
        f.write_text("abcd")  # the same path with other content: computed again
        assert _count(str(f)) == 4.0
        assert len(CALLS) == 3
    import os

    assert ENV not in os.environ  # restored


def test_keys_take_frames_and_arrays_by_value():
    a = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    assert call_key(_count, (a,), {}) == call_key(_count, (a.copy(),), {})
    b = a.copy()
    b.loc[1, "x"] = 2.5
    assert call_key(_count, (a,), {}) != call_key(_count, (b,), {})
    assert call_key(_count, (np.arange(3),), {}) != call_key(_count, (np.arange(3.0),), {})
    assert call_key(_count, (), {"scale": 1}) != call_key(_count, (), {"scale": 1.0})


def test_a_shared_review_result_equals_the_computed_one(tmp_path):
    path = "data/trials/cipriani2018/arms.csv"
    direct = comparisons.ssri_placebo(path)
    with shared_results(tmp_path / "shared"):
        first = comparisons.ssri_placebo(path)
        again = comparisons.ssri_placebo(path)
    assert len(list((tmp_path / "shared").glob("*ssri_placebo*.pickle"))) == 1
    for res in (first, again):
        assert res.model.estimate == direct.model.estimate and res.model.tau2 == direct.model.tau2
        pd.testing.assert_frame_equal(res.trials, direct.trials)


@shared(reads_file=True)
def _read(path):
    CALLS.append(str(path))
    return open(path).read()


def test_a_reader_shares_one_entry_however_the_file_is_named(tmp_path, monkeypatch):
    f = tmp_path / "data" / "a.csv"
    f.parent.mkdir()
    f.write_text("abc")
    monkeypatch.chdir(tmp_path)
    with shared_results(tmp_path / "shared"):
        assert _read("data/a.csv") == _read(str(f)) == _read(f) == "abc"
        assert CALLS == ["data/a.csv"]  # called once, with the name as given
        f.write_text("abcd")
        assert _read(f) == "abcd" and len(CALLS) == 2
    # a plain @shared function still keys a name as spelt
    assert call_key(_count, ("data/a.csv",), {}) != call_key(_count, (str(f),), {})


def test_the_kernels_read_the_large_datasets_as_the_validation_parsed_them(tmp_path, monkeypatch):
    from analysis.book import params
    from analysis.book.inputs import validate_datasets
    from analysis.review.importers import read_cipriani_arms, read_metapsy_psyctr

    monkeypatch.chdir(ROOT)
    resolved = params.resolve(None)
    with shared_results(tmp_path / "shared") as folder:
        validate_datasets(resolved)  # the build validates inside the cache (analysis.book.pipeline)
        entries = sorted(p.name.split(".")[-3] for p in folder.glob("*.pickle"))
        assert entries == ["read_cipriani_arms", "read_metapsy_psyctr"]
        # a chapter names the file relative to the book; the validation named it by its full path
        arms = read_cipriani_arms(resolved["network"]["cipriani_arms"])
        rows = read_metapsy_psyctr(resolved["cbt-control"]["psyctr"])
        assert len(list(folder.glob("*.pickle"))) == 2  # read from the cache, not parsed again
    assert arms.equals(read_cipriani_arms(ROOT / resolved["network"]["cipriani_arms"]))
    assert rows.equals(read_metapsy_psyctr(ROOT / resolved["cbt-control"]["psyctr"]))
