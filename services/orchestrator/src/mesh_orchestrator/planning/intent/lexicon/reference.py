"""What refers back to an earlier result: "both", pronouns, clitics, determiners,
demonstratives, nouns naming a result, elided articles.

Every word is matched after ``model.normalize`` (lower case, no accents)."""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent.lexicon._words import words

# Everything (both/all) of the earlier results.
ALL = re.compile(
    r"\b(?:both|all of (?:them|these|those|that|this|the above)|all (?:three|four|the results|"
    r"the answers)|the two|the three|these two|those two|everything(?: above)?|the above|each of them|combine|merge|"
    r"ambos|ambas|los dos|las dos|todo eso|les deux|tous les deux|tout ca|beide|beides|alles|"
    r"des deux|dos dois|das duas|der beiden|dei due|delle due|van beide|"
    r"os dois|as duas|entrambi|entrambe|tutti e due|tutto cio|allebei|alle twee|beiden)\b"
)

# A count after an article points at that many earlier results: "the three", "los tres",
# "les quatre", "die drei", "os três", "i tre", "de drie" (the number, in group 1).
COUNTED = re.compile(
    r"\b(?:the|these|those|all|los|las|estos|estas|les|ces|tous|toutes|die|den|diese|alle|"
    r"os|as|estes|estas|todos|todas|i|le|gli|questi|queste|tutti|tutte|deze|alle|"
    # Dutch "de" before a Dutch count only: "de drie"; "de dos lineas", "de deux" say "of two"
    r"de(?=\s+(?:twee|drie|vier)\b))\s+"
    r"(two|three|four|dos|tres|cuatro|deux|trois|quatre|zwei|drei|vier|dois|duas|due|tre|"
    r"quattro|twee|drie)\b"
)

# Pronouns and demonstratives that read an earlier result ("it", "lo", "es", "het"...).
# Clitics attached to a verb ("traducelo", "resume-o", "traduis-la") are found separately.
PRONOUN = re.compile(
    r"\b(?:it|them|that|this|those|these|ello|eso|esto|ca|cela|ceci|es|das|dies|davon|darauf|"
    r"daraus|damit|isso|isto|cio|questo|questa|quello|het|dat|dit|daarvan|ervan|lui|lei|loro|"
    r"ele|ela|eles|elas|el|ella|ellos|lui|elle|eux|ihm|ihr|ihnen|hem|haar|hen)\b"
    r"(?=\s*(?:$|[.,;!?:]|(?:into|to|in|as|for|with|and|please|up|down|out|briefly|again|al|a|en|au|"
    r"ins|auf|zu|para|pro|pra|em|in|naar|op|simply|simplement|simplemente|kurz|zusammen|samen|too|also|"
    r"anschliessend|nachher|noch|auch|ebenfalls|mal|jetzt|gleich|bitte|vervolgens|nadien|nog|"
    r"ook|even|nu|kort|uit|om|af|weer|voor|pour|fur|per|por|"  # "gebruik dat voor", "usa eso por"
    r"in plain|to me|for me|moi|mir|me|from|daarna|danach|dann|luego|puis|poi|depois)\b))"
    r"|\b(?:it|them|dele|dela|deles|delas|disso|nisso)\b"  # pt "de + ele": of it
    r"|\b(?:him|ihn|hem|its)\b"  # "a poem about him", "über ihn", "over hem", "its cover"
    # pronominal adverbs, de and nl: "mach hieraus ein Bild", "maak daarmee een ..." (not
    # "dazu": as often "in addition" as "to it")
    r"|\b(?:daraus|davon|damit|darauf|daruber|daarvan|ervan|ervoor|dafur|hierzu|hieraus|hiervon|hieruber|hiermit|daarover|daarmee|daaruit|"
    r"daarbij|daarvoor|hierover|hiervan|hiermee|hieruit|hierbij|ermee|erover|eruit|erbij)\b"
    # "on that basis": "auf dieser Grundlage", "op basis daarvan", "on that basis"
    r"|\b(?:auf|op|on) (?:dieser|deze|die|that|this) (?:grundlage|basis)\b"
    r"|\b(?:auf basis|op basis) (?:davon|dessen|daarvan|hiervan)\b"
    # "die"/"deze"/"diese" standing alone: "gebruik die om ...", "übersetze diese ins ..."
    r"|\b(?:die|deze|diese)\b(?=\s*(?:$|[.,;!?:]|om|naar|in|ins|auf|zu|dann|danach|daarna))"
    r"|\bwhat (?:you|it|they|we) (?:find|found|get|got|learn|learned|say|says|said|return)\b"
    r"|\ber (?:\w+ ){0,5}(?:bij|van|mee|over|uit|op|aan)\b"  # Dutch "maak er ... bij"
    # ... its particle cut off by a list: "maak daar een gedicht en een tekening van"
    r"|\b(?:daar|er) (?:nog |ook |meteen |even )?een\b"
    r"|\bwhatever\b|\bdaar\w* (?:\w+ ){0,4}(?:over|van|mee|uit)\b|\bdar(?:uber|aus|an)\b|\blo que (?:encuentres|descubras|salga)\b|\bce que tu (?:trouves|trouveras)\b"
    r"|\bwas du (?:findest|herausfindest)\b|\bo que (?:encontrares|descobrires)\b"
    r"|\bquello che (?:trovi|scopri)\b|\bwat je (?:vindt|ontdekt)\b"
    r"|\b(?:le|la|les|lo|los|las|li|lo|het|es|ihn|sie|o|a|os|as)\s+(?=(?:en|al|in|ins|naar|para|"
    r"em|au|a|auf)\s)"
)

