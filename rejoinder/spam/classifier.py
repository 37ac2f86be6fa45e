"""The statistical text classifier: hashed features of a comment and a linear spam log-odds model over them.

Scoring is pure Python (dict and array lookups, no numpy) so that one comment costs well under a
millisecond. The weights are the shipped prior (trained on public corpora, ``data/prior.bin.gz``) plus a
site's own deltas, learned online from its moderators' decisions. Batch training (``Model.fit``) uses
numpy and is only needed by ``rejoinder spam train`` and the evaluation tools.
"""

from __future__ import annotations

import gzip
import html
import json
import math
import re
import struct
import unicodedata
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from rejoinder.spam import threshold
from rejoinder.spam.verdict import Thresholds

# Feature ids live in [1, DIMENSIONS); id 0 is the bias. 2**20 keeps collisions rare for the few hundred
# thousand n-grams a prior holds while the dense prior array stays at 4 MB of float32.
DIMENSIONS = 1 << 20
BIAS = 0
# Online learning keeps counts of a site's decisions beside its weights, in the same flat delta dict
# (ids at and above DIMENSIONS never reach a score): per feature, then in total.
SPAM_DECISIONS = 3 * DIMENSIONS
HAM_DECISIONS = 3 * DIMENSIONS + 1
# Features whose meaning depends on the site: links and their domains, e-mail addresses, the author's
# name and website. In the public corpora nearly every link is spam, on a blog readers link to docs and
# bug trackers, so the shipped prior leaves these at zero and each site learns them from its moderators
# (the link heuristics signal judges links meanwhile). They are hashed into an id range of their own.
SITE_FEATURES = range(DIMENSIONS - (1 << 16), DIMENSIONS)
_SITE_NAMESPACES = frozenset({"u:", "up", "d:", "t:", "e:", "a:", "s:"})
NB_SMOOTHING = 0.5  # additive smoothing of the naive-Bayes feature scaling (batch and online)
NB_FLOOR = 0.1  # the smallest scale of a feature, for one as common in spam as in ham
# Online, a feature's frequency in a class of the site's decisions is smoothed toward this, not toward ½:
# with five spam and no ham decided yet, a word in two of the spam should lean spam, not look commoner in
# the ham nobody has seen.
NB_PRIOR_FREQUENCY = 0.1
_MEMO_LIMIT = 1 << 18  # site weights memoised per model before the memo starts over
# Bump whenever ``extract`` changes what a text hashes to: a prior only makes sense with the features it
# was trained on, and loading one made for another version fails instead of scoring nonsense.
FEATURES_VERSION = 2
PRIOR_FILE = "prior.bin.gz"
_MAGIC = b"REJOINDER-SPAM-PRIOR 1\n"

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
    r"|(?P<phone>\+\d{7,15}\b|\+?\(?\b\d{2,5}\)?[ .-]\d{3,4}[ .-]?\d{3,5}\b)"
    r"|(?P<number>\d+(?:[.,:]\d+)*)"
    rf"|(?P<word>{_LETTER}+(?:['’]{_LETTER}+)*{_WORDISH}*|\w+)"
    r"|(?P<symbol>[^\w\s])",
    re.IGNORECASE,
)
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
    href = _HREF.search(match.group(3)) if match.group(2).lower() == "a" else None
    return f" {href.group(1)} " if href else " "


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


@lru_cache(maxsize=1 << 14)
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


@lru_cache(maxsize=1 << 18)
def _hash(key: str) -> int:
    # crc32 is stable across processes and Python versions, unlike hash(); the (bounded) cache makes
    # common tokens nearly free.
    crc = zlib.crc32(key.encode("utf-8", "surrogatepass"))
    if key[:2] in _SITE_NAMESPACES:
        return SITE_FEATURES.start + crc % len(SITE_FEATURES)
    return crc % (SITE_FEATURES.start - 1) + 1


@lru_cache(maxsize=1 << 16)
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


