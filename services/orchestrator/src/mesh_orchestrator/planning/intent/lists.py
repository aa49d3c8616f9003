"""Lists and enumerations in a request, in any of the seven languages.

The lines of a list (``-``, ``*``, ``1.``, ``a)``, ``(b)``), lettered or numbered parts inside
a line ("(1) ... (2) ...", "1. ... 2. ..."), ordinals in running text ("First, ... second,
...") and things counted before a colon or a dash ("two things: a ... and a ...") are parts
of their own; a hard-wrapped line runs on into the next. ``segment`` asks these functions
for a request's units and a piece's counted things; whether a piece opens a job is the
``Grammar``'s to say (``segment.Segmenter``), passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from mesh_orchestrator.planning.clauses import _PLACEHOLDER_RE
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.fanout import _items as _list_items
from mesh_orchestrator.planning.intent.fanout import lists_after_colon
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.model import normalize, tokens

_ITEM = re.compile(
    r"^\s*(?:[-*\u2022\u2013]|\(?\d{1,2}[.)]|\(?[a-hA-H]\)|\([a-hA-H]\)|[A-Ha-h]\."
    # round 16: "(i) ...", "ii) ...": lines counted in Roman numerals
    r"|\(?(?:i{1,3}|iv|vi{0,3}|I{1,3}|IV|VI{0,3})\)"
    # "1 - traduz ...", "A - escreve ...": a number or a letter and a dash
    r"|(?:\d{1,2}|[A-Ha-h])\s+[-\u2013\u2014])\s+"
)
# "1 chi ha inventato ...", "2 traduci ...": lines led by bare numbers that count up from 1
_BARE_NUMBER = re.compile(r"^\s*(\d{1,2})\s+(?=[^\W\d])")
# "A. résume ... B. écris ...", "a. ... b. ...": letters with a dot inside one line, from A/a on
_INLINE_LETTER = re.compile(r"(?:^|(?<=\s))([A-Ha-h])\.\s+")
# "1. ... 2. ... 3. ..." inside one line: numbers that count up from 1.
_INLINE_NUMBER = re.compile(r"(?:^|(?<=\s))(\d{1,2})\.\s+")
_INLINE_ITEM = re.compile(r"(?:^|(?<=[\s,;:]))\(?(?:[a-h]|[A-H]|\d{1,2})\)\s+")
# Round 16: "(i) ... (ii) ..." inside one line (any script writes them): Roman numerals, taken
# as marks only when they count up from i ("(i) a summary (ii) a picture"), so a lone "(i)" or
# "v)" in running text marks nothing.
_INLINE_ROMAN = re.compile(r"(?:^|(?<=[\s,;:>]))\(?(i{1,3}|iv|vi{0,3}|I{1,3}|IV|VI{0,3})\)\s+")
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii")


def _roman(unit: str) -> list[re.Match[str]]:
    """ "(i) ... (ii) ..." marks in a line, when they count up from i."""
    marks = list(_INLINE_ROMAN.finditer(unit))
    if len(marks) >= 2 and [m.group(1).lower() for m in marks] == list(_ROMAN[: len(marks)]):
        return marks
    return []


def _inline_marks(unit: str) -> list[re.Match[str]]:
    """A line's lettered or numbered parts: "(a) ... (b) ...", "(i) ... (ii) ...", "1. ... 2."."""
    return list(_INLINE_ITEM.finditer(unit)) or _roman(unit) or _counted(unit)


