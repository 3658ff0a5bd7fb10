"""The reader's book: every page opened in headless Chromium with the network cut off (no
console errors, no broken links, every image loaded, formulas typeset by the local MathJax,
screenshots kept), the same pages opened from disk, and the PDF rendered to PNG pages and checked."""

import functools
import http.server
import os
import re
import subprocess
import threading
from urllib.parse import urljoin, urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def built(built_book):
    """The session's book (HTML and PDF), built once by ``python -m analysis build --pdf``."""
    return built_book / "_build"


@pytest.fixture(scope="module")
def server(built):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built / "html"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), "Debian's chromium and chromium-driver are needed"
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,2000",
                 # offline: every host but the local server fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


def pages(built):
    return sorted(str(p.relative_to(built / "html")) for p in (built / "html").rglob("*.html") if "_static" not in p.parts)


def test_every_page_renders_without_errors_broken_links_or_missing_images(built, server, browser, tmp_path):
    shots = tmp_path / "screenshots"  # kept with the test's temporary files; the shared build stays read only
    shots.mkdir()
    problems = []
    for page in pages(built):
        url = urljoin(server, page)
        browser.get(url)
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{page}: console error {entry['message']}")
        broken_images = browser.execute_script(
            "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        problems += [f"{page}: image did not load {src}" for src in broken_images]
        for href in browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)"):
            parsed = urlparse(href)
            if parsed.netloc == urlparse(server).netloc:
                target = built / "html" / parsed.path.lstrip("/")
                if not target.exists():
                    problems.append(f"{page}: broken link {href}")
        typeset = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "if (window.MathJax && MathJax.startup && MathJax.startup.promise) {"
            "  MathJax.startup.promise.then(() => done(document.querySelectorAll('mjx-container').length));"
            "} else { done(-1); }"
        )
        if page == "chapters/methods.html" and typeset < 5:
            problems.append(f"{page}: formulas not typeset by MathJax ({typeset})")
        # the session book's commit message holds "$x$", shown as text (tests/test_history_build.py)
        text = browser.find_element("tag name", "body").text.replace("$x$", "")
        if re.search(r"\$[^$\n]+\$|\\\(|\\\[", text):
            problems.append(f"{page}: unrendered maths")
        if "{glue" in text:
            problems.append(f"{page}: unrendered glue")
        browser.save_screenshot(str(shots / (page.replace("/", "_") + ".png")))
    assert not problems, "\n".join(problems)
    assert len(list(shots.glob("*.png"))) >= 12


