"""Actions in the world: an imperative that no agent performs ("restart my laptop", "Doe de
voordeur op slot", "Pídeme un Uber") is refused, not handed to the writer or the lookup.

The intent model knows the actions it was trained on; a new one it cannot place, and its
probabilities then spread over every class, so its best *job* wins with a third of the mass
or less. Two signals from the request's shape catch that case without a list of actions:

* the clause's verb opens only actions in the training phrasings (``action_openers``: "bel",
  "doe", "pide", "paga", ...) and the model is not sure of a job;
* the verb is none the model ever saw open a job, a thing of the user's follows it ("my",
  "the", "mijn", "me": a verb acting on an object, not a noun phrase or a remark), the
  model is unsure of every job, and it rates an action at least as likely as any job.

A third catches running code ("run this script", "ejecuta este código"): the writer
writes code, no agent executes it. None fires on a question, a clause with data or pasted text, or a clause that names a
thing the mesh makes ("a poem", "an email", "un dibujo"): those are asks the agents serve.
"""

from __future__ import annotations

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.backrefs import _REFERS
from mesh_orchestrator.planning.intent.lexicon._words import words as word_set
from mesh_orchestrator.planning.intent.model import JOBS, IntentModel, tokens
from mesh_orchestrator.planning.intent.segment import _ALSO, _PROCLITIC, Segment, Segmenter

# Below this the model is not sure of the job it picked for a clause an action verb heads.
SURE = 0.5
# Below this the model has not placed a clause at all (a third of the mass or less).
UNPLACED = 0.35

# After the verb: an object that is the user's own or a definite thing ("my laptop", "the
# front door", "me", "mijn bankpas"), in the seven languages. No demonstrative or "it": a
# verb on an earlier result ("simplify it", "use that year") is a job on that result.
_OBJECT = (
    lx.ARTICLES
    | (lx.DETERMINER - lx.DEMONSTRATIVE - {"its", "your", "their", "su", "sus", "leur", "hun"})
    | word_set("""
        me my mine us our mi mis nos nuestro nuestra moi mon ma mes nous notre nos mir mich
        mein meine meinen meinem meiner uns unser unsere unseren meu minha meus minhas nosso
        nossa mio mia miei mie ci nostro nostra mij mijn ons onze
        """)
)


# "Can you ...", "¿Puedes ...?", "Kannst du ...": a request put as a question; the verb after
# the modal (and its "you") is the head.
_MODAL = word_set("""
    can could would will puedes podrias podria puede peux pourrais pouvez pourriez kannst
    konntest konnen kunnt podes pode poderia podias consegues puoi potresti potete kun kunt
    zou wil
    """)
_YOU = word_set("you u tu vous du sie voce je jij u usted vos")
# A modal whose "you" is in the verb ("¿Puedes enviar ...?", "Puoi mandare ...", "Podes ..."):
# the verb after it is the head with no pronoun between.
_PRO_DROP = word_set("""
    puedes podrias puede podria podes pode poderia podias consegues puoi potresti potete
    """)


