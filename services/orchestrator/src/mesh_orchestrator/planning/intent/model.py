"""The intent model: which job a clause asks for, from hashed word and character n-grams.

A multinomial logistic regression (numpy only) over features hashed into ``DIMENSIONS``
buckets: the clause's words, word pairs, its first word (a request's verb usually stands
there), and the character 3- to 5-grams of each word, which carry a verb across its forms
("traduis", "traduce", "traduzir") and survive typos. Accents are stripped and quotations,
pasted data and pasted prose become the tokens ``qqq``, ``ddd`` and ``ppp``, so what a
request quotes or pastes never decides what it asks.

The weights are trained by ``bench/planning/train`` on phrasings written for it in seven
languages (never on the benchmark's requests) and shipped as ``intent.npz`` next to this
module (float16, a few MB). Loading takes milliseconds; a prediction well under one.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

CLASSES = (
    "text_generation",
    "code_generation",
    "summarization",
    "translation",
    "search",
    "data_analysis",
    "image_generation",
    "lora_training",
    "action",  # a thing done in the world (book, pay, call): no agent here does it
    "none",  # not a job: a constraint, a remark, context, or data being handed over
)
JOBS = CLASSES[:8]
DIMENSIONS = 1 << 17
WEIGHTS = Path(__file__).with_name("intent.npz")

Floats = npt.NDArray[np.float32]

_QUOTE = re.compile(
    r"\"[^\"\n]{1,400}\"|\u201c[^\u201d]{1,400}\u201d|\u00ab[^\u00bb]{1,400}\u00bb|\u201e[^\u201c\u201d]{1,400}[\u201c\u201d]|(?<![\w'])'[^'\n]{1,200}'(?!\w)"
)
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[?]")


#: The texts ``normalize`` and ``tokens`` keep their answers for (at most this many each,
#: each at most ``MEMO_CHARS`` long; the whole memo is dropped when it is full). One plan
#: asks for the same few texts ~30 times (the request, its clauses: bench/README.md,
#: "Round 16: lean-runs16"); both are pure functions of the text.
MEMO_TEXTS = 256
MEMO_CHARS = 4096
_T = TypeVar("_T")
_normalized: dict[str, str] = {}
_tokenized: dict[str, tuple[str, ...]] = {}
#: Round 17: the one text longer than ``MEMO_CHARS`` asked last (a long request, asked for
#: whole by a dozen readers of one plan, was normalized afresh by each: ~12 characters a
#: character of it; one text, so the memory stays bounded).
_long_normalized: dict[str, str] = {}
_long_tokenized: dict[str, tuple[str, ...]] = {}


def _remember(memo: dict[str, _T], long: dict[str, _T], text: str, done: _T) -> None:
    if len(text) > MEMO_CHARS:
        long.clear()
        long[text] = done
        return
    if len(memo) >= MEMO_TEXTS:
        memo.clear()
    memo[text] = done


def _normalize(text: str) -> str:
    text = _QUOTE.sub(" qqq ", text)
    if text.isascii():  # NFKD leaves ASCII as it is, and no ASCII character combines
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.lower().replace("\u00df", "ss")


def normalize(text: str) -> str:
    """Lower case, no accents, quotations as ``qqq``."""
    done = _normalized.get(text) or _long_normalized.get(text)
    if done is None:
        done = _normalize(text)
        _remember(_normalized, _long_normalized, text, done)
    return done


def tokens(text: str) -> list[str]:
    """``normalize(text)``'s words (a list of the caller's own)."""
    done = _tokenized.get(text) or _long_tokenized.get(text)
    if done is None:
        done = tuple(_TOKEN.findall(normalize(text)))
        _remember(_tokenized, _long_tokenized, text, done)
    return list(done)


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode()) % DIMENSIONS


def features(text: str) -> npt.NDArray[np.int64]:
    """The hashed feature ids of ``text`` (each counts once)."""
    words = tokens(text)
    out: list[str] = []
    if words:
        out.append("f:" + words[0])
        if len(words) > 1:
            out.append("f2:" + words[0] + "_" + words[1])
        for w in words[:2]:  # the head of a request says what to do: its letters count twice
            padded = f"<{w}>"
            out.extend("h:" + padded[k : k + 4] for k in range(max(1, len(padded) - 3)))
    else:
        out.append("empty")
    for i, w in enumerate(words):
        out.append("w:" + w)
        if i:
            out.append("b:" + words[i - 1] + "_" + w)
        padded = f"<{w}>"
        for n in (3, 4, 5):
            out.extend("c:" + padded[k : k + n] for k in range(max(1, len(padded) - n + 1)))
    return np.unique(np.fromiter((_hash(f) for f in out), dtype=np.int64))


#: Texts whose logits one model keeps (``IntentModel.logits``): ~60 bytes a row, plus the text.
CACHED_TEXTS = 4096


class IntentModel:
    """``probabilities(texts)``: one row of class probabilities (``CLASSES``) per text.
    ``openers``: prefixes of the words that open a job in the training phrasings (the
    segmenter splits "and" or a comma before one); ``action_openers``: those of them that
    open only actions in the world ("book", "paga", "bel"); ``mixed_openers``: those that
    open actions and jobs alike ("turn", "maak")."""

    def __init__(
        self,
        weights: Floats,
        bias: Floats,
        openers: frozenset[str],
        action_openers: frozenset[str] = frozenset(),
        mixed_openers: frozenset[str] = frozenset(),
    ) -> None:
        self.weights = weights
        self.bias = bias
        self.openers = openers
        self.action_openers = action_openers
        self.mixed_openers = mixed_openers
        # Each text's row of logits, as computed (``logits``): a plan reads the same
        # segments three or four times (before and after moving data between them, see
        # ``IntentPlanner._route``), and a request's texts recur. Emptied when full; a new
        # model (other weights) starts with its own.
        self._rows: dict[str, Floats] = {}

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> IntentModel:
        with np.load(path) as z:
            return cls(
                z["weights"].astype(np.float32),
                z["bias"].astype(np.float32),
                frozenset(str(o) for o in z["openers"]),
                frozenset(str(o) for o in z["action_openers"])
                if "action_openers" in z.files
                else frozenset(),
                frozenset(str(o) for o in z["mixed_openers"])
                if "mixed_openers" in z.files
                else frozenset(),
            )

    def logits(self, texts: list[str]) -> Floats:
        """Features never seen in training have no weight; the sum is scaled by the number
        of known ones, so a long topic the model never saw does not wash out the ask."""
        out = np.empty((len(texts), len(CLASSES)), dtype=np.float32)
        cache = self._rows
        for i, text in enumerate(texts):
            row = cache.get(text)
            if row is None:
                rows = self.weights[features(text)]
                known = max(1, int(np.count_nonzero(np.any(rows != 0, axis=1))))
                row = (rows.sum(axis=0) / np.sqrt(known) + self.bias).astype(np.float32)
                row.flags.writeable = False
                if len(cache) >= CACHED_TEXTS:
                    cache.clear()
                cache[text] = row
            out[i] = row
        return out

    def probabilities(self, texts: list[str]) -> Floats:
        z = self.logits(texts)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        result: Floats = e / e.sum(axis=1, keepdims=True)
        return result


_SHARED: dict[str, Any] = {}
_LOCK = threading.Lock()


def shared(path: Path = WEIGHTS) -> IntentModel:
    """The process-wide model loaded from ``path`` (once)."""
    with _LOCK:
        model = _SHARED.get(str(path))
        if model is None:
            model = _SHARED[str(path)] = IntentModel.load(path)
        return model  # type: ignore[no-any-return]
