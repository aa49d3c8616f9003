"""Dutch phrasings for the intent model's training data (slots as in ``en.py``)."""

TOPICS = [
    "de zee in de winter",
    "herfstbladeren",
    "de tuin van mijn oma",
    "een verlegen draak",
    "de Franse revolutie",
    "fotosynthese",
    "ons nieuwe product",
    "de discovery-service",
    "de maanlanding",
    "een verloren paraplu",
    "koffie",
    "een robottuinman",
    "de Eiffeltoren",
    "zwarte gaten",
    "mijn kat Luna",
    "het kantoorfeest",
    "elektrische auto's",
    "een vuurtoren",
    "de boekdrukkunst",
    "fietsen in de regen",
    "een bakkerij in Lissabon",
    "klimaatverandering",
    "penicilline",
    "de telefoon",
    "een regenachtige maandag",
    "de bruiloft van mijn vriend",
    "jazz",
    "het Romeinse rijk",
    "bijen",
    "thuiswerken",
    "vulkanen",
    "schaken",
    "een windmolen",
]
QUOTES = [
    "goedemorgen",
    "waar is het station?",
    "bedankt voor uw geduld",
    "de vergadering gaat niet door",
    "welkom in onze winkel",
    "tot morgen",
    "gefeliciteerd",
    "eet smakelijk",
]
LANGS = [
    "Engels",
    "Spaans",
    "Duits",
    "Italiaans",
    "Portugees",
    "Frans",
    "Japans",
    "Koreaans",
    "Chinees",
    "Arabisch",
    "Pools",
    "Zweeds",
    "Nederlands",
    "Russisch",
]
WHO = [
    "een piraat",
    "Vondel",
    "een radiopresentator uit de jaren twintig",
    "een chagrijnige ridder",
    "een cowboy",
]
FRAMES = [
    "{x}",
    "{x}",
    "{x}",
    "{x} alsjeblieft",
    "alsjeblieft {x}",
    "kun je {x}?",
    "{x}, bedankt",
    "nu {x}",
    "ook {x}",
    "en {x}",
    "daarna {x}",
    "dan {x}",
    "tot slot {x}",
    "hé, {x}",
]
NP_FRAMES = [
    "ik heb {x} nodig",
    "ik wil graag {x}",
    "ik wil {x}",
    "{x}",
    "{x} alsjeblieft",
    "kun je {x} maken?",
    "geef me {x}",
]
TEMPLATES = {
    "text_generation": [
        "schrijf een gedicht over {t}",
        "schrijf een kort verhaal over {t}",
        "schrijf een e-mail aan mijn baas over {t}",
        "schrijf een lied over {t}",
        "bedenk een slogan voor {t}",
        "schrijf een toespraak over {t}",
        "schrijf een brief aan {w}",
        "schrijf een tweet over {t}",
        "schrijf een bedankbriefje voor de buurvrouw",
        "schrijf een verjaardagskaart voor mijn moeder",
        "beantwoord dit bericht beleefd {p}",
        "help me dit bericht te beantwoorden {p}",
        "maak het grappiger",
        "laat het rijmen",
        "leg het uit aan een kind",
        "leg de resultaten uit in gewone woorden",
        "geef me tien ideeën voor {t}",
        "vertel me een mop",
        "hallo",
        "hoi!",
        "hoe gaat het?",
        "goedemorgen",
        "dank je wel",
        "wie ben jij?",
        "schrijf een alinea over {t}",
        "een gedicht over {t}",
        "een kort verhaal over {t}",
    ],
    "code_generation": [
        "schrijf een Python-functie die een lijst sorteert",
        "schrijf een script dat bestanden hernoemt",
        "implementeer binair zoeken in Python",
    ],
    "summarization": [
        "vat dit artikel samen {p}",
        "vat deze tekst samen {p}",
        "maak een samenvatting hiervan {p}",
        "vat het samen",
        "kort het in tot één regel",
        "vat de resultaten samen",
        "geef me de belangrijkste punten {p}",
        "vat samen wat je vindt",
        "maak het korter",
        "vat beide samen",
    ],
    "translation": [
        "een vertaling daarvan in het {l}",
        "en een versie daarvan in het {l}",
        "vertaal {q} naar het {l}",
        "hoe zeg je {q} in het {l}?",
        "vertaal het naar het {l}",
        "vertaal het antwoord naar het {l}",
        "zet het in het {l}",
        "geef het me in het {l}",
        "vertaal dit naar het {l} {p}",
        "{q} in het {l}",
        "vertaal de samenvatting naar het {l}",
        "en naar het {l}",
        "leg het me uit in het {l}",
    ],
    "search": [
        "ik wil graag weten wie {t} heeft uitgevonden",
        "ik vraag me af hoe {t} werkt",
        "zoek de geschiedenis van {t} op",
        "onderzoek waar {t} vandaan komt",
        "zoek {t} op",
        "zoek informatie over {t}",
        "zoek uit hoe {t} werkt",
        "wat is {t}?",
        "wie heeft {t} uitgevonden?",
        "hoe werkt {t}?",
        "wanneer is {t} gebouwd?",
        "waar ligt {t}?",
        "vertel me over {t}",
        "onderzoek {t}",
        "vind feiten over {t}",
        "hoe hoog is {t}?",
        "zoek op wie {t} ontdekte",
        "leg uit hoe {t} werkt",
        "waarom is {t} belangrijk?",
        "zoek op hoe {t} werkt",
    ],
    "data_analysis": [
        "analyseer deze gegevens {d}",
        "wat is het gemiddelde van deze getallen? {d}",
        "zijn er uitschieters? {d}",
        "is er een verband tussen prijs en verkoop? {d}",
        "welke dag valt op? {d}",
        "bereken gemiddelde en mediaan {d}",
        "vergelijk deze cijfers {d}",
        "wat is de trend? {d}",
        "welk product verkoopt het best? {d}",
    ],
    "image_generation": [
        "teken {t}",
        "teken een plaatje van {t}",
        "schilder {t} in aquarel",
        "genereer een afbeelding van {t}",
        "maak een logo voor {t}",
        "maak een poster van {t}",
        "maak een tekening van {t}",
        "illustreer {t}",
        "een afbeelding van {t}",
        "een plaatje van {t}",
        "maak een plaatje van {t}",
        "teken het",
    ],
    "lora_training": [
        "train het model om te praten als {w}",
        "train een LoRA-adapter op deze voorbeelden {d}",
        "leer het model te antwoorden als {w}",
    ],
    "action": [
        "herstart het modem boven",
        "zet de tv in de slaapkamer uit",
        "ontgrendel de garage",
        "reset de router",
        "reserveer een tafel voor vier",
        "boek een vlucht naar Rome",
        "bestel een pizza",
        "koop een telefoon voor me",
        "betaal mijn energierekening",
        "maak 200 euro over naar mijn rekening",
        "stuur deze e-mail naar mijn baas",
        "bel de tandarts",
        "herinner me eraan de planten water te geven",
        "zet een wekker om zeven uur",
        "speel mijn playlist af",
        "doe het licht uit",
        "plan een vergadering op maandag",
        "print het",
        "bestel een taxi voor me",
    ],
    "none": [
        "je hoeft niets op te zoeken",
        "niet vertalen",
        "geen tekst",
        "alleen het plaatje",
        "alleen de tekst",
        "kort graag",
        "in één zin",
        "in twee zinnen",
        "alvast bedankt",
        "dat is alles",
        "het is voor mijn baas",
        "teken niets",
        "zonder uitleg",
        "blijf beleefd",
        "hier zijn de gegevens {d}",
        "de tekst staat hieronder {p}",
        "ik heb twee dingen nodig",
        "in gewone woorden",
        "verder niets",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES["text_generation"] += [
    "een gedicht over {t}",
    "een titel voor {t}",
    "een slogan voor {t}",
    "een toespraak voor {t}",
    "een brief aan {w}",
    "maak het formeler",
]
TEMPLATES["summarization"] += ["een samenvatting hiervan {p}", "een korte samenvatting"]
TEMPLATES["search"] += ["geef me feiten over {t}"]
TEMPLATES["none"] += [
    "hier zijn een paar voorbeelden {d}",
    "dit zijn de getallen {d}",
    "dit is de tekst {p}",
    "ik bereid een presentatie voor",
    "mijn baas vroeg me ernaar",
]
TOPICS += ["een LoRA-adapter", "automatisch vertalen", "beeldgeneratie", "data-analyse"]
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES["text_generation"] += [
    "bedankt, dat helpt echt",
    "goedenavond",
    "welterusten",
    "je bent top",
    "tot later",
    "een paar lieve woorden voor {w}",
    "iets leuks voor de kaart",
]
TEMPLATES["image_generation"] += [
    "een poster met {t}",
    "een logo voor {t}",
    "een icoon van {t}",
    "een schilderij van {t}",
    "een illustratie van {t}",
]
TEMPLATES["none"] += [
    "hier zijn de resultaten {d}",
    "dit zijn mijn metingen {d}",
    "hieronder de cijfers {d}",
]
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES["search"] += [
    "het aantal inwoners van {t}",
    "de hoogte van {t}",
    "vertel me wie {t} heeft uitgevonden",
    "vertel me wanneer {t} was",
]
TEMPLATES["action"] += ["zet het in mijn agenda", "koop kaartjes voor {t}"]
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES["text_generation"] += [
    "antwoord hier kort op {p}",
    "schrijf een kort antwoord op dit bericht {p}",
]

# Round 11: a painting verb with "me" before the thing ("mal mir einen ...").
TEMPLATES["image_generation"] += [
    "schilder voor mij {t}",
    "teken voor me {t}",
]

# Round 11: shortening a pasted text is its summary ("kun je dit inkorten ...?").
TEMPLATES["summarization"] += [
    "kun je dit inkorten tot één alinea? {p}",
    "kort deze tekst in {p}",
]

# Round 13: a verb on an earlier result with its pronoun after it ("vereenvoudig het",
# "teken het"): the verb names the job whatever pronoun follows.
TEMPLATES["summarization"] += [
    "vereenvoudig het",
    "vereenvoudig het in twee zinnen",
    "comprimeer het",
    "vat het samen in een alinea",
    "vereenvoudig deze tekst {p}",
    "vat ze samen",
]
TEMPLATES["image_generation"] += ["illustreer het", "teken het", "schilder dat"]
TEMPLATES["translation"] += ["zet het in het {l}", "vertaal ze naar het {l}"]
# Round 13: a name thought up is writing ("verzin een naam voor ..."), whatever follows.
TEMPLATES["text_generation"] += ["verzin een naam voor {t}", "kies een naam voor {t}"]
