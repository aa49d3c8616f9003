"""The words that give a request its shape, in English, Spanish, French, German, Portuguese,
Italian and Dutch: what joins two jobs, what refers back to an earlier result, what negates,
what marks a constraint rather than a job. What a clause *asks for* is the model's job
(``model.py``); these lists only say where clauses begin and end and how they connect.

Every word is matched after ``model.normalize`` (lower case, no accents).
"""

from __future__ import annotations

import re


def _alt(words: str) -> str:
    return "|".join(sorted((re.escape(w) for w in words.split("|")), key=len, reverse=True))


# "then" and its kin: a new step, usually working on what came before.
THEN = _alt(
    "and then|then|after that|afterwards|next|finally|and finally|lastly|and lastly|once done|"
    "y luego|luego|y despues|despues|despues de eso|a continuacion|finalmente|por ultimo|"
    "et puis|puis|ensuite|apres ca|apres cela|enfin|pour finir|"
    "und dann|dann|danach|anschliessend|zum schluss|schliesslich|"
    "e depois|depois|em seguida|a seguir|por fim|"
    "e poi|poi|dopo|quindi|infine|successivamente|"
    "en dan|daarna|vervolgens|tot slot|ten slotte|en daarna"
)
# "but": a turn that often carries a constraint ("..., but don't translate it").
BUT = _alt("but|pero|mais|aber|ma|maar|mas|however|sin embargo|cependant|jedoch|pero sin")
# Joiners that split two jobs only when a job starts right after them.
AND = _alt("and|&|plus|y|e|et|und|en|also|ademas|aussi|ausserdem|tambem|anche|ook|as well as|as well")
# Words that open a new sentence as a further step ("Also translate ...").
BACK = frozenset(
    "also then next finally lastly plus additionally and afterwards "
    "luego despues tambien ademas finalmente puis ensuite aussi enfin "
    "dann danach ausserdem auch schliesslich depois tambem "
    "poi dopo anche infine daarna dan ook vervolgens".split()
)
QUESTION = frozenset(
    "what who whom whose when where why how which "
    "que quien quienes cuando donde por cual cuanto cuantos como "
    "quel quelle quels quelles qui quand pourquoi comment combien "
    "was wer wen wem wann wo warum wie welche welcher welches wieviel "
    "quem quando onde porque qual quanto "
    "che chi quando dove perche quale quanto come cosa "
    "wat wie wanneer waar waarom hoe welke hoeveel".split()
)
# A negation near the start of a clause makes it a constraint on the others, never a job.
NEGATION = frozenset(
    "no not don't dont never without nothing skip neither nor none "
    "sin nada ni nunca sans pas rien aucun aucune ne n "
    "nicht kein keine keinen keiner nichts ohne "
    "nao sem nenhum nenhuma non senza niente nulla nessun nessuna mai "
    "niet geen zonder niets nooit".split()
)
# "only the picture", "just the text": a constraint on what the request makes.
ONLY = frozenset("only just solo solamente seulement juste uniquement nur bloss alleen enkel apenas so soltanto".split())
# Courtesy words skipped when looking at how a clause starts.
POLITE = frozenset(
    "please pls plz kindly hey ok okay so now also and then "
    "por favor porfa oye vale bueno s'il te plait stp svp bitte mal ja "
    "olha per favore dai alsjeblieft graag hoi".split()
)
# Everything (both/all) of the earlier results.
ALL = re.compile(
    r"\b(?:both|all of (?:them|these|those|that|this|the above)|all (?:three|four|the results|"
    r"the answers)|the two|the three|these two|those two|everything(?: above)?|the above|each of them|combine|merge|"
    r"ambos|ambas|los dos|las dos|todo eso|les deux|tous les deux|tout ca|beide|beides|alles|"
    r"os dois|as duas|entrambi|entrambe|tutti e due|tutto cio|allebei|alle twee|beiden)\b"
)
# Pronouns and demonstratives that read an earlier result ("it", "lo", "es", "het"...).
# Clitics attached to a verb ("traducelo", "resume-o", "traduis-la") are found separately.
PRONOUN = re.compile(
    r"\b(?:it|them|that|this|those|these|ello|eso|esto|ca|cela|ceci|es|das|dies|davon|darauf|"
    r"daraus|damit|isso|isto|cio|questo|questa|quello|het|dat|dit|daarvan|ervan|lui|lei|loro|"
    r"ele|ela|eles|elas|el|ella|ellos|lui|elle|eux|ihm|ihr|ihnen|hem|haar|hen)\b"
    r"(?=\s*(?:$|[.,;!?:]|into|to|in|as|for|with|and|please|up|down|out|briefly|again|al|a|en|au|"
    r"ins|auf|zu|para|em|in|naar|op|simply|simplement|simplemente|kurz|zusammen|samen|"
    r"in plain|to me|for me|moi|mir|me|from|daarna|danach|dann|luego|puis|poi|depois))"
    r"|\b(?:it|them)\b"
    r"|\bwhat (?:you|it|they|we) (?:find|found|get|got|learn|learned|say|says|said|return)\b"
    r"|\bwhatever\b|\bdaar\w* (?:\w+ ){0,4}(?:over|van|mee|uit)\b|\bdar(?:uber|aus|an)\b|\blo que (?:encuentres|descubras|salga)\b|\bce que tu (?:trouves|trouveras)\b"
    r"|\bwas du (?:findest|herausfindest)\b|\bo que (?:encontrares|descobrires)\b"
    r"|\bquello che (?:trovi|scopri)\b|\bwat je (?:vindt|ontdekt)\b"
    r"|\b(?:le|la|les|lo|los|las|li|lo|het|es|ihn|sie|o|a|os|as)\s+(?=(?:en|al|in|ins|naar|para|"
    r"em|au|a|auf)\s)"
)
CLITIC = re.compile(r"^[a-z]{3,}(?:-?(?:lo|la|los|las|le|les|li|melo|mela|selo|sela|glielo|mo|ma)|-(?:o|a|os|as))$")
# Definite or demonstrative phrases that name an earlier result ("the summary", "esa persona").
DETERMINER = frozenset(
    "the that this those these your its their "
    "el la los las ese esa esos esas este esta estos estas su sus "
    "le les ce cet cette ces son sa ses leur "
    "der die das dem den diese dieser dieses deren "
    "o os essa esse essas esses aquela aquele "
    "il lo gli quel quella quello quei quelle questo questa "
    "het die dat deze dit hun zijn".split()
)
DEMONSTRATIVE = frozenset(
    "that this those these ese esa esos esas este esta estos estas ce cet cette ces "
    "diese dieser dieses jene jener essa esse essas esses aquela aquele quel quella quello quei "
    "quelle questo questa questi queste quell quest die dat deze dit".split()
)
RESULT_NOUNS = frozenset(
    "result results output answer answers response finding findings summary translation story "
    "poem text facts fact passage passages analysis conclusion winner list lines information "
    "info numbers stats statistics picture image haiku note draft version report "
    "resultado resultados respuesta resumen traduccion historia cuento poema texto datos "
    "ganador lista lineas informacion persona imagen conclusion "
    "resultat resultats reponse resume histoire poeme texte donnees gagnant liste lignes "
    "information personne conclusion faits "
    "ergebnis ergebnisse antwort zusammenfassung ubersetzung geschichte gedicht text fakten "
    "gewinner liste zeilen informationen person bild "
    "resposta resumo traducao historia poema texto dados vencedor linhas informacao pessoa "
    "risultato risultati risposta riassunto traduzione storia poesia testo dati vincitore righe "
    "informazioni persona immagine "
    "resultaat resultaten antwoord samenvatting vertaling verhaal gedicht tekst gegevens winnaar "
    "lijst regels informatie persoon".split()
)
# Nouns of things the mesh makes, which start a job after "and a ..." ("..., and a picture").
JOB_NOUNS = frozenset(
    "poem story essay email letter note speech toast slogan tweet caption song haiku limerick "
    "summary translation picture image drawing illustration photo logo poster painting sketch "
    "title tagline description ad headline joke list analysis overview recap "
    "poema historia cuento ensayo correo carta nota discurso brindis eslogan cancion resumen "
    "traduccion imagen dibujo ilustracion foto cartel cuadro titulo anuncio chiste "
    "poeme histoire essai lettre mot discours chanson resume traduction image dessin affiche "
    "peinture titre publicite blague "
    "gedicht geschichte aufsatz brief notiz rede lied zusammenfassung ubersetzung bild zeichnung "
    "illustration foto plakat gemalde titel werbung witz "
    "poema historia ensaio carta bilhete discurso cancao resumo traducao imagem desenho cartaz "
    "pintura titulo anuncio piada "
    "poesia storia saggio lettera biglietto discorso canzone riassunto traduzione immagine "
    "disegno illustrazione poster dipinto titolo annuncio barzelletta "
    "gedicht verhaal opstel brief briefje toespraak lied samenvatting vertaling plaatje afbeelding "
    "tekening illustratie poster schilderij titel advertentie grap".split()
)
ARTICLES = frozenset(
    "a an one another some un una uno une des ein eine einen einem um uma umas uns un' een".split()
)
# Words that say how many: "in two languages", "three versions".
NUMBERS = {
    "two": 2, "three": 3, "four": 4, "both": 2, "dos": 2, "tres": 3, "cuatro": 4, "deux": 2,
    "trois": 3, "quatre": 4, "zwei": 2, "drei": 3, "vier": 4, "dois": 2, "duas": 2, "due": 2,
    "tre": 3, "quattro": 4, "twee": 2, "drie": 3, "2": 2, "3": 3, "4": 4,
}
LANGUAGE_WORDS = frozenset(
    "languages language idiomas idioma lenguas langues langue sprachen sprache linguas lingua "
    "lingue talen taal".split()
)
# Target languages as people name them in the seven languages (normalized), by canonical name.
_LANGUAGE_NAMES = """
english: english ingles anglais englisch englische ingles inglese engels
spanish: spanish espanol castellano espagnol spanisch spanische espanhol spagnolo spaans
french: french frances francais franzosisch franzosische frances francese frans
german: german aleman allemand deutsch deutsche alemao tedesco duits
italian: italian italiano italien italienisch italienische italiano italiaans
portuguese: portuguese portugues portugais portugiesisch portugiesische portoghese portugees
dutch: dutch neerlandes holandes neerlandais hollandais niederlandisch niederlandische olandese nederlands hollands
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
"""
LANGUAGES: dict[str, str] = {
    form: line.split(":")[0]
    for line in _LANGUAGE_NAMES.strip().splitlines()
    for form in line.split(":")[1].split()
}

