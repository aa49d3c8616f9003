"""Pasted text handed to the ask it belongs to.

A quotation or prose pasted after a colon sits with the segment that brought it; when that
segment asks nothing (a remark, "Here's the mail I got:") the text is the material of an ask
next to it that carries none of its own: the ask after it ('"<a review>" ^ what's the
verdict?') or, after a remark that followed the ask, the ask before it that points at a text
("translate this for our team, keep the names: <text>"). ``IntentPlanner`` calls
``hand_payloads`` with the model's probabilities and its own test of what asks (``asks``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _LEADS, _REFERS
from mesh_orchestrator.planning.intent.model import CLASSES, JOBS, tokens
from mesh_orchestrator.planning.intent.rules import UNSURE
from mesh_orchestrator.planning.intent.segment import Segment


def hand_payloads(segments: list[Segment], probs: Any, asks: Callable[[Segment], bool]) -> set[int]:
    """Pasted text (a quotation, prose after a colon) whose own words ask nothing (none,
    or a remark the model is unsure of: "Here's the mail I got:") before a clause that
    asks and carries no material of its own is that clause's material ('"<a review>" ^
    what's the verdict?', "Me ha llegado este correo: «...» resúmelo"): it moves there,
    so the model reads the ask with its material. ``asks``: whether a segment asks (a question,
    a job's verb first, a list item). The indexes of the segments it left."""
    out: set[int] = set()
    for at, seg in enumerate(segments):
        if not seg.payload or seg.data:
            continue
        if tokens(seg.instruction) and (
            asks(seg) or (float(np.max(probs[at])) >= UNSURE and not _names_the_text(seg))
        ):
            continue
        # the ask may come after a remark on the text ('"<text>" ^ this is from my son's
        # book. summarise it')
        nxt = next(
            (
                s
                for k, s in enumerate(segments[at + 1 :], at + 1)
                if s.payload
                or s.data
                or s.joined == "item"
                # a remark the model places nowhere is passed ("my boss wrote it.")
                or (asks(s) and CLASSES[int(np.argmax(probs[k]))] != "none")
            ),
            None,
        )
        if nxt is None or nxt.payload or nxt.data or nxt.joined == "item":
            continue
        nxt.payload, seg.payload = seg.payload, ""
        nxt.text = f"{nxt.text}: {nxt.payload}"
        out.add(at)
    return out | _return_payloads(segments, probs, out, asks)


def _names_the_text(seg: Segment) -> bool:
    """A clause that says where its pasted text comes from, by "this" or in a few words
    ("Tenho este parágrafo sobre ...", "Un client a laissé cet avis ...", "Ma collègue m'a
    écrit"), before a quotation it brought whole (a long one, lifted without its marks:
    no ask of the writer's follows it inside the payload), whatever job the model reads in
    the text: it introduces the text, it asks nothing."""
    words = tokens(seg.instruction)
    return (
        "?" not in seg.instruction
        and not any(mark in seg.payload for mark in _QUOTE_MARKS)
        and (
            any(w in lx.DEMONSTRATIVE for w in words)
            # ("Zusammenfassung von: «...»": a job named, the text is its material)
            or (len(words) <= _SAID_WORDS and not any(w in lx.JOB_NOUNS for w in words))
        )
    )


_QUOTE_MARKS = '"\u00ab\u00bb\u201c\u201d\u201e'
# "Ma collègue m'a écrit", "My kid's teacher wrote": who wrote it, in at most this many words
_SAID_WORDS = 5


def _return_payloads(
    segments: list[Segment], probs: Any, moved: set[int], asks: Callable[[Segment], bool]
) -> set[int]:
    """Pasted text that came with a remark after the ask ("translate this for our team,
    keep the names as they are: <text>", "tu me mets ça en anglais ? c'est pour ma
    voisine <text>"): the remark asks nothing the model is sure of, and the ask before
    it, with no material of its own, points at a text ("this", "ça", a clitic): the
    text is that ask's material. The indexes of the segments it left."""
    jobs = [CLASSES.index(c) for c in JOBS]
    out: set[int] = set()
    for at, seg in enumerate(segments):
        if at in moved or at == 0 or not seg.payload or seg.data:
            continue
        if float(np.max(probs[at][jobs])) >= UNSURE:
            continue
        ask = next(
            (
                k
                for k in range(at - 1, -1, -1)
                if segments[k].payload or segments[k].data or asks(segments[k])
            ),
            None,
        )
        if ask is None or segments[ask].payload or segments[ask].data:
            continue
        if not any(
            w in _REFERS or w in lx.DEMONSTRATIVE or w in _LEADS or lx.CLITIC.match(w)
            for w in tokens(segments[ask].instruction)
        ):
            continue
        target = segments[ask]
        target.payload, seg.payload = seg.payload, ""
        target.text = f"{target.text}: {target.payload}"
        out.add(at)
    return out
