"""Fuzzing the readers (issue 12): hypothesis mutates valid input files (bytes, cells, headers,
encodings); every reader either accepts the result or refuses it with a DataError whose every
problem names the file and a line or a column, never another exception."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.book import params as parameters
from analysis.review.errors import DataError
from analysis.review.grade import read_grade
from analysis.review.importers import read_turner
from analysis.review.prisma import read_search_flow
from analysis.review.characteristics import read_release_dictionary
from analysis.review.trials import load_trials

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_CELLS = ["inf", "-inf", "nan", "1e400", "1e-320", "1e-200", "-0", "", " ", "0", "-1", "1e308", "NaN", "x",
                 "\x00", "=1+1", "\"", "\"\"", "<script>", "9" * 400, "\u202e", "\ufeff", ";", "\t", "0x10", "1_000"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])

GEN_TABLE = "study,effect,se,rob\nA,0.1,0.2,low\nB,0.3,0.1,some\nC,-0.2,0.15,high\n"
SMD_TABLE = ("study,treat_mean,treat_sd,treat_n,ctrl_mean,ctrl_sd,ctrl_n\nA,10,2,20,12,2,20\n"
             "B,9,3,15,11,3,14\nC,8,2.5,30,10,2,31\n")
FILES = {
    "gen": (GEN_TABLE.encode(), lambda p: load_trials(p, "GEN")),
    "smd": (SMD_TABLE.encode(), lambda p: load_trials(p, "SMD")),
    "turner": ((ROOT / "data/trials/turner2008/trials.csv").read_bytes(), read_turner),
    "grade": ((ROOT / "data/grade.csv").read_bytes(), read_grade),
    "search_flow": ((ROOT / "data/trials/metapsy-psyctr/search_flow_v22.json").read_bytes(), read_search_flow),
    "psyctr_dictionary": ((ROOT / "data/trials/metapsy-psyctr/variable_description_v22.json").read_bytes(),
                          read_release_dictionary),
    "params": (b"ssri-placebo:\n  method: DL\n  forest_max_rows: 10\ncbt-control:\n  low_rob_items: 3\n",
               parameters.resolve),
}


def byte_mutation(raw: bytes):
    """Insert, delete or replace a run of bytes anywhere."""
    return st.tuples(st.integers(0, len(raw)), st.integers(0, 8), st.binary(max_size=12)).map(
        lambda t: raw[: t[0]] + t[2] + raw[t[0] + t[1]:])


def cell_mutation(raw: bytes):
    """Replace one cell of a CSV file (or one value of a JSON/YAML file) with a hostile value."""
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))

    def apply(t):
        r, c, value = t
        row = rows[r % len(rows)]
        new = [list(x) for x in rows]
        new[r % len(rows)][c % len(row)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(new)
        return out.getvalue().encode("utf-8")

    return st.tuples(st.integers(0, 10_000), st.integers(0, 50), st.sampled_from(HOSTILE_CELLS) | st.text(max_size=20)).map(apply)


def header_mutation(raw: bytes):
    """Duplicate, drop, rename or re-case a header field."""
    text = raw.decode("utf-8-sig")
    head, _, rest = text.partition("\n")
    fields = head.split(",")

    def apply(t):
        i, how = t
        f = list(fields)
        i %= len(f)
        if how == "duplicate":
            f[(i + 1) % len(f)] = f[i]
        elif how == "drop":
            del f[i]
        elif how == "upper":
            f[i] = f[i].upper()
        else:
            f[i] = f[i] + " "
        return (",".join(f) + "\n" + rest).encode("utf-8")

    return st.tuples(st.integers(0, 50), st.sampled_from(["duplicate", "drop", "upper", "space"])).map(apply)


def encoding_mutation(raw: bytes):
    text = raw.decode("utf-8-sig")
    return st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252", "utf-8-sig"]).map(
        lambda enc: (text + "é").encode(enc, errors="replace"))


def assert_accepted_or_located(reader, path: Path, raw: bytes) -> None:
    path.write_bytes(raw)
    try:
        reader(path)
    except DataError as err:
        assert err.problems
        for problem in err.problems:
            assert problem.file and (problem.line is not None or problem.column is not None), problem


@pytest.mark.parametrize("kind", ["bytes", "cells", "headers", "encodings"])
@pytest.mark.parametrize("name", list(FILES))
def test_mutated_input_is_accepted_or_refused_with_a_location(tmp_path, name, kind):
    raw, reader = FILES[name]
    if kind in ("cells", "headers") and name in ("search_flow", "psyctr_dictionary", "params"):
        kind = "bytes"  # not CSV: byte mutations instead
    strategy = {"bytes": byte_mutation, "cells": cell_mutation, "headers": header_mutation,
                "encodings": encoding_mutation}[kind](raw)
    suffix = {"search_flow": ".json", "psyctr_dictionary": ".json", "params": ".yml"}.get(name, ".csv")

    @SETTINGS
    @given(strategy)
    def fuzz(mutated):
        assert_accepted_or_located(reader, tmp_path / f"input{suffix}", mutated)

    fuzz()
