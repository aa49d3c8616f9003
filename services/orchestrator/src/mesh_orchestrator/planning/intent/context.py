"""Clauses with no job of their own after an ask (round 15): they say how the thing asked
should be, not a second thing to make.

* ``restates_only``: "only"/"just" and a thing the mesh makes, the same job as a task before
  it ("image only", "juste l'image", "solo la imagen", "nur das Bild", "só a imagem", "solo
  l'immagine", "alleen de afbeelding"): that task, restricted; not a second one.
* ``style_only``: a style named with no verb ("poster style", "estilo acuarela", "style
  aquarelle", "im Comic-Stil", "estilo cartaz", "stile anime", "in cartoonstijl"): how the
  thing asked before it looks.
* ``answer_manner``: how the answer should be, with no verb of a job ("short answer is fine",
  "una respuesta corta basta", "une réponse courte suffit", "eine kurze Antwort reicht", "uma
  resposta curta chega", "una risposta breve va bene", "kort antwoord is prima").

Each holds only after a task and in a short clause that names no other thing to make.

* ``states_only``: a statement the speaker makes of itself, wanting nothing ("I run a small
  bakery", "Je tiens un atelier", "Tengo un taller", "Ho un'officina", "Tenho uma oficina":
  the subject, or in the pro-drop languages the verb of having, being or working in the first
  person), before the ask: who asks, not a job.
"""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.cues import _I, _WISH, _YOU_ALL, asks_of_someone
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.segment import Segment

# The noun "style" in the seven languages (German and Dutch glue it to what it qualifies:
# "Comicstil", "cartoonstijl").
_STYLE_NOUNS = ("style", "styles", "estilo", "stil", "stile", "stijl")
# The noun "answer" in the seven languages.
_ANSWER_NOUNS = frozenset(
    ["answer", "reply", "respuesta", "reponse", "antwort", "resposta", "risposta", "antwoord"]
)
# Words that may lead a style phrase: "in the style of", "en estilo", "im Stil", "no estilo",
# "nello stile", "in de stijl van", "a lo", "a la".
_LEADS = lx_words(
    "in im en em no na nello nella dans le la el lo il de het a al au the del della des im am"
)
# At most this many words: a phrase, not a sentence with an ask in it.
_SHORT = 6


def _words(seg: Segment) -> list[str]:
    return [w for w in tokens(seg.instruction) if w not in lx.POLITE and w.isalpha()]


def _style_noun(word: str) -> bool:
    return word in _STYLE_NOUNS or (
        len(word) > 6 and word.endswith(("stil", "stijl")) and not word.endswith("distil")
    )


def style_only(seg: Segment) -> bool:
    """A short phrase headed by "style" ("poster style", "estilo acuarela", "im Comic-Stil",
    "in the style of a woodcut"): the style is its head, first (Romance: "estilo póster",
    "style affiche") or last (English, German, Dutch: "poster style", "Posterstil")."""
    words = _words(seg)
    while words and words[0] in _LEADS:
        words = words[1:]
    if not words or len(words) > _SHORT:
        return False
    return _style_noun(words[0]) or _style_noun(words[-1])


def answer_manner(seg: Segment) -> bool:
    """A short phrase about the answer ("short answer is fine", "kort antwoord is prima",
    "una respuesta corta basta"), no question in it."""
    words = _words(seg)
    return (
        0 < len(words) <= _SHORT
        and any(w in _ANSWER_NOUNS for w in words)
        and not seg.instruction.rstrip().endswith("?")
        and not any(w in lx.QUESTION for w in words)
    )


def only_named(seg: Segment) -> str | None:
    """The thing in "<thing> only" ("image only", "text only", "tekst alleen", "imagen
    solamente"): a thing the mesh makes, then "only", and nothing else."""
    words = _words(seg)
    if len(words) == 2 and words[1] in lx.ONLY:
        noun = words[0]
        if noun in lx.JOB_NOUNS or noun.rstrip("s") in lx.JOB_NOUNS:
            return noun
    return None


