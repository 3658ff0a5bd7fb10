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

import re
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

# What a methodologist need not read in a commit message: a span in backticks, an issue reference
# ("issue 23.5", "for issues 15/16", "#12"), a label ("wip:") and a word that names code (below).
_BACKTICKS = re.compile(r"`[^`]*`")
_ISSUE = re.compile(r"(?:\b(?:for|in|of|from|see|fix(?:es|ed)?|close[sd]?|refs?)\s+)?"
                    r"(?:\b[Ii]ssues?\s+\d+(?:[./]\d+)*(?:\s*\((?:items?|points?)\b[^()]*\))?|#\d+\b)")
_LABEL = re.compile(r"^\s*(?:wip|WIP|fixup!|squash!)\s*:?\s*")
_BRACKET = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]")
_FILE = re.compile(r"[\w.-]+\.(?:py|ipynb|ya?ml|csv|json|R|md|txt|toml|cfg|sh|tex|bib|sty)")
_DOTTED = re.compile(r"[A-Za-z_]\w+(?:\.[A-Za-z_]\w*)+")
#: The repository's folders: a word that starts with one and a slash is a path ("analysis/meta").
FOLDERS = ("analysis", "chapters", "params", "data", "tests", "scripts", "_ext", "_static", ".venv")
#: Words that name code or the way it is built rather than what changed for the review.
JARGON_WORDS = frozenset({"helper", "helpers", "refactor", "refactored", "wip"})
#: What the log shows for a message that names nothing but code.
CODE_ONLY = "(a change named in code only: git show gives it)"
_STOP = frozenset("a an the of to in on by for with and or as at from into via its their is are be".split())


def _is_path(word: str) -> bool:
    """A file or folder path: ``analysis/meta``, ``params/multiverse.yml``, ``/work/main``,
    ``.venv/bin/python``; not "Cochrane/GRADE", "file/line/column" or "15/16"."""
    return "/" in word and (word.startswith(("/", "./", "~/")) or word.endswith("/") or bool(_FILE.search(word))
                            or word.split("/")[0].lower() in FOLDERS)


def is_code(word: str) -> bool:
    """Whether a word of a commit message names code: an identifier with an underscore, a dotted
    module path (``analysis.escape``, not "e.g."), a file (``mlreg.py``) or a path
    (:func:`_is_path`), a keyword argument (``which=``, not "k = 10"), a command-line option
    (``--max-refits``), a call (``f()``), a backtick or a word of :data:`JARGON_WORDS` (numbered
    too: ``helper-26``)."""
    call = bool(re.search(r"\w\(\)", word))
    word = word.strip("'\"()[],;:!?").rstrip(".").strip("'\"()[]")
    return bool(word) and (call or "_" in word or "`" in word or word.startswith("--")
                           or bool(re.search(r"\w=", word)) or _is_path(word)
                           or bool(_DOTTED.fullmatch(word) or _FILE.fullmatch(word))
                           or re.sub(r"-\d+$", "", word.lower()) in JARGON_WORDS)


def _without_brackets_of_code(text: str) -> str:
    """``text`` without each bracket (innermost first) that holds code or an issue reference."""
    def drop(match):
        inner = match.group(1)
        return "" if _ISSUE.search(inner) or any(is_code(w) for w in inner.split()) else match.group(0)

    while True:
        shorter = _BRACKET.sub(drop, text)
        if shorter == text:
            return text
        text = shorter


def _tidy(text: str) -> str:
    """Spaces and punctuation left by what was taken out put right; a lower-case first word capitalised."""
    text = re.sub(r"\s*(?:\(\s*\)|\[\s*\])", "", text)
    text = re.sub(r"\s+([,;:!?)\]]|\.(?!\S))", r"\1", " ".join(text.split()))
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"^[\s,;:.-]+", "", text)
    return text[:1].upper() + text[1:] if re.match(r"[a-z][a-z-]*\b", text) else text


