"""Token ids to text deltas, and stop strings, without any model.

A token does not always decode to whole characters: byte-level BPE splits multi-byte UTF-8
characters (emoji, CJK) across tokens, and a lone piece decodes to U+FFFD. So the decoder
re-decodes the whole answer so far and emits only what is new and complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

_REPLACEMENT = "\ufffd"


class Detokenizer(Protocol):
    """The part of a Hugging Face tokenizer the decoder needs."""

    def decode(self, token_ids: Sequence[int], *, skip_special_tokens: bool = ...) -> str: ...


class IncrementalDecoder:
    """Feed generated token ids one by one; get back the text each one completes.

    The concatenation of every ``push`` result plus ``flush`` equals the decode of all ids.
    """

    def __init__(self, tokenizer: Detokenizer) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._emitted = ""

    @property
    def token_count(self) -> int:
        return len(self._ids)

    def push(self, token_id: int) -> str:
        """Add one token; return the newly completed text (often "", never a partial char)."""
        self._ids.append(token_id)
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        if text.endswith(_REPLACEMENT):
            return ""  # an incomplete UTF-8 sequence: wait for the next token
        return self._take(text)

    def flush(self) -> str:
        """Whatever is left at the end, incomplete characters included."""
        return self._take(self._tokenizer.decode(self._ids, skip_special_tokens=True))

    def _take(self, text: str) -> str:
        # Text already sent cannot be taken back: if a tokenizer ever re-spaces earlier
        # text, send only what lies past the part already emitted.
        delta = text[len(self._emitted) :]
        self._emitted += delta
        return delta


class StopMatcher:
    """Cuts a text stream at the first stop string, holding back a possible stop prefix.

    ``feed`` returns the text safe to send now; once a stop string is seen, ``stopped`` is
    True and nothing after it is ever returned. ``flush`` releases the held-back tail.
    """

    def __init__(self, stops: Iterable[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, delta: str) -> str:
        if self.stopped:
            return ""
        if not self._stops:
            return delta
        text = self._pending + delta
        cut = min((i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return text[:cut]
        hold = self._held_suffix(text)
        self._pending = text[len(text) - hold :] if hold else ""
        return text[: len(text) - hold]

    def flush(self) -> str:
        out, self._pending = self._pending, ""
        return "" if self.stopped else out

    def _held_suffix(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that begins some stop string."""
        best = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(text)), best, -1):
                if stop.startswith(text[-n:]):
                    best = n
                    break
        return best
