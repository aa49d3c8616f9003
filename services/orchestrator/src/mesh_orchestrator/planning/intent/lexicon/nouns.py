"""Nouns and counts: things the mesh makes, articles, numbers, language names, and function
words that name no subject.

Every word is matched after ``model.normalize`` (lower case, no accents)."""

from __future__ import annotations

from mesh_orchestrator.planning.intent.lexicon._words import words
from mesh_orchestrator.planning.intent.lexicon.joins import THEN

# Nouns of things the mesh makes, which start a job after "and a ..." ("..., and a picture").
JOB_NOUNS = words(
    """
poem story essay email letter note speech toast slogan tweet caption song haiku limerick
summary translation picture image drawing illustration photo logo poster painting sketch
title tagline description ad headline joke list analysis overview recap poema historia
cuento ensayo correo carta nota discurso brindis eslogan cancion resumen traduccion imagen
dibujo ilustracion foto cartel cuadro titulo anuncio chiste poeme histoire essai lettre mot
discours chanson resume traduction image dessin affiche peinture titre publicite blague
gedicht geschichte aufsatz brief notiz rede lied zusammenfassung ubersetzung bild zeichnung
illustration foto plakat gemalde titel werbung witz poema historia ensaio carta bilhete
discurso cancao resumo traducao imagem desenho cartaz pintura titulo anuncio piada poesia
storia saggio lettera biglietto discorso canzone riassunto traduzione immagine disegno
illustrazione poster dipinto titolo annuncio barzelletta gedicht verhaal opstel brief
briefje toespraak lied samenvatting vertaling plaatje afbeelding tekening illustratie poster
schilderij titel advertentie grap text texts texto textos texte textes testo testi tekst teksten message
liste lista lijst
mensaje nachricht mensagem messaggio bericht caption legenda legende didascalia bijschrift
minutes protokoll acta verbale notulen ata report informe rapport relatorio rapporto verslag
invitation invitacion einladung convite invito uitnodiging
explanation explicacion explication erklarung explicacao spiegazione uitleg
ilustracao fotografia redacao
announcement guide tutorial quiz flyer postcard portrait riddle worksheet teaser
aviso guia tutorial cuestionario folleto postal retrato adivinanza ficha
annonce guide tutoriel tuto quiz flyer carte portrait devinette fiche
ankundigung anleitung leitfaden quiz flyer postkarte portrat ratsel arbeitsblatt
kurzfassung fassung guia questionario folheto postal retrato adivinha charada
avviso guida quiz volantino cartolina ritratto indovinello
aankondiging handleiding gids quiz flyer ansichtkaart portret raadsel werkblad
"""
)

# Dutch names small things small: "een gedichtje", "een tekstje", "een verhaaltje".
JOB_NOUNS |= {
    noun + end
    for noun in words(
        """
gedicht verhaal opstel lied grap tekst bericht lijst verslag tekening schilderij titel
samenvatting vertaling toespraak
"""
    )
    for end in ("je", "tje", "etje", "pje")
}

# Pieces of writing the writer makes that name a *second* thing after "and" ("write a
# summary and a short paragraph for the newsletter", "escreve um guia e um e-mail curto",
# "sowohl ein Gedicht als auch drei Stichpunkte"). Only where a thing to make starts a new
# job (``Segmenter.opens_job``), not everywhere ``JOB_NOUNS`` is read: "a post" or "an
# entry" alone names no job.
PIECE_NOUNS = words(
    """
paragraph paragraphs analogy analogies bullet bullets outline intro introduction blurb
abstract faq thread post newsletter memo checklist e-mail e-mails
parrafo parrafos analogia analogias vinetas esquema introduccion boletin hilo publicacion
paragraphe paragraphes analogie puces introduction billet courriel courriels publication
absatz absatze analogie stichpunkte stichpunkten gliederung einleitung beitrag rundbrief
paragrafo paragrafos analogia topicos esboco introducao boletim publicacao
paragrafo paragrafi analogia elenco puntato scaletta introduzione
alinea analogie opsomming inleiding nieuwsbrief
"""
)

