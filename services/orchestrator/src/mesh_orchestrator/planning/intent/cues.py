"""What a segment's words say of it, beyond the job the model reads: small talk, thanks, a
greeting, a statement about the speaker, a question, a negation, an earlier result put into
a language, the thing a "make"/"give" or an "only" names, the thing a count hands out. The
planner's routing (``IntentPlanner._route``) weighs these against the model's probabilities.
"""

from __future__ import annotations

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _SAME
from mesh_orchestrator.planning.intent.fanout import _BETWEEN, distributes, without_list
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.links import _content
from mesh_orchestrator.planning.intent.model import normalize, tokens
from mesh_orchestrator.planning.intent.segment import _ALSO, Segment, version_job

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


def small_talk(seg: Segment) -> bool:
    """A short question to the assistant about itself ("you still there?", "what's your
    name?"): fewer than two words of a subject of its own."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE and w != "?"]
    if not any(w in _YOU for w in words):
        return False
    return (
        _content([w for w in words if w not in _YOU and w.split("'")[0] not in lx.QUESTION], False)
        <= 1
    )


# "you" as many: "jullie", "voi", "vosotros", "vocês", "ihr", "euch".
_YOU_ALL = _YOU | lx_words("jullie voi vosotros vosotras voces ihr euch y'all")


def to_the_assistant(seg: Segment) -> bool:
    """A question put to the assistant about itself ("what do you do on weekends?", "Word
    jij nooit moe?", "Dormez-vous parfois ?"): "you" in it, no question inside it ("do you
    know who ..." asks for a fact), no thing to make, no number."""
    if not question(seg) or seg.data or seg.payload:
        return False
    if not any(w in _YOU_ALL for w in tokens(seg.instruction)):  # ("te" is also polite)
        return False
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE and w != "?"]
    while words and (words[0] in _JOINS or words[0] in _YOU_ALL):
        words = words[1:]  # "E tu come passi le serate?": "and", "you" before the question
    if any(w.split("'")[0] in lx.QUESTION for w in words[1:]):
        return False
    return not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS or w.isdigit() for w in words)


# "for" that opens who or what a result is for: "For my aunt's card.", "Voor de klas."
_PURPOSE = lx_words("for para pra pour fur per voor")


