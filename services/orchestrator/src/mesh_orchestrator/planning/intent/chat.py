"""Chat put as a question: "come va oggi?", "wat vind jij leuker, katten of honden?", "Che
tempo fa da te?". Asked of the assistant, not of the knowledge base: the writer answers (one
``text_generation``), no lookup is planned.

Four shapes, in the seven languages: a how-are-you with at most a few words after it ("how's
your day going so far?", "¿qué tal?", "wie geht's dir heute?"); a question about the
assistant's own place ("da te", "where you are", "bei dir", ``live.about_your_place``); a
question about the assistant's own time, its day, weekend or holidays ("how was your
weekend?", "wie läuft dein Tag?", "com'è andata la tua giornata?", ``about_your_time``); and a
question whose verb asks the assistant's own taste, opinion or doings ("what do you prefer",
"was machst du am Wochenende", "¿qué opinas?"). Never a question that names a thing to make,
carries data or pasted text, or holds a number ("do you think 3 or 4 slides?").
"""

from __future__ import annotations

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.cues import _YOU_ALL, question
from mesh_orchestrator.planning.intent.lexicon._words import words
from mesh_orchestrator.planning.intent.live import about_your_place, live_topic
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.segment import Segment

# How-are-you, as the words ``tokens`` gives (no accents, lower case).
_HOW_ARE_YOU = (
    "how are you",
    "how are u",
    "how r u",
    "how's it going",
    "how is it going",
    "how's your day",
    "how is your day",
    "how are things",
    "how have you been",
    "how you doing",
    "what's up",
    "whats up",
    "que tal",
    "como estas",
    "como esta usted",
    "como te va",
    "como va todo",
    "como andas",
    "ca va",
    "comment vas-tu",
    "comment allez-vous",
    "comment ca va",
    "comment tu vas",
    "quoi de neuf",
    "wie geht's",
    "wie gehts",
    "wie geht es dir",
    "wie geht es ihnen",
    "wie geht's dir",
    "wie lauft's",
    "was geht",
    "tudo bem",
    "tudo bom",
    "como vai",
    "como vais",
    "como voce esta",
    "come va",
    "come stai",
    "come sta",
    "come te la passi",
    "tutto bene",
    "hoe gaat het",
    "hoe is het",
    "hoe gaat ie",
    "alles goed",
)
# At most this many words after a how-are-you ("come va oggi?", "how's your day going so
# far?"); more is a question of its own ("como está o tempo em Recife amanhã?").
_TAIL = 3
# Verbs of taste, opinion and doings, next to a "you": "vind jij", "machst du", "you prefer".
_CHAT_VERBS = words("""
    think prefer like love enjoy feel doing
    prefieres prefiere piensas opinas haces gusta gustan sientes
    preferes preferez penses pensez fais faites aimes aimez
    magst findest machst denkst bevorzugst haltst
    prefere achas acha gostas gosta fazes pensas pensa
    preferisci pensi fai piace ami
    vind vindt doe doet denk denkt houd
    """)
# The same, unmistakably said to "you" without the pronoun ("¿qué prefieres?", "preferisci").
_CHAT_YOU = words("""
    prefieres piensas opinas haces preferes preferez penses pensez magst findest machst denkst
    bevorzugst achas gostas fazes pensas preferisci pensi
    """)


# "Your", the assistant's, before a stretch of its time: "your weekend", "tu día", "dein Tag".
_YOUR = words("""
    your tu tus ton ta tes votre vos dein deine deinen deinem euer eure teu tua teus tuas tuo
    tuoi je jouw jullie
    """)
# A stretch of time the assistant might have lived: a day, a weekend, holidays, a night.
_TIME_OF_LIFE = words("""
    day days weekend week-end weekends morning evening night holiday holidays vacation
    dia fin noche manana tarde vacaciones finde
    journee soiree nuit matinee vacances semaine
    tag wochenende abend nacht morgen urlaub ferien woche
    fim noite ferias semana
    giornata serata notte mattinata vacanze settimana fine
    dag avond nacht ochtend vakantie week
    """)


def about_your_time(ws: list[str]) -> bool:
    """ "how was your weekend", "¿qué tal tu día?", "wie läuft dein Tag": the assistant's own
    day, weekend or holidays, "your" at most two words before it ("your long weekend")."""
    return any(
        w in _YOUR and any(t in _TIME_OF_LIFE for t in ws[k + 1 : k + 3]) for k, w in enumerate(ws)
    )


def how_are_you(seg: Segment) -> bool:
    """ "come va oggi?", "how's your day going so far?", "¿qué tal?": a how-are-you and at most
    a few words."""
    ws = [w for w in tokens(seg.instruction) if w not in ("?", "!", ",", ".")]
    text = " ".join(ws)
    for phrase in _HOW_ARE_YOU:
        at = f" {text} ".find(f" {phrase} ")
        if at >= 0:
            after = text[at + len(phrase) :].split()
            # "hoe is het weer in Rotterdam?": a how-are-you's words, the weather asked
            return len(after) <= _TAIL and not live_topic(after) and "weer" not in after
    return False


# Doing verbs that ask the assistant's doings only after their "you" ("what do you do for
# fun", "was machst du", "wat doe jij"): before it they ask for a fact ("do you know ...").
_DOINGS = words("do does did")


def _asks_taste(ws: list[str]) -> bool:
    for k, w in enumerate(ws):
        if w in _CHAT_YOU:
            return True
        if w in _DOINGS and k > 0 and ws[k - 1] in _YOU_ALL:
            return True  # "what do you do for fun", "what did you do this weekend"
        near = ws[max(k - 1, 0) : k] + ws[k + 1 : k + 2]
        if w in _CHAT_VERBS and any(n in _YOU_ALL for n in near):
            return True
    return False


def chat_question(seg: Segment) -> bool:
    """A question to the assistant itself (see the module docstring)."""
    if seg.data or seg.payload or not question(seg):
        return False
    ws = [w for w in tokens(seg.instruction) if w not in ("?", "!", ",", ".")]
    if any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS or w.isdigit() for w in ws):
        return False
    return how_are_you(seg) or about_your_place(seg) or _asks_taste(ws) or about_your_time(ws)


__all__ = ["about_your_time", "chat_question", "how_are_you"]
