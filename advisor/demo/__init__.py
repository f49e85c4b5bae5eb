"""The demo and test harness: nothing here runs in production.

`sandbox` starts a throwaway PostgreSQL cluster, `sample` is the sample blog application
(schema, data, statements), and `python -m advisor.demo` (what `make demo` runs) shows the
advisor on them. The tests and the benchmarks use the same pieces; the modules that ship
(`cli`, `daemon`, `jobs/`, `collect/`, `analyze/`, `export/`, ...) never import them.
"""
