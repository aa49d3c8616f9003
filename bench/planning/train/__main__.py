"""``python -m bench.planning.train``: train the intent model and write it into the package.

Generates the training sentences (``data.py``), trains a multinomial logistic regression on
their hashed n-gram features (``mesh_orchestrator.planning.intent.model``) with mini-batch
SGD in numpy, prints its accuracy on a held-out tenth of the generated sentences (a sanity
check: the benchmark is the measure), and writes the weights as float16 to
``planning/intent/intent.npz``. Seeded and single-threaded: the same run gives the same file.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.planning.__main__ import load_manifest
from bench.planning.edges import dev_batches
from bench.planning.train.data import LANGS, module, sentences
from bench.planning.train.dev import Example, examples
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.model import CLASSES, DIMENSIONS, WEIGHTS, features, tokens

# Times each dev clause is repeated among the phrasings (see ``--cv``): 10, the weight that
# leave-one-batch-out chose (bench/planning/README.md).
DEV_WEIGHT = 10
INDEX = {name: i for i, name in enumerate(CLASSES)}

# First words that are no verb: articles, courtesy, question words, joiners.
_NOT_OPENERS = (
    lx.ARTICLES
    | lx.POLITE
    | lx.QUESTION
    | lx.DETERMINER
    | lx.NEGATION
    | frozenset(
        [
            "i",
            "we",
            "my",
            "mi",
            "ma",
            "mon",
            "mein",
            "meu",
            "il",
            "ik",
            "je",
            "ich",
            "eu",
            "io",
            "you",
            "it",
            "is",
            "this",
            "ddd",
            "ppp",
            "qqq",
        ]
    )
)


def _opener_classes() -> dict[str, set[str]]:
    """Prefix (at most five letters) of the first word of every job template -> the classes
    whose templates start with it."""
    out: dict[str, set[str]] = {}
    for lang in LANGS:
        for cls, templates in module(lang).TEMPLATES.items():
            if cls == "none":
                continue
            for template in templates:
                words = tokens(template.split("{")[0] if template.startswith("{") else template)
                if not words or words[0] in _NOT_OPENERS or len(words[0]) < 3:
                    continue
                if words[0].split("'")[0] in lx.QUESTION:
                    continue
                out.setdefault(words[0].split("-")[0][:5], set()).add(cls)
    return out


def openers() -> list[str]:
    """Prefixes (at most five letters) of the first word of every job template."""
    return sorted(_opener_classes())


def action_openers() -> list[str]:
    """The openers that start only actions in the world ("book", "bel", "paga"): a clause
    they head is an action unless the model is sure of a job."""
    return sorted(p for p, classes in _opener_classes().items() if classes == {"action"})


def mixed_openers() -> list[str]:
    """The openers that start actions and jobs alike ("turn", "make", "maak"): a verb that
    decides nothing by itself."""
    return sorted(
        p for p, classes in _opener_classes().items() if "action" in classes and len(classes) > 1
    )


def _batches(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[k : k + size] for k in range(0, n, size)]


def train(
    rows: list[np.ndarray], labels: np.ndarray, *, epochs: int, lr: float, l2: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = len(CLASSES)
    w = np.zeros((DIMENSIONS, c), dtype=np.float32)
    b = np.zeros(c, dtype=np.float32)
    scale = [np.float32(1 / np.sqrt(len(r))) for r in rows]
    for epoch in range(epochs):
        rate = lr * (1 - epoch / epochs) + lr * 0.05
        for batch in _batches(len(rows), 64, rng):
            ids = np.concatenate([rows[i] for i in batch])
            lengths = np.array([len(rows[i]) for i in batch])
            owner = np.repeat(np.arange(len(batch)), lengths)
            vals = np.repeat(np.array([scale[i] for i in batch], dtype=np.float32), lengths)
            # every row has a feature ("empty" at least): its sum is one reduceat slice
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            z = np.add.reduceat(w[ids] * vals[:, None], starts, axis=0)
            z += b
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(batch)), labels[batch]] -= 1
            grad = p[owner] * vals[:, None]
            uniq, inv = np.unique(ids, return_inverse=True)
            g = np.stack(
                [np.bincount(inv, weights=grad[:, k], minlength=len(uniq)) for k in range(c)],
                axis=1,
            ).astype(np.float32)
            w[uniq] -= rate * (g / len(batch) + l2 * w[uniq])
            b -= rate * p.mean(axis=0)
    return w, b


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: the phrasings' generator and SGD's settings, and how much the
    dev split's clauses (``dev.py``) weigh: each is repeated ``dev_weight`` times (0: none)."""

    per_class: int = 500
    epochs: int = 12
    lr: float = 2.0
    l2: float = 1e-4
    seed: int = 7
    dev_weight: int = DEV_WEIGHT
    # clauses of this many generated whole requests (``synth.py``), labelled as the dev
    # split's are, each repeated ``synth_weight`` times (0: none; see "Round 10" in the README)
    synth: int = 0
    synth_weight: int = 1


class Phrasings:
    """The generated sentences, split into the nine tenths trained on and a held-out tenth,
    with their features computed once."""

    def __init__(self, recipe: Recipe) -> None:
        data = list(sentences(recipe.per_class, recipe.seed))
        random.Random(recipe.seed).shuffle(data)
        cut = len(data) // 10
        self.held, used = data[:cut], data[cut:]
        self.rows = [features(text) for _, _, text in used]
        self.labels = [INDEX[cls] for _, cls, _ in used]


