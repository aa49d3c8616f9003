"""Blocking work (a diffusion loop, a training loop, a generation loop) in a thread, driven
from ``Worker.run``.

```python
def job(emit: ThreadEmit, cancel: threading.Event) -> dict:
    for step in range(steps):
        if cancel.is_set():
            break
        ...  # one blocking step
        emit(ProgressEvent(step=step + 1, total=steps))
    return {"steps": step + 1}

async def run(self, task, inp, emit):
    return await run_in_thread(job, emit)
```

The thread never waits on the event loop: ``emit`` hands each event to the loop and
returns, and the coroutine relays them to the async ``Emit`` in order (a slow client
delays delivery, not the device). When the coroutine is cancelled it sets ``cancel`` and
waits for the thread to end before the cancellation propagates, so a run that returns
(or raises) has no thread left using the model, and the SDK's concurrency slot (held until
``run`` ends) really bounds the work on the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from mesh_contracts import WorkerEvent
from mesh_worker.worker import Emit

T = TypeVar("T")

ThreadEmit = Callable[[WorkerEvent | dict[str, Any]], None]
"""Thread-side ``emit``: queue one event for the caller; never blocks, safe from any thread."""

ThreadJob = Callable[[ThreadEmit, threading.Event], T]
"""The blocking work: gets ``emit`` and the ``cancel`` flag (check it between steps);
returns the result or raises."""

_END = object()  # queued by the thread once the job has returned or raised


async def run_in_thread(job: ThreadJob[T], emit: Emit, *, name: str | None = None) -> T:
    """Run ``job(emit, cancel)`` in a new thread and relay what it emits to ``emit`` in order.

    Returns the job's result, or re-raises its exception, once every event it emitted
    before ending has been relayed. Events emitted after the caller stopped listening are
    dropped. If the coroutine is cancelled (or the async ``emit`` raises), ``cancel`` is
    set and the thread is awaited, then the cancellation (or the error) propagates: this
    coroutine never ends while the thread still runs, even if cancelled again meanwhile.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    cancel = threading.Event()
    done: asyncio.Future[T] = loop.create_future()

    def call_soon(callback: Callable[..., object], *args: Any) -> None:
        # RuntimeError: the loop closed under a job that ignored ``cancel``; nobody listens.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback, *args)

    def put(item: Any) -> None:
        call_soon(queue.put_nowait, item)

    def settle(result: Any, error: BaseException | None) -> None:
        if done.done():  # defensive: ``done`` is shielded, so nothing else settles it
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def target() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = job(put, cancel)
        except BaseException as exc:  # re-raised on the event loop
            error = exc
        put(_END)
        call_soon(settle, result, error)

    # contextvars travel with the job, as with asyncio.to_thread (trace spans, log context).
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(target,), name=name or "mesh-worker-job", daemon=True
    )
    thread.start()
    try:
        while (item := await queue.get()) is not _END:
            await emit(item)
        # Shielded: cancelling this coroutine must not cancel ``done`` (the thread's end).
        result: T = await asyncio.shield(done)
        return result
    except BaseException:
        cancel.set()
        await _wait_ignoring_cancellation(done)
        raise
    finally:
        # ``done`` is settled as the job's last act: the thread only has to unwind now
        # (microseconds), so this join makes "the thread has stopped" literally true.
        thread.join()


async def _wait_ignoring_cancellation(done: asyncio.Future[Any]) -> None:
    """Wait until the thread has ended; further cancellations only make us wait on."""
    while not done.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([done])
    done.exception()  # retrieved: the exception already propagating is the one that counts