# Spanish, Portuguese and Italian drop the subject: the verb of having, being or working in
# the first person opens a statement of oneself ("Tengo un taller", "Sou professora", "Ho un
# negozio", "Lavoro di notte").
_FIRST_PERSON = lx_words("tengo soy estoy trabajo tenho sou estou trabalho ho sono sto lavoro")


def states_only(seg: Segment) -> bool:
    """A statement of the speaker that wants nothing of anyone: its subject is the speaker (or a
    first-person verb of having, being, working), no wish and no "you" after it, no thing to
    make named, no question."""
    words = _words(seg)
    if not words or seg.instruction.rstrip().endswith(("?", "!")):
        return False
    if words[0] not in _I and words[0] not in _FIRST_PERSON:
        return False
    rest = words[1:]  # (French "je" is Dutch "you": the subject, not the one asked)
    return (
        not any(
            w in _WISH or w in _YOU_ALL or w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS
            for w in rest
        )
        and "'d" not in seg.instruction
    )


# A modal that opens a request put to "you" (pro-drop languages need no "you"): "could you",
# "¿podrías ...?", "pourrais-tu", "könntest du", "podes", "potresti", "kun je".
_ASKING = lx_words(
    "could can would will podrias puedes podria podeis pourrais pourriez peux pouvez"
    " konntest kannst konnten konnen wurdest podes podias poderia pode potresti puoi potreste"
    " potete kun kunt zou zoudt wil"
)


def asks_for(seg: Segment) -> bool:
    """A request put to someone: a modal of asking first ("Potresti scrivermi ...", "Could you
    write ..."), or a wish or "you" in it."""
    words = _words(seg)
    return bool(words) and (words[0] in _ASKING or asks_of_someone(seg))


# A farewell, or "you are/were" said to the assistant, in the seven languages: what follows
# thanks in a request that asks nothing ("have a good one", "hasta mañana", "bonne soirée",
# "schönen Abend noch", "até amanhã", "a domani", "tot morgen"; "sei stato gentilissimo",
# "eres un sol", "tu es génial", "du bist super", "foste incrível", "je bent geweldig").
_FAREWELL = re.compile(
    r"^(?:and |y |et |und |e |en )?(?:have a (?:good|great|nice) \w+|take care|bye|goodbye|"
    r"see you\b|see ya|good ?night|hasta (?:manana|luego|pronto)|adios|chao|nos vemos|"
    r"buenas noches|bonne (?:soiree|journee|nuit)|a (?:demain|bientot|plus)|au revoir|salut|"
    r"(?:einen )?schonen (?:abend|tag)|tschuss|bis (?:morgen|bald|dann)|gute nacht|"
    r"ate (?:amanha|logo|breve)|tchau|boa (?:noite|tarde)|a domani|a presto|buona (?:serata|"
    r"giornata|notte)|ciao|tot (?:morgen|ziens|straks|later)|doei|fijne (?:avond|dag)|"
    r"goedenacht|welterusten)"
)
_YOU_ARE = lx_words(
    "you're youre eres fuiste estuviste tu t'es etais bist warst sei eri fosti foste bent"
)


def chat_after_thanks(seg: Segment) -> bool:
    """A farewell or a remark about the assistant ("you're the best", "sei stato
    gentilissimo"), with no thing to make named."""
    words = tokens(seg.instruction)
    if any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words):
        return False
    low = " ".join(w for w in words if w not in lx.POLITE)
    return bool(_FAREWELL.match(low)) or (
        len(words) <= _SHORT and any(w in _YOU_ARE for w in words[:3])
    )


def sign_off(seg: Segment) -> bool:
    """A short farewell that closes a request ("Até logo!", "Tot morgen!", "Bis bald"), with
    no thing to make named and no data."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    if seg.data or seg.payload or not words or len(words) > _SHORT or "of" in words:
        return False  # "take care of the invoices" is a job
    low = " ".join(words)
    said = _FAREWELL.match(low)
    if said is None:
        return False
    # the words past the farewell name no thing to make ("até logo" is no logo)
    return not any(
        w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in low[said.end() :].split()
    )


__all__ = [
    "answer_manner",
    "asks_for",
    "chat_after_thanks",
    "sign_off",
    "only_named",
    "states_only",
    "style_only",
]
