"""``python -m bench.planning.train``: train the intent model and write it into the package.

Generates the training sentences (``data.py``), trains a multinomial logistic regression on
their hashed n-gram features (``mesh_orchestrator.planning.intent.model``) with mini-batch
SGD in numpy, prints its accuracy on a held-out tenth of the generated sentences (a sanity
check: the benchmark is the measure), and writes the weights as float16 to
``planning/intent/intent.npz``. Seeded and single-threaded: the same run gives the same file.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from bench.planning.train.data import LANGS, module, sentences
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.model import CLASSES, DIMENSIONS, WEIGHTS, features, tokens

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
            z = np.zeros((len(batch), c), dtype=np.float32)
            np.add.at(z, owner, w[ids] * vals[:, None])
            z += b
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(batch)), labels[batch]] -= 1
            grad = p[owner] * vals[:, None]
            uniq, inv = np.unique(ids, return_inverse=True)
            g = np.zeros((len(uniq), c), dtype=np.float32)
            np.add.at(g, inv, grad)
            w[uniq] -= rate * (g / len(batch) + l2 * w[uniq])
            b -= rate * p.mean(axis=0)
    return w, b


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.planning.train")
    ap.add_argument("--per-class", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2.0)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(WEIGHTS))
    args = ap.parse_args()
    started = time.perf_counter()
    data = list(sentences(args.per_class, args.seed))
    random.Random(args.seed).shuffle(data)
    cut = len(data) // 10
    held, used = data[:cut], data[cut:]
    index = {name: i for i, name in enumerate(CLASSES)}
    rows = [features(text) for _, _, text in used]
    labels = np.array([index[cls] for _, cls, _ in used])
    w, b = train(rows, labels, epochs=args.epochs, lr=args.lr, l2=args.l2, seed=args.seed)
    right = 0
    for _, cls, text in held:
        ids = features(text)
        z = w[ids].sum(axis=0) / np.sqrt(len(ids)) + b
        right += int(np.argmax(z)) == index[cls]
    np.savez_compressed(
        args.out,
        weights=w.astype(np.float16),
        bias=b.astype(np.float16),
        openers=np.array(openers()),
        action_openers=np.array(action_openers()),
        mixed_openers=np.array(mixed_openers()),
    )
    print(
        f"{len(used)} sentences, {len(CLASSES)} classes; held-out accuracy {right / len(held):.3f} "
        f"on {len(held)} generated sentences; {time.perf_counter() - started:.1f}s; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