def test_html_loads_nothing_from_the_internet(built):
    """Scripts, styles, images and fonts all come from the book's own folder (links to papers may
    point outside; they are not loaded)."""
    external = re.compile(r'<(?:script|img|iframe)[^>]*\ssrc="(?:https?:)?//|<link[^>]*rel="(?:stylesheet|preload|icon)"[^>]*href="(?:https?:)?//'
                          r'|<link[^>]*href="(?:https?:)?//[^"]*"[^>]*rel="(?:stylesheet|preload|icon)"')
    for page in pages(built):
        html = (built / "html" / page).read_text()
        assert not external.search(html), f"{page}: loads {external.search(html).group(0)}"
    methods = (built / "html" / "chapters" / "methods.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js"' in methods
    assert (built / "html" / "_static" / "mathjax" / "tex-chtml.js").is_file()
    css = "".join(p.read_text(errors="replace") for p in (built / "html" / "_static").rglob("*.css"))
    assert not re.search(r"url\(['\"]?(?:https?:)?//", css)


def test_book_opened_from_disk_typesets_formulas_offline(built, browser):
    browser.get((built / "html" / "chapters" / "methods.html").as_uri())
    count = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "MathJax.startup.promise.then(() => done(document.querySelectorAll('mjx-container').length));"
    )
    assert count >= 5
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
    browser.get((built / "html" / "chapters" / "cbt-control.html").as_uri())
    broken = browser.execute_script("return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
    assert broken == 0


def test_every_figure_and_table_the_reader_needs_is_in_the_book(built):
    expected = {
        "claims": ["fig-claims-flow", "tbl-claims-register"],
        "ssri-placebo": ["fig-ssri-forest", "fig-ssri-loo", "fig-ssri-cumulative", "tbl-ssri-sensitivity"],
        "cbt-control": ["fig-cbt-prisma", "fig-cbt-forest", "fig-cbt-rob-summary", "fig-cbt-rob-traffic-light",
                        "fig-cbt-funnel", "fig-cbt-loo", "fig-cbt-cumulative", "tbl-cbt-rob", "tbl-cbt-sensitivity"],
        "summary-of-findings": ["tbl-sof", "fig-claims-vs-data"],
    }
    for chapter, ids in expected.items():
        html = (built / "html" / "chapters" / f"{chapter}.html").read_text()
        for ident in ids:
            assert f'id="{ident}"' in html, f"{chapter}: {ident}"
    sof = (built / "html" / "chapters" / "summary-of-findings.html").read_text()
    for column in ("risk with control", "risk with intervention (95% CI)", "relative effect (95% CI)",
                   "participants (comparisons)", "certainty (GRADE)", "comments"):
        assert column in sof, column


def test_every_figure_has_alt_text(built):
    for page in pages(built):
        html = (built / "html" / page).read_text()
        for img in re.findall(r"<img [^>]*>", html):
            if "_static" in img:
                continue
            alt = re.search(r'alt="([^"]*)"', img)
            assert alt and len(alt.group(1)) > 20, f"{page}: image without alt text: {img[:120]}"


def test_pdf_has_every_chapter_its_figures_and_tables_and_renders(built, tmp_path):
    pdf = built / "pdf" / "book.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for title in ("Introduction", "Methods", "The claims and their sources", "SSRIs versus placebo", "CBT versus control",
                  "Publication bias", "The serotonin hypothesis", "Summary of findings", "Reproducibility",
                  "What changed", "Bibliography"):
        assert title.lower() in text.lower(), title
    assert len(set(re.findall(r"Fig\. \d+\.\d+", text))) >= 13 and len(set(re.findall(r"Table \d+\.\d+", text))) >= 10
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages_count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages_count
    # nothing runs off the page: every word's box lies inside the page (pdftotext -bbox)
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    widths = [float(w) for w in re.findall(r'<page width="([\d.]+)"', bbox)]
    overflow = [m for m in re.finditer(r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)"', bbox)
                if float(m.group(1)) < 0 or float(m.group(2)) > max(widths) + 1]
    assert not overflow, f"{len(overflow)} words run off the page"


def test_each_analysis_chapter_links_its_data_and_results(built):
    for name in ("ssri-placebo", "cbt-control", "publication-bias", "summary-of-findings"):
        html = (built / "html" / "chapters" / f"{name}.html").read_text()
        links = re.findall(r'href="\.\./(_downloads/[^"]+)"', html)
        assert any(link.endswith("/results.csv") for link in links), name
        assert any(not link.endswith("/results.csv") for link in links), name
        for link in links:
            assert (built / "html" / link).is_file(), link
    # every glued table is a CSV download too: the network chapter's league table, both outcomes
    html = (built / "html" / "chapters" / "network.html").read_text()
    league = [link for link in re.findall(r'href="\.\./(_downloads/[^"]+)"', html) if link.endswith("/nma_league_csv.csv")]
    assert len(league) == 1, league
    rows = (built / "html" / league[0]).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("outcome,treatment,versus,odds_ratio,ci_low,ci_high")
    assert {r.split(",")[0] for r in rows[1:]} == {"response", "dropout"}


# --- The reader's view at a desktop and a phone width: layout, console, accessibility ---------------

AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe.min.js")
WIDTHS = {"desktop": 1400, "phone": 390}


