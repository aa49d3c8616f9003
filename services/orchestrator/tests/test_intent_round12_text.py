"""Round 12: pasted text, inline data and negation, and Portuguese (issue 18, branch
plan-text12). Each class is a mechanism, probed in wording written here, in the seven
languages where it applies:

* a colon that announces a table on lines of its own closes with the table: the line after
  the table asks anew ("here are the returns:\\n<rows>\\nwhich one stands out? then write ...");
* a lookup beside a table that names one of the table's columns is part of its analysis
  ("Spot the rooms that look off" beside "room,temperature,humidity");
* a paragraph of pasted text (prose, a letter after its greeting, a verse) before or after
  the asks is the payload of the ask that points at it, never jobs of its own; a negation
  after the ask ("Don't translate it") is a constraint and takes no text;
* a greeting after a colon ("in English please: Dear Ms Novak, ...") opens a pasted letter;
* the polite imperative ("faça", "haga", "faccia", "écrivez") opens a job, and "and," before
  a lead reference ("e, com base nisso, faça ...") splits with its comma.
"""

from __future__ import annotations

import contextlib

import pytest
from intent_cases import PLANNER, manifest, shape_of

from mesh_orchestrator.planning import clauses
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import segment as segment_module

_A2 = [("data_analysis", []), ("text_generation", ["1"])]


def _table(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows])


_COURIERS = {
    "en": (
        "these are the parcel delivery times per courier:",
        "courier,days,late",
        "which courier is worst? afterwards write a short complaint letter to them",
    ),
    "es": (
        "estos son los tiempos de entrega por mensajero:",
        "mensajero,dias,retrasos",
        "¿cuál es el peor? después escribe una carta breve de queja",
    ),
    "fr": (
        "voici les délais de livraison par transporteur :",
        "transporteur,jours,retards",
        "lequel est le pire ? ensuite écris une courte lettre de réclamation",
    ),
    "de": (
        "hier die Lieferzeiten pro Kurier:",
        "kurier,tage,verspaetungen",
        "welcher ist der schlechteste? schreib danach einen kurzen Beschwerdebrief",
    ),
    "pt": (
        "aqui estão os prazos de entrega por transportadora:",
        "transportadora,dias,atrasos",
        "qual é a pior? depois escreve uma carta curta de reclamação",
    ),
    "it": (
        "ecco i tempi di consegna per corriere:",
        "corriere,giorni,ritardi",
        "quale è il peggiore? poi scrivi una breve lettera di reclamo",
    ),
    "nl": (
        "hier de levertijden per koerier:",
        "koerier,dagen,vertragingen",
        "welke is het slechtst? schrijf daarna een korte klachtenbrief",
    ),
}


@pytest.mark.parametrize("lang", sorted(_COURIERS))
def test_a_colon_that_announces_a_table_closes_with_it(lang: str) -> None:
    intro, header, ask = _COURIERS[lang]
    query = "\n".join([intro, _table(header, ["A,2,1", "B,6,9", "C,4,3"]), ask])
    assert shape_of(query) == _A2


def test_json_after_a_colon_then_the_asks_on_the_next_line() -> None:
    query = (
        'here\'s our shop\'s returns export: [{"item":"hat","sold":40,"returned":2},'
        '{"item":"coat","sold":30,"returned":12}]\n'
        "describe the return rates, then write a short note to the buyer about it"
    )
    assert shape_of(query) == _A2


_ROOMS = {
    "en": (
        "Attached are the sensor readings per room from last night.\nSpot the rooms that "
        "look off and then write a short message to the caretaker about them.",
        "room,temperature,humidity",
    ),
    "es": (
        "Te paso las lecturas de los sensores por sala. Busca las salas que parezcan raras "
        "y luego escribe un mensaje corto al conserje.",
        "sala,temperatura,humedad",
    ),
    "fr": (
        "Voici les relevés des capteurs par pièce. Cherche les pièces qui semblent "
        "anormales, puis écris un petit message au gardien.",
        "piece,temperature,humidite",
    ),
    "de": (
        "Anbei die Sensorwerte pro Raum. Finde die Räume, die auffällig sind, und schreib "
        "danach eine kurze Nachricht an den Hausmeister.",
        "raum,temperatur,feuchte",
    ),
    "pt": (
        "Segue a leitura dos sensores por sala. Procura as salas que parecem estranhas e "
        "depois escreve uma mensagem curta para o zelador.",
        "sala,temperatura,umidade",
    ),
    "it": (
        "Ecco le letture dei sensori per stanza. Trova le stanze che sembrano strane e poi "
        "scrivi un breve messaggio al custode.",
        "stanza,temperatura,umidita",
    ),
    "nl": (
        "Hierbij de sensorwaarden per kamer. Zoek de kamers die afwijken en schrijf daarna "
        "een kort bericht aan de conciërge.",
        "kamer,temperatuur,vochtigheid",
    ),
}


