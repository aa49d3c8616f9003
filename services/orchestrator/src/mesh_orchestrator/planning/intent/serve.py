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
* ``drop_ruled_out``: a job a negated clause rules out ("skip the lookup", "sin imagen",
  "pas de recherche", "ohne Recherche", "sem pesquisar", "senza cercare", "niet opzoeken") is
  not planned from another clause the model reads only weakly as that job ("I already know
  what X is, skip the lookup. Write me a song about it": the first clause is context).
"""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _REFERS
from mesh_orchestrator.planning.intent.model import CLASSES, JOBS, IntentModel, tokens
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
    from mesh_orchestrator.planning.intent.actions import named_deliverable, own_question

    words = [w for w in tokens(seg.instruction) if w.isalnum() or "'" in w]
    return (
        bool(words)
        and words[0] not in lx.QUESTION
        and not own_question(words)  # "e me conta quem inventou a pizza": asked, not how
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


# What a negation rules out: the words after it, at most this many, up to the next negation.
_RULED_WORDS = 4
# The model reads a job in those words at least this much: that job is ruled out.
_RULES_OUT = 0.3
# A clause read as a ruled-out job below this is no job (as ``planner.CHAT_SEARCH``: a
# statement the model reads as a lookup for a question word in it, "I know what X is").
_WEAK_READ = 0.65


def ruled_out(seg: Segment, model: IntentModel) -> set[str]:
    """The jobs a negated clause rules out: what the model reads in the few words after each
    negation ("skip | the lookup", "sin | texto | ni | explicación", "ohne | Recherche"), and
    in each of them alone."""
    words = [w for w in tokens(seg.instruction) if w.isalpha() or "'" in w]
    phrases: list[str] = []
    for k, w in enumerate(words):
        if w not in lx.NEGATION:
            continue
        after: list[str] = []
        for v in words[k + 1 : k + 1 + _RULED_WORDS]:
            if v in lx.NEGATION:
                break
            after.append(v)
        if after:
            phrases.append(" ".join(after))
            for v in after:
                if v in lx.FUNCTION or v in lx.ARTICLES:
                    continue
                # a plural read as the thing it names: "immagini", "Bilder", "images"
                forms = {v.rstrip("s"), v[:-1], v[:-2], *(v[:-1] + e for e in "eoa")}
                phrases += [v, *sorted(f for f in forms if f != v and f in lx.JOB_NOUNS)]
    if not phrases:
        return set()
    out: set[str] = {"search"} if any(p in lx.LOOKUP_NOUNS for p in phrases) else set()
    out |= {
        job
        for job, stems in lx.RULED_OUT_STEMS.items()
        if any(w.startswith(stems) for p in phrases for w in p.split())
    }
    for row in model.probabilities(phrases):
        p = dict(zip(CLASSES, (float(v) for v in row), strict=True))
        job = max(JOBS, key=lambda c: p[c])
        if p[job] >= _RULES_OUT:
            out.add(job)
    return out


def drop_ruled_out(routed: list[Routed], model: IntentModel) -> None:
    """A clause the model reads weakly as a job that a negated clause of the request rules
    out is no job, when another job is left to plan."""
    gone: set[str] = set()
    for r in routed:
        if r.capability is None and r.why == "constraint":
            gone |= ruled_out(r.segment, model)
    if not gone:
        return
    weak = [
        r
        for r in routed
        if r.capability in gone
        and r.score < _WEAK_READ
        and not (r.segment.data or r.segment.payload)
        and not any(w in lx.NEGATION for w in tokens(r.segment.instruction))
    ]
    if not weak or all(r.capability is None or any(r is w for w in weak) for r in routed):
        return
    for r in weak:
        r.capability, r.why = None, "none"


__all__ = [
    "describes_ask",
    "drop_ruled_out",
    "how_of_act",
    "keep_language",
    "ruled_out",
    "untranslated",
]
