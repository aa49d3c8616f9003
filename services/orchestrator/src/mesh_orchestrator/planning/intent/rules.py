"""The rules that adjust what the intent model said of each segment, before the plan is built.

Each works on the routed segments in request order and says why in its docstring: data that
moves to the step that analyses it, negations and "only" as constraints, remarks as context,
questions about a table, the material of a chain, greetings and second questions that belong
to the segment before them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.actions import acts_for_user
from mesh_orchestrator.planning.intent.backrefs import _FOUND, _REFERS, _SAME, _reference_only
from mesh_orchestrator.planning.intent.fanout import without_list
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.model import CLASSES, JOBS, IntentModel, normalize, tokens
from mesh_orchestrator.planning.intent.segment import Segment, Segmenter, leads_back, made_thing

# "I need: a ...", "Ich brauche: eine ...": a short frame before a colon and the thing asked.
_FRAME = re.compile(r"^([^:]{1,40}):\s+(\S.*)$", re.S)
_LEAD_REFERENCE = re.compile(r"([^,]{1,40}),\s*(\S.*)$", re.S)

TAKES_DATA = frozenset(["data_analysis", "lora_training"])
TRANSFORMS = frozenset(["summarization", "translation"])
# A capability the model does not know wins a segment on BM25 when the model is this unsure.
UNSURE = 0.5
# a clause's own words (no table) give a job that takes a table at least this much: they name it
_NAMES_JOB = 0.15
# A clause before " - " that the model is this unsure of introduces what follows.
INTRO_MAX = 0.35
# A clause beside jobs that are all ruled out takes its best other job from this probability.
_RULED_OUT_MOVES = 0.15


@dataclass
class Routed:
    """A segment and what it became: a capability, or why it is no task."""

    segment: Segment
    capability: str | None
    score: float
    why: str = ""  # "constraint", "none", or why it is unresolvable
    probs: dict[str, float] = field(default_factory=dict)


def _hand_data(segments: list[Segment], model: IntentModel, segmenter: Segmenter) -> list[Segment]:
    """Data that comes with no ask of its own (a table alone, "resting heart rate this week
    <numbers>") goes to the first segment without data that, given it, asks for an analysis
    ("look at this", "give me the stats", "which supplier is late?"), after the data or, when
    none follows, before it; the data's own words become that segment's context."""
    data_at = CLASSES.index("data_analysis")
    out = list(segments)
    for carrier in [s for s in segments if s.data and not s.payload]:
        if carrier.instruction and (
            segmenter.opens_job(carrier.instruction) or carrier.instruction.rstrip().endswith("?")
        ):
            continue
        k = out.index(carrier)
        bare = [i for i, s in enumerate(out) if not s.data and not s.payload and s.instruction]
        if not bare:
            continue
        given = model.probabilities([_model_text(out[i]) + " ddd" for i in bare])
        askers = [i for i, row in zip(bare, given, strict=True) if int(np.argmax(row)) == data_at]
        after = [i for i in askers if i > k]
        target = after[0] if after else (askers[-1] if askers else None)
        if target is None:
            continue
        asker = out[target]
        asker.data = list(carrier.data)
        if carrier.instruction:
            asker.text = f"{carrier.instruction}: {asker.text}"
        if target > k and carrier.joined in ("start", "sentence", "para") and asker.joined == "and":
            asker.joined = carrier.joined
        out.remove(carrier)
    return out


def _item_question(seg: Segment) -> bool:
    """A list item that asks a question beside its table asks it of the table."""
    return seg.joined == "item" and seg.instruction.rstrip().endswith("?")


def _claim_data(
    segments: list[Segment], probs: Any, model: IntentModel, segmenter: Segmenter
) -> None:
    """Data a segment carries without asking anything of it ("here's last week's signups"
    before the question, a table at the end of "Analyze this table and then ...") moves to
    the first segment that, given a table, asks for an analysis of it."""
    carriers = [i for i, s in enumerate(segments) if s.data]
    loose = [
        i
        for i in carriers
        if CLASSES[int(np.argmax(probs[i]))] not in TAKES_DATA and not _item_question(segments[i])
    ]
    bare = [
        i
        for i, s in enumerate(segments)
        if not s.data
        and not s.payload
        and s.instruction
        # the intro of a list ("Couple of things:") takes no table from its own items
        and not (s.intro and any(segments[k].joined == "item" for k in carriers))
    ]
    if not bare or not carriers:
        return
    given = model.probabilities([_model_text(segments[i]) + " ddd" for i in bare])
    if not _claimed(segments, probs, model, segmenter, carriers, loose, bare, given):
        _then_material(segments, model, carriers, bare, given)


def _claimed(
    segments: list[Segment],
    probs: Any,
    model: IntentModel,
    segmenter: Segmenter,
    carriers: list[int],
    loose: list[int],
    bare: list[int],
    given: Any,
) -> bool:
    """``_claim_data``'s moves; whether one was made."""
    data_at = CLASSES.index("data_analysis")
    if not loose:  # "Analyze this table and then explain the findings: <table>"
        last = carriers[-1]
        if _item_question(segments[last]):
            return False
        alone = model.probabilities([segments[last].instruction or "ddd"])[0]
        for i, row in zip(bare, given, strict=True):
            if i >= last:
                continue
            asked = int(np.argmax(row))
            if asked == data_at and row[data_at] > probs[last][data_at]:
                segments[i].data, segments[last].data = segments[last].data, []
                return True
            if (
                CLASSES[asked] in TAKES_DATA
                and CLASSES[int(np.argmax(alone))] not in TAKES_DATA
                # ... unless the carrier opens a job of its own and, with its table, is sure of
                # one that takes it ("Look up X. Analyze this CSV: <rows>": the lookup, given a
                # table, reads weakly as its analysis; "Analyze this CSV" alone is a near-tie)
                and not (
                    segmenter.opens_job(segments[last].instruction)
                    and max(probs[last][CLASSES.index(c)] for c in TAKES_DATA) >= UNSURE
                    # its own words name such a job at least weakly ("danke" does not)
                    and max(alone[CLASSES.index(c)] for c in TAKES_DATA) >= _NAMES_JOB
                )
            ):
                # "Fine-tune on these pairs ..., then use it to write ...: <pairs>"
                segments[i].data, segments[last].data = segments[last].data, []
                return True
        return False
    for i, row in zip(bare, given, strict=True):
        if int(np.argmax(row)) == data_at:
            blocks = [b for k in loose for b in segments[k].data]
            for k in loose:
                segments[k].data = []
            segments[i].data = blocks
            return True
    return False


def _then_material(
    segments: list[Segment], model: IntentModel, carriers: list[int], bare: list[int], given: Any
) -> None:
    """Round 15: "... bitte einmal durchrechnen und dann in einem Satz zusammenfassen: <table>":
    a table no segment claimed, after the last step of a chain, is the material of the step
    before "then" when, given it, that step's best job is its analysis (the model may be surer
    of "none" for a verb it does not know) and the last step's own words name no job that
    takes a table."""
    data_at = CLASSES.index("data_analysis")
    jobs = [CLASSES.index(c) for c in JOBS]
    for k in carriers:
        if segments[k].joined != "then" or k - 1 not in bare:
            continue
        row = given[bare.index(k - 1)]
        alone = model.probabilities([segments[k].instruction or "ddd"])[0]
        if (
            max(jobs, key=lambda j: row[j]) == data_at
            and CLASSES[max(jobs, key=lambda j: alone[j])] not in TAKES_DATA
        ):
            segments[k - 1].data, segments[k].data = segments[k].data, []
            return


def _context(
    routed: list[Routed], segmenter: Segmenter, chat: Callable[[Segment], bool] = lambda s: False
) -> None:
    """A remark that opens no job and that the model is unsure of ("Our accountant retires on
    Friday.", "My colleague forwarded me this") is context for the job after it. ``chat``:
    whether a clause is chat (a greeting, thanks, a question to the assistant), which the
    writer answers whatever the model makes of it ("Hola!"): no job a remark is context for."""
    for r, nxt in itertools.pairwise(routed):
        if r.capability is None and r.why != "an action in the world no agent performs":
            continue
        if r.capability is None and acts_for_user(r.segment):
            continue  # "clear out my Downloads folder": the user's own files, no remark
        if nxt.capability is None or r.segment.data or r.segment.joined in ("item", "line"):
            continue
        if chat(nxt.segment):
            continue
        if segmenter.opens_job(r.segment.instruction) or _asks(r.segment):
            continue
        led = _lead(r.segment)
        if (r.segment.lead_ref or (bool(led) and led[0] in lx.BACK)) and _names_a_thing(
            r.segment
        ):  # (round 14: "Dann bitte eine Kurzfassung ...": "then" leads it as well)
            continue  # "From that, I want a 3-line summary ...", "Com isso, quero um resumo":
            # a thing asked of an earlier result, not a remark
        if r.capability == "translation" and (
            _points_back(r.segment) or any(w in _REFERS and len(w) >= 2 for w in _lead(r.segment))
        ):
            continue  # round 14: "I'll need it in Polish and Ukrainian, plus a one-liner",
            # "Lo quiero en francés y ...": an earlier result put into a language, a step
        if r.capability == "search" and _points_back(nxt.segment):
            continue  # "grab the definition of X, simplify it": the next step reads this one
        if r.capability is not None and leads_back(r.segment.instruction):
            continue  # round 17: "da quello ricava una riga sola per Instagram": a job asked
            # of an earlier result (the model unsure which), no remark before the next
        if r.segment.payload:  # "From the family group chat: <message>" before the ask
            if r.capability is None or nxt.capability != "text_generation":
                continue
            nxt.segment.payload = r.segment.payload
            r.segment.payload = ""
        elif r.capability is not None and r.score >= UNSURE:
            continue
        nxt.segment.text = f"{r.segment.text}. {nxt.segment.text}"
        r.capability, r.why = None, "none"


def _names_a_thing(seg: Segment) -> bool:
    """An article and, among the two words after it, a thing the mesh makes ("a 3-line
    summary", "um resumo", "eine kurze Zusammenfassung")."""
    words = tokens(seg.instruction)
    return any(
        w in lx.ARTICLES
        and any(x in lx.JOB_NOUNS or x.rstrip("s") in lx.JOB_NOUNS for x in words[k + 1 : k + 3])
        for k, w in enumerate(words)
    )


def _points_back(seg: Segment) -> bool:
    """A clause that names an earlier result: "that same slogan", "simplify it", "tradúcelo"."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    if not words:
        return False
    return bool(
        any(w in _SAME for w in words[:3])
        or lx.CLITIC.match(words[0])
        or lx.PRONOUN.search(normalize(seg.instruction))
    )


def _asks(seg: Segment) -> bool:
    words = _lead(seg)
    return seg.instruction.rstrip().endswith("?") or bool(
        words
        and (
            words[0] in lx.ARTICLES or words[0] in ("i", "we", "ich", "je", "ik", "io", "eu", "yo")
        )
    )


def _questions_about_data(routed: list[Routed], model: IntentModel) -> None:
    """A question in a request with a table that, given the table, asks for an analysis of it
    ("Which branch sells most?" beside the rows, "tell me whether ...") is part of that
    analysis, not a lookup (nor the writer's, when the model is unsure)."""
    tables: list[str] | None = None
    for r in routed:
        told = _told(r.segment) or _wish_to_know(r.segment)
        # "sag mir, ob es Ausreißer gibt", "quero saber se ..." beside the table, which the
        # model unsure of it gave the writer or a summary or took for a remark: a question
        # put as "tell me whether" or as a wish to know, about that table too
        unsure_told = (
            told
            and r.score < UNSURE
            and (
                r.capability in ("text_generation", "summarization")
                or (r.capability is None and r.why == "none")
            )
        )
        if (r.capability != "search" and not unsure_told) or r.segment.data:
            continue
        lead = _lead(r.segment)
        if tables is None:
            # the request's tables, wherever the draft put them: an analysis's, or the
            # writing's asked of its analysis ("... e depois escreve um parágrafo ...: <rows>";
            # the draft analyses it first). Round 16: read once (a clause this loop makes an
            # analysis carries no data, so adds no table); read at each clause, thousands of
            # questions were quadratic
            tables = [b for n in routed if n.capability is not None for b in n.segment.data]
        if not tables:
            continue
        if not (
            r.segment.instruction.rstrip().endswith("?")
            or told
            or (lead and lead[0] in lx.QUESTION)
            or names_column(r.segment.instruction, tables)
        ):
            continue  # "Look up X" beside a table is a lookup; a question ("tell me which
            # one wins", "quero saber se ...": a wish to know) may be about it, and so may a
            # clause that names one of its columns ("find the lines that look abnormal" beside
            # "line,units,defects")
        row = model.probabilities([_model_text(r.segment) + " ddd"])[0]
        if told:  # asked as a question whatever the model makes of it: which job, given it
            row = row[: len(JOBS)]
        if CLASSES[int(np.argmax(row))] == "data_analysis":
            r.capability, r.why = "data_analysis", ""


# A column name is read as words: "desconto_pct" is "desconto" and "pct", "unitsSold" is
# "units" and "sold"; a name of fewer than four letters names nothing ("id", "qty").
_NAME_PARTS = re.compile(r"[A-Z]?[a-z\u00df-\u00ff]+|[A-Z\u00c0-\u00de]+(?![a-z])")
_COLUMN_MIN = 4
# how many blocks and how many characters of each a clause is checked against: the header (the
# keys of a JSON object) is at the start of a block
_HEADER_CHARS = 2_000
_HEADER_BLOCKS = 8
_HEADER_NAMES = 64


def _stem(word: str) -> str:
    """A word without its plural ending, then without its last vowel ("lines", "ventas",
    "Zahlen", "stanze" -> "line", "vent", "zahl", "stanz"), for matching a column's name to a
    clause's word: singular and plural meet in each language ("venta"/"ventas",
    "stanza"/"stanze", "prodotto"/"prodotti")."""
    for end in ("es", "s", "en", "n"):
        if len(word) - len(end) >= _COLUMN_MIN and word.endswith(end):
            word = word[: -len(end)]
            break
    if len(word) - 1 >= _COLUMN_MIN and word[-1] in "aeio":
        word = word[:-1]
    return word


def column_names(block: str) -> set[str]:
    """The stems of a table's column names: the words of a CSV header, or the keys of the
    first JSON object (its first ``_HEADER_CHARS`` characters only)."""
    head = block[:_HEADER_CHARS]
    if head.lstrip()[:1] in ("[", "{"):
        fields = re.findall(r'"([^"\n]{1,40})"\s*:', head)
    else:
        fields = re.split(r"[,;\t|]", head.split("\n", 1)[0])
    out: set[str] = set()
    for f in fields[:_HEADER_NAMES]:
        for part in _NAME_PARTS.findall(f):
            word = normalize(part)
            if len(word) >= _COLUMN_MIN and word not in lx.FUNCTION:
                out.add(_stem(word))
    return out


def names_column(text: str, tables: list[str]) -> bool:
    """Whether a clause names a column of one of the request's tables ("the lines that look
    abnormal" beside "line,units,defects", "se o desconto tem a ver com a quantidade" beside
    "produto,desconto_pct,quantidade")."""
    names: set[str] = set()
    for block in tables[:_HEADER_BLOCKS]:
        names |= column_names(block)
    return any(
        len(w) >= _COLUMN_MIN and _stem(w) in names for w in tokens(text) if w not in lx.FUNCTION
    )


def _analysis_fragments(routed: list[Routed], model: IntentModel, segmenter: Segmenter) -> None:
    """Short verbless parts split off an analysis by commas ("Dammi media, minimo e massimo
    di ogni campo", "mean, median and the spread"): more of that analysis when, given the
    table, the model reads them as one."""
    for prev, r in itertools.pairwise(routed):
        if not (prev.capability == "data_analysis" and (prev.segment.data or prev.why == "")):
            continue
        seg = r.segment
        words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
        if seg.joined != "and" or seg.data or seg.payload or not words or len(words) > 6:
            continue
        if segmenter.is_opener(words[0]) or words[0] in lx.QUESTION or "?" in seg.instruction:
            continue
        if r.capability is not None and r.score >= UNSURE:
            continue
        if r.why == "constraint":
            continue
        row = model.probabilities([_model_text(seg) + " ddd"])[0]
        if CLASSES[int(np.argmax(row))] == "data_analysis":
            r.capability, r.why = "data_analysis", ""


# "whether"/"if" after "tell me", in the seven languages: "dis-moi s'il", "sag mir, ob".
_WHETHER = frozenset(["if", "whether", "si", "s'il", "s'ils", "ob", "se", "of"])
# "tell me" said in one word, a verb with its pronoun attached: "dis-moi", "dimmi", "dime".
_TELL_ME = re.compile(r"^[a-z]{2,}(?:-moi|-me|mmi|me|mi)$")


# The verbs of ``lx.KNOW`` ("find out who ..." opening a clause is a lookup's verb).
_KNOW_FIRST = re.compile(
    r"\s*(?:know|find out|wonder|wondering|curious|saber|savoir|wissen|erfahren|sapere|weten)\b"
)


def _wish_to_know(seg: Segment) -> bool:
    """A question put as a wish to know ("I want to know whether ...", "quero saber se ...",
    "ich will wissen, ob ..."), not a verb of finding out that opens the clause ("Find out
    who founded Oslo")."""
    text = normalize(seg.instruction)
    return bool(lx.KNOW.match(text)) and not _KNOW_FIRST.match(text)


def _told(seg: Segment) -> bool:
    """A question put as "tell me which/whether ..." ("tell me which one wins", "dis-moi
    s'il y a ...", "sag mir, ob ...", "dimmi se ...", "vertel me of ..."): a question."""
    lead = tokens(seg.instruction)
    while lead and lead[0] in lx.POLITE:
        lead = lead[1:]  # not later: "s'il" is courtesy in "s'il te plaît" only
    if len(lead) > 2 and lead[1] in ("me", "mir", "moi", "mi", "mij"):
        nxt = lead[2]
    elif len(lead) > 1 and _TELL_ME.match(lead[0]):
        nxt = lead[1]
    else:
        return False
    return nxt.split("'")[0] in lx.QUESTION or nxt in _WHETHER


def _material_first(routed: list[Routed]) -> None:
    """ "Summarize in one sentence and then translate into English: <text>": the text is the
    material of the first step of the chain; the later one reads its output."""
    jobs = [r for r in routed if r.capability is not None]
    for prev, r in itertools.pairwise(jobs):
        a, b = prev.segment, r.segment
        if not b.payload or a.payload or a.data or b.data or b.joined not in ("then", "and"):
            continue
        if prev.capability in TRANSFORMS and r.capability in TRANSFORMS:
            a.payload, b.payload = b.payload, ""
            a.text, b.text = f"{a.text}: {a.payload}", b.instruction


# "then" and its kin that open a sentence as the next step, in the seven languages (not "and"
# or "also": "Hi! And you?" is still chat after a greeting).
_THEN_STEP = lx_words(
    "then next afterwards finally lastly luego despues finalmente puis ensuite enfin dann "
    "danach anschliessend schliesslich depois poi dopo infine quindi daarna dan vervolgens"
)


def _continuations(routed: list[Routed], segmenter: Segmenter) -> None:
    """A few words after a piece of writing that start no job of their own ("Hello! How are
    you?", "Olá, tudo bem contigo?") belong to it."""
    prev: Routed | None = None
    # the words of ``prev``'s instruction, counted once and added to as it takes continuations
    # (counting the grown text again each turn was quadratic: 1.5 s for 8,000 chars of "a: b;")
    prev_words = 0
    prev_named = False
    for r in routed:
        words = tokens(r.segment.instruction)
        # (round 15: a thing named in a list, "a short quiz", is no greeting however short)
        greeting = prev is not None and prev_words <= 3 and not prev_named
        # "Poi disegnalo", "Then draw it", "Luego dibújalo": a job put after "then" and its
        # kin in any language is a step of its own, not more words for the writing before
        lead = [w for w in words if w not in lx.POLITE or w in _THEN_STEP]
        stepped = len(lead) > 1 and lead[0] in _THEN_STEP
        if (
            prev is not None
            and prev.capability == "text_generation"
            and r.capability is not None
            and (
                len(words) <= (6 if greeting else 3)
                # "good morning!! how's your day going so far?": chat after a greeting
                or (greeting and r.capability == "text_generation" and _chat(r.segment))
            )
            and not (r.segment.data or r.segment.payload)
            and r.segment.joined not in ("then", "item", "line")
            and not r.segment.again  # "una vez para niños y otra para adultos": two times
            and not lx.CLITIC.match(words[0] if words else "")
            and not stepped
            and not _deliverable(words)  # "..., a tweet and a poster": things of their own
            and (
                not segmenter.is_opener(words[0] if words else "")
                or (greeting and r.capability == "text_generation")
            )
        ):
            prev.segment.instruction += " " + r.segment.instruction
            prev.segment.text += " " + r.segment.text
            prev_words += len(words)
            r.capability, r.why = None, "continuation"
            continue
        if r.capability is not None:
            prev, prev_words = r, len(words)
            prev_named = _deliverable(words)


def _chat(seg: Segment) -> bool:
    """A question put to the assistant itself ("are you a real person?", "¿qué tal?")."""
    from mesh_orchestrator.planning.intent.chat import chat_question
    from mesh_orchestrator.planning.intent.cues import to_the_assistant

    return chat_question(seg) or to_the_assistant(seg)


def _deliverable(words: list[str]) -> bool:
    """An article or a count and a thing the mesh makes ("a tweet", "une affiche", "une
    analogie simple", "drei Stichpunkte")."""
    return (
        len(words) > 1
        and (words[0] in lx.ARTICLES or (words[0] in lx.NUMBERS and words[0] != "both"))
        # round 15: two words may describe it ("a simple diagram picture", "un breve testo
        # promozionale")
        and made_thing(words)
    )


# The figures of a table, in the seven languages: "the numbers", "los datos", "die Zahlen".
_FIGURES = lx_words(
    "numbers figures data stats statistics numeros cifras datos estadisticas chiffres "
    "donnees statistiques zahlen daten werte statistik dados numeri dati cifre statistiche "
    "cijfers gegevens getallen"
)


def _merge_analyses(routed: list[Routed]) -> None:
    """Two questions about one table ("which sells most, and any odd value?") are one analysis;
    so is a summary asked just before the analysis that carries the table, joined by "and"
    ("sum them up and tell me what stands out: <table>"): a summary of data is its analysis."""
    prev: Routed | None = None
    for r in routed:
        if r.capability is None:
            continue
        if (
            prev is not None
            and prev.capability == "summarization"
            and r.capability == "data_analysis"
            and r.segment.joined == "and"
            and r.segment.data
            and not (prev.segment.data or prev.segment.payload)
        ):
            r.segment.instruction = prev.segment.instruction + "; " + r.segment.instruction
            r.segment.text = prev.segment.text + "; " + r.segment.text
            prev.capability, prev.why = None, "continuation"
            prev = r
            continue
        if (
            prev is not None
            and prev.capability == "data_analysis"
            and prev.segment.data
            and r.capability == "summarization"
            and r.segment.joined in ("and", "sentence", "para")
            and not (r.segment.data or r.segment.payload)
            and any(w in _FIGURES for w in tokens(r.segment.instruction)[:5])
        ):  # "<table>. Summarise the numbers and flag ...": a summary of the table's figures
            # is its analysis
            prev.segment.instruction += "; " + r.segment.instruction
            prev.segment.text += "; " + r.segment.text
            r.capability, r.why = None, "continuation"
            continue
        if (
            prev is not None
            and prev.capability == r.capability == "data_analysis"
            and r.segment.joined in ("and", "sentence", "para")
            and not (prev.segment.data and r.segment.data)
        ):
            prev.segment.instruction += "; " + r.segment.instruction
            prev.segment.text += "; " + r.segment.text
            prev.segment.data = prev.segment.data + r.segment.data
            r.capability, r.why = None, "continuation"
            continue
        prev = r


def _model_text(seg: Segment) -> str:
    """What the model reads of a segment: its instruction without a leading reference
    ("Based on that, ...", "usando quello che trovi, ...": the link, not the job), with
    ``ddd``/``ppp`` for the data and pasted text it carries."""
    text = seg.head or seg.instruction or ""
    framed = _FRAME.match(text)
    if framed and len(tokens(framed.group(1))) <= 4:
        rest = tokens(framed.group(2))
        if rest and rest[0] in lx.ARTICLES:  # "Ik heb nodig: een korte tekst ...": the thing
            text = framed.group(2)
    text = without_list(text)  # "Draw three pictures: a kite, ...": the job, not the items
    know = lx.KNOW.match(normalize(text))
    if know and _same_length(text):  # "I'd like to know who ...": the question
        text = text[know.end() :]
    lead = _LEAD_REFERENCE.match(text)
    if lead and _reference_only(lead.group(1)) and _names_result(lead.group(1)):
        text = lead.group(2)
    else:
        text = _after_found(text)
    if seg.data:
        text += " ddd"
    if seg.payload:
        text += " ppp"
    return text.strip() or "ddd"


def _after_found(text: str) -> str:
    """``text`` after a short lead naming what a search found and a comma or a colon
    ("Using what you find, put that in Hindi", "Mit dem, was du findest: bring das ...",
    "Con quello che trovi, dammi ..."): the job, not the link."""
    if not _same_length(text):
        return text
    found = _FOUND.search(normalize(text))
    if found is None:
        return text
    after = re.match(r"\s*[,:]\s*(\S.*)$", text[found.end() :], re.S)
    if after is None or len(tokens(text[: found.start()])) > 3:
        return text
    return after.group(1)


def _same_length(text: str) -> bool:
    """``normalize`` keeps offsets (it only folds case and accents) for this text."""
    return len(normalize(text)) == len(text)


def _names_result(piece: str) -> bool:
    """A word that points at a result ("that", "quello", "isso"), not a lone letter that
    is also an article ("a", "o")."""
    return any(w in lx.DEMONSTRATIVE or (w in _REFERS and len(w) >= 2) for w in tokens(piece))


def _remark(seg: Segment) -> bool:
    """ "c'est pour un collègue", "something I can put on a slide": what a job is for."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return not seg.data and bool(lx.REMARK.match(" ".join(words)))


def _reminder(words: list[str]) -> bool:
    """ "Don't forget to ...", "no olvides ...", "n'oublie pas de ...", "vergiss nicht ...":
    a negated "forget" is a job said as a reminder, not a constraint."""
    plain = [w.split("'")[-1] for w in words]
    forget = [k for k, w in enumerate(plain) if w in lx.FORGET]
    if not forget:
        return False
    others = [w for k, w in enumerate(words) if k != forget[0]]
    return any(w in lx.NEGATION or w.split("'")[0] in ("n", "don") for w in others) or words[
        forget[0]
    ].startswith("n'")


def _style(seg: Segment) -> bool:
    """ "Keep it informal", "houd het kort en vrolijk", "que suene profesional": how an
    earlier job should be, in a few words that name no thing to make and no language."""
    text = " ".join(w for w in tokens(seg.instruction) if w not in lx.POLITE)
    m = lx.STYLE.match(text)
    if m is None or seg.data or "?" in seg.instruction:
        return False
    rest = text[m.end() :].split()
    return len(rest) <= 6 and not any(
        w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS or w in lx.LANGUAGES for w in rest
    )


def _plain_noun(word: str) -> bool:
    return word in lx.DETERMINER or word in lx.ARTICLES or word in lx.JOB_NOUNS


def _lead(seg: Segment) -> list[str]:
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    if words[:1] and words[0] in _YOU_NEED and any(w in lx.NEGATION for w in words[1:5]):
        # "Je hoeft er niks bij te schrijven", "Du brauchst dazu nichts zu schreiben": what
        # the assistant need not do, its negation after a verb and a particle
        return words[:5]
    return words[:3]


# "you" at the head of what the assistant need not do, in the seven languages
_YOU_NEED = lx_words("you tu usted vous du ihr je jij u voce")


def _past_ruled_out(
    routed: list[Routed], negated: list[bool], served: Collection[str]
) -> list[bool]:
    """Each segment's job once the jobs a negation rules out are set aside, when only
    negated segments hold a job ("i don't want a picture this time, just tell me who wrote
    X", "..., als Bild. Nein, ich brauche kein Gedicht und keine Beschreibung dazu"): the
    clause the model puts nowhere but leans to another job (not one ruled out) asks it."""
    ruled = {r.capability for r, neg in zip(routed, negated, strict=True) if neg}
    ruled.discard(None)
    if not ruled:
        return [False] * len(routed)
    for r, neg in zip(routed, negated, strict=True):
        if neg or r.capability is not None or r.why != "none" or r.segment.intro:
            continue
        p = r.probs
        if not p or p.get("none", 1.0) >= UNSURE:
            continue
        job = max(
            (c for c in JOBS if c in served and c not in ruled), key=lambda c: p[c], default=None
        )
        if job is not None and p[job] >= _RULED_OUT_MOVES:
            r.capability, r.why, r.score = job, "", p[job]
    return [r.capability is not None and not negated[i] for i, r in enumerate(routed)]


def _constraints(
    routed: list[Routed], segmenter: Segmenter, served: Collection[str] | None = None
) -> None:
    """Negated and "only" segments are constraints on the rest when the rest holds a job;
    the line that introduces a list ("For the newsletter I need:") is no job either. When
    the only jobs are negated ones, a clause beside them that leans to another job (of
    ``served``) is the ask (``_past_ruled_out``)."""
    for k, r in enumerate(routed):
        nxt = routed[k + 1] if k + 1 < len(routed) else None
        dash_intro = (  # "Help with a few unrelated things - what's ...?", a list's first line
            nxt is not None
            and nxt.segment.joined in ("dash", "line")
            and r.segment.joined != "line"
            and r.score < INTRO_MAX
            and not (r.segment.data or r.segment.payload)
        )
        if r.segment.intro or dash_intro:
            r.capability, r.why = None, "none"
    lead = [_lead(r.segment) for r in routed]
    negated = [
        (any(w in lx.NEGATION for w in words) and not _reminder(words))
        or _remark(r.segment)
        or (i > 0 and _style(r.segment))
        for i, (words, r) in enumerate(zip(lead, routed, strict=True))
    ]
    # "only the picture" constrains; "just translate this" is a job said plainly
    only = [
        len(words) > 1
        and words[0] in lx.ONLY
        and r.capability is not None
        and _plain_noun(words[1])
        and not segmenter.is_opener(words[1])
        for words, r in zip(lead, routed, strict=True)
    ]
    for i, nxt in enumerate(routed[1:]):  # "Just a quick slogan, plus that same slogan in
        if only[i] and _points_back(nxt.segment):  # German": a later step reads it, a job
            only[i] = False
    jobs = [r.capability is not None and not (negated[i] or only[i]) for i, r in enumerate(routed)]
    if not any(jobs) and any(only):  # "Pas d'image : juste un petit poème": "only" is the job
        only = [False] * len(routed)
        jobs = [r.capability is not None and not negated[i] for i, r in enumerate(routed)]
    if not any(jobs) and served is not None:
        jobs = _past_ruled_out(routed, negated, served)
    if not any(jobs):
        return
    for i, r in enumerate(routed):
        if negated[i] or only[i]:
            r.capability, r.why = None, "constraint"
            earlier = [j for j in range(i) if jobs[j]]
            if earlier and _style(r.segment) and not r.segment.payload:
                job = routed[earlier[-1]].segment  # "keep it informal": said to that job
                job.instruction = f"{job.instruction}; {r.segment.instruction}"
                job.text = f"{job.text}; {r.segment.instruction}"
            if r.segment.payload and earlier and not routed[earlier[-1]].segment.payload:
                # "Traduis ce paragraphe, c'est pour un collègue : « ... »": the text pasted
                # after the remark is the material of the job before it
                job = routed[earlier[-1]].segment
                job.payload, r.segment.payload = r.segment.payload, ""
                job.text = f"{job.text}: {job.payload}"