@dataclass(frozen=True, slots=True)
class Features:
    """The sparse hashed features of one comment, and what each stands for.

    ``values`` maps a feature id (1 ≤ id < DIMENSIONS; the bias, id 0, is implicit) to its value; the
    vector has unit length, so a comment's length does not scale its score. ``labels`` maps each id to
    the human-readable token it came from (a character n-gram is labelled with its word).
    ``norm2`` is the squared length of ``values``.
    """

    values: dict[int, float]
    labels: dict[int, str] = field(compare=False)

    @property
    def norm2(self) -> float:
        return sum(v * v for v in self.values.values())

    def __len__(self) -> int:
        return len(self.values)


class _Builder:
    __slots__ = ("ids", "labels", "words")

    def __init__(self) -> None:
        self.ids: dict[int, float] = {}
        self.labels: dict[int, str] = {}
        self.words: dict[str, int] = {}  # the words of the word view, counted

    def add(self, key: str, label: str, value: float = 1.0) -> None:
        fid = _hash(key)
        self.ids[fid] = self.ids.get(fid, 0.0) + value
        if fid not in self.labels:
            self.labels[fid] = label

    def add_ids(self, ids: Iterable[int], label: str, value: float) -> None:
        get = self.ids.get
        for fid in ids:
            self.ids[fid] = get(fid, 0.0) + value
            if fid not in self.labels:
                self.labels[fid] = label

    def build(self) -> Features:
        # Dividing by the square root of the vector's length, not the length itself, lets evidence add up
        # over a long comment without letting sheer length decide (it scored best in cross-validation).
        scale = sum(v * v for v in self.ids.values()) ** _NORM_POWER or 1.0
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
                word, mixed = _fold_word(word)
                mixed_scripts = mixed_scripts or mixed
            if len(word) > 3:
                word = _REPEATS.sub(r"\1\1", word)
            b.add(f"w:{word}", word)
            if len(word) > 1:
                b.words[word] = b.words.get(word, 0) + 1
            if len(word) <= _MAX_WORD and not word.isdigit():
                b.add_ids(_word_grams(word), word, _GRAM_VALUE)
            lexeme = word
        elif kind == "symbol":
            if unicodedata.category(token).startswith("S"):  # emoji and other symbols
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
        host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/", 1)[0]
        b.add("s:any", "a website")
        if host:
            b.add(f"s:{_registered_domain(host)}", f"website {host}")
    return b.build()


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


def _bigram_label(first: str, second: str) -> str:
    return " ".join(w for w in (_PLACEHOLDERS.get(first, first), _PLACEHOLDERS.get(second, second)) if w)


def _shape(b: _Builder, text: str) -> None:
    # No length feature: each corpus has its own length profile (short Instagram ham, long YouTube spam),
    # and on a blog short is no sign of innocence ("Great post, thanks for sharing!" is classic spam).
    letters = upper = 0
    for ch in text:
        if ch.isalpha():
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
    rest = re.sub(r"^(?:https?://)?", "", token, flags=re.IGNORECASE)
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
    for word in re.findall(r"[^\W\d_]+", name)[:6]:
        b.add(f"a:{word}", f"author {word!r}")
    if sum(ch.isdigit() for ch in name) >= 3:
        b.add("a:digits", "digits in the author name")
    if re.search(rf"\.(?:{_TLDS})\b|https?://|www\.", name):
        b.add("a:link", "a link as the author name")


# ---------------------------------------------------------------------------------------------------------
# The model


