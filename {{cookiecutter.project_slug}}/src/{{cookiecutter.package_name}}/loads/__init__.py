"""Staged loads: a job's records read from a file, a URL or a bucket into PostgreSQL.

The activity side of temporal/loading.py: ``sources`` opens a source at a byte
offset, ``formats`` and ``cells`` turn its text into checked rows and rejects,
``stage`` streams them into the staged rows a chunk at a time, and ``staging`` holds
the tables and every statement, the merge of a range included.
"""
