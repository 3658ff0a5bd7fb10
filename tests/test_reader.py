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
        text = browser.find_element("tag name", "body").text
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
