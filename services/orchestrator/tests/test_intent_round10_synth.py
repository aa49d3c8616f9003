"""The intent planner on two classes the synthetic whole requests found (round 10,
``bench/planning/train/synth.py``), in wording written here, in several languages; nodes only:

* a reference that leads a step ("With that, ...") joins that step, and then no more: two jobs
  on the same result joined by "and" stay two ("With that, summarize it and draw it");
* a lead naming what a search found ("Using what you find, ...", "Mit dem, was du findest:")
  is the link, not the job: the model reads the job after it.
"""

from __future__ import annotations

import pytest
from intent_cases import caps_of


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Look up when the first bicycle was sold. With that, summarize it and paint a "
            "picture of it",
            ["search", "summarization", "image_generation"],
        ),
        (
            "Zoek op wanneer de eerste fiets werd verkocht. Daarmee, vat het samen en teken het",
            ["search", "summarization", "image_generation"],
        ),
    ],
)
def test_a_led_step_joined_by_and_to_another_job_on_the_result_stays_two_jobs(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Find out who designed the Brooklyn Bridge. Using what you find, put that in Korean",
            ["search", "translation"],
        ),
        (
            "Finde heraus, wer die Brooklyn Bridge entworfen hat. Mit dem, was du findest: "
            "bring das ins Koreanische und mal ein Bild dazu",
            ["search", "translation", "image_generation"],
        ),
    ],
)
def test_a_lead_naming_what_was_found_is_no_part_of_the_job_the_model_reads(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps
