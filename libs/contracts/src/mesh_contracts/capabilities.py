"""Well-known capability names. The vocabulary is open: any lowercase identifier is valid."""

from __future__ import annotations

import re
from typing import Annotated, NamedTuple

from pydantic import AfterValidator

TEXT_GENERATION = "text_generation"
CODE_GENERATION = "code_generation"
DATA_ANALYSIS = "data_analysis"
SUMMARIZATION = "summarization"
TRANSLATION = "translation"
SEARCH = "search"
IMAGE_GENERATION = "image_generation"
LORA_TRAINING = "lora_training"

WELL_KNOWN: frozenset[str] = frozenset(
    {
        TEXT_GENERATION,
        CODE_GENERATION,
        DATA_ANALYSIS,
        SUMMARIZATION,
        TRANSLATION,
        SEARCH,
        IMAGE_GENERATION,
        LORA_TRAINING,
    }
)


class Vocabulary(NamedTuple):
    """The words people use for one well-known capability, which its agents may not spell out
    themselves: single ``words`` (a keyword planner's terms) and plain ``phrases`` of what it
    means (an embedding planner's glosses). Planners add them to the texts of agents that
    serve the capability; the manifest still decides what can be planned."""

    words: str
    phrases: tuple[str, ...]


VOCABULARY: dict[str, Vocabulary] = {
    TEXT_GENERATION: Vocabulary(
        words="write writer story poem haiku essay explain draft compose text letter",
        phrases=(
            "write a poem",
            "write a short story",
            "compose an essay, a speech or a letter",
            "draft an email or a message",
            "write an email to someone",
            "write text about a topic",
            "explain or describe something to a reader",
            "come up with a slogan, a name or a joke",
        ),
    ),
    CODE_GENERATION: Vocabulary(
        words="code program function script python implement",
        phrases=(
            "write a program",
            "implement a function in Python",
            "write a script that automates a task",
        ),
    ),
    DATA_ANALYSIS: Vocabulary(
        words=(
            "analyze analyse analysis statistics stats csv table data mean average "
            "correlation outliers numbers"
        ),
        phrases=(
            "analyze a table of data",
            "compute statistics of a CSV",
            "find outliers and correlations in the numbers",
        ),
    ),
    SUMMARIZATION: Vocabulary(
        words="summarize summarise summary tldr condense shorten brief",
        phrases=(
            "summarize a text",
            "make the text shorter",
            "condense into the key points",
            "give a brief overview of the text",
        ),
    ),
    TRANSLATION: Vocabulary(
        words="translate translation french spanish german italian english language",
        phrases=(
            "translate text into another language",
            "say this in Spanish",
            "convert the text from English to German",
        ),
    ),
    SEARCH: Vocabulary(
        words="look lookup search find fetch facts what who where when capital",
        phrases=(
            "look up facts",
            "find information about a topic",
            "search the knowledge base",
            "who discovered or invented something",
            "how does something work",
            "what is a thing",
        ),
    ),
    IMAGE_GENERATION: Vocabulary(
        words="draw image picture paint illustrate illustration render photo art",
        phrases=(
            "draw a picture",
            "generate an image",
            "paint an illustration",
            "make a photo-realistic render",
        ),
    ),
    LORA_TRAINING: Vocabulary(
        words="train training fine-tune finetune lora adapter",
        phrases=(
            "fine-tune the model on examples",
            "train a LoRA adapter",
            "teach the model a new style",
        ),
    ),
}


_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _check_capability(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(
            f"capability {value!r} must be a lowercase identifier "
            "(a-z, 0-9, '_', starting with a letter, at most 64 characters)"
        )
    return value


Capability = Annotated[str, AfterValidator(_check_capability)]
"""A capability name: a lowercase identifier such as ``text_generation``."""
