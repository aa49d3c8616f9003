"""Split a request into segments, one per job it may hold, in any of the seven languages.

Inline data (fenced blocks, JSON, CSV, a run of numbers) and quotations are lifted out
first, so nothing inside them splits a request or starts a job. Then, in order: lines of a
list (``-``, ``*``, ``1.``, ``a)``, ``(b)``) and lettered or numbered parts inside a line are
segments (``lists``, which asks ``Segmenter`` whether a piece opens a job); sentences are;
"then" and its kin in seven languages (``lexicon.THEN``), "but", and semicolons split; and
"and" or a comma splits when a job starts right after it: a verb that opens a job
(``openers``, learned with the model from its training phrasings), a question word, an
article and a job noun ("..., and a picture of ..."), a negation or an "only". Prose pasted after a colon, and a long quotation, stay with the segment that
introduced them as its ``payload``. Words that point back at an earlier result ("with that",
"daraus") are in ``backrefs``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from mesh_orchestrator.planning.clauses import (
    _PLACEHOLDER_RE,
    SHORT_QUOTE_WORDS,
    extract_data,
)
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import (
    _FOUND,
    _LEADS,
    _PREPS,
    _REFERS,
    _SAME,
    _SOURCE,
    _USE,
    _intro_points,
    _points,
    _reference_only,
)
from mesh_orchestrator.planning.intent.fanout import (
    ELIDED_BACK,
    FOLLOW_UP,
    leads_list,
    lists_after_colon,
)
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.lists import (
    COLON,
    announces,
    counted_list,
    number_ordinals,
    units,
)
from mesh_orchestrator.planning.intent.model import normalize, tokens

_QUOTE = "\u27ea{}\u27eb"
_QUOTE_RE = re.compile("\u27ea(\\d+)\u27eb")
_QUOTED = re.compile(
    r"\"[^\"\n]{1,2000}\"|\u201c[^\u201d]{1,2000}\u201d|\u00ab[^\u00bb]{1,2000}\u00bb|"
    r"\u201e[^\u201c\u201d]{1,2000}[\u201c\u201d]|(?<![\w'])'[^'\n]{1,400}'(?!\w)"
)
_NUMBERS = re.compile(
    r"(?<![\w.])(?:-?\d+(?:[.,]\d+)?[ \t]*[,;/|\t ][ \t]*){3,}-?\d+(?:[.,]\d+)?(?!\w|[.,]\d)"
)
# (not after a day of the month written as an ordinal: "am 12. Juli", "op 3. Mai")
# Abbreviations a lower-case word may follow within a sentence (seven languages).
_ABBREVIATIONS = sorted(
    lx_words(
        "vs etc ca approx incl excl resp min max nr no num eg ie cf bzw usw ggf evtl inkl ecc "
        "es ad ex ej pag vol ed etw bijv enz evt mr mrs ms dr st fig tel"
    )
)
# Titles before a name ("Mr. Park", "Sr. Park", "Mme. Roux", "Hr. Weber", "Sig. Rossi",
# "Dhr. de Vries"): no sentence ends after them.
_TITLES = [
    *("Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Sr", "Sra", "Srta", "Mme", "Mlle", "Hr", "Fr"),
    *("Dhr", "Mevr", "Sig", "Sgr", "Dott", "Ing"),
]
# How far back ``Segmenter._connectors`` reads the words before a "then" or a "but".
_NEAR_CHARS = 600
# Where ``Segmenter._ask_after_quote`` ends a sentence that no full stop ends.
_BREAK = "\u2028"
# A quotation's placeholder, the blanks after it on its line, a capital word.
_QUOTE_THEN_CAPITAL = re.compile("\u27ea(\\d+)\u27eb([ \t]+)(?=[A-Z\u00c0-\u00de\u00bf\u00a1])")
_SENTENCE = re.compile(
    "\u2028|"  # (no blanks around it: ``_ask_after_quote`` put it in their place)
    r"(?<![\s(]\d\.)(?<![\s(]\d\d\.)"
    + "".join(rf"(?<!\b{t}\.)" for t in _TITLES)
    + r"(?<=[.!?])\s+(?=[\"'\u27ea\u27e6\u00bf\u00a1A-Z\u00c0-\u00de0-9])"
    r"|(?<=[?!])\s+(?=[a-z])"
)
# A semicolon that splits clauses: blanks on one side at least ("tl;dr" is no split).
_SEMICOLON = re.compile(r"(?<!\s)\s*;\s+|(?<!\s)\s+;\s*")
# A request written in lower case: a word of two letters or more, a full stop, a lower-case
# word ("zoek op wat X is. daar wil ik ..."); not "approx. 5", "d.C. Gli", nor after an
# abbreviation. A sentence only where what follows asks (``Segmenter._asks_anew``).
_LOWER_SENTENCE = re.compile(
    r"(?<=[a-z\u00df-\u00ff]{2}\.)"
    + "".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS)
    + r"\s+(?=[a-z\u00e0-\u00ff^\u00bf\u00a1])"
)
# A chain written with arrows ("a description -> shorten it -> that in German"): each arrow
# starts a step that follows the one before.
# (read from the start of a run of blanks only: at each blank of a long run it re-read the rest)
_ARROW = re.compile(r"(?<!\s)\s+(?:->|-->|=>|\u2192|\u21d2|\u27f6)\s+")
_QUOTE_END = "\u27eb"  # the end of a quotation's placeholder
# Joins a paragraph of pasted text to the piece that asks for it: where its payload starts.
_MATERIAL = "\u2029"
# A paragraph of pasted prose has at least this many words; a pasted verse at least
# _VERSE_MIN words in lines of at most _VERSE_WORDS; the asks beside a pasted paragraph that
# leads the request at most _ASK_WORDS words.
_PROSE_WORDS = 25
_VERSE_WORDS = 12
_VERSE_MIN = 10
_ASK_WORDS = 40
# The greeting that opens a letter or a message, in the seven languages ("Dear Ms Novak,",
# "Hallo Frau Novak,", "Estimadas familias:", "Beste ouders,"), a few words before a comma.
_SALUTE = lx_words(
    "dear hi hello hey hallo liebe lieber liebes geehrte geehrter hola estimado estimada "
    "estimados estimadas querido querida queridos queridas bonjour bonsoir cher chere chers "
    "cheres madame monsieur ola prezado prezada prezados prezadas caro cara cari care gentile "
    "gentili ciao salve buongiorno buonasera beste geachte hoi sehr caros caras lieve salut "
    "buenos buenas bom boa oi"
)
_TITLE_DOT = re.compile(rf"\b({'|'.join(_TITLES)})\.")
_SALUTE_CHARS = 80
_SALUTATION = re.compile(r"^\s*([^,:;.!?\n]{1,60})[,:;!\n]")
# "this", "here", "it" and their kin: the asks point at text pasted beside them.
_HERE = lx_words("here aqui aca ici hier qui qua")


@dataclass
class Segment:
    """One possible job. ``instruction``: the words that say what to do (short quotations
    kept, long ones as "the text"); ``text``: the whole segment with quotations; ``data``: the
    inline blocks it carries; ``payload``: prose pasted with it; ``joined``: how it follows
    the one before (``start``, ``then``, ``and``, ``but``, ``sentence``, ``item``)."""

    instruction: str
    text: str = ""
    data: list[str] = field(default_factory=list)
    payload: str = ""
    joined: str = "start"
    quoted: bool = False
    intro: bool = False  # "For the newsletter I need:" before a list: it names no job itself
    # German and Dutch: the clause with its final verb first ("schreiben mir darüber ein
    # Gedicht"), for the model, which reads a request's verb from its head; "" when the verb
    # already leads
    head: str = ""
    final: bool = False  # its verb closes it ("und es danach übersetzen")
    # a reference stands before its verb ("With that, write ...", "a partir de eso, escribe
    # ...", "daraus mach ..."): it holds for the steps joined to this one by "and" as well
    lead_ref: bool = False
    # an item of a list whose intro points back ("Then, based on it:", "Danach:", "Maak
    # daarvan:"): every item reads what the intro points at
    listed: bool = False
    # a sentence of its own that asks nothing and names no thing ("Watercolour, big waves."):
    # more about the ask before it (set by the planner)
    describes: bool = False
    # one of the times of a job asked twice ("once for a child and once for a physicist"):
    # a job of its own, never more words for the one before
    again: bool = False


_PAIRS = re.compile(
    r"(?<![\w.])(?:[A-Za-z\u00c0-\u017f]{2,15}:?[ \t]+-?\d+(?:[.,]\d+)?[ \t]*[,;][ \t]*){2,}"
    r"[A-Za-z\u00c0-\u017f]{2,15}:?[ \t]+-?\d+(?:[.,]\d+)?(?![\w.])"
)


def _lift_numbers(text: str, blocks: list[str]) -> str:
    """A run of numbers ("12, 15, 11, 19, 42") becomes a one-column table the analyst reads;
    labelled values ("jan 10, feb 12, mar 30") a two-column one."""

    def pairs(m: re.Match[str]) -> str:
        rows = re.findall(r"([A-Za-z\u00c0-\u017f]+):?\s+(-?\d+(?:[.,]\d+)?)", m.group(0))
        blocks.append("label,value\n" + "\n".join(f"{k},{v.replace(',', '.')}" for k, v in rows))
        return f" \u27e6data{len(blocks) - 1}\u27e7 "

    text = _PAIRS.sub(pairs, text)

    def keep(m: re.Match[str]) -> str:
        numbers = re.findall(r"-?\d+(?:[.,]\d+)?", m.group(0))
        if "," in m.group(0) and any("," in n for n in numbers):  # "7,5" is no list item
            numbers = re.findall(r"-?\d+(?:\.\d+)?", m.group(0))
        blocks.append("value\n" + "\n".join(n.replace(",", ".") for n in numbers))
        return f" \u27e6data{len(blocks) - 1}\u27e7 "

    return _NUMBERS.sub(keep, text)


class Segmenter:
    """``split(query)``; ``openers`` are the normalized first words (prefixes) of jobs."""

    def __init__(self, openers: frozenset[str]) -> None:
        self.openers = openers
        self._and = re.compile(
            # ("... e, com base nisso, faça ...": "and" before a comma goes with it)
            # (Dutch stresses "and" with an accent: "een weetje én een illustratie")
            # (each run of blanks is read once: a match starts where the run starts, and no
            # blank is handed back between two quantifiers, so "x." and a thousand blanks and
            # tabs is not read a thousand times over, cubic in the run's length)
            rf"(?<!\s)(?:\s*+,\s++|\s++)(?:{lx.AND}|\u00e9n)(?:\s*+,)?\s++"
            r"|(?<!\s)(?:\s*+,\s++|\s++/\s++|\s++[-\u2013\u2014]\s++)",
            re.I,
        )
        self._then = re.compile(rf"(?<!\s)\s*+[,;]?\s*+\b(?:{lx.THEN})\b\s*+,?\s*+", re.I)
        self._but = re.compile(rf"(?<!\s)\s*+,?\s*+\b(?:{lx.BUT})\b\s*+,?\s*+", re.I)
        # "for both a tweet and a poem", "zowel een samenvatting als een Engelse versie": each
        # thing (an article first) is a job of its own
        thing = (
            r"(?:(?:for|para|pour|fur|per|voor|als)\s)?"
            r"(?:un'|(?:a|an|one|un|una|uno|une|ein|eine|einen|einem|einer|um|uma|een)\s"
            # or counted: "sowohl ein Gedicht als auch drei Stichpunkte", "tanto un poema
            # como dos preguntas"
            rf"|(?:{'|'.join(sorted(w for w in lx.NUMBERS if w.isalpha() and w != 'both'))})\s)"
        )
        self._both = re.compile(
            rf"\b(?:{lx.BOTH})\s+(?P<x>{thing}.+?)\s*,?\s+(?:{lx.BOTH_AND})\s+(?P<y>{thing}.+)$"
        )
        # "explain it twice: once for a child and once for a physicist", "einmal ins
        # Englische und einmal ins Spanische", "une fois pour X et une autre pour Y": the same
        # job done twice, each time with what follows its "once"
        self._once = re.compile(
            rf"(?:\b(?:{lx.TWICE})\s*:?\s*)?\b(?P<once>{lx.ONCE})\s+(?P<x>\S.*?)\s*,?\s+"
            rf"(?:(?:{lx.AND})\s+)?(?:{lx.ONCE_MORE})\s+(?P<y>\S.+)$"
        )

    # ---- how a piece starts ---------------------------------------------------------------

    def opens_job(self, piece: str, questions: bool = True) -> bool:
        """Whether ``piece`` starts like a new job (or a constraint on one); ``questions``:
        a question word counts (not after a bare comma: "find out, how ..." in German)."""
        # round 17: "and also in English and Arabic", "and also do it in Dutch" (read before
        # a lead is cut: "in het Nederlands, ook in het Engels" is no lead and a job)
        if also_in_languages(piece):
            return True
        lead = re.match(r"([^,]{1,40}),\s*(\S.*)$", piece, re.S)
        if (
            lead
            and _reference_only(lead.group(1))
            and not self.verb_first(lead.group(1))
            # round 15: "a three-line summary, and ...", "a drawing for it, ...": a thing
            # named with its article is no lead pointing back ("a" is a pronoun in Portuguese)
            and not _named_first(tokens(lead.group(1)))
        ):
            piece = lead.group(2)  # "Based on that, write ..." (not "übersetze ihn ins ...")
        words = [w for w in tokens(piece) if w not in lx.POLITE]
        while len(words) > 1 and words[0] in _ALSO:
            words = words[1:]  # "y también un dibujo", "und auch ein Bild": what follows
        if len(words) > 1 and words[0] in _APART and self.opens_job(" ".join(words[1:]), questions):
            return True  # "y aparte escríbeme ...": "separately", then a job
        if (then := _then_led(words)) and self.opens_job(" ".join(then), questions):
            return True  # round 15: "Y luego escríbeme ...", "E poi scrivimi ...", "Danach
            # bitte eine kurze Nachricht ...": "and then" leads a job in any of the seven
            # languages, as "and then" (courtesy words to ``tokens``) does in English
        if not words or _languages_only(words):  # "..., portoghese e olandese": no job
            return False
        first = words[0]
        if questions and first.split("'")[0] in lx.QUESTION:  # "what's", "who's"
            return True
        if lx.KNOW.match(normalize(piece)):
            return True  # "ich will nur wissen, wie ...": a question put as a wish to know
        if first in lx.NEGATION or first in lx.ONLY or (questions and first in lx.QUESTION):
            return True
        led = words[1:] if words[:2] == ["a", "partir"] else words  # "à partir du résultat"
        if (
            len(led) > 3
            and led[0] in _SOURCE
            and (led[1] in lx.DETERMINER or led[1] in _OF_THE)
            and led[2] in lx.RESULT_NOUNS
            and self.is_opener(led[3])
        ):
            return True  # "and from the result write ...", "y con el resultado escribe ..."
        if first in lx.DETERMINER and _translated_into(words):
            return True  # "et le conte traduit en arabe", "and the poem translated into Dutch"
        if words[:3] == ["a", "partir", "de"] and len(words) > 4:  # "et à partir de ça fais"
            words, first = ["partir", *words[3:]], "partir"
        if first in _FOR_THING and len(words) > 2 and words[1] in lx.ARTICLES:
            words, first = words[1:], words[1]  # "... én voor een korte samenvatting"
        if first in lx.ARTICLES and len(words) > 1:  # "a picture", "um pequeno texto"
            # the thing may come after two words that describe it: "a short Slack
            # announcement", "une petite fiche illustrée", "een korte samenvatting"
            return (
                made_thing(words)
                or bool(version_job(words))  # "a German version", "une version courte"
                or _named_into_language(words)  # round 15: "e a fábula em inglês"
            )
        if first in lx.NUMBERS and first != "both" and len(words) > 1 and made_thing(words, 3):
            return True  # "... and three bullet points", "als auch drei Stichpunkte": counted
        if (
            len(words) > 2
            and first in _PREPS
            and (words[1] in _REFERS or words[1] in lx.DEMONSTRATIVE)
            and self.is_opener(words[2])
        ) or self._past_reference(piece):
            return True  # "y con eso escribe ...", "con quelle informazioni scrivi ..."
        if (
            len(words) > 3
            and first in _SOURCE
            and (words[1] in _REFERS or words[1] in _LEADS or words[1] in lx.DEMONSTRATIVE)
            and len(tokens(piece.split(":")[0])) > 3  # not "with these examples: ..."
            and words[2] not in lx.FUNCTION
            and words[2] not in _REFERS
        ):
            return True  # "y con eso prepárame ...": a source named, then the step's verb
        if len(words) > 2 and words[1] in _LEADS and first not in lx.FUNCTION and len(first) >= 3:
            return True  # "und bastel daraus ...", "en maak daarvan ...": a verb on a result
        if (
            len(words) > 1
            and words[1] in _REFERS
            and len(first) >= 3
            and first not in _PREPS
            and first not in lx.FUNCTION
            and first not in lx.QUESTION  # "wer das Telefon erfunden hat": a question's words
        ):
            return True  # "shrink it to a tweet", "make them shorter": a verb on a result
        if self.final_verb(piece) is not None:
            return True  # "und mir darüber ein Gedicht schreiben", "en het daarna vertalen"
        if _verb_then(words) or _verb_then(tokens(piece)):  # (German "mal" is courtesy too)
            return True  # "und entwirf dann ein Logo", "en ontwerp daarna", "et dessine ensuite"
        if (
            len(words) > 2
            and words[0] in _PROCLITIC
            and self.is_opener(words[1])
            and words[2] in lx.ARTICLES  # the thing to make next ("me ajuda com isso": help)
        ):
            return True  # "e me escreve um resumo", "e poi mi prepari un avviso"
        if (
            len(words) > 2
            and words[0] in _PROCLITIC
            and words[1] not in lx.FUNCTION
            and words[2].split("'")[0] in lx.QUESTION
        ):
            # "e me conta quem inventou ...", "y me dices quién ...", "e mi dici chi ...": a
            # pronoun before a verb of telling (any verb: the question after it is the ask)
            return True
        if first in lx.DETERMINER and any(w in _SAME for w in words[1:3]):
            return True  # "plus that same slogan in German"
        if first in _SAME and len(words) > 1:
            return True  # "und denselben Text ...", "en hetzelfde ...": "same" with its article
        if _named_into_language(words):
            return True  # "y esa información en inglés", "and this text into German too"
        if self.is_opener(first) or bool(lx.CLITIC.match(first)) or first.startswith(_USE):
            return True
        if self._made_after_make(words):  # "(per poi) fare un riassunto di tre righe"
            return True
        # "e fai anche un riassunto", "und mach auch ein Bild": a verb, "also", a thing to make
        return (
            len(words) > 3
            and words[1] in _ALSO
            and first not in lx.FUNCTION
            and self.opens_job(" ".join(words[2:]), questions)
        )

    def _made_after_make(self, words: list[str]) -> bool:
        """A make verb in the infinitive, then a thing to make: "fare un riassunto", "hacer
        un resumen", "eine Zusammenfassung machen" is read by ``final_verb``."""
        return (
            len(words) > 2
            and words[0] in _MAKE_INF
            and words[1] in lx.ARTICLES
            and made_thing(words[1:])
        )

    def opens_step(self, piece: str) -> bool:
        """After "then": a verb with a pronoun attached ("fammene", "tradúcelo") or a noun
        phrase ("then a much shorter version of it") is a step of its own as well."""
        words = [w for w in tokens(piece) if w not in lx.POLITE]
        if not words or _languages_only(words):  # "daarna naar het Engels": no step
            return False
        first = words[0].split("'")[0] + ("'" if "'" in words[0] else "")
        return bool(
            lx.CLITIC.match(words[0])
            # round 17: "e poi lo traduci", "y luego la resumes", "et puis le traduis": an
            # object pronoun before the step's verb
            or (len(words) > 1 and words[0] in _V2 and self._verb_stem(words[1]))
            or words[0] in lx.ARTICLES
            or first in lx.ARTICLES
            or words[0] in lx.DEMONSTRATIVE
            # "then use that year in ...", "dann nimm das Ergebnis": a verb and a reference
            or (len(words) > 2 and any(w in lx.DEMONSTRATIVE or w in _REFERS for w in words[1:3]))
        )

    def verb_first(self, piece: str) -> bool:
        words = [w for w in tokens(piece) if w not in lx.POLITE]
        return bool(words) and words[0] not in _PREPS and self.is_opener(words[0])

    def final_verb(self, piece: str, skip: int = 0) -> tuple[str, list[str]] | None:
        """German and Dutch: ``(verb, the words before it)`` when a verb that opens jobs
        closes the clause and an object, a pronoun or "then" opens it ("es danach ins
        Englische übersetzen", "daar een gedicht over schrijven"); ``skip``: the words of a
        modal or a "dass" that frame it (any word may open it then). A capitalised last word
        is a German noun, no verb."""
        raw = re.findall(r"[\w\u00c0-\u017f'-]+", piece)
        words = [w for w in tokens(piece) if w not in lx.POLITE and w != "?"][skip:]
        if len(words) < 2 or len(words) > 16 or not raw or raw[-1][:1].isupper():
            return None
        first, last = words[0], words[-1]
        if (
            not skip
            and (first not in lx.MIDDLE or first in lx.QUESTION)
            # round 15: "in einem Satz zusammenfassen", "in het Engels vertalen": a phrase of
            # how, then the infinitive that closes the clause
            and not (first in _HOW_PREP and len(words) > 2 and words[1] in _HOW_ARTICLE)
        ):
            return None
        if self.is_opener(first) or len(last) < 5 or not last.endswith(lx.VERB_ENDINGS):
            return None
        if last in lx.JOB_NOUNS or last in lx.RESULT_NOUNS or not self._verb_stem(last):
            return None
        return last, words[:-1]

    def final_pair(self, before: str, after: str) -> bool:
        """German and Dutch: two clauses joined by "and" (or "and then"), each closed by its
        infinitive ("die Zahlen analysieren und das Ergebnis in einer Mail formulieren",
        "einmal durchrechnen und dann in einem Satz zusammenfassen", "analyseren en er daarna
        een berichtje van maken voor ..."): two steps. A verb that opens jobs closes one of
        them at least; a Dutch infinitive may have a phrase after it ("maken voor ...")."""
        left = re.findall(r"[\w\u00c0-\u017f'-]+", re.sub(r"\s*\([^()]*\)\s*$", "", before))
        clause = re.split(r"[,;:.!?]", after, maxsplit=1)[0]
        right = re.findall(r"[\w\u00c0-\u017f'-]+", clause)
        if len(left) < 2 or len(right) < 2 or not _infinitive(left[-1]):
            return False
        at = len(right) - 1
        if not _infinitive(right[at]):
            at = next(
                (
                    k
                    for k in range(1, len(right) - 1)
                    if _infinitive(right[k])
                    and normalize(right[k + 1]) in _AFTER_VERB
                    and self._verb_stem(normalize(right[k]))
                ),
                -1,
            )
        if at < 1 or normalize(right[at - 1]) in lx.ARTICLES:
            return False  # "een samenvatting": a noun after its article
        if normalize(left[-2]) in lx.ARTICLES:
            return False
        return self._verb_stem(normalize(left[-1])) or self._verb_stem(normalize(right[at]))

    def _verb_stem(self, word: str) -> bool:
        """A verb that opens jobs, its separable particle and "zu" taken off when it has one
        ("zusammenfassen", "samenvatten", "uitleggen", "zusammenzufassen")."""
        if self.is_opener(word):
            return True
        particle = _PARTICLE.match(word)
        if particle is None or len(word) - particle.end() < 4:
            return False
        return self.is_opener(word[particle.end() :])

    def clause_head(self, piece: str) -> tuple[str, bool]:
        """What the model reads of a German or Dutch clause whose verb is not first: the
        modal or the wish and its "you" dropped ("Kannst du ...", "Ik wil dat je ..."), and
        a final verb put first. ``("", False)`` when the verb leads already; the flag says
        the verb closed the clause."""
        words = [w for w in tokens(piece) if w not in lx.POLITE and w != "?"]
        skip = 0
        if len(words) > 2 and words[0] in lx.MODAL and words[1] in lx.MODAL_YOU:
            skip = 2
        elif len(words) > 4 and words[0] in ("ich", "ik") and words[1] in lx.WISH:
            at = next((k for k, w in enumerate(words[:6]) if w in lx.THAT), -1)
            if at > 0 and at + 2 < len(words) and words[at + 1] in lx.MODAL_YOU:
                skip = at + 2
        found = self.final_verb(piece, skip)
        if found is not None:
            verb, before = found
            return " ".join([verb, *before]), True
        return (" ".join(words[skip:]), False) if skip else ("", False)

    def _past_reference(self, piece: str) -> str:
        """The clause from its verb on when a reference with no comma leads it ("con quelle
        informazioni scrivi ...", "with that info write ...", "met die gegevens schrijf ..."):
        what the model reads; "" when none leads."""
        clause = re.split(r"[,:;.!?]", piece, maxsplit=1)[0]  # "using these examples: ..."
        words = [w for w in tokens(clause) if w not in lx.POLITE]
        if len(words) < 4 or words[0] not in _PREPS:
            return ""
        if not (words[1] in _REFERS or words[1] in lx.DEMONSTRATIVE or words[1] in _LEADS):
            return ""
        for k in (2, 3):
            if self.is_opener(words[k]) and len(words) > k + 1:
                return " ".join(words[k:])
        return ""

    def _reference_leads(self, text: str) -> bool:
        """A word naming an earlier result before the clause's verb ("With that, write",
        "com base nisso escreve", "Daraus mach")."""
        for w in [w for w in tokens(text) if w not in lx.POLITE and w not in lx.BACK][:6]:
            if w in lx.DEMONSTRATIVE or (w in _REFERS and len(w) >= 2) or w in _LEADS:
                return True
            if w not in _PREPS and self.is_opener(w):
                return False
        return False

    def is_opener(self, word: str) -> bool:
        word = word.split("-")[0]
        if word in _FORMAL:
            return True
        return len(word) >= 3 and any(word.startswith(o) for o in self._prefixes(word))

    def _prefixes(self, word: str) -> list[str]:
        return [p for p in (word[:5], word[:4], word[:3]) if p in self.openers]

    # ---- splitting ------------------------------------------------------------------------

    def split(self, query: str) -> list[Segment]:
        text, blocks = extract_data(query)
        text = _lift_numbers(text, blocks)
        text = number_ordinals(text)
        quotes: list[str] = []

        def keep_quote(m: re.Match[str]) -> str:
            quotes.append(m.group(0))
            return _QUOTE.format(len(quotes) - 1)

        text = _QUOTED.sub(keep_quote, text)
        text = self._ask_after_quote(text, quotes)
        pieces: list[tuple[str, str]] = []  # (joined, piece)
        shared: list[str] | None = None  # the head's own steps, when parts share a head
        for joined, unit in units(text, self, _SENTENCE.split):
            steps = self._sentences(unit)
            if joined == "part" and len(steps) > 1:
                # round 16: "look up X -> (i) a summary (ii) a picture", "Such X und mach
                # daraus a) ... und b) ...": a head that holds a step of its own before the
                # shared words is that step once, not once per part
                lead = [piece for _, piece in steps[:-1]]
                if lead == shared:
                    steps = [("part", steps[-1][1])]
                shared = lead
            elif joined != "part":
                shared = None
            first = True
            for sep, piece in steps:
                pieces.append((joined if first else sep, piece))
                first = False
        merged = self._payloads(pieces, quotes)
        out: list[Segment] = []
        shared_and: list[str] | None = None
        for joined, piece in merged:
            listed = counted_list(piece, self)
            if listed is not None:
                # "Daraus dann bitte zweierlei: eine englische Fassung ... und ein Bild ...",
                # "I need two things out of it: a summary ... and a tweet ...": the head
                # introduces, each thing is a job of its own
                head, items = listed
                # "busca X y de ahí sácame dos cosas:": the lookup is a job of its own
                for k, (how, part) in enumerate(self._lead_split(head)):
                    out.append(self._segment(part, joined if k == 0 else how, blocks, quotes))
                out += [self._segment(item, "item", blocks, quotes) for item in items]
                continue
            said = COLON.search(piece)
            if (
                said is not None
                and not _PLACEHOLDER_RE.match(piece, said.end())
                and announces(piece[: said.start()], self)
                and tokens(piece[said.end() :])
            ):
                # "Two unrelated jobs: train ..., and write ...", "Deux questions : quelle
                # est ... ?": the head names the asks, each after its colon is one of them
                out.append(self._segment(piece[: said.start()], joined, blocks, quotes))
                piece, joined = piece[said.end() :], "item"
            cut = self._payload_start(piece, whole=True)
            once = self._once.search(normalize(piece)) if cut >= 0 else None
            if once is not None and once.start("once") <= cut:
                cut = -1  # "explain it twice: once for ... and once for ...": no pasted text
            head, rest = (piece[:cut], piece[cut:]) if cut >= 0 else (piece, "")
            parts = self._split_and(head)
            parts[-1] = (parts[-1][0], (parts[-1][1] + " " + rest).strip())
            if joined == "part" and len(parts) > 1:  # (the head's step said once, as above)
                lead = [part for _, part in parts[:-1]]
                if lead == shared_and:
                    parts = [("part", parts[-1][1])]
                    joined = "part"
                shared_and = lead
            elif joined != "part":
                shared_and = None
            for k, (how, part) in enumerate(parts):
                seg = self._segment(part, joined if k == 0 else how, blocks, quotes)
                if how == "once":  # one of the times of a job asked twice
                    seg.joined, seg.again = ("and" if k else joined), True
                out.append(seg)
        out = _attach_bare_data([s for s in out if s.instruction or s.data or s.payload])
        for a, b in itertools.pairwise(out):
            a.intro = (
                b.joined == "item"
                and a.joined != "item"
                and not (a.joined == "then" and self.verb_first(a.instruction))  # "(1) write"
                and not a.data
                and not a.payload
            )
        pointing = False
        for seg in out:
            if seg.joined != "item":
                pointing = seg.intro and _intro_points(seg.instruction)
            else:
                seg.listed = pointing
        return out

    def _ask_after_quote(self, text: str, quotes: list[str]) -> str:
        """A long quotation followed, on its line, by a capital word that opens a job ends
        its sentence ("Voici un passage : « ... » Résume-le puis ...", "Tenho este parágrafo:
        \"...\" Faz uma imagem ...") though no full stop closes it: the words after the
        quotation are the writer's own ask, not more of the pasted text."""
        out: list[str] = []
        last = 0
        for m in _QUOTE_THEN_CAPITAL.finditer(text):
            quote = quotes[int(m.group(1))]
            if len(quote.split()) <= SHORT_QUOTE_WORDS or quote[:-1].rstrip().endswith("?"):
                # (a question quoted, then "help me answer that ...": the model reads the
                # reply asked for with the question it answers)
                continue
            after = text[m.end() : m.end() + 80]
            # round 17: "Could I get it in Spanish, Italian and Dutch?": the quotation put
            # into languages, asked with no verb first
            if not self.verb_first(after) and not _puts_into_language(tokens(after)):
                continue
            out += [text[last : m.start(2)], _BREAK]
            last = m.end(2)
        return "".join(out) + text[last:] if out else text

    def _sentences(self, unit: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for a, chain in enumerate(_arrow_steps(unit)):
            for k, sentence in enumerate(self._lower_sentences(_SENTENCE.split(chain))):
                sep = "then" if a and not k else "sentence"
                # (round 16: a blank run is read once, from its first blank; each of its
                # blanks read the rest of the run before: quadratic)
                for part in _SEMICOLON.split(sentence):  # not "tl;dr"
                    out += self._connectors(part, sep if a or k or out else "sentence")
                    sep = "and"
        return [(s, p) for s, p in out if p.strip(" ,.")]

    def _lower_sentences(self, sentences: list[str]) -> list[str]:
        """Each sentence split where a full stop is followed by a lower-case word that starts
        asking anew (a job's verb, a question word among its first two words, or a thing to
        make): "zoek op wat X is. daar wil ik een samenvatting van" is two sentences, "quero
        só a imagem. um gato laranja ..." one (what follows describes the image)."""
        out: list[str] = []
        for sentence in sentences:
            pieces = _LOWER_SENTENCE.split(sentence)
            out.append(pieces[0])
            for piece in pieces[1:]:
                if self._asks_anew(piece):
                    out.append(piece)
                else:
                    out[-1] = f"{out[-1]} {piece}"
        return out

    def _asks_anew(self, piece: str) -> bool:
        words = [w for w in tokens(piece) if w not in lx.POLITE]
        if not words:
            return False
        return (
            any(w.split("'")[0] in lx.QUESTION for w in words[:2])
            or any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
            or self.opens_job(piece, questions=False)
        )

    def _connectors(self, part: str, joined: str) -> list[tuple[str, str]]:
        """Split on "then" and "but" (each kept only where a piece follows)."""
        out: list[tuple[str, str]] = []
        spans: list[tuple[int, int, str]] = []
        low = normalize(part)
        if len(low) != len(part):  # accents that do not fold one-to-one: no splitting
            return [(joined, part)]
        for regex, how in ((self._then, "then"), (self._but, "but")):
            for m in regex.finditer(low):
                if m.start() > 0 and m.end() < len(low):
                    spans.append((m.start(), m.end(), how))
        spans.sort()
        last, how = 0, joined
        for start, end, kind in spans:
            if start < last:
                continue
            # the words before it, read in a window (a clause of a thousand "mais" or "then"
            # that split nothing is not re-read whole at each of them); its first word apart
            near = part[max(last, start - _NEAR_CHARS) : start]
            before = tokens(_last_words(near))
            # and the words after it, read in a window as well (round 15: "then x then x ..."
            # read the whole rest of the text at each "then", quadratic in its length)
            after = _first_words(part[end : end + _NEAR_CHARS])
            opening = tokens(part[last : last + 80])[:1]
            linked = tokens(low[start:end])[0] in lx.AND.split("|")  # "y después", "and then"
            if (
                before
                and (before[-1] in _V2 or before[-1] in lx.MIDDLE_REFERS)
                and "," not in part[start:end]
                and not (linked and kind == "then")  # "resume isso e depois faz ...": a step
            ):
                continue  # "maak er daarna een ...", "erklär es dann ...": "then" inside a step
            # (an accented word is no "and": Portuguese "é" is "is", not "e")
            # (an aside in brackets is not read: "durchrechnen (Mittelwerte, Streuung) und dann")
            tail = re.split(rf"[,;]|\b(?:{lx.AND})\b", _fold_free(_ASIDE.sub("", near)))[-1]
            lone = tokens(tail)
            if len(before) == 2 and before[1] in _TO_ME and not last:
                continue  # "Mal mir dann ein Porträt ...": a verb and "me" start the step (V2)
            if len(lone) == 2 and lone[1] in _TO_ME and not linked and self.is_opener(lone[0]):
                continue  # "..., en schrijf me daarna een gedichtje": verb, "me", then (V2)
            if _particle_closes(lone, after):
                continue  # "und denk dir dann ein Rätsel dazu aus": the verb's particle closes it
            if (
                len(lone) == 1
                and lone[0] not in _PURPOSE  # "..., to then make a summary": no verb
                # ("Résume-la puis rédige ...", "resume-o e depois ...": the object glued on
                # with a hyphen, French and Portuguese, which put no verb second after "then")
                and not ((linked or "-" in lone[0]) and lx.CLITIC.match(lone[0]))
                and lone[0] not in lx.LANGUAGES  # "... et en espagnol, puis écris ...": no verb
            ):
                # "und schreib danach ein Gedicht": a lone verb before it (V2); but
                # "Analízalas y después resume ...": a verb with its object, then a step
                continue
            if kind == "then" and _after_noun(low[start:end], tokens(after)[:3]):
                continue  # "un poema sobre la tierra mojada después de la lluvia": a time
            if kind == "but" and len(tokens(part[end : end + 80])) < 2:
                continue  # "c'est pour ma belle-mère": French "ma" (my) before one noun
            if (
                kind == "but"
                and opening
                and opening[0].split("'")[0] in lx.QUESTION
                and "?" not in part[last:start]
                and part.find("?", end) >= 0
                and not (
                    "," in part[start:end]  # ", mais écris-la ...": a "but" after a comma
                    and (
                        self.verb_first(part[end : end + 80])
                        or "-" in (tokens(part[end : end + 80]) or [""])[0]
                    )
                )
            ):
                continue  # "Qual é a estrela mais próxima da Terra?", "o rio mais comprido":
                # a question runs on past the word ("mais" is "more" here, not the French
                # "but") to its mark
            stands = len(before) >= 3
            if not (
                self.opens_job(after)
                or (kind == "then" and stands and self.opens_step(after))
                # round 15: "einmal durchrechnen und dann in einem Satz zusammenfassen"
                or (kind == "then" and linked and self.final_pair(near, after))
            ):
                continue  # "übersetze sie danach ins Italienische", "maak er daarna een ...": no new step
            kept = part[last:start]
            if before and before[-1] in _PURPOSE and kind == "then":
                # "Cerca X per poi fare un riassunto", "um danach ... zu machen": the purpose
                # word goes with the step it introduces
                kept = re.sub(r"[\s,]*\S+\s*$", "", kept)
            out.append((how, kept))
            last, how = end, kind
        out.append((how, part[last:]))
        return [(h, p.strip()) for h, p in out if p.strip(" ,.")]

    def _payloads(self, pieces: list[tuple[str, str]], quotes: list[str]) -> list[tuple[str, str]]:
        """Sentences after "...: " that do not hand the word back stay with that piece."""
        merged: list[tuple[str, str]] = []
        open_payload = False
        quoted_only = False  # what the open payload took so far was quotations only
        pointer: int | None = None  # the piece that announced "the text below"
        pasting = False
        prose = self._last_prose(pieces)
        lead = self._first_prose(pieces)
        if lead:
            # "<a letter>\n\nwhat do I need to remember from this?": the letter is the
            # material of the first piece after it that asks
            material = " ".join(p for _, p in pieces[:lead])
            rest = pieces[lead:]
            ask = next(k for k, (_, p) in enumerate(rest) if "?" in p or self.opens_job(p))
            rest[ask] = (rest[ask][0], f"{rest[ask][1].rstrip(' :')} {_MATERIAL} {material}")
            pieces = [(pieces[0][0], rest[0][1]), *rest[1:]]
            prose = len(pieces)
        for at, (joined, piece) in enumerate(pieces):
            if at >= prose and merged:
                # "tl;dr pls\n\n<a paragraph>": prose that asks nothing is the material of
                # the last piece that asks (not of a remark after it: "..., no me da la vida")
                if at == prose:
                    asks = [k for k, (_, b) in enumerate(merged) if "?" in b or self.opens_job(b)]
                    # the text is worked on by a job, not by "Don't translate it" after it
                    jobs = [k for k in asks if not _negated(merged[k][1])]
                    target = (jobs or asks or [len(merged) - 1])[-1]
                head, body = merged[target]
                glue = " " if at > prose else f" {_MATERIAL} "
                merged[target] = (head, body.rstrip(" :") + glue + piece)
                continue
            words = tokens(piece)
            back = joined in ("then", "item") or (words and words[0] in lx.BACK)
            # "meeting notes below. turn them into ...: - ... - ...": the items are the
            # notes announced, not jobs (most of them open none)
            notes = pointer is not None and joined == "item" and self._notes_from(pieces, at)
            long_quote = _only_long_quote(piece, quotes)
            if (
                pointer is not None
                and (joined == "para" or pasting or notes)
                and (notes or not back)
            ):
                head, body = merged[pointer]
                glue = ": " if self._payload_start(body) < 0 and not pasting else " "
                merged[pointer] = (head, body.rstrip(" :") + glue + piece)
                pasting = True
                continue
            pasting = False
            if (
                open_payload
                and quoted_only
                and not long_quote
                and merged[-1][1].rstrip().endswith(_QUOTE_END)
                and ("?" in piece or self.opens_job(piece))
            ):  # "Here's the mail: <quoted>. Resúmelo ...": the quotation ended the material;
                # the writer's own words after it ask
                open_payload = False
            if merged and (long_quote or (open_payload and not back)):
                quoted_only = quoted_only and long_quote
                head, body = merged[-1]
                merged[-1] = (
                    head,
                    body.rstrip(" :") + ": " + piece if long_quote else f"{body} {piece}",
                )
                if _data_only(piece) and body.rstrip().endswith(":"):
                    # "here are the returns per product:\n<table>\nwhich one stands out?":
                    # the colon announced the table; what follows it asks anew
                    open_payload = False
                continue
            merged.append((joined, piece))
            open_payload = self._payload_start(piece) >= 0 or piece.rstrip().endswith(":")
            quoted_only = piece.rstrip().endswith(":")
            if lx.FORWARD.search(normalize(piece)) and not open_payload:
                pointer = len(merged) - 1
        return merged

    def _notes_from(self, pieces: list[tuple[str, str]], at: int) -> bool:
        """The run of list items ``pieces[at]`` belongs to opens jobs in fewer than half of
        its items."""
        start = at
        while start > 0 and pieces[start - 1][0] == "item":
            start -= 1
        end = at
        while end < len(pieces) and pieces[end][0] == "item":
            end += 1
        run = [p for _, p in pieces[start:end]]
        return 2 * sum(self.opens_job(p) for p in run) < len(run)

    def _last_prose(self, pieces: list[tuple[str, str]]) -> int:
        """Where the request's last paragraph starts when it is text pasted after the asks:
        a paragraph of its own (after a blank line) that is ``_material`` (prose or verse that
        asks nothing), after a paragraph that asks (a question, a job's verb or "tl;dr");
        ``len(pieces)`` when there is none."""
        start = max((k for k, (j, _) in enumerate(pieces) if j == "para"), default=-1)
        if start <= 0 or any(j in ("para", "item") for j, _ in pieces[start + 1 :]):
            return len(pieces)
        if any(lx.FORWARD.search(normalize(p)) for _, p in pieces[:start]):
            return len(pieces)  # "the text below": that piece takes it (``_payloads``)
        if not self._material(pieces[start:], _points_at_material(pieces[:start])):
            return len(pieces)
        return start

    def _first_prose(self, pieces: list[tuple[str, str]]) -> int:
        """Where the asks start when the request opens with text pasted before them: a first
        paragraph that is ``_material`` (a letter, a notice, minutes), then a short paragraph
        that asks and points at it ("what do I need to remember from this?", "wat moet ik
        hier uit onthouden?"); 0 when there is none."""
        end = next((k for k, (j, _) in enumerate(pieces) if j == "para"), 0)
        if end <= 0 or any(j in ("para", "item") for j, _ in pieces[end + 1 :]):
            return 0
        asks = pieces[end:]
        if sum(len(tokens(p)) for _, p in asks) > _ASK_WORDS or not _points_at_material(asks):
            return 0
        if not any("?" in p or self.opens_job(p) for _, p in asks):
            return 0
        if any(_PLACEHOLDER_RE.search(p) for _, p in pieces[:end]):
            return 0  # a table first is data (``rules._hand_data``), not a text
        return end if self._material(pieces[:end], True) else 0

    def _material(self, body: list[tuple[str, str]], pointed: bool) -> bool:
        """Whether a paragraph is text pasted to be worked on, not asks: no question, no
        table, no quotation; either prose of ``_PROSE_WORDS`` words or more in two sentences
        or more, most of which open no job (half of them when the asks point at pasted text:
        "Summarize this"), or verse (three short lines or more, at most one in four of which opens a job).
        A letter (its greeting first: "Dear Ms Novak,", "Beste ouders,") is pasted text
        whatever its sentences say."""
        texts = [p for _, p in body]
        if len(texts) < 2 or any("?" in p or _QUOTE_RE.search(p) for p in texts):
            return False
        sizes = [len(tokens(p)) for p in texts]
        if salutation(texts[0]) and sum(sizes) >= _PROSE_WORDS:
            return True  # a letter: its imperatives ("Fill a few bottles") are its readers'
        opening = sum(self.opens_job(p) and not salutation(p) for p in texts)
        if all(j == "line" for j, _ in body[1:]) and len(texts) >= 3:
            # (a line of verse may start with "who" or "what": no question without its mark;
            # one line in four may look like a job's verb: "quelqu'un l'a croqué")
            verbs = sum(self.opens_job(p, questions=False) for p in texts)
            return (
                max(sizes) <= _VERSE_WORDS and sum(sizes) >= _VERSE_MIN and 4 * verbs <= len(texts)
            )
        if any(j == "line" for j, _ in body[1:]) or sum(sizes) < _PROSE_WORDS:
            return False
        # a word of prose may look like a job's verb ("Magma rises ..."): most do not
        return 2 * opening < len(texts) or (pointed and 2 * opening == len(texts))

    def _split_and(self, head: str) -> list[tuple[str, str]]:
        low = normalize(head)
        once = self._once.search(low) if len(low) == len(head) else None
        if once is not None and not _PLACEHOLDER_RE.search(head):
            # "Den Slogan einmal übersetzen und einmal als Bild umsetzen": what leads the
            # first time ("Den Slogan") leads the second as well
            x = head[once.start("x") : once.end("x")]
            times = self._split_and(f"{head[: once.start()].rstrip(' :,')} {x}".strip())
            local = times[-1][1]
            lead = local[: -len(x)].strip() if local.endswith(x) else ""
            again = self._split_and(f"{lead} {head[once.start('y') :]}".strip())
            return [*times[:-1], ("once", local), ("once", again[0][1]), *again[1:]]
        # Dutch "én ... én" (both ... and), told by its accents from "en" (and)
        both = (self._both.search(low) if len(low) == len(head) else None) or _BOTH_NL.search(head)
        if both is not None:  # "use that for both a tweet and a poem": a tweet; a poem
            first = head[: both.start()] + head[both.start("x") : both.end("x")]
            second = self._split_and(head[both.start("y") :])
            return [*self._split_and(first), ("and", second[0][1]), *second[1:]]
        out: list[tuple[str, str]] = []
        start, how = 0, "and"
        for m in self._and.finditer(head):
            bare = not m.group(0).strip(" ,")
            # what is read on either side of each "and" is a window of words, so a sentence
            # of a thousand "and"s is not re-read whole at each of them (``_WINDOW``)
            before, after = _last_words(head[start : m.start()]), _first_words(head[m.end() :])
            if _asked_again(before, after):
                continue  # "who built X, who Y and who Z": the last question of a run
            if _question_words_joined(before, after):
                continue  # "find out when and who invented X": one question
            if len(tokens(before)) == 1 and normalize(m.group(0)).strip(" ,") in _ALSO:
                continue  # "... e fai anche un riassunto": split before the verb, not after
            if normalize(m.group(0)).strip(" ,") == "en" and _romance_en(after):
                continue  # "Décris-la en quelques phrases", "explícalo en dos frases": "in"
            if _one_more(after) and any(w in lx.ARTICLES for w in tokens(before)):
                # "fais un tuto en anglais et un autre en espagnol", "einen Witz über X und
                # einen anderen über Y": one more of the thing just named, made as it was
                # (``fanout`` copies the verb); not a version of nothing
                continue
            if bare and _STYLE_LEAD.match(normalize(after)):
                continue  # "una imagen de un zorro, estilo ilustración antigua": how it looks
            if (
                m.start() - start < _APART_CHARS
                and _APART_LEAD.fullmatch(normalize(head[start : m.start()]).strip() + " ")
                and not self.verb_first(after)
            ):
                continue  # "et, à part, celle de Marseille": the comma after "apart"
            if _follow_up(_first_words(head[start : m.start()]), after):
                continue  # "When was X released, and who made it?": one thing asked about
            if (
                m.start() > start
                and (
                    self.opens_job(after, questions=not bare)
                    # round 15: "die Zahlen analysieren und das Ergebnis ... formulieren"
                    # (round 16: read in a window of words on either side, as at "then":
                    # the whole of both sides at each "and" was quadratic in the "and"s)
                    or (
                        not bare
                        and self.final_pair(
                            _last_words(head[start : m.start()]), _first_words(head[m.end() :])
                        )
                    )
                    # "busca X y de ahí sácame dos cosas", "..., et avec ça :", "e da lì fammi
                    # ...": a phrase pointing back at the job before it leads what follows
                    or (not bare and m.group(0).strip(" ,") and leads_back(after))
                    or (
                        _APART_LEAD.match(normalize(after))
                        and _job_verb(_first_words(head[start:]), self)
                    )
                )
            ):
                out.append((how, head[start : m.start()]))
                how = "dash" if m.group(0).strip(" ,") in ("-", "\u2013", "\u2014") else "and"
                start = m.end()
        out.append((how, head[start:]))
        parts = [(h, p.strip()) for h, p in out if p.strip()]
        for k in range(1, len(parts)):
            parts[k] = (parts[k][0], self._apart(parts[k - 1][1], parts[k][1]))
        k = 0
        led = False  # parts[k] took a reference that led it
        while k < len(parts) - 1:
            # (round 17: "scrivi un messaggio per Luca e Giulia": a job's verb first is a job
            # of its own, not a list that leads the next part)
            if (leads_list(parts[k][1]) and not self.verb_first(parts[k][1])) or (
                _reference_only(parts[k][1])
                # "Analyseer dit even": a step on "dit" (not "keep it light": a remark)
                and not (self.verb_first(parts[k][1]) and not _manner(parts[k][1]))
                # round 17: "Formulier das freundlicher um", "Fass das kurz zusammen", "Vat
                # dit samen": a step on "das", its separable particle closing it, not a
                # phrase pointing back ("with that in hand" is led by its preposition)
                and not _particle_step(parts[k][1])
                # round 14: "daarvan een gedichtje en ...", "da lì un indovinello e ...": a
                # thing named after the lead is a job of its own, not a lead of the next
                and not _thing_after_lead(parts[k][1])
                # "With that, summarize it and draw it": once led, a step's own verb keeps it
                and ((k == 0 and not led) or self._leads_only(parts[k][1]))
            ):
                # "With that in hand, write ...", "Poi, usando quello che trovi, scrivi ...":
                # the reference leads the step after it, wherever it stands
                parts[k + 1] = (parts[k][0], f"{parts[k][1]}, {parts[k + 1][1]}")
                del parts[k]
                led = True
                continue
            k += 1
            led = False
        for k in range(len(parts) - 1):  # "..., and with that, write ...": the reference leads
            tail = _REF_TAIL.search(parts[k][1])
            if (
                tail
                and _points(tail.group(1))
                and not self.verb_first(tail.group(1))
                and not _languages_only(tokens(tail.group(1)))  # "in het Nederlands": no "it"
            ):
                parts[k] = (parts[k][0], parts[k][1][: tail.start()].strip())
                parts[k + 1] = (parts[k + 1][0], f"{tail.group(1)}, {parts[k + 1][1]}")
        parts = [(h, p) for h, p in parts if p]
        for k in reversed(range(len(parts))):
            neg = _NEGATED_HEAD.match(parts[k][1])
            if (
                neg
                and _negated_lead(neg.group(1))
                and (
                    self.opens_job(neg.group(2))
                    # "Sin búsqueda y sin imagen: solo tres nombres para ...": only ruled-out
                    # jobs before the colon, so what follows it is the ask, not pasted text
                    or (all(_negated_lead(p) for _, p in parts[:k]) and _short_ask(neg.group(2)))
                )
            ):  # "Ohne Recherche: schreib mir ...": the negated phrase is a constraint
                parts[k : k + 1] = [(parts[k][0], neg.group(1)), ("and", neg.group(2))]
        return parts or [("and", head)]

    def _lead_split(self, head: str) -> list[tuple[str, str]]:
        """A list's head cut before "and" and a phrase pointing back ("busca X y de ahí
        sácame dos cosas", "Renseigne-toi sur X, et avec ça"): the job before it is one of
        its own, the rest introduces the list."""
        for m in self._and.finditer(head):
            before, after = head[: m.start()].strip(), head[m.end() :].strip()
            if before and after and leads_back(after) and self.verb_first(before):
                return [("and", before), ("and", after)]
        return [("and", head)]

    def _apart(self, before: str, part: str) -> str:
        """ "look up X and separately the one for Y", "Cherche ce qu'est X et, à part, ce
        qu'est Y": what follows "separately" is asked as the part before was, with its verb
        (unless its own verb leads it)."""
        low = normalize(part)
        lead = _APART_LEAD.match(low)
        if lead is None or len(low) != len(part):
            return part
        rest = part[lead.end() :].strip(" ,")
        verb = _job_verb(before, self)
        if not rest:
            return part
        if self.verb_first(rest) or not verb:  # "and separately write ...": its own verb
            return part  # ("separately" kept: the step reads nothing before it)
        return f"{verb} {rest}"

    def _leads_only(self, piece: str) -> bool:
        """A reference that starts no job of its own: "usando quello che trovi", "with
        that" (not "analyze these rows")."""
        words = [w for w in tokens(piece) if w not in lx.POLITE]
        return bool(words) and (words[0].startswith(_USE) or not self.opens_job(piece))

    def _segment(self, piece: str, joined: str, blocks: list[str], quotes: list[str]) -> Segment:
        ids = [int(m) for m in _PLACEHOLDER_RE.findall(piece)]
        cut = self._payload_start(piece)
        payload = _tidy(_restore(piece[cut:], quotes)) if cut >= 0 else ""
        head = piece[:cut] if cut >= 0 else piece
        long_quotes = [
            quotes[int(i)]
            for i in _QUOTE_RE.findall(head)
            if len(quotes[int(i)].split()) > SHORT_QUOTE_WORDS
        ]
        if long_quotes and not payload:
            payload = " ".join(q.strip("\"'\u201c\u201d\u00ab\u00bb\u201e") for q in long_quotes)
            head = _QUOTE_RE.sub(
                lambda m: "" if quotes[int(m.group(1))] in long_quotes else m.group(0), head
            )
        instruction = _tidy(_restore(head, quotes, short_only=True))
        verb_head, final = self.clause_head(_QUOTE_RE.sub(" qqq ", head))
        if not verb_head:
            verb_head = self._past_reference(instruction)
        return Segment(
            instruction=instruction,
            head=verb_head,
            final=final,
            lead_ref=self._reference_leads(instruction) or leads_back(instruction),
            text=_tidy(_restore(piece, quotes)),
            data=[blocks[i] for i in ids],
            payload=payload,
            joined=joined,
            quoted=bool(_QUOTE_RE.search(head)),
        )

    def _payload_start(self, piece: str, whole: bool = False) -> int:
        """Where prose pasted after a colon begins (-1: none, or a list of jobs follows).
        ``whole``: ``piece`` is a whole sentence, before its clauses are split."""
        mark = piece.find(_MATERIAL)
        if mark >= 0:  # a paragraph of pasted text joined to its ask (``_payloads``)
            return mark
        m = COLON.search(piece)
        if m is None or _PLACEHOLDER_RE.match(piece, m.end()):
            return -1
        rest = piece[m.end() :]
        if len(rest.split()) >= 4 and salutation(rest):
            return m.end()  # "in English please: Hello Ms Novak, thank you for ...": a letter
        if len(rest.split()) < 4 or self.opens_job(rest):
            return -1  # "in two languages: French and Dutch", "two things: a ..., a ..."
        if lists_after_colon(piece[: m.start()], rest):
            return -1  # "three pictures: a kite, a snail and a teapot": items, not prose
        if (
            whole
            and _short_ask(rest)
            and all(_negated_lead(p) for _, p in self._split_and(piece[: m.start()]))
        ):  # "Sin búsqueda y sin imagen: tres nombres para ...": the ask (``_split_and``)
            return -1
        return m.end()


# The polite imperative (usted, você, Lei, vous), which the phrasings rarely use, of the verbs
# that open jobs whose prefix does not give them away ("faça", "haga", "faccia" beside "faz",
# "haz", "fai"; "crie", "busque", "cerchi", "écrivez"): exact words, singular and plural.
_FORMAL = lx_words(
    "haga hagan busque busquen prepare preparen redacte redacten elabore elaboren cree creen "
    "faca facam crie criem gere gerem redija redijam elabore elaborem prepare preparem "
    "busque busquem procure procurem faccia facciano cerchi cerchino crei creino prepari "
    "preparino elabori elaborino ecrivez preparez elaborez redigez"
)


# "me" after a verb: "Mal mir dann ein Porträt", "fais-moi ensuite ...", "maak me daarna ...".
_TO_ME = lx_words("me mir moi mi mij")
# "for" before a thing to make, after "and": "en voor een samenvatting", "and for a poster".
_FOR_THING = lx_words("for para pour fur per voor")
# "separately" before the next job of a list: "y aparte escríbeme", "and separately write".
_APART = lx_words("separately aparte apart separement separadamente separatamente daneben")
# "also" in the seven languages, before the job it adds.
_ALSO = lx_words(
    "also additionally tambien ademas aussi egalement auch ausserdem zusatzlich tambem "
    "anche inoltre ook bovendien"
    # "meanwhile" before the next job: "e intanto scrivimi", "y mientras tanto escríbeme"
    " meanwhile intanto mientras tanto entretanto inzwischen nebenbei ondertussen intussen"
)
# Separable particles of German and Dutch verbs, and the "zu"/"te" inside an infinitive.
_PARTICLE = re.compile(
    r"^(?:zusammen|heraus|raus|nach|aus|auf|an|ein|mit|vor|um|samen|uit|op|na|af|door|om|"
    r"over|terug|weg)(?:zu)?"
)
# Separable particles that close a German or Dutch clause on their own.
_CLOSING_PARTICLES = lx_words(
    "zusammen heraus raus nach aus auf an ein vor samen uit op na af door terug"
)


def _particle_closes(lone: list[str], rest: str) -> bool:
    """ "denk dir dann ein Rätsel dazu aus", "fass es danach kurz zusammen", "zoek het daarna
    op": a verb and its pronoun before "then" (verb second), its separable particle closing
    the clause after it: one step, "then" inside it."""
    clause = tokens(re.split(r"[,;:.!?]", rest, maxsplit=1)[0])
    return (
        1 < len(lone) <= 3
        and len(clause) >= 2
        and clause[-1] in _CLOSING_PARTICLES
        and not any(w in _CLOSING_PARTICLES for w in lone[1:])
    )


# A short negated phrase before a colon and the job after it: "Ohne Recherche: schreib ...".
# "then" where it stands second, after the verb: German and Dutch verb-second order ("und
# entwirf dann ein Logo", "en ontwerp daarna een logo") and the Romance order ("et dessine
# ensuite un logo", "e disegna poi", "y diseña luego"). Whatever word comes before it is a
# verb the phrasings may not know; not "dopo" ("after") nor "dan" ("than" in Dutch).
_THEN_SECOND = lx_words(
    "then afterwards dann danach anschliessend nachher daarna vervolgens poi luego despues "
    "depois ensuite puis"
)


# A phrase after "and" that points back at the job before it and leads what follows ("y
# con eso, ...", "y de ahí sácame dos cosas", "et avec ça :", "e da lì fammi ...", "und
# daraus ...", "en daarmee ...", "e com isso ...", "and from that ..."): a source, then a
# pointing word (not an article: "de la playa", "con la mano" lead nothing).
_LEAD_PREP = lx_words("with from using con de desde avec mit aus com da met van uit su")
_LEAD_REF = lx_words(
    "that this it them there eso esto ello ahi alli ca cela ceci isso isto ai aqui li qui "
    "dem diesem dat dit daar"
)
# Portuguese "of it" fused, after "a partir": "a partir dele", "a partir dela" (round 17).
_OF_IT = lx_words("dele dela deles delas")
# German and Dutch pointing adverbs and Portuguese fused ones, a lead by themselves.
_LEAD_WORD = lx_words(
    "daraus damit davon hieraus hiermit daarmee daarvan daaruit hiermee hieruit nisso disso"
)


def _particle_step(piece: str) -> bool:
    """German and Dutch: a short step whose separable particle closes it ("Formulier das
    freundlicher um", "Fass das zusammen", "Zoek dat op"), its verb first (no word that
    names a source leads it: "daraus", "mit dem", "with that in hand" are leads)."""
    words = [w for w in tokens(piece) if w not in lx.POLITE]
    return (
        len(words) >= 3
        and (words[-1] in _CLOSING_PARTICLES or words[-1] == "um")  # ("um" closes: "formulier um")
        and words[0] not in _PREPS
        and words[0] not in _SOURCE
        and words[0] not in _LEAD_PREP
        and words[0] not in _LEAD_WORD
        and words[0] not in lx.BACK
        and words[0] not in lx.FUNCTION
        and words[0] not in _CLOSING_PARTICLES
    )


def leads_back(piece: str) -> bool:
    """``piece`` opens with a phrase pointing back at an earlier result: "con eso, ...",
    "de ahí sácame ...", "avec ça", "da lì", "daraus", "with whatever you find"."""
    if ":" in " ".join(piece.rstrip(" :").split()[:5]):
        return False  # "using these examples: ...": what follows, not what came before
    words = [w for w in tokens(piece) if w not in lx.POLITE][:8]
    if words[:2] == ["a", "partir"]:  # "à partir de ça", "a partir disso"
        words = words[2:] if words[2:3] != ["de"] else words[3:]
        if words and words[0] in _LEAD_REF | _LEAD_WORD | lx.DEMONSTRATIVE | _OF_IT:
            return True
    if not words:
        return False
    if words[0] in _LEAD_WORD:
        return True
    if words[0] not in _LEAD_PREP or len(words) < 2:
        return False
    if words[1] in _LEAD_REF or words[1] in lx.DEMONSTRATIVE:
        return True
    return bool(_FOUND.search(" ".join(words[1:7])))  # "con lo que encuentres"


# "of the" fused, before the result a step is made from: "du résultat", "del risultato",
# "do resultado", "vom Ergebnis", "van het" (then "het").
_OF_THE = frozenset({"du", "des", "del", "dal", "dalla", "dai", "do", "da", "dos", "vom", "zum"})


def made_thing(words: list[str], upto: int = 4) -> bool:
    """After its article or count (``words[0]``), one of the next words names a thing the
    writer or an agent makes: "a poem", "two tweets". A piece of writing that comes second
    in a list ("paragraph", "e-mail", "Stichpunkte", ``lx.PIECE_NOUNS``) only with more
    words that describe it ("a short paragraph", "uma analogia divertida", "drei Stichpunkte
    für ein Quiz"): "one paragraph", "en un párrafo" alone say how long, not what to make."""
    after = words[1:upto]
    if any(_names_made(w) for w in after):
        return True
    if len(words) > 2 and any(
        w in lx.PIECE_NOUNS or w.rstrip("s") in lx.PIECE_NOUNS for w in after
    ):
        return True
    # round 17: a compound whose first part describes the piece ("einen Instagram-Post",
    # "un LinkedIn-post", "een blog-post"): described, so made
    return any(
        "-" in w and w.rsplit("-", 1)[1].rstrip("s") in lx.PIECE_NOUNS and w[0] != "-"
        for w in after
    )


# round 14: German and Dutch compounds name what they make by their last part
# ("Plakatmotiv", "Werbetext", "Schaufensterplakat"), hyphenated ones by either part
# ("foto-ilustración", "Bild-Version"); "motif" is a picture ("ein Plakatmotiv"), Portuguese
# "uma arte" an artwork.
_MADE_MORE = lx_words("motiv motive motief arte")
_COMPOUND_HEADS = tuple(sorted(w for w in lx.JOB_NOUNS | _MADE_MORE if len(w) >= 4))


def _names_made(word: str) -> bool:
    """``word`` names a thing to make (``lx.JOB_NOUNS``), as a compound's last part too."""
    if word in lx.JOB_NOUNS or word.rstrip("s") in lx.JOB_NOUNS or word in _MADE_MORE:
        return True
    parts = [p for p in word.split("-") if p]
    if len(parts) > 1:
        return any(_names_made(p) for p in parts)
    return len(word) >= 8 and any(
        word.endswith(h) and len(word) - len(h) >= 3 for h in _COMPOUND_HEADS
    )


# German and Dutch "in"/"with"/"as" and the article or count after them, leading a phrase of
# how before a closing infinitive ("in einem Satz", "in drei Sätzen", "in het Engels").
_HOW_PREP = lx_words("in im auf mit als met op")
_HOW_ARTICLE = lx_words(
    "einem einer eine ein zwei drei vier funf kurzen kurzer kurzem wenigen het een twee drie "
    "vier vijf korte paar"
)
_ASIDE = re.compile(r"\s*\([^()]*\)")
# Prepositions that may follow a Dutch infinitive at the end of its clause ("maken voor ...").
_AFTER_VERB = lx_words("voor naar aan met in op over uit bij fur an auf mit nach")


def _infinitive(raw: str) -> bool:
    """A word that may close a German or Dutch clause as its infinitive: lower case (a German
    noun is capitalised), "-en"/"-ern"/"-eln", no noun of a job or a result."""
    word = normalize(raw)
    return (
        raw[:1].islower()
        and len(word) >= 5
        and word.endswith(("en", "ern", "eln"))
        and word not in lx.JOB_NOUNS
        and word not in lx.RESULT_NOUNS
    )


# "and" in the seven languages, before "then" or a verb-then step ("y luego", "en schrijf
# daarna"); "after" before "of"/"the" is no step's lead ("después de la lluvia").
_AND_LEAD = lx_words("and y e et und en")
_OF_AFTER = lx_words("de da do di del della des du dem der den van")


def _named_first(words: list[str]) -> bool:
    """An article, then a thing the mesh makes among the next words ("a three-line summary",
    "une affiche", "ein kurzes Gedicht")."""
    return len(words) > 1 and words[0] in lx.ARTICLES and made_thing(words)


def _then_led(words: list[str]) -> list[str]:
    """The words after a leading "(and) then" of the seven languages ("y luego escríbeme",
    "e poi", "et ensuite", "und danach", "e depois", "en daarna"), or after a leading "and"
    when a verb and "then" follow it ("en schrijf daarna ..."); [] when no such lead."""
    if len(words) > 2 and words[0] in _AND_LEAD and _verb_then(words[1:]):
        return words[1:]
    if len(words) > 2 and words[0] in _AND_LEAD and words[1] in _THEN_SECOND:
        words = words[1:]
    if len(words) > 1 and words[0] in _THEN_SECOND and words[1] not in _OF_AFTER:
        return words[1:]
    return []


def _verb_then(words: list[str]) -> bool:
    return (
        len(words) > 2
        and words[1] in _THEN_SECOND
        and len(words[0]) >= 3
        and words[0].isalpha()
        and words[0] not in lx.FUNCTION
        and words[0] not in lx.ARTICLES
        and words[0] not in lx.QUESTION
        and words[0] not in lx.NEGATION
        and words[0] not in lx.LANGUAGES
        and words[0] not in _PREPS
    )


# An object pronoun before the verb (Romance proclisis: "me escreve", "mi scrivi", "me
# escribes", "me fais"): the verb after it opens the step.
_PROCLITIC = lx_words("me mi te ti nos ci lhe lhes gli")

_NEGATED_HEAD = re.compile(r"^([^:]{1,40}?)\s*:\s+(\S.*)$", re.S)
# The most words an ask after a negated head may have ("Ohne Bild: einfach drei Namen für
# ..."): more is a text pasted to be worked on.
_ASK_AFTER_NEGATION = 30


def _negated_lead(piece: str) -> bool:
    """A piece that a negation opens ("ohne Bild", "no need to search", "senza immagini"), not
    as a word of its own ("Non, sérieusement", "No, wait": an interjection)."""
    words = [w for w in tokens(piece) if w not in lx.POLITE]
    return bool(words) and words[0] in lx.NEGATION and not _INTERJECTION.match(piece)


# A word alone before a comma or a mark at the start: "No, ...", "Nein! ...".
_INTERJECTION = re.compile(r"^\W*[\w']+\s*[,!.;]")


def _short_ask(text: str) -> bool:
    """One line, no quotation, few words: read as an ask, not as a pasted text."""
    return (
        "\n" not in text.strip()
        and not _QUOTE_RE.search(text)
        and not any(c in text for c in '"\u201c\u201d\u00ab\u00bb\u201e')
        and 3 <= len(tokens(text)) <= _ASK_AFTER_NEGATION
    )


# Object pronouns that stand between a verb and its "then" in German and Dutch (verb second:
# "erklär es dann", "maak er daarna") and in Romance clitic order.
_V2 = frozenset(
    [
        "it",
        "them",
        "lo",
        "la",
        "los",
        "las",
        "le",
        "les",
        "ca",
        "es",
        "sie",
        "ihn",
        "isso",
        "o",
        "a",
        "os",
        "as",
        "ne",
        "li",
        "het",
        "ze",
        "er",
    ]
)
# A short phrase after the last comma of a piece: "..., and with that", "e, com isso".
_REF_TAIL = re.compile(
    r"(?<!\s)(?:\s+(?:and|y|e|et|und|en))?\s*,\s*((?:[\w\u00c0-\u017f']+\s+){0,2}[\w\u00c0-\u017f']+)\s*,?$"
)


def _fold_free(text: str) -> str:
    """``normalize(text)`` with a word of one accented letter masked: Portuguese "é" ("is")
    is no "e" ("and"), Spanish "ó" no "o"."""
    return normalize(re.sub(r"(?<!\w)[^\W\d_a-zA-Z](?!\w)", "\u00b7", text))


def _arrow_steps(unit: str) -> list[str]:
    """The steps of a chain written with arrows, when each has three words or more and the
    one after an arrow is more than languages ("English -> German" is one translation)."""
    steps = _ARROW.split(unit)
    if len(steps) < 2 or any(
        len(tokens(step)) < 3 or _languages_only(tokens(step)) for step in steps
    ):
        return [unit]
    return steps


def _manner(piece: str) -> bool:
    """ "keep it light", "houd het kort": a remark on manner (``lexicon.STYLE``)."""
    return bool(lx.STYLE.match(" ".join(w for w in tokens(piece) if w not in lx.POLITE)))


# "other" after an article, or alone in Romance ("y otro en español", "e outra sobre ..."):
# one more of the thing just named.
_OTHER_ONE = lx_words(
    "other autre autres otro otra outro outra altro altra anderen andere anderes ander"
)


# The words that introduce a purpose with an infinitive: "to", "para", "pour", "um", "per",
# "om"; before "then" they introduce the next step ("per poi fare un riassunto").
_PURPOSE = lx_words("to para pra pour um per om")
# "make" in the infinitive in the seven languages.
_MAKE_INF = lx_words("make hacer faire machen fazer fare maken")
_ONE_MORE_NEXT = lx_words(
    "about for on in into with of to from sobre para en de del con a al sur pour avec au aux "
    "uber fur zu mit von auf ins im per su di sul sulla nel nella met voor over van naar in "
    "com em pro pra no na do da"
)


def _one_more(after: str) -> bool:
    """ "un autre en espagnol", "einen anderen über Hunde", "otro en español", "nog een in het
    Engels": one more of the thing named before, what follows saying only how it differs (not
    "another picture of a cat": a thing of its own)."""
    words = tokens(after[: 2 * _FEW_CHARS])[:4]  # (run at every "and": a few words read)
    if not words:
        return False
    if words[0] in ("another", "un'altra", "un'altro") or words[0] in _OTHER_ONE:
        rest = words[1:]
    elif len(words) > 1 and (
        (words[0] in lx.ARTICLES and words[1] in _OTHER_ONE)
        or (words[0] in ("noch", "nog") and words[1] in lx.ARTICLES)
    ):
        rest = words[2:]
    else:
        return False
    if rest[:1] and rest[0] in ("one", "uno", "una", "eins", "een"):
        rest = rest[1:]  # "another one about dogs"
    # what differs follows at once ("über Hunde", "en espagnol"); "noch eine Absage für ..."
    # names a thing of its own
    return bool(rest) and rest[0] in _ONE_MORE_NEXT


_BOTH_NL = re.compile(
    r"(?<!\w)[\u00e9\u00c9]n\s+(?P<x>\S.*?)\s*,?\s+[\u00e9\u00c9]n\s+(?P<y>\S.+)$"
)
# A style named after a comma ("..., estilo ilustración antigua", "..., stile poster anni
# '60", "..., im Stil von Hopper"): how the thing before looks, never a job of its own.
_STYLE_LEAD = re.compile(
    r"(?:(?:in the|in|en|al|a la|dans le|im|no|nello|in de)\s+)?"
    r"(?:style|estilo|stil|stile|stijl|facon|maniere|manera|maneira|maniera|trant)\b"
)
# "separately" (or "on the other hand") before a second thing asked in one breath.
_APART_LEAD = re.compile(
    r"(?:separately|apart|aside from that|on the other hand|por separado|aparte|por otro lado|"
    r"a part|separement|d'autre part|par ailleurs|getrennt davon|gesondert|daneben|"
    r"andererseits|separadamente|por outro lado|a parte|separatamente|d'altra parte|"
    r"dall'altra parte|apart daarvan|daarnaast|los daarvan|afzonderlijk)\b\s*,?\s*"
)
# What may follow a job's verb before its object: "look up", "such heraus", "zoek op".
_VERB_PARTICLES = lx_words("up out for heraus raus nach op na")


def _job_verb(before: str, segmenter: Segmenter) -> str:
    """The verb that opens ``before`` when it is a job's ("look up", "Cherche", "Busca"),
    with its particle; "" when none does."""
    words = before.split()
    if not words or not segmenter.is_opener(tokens(words[0])[0] if tokens(words[0]) else ""):
        return ""
    if len(words) > 1 and normalize(words[1]) in _VERB_PARTICLES:
        return f"{words[0]} {words[1]}"
    return words[0]


_CLITIC_BACK = lx_words("lo la le les los las li a o as os")
# "l'" and an auxiliary after a question word: "pourquoi l'a-t-on construit", "chi l'ha
# scritto" (not "chi l'insulina": an article and a noun).
_APART_CHARS = 40  # "à part", "por otro lado", "getrennt davon": a few words at most
_FEW_CHARS = 40  # enough characters for the first two words of a clause


def _clitic_then_verb(words: list[str]) -> bool:
    """``words`` (as written) after a question word start with a pronoun before a verb in
    lower case ("lo hizo", "a fundou", "l'a-t-on construit"), not an article before a name
    ("la Joconde", "el Quijote")."""
    if not words:
        return False
    first = normalize(words[0])
    if ELIDED_BACK.match(first):
        return True
    return len(words) > 1 and first in _CLITIC_BACK and words[1][:1].islower()


def _follow_up(before: str, after: str) -> bool:
    """Two questions in one breath where the second asks more about the first's thing ("When
    was the first web browser released, and who made it?", "Quante richieste ... e dove si
    imposta questo limite?"): one question; a second thing named ("and how deep is the
    Mariana Trench?") is a question of its own."""
    # (the few words read are cut first: this runs at every "and" of a sentence)
    first = tokens(before[:_FEW_CHARS])[:2]
    if not any(w.split("'")[0] in lx.QUESTION for w in first):
        return False
    second = tokens(after[: 3 * _FEW_CHARS])[:8]
    return (
        bool(second)
        and second[0].split("'")[0] in lx.QUESTION
        and (
            any(w in FOLLOW_UP for w in second[1:])
            # a pronoun right after the question word, before its verb: "quién lo hizo",
            # "quem a fundou", "pourquoi l'a-t-on construit"
            # (not in a run of one question word: "chi il telefono, chi la radio")
            or (
                len(second) > 2 and second[0] not in first and _clitic_then_verb(after.split()[1:3])
            )
        )
    )


# "then" words that are also "after" before a noun ("después de la lluvia", "after the rain",
# "après la pluie", "depois da chuva", "dopo la pioggia", "na de regen"), and what opens
# that noun phrase.
_AFTER_PREP = lx_words("after despues apres depois dopo na")
# An article after it ("the rain", "la lluvia"), or "of" and the article in one word ("da
# chuva", "della pioggia", "du repas", "del partido"): a noun phrase follows.
_AFTER_ARTICLE = lx_words("the a an la las el los le les l il lo o os as het een de")
_AFTER_OF_THE = lx_words("del du des da do das dos della dello delle dei degli")


def _after_noun(then: str, nxt: list[str]) -> bool:
    """ "después de la lluvia", "after the storm", "depois da chuva": the "then" word is a
    preposition before a noun (not "después de esto, tradúcelo": a reference follows)."""
    word = tokens(then)
    if len(word) != 1 or word[0] not in _AFTER_PREP or not nxt:
        return False
    if nxt[0] in ("de", "di") and len(nxt) > 1:
        nxt = nxt[1:]  # "después de la lluvia"
    elif nxt[0] in _AFTER_OF_THE:
        nxt = ["the", *nxt[1:]]
    return (
        len(nxt) > 1
        and nxt[0] in _AFTER_ARTICLE
        and nxt[1] not in _REFERS
        and nxt[1] not in lx.DEMONSTRATIVE
        and nxt[1] not in FOLLOW_UP
    )


def _question_words_joined(before: str, after: str) -> bool:
    """ "when and who", "cuándo y quién", "wann und wo": two question words joined, one
    question (the part before "and" ends on its question word)."""
    last, nxt = tokens(before)[-1:], tokens(after)[:1]
    return bool(last and nxt and last[0] in lx.QUESTION and nxt[0] in lx.QUESTION)


def _asked_again(before: str, after: str) -> bool:
    """ "..., who Y" before "and who Z": a run of questions sharing one verb."""
    nxt = tokens(after)[:1]
    return bool(
        nxt
        and nxt[0] in lx.QUESTION
        and re.search(rf"[,;]\s*{re.escape(nxt[0])}\b", normalize(before))
    )


# After French and Spanish "en" (in), not Dutch "en" (and): a Romance count or article, or
# a French gerund ("en quelques phrases", "en dos frases", "en une ligne", "en utilisant").
_EN_ROMANCE = lx_words(
    "un une una unos unas uno quelques quelque pocas pocos pocas algunas algunos deux dos "
    "trois tres quatre cuatro cinq cinco dix diez peu mas plus moins menos pas su sus son sa ses"
    # round 15: a Romance article or "form"/"style" after "en" ("en la nieve", "en forma de
    # poema", "en forme de", "en estilo"), words Dutch never puts after its "en" (and); not
    # "los" or "les", Dutch words too ("en los daarvan": and separately)
    " la las le el forma forme estilo style"
)


def _romance_en(rest: str) -> bool:
    words = tokens(rest)
    return bool(words) and (
        words[0] in _EN_ROMANCE
        or words[0].startswith("l'")  # "en l'honneur de"
        or (len(words[0]) > 5 and words[0].endswith("ant"))
        or words[0] in lx.LANGUAGES  # "un resumen en inglés", "une version en anglais"
    )


# Words around language names in a list of them: "in spagnolo, portoghese e olandese",
# "auf Spanisch und auf Niederländisch", "het Engels, het Duits".
_AROUND_LANGUAGES = lx_words(
    "in into to auf ins nach naar het de em para en al a au le la il lo l the and y e et und o "
    "ou oder of or"
)


# Prepositions before a language a text is put into ("in", "into", "al", "auf", "naar", "pra").
_INTO = lx_words("in into to auf ins nach naar em para pra pro en al a au nel in")
_LANGUAGE_ARTICLES = lx_words("het de the l le la il lo el")


def _named_into_language(words: list[str]) -> bool:
    """A text named by a demonstrative or "same", then put into a language ("esa información
    en inglés", "this text into German", "denselben Text auf Türkisch", "dat stuk in het
    Engels"): an earlier or pasted text translated, a step of its own."""
    for j, w in enumerate(words[:9]):
        if w not in lx.LANGUAGES or j < 2:
            continue
        at = j - 1
        if words[at] in _LANGUAGE_ARTICLES and at > 1:
            at -= 1  # "in het Engels", "nel l'inglese"
        if words[at] not in _INTO:
            return False
        if any(x in lx.DEMONSTRATIVE or x in _SAME for x in words[max(0, at - 4) : at]):
            return True
        # round 15: "..., and the story in German", "y el cuento en alemán", "und die
        # Geschichte auf Deutsch": the thing made before, named with its definite article
        # right before the language, is put into it
        # (a thing the mesh makes, "la traduzione in spagnolo di ...", or any noun when the
        # language closes the clause or a "for ..." or "too" follows it: "la fábula en
        # inglés"; "the weather in German cities" is no translation)
        after = words[j + 1 : j + 2]
        return (
            at <= 3
            and (words[0] in _DEFINITE_ART or words[0].startswith(("l'", "dell'")))
            and (
                not after
                or after[0] in _FOR_THING
                or after[0] in _ALSO
                or after[0] in _TOO
                or any(
                    _names_made(x.split("'")[-1]) or x.split("'")[-1] in lx.RESULT_NOUNS
                    for x in words[:at]
                )
            )
        )
    return False


_TOO = lx_words("too as well aussi auch tambem anche ook tambien")
# Definite articles of the seven languages ("l'" is glued to its noun).
_DEFINITE_ART = lx_words("the el la los las le les der die das den il lo gli o os a as het de")


# "version" in the seven languages, and "another" that stands for one more of them.
_VERSION = lx_words(
    "version versions versiones versao versoes versione versioni fassung fassungen versie versies"
)
_ANOTHER = lx_words("another otra otro autre altra altro outra outro andere anderen")
# Shorter: a version that says so is a summary of the text it is a version of.
_SHORT = lx_words(
    "short shorter shortened brief briefer condensed summarised summarized tldr corta corto "
    "cortita resumida resumido breve breves reducida courte courtes abregee condensee "
    "resumee kurz kurze kurzer kurzere kurzen gekurzte knapp knappe knappere korte kortere "
    "ingekorte beknopte curta curto reduzida resumo ridotta riassunta sintetica"
    # round 14: diminutives ("uma versão curtinha", "una versión cortita")
    " curtinha curtinho curtinhas cortito cortitas cortinha brevissima brevissimo kortere"
)
# "then" as the first word of a sentence: "Poi una versione più breve", "Then a ...".
_THEN_WORDS = lx_words(
    "then next after that luego despues ensuite puis apres dann danach anschliessend depois "
    "poi dopo daarna dan"
)


def version_job(words: list[str]) -> str | None:
    """The job of "a version" named with no verb before it: a shorter one is a summary ("une
    version ultra courte", "y otra resumida"), one in a language a translation ("una versión
    en francés", "eine englische Fassung"); None when it names neither."""
    short = next((w for w in words[:4] if _short_version(w)), None)
    if short is not None and all(
        w in lx.ARTICLES or w in _ALSO or w in _THEN_WORDS or w in _LEAD_WORD
        for w in words[: words.index(short)]
    ):  # round 14: "eine Kurzfassung", "daraus eine Kurzfassung", "dann eine Kurzversion"
        return "summarization"
    at = next(
        (k for k, w in enumerate(words[:5]) if w in _VERSION or (k < 2 and w in _ANOTHER)), None
    )
    if at is None or any(
        w not in lx.ARTICLES
        and w not in _ALSO
        and w not in _SHORT
        and w not in _THEN_WORDS
        and w not in lx.LANGUAGES
        and not _LENGTH.match(w)
        for w in words[:at]
    ):
        return None  # a verb or a subject before it: the clause says what it wants itself
    window = words[max(0, at - 2) : at + 5]
    if any(w in lx.LANGUAGES for w in window):
        return "translation"
    if any(w in _SHORT or _LENGTH.match(w) for w in window):
        return "summarization"
    return None


# round 14: a length in one hyphenated word says shorter ("a two-sentence version", "a
# one-liner version", "una versión de una-línea"), as do the diminutives of "short"
# ("uma versão curtinha", "una versión cortita").
_LENGTH = re.compile(
    r"^(?:\d+|one|two|three|un|una|uno|dos|tres|deux|trois|ein|zwei|drei|um|duas|due|"
    r"een|twee|drie)-(?:line|lines|liner|sentence|sentences|word|words|linea|lineas|ligne|"
    r"lignes|zeilen|zeiler|linha|linhas|riga|righe|regel|regels|zin|zinnen)$"
)


def _thing_after_lead(piece: str) -> bool:
    """A lead back, then an article and a thing to make ("daarvan een gedichtje", "da lì
    un indovinello", "from that a poem")."""
    head, colon, rest = piece.partition(":")
    if colon and rest.strip() and leads_back(head):
        # round 17: "Da quella descrizione: un'immagine, ...": the lead, its colon, a thing
        words = tokens(rest)
        if words and "'" in words[0]:  # "un'immagine", "l'affiche": the article elided
            words = [*words[0].split("'", 1), *words[1:]]
        return bool(words) and words[0] in lx.ARTICLES and made_thing(words)
    if not leads_back(piece):
        return False
    words = tokens(piece)
    at = next((k for k, w in enumerate(words[:4]) if w in lx.ARTICLES), None)
    return at is not None and at > 0 and made_thing(words[at:])


def _short_version(word: str) -> bool:
    """A compound of "short" and "version" ("Kurzfassung", "Kurzversion", "kortversie")."""
    return any(
        word.endswith(v) and len(word) > len(v) and word[: -len(v)].rstrip("-") in _SHORT
        for v in _VERSION
    )


def _translated_into(words: list[str]) -> bool:
    """A thing, then "translated" and a language ("le conte traduit en arabe", "the poem
    translated into Dutch", "die Geschichte übersetzt ins Englische"): a translation."""
    for k, w in enumerate(words[1:6], 1):
        if w in _TRANSLATED:
            return any(x in lx.LANGUAGES for x in words[k + 1 : k + 4])
    return False


_TRANSLATED = lx_words(
    "translated traducido traducida traducidos traducidas traduit traduite traduits traduites "
    "ubersetzt ubersetzte ubersetzten traduzido traduzida traduzidos traduzidas tradotto "
    "tradotta tradotti tradotte vertaald vertaalde"
)


def _also_in_languages(words: list[str], also: bool) -> bool:
    """Round 17: the thing just made, again in other languages: "also" and nothing but
    languages put in ("..., en ook in het Engels en het Arabisch", "and also in Spanish"), or
    a short verb on it and a language it is put into ("and also do it in Dutch and Italian",
    "have it in German too"): a translation of its own, one per language (``fanout``)."""
    while words and words[0] in _ALSO:
        words = words[1:]
    if len(words) > 2 and words[1] in _REFERS and len(words[0]) <= 4 and words[0] not in _INTO:
        words = words[2:]  # "do it", "get it", "have it": the verb says nothing more
        also = True
    # (who it is for may follow: "in Dutch and Italian for the grandparents")
    cut = next((k for k, w in enumerate(words) if k > 1 and w in _FOR_THING), len(words))
    words = words[:cut]
    return (
        also
        and len(words) > 1
        and words[0] in _INTO
        and any(w in lx.LANGUAGES for w in words)
        and all(w in lx.LANGUAGES or w in _AROUND_LANGUAGES or w in _TOO for w in words)
    )


def also_in_languages(piece: str) -> bool:
    """``piece`` is "also" and languages ("en ook in het Frans en het Duits", "and also do it
    in Dutch"): the thing before it, again in other languages."""
    said = tokens(piece)
    return _also_in_languages(
        [w for w in said if w not in lx.POLITE], said[:1] != [] and said[0] in _ALSO
    )


def _puts_into_language(words: list[str]) -> bool:
    """Round 17: "it" among the first words and a language it is put into ("Could I get it
    in Spanish", "¿me la puedes poner en inglés?", "kun je het in het Engels zetten")."""
    return any(w in _REFERS or w.startswith("l'") for w in words[:5]) and any(
        w in _INTO and any(x in lx.LANGUAGES for x in words[k + 1 : k + 3])
        for k, w in enumerate(words[1:9], 1)
    )


def _languages_only(words: list[str]) -> bool:
    """Nothing but language names and the little words between them."""
    return any(w in lx.LANGUAGES for w in words) and all(
        w in lx.LANGUAGES or w in _AROUND_LANGUAGES for w in words
    )


def _attach_bare_data(segments: list[Segment]) -> list[Segment]:
    """A table on its own after a question belongs to that question ("Any outliers?\n<csv>")."""
    out: list[Segment] = []
    for seg in segments:
        prev = out[-1] if out else None
        if not seg.instruction and not seg.payload and prev and not prev.data and not prev.payload:
            prev.data = prev.data + seg.data
            continue
        out.append(seg)
    return out


def _only_long_quote(piece: str, quotes: list[str]) -> bool:
    m = _QUOTE_RE.fullmatch(piece.strip(" .:"))
    return m is not None and len(quotes[int(m.group(1))].split()) > SHORT_QUOTE_WORDS


def _restore(text: str, quotes: list[str], short_only: bool = False) -> str:
    def put(m: re.Match[str]) -> str:
        quote = quotes[int(m.group(1))]
        if short_only and len(quote.split()) > SHORT_QUOTE_WORDS:
            return "the text"
        return quote

    return _QUOTE_RE.sub(put, text)


def _tidy(text: str) -> str:
    text = _PLACEHOLDER_RE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(" ,.:;-")


def _data_only(piece: str) -> bool:
    """A piece that is inline data and nothing else (a table on lines of its own)."""
    return bool(_PLACEHOLDER_RE.search(piece)) and not _PLACEHOLDER_RE.sub("", piece).strip(" .,:")


def salutation(piece: str) -> bool:
    """A letter's greeting: a greeting word and at most four words more before a comma or a
    colon ("Dear Ms Novak,", "Liebe Frau Novak,", "Estimadas familias:", "Beste ouders,")."""
    m = _SALUTATION.match(_TITLE_DOT.sub(r"\1", piece[:_SALUTE_CHARS]))
    if m is None:
        return False
    words = tokens(m.group(1))
    return 0 < len(words) <= 5 and words[0] in _SALUTE


def _points_at_material(pieces: list[tuple[str, str]]) -> bool:
    """The asks name text given with them: "this", "it", "the following", "hier", "isto",
    or a verb with its pronoun attached ("tradúcelo", "resume-o")."""
    for _, piece in pieces:
        low = normalize(piece)
        if lx.FORWARD.search(low):
            return True
        for w in tokens(piece):
            if w in lx.DEMONSTRATIVE or w in _REFERS or w in _HERE or lx.CLITIC.match(w):
                return True
    return False


def _negated(piece: str) -> bool:
    """A piece that starts with a negation ("Don't translate it", "No lo traduzcas"): a
    constraint on a job, not one."""
    words = [w for w in tokens(piece) if w not in lx.POLITE]
    return bool(words) and words[0] in lx.NEGATION


# The words read on either side of an "and" or a comma: more than a verb-final clause holds
# (``Segmenter.final_verb`` reads at most 16), so the window decides as the whole text would.
_WINDOW = 48
_FIRST_WORDS = re.compile(rf"\s*(?:\S+\s+){{0,{_WINDOW}}}")


def _first_words(text: str) -> str:
    """The first ``_WINDOW`` words of ``text`` and the next one (all of it when shorter)."""
    m = _FIRST_WORDS.match(text)
    assert m is not None  # (the pattern matches the empty string)
    end = m.end()
    if end >= len(text):
        return text
    nxt = re.match(r"\S+", text[end:])
    return text[: end + (nxt.end() if nxt else 0)]


def _last_words(text: str) -> str:
    """The last ``_WINDOW`` words of ``text`` (all of it when shorter)."""
    parts = text.rsplit(None, _WINDOW)
    return text if len(parts) <= _WINDOW else " ".join(parts[1:])


def points_at_material(text: str) -> bool:
    """``_points_at_material`` of one clause."""
    return _points_at_material([("", text)])
