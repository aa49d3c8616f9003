"""``once_per_machine``: of several processes about to do the same work (the writers'
first model conversion on a fresh machine), one does it and the others wait, then skip it."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh_testkit import once_per_machine


@pytest.fixture
def name() -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    (Path(tempfile.gettempdir()) / f"mesh-testkit-{name}.lock").unlink(missing_ok=True)


def test_the_first_does_the_work_and_another_waits_for_it_then_finds_it_done(name: str) -> None:
    done = threading.Event()
    seen: list[tuple[bool, bool]] = []

    def another() -> None:
        with once_per_machine(name, done.is_set) as mine:
            seen.append((mine, done.is_set()))

    with once_per_machine(name, done.is_set) as mine:
        assert mine  # not done yet: this block does it
        waiter = threading.Thread(target=another)
        waiter.start()
        time.sleep(0.2)  # room for the other to run (it must not get past the lock)
        assert seen == []
        done.set()
    waiter.join(10)
    assert seen == [(False, True)]  # it entered only once the work was done, and skipped it


def test_once_done_the_block_holds_nothing(name: str) -> None:
    with once_per_machine(name, lambda: True) as mine:
        assert not mine
        with once_per_machine(name, lambda: True) as again:  # would block if still held
            assert not again


def test_the_lock_is_freed_when_the_work_fails(name: str) -> None:
    with pytest.raises(RuntimeError), once_per_machine(name, lambda: False):
        raise RuntimeError("the start failed")
    with once_per_machine(name, lambda: False) as mine:  # the next one may try
        assert mine