class Model:
    """A linear spam log-odds model over hashed features: a shared prior plus one site's learned deltas.

    The prior is a dense float32 array shared by every ``with_site`` copy; the deltas are a small dict
    that moderator decisions change through ``learn`` (and ``unlearn``, which undoes one). A feature's
    weight is its prior weight, plus its learned delta, plus ``NB_WEIGHT`` times its naive-Bayes
    log-count ratio among the site's decisions (counted in the same dict): the counts are exact whatever
    the order the decisions came in, which one-pass gradient steps alone are not.
    """

    __slots__ = ("_prior", "_deltas", "_site_weights", "learning_rate", "meta")

    # A decision's gradient step moves the comment's own log-odds by learning_rate·w·(y − p), w the class
    # balance (1 when a site's decisions are half spam): a confident mistake moves by about 1.5, and the
    # decision's counts move the naive-Bayes part on top of that.
    LEARNING_RATE = 1.5
    # The site's base rate moves by this much per unit of error: slowly, because moderators decide a
    # biased sample (held and reported comments), not the site's comments at large, and a wave of one
    # campaign must not tip every later comment.
    BIAS_STEP = 0.02
    # Naive Bayes double-counts correlated features (a word and its character n-grams), so its ratios
    # enter at a fifth of their size (NBSVM's interpolation, Wang & Manning 2012). Chosen by streamed
    # cross-validation on the three spam corpora (docs/spam.md, "Online learning").
    NB_WEIGHT = 0.2

    def __init__(
        self,
        prior: array | None = None,
        deltas: Mapping[int, float] | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._prior = prior
        # A dict is adopted, not copied (a site's deltas can be large): learn/unlearn update it in place.
        self._deltas: dict[int, float] = deltas if isinstance(deltas, dict) else dict(deltas or {})
        # Memo of each scored feature's site weight (delta + naive-Bayes part), so that a site model
        # loaded once and shared costs one lookup per feature; learning clears it.
        self._site_weights: dict[int, float] = {}
        self.learning_rate = self.LEARNING_RATE
        self.meta: dict[str, Any] = dict(meta or {})

    # -- construction

    @classmethod
    def shipped(cls) -> Model:
        """The prior that ships with Rejoinder (loaded once per process)."""
        return _shipped()

    @classmethod
    def empty(cls) -> Model:
        """No prior: every weight zero, for training from scratch."""
        return cls()

    @classmethod
    def load(cls, path: str | Path) -> Model:
        with open(path, "rb") as fh:
            return cls.from_bytes(fh.read())

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        indices, weights, meta = _decode(data)
        prior = array("f", bytes(4 * DIMENSIONS))
        for i, w in zip(indices, weights, strict=True):
            prior[i] = w
        return cls(prior, meta=meta)

    def with_site(self, deltas: Mapping[int, float]) -> Model:
        """This model's prior with a site's learned deltas: cheap, as neither is copied.

        The prior is shared; a ``dict`` of deltas is adopted, so ``learn``/``unlearn`` on the returned
        model change that dict too (pass a copy to keep the original).
        """
        model = Model(self._prior, deltas, meta=self.meta)
        model.learning_rate = self.learning_rate
        return model

    @property
    def deltas(self) -> dict[int, float]:
        """A copy of the site's learned deltas."""
        return dict(self._deltas)

    def weight(self, feature: int) -> float:
        """The weight of a feature id: prior + learned delta + the naive-Bayes part."""
        if not 0 <= feature < DIMENSIONS:
            raise ValueError(f"feature ids are 0 ≤ id < {DIMENSIONS}")
        prior = self._prior[feature] if self._prior is not None else 0.0
        if not self._deltas:
            return prior
        if feature == BIAS:
            return prior + self._deltas.get(BIAS, 0.0)
        return prior + self._site_weight(feature)

    def _site_weight(self, feature: int) -> float:
        """What the site's decisions add to a feature's prior weight: its learned delta plus
        ``NB_WEIGHT`` times its naive-Bayes ratio among those decisions (memoised)."""
        memo = self._site_weights.get(feature)
        if memo is not None:
            return memo
        weight = self._deltas.get(feature, 0.0) + self.NB_WEIGHT * self._site_ratio(feature)
        if len(self._site_weights) > _MEMO_LIMIT:
            self._site_weights.clear()  # novel n-grams of ever new comments must not grow it forever
        self._site_weights[feature] = weight
        return weight

    def _site_ratio(self, feature: int) -> float:
        """The feature's naive-Bayes log-count ratio among this site's decisions (0 when unseen)."""
        get = self._deltas.get
        in_spam, in_ham = get(DIMENSIONS + feature, 0.0), get(2 * DIMENSIONS + feature, 0.0)
        if not (in_spam or in_ham):
            return 0.0
        return _ratio(in_spam, in_ham, get(SPAM_DECISIONS, 0.0), get(HAM_DECISIONS, 0.0))

    # -- scoring

    def log_odds(self, f: Features) -> float:
        """Calibrated spam log-odds of the comment: 0 means unsure, each +2.2 multiplies the odds by 9.

        The bias plus the sum of ``weight(id) · value`` over the comment's features."""
        prior = self._prior
        total = 0.0
        if prior is not None:
            total = prior[BIAS]
            for fid, value in f.values.items():
                total += prior[fid] * value
        if self._deltas:
            total += self._deltas.get(BIAS, 0.0)
            memo = self._site_weights.get
            site_weight = self._site_weight
            for fid, value in f.values.items():
                w = memo(fid)
                total += (site_weight(fid) if w is None else w) * value
        return total

    def probability(self, f: Features) -> float:
        return _sigmoid(self.log_odds(f))

    def contributions(self, f: Features) -> dict[str, float]:
        """Each human-readable token's share of the log-odds (bias excluded), character n-grams summed."""
        shares: dict[str, float] = {}
        for fid, value in f.values.items():
            w = self.weight(fid) * value
            if w:
                label = f.labels.get(fid, "?")
                shares[label] = shares.get(label, 0.0) + w
        return shares

    def explain(self, f: Features, n: int = 3) -> list[str]:
        """The tokens that push the comment most toward spam, strongest first."""
        ranked = sorted(self.contributions(f).items(), key=lambda item: (-item[1], item[0]))
        chosen: list[str] = []
        for label, share in ranked:
            if share <= 0.05 or len(chosen) >= n:
                break
            if any(label in other or other in label for other in chosen):
                continue  # "check" adds nothing next to "check out"
            chosen.append(label)
        return chosen

    # -- online learning

    def learn(self, f: Features, is_spam: bool) -> dict[int, float]:
        """Move the site's weights toward a moderator's decision; return the delta that was applied.

        Two parts. The decision is counted: per feature of the comment, under ids ``DIMENSIONS + id``
        (spam) and ``2·DIMENSIONS + id`` (ham), with the totals at ``SPAM_DECISIONS``/``HAM_DECISIONS``;
        the counts give each feature its naive-Bayes ratio in ``weight`` and ``log_odds``. And one
        logistic-regression step on what the model still gets wrong moves this comment's own log-odds by
        ``learning_rate·w·(y − p)`` and the site's bias by ``BIAS_STEP·w·(y − p)``: a comment already
        scored confidently right changes little, a confident mistake a lot. The step is shared among the
        comment's features in proportion to the square of their ratios (the online form of the scaling
        ``fit`` uses), so words common to both classes move little. ``w`` weighs the rarer class up
        (¼ to 4), as ``fit`` does.

        Counts and steps add up alike, so a store persists the delta as it is and ``unlearn`` undoes it.
        """
        deltas = self._deltas
        get = deltas.get
        spam_seen, ham_seen = get(SPAM_DECISIONS, 0.0), get(HAM_DECISIONS, 0.0)
        same = spam_seen if is_spam else ham_seen
        balance = min(4.0, max(0.25, (spam_seen + ham_seen + 2.0) / (2.0 * (same + 1.0))))
        error = balance * ((1.0 if is_spam else 0.0) - self.probability(f))
        squares: dict[int, float] = {}
        for fid in f.values:
            in_spam, in_ham = get(DIMENSIONS + fid, 0.0), get(2 * DIMENSIONS + fid, 0.0)
            ratio = _ratio(in_spam, in_ham, spam_seen, ham_seen)
            squares[fid] = max(abs(ratio), NB_FLOOR) ** 2
        spread = sum(v * v * squares[fid] for fid, v in f.values.items())
        step = self.learning_rate * error / spread if spread else 0.0
        delta = {fid: step * v * squares[fid] for fid, v in f.values.items()}
        delta[BIAS] = self.BIAS_STEP * error
        counts = DIMENSIONS if is_spam else 2 * DIMENSIONS
        for fid in f.values:
            delta[counts + fid] = 1.0
        delta[SPAM_DECISIONS if is_spam else HAM_DECISIONS] = 1.0
        self._apply(delta, 1.0)
        return delta

    def unlearn(self, delta: Mapping[int, float]) -> None:
        """Undo a decision: subtract the delta that ``learn`` returned for it."""
        self._apply(delta, -1.0)

    def _apply(self, delta: Mapping[int, float], sign: float) -> None:
        self._site_weights.clear()  # the totals changed, and with them every feature's ratio
        deltas = self._deltas
        for fid, d in delta.items():
            value = deltas.get(fid, 0.0) + sign * d
            if abs(value) < 1e-12:
                deltas.pop(fid, None)
            else:
                deltas[fid] = value

    # -- batch training

    def fit(
        self,
        examples: Iterable[tuple[Features, bool]],
        options: TrainingOptions | None = None,
        *,
        weights: Sequence[float] | None = None,
    ) -> Model:
        """Train on labelled comments in batch; return a new model whose prior is the result.

        Regularised logistic regression (L-BFGS, deterministic) on naive-Bayes-scaled features, with the
        classes weighted to equal total weight (on top of any per-example ``weights``), started from and
        pulled toward this model's weights (zero for ``Model.empty()``), then calibrated by Platt
        scaling on out-of-fold scores so that the log-odds mean what they say.
        """
        listed = list(examples)
        if weights is not None and len(weights) != len(listed):
            raise ValueError("one weight per example")
        return _fit(self, listed, options or TrainingOptions(), weights)

    def _combined(self) -> Any:
        """All weights (prior + deltas) as a numpy array indexed by feature id (training only)."""
        import numpy as np

        if self._prior is None:
            weights = np.zeros(DIMENSIONS)
        else:
            weights = np.frombuffer(self._prior, dtype=np.float32).astype(np.float64)
        for fid, d in self._deltas.items():
            if fid < DIMENSIONS:
                weights[fid] += d
        return weights

    def to_bytes(self) -> bytes:
        """The combined weights as a compact, byte-for-byte reproducible prior file."""
        import numpy as np

        weights = self._combined()
        indices = np.flatnonzero(weights)
        return _encode(indices, weights[indices], self.meta)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())