@pytest.mark.parametrize("lang", sorted(_ROOMS))
def test_a_lookup_that_names_a_column_of_the_table_is_its_analysis(lang: str) -> None:
    ask, header = _ROOMS[lang]
    query = ask + "\n" + _table(header, ["K,21,40", "H,19,42", "A,35,80", "C,12,70"])
    assert shape_of(query) == _A2


def test_a_lookup_that_names_no_column_stays_a_lookup() -> None:
    query = "Look up the boiling point of water at altitude. Analyze this table:\n" + _table(
        "room,temperature,humidity", ["K,21,40", "H,19,42", "A,35,80"]
    )
    assert shape_of(query) == [("search", []), ("data_analysis", [])]


_NEGATED_PASTE = {
    "en": "Summarize this in two lines. Don't translate it, it's for our English bulletin.\n\nThe library reopened on Monday after three months of repairs to the roof. Thanks to the volunteers who moved four thousand books, the children's corner is bigger than before.",
    "es": "Resume esto en dos líneas. No lo traduzcas, es para el boletín en español.\n\nLa biblioteca reabrió el lunes tras tres meses de obras en el tejado. Gracias a los voluntarios que movieron cuatro mil libros, el rincón infantil es más grande que antes.",
    "fr": "Résume ceci en deux lignes. Ne le traduis pas, c'est pour notre bulletin en français.\n\nLa bibliothèque a rouvert lundi après trois mois de travaux sur le toit. Grâce aux bénévoles qui ont déplacé quatre mille livres, le coin des enfants est plus grand qu'avant.",
    "de": "Fass das in zwei Zeilen zusammen. Nicht übersetzen, es ist für unser deutsches Mitteilungsblatt.\n\nDie Bibliothek hat am Montag nach drei Monaten Dachreparatur wieder geöffnet. Dank der Freiwilligen, die viertausend Bücher getragen haben, ist die Kinderecke größer als vorher.",
    "pt": "Resume isto em duas linhas. Não traduzas, é para o nosso boletim em português.\n\nA biblioteca reabriu na segunda-feira depois de três meses de obras no telhado. Graças aos voluntários que mudaram quatro mil livros, o canto das crianças está maior do que antes.",
    "it": "Riassumi questo in due righe. Non tradurlo, è per il nostro bollettino in italiano.\n\nLa biblioteca ha riaperto lunedì dopo tre mesi di lavori sul tetto. Grazie ai volontari che hanno spostato quattromila libri, l'angolo dei bambini è più grande di prima.",
    "nl": "Vat dit samen in twee regels. Niet vertalen, het is voor onze Nederlandse nieuwsbrief.\n\nDe bibliotheek is maandag heropend na drie maanden werk aan het dak. Dankzij de vrijwilligers die vierduizend boeken hebben verplaatst, is de kinderhoek groter dan voorheen.",
}


@pytest.mark.parametrize("lang", sorted(_NEGATED_PASTE))
def test_a_paragraph_pasted_after_an_ask_and_its_negation_is_the_asks_text(lang: str) -> None:
    """ "Summarize this. Don't translate it, ...\n\n<paragraph>": the paragraph is the
    summary's text (a sentence of it that looks like a verb, "Thanks to ...", makes no job),
    and "Don't translate it" constrains the summary: one task."""
    assert shape_of(_NEGATED_PASTE[lang]) == [("summarization", [])]


