"""Round 14: pasted text, negated jobs and the servable part of a request, by class, in the
seven languages.

Classes read from the dev failures of kinds inline-text, negation and partly-servable
(bench/planning/README.md, "Round 14: pasted text, negation, partly servable"); the
phrasings here are new ones of each class, none of a failing request's wording:

* a long quotation followed on its line by a capital job verb ends there: the words after it
  ask ("Voici la note : « ... » Résume-la ...");
* a clause that names its pasted text by "this" ("I have this paragraph: ...", "un client a
  laissé cet avis : ...") introduces it, whatever job the model reads in the text;
* "Résume-la puis ...", "Resume-o e depois ...": a verb with its pronoun glued on by a hyphen
  is a step of its own before "then";
* the part no agent serves (live data, an act) does not take the rest down: a question
  after it is served ("... e me conta quem inventou X", "Also, what is ...?");
* when every job the model reads is ruled out by a negation, the clause beside it that
  leans to another job is the ask;
* "you need not ..." with its negation after a verb and a particle ("Je hoeft er niks bij te
  schrijven") rules a job out;
* a question runs on past a word that is "but" in another language ("a estrela mais
  próxima").

Hostile input: a 10,000-line paste and strings built against the regular expressions these
classes touched plan under the suite's bound (pytest-timeout), no timing asserted.
"""

from __future__ import annotations

import contextlib

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import segment as seg_mod

PLANNER = IntentPlanner()


def _plan(query: str):  # type: ignore[no-untyped-def]
    return PLANNER.plan_sync(query, load_manifest())


def _caps(query: str) -> list[str]:
    return [t.capability for t in _plan(query).tasks]


# Class 1: a long quotation, then (no full stop) the writer's ask with a capital verb
QUOTE_THEN_ASK = [
    (
        'Here is the note my landlord slid under the door: "The water will be shut off on '
        'Tuesday between nine and noon for pipe repairs, sorry for the trouble." Summarize '
        "it in one line, then draw a cartoon of a dripping tap.",
        ["summarization", "image_generation"],
        "repairs",
    ),
    (
        "Esto es lo que escribió mi tía en el grupo: «El domingo comemos todos en casa de la "
        "abuela, traed postre y no lleguéis tarde como siempre.» Resúmelo en una frase y "
        "luego haz un dibujo de una mesa familiar.",
        ["summarization", "image_generation"],
        "abuela",
    ),
    (
        "Voici le mot de la voisine : « Votre vélo bloque l'entrée de l'immeuble depuis trois "
        "jours, merci de le ranger dans la cour avant vendredi. » Résume-le en une ligne, "
        "puis dessine un vélo garé dans une cour.",
        ["summarization", "image_generation"],
        "immeuble",
    ),
    (
        "Das hat mein Vermieter geschrieben: „Am Dienstag wird zwischen neun und zwölf Uhr "
        "das Wasser abgestellt, wir bitten um Verständnis für die Reparatur.“ Fasse das in "
        "einem Satz zusammen und zeichne danach einen tropfenden Wasserhahn.",
        ["summarization", "image_generation"],
        "Verständnis",
    ),
    (
        "A minha avó mandou isto: «No domingo almoçamos todos cá em casa, tragam sobremesa e "
        "não cheguem atrasados como no ano passado.» Resume-o numa frase e depois faz um "
        "desenho de uma mesa de família.",
        ["summarization", "image_generation"],
        "sobremesa",
    ),
    (
        "Ecco cosa ha scritto l'amministratore: «Da lunedì l'ascensore resterà fermo per "
        "manutenzione straordinaria per circa dieci giorni, ci scusiamo per il disagio.» "
        "Riassumilo in una riga e poi disegna un ascensore con un cartello.",
        ["summarization", "image_generation"],
        "manutenzione",
    ),
    (
        "Dit schreef de school: „Vrijdag is de school gesloten wegens een studiedag van het "
        "team, de opvang is wel gewoon open.“ Vat het samen in één zin en maak daarna een "
        "tekening van een leeg klaslokaal.",
        ["summarization", "image_generation"],
        "studiedag",
    ),
]


@pytest.mark.parametrize(("query", "caps", "quoted"), QUOTE_THEN_ASK)
def test_quotation_then_capital_verb_is_the_writers_ask(
    query: str, caps: list[str], quoted: str
) -> None:
    plan = _plan(query)
    assert [t.capability for t in plan.tasks] == caps
    first = plan.tasks[0]
    assert quoted in str(first.input)  # the pasted text is the first step's material
    assert not any(quoted in t.description for t in plan.tasks[1:])


# Class 2: a clause that names its pasted text by "this" introduces it
NAMES_THE_TEXT = [
    (
        "Tengo este párrafo sobre nuestra panadería: «La Espiga abrió en 1962 en el barrio de "
        "Gràcia y todavía hornea el pan en horno de leña cada madrugada.» Haz una imagen "
        "que lo ilustre y escribe también un eslogan corto.",
        ["image_generation", "text_generation"],
    ),
    (
        "Un lecteur a laissé ce commentaire sur le blog : « Article passionnant mais beaucoup "
        "trop long, j'ai décroché au milieu et les photos ne chargent pas. » Écris-moi une "
        "réponse courte et aimable.",
        ["text_generation"],
    ),
    (
        "Mein Nachbar hat mir diese Nachricht geschrieben: „Ihr Hund bellt jede Nacht bis "
        "zwei Uhr, so geht das nicht weiter, sonst rufe ich die Hausverwaltung an.“ Schreib "
        "mir eine freundliche Antwort.",
        ["text_generation"],
    ),
]


