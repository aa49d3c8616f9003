"""Live data: what changes by the minute is no lookup the mesh can serve.

The lookup agent searches a small, fixed knowledge base; no agent reads a live feed. So a
question about the weather tomorrow, a share price or an exchange rate right now, the traffic
on a road at this moment, tonight's lottery numbers or a match being played, the next train,
or today's price of something is refused (left out of the plan and named), not planned as a
search that would answer it from stale passages, nor handed to the writer, who would make it
up. The rest of the request is planned ("what's the weather in Madrid right now? also write
me a haiku about rain": the haiku).

Two signals together, in the seven languages: a *topic* that only a live source knows
(weather, forecast, share price, exchange rate, traffic, score, lottery, the price of
something, a departure), and a *time* that is now or soon (now, today, tonight, tomorrow,
"this second", "next", "currently"), at most five words apart ("explain what a stock price
is, for my class tomorrow": tomorrow is when the answer is needed). Either alone is no live
data, nor a live topic's history: "why is the weather mild in Lisbon" is knowledge, "what's
on the menu today" names no live topic. The weather of a named place asked in the present
("Che tempo fa a Torino?") is live as well, unless a season or a month makes it climate
("in Tokyo in April"). Never when the clause names a thing to make ("a poem about today's
weather"), carries data or pasted text, or asks the assistant about its own place ("Che
tempo fa da te?", "how's the weather where you are?"): that is small talk, the writer's.
"""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.lexicon._words import words
from mesh_orchestrator.planning.intent.model import tokens
from mesh_orchestrator.planning.intent.segment import Segment

# The speaker's own: "my", "mi", "mon", "mein", "meu", "mio", "mijn" and their forms.
lx_mine = words("""
    my mi mis mon ma mes mein meine meinem meinen meiner meu minha meus minhas mio mia miei
    mie mijn m'n
    """)
# Topics only a live source knows, one word each (matched after normalize: no accents).
_TOPIC = words("""
    weather forecast forecasts temperature temperatures
    clima pronostico temperatura
    meteo previsions
    wetter wettervorhersage wetterbericht temperatur temperaturen
    previsao
    previsioni
    weerbericht weersverwachting temperatuur
    stock stocks shares share-price trading nasdaq dow dax bitcoin crypto
    cotiza cotizacion cotizan bolsa acciones
    bourse cotation
    aktie aktien aktienkurs borse borsenkurs
    cotacao acoes
    borsa azioni quotazione
    koers aandeel aandelen beurs beurskoers
    traffic trafico trafic bouchons embouteillages verkehr verkehrslage stau staus transito
    traffico verkeer
    score scores marcador punteggio spielstand placar uitslag
    delay delayed retraso retrasado retard verspatung verspatet atraso atrasado ritardo
    vertraging
    cac ftse ibex aex nikkei bel20 smi
    snow rain nieve lluvia nevar llover neige pluie neiger pleuvoir schnee regen schneien
    regnen neve chuva chover pioggia nevicare piovere sneeuw sneeuwen regenen
    lottery loteria loto lotto lotterie lotteria
    price prices precio precios prix preis preise preco precos prezzo prezzi prijs prijzen
    departure departures salida salidas depart departs abfahrt partida partidas partenza
    partenze vertrek
    """)
# A match or a game: live only when it was just played ("last night's game", "o jogo do
# Benfica ontem à noite"); "a board game for tonight" is the writer's.
_EVENT = words("""
    game games match matches partido partida jogo partita spiel wedstrijd
    """)
# Just past: "yesterday", "last night", "ayer", "hier soir", "gestern", "ontem", "ieri".
_JUST_PAST = words("""
    yesterday yesterday's ayer anoche gestern ontem ieri gisteren gisteravond
    """)
_LAST_NIGHT = ("last night", "hier soir", "ontem a noite", "ieri sera", "gestern abend")
# An exchange rate: a word for the rate, or two currencies ("el euro frente al dólar").
_RATE = words("""
    exchange rate rates cambio change taux wechselkurs kurs wisselkoers worth vale vaut wert
    waard
    """)
_CURRENCY = words("""
    dollar dollars euro euros pound pounds sterling yen yuan franc francs peso pesos
    dolar dolares libra libras dollaro dollari sterlina sterline dollaro-euro euro-dollaro
    euro-dollar dollar-euro
    """)
# Ways of getting somewhere that run on a timetable: live only as "the next ..." or today.
_TRANSIT = words("""
    train trains bus buses tram flight flights ferry tren trenes autobus vuelo vuelos vol vols
    zug zuge flug fluge trem comboio onibus autocarro voo voos treno treni volo voli trein
    treinen vlucht vluchten
    """)
_TRANSIT_LEAD = words("""
    the next el la le der die das den o il lo de het next proximo proxima prochain
    prochaine nachste nachsten nachster prossimo prossima volgende
    """)
