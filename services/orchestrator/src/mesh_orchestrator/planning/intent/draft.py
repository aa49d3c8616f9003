"""The draft of a plan from routed segments: tasks, fan-outs, links, data and inputs.

``IntentPlanner.build_sync`` routes each segment to a capability (or to none) and hands the
result to ``DraftBuilder``: a routed segment becomes a task (or one per item of a list it
fans out over, ``fanout``) whose input fits its agent's schema; it reads the earlier tasks
``links`` says it reads (or the edge model decides, ``edges``); a restyling of the task
before ("make it rhyme") folds into it; data handed before the segment that uses it, or
after every instruction, goes to the task that takes it; nothing asked that an agent could
name goes to the writer.
"""

from __future__ import annotations

from typing import Any

from mesh_contracts import ExecutionPlan, ManifestAgent, SubTask
from mesh_contracts.plan import MAX_PLAN_TASKS
from mesh_orchestrator.planning.deterministic import Draft, PlanningFailed
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _LEADS
from mesh_orchestrator.planning.intent.chat import chat_question
from mesh_orchestrator.planning.intent.cues import small_talk
from mesh_orchestrator.planning.intent.edges import EdgeModel, Origin
from mesh_orchestrator.planning.intent.fanout import _languages, fan_out
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.links import SAME as _SAME
from mesh_orchestrator.planning.intent.links import Links, _content
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.rules import Routed, _lead
from mesh_orchestrator.planning.intent.segment import Segment, made_thing
from mesh_orchestrator.planning.structure import fill_input

_WRITE_OR_DRAW = frozenset(["text_generation", "image_generation"])
_DESCRIBED = _WRITE_OR_DRAW | {"search"}


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


def _piece_named(words: list[str], k: int) -> bool:
    """``words[k]`` is a piece of writing named as a thing of its own, with its article or
    count and a word describing it ("un e-mail curto", "einen kurzen Absatz"), not a length
    ("in one paragraph")."""
    if not (words[k] in lx.PIECE_NOUNS or words[k].rstrip("s") in lx.PIECE_NOUNS):
        return False
    return any(
        (words[j] in lx.ARTICLES or (words[j] in lx.NUMBERS and words[j] != "both"))
        and made_thing(words[j:])
        for j in range(max(0, k - 2), k)
    )


# Round 16: what may lead a clause before its verb when the verb makes a new thing from the
# last result: "then", "also", and a phrase naming the source ("from that", "da quello",
# "daraus", "à partir de ça", "com isso", "daarvan"), in the seven languages.
_STEP_LEAD = lx_words(
    "then and also next after that poi e anche dopo y luego despues tambien ademas puis et "
    "ensuite aussi apres dann und danach auch noch depois tambem entao en dan daarna ook"
)
_FROM = lx_words(
    "from with using of on da dal dalla dallo con de del desde a partir com avec sur von aus "
    "mit uit van met basis based"
)
_SOURCE = lx.DEMONSTRATIVE | _LEADS | lx_words("it them")
# Object pronouns that may stand between the verb and the thing ("write me a jingle").
_TO_ME = lx_words("me us mir uns mi ci moi nous mij ons")
# Verbs that put something into the last result rather than make a new thing ("add a line",
# "añade un verso", "ajoute une rime", "füg einen Reim hinzu", "aggiungi una strofa", "voeg
# een regel toe"), by stem.
_ADD_STEMS = (
    "add",
    "anad",
    "agreg",
    "ajout",
    "fug",
    "erganz",
    "aggiung",
    "adicion",
    "acrescent",
    "voeg",
    "includ",
    "inclu",
    "insert",
    "put",
    "pon",
    "mett",
    "mets",
    "zet",
    "setz",
)


# Portuguese "of it" fused ("a partir dele", "a partir dela").
_OF_IT = frozenset({"dele", "dela", "deles", "delas"})


def _past_lead(words: list[str], k: int) -> tuple[int, bool]:
    """``k`` moved past "then", "also", "me" and a phrase naming the source ("from that", "da
    quello", "daraus", "daarvan"); whether a source was named."""
    source = False
    while k < len(words):
        if words[k] in _STEP_LEAD or words[k] in _TO_ME:
            k += 1
        elif k + 1 < len(words) and words[k] in _FROM and words[k + 1] in _SOURCE:
            k, source = k + 2, True  # "from that", "da quello", "com isso"
        elif words[k : k + 2] == ["a", "partir"]:  # round 17: "a partir dele", "à partir de ça"
            j = k + 3 if words[k + 2 : k + 3] == ["de"] else k + 2
            if j >= len(words) or not (words[j] in _SOURCE or words[j] in _OF_IT):
                break
            k, source = j + 1, True
        elif words[k] in _LEADS and words[k] not in lx.DEMONSTRATIVE:
            k, source = k + 1, True  # "daraus", "daarvan": the source in one word
        else:
            break
    return k, source


