"""Node classes of round 14: how many tasks a request asks for, decided by mechanism in the
seven languages (every wording here is new, none is a benchmark request):

* the same job asked twice ("once for a child and once for a physicist", "einmal ... und
  einmal ...", "una vez ... y otra ...") is two tasks, each with what its "once" says
  (``Segmenter._once``; ``Segment.again`` keeps either time from being folded into the other);
* one more of a thing just named ("un tuto en anglais et un autre en espagnol", "einen
  anderen über ...", "noch einen", "nog een"): made as the first was (``_one_more``,
  ``fanout._AND_ONE``), not a translation of nothing;
* "separately" and what shares the verb before it ("look up X and separately the one for
  Y"): a second lookup (``_APART_LEAD``, ``Segmenter._apart``);
* a second question about the same thing ("... and who made it?", "e dove si imposta questo
  limite?") is one lookup (``_follow_up``, ``fanout.FOLLOW_UP``); a second thing named is not;
* "after" before a noun ("después de la lluvia", "depois da chuva") is a time, not "then"
  (``_after_noun``);
* "à partir de ça" before a verb leads a step of its own.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "Look up how a rainbow forms, then explain it twice: once for my little sister "
            "and once for my chemistry teacher.",
            ["search", "text_generation", "text_generation"],
        ),
        (
            "Escribe una descripción breve de nuestra panadería, una vez para la web y otra "
            "para Instagram.",
            ["text_generation", "text_generation"],
        ),
        (
            "Rédige un petit mot de bienvenue pour les nouveaux voisins, une fois pour la "
            "boîte aux lettres et une fois pour le groupe de l'immeuble.",
            ["text_generation", "text_generation"],
        ),
        (
            "Schreib eine kurze Einladung zum Grillfest. Die dann bitte einmal ins Französische "
            "und einmal ins Polnische.",
            ["text_generation", "translation", "translation"],
        ),
        (
            "Faz um resumo deste artigo duas vezes: uma vez para crianças e outra para "
            "adultos: «As abelhas polinizam as flores e produzem mel.»",
            ["summarization", "summarization"],
        ),
        (
            "Scrivi una breve presentazione del nostro agriturismo, una volta per il sito e "
            "una volta per i social.",
            ["text_generation", "text_generation"],
        ),
        (
            "Maak een korte tekst over onze fietsenwinkel, één keer voor de website en één "
            "keer voor de nieuwsbrief.",
            ["text_generation", "text_generation"],
        ),
    ],
)
def test_a_job_asked_twice_is_two_tasks(query: str, expected: list[str]) -> None:
    assert _caps(query) == expected


def test_each_time_keeps_what_its_once_says() -> None:
    draft = PLANNER.build_sync(
        "Explain photosynthesis twice: once for a farmer and once for a poet.",
        load_manifest(),
        None,
    )[0]
    texts = [t.description for t in draft.plan.tasks]
    assert len(texts) == 2
    assert "farmer" in texts[0] and "poet" not in texts[0]
    assert "poet" in texts[1] and "farmer" not in texts[1]


@pytest.mark.parametrize(
    "query",
    [
        "once the summary is done, translate it into German: «Der Zug fährt um acht.»",
        "Una vez que tengas el resumen, tradúcelo al alemán: «El tren sale a las ocho.»",
    ],
)
def test_a_single_once_is_no_second_time(query: str) -> None:
    assert len(_caps(query)) <= 2  # never a third task from "once" alone


@pytest.mark.parametrize(
    "query",
    [
        "Write a toast for my brother's wedding and another one for my parents' anniversary.",
        "Escríbeme un chiste sobre programadores y otro sobre diseñadores.",
        "Écris un petit poème sur l'automne et un autre sur l'hiver.",
        "Schreib mir einen Witz über Lehrer und einen anderen über Schüler.",
        "Schreib mir ein Gedicht über den Frühling und noch eins über den Herbst.",
        "Escreve uma legenda para a foto da praia e outra para a foto da serra.",
        "Scrivi una filastrocca sul gatto e un'altra sul cane.",
        "Schrijf een gedichtje over de zee en nog een over de bergen.",
    ],
)
def test_one_more_of_the_same_thing_is_a_second_task(query: str) -> None:
    assert _caps(query) == ["text_generation", "text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Busca qué dice la documentación sobre los reintentos y con eso haz una guía en "
        "inglés y otra en francés.",
        "cherche ce que disent les docs sur les heartbeats, et à partir de ça fais un guide "
        "en anglais et un autre en allemand",
    ],
)
def test_one_more_in_another_language_keeps_the_lookup_and_both_guides(query: str) -> None:
    caps = _caps(query)
    assert caps[0] == "search"
    assert len(caps) == 3
    assert all(c in ("text_generation", "translation") for c in caps[1:])


@pytest.mark.parametrize(
    "query",
    [
        "Cherche qui a construit le viaduc de Millau et à partir de ça écris un petit poème.",
        "cherche comment fonctionne un frigo, et a partir de ca fais une fiche pour ma fille",
    ],
)
def test_from_that_and_a_verb_is_a_step_of_its_own(query: str) -> None:
    caps = _caps(query)
    assert caps[0] == "search" and len(caps) == 2 and caps[1] != "search"


@pytest.mark.parametrize(
    "query",
    [
        "look up the boiling point of ethanol and separately the one for methanol",
        "Busca la altura del Aconcagua y, por separado, la del Mont Blanc.",
        "Cherche la population de Lyon et, à part, celle de Marseille.",
        "Schau nach, wie alt die Zugspitzbahn ist, und daneben, wie lang die Strecke ist.",
        "Pesquisa a área do Brasil e, separadamente, a da Argentina.",
        "Cerca l'altezza del Cervino e, separatamente, quella del Monte Rosa.",
        "Zoek op hoe lang de Rijn is en los daarvan hoe lang de Maas is.",
    ],
)
def test_a_second_thing_looked_up_separately_is_a_second_lookup(query: str) -> None:
    assert _caps(query) == ["search", "search"]


@pytest.mark.parametrize(
    "query",
    [
        "When was the first smartphone sold, and who built it?",
        "¿Cuándo se inventó el teléfono y quién lo hizo?",
        "Quand a été construit le pont du Gard et pourquoi l'a-t-on construit ?",
        "Wer hat das Penicillin entdeckt und wann ist er gestorben?",
        "Quando foi fundada a cidade do Porto e quem a fundou?",
        "Quanti posti ha lo stadio di San Siro e quando è stato costruito questo stadio?",
        "Wanneer is de Afsluitdijk gebouwd en hoe lang is hij?",
    ],
)
def test_a_second_question_about_the_same_thing_is_one_lookup(query: str) -> None:
    assert _caps(query) == ["search"]


@pytest.mark.parametrize(
    "query",
    [
        "How long is the Danube and how high is Mont Blanc?",
        "Wie lang ist die Donau und wie hoch ist der Mont Blanc?",
    ],
)
def test_a_second_question_about_another_thing_is_a_second_lookup(query: str) -> None:
    assert _caps(query) == ["search", "search"]


@pytest.mark.parametrize(
    "query",
    [
        "Write a haiku about a quiet harbour after the storm",
        "escríbeme un poema sobre el silencio del pueblo después de la fiesta",
        "Écris un court poème sur la ville après la pluie",
        "Escreve um poema curto sobre o cheiro do pão depois da chuva",
        "Scrivi una poesia breve sulla spiaggia dopo la tempesta",
        "Schrijf een kort gedicht over het bos na de storm",
    ],
)
def test_after_and_a_noun_is_a_time_not_a_step(query: str) -> None:
    assert _caps(query) == ["text_generation"]


def test_after_that_is_still_a_step() -> None:
    caps = _caps(
        "Resume este texto y después de esto tradúcelo al inglés: «El museo abre a las nueve "
        "y cierra a las seis.»"
    )
    assert caps == ["summarization", "translation"]


@pytest.mark.parametrize(
    "query",
    [
        "Kannst du erklären, was ein Komet ist, und noch eine Absage für das Training schreiben?",
        "Escribe un poema sobre el mar y otra carta para mi abuela.",
    ],
)
def test_one_more_that_names_its_own_thing_is_its_own_job(query: str) -> None:
    assert len(_caps(query)) == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "Maak én een korte uitnodiging voor de buurtborrel én een vrolijke poster erbij.",
            ["text_generation", "image_generation"],
        ),
        (
            "Zoek op wat een meteoriet is, en maak daarvan én een samenvatting voor de klas "
            "én een tekening.",
            ["search", "summarization", "image_generation"],
        ),
        (
            "Ik wil én een samenvatting van dit verslag én een Duitse vertaling ervan: «De "
            "vergadering is verplaatst naar donderdag en begint om negen uur.»",
            ["summarization", "translation"],
        ),
    ],
)
def test_dutch_both_and_with_accents_is_one_job_per_thing(query: str, expected: list[str]) -> None:
    assert _caps(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "Look up how tides work, to then make a two-line summary.",
        "Busca cómo se forman las mareas para luego hacer un resumen de dos líneas.",
        "Cherche comment se forment les marées pour ensuite faire un résumé de deux lignes.",
        "Recherchiere, wie Gezeiten entstehen, um danach eine Zusammenfassung zu machen.",
        "Pesquisa como se formam as marés para depois fazer um resumo de duas linhas.",
        "Cerca come si formano le maree per poi fare un riassunto di due righe.",
        "Zoek op hoe getijden ontstaan om daarna een samenvatting te maken.",
    ],
)
def test_a_purpose_then_a_thing_to_make_is_a_second_step(query: str) -> None:
    assert _caps(query) == ["search", "summarization"]


@pytest.mark.parametrize(
    "query",
    [
        "Scrivi una filastrocca sul mare per farla leggere ai bambini.",
        "Escribe un poema corto para leerlo en la boda de mi hermana.",
        "Write a short toast to read at my sister's wedding.",
    ],
)
def test_a_purpose_alone_is_no_second_job(query: str) -> None:
    assert _caps(query) == ["text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "I'd like a picture of a lighthouse in the fog, style of an old woodcut.",
        "Quiero una imagen de un faro entre la niebla, estilo grabado antiguo.",
        "Je voudrais une image d'un phare dans la brume, style gravure ancienne.",
        "Ich hätte gern ein Bild von einem Leuchtturm im Nebel, Stil alter Holzschnitt.",
        "Queria uma imagem de um farol no nevoeiro, estilo gravura antiga.",
        "Vorrei un'immagine di un faro nella nebbia, stile incisione antica.",
        "Ik wil een afbeelding van een vuurtoren in de mist, stijl oude houtsnede.",
    ],
)
def test_a_style_after_a_comma_is_how_the_picture_looks(query: str) -> None:
    assert _caps(query) == ["image_generation"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "Such mir heraus, wie hoch die Zugspitze ist, und denk dir dann ein Rätsel dazu aus.",
            ["search", "text_generation"],
        ),
        (
            "Schreib ein Gedicht über den Winter und denk dir danach einen Titel dafür aus.",
            ["text_generation", "text_generation"],
        ),
        (
            "Zoek op hoe oud de Martinitoren is en denk er dan een raadsel over uit.",
            ["search", "text_generation"],
        ),
        (
            "Zoek uit wat een pulsar is en schrijf me daarna een gedichtje erover.",
            ["search", "text_generation"],
        ),
        (
            "Recherchier, was ein Pulsar ist, und schreib mir danach ein Gedicht darüber.",
            ["search", "text_generation"],
        ),
    ],
)
def test_then_inside_a_verb_second_clause_is_one_step(query: str, expected: list[str]) -> None:
    assert _caps(query) == expected