def run_axe(browser) -> list[dict]:
    """axe-core's violations of the page (WCAG 2 A and AA rules and best practices)."""
    with open(AXE, encoding="utf-8") as fh:
        browser.execute_script(fh.read())
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => "
        "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )


def test_every_page_at_desktop_and_phone_width_fits_has_no_console_error_and_no_serious_axe_violation(built, server, browser):
    shots = built / "screenshots"
    shots.mkdir(exist_ok=True)
    problems, counts = [], {}
    browser.set_script_timeout(60)
    for name, width in WIDTHS.items():
        browser.set_window_size(width, 1000)
        for page in pages(built):
            browser.get(urljoin(server, page))
            browser.get_log("browser")  # the page load's messages are checked by the test above
            overflow = browser.execute_script(
                "const d = document.documentElement; return d.scrollWidth - d.clientWidth;")
            if overflow > 1:
                wide = browser.execute_script(
                    "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]"
                    ".filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 3)"
                    ".map(e => e.tagName + '.' + e.className);")
                problems.append(f"{page} at {width}px: the page scrolls sideways by {overflow}px ({wide})")
            violations = run_axe(browser)
            for entry in browser.get_log("browser"):
                if entry["level"] == "SEVERE":
                    problems.append(f"{page} at {width}px: console error {entry['message']}")
            for v in violations:
                counts[v["impact"]] = counts.get(v["impact"], 0) + 1
                if v["impact"] in ("serious", "critical"):
                    problems.append(f"{page} at {width}px: axe {v['impact']} {v['id']}: {v['help']} {v['nodes']}")
            if page in ("chapters/abstract.html", "chapters/summary-of-findings.html", "chapters/ssri-placebo.html",
                        "chapters/protocol.html"):
                browser.save_screenshot(str(shots / f"{name}_{page.replace('/', '_')}.png"))
    browser.set_window_size(1280, 2000)
    print("axe violations by impact:", counts)
    assert not problems, "\n".join(problems)


def flesch(text: str) -> float:
    """textstat's Flesch reading ease, offline: syllables from the Pyphen hyphenation dictionary
    (textstat's own fallback) instead of NLTK's CMU dictionary, which it would download."""
    import textstat
    from textstat.backend.counts import _count_syllables

    original = _count_syllables.get_cmudict
    _count_syllables.get_cmudict = lambda lang: None
    try:
        return textstat.flesch_reading_ease(text)
    finally:
        _count_syllables.get_cmudict = original