def purpose_only(seg: Segment) -> bool:
    """A short sentence that only says what the result is for ("Voor de kaart van onze
    buurvrouw.", "Es para el tablón del portal."), no question, no colon: no job."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    while words and words[0] in lx_words("it's its es c'est is e das ist het is"):
        words = words[1:]  # "It's for ...", "C'est pour ..."
    return (
        1 < len(words) <= 8
        and words[0] in _PURPOSE
        and "?" not in seg.instruction
        and ":" not in seg.instruction
        and not (seg.data or seg.payload)
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


def thanks(seg: Segment) -> bool:
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return bool(words) and words[0] in _THANKS


# Verbs that say only "make" or "give" (with a clitic or "me" after them): what is made
# decides the job ("hazme un dibujo", "give me a caption", "fais-moi un dessin").
_MAKE = lx_words(
    "make give do get haz hazme haznos dame danos hacer fais fais-moi faites donne donne-moi "
    "mach mache gib gibt faz faca faz-me da-me fai fammi dammi fate maak geef geeft"
)


def made_thing(seg: Segment) -> str | None:
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


# Who wants and the wanting, before or after "only": "I (only) want", "voglio", "ik wil".
_WANT = lx_words("""
    i we want wants need needs would like quiero queremos necesito quisiera je veux voudrais
    ich will mochte brauche wir eu quero preciso queria io voglio vorrei mi serve ik wil
    wou wij
    """)


# Verbs that turn a thing into another ("turn", "convierte", "transforme", "verwandle",
# "trasforma", "maak ... van"), by the start of the word (clitics stay on: "conviértelo").
_TURN = (
    "turn",
    "convert",
    "conviert",
    "transform",
    "trasform",
    "change",
    "cambia",
    "verwandel",
    "verwandl",
    "umwandel",
    "wandel",
    "mach",
    "make",
    "maak",
    "verander",
    "zet",
    "faz",
    "haz",
    "fais",
    "fai",
)
# What a thing is turned into: "into", "en", "in", "em", "num"/"numa" ("em um"), "zu", "tot",
# and "aus"/"van" of "mach aus X ein Y", "maak van X een Y" (the thing made follows).
# the words that frame a question to the assistant before its verb ("could you", "puedes",
# "pourrais-tu", "kannst du", "podes", "potresti", "kun je"), and how far in the verb may stand
_ASK_FRAME = (
    lx_words(
        "you can could would will puedes podrias puede podria tu peux pourrais pouvez pourriez "
        "vous podes podias pode poderia voce puoi potresti puo potrebbe"
    )
    | lx.MODAL
    | lx.MODAL_YOU
)
_FRAME_AT = 16
_INTO = lx_words("into in en em num numa zu zum zur tot naar aus van")
_THEN_LEAD = lx_words(
    "then and so now next luego despues y ensuite puis et alors dann danach und jetzt depois "
    "e agora poi dopo quindi daarna dan en nu"
)


def converted_thing(seg: Segment) -> str | None:
    """The thing a verb of turning makes of a text ("then turn that announcement into a
    poster", "convierte ese aviso en un cartel", "mach aus dieser Ankündigung ein Plakat",
    "trasforma quell'avviso in un poster", "maak van die aankondiging een poster"): the last
    thing the mesh makes that follows "into" or an article, with them ("into a poster"), when
    such a verb opens the clause. What the text was ("announcement") says nothing of the job;
    what it becomes does."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    while words and words[0] in _THEN_LEAD:
        words = words[1:]
    # "my daughter wrote this poem, could you turn it into a picture?": the verb after a
    # question's frame ("could you", "puedes", "pourrais-tu", "kun je") opens the ask
    framed = next(
        (
            k
            for k in range(2, min(len(words), _FRAME_AT))
            if words[k].startswith(_TURN) and words[k - 1] in _ASK_FRAME
        ),
        None,
    )
    if framed is not None and not words[0].startswith(_TURN):
        words = words[framed:]
    if len(words) < 3 or not words[0].startswith(_TURN):
        return None
    if not any(w in _INTO for w in words[1:]):
        return None
    for k in range(len(words) - 1, 1, -1):
        w = words[k]
        if not (w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS):
            continue
        if words[k - 1] in _INTO:
            return " ".join(words[k - 1 : k + 1])  # "en affiche"
        if words[k - 1] in lx.ARTICLES:
            start = k - 2 if words[k - 2] in _INTO else k - 1
            return " ".join(words[start : k + 1])  # "into a poster", "ein Plakat"
    return None


# A wish said in one word ("quiero ...", "voglio ...", "I want ...").
_WANT_ONE = lx_words("want need quiero necesito quero preciso voglio vorrei")


_WISHING = _WANT_ONE | lx_words(
    "like love mochte brauche will wil wou wens veux voudrais aimerais quisiera gostaria "
    "queria quer vorrei serve servono "
    # the wish in the conditional: "bräuchte ich", "I'd need", "necesitaría", "j'aurais
    # besoin d'", "precisaria", "avrei bisogno di", "mi servirebbe", "ik zou ... nodig hebben"
    "brauchte brauchten benotige hatte necesitaria necesitariamos besoin precisaria "
    "precisariamos bisogno servirebbe servirebbero nodig"
)