# Words for "weather" that also mean "time" (or "again"), weather only after these:
# "el tiempo", "qué tiempo", "quel temps", "o tempo", "che tempo", "het weer".
_WEATHER_AMBIGUOUS = {
    "tiempo": words("el que"),
    "temps": words("le quel"),
    "tempo": words("o que che il"),
    "weer": words("het"),
}
# Now or soon, one word each.
_NOW = words("""
    now currently today today's tonight tonight's tomorrow tomorrow's live next
    ahora ahorita hoy manana actual actualmente proximo proxima
    maintenant actuellement aujourd'hui demain actuel actuelle prochain prochaine
    jetzt gerade aktuell aktuelle aktuellen aktueller heute heutige heutigen morgen momentan
    derzeit nachste nachsten nachster
    agora hoje amanha atual atualmente
    adesso oggi domani stasera attuale attualmente prossimo prossima
    nu vandaag vanavond momenteel actueel actuele volgende
    yesterday yesterday's ayer anoche gestern ontem ieri gisteren gisteravond
    """)
# Now or soon, several words: "right this second", "en ce moment", "op dit moment".
_NOW_PHRASES = (
    "right now",
    "right this second",
    "this second",
    "this minute",
    "at the moment",
    "this morning",
    "this afternoon",
    "this evening",
    "this weekend",
    "this week",
    "last night",
    "hier soir",
    "esta semana",
    "questa settimana",
    "en este momento",
    "esta noche",
    "este fin de semana",
    "en ce moment",
    "ce soir",
    "ce week-end",
    "cette semaine",
    "im moment",
    "diese woche",
    "am wochenende",
    "neste momento",
    "esta noite",
    "este fim de semana",
    "in questo momento",
    "questo fine settimana",
    "op dit moment",
    "dit weekend",
    "deze week",
)
# The assistant's own place: "da te", "where you are", "bei dir", "chez toi", "por ahí".
_WHERE_YOU = (
    "where you are",
    "where you live",
    "at your end",
    "your way",
    "da te",
    "da voi",
    "dove sei",
    "bei dir",
    "bei euch",
    "wo du bist",
    "chez toi",
    "chez vous",
    "ou tu es",
    "por ahi",
    "donde estas",
    "por alla",
    "ai onde",
    "onde estas",
    "onde voce esta",
    "bij jou",
    "bij jullie",
    "waar jij",
    "waar je bent",
)


# What the user is waiting for: a parcel, an order, a delivery. Where the user's own one is
# ("where is my DHL package?", "¿dónde está mi pedido?") only the carrier's live feed knows.
_SHIPPED = words("""
    package packages parcel parcels order delivery shipment tracking
    paquete paquetes pedido envio entrega
    colis commande livraison envoi
    paket pakete packchen bestellung lieferung sendung
    encomenda encomendas pacote pedido entrega
    pacco pacchi ordine consegna spedizione
    pakket pakketje pakje bestelling bezorging zending
    """)
# Asking where it is or when it comes: "where", "when", "status", "track", "arrive".
_WHERE_WHEN = words("""
    where when status track arrive arrives arriving
    donde cuando estado rastrea rastrear llega llegara
    ou quand statut suivre suis arrive arrivera
    wo wann status verfolge verfolgen kommt ankommt
    onde quando estado rastreia rastrear chega chegar chegara
    dove quando stato traccia tracciare arriva arrivera
    waar wanneer status volg volgen komt aan
    """)


def own_shipment(ws: list[str]) -> bool:
    """ "where is my DHL package?", "wann kommt mein Paket?", "volg mijn bestelling": the user's
    own parcel or order (a "my" at most three words before it), asked where or when."""
    own = any(
        (w in _SHIPPED or w.split("-")[-1] in _SHIPPED)  # "mein DHL-Paket"
        and any(m in lx_mine for m in ws[max(k - 3, 0) : k])
        for k, w in enumerate(ws)
    )
    return own and any(w in _WHERE_WHEN or w.split("'")[0] in ("dov", "ou") for w in ws)


# The weather itself (not a forecast or a price): asked in the present of a named place
# ("What's the weather like in Tokyo?", "Che tempo fa a Torino?") it is live too.
_WEATHER = words("weather wetter meteo clima")
# ... unless a season, a month or "usually" makes it climate, which the knowledge base has.
_CLIMATE = words("""
    climate usually typically average normally generally winter summer spring autumn fall
    invierno verano primavera otono normalmente generalmente hiver ete printemps automne
    habituellement generalement sommer fruhling herbst normalerweise meistens durchschnitt
    inverno verao outono geralmente estate autunno solitamente zomer lente herfst meestal
    gewoonlijk january february march april may june july august september october november
    december enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre
    diciembre janvier fevrier mars avril mai juin juillet aout septembre octobre novembre
    decembre januar februar marz juni juli oktober dezember janeiro fevereiro marco maio
    junho julho setembro outubro novembro dezembro gennaio febbraio aprile maggio giugno
    luglio settembre ottobre dicembre januari februari maart mei augustus
    """)
