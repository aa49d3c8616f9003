"""The intent planner on two open node classes of round 12.

1. A picture named by a noun the model was never taught ("cover art", "thumbnail",
   "Titelbild", "copertina", ...).

A clause that names a picture with no verb of its own ("cover art for my band's EP"), or after a
verb that says only make or give ("make me a thumbnail for ..."), is a picture, whichever
job the model reads in the words around it. The nouns are a lexicon
(``lexicon.PICTURE_NOUNS``, ``lexicon.PICTURE_PHRASES``), checked here in the seven languages
in wording written for this file (not from the benchmark), with the limits of the cue: a text
about a picture ("a poster text for ...") and a negated picture stay what they were.

2. "both X and Y" over two languages ("tanto al inglés como al alemán", "sowohl ins Englische
   als auch ins Spanische", "sia in inglese che in spagnolo", "zowel naar het Engels als naar
   het Duits"): the correlative's second half goes on the list of languages
   (``fanout._CORRELATIVE``), so each language is a translation of its own, whose
   instruction names that language only.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, manifest

from mesh_orchestrator.planning.intent.cues import named_picture
from mesh_orchestrator.planning.intent.segment import Segment


@pytest.mark.parametrize(
    "query",
    [
        "cover art for my jazz trio's first EP, blue and smoky, with a saxophone",
        "a thumbnail for my chess channel, a knight jumping over a pawn",
        "artwork for our bakery's anniversary, warm colours and a big cake",
        "make me a thumbnail for my cooking video about sourdough bread",
        "hazme una portada para el podcast de cocina de mi abuela",
        "una miniatura para mi canal de ajedrez con un caballo saltando",
        "fond d'écran pour mon ordinateur avec des montagnes au coucher du soleil",
        "Titelbild für meinen Reiseblog über Norwegen, mit Fjorden und einem roten Boot",
        "papel de parede pro meu celular com um farol à noite",
        "copertina per il mio album di canzoni folk, con un bosco d'autunno",
        "omslag voor mijn kinderboek over een egel die wil vliegen",
    ],
)
def test_a_named_picture_is_drawn(query: str) -> None:
    assert caps_of(query) == ["image_generation"]


@pytest.mark.parametrize(
    "text",
    [
        "cover art for my EP",
        "an artwork of a lighthouse",
        "give me a banner for the shop",
        "una miniatura para mi vídeo",
        "un visuel pour notre affiche de concert",
        "ein Vorschaubild für mein Video",
        "capa do livro com um gato",
        "una locandina per la sagra",
        "een afbeelding van een molen",
    ],
)
def test_the_cue_reads_picture_nouns_in_seven_languages(text: str) -> None:
    assert named_picture(Segment(text))


@pytest.mark.parametrize(
    "text",
    [
        "a poster text for the school fair",  # a text for a picture
        "write a summary of the cover art debate",  # a verb of its own
        "Picture this: a town where nobody sleeps",  # a verb, not the noun
        "cover the main points of the talk",  # "cover" alone is a verb
        "un cuadro con las ventas por mes",  # a table, not a picture
    ],
)
def test_the_cue_leaves_what_names_no_picture(text: str) -> None:
    assert not named_picture(Segment(text))


def test_hostile_input_stays_bounded() -> None:
    # the cue reads the first eight words only, whatever follows
    assert named_picture(Segment("cover art for " + "gnome " * 4000))
    assert not named_picture(Segment("gnome " * 4000))


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        (
            "Escribe un aviso para la puerta del garaje y tradúcelo tanto al inglés como al "
            "alemán.",
            ["inglés", "alemán"],
        ),
        (
            "Écris un petit mot pour la voisine et traduis-le aussi bien en anglais qu'en "
            "espagnol.",
            ["anglais", "espagnol"],
        ),
        (
            "Schreib eine kurze Notiz für den Hausmeister und übersetze sie sowohl ins "
            "Englische als auch ins Spanische.",
            ["Englische", "Spanische"],
        ),
        (
            "Escreve um recado para o vizinho e traduz tanto para o inglês quanto para o alemão.",
            ["inglês", "alemão"],
        ),
        (
            "Scrivi un breve avviso per il condominio e traducilo sia in inglese che in spagnolo.",
            ["inglese", "spagnolo"],
        ),
        (
            "Schrijf een kort briefje voor de buren en vertaal het zowel naar het Engels als "
            "naar het Duits.",
            ["Engels", "Duits"],
        ),
    ],
)
def test_both_languages_of_a_correlative_are_translations(query: str, kept: list[str]) -> None:
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == ["text_generation", "translation", "translation"]
    prompts = [str(t.input.get("prompt", "")) for t in plan.tasks[1:]]
    for prompt, own, other in zip(prompts, kept, kept[::-1], strict=True):
        assert own in prompt and other not in prompt, prompt


def test_both_in_english_names_each_language_once() -> None:
    # "both" and "and" do not stay in the instructions of the two translations
    plan = PLANNER.plan_sync(
        "Write a short toast for my brother's wedding and translate it into both German and "
        "French.",
        manifest(),
    )
    prompts = [str(t.input.get("prompt", "")) for t in plan.tasks if t.capability == "translation"]
    assert prompts == ["translate it into German", "translate it into French"]
