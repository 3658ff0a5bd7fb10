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
