"""Italian phrasings for the intent model's training data (slots as in ``en.py``)."""

TOPICS = [
    "il mare d'inverno", "le foglie d'autunno", "il giardino di mia nonna", "un drago timido",
    "la rivoluzione francese", "la fotosintesi", "il nostro nuovo prodotto", "il servizio di discovery",
    "lo sbarco sulla luna", "un ombrello perso", "il caffè", "un robot giardiniere", "la torre Eiffel",
    "i buchi neri", "la mia gatta Luna", "la festa in ufficio", "le auto elettriche", "un faro",
    "la stampa", "una gondola a Venezia", "una pasticceria a Lisbona", "il cambiamento climatico",
    "la penicillina", "il telefono", "un lunedì piovoso", "il matrimonio del mio amico", "il jazz",
    "l'impero romano", "le api", "lo smart working", "i vulcani", "gli scacchi",
]
QUOTES = ["buongiorno", "dov'è la stazione?", "grazie per la pazienza", "la riunione è annullata",
          "benvenuti nel nostro negozio", "a domani", "buon compleanno", "buon viaggio"]
LANGS = ["inglese", "spagnolo", "tedesco", "francese", "portoghese", "olandese", "giapponese", "coreano",
         "cinese", "arabo", "polacco", "svedese", "italiano", "russo"]