def _head(seg: Segment) -> tuple[list[str], bool]:
    """The clause's words from its verb on, and whether a modal question led to it."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    if words and words[0].split("-")[0] in _MODAL:
        rest = (
            words[1:]
            if "-" in words[0]
            else words[2:]
            if words[1:2] and words[1] in _YOU
            else words[1:]
            if words[0] in _PRO_DROP
            else []
        )
        if rest:
            return [w for w in rest if w not in lx.POLITE], True
    return words, False


def _prefixes(word: str) -> list[str]:
    word = word.split("-")[0]
    return [word[:5], word[:4], word[:3]] if len(word) >= 3 else []


def is_world_action(
    seg: Segment,
    p: dict[str, float],
    segmenter: Segmenter,
    model: IntentModel,
    *,
    alone: bool = False,
) -> bool:
    """Whether ``seg`` (with the model's class probabilities ``p``) asks for an action in the
    world that no agent performs (see the module docstring). ``alone``: the clause is all
    the request asks and the model placed it nowhere (the writer would chat about it): an
    unknown verb on an object is then an action even when the model does not rate one."""
    words, asked = _head(seg)
    if len(words) >= 2 and _runs_code(words):
        return True  # with the code pasted after it too: no agent runs it
    if len(words) < 2 or seg.data or seg.payload:
        return False
    if "?" in seg.instruction and not asked:
        return False
    if words[0] in lx.QUESTION or any(w in lx.JOB_NOUNS for w in words):
        return False
    best_job = max(p[c] for c in JOBS)
    if best_job >= SURE:
        return False
    kind = verb_kind(words[0], segmenter, model)
    if (lx.CLITIC.match(words[0]) and kind != "action") or (
        words[1] in _REFERS or lx.PRONOUN.match(words[1])
    ):
        return False  # a verb on an earlier result ("ponlo en inglés"): the model decides
        # (a verb that opens only actions is one whatever its ending looks like: "Chiama",
        # "Llama", "Appelle" end as a pronoun glued to a verb would)
    if (
        kind == "action" and words[0] in _GIVE and max(p, key=lambda c: p[c]) in JOBS
    ):  # "Could you get me something to put on the wall?", "dame algo para ...": a verb that
        # says only give or get, nothing named; the job the model reads is what is given
        return False
    if kind is not None:  # the longest prefix the training phrasings know decides
        return kind == "action"
    if words[1] not in _OBJECT:
        return False
    return best_job < UNPLACED and (alone or p["action"] >= best_job)


# Verbs that say only give or get (a thing, or an act: "get me a taxi"), in the seven
# languages; what follows decides.
_GIVE = word_set(
    "get give dame danos consigueme donne donne-moi trouve-moi gib besorg besorge hol da-me "
    "arranja-me arranjame dammi procurami trovami geef bezorg"
)


# Running code is an action too: the writer writes code, no agent executes it.
_RUN = word_set(
    "run execute exec ejecuta ejecutar corre executa executar execute esegui eseguire lancia"
    " fuhre fuhr ausfuhren voer draai"
)
_CODE = word_set(
    "script scripts code snippet program programme programa programma programm function"
    " notebook command commands codigo codice skript funktion funcion fonction funcao funzione"
    " sql query"
)


def runs_code(seg: Segment) -> bool:
    """ "Run this Python script ...", "Führ dieses Python-Skript aus": the clause runs code."""
    words, _ = _head(seg)
    return len(words) >= 2 and _runs_code(words)


# What a run of code is told to report: "tell me", "sag mir", "dime", "dis-moi", "dimmi".
_REPORT = word_set("""
    tell show say give sag sage zeig dime dimelo muestrame dis dites montre-moi diz mostra
    dimmi mostrami zeg laat
    """)


def part_of_run(seg: Segment) -> bool:
    """After a clause that runs code, what it reports ("and tell me what comes out", "sag
    mir, was rauskommt") or the code itself on a line of its own ("python3 cleanup.py
    --all"): no agent runs it, so it is part of that run."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    if words and words[0] in _REPORT and not any(w in lx.JOB_NOUNS for w in words):
        return True
    raw = seg.instruction.split()
    return bool(raw) and all(
        w.startswith("-") or any(c in w for c in "._()[]{}=<>/\\$") or any(c.isdigit() for c in w)
        for w in raw
    )


# What opens a reason or a state said after an act: "it's a holiday", "porque estoy enfermo",
# "c'est férié", "weil ich krank bin", "é feriado", "perché sono malato", "want ik ben ziek".
_REASON = word_set("""
    it's its it that's because since cause es porque ya c'est parce car weil denn das
    porque pois perche poiche omdat want het
    """)


def reason_after_act(seg: Segment) -> bool:
    """ "..., it's a holiday", "..., weil ich krank bin": a reason or a state said right after
    an act, asking nothing (no question, no thing to make): part of that act."""
    words = [w for w in tokens(seg.instruction) if w not in lx.POLITE]
    return (
        len(words) >= 2
        and words[0] in _REASON
        and seg.joined in ("and", "sentence")
        and not (seg.data or seg.payload)
        and "?" not in seg.instruction
        and not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
    )


def _runs_code(words: list[str]) -> bool:
    """ "Run this Python script", "Ejecuta este código": a verb of running, code after it."""
    return words[0] in _RUN and any(
        w in _CODE or w.split("-")[-1] in _CODE
        for w in words[1:6]  # "Python-Skript"
    )


# What only the user's own accounts, devices and channels do, in the seven languages: a
# message sent or a post published on a channel, audio recorded, the user's balance, a
# live feed, a notice when something happens later. No agent reaches any of them.
_SEND = (
    "send",
    "envo",
    "envi",
    "mand",
    "schick",
    "versend",
    "stuur",
    "verstuur",
    "invia",
    "post",
    "publi",
    "pubbl",
    "share",
    "compart",
    "partag",
    "condivid",
    "teil",
    "deel",
)
_RECORD = ("record", "grab", "enregistr", "registr", "grav", "opneem")
_CHANNEL = word_set("""
    sms text whatsapp telegram signal linkedin facebook instagram insta twitter tiktok slack
    teams mp3 wav audio podcast voicemail buzon mensagem messaggio bericht nachricht
    mensaje message muro wall feed story stories
    """)
# Mail as the way a thing is sent ("mándaselo a su email", "envíala por correo certificado",
# "mandare un'email a tutti i miei contatti"): only the user's own mailbox sends it. A mail
# word is also a thing the writer makes, so it counts only when no other thing to make is
# named ("send me the summary by email": the summary is made).
_MAIL = word_set("""
    email emails e-mail e-mails mail mails correo correos courriel courriels mel post posta
    """)
_BALANCE = word_set("balance saldo kontostand solde")
_ACCOUNT = word_set("""
    conto cuenta compte konto conta rekening bankrekening account girokonto
    """)
# The speaker's own: "my", "mi", "mon", "mein", "meu", "mio", "mijn" and their forms.
_MINE = word_set("""
    my mi mis mon ma mes mein meine meinem meinen meiner meu minha meus minhas mio mia miei
    mie mijn m'n
    """)
# Money in an account, and what is left of it: "¿cuánto dinero me queda en la cuenta?".
_CASH = word_set("money dinero plata argent geld dinheiro soldi denaro")
_LEFT = word_set("left remaining queda quedan reste restant ubrig resta restam rimane rimasto over")
# A player the user runs: a verb that plays, skips or pauses and a song, a track, a playlist.
_PLAY = (
    "play",
    "skip",
    "pause",
    "resume",
    "salt",
    "pasa",
    "pon",
    "reproduc",
    "pausa",
    "passe",
    "joue",
    "mets",
    "spiel",
    "uberspring",
    "pausier",
    "toca",
    "pul",
    "passa",
    "mett",
    "riproduc",
    "speel",
    "sla",
    "pauzeer",
)
_TRACK = word_set("""
    song songs track tracks playlist cancion canciones chanson chansons morceau titre lied
    lieder titel song cancao faixa musica canzone canzoni brano playlist nummer liedje
    afspeellijst
    """)


def _plays_media(words: list[str]) -> bool:
    """A player's verb heads the clause and a song, track or playlist follows it."""
    return (
        len(words) >= 2
        and words[0].split("-")[0].startswith(_PLAY)
        and any(w in _TRACK for w in words[1:6])
        and not any(w in lx.JOB_NOUNS and w not in _TRACK for w in words)
    )


_BUT = word_set("but pero mais aber maar")
_LIVE = word_set("live realtime real-time echtzeit directo diretta")
# "let me know when", "sag Bescheid, wenn", "avísame cuando", "préviens-moi quand", ...
_NOTIFY = (
    "let me know when",
    "notify me when",
    "alert me when",
    "ping me when",
    "tell me when",
    "sag bescheid wenn",
    "sag mir bescheid wenn",
    "benachrichtige mich wenn",
    "avisame cuando",
    "avisame si",
    "avisame en cuanto",
    "previens-moi quand",
    "previens-moi si",
    "previens-moi des que",
    "avvisami quando",
    "avvisami se",
    "avvisami appena",
    "avisa-me quando",
    "avisa-me se",
    "laat me weten wanneer",
    "laat het me weten wanneer",
    "waarschuw me als",
    "waarschuw me wanneer",
)


# Money moved from the user's account: "virement", "Überweisung", "bonifico", "overmaken".
_TRANSFER = (
    "transfer",
    "vire",
    "virer",
    "virement",
    "uberweis",
    "uberwies",
    "bonific",
    "overboek",
    "overmak",
    "overgemaakt",
)
_MONEY = word_set("""
    euro euros eur dollar dollars usd pound pounds gbp franc francs reais real dolares dolar
    libras libra dollari sterline
    """)
# Handing the user's own papers to an office: "submit", "einreichen", "indienen", "déposer".
_SUBMIT = (
    "submit",
    "einreich",
    "indien",
    "inoltr",
    "depose",
    "deposer",
    "apresent",
)
# Transcribing is hearing a recording: no agent hears audio (``unmade_media``).
_TRANSCRIBE = ("transcr", "transkr", "trascr", "retranscr", "uittyp")


def _amount(words: list[str], text: str = "") -> bool:
    """A sum of money: a figure with a currency, "250 euros", "€50", "50€" (the sign is in
    ``text``, the clause as written: the words lose it)."""
    figure = any(any(c.isdigit() for c in w) for w in words)
    return figure and (
        any(w in _MONEY for w in words) or any(c in "€$£" for c in text + "".join(words))
    )


# Reaching into the user's own machine or account: "remote in", "log into my ...".
_REACH = (
    "remote in",
    "remote into",
    "log into my",
    "log in to my",
    "log onto my",
    "access my",
    "take over my",
    "connect to my",
    "conectate a mi",
    "conectarte a mi",
    "entra en mi",
    "accede a mi",
    "connecte-toi a mon",
    "connecte-toi a ma",
    "accede a mon",
    "prends le controle",
    "logg dich",
    "greif auf mein",
    "verbinde dich mit meinem",
    "entra no meu",
    "acede ao meu",
    "acessa o meu",
    "conecta-te ao meu",
    "entra nel mio",
    "accedi al mio",
    "collegati al mio",
    "log in op mijn",
    "log in bij mijn",
    "neem mijn",
)


def acts_for_user(seg: Segment) -> bool:
    """A clause only the user's own accounts or channels could carry out: a send, post or
    share verb and a channel ("manda un WhatsApp a ...", "publie sur mon LinkedIn"), a
    record verb and audio ("grábala en un mp3"), an account's balance ("il saldo del mio
    conto"), a live feed ("zeig mir live den Kurs"), a notice when something happens later
    ("sag Bescheid, wenn er fällt"), money moved ("fais un virement de 250 euros"), the user's
    machine reached into ("can you remote in and ...", "accedi al mio computer")."""
    words, asked = _head(seg)
    if len(words) < 2 or seg.data or any(w in _BUT for w in words):
        return False  # "Send this on Slack, but first make it nicer": a job inside as well
    text = " ".join(w.strip(",") for w in words)
    if any(f" {n} " in f" {text} " for n in _NOTIFY):
        return True
    verb = words[0].split("-")[0]
    rest = [w.split("-")[-1] for w in words[1:8]]
    if verb.startswith(_SEND) and any(w in _CHANNEL for w in rest):
        return True
    if (
        verb.startswith(_SEND)
        and any(w.split("'")[-1] in _MAIL for w in rest)
        and not any(
            (w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS) and w.split("'")[-1] not in _MAIL
            for w in words
        )
    ):  # "mándaselo tú a su email", "envíala por correo certificado"
        return True
    questioned = words[0] in lx.QUESTION or ("?" in seg.instruction and not asked)
    if not questioned and (
        _on_users_files(words) or _switches_device(words) or _books_appointment(words)
    ):  # (not "how do I convert a PDF to Word?": a question, the lookup's)
        return True
    if verb.startswith(_RECORD) and any(w in _CHANNEL for w in rest):
        return True
    if any(f" {r} " in f" {text} " for r in _REACH) and not any(w in lx.JOB_NOUNS for w in words):
        return True  # "Can you remote in and clean it out?", "accedi al mio computer"
    if any(w.startswith(_TRANSFER) or w == "wire" for w in words[:4]) and (
        _amount(words, seg.instruction) or any(w in _MINE or w in _ACCOUNT for w in words)
    ):  # "Fais un virement de 250 euros à mon frère", "fammi un bonifico di 200 euro"
        return not any(w in lx.JOB_NOUNS for w in words)
    # a separable verb read whole: "Dien ... in" is "indienen", "Reich ... ein" "einreichen"
    separable = [words[-1] + words[0]] if len(words) > 2 else []
    if (
        any(w.startswith(_SUBMIT) for w in [*words, *separable])
        and any(w in _MINE for w in words)
        and words[0] not in lx.QUESTION
        and not any(w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS for w in words)
    ):  # "Kannst du meine Steuererklärung beim Finanzamt einreichen?", "submit my application"
        return True
    if any(w in _BALANCE for w in words[:8]) and any(
        w in _MINE or w in _ACCOUNT for w in words[:9]
    ):  # "il saldo del conto", "my balance" (not "work-life balance", "the status account")
        return not any(w in lx.JOB_NOUNS for w in words)
    if (
        any(w in _CASH for w in words[:6])
        and any(w in _ACCOUNT for w in words[:10])
        and any(w in _MINE or w in _LEFT for w in words[:10])
    ):  # "¿Cuánto dinero me queda en la cuenta?", "how much money is left in my account"
        return not any(w in lx.JOB_NOUNS for w in words)
    if _plays_media(words):
        return True  # "skip to the next song", "metti la mia playlist", "sla dit nummer over"
    return (
        any(w in _LIVE for w in words[:4])
        and "?" not in seg.instruction  # "Live music in Lisbon this weekend?": a lookup
        and not any(w in lx.JOB_NOUNS for w in words)
    )


# The user's own files: a file, a document of an office program, a folder or a desktop.
_FILE = word_set("""
    file files document documents folder pdf pdfs docx doc xlsx xls pptx csv jpg jpeg png heic
    mp3 mp4 excel spreadsheet word powerpoint
    archivo archivos fichero ficheros documento documentos carpeta hoja
    fichier fichiers dossier tableur
    datei dateien dokument ordner tabelle
    arquivo arquivos ficheiro ficheiros pasta planilha folha
    cartella foglio
    bestand bestanden document map
    """)
# Where the user keeps them: "on my desktop", "in my Drive", "sul desktop", "op mijn bureaublad".
_PLACE = word_set("""
    desktop drive dropbox onedrive icloud laptop computer pc harddisk disk downloads
    escritorio ordenador computadora portatil bureau ordinateur schreibtisch rechner festplatte
    area trabalho computador scrivania bureaublad
    """)
# Verbs that do something to a file: open, save, convert, rename, move, delete, upload.
_FILE_VERBS = (
    "open",
    "abr",
    "ouvr",
    "offne",
    "apr",
    "save",
    "sav",
    "guard",
    "enregistr",
    "speicher",
    "salv",
    "bewaar",
    "opsla",
    "convert",
    "convier",
    "konvert",
    "wandl",
    "umwand",
    "convers",
    "convertis",
    "rename",
    "renombr",
    "renomm",
    "umbenenn",
    "renome",
    "rinomin",
    "hernoem",
    "delete",
    "borra",
    "elimin",
    "supprim",
    "losch",
    "apag",
    "cancell",
    "verwijder",
    "upload",
    "sub",
    "telecharg",
    "hochlad",
    "carreg",
    "caric",
    "uploa",
    "compress",
    "zip",
    "print",
    "imprim",
    "druck",
    "stamp",
    "print",
    # clearing out: "clear out my Downloads folder", "vacía la carpeta", "vide le dossier",
    # "räum meinen Ordner auf", "esvazia a pasta", "svuota la cartella", "maak de map leeg"
    "clear",
    "empty",
    "clean",
    "vaci",
    "limpi",
    "vide",
    "nettoi",
    "leer",
    "aufraum",
    "raum",
    "esvazi",
    "limp",
    "svuot",
    "pulis",
    "leeg",
    "opruim",
    "ruim",
)
# Formats a file is converted into: "to Word", "en PDF", "in ein Word-Dokument".
_FORMAT = word_set("pdf docx doc word xlsx excel jpg jpeg png mp3 mp4 epub pptx powerpoint heic")


def _on_users_files(words: list[str]) -> bool:
    """A verb that does something to a file and a file of the user's ("open the Excel file on
    my desktop", "salvami questi dati nel mio file Excel", "Convert this PDF to Word"): no
    agent reaches the user's files. A file that is a thing to write ("a Word document with a
    poem") names a job and stays the writer's."""
    if any(w in lx.JOB_NOUNS and w not in _FILE for w in words):
        return False
    verbs = [k for k, w in enumerate(words[:6]) if w.split("-")[0].startswith(_FILE_VERBS)]
    if not verbs:
        return False
    parts = [p for w in words for p in w.split("-")]  # "Excel-bestand", "Word-Dokument"
    files = [p for p in parts if p in _FILE]
    mine = any(w in _MINE or w == "m'n" for w in words) or any(p in _PLACE for p in parts)
    formats = [p for p in parts if p in _FORMAT]
    # "Convert this PDF to Word": two formats, or a file and a format it becomes
    converted = len(set(formats)) >= 2 or (len(set(files)) >= 2 and bool(formats))
    return bool(files) and (mine or converted)


# Switching a device on or off: "turn off the lights", "zet de wasmachine aan", "mach das
# Licht aus", "spegni il forno"; an alarm or a timer set, "wake me up at 6".
_SWITCH_OFF_ON = word_set("on off aan uit an aus")
_SWITCH_VERBS = word_set("turn switch zet schakel doe mach schalte stell dreh")
_SWITCH_ONE = (
    "enciend",
    "apag",
    "allum",
    "eteins",
    "etein",
    "ligu",
    "liga",
    "deslig",
    "accend",
    "speg",
)
_ALARM = word_set("""
    alarm alarms timer alarma temporizador reveil minuteur alarme wecker timer despertador
    sveglia timer wekker
    """)
_WAKE = (
    "wake me",
    "despiertame",
    "despiertame a",
    "reveille-moi",
    "weck mich",
    "wecke mich",
    "acorda-me",
    "me acorda",
    "svegliami",
    "maak me wakker",
)
# The things switched: lights, heating, appliances (not "turn it into ...": no device named).
_DEVICE = word_set("""
    light lights lamp lamps heating heater oven tv television radio fan washer dishwasher
    luz luces lampara calefaccion horno tele television ventilador lavadora lavavajillas
    lumiere lumieres lampe chauffage four tele ventilateur lave-linge lave-vaisselle
    licht lichter lampe heizung ofen fernseher radio ventilator waschmaschine spulmaschine
    luzes lampada aquecimento forno televisao ventoinha maquina
    luce luci lampada riscaldamento forno televisione ventilatore lavatrice lavastoviglie
    lamp lampen verwarming oven televisie wasmachine vaatwasser
    """)


def _switches_device(words: list[str]) -> bool:
    """ "turn off the lights", "zet de wasmachine aan", "apaga las luces del salón", "set an
    alarm for 7", "wake me up at 6:30": a device or an alarm of the user's."""
    text = " ".join(words)
    if any(f" {w} " in f" {text} " for w in _WAKE) or text.startswith(_WAKE):
        return True
    verb = words[0].split("-")[0]
    if any(w in _ALARM for w in words[1:5]) and verb not in lx.QUESTION:
        return True  # "set an alarm for 7", "Mettimi la sveglia alle 6:45"
    device = any(w in _DEVICE for w in words[1:7])
    if verb.startswith(_SWITCH_ONE) and device:
        return True
    return verb in _SWITCH_VERBS and device and any(w in _SWITCH_OFF_ON for w in words[1:9])


# Making or moving an appointment or a reservation: a calendar or a front desk does it.
_APPOINTMENT = word_set("""
    appointment appointments reservation booking cita citas reserva reservas turno
    rendez-vous reservation termin termine reservierung consulta marcacao appuntamento
    prenotazione afspraak afspraken reservering
    """)
_ARRANGE = (
    "make",
    "book",
    "schedul",
    "reschedul",
    "cancel",
    "move",
    "pide",
    "pedir",
    "reserv",
    "program",
    "agend",
    "cancela",
    "anula",
    "prend",
    "fix",
    "annul",
    "deplac",
    "mach",
    "vereinbar",
    "buch",
    "verschieb",
    "sag",
    "marc",
    "desmarc",
    "prenot",
    "fiss",
    "disdic",
    "spost",
    "maak",
    "plan",
    "verzet",
    "annuleer",
    "boek",
)


def _books_appointment(words: list[str]) -> bool:
    """ "make an appointment for tomorrow morning", "pide cita con el dentista", "maak een
    afspraak", "verschieb meinen Termin": an appointment made, moved or cancelled."""
    verb = words[0].split("-")[0]
    return (
        verb.startswith(_ARRANGE)
        and verb not in lx.QUESTION
        # (a compound names one too: "Zahnarzttermin", "tandartsafspraak")
        and any(w in _APPOINTMENT or w.endswith(("termin", "afspraak")) for w in words[1:5])
    )


# Media no agent makes: a video, an animation, music, a voice-over, a podcast. A text about
# them ("a script for a video", "ideas for a TikTok") is the writer's.
_MEDIA = word_set("""
    video videos clip clips film filmpje filmpjes animation animations animacion animacao
    animazione animatie gif gifs voiceover voice-over podcast music musica musique musik muziek
    melody melodia melodie soundtrack jingle reel reels
    """)
# A word before the media that makes it the subject of a text: "for", "about", "of".
_ABOUT = word_set("""
    for about of para sobre de pour sur du des fur uber von vom zum zur per su di del della
    voor over van from aus da dal dalla uit desde
    """)
# After the media word, a word that makes it another thing: "video game", "video call".
_NOT_MEDIA = word_set("""
    game games call calls chat conference player box juego juegos jeu jeux spiel spiele jogo
    jogos gioco giochi spel spelletje chiamata videollamada appel anruf chamada videochamada
    """)
# Verbs that make or record a video or music ("make", "haz", "monta", "dreh", "grava").
_MAKE_MEDIA = (
    "make",
    "creat",
    "produc",
    "edit",
    "record",
    "shoot",
    "compos",
    "haz",
    "crea",
    "grab",
    "mont",
    "fais",
    "fait",
    "cree",
    "realis",
    "tourn",
    "enregistr",
    "mach",
    "erstell",
    "dreh",
    "produzier",
    "schneid",
    "komponier",
    "faz",
    "fammi",
    "fai",
    "facci",
    "cria",
    "grav",
    "produz",
    "gira",
    "regist",
    "compon",
    "maak",
    "creeer",
    "monteer",
    "film",
)


def unmade_media(seg: Segment) -> str | None:
    """The thing a clause asks for is a video, music or a voice-over ("make a 30 second
    video ad", "mi monti un video", "compose some music for ..."): the first thing named after
    the verb, with no text it is "for" or "about" before it. "made" when a verb of making or
    recording heads it (no agent makes it, whatever the model says), "named" otherwise (the
    model decides: "describe the music of ..." is a text), None when no media is asked.
    Transcribing a recording is "made" too: no agent hears audio."""
    words, _ = _head(seg)
    if len(words) < 2 or seg.data or seg.payload or words[0] in lx.QUESTION:
        return None
    if any(w.startswith(_TRANSCRIBE) for w in words[:2]) and not any(
        c in seg.instruction for c in '«"“:'
    ):  # (text quoted to transcribe into IPA is the writer's)
        return "made"  # "transcreve a mensagem de voz", "trascrivi il vocale": no agent hears
    said = [w for w in words if w.strip("?!.,;:")]
    last = said[-1] if said else ""
    if (
        len(words) >= 4
        and last.startswith(_MAKE_MEDIA)
        and not any(  # (a thing named as the material is no thing made: "van de foto's")
            (w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS)
            and not any(b in _ABOUT for b in words[max(k - 2, 0) : k])
            for k, w in enumerate(words)
        )
        and any(
            w in _MEDIA
            and words[k - 1] not in _ABOUT
            and (k + 1 >= len(words) or words[k + 1] not in _NOT_MEDIA)
            for k, w in enumerate(words[1:-1], start=1)
        )
    ):  # the verb last (German, Dutch): "Kun je ... een filmpje met muziek maken?", "Kannst
        # du mir ein Video daraus schneiden?"
        return "made"
    for k, w in enumerate(words[1:7], start=1):
        if w in _ABOUT or w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS:
            return None
        if w in _MEDIA:
            if k + 1 < len(words) and words[k + 1] in _NOT_MEDIA:
                return None  # "a video game character", "the video call"
            verb = words[0].split("-")[0]
            made = verb.startswith(_MAKE_MEDIA) or verb == "fa"  # (Italian "fa un video")
            return "made" if made else "named"
    return None


def verb_kind(word: str, segmenter: Segmenter, model: IntentModel) -> str | None:
    """ "action" when the training phrasings open only actions with ``word`` (its longest
    known prefix), "job" only jobs, "mixed" both ("turn", "maak"), None neither."""
    prefixes = [q for q in _prefixes(word) if q in segmenter.openers]
    if not prefixes:
        return None
    if prefixes[0] in model.action_openers:
        return "action"
    return "mixed" if prefixes[0] in model.mixed_openers else "job"


def job_verb_heads(
    seg: Segment, p: dict[str, float], segmenter: Segmenter, model: IntentModel
) -> bool:
    """A clause the model weakly calls an action whose verb opens jobs ("Draw that planet
    ...", "Draft an announcement that our office moves ...", "tell me a joke"): the verb is
    surer than the model's guess from the other words, so it is a job."""
    words, _ = _head(seg)
    if not words or p["action"] >= SURE or lx.CLITIC.match(words[0]):
        return False
    return verb_kind(words[0], segmenter, model) == "job"


def named_deliverable(
    seg: Segment, segmenter: Segmenter | None = None, model: IntentModel | None = None
) -> str | None:
    """A noun phrase that names a thing the mesh makes ("uma legenda curta para o Instagram",
    "a caption for my post"): no verb, so no action, whatever the words after it suggest.
    Returns the phrase up to that thing ("uma legenda"), for the model to route; else None.
    With ``segmenter`` and ``model``: also such a phrase after a verb that opens no action
    only ("turn it into a haiku", "erstelle daraus ein Plakat"): the thing is the job."""
    words, _ = _head(seg)
    if segmenter is not None and model is not None and len(words) > 2:
        if verb_kind(words[0], segmenter, model) == "action":
            return None
        for k in range(1, min(len(words) - 1, 6)):
            if words[k] in lx.ARTICLES and (
                (found := named_deliverable(Segment(" ".join(words[k:])))) is not None
            ):
                return found
        return None
    while len(words) > 2 and words[0] in _ALSO:
        words = words[1:]  # "and also a drawing of it", "en ook een plaatje"
    if len(words) < 2 or words[0] not in lx.ARTICLES:
        return None
    for k, w in enumerate(words[1:4], start=1):
        if w in lx.JOB_NOUNS or w.rstrip("s") in lx.JOB_NOUNS:
            return " ".join(words[: k + 1])
    return None


def reads_action(
    seg: Segment, p: dict[str, float], segmenter: Segmenter, model: IntentModel
) -> bool:
    """A step right after an action that reads its outcome ("... and tell me if it
    crashes"): nothing an agent could read exists, so it is part of that action. Not a
    step a job's verb opens ("summarise it"): that reads something earlier."""
    words, _ = _head(seg)
    if seg.joined not in ("and", "then") or seg.data or seg.payload:
        return False
    # "dimmi se ...", "tell me if ...", or the person the action reaches told something
    whether = any(w in _WHETHER for w in words[1:3]) or _tells_them(words)
    if words and verb_kind(words[0], segmenter, model) == "job" and not whether:
        return False
    if own_question(words):
        return False  # "... e me conta quem inventou a pizza": a question of its own
    if max(p[c] for c in JOBS) >= SURE or any(w in lx.JOB_NOUNS for w in words):
        return False
    return whether or any(w in _REFERS or w in _WHETHER for w in words[:6])


_WHETHER = frozenset(["if", "whether", "si", "ob", "se", "of"])


_ME = frozenset(["me", "mi", "moi", "mir", "mij"])


def _to_me(words: list[str]) -> bool:
    """A verb of telling addressed to the speaker: "me conta", "mi dici", "tell me", "sag
    mir", "vertel me", "dis-moi", "diz-me", "dime", "dimmi"."""
    if len(words) < 2:
        return False
    verb = words[1] if words[0] in _ME else words[0]
    return (
        words[0] in _ME
        or words[1] in _ME
        or verb.rsplit("-", 1)[-1] in _ME
        or (len(verb) >= 4 and verb.endswith(("me", "mi")) and "-" not in verb)
    )


def own_question(words: list[str]) -> bool:
    """A verb of telling (a pronoun before or after it) and a question word that asks about
    a thing named in its own words ("me conta quem inventou a pizza", "dime quién inventó
    el telescopio"), not about the act's outcome ("tell me who answered", "dime quién
    contestó": one word, or a word that points back, after the question word)."""
    if not _to_me(words):
        return False  # "dis-lui que j'arrive à 20h": told to the person the act reaches
    lead = words[1:] if words and words[0] in _PROCLITIC else words
    at = next((k for k, w in enumerate(lead[:3]) if w.split("'")[0] in lx.QUESTION), None)
    if at is None or at == 0:
        return False
    rest = [w for w in lead[at + 1 :] if w not in lx.FUNCTION]
    # ("a pizza": the Portuguese article, not "it")
    return len(rest) >= 2 and not any(w in _REFERS and w not in lx.ARTICLES for w in lead[at + 1 :])


# "tell"/"say"/"let know" and a third person after it: what the person called or written to
# by the action before is told ("and tell her I'm late", "y dile que", "und sag ihr, dass").
_SAY = word_set("""
    tell say let di decir decile dis dites dire sag sage sagt sagen diz diga dizer avisa avise
    dica digli dille dire zeg zegt laat
    """)
_THEM = word_set("""
    him her them know le les la lui leur ihr ihm ihnen sie lhe lhes o gli loro hem haar hun ze
    """)
# The verb with the person glued on: "dile", "dígale", "dis-lui", "digli", "diz-lhe".
_SAY_THEM = word_set("""
    dile diles digale digales decile dis-lui dis-leur dites-lui dites-leur digli dille diglielo
    diz-lhe diga-lhe avisa-a avisa-o avisa-os avise-a avise-o avvisalo avvisala avvisali
    """)


# "but first" in the seven languages: the job done before the act ("Send this on Slack, but
# first make it friendlier", "Envíalo al grupo, pero primero hazlo más corto").
_BUT_ALSO = _BUT | word_set("mas ma")
_FIRST = word_set("first primero antes d'abord avant zuerst erst vorher primeiro prima eerst")


def done_first(seg: Segment) -> str | None:
    """What a clause asks done "but first", before the act it opens with, as the model reads
    it (quotations as ``qqq``); None when it says no "but first"."""
    words = tokens(seg.instruction)
    for k in range(1, len(words) - 2):
        if words[k] in _BUT_ALSO and words[k + 1] in _FIRST:
            return " ".join(words[k + 2 :])
    return None


def users_things(seg: Segment) -> bool | None:
    """A clause on the user's own files, devices or appointments ("Converte este PDF para
    Word", "zet de wasmachine aan", "pide cita con el dentista"): True when it tells it done,
    False when it asks how it is done ("¿Cómo se convierte un PDF a Word?": a question, the
    lookup's), None when it names none of them (or pastes material, or names a job)."""
    words, asked = _head(seg)
    if len(words) < 2 or seg.data or seg.payload:
        return None
    if any(w in lx.JOB_NOUNS and w not in _FILE for w in words):
        return None
    questioned = words[0] in lx.QUESTION or ("?" in seg.instruction and not asked)
    if questioned:
        # "how do I convert ...", "¿cómo se convierte ...": past the question word and a
        # subject or "se", the verb
        rest = [w for w in words if w not in lx.QUESTION and w not in _HOW_SUBJECT]
        found = bool(rest) and (_on_users_files(rest) or _books_appointment(rest))
        return False if found else None
    if _on_users_files(words) or _switches_device(words) or _books_appointment(words):
        return True
    return None


# What stands between "how" and its verb: "how do I", "cómo se", "comment je", "wie kann
# ich", "como se", "come si", "hoe kan ik".
_HOW_SUBJECT = word_set("""
    do does did i you we one can could should se me puedo puede hago
    je on peut peux dois faut kann ich man muss posso pode devo si puo devo kan ik je moet
    """)


def _tells_them(words: list[str]) -> bool:
    """ "tell her ...", "sag ihr, dass ...", "dis-lui que ...", "zeg hem dat ..."."""
    return bool(words) and (
        words[0] in _SAY_THEM or (len(words) > 1 and words[0] in _SAY and words[1] in _THEM)
    )


__all__ = [
    "own_question",
    "acts_for_user",
    "done_first",
    "users_things",
    "part_of_run",
    "reason_after_act",
    "runs_code",
    "is_world_action",
    "job_verb_heads",
    "named_deliverable",
    "reads_action",
    "unmade_media",
    "verb_kind",
]
