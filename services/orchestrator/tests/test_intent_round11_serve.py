"""The intent planner plans only what the mesh can serve (round 11, issue 18).

Each test is one mechanism, probed in wording written here (not from the benchmark), in
several of the seven languages, and asserts which tasks are planned (nodes), or that the
request is refused (``PlanningFailed``) when nothing in it is servable:

* live data (the weather tomorrow, a share price or an exchange rate now, the traffic at this
  moment, the next train) is no lookup the fixed knowledge base can answer: refused, and the
  rest of the request planned; the same topics asked as knowledge stay lookups;
* the person an action reaches, told something ("call my sister and tell her ..."), is part
  of that action;
* money moved from the user's account, a recording transcribed, a video or music made: no
  agent does them;
* chat asked of the assistant (how are you, its own place, its taste) is the writer's, one
  answer, not a lookup;
* "I only want the picture" names the job, and the negation beside it is a constraint;
* "meanwhile" before the next job splits it from an action;
* "tell me whether ..." beside a table is a question about that table.
"""

from __future__ import annotations

import pytest
from intent_cases import caps_of

from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent.live import live_data
from mesh_orchestrator.planning.intent.segment import Segment


@pytest.mark.parametrize(
    "query",
    [
        "What's the temperature in Oslo at the moment?",
        "¿Qué temperatura hace ahora mismo en Bilbao?",
        "Quel temps fera-t-il demain à Nantes ?",
        "Wie steht die Apple-Aktie heute?",
        "Qual é a cotação do dólar hoje?",
        "Com'è il traffico in tangenziale adesso?",
        "Wat is de koers van bitcoin op dit moment?",
    ],
)
def test_live_data_alone_is_refused(query: str) -> None:
    with pytest.raises(PlanningFailed):
        caps_of(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "What's the score of the Lakers game right now? Also draw a basketball made of stars.",
            ["image_generation"],
        ),
        (
            "¿Cómo está el tráfico ahora en la M-30? Y escríbeme un mensaje para mi jefa "
            "diciendo que llego tarde.",
            ["text_generation"],
        ),
        (
            "Wie wird das Wetter morgen in München? Und schreib mir ein kurzes Gedicht über "
            "Schnee.",
            ["text_generation"],
        ),
        (
            "Che tempo farà domani a Napoli? Poi disegnami il Vesuvio al tramonto.",
            ["image_generation"],
        ),
        (
            "Hoe laat vertrekt de volgende trein naar Gent? En vertaal 'goede reis' naar het "
            "Frans.",
            ["translation"],
        ),
        (
            "Qual é o câmbio do euro hoje? E escreve-me um poema curto sobre viagens.",
            ["text_generation"],
        ),
    ],
)
def test_the_live_part_is_dropped_and_the_rest_planned(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        # knowledge about the same topics, no time that is now or soon: a lookup or a text
        ("Why is the weather in Lisbon so mild in winter?", ["search"]),
        ("Wer hat die erste Börse gegründet?", ["search"]),
        # a time far from the topic is when the answer is needed; a live topic's history
        ("Explain what a stock price is, in simple words, for my class tomorrow", None),
        ("Look up the history of the Dow Jones for my presentation tomorrow", ["search"]),
        ("Cerca quando è stata fondata la Borsa di Milano, mi serve per domani", ["search"]),
        # a thing to make about today's weather is the writer's
        ("Write a short poem about today's grey weather", ["text_generation"]),
        ("Escribe un haiku sobre la lluvia de esta noche", ["text_generation"]),
    ],
)
def test_the_same_topics_as_knowledge_or_writing_are_served(
    query: str, caps: list[str] | None
) -> None:
    got = caps_of(query)
    if caps is None:  # a lookup or the writer's explanation, both serve it
        assert got in (["search"], ["text_generation"])
    else:
        assert got == caps


@pytest.mark.parametrize(
    "query",
    [
        "What's the weather like in Tokyo?",
        "¿Qué tiempo hace en Valencia?",
        "Quel temps fait-il à Marseille ?",
        "Wie ist das Wetter in Hamburg?",
        "Como está o tempo no Porto?",
        "Che tempo fa a Torino?",
        "Hoe is het weer in Rotterdam?",
    ],
)
def test_the_weather_of_a_named_place_asked_now_is_refused(query: str) -> None:
    with pytest.raises(PlanningFailed):
        caps_of(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        # a season or a month makes it climate, which the knowledge base has
        ("What's the weather like in Tokyo in April?", ["search"]),
        ("How does weather affect our mood?", ["search"]),
    ],
)
def test_climate_is_no_live_weather(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("text", "live"),
    [
        ("how much is the dollar against the yen today", True),
        ("le prix de l'essence aujourd'hui", True),
        ("il prossimo treno per Firenze", True),
        ("the history of the stock market", False),  # no time
        ("train the adapter tomorrow", False),  # "train" is no departure here
        ("how's the weather where you are today?", False),  # the assistant's own place
    ],
)
def test_live_data_needs_a_live_topic_and_a_time_that_is_now(text: str, live: bool) -> None:
    assert live_data(Segment(text)) is live