# The lookup a negated clause names ("no research", "nada de búsquedas", "ohne Recherche",
# "sem pesquisa", "niente ricerche", "geen zoekwerk"): read as the lookup ruled out whatever
# the intent model reads in the noun alone (``serve.ruled_out``).
LOOKUP_NOUNS = words(
    """
search searches research lookup lookups googling browsing
busqueda busquedas investigacion investigaciones
recherche recherches
suche suchen recherche recherchen nachforschung
pesquisa pesquisas busca buscas
ricerca ricerche
zoekopdracht zoekopdrachten zoekwerk opzoekwerk speurwerk onderzoek
"""
)

# The verb stems of the jobs a negated clause can rule out ("niet vertalen", "no resumir",
# "ohne zu übersetzen", "non disegnare"): read as that job ruled out whatever the intent model
# reads in the verb alone (``serve.ruled_out``). Stems, folded as the tokens are.
RULED_OUT_STEMS: dict[str, tuple[str, ...]] = {
    "translation": (
        "translat",
        "traduc",
        "tradui",
        "traduz",
        "tradur",
        "ubersetz",
        "vertal",
        "vertaal",
    ),
    "summarization": ("summar", "resum", "zusammenfass", "riassum", "samenvat", "kurzfass"),
    "image_generation": (
        "draw",
        "dibuj",
        "dessin",
        "zeichn",
        "desenh",
        "disegn",
        "teken",
        "illustr",
    ),
    "search": (
        "googl",
        "buscar",
        "recherch",
        "nachschlag",
        "pesquis",
        "cercar",
        "opzoek",
        "zoeken",
    ),
}

# "things" counted by a head ("I want two things: ...", "quiero dos cosas: ..."): they name
# no job, whatever verb says that they are wanted.
THINGS = words(
    """
things thing cosas cosa choses chose dinge dingen ding coisas coisa cose dingetjes zaken
"""
)

ARTICLES = words(
    """
a an one another some un una uno une des ein eine einen einem um uma umas uns un' een
"""
)

# Words that say how many: "in two languages", "three versions".
NUMBERS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "both": 2,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "dois": 2,
    "duas": 2,
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "twee": 2,
    "drie": 3,
    "zweierlei": 2,  # "two kinds of thing": "Daraus zweierlei: ..."
    "dreierlei": 3,
    "2": 2,
    "3": 3,
    "4": 4,
}

LANGUAGE_WORDS = words(
    """
languages language idiomas idioma lenguas langues langue sprachen sprache linguas lingua
lingue talen taal
"""
)

# Target languages as people name them in the seven languages (normalized), by canonical name.
_LANGUAGE_NAMES = """
english: english ingles anglais englisch englische ingles inglese engels
spanish: spanish espanol castellano espagnol spanisch spanische espanhol spagnolo spaans
french: french frances francais franzosisch franzosische frances francese frans
german: german aleman allemand deutsch deutsche alemao tedesco duits
italian: italian italiano italien italienisch italienische italiano italiaans
portuguese: portuguese portugues portugais portugiesisch portugiesische portoghese portugees
dutch: dutch neerlandes holandes neerlandais hollandais niederlandisch niederlandische olandese
dutch: nederlands hollands
japanese: japanese japones japonais japanisch japanische japones giapponese japans
korean: korean coreano coreen koreanisch koreanische coreano koreaans
chinese: chinese chino mandarin chinois chinesisch chinesische chines cinese chinees
arabic: arabic arabe arabisch arabische arabo arabisch
polish: polish polaco polonais polnisch polnische polones polacco pools
swedish: swedish sueco suedois schwedisch schwedische svedese zweeds
russian: russian ruso russe russisch russische russo russisch
greek: greek griego grec griechisch griechische grego greco grieks
hindi: hindi
turkish: turkish turco turc turkisch turkische turco turks
korean2: korean
catalan: catalan catalan catala catalana catalane katalanisch katalanische catalao catalano catalaans
basque: basque vasco euskera baskisch basco baskisch
galician: galician gallego galicien galicisch galego galiciano galicisch
ukrainian: ukrainian ucraniano ukrainien ukrainisch ucraino oekraiens
czech: czech checo tcheque tschechisch checo ceco tsjechisch
danish: danish danes danois danisch dinamarques danese deens
norwegian: norwegian noruego norvegien norwegisch noruegues norvegese noors
finnish: finnish finlandes finnois finnisch finlandese fins
hungarian: hungarian hungaro hongrois ungarisch ungherese hongaars
romanian: romanian rumano roumain rumanisch romeno rumeno roemeens
vietnamese: vietnamese vietnamita vietnamien vietnamesisch vietnamees
english: inglesa anglaise englischen englischer englisches engelse
spanish: espanola espagnole spanischen spanischer spanisches espanhola spagnola spaanse
french: francesa francaise franzosischen franzosischer franzosisches franse
german: alemana allemande deutschen deutscher deutsches alema tedesca tedesche duitse
italian: italiana italienne italienischen italienischer italienisches italiaanse
portuguese: portuguesa portugaise portugiesischen portugiesischer portoghesi portugese
dutch: neerlandesa holandesa neerlandaise hollandaise niederlandischen olandesi nederlandse
dutch: hollandse niederlandischer
"""

