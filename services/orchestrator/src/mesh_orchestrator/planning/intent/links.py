"""Which earlier tasks a segment reads, in any of the seven languages.

A segment reads the previous job's output when it says so: a pronoun or demonstrative ("it",
"that", "lo", "ça", "es", "isso", "het"), a pronoun attached to its verb ("tradúcelo",
"riassumila", "resume-o"), a phrase naming a result ("the answer", "la respuesta", "das
Ergebnis", "essa pessoa"), or a demonstrative before a word of an earlier segment ("that
turtle"); "both"/"all" read every result nobody has read yet. It also reads the previous
output when it says nothing of its own: a summary or a translation with no text, quotation
or data of its own ("then translate into German", "vat het samen in drie zinnen"), and an
analysis with no table of its own (its table comes from upstream).
"""

from __future__ import annotations

import re

from mesh_contracts import SubTask
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _PREPS, _REFERS
from mesh_orchestrator.planning.intent.model import normalize, tokens
from mesh_orchestrator.planning.intent.segment import Segment

# Words about the form of an answer, not its subject: "in two sentences", "in plain words".
META = frozenset(
    [
        "sentence",
        "sentences",
        "line",
        "lines",
        "word",
        "words",
        "bullet",
        "bullets",
        "point",
        "points",
        "paragraph",
        "short",
        "brief",
        "simple",
        "simply",
        "plain",
        "friendly",
        "polite",
        "quick",
        "quickly",
        "version",
        "again",
        "please",
        "thanks",
        "languages",
        "frase",
        "frases",
        "linea",
        "lineas",
        "palabra",
        "palabras",
        "puntos",
        "parrafo",
        "corto",
        "breve",
        "sencillo",
        "sencillas",
        "phrase",
        "phrases",
        "ligne",
        "lignes",
        "mots",
        "points",
        "paragraphe",
        "court",
        "simple",
        "simples",
        "simplement",
        "satz",
        "satze",
        "zeile",
        "zeilen",
        "worter",
        "worten",
        "punkte",
        "absatz",
        "kurz",
        "einfach",
        "einfachen",
        "linha",
        "linhas",
        "palavras",
        "pontos",
        "curto",
        "simples",
        "frasi",
        "riga",
        "righe",
        "parole",
        "punti",
        "breve",
        "semplice",
        "semplici",
        "zin",
        "zinnen",
        "regel",
        "regels",
        "woorden",
        "punten",
        "alinea",
        "korte",
        "kort",
        "eenvoudig",
        "gewone",
        "version",
        "versions",
        "version",
        "versiones",
        "versao",
        "versoes",
        "versione",
        "versioni",
        "fassung",
        "versie",
        "versies",
        # wanting or needing names no subject: "lo necesito también en inglés"
        "need",
        "needs",
        "want",
        "wants",
        "necesito",
        "necesitamos",
        "quiero",
        "queremos",
        "veux",
        "voudrais",
        "besoin",
        "brauche",
        "brauchen",
        "mochte",
        "hatte",
        "gerne",
        "voglio",
        "vorrei",
        "serve",
        "preciso",
        "precisamos",
        "quero",
        "queria",
        "nodig",
        "graag",
        "tambien",
        "aussi",
        "auch",
        "tambem",
        "anche",
    ]
)
# "the same ad", "el mismo texto", "dasselbe": the thing made before.
SAME = frozenset(
    [
        "same",
        "mismo",
        "misma",
        "mismos",
        "mismas",
        "meme",
        "memes",
        "selbe",
        "selben",
        "gleiche",
        "gleichen",
        "dasselbe",
        "denselben",
        "dieselbe",
        "mesmo",
        "mesma",
        "mesmos",
        "mesmas",
        "stesso",
        "stessa",
        "stessi",
        "stesse",
        "zelfde",
        "hetzelfde",
        "dezelfde",
    ]
)
TRANSFORMS = frozenset(["summarization", "translation"])
PRODUCERS = frozenset(["search", "data_analysis"])
GENERIC = frozenset(
    [
        "answer",
        "result",
        "results",
        "output",
        "findings",
        "respuesta",
        "resultado",
        "reponse",
        "resultat",
        "antwort",
        "ergebnis",
        "resposta",
        "risposta",
        "risultato",
        "antwoord",
        "resultaat",
    ]
)
CONSUMERS = frozenset(["text_generation", "summarization", "translation", "image_generation"])


