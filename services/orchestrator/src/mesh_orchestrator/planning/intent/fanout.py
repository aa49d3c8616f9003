"""Enumerations inside one segment: one task per item.

* a translation into several languages named in any of the seven languages ("into French
  and Korean", "al francés, al alemán y al italiano", "ins Englische und ins Französische"),
  or counted ("in two languages") with none named;
* "one about X and one about Y" (and "uno sobre X y otro sobre Y", "un sur X et un sur Y"...);
* "X and another Y";
* a list of things the request says to take one at a time: a distributive word ("for each
  of", "one per city", "para cada", "pour chacune", "für jede", "per ogni", "voor elke") or a
  count that matches the list ("three separate images: a ..., b ... and c ...") with a list of
  two to six short items (in brackets, after or before a colon, or after the distributive
  word);
* a question word said again for each thing asked ("who built X, who Y and who Z", "qué es X,
  qué es Y y qué es Z"): one lookup per question.
Each copy keeps the segment's words with one item in place of the list.
"""

from __future__ import annotations

import itertools
import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.model import normalize, tokens

_PREP = r"(?:into|to|in|al|a|en|au|ins|auf|para|pro|em|naar|het|le|el|lo|il|l')"
_JOIN = r"(?:,\s*(?:and\s+|y\s+|et\s+|und\s+|e\s+|en\s+)?|\s+(?:and|y|et|und|e|en|&|or|ou|oder|of|o)\s+)"
_ONE = r"(?:one|uno|una|un|une|eins|einen|eine|um|uma|een)"
_ABOUT = (
    r"(?:about|on|of|for|to|sobre|sur|de|uber|ueber|su|di|over|van|com|with|mit|avec|con|met|"
    r"a|para|pour|an|fur|per|voor|aan)"
)
_OTHER = (
    r"(?:another|one|otro|otra|un autre|une autre|un|une|eins|einen|eine|ein anderes|"
    r"outro|outra|um|uma|un altro|un'altra|uno|una|een|nog een|een ander)"
)
_ONE_AND_ONE = re.compile(
    rf"\b{_ONE}\s+({_ABOUT})\s+(.+?)\s*,?\s+(?:and|y|et|und|e|en)\s+{_OTHER}\s+(?:{_ABOUT}\s+)?(.+)$",
    re.IGNORECASE,
)
_ANOTHER = re.compile(r"^(\W*[\w-]+)\s+(.+?)\s*,?\s+and\s+another\s*,?\s+(.+)$", re.IGNORECASE)
# "a serious slogan for X and a silly one for Y", "un eslogan para X y otro para Y", "einen
# Witz über X und einen über Y", "un poème sur X et un autre sur Y", "een gedicht over X en
# nog een over Y": the thing made twice; the second copy keeps the verb
_AND_ONE = re.compile(
    r"\s*,?\s+(?:(?:and|plus)\s+(?:a|an)\s+[\w-]+\s+one\b|(?:and|plus)\s+one\s+(?=(?:about|for|on|in|with)\b)"
    r"|(?:y|e)\s+(?:otro|otra|outro|outra|un altro|un'altra|uno|una)\b(?=\s*,?\s+\w)"
    r"|(?:y|e)\s+(?:uno|una|um|uma)\s+(?=(?:sobre|para|su|per|di|com|con)\b)"
    r"|et\s+(?:un autre|une autre|un|une)(?:\s*,[^,]{1,40},)?\s+(?=(?:sur|pour|avec|de)\b)"
    # (one more in another language: "un tuto en anglais et un autre en espagnol")
    r"|et\s+(?:un autre|une autre)\s+(?=(?:en|au|aux)\b)"
    r"|und\s+(?:noch\s+)?(?:einen|eine|eins|ein)(?:\s+(?:anderen|andere|anderes))?(?:\s*,[^,]{1,40},)?\s+"
    r"(?=(?:uber|über|fur|für|zu|mit|von|auf|in)\b)"
    r"|en\s+(?:nog een|een ander|een andere|een)(?:\s*,[^,]{1,40},)?\s+(?=(?:over|voor|met|van)\b)"
    r"|en\s+(?:nog een|een ander|een andere)\s+(?=in\b))",
    re.IGNORECASE,
)
# "two tweets, one funny and one serious": one copy per kind
_ONE_EACH = re.compile(r",?\s*\bone\s+([\w-]+)\s+and\s+one\s+([\w-]+)\s*$", re.IGNORECASE)


