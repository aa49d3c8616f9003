"""The intent planner: segments routed by a small trained model, linked by multilingual rules.

``IntentPlanner.plan`` splits the request into segments (``segment``), asks the intent model
(``model``) which job each one is (one of the well-known capabilities, a world ``action`` no
agent performs, or ``none``: a constraint, a remark, context), and builds the plan:

* a segment that starts with a negation ("no need to look anything up", "sin texto") or an
  "only" constrains the others and is no task; so is ``none``;
* ``action`` and a job no healthy agent serves are *unresolvable*: left out and named
  (``PlanningFailed`` when nothing is left), a capability the model does not know (an agent's
  own) is matched on the manifest's words (``deterministic``'s BM25);
* what a segment's words say beyond its job (small talk, thanks, a question) is ``cues``;
  pasted text whose own words ask nothing goes to the ask beside it (``attach``);
* ``draft`` turns the routed segments into tasks: enumerations fan out (``fanout``);
  references and jobs that work on an earlier result link to it (``links``); inline data
  goes to the task that uses it; inputs fit the agent's schema.

No torch, no network: numpy and a few MB of weights. Same request and manifest, same plan.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from mesh_contracts import CapabilitiesManifest, ExecutionPlan
from mesh_orchestrator.planning.deterministic import Draft, PlanningFailed, index_of
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.actions import (
    acts_for_user,
    done_first,
    is_world_action,
    job_verb_heads,
    named_deliverable,
    part_of_run,
    reads_action,
    reason_after_act,
    runs_code,
    unmade_media,
    users_things,
    verb_kind,
)
from mesh_orchestrator.planning.intent.attach import hand_payloads
from mesh_orchestrator.planning.intent.backrefs import _REFERS
from mesh_orchestrator.planning.intent.chat import chat_question
from mesh_orchestrator.planning.intent.context import (
    answer_manner,
    asks_for,
    chat_after_thanks,
    only_named,
    sign_off,
    states_only,
    style_only,
)
from mesh_orchestrator.planning.intent.cues import (
    about_us,
    asks_of_someone,
    converted_thing,
    counted_thing,
    made_thing,
    named_picture,
    negated,
    only_thing,
    purpose_only,
    question,
    said_of_oneself,
    said_to_you,
    salutation,
    small_talk,
    thanks,
    to_language,
    to_the_assistant,
    version_of,
    wished_thing,
)
from mesh_orchestrator.planning.intent.draft import DraftBuilder
from mesh_orchestrator.planning.intent.edges import EdgeModel, Origin, learned
from mesh_orchestrator.planning.intent.fanout import without_list
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.live import live_data
from mesh_orchestrator.planning.intent.model import (
    CLASSES,
    JOBS,
    WEIGHTS,
    IntentModel,
    shared,
    tokens,
)
from mesh_orchestrator.planning.intent.rules import (
    UNSURE,
    Routed,
    _analysis_fragments,
    _claim_data,
    _constraints,
    _context,
    _continuations,
    _hand_data,
    _material_first,
    _merge_analyses,
    _model_text,
    _questions_about_data,
)
from mesh_orchestrator.planning.intent.segment import (
    _ALSO,
    _APART,
    Segment,
    Segmenter,
    also_in_languages,
    leads_back,
    points_at_material,
)
from mesh_orchestrator.planning.intent.serve import (
    describes_ask,
    drop_ruled_out,
    how_of_act,
    keep_language,
)

# What may follow a verb and its pronoun ("look it up", "such das raus", "zoek dat op").
_PARTICLES = frozenset(["up", "out", "for", "me", "mir", "moi", "mi", "raus", "nach", "op", "na"])
# "So that" in the seven languages (as ``tokens`` gives them): a clause of purpose.
_SO_THAT = frozenset(
    [
        "so that",
        "para que",
        "pra que",
        "pour que",
        "afin que",
        "damit",
        "sodass",
        "so dass",
        "cosi che",
        "cosicche",
        "in modo che",
        "de modo que",
        "affinche",
        "zodat",
        "opdat",
    ]
)
# Below this the model's "action" yields to a thing to make named after the verb.
SURE_ACTION = 0.5
# Below this probability a job the manifest cannot serve is not moved to the next best one.
MOVE_MIN = 0.15
# A clause that names a picture (cues.named_picture) is drawn unless the model is this sure
# of another job.
PICTURE_MOVES = 0.75
# A lookup the model is this unsure of, in a clause that is no question and starts with no
# verb, is none (small talk, a remark): "search" is where the model puts what it cannot place.
WEAK_SEARCH = 0.4
# Round 15: a statement the speaker makes of itself, wanting nothing ("I run a small bakery.",
# ``context.states_only``), before an ask the model is surer of, is who asks even where the
# model reads it as writing this much (its nouns alone: "bakery", "shop").
CONTEXT_WRITES = 0.7
# A lookup the model is this unsure of, put as a statement about the speaker or the assistant
# (no question, no verb of a job first), is something said, not asked.
CHAT_SEARCH = 0.65
# Below this the model yields to what "a version" says of itself ("une autre plus courte":
# shorter, a summary; "a Dutch version": a translation), words surer than the model's guess.
VERSION_SAYS = 0.65
# Below this a sentence after the ask that only says what the result is for ("Für die
# Weihnachtskarte meiner Oma.", no verb in it) is no job: the model guesses a job from its
# nouns alone ("card": a text), a guess near a coin toss (0.50 for a card's text).
PURPOSE_SAYS = 0.65
# Below this the job the model reads in a clause on the user's own files, devices or
# appointments gives way to what the clause does (``users_things``): an act told, a lookup
# asked ("Converte este PDF para Word", "¿Cómo se convierte un PDF a Word?").
USERS_THINGS = 0.75
# What the job of a version named ("and a German version", "faz uma versão curta") overrides
# below ``VERSION_SAYS``: a weak text job or none, and a picture (a version of a text is none).
_VERSION_OVER = ("none", "text_generation", "summarization", "translation", "image_generation")
_ACTION = "an action in the world no agent performs"
_LIVE = "live data no agent can see: it changes by the minute"
_MEDIA = "video or audio: no agent makes or hears it"
# Who does a job when its own capability is not served: the writer writes code, summaries
# and translations too (a weaker answer beats none).
STAND_IN = {
    "code_generation": "text_generation",
    "summarization": "text_generation",
    "translation": "text_generation",
}


# Stems of "translate" in the seven languages.
_TRANSLATE = ("transl", "tradu", "ubersetz", "uberset", "vertaal", "vertal", "traslat")


# A registered capability the model does not know, named outright in the clause ("tide tables
# for Brest" for ``tide_tables``), wins unless the model is this sure of a job of its own.
NAMED_OWN = 0.8


def _names_capability(cap: str, text: str) -> bool:
    """Every word of the capability's name is a word of ``text`` (a plural ``s`` aside)."""
    words = set(tokens(text))
    parts = [w for w in cap.lower().replace("-", "_").split("_") if w]
    return bool(parts) and all(
        w in words or f"{w}s" in words or w.rstrip("s") in words for w in parts
    )


