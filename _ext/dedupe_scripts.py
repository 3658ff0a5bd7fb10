"""Sphinx extension: remove inline script tags that a page would run twice.

With Jupyter Book 1.0.4 and Sphinx 7.4, the inline scripts of sphinx-thebe and sphinx-togglebutton
end up twice in every page's head, and the second ``const THEBE_JS_URL`` declaration is a console
error ("Identifier 'THEBE_JS_URL' has already been declared"). The duplicates do not come through
``script_files``, so the finished pages are mended: an inline ``<script>`` line identical to an
earlier one in the same page is dropped.
"""

from pathlib import Path


def _mend(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        lines = page.read_text(encoding="utf-8").split("\n")
        seen, kept = set(), []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("<script>") and stripped.endswith("</script>"):
                if stripped in seen:
                    continue
                seen.add(stripped)
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("\n".join(kept), encoding="utf-8")


def setup(app):
    app.connect("build-finished", _mend)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