# Function words of four letters or more: no subject of a segment's own.
FUNCTION = frozenset(
    "into onto with from about over under after before than that what which there their them "
    "then also just very some more most much many such each every your yours mine ours "
    "para sobre desde hasta entre como pero este esta esto todo toda todos muy tambien "
    "pour avec dans sans sous vers chez entre comme mais tout toute tous tres aussi "
    "uber unter nach fur vor seit wenn dass oder aber auch sehr noch alle einen einem einer "
    "para pelo pela pelos como mais muito toda todo todos tambem "
    "dalla dallo dello della degli delle nella nello negli sulla sullo come anche molto tutto "
    "naar voor over onder door zonder tegen maar ook heel alle deze "
    "daar hier where when samen zusammen down".split()
) | frozenset(w for w in THEN.replace("\\", "").split("|") if " " not in w)
# Words that point at what follows ("the text below"): the next paragraph is its payload.
FORWARD = re.compile(
    r"\b(?:below|following|underneath|abajo|siguiente|siguientes|ci-dessous|suivant|suivante|"
    r"unten|folgende|folgenden|folgendes|abaixo|seguinte|seguintes|sotto|seguente|seguenti|"
    r"hieronder|volgende|onderstaande)\b"
)
# Elisions that glue an article to its noun ("l'immagine", "quell'haiku", "d'un").
ELISION = re.compile(r"\b(?:l|d|qu|quell|dell|nell|all|sull|un|c|j|n|s|m|t)'")
