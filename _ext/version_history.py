"""Sphinx extension: the ``version-history`` directive, a table of the book's versions read from git
when the book is built (tags first, then the latest commits), and the
commit this build was made from. Merges and commits that change only the tests are left out. Each change is the first clause of its commit message in plain words
(:func:`analysis.review.amendments.commit_summary`). Outside a git checkout it says so instead of inventing a history."""

from __future__ import annotations

import subprocess

from docutils import nodes
from docutils.parsers.rst import Directive, directives

from analysis.escape import greek_spelled_out
from analysis.review.amendments import commit_summary


def git(srcdir: str, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", srcdir, *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def table(headers, rows) -> nodes.table:
    tbl = nodes.table(classes=["version-history"])
    group = nodes.tgroup(cols=len(headers))
    tbl += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for h in headers:
        row += nodes.entry("", nodes.paragraph(text=h))
    head += row
    body = nodes.tbody()
    group += body
    for values in rows:
        row = nodes.row()
        for v in values:
            row += nodes.entry("", nodes.paragraph(text=v))
        body += row
    return tbl


def review_changes(log: str, limit: int) -> list[tuple[str, str, str]]:
    """(date, commit, plain first clause) of the latest ``limit`` commits of ``git log --name-only``
    output (records separated by ``\\x1e``) that change more than the tests."""
    rows = []
    for record in log.split("\x1e"):
        lines = [line for line in record.splitlines() if line.strip()]
        if not lines:
            continue
        date, commit, message = (lines[0].split("\t", 2) + ["", ""])[:3]
        files = lines[1:]
        if files and all(f.startswith("tests/") for f in files):
            continue
        rows.append((date, commit, commit_summary(message)))
    return rows[:limit]


class VersionHistory(Directive):
    option_spec = {"commits": directives.positive_int}

    def run(self):
        srcdir = self.state.document.settings.env.srcdir
        limit = self.options.get("commits", 25)
        head = git(srcdir, "log", "-1", "--format=%h%x09%cs")
        if head is None:
            return [nodes.paragraph(text="This copy of the book was built outside a git checkout, so its version "
                                         "history is not available here; see the repository's commit log."),
                    nodes.paragraph(text="In a checkout, this page lists the commit the book was built from, the "
                                         "released versions (git tags) with their dates, and the latest changes to "
                                         "the review, newest first. The What changed page lists, for every build, "
                                         "the datasets, studies and values in the text that changed since the last "
                                         "good build, and the conclusions that flipped.")]
        commit, date = head.strip().split("\t")
        dirty = bool((git(srcdir, "status", "--porcelain", "--untracked-files=no") or "").strip())
        out = [nodes.paragraph(text=f"This build was made from commit {commit} of {date}"
                                    + (", with uncommitted changes." if dirty else "."))]
        tags = [line.split("\t") for line in greek_spelled_out(git(srcdir, "tag", "--list", "--sort=-creatordate",
                                                  "--format=%(refname:short)%09%(creatordate:short)%09%(subject)") or "").splitlines() if line]
        if tags:
            out.append(nodes.paragraph(text="Released versions (git tags):"))
            out.append(table(["version", "date", "note"], tags))
        else:
            out.append(nodes.paragraph(text="No version has been tagged yet."))
        rows = review_changes(git(srcdir, "log", "--no-merges", f"-{4 * limit}", "--name-only",
                                  "--format=%x1e%cs%x09%h%x09%s") or "", limit)
        out.append(nodes.paragraph(text=f"The latest {len(rows)} changes to the review (newest first; merges and "
                                        "commits that change only the tests left out), each by the first clause of "
                                        "its message in plain words, as the protocol's commit log gives it:"))
        out.append(table(["date", "commit", "change"], rows))
        return out


def setup(app):
    app.add_directive("version-history", VersionHistory)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
