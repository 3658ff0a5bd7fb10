"""The protocol's amendment log from version control (issue 23, item 3): a real log in a git
checkout, a sentence instead outside git."""

import re
import subprocess

import pandas as pd
import yaml

from analysis.review.amendments import SUMMARY_CHARS, amendment_log, commit_summary, describe_counts, first_change, log_table
from conftest import ROOT

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x",
       "GIT_AUTHOR_DATE": "2026-01-02T10:00:00", "GIT_COMMITTER_DATE": "2026-01-02T10:00:00", "PATH": "/usr/bin:/bin"}


def git(root, *args, date=None):
    env = dict(ENV)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def results_then_rules(root, rules: list[tuple[str, str]]):
    """A scratch repository: a chapter and rules.py committed as the first results (2026-01-02 10:00),
    then each ``(text of rules.py, date)`` committed in turn."""
    git(root, "init", "-q")
    (root / "chapter.ipynb").write_text("results\n")
    (root / "rules.py").write_text(rules[0][0])
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first results", date=rules[0][1])
    for i, (text, date) in enumerate(rules[1:]):
        (root / "rules.py").write_text(text)
        git(root, "commit", "-qam", f"rule change {i}", date=date)


def test_every_commit_to_a_protocol_file_is_an_amendment(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "defaults.yml").write_text("a: 1\n")
    (tmp_path / "notes.txt").write_text("x")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "first protocol", date="2026-01-02T10:00:00")
    (tmp_path / "notes.txt").write_text("y")
    git(tmp_path, "commit", "-qam", "not the protocol", date="2026-01-03T10:00:00")
    (tmp_path / "params" / "defaults.yml").write_text("a: 1\nimplausible_g: 3\n")
    git(tmp_path, "commit", "-qam", "add the |g| rule", date="2026-01-05T10:00:00")
    log = amendment_log(tmp_path)
    assert log.status == "git" and log.note == ""
    assert log.log[["date", "files", "change"]].values.tolist() == [
        ["2026-01-02", "params/defaults.yml", "first protocol"], ["2026-01-05", "params/defaults.yml", "add the |g| rule"]]
    assert (log.first, log.current) == ("2026-01-02", "2026-01-05")
    assert first_change(tmp_path, "params/defaults.yml", "implausible_g")["date"] == "2026-01-05"
    assert first_change(tmp_path, "params/defaults.yml")["change"] == "first protocol"
    assert first_change(tmp_path, "params/defaults.yml", "never there") is None


def test_outside_git_the_log_says_why_it_is_empty(tmp_path):
    log = amendment_log(tmp_path)
    assert log.status == "no git" and log.log.empty and log.first is None
    assert "not a git checkout" in log.note
    assert first_change(tmp_path, "params/defaults.yml") is None


