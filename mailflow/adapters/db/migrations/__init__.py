"""The Alembic migrations of mailflow's schema.

HEAD names the newest revision: a database already there opens without loading Alembic at all (a fifth of a
second and ~14 MB for every start and every `run --once`). tests/test_store.py checks it against the scripts.
"""

HEAD = "0006"
