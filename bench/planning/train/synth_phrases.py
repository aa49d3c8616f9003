"""Phrase tables of the whole-request generator (``synth.py``), one dict per language.

The jobs that stand alone (a template naming its own subject: ``{t}``, ``{q}``, pasted ``{p}`` /
``{d}``), the actions nobody serves and the remarks that add no step are read from
``lang/*.py``; these tables hold what composes them into one request:

* ``ref``: jobs that read the step before (``{l}`` a language), by capability, each naming its
  material by a reference ("it", "that", "the result", "whatever comes back");
* ``then`` / ``and``: joins of a step that reads the one before / of a parallel job;
* ``heads``: what opens the jobs of a fan-out from one source ("with the result:");
* ``intro``: what opens a list of jobs; ``small``: small talk (the writer answers it);
* ``langs3``: how several languages are listed (``{a}``, ``{b}``, ``{c}``) after "into";
* ``texts``: short pasted texts; ``data_intro``: a remark before pasted data.
"""

from __future__ import annotations

from typing import Any

PHRASES: dict[str, dict[str, Any]] = {
    "en": {
        "ref": {
            "summarization": [
                "summarize it",
                "sum that up in two lines",
                "give me the gist of the result",
                "boil whatever comes back down to three bullets",
                "make a short recap of that",
            ],
            "translation": [
                "translate it into {l}",
                "put that in {l}",
                "give me the result in {l}",
                "turn whatever you get into {l}",
            ],
            "image_generation": [
                "draw a picture of it",
                "make an illustration from that",
                "use the result to generate a poster",
            ],
            "text_generation": [
                "write a short poem about it",
                "use that to draft an email to my team",
                "turn the result into a tweet",
            ],
            "lora_training": [
                "train an adapter on those lines",
                "fine-tune a LoRA on that",
            ],
        },
        "then": [", then ", " and then ", ". After that, ", "\n", "; then ", ". Then "],
        "and": [" and ", ", and also ", ". Also, ", "\n"],
        "heads": ["With the result: ", "Then, from that: ", "Using what you find, "],
        "intro": ["I need a few things:", "Can you do these for me?", "Three tasks:", ""],
        "small": [
            "hey, how is your day going?",
            "thanks, that was great!",
            "are you a real person?",
            "lol you're funny",
        ],
        "langs3": ["{a}, {b} and {c}", "{a}, {b} and also {c}"],
        "into": "into",
        "texts": [
            "Hi all, the team meeting moves to Thursday at 10. Please bring your slides and "
            "the numbers for the third quarter. Lunch is on us.",
            "The old bridge was closed for repairs last spring. Since then traffic in the "
            "village has doubled and the shops complain about the noise.",
        ],
        "data_intro": ["here is the data:", "my table:", "numbers below:"],
    },
    "es": {
        "ref": {
            "summarization": [
                "resúmelo",
                "haz un resumen de eso en dos líneas",
                "dame lo esencial del resultado",
                "resume lo que encuentres en tres puntos",
            ],
            "translation": [
                "tradúcelo al {l}",
                "pásalo al {l}",
                "dame el resultado en {l}",
            ],
            "image_generation": [
                "haz un dibujo de eso",
                "genera una imagen con el resultado",
                "dibújalo",
            ],
            "text_generation": [
                "escribe un poema corto sobre eso",
                "con eso redacta un correo para mi equipo",
            ],
            "lora_training": ["entrena un adaptador con esas frases"],
        },
        "then": [", luego ", " y después ", ". Después, ", "\n", "; luego "],
        "and": [" y ", ", y también ", ". Además, ", "\n"],
        "heads": ["Con el resultado: ", "Con eso, ", "A partir de lo que encuentres, "],
        "intro": ["Necesito varias cosas:", "¿Me haces esto?", "Tres tareas:", ""],
        "small": ["¡hola! ¿qué tal tu día?", "gracias, ¡quedó genial!", "¿eres una persona real?"],
        "langs3": ["{a}, {b} y {c}"],
        "into": "al",
        "texts": [
            "Hola a todos, la reunión del equipo pasa al jueves a las 10. Traed las "
            "diapositivas y las cifras del tercer trimestre.",
            "El puente viejo se cerró por obras la primavera pasada y desde entonces el "
            "tráfico en el pueblo se ha duplicado.",
        ],
        "data_intro": ["aquí van los datos:", "mi tabla:"],
    },
    "fr": {
        "ref": {
            "summarization": [
                "résume-le",
                "fais-en un résumé en deux lignes",
                "donne-moi l'essentiel du résultat",
                "résume ce que tu trouves en trois points",
            ],
            "translation": [
                "traduis-le en {l}",
                "mets ça en {l}",
                "donne-moi le résultat en {l}",
            ],
            "image_generation": [
                "fais-en un dessin",
                "génère une image à partir de ça",
                "dessine-le",
            ],
            "text_generation": [
                "écris un petit poème là-dessus",
                "avec ça, rédige un mail pour mon équipe",
            ],
            "lora_training": ["entraîne un adaptateur sur ces phrases"],
        },
        "then": [", puis ", " et ensuite ", ". Après ça, ", "\n", "; puis "],
        "and": [" et ", ", et aussi ", ". Aussi, ", "\n"],
        "heads": ["Avec le résultat : ", "À partir de ça, ", "Avec ce que tu trouves, "],
        "intro": ["J'ai besoin de plusieurs choses :", "Tu peux faire ça ?", "Trois tâches :", ""],
        "small": ["salut ! ça va ta journée ?", "merci, c'est top !", "tu es une vraie personne ?"],
        "langs3": ["{a}, {b} et {c}"],
        "into": "en",
        "texts": [
            "Bonjour à tous, la réunion d'équipe passe à jeudi 10h. Apportez vos slides et "
            "les chiffres du troisième trimestre.",
            "Le vieux pont a été fermé pour travaux au printemps dernier et depuis, la "
            "circulation dans le village a doublé.",
        ],
        "data_intro": ["voici les données :", "mon tableau :"],
    },
    "de": {
        "ref": {
            "summarization": [
                "fass es zusammen",
                "fass das in zwei Zeilen zusammen",
                "gib mir das Wichtigste vom Ergebnis",
                "fass zusammen, was du findest",
            ],
            "translation": [
                "übersetz es ins {l}",
                "bring das ins {l}",
                "gib mir das Ergebnis auf {l}",
            ],
            "image_generation": [
                "mal ein Bild dazu",
                "mach daraus eine Illustration",
                "zeichne es",
            ],
            "text_generation": [
                "schreib ein kurzes Gedicht darüber",
                "schreib damit eine Mail an mein Team",
            ],
            "lora_training": ["trainier einen Adapter mit diesen Sätzen"],
        },
        "then": [", dann ", " und danach ", ". Danach ", "\n", "; dann "],
        "and": [" und ", ", und außerdem ", ". Außerdem ", "\n"],
        "heads": ["Mit dem Ergebnis: ", "Daraus dann: ", "Mit dem, was du findest: "],
        "intro": ["Ich brauche ein paar Sachen:", "Kannst du das machen?", "Drei Aufgaben:", ""],
        "small": [
            "na, wie läuft dein Tag?",
            "danke, das ist super geworden!",
            "bist du ein Mensch?",
        ],
        "langs3": ["{a}, {b} und {c}"],
        "into": "ins",
        "texts": [
            "Hallo zusammen, das Teamtreffen wird auf Donnerstag 10 Uhr verschoben. Bitte "
            "bringt eure Folien und die Zahlen vom dritten Quartal mit.",
            "Die alte Brücke wurde im Frühjahr wegen Reparaturen gesperrt. Seitdem hat sich "
            "der Verkehr im Dorf verdoppelt.",
        ],
        "data_intro": ["hier die Daten:", "meine Tabelle:"],
    },
    "pt": {
        "ref": {
            "summarization": [
                "resume isso",
                "faz um resumo disso em duas linhas",
                "me dá o essencial do resultado",
                "resume o que encontrares em três pontos",
            ],
            "translation": [
                "traduz isso para {l}",
                "passa isso pro {l}",
                "me dá o resultado em {l}",
            ],
            "image_generation": [
                "faz um desenho disso",
                "gera uma imagem com o resultado",
                "desenha isso",
            ],
            "text_generation": [
                "escreve um poema curto sobre isso",
                "com isso escreve um e-mail para a minha equipa",
            ],
            "lora_training": ["treina um adaptador com essas frases"],
        },
        "then": [", depois ", " e depois ", ". Em seguida, ", "\n", "; depois "],
        "and": [" e ", ", e também ", ". Além disso, ", "\n"],
        "heads": ["Com o resultado: ", "A partir disso, ", "Com o que encontrares, "],
        "intro": ["Preciso de umas coisas:", "Consegues fazer isto?", "Três tarefas:", ""],
        "small": [
            "olá! como vai o teu dia?",
            "obrigado, ficou ótimo!",
            "és uma pessoa de verdade?",
        ],
        "langs3": ["{a}, {b} e {c}"],
        "into": "para",
        "texts": [
            "Olá a todos, a reunião da equipa passa para quinta às 10h. Tragam os slides e "
            "os números do terceiro trimestre.",
            "A ponte velha foi fechada para obras na primavera passada e desde então o "
            "trânsito na vila duplicou.",
        ],
        "data_intro": ["aqui estão os dados:", "a minha tabela:"],
    },
    "it": {
        "ref": {
            "summarization": [
                "riassumilo",
                "fanne un riassunto in due righe",
                "dammi l'essenziale del risultato",
                "riassumi quello che trovi in tre punti",
            ],
            "translation": [
                "traducilo in {l}",
                "mettilo in {l}",
                "dammi il risultato in {l}",
            ],
            "image_generation": [
                "fanne un disegno",
                "genera un'immagine dal risultato",
                "disegnalo",
            ],
            "text_generation": [
                "scrivici sopra una breve poesia",
                "con quello scrivi una mail per il mio team",
            ],
            "lora_training": ["addestra un adattatore su quelle frasi"],
        },
        "then": [", poi ", " e dopo ", ". Dopo, ", "\n", "; poi "],
        "and": [" e ", ", e anche ", ". Inoltre, ", "\n"],
        "heads": ["Con il risultato: ", "Da lì, ", "Con quello che trovi, "],
        "intro": ["Mi servono alcune cose:", "Puoi fare questo?", "Tre compiti:", ""],
        "small": [
            "ciao! come va la giornata?",
            "grazie, è venuto benissimo!",
            "sei una persona vera?",
        ],
        "langs3": ["{a}, {b} e {c}"],
        "into": "in",
        "texts": [
            "Ciao a tutti, la riunione del team si sposta a giovedì alle 10. Portate le slide "
            "e i numeri del terzo trimestre.",
            "Il vecchio ponte è stato chiuso per lavori la primavera scorsa e da allora il "
            "traffico in paese è raddoppiato.",
        ],
        "data_intro": ["ecco i dati:", "la mia tabella:"],
    },
    "nl": {
        "ref": {
            "summarization": [
                "vat het samen",
                "maak daar een samenvatting van in twee regels",
                "geef me de kern van het resultaat",
                "vat samen wat je vindt",
            ],
            "translation": [
                "vertaal het naar het {l}",
                "zet dat in het {l}",
                "geef me het resultaat in het {l}",
            ],
            "image_generation": [
                "maak er een tekening van",
                "maak daarvan een illustratie",
                "teken het",
            ],
            "text_generation": [
                "schrijf er een kort gedicht over",
                "schrijf daarmee een mail aan mijn team",
            ],
            "lora_training": ["train een adapter op die zinnen"],
        },
        "then": [", dan ", " en daarna ", ". Daarna ", "\n", "; dan "],
        "and": [" en ", ", en ook ", ". Verder ", "\n"],
        "heads": ["Met het resultaat: ", "Daarmee: ", "Met wat je vindt: "],
        "intro": ["Ik heb een paar dingen nodig:", "Kun je dit doen?", "Drie taken:", ""],
        "small": [
            "hoi! hoe gaat je dag?",
            "bedankt, het is top geworden!",
            "ben jij een echt mens?",
        ],
        "langs3": ["{a}, {b} en {c}"],
        "into": "naar het",
        "texts": [
            "Hallo allemaal, het teamoverleg verschuift naar donderdag 10 uur. Neem je slides "
            "en de cijfers van het derde kwartaal mee.",
            "De oude brug is vorig voorjaar gesloten voor werkzaamheden en sindsdien is het "
            "verkeer in het dorp verdubbeld.",
        ],
        "data_intro": ["hier zijn de gegevens:", "mijn tabel:"],
    },
}
