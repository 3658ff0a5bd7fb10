"""An open, reproducible review of serotonin, SSRIs and CBT for depression.

Three layers, imports pointing down only: :mod:`analysis.meta` (the statistics engine),
:mod:`analysis.review` (the review's domain) and :mod:`analysis.book` (the pipeline); figures
in :mod:`analysis.figures`, the command line in :mod:`analysis.cli`.
"""

__version__ = "0.2.0"