# A named place after "in", "en", "à", "a", "em", "no", "bei", ...: "in Tokyo", "a Torino".
_AT_PLACE = re.compile(
    r"\b(?:in|en|a|à|em|no|na|nel|nella|bei|at|te|voor|for|para|pour|per|op)\s+[A-ZÀ-Ý]"
)


def weather_now(seg: Segment, ws: list[str]) -> bool:
    """The weather of a named place, asked in the present: "Wie ist das Wetter in Hamburg?"."""
    asked = "?" in seg.instruction or bool(ws and ws[0] in lx.QUESTION)
    weather = any(w in _WEATHER or _weather_word(ws, k) for k, w in enumerate(ws))
    return (
        asked
        and weather
        and _AT_PLACE.search(seg.instruction) is not None
        and not any(w in _CLIMATE for w in ws)
    )


def _weather_word(ws: list[str], k: int) -> bool:
    lead = _WEATHER_AMBIGUOUS.get(ws[k])
    return lead is not None and k > 0 and ws[k - 1] in lead


def _transit(ws: list[str], k: int) -> bool:
    return ws[k] in _TRANSIT and k > 0 and ws[k - 1] in _TRANSIT_LEAD


def _topic_at(ws: list[str]) -> list[int]:
    """Where a topic only a live source knows stands in ``ws``."""
    at = [
        k
        for k, w in enumerate(ws)
        if w in _TOPIC
        or w.split("-")[-1] in _TOPIC  # "Apple-Aktie", "share-price"
        or _weather_word(ws, k)
        or _transit(ws, k)
    ]
    bare = " ".join(w.removesuffix("'s") for w in ws)  # "last night's game"
    if any(w in _JUST_PAST for w in ws) or any(f" {p} " in f" {bare} " for p in _LAST_NIGHT):
        at += [k for k, w in enumerate(ws) if w in _EVENT]
    currencies = [k for k, w in enumerate(ws) if w in _CURRENCY]
    if len({ws[k] for k in currencies}) >= 2 or (currencies and any(w in _RATE for w in ws)):
        at += currencies
    return sorted(at)


def live_topic(ws: list[str]) -> bool:
    """A topic only a live source knows, in the words ``ws`` (``tokens`` of a clause)."""
    return bool(_topic_at(ws))


def _soon_at(ws: list[str]) -> list[int]:
    """Where a time that is now or soon starts in ``ws``."""
    at = [k for k, w in enumerate(ws) if w in _NOW]
    bare = [w.removesuffix("'s") for w in ws]  # "last night's", "this week's"
    for phrase in _NOW_PHRASES:
        n = len(phrase.split())
        at += [k for k in range(len(ws) - n + 1) if " ".join(bare[k : k + n]) == phrase]
    return sorted(at)


def soon(ws: list[str]) -> bool:
    """A time that is now or soon in ``ws``."""
    return bool(_soon_at(ws))


# At most this many words between the topic and its time: further off, the time is when the
# answer is needed ("explain what a stock price is, for my class tomorrow"), not the data's.
_NEAR = 5
# Knowledge about a live topic: its history, who invented or founded it.
_KNOWLEDGE = words("""
    history historia histoire geschichte storia geschiedenis origin origins origen origine
    ursprung origem oorsprong invented invento invente erfunden inventou inventato
    uitgevonden founded fundo fondee gegrundet fundada fondata opgericht
    """)


def _live_now(ws: list[str]) -> bool:
    topics, times = _topic_at(ws), _soon_at(ws)
    return any(abs(t - k) <= _NEAR for t in topics for k in times)


def about_your_place(seg: Segment) -> bool:
    """The clause asks about the assistant's own place ("da te", "where you are")."""
    text = f" {' '.join(tokens(seg.instruction))} "
    return any(f" {p} " in text for p in _WHERE_YOU)


def live_data(seg: Segment) -> bool:
    """Whether ``seg`` asks for live data no agent can see (see the module docstring)."""
    if seg.data or seg.payload:
        return False
    ws = [w for w in tokens(seg.instruction) if w not in ("?", "!", ",", ".")]
    if ws and (ws[0] in lx.QUESTION or ws[0] in _WHERE_WHEN) and own_shipment(ws):
        return True  # "¿Dónde está mi paquete de Correos?" ("correos": no letter to write)
    if any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in ws):
        return False  # "a poem about today's weather", "an ad for tonight's prices"
    if about_your_place(seg):
        return False
    if any(w in _KNOWLEDGE for w in ws):
        return False  # "the history of the Dow Jones", "quando è stata fondata la Borsa"
    return _live_now(ws) or weather_now(seg, ws) or own_shipment(ws)


__all__ = ["about_your_place", "live_data", "live_topic", "soon", "weather_now"]
