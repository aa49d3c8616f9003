"""German phrasings for the intent model's training data (slots as in ``en.py``)."""

TOPICS = [
    "das Meer im Winter", "Herbstlaub", "den Garten meiner Oma", "einen schüchternen Drachen",
    "die Französische Revolution", "die Photosynthese", "unser neues Produkt", "den Discovery-Dienst",
    "die Mondlandung", "einen verlorenen Regenschirm", "Kaffee", "einen Robotergärtner", "den Eiffelturm",
    "schwarze Löcher", "meine Katze Luna", "die Büroparty", "Elektroautos", "einen Leuchtturm",
    "den Buchdruck", "die Wiederholung mit Last-Event-ID", "die Zugspitze", "eine Bäckerei in Lissabon",
    "den Klimawandel", "Penicillin", "das Telefon", "einen verregneten Montag", "die Hochzeit meines Freundes",
    "Jazz", "das Römische Reich", "Bienen", "Homeoffice", "Vulkane", "Schach",
]
QUOTES = ["guten Morgen", "wo ist der Bahnhof?", "danke für Ihre Geduld", "das Meeting fällt aus",
          "willkommen in unserem Laden", "bis morgen", "alles Gute zum Geburtstag", "guten Appetit"]
LANGS = ["Englische", "Französische", "Spanische", "Italienische", "Portugiesische", "Niederländische",
         "Japanische", "Koreanische", "Chinesische", "Arabische", "Polnische", "Schwedische", "Deutsche"]
LANG_ADJ = ["Englisch", "Französisch", "Spanisch", "Italienisch", "Portugiesisch", "Niederländisch",
            "Japanisch", "Deutsch"]
WHO = ["ein Pirat", "Goethe", "ein Radiosprecher der Zwanziger", "ein grummeliger Ritter",
       "unser Support-Team", "ein Cowboy"]
