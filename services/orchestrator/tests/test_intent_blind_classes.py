"""The intent planner on the classes that dev batches 13 and 14 (written blind) failed.

Each test is one mechanism, probed in wording written here (not from the benchmark), in
several of the seven languages: a verb on "these" is a step, not a reference; a language
before "then" is no lone verb; "tell me whether ..." beside a table is its analysis; a prose
paragraph after the ask is its material; "ignore X" constrains; a remark about oneself after
the ask is no lookup; a translation fans out over one list of languages only; "and also" a
thing; a step before "then (1) ... (2) ..."; a reference before the verb with no comma; a
head that counts the things after its colon; a thing made twice ("and a silly one") and named
back ("the silly one", "the second one"); an earlier text put into a language.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, shape_of

_TABLE = "\nday,temp,sales\n1,18,120\n2,22,150\n3,25,190\n4,30,260\n"
_PROSE = {
    "en": "The old mill by the river was built in 1820 and ground flour for three villages. "
    "It closed when the railway brought cheaper flour from the city. Today volunteers run it "
    "as a museum on Sundays, and children can watch the wheel turn.",
    "es": "El viejo molino junto al río se construyó en 1820 y molía harina para tres pueblos. "
    "Cerró cuando el tren trajo harina más barata de la ciudad. Hoy lo abren unos voluntarios "
    "los domingos como museo y los niños pueden ver girar la rueda.",
    "de": "Die alte Mühle am Fluss wurde 1820 gebaut und mahlte Mehl für drei Dörfer. Sie "
    "schloss, als die Eisenbahn billigeres Mehl aus der Stadt brachte. Heute öffnen Freiwillige "
    "sie sonntags als Museum, und Kinder sehen dem Rad beim Drehen zu.",
}


@pytest.mark.parametrize(
    "query",
    [
        "Analyse these figures and then sum up the outcome in one sentence." + _TABLE,
        "Analysier diese Zahlen und fass das Ergebnis danach in zwei Sätzen zusammen." + _TABLE,
        "Analyseer dit even en vat de uitkomst daarna samen in twee zinnen." + _TABLE,
    ],
)
def test_a_verb_on_these_figures_is_a_step_not_a_reference(query: str) -> None:
    shape = shape_of(query)
    assert shape[0] == ("data_analysis", [])
    assert len(shape) == 2 and shape[1][0] in ("summarization", "text_generation")
    assert shape[1][1] == ["1"]


@pytest.mark.parametrize(
    "query",
    [
        "Traduis « bonne route » en italien et en néerlandais, puis écris une carte pour ma "
        "voisine.",
        "Traduce «buen viaje» al italiano y al neerlandés, luego escribe una tarjeta para mi "
        "vecina.",
        "Traduci 'buon viaggio' in francese e in tedesco, poi scrivi un biglietto per la mia "
        "vicina.",
    ],
)
def test_a_language_before_then_is_no_lone_verb(query: str) -> None:
    assert [c for c, _ in shape_of(query)] == ["translation", "translation", "text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Look at these numbers and tell me whether sales grow with the heat:" + _TABLE,
        "Regarde ces chiffres et dis-moi si les ventes montent avec la chaleur :" + _TABLE,
        "Guarda questi numeri e dimmi se le vendite crescono col caldo:" + _TABLE,
        "Schau dir die Zahlen an und sag mir, ob der Umsatz mit der Hitze steigt:" + _TABLE,
    ],
)
def test_tell_me_whether_beside_a_table_is_its_analysis(query: str) -> None:
    assert [c for c, _ in shape_of(query)] == ["data_analysis"]


@pytest.mark.parametrize(
    ("ask", "lang"),
    [
        ("Give me the gist of this in two lines please", "en"),
        ("resúmeme esto en dos líneas porfa, lo necesito para clase", "es"),
        ("Kurz zusammenfassen bitte", "de"),
    ],
)
def test_a_prose_paragraph_after_the_ask_is_its_material(ask: str, lang: str) -> None:
    shape = shape_of(f"{ask}\n\n{_PROSE[lang]}")
    assert len(shape) == 1 and shape[0][0] in ("summarization", "text_generation")


@pytest.mark.parametrize(
    "query",
    [
        "Which day sold the most? Ignore the temp column, it is just noise." + _TABLE,
        "¿Qué día se vendió más? Ignora la columna temp." + _TABLE,
        "Welke dag verkocht het meest? Negeer de kolom temp." + _TABLE,
    ],
)
def test_ignore_a_column_is_a_constraint_not_a_job(query: str) -> None:
    assert [c for c, _ in shape_of(query)] == ["data_analysis"]


def test_a_phrase_in_the_last_column_keeps_the_table_whole() -> None:
    query = (
        "Any odd weeks here?\n\nweek,visits,notes\n1,300,new banner on the home page\n"
        "2,310,newsletter about the summer sale\n3,900,look up why this jumped\n4,305,none\n"
    )
    assert [c for c, _ in shape_of(query)] == ["data_analysis"]


@pytest.mark.parametrize(
    "query",
    [
        "who painted the Night Watch? I have a quiz tomorrow and my notes are a mess",
        # (a strict xfail until round 8: the model read the remark as a picture)
        "¿quién pintó la Ronda de noche? mañana tengo un examen y no encuentro mis apuntes",
        "chi ha dipinto la Ronda di notte? domani ho una verifica e ti chiederò altre cose",
    ],
)
def test_a_remark_about_oneself_after_the_question_is_no_lookup(query: str) -> None:
    assert [c for c, _ in shape_of(query)] == ["search"]


@pytest.mark.parametrize(
    "query",
    [
        "Write a haiku about rain, then translate it into German for my aunt, her English "
        "is rusty.",
        "Escribe un haiku sobre la lluvia y luego tradúcelo al alemán para mi tía, no entiende "
        "el inglés.",
    ],
)
def test_a_language_named_apart_from_the_target_is_no_second_translation(query: str) -> None:
    assert shape_of(query) == [("text_generation", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Busca cómo se forman los volcanes; con eso hazme un resumen para niños y también un "
        "dibujo de un volcán.",
        "Cherche comment se forment les volcans ; avec ça fais-moi un résumé pour enfants et "
        "aussi un dessin de volcan.",
    ],
)
def test_and_also_a_thing_to_make_is_a_step_of_its_own(query: str) -> None:
    shape = shape_of(query)
    assert shape[0] == ("search", [])
    assert [c for c, _ in shape[1:]] == ["summarization", "image_generation"]


def test_a_step_before_then_and_numbered_parts_is_a_step_of_its_own() -> None:
    shape = shape_of(
        "analyse the fridge log below, then (1) write a short note for the manager and (2) "
        "translate that note into Spanish." + _TABLE
    )
    assert shape == [("data_analysis", []), ("text_generation", ["1"]), ("translation", ["2"])]


@pytest.mark.parametrize(
    ("query", "verb"),
    [
        ("Cerca chi ha inventato il telefono, poi con quelle notizie scrivi un post.", "scrivi"),
        ("Busca quién inventó la bombilla y luego con esos datos escribe una copla.", "escribe"),
        ("Look up who built the first bridge, then with that info write a short rap.", "write"),
    ],
)
def test_a_reference_before_the_verb_without_a_comma_is_read_past(query: str, verb: str) -> None:
    PLANNER.warm()  # (the segmenter is loaded with the model: not yet when this runs first)
    assert PLANNER._segmenter is not None
    step = PLANNER._segmenter.split(query)[1]
    assert step.head.startswith(verb)  # what the model reads: the verb first
    assert shape_of(query) == [("search", []), ("text_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Look up how tides work. I need two things out of that: a short explanation for kids "
        "and a quiz for adults.",
        "Finde heraus, wie Gezeiten entstehen. Daraus brauche ich zweierlei: eine Erklärung "
        "für Kinder und eine für Erwachsene.",
    ],
)
def test_a_head_counting_the_things_after_its_colon_makes_each_of_them(query: str) -> None:
    shape = shape_of(query)
    assert shape[0] == ("search", [])
    assert [d for _, d in shape[1:]] == [["1"], ["1"]]


@pytest.mark.parametrize(
    ("query", "reads"),
    [
        (
            "Write a calm motto for my yoga studio and a cheeky one for its flyer. Turn the "
            "cheeky one into a poster.",
            "2",
        ),
        (
            "Hazme un lema para mi floristería y otro para la librería de mi tío. El segundo "
            "pásamelo al francés.",
            "2",
        ),
        (
            "Escribe un eslogan para mi floristería y otro para la librería de mi tío. El "
            "segundo pásamelo al francés.",
            "2",
        ),
    ],
)
def test_a_thing_made_twice_is_named_back_by_its_word_or_rank(query: str, reads: str) -> None:
    shape = shape_of(query)
    assert [c for c, _ in shape[:2]] == ["text_generation", "text_generation"]
    assert len(shape) == 3 and shape[2][1] == [reads]


@pytest.mark.parametrize(
    "query",
    [
        "Escreve uma quadra sobre o mar e depois passa ela pro espanhol, minha avó é de "
        "Sevilha e quer ler.",
        "Write a limerick about a goat, then pop it into Italian, my nonna only reads that.",
        "Schreib einen Vierzeiler über den Herbst und dann bring ihn ins Französische, meine "
        "Tante wohnt in Lyon.",
    ],
)
def test_an_earlier_text_put_into_a_language_is_its_translation(query: str) -> None:
    assert shape_of(query) == [("text_generation", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "A few things I need:\nHow tall is the Matterhorn\nA drawing of a goat on a cliff\n"
        "A short rhyme for the postcard",
        "Necesito esto:\nCuántos huesos tiene un gato\nUn dibujo de un gato durmiendo\n"
        "Un poema corto para la tarjeta",
    ],
)
def test_lines_after_a_colon_that_asks_nothing_are_a_job_each(query: str) -> None:
    assert shape_of(query) == [("search", []), ("image_generation", []), ("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Turn this into tidy minutes I can send round:\n\n- budget approved, travel cut\n"
        "- launch moved to March\n- Anna collects photos for the flyer\n- next meeting Tuesday",
        "Maak hier nette notulen van:\n\n- budget akkoord\n- lancering naar maart\n"
        "- Sanne zoekt fotos voor de folder\n- volgende keer dinsdag",
    ],
)
def test_bullets_after_an_ask_and_its_colon_are_its_material(query: str) -> None:
    shape = shape_of(query)
    assert len(shape) == 1 and shape[0][0] in ("text_generation", "summarization")


@pytest.mark.parametrize(
    "query",
    [
        "thanks, that was exactly what I needed!!",
        "Bedankt, dat was precies wat ik zocht!",
        "merci, c'était parfait pour mon exposé",
    ],
)
def test_thanks_alone_is_small_talk_for_the_writer(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Só o desenho, sem legenda: uma tartaruga de óculos lendo um jornal.",
        "Only the picture, no words: a tortoise in glasses reading a newspaper.",
        "Solo l'immagine, niente testo: una tartaruga con gli occhiali che legge il giornale.",
    ],
)
def test_only_a_thing_before_the_colon_names_the_job(query: str) -> None:
    assert shape_of(query) == [("image_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "How long is the Danube? Answer with just the number, nothing else.",
        "Quanto è lungo il Danubio? Rispondimi con un numero e basta.",
        "Wie lang ist die Donau? Antworte nur mit der Zahl.",
        "¿Cuánto mide el Danubio? Contesta con una cifra y ya.",
    ],
)
def test_how_to_answer_is_a_constraint_not_a_job(query: str) -> None:
    assert shape_of(query) == [("search", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Cerca come nascono i coralli e poi, sulla base di quello che trovi, fammi un disegno.",
        "Look up how coral reefs grow and then, based on whatever you find, draw me a reef.",
        "Zoek op hoe koraal groeit en daarna, met wat je vindt, maak een tekening.",
    ],
)
def test_a_long_reference_to_what_was_found_leads_the_next_step(query: str) -> None:
    assert shape_of(query) == [("search", []), ("image_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "I'm a nurse on night shifts and I keep forgetting to drink water. Write me a short "
        "rhyme to remind me.",
        "Yo trabajo de enfermera por las noches y siempre me olvido de beber agua. Escríbeme "
        "una rima corta para acordarme.",
    ],
)
def test_who_asks_before_the_ask_is_no_lookup(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Dammi media, mediana e massimo per colonna." + _TABLE,
        "Dame media, mediana y máximo por columna." + _TABLE,
        "Geef me gemiddelde, mediaan en maximum per kolom." + _TABLE,
    ],
)
def test_statistics_listed_after_give_me_are_one_analysis(query: str) -> None:
    assert shape_of(query) == [("data_analysis", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Dammi la media, il minimo e il massimo di ogni colonna, grazie." + _TABLE,
        "Gib mir Mittelwert, Minimum und Maximum jeder Spalte, danke." + _TABLE,
    ],
)
def test_thanks_after_the_ask_is_courtesy_not_a_job(query: str) -> None:
    assert shape_of(query) == [("data_analysis", [])]
