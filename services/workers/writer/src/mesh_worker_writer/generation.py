"""One generation: ``model.generate`` on its own thread, bridged to an async iterator of
text deltas. The event loop never runs model code; a cancelled stream stops the thread at
the next token through a stopping criterion that reads a ``threading.Event``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from mesh_worker_writer.adapters import LoraAdapters
from mesh_worker_writer.decoding import IncrementalDecoder, StopMatcher
from mesh_worker_writer.json_constraint import JsonEnforcer, StopWhenJsonComplete

FinishReason = Literal["stop", "length"]
log = logging.getLogger(__name__)
_LOCK_POLL_S = 0.05  # how often a queued generation checks whether it was cancelled
#: How long leaving a stream waits for its thread to end. The thread checks the halt flag at
#: every token, so this only runs out if one forward pass (a long prompt's prefill on a slow
#: CPU) outlasts it; then the wait is given up with a warning and the thread ends later.
EXIT_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """How to sample one answer. ``temperature == 0`` means greedy decoding.

    ``json_schema``: constrain the answer to JSON fitting this schema (``{"type": "object"}``
    for any object); None for free text.
    """

    max_new_tokens: int
    temperature: float = 0.7
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    adapter: str | None = None
    json_schema: Mapping[str, Any] | None = None
    repetition_penalty: float = 1.0


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    """The answer, the tokens read and generated, and ``held_s``: the seconds the generation
    held the model (its compute time, waiting for the model not counted)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    held_s: float = 0.0


@dataclass(slots=True)
class GenerationStats:
    """Counters for ``/health``: ``active`` generations hold the model, ``waiting`` ones
    queue for it; ``cancelled`` counts generation threads stopped early by their caller."""

    active: int = 0
    waiting: int = 0
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {
                "active": self.active,
                "waiting": self.waiting,
                "started": self.started,
                "completed": self.completed,
                "cancelled": self.cancelled,
                "failed": self.failed,
            }


class _HaltWhenSet(StoppingCriteria):  # type: ignore[misc]
    def __init__(self, halt: threading.Event) -> None:
        self._halt = halt

    def __call__(
        self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self._halt.is_set(), device=input_ids.device)