@dataclass(frozen=True)
class TrainingOptions:
    """Knobs of ``Model.fit``; the defaults are the ones the shipped prior and the docs' figures use."""

    l2: float = 1e-4  # per example weight; scaled by the number of examples
    max_iterations: int = 300
    calibration_folds: int = 4  # 0 or 1: no calibration
    balance_classes: bool = True
    prune_below: float = 0.0  # drop weights smaller than this from the result (keeps the file small)
    site_features: bool = True  # False: leave SITE_FEATURES at zero (the shipped prior)
    base_log_odds: float = 0.0  # added to the calibrated bias: the odds of spam assumed for a site
    nb_smoothing: float = NB_SMOOTHING  # 0 turns the naive-Bayes feature scaling off
    nb_floor: float = NB_FLOOR


def lesson_ids(f: Features) -> set[int]:
    """The site delta ids that scoring ``f`` and learning a decision on it read: its features' weights and
    counts, the bias and the decision totals. A model holding only these learns exactly what the whole
    site model would, so a store need load no more to teach."""
    ids = {BIAS, SPAM_DECISIONS, HAM_DECISIONS}
    for fid in f.values:
        ids.update((fid, DIMENSIONS + fid, 2 * DIMENSIONS + fid))
    return ids


def _ratio(in_spam: float, in_ham: float, spam_seen: float, ham_seen: float) -> float:
    """Naive-Bayes log-count ratio of a feature seen in ``in_spam`` of ``spam_seen`` spam decisions and
    ``in_ham`` of ``ham_seen`` ham ones, each class's frequency smoothed toward ``NB_PRIOR_FREQUENCY``.

    The smoothing is the same for both classes, so one more decision of a class never moves a feature
    of that comment away from the class (a property test checks it)."""
    a = NB_SMOOTHING
    b = NB_SMOOTHING / NB_PRIOR_FREQUENCY
    return math.log((in_spam + a) / (spam_seen + b)) - math.log((in_ham + a) / (ham_seen + b))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-min(x, 60.0)))
    e = math.exp(max(x, -60.0))
    return e / (1.0 + e)


