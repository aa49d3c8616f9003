"""``python scripts/doc_references.py``: every file, module, name and command the docs name exists.

It reads the repository's Markdown (READMEs, ``docs/``, the bench notes) and the comments and
docstrings of its Python sources, and checks what they name in backticks:

- a path (``services/orchestrator/README.md``, ``runs/store/rows.py``, ``planning/``): it
  exists relative to the document's folder, the repository's root, or the source package the
  document belongs to (the orchestrator's README names ``runs/service.py`` for the file
  of that name in its ``src/mesh_orchestrator/``); a bare file name (``nodes.py``) exists
  somewhere in the tree;
- a dotted name of ours (``mesh_contracts.build_manifest``, ``mesh_orchestrator.runs.mux``):
  the module is in the tree and the name is defined in it (a class, function, assignment or
  import; ``Class.member`` inside the class);
- a command: ``python -m MODULE`` (a module of the tree, or one the environment imports),
  ``make TARGET`` (a target of the Makefile) and ``mesh COMMAND`` (a sub-command of the CLI).

What is clearly not a reference of ours is passed over: URLs, HTTP routes (``/v1/runs``),
placeholders (``<name>``, ``{id}``, ``*``), and files a command writes at run time that the
text says are made (the list ``MADE`` below, each with its reason). Exit status 1 and one
line per dangling reference (``file:line: what``) when any is found; ``tests/
test_doc_references.py`` runs it.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Names a doc may give that are made at run time or elsewhere, not files of the tree.
MADE = {
    # State `make run` and the services write under ./var, and the virtualenvs.
    "var",
    ".venv",
    ".venv-peers",
    # `mesh new-worker demo-echo`'s output, shown in the root README and the CLI's README.
    "services/workers/demo_echo",
    "src/mesh_worker_demo_echo",
    # What `mesh keys init` writes into the folder it is given (and its public half).
    "jwks.json",
    "public/jwks.json",
    "public/revoked",
    # The planning benchmark's held-out split: present only where it was handed over.
    "bench/planning/test.yaml",
    "test.yaml",
    # Written by the browser test and the dashboard's package-lock install.
    "tests/ui/node_modules",
    "node_modules",
    # compose/make-secrets.sh writes the keys, tokens and certificates here.
    "compose/secrets",
    "compose/.env",
    # Files of other projects' layouts: diffusers' and peft's model folders, the LoRA
    # trainer's job record inside an adapter folder.
    "model_index.json",
    "adapter_config.json",
    "mesh_job.json",
    # Example request bodies the orchestrator README's walk-throughs write with a heredoc.
    "branch.json",
    "loop.json",
    "ask.json",
    # The A2A conformance kit's checkout (a2aproject/a2a-tck), which the orchestrator README
    # runs against the mesh; none of it is in this tree.
    "tests/mandatory",
    "tests/optional",
    "tests/compatibility",
    "tck",
    "tck_workarounds.py",
    "test_artifacts.py",
    "scenarios",
    "run_tck.py",
}
# File endings that make a backticked word a path (a word with a '/' is one too).
ENDINGS = (
    ".py",
    ".md",
    ".yml",
    ".yaml",
    ".toml",
    ".txt",
    ".json",
    ".sh",
    ".npz",
    ".js",
    ".css",
    ".html",
    ".png",
    ".cfg",
    ".ini",
)
TOP = ("services/", "libs/", "clients/", "tests/", "scripts/", "bench/", "compose/", "k8s/")

SINGLE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
DOUBLE = re.compile(r"``([^`\n]+)``")
PATH = re.compile(r"^\.{0,2}/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*/?$")
DOTTED = re.compile(r"^(mesh_[a-z0-9_]+)((\.[A-Za-z_][A-Za-z0-9_]*)*)$")
PYTHON_M = re.compile(r"python(?:3(?:\.\d+)?)? -m ([A-Za-z_][A-Za-z0-9_.]*)(?![A-Za-z0-9_.<{])")
MAKE = re.compile(r"(?:^|[\s;(&|])make ((?:[a-z][a-z0-9-]*)(?: [a-z][a-z0-9-]*)*)")
MESH = re.compile(r"(?:^|[\s/;(&|])mesh ([a-z][a-z0-9-]*)")


@dataclass(frozen=True)
class Dangling:
    """One reference that names nothing: where it stands and what it names."""

    where: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: `{self.text}` names nothing that exists"


def tracked(pattern: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / f for f in out if "node_modules" not in f]


def documents() -> list[Path]:
    """The Markdown the checker reads: READMEs and notes, not the lookup worker's knowledge
    base (data about the mesh a user searches, checked by the lookup worker's own tests)."""
    return [p for p in tracked("*.md") if "/kb/" not in p.as_posix() and "tests/data" not in str(p)]


def sources() -> list[Path]:
    return [p for p in tracked("*.py") if "/tests/data/" not in p.as_posix()]


@cache
def packages() -> dict[str, Path]:
    """Each import name of the tree (``mesh_orchestrator``, ``bench``) -> its folder."""
    found = {p.name: p for p in ROOT.glob("*/*/src/*") if p.is_dir()}
    found |= {p.name: p for p in ROOT.glob("services/workers/*/src/*") if p.is_dir()}
    found |= {"bench": ROOT / "bench", "scripts": ROOT / "scripts", "tests": ROOT / "tests"}
    return {k: v for k, v in found.items() if not k.endswith(".egg-info")}


@cache
def make_targets() -> frozenset[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return frozenset(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


@cache
def mesh_commands() -> frozenset[str]:
    found: set[str] = set()
    for module in (ROOT / "clients/cli/src/mesh_cli").glob("*.py"):
        text = module.read_text(encoding="utf-8")
        found.update(re.findall(r"add_parser\(\s*\"([a-z][a-z0-9-]*)\"", text))
    return frozenset(found)


def package_of(doc: Path) -> Path | None:
    """The source package a document or module belongs to, if any."""
    for parent in [doc, *doc.parents]:
        src = parent / "src"
        if parent != ROOT and src.is_dir():
            inner = [p for p in src.iterdir() if p.is_dir() and not p.name.endswith("egg-info")]
            if len(inner) == 1:
                return inner[0]
        if parent.parent.name == "src":
            return parent
    return None


@cache
def tracked_names() -> frozenset[str]:
    """The name of every file and folder of the tree (for a bare ``nodes.py``)."""
    names = set()
    for path in tracked("*"):
        rel = path.relative_to(ROOT)
        names.add(rel.name)
        names.update(part for part in rel.parts[:-1])
    return frozenset(names)


def made(word: str) -> bool:
    parts = word.split("/")
    return any("/".join(parts[: i + 1]) in MADE for i in range(len(parts))) or parts[-1] in MADE


def bases(doc: Path) -> list[Path]:
    """Where a relative path in ``doc`` may start: its folder, the root, its package (and
    the package's ``src`` and project folders)."""
    found = [doc.parent, ROOT]
    package = package_of(doc)
    if package is not None:
        found += [package, package.parent, package.parent.parent]
    return found


def path_exists(word: str, doc: Path) -> bool:
    clean = word.rstrip("/")
    if made(clean):
        return True
    if "/" not in clean:
        return clean in tracked_names()
    # a path with a folder: from the document, the root, its package, or any package (the
    # bench's notes name the orchestrator's ``relay/stream_client.py``)
    starts = bases(doc) + [p for pkg in packages().values() for p in (pkg, pkg.parent)]
    return any((base / clean).exists() for base in starts)


def rooted(word: str, doc: Path) -> bool:
    """Whether a path without a file ending starts at a folder of the tree (``runs/store``)
    rather than being a MIME type, a JSON-RPC method or a route (``image/png``, ``tools/call``)."""
    first = word.split("/", 1)[0]
    starts = bases(doc) + list(packages().values())
    return any((base / first).is_dir() for base in starts)


@cache
def module_file(dotted: str) -> Path | None:
    """The source file of a module of the tree, or None when the tree has no such module."""
    head, *rest = dotted.split(".")
    folder = packages().get(head)
    if folder is None:
        return None
    target = folder.joinpath(*rest)
    if (target / "__init__.py").is_file():
        return target / "__init__.py"
    if target.with_suffix(".py").is_file():
        return target.with_suffix(".py")
    return None


@cache
def defined(module: Path) -> dict[str, ast.AST]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.setdefault(node.name, node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        names.setdefault(name.id, node)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                names.setdefault((alias.asname or alias.name).split(".")[0], node)
    return names


def dotted_exists(word: str) -> bool:
    parts = word.split(".")
    for cut in range(len(parts), 0, -1):
        module = module_file(".".join(parts[:cut]))
        if module is None:
            continue
        rest = parts[cut:]
        if not rest:
            return True
        # the first name must be defined in the module; deeper ones (attributes of an
        # instance, members of a class) are not followed
        return rest[0] in defined(module)
    return False


def module_exists(name: str, doc: Path) -> bool:
    if (doc.parent / f"{name}.py").is_file():
        return True  # a helper module run beside the tests that start it
    if name.split(".")[0] in packages():
        return module_file(name) is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_word(word: str, doc: Path) -> bool:
    """Whether one backticked word names something that exists (True when it names nothing
    this checker knows how to look for)."""
    word = word.strip().rstrip(".,:;")
    for command in PYTHON_M.findall(word):
        if not command.isupper() and not module_exists(command, doc):
            return False
    for targets in MAKE.findall(word):
        if not all(t in make_targets() for t in targets.split()[:1]):
            return False
    for command in MESH.findall(" " + word):
        if (
            word.lstrip().startswith(("mesh ", ".venv/bin/mesh "))
            and command not in mesh_commands()
        ):
            return False
    if " " in word:
        return True
    if DOTTED.match(word) and not word.endswith(ENDINGS):
        # a dotted name of ours; one without a dot is a metric or table name unless it is a
        # package
        return ("." not in word and word not in packages()) or dotted_exists(word)
    if word.startswith(("/", "http", "~", "$", ".")) or any(c in word for c in "<>{}*[]()=|@:,"):
        return True
    if not PATH.match(word) or word[0].isdigit():
        return True
    if any(part.isupper() for part in re.split(r"[/.]", word)):
        return True  # a placeholder: DIR/issuer.pem
    if re.fullmatch(r"[\w-]+(/[\w-]+)+\.[A-Za-z_]\w*", word) and not word.endswith(ENDINGS):
        # a module's path, a dot and a name defined in it (the orchestrator's limits.start_run)
        module_path, name = word.rsplit(".", 1)
        files = [b / f"{module_path}.py" for b in bases(doc) if (b / f"{module_path}.py").is_file()]
        if files:
            return any(name in defined(f) for f in files)
    if word.endswith(ENDINGS):
        return path_exists(word, doc)
    if "/" in word and rooted(word, doc):
        return path_exists(word, doc)
    return True


def code_block_words(text: str) -> list[tuple[int, str]]:
    """Commands in fenced ``bash`` blocks and ``$``-prompted lines of ``console`` blocks: each
    command (``python -m``, ``make``, ``mesh``) and each path that starts at a top folder."""
    found: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else (stripped[3:].strip() or "text")
            continue
        if fence is None:
            continue
        command = None
        if fence in ("bash", "sh", "shell"):
            command = stripped.split("#", 1)[0]
        elif fence == "console" and stripped.startswith("$ "):
            command = stripped[2:].split("#", 1)[0]
        if not command:
            continue
        for m in PYTHON_M.finditer(command):
            found.append((number, m.group(0)))
        for m in MAKE.finditer(command):
            found.append((number, "make " + m.group(1).split()[0]))
        for token in re.split(r"[\s=\"';|&()]+", command):
            token = token.split("::", 1)[0]
            if token.startswith(TOP) and PATH.match(token):
                found.append((number, token))
    return found


def shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def check_markdown(doc: Path) -> list[Dangling]:
    text = doc.read_text(encoding="utf-8")
    out: list[Dangling] = []
    where = shown(doc)
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or "<!-- refs: skip -->" in line:
            continue
        for word in DOUBLE.findall(line) + SINGLE.findall(line):
            if not check_word(word, doc):
                out.append(Dangling(where, number, word))
    for number, word in code_block_words(text):
        if not check_word(word, doc):
            out.append(Dangling(where, number, word))
    return out


def check_python(module: Path) -> list[Dangling]:
    """Comments and docstrings of one module: backticked words that are paths or commands."""
    text = module.read_text(encoding="utf-8")
    where = shown(module)
    prose: list[tuple[int, str]] = []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                value = body[0].value.value
                if isinstance(value, str):
                    for offset, line in enumerate(value.splitlines()):
                        prose.append((body[0].lineno + offset, line))
    for number, line in enumerate(text.splitlines(), 1):
        if "#" in line and line.lstrip().startswith("#"):
            prose.append((number, line.lstrip()[1:]))
    out = []
    for number, line in prose:
        if "refs: skip" in line:
            continue
        for word in DOUBLE.findall(line) + SINGLE.findall(line):
            # in code, only what is clearly a reference: a path with a folder or an ending,
            # a dotted name of ours, or a command
            if not (
                "/" in word
                or word.endswith(ENDINGS)
                or DOTTED.match(word.strip())
                or PYTHON_M.search(word)
                or MAKE.search(word)
            ):
                continue
            if not check_word(word, module):
                out.append(Dangling(where, number, word))
    return out


def check(markdown: list[Path] | None = None, python: list[Path] | None = None) -> list[Dangling]:
    """Every dangling reference of these documents and modules (by default, the tree's)."""
    found: list[Dangling] = []
    for doc in documents() if markdown is None else markdown:
        found += check_markdown(doc)
    for module in sources() if python is None else python:
        found += check_python(module)
    return found


def main() -> int:
    dangling = check()
    for d in dangling:
        print(d)
    print(f"{len(dangling)} dangling references", file=sys.stderr)
    return 1 if dangling else 0


if __name__ == "__main__":
    sys.exit(main())
