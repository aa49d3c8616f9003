"""Round 17's independent jobs of an enumeration (``planning/intent/edges.py``, ``_apart17``
in ``round17``, branch plan-enum17).

In dev, a later job of a list of independent jobs read the job before it (an extra edge) in
six batches, each by another cue: "and unrelated, write ...", "..., sans rapport avec les
chiffres", "tre cose: ..., e la traduzione in spagnolo di \"...\"". One mechanism: a job the
request says is unrelated (the cue in its clause, just before it or after it up to the next
clause, in the seven languages), or a thing after a head counting things with no reference
that carries its own quoted material, reads no earlier job unless it points back explicitly
("with that", "daraus", "là-dessus", "about it", a named result).

The requests are written for these tests (none is a benchmark request); on main before this
branch (``ec7679e``) every case in ``FIXED`` planned an edge from the earlier job, and here
each one plans otherwise without the ``_apart17`` key (``test_without_the_rule_...``)."""

from __future__ import annotations

import pytest
from intent_cases import manifest_with_trainer, shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import edges as edges_mod
from mesh_orchestrator.planning.intent.edges import _points17, _unrelated, learned

_MODEL = learned()
assert _MODEL is not None
_PLANNER = IntentPlanner(edges=_MODEL)

S, W, SU, T, IM = (
    "search",
    "text_generation",
    "summarization",
    "translation",
    "image_generation",
)

FIXED = [
    # the cue after the job, up to the end of the request
    (
        "Look up how long the Great Wall of China is, then make me a cartoon of a penguin on "
        "skis for my desktop, nothing to do with the wall.",
        [(S, []), (IM, [])],
    ),
    (
        "Busca cuánto mide la Torre Eiffel y después hazme un dibujo de un perro astronauta "
        "para mi fondo de pantalla, sin relación con la torre.",
        [(S, []), (IM, [])],
    ),
    (
        "Trouve quand la tour Eiffel a été construite, puis écris un mot à ma voisine pour la "
        "remercier, sans rapport avec la tour.",
        [(S, []), (W, [])],
    ),
    (
        "Zoek op hoe lang de Chinese Muur is en maak daarna een tekening van een pinguïn op "
        "ski's voor mijn bureaublad, staat los van de muur.",
        [(S, []), (IM, [])],
    ),
    (
        "Pesquisa quanto mede a Torre Eiffel e depois faz-me um desenho de um cão astronauta "
        "para o meu ecrã, sem relação com a torre.",
        [(S, []), (IM, [])],
    ),
    (
        "Cerca quanto è alta la Torre Eiffel e poi fammi un disegno di un cane astronauta per "
        "lo sfondo, non c'entra con la torre.",
        [(S, []), (IM, [])],
    ),
    # the cue before the job, which has a pronoun of its own ("lhe", "sie": not pointing back)
    (
        "Pesquisa quanto mede a Torre Eiffel e, sem relação, escreve um bilhete ao meu avô "
        "para lhe dizer que tenho saudades dele.",
        [(S, []), (W, [])],
    ),
    (
        "Such raus, wann die Glühbirne erfunden wurde, und unabhängig davon schreib meiner "
        "Oma eine Karte, dass ich sie vermisse.",
        [(S, []), (W, [])],
    ),
    # a head counting things, with no reference: a thing with its own quotation
    (
        "quattro cose: una filastrocca sui pinguini, un disegno di una tartaruga in bici e la "
        'traduzione in francese di "buon appetito"',
        [(W, []), (IM, []), (T, [])],
    ),
]

KEPT = [
    # the cue, and yet the job points back explicitly: the edge stays
    (
        "Find out when the printing press was invented, and unrelated, write a poem about it.",
        [(S, []), (W, ["1"])],
    ),
    (
        "Such raus, wann die Glühbirne erfunden wurde, und unabhängig davon schreib daraus ein "
        "Gedicht.",
        [(S, []), (W, ["1"])],
    ),
    (
        "Busca cuándo se fundó Roma y escribe con eso un poema.",
        [(S, []), (W, ["1"])],
    ),
    (
        "Zoek op hoe hoog de Domtoren is en schrijf daarmee een limerick.",
        [(S, []), (W, ["1"])],
    ),
    (
        "Cherche la hauteur du Mont Blanc, puis écris une blague là-dessus.",
        [(S, []), (W, ["1"])],
    ),
    # a counting head, and a thing naming another ("quella poesia"): it reads it
    (
        "tre cose: una poesia sulle rane, un disegno di una rana e poi traduci quella poesia "
        "in francese",
        [(W, []), (IM, []), (T, ["1"])],
    ),
]


@pytest.mark.parametrize(("query", "shape"), FIXED)
def test_an_independent_job_reads_no_earlier_job(query: str, shape) -> None:
    assert shape_of(query, manifest_with_trainer(), planner=_PLANNER) == shape


@pytest.mark.parametrize(("query", "shape"), FIXED)
def test_without_the_rule_the_job_read_the_one_before(
    query: str, shape, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = edges_mod.pair_features

    def without(origins, query=""):  # type: ignore[no-untyped-def]
        pairs = plain(origins, query)
        for _, _, f in pairs:
            f.pop("_apart17", None)
        return pairs

    monkeypatch.setattr(edges_mod, "pair_features", without)
    got = shape_of(query, manifest_with_trainer(), planner=_PLANNER)
    assert [c for c, _ in got] == [c for c, _ in shape]  # the same tasks
    assert got != shape  # ... and an extra edge


@pytest.mark.parametrize(("query", "shape"), KEPT)
def test_a_job_pointing_back_keeps_its_edge(query: str, shape) -> None:
    assert shape_of(query, manifest_with_trainer(), planner=_PLANNER) == shape


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("and unrelated, write a note", True),
        ("sin relación con eso, escribe", True),
        ("sans aucun rapport avec les chiffres", True),
        ("hat nichts damit zu tun", True),
        ("sem relação nenhuma", True),
        ("non c'entra niente", True),
        ("twee dingen los van elkaar", True),
        ("write a related note", False),
        ("relacionado con el tema anterior", False),
        ("un rapport sur les chiffres", False),
    ],
)
def test_the_unrelated_cue(text: str, cue: bool) -> None:
    from mesh_orchestrator.planning.intent.model import normalize

    assert _unrelated(normalize(text)) is cue


@pytest.mark.parametrize(
    ("clause", "points"),
    [
        ("sin relación con eso, escribe un haiku", False),  # the cue's own "con eso"
        ("unabhängig davon schreib eine Karte", False),  # the cue's own "davon"
        ("write a poem about it", True),
        ("schreib daraus ein Gedicht", True),
        ("écris une blague là-dessus", True),
        ("schrijf daarmee een limerick", True),
    ],
)
def test_an_explicit_pointer_past_the_cue(clause: str, points: bool) -> None:
    assert _points17(clause) is points