# ---------------------------------------------------------------------------------------------------------
# The prior file: magic line, JSON header line, then gzip'd little-endian arrays of sorted feature ids
# (as gaps, uint32) and weights quantised to int16 with the scale given in the header.


def _encode(indices: Any, weights: Any, meta: Mapping[str, Any]) -> bytes:
    import numpy as np

    top = float(np.max(np.abs(weights))) if len(weights) else 1.0
    scale = (top or 1.0) / 32767.0
    gaps = np.diff(indices, prepend=0).astype("<u4")
    header = dict(meta, count=len(indices), scale=scale, dimensions=DIMENSIONS, features=FEATURES_VERSION)
    body = (
        json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        + b"\n"
        + gaps.tobytes()
        + np.rint(weights / scale).astype("<i2").tobytes()
    )
    return _MAGIC + gzip.compress(body, compresslevel=9, mtime=0)


def _decode(data: bytes) -> tuple[list[int], list[float], dict[str, Any]]:
    if not data.startswith(_MAGIC):
        raise ValueError("not a Rejoinder spam prior file")
    body = gzip.decompress(data[len(_MAGIC) :])
    line, _, rest = body.partition(b"\n")
    header: dict[str, Any] = json.loads(line)
    if header.get("dimensions") != DIMENSIONS or header.get("features") != FEATURES_VERSION:
        raise ValueError("the prior file was made for another version of the features; train it again")
    count = int(header["count"])
    gaps = struct.unpack_from(f"<{count}I", rest, 0)
    quantised = struct.unpack_from(f"<{count}h", rest, 4 * count)
    indices: list[int] = []
    at = 0
    for gap in gaps:
        at += gap
        indices.append(at)
    scale = float(header["scale"])
    meta = {k: v for k, v in header.items() if k not in ("count", "scale", "dimensions", "features")}
    return indices, [q * scale for q in quantised], meta


