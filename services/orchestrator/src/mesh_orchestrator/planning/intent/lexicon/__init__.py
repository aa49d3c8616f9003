"""The words that give a request its shape, in English, Spanish, French, German, Portuguese,
Italian and Dutch: what joins two jobs, what refers back to an earlier result, what negates,
what marks a constraint rather than a job. What a clause *asks for* is the model's job
(``model.py``); these lists only say where clauses begin and end and how they connect.

One module per concept: ``joins`` (then, but, and, also, "below"), ``stance`` (questions,
negations, "only", courtesy), ``reference`` (pronouns, clitics, determiners, result nouns),
``nouns`` (job nouns, articles, numbers, language names, function words), ``clause``
(German and Dutch verb-final clauses). Every word is
matched after ``model.normalize`` (lower case, no accents).
"""

from __future__ import annotations

from mesh_orchestrator.planning.intent.lexicon.clause import (
    MIDDLE,
    MIDDLE_REFERS,
    MODAL,
    MODAL_YOU,
    THAT,
    VERB_ENDINGS,
    WISH,
)
from mesh_orchestrator.planning.intent.lexicon.joins import (
    AND,
    BACK,
    BOTH,
    BOTH_AND,
    BUT,
    FORWARD,
    ONCE,
    ONCE_MORE,
    THEN,
    TWICE,
)
from mesh_orchestrator.planning.intent.lexicon.nouns import (
    ARTICLES,
    FUNCTION,
    JOB_NOUNS,
    LANGUAGE_WORDS,
    LANGUAGES,
    LOOKUP_NOUNS,
    NUMBERS,
    PICTURE_NOUNS,
    PICTURE_PHRASES,
    PIECE_NOUNS,
    THINGS,
)
from mesh_orchestrator.planning.intent.lexicon.reference import (
    ALL,
    CLITIC,
    COUNTED,
    DEMONSTRATIVE,
    DETERMINER,
    ELISION,
    ONE,
    ORDINAL,
    PRONOUN,
    RESULT_NOUNS,
)
from mesh_orchestrator.planning.intent.lexicon.stance import (
    FORGET,
    KNOW,
    NEGATION,
    ONLY,
    POLITE,
    QUESTION,
    REMARK,
    STYLE,
)

__all__ = [
    "ALL",
    "COUNTED",
    "AND",
    "ARTICLES",
    "BACK",
    "BOTH",
    "BOTH_AND",
    "ONCE",
    "ONCE_MORE",
    "TWICE",
    "BUT",
    "CLITIC",
    "DEMONSTRATIVE",
    "DETERMINER",
    "ELISION",
    "FORGET",
    "KNOW",
    "FORWARD",
    "FUNCTION",
    "JOB_NOUNS",
    "LANGUAGES",
    "LOOKUP_NOUNS",
    "LANGUAGE_WORDS",
    "MIDDLE",
    "PICTURE_NOUNS",
    "PIECE_NOUNS",
    "PICTURE_PHRASES",
    "MIDDLE_REFERS",
    "MODAL",
    "MODAL_YOU",
    "NEGATION",
    "NUMBERS",
    "ONE",
    "ONLY",
    "ORDINAL",
    "POLITE",
    "PRONOUN",
    "QUESTION",
    "REMARK",
    "RESULT_NOUNS",
    "STYLE",
    "THAT",
    "THEN",
    "THINGS",
    "VERB_ENDINGS",
    "WISH",
]
