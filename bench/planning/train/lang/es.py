"""Spanish phrasings for the intent model's training data (slots as in ``en.py``)."""

TOPICS = [
    "el mar en invierno", "las hojas de otoño", "el jardín de mi abuela", "un dragón tímido",
    "la revolución francesa", "la fotosíntesis", "nuestro nuevo producto", "el servicio de descubrimiento",
    "la llegada a la luna", "un paraguas perdido", "el café", "un robot jardinero", "la torre Eiffel",
    "los agujeros negros", "mi gata Luna", "la fiesta de la oficina", "los coches eléctricos", "un faro",
    "la imprenta", "cómo se registran los workers", "el Everest", "una panadería en Lisboa",
    "el cambio climático", "la penicilina", "el teléfono", "un lunes lluvioso", "la boda de mi mejor amigo",
    "el jazz", "el imperio romano", "las abejas", "el teletrabajo", "los volcanes", "el ajedrez",
]
QUOTES = ["buenos días", "¿dónde está la estación?", "gracias por su paciencia", "la reunión se cancela",
          "bienvenidos a nuestra tienda", "hasta mañana", "feliz cumpleaños", "buen provecho"]
LANGS = ["francés", "inglés", "alemán", "italiano", "portugués", "neerlandés", "japonés", "coreano",
         "chino", "árabe", "polaco", "sueco", "español", "ruso", "griego"]
WHO = ["un pirata", "Cervantes", "un locutor de radio de los años veinte", "un caballero gruñón",
       "nuestro equipo de soporte", "un vaquero"]
