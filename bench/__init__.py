"""``make bench``: the five benchmarks of issue 9 on the local cluster mode.

Each benchmark starts from one cluster the bench itself brings up (embedded PostgreSQL, a real
Kafka broker, the five services as separate uvicorn processes), prints a table and writes
``bench/results/<name>.json``. Every ratio compares two figures measured in the same run on the
same machine; absolute figures are reported with the core count. See ``bench/README.md``.
"""
