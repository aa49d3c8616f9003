"""Portuguese phrasings for the intent model's training data (slots as in ``en.py``)."""

TOPICS = [
    "o mar no inverno", "as folhas de outono", "o jardim da minha avó", "um dragão tímido",
    "a revolução francesa", "a fotossíntese", "o nosso novo produto", "o serviço de descoberta",
    "a chegada à lua", "um guarda-chuva perdido", "o café", "um robô jardineiro", "a torre Eiffel",
    "os buracos negros", "a minha gata Luna", "a festa do escritório", "os carros elétricos", "um farol",
    "a imprensa", "o rio Douro", "uma padaria em Lisboa", "as alterações climáticas", "a penicilina",
    "o telefone", "uma segunda-feira chuvosa", "o casamento do meu amigo", "o jazz", "o império romano",
    "as abelhas", "o teletrabalho", "os vulcões", "o xadrez",
]
QUOTES = ["bom dia", "onde fica a estação?", "obrigado pela paciência", "a reunião foi cancelada",
          "bem-vindos à nossa loja", "até amanhã", "feliz aniversário", "bom apetite"]
LANGS = ["inglês", "espanhol", "alemão", "italiano", "francês", "neerlandês", "japonês", "coreano",
         "chinês", "árabe", "polaco", "sueco", "português", "russo"]
