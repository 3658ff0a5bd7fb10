"""The protocol's version and amendment log, read from version control.

The protocol is defined by files under version control (:data:`PROTOCOL_FILES`): the parameters and
their defaults, the multiverse's grid, the GRADE rules and overrides, the verdict rule and the rules
that select or set aside data. Every commit that changed one of them is in the log, however small the
change (merges, which only join branches whose commits are listed, are not); the first is the
protocol's first version, the last its current version. The choices made after the first results,
which a reader must weigh (in these files or in others), are the register of
:mod:`analysis.review.amendment_register`. The log is read with ``git log`` from the
checkout the book is built in, so it is the same in a fresh ``git clone``; outside a git checkout (a
tarball) or in a shallow clone it says what it cannot show instead of showing a part as the whole.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.escape import greek_spelled_out

PROTOCOL_FILES = ("params/defaults.yml", "params/multiverse.yml", "analysis/review/protocol.py",
                  "analysis/review/grade_rules.py", "data/grade.csv", "analysis/review/verdicts.py",
                  "analysis/review/implausible.py", "analysis/review/selections.py", "analysis/review/network_certainty.py",
                  "analysis/review/network_pair_certainty.py", "analysis/review/amendment_register.py",
                  "analysis/review/amendment_entries.py",
                  "chapters/protocol.ipynb")
SEP = "\x1f"


@dataclass(frozen=True)
class AmendmentLog:
    """``log`` (date, commit, files, change: one row per commit, oldest first), ``status`` (``"git"``,
    ``"shallow"`` or ``"no git"``) and ``note`` (a sentence for the reader when the log is incomplete)."""

    log: pd.DataFrame = field(repr=False)
    status: str
    note: str

    @property
    def first(self) -> str | None:
        return None if self.log.empty else self.log["date"].iloc[0]

    @property
    def current(self) -> str | None:
        return None if self.log.empty else self.log["date"].iloc[-1]


def run_git(root: Path, *args: str) -> str | None:
    """The output of ``git *args`` run in ``root``; None when git is missing or the command fails."""
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def amendment_log(root: str | Path, files=PROTOCOL_FILES) -> AmendmentLog:
    """Every commit that changed a protocol-defining file, oldest first, with the files it changed
    (merges left out: the commits they join are listed)."""
    root = Path(root)
    empty = pd.DataFrame(columns=["date", "commit", "files", "change"])
    if run_git(root, "rev-parse", "--is-inside-work-tree") is None:
        return AmendmentLog(empty, "no git", "This copy of the review is not a git checkout (an archive, for "
                            "example), so the amendment log, which is read from the version history, cannot be "
                            "shown here; the repository's history holds it.")
    text = run_git(root, "log", "--reverse", "--no-merges", "--date=short", f"--format={SEP}%ad{SEP}%h{SEP}%s",
                "--name-only", "--", *files) or ""
    rows = []
    for line in text.splitlines():
        if line.startswith(SEP):
            date, commit, subject = line[1:].split(SEP, 2)
            rows.append({"date": date, "commit": commit, "files": [], "change": subject.strip()})
        elif line.strip() and rows:
            rows[-1]["files"].append(line.strip())
    for row in rows:
        row["files"] = ", ".join(row["files"])
    log = pd.DataFrame(rows, columns=empty.columns)
    shallow = (run_git(root, "rev-parse", "--is-shallow-repository") or "").strip() == "true"
    if shallow:
        return AmendmentLog(log, "shallow", "This checkout is a shallow clone: only the most recent part of the "
                            "version history is present, so the log below may begin after the protocol's first version.")
    return AmendmentLog(log, "git", "")


#: How many characters of a commit's message the log shows (its first clause, cut at a word).
SUMMARY_CHARS = 80


def _first_clause(subject: str) -> str:
    """``subject`` up to its first semicolon or sentence end (". " before a capital) outside brackets."""
    depth = 0
    for i, ch in enumerate(subject):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        sentence_end = ch == "." and subject[i + 1:i + 2] == " " and subject[i + 2:i + 3].isupper()
        if depth == 0 and (ch == ";" or sentence_end):
            return subject[:i]
    return subject


def commit_summary(subject: str, limit: int = SUMMARY_CHARS) -> str:
    """A commit message as the log shows it: its first clause (:func:`_first_clause`), and, when
    that is longer than ``limit`` characters, cut at the last whole word that fits, before any
    bracket left open, with an ellipsis: "Book pipeline: parameters, papermill execution, staged
    Jupyter Book build" stays whole; a longer clause ends "...GRADE rules and overrides…"."""
    clause = greek_spelled_out(_first_clause(" ".join(str(subject).split()))).rstrip(" .,:")
    if len(clause) <= limit:
        return clause
    cut = clause[:limit + 1].rsplit(" ", 1)[0] if " " in clause[:limit + 1] else clause[:limit]
    if cut.count("(") > cut.count(")"):
        cut = cut[:cut.rfind("(")]
    return cut.rstrip(" ,;:-(") + "…"


def log_table(log: AmendmentLog, limit: int = SUMMARY_CHARS) -> pd.DataFrame:
    """The amendment log as the protocol page shows it: each commit's date, short hash and
    :func:`commit_summary` of its message (the files it changed and its whole message are in the
    history: ``git show <commit>``); one row saying so when this copy has no history."""
    if log.log.empty:
        return pd.DataFrame([{"date": "", "commit": "", "change": "(no version history in this copy)"}])
    return log.log.assign(change=[commit_summary(s, limit) for s in log.log["change"]])[["date", "commit", "change"]]


def first_change(root: str | Path, path: str, text: str | None = None) -> dict | None:
    """The first commit that changed ``path`` or, with ``text``, that first put ``text`` into it
    (``git log -S``): its date, commit and subject; None outside git or when there is none."""
    search = ("-S", text) if text is not None else ()
    out = run_git(Path(root), "log", "--reverse", "--date=short", f"--format=%ad{SEP}%h{SEP}%s", *search, "--", path)
    if not out:
        return None
    date, commit, subject = out.splitlines()[0].split(SEP, 2)
    return {"date": date, "commit": commit, "change": subject}


def _counted(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def describe_counts(log: AmendmentLog, n_register: int) -> str:
    """The protocol's version and what its two counts are, in words: the commits of ``log`` (every
    one that changed a protocol file, whatever it changed) and the ``n_register`` choices of the
    register made after the first results, which a reader must weigh."""
    choices = _counted(n_register, "choice", "choices")
    register = (f"the register of amendments lists the {choices} made after the first results were seen, "
                f"which a reader must weigh")
    if log.first is None:
        return (f"The protocol's version and its dates cannot be read in this copy (it has no version "
                f"history); {register}, undated.")
    commits = _counted(len(log.log), "commit", "commits")
    span = (f"Protocol version of {log.current}, first version {log.first}." if log.first != log.current
            else f"Protocol version of {log.current}.")
    partial = " (of the history this copy holds)" if log.status == "shallow" else ""
    return (f"{span} Two counts on this page mean different things: the log at its end lists the {commits}"
            f"{partial} that changed a file defining the protocol, whatever the change; {register}.")