WHO = ["un pirata", "Dante", "uno speaker radiofonico degli anni venti", "un cavaliere scontroso", "un cowboy"]
FRAMES = [
    "{x}", "{x}", "{x}", "per favore, {x}", "{x}, per favore", "puoi {x}?", "{x}, grazie",
    "ho bisogno che tu {x}", "ora {x}", "anche {x}", "e {x}", "poi {x}", "dopo {x}", "infine {x}",
]
NP_FRAMES = [
    "ho bisogno di {x}", "vorrei {x}", "voglio {x}", "{x}", "{x}, per favore", "mi fai {x}?", "dammi {x}",
]
TEMPLATES = {
    "text_generation": [
        "scrivi una poesia su {t}", "scrivimi una breve storia su {t}", "scrivi un'email al mio capo su {t}",
        "scrivi una canzone su {t}", "inventa uno slogan per {t}", "scrivi un discorso su {t}",
        "scrivi una lettera a {w}", "scrivi un tweet su {t}", "scrivi un biglietto di ringraziamento per la vicina",
        "scrivi un biglietto di auguri per mia madre", "rispondi gentilmente a questo messaggio {p}",
        "aiutami a rispondere a questa email {p}", "rendilo più divertente", "fallo in rima", "spiegalo a un bambino",
        "spiega i risultati con parole semplici", "dammi dieci idee per {t}", "raccontami una barzelletta",
        "ciao", "ciao!", "come stai?", "buongiorno", "grazie mille", "chi sei?", "scrivi un paragrafo su {t}",
        "una poesia su {t}", "una breve storia su {t}", "scrivi una descrizione di prodotto per {t}",
    ],
    "code_generation": [
        "scrivi una funzione Python che ordina una lista", "scrivi uno script che rinomina i file",
        "implementa una ricerca binaria in Python",
    ],
    "summarization": [
        "riassumi questo articolo {p}", "riassumi questo testo {p}", "fammi un riassunto di questo {p}", "riassumilo",
        "riassumila in una frase", "accorcialo a una riga", "riassumi i risultati", "dammi i punti chiave {p}",
        "riassumi quello che trovi", "rendilo più breve", "riassumi entrambi", "un riassunto di questo testo {p}",
    ],
    "translation": [
        "traduci {q} in {l}", "come si dice {q} in {l}?", "traducilo in {l}", "traduci la risposta in {l}",
        "mettilo in {l}", "dammelo in {l}", "traduci questo in {l} {p}", "{q} in {l}", "traduci il riassunto in {l}",
        "e in {l}", "spiegamelo in {l}", "traducila in {l}",
    ],
    "search": [
        "cerca {t}", "cerca informazioni su {t}", "scopri come funziona {t}", "che cos'è {t}?",
        "chi ha inventato {t}?", "come funziona {t}?", "quando è stato costruito {t}?", "dove si trova {t}?",
        "parlami di {t}", "fai una ricerca su {t}", "trova dei fatti su {t}", "quanto è alto {t}?",
        "cerca chi ha scoperto {t}", "spiega come funziona {t}", "perché {t} è importante?",
    ],
    "data_analysis": [
        "analizza questi dati {d}", "qual è la media di questi numeri? {d}", "ci sono valori anomali? {d}",
        "c'è una correlazione tra prezzo e vendite? {d}", "quale giorno spicca? {d}", "calcola media e mediana {d}",
        "confronta questi numeri {d}", "qual è la tendenza? {d}",
        "quale prodotto vende di più? {d}",
    ],
    "image_generation": [
        "disegna {t}", "disegna un'immagine di {t}", "dipingi {t} ad acquerello", "genera un'immagine di {t}",
        "fai un logo per {t}", "crea un poster di {t}", "fai un disegno di {t}", "illustra {t}",
        "un'immagine di {t}", "un disegno di {t}", "voglio una foto di {t}", "disegnalo",
    ],
    "lora_training": [
        "addestra il modello a parlare come {w}", "addestra un adattatore LoRA su questi esempi {d}",
        "insegna al modello a rispondere come {w}",
    ],
    "action": [
        "prenotami un tavolo per quattro", "prenota un volo per Londra", "ordina una pizza", "comprami un telefono",
        "paga la bolletta della luce", "trasferisci 200 euro sul mio conto", "manda questa email al mio capo",
        "chiama il dentista", "ricordami di annaffiare le piante", "metti una sveglia alle sette",
        "metti la mia playlist", "spegni le luci", "fissa una riunione lunedì", "stampalo", "chiamami un taxi",
    ],
    "none": [
        "non serve cercare niente", "non tradurlo", "senza immagini", "senza testo", "solo l'immagine",
        "solo il testo", "breve", "in una frase", "in due frasi", "grazie in anticipo", "è tutto",
        "è per il mio capo", "non disegnare niente", "senza cercare niente", "senza spiegazioni", "sii gentile",
        "ecco i dati {d}", "il testo è qui sotto {p}", "mi servono due cose", "con parole semplici", "nient'altro",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES['text_generation'] += ['una poesia su {t}', 'un titolo per {t}', 'uno slogan per {t}', 'un discorso per {t}', 'una lettera a {w}', 'rendilo più formale']
TEMPLATES['summarization'] += ['un riassunto di questo {p}', 'un breve riassunto']
TEMPLATES['search'] += ['dammi dei fatti su {t}']
TEMPLATES['none'] += ['ecco alcuni esempi {d}', 'questi sono i numeri {d}', 'questo è il testo {p}', 'sto preparando una presentazione', "il mio capo me l'ha chiesto"]
TOPICS += ['un adattatore LoRA', 'la traduzione automatica', 'la generazione di immagini', "l'analisi dei dati"]
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES['text_generation'] += ['grazie, mi hai aiutato', 'buonasera', 'buonanotte', 'sei fantastico', 'a dopo', 'qualche parola gentile per {w}', 'qualcosa di carino per il biglietto']
TEMPLATES['image_generation'] += ['un poster con {t}', 'un logo per {t}', "un'icona di {t}", 'un dipinto di {t}', "un'illustrazione di {t}"]
TEMPLATES['none'] += ['ecco i risultati {d}', 'queste sono le mie misure {d}', 'qui sotto i numeri {d}']
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES['search'] += ['la popolazione di {t}', "l'altezza di {t}", 'dimmi chi ha inventato {t}', 'dimmi quando è successo {t}']
TEMPLATES['action'] += ['mettilo nel mio calendario', 'compra i biglietti per {t}']
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES['text_generation'] += ['rispondi brevemente a questo {p}', 'scrivi una breve risposta a questo messaggio {p}']
