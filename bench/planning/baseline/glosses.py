"""Built-in words for the well-known capabilities, and for what no agent here does.

Agents describe themselves in a few lines and examples; a small embedding model then matches
a request's topic more than its intent ("a poem about autumn" lands near "a watercolor fox
in the snow"). Each well-known capability (``mesh_contracts.capabilities``) therefore also
gets a few plain phrasings of what it means, added to its agents' own texts. They apply only
to capabilities some agent serves: the manifest still decides what can be planned.

``OUT_OF_SCOPE`` are things people ask an assistant that are actions in the world, not
content: a clause closer to one of them than to any served capability is unresolvable, so
"book a table" is never sent to the nearest agent. An agent that does serve such an action
describes it in its own skills and examples, which then score higher.
"""

from __future__ import annotations

GLOSSES: dict[str, list[str]] = {
    "text_generation": [
        "write a poem",
        "write a short story",
        "compose an essay, a speech or a letter",
        "draft an email or a message",
        "write an email to someone",
        "write text about a topic",
        "explain or describe something to a reader",
        "come up with a slogan, a name or a joke",
    ],
    "code_generation": [
        "write a program",
        "implement a function in Python",
        "write a script that automates a task",
    ],
    "summarization": [
        "summarize a text",
        "make the text shorter",
        "condense into the key points",
        "give a brief overview of the text",
    ],
    "translation": [
        "translate text into another language",
        "say this in Spanish",
        "convert the text from English to German",
    ],
    "search": [
        "look up facts",
        "find information about a topic",
        "search the knowledge base",
        "who discovered or invented something",
        "how does something work",
        "what is a thing",
    ],
    "data_analysis": [
        "analyze a table of data",
        "compute statistics of a CSV",
        "find outliers and correlations in the numbers",
    ],
    "image_generation": [
        "draw a picture",
        "generate an image",
        "paint an illustration",
        "make a photo-realistic render",
    ],
    "lora_training": [
        "fine-tune the model on examples",
        "train a LoRA adapter",
        "teach the model a new style",
    ],
}

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
