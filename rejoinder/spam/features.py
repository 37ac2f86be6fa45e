"""A comment's features for the text classifier: normalisation that undoes the tricks spammers use to
dodge word filters, then sparse hashed word, n-gram, link and author features of unit length.

Pure: the same text gives the same ids in every process and Python version (crc32, never ``hash()``).
"""

from __future__ import annotations

import html
import operator
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# Feature ids live in [1, DIMENSIONS); id 0 is the bias. 2**20 keeps collisions rare for the few hundred
# thousand n-grams a prior holds while the dense prior array stays at 4 MB of float32.
DIMENSIONS = 1 << 20
BIAS = 0
# Features whose meaning depends on the site: links and their domains, e-mail addresses, the author's
# name and website. In the public corpora nearly every link is spam, on a blog readers link to docs and
# bug trackers, so the shipped prior leaves these at zero and each site learns them from its moderators
# (the link heuristics signal judges links meanwhile). They are hashed into an id range of their own.
SITE_FEATURES = range(DIMENSIONS - (1 << 16), DIMENSIONS)
_SITE_NAMESPACES = frozenset({"u:", "up", "d:", "t:", "e:", "a:", "s:"})
# Bump whenever ``extract`` changes what a text hashes to: a prior only makes sense with the features it
# was trained on, and loading one made for another version fails instead of scoring nonsense.
FEATURES_VERSION = 3

# ---------------------------------------------------------------------------------------------------------
# Normalisation: undo the tricks spammers use to dodge word filters, so that "𝐜𝐡𝐞𝐜𝐤 𝐨𝐮𝐭", "ｃｈｅｃｋ",
# "ᴄʜᴇᴄᴋ", "сheck" (Cyrillic с) and "c\u200bheck" all become "check", and note that a trick was used.

_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFFA0]
    + list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + list(range(0x2060, 0x2070)),
)
# U+FEFF is dropped without a trace: in the YouTube corpus its presence depends on how a comment was
# collected and leaks the label (see docs/spam.md), so it must never become evidence.
_DROP = {0xFEFF: None, 0xFE0F: None, 0xFE0E: None}

_SMALL_CAPS = "ᴀʙᴄᴅᴇғɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ"
_FANCY_MAP: dict[int, str] = {}
for _i, _c in enumerate("abcdefghijklmnopqrstuvwxyz"):
    _FANCY_MAP[0x1F1E6 + _i] = _c  # regional indicator letters 🇦…🇿
    _FANCY_MAP[0x1F150 + _i] = _c  # negative circled 🅐…🅩
    _FANCY_MAP[0x1F170 + _i] = _c  # negative squared 🅰…🆉
    if _SMALL_CAPS[_i] != "x":
        _FANCY_MAP[ord(_SMALL_CAPS[_i])] = _c
_FANCY_MAP[ord("ѕ")] = "s"  # small caps s has no glyph of its own; Cyrillic dze stands in for it

# Cyrillic and Greek letters that look Latin. Applied only inside words that mix scripts, so Russian or
# Greek comments are left alone.
_CONFUSABLES = str.maketrans(
    "аеорсуххіјѕԁԛԝһкмтвнАВЕКМНОРСТХІЈЅοαινκτρυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxxijsdqwhkmtbhABEKMHOPCTXIJSoaivktpuxABEZHIKMNOPTYX",
)

# Latin letters that carry their mark inside the glyph, so NFD cannot strip it.
_LATIN_EXTRA = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", **dict(zip("łøđħŧıǝəɐƚð", "lodhtieeald", strict=True))}
)

_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)\b([^<>]{0,2000})>")
_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_REPEATS = re.compile(r"(.)\1{2,}")