def wished_thing(seg: Segment) -> str | None:
    """The thing a wish names ("From that, I want a 3-line summary ...", "Com isso, quero um
    resumo pra ...", "daraus möchte ich eine Zusammenfassung"): a wish word among the first
    five, then an article and a thing the mesh makes; the article and the thing, else None."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    for k, w in enumerate(words[:5]):
        if w not in _WISHING:
            continue
        for j in range(k + 1, min(len(words) - 1, k + 4)):
            if words[j] not in lx.ARTICLES:
                continue
            for noun in words[j + 1 : j + 3]:
                if noun in lx.JOB_NOUNS or noun.rstrip("s") in lx.JOB_NOUNS:
                    return f"{words[j]} {noun}"
            return None
        return None
    return None


# What may follow a picture's name in a phrase that names one: "cover art for ...", "un
# cartel para ...", "ein Plakat für ...", "a poster with ...", or nothing.
_PICTURE_THEN = lx_words(
    "for of about with to para de del sobre con pour du des sur avec fur von uber mit zum zur "
    "do da dos das com pra pro per di della dello del su con voor van over met"
)


def named_picture(seg: Segment) -> bool:
    """Whether the clause names a picture with no verb of its own ("cover art for a podcast
    ...", "a moody poster for ...", "Titelbild für meinen Blog") or after a verb that says
    only make or give ("make me a thumbnail for ..."): the noun is a picture's
    (``lx.PICTURE_NOUNS`` or ``lx.PICTURE_PHRASES``) and what follows it is nothing or a
    preposition ("a poster text for ..." names a text). Looks at the first eight words only."""
    words = tokens(seg.instruction)[:8]
    while words and words[0] in lx.POLITE:
        words = words[1:]  # "please, ...", "por favor, ..." (not "per", after the noun)
    start = 0
    if words and words[0] in _MAKE:
        start = 1
        while start < len(words) and words[start] not in lx.ARTICLES and start < 3:
            start += 1  # "make me a ...", "dame una ...": the clitic, then the article
        if start >= len(words) or words[start] not in lx.ARTICLES:
            return False
    if start < len(words) and words[start] in lx.ARTICLES:
        start += 1
        heads = range(start, min(len(words), start + 3))  # "a moody little poster"
    else:
        heads = range(start, min(len(words), start + 1))  # verbless: the head comes first
    for k in heads:
        for size in (3, 2, 1):
            name = tuple(words[k : k + size])
            if len(name) < size:
                continue
            if (size == 1 and name[0] in lx.PICTURE_NOUNS) or name in lx.PICTURE_PHRASES:
                after = words[k + size : k + size + 1]
                return not after or after[0] in _PICTURE_THEN
    return False


def only_thing(seg: Segment) -> str | None:
    """The thing after "only" when a clause starts with it ("only the picture", "Só a
    imagem", "nur das Bild"), when it is a thing the mesh makes."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE or w in lx.ONLY]
    lead = next((k for k, w in enumerate(words[:4]) if w in lx.ONLY), None)
    if lead and all(w in _WANT for w in words[:lead]):
        words = [w for w in words[lead:] if w not in _WANT or w in lx.ONLY]
        # "Voglio solo l'immagine", "I only want the picture", "Ich will nur das Bild"
    if len(words) < 2 or words[0] not in lx.ONLY:  # (Portuguese "só" reads as "so")
        return None
    if len(words) > 2 and words[1] in _WANT:
        # "Solo quiero la imagen", "Just want the picture", "Só quero a imagem", "Solo voglio
        # l'immagine": the wish after "only", then the thing
        words = [words[0], *[w for w in words[1:] if w not in _WANT]]
    article = words[1].split("'")[0] + "'" if "'" in words[1] else words[1]
    # (Dutch "de" is no determiner elsewhere, as it is "of" in four other languages; after
    # "only" it is the article: "alleen de tekening")
    if article not in lx.ARTICLES and article not in lx.DETERMINER and article not in ("l'", "de"):
        return None
    noun = words[2] if len(words) > 2 else ""
    if "'" in words[1]:  # "l'immagine", "l'image": the article glued to the thing
        noun = words[1].split("'")[-1]
    if noun in lx.LANGUAGES:  # "only the Italian", "nur das Englische": its translation
        return "translation"
    return noun if noun in lx.JOB_NOUNS or noun.rstrip("s") in lx.JOB_NOUNS else None


def salutation(seg: Segment) -> bool:
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
_I = lx_words(
    "i i'm im i've ive we we're yo je j'ai j'suis ich wir eu nos io noi ik wij we estoy estou tou"
)


def said_of_oneself(seg: Segment) -> bool:
    """A clause that the speaker opens as its subject ("I'm the treasurer of ...", "Ich bin
    Lehrerin und ...")."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return (
        bool(words)
        and words[0] in _I
        # "I only want the German translation": a thing asked for, not who asks
        and not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
    )


def said_to_you(seg: Segment) -> bool:
    """A remark to the assistant ("T'es le meilleur", "you've been so helpful", "du bist
    lustig"): a "you" in it ("you're", or the French "t'" of "t'es"), no thing to make, no
    number, no data."""
    if seg.data or seg.payload:
        return False
    words = tokens(seg.instruction)
    if any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS or w.isdigit() for w in words):
        return False
    return any(w in _YOU_ALL or w.startswith(("t'", "you'")) for w in words)


# Wanting or needing something done: "I want", "ich brauche", "ik wil", "vorrei".
_WISH = lx_words("""
    want wants wanted need needs needed like love wish hope quiero quisiera necesito queria
    veux voudrais voulais besoin will mochte mochten brauche hatte quero preciso gostaria
    voglio vorrei serve bisogno wil wilde zou moet hoop
    """)


def asks_of_someone(seg: Segment) -> bool:
    """A clause that wants something or speaks to "you" ("I need you to call ...", "ik wil
    een taxi", "I'd love a poem"): a wish for something done, not how the speaker is."""
    words = tokens(seg.instruction)
    return any(w in _WISH or w in _YOU_ALL for w in words) or "'d" in seg.instruction


def about_us(seg: Segment) -> bool:
    """A clause that speaks of the speaker or the assistant ("I've got an exam tomorrow",
    "ti faccio altre domande", "você tem sido muito útil")."""
    return any(w in _ME or w in _YOU for w in tokens(seg.instruction))


# Pronouns that stand for an earlier text before its new language ("passa ele pro inglês").
_IT = lx_words(
    "it them him her ele ela eles elas lui lei loro lo la le les li ihn sie es hem het ze"
)


# Demonstratives that stand alone for a text ("esto al inglés", "dit in het Engels").
_THIS = lx_words("this that esto eso isto isso ceci cela ca dit dat questo quello dies")

_POINTING = lx.DEMONSTRATIVE - lx_words("die de das der den dem het")

# "and" between the pronoun and the language names another thing ("about it and a French
# version of it"): not the same text in a new language.
_JOINS = lx_words("and or y o e et ou und oder en of plus")


def to_language(seg: Segment) -> bool:
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
            and (words[k] in _BETWEEN or words[k] in _ALSO)  # "denselben Text zusätzlich auf"
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
                or words[k] in _THIS  # "pásame esto al inglés", "zet dit in het Engels"
                # a thing named with "same" or a demonstrative: "dieselbe Einladung auf
                # Polnisch", "esa invitación en inglés" (not the article "die", "de")
                or (k > 0 and (words[k - 1] in _SAME or words[k - 1] in _POINTING))
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


def version_of(seg: Segment) -> str | None:
    """The job of "a version" named with no verb of its own (``segment.version_job``), or
    after a verb that says only make ("faz uma versão curta", "fais une version en
    allemand", "make a shorter version"), a lead reference before it or not ("A partir
    desse texto, ..."): making a version says no job; the version does."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    job = version_job(words)
    if job is None:
        made = next((k for k, w in enumerate(words[:8]) if w in _MAKE), None)
        if made is not None:
            job = version_job(words[made + 1 :])
    return job


def counted_thing(seg: Segment) -> str | None:
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


def negated(seg: Segment) -> bool:
    return any(w in lx.NEGATION for w in tokens(seg.instruction)[:3])


def question(seg: Segment) -> bool:
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return (
        "?" in seg.instruction
        or bool(words and words[0] in lx.QUESTION)
        or bool(lx.KNOW.match(normalize(seg.instruction)))  # "I'd like to know who ..."
    )
