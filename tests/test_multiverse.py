"""The multiverse: the grid file checked with file and line, specifications in a fixed order, the
same rows and hash whatever the number of workers or the cluster, the book's own analyses as rows
of it, the store's reuse, and the words of the summary."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from analysis.meta import outliers, rma
from analysis.multiverse import specs as S
from analysis.multiverse import summary
from analysis.multiverse.data import aggregate, composites, load
from analysis.multiverse.grid import read_grid
from analysis.multiverse.models import outside
from analysis.multiverse.run import frame_hash, run
from analysis.review import comparisons
from analysis.review.errors import DataError
from analysis.review.psychotherapy import psychotherapy_control

GRID = ROOT / "params" / "multiverse.yml"
PSYCTR = "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
ARMS = "data/trials/cipriani2018/arms.csv"

SMALL = f"""
cbt:
  source: metapsy
  data: {{psyctr: {PSYCTR}}}
  claim: C03
  min_k: 5
  dimensions:
    control: {{all: {{}}, waitlist: {{conditions: [wl], equivalence: uncertain}}}}
    instrument: {{primary: {{use: primary}}, averaged: {{use: average, rho: 0.5}}}}
    outliers: {{kept: {{}}, removed: {{remove: true}}}}
    dependency: {{independent: {{model: independent}}, aggregated: {{model: aggregate}}, three-level: {{model: three-level}}}}
    estimator: {{DL: {{}}, REML: {{}}}}
    inference: {{z: {{test: z}}, HKSJ: {{test: hksj}}}}
    bias: {{none: {{method: none}}, PET-PEESE: {{method: pet-peese}}}}
  rules:
    - when: {{dependency: [three-level], estimator: [DL]}}
      skip: true
    - when: {{dependency: [three-level], bias: [PET-PEESE]}}
      skip: true
    - when: {{dependency: [three-level], inference: [HKSJ]}}
      set: {{inference: t}}
    - when: {{bias: [PET-PEESE]}}
      set: {{estimator: WLS, inference: t}}
ssri:
  source: griselda
  data: {{cipriani_arms: {ARMS}}}
  claim: C01
  min_k: 3
  dimensions:
    drug: {{SSRI class: {{}}, sertraline: {{drugs: [sertraline]}}}}
    measure: {{RR: {{measure: RR}}, OR: {{measure: OR}}}}
    estimator: {{REML: {{}}}}
    inference: {{z: {{test: z}}, HKSJ: {{test: hksj}}}}
"""


@pytest.fixture(scope="module")
def small_grid(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "small.yml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def embedded(small_grid):
    """The small grid on an embedded cluster of one and of two workers."""
    return {w: run(small_grid, root=ROOT, workers=w, min_batch=8, progress=False) for w in (1, 2)}


def write(tmp_path, text):
    path = tmp_path / "grid.yml"
    path.write_text(text)
    return path


# --- the grid file ---------------------------------------------------------------------------------

def test_bad_grid_names_the_file_and_the_line_of_each_problem(tmp_path):
    bad = SMALL.replace("control: {all: {}, waitlist: {conditions: [wl], equivalence: uncertain}}",
                        "contorl: {all: {}}").replace("equivalence: uncertain}}\n", "equivalence: maybe}}\n")
    bad = bad.replace("estimator: {DL: {}, REML: {}}", "estimator: {DL: {}, REML: {}, XX: {}}")
    bad = bad.replace("rho: 0.5}}", "rho: high}}")
    path = write(tmp_path, bad)
    with pytest.raises(DataError) as err:
        read_grid(path)
    lines = {p.line for p in err.value.problems}
    text = str(err.value)
    assert f"{path}, line 8: unknown dimension 'contorl'" in text
    assert "line 9" in text and "rho: 'high' is not a valid value" in text
    assert "line 12: estimator 'XX' is not one of" in text
    assert None not in lines


def test_bad_rules_data_paths_and_yaml_are_reported(tmp_path):
    path = write(tmp_path, SMALL.replace("when: {dependency: [three-level], estimator: [DL]}",
                                         "when: {dependency: [four-level], estimator: [DL]}")
                 .replace(PSYCTR, "data/none.csv"))
    with pytest.raises(DataError) as err:
        read_grid(path, root=ROOT)
    text = str(err.value)
    assert "line 4" in text and "data.psyctr: 'data/none.csv' does not exist" in text
    assert "line 16" in text and "rule: unknown option(s) ['four-level']" in text
    path = write(tmp_path, "cbt:\n  source: metapsy\n  dimensions: [unclosed\n")
    with pytest.raises(DataError, match=r"grid.yml, line \d+: not valid YAML"):
        read_grid(path)
    with pytest.raises(DataError, match="no grid named 'x'"):
        read_grid(GRID, only=["x"])


def test_the_project_grid_is_valid_and_large_enough():
    grids = read_grid(GRID, root=ROOT)
    cbt, ssri = S.expand(grids["cbt"]), S.expand(grids["ssri"])
    assert len(cbt) >= 10_000 and len(cbt) == 12_288
    assert len(ssri) == 616
    frame = cbt.frame()
    # the rules: no multilevel model by DL, FE or PM, no HKSJ with three levels, one row per mapping
    multilevel = frame["dependency"].isin(["three-level", "CHE-RVE"])
    assert set(frame.loc[multilevel, "estimator"]) == {"REML", "ML"}
    assert "HKSJ" not in set(frame.loc[frame["dependency"] == "three-level", "inference"])
    assert not frame.duplicated(subset=list(cbt.dims)).any()
    assert set(frame.loc[frame["bias"] == "PET-PEESE", "estimator"]) == {"WLS"}
    assert list(frame["spec_id"]) == list(range(len(frame)))
    assert S.expand(grids["cbt"]).labels == cbt.labels  # the order is fixed


# --- determinism and clusters ------------------------------------------------------------------------

def test_rows_and_hash_do_not_depend_on_the_number_of_workers(embedded):
    """One worker is this process, without a cluster; two are a LocalCluster's two processes."""
    one, two = embedded[1], embedded[2]
    assert (one.workers, two.workers) == (1, 2)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert one.hash == two.hash == frame_hash(two.frame)
    assert list(one.frame["grid"].unique()) == ["cbt", "ssri"]
    assert (one.frame.groupby("grid")["spec_id"].apply(lambda s: s.is_monotonic_increasing)).all()