@cache
def _shipped() -> Model:
    data = resources.files("rejoinder.spam").joinpath("data", PRIOR_FILE).read_bytes()
    return Model.from_bytes(data)


def shipped_prior_path() -> Path:
    """Where the shipped prior lives in the source tree (the default output of ``spam train``)."""
    return Path(__file__).with_name("data") / PRIOR_FILE


# ---------------------------------------------------------------------------------------------------------
# Batch training (numpy, imported only here: scoring never needs it)


def _fit(
    start: Model,
    examples: list[tuple[Features, bool]],
    options: TrainingOptions,
    given: Sequence[float] | None,
) -> Model:
    import numpy as np

    if not examples:
        raise ValueError("no examples to train on")
    features = [f for f, _ in examples]
    if not options.site_features:
        first = SITE_FEATURES.start
        features = [Features({i: v for i, v in f.values.items() if i < first}, f.labels) for f in features]
    y = np.array([1.0 if spam else 0.0 for _, spam in examples])
    matrix = _Matrix.of(features)
    center_all = start._combined()
    center = center_all[matrix.columns]
    weights = _class_weights(y, np.ones(len(y)) if given is None else np.asarray(given, float), options)
    bias0 = float(center_all[BIAS])
    w, bias = _train(matrix, y, weights, center, bias0, options)
    scale, shift = 1.0, 0.0
    learned = None
    if options.calibration_folds > 1 and 0 < y.sum() < len(y):
        scores = np.zeros(len(y))
        for fold in _stratified_folds(y, options.calibration_folds):
            train = np.setdiff1d(np.arange(len(y)), fold)
            sub = matrix.rows(train)
            fw, fb = _train(sub, y[train], weights[train], center[sub.local], bias0, options)
            test = matrix.rows(fold)
            placed = np.array(center)  # columns unseen in this fold's training set keep their centre weight
            placed[sub.local] = fw
            scores[fold] = test.dot(placed[test.local]) + fb
        scale, shift = _platt(scores, y, weights)
        # The out-of-fold scores are what a site's decided comments had been given before the decision:
        # they say where this model's spam threshold belongs (``threshold.learn``).
        held_out = 1.0 / (1.0 + np.exp(-(scale * scores + shift + options.base_log_odds)))
        learned = threshold.learn(
            list(zip(held_out.tolist(), (y > 0).tolist(), strict=True)),
            floor=Thresholds.hold,
            ceiling=Thresholds.discard,
        )
    trained = center_all.copy()
    trained[matrix.columns] = w
    trained[BIAS] = bias
    trained *= scale
    trained[BIAS] += shift + options.base_log_odds
    if options.prune_below > 0:
        trained[np.abs(trained) < options.prune_below] = 0.0
        trained[BIAS] = bias * scale + shift + options.base_log_odds
    prior = array("f", trained.astype("<f4").tobytes())
    meta = {
        "examples": len(y),
        "spam": int(y.sum()),
        "calibration": [round(scale, 6), round(shift, 6)],
        "base_log_odds": options.base_log_odds,
    }
    if learned is not None:
        meta["spam_threshold"] = round(learned.threshold, 6)
    return Model(prior, meta=meta)


