"""The intent planner: segments routed by a small trained model, linked by multilingual rules.

``IntentPlanner.plan`` splits the request into segments (``segment``), asks the intent model
(``model``) which job each one is (one of the well-known capabilities, a world ``action`` no
agent performs, or ``none``: a constraint, a remark, context), and builds the plan:

* a segment that starts with a negation ("no need to look anything up", "sin texto") or an
  "only" constrains the others and is no task; so is ``none``;
* ``action`` and a job no healthy agent serves are *unresolvable*: left out and named
  (``PlanningFailed`` when nothing is left), a capability the model does not know (an agent's
  own) is matched on the manifest's words (``deterministic``'s BM25);
* enumerations fan out (``fanout``); references and jobs that work on an earlier result link
  to it (``links``); inline data goes to the task that uses it; inputs fit the agent's schema.

No torch, no network: numpy and a few MB of weights. Same request and manifest, same plan.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, ManifestAgent, SubTask
from mesh_orchestrator.planning.deterministic import Draft, PlanningFailed, index_of
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.actions import (
    is_world_action,
    job_verb_heads,
    named_deliverable,
    reads_action,
)
from mesh_orchestrator.planning.intent.edges import EdgeModel, Origin, learned
from mesh_orchestrator.planning.intent.fanout import (
    _BETWEEN,
    _languages,
    distributes,
    fan_out,
    without_list,
)
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.links import SAME as _SAME
from mesh_orchestrator.planning.intent.links import Links, _content
from mesh_orchestrator.planning.intent.model import (
    CLASSES,
    JOBS,
    WEIGHTS,
    IntentModel,
    normalize,
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
    _lead,
    _material_first,
    _merge_analyses,
    _model_text,
    _questions_about_data,
)
from mesh_orchestrator.planning.intent.segment import _LEADS, _REFERS, Segment, Segmenter
from mesh_orchestrator.planning.structure import fill_input

# Below this the model's "action" yields to a thing to make named after the verb.
SURE_ACTION = 0.5
# Below this probability a job the manifest cannot serve is not moved to the next best one.
MOVE_MIN = 0.15
# A lookup the model is this unsure of, in a clause that is no question and starts with no
# verb, is none (small talk, a remark): "search" is where the model puts what it cannot place.
WEAK_SEARCH = 0.4
# A lookup the model is this unsure of, put as a statement about the speaker or the assistant
# (no question, no verb of a job first), is something said, not asked.
CHAT_SEARCH = 0.65
_ACTION = "an action in the world no agent performs"
# Who does a job when its own capability is not served: the writer writes code, summaries
# and translations too (a weaker answer beats none).
STAND_IN = {
    "code_generation": "text_generation",
    "summarization": "text_generation",
    "translation": "text_generation",
}


# Stems of "translate" in the seven languages.
_TRANSLATE = ("transl", "tradu", "ubersetz", "uberset", "vertaal", "vertal", "traslat")


def _names_language(text: str) -> bool:
    """A translation says where to: a language, "two languages", or a translating verb."""
    words = tokens(text)
    return any(
        w in lx.LANGUAGES or w in lx.LANGUAGE_WORDS or w.startswith(_TRANSLATE) for w in words
    )


def _retells_in_languages(seg: Segment, named: frozenset[str]) -> bool:
    """An earlier result asked for again in named languages, with no subject of its own
    ("an English and a German version of it", "that same slogan in German": words the
    earlier tasks said (``named``) are no subject of its own)."""
    if not _languages(seg.instruction) or seg.quoted:
        return False
    words = [
        w
        for w in tokens(seg.instruction)
        if w not in lx.POLITE and w not in _SAME and w.rstrip("s") not in named
    ]
    return _content(words, True) <= 1


def _new_deliverable(seg: Segment, before: frozenset[str]) -> bool:
    """A thing of its own to make ("then a poem about that person"), not a restyling of the
    last one ("make it rhyme", "make the poem shorter")."""
    named = {w.rstrip("s") for w in before}
    words = tokens(seg.instruction)
    for k, w in enumerate(words):
        if (w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS) and w.rstrip("s") not in named:
            # "can you make that an image?" after an image described: the earlier thing
            # (a reference before the noun) made into the kind of thing it already is
            return not any(
                v in lx.DEMONSTRATIVE or v in _LEADS or v in ("it", "them")
                for v in words[max(0, k - 3) : k]
            )
    return False


def _best_agent(agents: list[ManifestAgent]) -> ManifestAgent:
    return max(agents, key=lambda a: (a.priority, a.healthy_instances))


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
        _material_first(routed)
        _continuations(routed, self._segmenter)
        _merge_analyses(routed)
        build = _Build(routed, served, query, edges)
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
        if not self._segmenter.is_opener(words[0]):
            return False
        return bool(lx.CLITIC.match(words[0]) or any(w in _REFERS for w in words[1:4]))

    def _asks_or_opens(self, seg: Segment) -> bool:
        """A question, or a clause that starts with a verb of a job, or a list item."""
        assert self._segmenter is not None
        return (
            _question(seg)
            or seg.joined == "item"
            or self._segmenter.opens_job(seg.instruction)
            or self._segmenter.opens_job(without_list(seg.instruction))  # "For each of A, B ..."
        )

    def _hand_payloads(self, segments: list[Segment], probs: Any) -> set[int]:
        """Pasted text (a quotation, prose after a colon) whose own words ask nothing (none,
        or a remark the model is unsure of: "Here's the mail I got:") before a clause that
        asks and carries no material of its own is that clause's material ('"<a review>" ^
        what's the verdict?', "Me ha llegado este correo: «...» resúmelo"): it moves there,
        so the model reads the ask with its material. The indexes of the segments it left."""
        out: set[int] = set()
        for at, seg in enumerate(segments):
            if not seg.payload or seg.data:
                continue
            if tokens(seg.instruction) and (
                float(np.max(probs[at])) >= UNSURE or self._asks_or_opens(seg)
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
                    or (self._asks_or_opens(s) and CLASSES[int(np.argmax(probs[k]))] != "none")
                ),
                None,
            )
            if nxt is None or nxt.payload or nxt.data or nxt.joined == "item":
                continue
            nxt.payload, seg.payload = seg.payload, ""
            nxt.text = f"{nxt.text}: {nxt.payload}"
            out.add(at)
        return out | self._return_payloads(segments, probs, out)

    def _return_payloads(self, segments: list[Segment], probs: Any, moved: set[int]) -> set[int]:
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
                    if segments[k].payload or segments[k].data or self._asks_or_opens(segments[k])
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

    def _route(
        self, segments: list[Segment], served: dict[str, Any], manifest: CapabilitiesManifest
    ) -> list[Routed]:
        assert self._model is not None and self._segmenter is not None
        texts = [_model_text(s) for s in segments]
        probs = self._model.probabilities(texts)
        segments = _hand_data(segments, self._model, self._segmenter)
        probs = self._model.probabilities([_model_text(s) for s in segments])
        _claim_data(segments, probs, self._model)
        probs = self._model.probabilities([_model_text(s) for s in segments])
        own = [c for c in served if c not in CLASSES]
        index = index_of(manifest) if own else None
        out: list[Routed] = []
        carriers = self._hand_payloads(segments, probs)
        if carriers:
            probs = self._model.probabilities([_model_text(s) for s in segments])
        for at, (seg, row) in enumerate(zip(segments, probs, strict=True)):
            p = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
            top = max(p, key=lambda c: p[c])
            if at in carriers:  # its pasted text went to the ask after it
                out.append(Routed(seg, None, p[top], "none", p))
                continue
            if index is not None:
                cap, bm25 = index.best(seg.instruction)
                if cap in own and bm25 > 0 and (p[top] < UNSURE or top in ("none", "action")):
                    out.append(Routed(seg, cap, bm25, probs=p))
                    continue
            if top != "action" and (
                is_world_action(seg, p, self._segmenter, self._model)
                or (
                    out
                    and out[-1].why == _ACTION
                    and reads_action(seg, p, self._segmenter, self._model)
                )
            ):  # "restart my laptop", "Doe de voordeur op slot": no agent does it
                top = "action"
            elif top == "action" and job_verb_heads(
                seg, p, self._segmenter, self._model
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
            elif top == "action" and (thing := named_deliverable(seg)):
                # "uma legenda curta para foto no Instagram": the thing named decides the job
                row = self._model.probabilities([thing])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                top = max((c for c in JOBS if c in served), key=lambda c: named[c], default=top)
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
                top in JOBS
                and p[top] < UNSURE
                and (made := _made_thing(seg)) is not None
                and "text" not in made  # "a text" names no kind of job
            ):  # "hazme un dibujo que lo explique", "give me a placard text": the verb says
                # only make or give; the thing made decides the job
                row = self._model.probabilities([made])[0]
                noun = CLASSES[int(np.argmax(row))]
                if noun in JOBS and noun in served and float(row.max()) >= UNSURE:
                    top = noun
            if top in ("none", "action") and (counted := _counted_thing(seg)) is not None:
                # "Need three separate images: a ..., a ... and a ...": the thing counted
                # (a count of things the mesh makes is no action either)
                row = self._model.probabilities([counted])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                job = max((c for c in JOBS if c in served), key=lambda c: named[c], default=None)
                if job is not None and named[job] >= MOVE_MIN:
                    top = job
            lead = [w for w in tokens(seg.instruction) if w not in lx.POLITE][:1]
            if (
                lead
                and lead[0] in lx.QUESTION
                # a thing to make in it is asked for ("Come up with five taglines")
                and not any(
                    w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS
                    for w in tokens(seg.instruction)
                )
                and top in ("image_generation", "text_generation")
                and p[top] < SURE_ACTION
                and p["search"] * 2 >= p[top]
                and "search" in served
            ):  # "Wie viele Knochen hat ein Mensch" as a line of its own: a question
                top = "search"
            if top == "translation" and not _names_language(seg.instruction):
                # "put it in a rhyming couplet": no language named, no translating verb
                top = max((c for c in JOBS if c != "translation"), key=lambda c: p[c])
            if (
                top == "search"
                and seg.instruction.rstrip().endswith("?")
                and not any(s.data for s in segments)  # beside a table, a question is about it
                and self._verb_first(seg)
            ):
                # "Draft that for me?": a request put as a question; its verb decides
                row = self._model.probabilities([_model_text(seg).replace("?", " ")])[0]
                verb_job = CLASSES[int(np.argmax(row))]
                if verb_job in JOBS and verb_job != "search":
                    top, p = verb_job, {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
            if (
                top == "search"
                and p[top] < WEAK_SEARCH
                and (not self._asks_or_opens(seg) or _small_talk(seg))
                and not any(
                    self._segmenter.opens_job(s.instruction) for s in segments if s is not seg
                )
            ):  # "tô entediado hoje", "you still there?": no lookup, nothing else asked
                # ... unless it tells to act on a thing ("Reboot the router"): not small talk
                alone = is_world_action(seg, p, self._segmenter, self._model, alone=True)
                top = "action" if alone else "none"
            if top in ("none", "action") and (thing := _only_thing(seg)) is not None:
                # "Só a imagem, sem texto: um gato ...": the only thing asked names the job
                row = self._model.probabilities([thing])[0]
                named = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
                job = max((c for c in JOBS if c in served), key=lambda c: named[c], default=None)
                if job is not None and named[job] >= MOVE_MIN:
                    top = job
            if (
                top == "search"
                and p[top] < WEAK_SEARCH
                and seg.joined in ("start", "sentence", "para")
                and not _question(seg)
                and _said_of_oneself(seg)
                and any(self._segmenter.opens_job(s.instruction) for s in segments if s is not seg)
            ):  # "I'm the treasurer of a small garden and ...": who asks, before the ask
                top = "none"
            if (
                top == "search"
                and p[top] < CHAT_SEARCH
                and seg.joined not in ("item", "line", "then")
                and any(r.capability for r in out)  # said after what was asked
                and not _question(seg)
                and not self._verb_first(seg)
                and _about_us(seg)
            ):  # "mañana tengo examen", "Domani ti faccio altre domande": said, not asked
                top = "none"
            announced = seg.joined in ("then", "item", "line")  # "then ...", "- ...": a step
            if (
                top == "none"
                and p["none"] < 0.4
                and self._verb_first(seg)
                and len(tokens(seg.instruction)) >= 3  # not "merci" alone
                and not (out and out[-1].why == _ACTION)  # "... and tell her I'm late"
                and not _negated(seg)
            ):
                # "Search for the oldest bridge": a job's verb opens it, the model unsure
                announced = True
            if top == "none" and p["none"] < 0.4 and self._works_on_result(seg):
                announced = True  # "erklär es dann in drei Sätzen": a verb on an earlier result
            if top == "none" and announced:
                job = max((c for c in JOBS if c in served), key=lambda c: p[c], default=None)
                if job is not None and p[job] >= MOVE_MIN:
                    top = job
            if (
                top != "translation"
                and top not in ("data_analysis", "lora_training")
                and "translation" in served
                and any(r.capability for r in out)
                and _to_language(seg)
            ):  # "passa ele pro inglês", "El primero pásamelo al catalán": an earlier text
                top = "translation"
            if top == "search" and p[top] < CHAT_SEARCH and _thanks(seg):
                top = "none"  # "thx that was super helpful!!": thanks, nothing to look up
            if (
                _thanks(seg)
                and len(tokens(seg.instruction)) <= 3
                and any(r.capability for r in out)
            ):
                top = "none"  # "..., grazie": courtesy after the ask
            if (
                top == "action"
                and p[top] < SURE_ACTION
                and seg.instruction.rstrip().endswith("!")
                and _said_of_oneself(seg)
            ):  # "I finally passed my exam!", "Ich hab's geschafft!": news, no command
                top = "none"
            if (
                at == 0
                and top == "text_generation"  # what the model makes of small talk
                and len(segments) > 1
                and _salutation(seg)
                and any(
                    self._asks_or_opens(s)
                    and not _small_talk(s)
                    and float(max(row[CLASSES.index(c)] for c in JOBS)) >= UNSURE
                    for s, row in zip(segments[1:], probs[1:], strict=True)
                )
            ):  # "Hi!", "Ciao!" before a job the model is sure of: a greeting, no job
                top = "none"
            seg.describes = (
                seg.joined == "sentence"
                and p.get(top, 0.0) < UNSURE
                and not (seg.data or seg.payload)
                and not self._asks_or_opens(seg)
                and named_deliverable(seg) is None
            )
            if top == "none":
                out.append(Routed(seg, None, p[top], "none", p))
            elif top == "action":
                out.append(Routed(seg, None, p[top], _ACTION, p))
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
        _constraints(out, self._segmenter)
        _context(out, self._segmenter)
        _questions_about_data(out, self._model)
        _analysis_fragments(out, self._model, self._segmenter)
        return out


# "you" in the seven languages: a question about the assistant itself is small talk.
_YOU = frozenset(
    [
        "you",
        "your",
        "yours",
        "u",
        "tu",
        "te",
        "ti",
        "toi",
        "vous",
        "votre",
        "du",
        "dich",
        "dir",
        "dein",
        "deine",
        "voce",
        "teu",
        "tua",
        "tuo",
        "jij",
        "je",
        "jou",
        "jouw",
        "usted",
        "ustedes",
        "vos",
    ]
)


def _small_talk(seg: Segment) -> bool:
    """A short question to the assistant about itself ("you still there?", "what's your
    name?"): fewer than two words of a subject of its own."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE and w != "?"]
    if not any(w in _YOU for w in words):
        return False
    return (
        _content([w for w in words if w not in _YOU and w.split("'")[0] not in lx.QUESTION], False)
        <= 1
    )


