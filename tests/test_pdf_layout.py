"""The PDF layout check itself (tests/pdf_layout.py) on pages made up for it: a table running under
the footer is caught, a page whose words end above the footer passes."""

from pdf_layout import footer_line, off_the_block


def page(words, height=792.0):
    return {"height": height, "words": words}


def test_a_table_running_under_the_footer_is_caught():
    fine = page([(72, 100, 300, 112, "text"), (72, 700, 300, 712, "last"), (70, 740.4, 200, 753, "Section"),
                 (528, 740.4, 540, 753, "12")])
    runs_off = page([(72, 700, 300, 712, "row"), (528, 740.4, 540, 753, "13"), (163, 772.1, 300, 785, "footnote"),
                     (163, 790.0, 300, 803, "cut")])
    assert footer_line([fine, runs_off, fine]) == 740.4
    assert off_the_block([fine, fine]) == []
    bad = off_the_block([fine, runs_off, fine])
    assert [(n, w) for n, w, _ in bad] == [(2, "footnote"), (2, "cut")]


def test_table_columns_keep_their_longest_word_and_share_the_rest():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "_ext"))
    from reader import PageBreakingTables as P

    # a date and a hash keep their length; the long text takes what is left of the line
    date, commit, change = P.column_widths([11, 8, 12], [10, 7, 140])
    assert date == 10 * (11 + P.PAD) and commit == 10 * (8 + P.PAD) and change > date + commit
    # columns of single long words only (nothing to share, no division by zero) share the line evenly
    assert len(set(P.column_widths([40, 40, 40], [10, 10, 10]))) == 1
    # too many long words for one line: the longest are cut to a common cap, the short ones kept
    widths = P.column_widths([11, 8, 31, 15], [10, 7, 25, 100])
    assert widths[:2] == [140, 110] and sum(widths) == 10 * P.LINE
    # a narrow table keeps the widths it asks for
    assert P.column_widths([5, 5], [10, 20]) == [130, 230]


def test_a_long_cell_string_breaks_where_a_reader_expects():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "_ext"))
    from reader import BreakableTableCells as B

    # a path after its slashes, underscores, full stops and hyphens, not inside a name
    assert B.pieces("data/trials/metapsy-psyctr/search_flow_v22.json") == [
        "data/", "trials/", "metapsy-", "psyctr/", "search_", "flow_", "v22.", "json"]
    # a hyphenated word at its hyphens: "psychotherap" + "y" was a break no reader expects
    assert B.pieces("psychotherapy-versus-control") == ["psychotherapy-", "versus-", "control"]
    # a hash has no such places: every 12 characters, as before; so has a word too long for any column
    digest = "3f9a0c1b2d3e4f5a6b7c8d9e0f1a2b3c"
    assert B.pieces(digest) == ["3f9a0c1b2d3e", "4f5a6b7c8d9e", "0f1a2b3c"]
    assert B.pieces("x" * 30) == ["x" * 12, "x" * 12, "x" * 6]
    assert "".join(B.pieces("data/sources/005_moncrieff2023_abstract.txt")) == "data/sources/005_moncrieff2023_abstract.txt"
