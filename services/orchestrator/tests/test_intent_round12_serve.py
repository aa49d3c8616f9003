"""The intent planner plans only what the mesh can serve, round 12 (issue 18, item 6).

Each test is one mechanism, probed in wording written here (not from the benchmark), in the
seven languages where the mechanism has words of its own, and asserts which tasks are planned
or that the request is refused (``PlanningFailed``) when nothing in it is servable. Beside
each refusal, the same things asked as a servable job (a text about them, a question about
how they work) stay planned: a refusal that eats a servable part costs more than it gains.

* the user's own parcel or order, asked where or when, is live data no lookup knows;
* acts only the user's own accounts, devices and offices carry out: a thing sent by mail, the
  user's files opened, saved or converted, a device switched or an alarm set, an appointment
  made, papers handed to an office;
* running code, with its code pasted after it, and what the run is told to report;
* small talk: greetings and thanks beside a chat question open no job, the assistant's day or
  weekend asked, what it does for fun, a remark to it, how the speaker is said to no one.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, manifest

from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent.actions import part_of_run
from mesh_orchestrator.planning.intent.chat import about_your_time
from mesh_orchestrator.planning.intent.live import own_shipment
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.segment import Segment


def _refused(query: str) -> list[str]:
    """The parts left out when the whole request is refused."""
    with pytest.raises(PlanningFailed) as err:
        caps_of(query)
    return list(err.value.unresolvable)


# --- the user's own parcel, asked where or when -------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Where is my Amazon parcel right now?",
        "¿Dónde está mi paquete de Correos ahora mismo?",
        "Où en est mon colis La Poste en ce moment ?",
        "Wann kommt mein Paket an?",
        "Quando chega a minha encomenda?",
        "Quando arriva il mio ordine?",
        "Wanneer komt mijn bestelling aan?",
    ],
)
def test_the_users_own_parcel_asked_where_or_when_is_refused(query: str) -> None:
    assert _refused(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("How long does a DHL parcel take from Germany to Spain?", ["search"]),
        ("How does parcel tracking work?", ["search"]),
        ("Write an email asking the shop where my parcel is.", ["text_generation"]),
        ("Escribe un correo preguntando dónde está mi paquete.", ["text_generation"]),
        ("My package arrived damaged. Write a complaint to the shop.", ["text_generation"]),
    ],
)
def test_parcels_asked_as_knowledge_or_written_about_are_served(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps


def test_own_shipment_needs_the_users_own_and_a_where_or_when() -> None:
    assert own_shipment(tokens("where is my package"))
    assert not own_shipment(tokens("where do packages go at night"))  # nobody's own
    assert not own_shipment(tokens("my package arrived damaged"))  # no where or when


# --- acts only the user's own accounts, devices and offices carry out ---------------------


@pytest.mark.parametrize(
    "query",
    [
        # a thing sent by mail
        "Puoi mandare un'email a tutti i miei contatti per dire che ho cambiato numero?",
        "¿Puedes enviar un correo a todos mis contactos avisando que cambié de número?",
        # the user's files opened, saved or converted
        "Convert this PDF to a Word document.",
        "Convierte este PDF a Word.",
        "Convertis ce PDF en document Word.",
        "Converte este PDF para Word.",
        "Converti questo PDF in un documento Word.",
        "Kun je het Word-bestand op mijn bureaublad openen?",
        # a device switched, an alarm set
        "Wake me up at 6:30 tomorrow.",
        "Zet de wasmachine aan op 40 graden.",
        "Mach die Heizung im Bad an.",
        "Enciende la calefacción del salón.",
        "Allume le chauffage de la chambre.",
        "Liga o aquecimento da sala.",
        "Accendi il riscaldamento in camera.",
        "Set an alarm for 7 am.",
        # an appointment made
        "Make an appointment with the dentist for Tuesday.",
        "Pide cita con el dentista para el martes.",
        "Prends rendez-vous chez le dentiste mardi.",
        "Vereinbar einen Termin beim Zahnarzt für Dienstag.",
        "Marca uma consulta no dentista para terça.",
        "Prenota un appuntamento dal dentista per martedì.",
        "Maak een afspraak bij de tandarts voor dinsdag.",
        # papers handed to an office
        "Kannst du meine Steuererklärung beim Finanzamt einreichen?",
        "Submit my visa application on the embassy website.",
        "Dien mijn belastingaangifte vandaag nog in.",
        # a separable verb read whole (round 16): "Reich ... ein" is "einreichen"
        "Reich meine Steuererklärung heute noch beim Finanzamt ein.",
        "Dépose mon dossier de candidature sur le site de la mairie.",
        "Puoi inoltrare la mia domanda di iscrizione all'università?",
        # money moved, the amount written with its sign only
        "kun je m'n huur overmaken naar de verhuurder? €950",
    ],
)
def test_acts_for_the_user_are_refused(query: str) -> None:
    assert _refused(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        # the writer writes the mail; sending it is the user's
        (
            "Escribe un correo a mi casera diciendo que la ducha gotea y mándaselo tú a su email.",
            ["text_generation"],
        ),
        (
            "Écris une lettre de réclamation à ma banque et envoie-la par courrier recommandé.",
            ["text_generation"],
        ),
        ("Send me a short poem about the sea.", ["text_generation"]),
        # files, devices, appointments and offices as a topic of a text or a question
        ("Write a cover letter I can save as a Word document.", ["text_generation"]),
        ("How do I convert a PDF to Word?", ["search"]),
        ("¿Cómo se convierte un PDF a Word?", ["search"]),
        ("What is a PDF file?", ["search"]),
        ("Write a poem about turning off the lights at night.", ["text_generation"]),
        (
            "Write a short note reminding me to turn off the lights before leaving.",
            ["text_generation"],
        ),
        ("Translate 'turn off the lights' into Italian.", ["translation"]),
        ("Draw a cozy living room with warm lights on.", ["image_generation"]),
        ("Escribe un mensaje para pedir cita con el dentista.", ["text_generation"]),
        ("Écris un mail pour prendre rendez-vous chez le médecin.", ["text_generation"]),
        ("Schreib eine E-Mail, um einen Termin beim Arzt zu vereinbaren.", ["text_generation"]),
        ("Escreve um email para marcar uma consulta no dentista.", ["text_generation"]),
        ("Scrivi una mail per prendere un appuntamento dal medico.", ["text_generation"]),
        ("Schrijf een mail om een afspraak te maken bij de tandarts.", ["text_generation"]),
        (
            "Draft a message to reschedule my appointment with the plumber.",
            ["text_generation"],
        ),
        ("Write a cover letter I can submit with my application.", ["text_generation"]),
    ],
)
def test_the_same_acts_as_a_topic_are_served(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("Convert this PDF to Word, and draw a cat wearing a hat.", ["image_generation"]),
        (
            "Bel de tandarts en maak een afspraak, en schrijf daarna een kort gedicht over "
            "tandpasta.",
            ["text_generation"],
        ),
        (
            "Wake me up at 7 tomorrow and write me a haiku about mornings.",
            ["text_generation"],
        ),
    ],
)
def test_the_act_is_left_out_and_the_rest_planned(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    "query",
    [
        "Cancel my dentist appointment on Friday, I'm sick.",
        "Cancela mi cita del viernes, porque estoy enfermo.",
        "Annule mon rendez-vous de vendredi, c'est férié.",
        "Sag meinen Zahnarzttermin am Freitag ab, weil ich krank bin.",
        "Desmarca a minha consulta de sexta, é feriado.",
        "Disdici il mio appuntamento di venerdì, perché sono malato.",
        "Zeg mijn afspraak van vrijdag af, want ik ben ziek.",
    ],
)
def test_a_reason_said_after_an_act_is_part_of_it(query: str) -> None:
    assert _refused(query)


def test_a_reason_that_leads_to_a_job_leaves_the_job() -> None:
    query = "Turn off my alarm for tomorrow. It's a holiday, so write me a poem about sleeping in."
    assert caps_of(query) == ["text_generation"]


def test_reason_after_act_asks_nothing() -> None:
    from mesh_orchestrator.planning.intent.actions import reason_after_act

    assert reason_after_act(Segment("it's a holiday", joined="and"))
    assert not reason_after_act(Segment("it's a holiday?", joined="and"))  # asked
    assert not reason_after_act(Segment("it's for a poem", joined="and"))  # a thing to make
    assert not reason_after_act(Segment("it's a holiday", joined="then"))  # a step


# --- running code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Run this script and tell me what it prints: for i in range(3): print(i)",
        "Ejecuta este código y dime qué sale: print(1+1)",
        "Exécute ce script Python et dis-moi le résultat: print(3*3)",
        "Führ dieses Python-Skript aus und sag mir, was rauskommt: print(sum(range(4)))",
        "Esegui questo codice e dimmi cosa stampa: print(len('ciao'))",
        "Can you run this bash script on my laptop and tell me if it fails? ./backup.sh --full",
    ],
)
def test_running_code_with_its_code_is_refused_whole(query: str) -> None:
    assert _refused(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("Write a Python script that prints the numbers 1 to 10.", ["text_generation"]),
        (
            "Run this script and tell me what it prints: for i in range(3): print(i). Also "
            "write a haiku about loops.",
            ["text_generation"],
        ),
    ],
)
def test_code_to_write_is_served(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


def test_part_of_run_is_a_report_or_code_alone() -> None:
    assert part_of_run(Segment("tell me if it crashes"))
    assert part_of_run(Segment("python3 cleanup.py --all"))
    assert not part_of_run(Segment("write a poem about loops"))
    assert not part_of_run(Segment("tell me a story about a robot"))  # (a "story" to write)


# --- small talk --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Hallo!",
        "¡Hola! ¿Qué tal?",
        "¡Hola! ¿Qué tal? Solo quería saludar",
        "how was your weekend? did you do anything fun",
        "Na, wie war dein Wochenende?",
        "Comment s'est passée ta journée ?",
        "Com'è andata la tua giornata?",
        "Como foi o teu fim de semana?",
        "Hoe was je weekend?",
        "haha ok you're funny. what do you do for fun",
        # a remark to the assistant after thanks
        "Thanks a lot! You're the best.",
        "¡Gracias! Eres un crack.",
        "Merci ! T'es trop fort.",
        "Danke dir! Du bist echt super.",
        "Obrigado! Você é demais.",
        "Grazie mille! Sei un tesoro.",
        "Bedankt! Jij bent echt top.",
        "ok im off to bed, good night",
        "ik verveel me zo vandaag",
    ],
)
def test_small_talk_is_one_answer_of_the_writer(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        # facts asked through "you" stay lookups
        ("Do you know who invented the telephone?", ["search"]),
        ("What do you know about black holes?", ["search"]),
        # a greeting and a how-are-you before a job: the job alone
        ("Hi, how are you? Write me a poem about the sea.", ["text_generation"]),
        ("Hola, ¿qué tal? Escríbeme un poema sobre el mar.", ["text_generation"]),
        ("Salut, ça va ? Écris-moi un poème sur la mer.", ["text_generation"]),
        ("Hallo, wie geht's? Schreib mir ein Gedicht über das Meer.", ["text_generation"]),
        ("Oi, tudo bem? Escreve-me um poema sobre o mar.", ["text_generation"]),
        ("Ciao, come stai? Scrivimi una poesia sul mare.", ["text_generation"]),
        ("Hoi, hoe gaat het? Schrijf een gedicht over de zee.", ["text_generation"]),
        ("Hallo! Wer hat die Glühbirne erfunden?", ["search"]),
        # how the speaker is, then a wish: the wish is asked
        ("I'm so bored today. Draw me a cat on a skateboard.", ["image_generation"]),
    ],
)
def test_chat_beside_a_job_leaves_the_job(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


def test_about_your_time_needs_your_and_a_stretch_of_time() -> None:
    assert about_your_time(tokens("how was your weekend"))
    assert about_your_time(tokens("wie war dein langes wochenende"))
    assert not about_your_time(tokens("how was the weekend in Rome"))
    assert not about_your_time(tokens("what is your name"))


def test_a_long_request_of_chat_and_acts_stays_bounded() -> None:
    """Greetings, remarks, alarms and code lines over and over: each act is refused, the chat
    goes to the writer; at 8,000 characters the plan's own cap on jobs refuses it (the chat
    checks look at every other clause, so that cap is what keeps them bounded)."""
    line = "Hola! ¿Qué tal tu día? T'es génial. Wake me up at 7. python3 run.py --all. "
    draft = PLANNER.build_sync(line * 12, manifest(), None)[0]
    assert {t.capability for t in draft.plan.tasks} == {"text_generation"}
    assert len(draft.unresolvable) == 12  # a part left out for each line
    with pytest.raises(PlanningFailed, match="at most"):
        PLANNER.build_sync((line * 120)[:8000], manifest(), None)


# --- the part left out, in the answer ----------------------------------------------------


def test_the_answer_of_a_partly_served_run_names_what_was_left_out() -> None:
    from mesh_orchestrator.synthesis.decline import MAX_PARTS, left_out_note

    assert left_out_note([]) == ""
    assert left_out_note(["", ""]) == ""
    note = left_out_note(["'Set an alarm for 7' (an action in the world no agent performs)"])
    assert note == (
        "\n\nLeft out, no agent in this mesh can do it: 'Set an alarm for 7' (an action in the "
        "world no agent performs)."
    )
    many = left_out_note([f"part {i}" for i in range(10_000)])  # bounded, whatever comes in
    assert many.count("part ") == MAX_PARTS