_TLDS = (
    "com|net|org|info|biz|ru|io|co|me|ly|us|uk|de|fr|nl|pl|xyz|online|site|top|club|gl|gg|tk|cc|tv|in|pro|"
    "link|app|shop|store|live|life|fun|vip|win|bid|loan|work|click|space|website|tech|cn|su|ua|ws|to|be|it|es|"
    "br|ca|au|eu|ml|ga|cf|am|fm|sh|li|is|ai|one|finance|exchange|money|cash|market|trade|network|news|blog"
)
# Combining marks belong to the word they sit on ("ẹ̀" has no precomposed form and would split it).
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0900-\u0903\u093a-\u094f" + (
    "\u0981-\u0983\u09bc-\u09cd\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
)
_LETTER = rf"(?:[^\W\d_]|[{_MARKS}])"
_WORDISH = rf"(?:\w|[{_MARKS}])"
_TOKEN = re.compile(
    r"(?P<url>(?:https?://|www\.)[^\s<>\"'()\[\]{}]+)"
    r"|(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    rf"|(?P<domain>\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"'()]*)?)"
    rf"|(?P<mention>@{_WORDISH}+)"
    rf"|(?P<hashtag>#{_WORDISH}+)"
    r"|(?P<money>[$£€₹¥₦₿]\s?\d[\d,.]*(?:\s?[kmb]\b)?|\d[\d,.]*\s?[$£€₹¥₦₿])"
    # Not inside a dotted run of numbers: 192.168.123.0 and 2.6.32.1 are addresses and versions.
    r"|(?P<phone>\+\d{7,15}\b|(?<![\d.])\+?\(?\b\d{2,5}\)?[ .-]\d{3,4}[ .-]?\d{3,5}\b(?!\.\d))"
    r"|(?P<number>\d+(?:[.,:]\d+)*)"
    rf"|(?P<word>{_LETTER}+(?:['’]{_LETTER}+)*{_WORDISH}*|\w+)"
    r"|(?P<symbol>[^\w\s])",
    re.IGNORECASE,
)
# Chinese and Japanese are written without spaces, so a "word" of them is a whole clause, different in
# every comment: it is read as overlapping pairs of characters instead (most of their words are one or
# two characters), which comments share and a site can learn.
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK_SPLIT = re.compile(f"({_CJK_RUN.pattern})")  # a token cut at its runs of them, the runs kept
_CHAR_GRAMS = (3, 4, 5)
_CHAR_PREFIX = zlib.crc32(b"c:")  # crc32(b"c:" + gram) == crc32(gram, crc32(b"c:"))
_MAX_WORD = 24  # longer "words" are hashes, base64 or keyboard mashing: no n-grams from them
_MAX_CHARS = 4000  # only the start of a very long comment is read; scoring time stays bounded


def _normalise(text: str) -> tuple[str, list[str]]:
    """Return the comment's text as a reader would see it, and the evasion tricks that were undone."""
    tricks: list[str] = []
    if not text.isascii():
        text = text.translate(_DROP)
    text = text[:_MAX_CHARS]
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(_tag_replacement, text)
    if not text.isascii():
        cleaned = text.translate(_DROP)  # again: "&#65279;" is a U+FEFF too
        stripped = cleaned.translate(_INVISIBLE)
        if _invisible_inside_words(cleaned, stripped):
            tricks.append("invisible characters")
        fancy = stripped.translate(_FANCY_MAP)
        folded = unicodedata.normalize("NFKC", fancy)
        if fancy != stripped or _letters_changed(stripped, folded):
            tricks.append("fancy Unicode letters")
        text = folded
    return text, tricks


def _tag_replacement(match: re.Match[str]) -> str:
    # Keep a link's target (it is evidence) and turn line breaks into spaces; drop other markup.
    # A link within the page ("#comment-10", WordPress's reply link) goes nowhere: it is no evidence.
    href = _HREF.search(match.group(3)) if match.group(2).lower() == "a" else None
    return f" {href.group(1)} " if href and not href.group(1).startswith("#") else " "


def _invisible_inside_words(before: str, after: str) -> bool:
    if len(before) == len(after):
        return False
    return any(
        0 < i < len(before) - 1 and before[i - 1].isalnum() and before[i + 1].isalnum()
        for i, ch in enumerate(before)
        if ord(ch) in _INVISIBLE
    )


def _letters_changed(before: str, after: str) -> bool:
    """True when NFKC turned styled letters (𝐛𝐨𝐥𝐝, ｆｕｌｌ, Ⓒ) into plain ones, not merely ligatures or ½."""
    if len(before) != len(after):
        return sum(1 for ch in before if ch.isalpha() and not ch.isascii()) > 3 and after.isascii()
    changed = sum(1 for a, b in zip(before, after, strict=True) if a != b and b.isalnum() and b.isascii())
    return changed >= 3


# This and the memos below are pure functions of their text, the same in every process: never stale. Their
# sizes bound the memory they hold once a server has seen many distinct words: about 25 MB together (150 MB
# at sizes of 2^16-2^18); a comment's words are mostly common ones, which stay.
@lru_cache(maxsize=1 << 13)
def _fold_word(word: str) -> tuple[str, bool]:
    """Strip diacritics from Latin words ("hāźeł" → "hazel") and map look-alike letters in mixed-script
    words; the flag says whether the word mixed scripts (a homoglyph trick)."""
    scripts = {_script(ch) for ch in word if ch.isalpha()}
    mixed = "latin" in scripts and bool(scripts & {"cyrillic", "greek"})
    if mixed:
        word = word.translate(_CONFUSABLES)
    if scripts == {"latin"} or mixed:
        decomposed = unicodedata.normalize("NFD", word)
        word = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_LATIN_EXTRA)
    return word, mixed