COLON = re.compile(r":\s+(?=\S)")
# Things counted and then listed after a dash or a comma instead of a colon ("I need two
# things - a ... and a ...", "mi servono due cose, un ... e la ...").
_COUNTED_THINGS = re.compile(
    r"\b(?:"
    + "|".join(sorted((w for w in lx.NUMBERS if w != "both"), key=len, reverse=True))
    + r")\s+(?:[\w\u00c0-\u017f]+\s+)?(?:"
    + "|".join(sorted(lx.THINGS, key=len, reverse=True))
    + r")\b(?:\s+[-\u2013\u2014]\s+|,\s+)(?=\S)",
    re.I,
)
# Asks counted or named by a head before a list ("two questions:", "três pedidos:", "a few
# errands:"): like ``lx.THINGS``, they name no job of their own.
_ASKS = lx_words(
    "questions requests asks tasks jobs errands favours favors preguntas pedidos peticiones encargos "
    "tareas recados cosillas cositas coisinhas demandes taches trucs choses fragen aufgaben anliegen sachen perguntas "
    "tarefas trabalhos domande richieste compiti lavori vragen klussen verzoeken klusjes taken zaakjes"
)
# "quick list:", "lista veloce:": a short head that names a list and asks nothing itself.
_LIST = lx_words("list lista liste lijst lijstje")
# Definite articles in the seven languages (an item of a counted list may start with one).
_DEFINITE = lx_words("the el la lo los las le les l il i gli o a os as der die das den dem de het")
# "another" (one more of the things counted): "una versión ... y otra resumida".
_OTHER = lx_words("another otra otro autre altra altro outra outro andere anderen ander")
# "for"/"about" after a thing to make: "one for students", "uno para niños", "eine für ...".
_FOR = lx_words("for about on para sobre pour sur fur uber per su voor over")
# Words a hard-wrapped line may end on: the sentence goes on in the next line.
_RUNS_ON = frozenset(
    [
        "and",
        "or",
        "but",
        "the",
        "a",
        "an",
        "of",
        "to",
        "for",
        "with",
        "in",
        "on",
        "at",
        "by",
        "from",
        "that",
        "which",
        "y",
        "o",
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "en",
        "con",
        "para",
        "por",
        "et",
        "ou",
        "le",
        "les",
        "des",
        "du",
        "au",
        "aux",
        "pour",
        "avec",
        "und",
        "oder",
        "der",
        "die",
        "das",
        "den",
        "dem",
        "ein",
        "eine",
        "mit",
        "fur",
        "von",
        "zu",
        "im",
        "e",
        "ou",
        "os",
        "as",
        "do",
        "da",
        "dos",
        "das",
        "em",
        "com",
        "para",
        "il",
        "lo",
        "gli",
        "di",
        "del",
        "della",
        "per",
        "con",
        "en",
        "of",
        "het",
        "de",
        "van",
        "met",
        "voor",
    ]
)


# Ordinal adverbs that count items in running text ("First, ... Second, ...", "Erstens ...
# und zweitens ...", "en primer lugar ... en segundo lugar"), by rank; "second" alone is
# no marker ("a second poem"): only at a clause's start, and only once "first" was said.
_ORDINALS = (
    r"first(?:ly)?|first of all|erstens|zun[aä]chst einmal|primero|en primer lugar|"
    r"premi[eè]rement|en premier|em primeiro lugar|primeiro|in primo luogo|primo|ten eerste",
    r"second(?:ly)?|zweitens|segundo|en segundo lugar|deuxi[eè]mement|en second|"
    r"em segundo lugar|in secondo luogo|secondo|ten tweede",
    r"third(?:ly)?|drittens|tercero|en tercer lugar|troisi[eè]mement|em terceiro lugar|"
    r"terceiro|in terzo luogo|terzo|ten derde",
    r"fourth(?:ly)?|viertens|cuarto|en cuarto lugar|quatri[eè]mement|quarto|ten vierde",
)
# (round 17: a rank also follows a quotation that closed the rank before it, "First,
# summarise this: \"...\" Second, write ...", "Erstens: ... „...“ Zweitens: ...", and may take a
# colon after it: otherwise the next rank was read as more of the pasted text)
_ORDINAL = re.compile(
    r"(^|[.,;:!?][\"'\u201c\u201d\u00bb\u2019]?\s+|[\"\u201c\u201d\u00bb\u2019]\s+"
    r"|\s[-\u2013\u2014]\s+|\s(?:and|y|et|und|e|en)\s+)("
    + "|".join(f"(?P<o{k}>{o})" for k, o in enumerate(_ORDINALS))
    + r")\b[,:]?\s*",
    re.IGNORECASE,
)


class Grammar(Protocol):
    """What a list asks of the clause grammar (``segment.Segmenter``)."""

    def opens_job(self, piece: str, questions: bool = True) -> bool: ...

    def verb_first(self, piece: str) -> bool: ...