_AND_WORDS = frozenset(["and", "y", "e", "et", "und", "en", "&"])


def _result(noun: str) -> bool:
    return any(n in lx.RESULT_NOUNS for n in (noun, noun.rstrip("s"), noun + "s"))


def _content(words: list[str], opener: bool) -> int:
    """Words of ``words`` that name a subject of the segment's own."""
    n = 0
    for i, w in enumerate(words):
        if len(w) < 4 or w in META or w in lx.LANGUAGES or w in lx.LANGUAGE_WORDS:
            continue
        if w in lx.POLITE or w in lx.QUESTION or w in lx.DETERMINER or w in lx.NUMBERS:
            continue
        if w in lx.FUNCTION:
            continue
        if i == 0 and opener:
            continue
        n += 1
    return n


# After "forget" and its negation: "to", "de", "di", "zu", "te" before the verb.
_AFTER_FORGET = frozenset(["to", "de", "d", "di", "zu", "te", "a", "pas", "nicht", "niet"])
# An object pronoun before the verb once a reminder is taken off ("n'oublie pas de le
# traduire", "no olvides de lo traducir" is rare, "le traduire" is not).
_BEFORE_VERB = frozenset(["le", "la", "les", "l", "lo", "los", "las", "es", "sie", "het", "ze"])


def _plain(word: str) -> str:
    return word.split("'")[-1]


