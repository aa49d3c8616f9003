"""Round 13 (issue 18): answers that hung on a near-tie of the retrained intent model, each
decided by a mechanism instead, and the classes that made dev plans invalid.

Each test is one mechanism, probed in wording written here (not from the benchmark), in the
seven languages where the mechanism has words of its own:

* a version made of a text ("faz uma versão curta", "fais une version en allemand") is a
  summary or a translation, never a picture, after a verb that says only make;
* what a text is turned into decides the job, also when the model puts the clause nowhere;
* a job asked done "but first", inside a clause that opens with an act on the user's channel;
* the user's own files, devices and appointments: told, an act (refused) over a moderate job;
  asked how, a lookup;
* chat beside a refused act is answered by the writer (only the chat);
* a verb that says only give or get ("get me something to put on the wall") decides no act
  when the model reads a job;
* a wish put conditionally ("bräuchte ich eine Erklärung") names the thing wished for.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, manifest

from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent.actions import done_first, is_world_action, users_things
from mesh_orchestrator.planning.intent.cues import version_of, wished_thing
from mesh_orchestrator.planning.intent.model import CLASSES
from mesh_orchestrator.planning.intent.segment import Segment


def _refused(query: str) -> list[str]:
    with pytest.raises(PlanningFailed) as err:
        caps_of(query)
    return list(err.value.unresolvable)


# --- a version made of a text -------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "job"),
    [
        ("From that text, make a short version for Facebook", "summarization"),
        ("A partir de ese texto, haz una versión corta para Facebook", "summarization"),
        ("À partir de ce texte, fais une version courte pour Facebook", "summarization"),
        ("Daraus mach eine kurze Fassung für Facebook", "summarization"),
        ("A partir desse texto, faz uma versão curta para o Facebook", "summarization"),
        ("Da quel testo, fai una versione breve per Facebook", "summarization"),
        ("Maak een korte versie voor Facebook", "summarization"),
        ("make a German version for the guests", "translation"),
        ("fais une version en anglais pour les touristes", "translation"),
        ("faz uma versão em inglês para os turistas", "translation"),
    ],
)
def test_a_version_made_after_a_make_verb_says_its_job(clause: str, job: str) -> None:
    assert version_of(Segment(clause, joined="sentence")) == job


@pytest.mark.parametrize(
    "query",
    [
        "Write a welcome text for our campsite. From that text, make a short version for Facebook.",
        "Escribe un texto de bienvenida para nuestro camping. A partir de ese texto, haz una "
        "versión corta para Facebook.",
        "Écris un texte d'accueil pour notre camping. À partir de ce texte, fais une version "
        "courte pour Facebook.",
        "Schreib einen Begrüßungstext für unseren Campingplatz. Daraus mach eine kurze Fassung "
        "für Facebook.",
        "Escreve um texto de boas-vindas para o nosso parque de campismo. A partir desse texto, "
        "faz uma versão curta para o Facebook.",
        "Scrivi un testo di benvenuto per il nostro campeggio. Da quel testo, fai una versione "
        "breve per Facebook.",
        "Schrijf een welkomsttekst voor onze camping. Maak daarvan een korte versie voor Facebook.",
    ],
)
def test_a_short_version_of_a_text_is_no_picture(query: str) -> None:
    assert caps_of(query) == ["text_generation", "summarization"]


# --- what a text is turned into, the clause put nowhere by the model -----------------------


@pytest.mark.parametrize(
    "query",
    [
        "Écris un court message sur la kermesse. Ensuite transforme ce message en affiche.",
        "Escreve uma nota curta sobre a feira. Depois transforma essa nota num cartaz.",
        "Schreib eine kurze Mitteilung über das Straßenfest. Dann verwandle diese Mitteilung in "
        "ein Plakat.",
        "Schrijf een korte mededeling over het buurtfeest. Maak daarna van die mededeling een "
        "poster.",
    ],
)
def test_what_a_text_becomes_decides_over_a_weak_none(query: str) -> None:
    assert caps_of(query) == ["text_generation", "image_generation"]


# --- a job done "but first" ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "first"),
    [
        ("Send this to the team, but first make it friendlier", "make it friendlier"),
        ("Publícalo, pero primero hazlo más corto", "hazlo mas corto"),
        ("Poste ça, mais d'abord rends-le plus drôle", "rends-le plus drole"),
        ("Schick das los, aber zuerst mach es freundlicher", "mach es freundlicher"),
        ("Manda isto, mas primeiro torna-o mais simpático", "torna-o mais simpatico"),
        ("Mandalo, ma prima rendilo più gentile", "rendilo piu gentile"),
        ("Stuur dit door, maar eerst maak het vriendelijker", "maak het vriendelijker"),
    ],
)
def test_what_is_done_but_first(clause: str, first: str) -> None:
    assert done_first(Segment(clause)) == first


def test_no_but_first_is_none() -> None:
    assert done_first(Segment("Send this to the team, but not before noon")) is None
    assert done_first(Segment("Send this to the team first")) is None


@pytest.mark.parametrize(
    "query",
    [
        "Post this in the WhatsApp group, but first make it sound warmer: 'dinner is at nine'",
        "Poste ça sur mon Facebook, mais d'abord rends-le plus drôle : « fermé lundi »",
        "Schick das an mein Team auf Slack, aber zuerst mach es freundlicher: 'Stand-up um 10'",
        "Mete isto no grupo do WhatsApp, mas primeiro torna-o mais simpático: 'reunião às 10'",
        "Mandalo al gruppo su WhatsApp, ma prima rendilo più gentile: 'riunione alle 10'",
        "Stuur dit naar mijn team op Slack, maar eerst maak het vriendelijker: 'stand-up om 10'",
    ],
)
def test_the_job_done_before_an_act_on_the_users_channel_is_planned(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


# --- the user's own files, devices, appointments: told or asked how -------------------------


@pytest.mark.parametrize(
    ("clause", "told"),
    [
        ("Converte este PDF para Word.", True),
        ("Convertis ce PDF en Word.", True),
        ("Converti questo PDF in Word.", True),
        ("Converteer deze PDF naar Word.", True),
        ("Zet de wasmachine aan.", True),
        ("Pide cita con el dentista para el jueves.", True),
        ("How do I convert a PDF to Word?", False),
        ("¿Cómo se convierte un PDF a Word?", False),
        ("Comment convertir un PDF en Word ?", False),
        ("Come si converte un PDF in Word?", False),
        ("Hoe converteer je een PDF naar Word?", False),
        ("Hoe maak je een afspraak bij de huisarts?", False),
        ("Write a poem about the sea.", None),
        ("Write a cover letter I can save as a Word document.", None),
    ],
)
def test_the_users_things_told_or_asked(clause: str, told: bool | None) -> None:
    assert users_things(Segment(clause)) is told


@pytest.mark.parametrize(
    "query",
    [
        "Convertis ce PDF en Word.",
        "Wandle dieses PDF in ein Word-Dokument um.",
        "Converti questo PDF in Word.",
        "Converteer deze PDF naar Word.",
        "Converte este PDF para Word.",
    ],
)
def test_a_file_of_the_user_converted_is_refused(query: str) -> None:
    assert _refused(query)


@pytest.mark.parametrize(
    "query",
    [
        "¿Cómo se convierte un PDF a Word?",
        "Comment convertir un PDF en Word ?",
        "Wie wandelt man ein PDF in ein Word-Dokument um?",
        "Como converto um PDF para Word?",
        "Come si converte un PDF in Word?",
        "Hoe converteer je een PDF naar Word?",
        "Hoe maak je een afspraak bij de huisarts?",
    ],
)
def test_how_a_thing_of_the_users_is_done_is_a_lookup(query: str) -> None:
    assert caps_of(query) == ["search"]


# --- chat beside a refused act ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "chat"),
    [
        ("Turn on the heating in the bedroom. Hey! How are you doing?", "How are you"),
        ("Enciende la calefacción del salón. ¡Hola! ¿Cómo estás?", "Cómo estás"),
        ("Allume le chauffage du salon. Coucou ! Comment vas-tu ?", "Comment vas-tu"),
        ("Mach die Heizung im Bad an. Hallo! Wie geht es dir?", "Wie geht es dir"),
        ("Liga o aquecimento da sala. Olá! Como estás?", "Como estás"),
        ("Accendi il riscaldamento in camera. Ciao! Come va?", "Come va"),
        ("Zet de verwarming aan. Hoi! Hoe gaat het met je?", "Hoe gaat het"),
    ],
)
def test_the_chat_beside_a_refused_act_is_answered_alone(query: str, chat: str) -> None:
    draft = PLANNER.build_sync(query, manifest(), None)[0]
    assert [t.capability for t in draft.plan.tasks] == ["text_generation"]
    assert len(draft.unresolvable) == 1
    # the act is not handed to the writer (the chat alone is, when the model put it nowhere)
    assert query.split(".")[0] not in str(draft.plan.tasks[0].input)


def test_an_act_alone_is_still_refused() -> None:
    assert _refused("Set an alarm for 7.")


# --- a verb that says only give or get ------------------------------------------------------


@pytest.mark.parametrize(
    "clause",
    [
        "Could you get me something for the wall of my study?",
        "¿Me das algo para la pared del estudio?",
        "Gib mir etwas für die Wand im Arbeitszimmer.",
        "Dammi qualcosa per la parete dello studio.",
        "Geef me iets voor de muur van mijn werkkamer.",
    ],
)
def test_give_or_get_decides_no_act_when_the_model_reads_a_job(clause: str) -> None:
    PLANNER.warm()
    segmenter, model = PLANNER._segmenter, PLANNER._model
    assert segmenter is not None and model is not None
    p = dict.fromkeys(CLASSES, 0.05) | {"image_generation": 0.35, "action": 0.25}
    assert not is_world_action(Segment(clause), p, segmenter, model)


@pytest.mark.parametrize(
    "query", ["Get me a taxi to the airport for 6 am.", "Hol mir ein Taxi zum Bahnhof."]
)
def test_get_before_an_act_is_still_an_act(query: str) -> None:
    assert _refused(query)


# --- a wish put conditionally -------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "thing"),
    [
        ("Außerdem bräuchte ich eine Erklärung, was ein Index ist", "eine erklarung"),
        ("Además necesitaría una explicación de qué es un índice", "una explicacion"),
        ("Além disso precisaria de uma explicação do que é um índice", "uma explicacao"),
        ("Inoltre mi servirebbe una spiegazione di cosa sia un indice", "una spiegazione"),
    ],
)
def test_a_conditional_wish_names_the_thing(clause: str, thing: str) -> None:
    assert wished_thing(Segment(clause)) == thing


def test_a_live_question_beside_an_explanation_wished_keeps_the_explanation() -> None:
    query = (
        "Wie steht der Euro zum Dollar heute? Außerdem bräuchte ich eine Erklärung, was ein "
        "Wechselkurs ist."
    )
    assert caps_of(query) == ["text_generation"]