# The speaker in the seven languages: a statement about oneself or the assistant.
_ME = lx_words(
    "i i'm im i've ive my me we our yo mi mis tengo estoy je j'ai j'suis moi mon ma mes ich "
    "mir mich mein meine meinen eu meu minha estou tenho io mio mia sono ho ik mij mijn ben heb"
)


# Thanks in the seven languages.
_THANKS = lx_words(
    "thanks thank thx ty cheers gracias merci danke dank obrigado obrigada grazie bedankt "
    "dankjewel dankje dankuwel"
)


def _thanks(seg: Segment) -> bool:
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return bool(words) and words[0] in _THANKS


# Verbs that say only "make" or "give" (with a clitic or "me" after them): what is made
# decides the job ("hazme un dibujo", "give me a caption", "fais-moi un dessin").
_MAKE = lx_words(
    "make give do get haz hazme haznos dame danos hacer fais fais-moi faites donne donne-moi "
    "mach mache gib gibt faz faca faz-me da-me fai fammi dammi fate maak geef geeft"
)


def _made_thing(seg: Segment) -> str | None:
    """The noun of the thing a make/give verb makes ("hazme un dibujo" -> "dibujo"), when it
    is a thing the mesh makes; else None."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    if not words or words[0] not in _MAKE:
        return None
    for k in range(1, min(len(words) - 1, 4)):
        if words[k] not in lx.ARTICLES:
            continue
        for noun in words[k + 1 : k + 4]:
            if noun in lx.JOB_NOUNS or noun.rstrip("s") in lx.JOB_NOUNS:
                return noun
        return None
    return None


def _only_thing(seg: Segment) -> str | None:
    """The thing after "only" when a clause starts with it ("only the picture", "Só a
    imagem", "nur das Bild"), when it is a thing the mesh makes."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE or w in lx.ONLY]
    if len(words) < 2 or words[0] not in lx.ONLY:  # (Portuguese "só" reads as "so")
        return None
    article = words[1].split("'")[0] + "'" if "'" in words[1] else words[1]
    if article not in lx.ARTICLES and article not in lx.DETERMINER and article != "l'":
        return None
    noun = words[2] if len(words) > 2 else ""
    if "'" in words[1]:  # "l'immagine", "l'image": the article glued to the thing
        noun = words[1].split("'")[-1]
    if noun in lx.LANGUAGES:  # "only the Italian", "nur das Englische": its translation
        return "translation"
    return noun if noun in lx.JOB_NOUNS or noun.rstrip("s") in lx.JOB_NOUNS else None