class _Matrix:
    """Rows of hashed features as a compact sparse matrix (columns renumbered to those in use)."""

    def __init__(self, indptr: Any, cols: Any, data: Any, ncols: int, local: Any, columns: Any) -> None:
        import numpy as np

        self.indptr, self.cols, self.data, self.ncols = indptr, cols, data, ncols
        self.row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        self.local = local  # which compact columns of the parent matrix these columns are
        self.columns = columns  # global feature ids of the columns

    @classmethod
    def of(cls, features: Sequence[Features]) -> _Matrix:
        import numpy as np

        lengths = [len(f.values) for f in features]
        ids = np.fromiter((i for f in features for i in f.values), dtype=np.int64, count=sum(lengths))
        data = np.fromiter((v for f in features for v in f.values.values()), dtype=np.float64, count=len(ids))
        columns, cols = np.unique(ids, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return cls(indptr, cols, data, len(columns), np.arange(len(columns)), columns)

    def rows(self, which: Any) -> _Matrix:
        import numpy as np

        starts, ends = self.indptr[which], self.indptr[which + 1]
        spans = [np.arange(s, e) for s, e in zip(starts, ends, strict=True)]
        take = np.concatenate(spans).astype(int) if spans else np.zeros(0, dtype=int)
        local, cols = np.unique(self.cols[take], return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(ends - starts)])
        return _Matrix(indptr, cols, self.data[take], len(local), local, self.columns[local])

    def dot(self, w: Any) -> Any:
        import numpy as np

        return np.bincount(self.row_of, weights=self.data * w[self.cols], minlength=len(self.indptr) - 1)

    def tdot(self, r: Any) -> Any:
        import numpy as np

        return np.bincount(self.cols, weights=self.data * r[self.row_of], minlength=self.ncols)


def _class_weights(y: Any, given: Any, options: TrainingOptions) -> Any:
    """Example weights with mean 1: as given, and (by default) scaled so that both classes weigh half."""
    import numpy as np

    n = len(y)
    spam, ham = given[y > 0].sum(), given[y <= 0].sum()
    if not options.balance_classes or spam == 0 or ham == 0:
        return given * (n / given.sum())
    return np.where(y > 0, given * n / (2 * spam), given * n / (2 * ham))


def _stratified_folds(y: Any, k: int) -> list[Any]:
    import numpy as np

    folds: list[list[int]] = [[] for _ in range(k)]
    for label in (0.0, 1.0):
        members = sorted(np.flatnonzero(y == label).tolist(), key=lambda i: _mix64(i))
        for j, i in enumerate(members):
            folds[j % k].append(i)
    return [np.array(sorted(f), dtype=int) for f in folds]


def _mix64(i: int) -> int:
    z = (i + 1) * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def _train(
    x: _Matrix, y: Any, sw: Any, center: Any, bias0: float, options: TrainingOptions
) -> tuple[Any, float]:
    """Logistic regression on features rescaled by their naive-Bayes log-count ratio (NBSVM, Wang &
    Manning 2012), returned as weights on the original features.

    Rescaling feature k by s_k is the same as dividing its L2 penalty by s_k²: words that tell the
    classes apart are shrunk less, words common to both are shrunk more.
    """
    import numpy as np

    if options.nb_smoothing <= 0:
        return _logistic(x, y, sw, center, bias0, options)
    alpha = options.nb_smoothing
    present = (x.data > 0) * sw[x.row_of]  # weighted document counts
    spam_rows = y[x.row_of] > 0
    in_spam = np.bincount(x.cols, weights=present * spam_rows, minlength=x.ncols)
    in_ham = np.bincount(x.cols, weights=present * ~spam_rows, minlength=x.ncols)
    n_spam, n_ham = float(sw[y > 0].sum()), float(sw[y <= 0].sum())
    ratio = np.log((in_spam + alpha) / (n_spam + 2 * alpha)) - np.log((in_ham + alpha) / (n_ham + 2 * alpha))
    scale = np.maximum(np.abs(ratio), options.nb_floor)
    scaled = _Matrix(x.indptr, x.cols, x.data * scale[x.cols], x.ncols, x.local, x.columns)
    u, bias = _logistic(scaled, y, sw, center / scale, bias0, options)
    return u * scale, bias


