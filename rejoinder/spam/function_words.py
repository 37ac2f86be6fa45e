"""Function words: the glue of a sentence (articles, pronouns, prepositions, auxiliaries, conjunctions)
that spam and ham share in equal measure. A site's lessons never move their weights and a reason never
cites one: ten spam decisions must not teach a site that "the" or "for" is spam.

English first, where the shipped prior and most of its users' spam are, with the commonest function words
of French, German, Spanish, Italian and Portuguese: a site in those languages learns from its moderators
too. Written for Rejoinder; no list is copied.
"""

from __future__ import annotations

_ENGLISH = """
a an the this that these those there here some any each every all both either neither no not nor none
i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves one ones someone something anyone anything
who whom whose which what when where why how whether than then so too very just also only even still
yet already again ever never always often once
be am is are was were been being have has had having do does did doing done will would shall should can
could may might must ought let lets get got gets
and or but if because as until while although though unless since whereas
of at by for with about against between into through during before after above below to from up down in
out on off over under onto upon within without across along among around behind beyond near toward
towards via per like
i'm i've i'd i'll you're you've you'd you'll he's she's it's we're we've we'd we'll they're they've
they'd they'll that's there's here's what's who's isn't aren't wasn't weren't don't doesn't didn't
haven't hasn't hadn't won't wouldn't can't cannot couldn't shouldn't mustn't let's
im ive id ill youre dont doesnt didnt cant wont isnt its thats theres
more most much many few less least other others another such same own
s t d ll m re ve
"""

_OTHER_LANGUAGES = """
le la les un une des du de d l et ou mais donc car ni que qui quoi dont où je tu il elle nous vous ils
elles ce cet cette ces mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs au aux en dans
par pour sur avec sans sous est sont suis es était être avoir ai as a ont pas ne y se
der die das den dem des ein eine einen einem einer und oder aber denn dass ich du er sie es wir ihr mich
dich sich mir dir uns euch mein dein sein unser euer im ins am zum zur vom von zu mit bei nach aus für
auf an um ist sind bin bist war waren sein haben hat habe nicht kein keine auch noch schon
el los las una unos unas y o pero porque que quien yo tú él ella nosotros vosotros ellos ellas mi tu su
nuestro al del con sin sobre entre por para es son soy eres fue era ser estar está están hay no se lo
il lo gli i uno e ma perché che chi io lui lei noi voi loro mio tuo suo nel nella dei della alla con
per tra fra è sono sei era essere avere ha ho non si
os as um uma uns umas e ou mas que eu ele ela nós eles elas meu teu seu nosso no na nos nas do da dos
das ao com sem sobre entre para é são sou era ser estar está não se
"""

FUNCTION_WORDS: frozenset[str] = frozenset((_ENGLISH + _OTHER_LANGUAGES).split())


def is_function_label(label: str) -> bool:
    """True for a feature's label made only of function words ("the", "for the", "it's"): a word, its
    character n-grams (which carry the word's label) or a pair of such words."""
    words = label.split()
    return bool(words) and all(word in FUNCTION_WORDS for word in words)