def units(
    text: str, grammar: Grammar, sentences: Callable[[str], list[str]]
) -> list[tuple[str, str]]:
    """A request's units ``(joined, text)``: list items and lines, lines of one paragraph
    that run on joined, the parts a line counts split; ``sentences`` splits the head before
    a line's parts into its sentences."""
    units: list[tuple[str, str]] = []
    lines = text.split("\n")
    bare = _bare_numbered(lines)
    for at, line in enumerate(lines):
        if not line.strip():
            units.append(("para", ""))
            continue
        if at in bare:  # "1 chi ha inventato ...": a numbered line without a dot
            units.append(("item", line[bare[at] :].strip()))
            continue
        m = _ITEM.match(line)
        if m:
            rest = line[m.end() :].strip()
            if (
                (_INLINE_ITEM.search(rest) and _INLINE_ITEM.match(line.lstrip()))
                or len(_roman(line.strip())) >= 2
                or len(_counted(line.strip())) >= 2
            ):
                units.append(("item", line.strip()))  # "(1) ... (2) ...": split below
            else:
                units.append(("item", rest))
            continue
        line = line.strip()
        if units and not units[-1][1] and units[-1][0] == "para":
            units[-1] = ("para", line)  # the first line of a new paragraph
            continue
        if (
            units
            and units[-1][1]
            and units[-1][0] != "item"
            and units[-1][1][-1] not in _CLOSED
            and not line[:1].isupper()
            # (round 16: the line before, as lines join, is read in its last ``_RUN_CHARS``:
            # read whole at each line, a paste of thousands of short lines was quadratic)
            and (_wrapped(units[-1][1][-_RUN_CHARS:]) or not _listy(line))
            # a thing to make after a short line is a line of a list, not a wrap ("korte
            # tekst voor ...\neen afbeelding van ...")
            and not (_thing_first(line) and _short(units[-1][1]))
        ):
            units[-1] = (units[-1][0], units[-1][1] + " " + line)
        elif units and units[-1][1] and not line[:1].isupper() and units[-1][0] != "item":
            units.append(("line", line))  # a list written one short line a job
        else:
            units.append(("sentence", line))
    units = _listed_lines(units, grammar)
    out: list[tuple[str, str]] = []
    for joined, unit in units:
        if not unit:
            continue
        marks = _inline_marks(unit)
        if len(marks) >= 2 or (joined == "item" and marks and marks[0].start() == 0):
            head = unit[: marks[0].start()].strip()
            shared = bool(head) and not re.search(r"[.!?:\u27e7\u27eb]$", head)
            if shared and any(w in lx.THINGS or w in _ASKS for w in tokens(head)):
                # "Mi servono tre cose diverse 1) ... 2) ...": a head that counts things names
                # no job to share; each part is its own ("3) quanto è alto ...": a question)
                shared = False
            then = re.search(rf"\s*[,;]?\s*\b(?:{lx.THEN})\s*[,:]?$", normalize(head))
            mid = [
                m
                for m in re.finditer(rf"[,;]\s*\b(?:{lx.THEN})\b,?\s*", normalize(head))
                if m.end() < len(head)
            ]
            if shared and then and len(normalize(head)) == len(head) and then.start() > 0:
                # "analyse these readings, then (1) write ... and (2) translate ...": the
                # head is a step of its own, and the parts come after it
                out.append((joined, head[: then.start()]))
                head, shared, joined = "", False, "then"
            elif shared and mid and len(normalize(head)) == len(head) and mid[-1].start() > 0:
                # round 16: "find anything odd, then off the back of that give me (a) ...
                # and (b) ...": the step before ", then" is one of its own; the words after
                # it are what the parts share
                out.append((joined, head[: mid[-1].start()]))
                head, joined = head[mid[-1].end() :], "then"
            if shared:  # earlier sentences of the head stand alone
                *before, head = sentences(head)
                for sentence in before:
                    out.append((joined, sentence))
                    joined = "sentence"
            if head and not shared:
                out.append((joined, head))
            for k, m in enumerate(marks):
                end = marks[k + 1].start() if k + 1 < len(marks) else len(unit)
                item = re.sub(rf"\s*,?\s*\b(?:{lx.AND})$", "", unit[m.end() : end].strip(" ,;"))
                if shared:  # "With that in hand, write (a) a note and (b) a message"
                    out.append(("part", f"{head} {item}"))
                elif joined == "then" and k == 0:
                    out.append(("then", item))
                else:
                    out.append(("item", item))
        else:
            out.append((joined, unit))
    return out


def _bare_numbered(lines: list[str]) -> dict[int, int]:
    """The lines led by a bare number, when two or more of them count up from 1 ("1 who ...",
    "2 translate ..."): line -> where its text starts."""
    found = [(k, _BARE_NUMBER.match(line)) for k, line in enumerate(lines)]
    marks = [(k, m) for k, m in found if m is not None]
    if len(marks) < 2 or [int(m.group(1)) for _, m in marks] != list(range(1, len(marks) + 1)):
        return {}
    return {k: m.end() for k, m in marks}


