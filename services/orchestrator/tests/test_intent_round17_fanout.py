"""Fan-out requests, round 17: one source made into several jobs, in the seven languages
(every wording here is new, none is a benchmark request). The classes fixed, each seen in at
least three independently written dev batches:

* one text in several named languages, asked with no verb of translating: "and also in
  Spanish and Polish", "and also do it in Dutch and Italian", "..., in het Nederlands, en ook
  in het Engels en het Arabisch" after a text to write (dev batches 9, 102, 110), or a pasted
  quotation followed by "Could I get it in Spanish, Italian and Dutch?": one translation per
  language (``segment.also_in_languages``, ``Segmenter._ask_after_quote``,
  ``planner._written_then_translated``); each copy keeps the list's preposition ("in
  Italian", not ", Italian": ``fanout._keep_one``);
* the lookup missing before "and with that, make X": a clause that names a topic with a verb
  the model does not place ("mira qué tienes sobre X", "Documentati su X", "pull up whatever
  you have on X") before a step on its result is the lookup (batches 102, 106, 12;
  ``planner._lookup_before_use``);
* a thing in a "from it: X, Y and Z" list lost or merged (batches 110, 112, 17): a lead and
  its colon before the first thing ("Da quella descrizione: un'immagine, ..."), a compound
  whose first part describes the piece ("einen Instagram-Post"), a clause that leads back
  and is asked of the last result ("da quello ricava una riga sola per Instagram", "a partir
  dele tira uma frase") is a job, not a remark before the next (``segment._thing_after_lead``,
  ``segment.made_thing``, ``rules._context``, ``draft._past_lead``).
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.fanout import fan_out
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.segment import also_in_languages, made_thing

PLANNER = IntentPlanner()


def _tasks(query: str) -> list:
    return PLANNER.build_sync(query, load_manifest(), None)[0].plan.tasks


def _caps(query: str) -> list[str]:
    return [t.capability for t in _tasks(query)]


ALSO_IN_LANGUAGES = [
    "Write a short thank-you card for our volunteers, and also do it in Spanish and Polish.",
    "Draft a two-line notice about the lift being out of order, and also in Greek and Turkish.",
    "Redacta un aviso corto sobre el corte de luz del jueves, y también en inglés y en rumano.",
    "Écris un petit mot pour remercier les bénévoles, et aussi en anglais et en portugais.",
    "Schreib eine kurze Notiz, dass der Aufzug kaputt ist, und auch auf Englisch und Polnisch.",
    "Escreve um aviso curto sobre a reunião de condomínio, e também em inglês e em francês.",
    "Scrivi un avviso breve sulla chiusura della piscina, e anche in inglese e in tedesco.",
    "Schrijf een kort welkomstwoord voor de nieuwe buren, en ook in het Engels en het Pools.",
]


@pytest.mark.parametrize("query", ALSO_IN_LANGUAGES)
def test_a_text_and_also_in_languages_is_one_translation_each(query: str) -> None:
    assert sorted(_caps(query)) == ["text_generation", "translation", "translation"]


def test_the_first_language_is_the_one_the_text_is_written_in() -> None:
    assert _caps(
        "Maak een flyer-tekst voor de rommelmarkt, in het Nederlands, en ook in het Frans en het Duits."
    ) == [
        "text_generation",
        "translation",
        "translation",
    ]


QUOTED_INTO_LANGUAGES = [
    'Our out-of-office line is: "Back on the 3rd, I\'ll answer your mail as soon as I can." Could I get it in Greek, Polish and Czech?',
    'Mi firma del correo es: "Un saludo cordial, equipo de atención al cliente de Lumina." ¿Me la puedes poner en inglés, francés y alemán?',
    "Le message du répondeur dit : « Nous sommes fermés le lundi, merci de rappeler mardi matin. » Tu peux me l'avoir en anglais, en espagnol et en italien ?",
    'Unser Türschild sagt: "Bitte klingeln und kurz warten, wir kommen gleich zu Ihnen." Kannst du es mir auf Englisch, Französisch und Polnisch geben?',
    'A placa da loja diz: "Voltamos já, fomos tomar um café aqui ao lado." Dá para pôr isso em inglês, francês e alemão?',
    'Il cartello dice: "Chiuso per ferie fino al venti agosto, grazie della pazienza." Me lo puoi avere in inglese, francese e tedesco?',
    'Ons bordje zegt: "Even weg, over tien minuten ben ik terug bij de kassa." Kun je het in het Engels, Duits en Frans krijgen?',
]


@pytest.mark.parametrize("query", QUOTED_INTO_LANGUAGES)
def test_a_quotation_asked_in_three_languages_is_three_translations(query: str) -> None:
    assert _caps(query) == ["translation", "translation", "translation"]


def test_each_copy_keeps_the_preposition_of_the_list() -> None:
    text = "Could I get it in Spanish, Italian and Dutch?"
    copies = [i for _, i in fan_out(text, text, "translation")]
    assert copies == [
        "Could I get it in Spanish?",
        "Could I get it in Italian?",
        "Could I get it in Dutch?",
    ]
    text = "translate it into French and into German"
    assert [i for _, i in fan_out(text, text, "translation")] == [
        "translate it into French",
        "translate it into German",
    ]


@pytest.mark.parametrize(
    "piece",
    ["also in Greek and Turkish", "ook in het Engels", "also do it in Dutch for grandma"],
)
def test_also_and_languages_reads_as_a_version(piece: str) -> None:
    assert also_in_languages(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "in het Nederlands, ook in het Engels",
        "also the one in Porto",
        "in English",
        "also write it",
    ],
)
def test_other_words_are_no_version_in_languages(piece: str) -> None:
    assert not also_in_languages(piece)


def test_a_text_in_one_language_stays_one_task() -> None:
    assert _caps("Write a short poem about rain in English.") == ["text_generation"]


LOOKUP_THEN_USE = [
    "see what there is on the Hanseatic League and with that give me a one-paragraph summary",
    "mira a ver qué hay sobre los glaciares de la Patagonia y con eso hazme un resumen corto",
    "regarde ce que tu as sur les phares bretons et avec ça fais-moi un résumé",
    "schau, was du über Leuchttürme an der Nordsee hast, und mach mir damit eine kurze Zusammenfassung",
    "vê o que tens sobre os moinhos de vento e com isso faz-me um resumo curto",
    "informati sui fari della Liguria e con quello che trovi preparami un breve riassunto",
    "kijk wat je hebt over de Afsluitdijk en maak daarmee een korte samenvatting",
]


@pytest.mark.parametrize("query", LOOKUP_THEN_USE)
def test_a_topic_before_a_step_on_its_result_is_the_lookup(query: str) -> None:
    assert _caps(query) == ["search", "summarization"]


def test_a_text_written_before_the_step_stays_written() -> None:
    query = "Write a paragraph about volcanoes and with that make a short summary"
    assert _caps(query) == ["text_generation", "summarization"]


LEAD_LISTS = [
    (
        "Scrivi una breve presentazione del nostro coro. Da quella presentazione: un'illustrazione, un riassunto di due righe e la versione in francese.",
        ["image_generation", "summarization", "text_generation", "translation"],
    ),
    (
        "Escribe una reseña corta de la panadería. De esa reseña: un dibujo, un resumen de una línea y la versión en inglés.",
        ["image_generation", "summarization", "text_generation", "translation"],
    ),
    (
        "Écris une courte présentation de notre club de lecture. À partir de là : une affiche, un résumé en une phrase et la version en anglais.",
        ["image_generation", "summarization", "text_generation", "translation"],
    ),
    (
        "Schreib einen kurzen Text über unseren Kirchenchor. Daraus dann einen LinkedIn-Post und eine Zusammenfassung in einem Satz.",
        ["summarization", "text_generation", "text_generation"],
    ),
    (
        "Schrijf een stukje over onze schooltuin. Daarvan dan een Instagram-post en een samenvatting van twee zinnen.",
        ["summarization", "text_generation", "text_generation"],
    ),
    (
        "Preciso de um texto curto de boas-vindas para a nossa pousada; a partir dele tira uma frase só para o Instagram e uma versão em inglês para os hóspedes",
        ["text_generation", "text_generation", "translation"],
    ),
    (
        "Mi serve una breve descrizione del nostro agriturismo; da quella ricava una frase sola per Facebook e una versione in inglese per i turisti",
        ["text_generation", "text_generation", "translation"],
    ),
    (
        "Escribe un texto corto de bienvenida para el albergue; a partir de eso saca una frase para Instagram y una versión en inglés para los huéspedes",
        ["text_generation", "text_generation", "translation"],
    ),
    (
        "Write a short welcome text for our hostel; from that pull out a single line for Instagram and a German version for the guests",
        ["text_generation", "text_generation", "translation"],
    ),
]


@pytest.mark.parametrize(("query", "jobs"), LEAD_LISTS)
def test_each_thing_made_from_the_last_result_is_a_task(query: str, jobs: list[str]) -> None:
    assert sorted(_caps(query)) == jobs


@pytest.mark.parametrize(
    ("phrase", "made"),
    [
        ("einen Instagram-Post", True),
        ("een blog-post", True),
        ("a LinkedIn-post", True),
        ("a post", False),  # a piece alone says no more than its kind
        ("a well-known", False),
    ],
)
def test_a_described_compound_piece_is_made(phrase: str, made: bool) -> None:
    assert made_thing(tokens(phrase)) is made
