"""The plan language's conditions: a small, safe expression language for ``when`` and
``repeat_until``.

An expression compares values read from the outputs of finished sub-tasks; nothing in it
runs code. A hand-written tokenizer and recursive-descent parser turn the text into a tree
of the dataclasses below; ``evaluate`` walks that tree over plain JSON values. Bounds: at
most ``MAX_EXPRESSION_CHARS`` characters, ``MAX_TOKENS`` tokens and ``MAX_DEPTH`` levels of
nesting, so parsing and evaluating cost time linear in a bounded input.

Grammar (keywords are lower case)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") operand)?
    operand  := literal | path | "[" (literal ("," literal)*)? "]" | "(" expr ")"
    literal  := number | 'string' | "string" | true | false | null
    path     := ("$" | name) ("." name | "[" (integer | string) "]")*

Paths read the evaluation environment:

* ``$.t1.output.approved`` or ``tasks.t1.output.approved``: task ``t1``'s output, then a
  field of it (``.name`` or ``["name"]``; a list item by ``[0]``); ``tasks.t1.text`` is the
  output as text, ``tasks.t1.lower`` that text in lower case (to match words whatever their
  case), ``tasks.t1.status`` its status (``completed``, ``skipped``, ``failed``);
* ``output``: the task's own output (``repeat_until`` only), ``iteration``: the iteration
  that just ended (1, 2, ...; ``repeat_until`` only).

A path that leads nowhere is ``null``. ``==``/``!=`` compare JSON values; ``<`` and the
others compare two numbers or two strings, otherwise they are false; ``x in y`` is true when
``y`` is a list holding ``x``, a string containing the string ``x``, or an object with the key
``x``. ``and``, ``or`` and ``not`` read any value by JSON truthiness (null, false, 0, "",
[] and {} are false).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "Condition",
    "ConditionError",
    "Reference",
    "parse_condition",
]

MAX_EXPRESSION_CHARS = 500
MAX_TOKENS = 200
MAX_DEPTH = 32
#: What may follow ``tasks.<id>`` (or ``$.<id>``) in a path.
TASK_FIELDS = ("output", "text", "lower", "status")
#: Names a path may start with besides ``$`` and ``tasks``.
OWN_ROOTS = ("output", "iteration")


class ConditionError(ValueError):
    """The expression is not in the language; the message says where (no input echoed past
    a short excerpt)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.|\$)
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})


@dataclass(frozen=True)
class _Tok:
    kind: str  # number | string | op | name | end
    text: str
    at: int


def _tokenize(text: str) -> list[_Tok]:
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ConditionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            excerpt = text[pos : pos + 12].strip()
            raise ConditionError(f"unexpected character at {pos}: {excerpt!r}")
        kind = m.lastgroup or "op"
        out.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
        if len(out) > MAX_TOKENS:
            raise ConditionError(f"expression has more than {MAX_TOKENS} tokens")
    out.append(_Tok("end", "", len(text)))
    return out


@dataclass(frozen=True)
class Reference:
    """A path into the environment: ``root`` is ``task``, ``output`` or ``iteration``;
    ``task_id`` and ``field`` are set for ``task``; ``keys`` follow."""

    root: str
    task_id: str | None
    field: str | None
    keys: tuple[str | int, ...]
    text: str

    def read(self, env: Mapping[str, Any]) -> Any:
        if self.root == "task":
            value = env.get("tasks", {}).get(self.task_id, {}).get(self.field)
        else:
            value = env.get(self.root)
        for key in self.keys:
            if isinstance(value, dict) and isinstance(key, str):
                value = value.get(key)
            elif (
                isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value)
            ):
                value = value[key]
            else:
                return None
        return value


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _List:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Not:
    operand: Any