def announces(head: str, grammar: Grammar) -> bool:
    """A head that asks nothing itself and says that asks follow: it counts or names them
    ("Drie dingen", "Tenho três pedidos", "few things pls", "quick list", "Deux questions"),
    no verb of a job first."""
    words = [w for w in tokens(head) if w not in lx.POLITE]
    if not words or grammar.verb_first(head):
        return False
    if any(w in lx.THINGS or w in _ASKS for w in words):
        return True
    return len(words) <= 5 and any(w in _LIST for w in words)


def _listed_lines(units: list[tuple[str, str]], grammar: Grammar) -> list[tuple[str, str]]:
    """The lines after a line that ends with a colon: a list of jobs when that line asks
    none itself ("Folgendes bräuchte ich:" and a line a job, no markers) and most of them
    open one; the material of its job when it asks one ("Mach mir daraus ein Protokoll:"
    and notes in bullets) and most of them open none. Round 17: the notes may be long
    ("- Dana: vendor quote came in 15% over budget, will renegotiate by the 20th"), and the
    ask may end with its question mark ("Kannst du das Protokoll zusammenfassen?" and a line
    an item of the minutes, markers or none)."""
    out = list(units)
    for k, (joined, unit) in enumerate(units):
        question = unit.rstrip().endswith("?")
        if not (unit.rstrip().endswith(":") or question) or joined in ("item", "para"):
            continue
        first = k + 1
        if first < len(units) and units[first] == ("para", ""):
            first += 1  # a blank line between the ask and its bullets
        run = first
        while run < len(units) and units[run][1] and units[run][0] in ("sentence", "item"):
            run += 1
        head = unit.rstrip(" :")
        if not question and announces(head, grammar):
            # "Drei dingen:\neen bedankje ...\nwat is een komeet\n...", "quick list:\n• ...":
            # each line is an ask of its own, with markers or without, whatever it starts with
            end = first
            while (
                end < len(units) and units[end][1] and units[end][0] in ("sentence", "item", "line")
            ):
                end += 1
            listed = units[first:end]
            if len(listed) >= 2 and all(len(tokens(u)) <= 24 for _, u in listed):
                out[first:end] = [("item", u) for _, u in listed]
                continue
        lines = units[first:run]
        if len(lines) < 2 or any(len(tokens(u)) > _NOTE_WORDS for _, u in lines):
            continue
        short = all(len(tokens(u)) <= 12 for _, u in lines)
        jobs = sum(grammar.opens_job(u) for _, u in lines)
        asks = grammar.verb_first(head) or any(
            _plural_forms(w) & lx.JOB_NOUNS for w in tokens(head)
        )  # "Turn this into minutes:", not "Necesito esto:
        kinds = {j for j, _ in lines}
        if not asks and not question and short and 2 * jobs > len(lines) and kinds == {"sentence"}:
            out[k + 1 : run] = [("item", u) for _, u in lines]
        elif (
            asks and 2 * jobs < len(lines) and (kinds == {"item"} or (question and len(kinds) == 1))
        ):
            body = ", ".join(u.rstrip(" .;,") for _, u in lines)
            # (after a question mark, a colon: the notes are its material, no new sentence)
            out[k] = (joined, f"{unit.rstrip()}: {body}" if question else f"{unit} {body}")
            out[k + 1 : run] = [("sentence", "") for _ in range(k + 1, run)]
    return out


# The most words a line of notes after an ask may have (a longer one is prose of its own).
_NOTE_WORDS = 40