_LETTER_FIRST = {
    "en": "Dear neighbours,\nOn Saturday the water will be cut off from 9 to 13 because the pipes in the cellar are being replaced. Please fill a few bottles the evening before. Give the plumber access to the cellar if he rings.\nKind regards, the building committee\n\nwhat do I actually need to do here? briefly please",
    "es": "Estimados vecinos:\nEl sábado se cortará el agua de 9 a 13 porque se cambian las tuberías del sótano. Llenen algunas botellas la noche anterior. Dejen pasar al fontanero al sótano si llama.\nSaludos, la junta del edificio\n\n¿qué tengo que hacer yo aquí? en breve por favor",
    "fr": "Chers voisins,\nSamedi, l'eau sera coupée de 9 h à 13 h car les tuyaux de la cave seront remplacés. Remplissez quelques bouteilles la veille. Laissez le plombier accéder à la cave s'il sonne.\nCordialement, le conseil syndical\n\nqu'est-ce que je dois faire d'après ça ? en bref svp",
    "de": "Liebe Nachbarn,\nam Samstag wird das Wasser von 9 bis 13 Uhr abgestellt, weil die Leitungen im Keller erneuert werden. Füllen Sie am Vorabend ein paar Flaschen ab. Lassen Sie den Installateur in den Keller, wenn er klingelt.\nViele Grüße, die Hausverwaltung\n\nwas muss ich hier eigentlich tun? kurz bitte",
    "pt": "Caros vizinhos,\nNo sábado a água será cortada das 9 às 13 porque os canos da cave vão ser substituídos. Encham algumas garrafas na véspera. Deixem o canalizador entrar na cave se ele tocar.\nCumprimentos, a administração do prédio\n\no que é que eu tenho de fazer aqui? resumidamente por favor",
    "it": "Cari vicini,\nsabato l'acqua sarà chiusa dalle 9 alle 13 perché si sostituiscono i tubi della cantina. Riempite qualche bottiglia la sera prima. Fate entrare l'idraulico in cantina se suona.\nCordiali saluti, l'amministrazione del condominio\n\ncosa devo fare io qui? in breve per favore",
    "nl": "Beste buren,\nOp zaterdag wordt het water van 9 tot 13 uur afgesloten omdat de leidingen in de kelder worden vervangen. Vul de avond ervoor een paar flessen. Laat de loodgieter in de kelder als hij aanbelt.\nMet vriendelijke groet, de VvE\n\nwat moet ik hier nou precies doen? kort graag",
}


@pytest.mark.parametrize("lang", sorted(_LETTER_FIRST))
def test_a_letter_pasted_before_a_short_ask_makes_no_job_of_its_own(lang: str) -> None:
    """A notice pasted first, full of imperatives to its readers ("Fill a few bottles"), and
    then "what do I need to do here? briefly": one task that works on the letter (the writer
    or a summary: the model decides), never a lookup or a job per sentence."""
    plan = PLANNER.plan_sync(_LETTER_FIRST[lang], manifest())
    assert [t.capability for t in plan.tasks] in (["summarization"], ["text_generation"])
    body = _LETTER_FIRST[lang].split("\n")[1][:24]
    assert body in str(plan.tasks[0].input)  # the letter travels with the task


_GREETING_AFTER_COLON = {
    "en": "into Spanish please:\n\nHello Mr Park,\nthank you for waiting. The spare parts arrived today and the technician will come on Thursday between 10 and 12.\nBest regards\nAnna",
    "es": "al inglés, por favor:\n\nHola Sr. Park,\ngracias por esperar. Las piezas de recambio llegaron hoy y el técnico vendrá el jueves entre las 10 y las 12.\nSaludos\nAna",
    "fr": "en anglais stp :\n\nBonjour Monsieur Park,\nmerci de votre patience. Les pièces de rechange sont arrivées aujourd'hui et le technicien passera jeudi entre 10 h et 12 h.\nCordialement\nAnne",
    "de": "bitte ins Englische:\n\nHallo Herr Park,\ndanke fürs Warten. Die Ersatzteile sind heute angekommen, der Techniker kommt am Donnerstag zwischen 10 und 12 Uhr.\nViele Grüße\nAnna",
    "pt": "para inglês, por favor:\n\nOlá Sr. Park,\nobrigada pela paciência. As peças chegaram hoje e o técnico vem na quinta-feira entre as 10 e as 12.\nCumprimentos\nAna",
    "it": "in inglese per favore:\n\nBuongiorno signor Park,\ngrazie per l'attesa. I pezzi di ricambio sono arrivati oggi e il tecnico passerà giovedì tra le 10 e le 12.\nCordiali saluti\nAnna",
    "nl": "naar het Engels graag:\n\nHallo meneer Park,\nbedankt voor het wachten. De onderdelen zijn vandaag binnengekomen en de monteur komt donderdag tussen 10 en 12 uur.\nGroeten\nAnna",
}