@pytest.mark.parametrize(
    "query",
    [
        "Call my sister and tell her dinner is at eight.",
        "Llama a mi padre y dile que el coche ya está arreglado.",
        "Appelle ma tante et dis-lui que j'arrive samedi.",
        "Ruf meinen Bruder an und sag ihm, dass das Essen ausfällt.",
        "Liga ao meu avô e diz-lhe que chego amanhã.",
        "Chiama mio fratello e digli che la cena è saltata.",
        "Bel mijn oom en zeg hem dat het feest niet doorgaat.",
    ],
)
def test_telling_the_person_an_action_reaches_is_part_of_it(query: str) -> None:
    with pytest.raises(PlanningFailed):
        caps_of(query)


@pytest.mark.parametrize(
    "query",
    [
        "Wire 500 dollars to my brother's account.",
        "Fais un virement de 80 euros à ma colocataire pour l'électricité.",
        "Fammi un bonifico di 120 euro al mio padrone di casa.",
        "Faz uma transferência de 40 euros para a minha mãe.",
        "Maak 25 euro over naar mijn broer.",
        # a recording transcribed: no agent hears audio
        "Consegues transcrever o áudio da reunião de ontem?",
        "Trascrivi il vocale che mi ha mandato Giulia.",
        "Retranscris le message vocal de mon patron.",
        # a video or music made
        "Make a short video of our new product with a voiceover.",
        "Haz un vídeo de 15 segundos con las fotos de la boda.",
        "Mach ein Video aus meinen Urlaubsfotos mit Musik.",
        "Maak een filmpje van de verjaardag van mijn zoon.",
    ],
)
def test_money_moved_audio_heard_and_video_made_are_refused(query: str) -> None:
    with pytest.raises(PlanningFailed):
        caps_of(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("Write a script for a 30-second video about our bakery", ["text_generation"]),
        ("Give me three ideas for a YouTube video about chess", ["text_generation"]),
        (
            "Write a reminder for my roommate that she still owes me 80 euros",
            ["text_generation"],
        ),
        (
            "Escribe el guion de un anuncio de radio y luego graba el vídeo del anuncio.",
            ["text_generation"],
        ),
    ],
)
def test_texts_about_video_or_money_are_served(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    "query",
    [
        "hey there! how's your week going so far?",
        "¡Hola! ¿Qué tal?",
        "Salut ! Ça va ?",
        "Hallo! Wie geht's dir heute?",
        "Oi! Tudo bem por aí?",
        "Ehi, come stai oggi?",
        "Hoi, hoe gaat het met je?",
        # its taste, its doings, its own place
        "What do you prefer, tea or coffee?",
        "¿Qué prefieres, el mar o la montaña?",
        "Was machst du heute Abend?",
        "Preferisci il mare o la montagna?",
        "Wat vind jij van regen?",
        "How's the weather where you are?",
        "Wie ist das Wetter bei dir?",
    ],
)
def test_chat_asked_of_the_assistant_is_one_answer_of_the_writer(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("Can you tell me the capital of Peru?", ["search"]),
        ("Do you know how tall Kilimanjaro is?", ["search"]),
    ],
)
def test_a_fact_asked_through_you_stays_a_lookup(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    "query",
    [
        "I only want the picture, no caption: a fox reading a newspaper.",
        "Quiero solo la imagen, sin texto: un zorro leyendo el periódico.",
        "Je veux seulement l'image, pas de légende : un renard qui lit le journal.",
        "Ich will nur das Bild, keinen Text: ein Fuchs, der Zeitung liest.",
        "Quero só o desenho, sem legenda: uma raposa a ler o jornal.",
        "Voglio solo il disegno, niente didascalia: una volpe che legge il giornale.",
        "Ik wil alleen de tekening, geen tekst: een vos die de krant leest.",
    ],
)
def test_wanting_only_the_picture_names_the_job(query: str) -> None:
    assert caps_of(query) == ["image_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Prenotami un taxi per le sei e intanto scrivimi un messaggio di scuse per il ritardo.",
        "Pídeme un taxi para las seis y mientras tanto escríbeme una disculpa para mi jefa.",
        "Chama-me um táxi para as seis e entretanto escreve-me um pedido de desculpas.",
        "Bestell mir ein Taxi für sechs Uhr und schreib mir inzwischen eine Entschuldigung.",
        "Bestel een taxi voor zes uur en schrijf ondertussen een excuusbericht voor mijn baas.",
    ],
)
def test_meanwhile_splits_the_job_from_the_action(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Speicher die Tabelle auf meinem Desktop und sag mir, ob ein Wert auffällt:\n\n"
        "monat,kosten\njan,120\nfeb,118\nmar,410\napr,121",
        "Stampami la tabella e dimmi se c'è qualcosa di strano:\n\n"
        "mese,spese\ngen,120\nfeb,118\nmar,410\napr,121",
        "Print this out and tell me whether any month looks odd:\n\n"
        "month,cost\njan,120\nfeb,118\nmar,410\napr,121",
    ],
)
def test_tell_me_whether_beside_a_table_asks_about_it(query: str) -> None:
    assert caps_of(query) == ["data_analysis"]
