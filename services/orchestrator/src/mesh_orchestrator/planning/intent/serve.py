"""What the mesh can serve and what a single ask is (round 13): request-wide constraints.

* ``how_of_act``: after an act no agent performs ("edit my video clip", "clear out my
  Downloads folder"), a clause joined to it that names no thing to make and asks nothing of
  its own ("and cut out the first 10 seconds", "anything older than a month can go") says
  how that act is done: it is part of the act, not a second job.
* ``untranslated``: a request that says not to translate ("don't translate", "sin
  traducirlo", "ne le traduis pas", "nicht übersetzen", "sem traduzir", "senza tradurre",
  "niet vertalen") and never asks to translate plainly keeps its language: the clause that
  names the language it stays in ("leave it in English", "gewoon in het Engels laten") is a
  constraint on the job, no translation.
"""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _REFERS
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.rules import Routed
from mesh_orchestrator.planning.intent.segment import Segment

# Stems of a verb of translating (and its noun), matched on normalized words.
_TRANSLATE = ("transl", "tradu", "ubersetz", "uberset", "vertaal", "vertal", "traslat")
# A negation that follows the verb it negates: "übersetz es nicht", "vertaal het niet".
_NEGATION_AFTER = frozenset(["nicht", "niet", "pas"])


def _negated_at(ws: list[str], k: int) -> bool:
    """The verb at ``k`` is negated in its clause ``ws``: a negation at most three words
    before it with no "only" between ("nada de imágenes, solo traduce": a job), or a German or
    Dutch one after it."""
    if any(w.split("'")[-1] in lx.FORGET for w in ws[:k]):
        return False  # "don't forget to translate it", "n'oublie pas de la traduire": a job
    before = ws[max(k - 3, 0) : k]
    negs = [j for j, w in enumerate(before) if w in lx.NEGATION]
    if negs and not any(w in lx.ONLY for w in before[negs[-1] :]):
        return True
    return any(w in _NEGATION_AFTER for w in ws[k + 1 : k + 4])


# Where a clause ends: punctuation, a quotation, a new line.
_CLAUSE_END = re.compile(r"[,;:.!?\n«»\"“”„()]")


def untranslated(query: str) -> bool:
    """``query`` says not to translate and never asks to translate plainly."""
    seen = negated = 0
    for clause in _CLAUSE_END.split(query):
        ws = [w for w in tokens(clause) if w.isalpha() or "'" in w]
        for k, w in enumerate(ws):
            if w.startswith(_TRANSLATE):
                seen += 1
                negated += _negated_at(ws, k)
    return seen > 0 and negated == seen


def keep_language(routed: list[Routed], query: str) -> None:
    """A translation planned in a request that says not to translate is a constraint; the
    text pasted with it is the material of the job before it."""
    if not any(r.capability == "translation" for r in routed) or not untranslated(query):
        return
    for k, r in enumerate(routed):
        if r.capability != "translation":
            continue
        r.capability, r.why = None, "constraint"
        earlier = [j for j in range(k) if routed[j].capability is not None]
        if r.segment.payload and earlier and not routed[earlier[-1]].segment.payload:
            job = routed[earlier[-1]].segment
            job.payload, r.segment.payload = r.segment.payload, ""
            job.text = f"{job.text}: {job.payload}"


def how_of_act(seg: Segment, names_language: bool) -> bool:
    """A clause that names no thing to make and asks nothing of its own: no job noun, no
    question word at its head, no language to put it in (``names_language``)."""
    from mesh_orchestrator.planning.intent.actions import named_deliverable

    words = [w for w in tokens(seg.instruction) if w.isalnum() or "'" in w]
    return (
        bool(words)
        and words[0] not in lx.QUESTION
        and not names_language
        and named_deliverable(seg) is None
        and not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
    )


# What a sentence that only describes the thing just asked for may be read as, and what
# that thing is: writing or a picture (``draft`` folds it into that task).
_WRITE_OR_DRAW = frozenset(["text_generation", "image_generation"])
_DESCRIBED = _WRITE_OR_DRAW | {"search"}
# The model is unsure of the sentence below this, and sure of the ask before it at or above.
_WEAK, _SURE = 0.5, 0.5


def describes_ask(seg: Segment, top: str, p: dict[str, float], before: Routed | None) -> bool:
    """A sentence after an ask for writing or a picture the model is sure of, that the model
    is unsure of itself and that names nothing to make, asks no question word and names no
    language: it describes that thing ("I need a logo for my bakery. Something round with a
    stalk of wheat, warm colours.", "Un acquerello di Venezia all'alba, gondole ferme, colori
    tenui", "good morning! any fun plans for the weekend?"), no second task."""
    from mesh_orchestrator.planning.intent.actions import named_deliverable

    if before is None or before.capability not in _WRITE_OR_DRAW or before.score < _SURE:
        return False
    if seg.joined not in ("sentence", "and") or top not in _DESCRIBED or p.get(top, 1.0) >= _WEAK:
        return False
    if seg.data or seg.payload or before.segment.data or before.segment.payload:
        return False
    if top == "image_generation" and before.capability != "image_generation":
        return False  # "Maak op basis daarvan een sfeerbeeld" after a text: a picture of its own
    if seg.lead_ref:
        return False
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE and w.isalpha()]
    return (
        bool(words)
        and words[0].split("'")[0] not in lx.QUESTION
        and words[0] not in lx.NEGATION
        and words[0] not in lx.BACK  # "Then design the box art ...": a further step
        and not any(w in lx.ARTICLES for w in words[:2])  # "(separately) a one-line teaser"
        and not any(  # "around that name", "from it": it works on what came before
            (w in _REFERS and w not in lx.ARTICLES) or w in lx.DEMONSTRATIVE for w in words
        )
        and not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
        and named_deliverable(seg) is None
    )


__all__ = ["describes_ask", "how_of_act", "keep_language", "untranslated"]
