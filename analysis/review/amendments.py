"""The protocol's version and amendment log, read from version control.

The protocol is defined by files under version control (:data:`PROTOCOL_FILES`): the parameters and
their defaults, the multiverse's grid, the GRADE rules and overrides, the verdict rule and the rules
that select or set aside data. Every commit that changed one of them is an amendment; the first is the
protocol's first version, the last its current version. The log is read with ``git log`` from the
checkout the book is built in, so it is the same in a fresh ``git clone``; outside a git checkout (a
tarball) or in a shallow clone it says what it cannot show instead of showing a part as the whole.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

PROTOCOL_FILES = ("params/defaults.yml", "params/multiverse.yml", "analysis/review/protocol.py",
                  "analysis/review/grade_rules.py", "data/grade.csv", "analysis/review/verdicts.py",
                  "analysis/review/implausible.py", "analysis/review/selections.py", "analysis/review/network_certainty.py",
                  "analysis/review/network_pair_certainty.py", "analysis/review/amendment_register.py",
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


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def amendment_log(root: str | Path, files=PROTOCOL_FILES) -> AmendmentLog:
    """Every commit that changed a protocol-defining file, oldest first, with the files it changed."""
    root = Path(root)
    empty = pd.DataFrame(columns=["date", "commit", "files", "change"])
    if _git(root, "rev-parse", "--is-inside-work-tree") is None:
        return AmendmentLog(empty, "no git", "This copy of the review is not a git checkout (an archive, for "
                            "example), so the amendment log, which is read from the version history, cannot be "
                            "shown here; the repository's history holds it.")
    text = _git(root, "log", "--reverse", "--date=short", f"--format={SEP}%ad{SEP}%h{SEP}%s", "--name-only",
                "--", *files) or ""
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
    shallow = (_git(root, "rev-parse", "--is-shallow-repository") or "").strip() == "true"
    if shallow:
        return AmendmentLog(log, "shallow", "This checkout is a shallow clone: only the most recent part of the "
                            "version history is present, so the log below may begin after the protocol's first version.")
    return AmendmentLog(log, "git", "")


def first_change(root: str | Path, path: str, text: str | None = None) -> dict | None:
    """The first commit that changed ``path`` or, with ``text``, that first put ``text`` into it
    (``git log -S``): its date, commit and subject; None outside git or when there is none."""
    search = ("-S", text) if text is not None else ()
    out = _git(Path(root), "log", "--reverse", "--date=short", f"--format=%ad{SEP}%h{SEP}%s", *search, "--", path)
    if not out:
        return None
    date, commit, subject = out.splitlines()[0].split(SEP, 2)
    return {"date": date, "commit": commit, "change": subject}
