"""Regex patterns of JSON Schemas compiled into automata in a child process, under a time
budget, and handed to the enforcer compiled (see ``schema_guard`` for why).

``PatternCompiler`` keeps one child (``python -m mesh_worker_writer.patterns``, which imports
interegular and nothing else) and sends it the patterns of a schema it has not seen. The
child parses each, checks it (``schema_guard.check_pattern``) and compiles it to a DFA; the
answer comes back pickled. A child that is not done within ``budget`` seconds is killed (a
DFA construction cannot be interrupted any other way) and a new one started for the next
request; the pattern is refused, and remembered as refused. Compiled patterns go into the
enforcer's own pattern cache, so it never compiles one itself, and the cache is bounded
(``CACHED``); refusals too.

Messages on the pipes: a 4-byte big-endian length, then a pickle.
"""

from __future__ import annotations

import asyncio
import contextlib
import copyreg
import logging
import pickle
import sys
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from interegular import parse_pattern
from interegular.fsm import FSM, anything_else

from mesh_worker_writer.schema_guard import SchemaRefused, check_pattern

log = logging.getLogger(__name__)
CACHED = 256  # compiled patterns kept in the enforcer's cache, and refusals remembered
CHILD_MEMORY = 1 << 30  # the child's address space: a DFA past it is refused (MemoryError)
READY = b"\x00"


def _anything_else() -> Any:
    return anything_else


# The "any other character" symbol is compared by identity: unpickled, it must be this
# process's own object, not a copy.
copyreg.pickle(type(anything_else), lambda _: (_anything_else, ()))


def compile_checked(pattern: str) -> FSM:
    """Parse, check and compile one pattern (in the child); ``SchemaRefused`` otherwise."""
    try:
        parsed = parse_pattern(pattern)
    except Exception as exc:  # interegular raises its own kinds, and RecursionError
        reason = f"a pattern is not a regular expression the enforcer follows: {exc}"
        raise SchemaRefused(reason[:300]) from None
    check_pattern(parsed)
    return parsed.to_fsm()


