"""Sphinx extension: what the reader needs beyond what Jupyter Book does by default.

- PDF: a figure whose image is a multi-page PDF (a long forest plot split into pages by
  :func:`analysis.figures.forest_plot`) gets one figure per page; the first keeps the caption and
  label, each other says "continued". Nothing is cut and nothing is shrunk below a page's size.
- HTML: the alt text of a figure ends with the finding the figure function wrote into its SVG
  (``figure.finding``), so that the alt text states the result, not only what kind of plot it is.
- PDF: every table breaks across pages (longtable), its columns as wide as their content asks.
- HTML: each table cell gets its column's header as ``data-label``; on a narrow screen
  ``_static/review.css`` shows each row as a block of "header: value" lines, so no column is off
  screen on a phone.
- HTML: the first use of each glossary term on a page links to its definition in the glossary.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.writers.latex import LaTeXTranslator

GLOSSARY_DOC = "chapters/glossary"


def pdf_pages(path: Path) -> int:
    """Number of pages of a PDF written by matplotlib (counts its page objects)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 1
    return max(1, len(re.findall(rb"/Type\s*/Page[^s]", data)))


class PagedPdfFigures(SphinxPostTransform):
    """LaTeX only: one figure per page of a multi-page PDF image."""

    default_priority = 5
    builders = ("latex",)

    def run(self, **kwargs):
        for figure in list(self.document.findall(nodes.figure)):
            images = list(figure.findall(nodes.image))
            if len(images) != 1 or not images[0]["uri"].endswith(".pdf"):
                continue
            image = images[0]
            path = Path(self.env.srcdir) / image["uri"]
            n = pdf_pages(path)
            if n < 2:
                continue
            image["pdf_page"] = 1
            after = figure
            for page in range(2, n + 1):
                copy = image.deepcopy()
                copy["pdf_page"] = page
                more = nodes.figure("", copy, classes=list(figure["classes"]))
                more["align"] = figure.get("align", "default")
                more += nodes.legend("", self.continued(figure, page, n))
                after.parent.insert(after.parent.index(after) + 1, more)
                after = more


    def continued(self, figure, page: int, n: int) -> nodes.paragraph:
        """"(Fig. 9.2 continued: part 2 of 10)": the figure's number by a numref to its label (resolved
        with the other references), or "the figure" when it has no label."""
        text = f" continued: part {page} of {n})"
        names = figure.get("names") or []
        if not names:
            return nodes.paragraph(text=f"(the figure{text}")
        ref = addnodes.pending_xref("", nodes.inline("", "Fig. {number}"), refdomain="std", reftype="numref",
                                    reftarget=names[0], refexplicit=True, refwarn=True, refdoc=self.env.docname)
        return nodes.paragraph("", "", nodes.Text("("), ref, nodes.Text(text))


class BreakableTableCells(SphinxPostTransform):
    """LaTeX only: a long unbroken string in a table cell (a file path, a SHA-256 hash) may break
    across lines, so that no table runs past the text block. The text itself is unchanged. It breaks
    where a reader expects it to (:meth:`pieces`): after a slash, an underscore, a full stop or a
    hyphen, and a long piece that is not a word (a hash) every ``CHUNK`` characters; a word of
    letters is left to LaTeX's hyphenation unless it is too long for any column. Inline code (a
    parameter name) is left whole: its column is made wide enough for it."""

    default_priority = 5
    builders = ("latex",)
    LONG = re.compile(r"\S{22,}")
    CHUNK = 12

    @classmethod
    def pieces(cls, word: str) -> list[str]:
        """``word`` in the pieces between which it may break: "data/trials/metapsy-psyctr" as
        "data/", "trials/", "metapsy-", "psyctr"; a piece longer than ``CHUNK`` + 3 characters that
        is not a word of letters, or a word longer than 21, in ``CHUNK``-character chunks."""
        out = []
        for piece in (p for p in re.split(r"(?<=[/_.-])", word) if p):
            letters = re.fullmatch(r"[^\W\d_]+[/_.-]?", piece)
            long = len(piece) > (21 if letters else cls.CHUNK + 3)  # a word LaTeX may hyphenate, or not
            out += re.findall(".{1,%d}" % cls.CHUNK, piece) if long else [piece]
        return out

    def run(self, **kwargs):
        for entry in list(self.document.findall(nodes.entry)):
            for text in list(entry.findall(nodes.Text)):
                value = str(text)
                if not self.LONG.search(value) or isinstance(text.parent, (nodes.literal_block, nodes.raw, nodes.literal)):
                    continue
                parts = []
                for piece in re.split(r"(\S{22,})", value):
                    if self.LONG.fullmatch(piece):
                        for i, chunk in enumerate(self.pieces(piece)):
                            if i:
                                parts.append(nodes.raw("", r"\allowbreak{}", format="latex"))
                            parts.append(nodes.Text(chunk))
                    elif piece:
                        parts.append(nodes.Text(piece))
                parent = text.parent
                index = parent.index(text)
                parent.remove(text)
                for offset, node in enumerate(parts):
                    parent.insert(index + offset, node)


