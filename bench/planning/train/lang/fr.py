"""French phrasings for the intent model's training data (slots as in ``en.py``)."""

TOPICS = [
    "la mer en hiver", "les feuilles d'automne", "le jardin de ma grand-mère", "un dragon timide",
    "la révolution française", "la photosynthèse", "notre nouveau produit", "le service de découverte",
    "les premiers pas sur la lune", "un parapluie perdu", "le café", "un robot jardinier", "la tour Eiffel",
    "les trous noirs", "ma chatte Luna", "la fête du bureau", "les voitures électriques", "un phare",
    "l'imprimerie", "la reprise d'un run", "le Mont Blanc", "une boulangerie à Lisbonne",
    "le changement climatique", "la pénicilline", "le téléphone", "un lundi pluvieux", "le mariage de mon ami",
    "le jazz", "l'empire romain", "les abeilles", "le télétravail", "les volcans", "les échecs",
]
QUOTES = ["bonjour", "où est la gare ?", "merci de votre patience", "la réunion est annulée",
          "bienvenue dans notre boutique", "à demain", "joyeux anniversaire", "bon appétit"]
LANGS = ["anglais", "espagnol", "allemand", "italien", "portugais", "néerlandais", "japonais", "coréen",
         "chinois", "arabe", "polonais", "suédois", "français", "russe", "grec"]
WHO = ["un pirate", "Molière", "un animateur radio des années vingt", "un chevalier grincheux",
       "notre équipe support", "un cow-boy"]
