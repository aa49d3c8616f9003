"""JSON-constrained decoding with lm-format-enforcer: at every step only the tokens that keep
the answer a valid prefix of a JSON value fitting a schema may be sampled.

``lmformatenforcer.integrations.transformers`` cannot be imported with transformers 5 (it
imports ``transformers.tokenization_utils``, which is gone), so the few lines it holds are
here: the per-tokenizer tables (:class:`JsonConstraint`, built once: about a second for
SmolLM2's 49k tokens) and a ``prefix_allowed_tokens_fn`` for ``generate``
(:class:`JsonEnforcer`, one per generation, as it keeps per-sequence parser states).

A generation stops as soon as the JSON value is complete (:class:`StopWhenJsonComplete`)
instead of waiting for the model to pick EOS, which the enforcer allows only then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from lmformatenforcer import JsonSchemaParser, TokenEnforcer, TokenEnforcerTokenizerData
from lmformatenforcer.consts import WHITESPACE_CHARACTERS
from transformers import StoppingCriteria

from mesh_worker_writer.schema_bounds import bound_strings

log = logging.getLogger(__name__)

#: The schema behind ``response_format: {"type": "json_object"}``: any JSON object.
#: (``JsonSchemaParser(None)`` would allow any JSON *value*, a bare string included.)
ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}


class UnsupportedSchema(ValueError):
    """The schema is not a JSON Schema that the enforcer can follow."""


def parser_for(schema: Mapping[str, Any], max_string_chars: int = 0) -> JsonSchemaParser:
    """A fresh parser for ``schema`` (free strings capped at ``max_string_chars``, see
    ``schema_bounds``); raises ``UnsupportedSchema`` for a schema it cannot follow.

    The enforcer resolves most of a schema up front (types, ``$ref``s, enums), so most
    problems surface here; a construct it only meets deep inside an answer (an exotic
    regex ``pattern``) still ends that answer early instead of failing the request.
    """
    if not isinstance(schema, Mapping):
        raise UnsupportedSchema("the schema must be a JSON object")
    try:
        parser = JsonSchemaParser(bound_strings(schema, max_string_chars))
        allowed = parser.get_allowed_characters()
    except Exception as exc:  # the enforcer raises bare Exception/ValueError/ValidationError
        raise UnsupportedSchema(f"{type(exc).__name__}: {exc}".strip()) from None
    if not allowed.strip(WHITESPACE_CHARACTERS):
        raise UnsupportedSchema("no JSON value fits the schema")
    return parser


def _regular_tokens(tokenizer: Any) -> list[tuple[int, str, bool]]:
    """``(id, text, starts_a_word)`` for every non-special token, as the enforcer wants.

    A token's text is decoded after a "0" token and the "0" dropped: decoding it alone
    loses the leading space of a word-start token with SentencePiece-style tokenizers.
    """
    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    tokens = []
    for token_id in range(len(tokenizer)):
        if token_id in special:
            continue
        after_zero = tokenizer.decode([zero, token_id])[1:]
        alone = tokenizer.decode([token_id])
        tokens.append((token_id, after_zero, len(after_zero) > len(alone)))
    return tokens


class JsonConstraint:
    """The enforcer's tables for one tokenizer, built once (``prepare``, or on first use).

    Thread-safe: built under a lock; afterwards only read (generations are serialized on
    the model lock anyway). ``max_string_chars`` caps free-text strings (0: no cap);
    ``required_order`` makes an object's required keys come first, in the schema's order;
    ``wrap_up_tokens``: how many of the last tokens before ``max_new_tokens`` steer the
    answer to a close (see ``JsonEnforcer``).
    """

    def __init__(
        self,
        tokenizer: Any,
        eos_token_ids: Iterable[int],
        *,
        max_string_chars: int = 0,
        required_order: bool = False,
        wrap_up_tokens: int = 0,
    ) -> None:
        self._tokenizer = tokenizer
        self.max_string_chars, self.required_order = max_string_chars, required_order
        self.wrap_up_tokens = wrap_up_tokens
        self._whitespace_ids: frozenset[int] = frozenset()
        self._closing_ids: frozenset[int] = frozenset()
        self.eos_token_ids = sorted(set(eos_token_ids))
        self._data: TokenEnforcerTokenizerData | None = None
        self._lock = threading.Lock()
        self.build_seconds: float | None = None

    def prepare(self) -> TokenEnforcerTokenizerData:
        """The tokenizer tables (blocking, about a second the first time)."""
        with self._lock:
            if self._data is None:
                started = time.perf_counter()
                tokenizer = self._tokenizer
                regular = _regular_tokens(tokenizer)
                self._whitespace_ids = frozenset(
                    token_id for token_id, text, _ in regular if text and not text.strip()
                )
                self._closing_ids = frozenset(
                    token_id
                    for token_id, text, _ in regular
                    if text.strip() and set(text.strip()) <= _CLOSERS
                )
                self._data = TokenEnforcerTokenizerData(
                    regular,
                    lambda ids: tokenizer.decode(ids).rstrip("\ufffd"),
                    self.eos_token_ids,
                    False,  # token id lists, not bitmasks: what prefix_allowed_tokens_fn takes
                    len(tokenizer),
                )
                self.build_seconds = round(time.perf_counter() - started, 3)
                log.info("JSON constraint tables built in %.2fs", self.build_seconds)
            return self._data

    def enforcer(self, schema: Mapping[str, Any], max_new_tokens: int) -> JsonEnforcer:
        """A new enforcer for one generation of at most ``max_new_tokens`` tokens; raises
        ``UnsupportedSchema``."""
        data = self.prepare()
        wrap_up = _WrapUp(
            start=max_new_tokens - min(self.wrap_up_tokens, max_new_tokens // 4),
            closing=self._closing_ids,
            whitespace=self._whitespace_ids,
        )
        return JsonEnforcer(
            data,
            parser_for(schema, self.max_string_chars),
            self.eos_token_ids,
            required_order=self.required_order,
            wrap_up=wrap_up,
        )


_CLOSERS = frozenset('"}]')


class _WrapUp:
    """Near the end of the token budget, prefer tokens that close strings, arrays and
    objects (then any non-whitespace token): an answer that rambled inside a free-form
    object still ends as complete JSON instead of being cut by ``max_tokens``."""

    def __init__(self, start: int, closing: frozenset[int], whitespace: frozenset[int]) -> None:
        self.start, self._closing, self._whitespace = start, closing, whitespace

    def filter(self, allowed: list[int]) -> list[int]:
        closing = [t for t in allowed if t in self._closing]
        if closing:
            return closing
        return [t for t in allowed if t not in self._whitespace] or allowed


class JsonEnforcer:
    """One generation's constraint: ``allowed_tokens`` for ``generate``'s
    ``prefix_allowed_tokens_fn``, and ``is_complete`` once the JSON value has ended."""

    def __init__(
        self,
        data: TokenEnforcerTokenizerData,
        parser: JsonSchemaParser,
        eos: Sequence[int],
        *,
        required_order: bool = False,
        wrap_up: _WrapUp | None = None,
    ) -> None:
        self._enforcer = TokenEnforcer(data, parser)
        self._wrap_up = wrap_up
        self._prompt_tokens: int | None = None
        # TokenEnforcer gives the parser a fresh config (read from LMFE_* variables); every
        # parser state derived from it shares that object, so setting it here is enough.
        parser.config.force_json_field_order = required_order
        self._eos = frozenset(eos)
        self.completed = False

    def allowed_tokens(self, batch_id: int, sent: torch.Tensor) -> list[int]:
        """Token ids allowed after ``sent`` (the prompt plus what was generated so far)."""
        token_ids = sent.tolist()
        if self._prompt_tokens is None:
            self._prompt_tokens = len(token_ids)  # the first call sees the prompt alone
        allowed: list[int] = self._enforcer.get_allowed_tokens(token_ids).allowed_tokens
        wrap_up = self._wrap_up
        if wrap_up is not None and len(token_ids) - self._prompt_tokens >= wrap_up.start:
            allowed = wrap_up.filter(allowed)
        return allowed

    def is_complete(self, token_ids: list[int]) -> bool:
        """Whether the answer in ``token_ids`` is a whole JSON value that cannot go on."""
        if not token_ids or token_ids[-1] in self._eos:
            return False  # generate stops on EOS by itself
        self._enforcer.get_allowed_tokens(token_ids)  # computes (and caches) this state
        parser = self._enforcer.prefix_states[tuple(token_ids)].parser
        more = parser.get_allowed_characters().strip(WHITESPACE_CHARACTERS)
        self.completed = bool(parser.can_end() and not more)
        return self.completed


class StopWhenJsonComplete(StoppingCriteria):  # type: ignore[misc]
    """Ends ``generate`` right after the token that completes the JSON value."""

    def __init__(self, enforcer: JsonEnforcer) -> None:
        self._enforcer = enforcer

    def __call__(
        self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        done = [self._enforcer.is_complete(row.tolist()) for row in input_ids]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