class PageBreakingTables(SphinxPostTransform):
    """LaTeX only: every table may break across pages (``longtable``), so that a long table (the
    Summary of Findings' footnotes) continues on the next page instead of running past the text block
    and under the footer; and a table without ``tabularcolumns`` gets column widths in proportion to
    the mean length of its cells (at least its longest word, at most ``CAP`` characters), which is
    what ``tabulary`` did and ``longtable`` cannot. Each width also gets ``PAD`` characters for the
    column's two ``tabcolsep`` gaps, which Sphinx takes out of a given width: without them a narrow
    column (a percentage, a count) is left narrower than its one word and runs into the margin.
    Widths are proportions of the line, so when the columns ask for more than a line (``LINE``
    characters), each first gets its longest word and the rest of the line is shared
    (:meth:`column_widths`): a date or a commit hash is not squeezed below its length to make room
    for a column of long text."""

    default_priority = 5
    builders = ("latex",)
    CAP, FLOOR, PAD, LINE = 120, 4, 3, 75

    @classmethod
    def column_widths(cls, words, means) -> list[int]:
        """Column widths (tenths of a character) from each column's longest word and mean cell length:
        what each asks for when that fits the line; otherwise every column keeps its longest word
        (the longest ones cut to a common cap when together they would take more than three quarters
        of the line) and the rest of the line is shared in proportion to what each asks beyond it."""
        mins = [cls.PAD + w for w in words]
        wants = [cls.PAD + max(w, min(cls.CAP, m)) for w, m in zip(words, means)]
        if sum(wants) > cls.LINE:
            limit = 0.75 * cls.LINE if sum(b - a for a, b in zip(mins, wants)) > 0 else cls.LINE
            if sum(mins) > limit:
                low, high = 0.0, max(mins)
                for _ in range(60):  # the cap c with sum(min(m, c)) = limit
                    cap = (low + high) / 2
                    low, high = (cap, high) if sum(min(m, cap) for m in mins) < limit else (low, cap)
                mins = [min(m, high) for m in mins]
            extra = [max(0.0, b - a) for a, b in zip(mins, wants)]
            room = cls.LINE - sum(mins)
            wants = [a + e * room / sum(extra) for a, e in zip(mins, extra)] if sum(extra) > 0 and room > 0 else mins
        return [max(1, round(10 * w)) for w in wants]

    def run(self, **kwargs):
        for table in list(self.document.findall(nodes.table)):
            if "longtable" not in table["classes"]:
                table["classes"].append("longtable")
            groups = list(table.findall(nodes.tgroup))
            if len(groups) != 1:
                continue
            specs = [c for c in groups[0].children if isinstance(c, nodes.colspec)]
            lengths, words = [[] for _ in specs], [self.FLOOR] * len(specs)
            for row in groups[0].findall(nodes.row):
                for j, entry in enumerate(c for c in row.children if isinstance(c, nodes.entry)):
                    if j < len(specs):
                        text = entry.astext()
                        lengths[j].append(len(text))
                        words[j] = max(words[j], max((len(w) + 1 for w in text.split()), default=0))
            widths = self.column_widths(words, [sum(n) / max(len(n), 1) for n in lengths])
            for spec, width in zip(specs, widths):
                spec["colwidth"] = width
            if "colwidths-given" not in table["classes"]:
                table["classes"].append("colwidths-given")


def visit_image(self, node):
    """The LaTeX writer's image, with ``page=N`` for a page of a multi-page PDF."""
    start = len(self.body)
    LaTeXTranslator.visit_image(self, node)
    page = node.get("pdf_page")
    if page:
        # Sphinx's \sphinxincludegraphics drops every option (page= too) when it rescales an image,
        # so a page of a multi-page PDF is included with graphicx directly, fitted to the text block
        fitted = rf"\includegraphics[page={page},width=\linewidth,height=0.8\textheight,keepaspectratio]{{"
        for i in range(start, len(self.body)):
            self.body[i] = re.sub(r"\\sphinxincludegraphics(\[[^\]]*\])?\{", lambda m: fitted, self.body[i], count=1)