def test_a_shallow_clone_says_the_log_may_be_partial(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q")
    (src / "params").mkdir()
    for i in range(3):
        (src / "params" / "defaults.yml").write_text(f"a: {i}\n")
        git(src, "add", "-A")
        git(src, "commit", "-qm", f"change {i}", date=f"2026-01-0{i + 1}T10:00:00")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{src}", "shallow")
    log = amendment_log(tmp_path / "shallow")
    assert log.status == "shallow" and "shallow clone" in log.note and len(log.log) == 1


def test_the_register_dates_each_amendment_against_the_first_results(tmp_path):
    from analysis.review.amendment_entries import Amendment
    from analysis.review.amendment_register import COLUMNS, amendment_register

    results_then_rules(tmp_path, [("first rule\n", "2026-01-02T10:00:00"),
                                  ("first rule\nSAME_DAY = 1\n", "2026-01-02T15:00:00"),  # hours after the results
                                  ("first rule\nSAME_DAY = 1\nNEW_RULE = 3\n", "2026-01-05T10:00:00")])
    early = Amendment("early", "c", "w", "r", "rules.py", "first rule", "chapter.ipynb")
    late = Amendment("late", "c", "w", "r", "rules.py", "NEW_RULE", "chapter.ipynb")
    never = Amendment("never", "c", "w", "r", "rules.py", "NOT_YET", "chapter.ipynb")
    same_day = Amendment("same day", "c", "w", "r", "rules.py", "SAME_DAY", "chapter.ipynb")
    table = amendment_register(tmp_path, (never, late, same_day, early))
    assert list(table.columns) == COLUMNS
    assert list(table["amendment"]) == ["early", "same day", "late", "never"]  # in the order they were made
    assert table["dated"][2].startswith("2026-01-05 (") and table["dated"][3] == "not in this copy's history"
    assert table["first results"][0].startswith("with the first results of chapter (2026-01-02, ")
    assert table["first results"][1].startswith("after the first results of chapter (2026-01-02, ")  # by the history
    assert table["first results"][2].startswith("after the first results of chapter (2026-01-02, ")
    assert table["first results"][3] == "cannot be dated in this copy"


def test_every_registered_amendment_names_a_file_that_exists():
    from analysis.review.amendment_entries import AMENDMENTS

    for a in AMENDMENTS:
        assert (ROOT / a.path).is_file() and a.marker in (ROOT / a.path).read_text(), a.title
        assert (ROOT / a.results).is_file(), a.title


def test_an_uncommitted_marker_is_dated_as_the_working_tree_and_revisions_are_dated(tmp_path):
    from analysis.review.amendment_entries import Amendment
    from analysis.review.amendment_register import UNCOMMITTED, amendment_register, dated_change

    results_then_rules(tmp_path, [("RULE = 1\n", "2026-01-02T10:00:00"), ("RULE = 1\nREVISED = 2\n", "2026-01-04T10:00:00")])
    (tmp_path / "rules.py").write_text("RULE = 1\nREVISED = 2\nPENDING = 3\n")  # not committed
    assert dated_change(tmp_path, "rules.py", "PENDING") == {"date": None, "commit": None, "change": UNCOMMITTED}
    assert dated_change(tmp_path, "rules.py", "NOWHERE") is None
    assert dated_change(tmp_path, "missing.py", "PENDING") is None
    pending = Amendment("pending", "c", "w", "r", "rules.py", "PENDING", "chapter.ipynb")
    revised = Amendment("revised", "c", "w", "r", "rules.py", "RULE", "chapter.ipynb",
                        (("rules.py", "REVISED"), ("rules.py", "PENDING")))
    table = amendment_register(tmp_path, (pending, revised))
    assert list(table["amendment"]) == ["revised", "pending"]  # the working tree after every commit
    assert re.fullmatch(r"2026-01-02 \(\w+\); revised 2026-01-04 \(\w+\); revised " + re.escape(UNCOMMITTED),
                        table["dated"][0])
    assert table["dated"][1] == UNCOMMITTED
    assert table["first results"][1].startswith("after the first results of chapter (2026-01-02, ")


def test_outside_git_a_marker_in_the_file_is_not_dated(tmp_path):
    from analysis.review.amendment_entries import Amendment
    from analysis.review.amendment_register import amendment_register, dated_change

    (tmp_path / "rules.py").write_text("PENDING = 3\n")
    assert dated_change(tmp_path, "rules.py", "PENDING") is None
    table = amendment_register(tmp_path, (Amendment("a", "c", "w", "r", "rules.py", "PENDING", "chapter.ipynb",
                                                    (("rules.py", "PENDING"),)),))
    assert table["dated"][0] == "not in this copy's history"
    assert table["first results"][0] == "cannot be dated in this copy"


def test_merges_are_not_counted_and_the_two_counts_are_named(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "defaults.yml").write_text("a: 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "first protocol", date="2026-01-02T10:00:00")
    git(tmp_path, "checkout", "-qb", "side")
    (tmp_path / "params" / "defaults.yml").write_text("a: 1\nb: 2\n")
    git(tmp_path, "commit", "-qam", "side change", date="2026-01-03T10:00:00")
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "params" / "multiverse.yml").write_text("grid: 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "main change", date="2026-01-04T10:00:00")
    git(tmp_path, "merge", "-q", "--no-ff", "-m", "merge side", "side", date="2026-01-05T10:00:00")
    log = amendment_log(tmp_path)
    assert list(log.log["change"]) == ["first protocol", "side change", "main change"]
    text = describe_counts(log, 1)
    assert text.startswith("Protocol version of 2026-01-04, first version 2026-01-02.")
    assert "lists the 3 commits that changed a file defining the protocol, whatever the change" in text
    assert "lists the 1 choice made after the first results were seen, which a reader must weigh" in text
    assert describe_counts(amendment_log(tmp_path / "nowhere"), 2).startswith(
        "The protocol's version and its dates cannot be read in this copy")


#: The commit each amendment is dated by in this repository's history (issue: the register's dates).
DATED = {"Outcome selection by the primary flag or the instrument priority": "61687cb",
         "Shared control arms split in multi-arm trials": "be4bfe1",
         "GRADE imprecision by the thresholds of importance": "37ecec0",
         "GRADE publication bias by the median bias-corrected estimate": "c791e69",
         "GRADE overrides revised": "c791e69",
         "Small-study tests for g and for dependent comparisons": "3eef531"}
REVISED = {"GRADE imprecision by the thresholds of importance": ["564c189"],
           "GRADE publication bias by the median bias-corrected estimate": ["1098736"],
           "Small-study tests for g and for dependent comparisons": ["f276c0d"]}


def test_the_registered_amendments_are_dated_by_the_commits_that_made_them():
    from analysis.review.amendment_entries import AMENDMENTS
    from analysis.review.amendment_register import dated_change

    by_title = {a.title: a for a in AMENDMENTS}
    if amendment_log(ROOT).status != "git":  # an export without history: every amendment is undated, never a guess
        assert all(dated_change(ROOT, a.path, a.marker) is None for a in AMENDMENTS)
        return
    for title, commit in DATED.items():
        a = by_title[title]
        assert dated_change(ROOT, a.path, a.marker)["commit"] == commit, title
        assert [dated_change(ROOT, p, m)["commit"] for p, m in a.revised] == REVISED.get(title, []), title
    pet_peese = by_title["PET-PEESE counted once in the bias-corrected summary"]
    assert dated_change(ROOT, pet_peese.path, pet_peese.marker) is not None  # committed or in the working tree


def test_the_register_names_parameters_in_words():
    from analysis.review.amendment_entries import AMENDMENTS

    defaults = yaml.safe_load((ROOT / "params" / "defaults.yml").read_text())
    codes = {name for values in defaults.values() for name in values if "_" in name} | {"rho", "hksj"}
    for a in AMENDMENTS:
        text = " ".join((a.title, a.changed, a.why, a.reported))
        assert not [c for c in codes if re.search(rf"\b{re.escape(c)}\b", text)], a.title


def test_a_commit_message_is_shown_by_its_first_clause_cut_at_a_word():
    # a clause that fits stays whole; the rest of the message (after ';') is left to the history
    assert commit_summary("Book pipeline: parameters, papermill execution, staged Jupyter Book build; SSRI "
                          "chapter; claims register") == "Book pipeline: parameters, papermill execution, staged Jupyter Book build"
    # a sentence ends the clause too, but an abbreviation's full stop does not
    assert commit_summary("Wire the CLI. Then the tests") == "Wire the CLI"
    assert commit_summary("Linde et al. 2015 trials read") == "Linde et al. 2015 trials read"
    # a semicolon inside brackets does not end the clause
    assert commit_summary("Flows (a; b) drawn; rest") == "Flows (a; b) drawn"
    long = ("Every chapter on the next release: the multiverse reads Metapsy through the importer (selected "
            "outcome, protocol's risk of bias, read options beside the data), an override file's 'all' section")
    assert commit_summary(long) == "Every chapter on the next release: the multiverse reads Metapsy through the…"
    assert len(commit_summary(long)) <= SUMMARY_CHARS + 1
    # a cut inside a bracket drops the open bracket, so none is left unclosed
    cut = commit_summary("New-user read: parameter defaults on the protocol page as the YAML spells them "
                         "(one formatter for both tables); more")
    assert cut == "New-user read: parameter defaults on the protocol page as the YAML spells them…"
    assert commit_summary("a" * 100, 10) == "A" + "a" * 9 + "…"  # a lower-case first word capitalised


#: Messages of this repository's history (abridged after the first clause), each as the log shows it:
#: no issue numbers, no names of modules, functions, parameters or files, no "helper", no "wip:".
REAL_MESSAGES = {
    "wip: review layer for issues 15/16: verdicts, absolute effects one way, GRADE rules and overrides, bias "
    "suite, dependency table; implausible-effect rule":
        "Review layer: verdicts, absolute effects one way, GRADE rules and overrides…",
    "CBT chapter (issue 15): dependency-aware primary analysis beside the naive one; bias suite":
        "CBT chapter: dependency-aware primary analysis beside the naive one",
    "Issue 23 (items 10, 15): study-characteristics tables for the SSRI trials; checklists point to them":
        "Study-characteristics tables for the SSRI trials",
    "Issue 23 re-read: bias-corrected summaries count PET-PEESE once (distinct_fitted); R0 stated":
        "Re-read: bias-corrected summaries count PET-PEESE once",
    "Amendment (issue 24): the network certainty's reporting-bias rule uses Peters' test (log OR on 1/n)":
        "Amendment: the network certainty's reporting-bias rule uses Peters' test…",
    "One escaping module for every layer (analysis.escape); forest pages split into small functions":
        "One escaping module for every layer",
    "New-user read: parameter defaults on the protocol page as the YAML spells them "
    "(review.protocol.yaml_value, one formatter for both tables); selection-model error lists counts":
        "New-user read: parameter defaults on the protocol page as the YAML spells them",
    "Review of the new CBT sections (methodologist helper): the bias-corrected range; the waitlist share":
        "Review of the new CBT sections: the bias-corrected range",
    "Review: cumulative summaries computed in analysis/, not notebooks; one 'largest n' helper for the plots":
        "Review: cumulative summaries computed…",
    "Scale: leave-one-out, influence and cumulative limited to max_refits by a closed-form deletion screen":
        "Scale: leave-one-out, influence and cumulative limited…",
    "Re-read fixes: the SSRI dropout statement computed (describe_dropout_reporting), SSRI median stated":
        "Re-read fixes: the SSRI dropout statement computed, SSRI median stated",
    "Small-study tests: the multilevel Egger test (CHE + CR2, new analysis/meta/mlreg.py) against "
    "metafor/clubSandwich fixtures; Turner":
        "Small-study tests: the multilevel Egger test against metafor/clubSandwich…",
    "Release variants made by scripts/release_variants.py for the tests: each optional column dropped":
        "Release variants made…",
    "Protocol: `implausible_g` named in the amendment (fixes #12)": "Protocol…",
    "`commit_summary` strips code from the log, see #31": "Strips code from the log",
    "Bias: benchmark of the 3PSM at k = 1,000 beside metafor; selmodel accepts any method":
        "Bias: benchmark of the 3PSM at k = 1,000 beside metafor",
}


def test_a_commit_message_is_shown_in_a_methodologists_words():
    for message, shown in REAL_MESSAGES.items():
        assert commit_summary(message) == shown, message
        assert commit_summary(message) == commit_summary(message)  # a function of the message alone


def test_a_message_of_code_alone_is_shown_as_such():
    from analysis.review.amendments import CODE_ONLY

    assert commit_summary("`commit_summary`") == commit_summary("analysis/review/protocol.py (issue 9)") == CODE_ONLY
    assert commit_summary("wip: (issue 3)") == CODE_ONLY


def test_what_names_code_in_a_commit_message():
    from analysis.review.amendments import is_code

    code = ["analysis.escape", "grade_rules.MID", "(review.protocol.change_cell),", "analysis/", "analysis/meta",
            "params/multiverse.yml", "mlreg.py", ".venv/bin/python", "/work/main", "which=", "workers=1",
            "--max-refits", "f()", "`x`", "helper", "helper-26", "(helper-26):", "SOURCE.txt;"]
    prose = ["e.g.", "i.e.", "et al.", "Cochrane/GRADE", "file/line/column", "15/16", "73/50", "v22.0.2", "=",
             "tau²", "PET-PEESE", "metafor's", "clubSandwich", "1,000", "(Metapsy)"]
    assert [w for w in code if not is_code(w)] == [] and [w for w in prose if is_code(w)] == []
    assert commit_summary("Second reading (helper-28): the gaps are differences") == (
        "Second reading: the gaps are differences")


def test_the_log_table_shows_date_hash_and_summary(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "defaults.yml").write_text("a: 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "Parameters: the first ones; and a long tail of details", date="2026-01-02T10:00:00")
    table = log_table(amendment_log(tmp_path))
    assert list(table.columns) == ["date", "commit", "change"]
    assert table[["date", "change"]].values.tolist() == [["2026-01-02", "Parameters: the first ones"]]
    assert re.fullmatch(r"[0-9a-f]{7,}", table["commit"].iloc[0])
    assert log_table(amendment_log(tmp_path / "nowhere"))["change"].tolist() == ["(no version history in this copy)"]


def test_a_greek_letter_in_a_commit_message_is_spelled_out_for_pdflatex():
    from analysis.review.amendments import commit_summary

    assert commit_summary("CBT sentence: tau² as the book writes it (pdflatex has no τ)") == (
        "CBT sentence: tau² as the book writes it (pdflatex has no tau)")


def test_the_log_names_the_register_entries_each_commit_made():
    from analysis.review.amendments import AmendmentLog, log_table, register_commits

    log = AmendmentLog(pd.DataFrame({"date": ["2026-01-01", "2026-01-02"], "commit": ["abc1234", "def5678"],
                                     "files": ["a", "b"], "change": ["Protocol: first", "Rule: changed"]}), "git", "")
    register = pd.DataFrame({"amendment": ["Rule A", "Rule B"],
                             "dated": ["2026-01-02 (def5678); revised 2026-01-03 (0a1b2c3)", "2026-01-02 (def5678)"]})
    assert register_commits(register) == {"def5678": ["Rule A", "Rule B"], "0a1b2c3": ["Rule A"]}
    table = log_table(log, register=register)
    assert table["register entries it dates"].tolist() == ["", "Rule A; Rule B"]
    assert list(log_table(log).columns) == ["date", "commit", "change"]