class Links:
    """The tasks made so far, grouped by the segment that made them."""

    def __init__(self, is_opener: object = None) -> None:
        self.groups: list[list[SubTask]] = []
        self.words: dict[str, frozenset[str]] = {}
        self.read: set[str] = set()
        self.last_reads: list[str] = []  # what the last segment read through a reference
        self.last_joined = ""
        self.last_lead = False  # the last segment's reference led its verb ("With that, ...")
        self.caps: dict[str, str] = {}
        self.last_deps: list[str] = []  # what the last segment read, however
        self.list_source: list[str] | None = None  # what the items of a pointing list read
        self._referred = False

    @property
    def last_group(self) -> list[SubTask]:
        return self.groups[-1] if self.groups else []

    def add(self, seg: Segment, group: list[SubTask]) -> None:
        self.groups.append(group)
        self.last_reads = list(group[0].depends_on) if group and self._referred else []
        self.last_joined = seg.joined
        self.last_lead = seg.lead_ref and bool(self.last_reads)
        self.last_deps = list(group[0].depends_on) if group else []
        if not seg.listed:
            self.list_source = None
        self._referred = False
        for t in group:
            self.caps[t.task_id] = t.capability
            # a copy of a fan-out is named by its own words ("the silly one", "la engraçada")
            own = t.description if len(group) > 1 else seg.instruction
            self.words[t.task_id] = frozenset(tokens(own))
            self.read.update(t.depends_on)

    def named(self) -> frozenset[str]:
        """The words (singular) of every task so far."""
        return frozenset(w.rstrip("s") for ws in self.words.values() for w in ws)

    def _ids(self, group: list[SubTask]) -> list[str]:
        return [t.task_id for t in group]

    def reads(self, seg: Segment, cap: str, takes_data: bool) -> list[str]:
        if seg.listed and not (seg.data or seg.payload):
            # "Then, based on it:\n- a poem\n- a poster": every item reads the same
            if self.list_source is None:
                last = self._ids(self.groups[-1]) if self.groups else []
                self.list_source = self._source(last, cap, seg) if last else []
            return list(self.list_source)
        if not self.groups or seg.data or seg.payload:
            return []
        text = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(seg.instruction))
        words = [w for w in tokens(text) if w not in lx.POLITE]
        last = self._ids(self.groups[-1])
        counted = lx.COUNTED.search(text)
        if counted and seg.joined != "part":
            # "compare the three", "confronta i tre": the last that many results
            ids = [t.task_id for g in self.groups for t in g if t.task_id not in self.read]
            n = lx.NUMBERS[counted.group(1)]
            if 1 < n <= len(ids):
                return ids[-n:]
        if lx.ALL.search(text):
            return [t.task_id for g in self.groups for t in g if t.task_id not in self.read]
        if seg.joined == "part" and self.last_joined == "part":
            return list(self.last_reads)  # "write (a) ... and (b) ...": both read the same
        full = words
        words = self._past_then(words)
        if seg.joined == "and" and self.last_lead and cap not in TRANSFORMS:
            # "With that, write a poem and draw a postcard", "a partir de eso, escribe un
            # poema y dibuja una postal": the reference that led the first holds for both
            self._referred = True
            return list(self.last_reads)
        if (
            len(words) > 2
            and words[0] in _PREPS
            and (words[1] in _REFERS or words[1] in lx.DEMONSTRATIVE)
        ):
            self._referred = True  # "con eso escribe ...", "with that, write ..."
            return self._source(last, cap, seg)
        if cap != "search" and any(w in SAME for w in words):
            return self._source(last, cap, seg)
        if cap == "search":  # a question's "it" is its topic, never an earlier answer
            return self._named_result(words) or []
        head = words[0].split("'")[0] + "'" if words and "'" in words[0] else ""
        if (
            seg.joined == "and"
            and words
            and (words[0] in lx.ARTICLES or head in lx.ARTICLES)
            and self.last_deps
        ):  # "make me a summary of it and a picture", "faz com isso um poema e um cartaz":
            # the verb and what it read hold for both, and for the next in the list
            self._referred = True
            return list(self.last_deps)
        if seg.joined != "item" and (
            lx.PRONOUN.search(text)
            or (words and lx.CLITIC.match(words[0]))
            or (
                len(words) > 1
                and words[0] in _BEFORE_VERB
                and any(_plain(w) in lx.FORGET for w in full[: len(full) - len(words)])
            )
        ):  # list items are parallel jobs: "a poster with cupcakes on it" reads nothing
            self._referred = True
            return self._source(last, cap, seg)
        if seg.final and any(w in lx.MIDDLE_REFERS for w in words[:-1]):
            # German and Dutch, the verb last: "und es danach übersetzen", "en daar een
            # gedicht over schrijven": the object before it is the earlier result
            self._referred = True
            return self._source(last, cap, seg)
        picked = self._ordinal(full)
        if picked:
            self._referred = True
            return picked
        for i, w in enumerate(words[:-1]):
            if w not in lx.DETERMINER:
                continue
            if seg.joined == "item" and w not in lx.DEMONSTRATIVE:
                continue  # list items are parallel: "the translation of ..." names no item
            if i + 2 < len(words) and words[i + 2] in lx.ONE:
                named = self._naming(words[i + 1])  # "the sad one": a short word names it
                if named:
                    return named
            for noun in words[i + 1 : i + 3]:
                if _result(noun):
                    return self._naming(noun) or last
                if len(noun) > 3 and noun not in lx.FUNCTION:
                    # "that turtle" names any earlier task's words; "the moral", the last's
                    named = self._naming(noun, None if w in lx.DEMONSTRATIVE else 1)
                    if named:
                        return named
                    if w in lx.DEMONSTRATIVE and seg.joined != "item":
                        # "that mountain", "ce peintre", "die uitvinder", "that adapter":
                        # a thing named by a demonstrative is the last result (list items
                        # are parallel jobs)
                        return last
        if cap in TRANSFORMS and not seg.quoted and _content(words, True) <= 1:
            return last
        producer = any(t.capability in PRODUCERS for t in self.groups[-1])
        then_inside = re.search(rf"\b(?:{lx.THEN})\b", " ".join(full[:5]))
        if (seg.joined == "then" or then_inside) and producer and cap in CONSUMERS:
            # "look up X, then write ...", "und schreib mir danach ...": what was looked up
            # or analysed is the material
            return last
        if takes_data:
            return last
        return []

    @staticmethod
    def _past_then(words: list[str]) -> list[str]:
        """Without the "then", "also" that open it ("Poi disegnalo": the verb is "disegnalo")."""
        k = 0
        while k < len(words) - 1 and (
            words[k] in lx.BACK or words[k] in lx.FUNCTION or words[k] in _AND_WORDS
        ):  # ("y con eso escríbeme ...": "and" too)
            k += 1
        forget = [i for i in range(k, min(k + 3, len(words))) if _plain(words[i]) in lx.FORGET]
        if forget:  # "don't forget to translate it", "n'oublie pas de le traduire"
            k = forget[0] + 1
            while k < len(words) - 1 and (words[k] in lx.NEGATION or words[k] in _AFTER_FORGET):
                k += 1
        return words[k:]

    def _source(self, last: list[str], cap: str, seg: Segment) -> list[str]:
        """ "it" after a fan-out of translations of one text, for a job that is no
        translation or summary ("... in Spanish and Italian, and a picture to go with it"):
        that text, not its copies. "it" in a step joined by "and" to one that read what was
        looked up or analysed ("write a limerick about it and draw a sketch of it"), for a
        job that is no translation or summary: what was looked up, as its sibling read."""
        group = self.groups[-1] if self.groups else []
        read = group[0].depends_on if len(group) == 1 else []
        if (
            seg.joined == "and"
            and cap not in TRANSFORMS
            and group
            and group[0].capability not in TRANSFORMS
            and read
            and all(self.caps.get(d) in PRODUCERS for d in read)
        ):
            return list(read)
        if (
            (len(group) > 1 and cap not in TRANSFORMS)
            # "translate it into Spanish, summarize it, and draw its cover": all of the story
            or (seg.joined == "and" and all(t.capability == "translation" for t in group))
        ) and all(t.capability in TRANSFORMS for t in group):
            deps = {tuple(t.depends_on) for t in group}
            if len(deps) == 1 and len(next(iter(deps))) == 1:
                return list(next(iter(deps)))
        return last

    def _ordinal(self, words: list[str]) -> list[str]:
        """An ordinal after a determiner that names no new thing ("the second one", "El
        primero pásamelo", "het eerste antwoord"): that earlier task, counted from the first."""
        ids = [t.task_id for g in self.groups for t in g]
        for i, w in enumerate(words[:4]):
            rank = lx.ORDINAL.get(w)
            if rank is None or not (
                i == 0 or words[i - 1] in lx.DETERMINER or words[i - 1] in lx.ARTICLES
            ):
                continue
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if (
                not nxt
                or nxt in lx.ONE
                or _result(nxt)
                or lx.CLITIC.match(nxt)
                or nxt in lx.FUNCTION
            ):
                return [ids[rank - 1]] if rank <= len(ids) and len(ids) > 1 else []
        return []

    def _named_result(self, words: list[str]) -> list[str]:
        """ "the answer", "the result": the last group, for a search too."""
        for i, w in enumerate(words[:-1]):
            if w in lx.DETERMINER and words[i + 1] in GENERIC:
                return self._ids(self.groups[-1])
        return []

    def _naming(self, noun: str, depth: int | None = None) -> list[str]:
        """The last task (of the last ``depth`` groups) whose own words hold ``noun``."""
        stem = noun.rstrip("s")
        for group in list(reversed(self.groups))[:depth]:
            for t in group:
                if any(w.rstrip("s") == stem for w in self.words[t.task_id]):
                    return [t.task_id]
        return []