class GenerationStream:
    """``async with stream: async for delta in stream: ...`` then ``stream.outcome``.

    Deltas are non-empty text pieces whose concatenation is the answer (cut before any stop
    string). With a ``json_enforcer`` only tokens that keep the answer valid JSON are
    sampled, and the generation ends once the JSON value is complete. Leaving the
    ``async with`` early (break, error, task cancellation) cancels the generation and waits
    (at most ``exit_wait_s``) until the thread has stopped, so whoever limits concurrency
    around a stream really bounds the work on the model. An error on the thread is raised
    from the iteration.
    """

    def __init__(
        self,
        *,
        model: Any,
        tokenizer: Any,
        adapters: LoraAdapters,
        model_lock: threading.Lock,
        stats: GenerationStats,
        encoding: Any,
        prompt_tokens: int,
        params: GenerationParams,
        loop: asyncio.AbstractEventLoop,
        on_open: Callable[[], None],
        on_close: Callable[[], None],
        json_enforcer: JsonEnforcer | None = None,
        exit_wait_s: float = EXIT_WAIT_S,
    ) -> None:
        self._model, self._tokenizer, self._adapters = model, tokenizer, adapters
        self._lock, self._stats, self._encoding = model_lock, stats, encoding
        self.prompt_tokens, self.params = prompt_tokens, params
        self._loop, self._on_open, self._on_close = loop, on_open, on_close
        self._json, self._exit_wait_s = json_enforcer, exit_wait_s
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._halt = threading.Event()
        self._cancelled = False
        self._decoder = IncrementalDecoder(tokenizer)
        self._stopper = StopMatcher(params.stop)
        self._text: list[str] = []
        self._prompt_seen = False
        self._last_token: int | None = None
        self._held_s = 0.0  # seconds the generation held the model
        self._thread = threading.Thread(target=self._run, name="writer-generate", daemon=True)
        self.exited = asyncio.Event()  # set on the loop once the thread has ended
        self.outcome: GenerationOutcome | None = None

    # ---- loop side -------------------------------------------------------------------
    async def __aenter__(self) -> GenerationStream:
        self._on_open()
        self._thread.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()
        await self._wait_for_thread()

    def cancel(self) -> None:
        """Stop the generation if it is still running (idempotent, never blocks)."""
        if self.outcome is None and not self.exited.is_set():
            self._cancelled = True
            self._halt.set()

    async def _wait_for_thread(self) -> None:
        """Wait until the thread has ended (bounded). A cancellation meanwhile does not cut
        the wait short; it is raised once the wait is over."""
        if self.exited.is_set():
            return
        waiter = asyncio.ensure_future(self.exited.wait())
        deadline = self._loop.time() + self._exit_wait_s
        cancelled = False
        try:
            while not waiter.done():
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    log.warning(
                        "generation thread still running %.0fs after its stream closed",
                        self._exit_wait_s,
                    )
                    break
                try:
                    await asyncio.wait({waiter}, timeout=remaining)
                except asyncio.CancelledError:
                    cancelled = True
        finally:
            waiter.cancel()
        if cancelled:
            raise asyncio.CancelledError

    def __aiter__(self) -> GenerationStream:
        return self

    async def __anext__(self) -> str:
        if self.outcome is not None:
            raise StopAsyncIteration
        kind, value = await self._queue.get()
        if kind == "delta":
            return str(value)
        if kind == "error":
            raise value
        self.outcome = value
        raise StopAsyncIteration

    async def collect(self) -> GenerationOutcome:
        """Run to the end, discarding the deltas; the outcome."""
        async for _ in self:
            pass
        assert self.outcome is not None
        return self.outcome

    def _exit_on_loop(self) -> None:
        self.exited.set()
        self._on_close()

    def _send(self, kind: str, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._halt.set()

    # ---- generation thread -----------------------------------------------------------
    def _run(self) -> None:
        try:
            if self._acquire():
                try:
                    self._generate_holding_lock()
                finally:
                    self._lock.release()
            else:
                self._count("cancelled")
                self._send("end", self._outcome())
        finally:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._exit_on_loop)

    def _acquire(self) -> bool:
        with self._stats.lock:
            self._stats.waiting += 1
        try:
            while not self._lock.acquire(timeout=_LOCK_POLL_S):
                if self._halt.is_set():
                    return False
            return True
        finally:
            with self._stats.lock:
                self._stats.waiting -= 1

    def _generate_holding_lock(self) -> None:
        with self._stats.lock:
            self._stats.active += 1
            self._stats.started += 1
        outcome: str = "failed"
        error: BaseException | None = None
        started = time.monotonic()
        try:
            self._generate()
            tail = self._stopper.feed(self._decoder.flush()) + self._stopper.flush()
            self._emit(tail)
            outcome = "cancelled" if self._cancelled else "completed"
        except Exception as exc:  # reported to the caller, who turns it into an error
            log.exception("generation failed")
            error = exc
        finally:
            self._held_s = time.monotonic() - started
            with self._stats.lock:
                self._stats.active -= 1
            self._count(outcome)
        # counters first: a caller that sees the end also sees them in /health
        if error is not None:
            self._send("error", error)
        else:
            self._send("end", self._outcome())

    def _generate(self) -> None:
        p = self.params
        criteria = StoppingCriteriaList([_HaltWhenSet(self._halt)])
        kwargs: dict[str, Any] = {
            **self._encoding,
            "max_new_tokens": p.max_new_tokens,
            "streamer": self,
            "stopping_criteria": criteria,
        }
        if self._json is not None:
            # applied before temperature/top-p, so sampling only ever sees allowed tokens
            kwargs["prefix_allowed_tokens_fn"] = self._json.allowed_tokens
            criteria.append(StopWhenJsonComplete(self._json))
        if p.repetition_penalty != 1.0 and self._json is None:
            # not under a JSON constraint: braces and quotes must repeat there
            kwargs["repetition_penalty"] = p.repetition_penalty
        if p.temperature > 0:
            kwargs.update(do_sample=True, temperature=p.temperature, top_p=p.top_p)
        else:
            kwargs.update(do_sample=False)
        with torch.inference_mode(), self._adapters.select(self._model, p.adapter) as model:
            if not self._halt.is_set():
                model.generate(**kwargs)

    def put(self, value: torch.Tensor) -> None:
        """Streamer hook called by ``generate``: first the prompt, then each new token."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        for token_id in value.flatten().tolist():
            self._last_token = int(token_id)
            self._emit(self._stopper.feed(self._decoder.push(int(token_id))))
            if self._stopper.stopped:
                self._halt.set()

    def end(self) -> None:
        """Streamer hook; the tail is flushed after ``generate`` returns instead."""

    def _emit(self, delta: str) -> None:
        if delta:
            self._text.append(delta)
            self._send("delta", delta)

    def _count(self, outcome: str) -> None:
        with self._stats.lock:
            setattr(self._stats, outcome, getattr(self._stats, outcome) + 1)

    def _outcome(self) -> GenerationOutcome:
        eos = self._model.generation_config.eos_token_id
        eos_ids = set(eos) if isinstance(eos, list) else {eos}
        json_done = self._json is not None and self._json.completed
        ended = self._stopper.stopped or json_done or self._last_token in eos_ids
        length = self._decoder.token_count >= self.params.max_new_tokens
        return GenerationOutcome(
            text="".join(self._text),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self._decoder.token_count,
            finish_reason="length" if length and not ended else "stop",
            held_s=self._held_s,
        )
