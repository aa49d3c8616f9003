"""English phrasings for the intent model's training data (see ``bench/planning/train``).

Slots: ``{t}`` a topic, ``{q}`` a short quotation, ``{l}`` a language, ``{w}`` a person or a
style, ``{d}`` pasted data, ``{p}`` a pasted text. Every topic is used by every class, so a
topic word carries no signal: what the model learns is the ask, not the subject.
"""

TOPICS = [
    "the sea in winter", "autumn leaves", "my grandmother's garden", "a shy dragon",
    "the French revolution", "photosynthesis", "our product launch", "the discovery service",
    "the moon landing", "a lost umbrella", "coffee", "a robot gardener", "the Eiffel Tower",
    "black holes", "my cat Luna", "the office party", "electric cars", "a lighthouse",
    "the printing press", "how workers register", "replay with Last-Event-ID", "Mount Everest",
    "a bakery in Lisbon", "the new login page", "climate change", "penicillin", "the telephone",
    "a rainy Monday", "my best friend's wedding", "jazz", "the Roman empire", "bees",
    "remote work", "our hiking trip", "a broken thermometer", "the quarterly results",
    "volcanoes", "chess", "the cancellation of a run", "a tiny house", "Jupiter's moons",
]
QUOTES = [
    "good morning", "where is the station?", "thank you for your patience", "the meeting is cancelled",
    "welcome to our shop", "see you tomorrow", "I love you", "happy birthday", "the train is late",
    "please close the door", "registration succeeded", "enjoy your meal", "good luck",
]
LANGS = [
    "French", "Spanish", "German", "Italian", "Portuguese", "Dutch", "Japanese", "Korean",
    "Chinese", "Arabic", "Polish", "Swedish", "English", "Hindi", "Greek", "Russian",
]
WHO = [
    "a pirate", "Shakespeare", "a 1920s radio announcer", "a grumpy knight", "our support team",
    "a cowboy", "my company's brand voice", "a children's book narrator",
]
FRAMES = [
    "{x}", "{x}", "{x}", "please {x}", "{x} please", "can you {x}?", "could you {x}",
    "I need you to {x}", "I'd like you to {x}", "hey, {x}", "{x}, thanks", "pls {x}",
    "would you {x}?", "quickly {x}", "now {x}", "also {x}", "and {x}", "then {x}",
    "go ahead and {x}", "help me {x}", "{x} for me", "I want you to {x}",
]
NP_FRAMES = [
    "I need {x}", "I'd love {x}", "I want {x}", "{x}", "{x} please", "can I get {x}?",
    "could I have {x}", "I'm looking for {x}", "give me {x}", "we need {x}", "how about {x}?",
]

