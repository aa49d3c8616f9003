"""Which earlier task a step reads: a small logistic model over generic pair features.

``links.Links`` decides each step's inputs by rules over connectives and references. Those
rules were written from the dev split's failures and fitted it (edge F1 ~0.9 there, 0.3-0.6 on
a new writer's requests at first sight). This module backs them with a learned decision: for
every ordered pair of planned tasks (``i`` earlier, ``j`` later, from different segments) it
scores whether ``j`` reads ``i`` from features that name no wording of any request: how far
apart they are, the capabilities of both, whether ``j``'s clause refers back (a pronoun, a
clitic, "the result", "both" in the seven languages, from ``lexicon``), how it is joined to
the one before, whether it has a subject or data of its own, whether the request is a list of
parallel jobs, and what the rules decided. The weights (``edges.json``, a few KB) are written
by ``python -m bench.planning.train.edges`` from the dev split, the same bytes every run; its
``--cv`` flag chooses the variant leave one batch out.

Since round 8 the model decides every plan's inputs (``IntentPlanner()``; ``edges=None`` plans
with the rules alone, to measure them): over the blind dev batches held out one at a time it
beat the rules (bench/planning/README.md, "Round 8"). Each task reads its best-scoring source
(every one when its clause says "both"/"all"), and the model adds no edge the rules did not
make to a clause that does not ask for material (``keep``'s gate: no reference back, a subject
of its own, joined as a parallel job: "write a poem and draw a lighthouse"; since round 10 "the
same material" and a sibling of a step that read its source by a leading reference ask for it).
Edges only point to earlier tasks, so a plan stays acyclic.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.lexicon._words import words as _words
from mesh_orchestrator.planning.intent.links import SAME, _content
from mesh_orchestrator.planning.intent.lists import _ASKS
from mesh_orchestrator.planning.intent.model import normalize, tokens
from mesh_orchestrator.planning.intent.segment import leads_back

EDGE_WEIGHTS = Path(__file__).with_name("edges.json")

# The capabilities the pair features name one by one; anything else is "other".
CAPS = (
    "search",
    "data_analysis",
    "text_generation",
    "summarization",
    "translation",
    "image_generation",
)
JOINS = ("start", "then", "and", "but", "sentence", "item", "line", "part", "para")
PRODUCERS = frozenset(["search", "data_analysis"])
# What yields no text another step could read as its material.
NO_TEXT = frozenset(["image_generation", "lora_training"])
# Features read from the rules' decision; ``--no-rule`` training leaves them out.
RULE_FEATURES = frozenset(
    [
        "rule",
        "rule_other",
        "i_reads",
        "i_read",
        "rule_refers",
        "sibling_source",
        "sibling_source_and",
    ]
)
TRANSFORMS = frozenset(["summarization", "translation"])
# The weight of "reads nothing" in a choice model (``EdgeModel.choice``).
NONE = "none"
# Round 9's features: the consumer's clause read whole (a reference anywhere, "then", an
# ordinal or a noun that names one producer, "the same"), the producer's (a question, a clause
# with nothing of its own) and the structure of the pair (a fan-out from one source, list
# markers); ``train.edges --cv`` chooses whether a variant reads them.
ROUND9 = frozenset(
    [
        "loose_ref",
        "loose_ref_prev",
        "then_word",
        "then_word_prev",
        "i_question",
        "i_question_next",
        "ordinal_this",
        "ordinal_other",
        "enum_j",
        "enum_both",
        "names_i",
        "names_last",
        "names_other",
        "same_source",
        "same_derived",
        "sib_and",
        "sib_lead",
        "prev_reads_and",
        "from_lora",
        "to_lora",
        "text_to_lora",
        "i_bare",
        "asks9",
    ]
)
# Round 11's: a parallel job after a step whose reference leads, a head counting the things
# asked ("two things from that:", "drei Sachen:"); ``train.edges --cv`` compares without them.
ROUND11 = frozenset(
    [
        "lead_sib_prev",
        "lead_sib_src",
        "lang_sib_prev",
        "lang_sib_src",
        "count_apart",
        "count_sib",
        "count_from",
        "count_from_near",
        "j_colon_quote",
    ]
)
# Words that refer back wherever they stand ("fine-tune an adapter on those", "laat hem daarna
# ..."): ``lexicon.PRONOUN`` asks for what follows them, these do not.
LOOSE = _words(
    """
it them those these him its ello eso esto ella ellos isso isto disso nisso dele dela deles
delas cela ceci ca questo quello quelli quelle cio hem ervan daarvan daarmee daarover ihn
davon daraus damit daruber whatever
"""
)
# A list marker opening a clause: "1/", "2)", "b)", "3.".
_MARKER = re.compile(r"^\s*(?:\d{1,2}|[a-e])\s*[).:/-]\s")
# Definite articles ``lexicon.DETERMINER`` leaves out: Dutch "de", Portuguese "a", "as".
_DEFINITE = frozenset(["de", "a", "as"])
_THEN = re.compile(rf"^(?:\W*\w+\W+){{0,2}}\W*(?:{lx.THEN})\b")


# Round 11: a head that counts the things asked ("three things:", "zwei Sachen", "varias
# cosas", "een paar dingetjes"). With a reference in its clause ("two things from that",
# "daraus zwei Sachen", "con eso quiero dos cosas", "da lì mi servono due cose") it fans one
# result out to the things listed after it; without one the things are independent jobs.
_FEW = _words(
    """
few several couple varias varios algunas algunos plusieurs quelques mehrere paar vari varie
alcune alcuni diverse diversi meerdere enkele
some umas unas unos algumas alguns
"""
)
_COUNTS = (frozenset(lx.NUMBERS) - {"both"}) | _FEW
# Round 14: what a head counts may be asks ("Twee losse vragen.", "Tenho três pedidos:",
# "Deux questions :", "zwei kurze Fragen"), not only things (``lists._ASKS``, with the
# diminutives a head uses: "twee vraagjes", "dos preguntitas", "duas perguntinhas")
_THINGS = (
    lx.THINGS
    | _ASKS
    | _words(
        "trucs truc sachen sache dingetjes dingen vraagjes verzoekjes preguntitas perguntinhas "
        "domandine pedidinhos cosette cosucce"
    )
)
# what points back in the head's clause: pronouns and demonstratives of the seven languages
# ("die" left out: a German article), "da lì" / "di qui" / "me ne servono" (Italian)
_HEAD_REFS = (LOOSE | lx.DEMONSTRATIVE | _words("that this li qui ne daaruit hieruit")) - {"die"}
# after the head: "two things from that", "zwei Sachen daraus", "deux trucs à partir de ça"
_HEAD_FROM = _words("from out of off de da dal dalla van uit aus von avec con com met mit partir")
# The nouns that name what a capability made ("the summary", "la traducción"), singular.
_CAP_NOUNS = {
    "summarization": _words(
        "summary resumen resume zusammenfassung riassunto resumo samenvatting sintesi"
    ),
    "translation": _words(
        "translation traduccion traduction ubersetzung traduzione traducao vertaling version"
    ),
    # round 13: "the text", "ce texte", "diesen Text": what a writing step made
    "text_generation": _words("text texts texte textes texto textos testo testi tekst teksten"),
}


def _stem(word: str) -> str:
    """A noun without its plural or case ending, for matching "Stichpunkte" to
    "Stichpunkten", "resumo" to "resumos"; "" for short words (no stem to trust)."""
    if len(word) < 5:
        return ""
    for _ in range(2):  # "versiones" -> "version" -> "versio", as "version" -> "versio"
        for end in ("en", "es", "n", "s", "e"):
            if word.endswith(end) and len(word) - len(end) >= 5:
                word = word[: -len(end)]
                break
    return word


# "both", "the two", "each of them", "dos dois": a clause reading at least two sources
_SEVERAL = re.compile(
    r"\b(?:both|each of them|the two|these two|those two|ambos|ambas|los dos|las dos|"
    r"cada uno|les deux|tous les deux|des deux|chacun|beide|beiden|beides|der beiden|jeweils|"
    r"os dois|as duas|dos dois|das duas|cada um|entrambi|entrambe|tutti e due|dei due|"
    r"delle due|ognuno|allebei|alle twee|van beide|elk|"
    # a demonstrative and "two": "those two", "esos dos", "ces deux", "diese zwei", "die twee"
    r"(?:these|those|esos|esas|estos|estas|ces|diese|die|deze|de|esses|essas|estes|quei|quelle|"
    r"questi|queste) (?:two|dos|deux|zwei|twee|dois|duas|due))\b"
)
_COLON_QUOTE = re.compile(r"\s*:\s*(?:qqq|\n)")
_BOUNDARY = re.compile(r"[.!?;:\n]")
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def _head_ref(word: str) -> bool:
    """A word of a head's clause that points back: "that", "daraus", French "en" elided or
    on a verb ("j'en veux deux", "fais-en deux choses")."""
    return word in _HEAD_REFS or word.endswith(("'en", "-en"))


class _Head(NamedTuple):
    """A head counting the things asked: where it stands (a character offset in the
    normalized request) and whether its clause points back at an earlier result."""

    at: int
    refers: bool


def count_head(query: str) -> _Head | None:
    """The first head in ``query`` that counts things ("I need two things from that:")."""
    norm = normalize(query)
    found = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(norm)]
    for k, (w, start, _end) in enumerate(found):
        if w not in _COUNTS:
            continue
        nxt = [x for x, _, _ in found[k + 1 : k + 3]]
        if not nxt or not (nxt[0] in _THINGS or (len(nxt) > 1 and nxt[1] in _THINGS)):
            continue
        cut = max((m.end() for m in _BOUNDARY.finditer(norm, 0, start)), default=0)
        before = [x for x, s, _ in found[:k] if s >= cut]
        after = [x for x, _, _ in found[k + 2 : k + 6]]
        if after and after[0] not in _THINGS and after[0] in _HEAD_FROM:
            after = after[:4]
        elif after and after[0] in _THINGS and len(after) > 1 and after[1] in _HEAD_FROM:
            after = after[1:5]
        else:
            after = []
        refers = any(_head_ref(x) for x in before) or any(_head_ref(x) for x in after)
        return _Head(start, refers)
    return None


# Round 12: a sentence that opens by pointing back ("From that scene I want ...", "À partir de
# ce texte, fais ...", "da quello ricava ...", "off the back of that give me (a) ... and (b)
# ...", "Maak op basis daarvan ..."): every job it lists reads the result before it.
_SENT_FROM = _HEAD_FROM | _words(
    "with based basis base basandote basado basada basato basata basandoti grundlage sobre sur"
)
# pronominal adverbs that point back by themselves ("daraus", "daarvan"); not Portuguese
# "disso" ("além disso": besides) nor German "damit" ("so that")
_ADVERBS = _words(
    "daraus davon daruber hieraus hiervon daarvan daarmee daarover daaruit hieruit hiervan hiermee"
)
_SENT_REFS = (
    _HEAD_REFS
    | lx.DEMONSTRATIVE
    # Portuguese "de"/"em" + a demonstrative: "a partir desse texto", "com base nisto"
    | _words(
        "desse dessa desses dessas deste desta destes destas disso disto nesse nessa neste nesta"
    )
) - {"die", "de", "da"}
# "these"/"this" pointing forward to a quotation ("summarise this: \"...\"") is no reference
_COLON_QQQ = re.compile(r"\s*:\s*qqq")
# a sentence ends at ".", "!", "?", ";" or a line break; not at "1." or "b." (a list marker)
_SENT_END = re.compile(r"(?<![\s(][0-9a-e])(?<!^[0-9a-e])[.!?;](?=\s|$)|\n")
# Dutch "de", Portuguese "os", "as" ("a" is English's article as often as Portuguese's)
_OBJ_DEFINITE = frozenset(["de", "as"])
# Prepositions before a determiner make the noun after it a topic ("a poem about the lava",
# "un logo per il caffè"), not a result it names ("translate the slogan"). Not "a" (English's
# article); "de" is Dutch's article too, but before a determiner it is a preposition.
_TOPIC = _words(
    """
