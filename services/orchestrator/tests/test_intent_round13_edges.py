"""Round 13's edge classes outside lists (``planning/intent/edges.py``).

Three classes read in the edge errors of dev (above all the eight earlier test splits,
``dev/batch101`` .. ``batch108``, and batches 25-26), each fixed by mechanism in the seven
languages:

* **"once you know"** after a question ("what's the deepest lake? once you know, draw a boat
  on it", "¿...? Cuando lo sepas, escríbele ...", "Sobald du es weißt, ..."): the subordinate
  clause was read as a question of its own ("cuando", "when", "quand" open questions) and its
  reference was missed, so the job read nothing. ``edges._KNOWN``: the clause (or the words
  the segmenter left before it) opens with "when / once / as soon as (you) (it) know / have /
  find": no question, a reference back.
* **a job right after an analysis of pasted data** ("analyse this and write a short mail to
  the team about it: <table>"): the gate (``_asks_sib``) let the model add no edge to a job
  joined by "and" with words of its own; ``_asks13`` opens it for a job without data of its
  own right after the analysis of the pasted data, and the model decides.
* **the material a job is made with, named by a pronoun or a demonstrative** ("and train an
  adapter with them", "y entrena con ellas un adaptador", "und trainier einen Adapter mit genau
  diesen Sätzen"): ``lx.PRONOUN`` reads "ellas", "isso" only before a few words, and "diesen"
  is no demonstrative of its list; ``edges._WITH_REF`` makes "with + pronoun/demonstrative"
  anywhere in a clause without data of its own a reference back.
* **a job naming the previous step's product** by "text" or an inflected form of a noun of
  the previous step's clause ("écris-en une version simple et dessine une image qui va avec ce
  texte", "sum the result up in bullet points and translate the bullet points"): ``inherit``
  made it read what the previous step read, as a parallel job; a noun naming the previous
  step's product (``_stem``, ``_CAP_NOUNS["text_generation"]``) now keeps the chain. The
  German "in drei Stichpunkten ... die Stichpunkte" stays a strict xfail (the noun stands
  after a topic preposition).

The requests are written for these tests (none is a benchmark request)."""

from __future__ import annotations

import pytest
from intent_cases import manifest_with_trainer, shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import Origin, _known, _stem, pair_features
from mesh_orchestrator.planning.intent.model import normalize

_PLANNER = IntentPlanner()
_AGENTS = manifest_with_trainer()

ONCE_KNOWN = [
    "What's the tallest mountain in Africa? Once you know, draw a hiker waving from the top.",
    "¿Cuál es el lago más profundo de Sudamérica? Cuando lo sepas, dibuja un barco de vela sobre él.",
    "Quel est le plus long fleuve d'Asie ? Quand tu le sauras, dessine un bateau qui le descend.",
    "Welcher ist der höchste Berg der Alpen? Sobald du es weißt, zeichne eine Gämse auf dem Gipfel.",
    "Qual é o maior deserto da Ásia? Assim que souberes, desenha uma caravana de camelos a atravessá-lo.",
    "Qual è il vulcano più alto d'Europa? Quando lo sai, disegna una capanna ai suoi piedi.",
    "Wat is de grootste waterval van Europa? Zodra je het weet, teken er een regenboog boven.",
]


