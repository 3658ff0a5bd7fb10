"""Importers follow each source's standard: required columns are required, optional ones are not."""

import csv

import numpy as np
import pytest

from analysis.meta.effect_sizes import effect_sizes
from analysis.review.importers import (
    metapsy_comparisons,
    read_metapsy_psyctr,
    read_turner,
    turner_trials,
)
from analysis.book.params import ROOT
from analysis.meta.fit import rma
from analysis.review.trials import DataError

PSYCTR = ROOT / "data" / "trials" / "metapsy-psyctr" / "data_v22.0.2_raw.csv"


def rewrite(src, dest, delimiter, drop=(), add=None):
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    keep = [i for i, c in enumerate(rows[0]) if c not in drop]
    rows = [[r[i] for i in keep] for r in rows]
    if add:
        rows = [rows[0] + [add]] + [r + ["x"] for r in rows[1:]]
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)


def test_metapsy_own_format_and_standard_csv_give_the_same_comparisons(tmp_path):
    native = metapsy_comparisons(read_metapsy_psyctr(PSYCTR))
    standard = tmp_path / "standard.csv"
    with open(PSYCTR, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    from analysis.review.importers.metapsy import PSYCTR_NUMERIC

    g = [rows[0].index(c) for c in PSYCTR_NUMERIC if c in rows[0]]
    with open(standard, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for i, r in enumerate(rows):
            w.writerow([c.replace(",", ".") if i and j in g else c for j, c in enumerate(r)])
    other = metapsy_comparisons(read_metapsy_psyctr(standard))
    assert len(native) == len(other) == 270
    assert np.allclose(native["effect"], other["effect"]) and np.allclose(native["se"], other["se"])


def test_a_release_that_adds_and_drops_optional_columns_still_reads(tmp_path):
    newer = tmp_path / "newer.csv"
    rewrite(PSYCTR, newer, ";", drop=("abstract", "full_ref", "country", "rob"), add="new_column")
    trials = metapsy_comparisons(read_metapsy_psyctr(newer))
    assert len(trials) == 270 and set(trials["rob"]) == {""}
    yi, vi = effect_sizes(trials, "GEN")
    assert rma(yi, vi, method="REML", hksj=True).k == 270


def test_a_release_without_a_required_column_names_file_and_column(tmp_path):
    broken = tmp_path / "broken.csv"
    rewrite(PSYCTR, broken, ";", drop=(".g_se",))
    with pytest.raises(DataError) as err:
        read_metapsy_psyctr(broken)
    assert f"{broken}, line 1, column '.g_se': required column is missing" in str(err.value)


def test_turner_fda_and_journal_effects_reproduce_turner_2008():
    rows = read_turner(ROOT / "data" / "trials" / "turner2008" / "trials.csv")
    fda, journal = turner_trials(rows, "fda"), turner_trials(rows, "journal")
    assert (len(fda), len(journal)) == (73, 50)
    # Turner et al. 2008: effect size 0.31 from FDA data, 0.41 from journal articles (fixed effect)
    assert round(rma(*effect_sizes(fda, "GEN"), method="FE").estimate, 2) == 0.31
    assert round(rma(*effect_sizes(journal, "GEN"), method="FE").estimate, 2) == 0.41