WHO = ["um pirata", "Camões", "um locutor de rádio dos anos vinte", "um cavaleiro rabugento", "um cowboy"]
FRAMES = [
    "{x}", "{x}", "{x}", "por favor, {x}", "{x}, por favor", "podes {x}?", "{x}, obrigado",
    "preciso que {x}", "agora {x}", "também {x}", "e {x}", "depois {x}", "em seguida {x}", "olha, {x}",
]
NP_FRAMES = [
    "preciso de {x}", "quero {x}", "gostaria de {x}", "{x}", "{x}, por favor", "podes fazer-me {x}?",
    "dá-me {x}",
]
TEMPLATES = {
    "text_generation": [
        "escreve um poema sobre {t}", "escreve-me uma história curta sobre {t}", "redige um email ao meu chefe sobre {t}",
        "escreve uma canção sobre {t}", "inventa um slogan para {t}", "escreve um discurso sobre {t}",
        "escreve uma carta a {w}", "escreve um tweet sobre {t}", "escreve um bilhete de agradecimento para a vizinha",
        "escreve um cartão de aniversário para a minha mãe", "responde a esta mensagem com educação {p}",
        "ajuda-me a responder a este email {p}", "torna-o mais engraçado", "faz rimar", "explica-o a uma criança",
        "explica os resultados em palavras simples", "dá-me dez ideias para {t}", "olá", "olá!", "tudo bem?", "bom dia", "muito obrigado", "quem és tu?", "escreve um parágrafo sobre {t}",
        "um poema sobre {t}", "uma história curta sobre {t}", "escreve uma descrição de produto para {t}",
    ],
    "code_generation": [
        "escreve uma função em Python que ordene uma lista", "escreve um script que mude o nome aos ficheiros",
        "implementa uma pesquisa binária em Python",
    ],
    "summarization": [
        "resume este artigo {p}", "resume este texto {p}", "faz-me um resumo disto {p}", "resume-o",
        "resume-o em duas frases", "encurta-o para uma linha", "resume os resultados", "dá-me os pontos principais {p}",
        "resume o que encontrares", "torna-o mais curto", "resume este texto em duas frases {p}", "resume os dois",
    ],
    "translation": [
        "traduz {q} para {l}", "como se diz {q} em {l}?", "traduz isso para {l}", "traduz a resposta para {l}",
        "passa-o para {l}", "dá-mo em {l}", "traduz isto para {l} {p}", "{q} em {l}", "traduz o resumo para {l}",
        "e para {l}", "explica-mo em {l}", "traduz-o para {l}",
    ],
    "search": [
        "pesquisa {t}", "procura informação sobre {t}", "descobre como funciona {t}", "o que é {t}?",
        "quem inventou {t}?", "como funciona {t}?", "quando foi construído {t}?", "onde fica {t}?",
        "fala-me de {t}", "investiga {t}", "encontra factos sobre {t}", "qual é a altura de {t}?",
        "pesquisa quem descobriu {t}", "explica como funciona {t}", "porque é que {t} é importante?",
    ],
    "data_analysis": [
        "analisa estes dados {d}", "qual é a média destes números? {d}", "há valores atípicos? {d}",
        "há correlação entre preço e vendas? {d}", "que dia se destaca? {d}", "calcula a média e a mediana {d}",
        "qual é a média das notas? {d}", "compara estes números {d}", "qual é a tendência? {d}",
        "que produto vende mais? {d}",
    ],
    "image_generation": [
        "desenha {t}", "desenha uma imagem de {t}", "pinta {t} em aguarela", "gera uma imagem de {t}",
        "faz um logótipo para {t}", "cria um cartaz de {t}", "faz um desenho de {t}", "ilustra {t}",
        "uma imagem de {t}", "um desenho de {t}", "quero uma foto de {t}", "desenha-o",
    ],
    "lora_training": [
        "afina o modelo para falar como {w}", "treina um adaptador LoRA com estes exemplos {d}",
        "ensina o modelo a responder como {w}",
    ],
    "action": [
        "reserva-me uma mesa para quatro", "reserva um voo para Roma", "encomenda uma pizza", "compra-me um telemóvel",
        "paga a minha conta da luz", "transfere 200 euros para a minha conta", "envia este email ao meu chefe",
        "liga ao dentista", "lembra-me de regar as plantas", "põe um alarme para as sete", "põe a minha playlist",
        "apaga as luzes", "marca uma reunião para segunda", "imprime-o", "chama-me um táxi", "cancela a minha assinatura",
    ],
    "none": [
        "não é preciso pesquisar nada", "não traduzas", "sem imagens", "sem texto", "só a imagem", "só o texto",
        "curto", "numa frase", "em duas frases", "obrigado desde já", "é tudo", "é para o meu chefe",
        "não desenhes nada", "sem pesquisar nada", "sem explicações", "sê educado", "aqui estão os dados {d}",
        "o texto está em baixo {p}", "preciso de duas coisas", "em palavras simples", "mais nada",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES['text_generation'] += ['um poema sobre {t}', 'um título para {t}', 'um slogan para {t}', 'um discurso para {t}', 'uma carta a {w}', 'torna-o mais formal']
TEMPLATES['summarization'] += ['um resumo disto {p}', 'um resumo curto']
TEMPLATES['search'] += ['dá-me factos sobre {t}']
TEMPLATES['none'] += ['aqui estão alguns exemplos {d}', 'estes são os números {d}', 'este é o texto {p}', 'estou a preparar uma apresentação', 'o meu chefe perguntou-me isto']
TOPICS += ['um adaptador LoRA', 'a tradução automática', 'a geração de imagens', 'a análise de dados']
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES['text_generation'] += ['obrigado, ajudou muito', 'boa noite', 'boa tarde', 'és o maior', 'até logo', 'umas palavras simpáticas para {w}', 'algo bonito para o cartão']
TEMPLATES['image_generation'] += ['um cartaz com {t}', 'um logótipo para {t}', 'um ícone de {t}', 'uma pintura de {t}', 'uma ilustração de {t}']
TEMPLATES['none'] += ['aqui estão os resultados {d}', 'estas são as minhas medições {d}', 'seguem os números {d}']
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES['search'] += ['a população de {t}', 'a altura de {t}', 'diz-me quem inventou {t}', 'diz-me quando foi {t}']
TEMPLATES['action'] += ['põe isso no meu calendário', 'compra bilhetes para {t}']
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES['text_generation'] += ['responde brevemente a isto {p}', 'escreve uma resposta curta a esta mensagem {p}']
