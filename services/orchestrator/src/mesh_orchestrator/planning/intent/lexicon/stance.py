"""How a clause starts: a question, a negation, an "only", or courtesy words before the verb.

Every word is matched after ``model.normalize`` (lower case, no accents)."""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent.lexicon._words import words

QUESTION = words(
    """
what who whom whose when where why how which que quien quienes cuando donde por cual cuanto
cuantos como quel quelle quels quelles qui quand pourquoi comment combien was wer wen wem
wann wo warum wie welche welcher welches wieviel quem quando onde porque qual quanto che chi
quando dove perche quale quanto come cosa wat wie wanneer waar waarom hoe welke hoeveel
cuantas cuanta quantos quantas quanta quanti quante quali
"""
)

# "I'd like to know who ...", "ich möchte wissen, wer ...", "vorrei sapere chi ...": a
# question put as a wish to know; the model reads the question (after ``normalize``).
KNOW = re.compile(
    r"^.{0,40}?\b(?:know|find out|wonder|wondering|curious|saber|savoir|wissen|erfahren|"
    r"sapere|weten)\s*,?\s+(?=(?:"
    + "|".join(sorted(QUESTION, key=len, reverse=True))
    + r"|if|whether|si|ob|se|of)\b)"
)

# A negation near the start of a clause makes it a constraint on the others, never a job.
NEGATION = words(
    """
no not don't dont never without nothing skip forget omit neither nor none sin nada ni nunca
olvida olvidate oublie oubliez vergiss vergesst vergeet esquece esqueca dimentica sans pas
rien aucun aucune ne n nicht kein keine keinen keiner nichts ohne nao sem nenhum nenhuma non
senza niente nulla nessun nessuna mai niet geen zonder niets nooit weder nem niks
ignore ignoring ignora ignore ignorez ignorer ignoriere ignorier ignoriert ignorieren ignorar
ignorem ignorate negeer negeren
"""
)

# "forget the picture" is a negation, "don't forget to translate it" a job (two negations).
FORGET = words(
    """
forget olvida olvides olvidate oublie oubliez oublies vergiss vergesst vergessen vergeet
esquece esqueca esquecas dimentica dimenticare
"""
)

# "only the picture", "just the text": a constraint on what the request makes.
ONLY = words(
    """
only just solo solamente seulement juste uniquement nur bloss alleen enkel apenas so
soltanto simply simplemente simplement simplesmente semplicemente gewoon slechts
"""
)

# Courtesy words skipped when looking at how a clause starts.
POLITE = words(
    """
please pls plz kindly hey ok okay so now also and then por favor porfa oye vale bueno s'il
te plait stp svp bitte mal ja olha per favore dai alsjeblieft graag hoi
"""
)

# A remark on what an earlier job is for or what it should be ("it's for a colleague in
# Dublin", "something I can put on a slide"): a constraint on that job, never a job.
REMARK = re.compile(
    r"^(?:(?:it'?s|it is|this is|that'?s|that is|c'est|ce sera|es|esto es|eso es|das ist|"
    r"es ist|e|isto e|isso e|e per|het is|dit is|dat is)\s+(?:for|pour|para|fur|per|voor)\b"
    r"|(?:something|quelque chose|algo|etwas|qualcosa|iets)\s+(?:i|que|qu'|das|was|che|wat|dat)\b)"
)

# A remark on the manner of an earlier job, never a job: "keep it short", "make sure it's
# polite", "halte es kurz", "houd het luchtig", "mantenlo breve", "garde-le simple", "make
# it funny", "que suene profesional", "que seja curto", "dass es kurz ist". A verb of
# keeping or making needs its pronoun ("make a poster" is a job).
STYLE = re.compile(
    r"^(?:(?:and|y|e|et|und|en)\s+)?(?:"
    r"(?:keep|make) (?:it|them)\b|(?:halte|halt|mach|mache) (?:es|sie|ihn)\b"
    r"|(?:houd|hou|maak) (?:het|ze)\b"
    r"|(?:mantenlo|mantenla|mantenlos|mantenlas|mantienilo|mantienila|tienilo|tienila|hazlo|"
    r"hazla|fallo|falla|garde-le|garde-la|garde-les|gardez-le|gardez-la|rends-le|rends-la|"
    r"mantem-no|mantem-na|mantenha-o|mantenha-a|torna-o|torna-a|faz-o|faz-a)\b"
    r"|make sure|zorg (?:ervoor )?dat|sorg dafur|achte darauf"
    r"|que (?:sea|suene|quede|tenga|seja|soe|fique|tenha|sia|suoni|abbia|ce soit|ca soit)\b"
    r"|qu'(?:il|elle) (?:soit|sonne|reste)\b"
    r"|dass (?:es|er|sie)\b"
    # what the thing asked should be like, after it: "..., algo emotivo pero con humor",
    # "something short and sweet", "quelque chose de drole", "etwas Lustiges", "iets grappigs"
    r"|(?:something|quelque chose(?: de)?|algo|etwas|qualcosa(?: di)?|iets)\s+"
    r"(?!(?:that|which|to|i|about|for|que|qu'|sur|pour|sobre|das|was|uber|fur|zum|zur|che|su|"
    r"per|wat|dat|om|over|voor|para|pra)\b)\w+"
    # how to answer: "answer with a number", "rispondimi con un numero", "antworte nur mit ja"
    # (a clitic may come first: "me responde de um jeito simples", "mi rispondi in modo ...")
    r"|(?:(?:me|mi|te)\s+)?"
    r"(?:answer|respond|reply|responde|respondeme|contesta|contestame|reponds|repondez|"
    r"reponds-moi|repondez-moi|antworte|antworten|responda|responde-me|rispondi|rispondimi|"
    r"rispondetemi|antwoord)(?: (?:me|mij|mir|moi|mi))?"
    r" (?:with|in|using|only|just|con|en|solo|avec|par|juste|mit|nur|com|em|so|apenas|"
    r"met|alleen|de|auf|op|like|como|comme|wie|come)\b)"
)