def _script(ch: str) -> str:
    if ch.isascii():
        return "latin"
    name = unicodedata.name(ch, "")
    if name.startswith("LATIN"):
        return "latin"
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    if name.startswith("GREEK"):
        return "greek"
    return "other"


# ---------------------------------------------------------------------------------------------------------
# Features


@lru_cache(maxsize=1 << 15)
def _hash(key: str) -> int:
    # crc32 is stable across processes and Python versions, unlike hash(); the (bounded) cache makes
    # common tokens nearly free.
    crc = zlib.crc32(key.encode("utf-8", "surrogatepass"))
    if key[:2] in _SITE_NAMESPACES:
        return SITE_FEATURES.start + crc % len(SITE_FEATURES)
    return crc % (SITE_FEATURES.start - 1) + 1


def _word_grams(word: str) -> tuple[int, ...]:
    # Same ids as _hash(f"c:{gram}"), computed inline: a new word's dozen n-grams are the cold path.
    padded = f" {word} ".encode("utf-8", "surrogatepass")
    if padded.isascii():
        grams = [padded[i : i + n] for n in _CHAR_GRAMS for i in range(len(padded) - n + 1)]
    else:
        text = f" {word} "
        grams = [
            text[i : i + n].encode("utf-8", "surrogatepass")
            for n in _CHAR_GRAMS
            for i in range(len(text) - n + 1)
        ]
    modulus = SITE_FEATURES.start - 1
    crc32 = zlib.crc32
    return tuple(crc32(gram, _CHAR_PREFIX) % modulus + 1 for gram in grams)


def _registered_domain(host: str) -> str:
    labels = host.lower().strip(".").split(".")
    if labels[0] == "www":
        labels = labels[1:]
    if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2:  # example.co.uk
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


_URL_WORDS = re.compile(r"[a-z]{3,}")
# Compiled once, not looked up in ``re``'s cache for every comment.
_SCHEME = re.compile(r"^[a-z]+://")
_LINK_SCHEME = re.compile(r"^(?:https?://)?", re.IGNORECASE)
_NAME_WORD = re.compile(r"[^\W\d_]+")
_NAME_LINK = re.compile(rf"\.(?:{_TLDS})\b|https?://|www\.")


@dataclass(frozen=True, slots=True)
class Features:
    """The sparse hashed features of one comment, and what each stands for.

    ``values`` maps a feature id (1 ≤ id < DIMENSIONS; the bias, id 0, is implicit) to its value; the
    vector has unit length, so a comment's length does not scale its score. ``labels`` maps each id to
    the human-readable token it came from (a character n-gram is labelled with its word).
    """

    values: dict[int, float]
    labels: dict[int, str] = field(compare=False)

    def __len__(self) -> int:
        return len(self.values)


class _Builder:
    __slots__ = ("ids", "labels", "words")

    def __init__(self) -> None:
        self.ids: dict[int, float] = {}
        self.labels: dict[int, str] = {}
        self.words: dict[str, int] = {}  # the words of the word view, counted

    def add(self, key: str, label: str, value: float = 1.0) -> None:
        self.add_id(_hash(key), label, value)

    def add_id(self, fid: int, label: str, value: float = 1.0) -> None:
        self.ids[fid] = self.ids.get(fid, 0.0) + value
        if fid not in self.labels:
            self.labels[fid] = label

    def add_ids(self, ids: Iterable[int], label: str, value: float) -> None:
        counted, labels = self.ids, self.labels
        get = counted.get
        for fid in ids:
            counted[fid] = get(fid, 0.0) + value
            if fid not in labels:
                labels[fid] = label

    def build(self) -> Features:
        # Dividing by the square root of the vector's length, not the length itself, lets evidence add up
        # over a long comment without letting sheer length decide (it scored best in cross-validation).
        counted = list(self.ids.values())
        scale = sum(map(operator.mul, counted, counted)) ** _NORM_POWER or 1.0
        values = {fid: v / scale for fid, v in self.ids.items()}
        # The word view: the comment's words again, as a bag of words of unit length (the classic text
        # classifier's vector), so every word votes with the same share whatever else the comment holds.
        # Its ids are apart from the words' own ("v:" keys); a word's label is the word, so explanations
        # add both up.
        words = self.words
        if words and _WORD_VIEW:
            norm = sum(c * c for c in words.values()) ** 0.5 / _WORD_VIEW
            for word, count in words.items():
                fid = _hash(f"v:{word}")
                values[fid] = values.get(fid, 0.0) + count / norm
                if fid not in self.labels:
                    self.labels[fid] = word
        return Features(values, self.labels)