about on of for to in at with from sobre de del para por con en acerca sur pour du des avec
dans au aux uber fur von vom zum zur mit zu an auf im in bei su di del della dello dei
degli delle per sul sulla nel nella con da dal dalla over voor van om met op aan bij uit do
da dos das no na nos nas em com pra pro
"""
)


# a pronoun after a preposition, then nothing of its own: "about it", "sobre él para ...",
# "sur lui", "über ihn", "su di esso", "over hem", "sobre ele"
_PREP_PRONOUN = re.compile(
    r"\b(?:about|on|of|for|with|from|sobre|de|con|para|sur|avec|pour|de|uber|von|mit|fur|su|"
    r"di|con|per|da|over|van|met|voor|op|com|em)\s+"
    r"(?:it|them|him|her|el|ella|ellos|ellas|eso|esto|lui|elle|eux|cela|ca|ihn|ihm|ihr|ihnen|"
    r"esso|essa|lui|lei|loro|hem|haar|hen|het|dat|dit|ele|ela|eles|elas|isso|isto)\b"
    r"(?=\s*(?:$|[.,;!?:)]|(?:and|y|e|et|und|en|please|para|for|pour|fur|per|voor|a|to|in)\b))"
)
# demonstratives among a clause's first words; German "die" is an article as often
_HEAD_DEMONSTRATIVE = (lx.DEMONSTRATIVE | _words("diesen diesem jenen jenem")) - {"die"}


def _topic_words(text: str) -> set[str]:
    """The words a clause names after a preposition ("for our café", "about the lava"): its
    topic, not what it makes; singular."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = tokens(norm)
    out: set[str] = set()
    for k, w in enumerate(words):
        if w not in _TOPIC:
            continue
        for n in words[k + 1 : k + 4]:
            if n in _TOPIC:
                break
            out.add(n.rstrip("s"))
    return out


def _sentence_leads(norm: str, nouns: bool = False) -> list[tuple[int, int, bool]]:
    """Each sentence of the normalized request: (start, end, whether it opens by pointing
    back at an earlier result: a "from" word and a reference within four words of its
    start, or a pronominal adverb among its first words: "daraus", "daarvan", "nisso").
    ``nouns`` (round 17): also a "from" word, a definite article and a noun, then a comma
    ("From the pitch, make ...", "A partir do convite, faz ...", "Aus der Geschichte, ...")."""
    out: list[tuple[int, int, bool]] = []
    start = 0
    ends = [m.end() for m in _SENT_END.finditer(norm)] + [len(norm)]
    for end in ends:
        if end <= start or norm[start:end].isspace():
            continue
        if _BESIDES.match(norm, start, end):
            # "Besides that, ...", "Além disso, ...": adds jobs, points at nothing
            out.append((start, end, False))
            start = end
            continue
        words = _WORD.findall(norm[start:end])[:10]
        k0 = 0
        while k0 < len(words) - 1 and (words[k0] in lx.BACK or words[k0] in _AND):
            k0 += 1  # "and then from that ...", "et puis à partir de ça"
        lead = False
        for k, w in enumerate(words[k0 : k0 + 4], start=k0):
            if w in _ADVERBS:
                lead = True  # "Daraus brauche ich ...", "Maak op basis daarvan ..."
                break
            if (
                k < k0 + 3
                and w in _SENT_FROM
                and w != "of"
                and any(_head_ref(x) or x in _SENT_REFS for x in words[k + 1 : k + 5])
            ):
                lead = True
                break
        if nouns and not lead:
            lead = bool(_FROM_THE.match(norm, start, end))
        out.append((start, end, lead))
        start = end
    return out


# Round 17: a sentence opening "from the <noun>," ("From the pitch, make an icon and also a
# tagline", "Del cuento, saca ...", "À partir de l'histoire, fais ...", "Aus der Geschichte,
# mach ...", "Dalla storia, fammi ...", "Van het verhaal, maak ...", "A partir do convite,
# faz ..."): a noun the request made before, the jobs after the comma read it
_FROM_THE = re.compile(
    r"\W*(?:(?:and|then|y|luego|et|puis|und|dann|e|depois|poi|en|dan|also)\W+){0,2}"
    r"(?:(?:from|based on|out of|using|desde|a partir de|ausgehend von|aus|von|partendo da|"
    r"van|uit|op basis van|com base em|de|con|com|avec|with|mit|met)\s+"
    r"(?:the|this|that|el|la|las|los|le|les|l|der|die|das|dem|den|het|de|o|os|as|il|lo|gli)\b"
    r"|(?:del|du|dal|dalla|dallo|vom|do|da|a partir del|a partir do|a partir da|a partir du|"
    r"com base no|com base na)\b)"
    r"\W*[a-z][a-z-]{2,}(?:\s+[a-z][a-z-]{2,})?\s*,"
)


def _names_thing(word: str) -> bool:
    """Whether a word after a determiner names a thing: no function word, determiner, ordinal,
    "same" word or language name, and longer than three letters."""
    return (
        len(word) > 3
        and word not in lx.FUNCTION
        and word not in lx.DETERMINER
        and word not in lx.ORDINAL
        and word not in SAME
        and word not in lx.LANGUAGES
        and word not in lx.LANGUAGE_WORDS
    )


def _object_names(text: str) -> set[str]:
    """The nouns a clause names after a determiner that no preposition opens ("translate the
    slogan": slogan; "a poem about the lava": none), singular."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    return {
        n.rstrip("s")
        for k, w in enumerate(words[:-1])
        if (w in lx.DETERMINER or w in _OBJ_DEFINITE)
        and not (k and words[k - 1] in _TOPIC)
        # Romance "de" before an article is a preposition ("un dibujo de un gato")
        and not (w == "de" and (words[k + 1] in lx.ARTICLES or words[k + 1] in lx.DETERMINER))
        for n in words[k + 1 : k + 3]
        if _names_thing(n) and n not in _TOPIC
    }


# "besides that", "além disso", "abgesehen davon", "oltre a questo": a demonstrative that adds
# a job, it points at nothing the job reads
_BESIDES = re.compile(
    r"\W*(?:(?:and|y|e|et|und|en|also|then)\W+)?(?:besides (?:that|this)|apart from (?:that|this)|"
    r"other than that|on top of (?:that|this)|ademas de (?:eso|esto)|"
    r"aparte de (?:eso|esto)|alem disso|alem disto|para alem disso|fora isso|"
    r"en plus de (?:ca|cela)|a part (?:ca|cela)|en dehors de (?:ca|cela)|daruber hinaus|"
    r"abgesehen davon|oltre a (?:questo|cio)|a parte questo|afgezien daarvan|los daarvan)\b\W*"
)
# Round 14: "also" opening a clause ("also an image of ...", "y además haz ...", "et aussi
# un dessin", "und außerdem", "e também", "e anche", "en ook"): it adds a job to a list; it
# points at nothing (a reference of its own still does: "and also translate it")
_ALSO = re.compile(
    r"\W*(?:(?:and|plus|y|e|et|und|en|o|oh|ja|oh ja|o ja)\W+)*(?:also|additionally|as well|"
    r"ademas|tambien|aussi|egalement|en plus|ausserdem|auch noch|zudem|tambem|alem disso|"
    r"inoltre|anche|pure|ook nog|ook|daarnaast|bovendien|verder)\b"
)
# French "on it" / "about it": "un poème là-dessus", "écris dessus"
_ON_IT = re.compile(r"\b(?:la-dessus|la dessus|dessus)\b")
_STANDALONE = frozenset(["die", "deze", "diese"])
_AFTER_STANDALONE = frozenset(["om", "naar", "in", "ins", "auf", "zu", "dann", "danach", "daarna"])


def _pronoun_here(text: str, m: re.Match[str]) -> bool:
    """A ``lexicon.PRONOUN`` match that stands: "die" / "deze" / "diese" alone only before a
    whole word that lets it ("übersetze diese ins Englische"), not a word that starts like one
    ("wie die Zugspitze": "zu...")."""
    if m.group(0) not in _STANDALONE:
        return True
    rest = text[m.end() :].split(maxsplit=1)
    return not rest or rest[0] in _AFTER_STANDALONE or not rest[0][0].isalnum()


def _strict12(text: str) -> bool:
    """A reference back that no quirk of the clitic pattern makes up: a pronoun, or a clitic
    on the clause's leading verb that no article precedes ("un poema" is a noun, not "poe" +
    "ma"), or a demonstrative among its first words."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    norm = _BESIDES.sub("", norm, count=1)
    if _COLON_QQQ.search(norm):
        norm = norm[: _COLON_QQQ.search(norm).start()]  # type: ignore[union-attr]
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    if _PREP_PRONOUN.search(norm) or any(w in _ADVERBS for w in words):
        return True  # "a poem about it", "sobre él", "über ihn", "daraus"
    if _ON_IT.search(norm):
        return True  # "un petit poème là-dessus"
    k = 0
    while k < len(words) - 1 and (
        words[k] in lx.BACK or words[k] in lx.FUNCTION or words[k] in _AND
    ):
        k += 1
    head = words[k : k + 4]
    # a pronoun starting among the first words (the clause's own text, its commas kept:
    # "Après ça, écris ..."), read with what follows them
    found = [m.end() for m in _WORD.finditer(norm)][: k + 5]
    cut = found[-1] if found else 0
    if any(m.start() < cut and _pronoun_here(norm, m) for m in lx.PRONOUN.finditer(norm)):
        return True
    # (a question's "quelle" / "quel" asks, it points at nothing: French, not Italian)
    asks = norm.rstrip().endswith("?")
    if any(w in _HEAD_DEMONSTRATIVE and not (asks and w in lx.QUESTION) for w in head):
        return True
    article = k > 0 and words[k - 1] in lx.ARTICLES
    # "quelle", "quale" end like a clitic: a question word is no verb
    return bool(head and not article and head[0] not in lx.QUESTION and lx.CLITIC.match(head[0]))


