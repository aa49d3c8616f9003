"""Consul-style durations for the ``wait`` query parameter: ``500ms``, ``10s``, ``1m``."""

from __future__ import annotations

import re

MAX_WAIT_SECONDS = 300.0
DEFAULT_WAIT_SECONDS = 30.0

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def parse_wait(text: str) -> float:
    """Seconds in ``text`` (a bare number means seconds); ``ValueError`` if bad or over 5m."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a number with ms, s or m (e.g. 500ms, 10s, 1m)"
        )
    seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds > MAX_WAIT_SECONDS:
        raise ValueError(f"{text!r} is longer than the maximum wait of 5m")
    return seconds