@pytest.mark.parametrize("lang", sorted(_GREETING_AFTER_COLON))
def test_a_letter_after_a_colon_opens_with_its_greeting(lang: str) -> None:
    """ "into Spanish please:\n\nHello Mr Park,\n<letter>": the greeting is the letter's, not
    a clause of the request (it once split there and the letter became a second job)."""
    assert shape_of(_GREETING_AFTER_COLON[lang]) == [("translation", [])]


_VERSE = {
    "en": "my daughter wrote this poem, could you turn it into a picture for her wall?\n\nthe moon is a cookie\nsomebody took a bite\nthe stars are the crumbs\nthat fall every night",
    "es": "mi hijo escribió este poema, ¿puedes convertirlo en un dibujo para su cuarto?\n\nel gato duerme al sol\nla silla cruje sola\nel viento trae la lluvia\ny el reloj se calla",
    "fr": "ma fille a écrit ce poème, pourrais-tu le transformer en une image pour sa chambre ?\n\nla lune est un biscuit\nquelqu'un l'a croqué\nles étoiles sont les miettes\nqui tombent chaque nuit",
    "de": "mein Sohn hat dieses Gedicht geschrieben, kannst du es in ein Bild verwandeln?\n\nder Mond ist ein Keks\njemand hat abgebissen\ndie Sterne sind Krümel\ndie nachts herunterfallen",
    "pt": "a minha filha escreveu este poema, podes transformá-lo numa imagem para o quarto dela?\n\na lua é uma bolacha\nalguém deu uma dentada\nas estrelas são as migalhas\nque caem todas as noites",
    "it": "mia figlia ha scritto questa poesia, potresti trasformarla in un'immagine per la sua stanza?\n\nla luna è un biscotto\nqualcuno l'ha morsa\nle stelle sono le briciole\nche cadono ogni notte",
    "nl": "mijn dochter schreef dit gedicht, kun je het omzetten in een tekening voor haar kamer?\n\nde maan is een koekje\niemand nam een hap\nde sterren zijn de kruimels\ndie elke nacht vallen",
}


@pytest.mark.parametrize("lang", sorted(_VERSE))
def test_a_pasted_verse_is_the_payload_of_its_ask(lang: str) -> None:
    """Short lines after a blank line, none of which asks, are a verse pasted for the ask
    before them: the payload of that ask, not one clause per line."""
    query = _VERSE[lang]
    verse = query.split("\n\n", 1)[1].splitlines()
    PLANNER.warm()
    assert PLANNER._segmenter is not None
    segments = PLANNER._segmenter.split(query)
    assert not any(line.strip() in s.instruction for s in segments for line in verse)
    assert any(verse[-1].strip() in s.payload for s in segments)


def test_a_verse_turned_into_a_picture_is_one_picture() -> None:
    assert shape_of(_VERSE["en"]) == [("image_generation", [])]


_AND_COMMA_LEAD = {
    "pt": "Pesquise sobre os eclipses e, com base nisso, faça um resumo simples para a minha turma e também uma ilustração do alinhamento.",
    "es": "Busque información sobre los eclipses y, con base en eso, haga un resumen sencillo para mi clase y también una ilustración de la alineación.",
    "it": "Cerchi informazioni sulle eclissi e, in base a questo, faccia un riassunto semplice per la mia classe e anche un'illustrazione dell'allineamento.",
    "fr": "Cherchez des informations sur les éclipses et, à partir de ça, écrivez un résumé simple pour ma classe et aussi une illustration de l'alignement.",
    "en": "Look up how eclipses work and, based on that, write a simple summary for my class and also an illustration of the alignment.",
    "nl": "Zoek op hoe verduisteringen werken en, op basis daarvan, schrijf een eenvoudige samenvatting voor mijn klas en ook een illustratie van de stand.",
    "de": "Recherchiere, wie Finsternisse entstehen, und schreib darauf basierend eine einfache Zusammenfassung für meine Klasse und auch eine Illustration der Stellung.",
}


