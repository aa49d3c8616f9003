"""The orchestrator is built by composition: read from its source (AST), no class inherits
from another class of ``mesh_orchestrator`` to share its state, a run's ``RunState`` is
built by ``graph.policy.initial_state`` alone, and tracing is a member that does nothing
when off (no ``tracer is None`` branches).

Subclassing a class of our own is allowed only within the families whose point is the
type: exceptions, enums, protocols, pydantic models and typed dicts."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import mesh_orchestrator

PACKAGE = Path(mesh_orchestrator.__file__).parent

# Bases (library or stdlib) whose subclasses form a family one may extend further.
FAMILY_ROOTS = frozenset(
    {
        "BaseException",
        "Exception",
        "Enum",
        "IntEnum",
        "StrEnum",
        "Flag",
        "Protocol",
        "BaseModel",
        "BaseSettings",
        "TypedDict",
        "NamedTuple",
    }
)


@dataclass
class ClassInfo:
    module: str
    name: str
    line: int
    bases: list[str]  # each base as written, resolved to "module:Class" when it is ours


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache  # parsed once for the module's tests, which only read the trees
def _sources() -> dict[str, ast.Module]:
    return {
        _module_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p))
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def _classes(sources: dict[str, ast.Module]) -> dict[str, ClassInfo]:
    """Every class of the package by ``module:Name``, its bases resolved through the module's
    own classes and its ``from mesh_orchestrator... import`` names."""
    defined = {
        mod: {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
        for mod, tree in sources.items()
    }
    found: dict[str, ClassInfo] = {}
    for mod, tree in sources.items():
        names: dict[str, str] = {name: f"{mod}:{name}" for name in defined[mod]}
        modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "mesh_orchestrator"
            ):
                src = node.module or ""
                for alias in node.names:
                    local = alias.asname or alias.name
                    if alias.name in defined.get(src, set()):
                        names[local] = f"{src}:{alias.name}"
                    elif f"{src}.{alias.name}" in defined:
                        modules[local] = f"{src}.{alias.name}"
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases: list[str] = []
            for b in node.bases:
                target = b.value if isinstance(b, ast.Subscript) else b  # Generic[T], Protocol[T]
                if isinstance(target, ast.Name):
                    bases.append(names.get(target.id, target.id))
                elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    owner = modules.get(target.value.id)
                    ours = owner is not None and target.attr in defined.get(owner, set())
                    bases.append(f"{owner}:{target.attr}" if ours else target.attr)
                else:
                    bases.append(ast.unparse(target))
            found[f"{mod}:{node.name}"] = ClassInfo(mod, node.name, node.lineno, bases)
    return found


def _in_family(key: str, classes: dict[str, ClassInfo], seen: frozenset[str] = frozenset()) -> bool:
    """Whether the class ``key`` descends from one of ``FAMILY_ROOTS`` (an exception, an
    enum, a protocol, a model, a typed dict) or from a library class ending in ``Error``."""
    info = classes.get(key)
    if info is None or key in seen:
        return False
    for base in info.bases:
        if base in classes:
            if _in_family(base, classes, seen | {key}):
                return True
        elif base in FAMILY_ROOTS or base.endswith(("Error", "Exception")):
            return True
    return False


def own_subclasses(classes: dict[str, ClassInfo]) -> list[str]:
    """``module:Class(Base)`` for each class that subclasses a class of the package outside
    the allowed families."""
    bad = []
    for info in classes.values():
        for base in info.bases:
            if base in classes and not _in_family(base, classes):
                bad.append(f"{info.module}:{info.line} {info.name}({base})")
    return sorted(bad)


def test_no_orchestrator_class_inherits_from_another_of_its_own_classes() -> None:
    classes = _classes(_sources())
    assert len(classes) > 50  # the package's classes were read
    assert own_subclasses(classes) == []


def test_the_guard_catches_a_mixin_stack_and_allows_the_type_families() -> None:
    """The check itself, on a throw-away package: a stack of our own classes is caught,
    through a from-import and a module attribute, and the families pass."""
    sources = {
        "mesh_orchestrator.a": ast.parse(
            "class Base:\n    pass\n"
            "class Oops(Exception):\n    pass\n"
            "class Kind(StrEnum):\n    X = 'x'\n"
        ),
        "mesh_orchestrator.b": ast.parse(
            "from mesh_orchestrator.a import Base, Oops, Kind\n"
            "from mesh_orchestrator import a\n"
            "class Stacked(Base):\n    pass\n"
            "class ByAttribute(a.Base):\n    pass\n"
            "class Worse(Oops):\n    pass\n"
            "class Kinder(Kind):\n    pass\n"
            "class Library(dict):\n    pass\n"
        ),
    }
    bad = own_subclasses(_classes(sources))
    assert [b.split(" ", 1)[1] for b in bad] == [
        "Stacked(mesh_orchestrator.a:Base)",
        "ByAttribute(mesh_orchestrator.a:Base)",
    ]


# The keys of a run's starting state that only ``initial_state`` may set.
STATE_KEYS = frozenset(
    {
        "run_id",
        "owner",
        "query",
        "client_plan",
        "plan",
        "planner",
        "reason",
        "max_replans",
        "max_llm_attempts",
        "approved",
        "plan_announced",
        "budget_used",
        "resume_done",
        "resume_attempts",
        "resume_inputs",
        "resume_pinned",
    }
)


def test_a_runs_starting_state_is_built_by_initial_state_alone() -> None:
    """Outside ``graph/`` no code calls ``RunState(...)`` or writes a starting-state key
    into a state after ``initial_state`` built it (``state["resume_done"] = ...``)."""
    hand_built = []
    for mod, tree in _sources().items():
        if mod.startswith("mesh_orchestrator.graph"):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "RunState"
            ):
                hand_built.append(f"{mod}:{node.lineno} RunState(...)")
            targets = node.targets if isinstance(node, ast.Assign) else []
            for t in targets:
                if (
                    isinstance(t, ast.Subscript)
                    and isinstance(t.slice, ast.Constant)
                    and t.slice.value in STATE_KEYS
                    # a model's own field dict (``record.__dict__["plan"]``) is no run state
                    and not (isinstance(t.value, ast.Attribute) and t.value.attr == "__dict__")
                ):
                    hand_built.append(f"{mod}:{node.lineno} {ast.unparse(t)} = ...")
    assert hand_built == []


def test_tracing_off_is_a_member_that_does_nothing_not_a_branch() -> None:
    """No ``tracer is None`` / ``tracer is not None`` / ``if tracer`` anywhere."""
    branches = []
    for mod, tree in _sources().items():
        for node in ast.walk(tree):
            test = node.test if isinstance(node, (ast.If, ast.IfExp, ast.While)) else None
            if isinstance(node, ast.Compare) and any(
                isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops
            ):
                test = node
            if test is not None and "tracer" in ast.unparse(test):
                branches.append(f"{mod}:{node.lineno} {ast.unparse(test)}")
    assert branches == []