TEMPLATES = {
    "text_generation": [
        "write a poem about {t}", "write a short story about {t}", "write an essay on {t}",
        "draft an email to my boss about {t}", "compose a song about {t}", "write a haiku about {t}",
        "write a limerick about {t}", "come up with a slogan for {t}", "write a speech about {t}",
        "draft a letter to {w} about {t}", "write a tweet about {t}", "write a blog post about {t}",
        "come up with five names for {t}", "write a joke about {t}", "write a toast for {t}",
        "write a product description for {t}", "write a caption for {t}", "draft a cover letter",
        "write a birthday card for my mom",
        "reply to this message politely {p}", "answer this email {p}", "help me respond to this {p}",
        "rewrite this in a friendlier tone {p}", "write a reply to this {p}",
        "make it rhyme", "make it funnier", "turn it into a children's rhyme",
        "explain it to a child", "explain the findings in plain words", "write a note about the findings",
        "brainstorm ideas for {t}", "give me ten ideas for {t}", "write a motivational quote about {t}",
        "write a bedtime story about {t}", "write a dialogue about {t}", "draft a LinkedIn post about {t}",
        "write an apology to a customer", "write the intro for {t}", "write a title for {t}",
        "hello", "hi there", "hello!", "hey, how are you?", "good morning!", "how's it going?",
        "thanks a lot!", "what's up?", "nice to meet you", "who are you?", "what can you do?",
        "tell me a joke", "write something nice about {t}", "write a paragraph about {t}",
        "compose a short message for the team about {t}", "write a slack message about it",
        "describe {t} in a poetic way", "write lyrics about {t}", "write a eulogy for {t}",
        "write a review of {t}", "write a riddle about {t}",
    ],
    "code_generation": [
        "write a python function that sorts {t}", "write a script that renames files",
        "implement a binary search in Python", "write a SQL query that counts users",
        "write code to parse a CSV file", "fix this bug in my code {p}", "write a bash script that backs up a folder",
        "implement a function that checks if a string is a palindrome", "write a JavaScript function for {t}",
        "write a regex that matches emails", "code a small web server", "write unit tests for this function {p}",
    ],
    "summarization": [
        "summarize this article {p}", "summarize this {p}", "give me the gist of this email {p}",
        "sum up this text {p}", "tl;dr {p}", "condense this into three bullet points {p}",
        "shorten this paragraph {p}", "what are the key points of this {p}", "boil this down to one sentence {p}",
        "summarize it", "summarize the findings", "shorten it to one line", "condense that",
        "sum it up in two sentences", "give me a short recap of it", "make a summary of the results",
        "summarize both", "summarize what you find", "give me the key points", "recap the above",
        "summarize the story in one line", "cut it down to fifty words", "give me a brief overview of it",
        "shorten that", "make it shorter", "summarize the text below {p}", "summarize these notes {p}",
    ],
    "translation": [
        "translate {q} into {l}", "how do you say {q} in {l}?", "translate it into {l}",
        "translate the summary into {l}", "put it into {l}", "give me that in {l}",
        "what is {q} in {l}?", "translate this to {l} {p}", "render it in {l}", "{q} in {l}",
        "translate {q} to {l}", "translate the answer into {l}", "say it in {l}",
        "translate into {l}", "can you put this in {l} {p}", "now in {l}", "and in {l}",
        "translate that for my {l} colleagues", "I need this in {l} {p}", "explain it to me in {l}",
    ],
    "search": [
        "look up {t}", "find information about {t}", "search for {t}", "find out how {t} works",
        "what is {t}?", "who invented {t}?", "how does {t} work?", "when was {t} built?",
        "where is {t}?", "why is {t} important?", "tell me about {t}", "find facts about {t}",
        "research {t}", "check how {t} works", "find out who discovered {t}",
        "how tall is {t}?", "what year was {t} invented?", "explain how {t} works", "what causes {t}?",
        "find some facts about {t}", "look into {t}", "what do you know about {t}?", "who was {t}?",
        "what is the capital of {t}?", "how many people live in {t}?", "is {t} true?",
        "I wonder how {t} works", "do you know when {t} happened?", "search the docs for {t}",
        "what does {t} do?", "which {t} is the biggest?", "how deep is {t}?",
    ],
    "data_analysis": [
        "analyze this data {d}", "what is the average of these numbers {d}", "find outliers in {d}",
        "is there a correlation between price and sales {d}", "which day stands out {d}",
        "compute the mean and median {d}", "give me statistics for this table {d}",
        "compare these numbers {d}", "what's the trend here {d}", "any unusual values {d}",
        "which product sells the most {d}", "check this data for outliers {d}", "describe the trend in {d}",
        "analyze these rows {d}", "what's the spread of the scores {d}",
        "crunch these numbers {d}", "which month had the most visits {d}", "{d} what's the mean?",
        "look at these numbers {d}",
        "how are these columns related {d}",
    ],
    "image_generation": [
        "draw {t}", "draw a picture of {t}", "paint {t} in watercolor", "generate an image of {t}",
        "make a logo for {t}", "create a poster of {t}", "sketch {t}", "illustrate {t}",
        "make me a picture of {t}", "render {t} in 3D", "design an icon for {t}", "a photo of {t}",
        "an oil painting of {t}", "make an illustration for {t}", "paint it at dawn",
        "draw a picture that illustrates it", "generate a cover image for it", "draw it",
        "create a wallpaper of {t}", "make a cartoon of {t}", "picture of {t}, watercolor style",
        "generate a photo-realistic image of {t}", "make a drawing of {t}",
    ],
    "lora_training": [
        "fine-tune the model to sound like {w}", "train a LoRA adapter on these examples {d}",
        "teach the model to answer like {w}", "train an adapter that writes like {w}",
        "make the model learn this style {d}", "fine-tune on these lines {d}",
        "I'd like the model to talk like {w}", "adapt the model to {w}'s voice",
    ],
    "action": [
        "book a flight to {t}", "book a table for two", "order a pizza", "buy me a new phone",
        "pay my phone bill", "transfer 200 euros to my savings", "send this email to my boss",
        "send it to orders@example.com", "call the dentist", "remind me to water the plants",
        "set an alarm for 7am", "play my running playlist", "turn off the lights",
        "schedule a meeting for Monday", "print it on the office printer", "get me a taxi",
        "cancel my subscription", "post it on Instagram", "text my wife that I'm late",
        "reserve a hotel room", "buy one for me", "email it to the team", "upload it to my drive",
        "turn the heating up", "delete my old files", "order two cinema tickets",
    ],
    "none": [
        "don't translate it", "no pictures", "no text",
        "just the text", "keep it short", "in one sentence", "in two sentences",
        "thanks in advance", "that's all", "it's for my boss",
        "don't draw anything", "without images", "no explanation needed", "keep it polite",
        "it's for a presentation", "for the newsletter", "the deadline is Friday", "I have a few things",
        "here is the data {d}", "here's my table {d}", "the text is below {p}", "see below",
        "I'm a beginner", "use simple words", "no rush", "make sure it's accurate",
        "the tone should be friendly", "nothing else", "skip the search", "without looking anything up",
        "no translation needed", "not too long",
    ],
}