def _salutation(seg: Segment) -> bool:
    """One word alone that opens a request and names no job ("Hi!", "Ciao,", "Hallo")."""
    words = tokens(seg.instruction.rstrip(" !,.:"))
    return (
        len(words) == 1
        and not seg.payload
        and not seg.data
        and words[0] not in lx.QUESTION
        and not (words[0] in lx.JOB_NOUNS or words[0].rstrip("s") in lx.JOB_NOUNS)
    )


# The speaker as the subject that opens a clause: "I'm ...", "we ...", "ich bin ...".
_I = lx_words("i i'm im i've ive we we're yo je j'ai j'suis ich wir eu nos io noi ik wij we")


def _said_of_oneself(seg: Segment) -> bool:
    """A clause that the speaker opens as its subject ("I'm the treasurer of ...", "Ich bin
    Lehrerin und ...")."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return (
        bool(words)
        and words[0] in _I
        # "I only want the German translation": a thing asked for, not who asks
        and not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
    )


def _about_us(seg: Segment) -> bool:
    """A clause that speaks of the speaker or the assistant ("I've got an exam tomorrow",
    "ti faccio altre domande", "você tem sido muito útil")."""
    return any(w in _ME or w in _YOU for w in tokens(seg.instruction))


# Pronouns that stand for an earlier text before its new language ("passa ele pro inglês").
_IT = lx_words(
    "it them him her ele ela eles elas lui lei loro lo la le les li ihn sie es hem het ze"
)


# "and" between the pronoun and the language names another thing ("about it and a French
# version of it"): not the same text in a new language.
_JOINS = lx_words("and or y o e et ou und oder en of plus")


def _to_language(seg: Segment) -> bool:
    """An earlier result put into a language: a pronoun, a verb with its pronoun or an
    ordinal, then only little words and a language ("passa ele pro inglês", "El primero
    pásamelo también al catalán", "zet het in het Engels")."""
    words = tokens(seg.instruction)
    for j, w in enumerate(words):
        if w not in lx.LANGUAGES:
            continue
        k = j - 1
        while (
            k >= 0
            and words[k] in _BETWEEN
            and words[k] not in _IT
            # "en" right before the language is French or Spanish "in" ("mets-la en
            # néerlandais"), elsewhere it may be Dutch "and"
            and (words[k] not in _JOINS or (words[k] == "en" and k == j - 1))
        ):
            k -= 1
        return (
            k >= 0
            and k >= j - 4
            and (
                words[k] in _IT
                or bool(lx.CLITIC.match(words[k]))
                or words[k] in lx.ORDINAL
                # "passa a conclusão pra espanhol": an earlier result named (not "un resumen
                # en inglés": a new one)
                or (
                    (
                        words[k] in lx.RESULT_NOUNS
                        or words[k].rstrip("s") in lx.RESULT_NOUNS
                        or words[k].replace("ao", "ion") in lx.RESULT_NOUNS
                    )
                    # (Portuguese "a" is "the")
                    and not (k > 0 and words[k - 1] in lx.ARTICLES and words[k - 1] != "a")
                )
            )
        )
    return False


def _counted_thing(seg: Segment) -> str | None:
    """The thing to make that a count hands out over a list ("three separate images: ..."),
    with no verb to say the job: the noun after the count."""
    if not distributes(seg.instruction):
        return None
    words = tokens(without_list(seg.instruction))
    for k, w in enumerate(words):
        if w in lx.NUMBERS:
            for noun in words[k + 1 : k + 4]:
                # a plural in any of the seven: images, Bilder, tekeningen, immagini, disegni
                forms = {noun, noun.rstrip("s"), noun[:-2], noun[:-1]}
                forms |= {noun[:-1] + v for v in "eoa"}
                if forms & lx.JOB_NOUNS:
                    return next(iter(sorted(forms & lx.JOB_NOUNS)))
    return None


def _negated(seg: Segment) -> bool:
    return any(w in lx.NEGATION for w in tokens(seg.instruction)[:3])


def _question(seg: Segment) -> bool:
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return (
        "?" in seg.instruction
        or bool(words and words[0] in lx.QUESTION)
        or bool(lx.KNOW.match(normalize(seg.instruction)))  # "I'd like to know who ..."
    )


class _Build:
    """Turn routed segments into tasks: fan-outs, links, data and inputs."""

    def __init__(
        self,
        routed: list[Routed],
        served: dict[str, Any],
        query: str,
        edges: EdgeModel | None = None,
    ) -> None:
        self.routed = routed
        self.edges = edges
        self.origins: list[Origin] = []
        self.query = query
        self.schemas: dict[str, dict[str, Any]] = {
            name: dict(_best_agent([a for a in c.agents if a.healthy_instances]).input_schema)
            for name, c in served.items()
        }
        self.tasks: list[SubTask] = []
        self.notes: list[str] = []
        self.unresolvable: list[str] = []

    def plan(self) -> Draft:
        links = Links()
        handed: list[Segment] = []  # data handed over before the segment that uses it
        for r in self.routed:
            seg = r.segment
            if r.capability is None:
                if r.why not in ("none", "constraint", "continuation"):
                    self.unresolvable.append(f"{seg.instruction[:80]!r} ({r.why})")
                elif (seg.data or seg.payload) and r.why == "none":
                    handed.append(seg)
                continue
            if handed and not seg.data and not seg.payload:
                seg.data = [b for h in handed for b in h.data]
                seg.payload = " ".join(h.payload for h in handed if h.payload)
                handed = []
            self._add(r, links)
        if handed:
            self._late(handed)
        if not self.tasks and not self.unresolvable and "text_generation" in self.schemas:
            self._chat()
        self._learned_edges()
        if not self.tasks:
            raise PlanningFailed(
                "unresolvable: no registered capability serves "
                + ("; ".join(self.unresolvable) or "this request"),
                self.unresolvable or ["this request"],
            )
        reasoning = "intent: " + "; ".join(self.notes)
        if self.unresolvable:
            reasoning += "; unresolvable (no capability serves it, left out): " + "; ".join(
                self.unresolvable
            )
        plan = ExecutionPlan(tasks=self.tasks, reasoning=reasoning, planner="intent")
        return Draft(plan, list(self.notes), list(self.unresolvable))

    def _add(self, r: Routed, links: Links) -> None:
        seg, cap = r.segment, r.capability
        assert cap is not None
        schema = self.schemas[cap]
        takes_data = "data" in (schema.get("properties") or {})
        deps = links.reads(seg, cap, takes_data)
        if (
            deps
            and cap in ("text_generation", "image_generation")
            and "translation" in self.schemas
            and _retells_in_languages(seg, links.named())  # "fais-en une version anglaise"
        ):
            cap, schema, takes_data = "translation", self.schemas["translation"], False
            self.notes.append(f"{seg.instruction[:40]!r}: its own text in other languages")
        last = links.last_group
        if (
            len(last) == 1
            and last[0].capability == cap
            and cap in ("text_generation", "image_generation")
            and not (_lead(seg) and _lead(seg)[0] in lx.QUESTION)
            and (deps == [last[0].task_id] or (seg.describes and not deps))
            and not (seg.data or seg.payload)
            and not _new_deliverable(seg, links.words.get(last[0].task_id, frozenset()))
        ):
            self._fold(last[0], seg)
            return
        variants = fan_out(seg.text, seg.instruction, cap)
        group: list[SubTask] = []
        for text, instruction in variants:
            body = f"{text}: {seg.payload}" if seg.payload and seg.payload not in text else text
            task = SubTask(
                task_id=f"t{len(self.tasks) + 1}",
                description=text[:200] or cap,
                capability=cap,
                input=fill_input(schema, body, instruction, seg.data),
                depends_on=deps,
            )
            self.tasks.append(task)
            group.append(task)
            self.origins.append(
                Origin(
                    task.task_id,
                    cap,
                    len(links.groups),
                    seg.instruction,
                    seg.joined,
                    listed=seg.listed,
                    lead_ref=seg.lead_ref,
                    own_data=bool(seg.data or seg.payload),
                    quoted=seg.quoted,
                )
            )
            note = f"{task.task_id} {cap} {r.score:.2f}"
            if deps:
                note += f" after {', '.join(deps)}"
            if seg.data:
                note += " (inline data)"
            self.notes.append(note)
        links.add(seg, group)

    def _learned_edges(self) -> None:
        """The rules' inputs are final unless an edge model decides them, from the rules'
        decision and the generic facts of each pair (``edges``)."""
        by_id = {o.task_id: o for o in self.origins}
        for task in self.tasks:
            o = by_id.get(task.task_id)
            if o is not None:
                o.rule_deps = list(task.depends_on)
                o.own_data = o.own_data or bool(task.input.get("data"))
        if self.edges is None or len(self.origins) < 2:
            return
        decided = self.edges.decide(self.origins)
        for task in self.tasks:
            if task.task_id in decided and decided[task.task_id] != task.depends_on:
                self.notes.append(
                    f"{task.task_id} reads {', '.join(decided[task.task_id]) or 'nothing'}"
                    " (edge model)"
                )
                task.depends_on = decided[task.task_id]

    def _chat(self) -> None:
        """Nothing asked that an agent could name, nothing refused: the writer answers."""
        text = self.query.strip()[:2000]
        self.tasks.append(
            SubTask(
                task_id="t1",
                description=text[:200],
                capability="text_generation",
                input=fill_input(self.schemas["text_generation"], text, text, []),
            )
        )
        self.notes.append("t1 text_generation: no job named, the writer answers")

    def _fold(self, task: SubTask, seg: Segment) -> None:
        """ "make it rhyme" after a poem: a restyling of that task, not a second one."""
        for key in ("prompt", "text", "query", "question"):
            if isinstance(task.input.get(key), str):
                task.input[key] = f"{task.input[key]}; {seg.instruction}"
                break
        task.description = f"{task.description}; {seg.instruction}"[:200]
        self.notes.append(f"{task.task_id} also: {seg.instruction[:60]!r}")

    def _late(self, handed: list[Segment]) -> None:
        """Data handed after every instruction goes to the first data task without any."""
        blocks = [b for h in handed for b in h.data]
        for task in self.tasks:
            props = self.schemas[task.capability].get("properties") or {}
            if "data" in props or "examples" in props:
                if blocks and "data" not in task.input:
                    task.input = fill_input(
                        self.schemas[task.capability], task.description, task.description, blocks
                    )
                    task.depends_on = []
                return


__all__ = ["IntentPlanner", "PlanningFailed"]