@dataclass(frozen=True)
class _Bool:
    op: str  # and | or
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class _Compare:
    op: str
    left: Any
    right: Any


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.refs: list[Reference] = []

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (text is None or tok.text == text)

    def expect(self, kind: str, text: str) -> None:
        if not self.is_(kind, text):
            self.fail(f"expected {text!r}")
        self.take()

    def fail(self, what: str) -> None:
        tok = self.peek()
        found = "the end" if tok.kind == "end" else repr(tok.text[:20])
        raise ConditionError(f"{what} at {tok.at}, found {found}")

    def parse(self) -> Any:
        node = self.or_()
        if not self.is_("end"):
            self.fail("expected the end of the expression")
        return node

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"expression nested deeper than {MAX_DEPTH} levels")

    def or_(self) -> Any:
        self.nest()
        items = [self.and_()]
        while self.is_("name", "or"):
            self.take()
            items.append(self.and_())
        self.depth -= 1
        return items[0] if len(items) == 1 else _Bool("or", tuple(items))

    def and_(self) -> Any:
        items = [self.not_()]
        while self.is_("name", "and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else _Bool("and", tuple(items))

    def not_(self) -> Any:
        if self.is_("name", "not") and not (
            self.peek(1).kind == "name" and self.peek(1).text == "in"
        ):
            self.take()
            self.nest()
            node = _Not(self.not_())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Any:
        left = self.operand()
        tok = self.peek()
        op: str | None = None
        if tok.kind == "op" and tok.text in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take().text
        elif tok.kind == "name" and tok.text == "in":
            self.take()
            op = "in"
        elif tok.kind == "name" and tok.text == "not" and self.peek(1).text == "in":
            self.take()
            self.take()
            op = "not in"
        if op is None:
            return left
        return _Compare(op, left, self.operand())

    def operand(self) -> Any:
        tok = self.peek()
        if tok.kind == "number":
            self.take()
            return _Literal(json.loads(tok.text))
        if tok.kind == "string":
            self.take()
            return _Literal(_unquote(tok.text))
        if tok.kind == "name" and tok.text in ("true", "false", "null"):
            self.take()
            return _Literal({"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "op" and tok.text == "(":
            self.take()
            node = self.or_()
            self.expect("op", ")")
            return node
        if tok.kind == "op" and tok.text == "[":
            self.take()
            items: list[Any] = []
            while not self.is_("op", "]"):
                if items:
                    self.expect("op", ",")
                lit = self.operand()
                if not isinstance(lit, _Literal):
                    self.fail("a list holds literals only")
                items.append(lit.value)
            self.take()
            return _List(tuple(items))
        if (tok.kind == "op" and tok.text == "$") or (
            tok.kind == "name" and tok.text not in _KEYWORDS
        ):
            return self.path()
        self.fail("expected a value or a path")
        raise AssertionError("unreachable")

    def path(self) -> Reference:
        start = self.peek().at
        first = self.take().text
        keys: list[str | int] = []
        while True:
            if self.is_("op", "."):
                self.take()
                if not self.is_("name"):
                    self.fail("expected a name after '.'")
                keys.append(self.take().text)
            elif self.is_("op", "["):
                self.take()
                tok = self.take()
                if tok.kind == "number" and re.fullmatch(r"-?\d+", tok.text):
                    keys.append(int(tok.text))
                elif tok.kind == "string":
                    keys.append(_unquote(tok.text))
                else:
                    self.i -= 1
                    self.fail("expected an integer or a string inside [ ]")
                self.expect("op", "]")
            else:
                break
        text = self.text[start : self.toks[self.i - 1].at + len(self.toks[self.i - 1].text)]
        ref = _reference(first, keys, text)
        self.refs.append(ref)
        return ref


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _reference(first: str, keys: list[str | int], text: str) -> Reference:
    if first in ("$", "tasks"):
        if not keys or not isinstance(keys[0], str):
            raise ConditionError(f"{text!r}: a task id must follow {first!r}")
        task_id = keys[0]
        if len(keys) < 2 or keys[1] not in TASK_FIELDS:
            raise ConditionError(
                f"{text!r}: after the task id comes one of {', '.join(TASK_FIELDS)}"
            )
        return Reference("task", task_id, str(keys[1]), tuple(keys[2:]), text)
    if first in OWN_ROOTS:
        if first == "iteration" and keys:
            raise ConditionError(f"{text!r}: iteration is a number, it has no fields")
        return Reference(first, None, None, tuple(keys), text)
    raise ConditionError(
        f"unknown name {first!r}: a path starts with $, tasks, output or iteration"
    )


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value != [] and value != {}


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    if op in ("in", "not in"):
        found = _contains(right, left)
        return found if op == "in" else not found
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    strings = isinstance(left, str) and isinstance(right, str)
    if not (numbers or strings):
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # JSON: true is not 1
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list | tuple):
        return any(_same(item, x) for x in container)
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    return False


def _eval(node: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _List):
        return list(node.items)
    if isinstance(node, Reference):
        return node.read(env)
    if isinstance(node, _Not):
        return not _truthy(_eval(node.operand, env))
    if isinstance(node, _Bool):
        if node.op == "and":
            return all(_truthy(_eval(n, env)) for n in node.operands)
        return any(_truthy(_eval(n, env)) for n in node.operands)
    assert isinstance(node, _Compare)
    return _compare(node.op, _eval(node.left, env), _eval(node.right, env))


@dataclass(frozen=True)
class Condition:
    """A parsed expression: ``references`` it reads, ``evaluate`` it over an environment
    (``{"tasks": {id: {"output", "text", "status"}}, "output": ..., "iteration": n}``)."""

    text: str
    tree: Any
    references: tuple[Reference, ...]

    def evaluate(self, env: Mapping[str, Any]) -> bool:
        return _truthy(_eval(self.tree, env))

    def values(self, env: Mapping[str, Any], limit: int = 200) -> dict[str, Any]:
        """What each path read, for the stream (long values cut to ``limit`` characters)."""
        out: dict[str, Any] = {}
        for ref in self.references:
            value = ref.read(env)
            if isinstance(value, str) and len(value) > limit:
                value = value[:limit] + "…"
            elif not isinstance(value, str | int | float | bool | type(None)):
                text = json.dumps(value, ensure_ascii=False, default=str)
                if len(text) > limit:
                    value = text[:limit] + "…"
            out[ref.text] = value
        return out


def parse_condition(text: str) -> Condition:
    """Parse ``text``; raises ``ConditionError`` when it is not in the language."""
    if not text.strip():
        raise ConditionError("empty expression")
    parser = _Parser(text)
    tree = parser.parse()
    return Condition(text, tree, tuple(parser.refs))
