"""Relevance to the article: a comment that shares nothing with the page it was posted under (its title
and description, which the widget sends) reads as off-topic, and one written in another language than
the page reads as posted by someone who never read it. Neither counts on its own (a reader's "thanks,
that fixed it" shares no words with a title either, and readers write in their own language): only next
to a link, or, for another language, a sale.

Pure: texts in, evidence out. Languages are told apart by script and, for Latin-script languages, by
their commonest function words: enough to tell English from German, not to translate anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from rejoinder.spam.function_words import FUNCTION_WORDS
from rejoinder.spam.submission import Page
from rejoinder.spam.verdict import Evidence

_WORD = re.compile(r"[^\W\d_]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
MIN_PAGE_WORDS = 3  # a page described by fewer words cannot tell on-topic from off-topic
MIN_COMMENT_WORDS = 8  # content words a comment needs before it can be off-topic
MIN_LANGUAGE_WORDS = 6  # words a text needs before its language is guessed
# Off-topic alone is no evidence: on real blogs many readers' replies share no word with the title. With
# a link in the text it is the shape of a link drop.
OFF_TOPIC_WITH_LINK = 0.4
OTHER_LANGUAGE = 0.7
# With a promoted link (a site's home page, or words of its own instead of the address): text that has
# nothing to do with the article, carrying a link placed for a search engine, is a link drop dressed up.
OFF_TOPIC_PROMOTED = 1.5
OTHER_LANGUAGE_PROMOTED = 1.5
# A site's language setting (``SiteSettings.language``) as ``language`` names it: the reference when the
# page's title and description are too short to tell theirs, or missing (an API client, an edit).
SITE_LANGUAGES = {"en": "English", "de": "German", "uk": "Cyrillic"}
_OTHER_LANGUAGE_SAID = "written in "  # how an other-language finding's reason starts (``in_other_language``)


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Words that are common in one language and rare in the others, to tell Latin-script languages apart.
_MARKERS: dict[str, frozenset[str]] = {
    "English": _words("the and is are was of to with this that you it for not have be"),
    "French": _words("le la les et est une des du pour pas que qui dans avec ce je vous"),
    "German": _words("der die das und ist nicht ein eine ich mit für auf auch sie es zu"),
    "Spanish": _words("el los las y es una por para con que no pero muy del se"),
    "Italian": _words("il lo gli e è una per con che non sono della questo"),
    "Portuguese": _words("os as e é um uma para com que não muito do da se"),
    "Dutch": _words("de het een en is niet van dat ik met voor op ook zijn"),
    "Turkish": _words("ve bir bu da de için ile çok ama gibi ne olarak"),
    "Swedish": _words("och är att det som en på för med inte till av jag har vi"),
    "Indonesian": _words("yang dan di ini itu dengan untuk dari tidak akan ada kami bisa"),
}
# Each marker word with the languages it marks (a few mark two: "de", "que", "se").
_MARKING: dict[str, tuple[str, ...]] = {}
for _name, _markers in _MARKERS.items():
    for _marker in _markers:
        _MARKING[_marker] = (*_MARKING.get(_marker, ()), _name)
_SCRIPTS = (
    ("CJK", ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")),
    ("Cyrillic", ("CYRILLIC",)),
    ("Arabic", ("ARABIC",)),
    ("Hebrew", ("HEBREW",)),
    ("Greek", ("GREEK",)),
    ("Devanagari", ("DEVANAGARI",)),
    ("Thai", ("THAI",)),
)


def in_other_language(evidence: Evidence) -> bool:
    """Whether ``evidence`` is this module's finding that a comment is in another language than its page's
    or its site's (not an off-topic one)."""
    return evidence.signal == "relevance" and evidence.reason.startswith(_OTHER_LANGUAGE_SAID)