# Words that hand the job out one item at a time, after ``normalize`` (no accents).
_EACH = re.compile(
    r"\b(?:each|every|per|apiece|separate|individual|cada|chaque|chacun|chacune|chacuns|"
    r"separe|separes|separee|separees|jede|jeden|jedes|jeder|jeweils|eigenes|eigene|eigenen|"
    r"einzeln|einzelne|ogni|ciascun|ciascuno|ciascuna|separato|separata|separati|separate|"
    r"elk|elke|ieder|iedere|apart|aparte|separado|separada|separados|separadas)\b"
)
# Italian "per" is "for": before an article, a possessive or a pronoun ("per il matrimonio di
# Luca e Giulia", "per la nonna") it hands nothing out, as English and Dutch "per" does.
_PER_FOR = re.compile(
    r"\bper\s+(?:il|lo|la|l|i|gli|le|un|una|uno|mio|mia|miei|mie|tuo|tua|tuoi|tue|suo|sua|"
    r"suoi|sue|nostro|nostra|nostri|nostre|vostro|vostra|loro|questo|questa|questi|queste|quel|"
    r"quello|quella|quei|quelle|me|te|lui|lei|noi|voi|favore|tutti|tutte)\b"
)


def _hands_out(norm: str, lead: str = "") -> bool:
    """``norm`` (normalized) says to take a list one item at a time. ``lead``: the normalized
    words before the list; a "per" that leads the list itself ("una poesia per Anna e
    Marta") is Italian "for"."""
    lead = lead.rstrip(" :,")
    for m in _EACH.finditer(norm):
        if m.group(0) != "per":
            return True
        if _PER_FOR.match(norm, m.start()) or (lead and lead.endswith(" per")):
            continue
        return True
    return False


_AND_WORD = r"(?:and|y|e|et|und|en|&)"
# What follows French or Spanish "en" (in): a language, a count, an article.
_EN_IN = frozenset(lx.LANGUAGES) | lx_words(
    "un une una unos unas uno quelques deux dos trois tres quatre cuatro cinq cinco pocas pocos"
)
# one item of a list: up to eight words, no clause punctuation inside
_ITEM_WORDS = 8


def _items(region: str) -> list[str] | None:
    """The items of "A, B and C" (two to six), each as written, or None."""
    m = next(
        (
            m
            for m in re.finditer(rf",?\s+{_AND_WORD}\s+", region)
            # French/Spanish "en" (in) before a language or a count is no Dutch "and"
            # ("una versión en francés y otra ...", "en dos frases")
            if not (
                m.group(0).strip(" ,").lower() == "en"
                and (tokens(region[m.end() :])[:1] or [""])[0] in _EN_IN
            )
        ),
        None,
    )
    if not m:
        return None
    head, tail = region[: m.start()], region[m.end() :]
    last = re.split(r"[,;:.?!]", tail, maxsplit=1)[0]
    items = [i.strip() for i in head.split(",")] + [last.strip()]
    if not 2 <= len(items) <= 6 or any(
        not i or len(i.split()) > _ITEM_WORDS or re.search(r"[;:?!()]", i) for i in items
    ):
        return None
    return items


def _list_span(instruction: str) -> tuple[int, int, list[str]] | None:
    """Where a list of items sits: in brackets, after or before a colon, after "each of".
    Of several candidates, the one with the shortest items."""
    found: list[tuple[int, int, list[str]]] = []
    for m in re.finditer(r"\(([^()]+)\)", instruction):
        items = _items(m.group(1))
        if items:
            found.append((m.start(), m.end(), items))
    colon = re.search(r":\s+", instruction)
    if colon:
        after = instruction[colon.end() :].rstrip(" .!?")
        items = _items(after)
        if (items and items[-1] == re.split(r"[,;:.?!]", after.split(" ")[-1])[0]) or (
            items and after.endswith(items[-1])
        ):
            found.append((colon.end(), colon.end() + len(after), items))
        before = re.sub(r"^\W*\w+\s+", "", instruction[: colon.start()])  # "For A, B and C:"
        items = _items(before)
        if items and before.endswith(items[-1]):
            found.append((colon.start() - len(before), colon.start(), items))
    first_comma = instruction.find(",")
    leads = [m for m in _LEAD.finditer(instruction) if first_comma < 0 or m.end() <= first_comma]
    lead = leads[-1] if leads else None  # "for each of A, B": the word right before A
    if lead:
        rest = instruction[lead.end() :]
        items = _items(rest)
        if items:
            end = lead.end() + rest.index(items[-1]) + len(items[-1])
            found.append((lead.end(), end, items))
    if not found:
        return None
    return min(found, key=lambda f: max(len(i.split()) for i in f[2]))


