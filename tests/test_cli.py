"""The command line prints the fields the issue names, with metafor's numbers."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
BCG = Path(__file__).parent / "reference" / "datasets" / "bcg.csv"


def run(*args):
    out = subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, check=True)
    return out.stdout


def reference_fit(dataset, measure, method, hksj):
    case = next(c for c in REF["cases"] if c["dataset"] == dataset and c["measure"] == measure)
    return next(f for f in case["fits"] if f["method"] == method and f["hksj"] == hksj)


def test_pool_json_has_every_field_and_metafor_values():
    result = json.loads(run("pool", str(BCG), "--measure", "RR", "--method", "PM", "--hksj", "--json"))
    assert {"k", "estimate", "se", "ci_low", "ci_high", "p", "pi_low", "pi_high", "tau2", "i2", "h2", "q",
            "p_q"} <= set(result)
    expected = reference_fit("bcg", "RR", "PM", True)["pool"]
    for key in set(result) & set(expected):
        assert np.isclose(result[key], expected[key], rtol=0, atol=1e-6), key


def test_sensitivity_json_matches_metafor():
    result = json.loads(run("sensitivity", str(BCG), "--measure", "OR", "--method", "DL", "--json"))
    expected = reference_fit("bcg", "OR", "DL", False)
    loo = result["leave_one_out"]
    assert [set(r) for r in loo][0] == {"omitted", "estimate", "ci_low", "ci_high", "tau2"}
    assert np.allclose([r["estimate"] for r in loo], expected["leave_one_out"]["estimate"], atol=1e-6)
    assert np.allclose([r["tau2"] for r in loo], expected["leave_one_out"]["tau2"], atol=1e-6)
    case = next(c for c in REF["cases"] if c["dataset"] == "bcg" and c["measure"] == "OR")
    assert set(result["egger"]) == {"bias", "se", "t", "df", "p"}
    for key in ("bias", "se", "t", "df", "p"):
        assert np.isclose(result["egger"][key], case["egger"][key], atol=1e-6), key
    assert result["trimfill"]["k0"] == expected["trimfill"]["k0"]
    assert result["trimfill"]["side"] == expected["trimfill"]["side"]
    assert np.isclose(result["trimfill"]["estimate"], expected["trimfill"]["estimate"], atol=1e-6)


def test_table_output_is_readable():
    text = run("pool", str(BCG), "--measure", "RR")
    assert "estimate" in text and "ratio" in text


def test_cli_choices_match_the_package():
    from analysis import cli
    from analysis.meta.effect_sizes import MEASURES
    from analysis.meta.fit import METHODS

    assert cli.MEASURES is MEASURES and cli.METHODS is METHODS