def depart_image(self, node):
    LaTeXTranslator.depart_image(self, node)


def findings_in_alt(app, doctree, docname):
    """HTML: append the finding stored in an SVG's description to the image's alt text."""
    if app.builder.format != "html":
        return
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not uri.endswith(".svg"):
            continue
        path = Path(app.srcdir) / uri
        try:
            svg = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = re.search(r"<dc:description>(.*?)</dc:description>", svg, re.S)
        if found:
            finding = html.unescape(found.group(1)).strip()
            alt = image.get("alt", "").strip()
            if finding and finding not in alt:
                image["alt"] = f"{alt.rstrip('.')}. {finding}" if alt else finding


SKIP = (nodes.reference, nodes.literal, nodes.literal_block, nodes.title, nodes.math, nodes.math_block, nodes.raw,
        nodes.term, addnodes.glossary, nodes.image, nodes.caption, nodes.table, addnodes.pending_xref)


def link_first_use(app, doctree, docname):
    """HTML: the first use of each glossary term in the text of a page links to its definition."""
    if app.builder.format != "html" or docname == GLOSSARY_DOC:
        return
    std = app.env.get_domain("std")
    terms = {}
    for (objtype, name), (doc, anchor) in std.objects.items():
        if objtype == "term" and doc == GLOSSARY_DOC:
            terms[name] = anchor
    if not terms:
        return
    done = set()
    patterns = {name: re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])") for name in terms}
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if parent is None or any(isinstance(a, SKIP) for a in _ancestors(text)):
            continue
        value = str(text)
        for name, pattern in patterns.items():
            if name.lower() in done:
                continue
            match = pattern.search(value)
            if not match:
                continue
            uri = app.builder.get_relative_uri(docname, GLOSSARY_DOC) + "#" + terms[name]
            before, word, after = value[: match.start()], value[match.start():match.end()], value[match.end():]
            ref = nodes.reference("", "", nodes.Text(word), refuri=uri, classes=["glossary-link"],
                                  reftitle=f"{name}: see the glossary")
            new = [nodes.Text(before), ref, nodes.Text(after)] if before else [ref, nodes.Text(after)]
            index = parent.index(text)
            parent.remove(text)
            for offset, node in enumerate(new):
                parent.insert(index + offset, node)
            done.add(name.lower())
            break


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


TABLE = re.compile(r"<table\b.*?</table>", re.S)


def label_cells(table_html: str) -> str:
    """Each ``<td>`` of a table gets its column's header text as ``data-label``."""
    head = re.search(r"<thead>(.*?)</thead>", table_html, re.S)
    if not head or "data-label=" in table_html:
        return table_html
    headers = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th\b[^>]*>(.*?)</th>", head.group(1), re.S)]
    if not headers:
        return table_html

    def row(match):
        cells = iter(headers)
        return re.sub(r"<td\b", lambda m: f'<td data-label="{html.escape(next(cells, ""), quote=True)}"', match.group(0))

    body = re.sub(r"<tr\b.*?</tr>", row, table_html[head.end():], flags=re.S)
    return table_html[: head.end()] + body


# Accessibility mends of the theme's markup (axe-core, serious or critical):
ACCESSIBILITY = [
    # the search field shows "Search Ctrl+K": its accessible name must contain its visible text
    (re.compile(r'(<button class="btn search-button-field search-button__button[^"]*"[^>]*?) aria-label="Search"'), r"\1"),
    # the colour-mode icons' titles are read as the button's visible text ("Light"), unlike its name
    (re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"'), r'\1 aria-hidden="true"'),
    # a role="list" (the bibliography) must hold list items
    (re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"'), r'\1 role="listitem"'),
]


def mend_pages(app, exception):
    """HTML: label every table cell with its header (reflow on phones) and mend the theme's markup."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = TABLE.sub(lambda m: label_cells(m.group(0)), text)
        for pattern, replacement in ACCESSIBILITY:
            new = pattern.sub(replacement, new)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app):
    app.add_post_transform(PagedPdfFigures)
    app.add_post_transform(BreakableTableCells)
    app.add_post_transform(PageBreakingTables)
    app.add_node(nodes.image, override=True, latex=(visit_image, depart_image))
    app.connect("doctree-resolved", findings_in_alt)
    app.connect("doctree-resolved", link_first_use)
    app.connect("build-finished", mend_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