def test_plain_language_summary_reads_at_flesch_50_or_more(built):
    import html as html_lib

    page = (built / "html" / "chapters" / "abstract.html").read_text()
    section = re.search(r'<section id="plain-language-summary">(.*?)</section>', page, re.S)
    assert section, "the abstract page has no plain-language summary"
    body = re.sub(r"<h2.*?</h2>", " ", section.group(1), flags=re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
    text = re.sub(r"\s+", " ", text).strip()
    assert len(text.split()) > 100
    score = flesch(text)
    print(f"Flesch reading ease of the plain-language summary: {score:.1f}")
    assert score >= 50, score


def test_front_and_back_matter_are_in_the_book(built):
    html = built / "html" / "chapters"
    abstract = (html / "abstract.html").read_text()
    for heading in ("Background.", "Objectives.", "Methods.", "Results.", "Conclusions.", "Plain-language summary",
                    "Bottom line", "For patients", "For clinicians"):
        assert heading in abstract, heading
    for page in ("protocol", "discussion", "limitations", "glossary", "declarations", "version-history"):
        assert (html / f"{page}.html").is_file(), page
    declarations = (html / "declarations.html").read_text()
    for heading in ("Authors", "interest", "Funding"):
        assert heading in declarations, heading
    history = (html / "version-history.html").read_text()
    assert "<table" in history or "outside a git checkout" in history
    about = (built / "html" / "chapters" / "about.html").read_text()
    assert re.search(r"<h1>About this book", about)


def test_protocol_tabulates_every_parameter_of_the_defaults_file(built):
    import yaml

    from conftest import ROOT

    page = (built / "html" / "chapters" / "protocol.html").read_text()
    defaults = yaml.safe_load((ROOT / "params" / "defaults.yml").read_text())
    for chapter, values in defaults.items():
        for parameter in values:
            assert f">{parameter}<" in page, f"{chapter}.{parameter} is not in the protocol's table"


def test_the_pdf_sets_every_parameter_name_whole_and_every_row_says_what_a_change_means(built):
    """No parameter name is hyphenated or split across lines in the PDF's parameter table (they are
    set in the code font, in a column wide enough for the longest): each name occurs whole, on one
    line, at least once for each row it has; and no cell of the table is a bare dash."""
    from collections import Counter

    import yaml

    from conftest import ROOT

    text = subprocess.run(["pdftotext", "-layout", str(built / "pdf" / "book.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    start = text.index("Every parameter with its default, read from params/defaults.yml")
    table = text[start:text.index("Amendments", start)]
    defaults = yaml.safe_load((ROOT / "params" / "defaults.yml").read_text())
    rows = Counter(parameter for values in defaults.values() for parameter in values)
    split = {p: n for p, n in rows.items() if len(re.findall(rf"(?<![\w-]){re.escape(p)}(?![\w-])", table)) < n}
    assert not split, f"parameter names broken in the PDF: {split}"
    assert not re.search(r"(?:^|\s{2})—(?:\s{2}|$)", table, re.M), "a cell of the parameter table is a dash"


def test_glossary_terms_are_defined_and_linked_from_their_first_use(built):
    glossary = (built / "html" / "chapters" / "glossary.html").read_text()
    for term in ("REML", "HKSJ", "tau²", "I²", "Prediction interval", "L0", "NNT", "GRADE"):
        assert re.search(r'<dt id="term-[^"]*">' + re.escape(term), glossary), term
    methods = (built / "html" / "chapters" / "methods.html").read_text()
    linked = re.findall(r'href="glossary\.html#term-[^"]*"', methods)
    assert len(linked) >= 3, linked


def test_tables_print_counts_as_integers_and_every_cell_has_its_header_for_phones(built):
    for page in pages(built):
        html = (built / "html" / page).read_text()
        for cell in re.findall(r"<td[^>]*>(?:<p>)?([^<]*)", html):
            assert not re.fullmatch(r"\s*\d+\.0\s*", cell), f"{page}: count printed as {cell!r}"
        for table in re.findall(r"<table\b.*?</table>", html, re.S):
            if "<thead>" in table:
                assert "<td" not in table or "data-label=" in table, f"{page}: a table without data-label"


def test_forest_plots_are_svg_with_every_study_and_alt_text_stating_the_finding(built):
    page = (built / "html" / "chapters" / "ssri-placebo.html").read_text()
    img = re.search(r'<img alt="Forest plot[^"]*"[^>]*src="([^"]+\.svg)"', page)
    assert img, "the SSRI forest plot is not an SVG image"
    assert re.search(r'alt="Forest plot[^"]*Pooled risk ratio \d\.\d\d \(95% CI', page)
    svg = (built / "html" / "chapters" / img.group(1)).resolve().read_text()
    assert "Random-effects model" in svg and "95% prediction interval" in svg and "Weight" in svg
    assert "<dc:date>" not in svg


def pdf_pages_text(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def test_pdf_has_no_blank_page_no_empty_chapter_no_index_and_tables_inside_the_text_block(built, tmp_path):
    pdf = built / "pdf" / "book.pdf"
    texts = pdf_pages_text(pdf)
    # blank pages: no text beyond the running header and footer, and (rendered) almost no ink
    subprocess.run(["pdftoppm", "-r", "20", "-gray", str(pdf), str(tmp_path / "p")], check=True)
    from PIL import Image

    for number, path in enumerate(sorted(tmp_path.glob("p-*.pgm")), 1):
        im = Image.open(path)
        w, h = im.size
        body = im.crop((0, int(0.08 * h), w, int(0.92 * h)))
        ink = sum(1 for v in body.getdata() if v < 200) / (body.size[0] * body.size[1])
        words = len(texts[number - 1].split()) if number <= len(texts) else 0
        assert ink > 0.002 or words > 12, f"page {number} is blank"
    # every chapter has content: its pages hold more than its heading
    starts = [i for i, t in enumerate(texts) if re.match(r"\s*CHAPTER\s*\n", t) or re.search(r"^\s*CHAPTER\s*$", t, re.M)]
    for a, b in zip(starts, starts[1:] + [len(texts)]):
        words = sum(len(t.split()) for t in texts[a:b])
        assert words > 60, f"the chapter starting on page {a + 1} is empty ({words} words)"
    assert not re.match(r"\s*Index\s*$", texts[-1].strip()), "an empty index page"
    # a forest plot split over pages shows each of its parts, not the first one again and again
    for total in set(re.findall(r"\(part 1 of (\d+)\)", "\f".join(texts))):
        for part in range(2, int(total) + 1):
            assert f"(part {part} of {total})" in "\f".join(texts), f"part {part} of {total} is missing"
    assert sum(1 for t in texts if re.search(r"^\s*Bibliography\s*$", t, re.M)) <= 2
    # nothing runs outside the text block: every word lies between the margins of the body text
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    lefts, rights, words = [], [], []
    for page in re.findall(r"<page .*?</page>", bbox, re.S):
        xs = [(float(a), float(b)) for a, b in re.findall(r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)"', page)]
        if len(xs) > 200:  # a page of running text
            lefts.append(min(x for x, _ in xs))
            rights.append(max(x for _, x in xs))
        words.append(xs)
    lefts.sort(), rights.sort()
    left, right = lefts[len(lefts) // 2], rights[len(rights) // 2]
    outside = [(n + 1, x0, x1) for n, xs in enumerate(words) for x0, x1 in xs if x0 < left - 4 or x1 > right + 4]
    assert not outside, f"{len(outside)} words outside the text block [{left:.0f}, {right:.0f}], e.g. {outside[:5]}"


def test_pdf_no_table_runs_past_the_text_block_or_under_the_footer(built):
    """Every word lies in the text block or on the running footer: a table that does not break
    across pages (the Summary of Findings' footnotes once did) runs under the footer and off the page."""
    from pdf_layout import off_the_block, pages_words

    bad = off_the_block(pages_words(built / "pdf" / "book.pdf"))
    assert not bad, f"{len(bad)} words below the text block, e.g. {bad[:8]}"


def test_pdf_keeps_every_grade_footnote(built):
    """Each footnote of the GRADE table (Summary of Findings, the reasons for each downgrade) is in
    the PDF, whole: the text of the web book's footnotes table, compared without spacing and hyphens."""
    import html as html_lib

    page = (built / "html" / "chapters" / "summary-of-findings.html").read_text()
    table = re.search(r'<table[^>]*id="tbl-sof-reasons".*?</table>', page, re.S)
    table = table or re.search(r'id="tbl-sof-reasons".*?(<table.*?</table>)', page, re.S)
    assert table, "the footnotes table is not in the web book"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)
    reasons = [html_lib.unescape(re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[-1]))
               for r in rows if "<td" in r]
    assert len(reasons) >= 3
    text = subprocess.run(["pdftotext", str(built / "pdf" / "book.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout

    def squash(s):
        return re.sub(r"[\s\-‐]+", "", s).replace("²", "2")

    flat = squash(text)
    missing = [r for r in reasons if squash(r) not in flat]
    assert not missing, f"{len(missing)} GRADE footnotes missing from the PDF, e.g. {missing[:2]}"
