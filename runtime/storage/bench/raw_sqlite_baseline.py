#!/usr/bin/env python3
"""Raw SQLite baseline for troupe_storage_bench: single-row durable commits/s with the same
pragmas (WAL, synchronous=FULL, wal_autocheckpoint=0, 100-byte payload), no Troupe code.
Usage: raw_sqlite_baseline.py FILE [SECONDS]  (FILE and its -wal/-shm are recreated)."""
import os
import sqlite3
import sys
import time

path = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
for f in (path, path + "-wal", path + "-shm"):
    try:
        os.remove(f)
    except FileNotFoundError:
        pass
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
payload = b"x" * 100
start = time.monotonic()
commits = 0
while time.monotonic() - start < seconds:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO t(payload) VALUES (?)", (payload,))
    db.execute("COMMIT")
    commits += 1
print("raw sqlite3 single-row durable commits/s: %.0f" % (commits / (time.monotonic() - start)))
