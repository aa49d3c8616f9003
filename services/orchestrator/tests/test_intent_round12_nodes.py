"""The intent planner on the classes round 12 found: two that retraining with blind batches
23-24 flipped, and the node classes those batches failed.

Each test is one mechanism, probed in wording written here (not from the benchmark), in the
seven languages (English, Spanish, French, German, Portuguese, Italian, Dutch), and asserts
which tasks are planned (nodes) and, where the class is about a lost or extra task, which
earlier task each reads:

* "only the <language>" names a translation also when the model reads weak writing in it;
* a question of taste put to the assistant with no pronoun ("Preferisci ...?", "¿Prefieres
  ...?"), read as a weak act, is small talk: the writer answers it;
* "I want to know whether ..." beside a table is a question about that table (its analysis),
  also when the table came with the writing asked of the analysis;
* a verb that only points back ("find that", "búscalo", "zoek dat op") right after a question
  is that question's lookup, not a second one;
* a clause of purpose ("so that ...", "damit ...", "zodat ...") after a job says what the job
  is for: no job of its own.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, manifest, manifest_with_trainer, shape_of

from mesh_orchestrator.planning.intent.planner import _SO_THAT
from mesh_orchestrator.planning.intent.segment import Segment


@pytest.mark.parametrize(
    "query",
    [
        'Only the German please, nothing else: "We are closed on Monday."',
        "Solo el alemán, por favor, sin explicaciones: «Cerramos el lunes.»",
        "Seulement l'allemand, s'il te plaît, sans explication : « On ferme lundi. »",
        "Nur das Spanische bitte, keine Erklärung: „Wir haben am Montag zu.“",
        "Só o alemão, por favor, sem explicação: «Fechamos na segunda.»",
        "Solo il tedesco, per favore, niente spiegazioni: «Chiudiamo lunedì.»",
        "Alleen het Duits graag, geen uitleg: 'We zijn maandag dicht.'",
    ],
)
def test_only_a_language_is_its_translation(query: str) -> None:
    assert caps_of(query) == ["translation"]


@pytest.mark.parametrize(
    "query",
    [
        "Do you prefer the sea or the mountains?",
        "¿Prefieres el mar o la montaña?",
        "Tu préfères la mer ou la montagne ?",
        "Magst du lieber das Meer oder die Berge?",
        "Preferes o mar ou a montanha?",
        "Preferisci il mare o la montagna?",
        "Vind jij de zee of de bergen leuker?",
    ],
)
def test_a_question_of_taste_to_the_assistant_is_small_talk(query: str) -> None:
    # one answer of the writer (small talk), never an act nobody serves nor a lookup
    assert caps_of(query) == ["text_generation"]


_SALES = "\nitem,discount_pct,units\nshirt,0,40\nshirt,10,55\ncap,15,60\ncap,0,22\nbag,20,71\n"


@pytest.mark.parametrize(
    "ask",
    [
        "Here are the shop's sales. I want to know whether the discount has anything to do "
        "with the units sold, and then write a short paragraph for my boss explaining it.",
        "Te paso las ventas de la tienda. Quiero saber si el descuento influye en las "
        "unidades vendidas y luego escribe un párrafo corto para mi jefe con el resultado.",
        "Voici les ventes du magasin. Je veux savoir si la remise a un lien avec les unités "
        "vendues, puis écris un court paragraphe pour mon chef qui explique le résultat.",
        "Hier die Verkäufe des Ladens. Ich will wissen, ob der Rabatt mit den verkauften "
        "Stück zusammenhängt, und schreib dann einen kurzen Absatz für meinen Chef.",
        "Aqui estão as vendas da loja. Quero saber se o desconto influencia as unidades "
        "vendidas e depois escreve um parágrafo curto pro meu chefe explicando o resultado.",
        "Ecco le vendite del negozio. Voglio sapere se lo sconto ha a che fare con le unità "
        "vendute e poi scrivi un paragrafo breve per il mio capo che spieghi il risultato.",
        "Hier de verkoop van de winkel. Ik wil weten of de korting iets te maken heeft met de "
        "verkochte stuks en schrijf daarna een korte alinea voor mijn baas over de uitkomst.",
    ],
)
def test_a_wish_to_know_beside_a_table_is_its_analysis(ask: str) -> None:
    assert shape_of(ask + _SALES) == [("data_analysis", []), ("text_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "how does the scheduler pick a node when two are free? find that, sum it up in two "
        "sentences, and put the summary in Spanish",
        "¿cómo elige el planificador un nodo cuando hay dos libres? Búscalo, resúmelo en dos "
        "frases y ponlo en inglés",
        "comment le planificateur choisit-il un nœud quand deux sont libres ? Cherche ça, "
        "résume-le en deux phrases et mets-le en anglais",
        "wie wählt der Scheduler einen Knoten, wenn zwei frei sind? Such das raus, fass es in "
        "zwei Sätzen zusammen und übersetz es ins Englische",
        "como é que o escalonador escolhe um nó quando dois estão livres? Procura isso, resume "
        "em duas frases e põe em inglês",
        "come sceglie un nodo lo scheduler quando due sono liberi? Cercalo, riassumilo in due "
        "frasi e traducilo in inglese",
        "hoe kiest de scheduler een node als er twee vrij zijn? Zoek dat op, vat het samen in "
        "twee zinnen en zet het in het Engels",
    ],
)
def test_a_verb_that_points_back_at_a_question_is_its_lookup(query: str) -> None:
    assert shape_of(query) == [("search", []), ("summarization", ["1"]), ("translation", ["2"])]


def test_a_second_question_after_a_question_is_a_second_lookup() -> None:
    # a verb with a thing of its own ("the year it came out") is no pointing back
    assert caps_of("Who wrote Dune? Find the year it came out too.") == ["search", "search"]


@pytest.mark.parametrize(
    "query",
    [
        "I have about 300 customer replies in /data/replies.jsonl. Please train an adapter on "
        "them, so that the model answers in our support tone.",
        "Tengo unas 300 respuestas de clientes en /data/respuestas.jsonl. Entrena un "
        "adaptador con ellas, para que el modelo responda con nuestro tono.",
        "J'ai environ 300 réponses clients dans /data/reponses.jsonl. Entraîne un adaptateur "
        "dessus, pour que le modèle réponde avec notre ton.",
        "Ich habe etwa 300 Kundenantworten in /data/antworten.jsonl. Trainier bitte einen "
        "Adapter darauf, damit das Modell in unserem Ton antwortet.",
        "Tenho umas 300 respostas de clientes em /data/respostas.jsonl. Treina um adaptador "
        "nelas, para que o modelo responda no nosso tom.",
        "Ho circa 300 risposte ai clienti in /data/risposte.jsonl. Addestra un adattatore su "
        "queste, così che il modello risponda con il nostro tono.",
        "Ik heb ongeveer 300 klantantwoorden in /data/antwoorden.jsonl. Train er een adapter "
        "op, zodat het model in onze toon antwoordt.",
    ],
)
def test_a_clause_of_purpose_after_a_job_is_no_job(query: str) -> None:
    assert caps_of(query, manifest_with_trainer()) == ["lora_training"]


@pytest.mark.parametrize(
    "clause",
    [
        "so that the model answers in our tone",
        "para que el modelo responda con nuestro tono",
        "pour que le modèle réponde avec notre ton",
        "damit das Modell in unserem Ton antwortet",
        "para que o modelo responda no nosso tom",
        "così che il modello risponda con il nostro tono",
        "zodat het model in onze toon antwoordt",
    ],
)
def test_so_that_opens_a_clause_of_purpose(clause: str) -> None:
    PLANNER.warm()
    assert PLANNER._purpose_clause(Segment(clause, joined="and"))


@pytest.mark.parametrize(
    "clause",
    [
        "damit schreib mir dann eine kurze Notiz",  # "with that, write me ...": a job
        "so that it has a picture of a dog",  # a thing to make named in it
    ],
)
def test_a_purpose_word_before_a_verb_or_a_thing_to_make_opens_no_purpose(clause: str) -> None:
    PLANNER.warm()
    assert not PLANNER._purpose_clause(Segment(clause, joined="and"))


def test_so_that_is_listed_in_every_language() -> None:
    assert {"so that", "para que", "pour que", "damit", "cosi che", "zodat"} <= _SO_THAT
    assert manifest() is not None