# Relative strength of each kind of feature before the vector is scaled to unit length. Character n-grams
# are many per word, so each counts for less than a word.
_GRAM_VALUE = 0.35
_NORM_POWER = 0.25
_WORD_VIEW = 1.0  # length of the word view's vector beside the rest (see _Builder.build)


def extract(text: str, *, author: str = "", website: str = "") -> Features:
    """The features of a comment's text, its author's name and the website the author gave."""
    b = _Builder()
    text, tricks = _normalise(text)
    for trick in tricks:
        b.add(f"x:{trick}", trick)
    _shape(b, text)
    previous = "<start>"
    mixed_scripts = False
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        lexeme: str
        if kind == "word":
            word = token.lower()
            if not word.isascii():
                if _CJK_RUN.search(word):
                    lexeme = _cjk_words(b, word)
                    b.add(f"b:{previous} {lexeme}", _bigram_label(previous, lexeme))
                    previous = lexeme
                    continue
                word, mixed = _fold_word(word)
                mixed_scripts = mixed_scripts or mixed
            lexeme = _word(b, word)
        elif kind == "symbol":
            # Emoji and other symbols; not the accents (` ´ ^) that stand in for apostrophes and mark
            # code in Markdown.
            if unicodedata.category(token) in ("Sm", "Sc", "So"):
                b.add(f"w:{token}", token)
                lexeme = token
            else:
                if token in "!?" and match.end() < len(text) and text[match.end()] in "!?":
                    b.add("p:!!", "!!!")
                continue
        elif kind in ("url", "domain"):
            lexeme = "<url>"
            _link(b, token, bare=kind == "domain")
        elif kind == "email":
            lexeme = "<email>"
            b.add("e:any", "an e-mail address")
            b.add(f"d:{_registered_domain(token.rsplit('@', 1)[1])}", token.rsplit("@", 1)[1].lower())
        elif kind == "mention":
            lexeme = "<@>"
            b.add("m:lead" if previous == "<start>" else "m:inline", "@mention")
        elif kind == "hashtag":
            lexeme = "<#>"
            tag = token[1:].lower()
            if not tag.isascii():
                tag = _fold_word(tag)[0]
            b.add("h:any", "#hashtag")
            b.add(f"w:{tag}", token.lower())
        elif kind == "money":
            lexeme = "<money>"
            digits = sum(ch.isdigit() for ch in token)
            b.add("$:any", "an amount of money")
            b.add(f"$:{min(digits, 6)}", token)
        elif kind == "phone":
            digits = sum(ch.isdigit() for ch in token)
            if digits >= 7:
                lexeme = "<phone>"
                b.add("n:phone", "a phone number")
            else:
                lexeme = "<num>"
                b.add(f"n:{min(digits, 6)}", token)
        else:  # number
            digits = sum(ch.isdigit() for ch in token)
            if token.count(".") >= 2:  # an address or a version (192.168.1.10, 2.6.32), never a phone
                lexeme = "<num>"
                b.add("n:dotted", token)
            else:
                lexeme = "<num>" if digits < 7 else "<phone>"
                b.add(f"n:{min(digits, 7)}", token if digits < 7 else "a long number")
        # bigrams with a link are site features too ("u:" namespace), like the link itself
        namespace = "u:" if "<url>" in (previous, lexeme) or "<email>" in (previous, lexeme) else "b:"
        b.add(f"{namespace}{previous} {lexeme}", _bigram_label(previous, lexeme))
        previous = lexeme
    if mixed_scripts:
        b.add("x:mixed scripts", "look-alike letters from other alphabets")
    if author:
        _author(b, author)
    if website:
        host = _SCHEME.sub("", website.strip().lower()).split("/", 1)[0]
        b.add("s:any", "a website")
        if host:
            b.add(f"s:{_registered_domain(host)}", f"website {host}")
    return b.build()