# Added: noun-phrase asks, restylings, context and hand-over remarks, topics that name a
# capability (a topic must never decide the class).
TEMPLATES['text_generation'] += ['a poem about {t}', 'a short story about {t}', 'a title for {t}', 'a slogan for {t}', 'a speech for {t}', 'a toast for {t}', 'a caption for {t}', 'a tweet about {t}', 'a letter to {w}', 'a thank-you card for {w}', 'make it more formal', 'keep it under fifty words', 'rewrite it for kids', 'a funny poem about {t}', 'an email to the team about {t}']
TEMPLATES['summarization'] += ['a summary of this {p}', 'a short summary of it', 'the key points of this article {p}']
TEMPLATES['translation'] += ['a translation of {q} into {l}', '{q} into {l}']
TEMPLATES['search'] += ['what is the history of {t}?', 'give me facts about {t}', 'briefly, how does {t} work?']
TEMPLATES['none'] += ['here are a few examples {d}', 'these are the numbers {d}', 'this is the text {p}', "I'm preparing a presentation for my team", 'my boss asked me about this yesterday', 'we have a meeting tomorrow', "I don't remember how it works", "I'm new here", 'it has to be ready by Monday', "so I'm writing a report about {t}", 'for context, we sell {t}']
TOPICS += ['a LoRA adapter', 'machine translation', 'image generation', 'data analysis', 'text summaries', 'search engines']
# Added: small talk, pictures asked for by their noun, data handed over with a remark.
TEMPLATES['text_generation'] += ['thanks, that helps!', 'great job, thank you', 'good evening', 'good night!', "you're awesome", 'bye for now', "lol that's funny", 'something warm for {w}', 'something funny for the card', 'a few kind words for {w}', 'a farewell message for {w}']
TEMPLATES['image_generation'] += ['a poster with {t}', 'a logo for {t}', 'an icon of {t}', 'a painting of {t}', 'a sketch of {t}', 'an illustration of {t}', 'a cartoon of {t}', 'a banner with {t}']
TEMPLATES['none'] += ['here are the results {d}', 'here are our answers {d}', 'below are the scores {d}', "these are last month's figures {d}", 'I got these measurements {d}']
# Added: knowledge asked for by its noun, "tell me who", actions on a calendar or tickets.
TEMPLATES['search'] += ['the population of {t}', 'the height of {t}', 'the capital of {t}', 'the year {t} was invented', 'tell me who invented {t}', 'tell me when {t} happened']
TEMPLATES['action'] += ['add it to my calendar', 'put it in my calendar', 'save it in my notes', 'buy tickets for {t}', 'book tickets for {t}', 'share it with my team on Slack']
# Added: a reply to pasted text is writing, not a summary.
TEMPLATES['text_generation'] += ['reply briefly to this {p}', 'draft a short answer to this {p}', 'write a quick response to this message {p}', 'answer this for me {p}', 'respond to this in a friendly way {p}', 'write back to them {p}', 'draft a reply saying yes {p}']