def _makes_new_thing(words: list[str]) -> bool:
    """ "write a jingle around it", "da quello ricava un post per Instagram", "Daraus dann
    einen Instagram-Post", "maak daarvan een post": past its lead and a phrase naming the
    source, the clause is a verb (or, after the source, none) and a thing with an indefinite
    article, which it makes; "make it a haiku", "give the poem a title" put the earlier thing
    before the article and restyle it, "add a verse" puts more into it."""
    k, source = _past_lead(words, 0)
    if k < len(words) and words[k] in lx.ARTICLES:
        at = k if source else -1  # "Daraus dann einen Post": the verb left out
    elif k < len(words) and words[k] not in _SOURCE and not words[k].startswith(_ADD_STEMS):
        at, _ = _past_lead(words, k + 1)
    else:
        at = -1
    return (
        0 <= at < len(words) - 1
        and words[at] in lx.ARTICLES
        and words[at] not in ("some", "des", "uns", "umas")
        and words[at + 1] not in _SOURCE
    )


def _new_deliverable(seg: Segment, before: frozenset[str]) -> bool:
    """A thing of its own to make ("then a poem about that person"), not a restyling of the
    last one ("make it rhyme", "make the poem shorter")."""
    named = {w.rstrip("s") for w in before}
    words = tokens(seg.instruction)
    if _makes_new_thing([w for w in words if w not in lx.POLITE or w in _STEP_LEAD]):
        return True
    for k, w in enumerate(words):
        if w.rstrip("s") in named:
            continue
        if (w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS) or _piece_named(words, k):
            # "can you make that an image?" after an image described: the earlier thing
            # (a reference before the noun) made into the kind of thing it already is
            return not any(
                v in lx.DEMONSTRATIVE or v in _LEADS or v in ("it", "them")
                for v in words[max(0, k - 3) : k]
            )
    return False


def _best_agent(agents: list[ManifestAgent]) -> ManifestAgent:
    return max(agents, key=lambda a: (a.priority, a.healthy_instances))


class DraftBuilder:
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
        if not self.tasks and "text_generation" in self.schemas:
            # "Metti una sveglia alle 7. Ciao! Come stai?": the act is refused, the chat beside
            # it is still small talk, the writer's
            chat = [
                r.segment.instruction
                for r in self.routed
                if r.capability is None
                and r.why == "none"
                and (chat_question(r.segment) or small_talk(r.segment))
            ]
            if not self.unresolvable:
                self._chat()
            elif chat:
                self._chat(" ".join(chat))
        if len(self.tasks) > MAX_PLAN_TASKS:
            # a request of hundreds of jobs (a pasted list, one phrase repeated) is refused as
            # too large, not turned into a plan the contract rejects with a ValidationError;
            # before the edge model, which weighs every pair of tasks (cubic work in them)
            raise PlanningFailed(
                f"the request asks for {len(self.tasks)} separate jobs; a plan holds at most "
                f"{MAX_PLAN_TASKS}: split it into smaller requests"
            )
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
            and not seg.again  # "una vez para niños y otra para adultos": each time a task
            and (
                (cap in _WRITE_OR_DRAW and last[0].capability == cap)
                # a sentence that only describes, after a picture or a text: which job the
                # unsure model read in it says nothing ("Watercolour, soft morning light.",
                # "Trazo de lápiz, mar gris": writing, a picture, or where it puts what it
                # cannot place, a lookup)
                or (
                    seg.describes
                    and deps in ([], [last[0].task_id])  # (what it describes, read or not)
                    and cap in _DESCRIBED
                    and last[0].capability in _WRITE_OR_DRAW
                )
            )
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
        decided = self.edges.decide(self.origins, self.query)
        for task in self.tasks:
            if task.task_id in decided and decided[task.task_id] != task.depends_on:
                self.notes.append(
                    f"{task.task_id} reads {', '.join(decided[task.task_id]) or 'nothing'}"
                    " (edge model)"
                )
                task.depends_on = decided[task.task_id]

    def _chat(self, said: str | None = None) -> None:
        """Nothing asked that an agent could name, nothing refused: the writer answers (only
        ``said``, the chat, when an act beside it was refused)."""
        text = (said or self.query).strip()[:2000]
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