def _word(b: _Builder, word: str) -> str:
    word, fid, grams = _word_ids(word)
    b.add_id(fid, word)
    if len(word) > 1:
        b.words[word] = b.words.get(word, 0) + 1
    if grams:
        b.add_ids(grams, word, _GRAM_VALUE)
    return word


@lru_cache(maxsize=1 << 14)  # its n-grams' ids with it: the cold path for a new word
def _word_ids(word: str) -> tuple[str, int, tuple[int, ...]]:
    """A word as it is counted (a letter repeated thrice or more cut to two), its id and its character
    n-grams' ids (none for a long "word" or a number): the same for every comment that holds it."""
    if len(word) > 3:
        word = _REPEATS.sub(r"\1\1", word)
    grams = _word_grams(word) if len(word) <= _MAX_WORD and not word.isdigit() else ()
    return word, _hash(f"w:{word}"), grams


def _cjk_words(b: _Builder, token: str) -> str:
    """A token with Chinese or Japanese in it: each run of those characters as its overlapping pairs of
    characters (a lone character as itself), any other letters in it as words; returns the last."""
    last = token
    for part in _CJK_SPLIT.split(token):
        if not part:
            continue
        if not _CJK_RUN.fullmatch(part):
            last = _word(b, _fold_word(part)[0])
            continue
        for pair in [part[i : i + 2] for i in range(len(part) - 1)] or [part]:
            b.add(f"w:{pair}", pair)
            b.words[pair] = b.words.get(pair, 0) + 1
            last = pair
    return last


_PLACEHOLDERS = {
    "<start>": "",
    "<url>": "[link]",
    "<email>": "[e-mail]",
    "<@>": "@[name]",
    "<#>": "#[tag]",
    "<money>": "[amount]",
    "<phone>": "[phone number]",
    "<num>": "[number]",
}


@lru_cache(maxsize=1 << 12)  # a label for each bigram, though only a new id keeps it
def _bigram_label(first: str, second: str) -> str:
    return " ".join(w for w in (_PLACEHOLDERS.get(first, first), _PLACEHOLDERS.get(second, second)) if w)


def _shape(b: _Builder, text: str) -> None:
    # No length feature: each corpus has its own length profile (short Instagram ham, long YouTube spam),
    # and on a blog short is no sign of innocence ("Great post, thanks for sharing!" is classic spam).
    if text.isascii():
        # Counted by C loops: in ASCII every capital is a letter and there is no symbol art.
        letters, upper = sum(map(str.isalpha, text)), sum(map(str.isupper, text))
    else:
        letters = upper = 0
        for ch in text:
            if ch.isalpha():  # not "Ⓐ", which is a capital and no letter
                letters += 1
                upper += ch.isupper()
        if sum(1 for ch in text if "\u2500" <= ch <= "\u25ff") >= 6:  # box drawing, blocks, shapes
            b.add("k:symbol art", "symbol art")
    if letters >= 8:
        ratio = upper / letters
        if ratio >= 0.6:
            b.add("k:shouting", "SHOUTING")
        elif ratio >= 0.25:
            b.add("k:many capitals", "Many Capitals")


def _link(b: _Builder, token: str, *, bare: bool) -> None:
    b.add("u:any", "a link")
    if bare:
        b.add("u:bare", "a bare domain name")
    rest = _LINK_SCHEME.sub("", token)
    host, _, path = rest.partition("/")
    host = host.split("@")[-1].split(":")[0].lower()
    if not host:
        return
    domain = _registered_domain(host)
    b.add(f"d:{domain}", domain)
    b.add(f"t:{domain.rsplit('.', 1)[-1]}", f".{domain.rsplit('.', 1)[-1]} link")
    if path:
        b.add("u:path", "a link")
        for word in _URL_WORDS.findall(path.lower())[:8]:
            b.add(f"up:{word}", f"a link with {word!r}")


def _author(b: _Builder, author: str) -> None:
    name, _ = _normalise(author)
    name = name.lower()
    b.add("a:any", "an author name")
    for word in _NAME_WORD.findall(name)[:6]:
        b.add(f"a:{word}", f"author {word!r}")
    if sum(ch.isdigit() for ch in name) >= 3:
        b.add("a:digits", "digits in the author name")
    if _NAME_LINK.search(name):
        b.add("a:link", "a link as the author name")


def feature_id(key: str) -> int:
    """The id of a namespaced feature key (``"k:shouting"``), for models that leave some features out."""
    return _hash(key)
