"""Sphinx extension: read each document's doctree once for all the ``{numref}`` references to it.

Sphinx 7.4's standard domain unpickles the whole doctree of a reference's target document for
every ``numref`` it resolves (``StandardDomain._resolve_numref_xref``), only to look up the target
node and its number. This book's chapters hold about sixty of them, and their doctrees carry the
executed notebooks' outputs: the unpickling took 1.5 s of each of the HTML and PDF builds. The
domain below resolves them exactly as Sphinx does, with the target documents' doctrees unpickled
once per build and only read (each reference still gets its own new nodes).
"""

from sphinx.domains.std import StandardDomain


class _Doctrees:
    """The build environment, with ``get_doctree`` answered from one unpickled copy per document."""

    def __init__(self, env, cache: dict):
        self._env, self._cache = env, cache

    def get_doctree(self, docname: str):
        if docname not in self._cache:
            self._cache[docname] = self._env.get_doctree(docname)
        return self._cache[docname]

    def __getattr__(self, name):
        return getattr(self._env, name)


class NumrefOnceDomain(StandardDomain):
    """The standard domain; ``numref`` targets are looked up in doctrees read once."""

    def _resolve_numref_xref(self, env, fromdocname, builder, typ, target, node, contnode):
        cache = self.__dict__.setdefault("_numref_doctrees", {})
        return super()._resolve_numref_xref(_Doctrees(env, cache), fromdocname, builder, typ, target, node, contnode)


def setup(app):
    app.add_domain(NumrefOnceDomain, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