def _dask(*args):
    exe = Path(sys.executable).parent / "dask"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "dask", *args]


def test_a_real_scheduler_with_two_worker_processes_gives_the_same_hash(small_grid, embedded, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen(_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                            "--scheduler-file", str(file)), env=env, cwd=tmp_path,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        procs.append(subprocess.Popen(_dask("worker", "--scheduler-file", str(file), "--nworkers", "2", "--nthreads",
                                            "1", "--host", "127.0.0.1", "--no-dashboard"), env=env, cwd=tmp_path,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        address = json.loads(file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        from distributed import Client

        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        result = run(small_grid, root=ROOT, scheduler=address, min_batch=8, progress=False)
        assert result.workers == 2
        assert result.hash == embedded[1].hash
        pd.testing.assert_frame_equal(result.frame, embedded[1].frame)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


# --- the book's analyses are rows of the multiverse ----------------------------------------------------

def _evaluate(grid, **choices):
    specs = S.expand(grid)
    frame = specs.frame()
    spec_id = int(summary.row_of(frame, **choices)["spec_id"])
    batch = [(specs.names[spec_id][: len(specs.data_dims)],
              [(spec_id, specs.names[spec_id][len(specs.data_dims):], specs.labels[spec_id][len(specs.data_dims):])])]
    base = load(grid, {k: ROOT / v for k, v in grid.data.items()})
    return S.evaluate_batch(grid, base, batch, specs.data_dims, specs.analysis_dims).iloc[0]


def test_the_main_cbt_analysis_is_a_row_of_the_multiverse():
    grid = read_grid(GRID, root=ROOT)["cbt"]
    row = _evaluate(grid, control="all", risk_of_bias="all", diagnosis="all", format="all", implausible="kept",
                    instrument="primary", outliers="kept", dependency="independent", estimator="REML",
                    inference="HKSJ", bias="none")
    model = psychotherapy_control(str(ROOT / PSYCTR), therapy="cbt", method="REML", hksj=True,
                                  low_rob_items=4).model
    assert row["status"] == "ok" and row["k"] == model.k
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "p"):
        assert abs(row[key] - model.to_dict()[key]) <= 1e-10, key


def test_the_main_ssri_analysis_is_a_row_of_the_multiverse():
    grid = read_grid(GRID, root=ROOT)["ssri"]
    row = _evaluate(grid, drug="SSRI class", publication="all", measure="RR", outliers="kept", estimator="REML",
                    inference="z", bias="none")
    model = comparisons.ssri_placebo(str(ROOT / ARMS), active_class="SSRI", method="REML", hksj=False).model
    assert row["k"] == model.k
    for key in ("estimate", "ci_low", "ci_high", "tau2"):
        assert abs(row[key] - model.to_dict()[key]) <= 1e-10, key


# --- pieces ---------------------------------------------------------------------------------------------

def test_outlier_rule_and_aggregation_match_the_engine():
    rng = np.random.default_rng(1)
    y, v = rng.normal(0.5, 0.5, 30), rng.uniform(0.01, 0.1, 30)
    for hksj in (False, True):
        res = rma(y, v, method="REML", hksj=hksj)
        assert (outside(y, v, res.ci_low[0], res.ci_high[0]) == outliers(res)).all()
    agg = aggregate([0.2, 0.4, 1.0], [0.04, 0.04, 0.09], ["a", "a", "b"], rho=0.5)
    # two equal-variance correlated effects: the mean, variance v(1 + rho)/2
    assert np.allclose(agg.yi, [0.3, 1.0]) and np.allclose(agg.vi, [0.03, 0.09]) and list(agg.cluster) == ["a", "b"]
    both = composites(np.array([0.2, 0.4, 1.0]), np.array([0.04, 0.04, 0.09]), ["c1", "c1", "c2"], ["a", "a", "b"], 0.5)
    assert np.allclose(both.yi, [0.3, 1.0]) and np.allclose(both.vi, [0.03, 0.09]) and list(both.cluster) == ["a", "b"]


def test_the_store_reuses_a_result_until_an_input_changes(small_grid, tmp_path):
    from analysis.multiverse.cli import run_cli
    from analysis.multiverse.store import cache_key

    grid = tmp_path / "g.yml"
    shutil.copy(small_grid, grid)
    out = tmp_path / "out"
    argv = ["--grid", str(grid), "--only", "ssri", "--out", str(out), "--workers", "1", "--json", "--no-progress"]
    assert run_cli(argv) == 0
    first = json.loads((out / "run.json").read_text())
    table = pd.read_parquet(out / "specifications.parquet")
    assert len(table) == first["n_specs"] == 8 and frame_hash(table) == first["hash"]
    assert {"drug", "measure", "estimator", "inference", "k", "estimate", "ci_low", "ci_high", "tau2", "p"} <= set(table)
    before = (out / "specifications.parquet").stat().st_mtime_ns
    assert run_cli(argv) == 0
    assert (out / "specifications.parquet").stat().st_mtime_ns == before  # reused, not recomputed
    key = cache_key(grid, only=["ssri"])
    grid.write_text(grid.read_text() + "\n# a comment changes the key\n")
    assert cache_key(grid, only=["ssri"]) != key


def test_shares_importance_and_words():
    frame = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"], "status": "ok",
                          "estimate": [0.2, 0.2, 0.9, 0.9], "ci_low": [-0.1, 0.1, 0.5, 0.6], "ci_high": [0.5, 0.3, 1.3, 1.2],
                          "equivalence": ["equivalent", "uncertain", "equivalent", "not equivalent"]})
    sh = summary.shares(frame, 0.79, 0.24)
    assert (sh["n"], sh["at_or_above_claim"], sh["significant"], sh["above_relevant"]) == (4, 50.0, 75.0, 50.0)
    assert summary.shares(summary.restrict(frame), 0.79, 0.24)["n"] == 2
    assert len(summary.restrict(frame, "uncertain")) == 3
    imp = summary.importance(frame, ["a", "b"]).set_index("dimension")
    assert np.isclose(imp.loc["a", "eta2"], 1.0) and np.isclose(imp.loc["b", "eta2"], 0.0)
    assert (imp.loc["a", "low"], imp.loc["a", "high"]) == ("x", "y")
    on = summary.scales((48, 30), 1.25)  # the MID, a risk ratio: its odds ratio at the claimed 30%
    assert np.isclose(np.exp(on["RR"][0]), 1.6) and np.isclose(np.exp(on["OR"][0]), (48 / 52) / (30 / 70))
    assert np.isclose(np.exp(on["RR"][1]), 1.25) and np.isclose(np.exp(on["OR"][1]), (37.5 / 62.5) / (30 / 70))

    assert [summary.describe_share(p) for p in (0, 3, 20, 50, 80, 99, 100)] == [
        "none", "almost none", "a minority", "about half", "most", "almost all", "all"]
    assert summary.claim_verdict(70, 90) == "supported by most specifications"
    assert summary.claim_verdict(50, 90) == "in the middle of the specifications"
    assert summary.claim_verdict(10, 60).startswith("larger than most specifications estimate, though")
    assert summary.claim_verdict(10, 20) == "larger than most specifications estimate"
    assert summary.percentile(frame, 0.5) == 50.0

def test_the_grids_use_the_review_s_one_minimal_important_difference():
    from analysis.review.grade_rules import MID

    grids = read_grid(ROOT / "params" / "multiverse.yml", root=ROOT)
    assert grids["cbt"].relevant == MID["SMD"] and grids["ssri"].relevant == MID["RR"]


def test_report_spreads_on_one_scale_and_tables_describe_the_grid():
    frame = pd.DataFrame({"measure": ["RR", "OR", "RR", "OR"], "drug": ["a", "a", "b", "b"], "status": "ok",
                          "spec_id": range(4), "estimate": np.log([1.2, 1.5, 1.4, 1.9]),
                          "ci_low": np.log([1.1, 1.2, 1.3, 1.5]), "ci_high": np.log([1.3, 1.8, 1.6, 2.3]),
                          "equivalence": "equivalent"})
    out = summary.report(frame, (48, 30), 0.24, {"drug": "a", "measure": "RR"}, fixed={"measure": "RR"})
    assert out["n"] == 4 and out["n_spread"] == 2
    assert np.isclose(np.exp(out["median"]), np.sqrt(1.2 * 1.4)) and np.isclose(np.exp(out["main"]), 1.2)
    assert out["main_percentile"] == 0.0 and out["at_or_above_claim"] == 0.0
    assert out["claim_in_ci"] == 50.0 and out["share_words"] == "none"
    assert out["verdict"] == "larger than most specifications estimate, though within most of their intervals"
    # the MID is a risk ratio: the share beyond it is over the risk-ratio specifications only
    mid = summary.report(frame, (48, 30), 1.25, {"drug": "a", "measure": "RR"}, fixed={"measure": "RR"})
    assert mid["above_relevant"] == 50.0 and mid["ci_above_relevant"] == 50.0
    assert summary.shares(frame, (48, 30), 1.25)["above_relevant"] == 75.0  # mixing the scales, as before
    grid = read_grid(GRID)["cbt"]
    table = summary.grid_table(grid).set_index("dimension")
    assert table.loc["estimator", "options"] == "FE (N), DL, REML, PM, ML"
    rules = summary.rules_table(grid)
    assert rules.iloc[0].tolist() == ["dependency three-level or CHE-RVE; estimator FE or DL or PM", "skipped"]


# --- a multiverse too large to run whole (issue 12, scale) -----------------------------------------------

def test_the_grid_main_is_the_cbt_chapters_primary_analysis():
    grid = read_grid(GRID, root=ROOT)["cbt"]
    choices = S.main_choices(grid)
    assert choices["dependency"] == "CHE-RVE" and choices["inference"] == "robust" and choices["implausible"] == "kept"
    row = _evaluate(grid, **choices)
    primary = psychotherapy_control(str(ROOT / PSYCTR)).extra["primary"]
    assert row["status"] == "ok" and row["k"] == primary["k"] == 270
    for key in ("estimate", "ci_low", "ci_high"):
        assert abs(row[key] - primary[key]) <= 1e-10, key


def test_a_sample_within_the_budget_keeps_the_main_analysis_and_says_so(small_grid, tmp_path):
    grid = read_grid(small_grid, root=ROOT)["cbt"]
    specs = S.expand(grid)
    main = {"control": "all", "instrument": "primary", "outliers": "kept", "dependency": "aggregated",
            "estimator": "REML", "inference": "HKSJ", "bias": "none"}
    a, b = specs.sample(10, 1, keep=main), specs.sample(10, 1, keep=main)
    assert a.ids == b.ids and len(a) == 10 and list(a.ids) == sorted(a.ids) and a.grid_size == len(specs)
    assert S.main_labels(grid, main) in a.labels
    assert specs.sample(10, 2, keep=main).ids != a.ids
    assert specs.sample(len(specs), 1) is specs
    frame = a.frame()
    assert list(frame["spec_id"]) == list(a.ids)
    assert [len(m) for _, m in S.batches(a, 4)] and sum(len(m) for b_ in S.batches(a, 4) for _, m in b_) == 10
    rows = load(grid, {k: ROOT / v for k, v in grid.data.items()})
    result = run(small_grid, root=ROOT, only=["cbt"], workers=1, min_batch=8, progress=False, budget=len(rows) * 5,
                 seed=3)
    assert result.sampled["cbt"] == {"total": len(specs), "run": 5, "rows": len(rows), "budget": len(rows) * 5,
                                     "seed": 3}
    assert len(result.frame) == 5 and result.frame["status"].eq("ok").all()
    whole = summary.describe_sample(None, 12)
    assert whole == "Every one of the 12 specifications was run."
    assert summary.describe_sample(None, 616, label="SSRI") == "Every one of the 616 SSRI specifications was run."
    words = summary.describe_sample(result.sampled["cbt"], 5)
    assert words.startswith(f"The {len(specs):,} specifications, each drawing on up to {len(rows):,} rows of data, "
                            f"would need {len(specs) * len(rows):,} specification-rows")
    assert "so 5 of them were run: a random sample (seed 3)" in words and "within ±43.8 percentage points" in words
    assert summary.describe_scope(None) == ""
    assert summary.describe_scope(result.sampled["cbt"]) == f" (a random sample of 5 of the {len(specs):,})"


def test_the_main_of_a_grid_names_options_of_its_dimensions(tmp_path):
    text = SMALL.split("ssri:")[0] + "  main: {control: all, instrument: nope, outliers: kept}\n"
    with pytest.raises(DataError) as err:
        read_grid(write(tmp_path, text), root=ROOT)
    message = str(err.value)
    assert "'nope' is not an option of instrument" in message and "no option for dimension 'dependency'" in message


def test_a_correlation_of_one_or_more_is_refused_with_its_line(tmp_path):
    text = SMALL.replace("aggregated: {{model: aggregate}}".replace("{{", "{").replace("}}", "}"),
                         "aggregated: {model: aggregate, rho: 1.0}")
    assert "rho: 1.0" in text
    with pytest.raises(DataError) as err:
        read_grid(write(tmp_path, text), root=ROOT)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "rho: 1.0" in l)
    assert f"line {line}" in str(err.value) or f":{line}" in str(err.value)
    assert "dependency.aggregated.rho: 1.0 is not a valid value (a correlation from 0 to below 1)" in str(err.value)