# Round 13: a clause opening "once you know" points at the answer of the question before it
# ("what's the deepest point? once you know, draw a submarine down there", "¿Qué planeta ...?
# Cuando lo sepas, escríbele una oda"): the subordinate clause is no question of its own and
# reads back like a pronoun. The seven languages' "when / once / as soon as (you) (it)
# know / have / find (out)", matched after ``normalize``.
_KNOWN = re.compile(
    r"^\W*(?:(?:and|then|y|luego|et|puis|und|dann|e|depois|poi|en|dan)\s+)?(?:"
    r"(?:once|when|as soon as|after) (?:you|u) (?:know|find out|found out|"
    r"(?:have|find|found|got|get|'ve got|ve got) (?:it|that|them|the answer)\b)\b"
    r"|(?:cuando|una vez que|en cuanto|apenas|despues de que) "
    r"(?:(?:lo |la |los |las )?(?:sepas|sepa|averigues|descubras)|"
    r"(?:lo|la|los|las) (?:tengas|tenga|encuentres))\b"
    r"|(?:quand|lorsque|une fois que|des que|apres que) (?:tu|vous) "
    r"(?:(?:le |la |l |les )?(?:sais|sauras|savez|saurez)|"
    r"(?:le|la|l|les) (?:as|auras|avez|aurez|trouves|trouveras|trouvez))\b"
    r"|(?:wenn|sobald|nachdem) (?:du|sie) (?:(?:es |das )?(?:weisst|wissen|herausgefunden)|"
    r"(?:es|das|ihn|sie) (?:hast|haben|findest|finden|gefunden))\b"
    r"|(?:quando|assim que|logo que|depois que|mal) (?:(?:o |a |os |as )?"
    r"(?:souberes|souber|descobrires|descobrir)|(?:o|a|os|as) (?:tiveres|tiver|encontrares))\b"
    r"|(?:quando|una volta che|appena|non appena|dopo che) "
    r"(?:(?:lo |la |li |le |l )?(?:sai|saprai|sa|sapra|scopri|scoprirai)|"
    r"(?:lo|la|li|le|l) (?:hai|avrai|trovi|troverai))\b"
    r"|(?:als|wanneer|zodra|nadat) (?:je|jij|u) (?:(?:het |dat |dit )?(?:weet|ontdekt)|"
    r"(?:het|dat|dit) (?:hebt|heeft|vindt|gevonden))\b"
    r")"
)


# ... and the material a job is made with, named by a pronoun or a demonstrative ("train an
# adapter with them", "entrena con ellas un adaptador", "escreve com isso um parágrafo",
# "trainier einen Adapter mit genau diesen Sätzen", "maak met die zinnen een ..."): a
# reference back wherever it stands in the clause (``lx.PRONOUN`` asks for what follows)
_WITH_REF = re.compile(
    r"\b(?:with|using|con|usando|avec|mit|com|met|gebruik)\s+"
    r"(?:(?:just|only|exactly|solo|justo|seulement|exactement|genau|nur|apenas|exatamente|"
    r"proprio|esattamente|precies|alleen)\s+)?"
    r"(?:them|those|these|ellas|ellos|eso|esto|esas|esos|estas|estos|esa|ese|ca|cela|ceci|ces|"
    r"cette|cet|eux|elles|diesen|dieser|diesem|diese|dies|denen|isso|isto|essas|esses|essa|"
    r"esse|elas|eles|quelle|quelli|queste|questi|questo|quello|quella|essi|deze|dat|dit|hen)\b"
)


# Round 15: a clause that names an earlier result by a determiner and a noun ("con esa
# descripción", "genau diesen Berg", "Den Slogan dann als Bild", "basate sulle informazioni
# trovate"): the determiners ``lexicon.DETERMINER`` leaves out (German "den"/"dem"/"der",
# "diesen", "jenen"; Dutch "de"; Portuguese "os"/"as"; a preposition fused with an article:
# "sulle", "della", "dalla", "do", "da", "no", "du", "del", "vom", "zum")
_NAMING = (
    lx.DETERMINER
    | lx.DEMONSTRATIVE
    | _words(
        """
den dem der diesen diesem jenen jenem jenes de os as
sulle sulla sul sullo sugli della dello delle degli dal dalla dai dalle nella nel nelle negli
do da dos das no na nos nas du del vom zum zur beim
desse dessa desses dessas deste desta destes destas nesse nessa neste nesta
"""
    )
)
# ... of which these point by themselves: the noun after them names an earlier task's
# subject as well as its result ("diesen Berg" after "find the highest mountain")
_POINTING = (lx.DEMONSTRATIVE | _words("diesen diesem jenen jenem jenes")) - {"die", "dat", "de"}


