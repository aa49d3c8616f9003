"""What a worker wrote, made safe to print on a terminal.

Worker output, agent names, errors and artifact names come from processes the CLI does not
trust. Printed as is, an escape sequence could clear the screen, retitle the window, set
the clipboard (OSC 52), forge a hyperlink or hide text; Rich would also read ``[...]`` as
markup. ``clean`` removes every ANSI escape sequence (7- and 8-bit: CSI, OSC, DCS, SOS, PM,
APC and the short ones), the other C0/C1 control characters but tab and newline, and the
bidirectional overrides that reorder what is shown; ``plain`` makes a Rich ``Text`` of the
rest, which Rich prints as is (a ``Text`` is never parsed for markup). ``json_safe`` escapes
the C1 controls and bidi overrides JSON leaves raw, for ``--json`` output. Each is one pass
of a regular expression without nested repetition: linear in the input.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

# A string sequence without its terminator is not taken whole: its introducer goes (by the
# short-sequence rule or as a control character) and the rest stays as plain text.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: ESC [ parameters intermediates final
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # OSC, to BEL or ST
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)"  # DCS, SOS, PM, APC, to ST
    r"|\x1b[ -/]*[0-~]"  # the short ones: ESC c, ESC ( B, ESC 7, ...
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # 8-bit DCS..APC, OSC
)
# C0 but tab and newline, DEL, C1; the bidirectional marks, embeddings and isolates.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = {c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), 0x200E, 0x200F]} | {
    c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


def clean(value: Any) -> str:
    """``value`` as text with no escape sequence or control character but tab and newline."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def plain(value: Any, style: str = "") -> Text:
    """``clean(value)`` as a Rich ``Text``: printed as is, never read as markup."""
    return Text(clean(value), style=style)


def json_safe(line: str) -> str:
    """A JSON text with the C1 controls and bidi overrides escaped (JSON allows them raw,
    a terminal would act on them); still the same JSON value."""
    return line.translate(_JSON_UNSAFE)


__all__ = ["clean", "json_safe", "plain"]
