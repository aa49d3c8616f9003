"""Round 12's edge decoding (``edges.round12``): enumerations, fan-outs, items that name
an earlier item.

Six classes read in the leave-one-batch-out held-out edge errors over dev batches 4-24 (kinds
enumeration, fan-out and reference), each decided after the model and ``inherit``:

* a sentence that opens by pointing back ("From that poem I want ...", "À partir de ce texte,
  fais ...", "Daraus mach ...", "da quello ricava ...") feeds every job it lists, not only its
  first one;
* a clause whose quotation follows its colon ("and also summarise this: \"...\"") reads that
  quotation, no earlier task;
* things after a head that counts them with no reference ("I need a few things ...") stay
  apart when one only shares a topic with another ("a poem about the lava" after "how hot does
  lava get?");
* a numbered item that names an earlier item's result ("3. Translate the slogan") reads it;
* a listed item that points back ("b) draw that planet", "c) a poem about it") reads the
  nearest text;
* a sentence opening with "besides that" ("além disso", "abgesehen davon", "oltre a questo")
  adds jobs that read nothing they do not point at past that phrase.

The requests are written for these tests (none is a benchmark request), in the seven
languages; each list fails, in at least one language, under round 11's decoding (the same
weights, ``r12`` off: ``test_each_class_fails_without_round12``)."""

from __future__ import annotations

import copy

import pytest
from intent_cases import manifest_with_trainer, shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import edges as edges_mod
from mesh_orchestrator.planning.intent.edges import (
    EdgeModel,
    Origin,
    learned,
    pair_features,
    round12,
)
from mesh_orchestrator.planning.intent.model import normalize

_AGENTS = manifest_with_trainer()
_PLANNER = IntentPlanner()

# a sentence opening by pointing back feeds each job it lists
SENTENCE_LEAD = [
    "Write a short poem about autumn leaves. From that poem I want a watercolour picture, and separately a two-line summary for the newsletter.",
    "Escribe un anuncio corto para vender mi bicicleta vieja. A partir de ese texto, haz una versión corta para Wallapop y una versión en inglés para los turistas.",
    "Écris un petit texte de bienvenue pour notre gîte en Bretagne. À partir de ce texte, fais une version courte pour Instagram et une version en allemand pour les randonneurs.",
    "Schreib einen kurzen Werbetext für unseren Hofladen. Daraus mach bitte eine kurze Zusammenfassung für Instagram und eine englische Übersetzung für die Touristen.",
    "Escreve um pequeno anúncio para vender a minha mota antiga. A partir desse texto, faz uma versão curta para o OLX e uma versão em inglês para os turistas.",
    "Scrivi un breve testo di presentazione per la nostra pizzeria; da quello ricava un riassunto di una riga per Instagram e una versione in inglese per i turisti.",
    "Schrijf een korte tekst over onze bakkerij. Maak op basis daarvan een korte samenvatting voor Instagram en een Engelse vertaling voor de toeristen.",
]
_SENTENCE_SHAPES = [
    [("text_generation", []), ("image_generation", ["1"]), ("summarization", ["1"])],
    [("text_generation", []), ("text_generation", ["1"]), ("translation", ["1"])],
    [("text_generation", []), ("text_generation", ["1"]), ("translation", ["1"])],
    [("text_generation", []), ("summarization", ["1"]), ("translation", ["1"])],
    [("text_generation", []), ("text_generation", ["1"]), ("translation", ["1"])],
    [("text_generation", []), ("summarization", ["1"]), ("translation", ["1"])],
    [("text_generation", []), ("summarization", ["1"]), ("translation", ["1"])],
]


@pytest.mark.parametrize(
    ("query", "shape"), list(zip(SENTENCE_LEAD, _SENTENCE_SHAPES, strict=True))
)
def test_a_sentence_pointing_back_feeds_every_job_it_lists(
    query: str, shape: list[tuple[str, list[str]]]
) -> None:
    # The edges are what is tested: "a short version" of a text is writing or a summary (the
    # benchmark accepts either), a near-tie the retrained model may tip either way.
    assert _writing(shape_of(query, _AGENTS, planner=_PLANNER)) == _writing(shape)