def counted_list(piece: str, grammar: Grammar) -> tuple[str, list[str]] | None:
    """``(head, items)`` when a head that opens no job counts the things after its colon
    ("two things: a ... and a ..."), each a thing to make (an article first)."""
    m = COLON.search(piece) or _COUNTED_THINGS.search(piece)
    if m is None or _PLACEHOLDER_RE.match(piece, m.end()):
        return None
    head, rest = piece[: m.start()], piece[m.end() :].strip().rstrip(" .!?")
    if m.re is _COUNTED_THINGS:  # "two things - a ... and a ...", "due cose, un ..."
        head = piece[: m.end()].rstrip(" ,-\u2013\u2014")
    words = tokens(head)
    things = any(w in lx.THINGS for w in words)
    if not lists_after_colon(head, rest):
        return None
    if grammar.opens_job(head) and not any(w in lx.THINGS for w in words):
        return None  # (not "Con eso quiero dos cosas: ...": things, whatever the verb)
    if not any(w in lx.NUMBERS for w in words):
        return None
    counted = [
        w
        for k, n in enumerate(words)
        if n in lx.NUMBERS
        for w in words[k + 1 : k + 3]  # the thing counted, maybe after a word that describes it
    ]
    if any(_plural_forms(w) & lx.JOB_NOUNS for w in counted):
        return None  # "three separate images: a ..., a ...": one job handed out (fanout)
    items = _list_items(rest)
    if not items or not all(
        tokens(i)[:1]
        and (
            tokens(i)[0] in lx.ARTICLES
            or (k > 0 and tokens(i)[0] in _OTHER)  # "... y otra resumida", "and another ..."
            # things counted: "the translation" is one of them as well
            or (things and tokens(i)[0].split("'")[0] in _DEFINITE)
        )
        for k, i in enumerate(items)
    ):
        return None
    first = items[0].split()
    at = next((k for k, w in enumerate(first) if k and normalize(w) in _FOR), 0)
    for k, item in enumerate(items[1:], 1):
        rest_words = item.split()
        if at and len(rest_words) > 1 and normalize(rest_words[1]) in _FOR:
            # "eine für Studierende": the thing of the first item ("eine Erklärung")
            items[k] = " ".join(first[:at] + rest_words[1:])
    return head, items


def _plural_forms(noun: str) -> set[str]:
    """The singulars a plural may have in the seven languages (images, Bilder, tekeningen,
    immagini, disegni)."""
    forms = {noun, noun.rstrip("s"), noun[:-2], noun[:-1]}
    return forms | {noun[:-1] + v for v in "eoa"}


def number_ordinals(text: str) -> str:
    """ "First, X; second, Y": "(1) X; (2) Y", when the ranks run 1, 2, ... in order."""
    marks = list(_ORDINAL.finditer(text))
    ranks = [next(k for k in range(len(_ORDINALS)) if m.group(f"o{k}")) for m in marks]
    if len(marks) < 2 or ranks != list(range(len(marks))):
        return text
    out, last = [], 0
    for k, m in enumerate(marks):
        joint = m.group(1) if not m.group(1).strip().isalpha() else " "  # "and secondly"
        out.append(text[last : m.start()] + joint + f"({k + 1}) ")
        last = m.end()
    return "".join(out) + text[last:]


# What closes a line (a sentence's mark, a colon, a pasted block's placeholder).
_CLOSED = frozenset(".!?:\u27e7\u27eb")
# How much of the lines joined so far ``units`` reads to tell whether the next line runs on.
_RUN_CHARS = 600


def _short(line: str) -> bool:
    """A short line: twelve words at most (one of more than ``_RUN_CHARS`` characters is
    not, and is not read)."""
    return len(line) <= _RUN_CHARS and len(tokens(line)) <= 12


def _wrapped(line: str) -> bool:
    """A line that looks cut by a hard wrap: long (nine words and as wide as a wrapped line:
    a short line of nine short words is a list item), or ending on a comma or a word that
    needs more ("... and", "... of the")."""
    words = tokens(line)
    long = len(words) >= 9 and len(line.strip()) >= _WRAP_WIDTH
    return long or line.rstrip().endswith(",") or (bool(words) and words[-1] in _RUNS_ON)


_WRAP_WIDTH = 60


def _listy(line: str) -> bool:
    """A short line of its own (a list written without markers: one job a line)."""
    return len(tokens(line)) <= 10


def _thing_first(line: str) -> bool:
    """A line that starts with an article and a thing the mesh makes ("a drawing of ...",
    "een afbeelding van ...", "uma legenda para ...")."""
    words = tokens(line)
    return (
        len(words) > 1
        and words[0] in lx.ARTICLES
        and any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words[1:3])
    )


def _counted(unit: str) -> list[re.Match[str]]:
    """ "1. ... 2. ... 3. ..." marks in a line, when they count up from 1."""
    marks = list(_INLINE_NUMBER.finditer(unit))
    if len(marks) >= 2 and [int(m.group(1)) for m in marks] == list(range(1, len(marks) + 1)):
        return marks
    for case in (str.isupper, str.islower):  # "A. ... B. ...", "a. ... b. ...": A, B, C in order
        letters = [m for m in _INLINE_LETTER.finditer(unit) if case(m.group(1))]
        run = [m for k, m in enumerate(letters) if ord(m.group(1).lower()) - ord("a") == k]
        if len(run) >= 2 and len(run) == len(letters) and run[0].start() == 0:
            return run
    return []