LANGUAGES: dict[str, str] = {
    form: line.split(":")[0]
    for line in _LANGUAGE_NAMES.strip().splitlines()
    for form in line.split(":")[1].split()
}

# Function words of four letters or more: no subject of a segment's own.
FUNCTION = frozenset(
    [
        "into",
        "onto",
        "with",
        "from",
        "about",
        "over",
        "under",
        "after",
        "before",
        "than",
        "that",
        "what",
        "which",
        "there",
        "their",
        "them",
        "then",
        "also",
        "just",
        "very",
        "some",
        "more",
        "most",
        "much",
        "many",
        "such",
        "each",
        "every",
        "your",
        "yours",
        "mine",
        "ours",
        "para",
        "sobre",
        "desde",
        "hasta",
        "entre",
        "como",
        "pero",
        "este",
        "esta",
        "esto",
        "todo",
        "toda",
        "todos",
        "muy",
        "tambien",
        "pour",
        "avec",
        "dans",
        "sans",
        "sous",
        "vers",
        "chez",
        "entre",
        "comme",
        "mais",
        "tout",
        "toute",
        "tous",
        "tres",
        "aussi",
        "uber",
        "unter",
        "nach",
        "fur",
        "vor",
        "seit",
        "wenn",
        "dass",
        "oder",
        "aber",
        "auch",
        "sehr",
        "noch",
        "alle",
        "einen",
        "einem",
        "einer",
        "para",
        "pelo",
        "pela",
        "pelos",
        "como",
        "mais",
        "muito",
        "toda",
        "todo",
        "todos",
        "tambem",
        "dalla",
        "dallo",
        "dello",
        "della",
        "degli",
        "delle",
        "nella",
        "nello",
        "negli",
        "sulla",
        "sullo",
        "come",
        "anche",
        "molto",
        "tutto",
        "naar",
        "voor",
        "over",
        "onder",
        "door",
        "zonder",
        "tegen",
        "maar",
        "ook",
        "heel",
        "alle",
        "deze",
        "daar",
        "hier",
        "where",
        "when",
        "samen",
        "zusammen",
        "down",
    ]
) | frozenset(w for w in THEN.replace("\\", "").split("|") if " " not in w)

# Nouns of pictures, in the seven languages: whatever else a clause says, the thing is drawn.
# One word each, none that also names a text or anything else ("sketch", "vignette",
# "portrait", "cuadro", "achtergrond", "capa" stay out); pictures named in more than one word
# are in PICTURE_PHRASES.
PICTURE_NOUNS = words(
    """
picture pictures image images drawing drawings illustration photo poster posters painting
artwork artworks thumbnail thumbnails banner banners wallpaper wallpapers icon icons logo
flyer flyers avatar mural infographic
imagen imagenes dibujo ilustracion cartel carteles portada portadas miniatura miniaturas
pancarta afiche logotipo
dessin affiche affiches peinture banniere bannieres pochette visuel
bild bilder zeichnung plakat plakate gemalde titelbild titelbilder vorschaubild
hintergrundbild
imagem imagens desenho ilustracao cartaz cartazes pintura
immagine immagini disegno illustrazione dipinto copertina copertine locandina
plaatje plaatjes afbeelding afbeeldingen tekening illustratie schilderij omslag
"""
)
# Pictures named in more than one word, as ``model.tokens`` splits them.
PICTURE_PHRASES = frozenset(
    tuple(p.split())
    for p in (
        "cover art",
        "album cover",
        "book cover",
        "cover image",
        "fondo de pantalla",
        "fond d'ecran",
        "papel de parede",
        "capa do livro",
        "capa do album",
        "sfondo del desktop",
    )
)
