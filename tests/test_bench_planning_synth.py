"""The whole-request generator (``bench/planning/train/synth.py``): seeded, and every gold plan
one the benchmark can score (edges to earlier tasks, capabilities of the manifest)."""

from __future__ import annotations

import json
from collections import Counter

from bench.planning.__main__ import HERE
from bench.planning.score import KINDS, LANGS
from bench.planning.train.synth import generate

N = 700
MANIFEST = HERE / "manifest.json"


def test_the_same_seed_gives_the_same_requests_and_another_seed_others() -> None:
    a = [s.item() for s in generate(N, seed=3)]
    assert a == [s.item() for s in generate(N, seed=3)]
    assert a != [s.item() for s in generate(N, seed=4)]


def test_every_gold_plan_is_valid() -> None:
    caps = {c for d in json.loads(MANIFEST.read_text()) for c in d["capabilities"]}
    for s in generate(N):
        exp = s.expected()  # parses as a benchmark file's item
        assert exp.kind in KINDS and exp.lang in LANGS
        assert set(exp.caps) <= caps, s.id
        assert all(src < task for task, src in exp.edges), s.id
        assert s.request.strip(), s.id
        if exp.kind in ("unservable",):
            assert exp.caps == [], s.id
        if exp.kind == "enumeration":
            assert not exp.edges, s.id  # parallel jobs read nothing
        if exp.data is not None:
            assert exp.caps[exp.data] == "data_analysis", s.id


def test_every_kind_and_language_is_generated() -> None:
    made = generate(N)
    kinds = Counter(s.kind for s in made)
    assert set(kinds) == set(KINDS)
    assert Counter(s.lang for s in made) == {lang: N // 7 for lang in LANGS}


def test_a_fan_out_reads_one_source_and_pasted_data_rides_with_its_step() -> None:
    made = generate(N)
    fan = [s.expected() for s in made if s.kind == "fan-out"]
    assert any(len(e.edges) >= 2 and {src for _, src in e.edges} == {0} for e in fan)
    data = [s for s in made if s.kind in ("inline-csv", "inline-json")]
    assert data and all(s.data == 1 for s in data)
    assert all("\n" in s.request or "[" in s.request for s in data)