def _names_language(text: str) -> bool:
    """A translation says where to: a language, "two languages", or a translating verb."""
    words = tokens(text)
    return any(
        w in lx.LANGUAGES or w in lx.LANGUAGE_WORDS or w.startswith(_TRANSLATE) for w in words
    )


# Question words elided before a vowel: Italian "cos'è", "com'è", "dov'è", "quant'è",
# French "qu'est-ce", Portuguese "cadê" aside.
_ELIDED = frozenset(["cos", "com", "dov", "quant", "qu"])


def _elided_question(word: str) -> bool:
    return "'" in word and word.split("'")[0] in _ELIDED


class _Seen:
    """Round 16: what the clauses routed so far say, kept as they are routed (``_route``
    routes each clause once, in order, and changes none routed before it in its loop): a
    job asked, the jobs asked, and whether the acts just before run code."""

    def __init__(self) -> None:
        self.asked = False  # any(r.capability for r in out)
        self.capabilities: set[str] = set()
        self.ran_code = False  # _ran_code(out)
        self._count = 0

    def add(self, out: list[Routed]) -> None:
        """Take in the clauses routed since the last call."""
        for r in out[self._count :]:
            if r.capability:
                self.asked = True
                self.capabilities.add(r.capability)
            self.ran_code = r.why == _ACTION and (self.ran_code or runs_code(r.segment))
        self._count = len(out)


class _Beside:
    """Round 16: what the clauses beside one clause say, each clause read once for all of
    them (by position: ``_route``'s segments are distinct). Reading every other clause at
    each clause was quadratic in the clauses (thousands in a paste of short lines)."""

    def __init__(self, segments: list[Segment], probs: np.ndarray) -> None:
        self.segments, self.probs = segments, probs
        self._data: bool | None = None
        self._chatty: list[bool] | None = None
        self._opens: list[bool] | None = None
        self._jobs: list[bool] | None = None
        self._sure: dict[bool, list[tuple[float, int]]] = {}

    @property
    def data(self) -> bool:
        """A clause carries data."""
        if self._data is None:
            self._data = any(s.data for s in self.segments)
        return self._data

    def all_chat(self, at: int) -> bool:
        """Every clause beside clause ``at`` is chat: a greeting, a question to the assistant,
        or a clause the model puts nowhere but weakly with the writer ("lol ok you're
        funny")."""
        if self._chatty is None:
            self._chatty = [
                _chatty(s, row) for s, row in zip(self.segments, self.probs, strict=True)
            ]
        return self._chatty.count(False) - (not self._chatty[at]) == 0

    def _opening(self, segmenter: Segmenter) -> list[bool]:
        if self._opens is None:
            self._opens = [segmenter.opens_job(s.instruction) for s in self.segments]
        return self._opens

    def job_elsewhere(self, at: int, segmenter: Segmenter) -> bool:
        """A clause beside clause ``at`` opens a job. A greeting, thanks, a question to the
        assistant or a clause the model puts nowhere ("Solo quería saludar jaja") opens none,
        whatever its first word looks like ("¡Hola!": "hol" opens the German "hol ... ab";
        "¿Qué tal?" after it is chat, not a lookup)."""
        if self._jobs is None:
            opens = self._opening(segmenter)
            self._jobs = [
                o and not _chat(s) and CLASSES[int(np.argmax(row))] != "none"
                for o, s, row in zip(opens, self.segments, self.probs, strict=True)
            ]
        return self._jobs.count(True) - self._jobs[at] > 0

    def job_asked(self, at: int, top: str, score: float, segmenter: Segmenter) -> bool:
        """A clause beside clause ``at`` opens a job; beside a weak "text_generation"
        (``top``, of ``score``), one that opens or asks for a job the model is sure of."""
        opens = self._opening(segmenter)
        if top == "search":
            return opens.count(True) - opens[at] > 0
        writes = top == "text_generation"
        if writes not in self._sure:
            # the two surest asking clauses: the surest beside any one clause is among them
            sure = [
                (float(max(row[CLASSES.index(c)] for c in JOBS)), k)
                for k, (o, s, row) in enumerate(zip(opens, self.segments, self.probs, strict=True))
                if o or (writes and asks_for(s))
            ]
            self._sure[writes] = sorted(sure, key=lambda v: (-v[0], v[1]))[:2]
        best = next((v for v, k in self._sure[writes] if k != at), None)
        return best is not None and best >= max(UNSURE, score)


def _chatty(seg: Segment, row: np.ndarray) -> bool:
    """A greeting, a question to the assistant, or a clause the model puts nowhere but
    weakly with the writer."""
    if salutation(seg) or to_the_assistant(seg) or chat_question(seg):
        return True
    p = dict(zip(CLASSES, row, strict=True))
    top = max(p, key=lambda c: p[c])
    return top in ("text_generation", "none") and p[top] < UNSURE