def fit(
    recipe: Recipe,
    phrasings: Phrasings,
    extra: list[tuple[str, str]] | None = None,
    synth: list[tuple[str, str]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias from the phrasings, ``extra`` (text, class) repeated
    ``recipe.dev_weight`` times and ``synth`` (the same, of generated requests) repeated
    ``recipe.synth_weight`` times."""
    rows = list(phrasings.rows)
    labels = list(phrasings.labels)
    for more, times in ((extra, recipe.dev_weight), (synth, recipe.synth_weight)):
        if not times or not more:
            continue
        ids = [features(text) for text, _ in more]
        for _ in range(times):
            rows += ids
            labels += [INDEX[cls] for _, cls in more]
    return train(
        rows,
        np.array(labels),
        epochs=recipe.epochs,
        lr=recipe.lr,
        l2=recipe.l2,
        seed=recipe.seed,
    )


def accuracy(w: np.ndarray, b: np.ndarray, held: list[tuple[str, str, str]]) -> float:
    right = 0
    for _, cls, text in held:
        ids = features(text)
        z = w[ids].sum(axis=0) / np.sqrt(len(ids)) + b
        right += int(np.argmax(z)) == INDEX[cls]
    return right / max(1, len(held))


def save(path: str | Path, w: np.ndarray, b: np.ndarray) -> None:
    """``intent.npz`` as ``np.load`` reads it, with fixed zip timestamps: the same weights
    give the same bytes."""
    arrays = {
        "weights": w.astype(np.float16),
        "bias": b.astype(np.float16),
        "openers": np.array(openers()),
        "action_openers": np.array(action_openers()),
        "mixed_openers": np.array(mixed_openers()),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue())


def build(recipe: Recipe, out: str | Path, log: bool = True) -> None:
    """Train as the shipped file is trained: a model on the phrasings alone labels the dev
    split's clauses (``dev.py``); the model written is trained on both."""
    started = time.perf_counter()
    phrasings = Phrasings(recipe)
    w, b = fit(replace(recipe, dev_weight=0), phrasings)
    extra: list[tuple[str, str]] = []
    synth: list[tuple[str, str]] = []
    if recipe.dev_weight or recipe.synth:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "phrasings.npz"
            save(base, w, b)
            if recipe.dev_weight:
                extra = [(e.text, e.label) for e in dev_examples(base)]
            synth = synth_examples(IntentPlanner(base), recipe.synth)
        w, b = fit(recipe, phrasings, extra, synth)
    save(out, w, b)
    if log:
        print(
            f"{len(phrasings.rows)} sentences and {len(extra)} dev clauses (x{recipe.dev_weight}), "
            f"{len(CLASSES)} classes; held-out accuracy {accuracy(w, b, phrasings.held):.3f} on "
            f"{len(phrasings.held)} generated sentences; {time.perf_counter() - started:.1f}s; "
            f"wrote {out}"
        )


def synth_examples(planner: IntentPlanner, n: int) -> list[tuple[str, str]]:
    """The clauses of ``n`` generated requests (``synth.py``), labelled as the dev split's
    are (``dev.py``) by ``planner``."""
    if not n:
        return []
    from bench.planning.train.synth import expected

    manifest = load_manifest()
    return [(e.text, e.label) for req in expected(n) for e in examples(planner, manifest, req)]


def dev_examples(weights: Path, files: set[str] | None = None) -> list[Example]:
    """The dev split's labelled clauses (of ``files``, by batch name; all when None), as the
    planner with ``weights`` segments and routes them."""
    manifest = load_manifest()
    planner = IntentPlanner(weights)
    return [
        e
        for name, reqs in dev_batches().items()
        if files is None or name in files
        for req in reqs
        for e in examples(planner, manifest, req)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.planning.train")
    ap.add_argument("--per-class", type=int, default=Recipe.per_class)
    ap.add_argument("--epochs", type=int, default=Recipe.epochs)
    ap.add_argument("--lr", type=float, default=Recipe.lr)
    ap.add_argument("--l2", type=float, default=Recipe.l2)
    ap.add_argument("--seed", type=int, default=Recipe.seed)
    ap.add_argument(
        "--dev-weight",
        type=int,
        default=Recipe.dev_weight,
        help="times each dev clause is repeated among the phrasings (0: phrasings only)",
    )
    ap.add_argument(
        "--synth",
        type=int,
        default=Recipe.synth,
        metavar="N",
        help="also train on the clauses of N generated requests (synth.py; 0: none)",
    )
    ap.add_argument("--synth-weight", type=int, default=Recipe.synth_weight)
    ap.add_argument("--out", default=str(WEIGHTS))
    ap.add_argument(
        "--cv",
        action="append",
        type=int,
        metavar="DEV_WEIGHT",
        help="leave one dev batch out with these dev weights (repeatable), beside the shipped "
        "model and the phrasings alone; writes nothing into the package",
    )
    ap.add_argument("--cv-json", default=None, help="with --cv: write the folds here")
    ap.add_argument(
        "--cv-fold",
        action="append",
        metavar="NAME",
        help="with --cv: hold out only these dev files (requests, batch1, ...), in this order",
    )
    args = ap.parse_args()
    recipe = Recipe(
        args.per_class,
        args.epochs,
        args.lr,
        args.l2,
        args.seed,
        args.dev_weight,
        args.synth,
        args.synth_weight,
    )
    if args.cv:
        from bench.planning.train.cv import cross_validate

        cross_validate(recipe, args.cv, args.cv_json, args.cv_fold)
        return 0
    build(recipe, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