CLITIC = re.compile(
    r"^[a-z]{3,}(?:-?(?:lo|la|los|las|le|les|li|melo|mela|selo|sela|glielo|mo|ma)"
    r"|-(?:o|a|os|as|no|na|nos|nas))$"  # Portuguese "põe-na", "fazem-no"
    r"|^[a-z]{2,}(?:mene|tene|cene|vene|gliene)$|^(?:fanne|dimmene|dammene)$"  # "of it" (it)
    r"|^[a-z]{3,}-(?:en|m'en|moi-en|nous-en)$"  # "fais-en", "donne-m'en" (fr)
)

# Definite or demonstrative phrases that name an earlier result ("the summary", "esa persona").
DETERMINER = words(
    """
the that this those these your its their el la los las ese esa esos esas este esta estos
estas su sus le les ce cet cette ces son sa ses leur der die das dem den diese dieser dieses
deren o os essa esse essas esses aquela aquele il lo gli quel quella quello quei quelle
questo questa het die dat deze dit hun zijn
"""
)

DEMONSTRATIVE = words(
    """
that this those these ese esa esos esas este esta estos estas ce cet cette ces diese dieser
dieses jene jener essa esse essas esses aquela aquele quel quella quello quei quelle questo
questa questi queste quell quest die dat deze dit
"""
)

RESULT_NOUNS = words(
    """
result results output answer answers response finding findings summary translation story
poem text facts fact passage passages analysis conclusion winner list lines information info
numbers stats statistics picture image haiku note draft version report resultado resultados
respuesta resumen traduccion historia cuento poema texto datos ganador lista lineas
informacion persona imagen conclusion resultat resultats reponse resume histoire poeme texte
donnees gagnant liste lignes information personne conclusion faits ergebnis ergebnisse
antwort zusammenfassung ubersetzung geschichte gedicht text fakten gewinner liste zeilen
informationen person bild resposta resumo traducao historia poema texto dados vencedor
linhas informacao pessoa risultato risultati risposta riassunto traduzione storia poesia
testo dati vincitore righe informazioni persona immagine resultaat resultaten antwoord
samenvatting vertaling verhaal gedicht tekst gegevens winnaar lijst regels informatie
persoon outcome outcomes uitkomst uitkomsten esito esiti
"""
)

# Elisions that glue an article to its noun ("l'immagine", "quell'haiku", "d'un").
ELISION = re.compile(r"\b(?:l|d|qu|quell|dell|nell|all|sull|un|c|j|n|s|m|t)'")

# Ordinals that pick one of the earlier results ("the second one", "el primero", "het eerste
# antwoord", "den ersten"), by rank (1-based).
ORDINAL = {
    **dict.fromkeys(
        words(
            "first primero primera premier premiere erste ersten erster erstes primeiro "
            "primeira primo prima eerste"
        ),
        1,
    ),
    **dict.fromkeys(
        words(
            "second segundo segunda seconde deuxieme zweite zweiten zweiter zweites secondo "
            "seconda tweede"
        ),
        2,
    ),
    **dict.fromkeys(
        words("third tercero tercera troisieme dritte dritten terceiro terceira terzo terza derde"),
        3,
    ),
}
# "one" after an adjective or an ordinal: "the silly one", "the first one".
ONE = words("one ones uno una eins een")
