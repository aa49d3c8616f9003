"""German and Dutch clause order: where the verb of a step stands when it is not first.

After a modal ("Kannst du ... schreiben?", "Wil je ... vertalen?"), in a "dass"/"dat"
clause ("Ich möchte, dass du ... machst") and after "und"/"en" with the object first ("und
es danach übersetzen", "en daar een gedicht over schrijven"), the verb closes the clause.
These lists say which words such a clause opens with and which words, before that final
verb, name an earlier result.

Every word is matched after ``model.normalize`` (lower case, no accents)."""

from __future__ import annotations

from mesh_orchestrator.planning.intent.lexicon._words import words

# A request put as a question with a modal and "you": its verb is the last word.
MODAL = words(
    """
kannst konntest konnen konnten wurdest wurden magst willst kun kunt wil wilt zou
zoudt
"""
)
MODAL_YOU = words("du ihr sie je jij u")
# "Ich möchte, dass du ...", "Ik wil dat je ...": a wish that frames the clause after it.
WISH = words("mochte will wurde hatte wunsche wil zou wens")
THAT = words("dass dat")
# Words that open the middle of a verb-final clause: object pronouns, pronominal adverbs,
# "then", articles and determiners (German and Dutch only: "es", "het", "daar", "ein").
MIDDLE = words(
    """
es sie ihn ihm ihr ihnen mir mich dir dich uns euch das dies diese diesen dieses den dem
der die ein eine einen einem einer dann danach anschliessend nachher daraus darauf daruber
davon dazu damit dafur darin hieraus hierzu hiervon hieruber hiermit noch auch kurz mal
bitte het hem haar ze dat dit deze er daar daarna dan vervolgens nadien daarover daarvan
daarmee daaruit daarbij daarvoor hierover hiervan hiermee hieruit hierbij een de me mij jou
ons ook nog even meteen zo
"""
)
# Before the final verb, these name an earlier result: the object pronoun or a
# pronominal adverb ("es", "sie", "darüber", "het", "ze", "daarvan"; "daar ... over"). Not
# "dazu": it says "in addition" as often as "to it".
MIDDLE_REFERS = words(
    """
es sie ihn das dies diese daraus darauf daruber davon damit dafur hieraus hierzu
hiervon hieruber hiermit het hem ze dat dit deze die daar daarover daarvan daarmee daaruit
daarbij daarvoor hierover hiervan hiermee hieruit hierbij er ervan erover ermee eruit erbij ervoor
"""
)
# Endings of an infinitive or a finite verb ("schreiben", "übersetzt", "machst", "schrijft").
VERB_ENDINGS = ("en", "ern", "eln", "st", "t")