def _writing(shape: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    return [
        ("writing" if cap in ("text_generation", "summarization") else cap, ins)
        for cap, ins in shape
    ]


# a clause whose quotation follows its colon reads the quotation, not the job before it
OWN_QUOTE = [
    'Translate "good luck" into Japanese, and also summarise this: "The library will close early on Friday because of a staff meeting. Returns can be left in the box outside."',
    'Traduce "buenas noches" al italiano y también resume esto: "El gimnasio cierra el lunes por obras. Las clases de yoga pasan al martes por la tarde en la sala dos."',
    'Traduis "bon appétit" en allemand, et résume aussi ceci : "La piscine sera fermée du 3 au 10 mai pour travaux. Les cours d\'aquagym reprendront le 12 mai à 18 heures."',
    'Übersetze "gute Reise" ins Spanische und fasse außerdem das hier zusammen: "Die Kantine bleibt am Freitag geschlossen. Ab Montag gibt es wieder warmes Essen von 11 bis 14 Uhr."',
    'Traduz "boa sorte" para francês e também resume isto: "A biblioteca fecha mais cedo na sexta por causa de uma reunião. As devoluções podem ser deixadas na caixa à entrada."',
    'Traduci "buon viaggio" in spagnolo e riassumi anche questo: "La palestra resta chiusa lunedì per lavori. Le lezioni di yoga passano a martedì pomeriggio nella sala due."',
    'Vertaal "goede reis" naar het Duits en vat ook dit samen: "De kantine is vrijdag gesloten. Vanaf maandag is er weer warm eten tussen elf en twee uur."',
]


@pytest.mark.parametrize("query", OWN_QUOTE)
def test_a_clause_with_its_own_quotation_reads_no_earlier_job(query: str) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == [
        ("translation", []),
        ("summarization", []),
    ]


# things after a head counting them with no reference: a shared topic is no edge
TOPIC_APART = [
    "I need a few things for my son's school project. A picture of a volcano erupting. How hot does lava get? And a short poem about the lava to finish.",
    "Necesito varias cosas para el proyecto de mi hijo. Una imagen de un volcán en erupción. ¿Qué temperatura alcanza la lava? Y un poema corto sobre la lava para terminar.",
    "J'ai besoin de plusieurs choses pour l'exposé de ma fille. Une image d'un volcan en éruption. Quelle est la température de la lave ? Et un petit poème sur la lave pour finir.",
    "Ich brauche ein paar Sachen für das Referat meiner Tochter. Ein Bild von einem Vulkanausbruch. Wie heiß wird Lava? Und ein kurzes Gedicht über die Lava zum Schluss.",
    "Preciso de várias coisas para o trabalho do meu filho. Uma imagem de um vulcão em erupção. Qual é a temperatura da lava? E um poema curto sobre a lava para acabar.",
    "Mi servono alcune cose per la ricerca di mio figlio. Un'immagine di un vulcano in eruzione. Quanto è calda la lava? E una poesia breve sulla lava per finire.",
    "Ik heb een paar dingen nodig voor de spreekbeurt van mijn zoon. Een plaatje van een vulkaanuitbarsting. Hoe heet wordt lava? En een kort gedicht over de lava als afsluiter.",
]


@pytest.mark.parametrize("query", TOPIC_APART)
def test_counted_things_sharing_a_topic_stay_apart(query: str) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == [
        ("image_generation", []),
        ("search", []),
        ("text_generation", []),
    ]


# a numbered item naming an earlier item's result reads it
NAMED_ITEM = [
    (
        '1. Write a slogan for our bakery "Crumbs"'
        "\n"
        "2. Draw a logo with a steaming croissant"
        "\n"
        "3. Translate the slogan into French"
    ),
    (
        '1. Escribe un eslogan para nuestra panadería "Migas"'
        "\n"
        "2. Dibuja un logo con un cruasán humeante"
        "\n"
        "3. Traduce el eslogan al inglés"
    ),
    (
        "1. Écris un slogan pour notre boulangerie « Miettes »"
        "\n"
        "2. Dessine un logo avec un croissant fumant"
        "\n"
        "3. Traduis le slogan en anglais"
    ),
    (
        '1. Schreib einen Slogan für unsere Bäckerei "Krümel"'
        "\n"
        "2. Mal ein Logo mit einer dampfenden Brezel"
        "\n"
        "3. Übersetze den Slogan ins Französische"
    ),
    (
        '1. Escreve um slogan para a nossa padaria "Migalhas"'
        "\n"
        "2. Desenha um logótipo com um croissant a fumegar"
        "\n"
        "3. Traduz o slogan para inglês"
    ),
    (
        '1. Scrivi uno slogan per il nostro panificio "Briciole"'
        "\n"
        "2. Disegna un logo con un cornetto fumante"
        "\n"
        "3. Traduci lo slogan in inglese"
    ),
    (
        '1. Schrijf een slogan voor onze bakkerij "Kruimel"'
        "\n"
        "2. Teken een logo met een dampende croissant"
        "\n"
        "3. Vertaal de slogan naar het Engels"
    ),
]


@pytest.mark.parametrize("query", NAMED_ITEM)
def test_an_item_naming_an_earlier_result_reads_it(query: str) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == [
        ("text_generation", []),
        ("image_generation", []),
        ("translation", ["1"]),
    ]


# a lettered item pointing back reads the nearest text (a picture is none)
ITEM_POINTS_BACK = [
    (
        "a) which is the largest planet of the solar system?"
        "\n"
        "b) draw that planet with colourful rings, comic style"
        "\n"
        "c) write a short poem about it for my nephew"
    ),
    (
        "a) ¿cuál es el río más largo de Europa?"
        "\n"
        "b) dibuja ese río al atardecer, estilo acuarela"
        "\n"
        "c) escríbeme un poema corto sobre él para mi sobrina"
    ),
    (
        "a) quelle est la plus haute montagne d'Afrique ?"
        "\n"
        "b) dessine cette montagne sous la neige, style bande dessinée"
        "\n"
        "c) écris un petit poème sur elle pour mon neveu"
    ),
    (
        "a) welcher ist der größte See Deutschlands?"
        "\n"
        "b) mal diesen See bei Sonnenuntergang, im Comicstil"
        "\n"
        "c) schreib ein kurzes Gedicht über ihn für meinen Neffen"
    ),
    (
        "a) qual é o maior planeta do sistema solar?"
        "\n"
        "b) desenha esse planeta com anéis coloridos, estilo banda desenhada"
        "\n"
        "c) escreve um poema curto sobre ele para o meu sobrinho"
    ),
    (
        "a) qual è il vulcano più alto d'Europa?"
        "\n"
        "b) disegna quel vulcano al tramonto, stile fumetto"
        "\n"
        "c) scrivi una breve poesia su di lui per mio nipote"
    ),
    (
        "a) wat is de langste rivier van Nederland?"
        "\n"
        "b) teken die rivier bij zonsondergang, in stripstijl"
        "\n"
        "c) schrijf een kort gedicht over hem voor mijn neefje"
    ),
]


# Round 13's retrained edge model left the Dutch "teken die rivier" unlinked ("die" is a
# demonstrative and a relative pronoun, a near-tie of the pair's weights); round 17's retrain
# links it, so every item here is asserted again.
@pytest.mark.parametrize("query", ITEM_POINTS_BACK)
def test_a_listed_item_pointing_back_reads_the_nearest_text(query: str) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == [
        ("search", []),
        ("image_generation", ["1"]),
        ("text_generation", ["1"]),
    ]


# a sentence opening with "besides that" adds jobs: they read nothing they do not point at
BESIDES = [
    "Write a poem about autumn. Besides that, draw a cat on a sofa and look up the height of Ben Nevis.",
    "Escribe un poema sobre el otoño. Además de eso, dibuja un gato en un sofá y busca la altura del Aneto.",
    "Écris un poème sur l'automne. En plus de ça, dessine un chat sur un canapé et cherche la hauteur du Mont Blanc.",
    "Schreib ein Gedicht über den Herbst. Abgesehen davon, zeichne eine Katze auf einem Sofa und such die Höhe der Zugspitze.",
    "Escreve um poema sobre o outono. Além disso, faz um desenho de um gato e procura informação sobre o rio Douro.",
    "Scrivi una poesia sull'autunno. Oltre a questo, disegna un gatto su un divano e cerca l'altezza del Monte Bianco.",
    "Schrijf een gedicht over de herfst. Afgezien daarvan, teken een kat op een bank en zoek de hoogte van de Vaalserberg op.",
]
_BESIDES_SHAPE = [("text_generation", []), ("image_generation", []), ("search", [])]


@pytest.mark.parametrize("query", BESIDES)
def test_jobs_after_besides_that_read_nothing(query: str) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == _BESIDES_SHAPE


# what the decoding must leave apart: lookups and questions sharing a noun, a question word
# ending like a clitic ("quelle"), items sharing a topic after "de" ("de la oficina")
APART = [
    (
        "Find the height of the Eiffel Tower. Also, find the height of the Statue of Liberty. "
        "Also, a picture of the Statue of Liberty at night.",
        [("search", []), ("search", []), ("image_generation", [])],
    ),
    (
        "J'ai besoin de plusieurs choses :\na) Cherche qui a inventé le vélo\n"
        "b) Quelle est la hauteur du Mont Blanc ?",
        [("search", []), ("search", [])],
    ),
    (
        "Tres cosas:\n1. Crea un póster de la fiesta de la oficina\n2. Escribe un chiste sobre "
        "mi gata\n3. Escríbeme un cuento corto sobre la fiesta de la oficina",
        [("image_generation", []), ("text_generation", []), ("text_generation", [])],
    ),
]


@pytest.mark.parametrize(("query", "shape"), APART)
def test_independent_jobs_stay_apart(query: str, shape: list[tuple[str, list[str]]]) -> None:
    assert shape_of(query, _AGENTS, planner=_PLANNER) == shape


def _without_round12() -> IntentPlanner:
    model = learned()
    assert model is not None and model.r12
    old = copy.copy(model)  # the cached model stays as shipped
    old.r12 = False
    return IntentPlanner(edges=old)


@pytest.mark.parametrize(
    ("cases", "shape"),
    [
        (SENTENCE_LEAD, None),
        (OWN_QUOTE, [("translation", []), ("summarization", [])]),
        # (TOPIC_APART left out since round 15: the model retrained on 3,305 dev requests
        # keeps those jobs apart without the round-12 features too; the class is still
        # held by ``test_counted_things_sharing_a_topic_stay_apart``)
        (BESIDES, _BESIDES_SHAPE),
        # (NAMED_ITEM left out since round 15, branch plan-gate15: the gate ``_asks15`` opens
        # to "3. Translate the slogan", a determiner and the noun item 1 made, and the model
        # reads it without round 12's ``_names_one``; the class is still held by
        # ``test_an_item_naming_an_earlier_result_reads_it``)
        (
            ITEM_POINTS_BACK,
            [("search", []), ("image_generation", ["1"]), ("text_generation", ["1"])],
        ),
    ],
)
def test_each_class_fails_without_round12(
    cases: list[str], shape: list[tuple[str, list[str]]] | None
) -> None:
    old = _without_round12()
    wants = _SENTENCE_SHAPES if shape is None else [shape] * len(cases)
    wrong = [
        q for q, want in zip(cases, wants, strict=True) if shape_of(q, _AGENTS, planner=old) != want
    ]
    assert wrong


def _origins(*rows: tuple[str, str, str]) -> list[Origin]:
    return [Origin(f"t{k + 1}", cap, k, text, joined) for k, (cap, text, joined) in enumerate(rows)]


def test_round12_decodes_the_classes_whatever_the_model_chose() -> None:
    # a sentence pointing back: the model chose nothing for either job
    fan = _origins(
        ("text_generation", "Write a short poem about the sea", "start"),
        ("text_generation", "make a short version for Instagram", "sentence"),
        ("translation", "a version in German for the neighbours", "and"),
    )
    query = (
        "Write a short poem about the sea. From that poem, make a short version for Instagram "
        "and a version in German for the neighbours."
    )
    assert round12({1: [], 2: [1]}, pair_features(fan, query)) == {1: [0], 2: [0]}
    # ... no sentence pointing back: the model's choice stands
    plain = query.replace("From that poem, make", "Make")
    assert round12({1: [], 2: [1]}, pair_features(fan, plain)) == {1: [], 2: [1]}
    # a quotation after the clause's colon
    quote = _origins(
        ("translation", 'Translate "hello" into Greek', "start"),
        ("summarization", "also summarise this", "and"),
    )
    query = 'Translate "hello" into Greek, and also summarise this: "The pool is shut."'
    assert round12({1: [0]}, pair_features(quote, query)) == {1: []}
    # a named result, and none named
    named = _origins(
        ("text_generation", "Write a slogan for our shop", "item"),
        ("image_generation", "Draw a logo with a candle", "item"),
        ("translation", "Translate the slogan into Italian", "item"),
    )
    query = "1. Write a slogan for our shop\n2. Draw a logo with a candle\n3. Translate the slogan into Italian"
    assert round12({1: [], 2: []}, pair_features(named, query)) == {1: [], 2: [0]}
    # ... "a motto" names nothing made before: the model's choice (none) stands
    motto = [*named[:2], Origin("t3", "translation", 2, "Translate a motto into Italian", "item")]
    shop = query.replace("the slogan", "a motto")
    assert round12({1: [], 2: []}, pair_features(motto, shop))[2] == []


@pytest.mark.parametrize(
    ("query", "lead"),
    [
        ("Write a poem. From that poem I want a picture, and a summary.", True),
        ("Escribe un texto. Con eso quiero un resumen y un dibujo.", True),
        ("Écris un texte. À partir de ce texte, fais un résumé.", True),
        ("Schreib einen Text. Daraus mach bitte ein Bild.", True),
        ("Escreve um texto. A partir desse texto, faz um resumo.", True),
        ("Scrivi un testo; da quello ricava un riassunto.", True),
        ("Schrijf een tekst. Maak op basis daarvan een samenvatting.", True),
        ("Write a poem. Then draw a cat and a dog.", False),
        ("Escreve um poema. Além disso, faz um desenho.", False),
        ("Write a poem. A short list of questions that are fun.", False),
    ],
)
def test_a_sentence_that_opens_by_pointing_back(query: str, lead: bool) -> None:
    sentences = edges_mod._sentence_leads(normalize(query))
    assert len(sentences) == 2
    assert sentences[1][2] is lead and sentences[0][2] is False


@pytest.mark.parametrize(
    ("clause", "strict"),
    [
        ("dibuja ese planeta con anillos", True),
        ("escríbeme un poema cortito sobre él para mi sobrino", True),
        ("mal diesen See bei Sonnenuntergang", True),
        ("traduis-le en anglais", True),
        ("maak er een tekening van", True),
        ("y un poema cortito sobre la lava para acabar", False),  # "poema": no "poe" + "ma"
        ("Finde heraus, wie die Zugspitze funktioniert", False),  # "die" before "Zu...": no
        ("Ein Vierzeiler für die Einladung zur Party", False),
        ("Un discurso para el jazz", False),
        ("Quelle est la hauteur du Mont Blanc ?", False),
        ("how tall is the Eiffel Tower (it's for the quiz)", False),
    ],
)
def test_a_reference_back_that_stands(clause: str, strict: bool) -> None:
    assert edges_mod._strict12(clause) is strict


def test_topics_are_not_named_results() -> None:
    assert edges_mod._object_names("Translate the slogan into French") == {"slogan"}
    assert edges_mod._object_names("a short poem about the lava") == set()
    assert "slogan" not in edges_mod._topic_words('Write a slogan for our bakery "Crumbs"')
    assert "bakery" in edges_mod._topic_words('Write a slogan for our bakery "Crumbs"')


def test_round12_round_trips_and_is_off_by_default() -> None:
    model = EdgeModel({"bias": 1.0}, threshold=0.5, single=True, r12=True)
    assert EdgeModel.from_json(model.to_json()).r12
    assert not EdgeModel.from_json({"weights": {}, "threshold": 0.5}).r12


def test_hostile_requests_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """8,000 characters of short sentences: each sentence's words are read once, so the words
    scanned stay within the request's length (counted, not timed)."""
    scanned = 0
    real = edges_mod._WORD

    class Counting:
        def findall(self, text: str) -> list[str]:
            nonlocal scanned
            scanned += len(text)
            return real.findall(text)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    query = "From that poem, a picture. " * 300
    norm = normalize(query)
    monkeypatch.setattr(edges_mod, "_WORD", Counting())
    sentences = edges_mod._sentence_leads(norm)
    assert len(sentences) == 300 and all(lead for _, _, lead in sentences)
    assert scanned <= len(norm)
    origins = _origins(*[("text_generation", "a picture", "sentence")] * 40)
    monkeypatch.setattr(edges_mod, "_WORD", real)
    pairs = pair_features(origins, query[:8000])
    assert len(pairs) == 40 * 39 // 2