def _object_in(seg: Segment, segmenter: Segmenter) -> bool:
    """Round 15: a verb, then an article or a pronoun pointing back ("draw it in poster
    style", "Translate the answer into Arabic", "resume la respuesta"): the verb acts on it,
    a job."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return (
        len(words) > 1
        and segmenter.is_opener(words[0])
        and (words[1] in lx.ARTICLES or words[1] in lx.DETERMINER or words[1] in _REFERS)
    )


def _chat(seg: Segment) -> bool:
    """A greeting, thanks, a question to the assistant or a remark said to it ("lol ok
    you're kinda funny."): chat, which opens no job and takes no pasted text, whatever its
    first word looks like ("¡Hola!": "hol" opens the German "hol ... ab")."""
    return (
        salutation(seg)
        or thanks(seg)
        or chat_question(seg)
        or (said_to_you(seg) and not question(seg))
    )


def _asks_own_question(seg: Segment) -> bool:
    """A question (after "and", "also", "separately": "and separately, what's ...") whose
    first clause points back at nothing ("why is that so hard?" remarks on what came
    before)."""
    head = [w for w in tokens(seg.instruction.split(",")[0]) if w not in lx.POLITE]
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    while words and (words[0] in _CONNECTIVE or words[0] in _ALSO or words[0] in _APART):
        words = words[1:]
    if any((w in _REFERS and w not in lx.ARTICLES) or w in lx.DEMONSTRATIVE for w in head):
        return False
    return question(seg) or bool(words and words[0].split("'")[0] in lx.QUESTION)


# "and" in the seven languages, before a question that follows the unservable part
_CONNECTIVE = frozenset(["and", "y", "e", "et", "und", "en", "plus"])


def _servable_rest(out: list[Routed], served: dict[str, Any]) -> None:
    """The part of a request no agent can serve does not take the rest down with it: when
    nothing holds a job, a question after that part ("What's Nvidia trading at right this
    second? Also what even is a GPU ...", "is it going to snow in Oslo this week? and
    separately, why are snowflakes six-sided") that the model puts nowhere but leans to a
    job is that job. Not a question to the assistant, nor one the live part decided."""
    if any(r.capability for r in out):
        return
    for k, r in enumerate(out):
        if (
            r.why != "none"
            or not r.probs
            or r.segment.joined not in ("sentence", "and")
            or not any(o.why in (_LIVE, _ACTION) for o in out[:k])
            or not _asks_own_question(r.segment)
            or negated(r.segment)
            or chat_question(r.segment)
            or small_talk(r.segment)
        ):
            continue
        p = r.probs
        job = max((c for c in JOBS if c in served), key=lambda c: p[c], default=None)
        if job is not None and p[job] >= MOVE_MIN and p[job] >= p.get("action", 0.0):
            r.capability, r.why, r.score = job, "", p[job]


class IntentPlanner:
    """The planner that needs no LLM (``ORCH_PLANNER=intent``, the default)."""

    name = "intent"

    def __init__(
        self, weights: str | Path | None = None, edges: EdgeModel | str | None = "learned"
    ) -> None:
        """``edges``: what decides which task reads which: "learned" (the edge model in
        ``edges.json`` over the rules' decision, as a run plans; the rules alone when the file
        is missing), None (the rules alone, to measure them) or an ``EdgeModel``."""
        self.path = Path(weights) if weights else WEIGHTS
        self._model: IntentModel | None = None
        self._segmenter: Segmenter | None = None
        self.edges: EdgeModel | None
        if edges == "learned":
            self.edges = learned()
        else:
            self.edges = edges if isinstance(edges, EdgeModel) else None

    def warm(self) -> None:
        """Load the weights (milliseconds)."""
        if self._model is None:
            model = shared(self.path)
            self._segmenter = Segmenter(model.openers)
            self._model = model

    @property
    def ready(self) -> bool:
        return self._model is not None

    def prepare(self, manifest: CapabilitiesManifest) -> None:
        self.warm()

    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        return (await self.draft(query, manifest)).plan

    async def draft(self, query: str, manifest: CapabilitiesManifest) -> Draft:
        """The plan with its notes and the parts left out, for the planning facade (in a
        thread: a request of thousands of lines must not hold the event loop)."""
        return await asyncio.to_thread(self.draft_sync, query, manifest)

    def plan_sync(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        return self.draft_sync(query, manifest).plan

    def draft_sync(self, query: str, manifest: CapabilitiesManifest) -> Draft:
        return self.build_sync(query, manifest, self.edges)[0]

    def build_sync(
        self, query: str, manifest: CapabilitiesManifest, edges: EdgeModel | None
    ) -> tuple[Draft, list[Origin]]:
        """The draft and each task's origin (what the edge model reads); ``edges`` None: the
        rules' inputs. A validated plan (planner ``intent``); ``PlanningFailed`` when nothing is
        registered, the request is empty, or no part of it can be served. Small talk and a
        request that asks nothing an agent could name ("hello", "thanks!") go to the writer."""
        served = {
            c.name: c for c in manifest.capabilities if any(a.healthy_instances for a in c.agents)
        }
        if not served:
            raise PlanningFailed("no agents are registered, so there is nothing to plan with")
        self.warm()
        assert self._model is not None and self._segmenter is not None
        segments = self._segmenter.split(query)
        if not segments:
            raise PlanningFailed("the request is empty")
        routed = self._route(segments, served, manifest)
        keep_language(routed, query)  # "summarise this, leave it in English, don't translate"
        drop_ruled_out(routed, self._model)  # "skip the lookup", "sin imagen": no such job
        _material_first(routed)
        _continuations(routed, self._segmenter)
        _merge_analyses(routed)
        build = DraftBuilder(routed, served, query, edges)
        return build.plan(), build.origins

    def _verb_first(self, seg: Segment) -> bool:
        assert self._segmenter is not None
        words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
        return bool(words) and words[0] not in lx.QUESTION and self._segmenter.is_opener(words[0])

    def _works_on_result(self, seg: Segment) -> bool:
        """A clause that starts with a job's verb and names an earlier result by a pronoun."""
        assert self._segmenter is not None
        words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
        if not words or words[0] in lx.NEGATION or words[0] in lx.FUNCTION:
            return False
        if len(words) > 1 and words[1] in _REFERS and len(words[0]) >= 4:
            return True  # "simplify it", "shrink it": a verb on the result
        if len(words) == 2 and words[1] in lx.DEMONSTRATIVE and len(words[0]) >= 4:
            return True  # "vereenvoudig die", "simplify that": the verb and what it works on
        if len(words) == 1 and len(words[0]) >= 7 and lx.CLITIC.match(words[0]):
            # "simplifícala", "semplificala", "simplifie-la", "simplifica-a": the pronoun
            # glued to a verb the phrasings may not know, and nothing else in the clause
            return True
        if not self._segmenter.is_opener(words[0]):
            return False
        return bool(lx.CLITIC.match(words[0]) or any(w in _REFERS for w in words[1:4]))

    def _points_back_only(self, seg: Segment) -> bool:
        """A verb and words that point back only: "find that", "look it up", "búscalo",
        "cherche-le", "such das raus", "procura isso", "cercalo", "zoek dat op"."""
        assert self._segmenter is not None
        words = [w for w in tokens(seg.instruction) if w not in lx.POLITE and w.isalpha()]
        if len(words) == 1:  # the pronoun glued to the verb: "búscalo", "cercalo"
            return bool(lx.CLITIC.match(words[0])) and self._segmenter.is_opener(words[0])
        return (
            2 <= len(words) <= 4
            and self._segmenter.is_opener(words[0])
            and any(w in _REFERS or w in lx.DEMONSTRATIVE for w in words[1:])
            and all(w in _REFERS or w in lx.DEMONSTRATIVE or w in _PARTICLES for w in words[1:])
        )

    def _purpose_clause(self, seg: Segment) -> bool:
        """A clause opened by "so that" ("para que", "pour que", "damit", "zodat", ...) whose
        next word is no verb ("damit mach ein Bild" says "with it") and that names no thing
        to make."""
        assert self._segmenter is not None
        words = [w for w in tokens(seg.instruction) if w.isalpha()]  # ("so" is courtesy too)
        for size in (2, 1):
            if " ".join(words[:size]) in _SO_THAT and len(words) > size:
                nxt = words[size]
                return not self._segmenter.is_opener(nxt) and not any(
                    w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words
                )
        return False

    def _restates(self, seg: Segment, asked: set[str]) -> bool:
        """Round 15: "only" and a thing whose job a task before it already does ("image
        only", "juste l'image", "nur das Bild"): that task restricted, not a second one."""
        assert self._model is not None
        thing = only_thing(seg) or only_named(seg)
        if thing is None:
            return False
        if thing == "translation":
            job = "translation"
        else:
            row = self._model.probabilities([thing])[0]
            job = CLASSES[int(np.argmax(row))]
        return job in asked

    def _chat_tail(self, out: list[Routed]) -> None:
        """Round 15: a request that opens with thanks or a greeting and asks nothing after it
        ("thanks, that's all for today, have a good one", "Grazie mille, sei stato
        gentilissimo!", "Hoi! ik ben Joris, hoe gaat het?"): one answer from the writer; what
        follows the thanks (a farewell, a remark, a chat question) is no task of its own. No
        clause may open a job with a verb, name a thing to make, or carry data."""
        if len(out) < 2 or not (thanks(out[0].segment) or salutation(out[0].segment)):
            return
        # a farewell the model reads as another job ("até amanhã" as a picture) is still chat
        if any(
            r.capability not in (None, "text_generation")
            and (r is out[0] or not chat_after_thanks(r.segment))
            for r in out
        ):
            return
        for r in out:
            seg = r.segment
            words = tokens(seg.instruction)
            if (
                seg.data
                or seg.payload
                or (
                    r is not out[0]
                    and (self._verb_first(seg) or self._asks_or_opens(seg))
                    and not chat_question(seg)
                    and not chat_after_thanks(seg)
                )
                or any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
            ):
                return
        writer = [r for r in out if r.capability == "text_generation"]
        if not writer:
            return
        # the writer answers all of it, whether the model read one clause of the chat as
        # the writer's or several ("Grazie mille per ..., sei stato gentilissimo!")
        first = writer[0].segment
        first.instruction = " ".join(r.segment.instruction for r in out)
        first.text = " ".join(r.segment.text or r.segment.instruction for r in out)
        for r in out:
            if r.capability and r is not writer[0]:
                r.capability, r.why = None, "none"

    def _sign_off(self, out: list[Routed]) -> None:
        """Round 17: a farewell after the request's first clause ("Desenha uma raposa. Até
        logo!", "Teken een vos. Tot morgen!") is no task, whatever the model routes it to,
        when another clause holds a job; a request that is only chat is `_chat_tail`'s."""
        if not any(r.capability and not sign_off(r.segment) for r in out):
            return
        for r in out[1:]:
            if r.capability and sign_off(r.segment):
                r.capability, r.why = None, "none"

    def _asks_or_opens(self, seg: Segment) -> bool:
        """A question, or a clause that starts with a verb of a job, or a list item."""
        assert self._segmenter is not None
        return (
            question(seg)
            or seg.joined == "item"
            or self._segmenter.opens_job(seg.instruction)
            or self._segmenter.opens_job(without_list(seg.instruction))  # "For each of A, B ..."
        )

    def _route(
        self, segments: list[Segment], served: dict[str, Any], manifest: CapabilitiesManifest
    ) -> list[Routed]:
        assert self._model is not None and self._segmenter is not None
        texts = [_model_text(s) for s in segments]
        probs = self._model.probabilities(texts)
        segments = _hand_data(segments, self._model, self._segmenter)
        probs = self._model.probabilities([_model_text(s) for s in segments])
        _claim_data(segments, probs, self._model, self._segmenter)
        probs = self._model.probabilities([_model_text(s) for s in segments])
        own = [c for c in served if c not in CLASSES]
        index = index_of(manifest) if own else None
        out: list[Routed] = []
        carriers = hand_payloads(segments, probs, self._asks_or_opens)
        if carriers:
            probs = self._model.probabilities([_model_text(s) for s in segments])
        # round 16: what the clauses before and beside each clause say, kept as the loop
        # goes or read once for all, not re-read at every clause (a paste of 4,000 short
        # lines read the clauses before each line 8 million times)
        seen = _Seen()
        beside = _Beside(segments, probs)
        for at, (seg, row) in enumerate(zip(segments, probs, strict=True)):
            seen.add(out)
            p = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
            top = max(p, key=lambda c: p[c])
            if at in carriers:  # its pasted text went to the ask after it
                # ("Führ dieses Python-Skript aus und sag mir ...: <code>": a run, no agent's)
                why = _ACTION if runs_code(seg) else "none"
                out.append(Routed(seg, None, p[top], why, p))
                continue
            if seen.ran_code and part_of_run(seg):
                # "... and tell me what comes out: <code>", "python3 cleanup.py --all"
                out.append(Routed(seg, None, p[top], _ACTION, p))
                continue
            if (
                out
                and out[-1].why == _ACTION
                and top in JOBS
                and p[top] < CHAT_SEARCH
                and reason_after_act(seg)
                and not self._verb_first(seg)
            ):  # "turn off my alarm for tomorrow, it's a holiday": why, not a second ask
                out.append(Routed(seg, None, p[top], _ACTION, p))
                continue
            if (
                out
                and out[-1].why in (_ACTION, _MEDIA)
                and seg.joined == "and"
                and (top in JOBS or top == "action")
                and p[top] < SURE_ACTION
                and not (seg.data or seg.payload)
                and how_of_act(seg, _names_language(seg.instruction))
            ):  # "edit my video clip and cut out the first 10 seconds", "clear out my
                # Downloads folder, anything older than a month can go": how that act is done,
                # said after it with no thing to make; the model is unsure of any job in it
                out.append(Routed(seg, None, p[top], out[-1].why, p))
                continue
            if index is not None:
                cap, bm25 = index.best(seg.instruction)
                if (
                    cap in own
                    and bm25 > 0
                    and (
                        p[top] < UNSURE
                        or top in ("none", "action")
                        or (p[top] < NAMED_OWN and _names_capability(cap, seg.instruction))
                    )
                ):
                    out.append(Routed(seg, cap, bm25, probs=p))
                    continue
            if (media := unmade_media(seg)) == "made" or (
                media and max(p[c] for c in JOBS) < SURE_ACTION
            ):
                top = "media"  # "make a 30 second video ad with music", "monta un video"
            elif (
                max(p[c] for c in JOBS) < SURE_ACTION
                or (max(p[c] for c in JOBS) < USERS_THINGS and users_things(seg))
            ) and acts_for_user(seg):
                top = "action"  # "publie-le sur mon LinkedIn", "il saldo del mio conto"
            elif max(p[c] for c in JOBS) < SURE_ACTION and not seg.data and runs_code(seg):
                top = "action"  # "esegui questo codice e dimmi l'output: <code>": no agent runs it
            elif top != "action" and (
                is_world_action(seg, p, self._segmenter, self._model)
                or (
                    out
                    and out[-1].why == _ACTION
                    and reads_action(seg, p, self._segmenter, self._model)
                )
            ):  # "restart my laptop", "Doe de voordeur op slot": no agent does it
                top = "action"
            elif (
                top == "action"
                and job_verb_heads(seg, p, self._segmenter, self._model)
                and not (
                    out
                    and out[-1].why == _ACTION
                    and reads_action(seg, p, self._segmenter, self._model)
                )  # "Ruf sie an und sag ihr, ...", "... e dimmi se ...": part of that action
            ):  # "Draw that planet with all its moons": a job's verb, a weak "action"
                top = max((c for c in JOBS if c in served), key=lambda c: p[c], default=top)
            elif (
                top == "action"
                and p["action"] < SURE_ACTION
                and not named_deliverable(seg)
                and named_deliverable(seg, self._segmenter, self._model)
            ):  # "turn it into a haiku", "erstelle daraus ein Plakat": a thing to make after
                # a verb that opens no action only; the clause's best job
                top = max((c for c in JOBS if c in served), key=lambda c: p[c], default=top)
            elif (
                top == "action"
                and p[top] < SURE_ACTION
                and seg.joined == "item"
                and tokens(seg.instruction)[:1]
                and tokens(seg.instruction)[0] in lx.ARTICLES
                and not named_deliverable(seg)
            ):  # "Second, an out-of-office note for me, ...": a thing asked for in a list,
                # no verb that could act on the world; the best job makes it
                top = max((c for c in JOBS if c in served), key=lambda c: p[c], default=top)
            elif (
                top == "action"
                and p[top] < SURE_ACTION
                and (seg.data or seg.payload)
                and not acts_for_user(seg)
                and not runs_code(seg)
                and (words := tokens(seg.instruction))
                and verb_kind(words[0], self._segmenter, self._model) != "action"
            ):  # "Turn this into tidy minutes: <bullets>": a weak "action" on the material
                # pasted with it and a verb that opens jobs too; an act in the world takes no
                # pasted text (is_world_action), so the best job works on it
                top = max((c for c in JOBS if c in served), key=lambda c: p[c], default=top)
            elif top == "action" and (thing := named_deliverable(seg)):
                # "uma legenda curta para foto no Instagram": the thing named decides the job
                row = self._model.probabilities([thing])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                top = max((c for c in JOBS if c in served), key=lambda c: named[c], default=top)
            if top == "action" and (first := done_first(seg)) is not None:
                # "Send this on Slack, but first make it friendlier: '...'", "schick das ...,
                # aber zuerst mach es freundlicher": the job asked done before the act (the
                # act is the user's) is the clause's job, unless it is an act as well
                row = self._model.probabilities([first])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                job = max((c for c in JOBS if c in served), key=lambda c: named[c], default=None)
                if job is not None and named[job] >= MOVE_MIN and named["action"] < named[job]:
                    top = job
            if (
                top in JOBS
                and p[top] < SURE_ACTION
                and (thing := named_deliverable(seg)) is not None
            ):  # "een Engelse vertaling daarvan": a thing named, no verb; the thing decides
                row = self._model.probabilities([thing.split()[-1]])[0]
                noun = CLASSES[int(np.argmax(row))]
                if noun in JOBS and noun in served and float(row.max()) >= MOVE_MIN:
                    top = noun
            if (
                top == "none"
                and p["none"] < UNSURE
                and seg.joined != "start"
                and not (seg.data or seg.payload)
                and (thing := named_deliverable(seg)) is not None
            ):  # "..., and also a drawing to go with it": a thing named after the first ask,
                # no verb; the thing is the job
                row = self._model.probabilities([thing.split()[-1]])[0]
                noun = CLASSES[int(np.argmax(row))]
                if noun in JOBS and noun in served and float(row.max()) >= MOVE_MIN:
                    top = noun
            if (
                top != "image_generation"
                and "image_generation" in served
                and p.get(top, 1.0) < PICTURE_MOVES
                and not (seg.data or seg.payload)
                and not negated(seg)
                and named_picture(seg)
            ):  # "cover art for a podcast about ...", "un cartel para la feria": a picture
                # named with no verb of its own (or after "make me a"); the picture is the job
                top = "image_generation"
            if (
                top in JOBS
                and p[top] < UNSURE
                and (made := made_thing(seg)) is not None
                and "text" not in made  # "a text" names no kind of job
            ):  # "hazme un dibujo que lo explique", "give me a placard text": the verb says
                # only make or give; the thing made decides the job
                row = self._model.probabilities([made])[0]
                noun = CLASSES[int(np.argmax(row))]
                if noun in JOBS and noun in served and float(row.max()) >= UNSURE:
                    top = noun
            if (
                (top in JOBS or top == "none")
                and p[top] < UNSURE
                and not (seg.data or seg.payload)
                and (wished := wished_thing(seg)) is not None
            ):  # "Com isso, quero um resumo pra ...": the thing wished for decides the job
                row = self._model.probabilities([wished])[0]
                noun = CLASSES[int(np.argmax(row))]
                if noun in JOBS and noun in served and float(row.max()) >= UNSURE:
                    top = noun
            turned = False  # the job is what a verb of turning makes: a step, no description
            if (
                (top in JOBS or top == "none")  # ("transforme cette annonce en affiche":
                and p[top] < UNSURE  # a weak "none", the verb unknown to the model)
                and not seg.data  # (a pasted text is what is turned: "turn it into a picture")
                and (made := converted_thing(seg)) is not None
            ):  # "then turn that announcement into a poster", "trasforma quell'avviso in un
                # poster": what the text becomes decides the job, not what it was
                row = self._model.probabilities([made])[0]
                noun = CLASSES[int(np.argmax(row))]
                if noun in JOBS and noun in served and float(row.max()) >= MOVE_MIN:
                    top, turned = noun, True
            if top in ("none", "action") and (counted := counted_thing(seg)) is not None:
                # "Need three separate images: a ..., a ... and a ...": the thing counted
                # (a count of things the mesh makes is no action either)
                row = self._model.probabilities([counted])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                job = max((c for c in JOBS if c in served), key=lambda c: named[c], default=None)
                if job is not None and named[job] >= MOVE_MIN:
                    top = job
            if (
                top in _VERSION_OVER
                and p[top] < VERSION_SAYS
                and not (seg.data or seg.payload)
                and (version := version_of(seg)) is not None
                and version in served
            ):  # "une version ultra courte de cette annonce", "and a German version": the
                # version says its job
                top = version
            lead = [w for w in tokens(seg.instruction) if w not in lx.POLITE][:1]
            listed = top == "none" and seg.joined in ("item", "line")
            if (
                lead
                and (lead[0] in lx.QUESTION or _elided_question(lead[0]))
                # a thing to make in it is asked for ("Come up with five taglines")
                and not any(
                    w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS
                    for w in tokens(seg.instruction)
                )
                and (top in ("image_generation", "text_generation") or listed)
                and p[top] < SURE_ACTION
                and not chat_question(seg)  # "come va oggi?": asked of the assistant
                and p["search"] * 2 >= max(p[c] for c in ("image_generation", "text_generation"))
                and (listed or p["search"] * 2 >= p[top])
                and "search" in served
            ):  # "Wie viele Knochen hat ein Mensch" as a line of its own, "c) cos'è il
                # DNA?" as a list item: a question
                top = "search"
            if (
                top == "search"
                and p[top] < SURE_ACTION
                and seg.payload
                and seg.instruction.rstrip().endswith("?")
                and points_at_material(seg.instruction)
            ):  # "<a letter> what do I need to do here?": a question about the text pasted
                # with it, which no lookup reads; the writer (or a summary) answers from it
                top = max(("summarization", "text_generation"), key=lambda c: p[c])
            if top == "translation" and not _names_language(seg.instruction):
                # "put it in a rhyming couplet": no language named, no translating verb
                top = max((c for c in JOBS if c != "translation"), key=lambda c: p[c])
            if (
                top == "search"
                and seg.instruction.rstrip().endswith("?")
                and not beside.data  # beside a table, a question is about it
                and self._verb_first(seg)
            ):
                # "Draft that for me?": a request put as a question; its verb decides
                row = self._model.probabilities([_model_text(seg).replace("?", " ")])[0]
                verb_job = CLASSES[int(np.argmax(row))]
                if verb_job in JOBS and verb_job != "search":
                    top, p = verb_job, {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
            if (
                top == "none"
                and seg.data
                and seg.joined in ("start", "sentence", "para")
                and "data_analysis" in served
                and max(JOBS, key=lambda c: p[c]) == "data_analysis"
                and p["data_analysis"] >= MOVE_MIN
                and any(s.joined == "then" for s in segments[at + 1 : at + 2])
            ):  # round 15: "Ich hab hier Wetterdaten, bitte einmal durchrechnen und dann ...":
                # the table a chain's first step carries is worked on by it, whatever verb
                # the model does not know (its best job, given the table, is the analysis)
                top = "data_analysis"
            remark = (
                # (a weak "text_generation" with a question word in it may ask something:
                # "En jij, wie ben jij eigenlijk")
                (
                    top in ("action", "search", "none")
                    or (
                        top == "text_generation"
                        and not any(w in lx.QUESTION for w in tokens(seg.instruction))
                    )
                )
                and p[top] < WEAK_SEARCH
                and len(segments) > 1
                and not question(seg)
                and said_to_you(seg)
                and beside.all_chat(at)
                and not acts_for_user(seg)
                and not is_world_action(seg, p, self._segmenter, self._model, alone=True)
            )
            if remark:  # "T'es le meilleur.", "você tem sido muito útil essa semana!" after
                # thanks or a greeting: said to the assistant, beside chat only; the writer
                # answers (and no verb in it makes it a job below)
                top = "none"
            elif (
                top == "search"
                and p[top] < WEAK_SEARCH
                and (
                    (
                        (not self._asks_or_opens(seg) or small_talk(seg))
                        and not beside.job_elsewhere(at, self._segmenter)
                    )
                    or (to_the_assistant(seg) and beside.all_chat(at))
                )
            ):  # "tô entediado hoje", "you still there?": no lookup, nothing else asked
                # ... unless it tells to act on a thing ("Reboot the router"): not small talk
                alone = is_world_action(seg, p, self._segmenter, self._model, alone=True)
                top = "action" if alone else "none"
            elif (
                top in ("action", "text_generation")
                and p[top] < WEAK_SEARCH
                and (to_the_assistant(seg) or chat_question(seg))  # ("Preferisci ...?")
                and beside.all_chat(at)
                and not acts_for_user(seg)
                and not is_world_action(seg, p, self._segmenter, self._model, alone=True)
            ):  # "Vous prenez des vacances parfois, vous ?" read weakly as an act or as
                # writing: a question to the assistant about itself, beside chat only
                top = "none"
            if (
                top == "search"
                and chat_question(seg)
                and not beside.job_elsewhere(at, self._segmenter)
            ):  # "wat vind jij leuker, katten of honden?", "Che tempo fa da te?": chat, the
                # writer's, no lookup
                top = "none"
            if (top in ("none", "action") or (top in JOBS and p[top] < UNSURE)) and (
                thing := only_thing(seg)
            ) is not None:
                # "Só a imagem, sem texto: um gato ...": the only thing asked names the job
                # (also over a weak job: "Nur das Französische bitte": its translation)
                row = self._model.probabilities([thing])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                job = max((c for c in JOBS if c in served), key=lambda c: named[c], default=None)
                if job is not None and named[job] >= MOVE_MIN:
                    top = job
            if (
                top in ("search", "text_generation")  # (what the model makes of small talk)
                and (
                    p[top] < WEAK_SEARCH
                    # round 15: a statement about the speaker that wants nothing ("I run a
                    # small bakery."), read as writing near a coin toss
                    or (top == "text_generation" and p[top] < CONTEXT_WRITES and states_only(seg))
                )
                and seg.joined in ("start", "sentence", "para")
                and not question(seg)
                and (said_of_oneself(seg) or states_only(seg))
                # a clause beside it opens a job (round 15: or, beside a weak
                # "text_generation", asks for one: "Could you write me ...", "I'd love a ..."
                # after a statement) the model is sure of
                and beside.job_asked(at, top, p[top], self._segmenter)
            ):  # "I'm the treasurer of a small garden and ...", "I work nights and keep
                # forgetting to eat. Write me ...": who asks, before the ask
                top = "none"
            if (
                top == "search"
                and p[top] < CHAT_SEARCH
                and seg.joined not in ("item", "line", "then")
                and seen.asked  # said after what was asked
                and not question(seg)
                and not self._verb_first(seg)
                and about_us(seg)
            ):  # "mañana tengo examen", "Domani ti faccio altre domande": said, not asked
                top = "none"
            announced = seg.joined in ("then", "item", "line")  # "then ...", "- ...": a step
            if (
                top == "none"
                and p["none"] < 0.4
                and self._verb_first(seg)
                and len(tokens(seg.instruction)) >= 3  # not "merci" alone
                and not (out and out[-1].why == _ACTION)  # "... and tell her I'm late"
                and not negated(seg)
                and not chat_question(seg)  # "Vind jij de zee leuker?": asked of the assistant
            ):
                # "Search for the oldest bridge": a job's verb opens it, the model unsure
                announced = True
            if (
                top == "none"
                and p["none"] < 0.4
                and self._works_on_result(seg)
                and not chat_question(seg)  # "Preferes o mar ...?": "o" is no "it" here
            ):
                announced = True  # "erklär es dann in drei Sätzen": a verb on an earlier result
            if (
                top == "none"
                and p["none"] < UNSURE
                and not remark
                and (seg.lead_ref or (bool(lead) and lead[0] in lx.BACK))
                and not question(seg)
            ):  # round 14: "daraus ein Quiz mit fünf Fragen", "dann eine Kurzfassung": a
                # thing made of an earlier result, named after the words pointing back or
                # "then"; the version's job, else the thing's
                version = version_of(seg)
                thing = named_deliverable(seg, self._segmenter, self._model)
                if version is not None and version in served:
                    top = version
                elif thing is not None:
                    row = self._model.probabilities([thing])[0]
                    named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                    job = max(
                        (c for c in JOBS if c in served), key=lambda c: named[c], default=None
                    )
                    if job is not None and named[job] >= MOVE_MIN:
                        top = job
            if top == "none" and announced and not remark:
                # (a job whose stand-in serves it counts: "simplify it" without a summarizer;
                # a translation only where a language is named, as for the model's own top:
                # "will it rain in Lisbon this week?" is no translation however near)
                job = max(
                    (
                        c
                        for c in JOBS
                        if (c in served or STAND_IN.get(c) in served)
                        and (c != "translation" or _names_language(seg.instruction))
                    ),
                    key=lambda c: p[c],
                    default=None,
                )
                if job is not None and p[job] >= MOVE_MIN:
                    top = job
            if (
                top != "translation"
                and top not in ("data_analysis", "lora_training")
                and "translation" in served
                # an earlier text, or the text pasted with it when the model is unsure
                and (seen.asked or (seg.payload and p[top] < UNSURE))
                and to_language(seg)
            ):  # "passa ele pro inglês", "El primero pásamelo al catalán", "Pásame esto al
                # inglés: «...»"
                top = "translation"
            if (
                top in JOBS
                and p[top] < PURPOSE_SAYS
                and seg.joined == "sentence"
                and seen.asked
                and purpose_only(seg)
                and not any(self._segmenter.is_opener(w) for w in tokens(seg.instruction)[1:])
            ):  # "Voor de kaart van onze buurvrouw.": what the result is for, after the ask
                top = "none"
            if (
                top == "search"
                and out
                and out[-1].capability == "search"
                and question(out[-1].segment)
                and not question(seg)
                and self._points_back_only(seg)
            ):  # "what does X do when ...? find that, then ...", "¿quién inventó X?
                # Búscalo y ...": the lookup of the question just asked, not a second one
                top = "none"
            if (
                top in JOBS
                and seg.joined == "and"
                and seen.asked
                and not (seg.data or seg.payload)
                and self._purpose_clause(seg)
            ):  # "Train an adapter on them, damit das Modell in unserem Ton antwortet",
                # "..., zodat het model ...": what the job before it is for, no job
                top = "none"
            if top == "search" and p[top] < CHAT_SEARCH and thanks(seg):
                top = "none"  # "thx that was super helpful!!": thanks, nothing to look up
            if thanks(seg) and len(tokens(seg.instruction)) <= 3 and seen.asked:
                top = "none"  # "..., grazie": courtesy after the ask
            if (
                top in JOBS
                and seg.joined not in ("start", "item", "line", "then")
                and not (seg.data or seg.payload or seg.lead_ref or seg.again)
                and seen.asked
                and (
                    # (a verb's object, "draw it in poster style", "a cat in ...": a job)
                    (
                        (style_only(seg) or answer_manner(seg))
                        and not _object_in(seg, self._segmenter)
                        and not _names_language(seg.instruction)
                    )
                    or (not self._verb_first(seg) and self._restates(seg, seen.capabilities))
                )
            ):  # round 15: "..., poster style", "kort antwoord is prima", "Pas de texte,
                # juste l'image": how the thing asked before is to be, no job of its own
                top = "none"
            if (
                top == "action"
                and p[top] < SURE_ACTION
                and said_of_oneself(seg)
                and (seg.instruction.rstrip().endswith("!") or not asks_of_someone(seg))
                and not acts_for_user(seg)  # "please clear out my Downloads folder": a command
            ):  # "I finally passed my exam!", "Ich hab's geschafft!": news, no command;
                # "ok im off to bed", "ik verveel me zo vandaag": how the speaker is, said to
                # no one ("I need you to ...", "ik wil ...": a wish for something done)
                top = "none"
            if (
                at == 0
                and len(segments) > 1
                and (
                    (top == "text_generation" and salutation(seg))  # (what the model makes
                    or (top in ("text_generation", "search") and chat_question(seg))  # of chat)
                )
                and any(
                    self._asks_or_opens(s)
                    and not small_talk(s)
                    and not chat_question(s)
                    and float(max(row[CLASSES.index(c)] for c in JOBS)) >= UNSURE
                    for s, row in zip(segments[1:], probs[1:], strict=True)
                )
            ):  # "Hi!", "Ciao!", "Hola, ¿qué tal?" before a job the model is sure of: a
                # greeting, no job
                top = "none"
            if (
                top in ("text_generation", "none")
                and p[top] < USERS_THINGS
                and "search" in served
                and users_things(seg) is False
            ):  # "¿Cómo se convierte un PDF a Word?", "Hoe converteer je een PDF naar Word?"
                # (no chat for its "je"): how a thing of the user's is done, asked; the lookup's
                top = "search"
            if (
                top in ("search", "text_generation", "summarization")
                or (top == "none" and question(seg) and not negated(seg))
            ) and live_data(seg):
                top = "live"  # "what's Nvidia trading at right now?": no lookup knows it
            elif (
                out
                and out[-1].why == _LIVE
                and seg.joined == "and"
                and len([w for w in tokens(seg.instruction) if w.isalnum()]) <= 2
                and not self._verb_first(seg)
            ):  # "¿Qué tiempo va a hacer mañana | en Sevilla?": where the live data is asked
                top = "live"
            if seg.again and top not in JOBS:
                # "einmal ein Quiz und einmal eine Zusammenfassung": each time is a job, the
                # model's best served one however weak (the words alone are a fragment)
                jobs = [c for c in JOBS if c in served]
                top = max(jobs, key=lambda c: p[c]) if jobs else top
            seg.describes = not seg.again and (
                (
                    seg.joined == "sentence"
                    and not turned
                    and p.get(top, 0.0) < UNSURE
                    and not (seg.data or seg.payload)
                    and not self._asks_or_opens(seg)
                    and named_deliverable(seg) is None
                )
                or (
                    not _names_language(seg.instruction)
                    and describes_ask(seg, top, p, out[-1] if out else None)
                )
            )
            if top == "none":
                out.append(Routed(seg, None, p[top], "none", p))
            elif top == "action":
                out.append(Routed(seg, None, p[top], _ACTION, p))
            elif top == "live":
                out.append(Routed(seg, None, p["search"], _LIVE, p))
            elif top == "media":
                out.append(Routed(seg, None, p["action"], _MEDIA, p))
            elif top in served:
                out.append(Routed(seg, top, p[top], probs=p))
            elif STAND_IN.get(top) in served:
                out.append(Routed(seg, STAND_IN[top], p[top], probs=p))
            else:
                jobs = [c for c in JOBS if c in served]
                alt = max(jobs, key=lambda c: p[c]) if jobs else None
                if alt is not None and p[alt] >= MOVE_MIN:
                    out.append(Routed(seg, alt, p[alt], probs=p))
                else:
                    out.append(Routed(seg, None, p[top], f"{top}: no healthy agent serves it", p))
        for k in range(len(out) - 1):
            r, nxt = out[k], out[k + 1]
            if (
                r.why == "none"
                and r.capability is None
                and nxt.why == _ACTION
                and nxt.segment.joined == "and"
                and r.probs is not None
                and not negated(r.segment)
                and is_world_action(r.segment, r.probs, self._segmenter, self._model, alone=True)
            ):  # "Lock the front door and turn off the lights": a verb the model places
                # nowhere, on an object, joined to an act no agent performs, is one too
                r.why = _ACTION
        self._chat_tail(out)
        self._sign_off(out)
        _constraints(out, self._segmenter, served)
        _servable_rest(out, served)
        _lookup_before_use(out, served)  # (before a remark is read as context for the job after it)
        _written_then_translated(out)
        _context(out, self._segmenter, _chat)
        _questions_about_data(out, self._model)
        _analysis_fragments(out, self._model, self._segmenter)
        return out


__all__ = ["IntentPlanner", "PlanningFailed"]


# "about" and its kin before the topic of a lookup, after ``normalize``: "what you have on
# black holes", "qué tienes sobre Machu Picchu", "documentati su Leonardo".
_TOPIC = lx_words(
    "about on sobre acerca sur uber ueber su sul sulla sugli sulle circa riguardo over omtrent"
)
# What reads an earlier text whatever it says: with no text of its own, it needs one made.
_READS_TEXT = frozenset({"summarization", "translation"})


def _lookup_before_use(routed: list[Routed], served: dict[str, Any]) -> None:
    """Round 17: a clause that opens a sentence, names a topic ("about X", "sobre X", "su X")
    and asks no job the model knows ("mira qué tienes sobre Machu Picchu", "Documentati su
    Leonardo da Vinci", "pull up whatever you have on black holes"), before a step joined to
    it that works on a result ("y con eso sácame un resumen", "e con quelle informazioni
    prepara ...", "and give me the short version"): the lookup that step reads, not words
    lost or folded into it."""
    for r, nxt in itertools.pairwise(routed):
        seg, after = r.segment, nxt.segment
        # (an unsure job: a remark to ``_context``, or "mira a ver qué hay sobre X" read as
        # writing at 0.43 with the lookup next)
        unsure = r.capability in JOBS and r.score < UNSURE
        if not (unsure or (r.capability is None and r.why == "none")) or "search" not in r.probs:
            continue
        if seg.data or seg.payload or seg.joined not in ("start", "sentence") or question(seg):
            continue
        words = tokens(seg.instruction)
        if len(words) < 3 or not any(w in _TOPIC for w in words[1:-1]):
            continue
        if (
            nxt.capability not in JOBS
            or "search" not in served
            or after.joined not in ("and", "then")
        ):
            continue
        if after.data or after.payload:
            continue
        if not (leads_back(after.instruction) or after.lead_ref or nxt.capability in _READS_TEXT):
            continue
        jobs = sorted(JOBS, key=lambda c: -r.probs.get(c, 0.0))
        if "search" not in jobs[:2] or r.probs["search"] < 0.05:
            continue
        if r.capability not in (None, "search") and r.capability not in jobs[:1]:
            continue
        # sure enough that ``_context`` keeps it a step, not a remark before the next
        r.capability, r.why, r.score = "search", "", max(r.probs["search"], UNSURE)


def _written_then_translated(routed: list[Routed]) -> None:
    """Round 17: "Maak een flyer-tekst ..., in het Nederlands, en ook in het Frans en het
    Duits": the first language is the one the text is written in (a job of the writer the
    model was unsure of, read as a translation for the language), the ones after "also" are
    translations of it."""
    for r, nxt in itertools.pairwise(routed):
        seg = r.segment
        if r.capability != "translation" or r.score >= UNSURE or nxt.capability != "translation":
            continue
        if seg.data or seg.payload or seg.quoted or "text_generation" not in r.probs:
            continue
        if not also_in_languages(nxt.segment.instruction):
            continue
        r.capability, r.score = "text_generation", max(r.probs["text_generation"], UNSURE)
