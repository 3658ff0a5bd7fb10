"""The multiverse (specification curve) of a meta-analysis, run on Dask.

``grid`` reads the choices declared as data (``params/multiverse.yml``), ``specs`` expands them
into specifications and fits batches of them, ``run`` executes the batches on a Dask cluster,
``store`` caches the result as Parquet, ``summary`` describes it, and ``cli`` is
``python -m analysis multiverse``. It uses :mod:`analysis.meta` and :mod:`analysis.review`,
never :mod:`analysis.book`.
"""