_LEAD = re.compile(
    r"\b(?:of|de|di|van|von|des|dos|das|dei|delle|degli|for|fur|für|pour|para|per|voor)\s+",
    re.IGNORECASE,
)


def _distributed(instruction: str) -> list[str] | None:
    """One copy of ``instruction`` per item of a list it says to take one at a time (a
    list inside a quotation is the quotation's, not the request's)."""
    if re.search(r"[\"\u201c\u201d\u00ab\u00bb\u27ea]", instruction):
        return None
    if "," not in instruction and not re.search(rf"\s{_AND_WORD}\s", instruction):
        return None  # every list of items has a comma, or an "and" between two
    span = _list_span(instruction)
    if span is None:
        return None
    start, end, items = span
    norm = normalize(instruction)
    # a count said before the list ("three separate images: ..."), not in data after it
    counted = [
        lx.NUMBERS[w] for w in tokens(instruction[:start]) if w in lx.NUMBERS and w != "both"
    ]
    if not (_hands_out(norm, normalize(instruction[:start])) or len(items) in counted):
        return None
    return [f"{instruction[:start]}{item}{instruction[end:]}".strip() for item in items]


def distributes(text: str) -> bool:
    """The text hands a job out over a list of items ("three pictures: a ..., b ... and c")."""
    return _distributed(text) is not None


def lists_after_colon(head: str, rest: str) -> bool:
    """All of ``rest`` (after a colon) is a short list that ``head`` hands a job out over
    ("three pictures: a kite, a snail and a teapot"), not pasted prose."""
    rest = rest.strip().rstrip(" .!?")
    items = _items(rest)
    if not items or not rest.endswith(items[-1]):
        return False
    counted = [lx.NUMBERS[w] for w in tokens(head) if w in lx.NUMBERS and w != "both"]
    return _hands_out(normalize(head)) or len(items) in counted


def leads_list(piece: str) -> bool:
    """ "For each of A, B and C" alone: a distributive list that leads the clause after it."""
    span = _list_span(piece)
    return (
        span is not None
        and _hands_out(normalize(piece))
        and span[1] >= len(piece.rstrip(" ,:.")) - 1
    )


def without_list(text: str) -> str:
    """The words of a distributing text that say the job, the items being only what it is
    done for: the clause after a leading list ("look up how many moons it has"), or else the
    words before it ("Please draw three pictures for me")."""
    span = _list_span(text) if distributes(text) else None
    if span is None:
        return text
    after = text[span[1] :].strip(" :,.")
    if len(after.split()) >= 3:  # "For each of A, B and C, look up ...": the clause after
        return after
    return text[: span[0]].strip(" :,(")  # "Draw three pictures: A, B and C"


def _asked_again(instruction: str) -> list[str] | None:
    """ "who built X, who Y and who Z": the verb once, one question per item."""
    words = re.findall(r"[\w'\u00c0-\u017f]+|[,;]", instruction)
    cuts = [
        i
        for i in range(1, len(words))
        if normalize(words[i]) in lx.QUESTION
        and (words[i - 1] in (",", ";") or normalize(words[i - 1]) in _AND_SET)
    ]
    # "When was X released, and who made it?": a question about the same thing is no cut
    lead = {normalize(w) for w in words[:3]}
    cuts = [
        c
        for k, c in enumerate(cuts)
        if not any(
            normalize(w) in FOLLOW_UP
            for w in words[c + 1 : (cuts[k + 1] if k + 1 < len(cuts) else len(words))]
        )
        # "quién lo hizo", "quem a fundou": a pronoun right after the question word
        and not (
            c + 2 < len(words)
            and normalize(words[c]) not in lead  # "chi il telefono, chi la radio": a run
            and (
                bool(ELIDED_BACK.match(normalize(words[c + 1])))
                or (normalize(words[c + 1]) in _CLITIC_BACK and words[c + 2][:1].islower())
            )
        )
    ]
    if len(cuts) < 1:
        return None
    first = next((i for i, w in enumerate(words) if normalize(w) in lx.QUESTION), None)
    if first is None or first >= cuts[0]:
        return None
    head = " ".join(words[:first])
    pieces, bounds = [], [first, *cuts, len(words)]
    for a, b in itertools.pairwise(bounds):
        piece = [w for w in words[a:b] if w not in (",", ";")]
        while piece and normalize(piece[-1]) in _AND_SET:
            piece.pop()
        if len(piece) < 2:
            return None
        pieces.append(f"{head} {' '.join(piece)}".strip())
    return pieces


