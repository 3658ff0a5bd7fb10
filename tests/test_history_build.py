"""The book built from a copy with git history, as a clone is (the session's book: ``built_book``
in conftest.py, one commit and one tag whose messages hold characters pdflatex cannot set and
markup HTML must not run): the protocol's commit log, the register's dates and the version-history
page come from that history, inert."""

import subprocess
from html import escape

from analysis.review.amendments import commit_summary
from conftest import HOSTILE_COMMIT


def test_the_commit_log_and_the_tags_reach_the_html_as_text(built_book):
    html = built_book / "_build" / "html" / "chapters"
    protocol, history = ((html / f"{page}.html").read_text() for page in ("protocol", "version-history"))
    # the log's plain first clause (amendments.commit_summary), Greek spelled out, & escaped
    assert f"{escape(commit_summary(HOSTILE_COMMIT))}" in protocol and "Protocol: tau² &amp; 50%" in protocol
    assert "2026-01-02 (" in protocol                                   # the register dated from the history
    assert "v1-tau" in history and "release tau" in history
    # the version history gives each commit as the protocol's log does, not the developer's message whole
    assert f"<p>{escape(commit_summary(HOSTILE_COMMIT))}</p>" in history and "alert(1)" not in history
    for page in (protocol, history):
        assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in history and "✓ 漢字 🙂" in history  # a tag's note whole: HTML keeps every character
    assert "τ" in HOSTILE_COMMIT and "τ" not in history


def test_the_pdf_sets_the_history_and_marks_what_it_has_no_glyph_for(built_book):
    text = subprocess.run(["pdftotext", "-layout", str(built_book / "_build" / "pdf" / "book.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Protocol: tau2 & 50%" in text                      # the log's plain first clause
    assert "release tau & 50% _under_ #1 $x$ ^ ~" in text      # a tag's note whole, LaTeX's specials as text
    assert "v1-tau" in text and "漢" not in text
    assert "✓ ?? ? <b>bold</b>" in " ".join(text.split())  # no glyph: "?", the build goes on


def test_the_version_history_leaves_out_commits_that_change_only_the_tests():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "_ext"))
    from version_history import review_changes

    log = ("\x1e2026-12-08\ta1\tFigures: forest studies as one collection (forest_table.py)\n\n"
           "analysis/figures/forest_table.py\ntests/test_figures_data.py\n"
           "\x1e2026-12-07\tb2\tHistory test: the tag's note\n\ntests/test_history_build.py\ntests/conftest.py\n"
           "\x1e2026-12-06\tc3\tREADME: two commands\n\nREADME.md\n")
    rows = review_changes(log, 10)
    assert rows == [("2026-12-08", "a1", commit_summary("Figures: forest studies as one collection (forest_table.py)")),
                    ("2026-12-06", "c3", "README: two commands")]
    assert review_changes(log, 1) == rows[:1]
