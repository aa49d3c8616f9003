"""A scratch Postgres database for one test, module or cluster: created on the local server
(trust auth, the ``MESH_TEST_POSTGRES`` admin URL, default database ``test``) and dropped
after, its URL yielded; ``pytest.skip`` with the reason where no Postgres answers.

```python
from mesh_testkit.postgres import PG_ADMIN, postgres_answers, scratch_database

pytestmark = pytest.mark.skipif(not postgres_answers(), reason=f"no Postgres at {PG_ADMIN}")

with scratch_database("mesh_things") as url:  # postgresql://.../mesh_things_<10 hex>
    ...
```

A database of its own keeps a test's rows out of every other test's listings and scans (and
theirs out of its own), under xdist or two sessions at once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_ADMIN = os.environ.get("MESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_answers() -> bool:
    """Whether a connection to ``PG_ADMIN`` opens (within 2 s)."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """``CREATE DATABASE <prefix>_<10 hex>`` on ``PG_ADMIN``'s server, yield its URL, then
    drop it (``WITH (FORCE)``: connections a test left open do not keep it)."""
    if not postgres_answers():
        pytest.skip(f"no Postgres at {PG_ADMIN}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