_AND_SET = frozenset({"and", "y", "e", "et", "und", "en"})
_CLITIC_BACK = frozenset({"lo", "la", "le", "les", "los", "las", "li", "a", "o", "as", "os"})
# "l'" and an auxiliary: "pourquoi l'a-t-on construit", "chi l'ha scritto" (not "l'insulina").
ELIDED_BACK = re.compile(r"^l'(?:a|ont|avait|est|ha|hanno|aveva)\b")
# Pronouns that point back at what a question just asked about: "and who made it?", "e dove
# si imposta questo limite?": more about the same thing, one question (not articles: "la",
# "das" and "die" name a new thing as often).
FOLLOW_UP = lx_words(
    "it its this that these those he she him her they them ello eso esto ella ce cela ca "
    "ceci lui elle ihn ihm dies dieser diese dieses isso isto ele ela dele dela questo questa "
    "quello quella cio lui lei er het dit dat hij zij hem"
)


# The little words between the language names of one list: "into French and into German",
# "al inglés, al francés y al alemán", "ins Englische und auf Spanisch", "in het Engels en Duits".
_BETWEEN = lx_words(
    "and or into in to al a en y o au et ou ins auf nach und oder em para pro pra e ou in nel "
    "nell in en of naar het de le la l el lo il the also too as well tambien aussi auch tambem "
    "anche ook a an un une um uma una "
    "uno een ein eine einen one another otra otro outra outro autre altra altro andere version "
    "versions versiones version versao versoes versione versioni fassung fassungen versie "
    "versies translation traduccion traduction ubersetzung traducao traduzione vertaling"
)


# The second half of "both X and Y" between two languages ("tanto al inglés como al alemán",
# "sowohl ins Englische als auch ins Spanische", "tanto para o inglês quanto para o alemão",
# "sia in inglese che in spagnolo", "zowel naar het Engels als naar het Duits", "aussi bien en
# anglais qu'en espagnol"), with the articles it brings ("para o"): the list goes on.
_CORRELATIVE = lx_words("como quanto che als sia que qu o both tanto sowohl zowel ao")


def _languages(text: str) -> list[tuple[str, str]]:
    """``(canonical, form as written)`` of each language of the first list of them, in
    order, once each. A language named further on, apart from that list, is no target ("in
    Spanish for Lucía, her English isn't great")."""
    seen: dict[str, str] = {}
    gap = 0
    for word in re.findall(r"[\w\u00c0-\u017f]+", text):
        canon = lx.LANGUAGES.get(normalize(word))
        if canon:
            if seen and gap:
                break
            seen.setdefault(canon, word)
            gap = 0
        elif seen and normalize(word) not in _BETWEEN | _CORRELATIVE:
            gap += 1
    return list(seen.items())


# "both" and its second half around the languages kept or taken out ("sia in inglese che",
# "sowohl ins Englische als auch", "tanto para o inglês quanto"): gone with the others.
_BOTH_HALF = re.compile(
    rf"\s+(?:{lx.BOTH})(?=\s+(?:{_PREP}\s+)?(?:(?:het|o|a)\s+)?\w)", re.IGNORECASE
)
_AND_HALF = re.compile(rf"(?:\s+(?:{lx.BOTH_AND})(?:\s+{_PREP})?|\s+qu')\s*$", re.IGNORECASE)
_ARTICLE = r"(?:(?:het|o|a|the)\s+)?"


def _keep_one(text: str, keep: str, others: list[str]) -> str:
    # round 17: the preposition the list opens with ("in Spanish, Italian and Dutch") goes
    # to the language kept ("in Italian", not ", Italian"), unless it has one of its own
    lead = re.search(rf"\b({_PREP})\s+(?:het\s+)?(?:{'|'.join(map(re.escape, others))})\b", text)
    for form in others:
        text = re.sub(
            rf"{_JOIN}?(?:{_PREP}\s+)?(?:het\s+)?\b{re.escape(form)}\b", "", text, count=1
        )
    text = re.sub(r"\s+", " ", text).strip(" ,")
    if lead and others:
        text = re.sub(
            rf"(?:\s*,\s*|\s+(?:and|y|et|und|e|en|&|or|ou|oder|of|o)\s+)(?=(?:het\s+)?{re.escape(keep)}\b)",
            f" {lead.group(1)} ",
            text,
            count=1,
        )
        text = re.sub(  # "translate it and into German": the join left before its own one
            rf"(?:\s*,\s*|\s+(?:and|y|et|und|e|en|&|or|ou|oder|of|o)\s+)(?={_PREP}\s+(?:het\s+)?{re.escape(keep)}\b)",
            " ",
            text,
            count=1,
        )
    if others and re.search(rf"\b(?:{lx.BOTH})\b", normalize(text)):
        text = _AND_HALF.sub("", _BOTH_HALF.sub("", text, count=1))
        text = re.sub(  # "traduz para quanto para o alemão": the first half's preposition
            rf"\s+({_PREP})\s+(?:{lx.BOTH_AND})(?=\s+\1\s)", " ", text, count=1, flags=re.I
        )
        text = re.sub(  # "traducilo che in spagnolo", "translate it into and French"
            rf"(?:\s+(?:{lx.BOTH_AND})|\s+qu')(?=\s*(?:{_PREP}\s+)?{_ARTICLE}"
            rf"{re.escape(keep)}\b)",
            " ",
            text,
            count=1,
            flags=re.IGNORECASE,
        )
        text = re.sub(r"\s+", " ", text).strip(" ,")
    return text