def _named_after(text: str) -> list[tuple[str, bool]]:
    """The nouns a clause names after a determiner (``_NAMING``), each with whether a
    demonstrative points at it ("esa descripción": True; "the slogan": False)."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    if _COLON_QQQ.search(norm):  # "this: \"...\"" points forward
        norm = norm[: _COLON_QQQ.search(norm).start()]  # type: ignore[union-attr]
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    out: list[tuple[str, bool]] = []
    for k, w in enumerate(words[:-1]):
        if w not in _NAMING:
            continue
        for n in words[k + 1 : k + 3]:
            if _names_thing(n):
                out.append((n, w in _POINTING))
                break
    return out


# ... and a pronoun the lexicon reads only before some words: a German or Dutch demonstrative
# opening the clause as its object, its verb and subject after it ("Den brauche ich dann als
# Plakat", "Die wil ik ook als poster", "Das hätte ich gern auf Englisch"), a pronoun right
# before "then" ("vertaal het dan", "translate it then", "übersetz es dann")
_V2_OBJECT = _words("den dem die das dies dat deze dit diese diesen")
_V2_SUBJECT = _words("ich du wir ihr ik je jij we wij u")
_PRONOUN_THEN = re.compile(
    r"\b(?:it|them|het|dat|dit|es|das|dies|ihn|sie|lo|la|los|las|eso|esto|isso|isto|ca|cela|"
    r"questo|quello|le|les|o|os|as|hem)\s+(?:"
    + "|".join(sorted(lx.BACK - {"and", "plus"}))
    + r")\b"
)


# ... "what you find / found" in the tenses and contractions ``lexicon.PRONOUN`` misses
# ("com base no que encontrares", "traduz o que encontraste", "ce que tu as trouvé", "was du
# gefunden hast", "quello che hai trovato", "wat je gevonden hebt", "lo que encontraste")
_FOUND15 = re.compile(
    r"\b(?:what|whatever) (?:you|u) (?:find|found|dig up|turn up|get|got)\b"
    r"|\blo que (?:encuentres|encontraste|encontraras|has encontrado|descubras|descubriste|"
    r"averigues|averiguaste|saques|sacaste)\b"
    r"|\bce que (?:tu|vous) (?:trouves|trouveras|as trouve|trouvez|trouverez|avez trouve|"
    r"decouvres|decouvriras|as decouvert)\b"
    r"|\bwas (?:du|sie) (?:findest|finden|gefunden hast|gefunden haben|herausfindest|"
    r"herausgefunden hast|rausfindest|rausgefunden hast)\b"
    r"|\b[dn]?o que (?:encontrares|encontraste|encontrar|descobrires|descobriste|achares|"
    r"achaste)\b"
    r"|\b(?:quello|cio) che (?:trovi|troverai|hai trovato|scopri|scoprirai|hai scoperto)\b"
    r"|\bwat (?:je|u) (?:vindt|vond|gevonden hebt|hebt gevonden|ontdekt|ontdekte)\b"
)
# ... "that same" fused (de, nl), "of both" inflected: "van diezelfde beschrijving", "aus beidem"
_SAME_POINTING = _words(
    "diezelfde datzelfde dezelfde hetzelfde dieselbe dieselben denselben dasselbe derselbe "
    "demselben beidem"
)


def _refers15(text: str) -> bool:
    """A reference ``lexicon.PRONOUN`` does not read: a V2 object opening the clause ("Den
    brauche ich ..."), a pronoun before "then" ("vertaal het dan ..."), "what you found" in
    the seven languages, French "là-dessus", "diezelfde", "beidem"."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    if _FOUND15.search(norm) or _ON_IT.search(norm) or any(w in _SAME_POINTING for w in words):
        return True
    k = 0
    while k < len(words) - 1 and (words[k] in lx.BACK or words[k] in _AND):
        k += 1
    if len(words) > k + 2 and words[k] in _V2_OBJECT and words[k + 2] in _V2_SUBJECT:
        return True
    return bool(_PRONOUN_THEN.search(norm))


def _names_result(
    named: list[tuple[str, bool]], cap: str, made: set[str], subject: set[str]
) -> bool:
    """Whether a noun of ``named`` (``_named_after``) names what an earlier task made: a
    result noun ("las informaciones", "sulle informazioni"), its capability's noun ("the
    summary"), a noun of its clause that is no topic ("Den Slogan" after "Werbeslogan", by
    stem or as a compound's last part); with a demonstrative, also its subject ("diesen Berg"
    after "finde den höchsten Berg")."""
    for n, pointing in named:
        n1 = n.rstrip("s")
        if n in lx.RESULT_NOUNS or n1 in lx.RESULT_NOUNS or n1 in _CAP_NOUNS.get(cap, ()):
            return True
        pool = made | subject if pointing else made
        stem = _stem(n)
        for w in pool:
            if len(w) < 3:  # ("leus" and "slogans" are kept singular: "leu", "slogan")
                continue
            if n1 == w or (stem and _stem(w) == stem):
                return True
            if len(n1) >= 5 and len(w) > len(n1) + 2 and w.endswith(n1):
                return True  # a compound's last part: "werbeslogan" -> "slogan"
    return False


# Round 17: a pronominal adverb that points back ("écris un texte là-dessus", "entraîne un
# adaptateur dessus", Dutch split "train daar een adapter op", "maak er een samenvatting van",
# German "mach ein Bild draus", and the fused ones ``_ADVERBS`` reads): the clause reads the
# nearest text before it when the model chose none (``round17``)
_ON_IT17 = re.compile(r"\b(?:la-dessus|la dessus|dessus|par-dessus|draus|drauf|druber)\b")
_NL_THERE = frozenset(["daar", "hier", "er"])
_NL_PARTICLE = frozenset(
    [
        "op",
        "van",
        "over",
        "mee",
        "uit",
        "aan",
        "bij",
        "naar",
        "voor",
        "in",
        "om",
        "tegen",
        "door",
        "achter",
        "onder",
    ]
)


def _adverb17(text: str) -> bool:
    """Whether a clause points back by a pronominal adverb (``_ON_IT17``, ``_ADVERBS``, or a
    Dutch one split around its object: "daar"/"hier" anywhere, "er" right after the verb, and
    later a particle that governs no noun: "train daar dan een adapter op")."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    norm = _BESIDES.sub("", norm, count=1)  # "los daarvan", "abgesehen davon" add a job
    if _ON_IT17.search(norm):
        return True
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    if any(w in _ADVERBS for w in words):
        return True
    for k, w in enumerate(words):
        if w not in _NL_THERE or (w == "er" and k not in (1, 2)):
            continue
        for m in range(k + 2, len(words)):
            nxt = words[m + 1] if m + 1 < len(words) else ""
            if words[m] in _NL_PARTICLE and not (
                nxt in lx.DETERMINER or nxt in lx.ARTICLES or nxt in _DEFINITE
            ):
                return True
        return False
    return False


def _names17(
    nouns: set[str],
    cap: str,
    own: set[str],
    topics: set[str],
    data: bool,
    strong: bool,
    named_i: set[str],
    topics_j: set[str],
) -> bool:
    """Whether a clause's named nouns (after a determiner) name what an earlier task made: its
    capability's noun ("ce texte", "die tekst"), or a noun of its clause by stem ("die
    Stichpunkte" after "in drei Stichpunkten"; ``strong``: not a topic of it), that is not
    the later clause's topic ("un poema sobre la lava" after "a qué temperatura está la lava").
    A noun the earlier clause names by a determiner itself is its input, not what it made
    ("Den Slogan ... übersetzen und den Slogan als Bild", "la versión en inglés y la versión
    en alemán"). A task that carries pasted data is named by its capability's noun only."""
    for n in nouns - named_i:
        if n in _CAP_NOUNS.get(cap, ()):
            return True
        if data or n in topics_j:
            continue
        stem = _stem(n)
        for w in own - topics if strong else own:
            if len(w) >= 3 and (n == w or (stem and _stem(w) == stem)):
                return True
    return False


# Round 17 (branch plan-enum17): an enumeration of independent jobs. A job the request says is
# separate ("and unrelated, write ...", "sans rapport avec les chiffres", "nichts damit zu
# tun", "los van elkaar"), a thing after a head that counts things with no reference ("tre
# cose: ..., e la traduzione di \"...\"") carrying its own material reads no earlier task
# unless it points back explicitly (``_points17``): ``round17``'s ``_apart17``
_UNRELATED = re.compile(
    r"\b(?:unrelated|on an? (?:other|different|separate) note|something else entirely|"
    r"(?:has |have )?nothing to do with|a different topic|"
    r"sin relacion|no relacionad[oa]s?|nada que ver|otra cosa distinta|"
    r"sans (?:aucun )?rapport|sans lien|rien a voir|"
    r"unabhangig davon|nichts (?:damit|mit \w+(?: \w+)?) zu tun|ganz (?:was|etwas) anderes|"
    r"ohne (?:jeden )?zusammenhang|"
    r"sem relacao|sem ligacao|nao relacionad[oa]s?|nada a ver|"
    r"senza (?:alcun )?(?:rapporto|legame|relazione)|non c\W?entra|(?:niente|nulla) a che (?:vedere|fare)|"
    r"scollegat[oaie]|"
    r"los van elkaar|ongerelateerd|niets (?:mee |)te maken|staat (?:er )?los van)\b"
    # ... "with that" after the cue is part of it ("sin relación con eso"), not a pointer
    r"(?:\s+(?:with|to|con|a|avec|de|mit|zu|com|di|con|met|van)\s+(?:that|this|it|eso|esto|"
    r"ca|cela|isso|isto|questo|cio|dat|dit|das|dem))?"
)


def _unrelated(text: str) -> bool:
    """Whether ``text`` (normalized) says a job is unrelated to what came before."""
    return bool(_UNRELATED.search(lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", text)))


def _points17(text: str) -> bool:
    """Whether a clause points back explicitly, past any "unrelated" cue: a pronoun after a
    preposition ("with that", "about it", "daarmee"), a pronominal adverb ("daraus",
    "là-dessus"), or a reference leading the clause ("from that", "con eso")."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    norm = _UNRELATED.sub(" ", norm)
    return bool(_PREP_PRONOUN.search(norm)) or _adverb17(norm) or _leads(norm)[0]


def _known(text: str) -> bool:
    """Whether ``text`` (normalized) opens with "once you know" (``_KNOWN``)."""
    return bool(_KNOWN.match(lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", text)))


def _before(norm: str, at: int) -> str:
    """The text of ``norm`` from the last sentence end before ``at`` up to ``at``."""
    start = max(norm.rfind(c, 0, at) for c in ".!?;:\n") + 1
    return norm[start:at]


def _spans(query: str, origins: list[Origin]) -> list[tuple[int, int]]:
    """Where each task's clause stands in the normalized request: (start, end) character
    offsets, (-1, -1) when its first words are not found there."""
    norm = normalize(query)
    out = []
    for o in origins:
        words = _WORD.findall(normalize(o.instruction))
        if not words:
            out.append((-1, -1))
            continue
        pattern = r"\W+".join(re.escape(w) for w in words[:4])
        m = re.search(rf"\b{pattern}\b", norm)
        if m is None:
            out.append((-1, -1))
            continue
        tail = r"\W+".join(re.escape(w) for w in words[-3:])
        end = re.search(rf"\b{tail}\b", norm[m.start() :])
        out.append((m.start(), m.start() + (end.end() if end else len(" ".join(words)))))
    return out


@dataclass
class Origin:
    """What the planner knew of one task when it made it: its segment's facts, its group (the
    segment that made it) and the inputs the rules gave it."""

    task_id: str
    capability: str
    group: int
    instruction: str
    joined: str
    listed: bool = False
    lead_ref: bool = False
    own_data: bool = False
    quoted: bool = False
    rule_deps: list[str] = field(default_factory=list)


class _Facts(NamedTuple):
    """What one task's clause says, for the pairs it ends."""

    pronoun: bool
    everything: bool
    named: bool
    content: int
    question: bool
    subject: set[str]
    lead: bool  # a reference in its first words, past "then"/"also": "then translate it"
    demonstrative: bool  # "that scene", "esa descripción", "quelle informazioni"
    strict: bool  # a pronoun, or a reference leading (a clitic on its verb only)
    loose: bool  # a reference anywhere: a pronoun, "those", "whatever", a demonstrative
    then: bool  # "then" among its first words, however it was joined
    ordinal: int  # the earlier task an ordinal picks ("the first one"), 1-based; 0 none
    enum: bool  # it opens with a list marker: "2)", "b.", "Seconda, ...", "terza e ultima"
    named_words: set[str]  # the nouns after its determiners ("the tweet" -> tweet)
    same: bool  # "the same text", "la misma info"


def _cap(name: str) -> str:
    return name if name in CAPS else "other"


def _refers(text: str) -> tuple[bool, bool, bool]:
    """(a reference back, "both"/"all"/"the three", a phrase naming a result) in ``text``."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    everything = bool(lx.ALL.search(norm) or lx.COUNTED.search(norm))
    pronoun = bool(lx.PRONOUN.search(norm)) or any(lx.CLITIC.match(w) for w in words[:3])
    named = any(
        w in lx.DETERMINER
        and any(
            n in lx.RESULT_NOUNS or n.rstrip("s") in lx.RESULT_NOUNS for n in words[k + 1 : k + 3]
        )
        for k, w in enumerate(words[:-1])
    )
    return pronoun, everything, named


_AND = frozenset(["and", "y", "e", "et", "und", "en", "o", "ou", "oder", "of"])


def _leads(text: str) -> tuple[bool, bool, bool]:
    """(a reference among the first words past "then"/"also", a demonstrative anywhere, a
    pronoun anywhere or a reference leading)."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    k = 0
    while k < len(words) - 1 and (
        words[k] in lx.BACK or words[k] in lx.FUNCTION or words[k] in _AND
    ):
        k += 1
    head = words[k : k + 4]
    # a clitic on the verb only ("tradúcelo"): further on, "poema" is no "poe" + "ma"
    lead = bool(lx.PRONOUN.search(" ".join(head))) or any(w in lx.DEMONSTRATIVE for w in head)
    lead = lead or bool(head and lx.CLITIC.match(head[0]))
    # round 14: "de ahí sácame ...", "da lì fammi ...", "con lo que encuentres": a lead back
    lead = lead or leads_back(text)
    strict = bool(lx.PRONOUN.search(norm)) or lead
    return lead, any(w in lx.DEMONSTRATIVE for w in words), strict


def _names_result_first(text: str) -> bool:
    """A determiner and a result noun among the first five words ("With the result:",
    "Mit den Ergebnissen", "Con los resultados")."""
    words = [w for w in tokens(normalize(text)) if w not in lx.POLITE][:5]
    return any(
        w in lx.DETERMINER and (n in lx.RESULT_NOUNS or n.rstrip("s") in lx.RESULT_NOUNS)
        for w, n in pairwise(words)
    )


def _subject_words(text: str) -> set[str]:
    return {
        w
        for w in tokens(normalize(text))
        if len(w) >= 4
        and w not in lx.FUNCTION
        and w not in lx.POLITE
        and w not in lx.QUESTION
        and w not in lx.DETERMINER
        and w not in lx.LANGUAGES
        and w not in lx.LANGUAGE_WORDS
    }


def _ordinal(words: list[str]) -> tuple[int, bool]:
    """(the rank an ordinal picks, 0 none; whether an ordinal opens the clause as a list
    marker: "prima cosa ...", "second, a picture ...")."""
    for k, w in enumerate(words):
        rank = lx.ORDINAL.get(w)
        if rank is None:
            continue
        nxt = words[k + 1] if k + 1 < len(words) else ""
        picks = (
            not nxt or nxt in lx.ONE or nxt in lx.RESULT_NOUNS or nxt.rstrip("s") in lx.RESULT_NOUNS
        )
        before = words[k - 1] if k > 0 else ""
        if before in lx.DETERMINER or before in lx.ARTICLES or before in _DEFINITE:
            return rank, False  # "the first tagline", "la seconda risposta"
        if k == 0:
            return (rank, False) if picks and nxt else (0, True)
        if k < 4 and picks:
            return rank, False  # "translate first one", "riassumi solo il secondo"
    return 0, False


def _clause(text: str) -> tuple[bool, bool, int, bool, set[str], bool]:
    """Round 9's facts of one clause (``_Facts``' last six)."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    loose = any(w in LOOSE or w in lx.DEMONSTRATIVE for w in words)
    then = bool(_THEN.search(norm))
    ordinal, marker = _ordinal(words)
    enum = marker or bool(_MARKER.match(text))
    named = {
        n.rstrip("s")
        for k, w in enumerate(words[:-1])
        if w in lx.DETERMINER or w in _DEFINITE
        for n in words[k + 1 : k + 3]
        if _names_thing(n)
    }
    return loose, then, ordinal, enum, named, any(w in SAME for w in words)


def _sentence_sources(
    norm: str,
    spans: list[tuple[int, int]],
    origins: list[Origin],
    facts: list[_Facts],
    obj_names: list[set[str]],
    own: list[set[str]],
    r17: bool = False,
) -> tuple[list[int], list[int]]:
    """Per task, the sentence its clause starts in (-1: not found) and, when that sentence
    opens by pointing back (``_sentence_leads``), the task it reads: the latest one before the
    sentence that yields text (-1: none). A job in such a sentence reads it when it is the
    sentence's first job or joined to the one before as a parallel job, and nothing of its own
    says otherwise: a transform of a pronoun ("and translate it"), a noun naming another task,
    an ordinal, "both"."""
    n = len(origins)
    sent_of = [-1] * n
    src = [-1] * n
    if not norm or not spans:
        return sent_of, src
    sentences = _sentence_leads(norm, nouns=r17)
    starts = [s0 for s0, _, _ in sentences]
    for j, (a, _e) in enumerate(spans):
        if a < 0:
            continue
        k = bisect_right(starts, a) - 1
        sent_of[j] = k if k >= 0 and a < sentences[k][1] else -1
    for j, oj in enumerate(origins):
        k = sent_of[j]
        if k < 0 or not sentences[k][2]:
            continue
        start = sentences[k][0]
        before = [
            i
            for i in range(j)
            if spans[i][0] >= 0
            and spans[i][1] <= start
            and origins[i].group != oj.group
            and origins[i].capability not in NO_TEXT
        ]
        if not before:
            continue
        first = not any(sent_of[i] == k and origins[i].group != oj.group for i in range(j))
        fj = facts[j]
        # (round 17: a pronoun that no quirk of the clitic pattern makes up: "um resumo" is
        # an article and a noun, not "resu" + "mo")
        pronoun = _strict12(oj.instruction) if r17 else fj.pronoun
        chain = oj.capability in TRANSFORMS and pronoun and not fj.same
        names_other = any(obj_names[j] & own[i] for i in range(j) if i != before[-1])
        if not (first or oj.joined in ("and", "item", "part")):
            continue
        if chain or names_other or fj.ordinal or fj.everything:
            continue
        src[j] = before[-1]
    return sent_of, src


def pair_features(
    origins: list[Origin], query: str = ""
) -> list[tuple[int, int, dict[str, float]]]:
    """``(i, j, features)`` for every pair of tasks from different segments, ``i`` first;
    ``query``: the request, for what its clauses do not carry (a head counting its things)."""
    out: list[tuple[int, int, dict[str, float]]] = []
    if len(origins) < 2:
        return out
    head = count_head(query) if query else None
    spans = _spans(query, origins) if query else []
    # a clause followed by a colon and a quotation ("and also summarise this: \"...\""): the
    # quotation is its own material, whatever the segmenter attached it to
    norm = normalize(query) if query else ""
    colon = [a >= 0 and bool(_COLON_QUOTE.match(norm, e)) for a, e in spans]
    # past the head (its clause reaches beyond it); None: not found in the request
    past: list[bool | None] = (
        [None if a < 0 or not head else e > head.at for a, e in spans] if head else []
    )
    refers_back = bool(head and head.refers)
    groups = sorted({o.group for o in origins})
    rank = {g: k for k, g in enumerate(groups)}
    size = {g: sum(o.group == g for o in origins) for g in groups}
    caps = {o.capability for o in origins}
    n_groups = len(groups)
    facts = []
    for k, o in enumerate(origins):
        words = [w for w in tokens(normalize(o.instruction)) if w not in lx.POLITE]
        pronoun, everything, named = _refers(o.instruction)
        lead, demonstrative, strict = _leads(o.instruction)
        # round 13: "once you know, ..." in the clause, or just before it in the request
        # (the segmenter may have left it out of the instruction)
        known = _known(normalize(o.instruction)) or (
            bool(spans) and spans[k][0] > 0 and _known(_before(norm, spans[k][0]))
        )
        # ... "with them", "con ellas": the material is an earlier result (not pasted data)
        made_with = not (o.own_data or o.quoted) and bool(
            _WITH_REF.search(
                lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(o.instruction))
            )
        )
        question = not known and (
            o.instruction.rstrip().endswith("?") or bool(words and words[0] in lx.QUESTION)
        )
        facts.append(
            _Facts(
                pronoun or known or made_with,
                everything,
                named,
                _content(words, True),
                question,
                _subject_words(o.instruction),
                lead or known,
                demonstrative,
                strict or known or made_with,
                *_clause(o.instruction),
            )
        )
    own = [{w.rstrip("s") for w in tokens(normalize(o.instruction))} for o in origins]
    # round 12's decoding facts (``round12``)
    colon12 = [a >= 0 and bool(_COLON_QQQ.match(norm, e)) for a, e in spans]
    strict12 = [_strict12(o.instruction) for o in origins]
    besides = [
        bool(
            _BESIDES.match(
                lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(o.instruction))
            )
        )
        for o in origins
    ]
    obj_names = [_object_names(o.instruction) for o in origins]
    also = [
        bool(_ALSO.match(lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(o.instruction))))
        for o in origins
    ]
    topics = [_topic_words(o.instruction) for o in origins]
    named_count = [
        sum(
            bool(obj_names[j] & (own[k] - topics[k]))
            for k in range(j)
            if origins[k].group != origins[j].group
        )
        for j in range(len(origins))
    ]
    sent_of, sent_src = _sentence_sources(
        norm, spans, origins, facts, obj_names, [w - t for w, t in zip(own, topics, strict=True)]
    )
    # round 17 (``round17``): ... and a sentence opening "from the <noun>,"
    _, sent_src17 = _sentence_sources(
        norm,
        spans,
        origins,
        facts,
        obj_names,
        [w - t for w, t in zip(own, topics, strict=True)],
        r17=True,
    )
    adverb17 = [not o.own_data and _adverb17(o.instruction) for o in origins]
    # round 17 (plan-enum17): a job said to be unrelated, in its clause or around it (from
    # just before it to the next clause: "and unrelated, write ...", "..., sans rapport avec
    # les chiffres"), and whether a clause points back explicitly
    apart17 = []
    for k, (a, e) in enumerate(spans or [(-1, -1)] * len(origins)):
        nxt = [s0 for s0, _ in spans[k + 1 :] if s0 > e] if a >= 0 else []
        around = norm[max(0, a - 32) : min(nxt, default=len(norm))] if a >= 0 else ""
        apart17.append(_unrelated(normalize(origins[k].instruction)) or _unrelated(around))
    points17 = [_points17(o.instruction) for o in origins]
    # ... a sentence opening with "besides that" holds every job it lists
    # (read past the phrase: the segmenter may have cut "En plus | de ça, dessine ...")
    if norm and any(k >= 0 for k in sent_of):
        opens = [_BESIDES.match(norm, s0, s1) for s0, s1, _ in _sentence_leads(norm)]
        for j, k in enumerate(sent_of):
            m = opens[k] if k >= 0 else None
            if m is not None:
                besides[j] = True
                a, e = spans[j]
                if a < m.end() < e:
                    strict12[j] = _strict12(norm[m.end() : e])
    # a result named among a clause's first words: "With the result: ...", "Con los datos ..."
    heads = [_names_result_first(o.instruction) for o in origins]
    # round 15: the nouns each clause names after a determiner (``_names_result``)
    named_after = [[] if o.own_data or o.quoted else _named_after(o.instruction) for o in origins]
    refers15 = [not (o.own_data or o.quoted) and _refers15(o.instruction) for o in origins]
    nouns17 = [{n.rstrip("s") for n, _ in named_after[k]} for k in range(len(origins))]
    for j, oj in enumerate(origins):
        fj = facts[j]
        for i in range(j):
            oi = origins[i]
            if oi.group == oj.group:
                continue
            gap = rank[oj.group] - rank[oi.group]
            # the latest earlier task (of another segment) that yields text: what "it" most
            # often reads; the latest earlier one sharing a word of j's subject
            later = [o for o in origins[i + 1 : j] if o.group != oj.group]
            nearest_text = oi.capability not in NO_TEXT and not any(
                o.capability not in NO_TEXT and o.group != oi.group for o in later
            )
            shared = bool(fj.subject & facts[i].subject)
            last_shared = shared and not any(
                fj.subject & facts[k].subject
                for k in range(i + 1, j)
                if origins[k].group not in (oi.group, oj.group)
            )
            # i read by a task made after it and before j (by the rules)
            read_between = any(oi.task_id in origins[k].rule_deps for k in range(i + 1, j))
            # the segment right before j read i: "then draw it, and summarize it" fans out
            before = [o for o in origins[:j] if rank[o.group] == rank[oj.group] - 1]
            sibling = gap > 1 and any(oi.task_id in o.rule_deps for o in before)
            refers = fj.strict or fj.named or fj.demonstrative
            f: dict[str, float] = {
                "bias": 1.0,
                "rule": float(oi.task_id in oj.rule_deps),
                "rule_other": float(bool(oj.rule_deps) and oi.task_id not in oj.rule_deps),
                "prev": float(gap == 1),
                "gap2": float(gap == 2),
                "gap3": float(gap >= 3),
                "first": float(rank[oi.group] == 0),
                "sink": float(rank[oj.group] == n_groups - 1),
                "pronoun": float(fj.pronoun),
                "pronoun_prev": float(fj.pronoun and gap == 1),
                "all": float(fj.everything),
                "named": float(fj.named),
                "content0": float(fj.content == 0),
                "content1": float(fj.content == 1),
                "content3": float(fj.content >= 3),
                "own_data": float(oj.own_data),
                "quoted": float(oj.quoted),
                "question": float(fj.question),
                "listed": float(oj.listed),
                "lead_ref": float(oj.lead_ref),
                "i_reads": float(bool(oi.rule_deps)),
                "i_read": float(read_between),
                "i_fanout": float(size[oi.group] > 1),
                "j_fanout": float(size[oj.group] > 1),
                "one_cap": float(len(caps) == 1),
                "groups2": float(n_groups == 2),
                "groups4": float(n_groups >= 4),
                "overlap": float(shared),
                "last_overlap": float(last_shared),
                "nearest_text": float(nearest_text),
                "nearest_text_ref": float(nearest_text and (fj.pronoun or fj.named)),
                "i_no_text": float(oi.capability in NO_TEXT),
                "producer_consumer": float(
                    oi.capability in PRODUCERS and oj.capability not in PRODUCERS
                ),
                "into_transform": float(oj.capability in TRANSFORMS),
                "same_cap": float(oi.capability == oj.capability),
                # generic facts added in round 8: the data i carries, where j's reference
                # stands, parallel list items, a fan-out from one source
                "i_data": float(oi.own_data),
                "i_quoted": float(oi.quoted),
                "i_data_next": float(oi.own_data and gap == 1 and not oj.own_data),
                "both_data": float(oi.own_data and oj.own_data),
                "ref_lead": float(fj.lead),
                "ref_lead_prev": float(fj.lead and gap == 1),
                "demonstrative": float(fj.demonstrative),
                "refers_prev": float(refers and gap == 1),
                "refers_none_prev": float(not refers and gap == 1),
                "both_items": float(oi.joined == "item" and oj.joined == "item"),
                "both_listed": float(oi.listed and oj.listed),
                "sibling_source": float(sibling),
                "sibling_source_and": float(sibling and oj.joined in ("and", "sentence")),
                "prev_bare": float(gap == 1 and fj.content <= 1),
                "into_image_prev": float(gap == 1 and oj.capability == "image_generation"),
                "rule_refers": float(oi.task_id in oj.rule_deps and refers),
                # j asks for material: it refers back, says "both", or names nothing of its own
                "asks": float(refers or fj.everything or fj.content == 0),
                # ... or follows in sequence ("then", a new sentence), not as a parallel job
                "asks_then": float(
                    refers or fj.everything or fj.content == 0 or oj.joined == "then"
                ),
                "asks_seq": float(
                    refers or fj.everything or fj.content == 0 or oj.joined in ("then", "sentence")
                ),
                "asks_lead": float(
                    fj.lead or fj.named or fj.demonstrative or fj.everything or fj.content == 0
                ),
            }
            # round 9: the consumer's clause whole, the producer's, the pair's structure
            loose = fj.loose or refers or fj.pronoun
            names = bool(fj.named_words & own[i])
            names_later = any(
                fj.named_words & own[k]
                for k in range(i + 1, j)
                if origins[k].group not in (oi.group, oj.group)
            )
            names_any = any(fj.named_words & own[k] for k in range(j) if k != i)
            prev_seg = [k for k in range(j) if rank[origins[k].group] == rank[oj.group] - 1]
            prev_read_i = any(oi.task_id in origins[k].rule_deps for k in prev_seg)
            parallel = oj.joined in ("and", "item", "part")
            f.update(
                {
                    "loose_ref": float(loose),
                    "loose_ref_prev": float(loose and gap == 1),
                    "then_word": float(fj.then),
                    "then_word_prev": float(fj.then and gap == 1),
                    "i_question": float(facts[i].question),
                    "i_question_next": float(facts[i].question and gap == 1 and not fj.question),
                    "ordinal_this": float(fj.ordinal == i + 1),
                    "ordinal_other": float(fj.ordinal > 0 and fj.ordinal != i + 1),
                    "enum_j": float(fj.enum),
                    "enum_both": float(fj.enum and facts[i].enum),
                    "names_i": float(names),
                    "names_last": float(names and not names_later),
                    "names_other": float(not names and names_any),
                    "same_source": float(fj.same and not oi.rule_deps),
                    "same_derived": float(fj.same and bool(oi.rule_deps)),
                    "sib_and": float(prev_read_i and parallel),
                    "sib_lead": float(
                        prev_read_i
                        and parallel
                        and any(origins[k].lead_ref or facts[k].lead for k in prev_seg)
                    ),
                    "prev_reads_and": float(gap == 1 and bool(oi.rule_deps) and parallel),
                    "from_lora": float(oi.capability == "lora_training"),
                    "to_lora": float(oj.capability == "lora_training"),
                    "text_to_lora": float(
                        oi.capability == "text_generation" and oj.capability == "lora_training"
                    ),
                    "i_bare": float(facts[i].content == 0),
                    # j asks for material, its clause read whole: ``asks_seq``, or a
                    # reference anywhere, "then", a noun or an ordinal naming an earlier task
                    "asks9": float(
                        bool(f["asks_seq"])
                        or loose
                        or fj.then
                        or names_any
                        or names
                        or fj.ordinal > 0
                    ),
                }
            )
            # round 10: gates that also let "the same material" and a sibling of a step that
            # read its source through a leading reference ask for material
            # (keys with "_": read by the gate, never a weight)
            f["_asks_same"] = float(bool(f["asks_seq"]) or fj.same)
            f["_asks_sib"] = float(bool(f["_asks_same"]) or bool(f["sib_lead"]))
            f["_asks_names"] = float(bool(f["_asks_sib"]) or names)
            # round 13: ... and a job right after an analysis of pasted data, with no data of
            # its own ("analyse this and write a paragraph for the report: <table>"): the
            # analysis's findings are the only material it can be about
            f["_asks13"] = float(
                bool(f["_asks_sib"])
                or (
                    gap == 1
                    and oi.own_data
                    and oi.capability == "data_analysis"
                    and not (oj.own_data or oj.quoted)
                )
            )
            # round 15: ... and a clause naming i's result by a determiner and a noun ("con
            # esa descripción", "Den Slogan dann als Bild", "basate sulle informazioni
            # trovate"), or i's subject by a demonstrative ("genau diesen Berg"): it asks for
            # i's material (a gate only, never a weight: the model decides)
            f["_names15"] = float(
                oi.capability not in NO_TEXT
                and (
                    refers15[j]
                    or _names_result(
                        named_after[j],
                        oi.capability,
                        own[i] - topics[i],
                        facts[i].subject | topics[i],
                    )
                )
            )
            f["_asks15"] = float(bool(f["_asks13"]) or bool(f["_names15"]))
            # a clause saying "both" / "each of them" as the last of listed items
            f["all_items"] = float(fj.everything and (fj.enum or oj.joined == "item"))
            # round 11: a parallel job after a step whose reference leads ("From that, a
            # summary and, separately, a picture"): it reads what that step's reference
            # points at (the nearest text before it), not that step
            leads = [k for k in prev_seg if origins[k].lead_ref or facts[k].lead or heads[k]]
            f["lead_sib_prev"] = float(parallel and i in leads)
            lead_src = False
            if parallel and leads and rank[oi.group] < rank[oj.group] - 1:
                k0 = min(prev_seg)
                lead_src = oi.capability not in NO_TEXT and not any(
                    origins[k].capability not in NO_TEXT and origins[k].group != oi.group
                    for k in range(i + 1, k0)
                )
            f["lead_sib_src"] = float(lead_src)
            # "... auf Englisch und auf Italienisch", "en français, et aussi en allemand": a
            # translation joined to a translation with no reference of its own puts the same
            # text into another language
            tr = [k for k in prev_seg if origins[k].capability == "translation"]
            lang_sib = (
                parallel
                and oj.capability == "translation"
                and bool(tr)
                and not (fj.strict or fj.named or fj.demonstrative)
            )
            f["lang_sib_prev"] = float(lang_sib and i in tr)
            lang_src = False
            if lang_sib and rank[oi.group] < rank[oj.group] - 1:
                k0 = min(prev_seg)
                lang_src = oi.capability not in NO_TEXT and not any(
                    origins[k].capability not in NO_TEXT and origins[k].group != oi.group
                    for k in range(i + 1, k0)
                )
            f["lang_sib_src"] = float(lang_src)
            # a head counting the things asked: with a reference, each thing after it reads
            # the nearest result before it; without, the things are independent jobs
            pi, pj = (past[i], past[j]) if past else (None, None)
            known = pi is not None and pj is not None
            f["count_apart"] = float(known and not refers_back and bool(pi) and bool(pj))
            f["count_sib"] = float(known and refers_back and bool(pi) and bool(pj))
            from_head = known and refers_back and bool(pj) and not pi
            f["count_from"] = float(from_head)
            f["count_from_near"] = float(
                from_head
                and oi.capability not in NO_TEXT
                and not any(
                    past[k] is False
                    and origins[k].capability not in NO_TEXT
                    and origins[k].group != oi.group
                    for k in range(i + 1, j)
                )
            )
            f["_several"] = float(
                bool(_SEVERAL.search(normalize(oj.instruction)))
                or bool(lx.COUNTED.search(normalize(oj.instruction)))
            )
            f["j_colon_quote"] = float(bool(colon) and colon[j] and not oj.own_data)
            f["_asks11"] = float(
                bool(f["_asks_sib"]) or lead_src or lang_src or bool(f["count_from_near"])
            )
            f["_asks11n"] = float(bool(f["_asks11"]) or names)
            # decoding keys (``inherit``): j, a parallel job after i whose reference leads,
            # reads what i reads unless it names i ("and translate that summary") or
            # transforms i by a pronoun ("y pásalo al catalán")
            names_cap = bool(fj.named_words & _CAP_NOUNS.get(oi.capability, frozenset()))
            # round 13: ... or names what i made by an inflected form of i's own noun ("fass
            # das Ergebnis in drei Stichpunkten zusammen und übersetz die Stichpunkte")
            names_cap = names_cap or bool(
                {_stem(w) for w in fj.named_words} & {_stem(w) for w in own[i] - topics[i]} - {""}
            )
            # ... a weight too: "résume cette version anglaise" reads the translation, not the
            # text it was made from
            f["names_cap"] = float(names_cap)
            chain = oj.capability in TRANSFORMS and fj.pronoun and not fj.same
            f["_inherit"] = float(
                bool(f["lead_sib_prev"] or f["lang_sib_prev"])
                and not (names or names_cap or chain or fj.ordinal)
            )
            # ... j, a thing after a head that points back, reads the nearest result before
            # it; a thing after a head with no reference reads no other thing it does not name
            f["_count_src"] = f["count_from_near"]
            f["_apart"] = float(f["count_apart"] and not (fj.strict or names or fj.named))
            # ... and a job among independent things asks for nothing it does not name
            f["_asks11x"] = float(
                bool(f["_asks11"])
                and not (f["count_apart"] and not (fj.strict or fj.named or names))
            )
            # round 12 (``round12``): a clause whose quotation follows its colon reads that;
            # things after a counting head with no reference read what they name as a result,
            # not a topic ("a poem about the lava"); an item pointing back, or naming one
            # earlier result, reads it; a sentence opening by pointing back feeds its jobs
            f["_quote_own"] = float(
                bool(colon12)
                and colon12[j]
                and not (fj.then or fj.named or named_count[j] or fj.ordinal)
                and oj.joined != "then"
            )
            named_here = obj_names[j] & (own[i] - topics[i])
            f["_apart12"] = float(
                bool(f["count_apart"]) and not (strict12[j] or fj.named or bool(named_here))
            )
            # (a lookup or a question asks about a thing, it does not read one: "find the
            # height of X. Also find the height of Y")
            # (... nor is a lookup's or a question's subject its result: "how many bones has a
            # cat" then "a drawing of a cat")
            f["_names_one"] = float(
                bool(named_here)
                and named_count[j] == 1
                and oj.capability not in PRODUCERS
                and oi.capability not in PRODUCERS
                and not facts[i].question
            )
            f["_item_near"] = float(
                (fj.enum or oj.joined == "item")
                and strict12[j]
                and bool(f["nearest_text"])
                and not (oj.own_data or oj.quoted or fj.question)
                and oj.capability not in PRODUCERS
            )
            f["_besides"] = float(
                besides[j] and not (strict12[j] or bool(named_here) or fj.ordinal)
            )
            # round 14: a job added by "also" ("also an image of ...", "e também faz ...") is
            # a sibling of the step before it, not its reader: it reads what that step reads
            # (``inherit``, ``_sent_src``), never that step unless it points back at it
            f["_also_apart"] = float(
                also[j]
                and gap == 1
                and not (
                    strict12[j]
                    or fj.strict
                    or fj.named
                    or bool(named_here)
                    or names_cap
                    or fj.ordinal
                    or fj.everything
                    or fj.same
                )
            )
            f["_sent_src"] = float(sent_src[j] == i)
            # round 17 (``round17``): a sentence opening "from the <noun>,", a noun naming
            # what i made, a pronominal adverb pointing at the nearest text
            f["_sent17"] = float(sent_src17[j] == i)
            text_i = oi.capability not in NO_TEXT
            data_i = oi.own_data or oi.quoted
            named17 = (nouns17[j], oi.capability, own[i], topics[i], data_i)
            f["_names17"] = float(text_i and _names17(*named17, False, nouns17[i], topics[j]))
            # (a lookup or an analysis asks about a thing it names, it reads no result)
            f["_cap17"] = float(
                text_i
                and oj.capability not in PRODUCERS
                and _names17(*named17, True, nouns17[i], topics[j])
            )
            f["_adverb17"] = float(adverb17[j] and nearest_text)
            f["_sent_sib"] = float(sent_of[j] >= 0 and sent_of[i] == sent_of[j])
            # round 17 (plan-enum17): j, an independent job of an enumeration, reads not i
            # unless it points back explicitly or names i's result
            # ("la traduzione di \"...\"" names what it makes, not a result: with material of
            # its own, "named" is no pointer)
            explicit = (
                points17[j]
                or fj.ordinal > 0
                or fj.everything
                or fj.same
                or names_cap
                or bool(named_here)
            )
            own_material = bool(oj.quoted or oj.own_data) and bool(f["count_apart"])
            f["_apart17"] = float(
                not explicit
                and sent_src[j] < 0
                and sent_src17[j] < 0
                and not f["count_from"]
                and (
                    (own_material and not f["_inherit"])
                    # (the cue's own "davon" in "unabhängig davon" is no lead back)
                    or (not fj.named and apart17[j])
                )
            )
            joined = oj.joined if oj.joined in JOINS else "other"
            f[f"join_{joined}"] = 1.0
            f[f"join_{joined}_prev"] = float(gap == 1)
            f[f"from_{_cap(oi.capability)}"] = 1.0
            f[f"to_{_cap(oj.capability)}"] = 1.0
            f[f"pair_{_cap(oi.capability)}_{_cap(oj.capability)}"] = 1.0
            out.append((i, j, f))
    return out


# (probability, i, j says "both"/"all", a rule edge, j asks for material, j says "both" or
# "the two": at least two sources)
Candidate = tuple[float, int, bool, bool, bool, bool]


def keep(
    cands: list[Candidate],
    threshold: float,
    single: bool,
    add: float | None,
    gated: bool = False,
    two: bool = False,
) -> list[int]:
    """Which of one task's candidate sources it reads. ``add`` None: every candidate at
    ``threshold`` or above (only the best one when ``single``, unless the clause says "both");
    else anchored on the rules: a rule edge stays at ``threshold`` or above, and the model adds
    its best other candidate at ``add`` or above (every one when the clause says "both").
    ``gated``: the model adds no edge the rules did not make to a clause that does not ask for
    material (no reference back, no "both", a subject of its own: "and draw a lighthouse")."""
    if gated:
        cands = [c for c in cands if c[3] or c[4]]
    if not cands:
        return []
    everything = cands[0][2]
    if add is None:
        kept = [c for c in cands if c[0] >= threshold]
        if single and len(kept) > 1 and not everything:
            kept = [max(kept, key=lambda c: (c[0], c[1]))]
        if two and len(kept) == 1 and cands[0][5]:
            # "both", "the two", "each of them": the best source passed, so does the next best
            # one that yields text (``two``: round 11)
            rest = [c for c in cands if c is not kept[0] and c[3]]
            if rest:
                kept.append(max(rest, key=lambda c: (c[0], c[1])))
        elif two and not kept and cands[0][5] and len(by_rule := [c for c in cands if c[3]]) == 2:
            # "the two together", "los dos juntos", "die beiden": the clause counts two
            # sources and the rules read exactly two; no score under the threshold undoes
            # what the count says (round 12)
            kept = by_rule
        return sorted(c[1] for c in kept)
    ruled = [c[1] for c in cands if c[3] and c[0] >= threshold]
    extra = [c for c in cands if not c[3] and c[0] >= add]
    if extra and not everything:
        extra = [max(extra, key=lambda c: (c[0], c[1]))]
    return sorted(ruled + [c[1] for c in extra])


def _by_target(
    pairs: list[tuple[int, int, dict[str, float]]],
) -> dict[int, list[tuple[int, dict[str, float]]]]:
    """The decoders' view of ``pairs``: for each later task, its earlier tasks and features."""
    by_j: dict[int, list[tuple[int, dict[str, float]]]] = {}
    for i, j, f in pairs:
        by_j.setdefault(j, []).append((i, f))
    return by_j


def inherit(
    chosen: dict[int, list[int]], pairs: list[tuple[int, int, dict[str, float]]]
) -> dict[int, list[int]]:
    """Round 11's decoding over every task's chosen sources (``EdgeModel.inherit``): a parallel
    job after a step whose reference leads reads what that step reads ("From that, a summary
    and, separately, a picture"); a thing listed after a head that points back ("two things
    from that:") reads the nearest result before the head when the model chose none or a
    sibling; a thing after a head with no reference ("three things:") reads no other thing it
    does not name. Tasks in order, so a step's sources are final before its siblings read
    them."""
    by_j = _by_target(pairs)
    out = {j: list(v) for j, v in chosen.items()}
    for j in sorted(by_j):
        row = by_j[j]
        got = [i for i in out.get(j, []) if not any(k == i and f.get("_apart") for k, f in row)]
        heir = [k for k, f in row if f.get("_inherit")]
        if heir and set(got) <= set(heir) and out.get(heir[-1]):
            got = list(out[heir[-1]])
        src = [k for k, f in row if f.get("_count_src")]
        sibs = {k for k, f in row if f.get("count_sib")}
        if src and set(got) <= sibs:
            got = [max(src)]
        out[j] = sorted(got)
    return out


def round12(
    chosen: dict[int, list[int]], pairs: list[tuple[int, int, dict[str, float]]]
) -> dict[int, list[int]]:
    """Round 12's decoding over every task's chosen sources (``EdgeModel.r12``), tasks in
    order: a clause whose quotation follows its colon ("and also summarise this: \"...\"")
    reads its quotation, no task; a thing after a head with no reference reads no other thing
    it does not name as a result ("a poem about the lava" names a topic); a task the model
    gave no source reads the one earlier task it names as a result ("3. translate the
    slogan"), else, as a listed item pointing back ("b) draw that planet"), the nearest text;
    a job in a sentence that opens by pointing back ("From that scene I want a picture, and
    separately a teaser") reads the result before that sentence when the model chose none or
    a job of the same sentence. A clause opening with "besides that" ("além disso", "abgesehen
    davon") reads nothing it does not point at past that phrase. A job added by "also" ("also
    an image of ...", "e também uma imagem") does not read the step right before it unless it
    points back (round 14)."""
    by_j = _by_target(pairs)
    out = {j: list(v) for j, v in chosen.items()}
    for j in sorted(by_j):
        row = by_j[j]
        got = out.get(j, [])
        if any(f.get("_quote_own") for _, f in row):
            out[j] = []
            continue
        got = [
            i
            for i in got
            if not any(
                k == i and (f.get("_apart12") or f.get("_besides") or f.get("_also_apart"))
                for k, f in row
            )
        ]
        if not got:
            named = [k for k, f in row if f.get("_names_one")]
            near = [k for k, f in row if f.get("_item_near")]
            got = named[-1:] or near[-1:]
        src = [k for k, f in row if f.get("_sent_src")]
        sibs = {k for k, f in row if f.get("_sent_sib")}
        if src and set(got) <= sibs:
            got = src
        out[j] = sorted(got)
    return out


def round17(
    chosen: dict[int, list[int]], pairs: list[tuple[int, int, dict[str, float]]]
) -> dict[int, list[int]]:
    """Round 17's decoding over every task's chosen sources (``EdgeModel.r17``), tasks in
    order, after ``round12``: a clause whose one chosen source it does not name, while it
    names what a later earlier task made ("... puis écris-en une version simple et dessine une
    image qui va avec ce texte", "boil it down to a moral, and put the moral into German"),
    reads that later task; a clause the model gave no source reads the latest earlier task it
    names by its result's noun, not a topic ("gebaseerd op die tekst"), else, pointing back by
    a pronominal adverb ("là-dessus", "train daar een adapter op"), the nearest text; a job in
    a sentence opening "from the <noun>," ("From the pitch, make an icon and also a tagline")
    reads the result before that sentence when the model chose none or a job of the same
    sentence."""
    by_j = _by_target(pairs)
    out = {j: list(v) for j, v in chosen.items()}
    for j in sorted(by_j):
        row = by_j[j]
        got = out.get(j, [])
        named = [k for k, f in row if f.get("_names17")]
        if len(got) == 1 and named and got[0] < named[-1] and got[0] not in named:
            got = named[-1:]
        if not got:
            strong = [k for k, f in row if f.get("_cap17")]
            adverb = [k for k, f in row if f.get("_adverb17")]
            # (else the task just before, when the clause names what it made: "boil it down
            # to a proverb, and put the proverb into Italian", whose "a proverb" reads as a
            # topic of the clause that made it)
            got = strong[-1:] or adverb[-1:] or [k for k in named[-1:] if k == j - 1]
        src = [k for k, f in row if f.get("_sent17")]
        sibs = {k for k, f in row if f.get("_sent_sib")}
        if src and set(got) <= sibs:
            got = src
        # (plan-enum17) an independent job of an enumeration reads no earlier job it does not
        # point back at
        got = [i for i in got if not any(k == i and f.get("_apart17") for k, f in row)]
        out[j] = sorted(got)
    return out


@dataclass
class EdgeModel:
    """Logistic weights over named features and the threshold that decides an edge."""

    weights: dict[str, float]
    threshold: float = 0.5
    # each task reads its best-scoring candidate only, unless its clause says "both"/"all"
    single: bool = False
    # anchored on the rules: the threshold under which a rule edge goes; ``add``, the one over
    # which the model adds an edge the rules did not make (None: the model decides alone)
    add: float | None = None
    # the feature that says whether a clause asks for material (``keep``'s gate); "" none
    gate: str = ""
    # round 9: a choice per task, not a yes/no per pair: its earlier tasks and "none" (the
    # weight ``NONE``) compete in one softmax, so a candidate is scored against the others the
    # clause could read, and the many far pairs no clause reads do not drag every score down
    choice: bool = False
    # round 10: with ``choice``, a clause that says "both"/"all" scores each candidate against
    # "none" alone, not against the other sources it also reads
    every: bool = False
    # round 11: a clause saying "both" / "the two" keeps a second source when its best one
    # passes: the next best one the rules also gave it
    two: bool = False
    # round 11: siblings of a leading reference and things after a counting head (``inherit``)
    inherit: bool = False
    # round 12: quotations, topics, named results, listed references, leading sentences
    # (``round12``)
    r12: bool = False
    # round 17: named results, pronominal adverbs, "from the <noun>," sentences (``round17``)
    r17: bool = False

    def probability(self, features: dict[str, float]) -> float:
        z = sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def candidates(
        self, pairs: list[tuple[int, int, dict[str, float]]]
    ) -> dict[int, list[Candidate]]:
        scored: dict[int, list[Candidate]] = {}
        shares: dict[tuple[int, int], float] = {}
        if self.choice:
            shares = self._shares(pairs)
        for i, j, f in pairs:
            scored.setdefault(j, []).append(
                (
                    shares[(i, j)] if self.choice else self.probability(f),
                    i,
                    bool(f.get("all")),
                    bool(f.get("rule")),
                    bool(f.get(self.gate, 1.0)) if self.gate else True,
                    bool(f.get("_several")),
                )
            )
        return scored

    def _shares(
        self, pairs: list[tuple[int, int, dict[str, float]]]
    ) -> dict[tuple[int, int], float]:
        """Each pair's share of its task's softmax over its candidates and "none"."""
        z: dict[int, list[tuple[int, float]]] = {}
        every = {j for _, j, f in pairs if f.get("all")}
        for i, j, f in pairs:
            s = sum(self.weights.get(k, 0.0) * v for k, v in f.items())
            z.setdefault(j, []).append((i, max(-30.0, min(30.0, s))))
        out: dict[tuple[int, int], float] = {}
        none = self.weights.get(NONE, 0.0)
        for j, row in z.items():
            top = max([none, *(s for _, s in row)])
            total = math.exp(none - top) + sum(math.exp(s - top) for _, s in row)
            for i, s in row:
                out[(i, j)] = math.exp(s - top) / total
            if self.every and j in every:
                # "both", "each of them", "los tres": the sources it reads share the softmax
                # (two right ones get under half each), so each is scored against "none" alone
                for i, s in row:
                    out[(i, j)] = 1.0 / (1.0 + math.exp(none - s))
        return out

    def decide(self, origins: list[Origin], query: str = "") -> dict[str, list[str]]:
        """Each task's inputs, from the scores of the pairs it ends (``keep``)."""
        deps: dict[str, list[str]] = {o.task_id: [] for o in origins}
        pairs = pair_features(origins, query)
        chosen = {
            j: keep(
                cands,
                self.threshold,
                self.single,
                self.add,
                bool(self.gate),
                self.two,
            )
            for j, cands in self.candidates(pairs).items()
        }
        if self.inherit:
            chosen = inherit(chosen, pairs)
        if self.r12:
            chosen = round12(chosen, pairs)
        if self.r17:
            chosen = round17(chosen, pairs)
        for j, got in chosen.items():
            deps[origins[j].task_id] = [origins[i].task_id for i in got]
        return deps

    def to_json(self) -> dict[str, Any]:
        return {
            "add": None if self.add is None else round(self.add, 4),
            "choice": self.choice,
            "every": self.every,
            "gate": self.gate,
            "single": self.single,
            "threshold": round(self.threshold, 4),
            "two": self.two,
            "inherit": self.inherit,
            "r12": self.r12,
            "r17": self.r17,
            "weights": {k: round(v, 5) for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EdgeModel:
        if body.get("lexical") or body.get("over") is not None:
            # round 15's lexical labeller (``bench.planning.train.lexical``) reads features
            # this module does not compute: measured, never shipped
            raise ValueError("a lexical edge model is not a shipped one")
        return cls(
            {k: float(v) for k, v in body["weights"].items()},
            float(body["threshold"]),
            bool(body.get("single", False)),
            None if body.get("add") is None else float(body["add"]),
            str(body.get("gate", "")),
            bool(body.get("choice", False)),
            bool(body.get("every", False)),
            bool(body.get("two", False)),
            bool(body.get("inherit", False)),
            bool(body.get("r12", False)),
            bool(body.get("r17", False)),
        )


@lru_cache(maxsize=4)
def _load(path: str) -> EdgeModel | None:
    p = Path(path)
    if not p.is_file():
        return None
    return EdgeModel.from_json(json.loads(p.read_text()))


def learned(path: str | Path | None = None) -> EdgeModel | None:
    """The edge model in ``path`` (``edges.json`` by default), None when there is none."""
    return _load(str(path or EDGE_WEIGHTS))


__all__ = [
    "EDGE_WEIGHTS",
    "NONE",
    "ROUND9",
    "ROUND11",
    "EdgeModel",
    "Origin",
    "count_head",
    "inherit",
    "keep",
    "learned",
    "pair_features",
    "round12",
    "round17",
]
