"""Built-in words for the well-known capabilities, and for what no agent here does.

Agents describe themselves in a few lines and examples; a small embedding model then matches
a request's topic more than its intent ("a poem about autumn" lands near "a watercolor fox
in the snow"). Each well-known capability (``mesh_contracts.capabilities``) therefore also
gets a few plain phrasings of what it means (the phrases of
``mesh_contracts.capabilities.VOCABULARY``), added to its agents' own texts. They apply only
to capabilities some agent serves: the manifest still decides what can be planned.

``OUT_OF_SCOPE`` are things people ask an assistant that are actions in the world, not
content: a clause closer to one of them than to any served capability is unresolvable, so
"book a table" is never sent to the nearest agent. An agent that does serve such an action
describes it in its own skills and examples, which then score higher.
"""

from __future__ import annotations

from mesh_contracts.capabilities import VOCABULARY

# The phrases of the one capability vocabulary (mesh_contracts.capabilities.VOCABULARY).
GLOSSES: dict[str, list[str]] = {name: list(v.phrases) for name, v in VOCABULARY.items()}

OUT_OF_SCOPE: list[str] = [
    "book a reservation or a ticket",
    "buy or order something",
    "send a message or an email to someone",
    "pay a bill or transfer money",
    "control a device at home",
    "print, scan or fax a document on a printer",
    "set a reminder or an alarm",
    "play music or a video",
    "schedule a meeting in my calendar",
    "call someone on the phone",
]