def test_the_text_says_where_the_specifications_were_fitted():
    assert summary.describe_workers(1) == "in one process"
    assert summary.describe_workers(2) == "on a Dask cluster of 2 worker processes"
    assert summary.describe_workers(1200) == "on a Dask cluster of 1,200 worker processes"


def test_the_grid_size_is_the_whole_grids_when_a_sample_ran():
    frame = pd.DataFrame({"grid": ["cbt"] * 3 + ["ssri"] * 2})
    assert summary.grid_size(frame, {}, "cbt") == 3
    assert summary.grid_size(frame, {"cbt": {"total": 12288}}, "cbt") == 12288
    assert summary.grid_size(frame, {"cbt": {"total": 12288}}, "ssri") == 2


def test_combinations_that_keep_the_same_rows_share_one_batch_and_their_fits():
    grid = read_grid(GRID, root=ROOT, only=["cbt"])["cbt"]
    specs = S.expand(grid)
    from analysis.multiverse.data import resolve

    base = load(grid, resolve(grid, None, ROOT))
    keys = S.row_keys(grid, base, specs)
    assert len(set(keys.values())) < len(keys)  # the grid has combinations that keep the same rows
    shared = S.batches(specs, 128, keys)
    ids = sorted(i for batch in shared for _, members in batch for i, _, _ in members)
    assert ids == list(specs.spec_ids)  # every specification once
    batch_of = {names: b for b, batch in enumerate(shared) for names, _ in batch}
    by_key = {}
    for names, key in keys.items():
        by_key.setdefault(key, set()).add(batch_of[names])
    assert all(len(b) == 1 for b in by_key.values())  # same rows, same batch
    # the rows of a batch of combinations that share rows are those each gives alone
    twins = next(k for k in by_key if sum(v == k for v in keys.values()) > 1)
    batch = next(shared[b] for b in by_key[twins])
    together = S.evaluate_batch(grid, base, batch, specs.data_dims, specs.analysis_dims)
    alone = pd.concat([S.evaluate_batch(grid, base, [group], specs.data_dims, specs.analysis_dims) for group in batch])
    pd.testing.assert_frame_equal(together.reset_index(drop=True), alone.reset_index(drop=True))