FRAMES = [
    "{x}", "{x}", "{x}", "bitte {x}", "{x}, bitte", "kannst du {x}?", "{x}, danke", "hey, {x}",
    "jetzt {x}", "außerdem {x}", "und {x}", "dann {x}", "danach {x}", "zum Schluss {x}",
]
NP_FRAMES = [
    "ich brauche {x}", "ich hätte gern {x}", "ich möchte {x}", "{x}", "{x}, bitte",
    "kannst du mir {x} machen?", "gib mir {x}", "wir brauchen {x}",
]
TEMPLATES = {
    "text_generation": [
        "schreib ein Gedicht über {t}", "schreib mir eine kurze Geschichte über {t}", "verfasse eine E-Mail an meinen Chef über {t}",
        "schreib ein Lied über {t}", "denk dir einen Slogan für {t} aus", "schreib eine Rede über {t}",
        "schreib einen Brief an {w}", "schreib einen Tweet über {t}", "schreib eine Dankeskarte für meine Nachbarin",
        "schreib eine Geburtstagskarte für meine Mutter", "antworte höflich auf diese Nachricht {p}",
        "hilf mir, auf diese E-Mail zu antworten {p}", "mach es lustiger", "lass es reimen",
        "erklär es einem Kind", "erkläre die Ergebnisse in einfachen Worten", "gib mir zehn Ideen für {t}",
        "schreib eine Gute-Nacht-Geschichte über {t}", "erzähl mir einen Witz",
        "hallo", "hallo!", "wie geht's?", "guten Morgen", "vielen Dank", "wer bist du?",
        "schreib einen Absatz über {t}", "schreib eine Produktbeschreibung für {t}", "ein Gedicht über {t}",
        "eine kurze Geschichte über {t}", "eine kurze Rede für den Geburtstag meiner Oma",
        "schreib eine Entschuldigung an einen Kunden", "schreib eine Werbezeile für den Gewinner",
    ],
    "code_generation": [
        "schreib eine Python-Funktion, die eine Liste sortiert", "schreib ein Skript, das Dateien umbenennt",
        "implementiere eine binäre Suche in Python", "schreib eine SQL-Abfrage, die Nutzer zählt",
    ],
    "summarization": [
        "fasse diesen Artikel zusammen {p}", "fasse diesen Text zusammen {p}", "mach mir eine Zusammenfassung davon {p}",
        "fasse es zusammen", "fasse das in zwei Sätzen zusammen", "kürze es auf eine Zeile", "fasse die Ergebnisse zusammen",
        "gib mir die wichtigsten Punkte {p}", "verdichte es auf drei Stichpunkte", "fasse zusammen, was du findest",
        "mach es kürzer", "fasse beides zusammen", "eine Zusammenfassung dieses Textes {p}",
    ],
    "translation": [
        "übersetze {q} ins {l}", "wie sagt man {q} auf {a}?", "übersetze es ins {l}", "übersetze die Antwort ins {l}",
        "übersetz das ins {l}", "gib es mir auf {a}", "übersetze das hier ins {l} {p}", "{q} auf {a}",
        "übersetze die Zusammenfassung ins {l}", "und ins {l}", "erklär es mir auf {a}", "auf {a} bitte",
    ],
    "search": [
        "such nach {t}", "finde Informationen über {t}", "finde heraus, wie {t} funktioniert", "was ist {t}?",
        "wer hat {t} erfunden?", "wie funktioniert {t}?", "wann wurde {t} gebaut?", "wo liegt {t}?",
        "erzähl mir etwas über {t}", "recherchiere {t}", "finde Fakten über {t}", "wie hoch ist {t}?",
        "finde heraus, wer {t} entdeckt hat", "erkläre, wie {t} funktioniert", "warum ist {t} wichtig?",
        "schau nach, was {t} macht", "was weißt du über {t}?",
    ],
    "data_analysis": [
        "analysiere diese Daten {d}", "was ist der Durchschnitt dieser Zahlen? {d}", "gibt es Ausreißer? {d}",
        "gibt es einen Zusammenhang zwischen Preis und Absatz? {d}", "welcher Tag sticht heraus? {d}",
        "berechne Mittelwert und Median {d}", "welches Produkt verkauft sich am besten? {d}",
        "vergleiche diese Zahlen {d}", "gibt es ungewöhnliche Werte? {d}", "wie ist der Trend? {d}",
        "gib mir Statistiken zu dieser Tabelle {d}",
    ],
    "image_generation": [
        "zeichne {t}", "zeichne ein Bild von {t}", "male {t} in Aquarell", "erzeuge ein Bild von {t}",
        "mach ein Logo für {t}", "gestalte ein Poster von {t}", "skizziere {t}", "illustriere {t}",
        "ein Bild von {t}", "eine Zeichnung von {t}", "ich will ein Foto von {t}", "zeichne es", "mal es im Morgenlicht",
    ],
    "lora_training": [
        "trainiere das Modell so, dass es wie {w} klingt", "trainiere einen LoRA-Adapter auf diesen Beispielen {d}",
        "bring dem Modell bei, wie {w} zu antworten", "lass das Modell diesen Stil lernen {d}",
    ],
    "action": [
        "reserviere mir einen Tisch für vier", "buch einen Flug nach Rom", "bestell eine Pizza", "kauf mir ein Handy",
        "bezahl meine Stromrechnung", "überweise 200 Euro auf mein Konto", "schick diese E-Mail an meinen Chef",
        "ruf den Zahnarzt an", "erinnere mich daran, die Pflanzen zu gießen", "stell einen Wecker auf sieben",
        "spiel meine Playlist", "mach das Licht aus", "plane ein Meeting am Montag", "druck es aus",
        "bestell mir ein Taxi", "kündige mein Abo", "poste es auf Instagram", "schick es an das Team",
        ],
    "none": [
        "du musst nichts nachschlagen", "nicht übersetzen", "bitte kein Bild", "kein Text", "nur das Bild",
        "nur der Text", "halte es kurz", "in einem Satz", "in zwei Sätzen", "danke im Voraus", "das ist alles",
        "es ist für meinen Chef", "zeichne nichts", "ohne etwas zu suchen", "ohne Erklärung", "bleib höflich",
        "ich halte nächste Woche einen Vortrag", "hier sind die Daten {d}",
        "der Text steht unten {p}", "ich brauche zwei Dinge", "in einfachen Worten", "nichts übersetzen", "sonst nichts",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES['text_generation'] += ['ein Gedicht über {t}', 'einen Titel für {t}', 'einen Slogan für {t}', 'eine Rede für {t}', 'einen Brief an {w}', 'mach es förmlicher']
TEMPLATES['summarization'] += ['eine Zusammenfassung davon {p}', 'eine kurze Zusammenfassung']
TEMPLATES['search'] += ['gib mir Fakten über {t}']
TEMPLATES['none'] += ['hier sind ein paar Beispiele {d}', 'das sind die Zahlen {d}', 'das ist der Text {p}', 'ich bereite eine Präsentation vor', 'mein Chef hat mich danach gefragt', 'ich weiß nicht mehr, wie das geht']
TOPICS += ['einen LoRA-Adapter', 'maschinelle Übersetzung', 'Bildgenerierung', 'Datenanalyse']
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES['text_generation'] += ['danke, das hilft mir sehr', 'guten Abend', 'gute Nacht', 'du bist super', 'bis später', 'ein paar nette Worte für {w}', 'etwas Lustiges für die Karte', 'alles klar bei dir?']
TEMPLATES['image_generation'] += ['ein Plakat mit {t}', 'ein Logo für {t}', 'ein Icon von {t}', 'ein Gemälde von {t}', 'eine Illustration von {t}', 'ein Banner mit {t}']
TEMPLATES['none'] += ['hier sind die Ergebnisse {d}', 'das sind meine Messwerte {d}', 'unten stehen die Zahlen {d}']
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES['search'] += ['die Einwohnerzahl von {t}', 'die Höhe von {t}', 'sag mir, wer {t} erfunden hat', 'sag mir, wann {t} war']
TEMPLATES['action'] += ['trag es in meinen Kalender ein', 'kauf Tickets für {t}', 'speicher es in meinen Notizen']
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES['text_generation'] += ['antworte kurz darauf {p}', 'schreib eine kurze Antwort auf diese Nachricht {p}', 'antworte ihm für mich {p}']
