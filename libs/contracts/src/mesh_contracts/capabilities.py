"""Well-known capability names. The vocabulary is open: any lowercase identifier is valid."""

from __future__ import annotations

import re
from typing import Annotated

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
