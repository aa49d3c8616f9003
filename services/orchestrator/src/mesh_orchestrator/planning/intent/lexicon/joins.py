"""How clauses join: "then", "but", "and", "also", and words that point at what follows.

Every word is matched after ``model.normalize`` (lower case, no accents)."""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent.lexicon._words import _alt, words

# "then" and its kin: a new step, usually working on what came before.
THEN = _alt(
    "and then|then|after that|afterwards|next|finally|and finally|lastly|and lastly|once done|"
    "y luego|luego|y despues|despues|despues de eso|a continuacion|finalmente|por ultimo|"
    "et puis|puis|ensuite|apres ca|apres cela|enfin|pour finir|"
    "und dann|dann|danach|anschliessend|zum schluss|schliesslich|"
    "e depois|depois|em seguida|a seguir|por fim|"
    "e poi|poi|dopo|quindi|infine|successivamente|"
    "en dan|daarna|vervolgens|tot slot|ten slotte|en daarna"
)

# "but": a turn that often carries a constraint ("..., but don't translate it").
BUT = _alt("but|pero|mais|aber|ma|maar|mas|however|sin embargo|cependant|jedoch|pero sin")

# Joiners that split two jobs only when a job starts right after them.
AND = _alt(
    "and|&|plus|y|e|et|und|en|also|ademas|aussi|ausserdem|tambem|anche|ook|as well as|as well"
)

# "both X and Y" in the seven languages ("zowel ... als", "sowohl ... als auch", "tanto ...
# como", "tanto ... quanto", "sia ... che", "à la fois ... et"): two things named, each its job.
BOTH = _alt("both|zowel|sowohl|tanto|sia|a la fois|aussi bien")
BOTH_AND = _alt("and|als auch|als ook|als|como|quanto|che|sia|et|que")

# "once for X and once for Y" in the seven languages (as ``normalize`` gives them: "één keer"
# is "een keer"): the same job twice. ``ONCE_MORE`` opens the second time ("otra para ...",
# "une autre pour ...", "un'altra in ..."), ``TWICE`` may announce both ("explain it twice:").
ONCE = _alt("once|una vez|une fois|einmal|uma vez|una volta|een keer|eenmaal|een maal")
ONCE_MORE = _alt(
    "once|una vez|une fois|einmal|uma vez|una volta|een keer|eenmaal|een maal|"
    "otra vez|otra|une autre fois|une autre|noch einmal|outra vez|outra|un'altra volta|"
    "un'altra|un altra volta|nog een keer|nog eens"
)
TWICE = _alt(
    "twice|two times|dos veces|deux fois|zweimal|zwei mal|duas vezes|due volte|twee keer|"
    "tweemaal|twee maal"
)

# Words that open a new sentence as a further step ("Also translate ...").
BACK = words(
    """
also then next finally lastly plus additionally and afterwards luego despues tambien ademas
finalmente puis ensuite aussi enfin dann danach ausserdem auch schliesslich depois tambem
poi dopo anche infine daarna dan ook vervolgens
"""
)

# Words that point at what follows ("the text below"): the next paragraph is its payload.
FORWARD = re.compile(
    r"\b(?:below|following|underneath|abajo|siguiente|siguientes|ci-dessous|suivant|suivante|"
    r"unten|folgende|folgenden|folgendes|abaixo|seguinte|seguintes|sotto|seguente|seguenti|"
    r"hieronder|volgende|onderstaande)\b"
)