FRAMES = [
    "{x}", "{x}", "{x}", "s'il te plaît, {x}", "{x}, s'il vous plaît", "{x} stp", "peux-tu {x} ?",
    "{x}, merci", "j'aimerais que tu {x}", "maintenant {x}", "aussi {x}", "et {x}", "puis {x}",
    "ensuite {x}", "enfin {x}", "tu peux {x} ?",
]
NP_FRAMES = [
    "j'ai besoin d'{x}", "je voudrais {x}", "j'aimerais {x}", "{x}", "{x}, s'il te plaît",
    "tu peux me faire {x} ?", "donne-moi {x}", "il me faut {x}",
]
TEMPLATES = {
    "text_generation": [
        "écris un poème sur {t}", "écris-moi une petite histoire sur {t}", "rédige un e-mail à mon chef sur {t}",
        "écris une chanson sur {t}", "trouve un slogan pour {t}", "écris un discours sur {t}",
        "rédige une lettre à {w}", "écris un tweet sur {t}", "écris une carte d'anniversaire pour ma mère", "réponds poliment à ce message {p}",
        "aide-moi à répondre à cet e-mail {p}", "rends-le plus drôle", "fais-le rimer",
        "explique-le à un enfant", "explique les résultats avec des mots simples",
        "donne-moi dix idées pour {t}", "écris une histoire pour enfants sur {t}", "raconte-moi une blague",
        "bonjour", "salut !", "ça va ?", "tu vas bien ?", "merci beaucoup", "qui es-tu ?",
        "écris un paragraphe sur {t}", "écris une description de produit pour {t}", "un poème sur {t}",
        "une petite histoire sur {t}", "écris un toast pour {t}", "rédige un message pour l'équipe sur {t}",
        "écris des excuses à un client", "rédige une publicité pour le gagnant",
    ],
    "code_generation": [
        "écris une fonction Python qui trie une liste", "écris un script qui renomme des fichiers",
        "implémente une recherche binaire en Python", "écris une requête SQL qui compte les utilisateurs",
    ],
    "summarization": [
        "résume cet article {p}", "résume ce texte {p}", "fais-moi un résumé de ceci {p}", "résume-le",
        "résume-le en deux phrases", "raccourcis-le en une ligne", "résume les résultats",
        "donne-moi les points clés {p}", "condense-le en trois points", "résume ce que tu trouves",
        "résume ce paragraphe en une phrase {p}", "fais plus court", "résume les deux", "un résumé de ce texte {p}",
    ],
    "translation": [
        "traduis {q} en {l}", "comment dit-on {q} en {l} ?", "traduis-le en {l}", "traduis la réponse en {l}",
        "mets-le en {l}", "donne-le-moi en {l}", "traduis ceci en {l} {p}", "{q} en {l}", "traduis-la",
        "traduis le résumé en {l}", "et en {l}", "explique-le-moi en {l}", "traduis-la en {l}",
    ],
    "search": [
        "cherche {t}", "cherche des informations sur {t}", "trouve comment fonctionne {t}", "qu'est-ce que {t} ?",
        "qui a inventé {t} ?", "comment fonctionne {t} ?", "quand a été construit {t} ?", "où se trouve {t} ?",
        "parle-moi de {t}", "renseigne-toi sur {t}", "trouve des faits sur {t}", "quelle est la hauteur de {t} ?",
        "cherche qui a découvert {t}", "explique comment fonctionne {t}", "pourquoi {t} est important ?",
        "trouve la hauteur de {t}", "que sais-tu de {t} ?",
    ],
    "data_analysis": [
        "analyse ces données {d}", "quelle est la moyenne de ces nombres ? {d}", "trouve les valeurs aberrantes {d}",
        "y a-t-il une corrélation entre le prix et les ventes ? {d}", "quel jour se démarque ? {d}",
        "calcule la moyenne et la médiane {d}", "quel produit se vend le mieux ? {d}", "compare ces chiffres {d}",
        "y a-t-il des valeurs bizarres ? {d}", "quelle est la tendance ? {d}", "donne-moi des statistiques {d}",
    ],
    "image_generation": [
        "dessine {t}", "dessine une image de {t}", "peins {t} à l'aquarelle", "génère une image de {t}",
        "fais un logo pour {t}", "crée une affiche de {t}", "fais un dessin de {t}", "illustre {t}",
        "une image de {t}", "un dessin de {t}", "je veux une photo de {t}", "dessine-le", "peins-le à l'aube",
    ],
    "lora_training": [
        "affine le modèle pour qu'il parle comme {w}", "entraîne un adaptateur LoRA sur ces exemples {d}",
        "apprends au modèle à répondre comme {w}", "fais apprendre ce style au modèle {d}",
    ],
    "action": [
        "réserve-moi une table pour quatre", "réserve un vol pour Rome", "commande une pizza", "achète-moi un téléphone",
        "paie ma facture d'électricité", "vire 200 euros sur mon compte", "envoie cet e-mail à mon chef",
        "appelle le plombier", "rappelle-moi d'arroser les plantes", "mets un réveil à sept heures",
        "mets ma playlist", "éteins les lumières", "planifie une réunion lundi", "imprime-le",
        "appelle-moi un taxi", "annule mon abonnement", "publie-le sur Instagram", "envoie-le à l'équipe",
    ],
    "none": [
        "pas besoin de chercher", "pas besoin de le traduire", "ne le traduis pas", "sans images", "sans texte",
        "seulement l'image", "juste le texte", "reste bref", "en une phrase", "en deux phrases", "merci d'avance",
        "c'est tout", "c'est pour mon chef", "ne dessine rien", "sans rien chercher", "sans explication",
        "reste poli", "je fais une présentation la semaine prochaine", "voici les données {d}", "le texte est ci-dessous {p}", "j'ai besoin de deux choses", "avec des mots simples",
        "rien d'autre",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES['text_generation'] += ['un poème sur {t}', 'un titre pour {t}', 'un slogan pour {t}', 'un discours pour {t}', 'une lettre à {w}', 'rends-le plus formel']
TEMPLATES['summarization'] += ['un résumé de ceci {p}', 'un court résumé']
TEMPLATES['search'] += ['donne-moi des faits sur {t}']
TEMPLATES['none'] += ['voici quelques exemples {d}', 'voici les chiffres {d}', 'voici le texte {p}', 'je prépare une présentation', "mon chef m'a posé la question", 'je ne me souviens plus comment ça marche']
TOPICS += ['un adaptateur LoRA', 'la traduction automatique', "la génération d'images", "l'analyse de données"]
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES['text_generation'] += ["merci, ça m'aide beaucoup", 'bonsoir', 'bonne nuit', "t'es génial", 'à plus tard', 'quelques mots gentils pour {w}', 'un petit mot pour la carte']
TEMPLATES['image_generation'] += ['une affiche avec {t}', 'un logo pour {t}', 'une icône de {t}', 'un tableau de {t}', 'une illustration de {t}', 'une bannière avec {t}']
TEMPLATES['none'] += ['voici les résultats {d}', 'voici mes mesures {d}', 'ci-dessous les scores {d}']
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES['search'] += ['la population de {t}', 'la hauteur de {t}', 'dis-moi qui a inventé {t}', 'dis-moi quand {t} a eu lieu']
TEMPLATES['action'] += ['mets-le dans mon agenda', 'ajoute-le à mon calendrier', 'achète des billets pour {t}']
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES['text_generation'] += ['réponds brièvement à ceci {p}', 'rédige une courte réponse à ce message {p}', 'réponds-lui pour moi {p}']