_QUOTATION = re.compile(
    r"[\"\u201c\u00ab\u201e]([^\"\u201c\u201d\u00ab\u00bb\u201e]{1,300})[\"\u201d\u00bb\u201c]|(?<![\w'])'([^'\n]{1,300})'(?!\w)"
)


def _quoted_pairs(instruction: str) -> list[str] | None:
    """ "'buon appetito' in tedesco e 'a domani' in portoghese": each quotation with the
    language named right after it (within four words) is a translation of its own; the words
    before the first quotation lead each. None unless every one of two or more has one."""
    quotes = list(_QUOTATION.finditer(instruction))
    if len(quotes) < 2:
        return None
    head = instruction[: quotes[0].start()]
    pieces = []
    for k, q in enumerate(quotes):
        end = quotes[k + 1].start() if k + 1 < len(quotes) else len(instruction)
        after = list(re.finditer(r"[\w\u00c0-\u017f]+", instruction[q.end() : end]))[:4]
        lang = next((w for w in after if normalize(w.group(0)) in lx.LANGUAGES), None)
        if lang is None:
            return None
        pieces.append(f"{head}{instruction[q.start() : q.end() + lang.end()]}".strip())
    return pieces


def fan_out(text: str, instruction: str, cap: str) -> list[tuple[str, str]]:
    """``(text, instruction)`` once per item ``instruction`` enumerates, or the pair itself."""
    if cap == "translation":
        pairs = _quoted_pairs(instruction)
        if pairs:
            return [(p, p) for p in pairs]
        names = _languages(instruction)
        if len(names) > 1:
            forms = [f for _, f in names]
            return [
                (
                    _keep_one(text, f, [o for o in forms if o != f]),
                    _keep_one(instruction, f, [o for o in forms if o != f]),
                )
                for f in forms
            ]
        words = tokens(instruction)
        for i, w in enumerate(words[:-1]):
            if w in lx.NUMBERS and words[i + 1] in lx.LANGUAGE_WORDS:
                return [(text, instruction)] * lx.NUMBERS[w]
        return [(text, instruction)]
    if cap in ("search", "image_generation", "text_generation"):
        copies = (
            _distributed(instruction)
            # the segment's words around the instruction, not pasted prose
            or (_distributed(text) if text != instruction and len(text.split()) <= 40 else None)
            or (_asked_again(instruction) if cap == "search" else None)
        )
        if copies:
            return [(c, c) for c in copies]
    m = _ONE_AND_ONE.search(instruction)
    if m:
        head = instruction[: m.start()]
        return [
            (f"{head}{m.group(1)} {m.group(2)}", f"{head}{m.group(1)} {m.group(2)}"),
            (f"{head}{m.group(1)} {m.group(3)}", f"{head}{m.group(1)} {m.group(3)}"),
        ]
    m = _ONE_EACH.search(instruction)
    if m:
        head = instruction[: m.start()]
        return [(f"{head} ({m.group(1)})",) * 2, (f"{head} ({m.group(2)})",) * 2]
    m = _AND_ONE.search(instruction)
    if m and m.start() > 0 and len(instruction[m.end() :].split()) <= 10:
        verb = instruction.split()[0]
        a = instruction[: m.start()].strip()
        b = f"{verb} {instruction[m.start() :].strip(' ,')}"
        b = re.sub(r"^(\S+)\s+(?:and|plus|y|e|et|und|en)\s+", r"\1 ", b, flags=re.IGNORECASE)
        return [(a, a), (b, b)]
    m = _ANOTHER.match(instruction)
    if m:
        a, b = f"{m.group(1)} {m.group(2)}", f"{m.group(1)} another {m.group(3)}"
        return [(a, a), (b, b)]
    return [(text, instruction)]
