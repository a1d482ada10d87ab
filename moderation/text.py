"""Text moderation: the concept rules (``moderation.concepts``) plus term lists.

The shipped ``terms.json`` turns the concept rules on and has no lists of its own; a deployment's
own file (MODERATION_TERMS_FILE) and a project's policy add term lists, matched as below.

The lists are data (``terms.json`` by default; a deployment points MODERATION_TERMS_FILE at its
own and a project adds terms in its policy). A term is one or more words; a trailing ``*`` on its
last word matches any ending ("decapitat*"), and every word also matches its plural. Matching is on
word boundaries after normalisation, so "Essex" is not "sex" and "chicken breast" is not a term.

Normalisation, in order: NFKC (full-width and styled letters), look-alike letters from other
scripts mapped to Latin (Cyrillic "р" is "p"), accents and zero-width characters dropped, case
folded; then each word is read several ways at once: with leetspeak undone ("p0rn", "n4k3d"),
with separators inside a word removed ("p.o.r.n", "n-u-d-e") and with spaced-out letters joined
("p o r n"), and with runs of three or more of a letter collapsed ("nuuude").
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path

from moderation.concepts import analyse_text, decide, decide_across, decide_negative, negative_segments
from moderation.multilingual import CYRILLIC, CYRILLIC_MARK, GREEK_MARK

CATEGORIES = ("sexual", "minors", "violence", "hate", "self_harm")
DEFAULT_TERMS_FILE = Path(__file__).with_name("terms.json")

# Letters from other scripts that look like Latin ones (after case folding). Unicode's full
# confusables table is much larger; these are the ones that pass for lower-case Latin in prompts.
HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
        "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
        "ԁ": "d", "ԛ": "q", "ԝ": "w", "ь": "b", "г": "r", "п": "n", "и": "u", "л": "n",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ω": "w", "γ": "y", "μ": "u", "ς": "c", "σ": "o",
        # Latin look-alikes outside ASCII that NFKC keeps
        "ı": "i", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ʀ": "r", "ᴄ": "c", "ᴏ": "o", "ᴠ": "v", "ᴡ": "w",
        "ᴢ": "z", "ꜱ": "s", "ɴ": "n", "ᴋ": "k", "ᴍ": "m", "ᴛ": "t", "ᴜ": "u", "ᴇ": "e", "ᴀ": "a",
        "ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
    }
)  # fmt: skip

# Leetspeak, undone only inside words that also have letters ("p0rn", not "1990").
# Small capitals and other letter-like forms that NFKC keeps ("ɴᴜᴅᴇ"), found by their Unicode name.
HOMOGLYPHS.update(
    {
        code: ord(name.rsplit(" ", 1)[1].lower())
        for code in range(0x0180, 0x2C80)
        if (name := unicodedata.name(chr(code), "")).startswith(
            ("LATIN LETTER SMALL CAPITAL ", "MODIFIER LETTER SMALL ")
        )
        and len(name.rsplit(" ", 1)[1]) == 1
        and code not in HOMOGLYPHS
    }
)

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
        "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}  # fmt: skip
LEET_ALTERNATIVES = {"1": "l", "|": "i", "!": "l"}  # a second reading for the ambiguous ones
WORD_CHARS = "a-z0-9" + re.escape("".join(LEET))
RAW_WORD = re.compile(rf"[{WORD_CHARS}]+(?:[.\-_'*~·•]+[{WORD_CHARS}]+)*")
SEPARATORS = re.compile(r"[.\-_'*~·•]+")
RUNS = re.compile(r"(.)\1{2,}")


# Greek written in its script, spelt in Latin letters as the Greeklish list of
# ``moderation.multilingual`` spells it ("γυμνή" -> "gymni", "χωρίς" -> "xoris"); Russian and
# Ukrainian Cyrillic use that module's CYRILLIC ("голая" -> "golaya", "самоубийство" -> "samoubiystvo").
GREEK = str.maketrans(
    {"α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i", "κ": "k",
     "λ": "l", "μ": "m", "ν": "n", "ξ": "ks", "ο": "o", "π": "p", "ρ": "r", "σ": "s", "ς": "s", "τ": "t",
     "υ": "y", "φ": "f", "χ": "x", "ψ": "ps", "ω": "o", "ά": "a", "έ": "e", "ή": "i", "ί": "i", "ό": "o",
     "ύ": "y", "ώ": "o", "ϊ": "i", "ϋ": "y", "ΐ": "i", "ΰ": "y"}
)  # fmt: skip
# A script: its range, the letters of it that look like no Latin letter (not in HOMOGLYPHS: text
# with one of them is written in the script, not disguised), the letter pairs spelt as one, its
# spelling in Latin letters, and the word that marks the text as that language for
# ``moderation.multilingual``.
SCRIPTS = (
    ("\u0400", "\u04ff", frozenset("бджзйфцчшщъыэюяєґ"), {}, CYRILLIC, CYRILLIC_MARK),
    ("\u0370", "\u03ff", frozenset("δζθλξπφψάέήίόύώ"), {"ου": "ou", "ού": "ou"}, GREEK, GREEK_MARK),
)
OTHER_SCRIPT = re.compile("[\u0370-\u04ff]")


def _by_sound(text: str, force: bool) -> str:
    """``text`` spelt in Latin letters when most of its letters are of one script and one of them
    looks like no Latin letter (or ``force``, for a project's term): a Russian or Greek prompt, read
    by sound and marked; look-alikes alone ("nаkеd", or a whole "рогп") are a disguise, left to
    HOMOGLYPHS."""
    letters = [ch for ch in text if ch.isalpha()]
    for first, last, only, digraphs, spelling, mark in SCRIPTS:
        script = [ch for ch in letters if first <= ch <= last]
        if script and (force or (len(script) * 2 > len(letters) and any(ch in only for ch in script))):
            for digraph, latin in digraphs.items():
                text = text.replace(digraph, latin)
            return text.translate(spelling) + ("" if force else " " + mark)
    return text


# A prompt that asks to be read backwards is read backwards as well.
REVERSED_CUE = re.compile(r"\b(backwards?|reversed?|in reverse|mirror(?:ed)? writing|right to left)\b")


def fold(text: str, by_sound: bool | None = None) -> str:
    """Unicode tricks undone: styled and full-width letters, other scripts' look-alikes, accents,
    zero-width and other format characters; then case folded. Text written in Cyrillic or Greek is
    spelt in Latin letters by sound (:data:`SCRIPTS`) instead of by look, and ends with its mark;
    ``by_sound`` True or False decides that instead (no mark)."""
    if text.isascii():  # nothing to undo but case: no look-alike, mark or format character is ASCII
        return text.casefold()
    text = unicodedata.normalize("NFKC", text).casefold()
    if by_sound is not False and OTHER_SCRIPT.search(text):
        text = _by_sound(text, force=bool(by_sound))
    decomposed = unicodedata.normalize("NFKD", text.translate(HOMOGLYPHS))
    drop = {ord(ch): None for ch in set(decomposed) if _dropped(ch)}  # each distinct character once
    return decomposed.translate(drop) if drop else decomposed


@lru_cache(maxsize=4096)
def _dropped(ch: str) -> bool:
    """A combining mark (an accent once decomposed) or a format character (zero-width, soft hyphen)."""
    return unicodedata.category(ch) in ("Mn", "Me", "Cf")


def _unleet(word: str, alternatives: bool | None) -> str:
    if alternatives is None or not any(ch.isalpha() for ch in word):
        return word
    table = {**LEET, **LEET_ALTERNATIVES} if alternatives else LEET
    return "".join(table.get(ch, ch) for ch in word)


def readings(text: str) -> list[list[str]]:
    """The word sequences a reader could see in ``text``; a term found in any of them counts. Text
    with Cyrillic or Greek letters is read by sound and by look too (a project's terms are folded
    by sound)."""
    out: list[list[str]] = []
    foldings = [fold(text, by_sound=True), fold(text, by_sound=False)] if OTHER_SCRIPT.search(text) else [fold(text)]
    for folded in dict.fromkeys(foldings):
        _add_readings(RAW_WORD.findall(folded), out)
    return out


def _add_readings(raw_words: list[str], out: list[list[str]]) -> None:
    for alternatives in (None, False, True):  # as written ("r34", "12yo"), leet undone, other reading
        for join_separated in (False, True):
            words: list[str] = []
            for raw in raw_words:
                word = _unleet(raw, alternatives)
                parts = [SEPARATORS.sub("", word)] if join_separated else SEPARATORS.split(word)
                words.extend(p for p in (re.sub(r"[^a-z0-9]", "", p) for p in parts) if p)
            for variant in (words, _join_spelled_out(words), [RUNS.sub(r"\1", w) for w in words]):
                if variant not in out:
                    out.append(variant)


def _join_spelled_out(words: list[str]) -> list[str]:
    """ "p o r n" -> "porn": three or more single letters in a row become one word."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        out.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if word:
            out.append(word)
    return out


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    category: str
    prefix: bool  # the last word matches any ending
    source: str  # the term as written in the list

    def matches_at(self, words: list[str], start: int) -> bool:
        if start + len(self.words) > len(words):
            return False
        for offset, want in enumerate(self.words):
            got = words[start + offset]
            last = offset == len(self.words) - 1
            if last and self.prefix:
                if not got.startswith(want):
                    return False
            elif got not in (want, want + "s", want + "es"):
                return False
        return True


def _parse_term(raw: str, category: str) -> Term:
    prefix = raw.rstrip().endswith("*")
    words = [w for w in re.split(r"[^a-z0-9]+", fold(raw.rstrip().rstrip("*"), by_sound=True)) if w]
    if not words:
        raise ValueError(f"empty term {raw!r} in {category}")
    return Term(words=tuple(words), category=category, prefix=prefix, source=raw)


@dataclass(frozen=True)
class Match:
    """One reason to block: the category, the rule that fired ("terms" for a list term, else a
    concept rule such as "minors.minor_with_sexualising"), the words that fired it and the field."""

    category: str
    term: str
    field: str
    rule: str = "terms"
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextVerdict:
    matches: tuple[Match, ...] = ()
    classifier: dict | None = None  # the optional second opinion (moderation.classifier), recorded

    @property
    def blocked(self) -> bool:
        return bool(self.matches)

    @property
    def categories(self) -> list[str]:
        return sorted({m.category for m in self.matches}, key=CATEGORIES.index)

    def as_dict(self) -> dict:
        return {
            "decision": "block" if self.blocked else "pass",
            "categories": self.categories,
            "rules": sorted({m.rule for m in self.matches}),
            "matches": [{**vars(m), "words": list(m.words)} for m in self.matches],
            **({"classifier": self.classifier} if self.classifier is not None else {}),
        }

    def with_classifier(self, opinion: dict) -> TextVerdict:
        """This verdict plus a classifier's opinion; its flagged categories block (rule "classifier")."""
        extra = tuple(
            Match(category, opinion["model"], "text", "classifier", ()) for category in opinion.get("flagged", ())
        )
        return TextVerdict(matches=self.matches + extra, classifier=opinion)


@dataclass(eq=False)  # hashed by identity: compiled once, cached per project policy
class TermList:
    """The prompt check of a deployment: the concept rules (``concepts``, on in the shipped
    ``terms.json``; see ``moderation.concepts``) plus term lists. ``minor_indicators`` found
    together with a sexual term add ``minors``;
    ``allow`` phrases are taken out of the text before matching. ``relax`` phrases (a project's
    own allowed phrases) are taken out too, except for the ``minors`` checks, which no project can
    relax: a project that allows "nude" still has "nude child" blocked."""

    terms: list[Term] = field(default_factory=list)
    minor_indicators: list[Term] = field(default_factory=list)
    allow: list[Term] = field(default_factory=list)
    relax: list[Term] = field(default_factory=list)
    concepts: bool = False

    def __post_init__(self) -> None:
        self._terms = _Index(t for t in self.terms if t.category != "minors")
        self._minors = _Index(t for t in self.terms if t.category == "minors")
        self._sexual = _Index(t for t in self.terms if t.category == "sexual")
        self._minor_indicators = _Index(self.minor_indicators)
        self._allow = _Index(self.allow)
        self._relax = _Index(self.relax)
        self._relax_words = tuple(t.words for t in self.relax)
        self._has_terms = bool(self.terms)

    @classmethod
    def from_data(cls, data: Mapping) -> TermList:
        unknown = set(data.get("categories", {})) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; known: {list(CATEGORIES)}")
        return cls(
            terms=[_parse_term(t, c) for c, terms in data.get("categories", {}).items() for t in terms],
            minor_indicators=[_parse_term(t, "minors") for t in data.get("minor_indicators", [])],
            allow=[_parse_term(t, "allow") for t in data.get("allow", [])],
            concepts=bool(data.get("concepts", False)),
        )

    def extended(self, data: Mapping) -> TermList:
        """This list plus a project's own terms and allowed phrases."""
        extra = TermList.from_data(data)
        return TermList(
            terms=self.terms + extra.terms,
            minor_indicators=self.minor_indicators + extra.minor_indicators,
            allow=self.allow,
            relax=self.relax + extra.allow,
            concepts=self.concepts,
        )

    def check(self, fields: Mapping[str, str]) -> TextVerdict:
        """Every match in every field ({"text_data": ..., "neg_text": ...}), deduplicated."""
        found: dict[tuple[str, str], Match] = {}
        analysed: dict[str, list] = {}
        for name, text in fields.items():
            if not text:
                continue
            if self.concepts:
                if name == "neg_text":  # one thing to avoid per segment
                    segments = negative_segments(fold(text), allow=self._relax_words)
                    analysed[name] = [t for segment in segments for t in segment]
                    hits = decide_negative(segments)
                else:
                    folded = fold(text)
                    analysed[name] = tokens = analyse_text(folded, allow=self._relax_words)
                    hits = decide(tokens)
                    if REVERSED_CUE.search(folded):  # "'deb ni nemow edun' - read it backwards"
                        hits += decide(analyse_text(folded[::-1], allow=self._relax_words))
                for hit in hits:
                    found.setdefault(
                        (hit.category, hit.rule), Match(hit.category, " ".join(hit.words), name, hit.rule, hit.words)
                    )
            if not self._has_terms:
                continue
            for words in readings(text):
                words = _mask(words, self._allow)
                hits = list(self._terms.find(_mask(words, self._relax))) + list(self._minors.find(words))
                if any(True for _ in self._sexual.find(words)):
                    hits += [replace(t, category="minors") for t in self._minor_indicators.find(words)]
                for term in hits:
                    found.setdefault(
                        (term.category, term.source), Match(term.category, term.source, name, "terms", term.words)
                    )
        if "text_data" in analysed and "neg_text" in analysed:  # "a girl, 12" with neg_text "clothes, shirt"
            for hit in decide_across(analysed["text_data"], analysed["neg_text"]):
                found.setdefault(
                    (hit.category, hit.rule), Match(hit.category, " ".join(hit.words), "neg_text", hit.rule, hit.words)
                )
        if any(m.category == "sexual" for m in found.values()) and not any(
            m.category == "minors" for m in found.values()
        ):  # blocked as sexual anywhere, a minor mentioned anywhere: minors as well
            for name, tokens in analysed.items():
                minor = next((t for t in tokens if "minor" in t.concepts), None)
                if minor is not None:
                    found[("minors", "minors.sexual_with_minor")] = Match(
                        "minors", minor.surface, name, "minors.sexual_with_minor", (minor.surface,)
                    )
                    break
        matches = sorted(found.values(), key=lambda m: (CATEGORIES.index(m.category), m.rule, m.term))
        return TextVerdict(matches=tuple(matches))


class _Index:
    """Terms by first word, so a check looks at a handful of terms per word, not all of them."""

    def __init__(self, terms: Iterable[Term]):
        self.by_first: dict[str, list[Term]] = {}
        self.open_ended: list[Term] = []  # one-word terms with "*": matched by prefix
        for term in terms:
            if len(term.words) == 1 and term.prefix:
                self.open_ended.append(term)
                continue
            first = term.words[0]
            for key in {first, first + "s", first + "es"}:
                self.by_first.setdefault(key, []).append(term)

    def find(self, words: list[str]) -> Iterable[Term]:
        seen: set[int] = set()
        for i, word in enumerate(words):
            if not word:
                continue
            candidates = self.by_first.get(word, [])
            for term in [*candidates, *(t for t in self.open_ended if word.startswith(t.words[0]))]:
                if id(term) not in seen and term.matches_at(words, i):
                    seen.add(id(term))
                    yield term


def _mask(words: list[str], allow: _Index) -> list[str]:
    masked = list(words)
    for i in range(len(words)):
        for term in allow.by_first.get(words[i], []) + [t for t in allow.open_ended if words[i].startswith(t.words[0])]:
            if term.matches_at(words, i):
                masked[i : i + len(term.words)] = [""] * len(term.words)
    return masked


@cache
def _load_file(path: str, mtime: float) -> TermList:
    with open(path, encoding="utf-8") as f:
        return TermList.from_data(json.load(f))


def load_terms(path: str | Path | None = None) -> TermList:
    """The term list in ``path`` (empty or None: the built-in one), parsed once per version of the file."""
    path = Path(path or DEFAULT_TERMS_FILE)
    return _load_file(str(path), path.stat().st_mtime)