@pytest.mark.parametrize(("query", "caps"), NAMES_THE_TEXT)
def test_clause_naming_its_text_hands_it_to_the_ask(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


# Class 3: a verb with its pronoun glued on by a hyphen, then "then": two steps
@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("Traduis-le puis fais une image", ["translation", "image_generation"]),
        ("Resume-o depois escreve um poema sobre isso", ["summarization", "text_generation"]),
        ("Résume-la puis écris une réponse polie", ["summarization", "text_generation"]),
    ],
)
def test_hyphen_clitic_before_then_is_a_step(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


# Class 4: the servable part survives a part no agent serves
@pytest.mark.parametrize(
    "query",
    [
        "pide una pizza en Glovo y dime quién inventó la pizza",
        "ordina una pizza e dimmi chi ha inventato la pizza",
        "commande une pizza et dis-moi qui a inventé la pizza",
        "bestel een pizza en vertel me wie de pizza heeft uitgevonden",
        "¿Qué tiempo hace ahora en Madrid? Y aparte, ¿por qué el cielo es azul?",
        "how is the FTSE doing right now? and separately, what is a stock index?",
    ],
)
def test_question_after_unservable_part_is_served(query: str) -> None:
    plan = _plan(query)
    assert [t.capability for t in plan.tasks] == ["search"]
    assert "unresolvable" in plan.reasoning  # the other part is named, not dropped silently


@pytest.mark.parametrize(
    "query",
    [
        "Appelle le plombier et dis-lui que je rentre à 18h.",  # told to the one called
        "call the plumber and tell me what it costs",  # the act's own outcome
    ],
)
def test_what_an_act_tells_stays_with_the_act(query: str) -> None:
    with pytest.raises(PlanningFailed):
        _plan(query)


# Class 5: only ruled-out jobs; the clause beside them asks
@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("no quiero un resumen, sólo dime cuándo murió Cervantes", ["search"]),
        (
            "Ein Leuchtturm im Sturm bei Nacht, als Bild. Und nein, ich will kein Gedicht "
            "und keinen Text dazu.",
            ["image_generation"],
        ),
        ("i don't need a drawing today, just tell me who painted the Mona Lisa", ["search"]),
    ],
)
def test_clause_beside_ruled_out_jobs_is_the_ask(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


# Class 6: "you need not ..." rules a job out, its negation after a verb and a particle
@pytest.mark.parametrize(
    "query",
    [
        "Een tekening van een vuurtoren in de storm. Je hoeft er niks bij te schrijven.",
        "Ein Bild von einem Leuchtturm im Sturm. Du brauchst dazu nichts zu schreiben.",
    ],
)
def test_you_need_not_write_is_no_task(query: str) -> None:
    assert _caps(query) == ["image_generation"]


# Class 7: a question runs on past "mais" (more, not the French "but")
@pytest.mark.parametrize(
    "query",
    [
        "Qual é o rio mais comprido da Europa?",
        "Qual é a montanha mais alta de Portugal?",
    ],
)
def test_question_runs_past_mais(query: str) -> None:
    assert _caps(query) == ["search"]


# Hostile input: bounded by the suite's timeout, never by a timing assertion
@pytest.mark.timeout(120)
def test_a_ten_thousand_line_paste_is_one_text() -> None:
    lines = "\n".join(
        f"Line {i}: we should translate and summarize the report." for i in range(10_000)
    )
    query = f"Summarize this log for me:\n\n{lines}"
    with contextlib.suppress(PlanningFailed):
        plan = _plan(query)
        assert len(plan.tasks) <= 3  # the words inside the paste spawn no tasks


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "blob",
    [
        ("\u00ab" + "mot " * 20 + "\u00bb Fais ") * 3000,  # quotations, each then a verb
        '"' + "a " * 50_000,  # an unclosed quotation
        ("Qual é a estrela mais " * 2000) + "?",  # "mais" again and again in a question
        "Je hoeft er niks " * 5000,
        "\u2028" * 20_000 + "write a poem",  # the sentence break itself, pasted
    ],
    ids=["quote-then-verb", "unclosed-quote", "mais-run", "need-not-run", "breaks"],
)
def test_pathological_strings_plan_or_fail_cleanly(blob: str) -> None:
    with contextlib.suppress(PlanningFailed):
        _plan(blob)


@pytest.mark.timeout(60)
def test_sentence_break_regexes_scan_long_input_once() -> None:
    """The regular expressions touched this round on inputs built against them: a long run
    of blanks, of placeholders and of breaks (linear; a nested quantifier would not end)."""
    assert seg_mod._SENTENCE.split(" " * 200_000) == [" " * 200_000]
    assert not list(seg_mod._QUOTE_THEN_CAPITAL.finditer(("\u27ea1\u27eb" + " " * 9) * 50_000))
    assert len(seg_mod._SENTENCE.split("\u2028" * 1000)) == 1001