def _logistic(
    x: _Matrix, y: Any, sw: Any, center: Any, bias0: float, options: TrainingOptions
) -> tuple[Any, float]:
    """Weighted logistic regression with an L2 pull toward ``center`` (bias free), by L-BFGS."""
    import numpy as np

    total = sw.sum()
    lam = options.l2

    def loss_grad(theta: Any) -> tuple[float, Any]:
        w, b = theta[:-1], theta[-1]
        z = x.dot(w) + b
        # log(1 + e^z) − y·z, computed stably
        loss = np.sum(sw * (np.logaddexp(0.0, z) - y * z)) / total
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        r = sw * (p - y) / total
        diff = w - center
        grad = np.empty_like(theta)
        grad[:-1] = x.tdot(r) + lam * diff
        grad[-1] = r.sum()
        return loss + 0.5 * lam * float(diff @ diff), grad

    theta = np.concatenate([center, [bias0]])
    theta = _lbfgs(loss_grad, theta, options.max_iterations)
    return theta[:-1], float(theta[-1])


def _lbfgs(fun: Any, x: Any, iterations: int, memory: int = 10, tolerance: float = 1e-7) -> Any:
    import numpy as np

    f, g = fun(x)
    s_hist: list[Any] = []
    y_hist: list[Any] = []
    for _ in range(iterations):
        # two-loop recursion for the search direction
        q = g.copy()
        alphas = []
        for s, yv in zip(reversed(s_hist), reversed(y_hist), strict=True):
            rho = 1.0 / float(yv @ s)
            a = rho * float(s @ q)
            alphas.append((rho, a))
            q -= a * yv
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        for (s, yv), (rho, a) in zip(zip(s_hist, y_hist, strict=True), reversed(alphas), strict=True):
            q += s * (a - rho * float(yv @ q))
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction, slope = -g, -float(g @ g)
        step = 1.0 if s_hist else 1.0 / max(1.0, float(np.sqrt(g @ g)))
        while True:
            x_new = x + step * direction
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = x_new - x, g_new - g
        if float(s @ yv) > 1e-12:
            s_hist.append(s)
            y_hist.append(yv)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        done = f - f_new <= tolerance * max(abs(f), 1.0)
        x, f, g = x_new, f_new, g_new
        if done or float(np.max(np.abs(g))) < 1e-6:
            break
    return x


def _platt(scores: Any, y: Any, sw: Any) -> tuple[float, float]:
    """Fit log-odds = a·score + b to out-of-fold scores by Newton's method (Platt 1999, with his
    target smoothing so that a perfectly separated training set does not give an infinite slope)."""
    import numpy as np

    pos, neg = sw[y > 0].sum(), sw[y <= 0].sum()
    target = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))

    def objective(a: float, b: float) -> float:
        z = a * scores + b
        return float(np.sum(sw * (np.logaddexp(0.0, z) - target * z)))

    a, b = 1.0, 0.0
    current = objective(a, b)
    for _ in range(100):
        z = a * scores + b
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        r = sw * (p - target)
        h = sw * p * (1 - p) + 1e-12
        grad = np.array([r @ scores, r.sum()])
        hess = np.array([[h @ (scores * scores), h @ scores], [h @ scores, h.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-8:  # damped Newton (Lin, Lin & Weng 2007): never accept a step that does worse
            trial = objective(a - size * step[0], b - size * step[1])
            if trial <= current + 1e-4 * size * float(grad @ -step):
                break
            size /= 2
        a, b = a - size * step[0], b - size * step[1]
        current = objective(a, b)
        if np.max(np.abs(size * step)) < 1e-9:
            break
    return float(a), float(b)