def _until_code(clause: str) -> tuple[str, bool]:
    """``clause`` up to its first word that names code (:func:`is_code`), without the short words
    that would dangle before it (and whether it was cut); a code word at the start is dropped."""
    words = clause.split(" ")
    for i, word in enumerate(words):
        if not is_code(word):
            continue
        if not " ".join(words[:i]).strip(" ,;:-"):
            return _until_code(_tidy(" ".join(words[i + 1:])))
        kept = words[:i]
        while kept and (kept[-1].lower().strip(",;:") in _STOP or not kept[-1].strip(",;:-")):
            kept.pop()
        return " ".join(kept).rstrip(" ,;:-("), True
    return clause, False


def _first_clause(subject: str) -> str:
    """``subject`` up to its first semicolon or sentence end (". " before a capital) outside brackets."""
    depth = 0
    for i, ch in enumerate(subject):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        sentence_end = ch == "." and subject[i + 1:i + 2] == " " and subject[i + 2:i + 3].isupper()
        if depth == 0 and (ch == ";" or sentence_end):
            return subject[:i]
    return subject


def plain_clause(subject: str) -> tuple[str, bool]:
    """The first clause of a commit message (:func:`_first_clause`) in a methodologist's words:
    without a label such as "wip:", issue references and brackets that name code, and cut before
    any other word that names code (:func:`is_code`; a span in backticks is one); Greek letters
    spelled out (:func:`analysis.escape.greek_spelled_out`). Also whether it was cut."""
    text = greek_spelled_out(" ".join(str(subject).split()))
    text = _LABEL.sub("", _BACKTICKS.sub("`code`", text))  # a span in backticks, one word that names code
    text = _tidy(_ISSUE.sub("", _without_brackets_of_code(text)))
    clause, cut = _until_code(_tidy(_first_clause(text)))
    return clause.rstrip(" .,:;"), cut


def commit_summary(subject: str, limit: int = SUMMARY_CHARS) -> str:
    """A commit message as the log shows it: its first clause in plain words (:func:`plain_clause`)
    and, when that is longer than ``limit`` characters, cut at the last whole word that fits, before
    any bracket left open; an ellipsis where it was cut. "Book pipeline: parameters, papermill
    execution, staged Jupyter Book build" stays whole; "CBT chapter (issue 15): dependency-aware
    primary analysis" loses its issue number, "One escaping module for every layer
    (analysis.escape)" its module."""
    clause, cut = plain_clause(subject)
    if not clause:
        return CODE_ONLY
    if len(clause) <= limit:
        return clause + ("…" if cut else "")
    cut_at = clause[:limit + 1].rsplit(" ", 1)[0] if " " in clause[:limit + 1] else clause[:limit]
    if cut_at.count("(") > cut_at.count(")"):
        cut_at = cut_at[:cut_at.rfind("(")]
    return cut_at.rstrip(" ,;:-(") + "…"


def log_table(log: AmendmentLog, limit: int = SUMMARY_CHARS, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """The amendment log as the protocol page shows it: each commit's date, short hash and
    :func:`commit_summary` of its message (the files it changed and its whole message are in the
    history: ``git show <commit>``), and, with the ``register`` of amendments
    (:func:`analysis.review.amendment_register.amendment_register`), the entries the register dates by
    that commit, first made or revised (``register entries it dates``); one row saying so when this copy has no history."""
    if log.log.empty:
        return pd.DataFrame([{"date": "", "commit": "", "change": "(no version history in this copy)"}])
    table = log.log.assign(change=[commit_summary(s, limit) for s in log.log["change"]])[["date", "commit", "change"]]
    if register is None:
        return table
    cited = register_commits(register)
    return table.assign(**{"register entries it dates": ["; ".join(cited.get(c, [])) for c in table["commit"]]})


def register_commits(register: pd.DataFrame) -> dict:
    """Commit -> the titles of the register's entries it dated or revised (the hashes in brackets
    of the ``dated`` column)."""
    cited: dict = {}
    for title, dated in zip(register["amendment"], register["dated"]):
        for commit in re.findall(r"\(([0-9a-f]{7,40})\)", str(dated)):
            cited.setdefault(commit, []).append(title)
    return cited


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
