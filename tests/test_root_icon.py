"""The site root, Jupyter Book's one-line redirect, declares the book's icon as every page does, so
a browser opening it asks for no /favicon.ico that does not exist."""

from analysis.book.render import root_icon

REDIRECT = '<meta http-equiv="Refresh" content="0; url=chapters/about.html" />\n'


def test_the_root_redirect_declares_the_icon_once(tmp_path):
    book, html = tmp_path / "book", tmp_path / "html"
    (book).mkdir()
    (html / "_static").mkdir(parents=True)
    (book / "_config.yml").write_text("html:\n  favicon: favicon.png\n")
    (html / "_static" / "favicon.png").write_bytes(b"png")
    (html / "index.html").write_text(REDIRECT)
    root_icon(html, book)
    root_icon(html, book)
    assert (html / "index.html").read_text() == '<link rel="icon" href="_static/favicon.png" />\n' + REDIRECT


def test_no_icon_is_declared_that_the_build_did_not_copy(tmp_path):
    book, html = tmp_path / "book", tmp_path / "html"
    book.mkdir()
    html.mkdir()
    (book / "_config.yml").write_text("html:\n  favicon: favicon.png\n")
    (html / "index.html").write_text(REDIRECT)
    root_icon(html, book)
    assert (html / "index.html").read_text() == REDIRECT
    (book / "_config.yml").write_text("title: x\n")
    root_icon(html, book)
    assert (html / "index.html").read_text() == REDIRECT