FRAMES = [
    "{x}", "{x}", "{x}", "por favor, {x}", "{x}, por favor", "¿puedes {x}?", "oye, {x}",
    "{x}, gracias", "necesito que {x}", "ahora {x}", "también {x}", "y {x}", "luego {x}",
    "después {x}", "{x} porfa", "venga, {x}",
]
NP_FRAMES = [
    "necesito {x}", "quiero {x}", "me gustaría {x}", "{x}", "{x}, por favor", "¿me das {x}?",
    "busco {x}", "dame {x}", "¿podrías hacerme {x}?",
]
TEMPLATES = {
    "text_generation": [
        "escribe un poema sobre {t}", "escríbeme un cuento corto sobre {t}", "redacta un correo a mi jefe sobre {t}",
        "escribe una canción sobre {t}", "inventa un eslogan para {t}", "escribe un discurso sobre {t}",
        "redacta una carta a {w}", "escribe un tuit sobre {t}", "escribe una tarjeta de cumpleaños para mi madre", "responde a este mensaje con educación {p}",
        "contesta este correo {p}", "ayúdame a responder esto {p}", "hazlo más divertido", "que rime",
        "explícaselo a un niño", "explica los resultados con palabras sencillas", "escribe un anuncio para el ganador",
        "dame diez ideas para {t}", "escribe una historia para dormir sobre {t}", "escribe un chiste sobre {t}",
        "hola", "¡hola!", "¿qué tal?", "buenos días", "¿cómo estás?", "muchas gracias", "¿quién eres?",
        "escribe un párrafo sobre {t}", "escribe una descripción de producto para {t}", "un poema sobre {t}",
        "una historia corta sobre {t}", "escribe un brindis para {t}", "redacta un mensaje para el equipo sobre {t}",
        "escribe algo bonito sobre {t}", "escribe una disculpa a un cliente",
    ],
    "code_generation": [
        "escribe una función en Python que ordene una lista", "escribe un script que renombre archivos",
        "implementa una búsqueda binaria en Python", "escribe una consulta SQL que cuente usuarios",
    ],
    "summarization": [
        "resume este artículo {p}", "resume este texto {p}", "hazme un resumen de esto {p}",
        "resúmelo", "resúmelo en dos frases", "acórtalo a una línea", "resume los resultados",
        "dame las ideas principales {p}", "condénsalo en tres puntos", "resume lo que encuentres",
        "un resumen de este texto {p}", "hazlo más corto", "resume ambos", "dame un resumen breve",
    ],
    "translation": [
        "traduce {q} al {l}", "¿cómo se dice {q} en {l}?", "tradúcelo al {l}", "traduce la respuesta al {l}",
        "pásalo al {l}", "dámelo en {l}", "traduce esto al {l} {p}", "{q} en {l}", "tradúcelo",
        "traduce el resumen al {l}", "y al {l}", "explícamelo en {l}", "ponlo en {l}",
    ],
    "search": [
        "busca {t}", "busca información sobre {t}", "averigua cómo funciona {t}", "¿qué es {t}?",
        "¿quién inventó {t}?", "¿cómo funciona {t}?", "¿cuándo se construyó {t}?", "¿dónde está {t}?",
        "háblame de {t}", "investiga {t}", "encuentra datos sobre {t}", "¿cuánto mide {t}?",
        "busca quién descubrió {t}", "explica cómo funciona {t}", "¿por qué es importante {t}?",
        "averigua qué hace {t}", "¿sabes cuándo pasó {t}?", "¿qué sabes de {t}?",
    ],
    "data_analysis": [
        "analiza estos datos {d}", "¿cuál es la media de estos números? {d}", "busca valores atípicos {d}",
        "¿hay correlación entre precio y ventas? {d}", "¿qué día destaca? {d}", "calcula la media y la mediana {d}",
        "¿qué producto vende más? {d}", "compara estas cifras {d}", "¿hay algún valor raro? {d}",
        "¿cuál es la tendencia? {d}", "dame estadísticas de esta tabla {d}",
    ],
    "image_generation": [
        "dibuja {t}", "dibuja un cuadro de {t}", "pinta {t} en acuarela", "genera una imagen de {t}",
        "haz un logo para {t}", "crea un póster de {t}", "haz un dibujo de {t}", "ilustra {t}",
        "una imagen de {t}", "un dibujo de {t}", "quiero una foto de {t}", "dibújalo", "píntalo al amanecer",
    ],
    "lora_training": [
        "ajusta el modelo para que hable como {w}", "entrena un adaptador LoRA con estos ejemplos {d}",
        "enseña al modelo a responder como {w}", "haz que el modelo aprenda este estilo {d}",
    ],
    "action": [
        "resérvame una mesa para cuatro", "reserva un vuelo a Roma", "pide una pizza", "cómprame un móvil",
        "paga mi factura de la luz", "transfiere 200 euros a mi cuenta", "envía este correo a mi jefe",
        "llama al dentista", "recuérdame regar las plantas", "pon una alarma a las siete",
        "pon mi lista de música", "apaga las luces", "programa una reunión el lunes", "imprímelo",
        "pídeme un taxi", "cancela mi suscripción", "publícalo en Instagram", "envíaselo al equipo",
    ],
    "none": [
        "no hace falta buscar nada", "no lo traduzcas", "sin imágenes", "sin texto", "solo la imagen",
        "solo el texto", "que sea corto", "en una frase", "en dos frases", "gracias de antemano",
        "eso es todo", "es para mi jefe", "no dibujes nada", "sin buscar nada", "sin explicaciones",
        "sé educado", "aquí están los datos {d}", "el texto está abajo {p}", "necesito dos cosas", "con palabras sencillas",
        "sin traducir", "nada más",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES['text_generation'] += ['un poema sobre {t}', 'un título para {t}', 'un eslogan para {t}', 'un discurso para {t}', 'una carta a {w}', 'hazlo más formal']
TEMPLATES['summarization'] += ['un resumen de esto {p}', 'un resumen corto']
TEMPLATES['search'] += ['dame datos sobre {t}']
TEMPLATES['none'] += ['aquí tienes unos ejemplos {d}', 'estos son los números {d}', 'este es el texto {p}', 'estoy preparando una presentación', 'mi jefe me preguntó por esto', 'no me acuerdo de cómo funciona']
TOPICS += ['un adaptador LoRA', 'la traducción automática', 'la generación de imágenes', 'el análisis de datos']
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES['text_generation'] += ['gracias, me ayudó mucho', 'buenas noches', 'buenas tardes', 'eres genial', 'hasta luego', 'unas palabras para {w}', 'algo bonito para la tarjeta']
TEMPLATES['image_generation'] += ['un póster con {t}', 'un logo para {t}', 'un icono de {t}', 'un cuadro de {t}', 'una ilustración de {t}', 'un cartel con {t}']
TEMPLATES['none'] += ['aquí están los resultados {d}', 'estas son mis cifras {d}', 'te paso las medidas {d}']
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES['search'] += ['la población de {t}', 'la altura de {t}', 'dime quién inventó {t}', 'dime cuándo pasó {t}']
TEMPLATES['action'] += ['ponlo en mi calendario', 'añádelo a mi agenda', 'compra entradas para {t}']
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES['text_generation'] += ['responde brevemente a esto {p}', 'redacta una respuesta corta a este mensaje {p}', 'contéstale por mí {p}']