def judge(
    text: str,
    page: Page,
    *,
    linked: bool,
    promoted: bool = False,
    selling: bool = False,
    site_language: str = "",
) -> list[Evidence]:
    """Off-topic and other-language evidence for a comment under ``page``; nothing when the page says
    too little about itself. ``linked``: the text links elsewhere; ``promoted``: in the way a site is
    promoted (``blogspam.promoted_link``); ``selling``: other signals found it selling something (blog-spam
    evidence); ``site_language``: the site's own language (as ``language``
    names it), compared with when the page's cannot be told."""
    found: list[Evidence] = []
    page_text = page.text
    comment_language = language(text)
    page_language = _page_language(page_text) if page_text else ""
    where = "the article"
    if not page_text and site_language:
        page_language, where = site_language, "the site"
    if comment_language and page_language and comment_language != page_language:
        if not (linked or promoted or selling):
            # Readers write in their own language under an article in another, above all on a site that
            # takes several ("Danke, genau das habe ich gesucht."); only beside a link or a sale is another
            # language the shape of spam posted wherever it can be.
            return found
        said = f"{_OTHER_LANGUAGE_SAID}{comment_language}, {where} in {page_language}"
        if promoted:
            said += ", with a link promoting a site"
        elif selling:
            said += ", selling something"
        weight = OTHER_LANGUAGE_PROMOTED if promoted or selling else OTHER_LANGUAGE
        found.append(Evidence("relevance", weight, said))
        return found  # words of another language are bound to differ: no off-topic on top
    if not page_text:
        return found
    page_words, comment_words = _page_topics(page_text), _topics(text)
    enough = len(page_words) >= MIN_PAGE_WORDS and len(comment_words) >= MIN_COMMENT_WORDS
    if enough and (linked or promoted) and not page_words & comment_words:
        if promoted:
            said = "shares no words with the article's title and description, and promotes a site"
            found.append(Evidence("relevance", OFF_TOPIC_PROMOTED, said))
        else:
            said = "shares no words with the article's title and description, and links elsewhere"
            found.append(Evidence("relevance", OFF_TOPIC_WITH_LINK, said))
    return found


# A site's pages are few and each is commented on many times: what they say is read once per process. Pure
# functions of the page's text, never stale.
@lru_cache(maxsize=1024)
def _page_language(text: str) -> str:
    return language(text)


@lru_cache(maxsize=1024)
def _page_topics(text: str) -> frozenset[str]:
    return frozenset(_topics(text))


def _topics(text: str) -> set[str]:
    """Content words, cut to five letters so "install", "installing" and "installation" meet; Chinese
    and Japanese text, written without spaces, by pairs of characters."""
    lowered = (m.lower() for m in _WORD.findall(text))
    words = {w[:5] for w in lowered if len(w) >= 4 and w not in FUNCTION_WORDS}
    han = _HAN.findall(text)
    words.update(a + b for a, b in zip(han, han[1:], strict=False))
    return words


def language(text: str) -> str:
    """The text's language (or script, outside the Latin alphabet) when it can be told; else ""."""
    if text.isascii():  # every letter Latin: no script to tell
        if sum(map(str.isalpha, text)) < 12:
            return ""
    else:
        letters = [ch for ch in text if ch.isalpha()]
        if len(letters) < 12:
            return ""
        scripts: Counter[str] = Counter()
        for ch in letters:
            scripts[_script(ch)] += 1
        script, count = scripts.most_common(1)[0]
        if count < 0.6 * len(letters):
            return ""
        if script != "Latin":
            return script
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_LANGUAGE_WORDS:
        return ""
    # Counted in one pass over the words; every language keeps its place in ``_MARKERS`` (ties go to the
    # first, as ``most_common`` keeps the order of equal counts).
    counts = dict.fromkeys(_MARKERS, 0)
    for word in words:
        for name in _MARKING.get(word, ()):
            counts[name] += 1
    hits = Counter(counts)
    (best, first), (_, second) = hits.most_common(2)
    return best if first >= 2 and first >= 2 * second else ""


@lru_cache(maxsize=1 << 14)  # a text's letters are few distinct characters; the same in every process
def _script(ch: str) -> str:
    if ch.isascii():
        return "Latin"
    name = unicodedata.name(ch, "")
    for script, prefixes in _SCRIPTS:
        if name.startswith(prefixes):
            return script
    return "Latin" if name.startswith("LATIN") else "other"