@pytest.mark.parametrize("query", ONCE_KNOWN)
def test_once_you_know_reads_the_answer(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [
        ("search", []),
        ("image_generation", ["1"]),
    ]


@pytest.mark.parametrize(
    ("clause", "known"),
    [
        ("once you know, draw it", True),
        ("and once you have it, write a poem", True),
        ("Cuando lo sepas, escríbele una oda", True),
        ("Quand tu l'auras, fais-en un résumé", True),
        ("Nachdem du es herausgefunden hast, schreib ein Gedicht", True),
        ("Quando o souberes, escreve um poema", True),
        ("Non appena lo sai, scrivi una poesia", True),
        ("Als je het weet, schrijf een gedicht", True),
        # time, a moment: no answer to know
        ("When you have time, write a poem about rain", False),
        ("Cuando tengas un momento, escribe un poema", False),
        ("Quand tu as le temps, écris un poème", False),
        ("Als je tijd hebt, schrijf een gedicht", False),
        ("When is the next solar eclipse?", False),
        ("Write a poem about the sea", False),
    ],
)
def test_the_once_known_cue(clause: str, known: bool) -> None:
    assert _known(normalize(clause)) is known


def test_once_known_is_no_question_and_points_back() -> None:
    origins = [
        Origin("t1", "search", 0, "Which bird flies the fastest?", "start"),
        Origin("t2", "text_generation", 1, "Cuando lo sepas, escríbele una oda", "sentence"),
    ]
    ((_, _, f),) = pair_features(origins, "Which bird flies the fastest? " + origins[1].instruction)
    assert f["question"] == 0.0
    assert f["pronoun"] == 1.0
    assert f["i_question_next"] == 1.0


DATA_NEXT = [
    "Analyze these numbers and write a short note to the volunteers about how the bake sale went:\nday,cakes,euros\nfri,40,120\nsat,75,260\nsun,30,90",
    "Analiza estos datos y escribe un mensaje corto para los vecinos sobre el consumo de agua:\nmes,litros\nenero,5200\nfebrero,4900\nmarzo,7100",
    "Analyse ces chiffres et rédige un petit mot pour l'équipe sur les ventes du salon :\njour,ventes\nlundi,12\nmardi,15\nmercredi,31",
    "Analysiere diese Zahlen und schreib eine kurze Nachricht an den Vorstand über die Mitglieder:\njahr,mitglieder\n2021,140\n2022,155\n2023,98",
    "Analisa estes dados e escreve uma mensagem curta para a equipa sobre as vendas da feira:\ndia,vendas\nsegunda,12\nterca,15\nquarta,31",
    "Analizza questi dati e scrivi un breve messaggio per il comitato sulle iscrizioni:\nanno,iscritti\n2021,140\n2022,155\n2023,98",
    "Analyseer deze cijfers en schrijf een kort bericht aan het bestuur over de leden:\njaar,leden\n2021,140\n2022,155\n2023,98",
]


@pytest.mark.parametrize("query", DATA_NEXT)
def test_a_job_after_an_analysis_of_pasted_data_reads_it(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [
        ("data_analysis", []),
        ("text_generation", ["1"]),
    ]


def test_the_data_gate_opens_only_after_an_analysis_of_pasted_data() -> None:
    origins = [
        Origin("t1", "data_analysis", 0, "Analyze these numbers", "start", own_data=True),
        Origin("t2", "text_generation", 1, "write a short note to the team", "and"),
    ]
    ((_, _, f),) = pair_features(origins)
    assert f["_asks13"] == 1.0 and f["_asks_sib"] == 0.0
    # the job carries data of its own, or the first one is no analysis: the gate stays shut
    own = [origins[0], Origin("t2", "text_generation", 1, "write a note", "and", own_data=True)]
    ((_, _, f),) = pair_features(own)
    assert f["_asks13"] == 0.0
    text = [Origin("t1", "summarization", 0, "Summarize this", "start", own_data=True), origins[1]]
    ((_, _, f),) = pair_features(text)
    assert f["_asks13"] == 0.0


NAMES_PRODUCT = [
    "Look up how glaciers form, sum the result up in three bullet points and translate the bullet points into Spanish.",
    "Recherchier, wie Gletscher entstehen, fass das Ergebnis in drei Stichpunkten zusammen und übersetz die Stichpunkte ins Spanische.",
    "Cherche comment se forment les glaciers, puis écris-en un petit texte pour des enfants et dessine une image qui va avec ce texte.",
    "Busca cómo se forman los glaciares, luego escribe con eso un texto sencillo para niños y dibuja una imagen que acompañe ese texto.",
]
_NAMES_SHAPES = [
    [("search", []), ("summarization", ["1"]), ("translation", ["2"])],
    [("search", []), ("summarization", ["1"]), ("translation", ["2"])],
    [("search", []), ("text_generation", ["1"]), ("image_generation", ["2"])],
    [("search", []), ("text_generation", ["1"]), ("image_generation", ["2"])],
]


_NAMES_CASES = list(zip(NAMES_PRODUCT, _NAMES_SHAPES, strict=True))
# The noun inflected in the summary's own clause ("in drei Stichpunkten") stands after a
# topic preposition, and a topic is no product (``_topic_words``: "a poem about the lava");
# matching the topic words too broke "Also, a picture of the Statue of Liberty" after a
# lookup of its height (``test_intent_edges_round12.test_independent_jobs_stay_apart``).
# Round 17's decoding reads it (an xfail until then): ``edges.round17`` moves a source the
# model chose to a later task whose clause words the job names by stem, topics included,
# only when the job does not name the one chosen (``test_intent_round17_edges.py``).


@pytest.mark.parametrize(("query", "shape"), _NAMES_CASES)
def test_a_job_naming_the_previous_product_reads_it(
    query: str, shape: list[tuple[str, list[str]]]
) -> None:
    assert shape_of(query, planner=_PLANNER) == shape


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("stichpunkten", "stichpunkte", True),
        ("resumos", "resumo", True),
        ("versiones", "version", True),
        ("texte", "tekst", False),
        ("plan", "plans", False),  # short words: no stem to trust
    ],
)
def test_stems(a: str, b: str, same: bool) -> None:
    assert (_stem(a) == _stem(b) != "") is same


MADE_WITH = [
    "Write twelve sample lines in the voice of a grumpy lighthouse keeper and then fine-tune an adapter with them.",
    "Escribe doce frases de ejemplo con la voz de un farero gruñón y entrena con ellas un adaptador LoRA.",
    "Rédige douze phrases dans le style d'un gardien de phare grognon et entraîne ensuite un adaptateur LoRA avec ces phrases.",
    "Schreib zwölf Beispielsätze im Ton eines mürrischen Leuchtturmwärters und trainier danach einen LoRA-Adapter mit diesen Sätzen.",
    "Escreve doze frases de exemplo com a voz de um faroleiro rabugento e treina com elas um adaptador LoRA.",
    "Scrivi dodici frasi di esempio con la voce di un guardiano del faro brontolone e poi addestra un adattatore LoRA con queste frasi.",
    "Schrijf twaalf voorbeeldzinnen in de stem van een chagrijnige vuurtorenwachter en train daarna een LoRA-adapter met deze zinnen.",
]


@pytest.mark.parametrize("query", MADE_WITH)
def test_the_material_named_by_with_and_a_pronoun_is_read(query: str) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == [
        ("text_generation", []),
        ("lora_training", ["1"]),
    ]


def test_with_and_a_pronoun_over_pasted_data_is_no_reference() -> None:
    origins = [
        Origin("t1", "text_generation", 0, "Write a slogan for the bakery", "start"),
        Origin(
            "t2", "data_analysis", 1, "compare the sales with these figures", "and", own_data=True
        ),
    ]
    ((_, _, f),) = pair_features(origins)
    assert f["pronoun"] == 0.0
    mine = [
        origins[0],
        Origin("t2", "lora_training", 1, "train an adapter with those lines", "and"),
    ]
    ((_, _, f),) = pair_features(mine)
    assert f["pronoun"] == 1.0