def _serve() -> None:
    """The child: answer each request (a list of patterns) with ``[("ok", fsm) |
    ("refused", reason)]`` until its stdin closes."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(READY)  # imported: the budget counts compiling only
    stdout.flush()
    while header := stdin.read(4):
        patterns: list[str] = pickle.loads(stdin.read(int.from_bytes(header, "big")))
        answers: list[tuple[str, Any]] = []
        for pattern in patterns:
            try:
                answers.append(("ok", compile_checked(pattern)))
            except SchemaRefused as exc:
                answers.append(("refused", str(exc)))
            except (MemoryError, RecursionError) as exc:
                answers.append(("refused", f"a pattern is too large to compile ({exc!r})"))
        data = pickle.dumps(answers)
        stdout.write(len(data).to_bytes(4, "big") + data)
        stdout.flush()


class PatternCompiler:
    """Compiles patterns in a child process under a budget; see the module docstring."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self._child: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._spawning = asyncio.Lock()
        self._respawn: asyncio.Task[None] | None = None
        self._refused: OrderedDict[str, str] = OrderedDict()
        self._compiled: OrderedDict[str, None] = OrderedDict()
        self.killed = 0  # children killed past the budget (health)

    async def start(self) -> None:
        """Start the child and wait until it is ready (a few tenths of a second): at start-up,
        so that the first pattern does not wait for it, and again right after a kill."""
        async with self._spawning:
            await self._spawn()

    async def _spawn(self) -> None:
        if self._child is None or self._child.returncode is not None:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mesh_worker_writer.patterns",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert child.stdout is not None
            try:
                async with asyncio.timeout(60):
                    ready = await child.stdout.readexactly(len(READY))
            except BaseException:
                child.kill()
                raise
            if ready != READY:
                child.kill()
                raise RuntimeError("the pattern compiler did not start")
            self._child = child

    async def close(self) -> None:
        if self._respawn is not None:
            self._respawn.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._respawn
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            assert child.stdin is not None
            child.stdin.close()
            try:
                async with asyncio.timeout(2):
                    await child.wait()
            except TimeoutError:
                child.kill()
                await child.wait()

    async def prepare(self, patterns: Sequence[str]) -> None:
        """Make every pattern ready for the enforcer (compiled and cached), or raise
        ``SchemaRefused`` naming the first that is refused or out of budget."""
        for pattern in patterns:
            if pattern in self._refused:
                self._refused.move_to_end(pattern)
                raise SchemaRefused(self._refused[pattern])
        async with self._lock:
            todo = [p for p in patterns if not _cache().get(p)]
            if not todo:
                return
            await self.start()
            try:
                answers = await asyncio.wait_for(self._ask(todo), self.budget)
            except TimeoutError:
                self._kill()
                log.warning("a pattern compilation ran past %.2fs: killed it", self.budget)
                reason = (
                    f"a pattern takes longer than {self.budget:g}s to compile into an "
                    "automaton: " + ", ".join(map(repr, todo))[:300]
                )
                if len(todo) == 1:
                    self._remember(todo[0], reason)
                raise SchemaRefused(reason) from None
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                self._kill()  # it died (out of memory?): the next request starts another
                raise SchemaRefused(f"a pattern could not be compiled ({exc!r})") from None
            except BaseException:
                self._kill()  # cancelled mid-answer: its pipe would be out of step
                raise
        for pattern, (kind, value) in zip(todo, answers, strict=True):
            if kind == "refused":
                self._remember(pattern, value)
                raise SchemaRefused(value)
            self._cache_compiled(pattern, value)

    async def _ask(self, patterns: list[str]) -> list[tuple[str, Any]]:
        child = self._child
        assert child is not None and child.stdin is not None and child.stdout is not None
        data = pickle.dumps(patterns)
        child.stdin.write(len(data).to_bytes(4, "big") + data)
        await child.stdin.drain()
        size = int.from_bytes(await child.stdout.readexactly(4), "big")
        answers: list[tuple[str, Any]] = pickle.loads(await child.stdout.readexactly(size))
        return answers

    def _kill(self) -> None:
        """Kill the child (asyncio's child watcher reaps it) and start another at once, so
        that the next schema does not wait for it."""
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            child.kill()
        self.killed += 1
        self._respawn = asyncio.get_running_loop().create_task(self._start_quietly())

    async def _start_quietly(self) -> None:
        try:
            await self.start()
        except Exception:  # the next request tries again, and says why if it fails
            log.exception("could not start the pattern compiler")

    def _remember(self, pattern: str, reason: str) -> None:
        self._refused[pattern] = reason
        while len(self._refused) > CACHED:
            self._refused.popitem(last=False)

    def _cache_compiled(self, pattern: str, fsm: FSM) -> None:
        """Hand the automaton to the enforcer as if it had compiled it itself."""
        from lmformatenforcer import CharacterLevelParserConfig
        from lmformatenforcer.regexparser import RegexParser

        context = RegexParser._Context()
        context.pattern = fsm
        context.state_character_cache = {}
        config = CharacterLevelParserConfig()
        parser = RegexParser(context, config)
        parser._update_alphabet(config.alphabet)
        cache = _cache()
        cache[pattern] = parser
        self._compiled[pattern] = None
        while len(self._compiled) > CACHED:
            oldest, _ = self._compiled.popitem(last=False)
            cache.pop(oldest, None)


def _cache() -> dict[str, Any]:
    """The enforcer's pattern cache (one per process: a class attribute), keyed by the
    pattern without its anchors."""
    from lmformatenforcer import JsonSchemaParser

    cache: dict[str, Any] = JsonSchemaParser._Context.regex_parser_cache
    return cache


if __name__ == "__main__":
    # Served by the module imported under its own name: what it pickles names that module.
    from mesh_worker_writer import patterns

    patterns._serve()