@pytest.mark.parametrize("lang", sorted(_AND_COMMA_LEAD))
def test_and_comma_a_lead_reference_and_the_polite_imperative(lang: str) -> None:
    """ "Pesquise X e, com base nisso, faça um resumo ... e também uma ilustração": "and,"
    splits with its comma, and the polite imperative ("faça", "haga", "faccia", "écrivez")
    opens the step as "faz", "haz", "fai", "écris" do."""
    shape = shape_of(_AND_COMMA_LEAD[lang])
    assert len(shape) == 3
    assert shape[0] == ("search", [])
    assert shape[1] in (("summarization", ["1"]), ("text_generation", ["1"]))
    assert shape[2] == ("image_generation", ["1"])


@pytest.mark.parametrize(
    "query",
    [
        "Crie um slogan para a feira do livro e depois gere uma imagem com esse slogan.",
        "Haga una lista de cinco nombres para una panadería y luego busque cuál está libre como dominio.",
    ],
    ids=["pt-crie-gere", "es-haga-busque"],
)
def test_the_polite_imperative_opens_each_step(query: str) -> None:
    assert len(shape_of(query)) == 2


# ---- hostile pasted text and data: the work stays bounded (counted, not timed) -------------


@pytest.mark.parametrize(
    "query",
    [
        ("faça e, " * 1000)[:8000],
        ("write a poem and " * 500)[:8000],
        ("x e, " * 2000)[:8000],
        "Summarize this.\n\n" + ("The committee met and agreed on the budget. " * 180)[:7900],
        "turn this into a picture\n\n" + "\n".join(["the moon is a cookie"] * 380),
        "\n".join(["Dear team,"] * 300) + "\n\nwhat does this say?",
    ],
    ids=["faca-and-comma", "write-and", "x-and-comma", "pasted-prose", "verse", "greetings"],
)
def test_splitting_reads_each_part_of_a_long_request_a_bounded_number_of_times(
    query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each "and" once had the whole rest of the sentence re-read on both sides of it
    (8,000 characters of "faça e, " read 24 million characters: 3 s of CPU); a window of words
    on either side reads about a hundred characters per character. Round 14's checks at each
    "and" (a phrase leading back, one more of a thing, a follow-up question) read the same
    windows again: about 220 per character on "x e, ", the same at 8,000 and 16,000
    characters (linear), so the bound is 250; quadratic reading would be thousands."""
    read = 0
    real = segment_module.tokens

    def counting_tokens(text: str) -> list[str]:
        nonlocal read
        read += len(text)
        return real(text)

    monkeypatch.setattr(segment_module, "tokens", counting_tokens)
    with contextlib.suppress(PlanningFailed):  # too many jobs: refused, the work bounded
        PLANNER.plan_sync(query, manifest())
    assert read <= 250 * len(query)


@pytest.mark.parametrize(
    "blob",
    [
        "[" * 1000 + "1" + "]" * 1000,
        '{"a":' * 1000 + "1" + "}" * 1000,
        "[" * 7900,
        '{"k": [' * 1000,
    ],
    ids=["array-1000-deep", "object-1000-deep", "unclosed-arrays", "unclosed-objects"],
)
def test_json_nested_a_thousand_deep_is_no_crash_and_little_work(
    blob: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON nested a thousand levels deep once raised RecursionError out of the planner (a
    failed run); past ``JSON_DEPTH`` levels it stays text, found in one pass."""
    calls = 0
    real = clauses.json.JSONDecoder

    class Counting(real):  # type: ignore[misc, valid-type]
        def raw_decode(self, s: str, idx: int = 0) -> tuple[object, int]:
            nonlocal calls
            calls += 1
            return super().raw_decode(s, idx)

    monkeypatch.setattr(clauses.json, "JSONDecoder", Counting)
    query = "Analyze this: " + blob
    with contextlib.suppress(PlanningFailed):
        PLANNER.plan_sync(query, manifest())
    assert calls <= 2 * clauses.JSON_DEPTH


def test_a_table_of_ten_thousand_rows_is_one_table() -> None:
    rows = "\n".join(f"{i},{i * 2},{i % 7}" for i in range(10_000))
    query = "Which rows stand out? then write a memo about them\n" + "a,b,c\n" + rows
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == ["data_analysis", "text_generation"]
    assert str(plan.tasks[0].input).count("\\n") >= 10_000  # the whole table, as one block
