"""Concept-based prompt moderation: normalise, lemmatise, map words to concepts, decide on rules.

1. Normalisation (``fold`` in ``moderation.text``: NFKC, look-alike letters, accents, zero-width
   characters, case), then "15 y.o." -> "15yo", d.o.t.t.e.d and s p a c e d letters joined (spaced
   runs only when the joined word means something), words split on inner hyphens ("8-year-old").
2. Each word is analysed once (cached): as written, with leetspeak undone, with letter runs
   collapsed ("nuuude"); its lemma comes from ``simplemma`` (offline, pure Python) or a light suffix
   stripper; an unknown word that is two or three lexicon words joined ("nakedgirl") is split.
3. Multi-word expressions are matched on lemmas; ambiguous words are neutralised by the
   neighbours of their harmless sense (``lexicon.SENSES``); numbers with an age unit, "aged N",
   "boy of ten", "12yo" and school grades become a ``minor`` concept when under 18.
4. Rules over concept combinations within a window decide; each records its category, its name
   and the words that fired it.

No Django here.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import simplemma

from moderation import lexicon, multilingual

# --- lexicon compiled --------------------------------------------------------------------------

FUNCTION_WORDS = frozenset({"a", "an", "the", "my", "his", "her", "in", "on", "of", "to", "all", "and", "with"})
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
        "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}  # fmt: skip
LEET_ALT = {**LEET, "1": "l", "|": "i", "!": "l", "6": "g"}  # "f@66ot"
LEET_CHARS = "".join(LEET)
SEP = ".\\-_*~·•'"
WORD = re.compile(rf"[a-z0-9{re.escape(LEET_CHARS)}]+(?:[{SEP}]+[a-z0-9{re.escape(LEET_CHARS)}]+)*")
SPLIT_SEP = re.compile(rf"[{SEP}]+")
NON_ALNUM = re.compile(r"[^a-z0-9]")
CHAR = rf"[a-z0-9{re.escape(LEET_CHARS)}]"
DOTTED = re.compile(rf"(?<![a-z0-9])(?:{CHAR}[{SEP}]){{2,}}{CHAR}(?![a-z0-9])")
SPACED = re.compile(rf"(?<![a-z0-9])(?:{CHAR} ){{2,}}{CHAR}(?![a-z0-9])")
YEARS_OLD = re.compile(r"(?<![a-z0-9])(\d{1,2})\s*y\s*[./]?\s*o(?![a-z])\.?")
AGE_TOKEN = re.compile(r"^(\d{1,2})(?:yo|y0|yr|yrs|yro|y)$")
ORDINAL_TOKEN = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
RUNS = re.compile(r"(.)\1{2,}")
DOUBLES = re.compile(r"(.)\1+")
LOOKS_NUMERIC = re.compile(r"^[0-9oil]{1,3}$")
TO_DIGITS = str.maketrans({"o": "0", "i": "1", "l": "1"})

SEXUALISING = frozenset(
    {"nudity", "genitals", "sex_act", "porn", "sexual_violence", "sexualising", "sexual_clothing", "pose", "csam",
     "exposed_breast", "revealing_clothing", "romance", "undress"}
)  # fmt: skip
EXPLICIT = frozenset({"nudity", "genitals", "sex_act", "porn", "exposed_breast"})
CONTEXT_ONLY = frozenset({"history", "prevention", "benign"})


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    if word in lexicon.OWN_LEMMAS:
        return word
    try:
        return simplemma.lemmatize(word, lang="en").lower()
    except ValueError:
        return word


def _build_words() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for concept, text in lexicon.WORDS.items():
        for word in text.split():
            out.setdefault(word, set()).add(concept)
    return {w: frozenset(c) for w, c in out.items()}


WORDMAP = _build_words()


def _lookup(word: str) -> tuple[str, frozenset[str]] | None:
    """(lemma, concepts) of one clean word, or None when the lexicon does not know it. The
    concepts of the word as written, of its lemma and of its suffix-stripped forms are united
    ("carving" is listed as a self-harm act, "carve" as a violent act: it is both)."""
    base = lemma(word)
    forms = [word, base]
    for suffix in ("ing", "ed", "es", "s", "ly", "er"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms += [stem, stem + "e"]
            if len(stem) > 3 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])
    concepts: set[str] = set()
    head = ""
    for form in forms:
        if form in WORDMAP:
            concepts |= WORDMAP[form]
            head = head or (base if form == word else form)
    if concepts:
        return head, frozenset(concepts)
    if m := STEM_PREFIX.match(word):
        return base, frozenset({lexicon.STEMS[m.group(1)]})
    return None


STEM_PREFIX = re.compile("(" + "|".join(sorted(map(re.escape, lexicon.STEMS), key=len, reverse=True)) + ")")


PHRASE_WORDS: set[str] = set()


def _phrase_key(text: str) -> tuple[str, ...]:
    words = [w for w in re.split(r"[\s\-]+", text.lower()) if w and w not in lexicon.FILLERS]
    return tuple(lemma(w) for w in words)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude stem, the third way a phrase is matched ("ending it all" -> "end it all")."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _build_phrases() -> dict[str, dict[tuple[str, ...], frozenset[str]]]:
    by_first: dict[str, dict[tuple[str, ...], frozenset[str]]] = {}
    for text, concepts in lexicon.PHRASES.items():
        key = _phrase_key(text)
        PHRASE_WORDS.update(w for w in re.split(r"[\s\-]+", text.lower()) if len(w) >= 3)
        for variant in {key, tuple(stem(w) for w in key)}:
            by_first.setdefault(variant[0], {})[variant] = frozenset(concepts.split())
    return by_first


PHRASES = _build_phrases()
PHRASE_LENGTHS = {first: max(len(k) for k in group) for first, group in PHRASES.items()}
SENSES = {
    word: frozenset(lemma(n) for n in neighbours) | frozenset(neighbours) for word, neighbours in lexicon.SENSES.items()
}
# Words that often trail a joined hashtag-like word ("whitepowerforever"); never enough alone.
JOINERS = frozenset({"forever", "now", "always", "only", "life", "lives", "vibes", "time", "hot"})
SEGMENT_VOCAB = frozenset(
    {w for w in WORDMAP if len(w) >= 3}
    | {w + "s" for w in WORDMAP if len(w) >= 3}
    | PHRASE_WORDS
    | FUNCTION_WORDS
    | JOINERS
)


@dataclass
class Token:
    surface: str  # the normalised word as read
    lemma: str
    concepts: frozenset[str] = frozenset()
    number: int | None = None
    age: int | None = None
    masked: bool = False  # inside a project's allowed phrase (no effect on the minors rules)


def _unleet(word: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in word)


def _segment(word: str) -> list[str] | None:
    """``word`` as two or three lexicon words joined ("nakedgirl" -> naked, girl), or None. Every
    piece must carry a concept or be a function word, or the pieces must form a known phrase, so
    "middlesex" or "penistone" are not split."""
    n = len(word)
    if n < 5 or n > 30:
        return None
    best: list[str] | None = None

    def search(start: int, pieces: list[str]) -> None:
        nonlocal best
        if best is not None and len(best) <= len(pieces):
            return
        if start == n:
            if len(pieces) >= 2 and _segment_ok(pieces):
                best = list(pieces)
            return
        if len(pieces) == 3:
            return
        for end in range(n, start, -1):
            piece = word[start:end]
            if piece in SEGMENT_VOCAB:
                search(end, [*pieces, piece])

    search(0, [])
    return best


def _segment_ok(pieces: list[str]) -> bool:
    if tuple(lemma(p) for p in pieces) in PHRASES.get(lemma(pieces[0]), {}):
        return True
    meaningful = [p for p in pieces if p not in FUNCTION_WORDS]
    if not meaningful:
        return False
    if all(_lookup(p) is not None for p in meaningful):
        return True
    # "hotsexscene", "whitepowerforever": concept words, a known two-word phrase among the pieces
    # ("sex scene") and trailing joiners; never a piece that is only a word of some phrase ("middlesex")
    covered: set[int] = set()
    for i in range(len(pieces) - 1):
        pair = (lemma(pieces[i]), lemma(pieces[i + 1]))
        if pair in PHRASES.get(pair[0], {}):
            covered |= {i, i + 1}
    return any(_lookup(p) for p in meaningful) and all(
        p in FUNCTION_WORDS or p in JOINERS or i in covered or _lookup(p) is not None for i, p in enumerate(pieces)
    )


SLURS_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _slur in sorted(set(lexicon.WORDS["slur"].split())):
    SLURS_BY_LENGTH[len(_slur)] = (*SLURS_BY_LENGTH.get(len(_slur), ()), _slur)


def _masked_slur(raw: str) -> str | None:
    """The one slur that a star-masked word spells ("n****r", "f****t"): same length, its first
    letter and at least two letters visible, every visible letter in place; None if none or several
    fit ("f**k" is no slur)."""
    letters = sum(ch.isalpha() for ch in raw)
    if letters < 2 or not raw[0].isalpha() or not re.fullmatch(r"[a-z*]+", raw):
        return None
    fits = [w for w in SLURS_BY_LENGTH.get(len(raw), ()) if all(c in ("*", w[i]) for i, c in enumerate(raw))]
    return fits[0] if len({WORDMAP.get(w) for w in fits}) == 1 and fits else None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one letter added, dropped, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short in _deletions(long)


def _build_misspellings() -> dict[str, frozenset[str]]:
    """Every lexicon word of TYPO_MIN_LENGTH letters or more with a TYPO_CONCEPTS concept, under
    itself and each form with one letter dropped (the index of a one-edit search: two words one
    edit apart share a key)."""
    index: dict[str, set[str]] = {}
    for word, concepts in WORDMAP.items():
        if len(word) >= TYPO_MIN_LENGTH and word.isalpha() and concepts & TYPO_CONCEPTS:
            for key in {word, *_deletions(word)}:
                index.setdefault(key, set()).add(word)
    return {key: frozenset(words) for key, words in index.items()}


# Measured on the benign sets: shorter words, other concepts or another first letter turn names,
# places and foreign words into lexicon words ("paris" a slur, "denis", "prague" a plague,
# "sundress" undress, "cenital" genital, "pedas" pedos, "pistoi" a pistol).
TYPO_MIN_LENGTH = 6
TYPO_MIN_LENGTH_WEAK = 7  # for a word that only names a group or likens people to vermin
TYPO_WEAK = frozenset({"group", "dehumanise"})
TYPO_CONCEPTS = frozenset(
    {"nudity", "genitals", "sex_act", "porn", "csam", "minor", "sexual_violence", "gore", "atrocity",
     "act_strong", "suicide", "exterminate", "overdose", "eating_disorder", "group", "dehumanise"}
)  # fmt: skip
MISSPELLINGS = _build_misspellings()


def _misspelt(word: str) -> str | None:
    """The lexicon word that an unknown word misspells by one letter ("sucide", "preeteen",
    "behedding", "decapatated"), or None: never for a word English knows or a short one, never
    with another first letter, and only when every lexicon word one edit away means the same (else
    it is a guess). A word with an ending is tried without it as well ("behedd" + "ing")."""
    if len(word) < TYPO_MIN_LENGTH or not word.isalpha() or simplemma.is_known(word, lang="en"):
        return None
    for suffix in ("", "ing", "ed", "s"):
        if suffix and not word.endswith(suffix):
            continue
        base = word[: len(word) - len(suffix)]
        if len(base) < TYPO_MIN_LENGTH:
            continue
        keys = {base, *_deletions(base)}
        near = {w for key in keys for w in MISSPELLINGS.get(key, ()) if w[0] == base[0] and _one_edit(base, w)}
        if len(base) < TYPO_MIN_LENGTH_WEAK:  # "prague" is no plague
            near = {w for w in near if WORDMAP[w] - TYPO_WEAK}
        if near and len({WORDMAP[w] for w in near}) == 1:
            return min(near) + suffix if suffix and _lookup(min(near) + suffix) else min(near)
    return None


def _ordinal_suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


@lru_cache(maxsize=65536)
def analyse(raw: str) -> tuple[Token, ...]:
    """The tokens one raw word (no spaces, no separators) stands for."""
    if raw.isdigit():
        return (Token(raw, raw, number=int(raw) if len(raw) <= 3 else None),)
    if m := AGE_TOKEN.match(raw):
        return (Token(raw, raw, age=int(m.group(1))),)
    if m := ORDINAL_TOKEN.match(raw):  # negative: an ordinal; "3nd" is leet for "end", "3th" still a 3rd
        proper = raw[len(m.group(1)) :] == _ordinal_suffix(int(m.group(1)))
        if proper or not simplemma.is_known(_unleet(raw, LEET), lang="en"):
            return (Token(raw, raw, number=-int(m.group(1))),)
    if LOOKS_NUMERIC.match(raw) and any(ch.isdigit() for ch in raw):  # "1O" (a letter O for a zero)
        digits = raw.translate(TO_DIGITS)
        return (Token(digits, digits, number=int(digits)),)
    if "*" in raw and (slur := _masked_slur(raw)):  # "n****r": the visible letters fit one slur
        return analyse(slur)
    if "*" in raw and any(ch.isalpha() for ch in raw):  # "n*ked": the star stands for a letter
        for vowel in "aeiou":
            found = analyse(raw.replace("*", vowel))
            if any(t.concepts for t in found):
                return found
        raw = raw.replace("*", "")
    if raw.endswith("!") and raw.rstrip("!").isalpha():
        raw = raw.rstrip("!")  # "LOL!!!" is laughter, not "loli"; "k!ll" keeps its inner "!"
    candidates = [raw]
    if any(ch in LEET for ch in raw) and any(ch.isalpha() for ch in raw):
        candidates += [_unleet(raw, LEET), _unleet(raw, LEET_ALT)]
    for cand in list(candidates):
        if RUNS.search(cand):  # "gooooore"; "nuuuudee": every doubled letter single as a last reading
            candidates += [RUNS.sub(r"\1\1", cand), RUNS.sub(r"\1", cand), DOUBLES.sub(r"\1", cand)]
    candidates = [NON_ALNUM.sub("", c) for c in candidates]
    if raw.endswith("in") and len(raw) >= 4 and raw.isalpha() and not simplemma.is_known(raw, lang="en"):
        candidates.insert(1, raw + "g")  # a dropped g: "slittin", "gettin", "hangin"
    candidates = [c for i, c in enumerate(candidates) if c and c not in candidates[:i]]
    for cand in candidates:
        found = _lookup(cand)
        if found is not None:
            return (Token(cand, lemma(cand), found[1]),)
    for cand in candidates[1:]:  # leetspeak undone into an ordinary word ("spr4ying", a phrase's "f1n4lly")
        if cand.isalpha() and (simplemma.is_known(cand, lang="en") or cand in PHRASE_WORDS):
            return (Token(cand, lemma(cand)),)
    for cand in candidates:
        if cand.isalpha() and not simplemma.is_known(cand, lang="en"):
            pieces = _segment(cand)
            if pieces:
                return tuple(analyse(p)[0] for p in pieces)
    for cand in candidates:  # not the dropped-g guess: "humain" + "g" is one edit from "humping"
        if cand != raw + "g" and (meant := _misspelt(cand)) is not None:
            return tuple(Token(t.surface, t.lemma, t.concepts, t.number, t.age) for t in analyse(meant))
    word = candidates[0] if candidates else raw
    if word in lexicon.NUMBER_WORDS:
        return (Token(word, word, number=lexicon.NUMBER_WORDS[word]),)
    if word in lexicon.ORDINALS:
        return (Token(word, word, number=-lexicon.ORDINALS[word]),)
    return (Token(word, lemma(word)),)


def _join_letters(match: re.Match) -> str:
    return SPLIT_SEP.sub("", match.group(0).replace(" ", ""))


def _join_spaced(match: re.Match) -> str:
    joined = match.group(0).replace(" ", "")
    tokens = analyse(joined)
    if any(t.concepts for t in tokens) or len(tokens) > 1 or joined in PHRASE_WORDS:  # "l i t t l e girl"
        return joined
    # "a t e e n": an article in front of a spelled-out word
    if len(joined) > 3 and joined[0] in "ai" and any(t.concepts for t in analyse(joined[1:])):
        return joined[0] + " " + joined[1:]
    return match.group(0)


def _translated(raws: list[str]) -> list[str]:
    """The words of a prompt in another language turned into English ones (``moderation.multilingual``):
    two words that go together first ("ropa interior"), then each word (whole, or its hyphenated parts)."""
    langs = multilingual.languages(raws)
    if not langs:
        return raws
    out: list[str] = []
    i, n = 0, len(raws)
    while i < n:
        raw = raws[i]
        if raw in multilingual.PAIR_FIRSTS and i + 1 < n:
            pair = multilingual.translate(f"{raw}-{raws[i + 1]}", langs, exact=True)
            if pair:
                out.extend(pair.split())
                i += 2
                continue
        out.extend(multilingual.translate_raw(raw, langs))
        i += 1
    return out


# Emoji that name a group or an animal, read as words ("🐀✡️" is "rats jews").
EMOJI = str.maketrans(
    {"🔞": " nsfw ",
     "✡": " jews ", "☪": " muslims ", "✝": " christians ", "🕉": " hindus ", "🐀": " rats ", "🐁": " rats ",
     "🐖": " pigs ", "🐷": " pigs ", "🐒": " monkeys ", "🐵": " monkeys ", "🦍": " gorillas ", "🪳": " cockroaches ",
     "🦠": " virus ", "🐛": " vermin ", "🪱": " vermin "}
)  # fmt: skip


FREE_SUFFIX = re.compile(rf"^(.+?)[{re.escape(SEP)}]+free$")


def tokenize(folded: str) -> list[Token]:
    """Tokens of an already folded text (see ``moderation.text.fold``)."""
    text = YEARS_OLD.sub(r"\1yo ", folded.translate(EMOJI))
    text = DOTTED.sub(_join_letters, text)
    text = SPACED.sub(_join_spaced, text)
    tokens: list[Token] = []
    for raw in _translated(WORD.findall(text)):
        free = FREE_SUFFIX.match(raw)
        if free:  # "gore-free", "nudity_free": a negation, read as "no gore"
            tokens.extend(analyse("no"))
            raw = free.group(1)
        if raw in WORDMAP or raw.isalpha():
            tokens.extend(analyse(raw))
            continue
        # a word with inner separators: "8-year-old", "self-harm"; as a whole first ("see-through")
        if "*" in raw and re.fullmatch(r"[a-z*]+", raw):
            tokens.extend(analyse(raw))
            continue
        whole = SPLIT_SEP.sub("", raw)
        if whole != raw and whole in WORDMAP:
            tokens.extend(analyse(whole))
            continue
        for part in SPLIT_SEP.split(raw):
            if part:
                tokens.extend(analyse(part))
    return [Token(t.surface, t.lemma, t.concepts, t.number, t.age) for t in tokens]  # fresh, mutable copies


def _apply_phrases(all_tokens: list[Token]) -> None:
    tokens = [t for t in all_tokens if t.surface not in lexicon.FILLERS]  # "wearing (absolutely) nothing"
    lemmas = [t.lemma for t in tokens]
    surfaces = [t.surface for t in tokens]
    stems = [stem(w) for w in surfaces]
    n = len(tokens)
    i = 0
    while i < n:
        matched = 0
        for words in (lemmas, surfaces, stems):
            group = PHRASES.get(words[i])
            if not group:
                continue
            for length in range(min(PHRASE_LENGTHS[words[i]], n - i), 1, -1):
                key = tuple(words[i : i + length])
                if key in group:
                    window = tokens[i : i + length]
                    for t in window:
                        t.concepts = frozenset()
                    tokens[i].concepts = group[key]
                    tokens[i].surface = " ".join(surfaces[i : i + length])
                    for t in window[1:]:
                        t.surface = ""
                    matched = length
                    break
            if matched:
                break
            if (words[i],) in group:
                tokens[i].concepts = group[(words[i],)]
        i += matched or 1


def _apply_senses(tokens: list[Token]) -> None:
    window = lexicon.SENSE_WINDOW + 2
    for i, t in enumerate(tokens):
        neighbours = SENSES.get(t.surface) or SENSES.get(t.lemma)
        if not neighbours or not t.concepts:
            continue
        lo, hi = max(0, i - window), min(len(tokens), i + window + 1)
        if i and tokens[i - 1].surface in ("me", "myself") and t.lemma in ("hang", "hanging"):
            lo = i  # "a picture of me hanging": what hangs is the person, so only what follows can be hung
        first_aid = any(tokens[j].surface in FIRST_AID for j in range(lo, hi))
        if _own_body_part_after(tokens, i) and not first_aid:
            continue  # "slicing her arm in the kitchen": the body part outweighs the kitchen
        if (_on_self_or_body(tokens, i) and not first_aid) or t.surface.split(" ")[-1] in REFLEXIVES:
            continue  # "cutting herself with scissors", "face cut open in a pub"
        if any(j != i and (tokens[j].lemma in neighbours or tokens[j].surface in neighbours) for j in range(lo, hi)):
            t.concepts = frozenset()


POSSESSIVES = {"her", "his", "their", "my", "your", "own", "its"}
FIRST_AID = frozenset(lexicon._FIRST_AID + lexicon._FAKE)


def _own_body_part_after(tokens: list[Token], i: int) -> bool:
    """A possessive and a body part within three words after ``i`` ("cutting her arm")."""
    for k in range(i + 1, min(len(tokens) - 1, i + 3)):
        if tokens[k].surface in POSSESSIVES and tokens[k + 1].concepts & {"body_part", "harm_method_site"}:
            return True
    return False


REFLEXIVES = frozenset({"myself", "herself", "himself", "themselves", "yourself", "themself"})


def _on_self_or_body(tokens: list[Token], i: int) -> bool:
    """The act word's object is the self or a body part: a reflexive right after it, not a
    benefactive ("cutting herself with scissors", not "cut herself a slice of cake"), or a body part
    right before it ("face cut open", "wrists slashed")."""
    if i + 1 < len(tokens) and tokens[i + 1].surface in REFLEXIVES:
        return not (i + 2 < len(tokens) and tokens[i + 2].surface in ("a", "an", "some", "another"))
    return i > 0 and bool(tokens[i - 1].concepts & {"body_vital", "harm_method_site"})


CURRENT_YEAR = datetime.date.today().year
AGE_UNIT_YEARS = {"year", "years", "yr", "yrs", "yo", "y", "y0", "yrsold", "yrold", "yearold", "summers", "winters"}
PRONOUNS_AGED = frozenset({"she", "he", "shes", "hes"})
AGE_UNIT_YOUNG = {"month", "months", "week", "weeks", "day", "days"}


AGE_LEADS = frozenset(
    "is was turned turning just whos s only barely looks look looking appears seems about around roughly maybe".split()
)
MEASURES = frozenset(
    "feet foot ft inch inches cm centimeters centimetres m meter meters metre metres kg kilos pounds lbs lb stone "
    "miles km minutes hours oclock pm am percent dollars euros bucks stars points".split()
)


def _pronoun_age(word, i: int, after: str) -> bool:
    """A number said of "she" or "he" just before it ("when she's 12", "he is only nine"), not a
    measure or a pregnancy's weeks."""
    return (
        word(i - 1) in AGE_LEADS | PRONOUNS_AGED
        and any(word(k) in PRONOUNS_AGED for k in range(i - 3, i))
        and after not in MEASURES | AGE_UNIT_YOUNG
    )


def _apply_ages(tokens: list[Token]) -> None:
    """A number that is an age under 18, or a school grade, makes its token a ``minor``."""
    n = len(tokens)

    def word(j: int) -> str:
        return tokens[j].surface if 0 <= j < n else ""

    for i, t in enumerate(tokens):
        age: int | None = t.age
        value = t.number
        step = 1
        prev = tokens[i - 1].number if i else None
        if value is not None and 0 < value < 10 and prev is not None and prev >= 20 and prev % 10 == 0:
            continue  # the "five" of "twenty-five": read with its tens
        if value is not None and value >= 20 and value % 10 == 0 and tokens[i + 1 : i + 2]:
            nxt = tokens[i + 1].number
            if nxt is not None and 0 < nxt < 10:
                value += nxt
                step = 2
        if age is None and value is not None and value >= 0:
            after = word(i + step)
            if after in AGE_UNIT_YOUNG and word(i + step + 1) not in ("pregnant", "along", "postpartum"):
                age = 0  # "a 3 month old", not "12 weeks pregnant"
            elif after in AGE_UNIT_YEARS and word(i + step + 1) != "ago":
                age = value
            elif word(i - 1) in ("aged", "age", "ages") or word(i - 2) in ("aged", "age"):
                age = value
            elif word(i - 1) == "of" and word(i - 2) in lexicon.AGE_HOLDERS:
                age = value
            elif word(i - 1) in lexicon.AGE_HOLDERS or word(i + 1) in lexicon.AGE_HOLDERS:
                age = value
            elif (
                word(i - 1) in AGE_LEADS
                and any(word(k) in lexicon.AGE_HOLDERS for k in range(i - 4, i - 1))
                and after not in MEASURES
            ):
                age = value  # "a girl who is twelve", "a girl who looks about twelve" (not "5 feet tall")
            elif _pronoun_age(word, i, after):
                age = value  # "when she's 12", "she is only eleven"
            elif word(i - 1) in ("her", "him") and word(i - 2) in ("keep", "make", "made", "keeping", "making"):
                age = value  # "keep her 9"
            elif word(i - 1) in ("under", "below") and value <= 18:
                age = value - 1  # "under 16"
        if value is not None and value < 0:  # an ordinal: "5th grader", "fifth grade", "grade 5"
            if word(i + 1) in ("grade", "grader", "graders", "grades", "form"):
                age = 5 - value
        if value is not None and 0 < value <= 12 and word(i - 1) in ("grade", "year") and i >= 1:
            if word(i - 2) not in ("the",) and value <= 12 and word(i - 1) == "grade":
                age = 5 + value
        if value is not None and 0 < value <= 13 and word(i - 1) in ("year", "yr") and word(i - 2) not in ("the", "of"):
            age = 5 + value  # "year 8" (the school year)
        if t.number is None and t.surface.isdigit() and len(t.surface) == 4 and word(i - 1) == "in":
            if word(i - 2) in ("born", "birth") and 0 <= CURRENT_YEAR - int(t.surface) < 18:
                age = CURRENT_YEAR - int(t.surface)  # "born in 2013"
        if age is not None and age < 18:
            t.concepts = t.concepts | {"minor"}
            t.age = age


COLOUR_GROUPS = {"black", "white", "brown"}


def _apply_groups(tokens: list[Token]) -> None:
    """ "black" or "white" before a word for people is a group ("a black family"), not a colour."""
    for i, t in enumerate(tokens[:-1]):
        if t.surface in COLOUR_GROUPS:
            nxt = tokens[i + 1]
            if nxt.concepts & {"person", "minor", "minor_weak"} or nxt.surface in lexicon.PEOPLE_AFTER:
                t.concepts = t.concepts | {"group"}


def _apply_negation(tokens: list[Token]) -> None:
    for i, t in enumerate(tokens):
        if (
            t.concepts & lexicon.NEGATABLE
            and i
            and (
                tokens[i - 1].surface in lexicon.NEGATIONS
                or (i > 1 and tokens[i - 1].surface == "of" and tokens[i - 2].surface == "free")  # "free of gore"
                or (
                    i > 1
                    and tokens[i - 1].surface in ("any", "the", "a")
                    and tokens[i - 2].surface in lexicon.NEGATIONS
                )
            )
        ):
            t.concepts = t.concepts - lexicon.NEGATABLE


def _apply_framing(tokens: list[Token]) -> None:
    """ "hot" is sexualising only right beside a minor ("a hot 14 year old", "hot teen"); a hot day,
    a hot dog or hot chocolate are phrases or senses that clear it first."""
    for i, t in enumerate(tokens):
        if t.surface == "hot":
            near = tokens[max(0, i - 2) : i + 4]
            if any("minor" in n.concepts for n in near):
                t.concepts = t.concepts | {"sexualising"}


# Echo brackets, the antisemitic marker: "(((them)))", "((( globalists )))", "(((Goldstein)))" name
# Jews. Triple brackets are also Stable Diffusion's emphasis ("(((masterpiece)))", "(((cute cat)))"),
# so only the marker's usual targets count: pronouns, the conspiracy's nouns, and surnames.
ECHO = re.compile(r"\(\s*\(\s*\(\s*([^()]{1,40}?)\s*\)\s*\)\s*\)")
ECHO_TARGETS = frozenset(
    """them they their theirs who those globalist globalists banker bankers financier financiers media elite elites
    hollywood soros rothschild rothschilds neocon neocons journalist journalists lobby owners usual suspects
    certain people""".split()
)
ECHO_SURNAME = re.compile(r"^[a-z]+(?:stein|berg|witz|baum|blatt|thal|feld)$")  # not "superman"


def _echo(match: re.Match) -> str:
    inner = match.group(1)
    words = [_unleet(w, LEET) for w in inner.split() if w != "the"]
    if words and (all(w in ECHO_TARGETS for w in words) or (len(words) == 1 and ECHO_SURNAME.match(words[0]))):
        return f" jews {inner} "
    return f" {inner} "


# Emoji that stand for the words they show ("🔪 fresh lines on my arm 🩸"), and "s/h" (self-harm).
EMOJI_WORDS = {"🔪": " knife ", "🩸": " blood ", "💊": " pills ", "🪢": " noose ", "⚰": " coffin ", "🔫": " gun ",
               "🍑": " butt ", "🍆": " penis ", "💦": " cum "}  # fmt: skip
FOOD_NAMED = re.compile(
    r"\b(eggplants?|aubergines?|parmesan|parmigiana|moussaka|ratatouille|baba ganoush|peach(es)?|cobbler|"
    r"recipe|orchard|grilled|roasted|market|harvest)\b"
)
SLASH_SH = re.compile(r"(?<![a-z0-9])s\s*/\s*h(?![a-z0-9])")
THIRTEEN_FIFTY = re.compile(r"(?<![0-9])13\s*(?:%|percent)?\s*/\s*50(?![0-9a-z])")  # "13/50", "13%/50"


def analyse_text(folded: str, allow: Iterable[tuple[str, ...]] = ()) -> list[Token]:
    if "(" in folded:
        folded = ECHO.sub(_echo, folded)
    if any(ch in folded for ch in EMOJI_WORDS):
        if FOOD_NAMED.search(folded):  # "🍆 eggplant parmesan", "🍑 peach cobbler": the fruit itself
            folded = folded.replace("🍆", " eggplant ").replace("🍑", " peach ")
        for emoji, words in EMOJI_WORDS.items():
            folded = folded.replace(emoji, words)
    if "/" in folded:
        folded = SLASH_SH.sub(" selfharm ", folded)
    if "13" in folded:
        folded = THIRTEEN_FIFTY.sub(" 13 50 ", folded)
    tokens = tokenize(folded)
    _apply_phrases(tokens)
    _apply_senses(tokens)
    _apply_ages(tokens)
    _apply_groups(tokens)
    _apply_negation(tokens)
    _apply_framing(tokens)
    if allow:
        _mask(tokens, allow)
    return tokens


def _mask(tokens: list[Token], allow: Iterable[tuple[str, ...]]) -> None:
    surfaces = [t.surface for t in tokens]
    lemmas = [t.lemma for t in tokens]
    for words in allow:
        size = len(words)
        for i in range(len(tokens) - size + 1):
            if tuple(surfaces[i : i + size]) == words or tuple(lemmas[i : i + size]) == words:
                for t in tokens[i : i + size]:
                    t.masked = True


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    category: str
    rule: str
    words: tuple[str, ...]


@dataclass
class _Index:
    tokens: list[Token]
    minors_view: bool = False
    where: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, t in enumerate(self.tokens):
            if t.masked and not self.minors_view:
                continue
            for c in t.concepts:
                self.where.setdefault(c, []).append(i)

    def at(self, *concepts: str) -> list[int]:
        out: list[int] = []
        for c in concepts:
            out.extend(self.where.get(c, ()))
        return sorted(out)

    def has(self, *concepts: str) -> bool:
        return any(c in self.where for c in concepts)

    def near(self, a: Iterable[str], b: Iterable[str], window: int, order: bool = False) -> tuple[int, int] | None:
        """The first (i, j) with i among ``a``, j among ``b``, |i - j| <= window (j after i when ``order``)."""
        left, right = self.at(*a), self.at(*b)
        for i in left:
            for j in right:
                if i != j and abs(i - j) <= window and (not order or j > i):
                    return i, j
        return None

    def word(self, *positions: int) -> tuple[str, ...]:
        return tuple(self.tokens[p].surface for p in positions)


def _sexualising_derived(ix: _Index) -> None:
    """Concepts made of two words: an exposed breast, revealing clothing."""
    pair = ix.near(["exposing"], ["breast"], 3)
    if pair:
        ix.where.setdefault("exposed_breast", []).append(pair[1])
    for i, t in enumerate(ix.tokens):  # "a woman with a bare chest": a woman's, not a man's
        if t.surface in ("chest", "chests") and "body_part" in t.concepts:
            lo, hi = max(0, i - 2), min(len(ix.tokens), i + 3)
            if any("exposing" in ix.tokens[j].concepts for j in range(lo, hi) if j != i) and any(
                ix.tokens[j].surface in FEMALE for j in range(max(0, i - 6), min(len(ix.tokens), i + 4))
            ):
                ix.where.setdefault("exposed_breast", []).append(i)
                break
    pair = ix.near(["revealing"], ["swimwear", "sexual_clothing"], 2, order=True)
    if pair:
        ix.where.setdefault("revealing_clothing", []).append(pair[1])


ONLY_WORDS = frozenset("only just solely nothing".split())  # "nothing but", read with its "but"
GARMENT_FILLERS = frozenset(
    "but except her his their a an the pair of tiny little small skimpy lacy sheer black white red pink".split()
)
CAMERA_CUES = frozenset("behind below upskirt webcam".split())  # from behind, from below; not "a low angle"
PERSON_AFTER = frozenset("him them daddy".split())  # not "her"/"his": "bent over her homework"
POSSESSIVES = frozenset("her his their its my your our".split())


def _round_eight_derived(ix: _Index) -> None:
    """A child told by what surrounds the word, and underwear worn alone (round eight):

    - "girl"/"boy" with a thing that codes a child (pigtails, a lollipop, a teddy bear) is a child,
      and so is any person with two of them;
    - "wearing only panties", "in nothing but her thong": the garment is nudity (a woman left bare);
      not "a woman just bought a bra" (only fillers between the two words)."""
    cues = ix.at("child_cue")
    if cues:
        weak = ix.at("minor_weak")
        holders = weak if weak else (ix.at("person") if len(cues) >= 2 else [])
        if holders:
            ix.where.setdefault("minor", []).extend(holders)
            ix.where["minor"] = sorted(set(ix.where["minor"]))
    tokens = ix.tokens
    for i in ix.at("lone_garment"):
        before = range(i - 1, max(-1, i - 5), -1)
        for j in before:
            if tokens[j].surface in ONLY_WORDS:
                ix.where.setdefault("nudity", []).append(i)
                break
            if tokens[j].surface not in GARMENT_FILLERS:
                break
        else:
            if i + 1 < len(tokens) and tokens[i + 1].surface == "only":  # "panties only"
                ix.where.setdefault("nudity", []).append(i)
    if "nudity" in ix.where:
        ix.where["nudity"] = sorted(set(ix.where["nudity"]))


def _pose_weak_sexualises(ix: _Index) -> list[int]:
    """A weak pose ("straddling", "bent over", "on all fours") counts as sexualising beside a minor
    when it is toward a person ("straddling a man") or the camera frames it (from behind, from
    below): not "kids straddling a log", "a toddler crawling on all fours", "bent over her homework"."""
    tokens = ix.tokens
    camera = any(t.surface in CAMERA_CUES for t in tokens)
    out = []
    for i in ix.at("pose_weak"):
        after = tokens[i + 1 : i + 4]
        toward = any(
            (t.concepts & {"person", "adult_marker"} and t.surface not in POSSESSIVES) or t.surface in PERSON_AFTER
            for t in after
        )
        if camera or toward:
            out.append(i)
    return out


EXECUTION_CONTEXT = frozenset(
    "prisoner prisoners gallows executioner execution executed public crowd square condemned convict sentence "
    "lynch lynched lynching mob lamppost lampposts lamp-post lamp-posts streetlight streetlights".split()
)
ED_CONTEXT = frozenset(
    "skinny thin skeletal emaciated scale mirror ribs bones bony diet weight waist thinspo anorexic "
    "anorexia bulimic collarbone".split()
)
CELEBRATE = frozenset(
    "laugh laughing laughed cheer cheering cheered celebrate celebrating smile smiling fun funny".split()
)
HARM = frozenset({"death", "act_strong", "act_weak", "wound", "gore", "exterminate", "atrocity"})
HARM_WORDS = frozenset("sink sinking sank drown drowning die dying dead burn burning starve starving".split())
WATER = frozenset("ocean sea river lake water wave waves surf pond".split())
SIGNS = frozenset("sign signs poster banner sticker notice placard reading saying say says door window".split())
PASSIVE = frozenset("be being bein been get getting gettin got gets are were is r".split())
PROJECTILE_VERBS = frozenset(
    "into through hit hits hitting ripping tearing piercing riddling riddled striking struck slamming".split()
)
TAKE_PILLS = frozenset("take taking took takes swallow swallowed swallowing pop popping popped down downing".split())
BELONG_PLACES = frozenset("chain chains cage cages camp camps zoo oven ovens gutter ghetto jail prison grave".split())
FEMALE = frozenset("woman women girl girls lady ladies her she female females gal chick babe wife mom".split())
UNDRESS_VERBS = frozenset(
    "pull pulled pulling down off remove removed removing removes lift lifted lifting unbutton unbuttoned unbuttoning "
    "unbuttons unzip unzipped unzipping drop dropped slip slipped slipping tug tugged peel peeled "
    "minus sans ditch ditched ditching shed shedding erase erased erasing delete deleted".split()  # "erase her bra"
)


def _undress_derived(ix: _Index) -> None:
    """Clothing with a verb that takes it off: underwear is then nudity ("panties pulled down"),
    other clothing an undressing that counts beside a minor ("shirt off", "skirt lifted")."""
    for i in ix.at("sexual_clothing", "swimwear"):
        lo, hi = max(0, i - 3), min(len(ix.tokens), i + 4)
        underwear = "sexual_clothing" in ix.tokens[i].concepts
        verbs = UNDRESS_VERBS if underwear else UNDRESS_VERBS - {"off", "down", "drop", "dropped", "slip", "slipped"}
        if any(ix.tokens[j].surface in verbs or ix.tokens[j].lemma in verbs for j in range(lo, hi)):
            concept = "nudity" if underwear else "undress"
            ix.where.setdefault(concept, []).append(i)
            ix.where[concept].sort()


GARMENT_ANY = frozenset("clothes clothing clothed garment garments outfit outfits costume costumes".split())
VANISH = frozenset(
    "disappear disappears disappeared disappearing dissapear dissapears dissapearing vanish vanishes vanished "
    "vanishing gone melt melts melted melting dissolve dissolves dissolved dissolving".split()
)
BARE_AFTER = frozenset("s is was are were until left stands standing completely fully totally entirely now".split())
INTENSIFIERS = frozenset("fully completely totally entirely".split())
PRONOUNS = frozenset("she he her him they them".split())
COUPLE = frozenset("lovers lover bed bedroom backseat sheets motel".split())
PIECEMEAL_OFF = frozenset("off away fall falls fell falling".split())


def _undress_whole(ix: _Index) -> None:
    """Undressing told without a nudity word, all of it made ``nudity`` (or ``sex_act``):
    clothes that disappear, fall or come off piece by piece; a person left bare ("until she's
    bare"); "show everything" about a person; "fully exposed" beside sexual framing; a couple
    "going at it"."""
    tokens = ix.tokens
    found: dict[str, list[int]] = {}
    sexual_frame = ix.has("sexualising", "porn", "romance", "sexual_clothing")
    for i, t in enumerate(tokens):
        window = range(max(0, i - 3), min(len(tokens), i + 4))
        if t.surface in GARMENT_ANY and (
            (
                any(tokens[j].surface in VANISH or tokens[j].lemma in VANISH for j in window)
                and ix.has("person", "minor", "minor_weak")
            )
            or ("piecemeal" in ix.where and any(tokens[j].surface in PIECEMEAL_OFF for j in window))
        ):
            found.setdefault("nudity", []).append(i)
        if "exposing" in t.concepts and t.surface in ("bare", "naked", "exposed", "uncovered"):
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            if after is not None and (
                after.concepts & {"body_part", "harm_method_site", "breast"} or after.surface == "to"
            ):
                continue  # "bare feet", "exposed to the wind"
            before = [tokens[j].surface for j in range(max(0, i - 3), i)]
            if before and before[-1] in BARE_AFTER and any(w in PRONOUNS for w in before):
                found.setdefault("nudity", []).append(i)
            elif before and before[-1] in INTENSIFIERS and (sexual_frame or after is None):
                found.setdefault("nudity", []).append(i)
    if ix.has("show_all") and ix.has("person", "minor", "minor_weak", "sexualising", "porn", "swimwear"):
        found.setdefault("nudity", []).extend(ix.at("show_all"))
    if ix.has("at_it") and (sexual_frame or any(t.surface in COUPLE for t in tokens)):
        found.setdefault("sex_act", []).extend(ix.at("at_it"))
    for concept, where in found.items():
        ix.where.setdefault(concept, []).extend(where)
        ix.where[concept].sort()


def _strong_exterminate(token: Token) -> bool:
    return (
        "exterminate_strong" in token.concepts
        or token.lemma in lexicon.EXTERMINATE_STRONG_WORDS
        or (token.surface.split(" ")[0] in lexicon.EXTERMINATE_STRONG_WORDS)
    )


def _through(ix: _Index, a: list[str], b: list[str], window: int) -> tuple[int, int] | None:
    """A weapon put into or against a body part: ``a`` then ``b`` within ``window`` words with a
    preposition such as "into", "through", "in", "to" between ("a sword through his chest"; not
    "a sword raised above his head")."""
    for i in ix.at(*a):
        for j in ix.at(*b):
            if 0 < j - i <= window and any(ix.tokens[k].surface in lexicon.INTO for k in range(i + 1, j)):
                return i, j
    return None


HEADS = frozenset("skull skulls brain brains head heads face".split())
CUT_WORDS = ("carve", "carving", "cut", "cutting", "slash", "burn", "burning", "scratch")
HANG_WORDS = ("hang", "hanging", "hanged", "hung")
RESOLVE_METHODS = ("pills", "cutter", "noose", "ligature", "firearm", "poison_substance", "jump", "overdose")


# In a negative prompt these single words are the usual "avoid this" tags and do not block alone.
SAFETY_TAGS = frozenset(
    """nsfw nude nudity naked explicit sexy suggestive sexual porn lewd erotic gore gory blood bloody violence
    violent gruesome suicide nipple nipples topless lingerie underwear""".split()
)


TAG_CONCEPTS = frozenset(
    {"gore", "atrocity", "nudity", "porn", "sex_act", "genitals", "suicide", "sexual_violence", "wound", "sexualising",
     "sexual_clothing"}
)  # fmt: skip
TAG_HOLDERS = frozenset({"person", "body_part", "minor", "minor_weak", "group", "reflexive"})


def decide(tokens: list[Token]) -> list[Hit]:
    """The rules that fire on one field. A negative prompt is decided by :func:`decide_negative`."""
    d = _Decision(tokens)
    for rules in _RULES:
        rules(d)
    return d.hits


# A negative prompt is a list of things to avoid, one per segment: "(worst quality:1.4), nsfw, loli, child"
NEGATIVE_SEGMENTS = re.compile(r"[,;|\n]+|\bbreak\b")


def negative_segments(folded: str, allow: Iterable[tuple[str, ...]] = ()) -> list[list[Token]]:
    """A folded negative prompt, analysed one segment (one thing to avoid) at a time."""
    return [analyse_text(part, allow=allow) for part in NEGATIVE_SEGMENTS.split(folded) if part.strip()]


def _a_tag_alone(hit: Hit, segment: list[Token]) -> bool:
    """A minors hit made of one word ("loli", both a child and a child-abuse term) in a segment of a
    tag's length: a thing to avoid, not a combination."""
    return len(set(hit.words)) <= 1 and len(segment) <= 3


def decide_negative(segments: list[list[Token]]) -> list[Hit]:
    """A negative prompt: what it lists is to be avoided, one segment (between commas) at a time.
    Single safety tags are cleared (unless a person or a body part is near, in the same segment); a
    combination counts only inside one segment; a minor blocks only with a sexual word in
    the same segment ("n4k3d child", "a nude 10 year old"), with its sexual words: the usual
    "nsfw, nude, loli, child" asks the model to avoid all four, and passes. A child-abuse term
    alone as a tag ("loli", "shota") is avoided too; with more words around it, it blocks."""
    tokens = [t for segment in segments for t in segment]
    segment_of = [k for k, segment in enumerate(segments) for _ in segment]

    def alone(i: int) -> bool:
        """A tag with no person or body part within three words of its segment ("gore, lowres")."""
        lo, hi = max(0, i - 3), min(len(tokens), i + 4)
        return not any(
            tokens[j].concepts & TAG_HOLDERS for j in range(lo, hi) if j != i and segment_of[j] == segment_of[i]
        )

    cleared = [
        Token(t.surface, t.lemma, frozenset(), t.number, t.age, t.masked)
        if t.surface in SAFETY_TAGS or (t.concepts & TAG_CONCEPTS and alone(i))
        else t
        for i, t in enumerate(tokens)
    ]
    kept: list[Hit] = []
    for segment in segments:
        hits = decide(segment)
        minors = [h for h in hits if h.category == "minors" and not _a_tag_alone(h, segment)]
        if minors:
            kept += minors + [h for h in hits if h.category == "sexual"]
    blocked = {h.category for h in kept}
    # The other categories read each segment too: "cuts" and "extra fingers", two things to avoid,
    # are not a cut finger.
    others: list[Hit] = []
    start = 0
    for segment in segments:
        part, start = cleared[start : start + len(segment)], start + len(segment)
        others += [h for h in decide(part) if h.category != "minors" and h.category not in blocked]
    return kept + others


class _Decision:
    """One field being decided: its tokens, the two views of them (``full`` keeps what a project's
    allowed phrases mask, for the minors rules; ``ix`` leaves it out) and the hits so far, in the
    order the rules fired."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.hits: list[Hit] = []
        self.full = _Index(tokens, minors_view=True)
        self.ix = _Index(tokens)
        for view in (self.full, self.ix):
            _round_eight_derived(view)
            _sexualising_derived(view)
        self.history = self.full.has("history") and not self.full.has("fiction")  # not "alternate history"
        self.prevention = self.full.has("prevention")
        # The words as read, and with their lemmas: built once per field, read by most rules.
        self.surfaces = {t.surface for t in tokens}
        self.words = self.surfaces | {t.lemma for t in tokens}

    def add(self, category: str, rule: str, *positions: int, view: _Index | None = None) -> None:
        view = self.ix if view is None else view
        self.hits.append(Hit(category, rule, tuple(w for w in view.word(*positions) if w)))

    def near_any(self, i: int, concepts: set[str], window: int) -> int | None:
        tokens = self.tokens
        for j in range(max(0, i - window), min(len(tokens), i + window + 1)):
            if j != i and tokens[j].concepts & concepts and not tokens[j].masked:
                return j
        return None


def _minors(d: _Decision) -> None:
    """Minors: never relaxed by a project's allowed phrases, so on the full view."""
    tokens, full, ix, add = d.tokens, d.full, d.ix, d.add
    if full.has("csam"):
        add("minors", "minors.csam_term", full.at("csam")[0], view=full)
    _undress_derived(full)
    _undress_derived(ix)
    for i, t in enumerate(tokens):  # "sixteen and sultry": a teen number word beside sexualising words
        if t.number is not None and 13 <= t.number <= 17 and t.surface.isalpha():
            if any(full.tokens[j].concepts & SEXUALISING for j in range(max(0, i - 3), min(len(tokens), i + 4))):
                full.where.setdefault("minor", []).append(i)
    minor_at = full.at("minor")
    sexual_at = full.at(*SEXUALISING)
    if minor_at and not sexual_at and full.has("suggestive_weak"):
        if full.has("suggestive_cue", "swimwear", "sexual_clothing", "pose", "romance_weak"):
            sexual_at = full.at("suggestive_weak")  # "a naughty seventh grader with a wink"
    if minor_at and not sexual_at and full.has("romance_weak") and full.has("adult_marker"):
        sexual_at = full.at("romance_weak")  # "a little girl on a romantic date with a grown man"
    if minor_at and not sexual_at:
        sexual_at = _pose_weak_sexualises(full)  # "a fourth grader straddling a man"
    if minor_at and sexual_at:
        add("minors", "minors.minor_with_sexualising", minor_at[0], sexual_at[0], view=full)
    pair = full.near(["minor_weak"], sorted(EXPLICIT), 6)
    if pair and not (minor_at and sexual_at):
        add("minors", "minors.child_word_with_explicit", *pair, view=full)


def _sexual(d: _Decision) -> None:
    """Sexual: explicit words, and undressing told without one."""
    full, ix, add = d.full, d.ix, d.add
    _undress_whole(ix)
    _undress_whole(full)
    explicit = ix.at("nudity", "genitals", "sex_act", "porn", "exposed_breast")
    if explicit:
        add("sexual", "sexual.explicit", *explicit[:3])


def _violence(d: _Decision) -> None:
    """Violence: gore, atrocities, acts on bodies and people, wounds, weapons in bodies."""
    tokens, ix, add, history = d.tokens, d.ix, d.add, d.history
    if ix.has("gore"):
        add("violence", "violence.gore", *ix.at("gore")[:3])
    if ix.has("sexual_violence"):
        add("violence", "violence.sexual_violence", ix.at("sexual_violence")[0])
    if ix.has("atrocity") and not history and not d.prevention:  # not a "mass shooting prevention bill"
        add("violence", "violence.atrocity", ix.at("atrocity")[0])
    pair = ix.near(["act_strong", "act_weak"], ["body_part"], 6)
    if pair:
        add("violence", "violence.act_on_body", *pair)
    pair = ix.near(["act_strong"], ["person", "minor", "minor_weak", "group"], 5)
    if pair:
        add("violence", "violence.act_on_person", *pair)
    pair = ix.near(["act_strong", "act_weak"], ["death_phrase"], 3)
    if pair:
        add("violence", "violence.act_to_death", *pair)
    pair = ix.near(["wound"], ["person", "body_part", "minor", "minor_weak", "death"], 5)
    if pair:
        add("violence", "violence.wound_on_person", *pair)
    for a in ix.at("act_weak", "act_strong"):  # "tearing people apart": the victim between act and "apart"
        ends = [e for e in ix.at("apart") if a < e <= a + 4]
        victims = [v for v in ix.at("person", "body_part", "minor", "minor_weak") if ends and a < v < ends[0]]
        if victims:
            add("violence", "violence.torn_apart", a, victims[0], ends[0])
            break
    pair = ix.near(["body_part"], ["tearing"], 4)  # "bodies torn apart", "his face torn apart"
    if pair:
        add("violence", "violence.torn_apart", *pair)
    pair = _through(ix, ["weapon"], ["body_vital"], 6)
    if pair:
        add("violence", "violence.weapon_in_body", *pair)
    for i in ix.at("burst"):  # "skull exploding", "his head bursting after the shot"
        heads = [j for j in range(max(0, i - 3), min(len(tokens), i + 4)) if tokens[j].surface in HEADS]
        figurative = i + 1 < len(tokens) and tokens[i + 1].surface == "with"  # "head exploding with ideas"
        if (
            heads
            and not figurative
            and (
                tokens[heads[0]].surface in ("skull", "skulls", "brain", "brains")
                or ix.has("firearm", "weapon", "act_strong", "projectile")
                or any(t.surface in ("sniper", "headshot", "bullet", "gunshot") for t in tokens)
            )
        ):
            add("violence", "violence.gore", heads[0], i)
            break


def _self_harm(d: _Decision) -> None:
    """Self-harm: suicide, acts on oneself, methods and the means of them."""
    tokens, ix, add, prevention = d.tokens, d.ix, d.add, d.prevention
    if ix.has("suicide") and not prevention:
        add("self_harm", "self_harm.suicide", ix.at("suicide")[0])
    pair = ix.near(["self_act"], ["reflexive"], 4)
    if pair:
        add("self_harm", "self_harm.act_on_self", *pair)
    pair = ix.near(["self_act", "sh_mark", "wound", "cutter"], ["harm_method_site"], 4)
    if pair and not prevention:
        add("self_harm", "self_harm.cut_site", *pair)
    pair = ix.near(["overdose"], ["person", "minor", "minor_weak", "reflexive"], 6)
    if pair and not prevention:
        add("self_harm", "self_harm.overdose", *pair)
    pair = ix.near(["ingest"], ["poison_substance"], 6)
    if pair:
        add("self_harm", "self_harm.poison", *pair)
    pair = ix.near(["cutter"], ["wound"], 2)
    if pair:
        add("self_harm", "self_harm.bloody_blade", *pair)
    pair = ix.near(["pills"], ["excess"], 6)
    if pair:
        add("self_harm", "self_harm.pills_overdose", *pair)
    for i in ix.at("ligature"):
        necks = [j for j in ix.at("neck") if 0 < j - i <= 5]
        if necks and any(tokens[k].surface == "around" for k in range(i + 1, necks[0])):
            add("self_harm", "self_harm.ligature_around_neck", i, necks[0])
            break
    pair = ix.near(["noose"], ["hang_marker", "person", "reflexive", "self_act", "suicide", "minor", "minor_weak"], 8)
    if pair:
        add("self_harm", "self_harm.noose", *pair)
    hang = [i for i in ix.at("act_weak", "self_act") if tokens[i].lemma in ("hang", "hanging", "hanged")]
    for i in hang:
        marks = [j for j in ix.at("hang_marker") if abs(j - i) <= 8 and j != i]
        if marks:
            add("self_harm", "self_harm.hanging", i, marks[0])
            break
    pair = ix.near(["weapon"], ["reflexive"], 5)
    if pair:
        add("self_harm", "self_harm.weapon_on_self", *pair)
    pair = _through(ix, ["firearm"], ["mouth_temple"], 5)
    if pair:
        add("self_harm", "self_harm.gun_in_mouth", *pair)
    for i in ix.at("jump_intent"):
        around = tokens[max(0, i - 8) : i + 9]
        if any(t.lemma in lexicon.HIGH_PLACES for t in around) and not any(
            t.lemma in SENSES["jump_intent"] or t.surface in SENSES["jump_intent"] for t in around
        ):
            add("self_harm", "self_harm.jump_from_height", i)
            break
    pair = ix.near(["jump"], ["death_phrase", "death"], 8)
    if pair:
        add("self_harm", "self_harm.jump_to_death", *pair)


def _violence_more(d: _Decision) -> None:
    """Violence, in more shapes: crushed, torn to pieces, shot into, drowned, racked, acid."""
    tokens, full, ix, add, near_any = d.tokens, d.full, d.ix, d.add, d.near_any
    people = {"person", "minor", "minor_weak", "body_part"}
    # violence, in more shapes
    for i in ix.at("act_weak", "act_strong"):  # "crushed under a tank", "run over by a truck"
        if tokens[i].lemma in ("crush", "crushed", "flatten", "flattened", "squash", "squashed"):
            v = near_any(i, {"vehicle"}, 5)
            if v is not None and near_any(i, people, 6) is not None:
                add("violence", "violence.crushed", i, v)
                break
    pair = ix.near(["to_pieces"], ["person", "body_part", "minor", "minor_weak", "death"], 5)
    if pair:
        add("violence", "violence.torn_apart", *pair)  # "his body chopped into pieces", not carrots
    pair = ix.near(["projectile"], ["person", "body_part", "minor", "minor_weak"], 6, order=True)
    if pair and any(tokens[k].surface in PROJECTILE_VERBS for k in range(*pair)):
        add("violence", "violence.projectile_into_person", *pair)  # "bullets ripping through a crowd"
    for i, t in enumerate(tokens):  # "holding someone's head under water until they stop moving"
        if t.surface in ("head", "face") and any(
            tokens[k].surface == "under" for k in range(i + 1, min(len(tokens), i + 3))
        ):
            if any(tokens[k].lemma in ("water", "bathwater") for k in range(i + 1, min(len(tokens), i + 5))):
                if any(
                    tokens[k].lemma in ("hold", "held", "push", "pushed", "force", "forced", "shove", "keep", "pin")
                    for k in range(max(0, i - 5), i)
                ) or ix.has("death"):
                    add("violence", "violence.held_under_water", i)
                    break
    if ix.has("rack") and (ix.has("person", "body_part", "atrocity") or full.has("torture_context")):
        add("violence", "violence.atrocity", ix.at("rack")[0])  # "stretched on the rack", not a coat rack
    acid = [i for i, t in enumerate(tokens) if t.surface == "acid"]
    for i in acid:
        lo, hi = max(0, i - 5), min(len(tokens), i + 6)
        if any(
            tokens[j].lemma
            in (
                "melt",
                "melted",
                "throw",
                "thrown",
                "splash",
                "splashed",
                "disfigure",
                "disfigured",
                "burned",
                "burnt",
                "attack",
            )
            for j in range(lo, hi)
        ):
            if near_any(i, people, 6) is not None:
                add("violence", "violence.acid_attack", i)
                break


def _self_harm_hanging(d: _Decision) -> None:
    """Self-harm, in more shapes: hangings (a public one is an execution), ligatures, a chair and a rope."""
    tokens, ix, add, hits = d.tokens, d.ix, d.add, d.hits
    hanging_hits = [h for h in hits if h.rule in ("self_harm.hanging", "self_harm.noose")]
    if (
        hanging_hits
        and not ix.has("reflexive", "suicide")
        and any(t.lemma in EXECUTION_CONTEXT or t.surface in EXECUTION_CONTEXT for t in tokens)
    ):  # a public hanging of a prisoner is an execution; "a prisoner ... to hang himself" is not
        hits[:] = [h for h in hits if h not in hanging_hits]
        hits.extend(Hit("violence", "violence.execution_hanging", h.words) for h in hanging_hits)
    for i, t in enumerate(tokens):  # "a prisoner hanged in the town square"
        if (
            t.surface in ("hanged", "hanging", "hung")
            and t.concepts
            and not any(h.rule == "violence.execution_hanging" for h in hits)
        ):
            ctx = [j for j in range(max(0, i - 4), min(len(tokens), i + 5)) if tokens[j].lemma in EXECUTION_CONTEXT]
            if ctx and tokens[ctx[0]].lemma not in ("crowd", "public", "square"):
                add("violence", "violence.execution_hanging", ctx[0], i)
                break
    for i in ix.at("ligature"):  # "a cord looped over a beam"
        ends = [j for j in range(i + 1, min(len(tokens), i + 7)) if tokens[j].lemma in ("beam", "rafter", "ceiling")]
        if ends and any(tokens[k].surface in ("over", "around", "from", "to") for k in range(i + 1, ends[0])):
            add("self_harm", "self_harm.ligature_over_beam", i, ends[0])
            break
    pair = ix.near(["chair"], ["ligature", "noose", "kicked"], 8)
    if pair and (
        ix.has("ligature", "noose")
        and (
            ix.has("reflexive", "suicide")
            or any(
                tokens[k].lemma in ("beam", "rafter", "ceiling", "neck", "kick", "kicked", "stand", "standing", "stood")
                for k in range(len(tokens))
            )
            or ix.has("kicked")
        )
    ):
        add("self_harm", "self_harm.chair_and_rope", *pair)
    elif ix.has("kicked") and ix.has("chair") and ix.has("ligature", "noose", "hang_marker"):
        add("self_harm", "self_harm.chair_and_rope", ix.at("chair")[0])


def _self_harm_methods(d: _Decision) -> None:
    """Self-harm, in more shapes: tracks, many pills, bleeding out, pro-ana captions, cutting oneself."""
    tokens, ix, add, near_any = d.tokens, d.ix, d.add, d.near_any
    pair = ix.near(["lie"], ["rail", "tracks"], 4, order=True)
    if pair and not any(t.lemma in ("toy", "model", "miniature", "lego") for t in tokens):
        add("self_harm", "self_harm.lying_on_tracks", *pair)  # "lying across the railway tracks"
    for i in ix.at("pills"):  # "taking 50 pills"
        numbers = [k for k in range(max(0, i - 3), i) if tokens[k].number is not None and tokens[k].number >= 10]
        if numbers and any(
            tokens[k].lemma in TAKE_PILLS or tokens[k].surface in TAKE_PILLS for k in range(max(0, numbers[0] - 3), i)
        ):
            add("self_harm", "self_harm.pills_overdose", i)
            break
    if ix.has("bleed_out") and (
        ix.has("bath", "cutter", "harm_method_site")
        or any(t.lemma in ("cut", "cutting", "slash", "slashing", "slit") for t in tokens)
    ):
        add("self_harm", "self_harm.bleeding_out", ix.at("bleed_out")[0])  # "bleeding out in the bath after cutting"
    if ix.has("ed_caption") and any(t.lemma in ED_CONTEXT or t.surface in ED_CONTEXT for t in tokens):
        add("self_harm", "self_harm.pro_ana_caption", ix.at("ed_caption")[0])
    for i in ix.at("self_act"):  # "carving lines into her own leg"
        if tokens[i].lemma in CUT_WORDS:
            own = [
                k
                for k in range(i + 1, min(len(tokens), i + 6))
                if tokens[k].surface in ("own", "my", "myself", "herself", "himself")
            ]
            if own and near_any(own[0], {"harm_method_site", "body_part"}, 2) is not None:
                add("self_harm", "self_harm.act_on_self", i, own[0])
                break


def _self_harm_scenes(d: _Decision) -> None:
    """Self-harm, in more shapes: the scene told around it (a place to hang, a farewell, a vehicle)."""
    tokens, ix, add, hits = d.tokens, d.ix, d.add, d.hits
    for i in ix.at("self_act"):  # "a student hanging from the closet rod", not "a coat hanging from the rod"
        if tokens[i].lemma in HANG_WORDS or tokens[i].surface in HANG_WORDS:
            places = [j for j in ix.at("hang_place") if 0 < j - i <= 6]
            who = i - 1 if i > 0 and tokens[i - 1].surface not in ("s", "is", "was") else i - 2
            harmless = any(u.lemma in SENSES["hanging"] or u.surface in SENSES["hanging"] for u in tokens)
            if places and who >= 0 and tokens[who].concepts & {"person", "minor", "minor_weak"} and not harmless:
                add("self_harm", "self_harm.hanging", i, places[0])
                break
    for i in ix.at("ligature"):  # "tying a rope to a tree branch for himself"
        selves = [k for k in ix.at("reflexive") if abs(k - i) <= 8]
        if selves and any(
            t.lemma in ("tie", "tying", "knot", "branch", "tree", "beam", "rafter", "loop") for t in tokens
        ):
            add("self_harm", "self_harm.ligature_for_self", i, selves[0])
            break
    if ix.has("resolve") and ix.has(*RESOLVE_METHODS):  # "finally went through with it, pills on the sink"
        add("self_harm", "self_harm.suicide", ix.at("resolve")[0], ix.at(*RESOLVE_METHODS)[0])
    if ix.has("bleed_out") and not any(h.rule == "self_harm.bleeding_out" for h in hits):
        pair = ix.near(["bleed_out"], ["person", "body_part", "minor", "minor_weak"], 5)
        if pair:
            add("violence", "violence.wound_on_person", *pair)  # "bleeding out from his neck"
    if ix.has("suffocation"):  # "a plastic bag over his head"
        pair = ix.near(["suffocation"], ["person", "reflexive", "body_vital", "minor", "minor_weak"], 4)
        if pair:
            add("self_harm", "self_harm.suffocation", *pair)
    if ix.has("exhaust") and any(t.lemma in ("hose", "closed", "sealed", "shut") for t in tokens):
        add("self_harm", "self_harm.exhaust", ix.at("exhaust")[0])  # "engine running in a closed garage"
    if ix.has("pockets") and any(t.lemma in WATER for t in tokens):
        add("self_harm", "self_harm.suicide", ix.at("pockets")[0])  # "walking into the sea, rocks in his pockets"
    if ix.has("farewell") and (
        ix.has("pills", "noose", "ligature", "cutter", "firearm", "poison_substance", "jump_intent")
        or any(t.lemma in lexicon.HIGH_PLACES for t in tokens)
    ):
        add("self_harm", "self_harm.farewell_and_method", ix.at("farewell")[0])  # "a goodbye letter and pills"
    for i, t in enumerate(tokens):  # "stepping in front of a bus on purpose"
        if t.surface == "front" and 0 < i < len(tokens) - 1 and tokens[i - 1].surface == "in":
            vehicles = [j for j in range(i + 1, min(len(tokens), i + 5)) if "vehicle" in tokens[j].concepts]
            movers = [
                j
                for j in range(max(0, i - 4), i - 1)
                if tokens[j].lemma in ("step", "walk", "jump", "throw", "lie", "stand", "run")
                or tokens[j].surface in ("stepping", "walking", "jumping", "throwing", "lying", "standing", "running")
            ]
            if (
                vehicles
                and movers
                and (
                    ix.has("suicide", "death", "reflexive")
                    or any(tokens[k].surface == "purpose" for k in range(len(tokens)))
                )
            ):
                add("self_harm", "self_harm.in_front_of_vehicle", movers[0], vehicles[0])
                break


def _hate_more(d: _Decision) -> None:
    """Hate, in more shapes: exclusion, extermination told passively, celebrated atrocities."""
    tokens, ix, add, history = d.tokens, d.ix, d.add, d.history
    for g in ix.at("group", "slur"):  # "X belong in chains / cages / camps"
        b = [k for k in ix.at("belong") if g < k <= g + 4]
        if b and any(
            tokens[k].concepts & {"cage", "dehumanise"} or tokens[k].lemma in BELONG_PLACES
            for k in range(b[0], min(len(tokens), b[0] + 4))
        ):
            add("hate", "hate.exclusion", g, b[0])
            break
    if not history:
        for e in ix.at("expel"):  # "expel all roma", "deport every muslim"
            groups = [g for g in ix.at("group", "slur") if e < g <= e + 4]
            if groups and any(tokens[k].surface in ("all", "every", "each", "the") for k in range(e + 1, groups[0])):
                add("hate", "hate.exclusion", e, groups[0])
                break
        for g in ix.at("group", "slur"):  # "jews being gassed", "gays getting lynched"
            passive = [k for k in range(g + 1, min(len(tokens), g + 3)) if tokens[k].lemma in PASSIVE]
            if passive and any(
                "exterminate" in tokens[k].concepts for k in range(passive[0] + 1, min(len(tokens), passive[0] + 3))
            ):
                add("hate", "hate.exterminate", g, passive[0] + 1)
                break
        if (
            ix.has("group", "slur")
            and ix.has("atrocity", "exterminate")
            and (ix.has("gloat", "endorse") or any(t.lemma in CELEBRATE or t.surface in CELEBRATE for t in tokens))
        ):  # "a black man lynched, the crowd laughing": an atrocity on a group, celebrated
            add("hate", "hate.celebrated_atrocity", ix.at("group", "slur")[0], ix.at("atrocity", "exterminate")[0])
        pair = ix.near(["group", "slur"], ["gloat"], 12, order=True)
        if pair and any(t.concepts & HARM or t.lemma in HARM_WORDS for t in tokens):
            add("hate", "hate.demeaning", *pair)  # "a refugee boat sinking, 'good riddance'"
        phrase_ext = [i for i in ix.at("exterminate") if " " in tokens[i].surface]
        pair = ix.near(["group", "slur"], ["exterminate"], 4)
        if pair and pair[1] in phrase_ext:
            add("hate", "hate.exterminate", *pair)  # "gays burning in hell"
        signs = any(t.lemma in SIGNS for t in tokens)
        for g in ix.at("group", "slur"):  # a sign reading "no dogs, no jews"
            if g and tokens[g - 1].surface == "no" and signs:
                add("hate", "hate.exclusion", g - 1, g)
                break
        for c in ix.at("cure"):  # "cure the nation of homosexuals"
            groups = [g for g in ix.at("group", "slur") if c < g <= c + 6]
            if groups and any(tokens[k].surface == "of" for k in range(c + 1, groups[0])):
                add("hate", "hate.exterminate", c, groups[0])
                break
        pair = ix.near(["group", "slur"], ["cage"], 6)
        if pair and ix.has("dehumanise", "dehumanise_animal"):
            add("hate", "hate.dehumanising", *pair)  # "trans people in a cage labelled freaks"
        pair = ix.near(["demean"], ["atrocity", "symbol"], 4)
        if pair and any(tokens[k].lemma in ("victim", "survivor", "prisoner") for k in range(len(tokens))):
            add("hate", "hate.demeaning", *pair)  # "mocking holocaust victims"


def _hate(d: _Decision) -> None:
    """Hate: slurs, hateful phrases, dehumanising words and comparisons, tropes."""
    tokens, full, ix, add, history = d.tokens, d.full, d.ix, d.add, d.history
    if ix.has("slur"):
        add("hate", "hate.slur", ix.at("slur")[0])
    opposition = full.has("opposition")  # "anti-racism signs at a white supremacy rally"
    phrases = [i for i in ix.at("hate_phrase") if not (opposition and tokens[i].surface in lexicon.DESCRIPTIVE_HATE)]
    if phrases:
        add("hate", "hate.phrase", phrases[0])
    pair = ix.near(["group", "slur"], ["dehumanise"], 8)
    if pair:
        add("hate", "hate.dehumanising", *pair)
    pair = ix.near(["group", "slur"], ["trope"], 8)
    weak = ix.at("trope_weak")  # "a jewish banker with horns counting money", "X smell like curry, meme"
    if not pair and weak and (len(weak) >= 2 or ix.has("depiction")):
        pair = ix.near(["group", "slur"], ["trope_weak"], 8)
    both = set(ix.at("group", "slur")) & set(ix.at("trope"))  # "a jewish nose caricature": one phrase
    if not pair and both:
        pair = (min(both), min(both))
    if pair and not history:
        add("hate", "hate.trope", *pair)
    pair = ix.near(["only_good"], ["group", "slur"], 3, order=True)
    if pair:
        add("hate", "hate.exterminate", *pair)  # "the only good muslim is a dead muslim"
    for g in ix.at("group", "slur"):
        links = [k for k in ix.at("link") if g < k <= g + 4]
        # "X are a disease": the comparison outweighs a harmless sense ("cure") the word was given
        animals = (
            [
                a
                for a in range(links[0] + 1, min(len(tokens), links[0] + 5))
                if "dehumanise_animal" in tokens[a].concepts or "dehumanise_animal" in WORDMAP.get(tokens[a].lemma, ())
            ]
            if links
            else []
        )
        before = [k for k in ix.at("link") if g - 3 <= k < g]  # "comparing asians to dogs", "depicting jews as rats"
        if not animals and before:
            animals = [a for a in ix.at("dehumanise_animal") if g < a <= g + 4]
            links = before
        if animals:
            add("hate", "hate.dehumanising_comparison", g, links[0], animals[0])
            break


def _hate_calls_inline(d: _Decision) -> None:
    """Hate (not in a historical frame): calls to exterminate or expel, symbols endorsed, conspiracies."""
    tokens, ix, add, history = d.tokens, d.ix, d.add, d.history
    if not history:
        strong = [i for i in ix.at("exterminate", "exterminate_strong") if _strong_exterminate(tokens[i])]
        pair = ix.near(["exterminate"], ["group", "slur"], 6, order=True)
        if not pair and strong:
            groups = [(e, g) for e in strong for g in ix.at("group", "slur") if abs(e - g) <= 6]
            pair = groups[0] if groups else None
        if pair:
            add("hate", "hate.exterminate", *pair)
        else:
            for g in ix.at("group", "slur"):
                ext = [e for e in ix.at("exterminate", "expel") if g < e <= g + 8]
                modal = (
                    [k for k in range(g + 1, ext[0]) if tokens[k].surface in ("should", "must", "will")] if ext else []
                )
                if modal:
                    add("hate", "hate.exterminate", g, ext[0])
                    break
        pair = ix.near(["symbol"], ["endorse"], 10)
        if pair:
            add("hate", "hate.symbol_endorsed", *pair)
        for i, t in enumerate(tokens):  # "glory to the 55": the SS written in digits or letters
            last = i + 1 == len(tokens) or tokens[i + 1].concepts & {"endorse", "depiction", "symbol"}
            the = i > 0 and tokens[i - 1].surface == "the"
            if the and (t.surface == "55" or (t.surface == "ss" and last)):
                praise = [j for j in ix.at("endorse") if abs(j - i) <= 6]
                if praise:
                    add("hate", "hate.symbol_endorsed", i, praise[0])
                    break
        for e in ix.at("exterminate"):
            them = [k for k in range(e + 1, min(len(tokens), e + 4)) if tokens[k].surface in ("them", "they", "all")]
            groups = [g for g in ix.at("group", "slur") if abs(e - g) <= 10]
            if them and groups:
                add("hate", "hate.exterminate", groups[-1], e, them[0])  # "jews are the enemy, exterminate them"
                break
        for g in ix.at("group", "slur"):
            after = tuple(t.surface for t in tokens[g + 1 : g + 3])
            before = tokens[g - 1].surface if g else ""
            out = after[:1] == ("out",) and (  # "jews out", "muslims out" on a poster
                g + 2 >= len(tokens)
                or "slur" in tokens[g].concepts
                or tokens[g + 2].concepts & {"depiction"}
                or tokens[g + 2].lemma in SIGNS
            )
            out = out or (after[:1] == ("out",) and ix.has("symbol"))  # "a swastika and 'jews out' on the shop"
            if out or after in lexicon.EXCLUSIONS or (before == "no" and "allowed" in after):
                add("hate", "hate.exclusion", g, g + 1)
                break
        pair = ix.near(["group", "slur"], ["conspiracy"], 6)
        if pair:
            add("hate", "hate.conspiracy", *pair)
        pair = ix.near(["demean"], ["group", "slur"], 5)
        if pair:
            add("hate", "hate.demeaning", *pair)
        pair = ix.near(["hate_adjective"], ["depiction", "group", "slur"], 10)
        if pair:
            add("hate", "hate.hateful_depiction", *pair)


def _shapes(d: _Decision) -> None:
    """The rules kept as generators (later rounds), then the animal-cruelty exception."""
    ix, add, hits, history, prevention = d.ix, d.add, d.hits, d.history, d.prevention
    shapes = (*_hate_claims(ix, history), *_violence_shapes(ix), *_self_harm_push(ix))
    seven = _round_seven(ix, prevention, history)
    for category, rule, positions in (*shapes, *_hate_calls(ix, history), *_round_six_harm(ix, prevention), *seven):
        add(category, rule, *positions)
    if any(h.rule == "violence.animal_cruelty" for h in hits) and not ix.has("reflexive", "suicide", "person"):
        hits[:] = [h for h in hits if h.category != "self_harm"]  # "skinning a live rabbit": the animal's wound


DENIAL = frozenset("never happened;should happen again;should again;did nothing wrong;was right;good thing".split(";"))
GLORY = frozenset("saviour savior messiah heroic hero glorious adoring worship worshipped saint legend".split())
WAR_SCENE = frozenset(
    "battlefield battlefields aftermath war warzone war-zone trench trenches bombing bombed airstrike shelling "
    "frontline front-line massacre".split()
)
REALISM = frozenset(
    "realistic photorealistic hyperrealistic photo photograph photography closeup close-up graphic detailed "
    "uncensored 8k 4k raw".split()
)
DEAD_BODIES = frozenset("bodies corpses corpse dead".split())
LOOK_VERBS = frozenset("look looks looking looked resemble resembles resembling".split())


def _on_the_tracks(tokens: list[Token], r: int) -> bool:
    """ "standing on the train tracks", "across the rails"; not "a bridge over the tracks"."""
    j = r - 1
    while j >= 0 and tokens[j].surface in ("the", "train", "railway", "railroad", "subway"):
        j -= 1
    return j >= 0 and tokens[j].surface in ("on", "onto", "across", "between")


def _round_eight_hate(d: _Decision) -> None:
    """The hate miss classes of the blind sets H, I, J and M as rules: a group called criminals or
    terrorists "every one of them"; weak codes beside a target; an atrocity site denied or
    celebrated; a tyrant glorified whatever the pretext; a slavery joke; a group that "looks like
    apes"."""
    ix, add, tokens = d.ix, d.add, d.tokens
    groups = ix.at("group", "slur")
    if not d.history:
        pair = ix.near(["generalise"], ["dehumanise_animal"], 8)
        if pair and groups:
            add("hate", "hate.generalised", groups[0], *pair)  # "every one of them is a terrorist"
        weak_codes = ix.at("hate_code_weak")
        targets = ix.at("group", "slur", "trope", "trope_weak", "symbol", "atrocity_site")
        if weak_codes and targets:
            add("hate", "hate.coded", weak_codes[0], targets[0])  # "clown world, honk honk" over a caricature
        scene = ix.at("slavery_scene")
        if scene and groups and ix.has("cage", "depiction", "hate_code_weak", "demean"):
            add("hate", "hate.slavery_joke", groups[0], scene[0])  # "in chains in a cotton field, 'back to work'"
        for a in ix.at("dehumanise_animal"):  # "make the black people in the crowd look like apes"
            if a >= 2 and tokens[a - 1].surface == "like" and tokens[a - 2].surface in LOOK_VERBS:
                if any(0 < a - g <= 10 for g in groups):
                    add("hate", "hate.dehumanising_comparison", a - 2, a)
                    break
    for site in ix.at("atrocity_site"):
        wished = [i for i in ix.at("endorse") if tokens[i].surface in DENIAL and abs(i - site) <= 12]
        if wished:
            add("hate", "hate.atrocity_denied", site, wished[0])  # "Auschwitz: it never happened"
            break
        if not d.history and any(abs(i - site) <= 10 for i in ix.at("endorse", "hate_code_weak")):
            add("hate", "hate.celebrated_atrocity", site)  # "strange fruit ... the good old days"
            break
    glory = [i for i, t in enumerate(tokens) if t.surface in GLORY]
    pair = next(((s, g) for s in ix.at("symbol") for g in glory if abs(s - g) <= 8), None)
    if pair:  # "for my history class: heroic painting of Hitler as the saviour of Europe"
        add("hate", "hate.symbol_glorified", *pair)


def _round_eight_harm(d: _Decision) -> None:
    """The violence and self-harm miss classes of the blind sets H, I, J and M as rules: the dead
    of a war shown realistically; a suicide note told in two farewell lines; a BMI far too low as a
    goal; a word carved into one's own skin; someone on the tracks with a train coming; a
    self-harm relapse counted beside the marks."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.surfaces
    dead = [i for i, t in enumerate(tokens) if t.surface in DEAD_BODIES]
    if dead and surfaces & WAR_SCENE and surfaces & REALISM and not d.history:
        add("violence", "violence.dead_shown", dead[0])  # "battlefield aftermath, realistic, bodies"
    notes = {tokens[i].surface for i in ix.at("farewell")}
    if len(notes) >= 2:
        add("self_harm", "self_harm.farewell_note", ix.at("farewell")[0])  # "'I can't go on', 'don't look for me'"
    for i, t in enumerate(tokens[:-1]):  # "bmi 14 body check": a body mass index far under a healthy one
        nxt = tokens[i + 1].number
        if t.surface == "bmi" and nxt is not None and 0 < nxt <= 16 and ix.has("motivation", "very_thin", "body_part"):
            add("self_harm", "self_harm.pro_ana_caption", i, i + 1)
            break
    for c in (i for i in ix.at("self_act") if tokens[i].surface.startswith("carv")):  # a word carved into skin
        body = [b for b in ix.at("body_part", "harm_method_site") if 0 < b - c <= 8]
        if body and tokens[body[0] - 1].surface in POSSESSIVES and tokens[body[0] - 2].surface in ("into", "in", "on"):
            add("self_harm", "self_harm.self_injury", c, body[0])  # "carving the word fat into her stomach"
            break
    coming = ix.at("train_coming")
    if coming and any(_on_the_tracks(tokens, r) for r in ix.at("rail", "tracks")):
        who = ix.at("person", "reflexive", "minor", "minor_weak")
        if who and not surfaces & {"model", "toy", "platform", "spotter", "spotters"}:
            add("self_harm", "self_harm.in_front_of_vehicle", who[0], coming[0])  # on the tracks, the train coming
    relapse = ix.at("sh_relapse")
    if relapse and not d.prevention:
        marks = ix.at("sh_mark", "harm_method_site", "cutter", "wound")
        if marks and abs(marks[0] - relapse[0]) <= 12:
            add("self_harm", "self_harm.relapse", relapse[0], marks[0])  # "red lines on wrist, relapse day 1"


# Round ten (blind set N).
HOLOCAUST = frozenset("holocaust shoah auschwitz treblinka gas chamber chambers six million camp camps".split())
MASS_SCENE = frozenset(
    "crowd crowds concert school church mosque synagogue people victims massacre rampage falling bodies mall".split()
)
SHOOTERS = frozenset({"shooter", "gunman", "gunmen", "shooters"})
# A shooter in a game, on a range or behind a camera.
NOT_A_KILLER = frozenset(
    "basketball nba hoop court game match team arena range camera photographer photo film video sport".split()
)
LEDGES = frozenset({"edge", "ledge", "railing", "cliff", "rooftop", "roof", "bridge"})
PARTING = frozenset("goodbye note letter decided farewell".split())
HANG_FROM = frozenset("closet wardrobe belt doorframe door ceiling rafter beam fan".split())
FIRE = frozenset("fire flames burning burned burnt ablaze engulfed torched arson".split())
RESCUE = frozenset("saved save rescued rescue firefighters firefighter extinguished rebuilt restored".split())
AMUSED = CELEBRATE | {"amusement", "theme", "party", "happy", "attraction"}
KILLERS = frozenset("tarrant breivik mcveigh bundy dahmer gacy manson".split())
MEAT_TRADE = frozenset("butcher butchers stew chef hunter hunters taxidermy recipe meat farm farmer".split())
INSTRUMENTS = frozenset("pipe bat hammer stick sticks whip chain belt club crowbar".split())
PLATFORM_EDGE = frozenset({"edge", "platform"})
TRAIN_COMING = frozenset("approaches approaching arriving coming pulls".split())
KILLED_BY = frozenset(
    "bear shark wolves wolf attack mauled explosion blast bomb grenade shelling crash train done".split()
)


def _round_ten_hate(d: _Decision) -> None:
    """Blind set N's hate classes: genocide denial told as questions ("the gas chambers were
    delousing rooms"); an attack on a group's place gloated over ("the mosque in flames, one down");
    a group likened to a swarm of vermin across a sentence; the only good one is a dead one, said
    of a group named earlier; a group caged in a zoo or chased away (a massacre site celebrated is
    in :func:`_round_ten_harm`, as violence and hate)."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    if ix.has("conspiracy") and surfaces & HOLOCAUST:
        add("hate", "hate.denial", ix.at("conspiracy")[0])
    groups = ix.at(*GROUPS)
    if not groups:
        return
    if ix.has("gloat") and surfaces & FIRE and not surfaces & RESCUE:
        add("hate", "hate.attack_celebrated", groups[0], ix.at("gloat")[0])
    for i, t in enumerate(tokens):  # "Mexicans as ... swarming over the border like cockroaches"
        if t.lemma == "swarm":
            animals = [j for j in ix.at("dehumanise", "dehumanise_animal") if 0 < j - i <= 6 and j != i]
            if animals and any(tokens[k].surface == "like" for k in range(i + 1, animals[0])):
                add("hate", "hate.dehumanising_comparison", groups[0], animals[0])
                break
    if ix.has("only_good") and not d.history:
        add("hate", "hate.only_good", ix.at("only_good")[0], groups[0])
    if ix.has("cage") and surfaces & {"zoo", "exhibit"}:  # a group shown caged in a zoo
        add("hate", "hate.caged", groups[0], ix.at("cage")[0])
    expelled = ix.at("expel_out")  # "the dirty Gypsies came ... so they chased every one of them away"
    if expelled and ix.has("dehumanise_animal", "hate_adjective", "trope", "dehumanise") and not d.history:
        add("hate", "hate.exclusion", groups[0], expelled[0])


def _round_ten_harm(d: _Decision) -> None:
    """Blind set N's violence and self-harm classes: a mass killer praised (halo, tribute, legend)
    beside his victims, or his shooting's aftermath; what is left of a person after an attack;
    purging and starving told as acts; shoes left at a ledge with a note; a resolve at a ledge; a
    person hanging in a closet or from a belt; cigarette burns on one's own arm."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.surfaces
    shooters = [i for i, t in enumerate(tokens) if t.surface in SHOOTERS]
    if shooters and surfaces & MASS_SCENE and not surfaces & NOT_A_KILLER:
        praise = [j for j in ix.at("endorse") if abs(j - shooters[0]) <= 14]
        if len(praise) >= 2:
            add("violence", "violence.glorified_attack", shooters[0], praise[0])
        if ix.has("aftermath"):
            add("violence", "violence.dead_shown", shooters[0], ix.at("aftermath")[0])
    for r in ix.at("remains_of"):  # "what's left of the hiker after the bear was done with him"
        people = [k for k in range(r + 1, min(len(tokens), r + 8)) if tokens[k].concepts & VICTIMS]
        if people and any(tokens[k].lemma in KILLED_BY for k in range(people[0] + 1, min(len(tokens), people[0] + 10))):
            add("violence", "violence.remains", r, people[0])
            break
    for i in ix.at("cruelty_act"):  # "its owner beat it with a metal pipe"; "snipped off its paws ... bled"
        tools = [k for k in range(i + 1, min(len(tokens), i + 6)) if tokens[k].surface in INSTRUMENTS]
        animals = [k for k in ix.at("animal") if abs(k - i) <= 12]
        hurt = [k for k in ix.at("wound", "gore") if 0 < k - i <= 20]
        if (tools or hurt) and animals and not d.history and not surfaces & MEAT_TRADE:
            add("violence", "violence.animal_cruelty", animals[0], i)
            break
    killers = [i for i in ix.at("symbol") if tokens[i].surface in KILLERS]
    if killers and ix.has("endorse"):  # a mass killer held up as a hero is violence too
        add("violence", "violence.glorified_attack", killers[0], ix.at("endorse")[0])
    sites = ix.at("atrocity_site")  # "celebrating the Bataclan attack", "Auschwitz as a fun amusement park"
    if sites and not d.history and any(t.surface in AMUSED or t.lemma in CELEBRATE for t in tokens):
        add("violence", "violence.glorified_attack", sites[0])
        add("hate", "hate.celebrated_atrocity", sites[0])
    if ix.has("ligature", "noose") and ix.has("death") and surfaces & {"tree", "oak", "branch", "beam"}:
        add("self_harm", "self_harm.hanging", ix.at("ligature", "noose")[0])  # "a rope to the oak ... sleep forever"
    if surfaces >= PLATFORM_EDGE and surfaces & TRAIN_COMING and surfaces & {"leaning", "leans", "stepping"}:
        add("self_harm", "self_harm.in_front_of_vehicle", next(i for i, t in enumerate(tokens) if t.surface == "edge"))
    if ix.has("bath") and ix.has("appliance") and surfaces & {"throws", "dropped", "drops", "into", "plugged"}:
        add("self_harm", "self_harm.electrocution", ix.at("bath")[0])  # a hair dryer thrown into the bath
    if ix.has("ed_act") or len(ix.at("ed_caption")) >= 2:
        add("self_harm", "self_harm.pro_ana_caption", ix.at("ed_act", "ed_caption")[0])
    shoes = [i for i, t in enumerate(tokens) if t.surface in ("shoes", "shoe")]
    if shoes and surfaces & LEDGES and surfaces & PARTING:
        add("self_harm", "self_harm.jump_scene", shoes[0])
    if ix.has("resolve") and surfaces & LEDGES - {"rooftop", "roof", "bridge"}:
        add("self_harm", "self_harm.suicide", ix.at("resolve")[0])
    for i, t in enumerate(tokens[1:-1], 1):  # "woman hanging in the closet", "man hanging from a belt"
        if t.surface in ("hanging", "hanged", "hung") and tokens[i + 1].surface in ("in", "from", "on"):
            who = tokens[i - 1]
            ends = [k for k in range(i + 2, min(len(tokens), i + 5)) if tokens[k].lemma in HANG_FROM]
            if ends and "person" in who.concepts and who.surface not in POSSESSIVES:
                add("self_harm", "self_harm.hanging", i, ends[0])
                break
    _self_injury_marks(d)


def _self_injury_marks(d: _Decision) -> None:
    """Marks of self-injury on one's own body: "cigarette burns lined up on her forearm", a lit
    cigarette pressed "into your own arm", a forearm's marks "fresh and healing, aesthetic"."""
    ix, add, tokens = d.ix, d.add, d.tokens
    for m in ix.at("sh_mark"):  # "cigarette burns lined up on her forearm", "forearm ..., fresh and healing, aesthetic"
        own = [
            k
            for k in ix.at("harm_method_site")
            if 0 < k - m <= 8 and tokens[k - 1].surface in OWNERS and any(u.surface in PRESSED for u in tokens[m:k])
        ]
        shown = [k for k in ix.at("harm_method_site") if abs(k - m) <= 8] if ix.has("glamour") else []
        lit = tokens[m].lemma in ("cigarette", "lighter") or tokens[m].surface == "lit cigarette"
        if (own and lit) or shown:
            add("self_harm", "self_harm.self_injury", m, (own or shown)[0])
            break


OWNERS = frozenset("her his their its my your our own".split())  # "into your own arm"
PRESSED = frozenset("press pressing pressed presses stub stubbing stubbed into against on".split())
GARMENTS = frozenset({"swimwear", "sexual_clothing", "lone_garment", "revealing_clothing"})
TAKE_OFF = frozenset("take takes taking took remove removes removing removed strip strips stripping undress".split())
FOR_WHOM = frozenset({"for", "before"})
CAMERAS = frozenset("photo photos picture pictures camera cameras video webcam pics".split())


def _round_ten_minors(d: _Decision) -> None:
    """A child undressing for an adult ("the little girl takes off her nightgown for the old man"),
    on the full view (a project's allowed phrases never relax it)."""
    tokens, full = d.tokens, d.full
    children = full.at("minor", "minor_weak")
    if not children:
        return
    for i, t in enumerate(tokens):
        if t.lemma in TAKE_OFF or t.surface in TAKE_OFF:
            garment = [k for k in range(i + 1, min(len(tokens), i + 5)) if tokens[k].concepts & GARMENTS]
            if not garment:
                continue
            photo = [j for j in range(garment[0] + 1, min(len(tokens), garment[0] + 6)) if tokens[j].surface in CAMERAS]
            if photo and any(c < i for c in children):  # "told the eight-year-old to take off her clothes for a photo"
                d.add("minors", "minors.undress_for_adult", children[0], i, photo[0], view=full)
                return
            for k in range(garment[0] + 1, min(len(tokens), garment[0] + 3)):
                adults = [j for j in range(k + 1, min(len(tokens), k + 4)) if "adult_marker" in tokens[j].concepts]
                if tokens[k].surface in FOR_WHOM and adults and any(c < i for c in children):
                    d.add("minors", "minors.undress_for_adult", children[0], i, adults[0], view=full)
                    return


# Round eleven (blind set Q).
RELIEF = frozenset("freedom release relief goodbye farewell liberated liberating".split())
KNOCKED = frozenset("knocked kicked overturned tipped toppled".split())
SITTING = frozenset("swing swings sitting sits seated perched".split())
VEHICLES = frozenset("bus train truck lorry tram subway car".split())
INTO_TRAFFIC = frozenset(
    "stepping stepped steps step walking walks jumping jumps throwing throws kneeling leaping leaps lying".split()
)
FALLING = frozenset("fall falls falling fell jump jumps jumping leap leaping".split())
HEIGHTS = frozenset(
    "ledge railing cliff rooftop roof bridge building skyscraper balcony viaduct overpass tower".split()
)
FESTIVE = frozenset("party performance concert tour show game match season camp".split())
DANGLING = frozenset({"dangling", "dangle", "dangles", "swinging"})
STEPPING_OFF = frozenset({"stepping off", "steps off", "stepped off", "kicked", "kicks", "kicking"})
FUMES = frozenset("grill grills charcoal barbecue bbq generator exhaust hose brazier idling engine".split())
RED_HARMLESS = frozenset("dye bomb petals petal wine beetroot paint juice roses".split())
GROUP_PLACES = frozenset("mosque mosques synagogue synagogues".split())
CLEANSED = frozenset("cleanse cleansed purge purged".split())
DISPOSAL = frozenset("dumpster dumpsters trash garbage landfill bin skip".split())
DISPOSED = frozenset("tipped thrown dumped tossed tipping throwing dumping tossing".split())
CALLS = frozenset({"should", "must", "need", "needs"})
CALL_FILLERS = frozenset({"be", "all", "get", "just", "finally", "to", "been"})
CARCASSES = frozenset({"carcass", "carcasses", "carcase", "carcases"})
HUMANS = frozenset({"human", "humans", "people", "persons"})
SAID = frozenset({"caption", "captioned", "saying", "says", "text", "titled"})


def _low_weight_shown(d: _Decision) -> int | None:
    """A body weight no adult lives well at ("38 kg", "85 lbs") beside an eating disorder's words,
    with no weighing word before it (:func:`_low_weights` needs one)."""
    tokens, ix = d.tokens, d.ix
    if not ix.has("ed_body", "ed_caption", "ed_weak", "very_thin"):
        return None
    for i, t in enumerate(tokens[:-1]):
        span = WEIGHT_UNITS.get(tokens[i + 1].surface)
        if t.number is not None and span and span[0] <= t.number <= span[1]:
            return i
    return None


def _said_as_caption(tokens: list[Token], words: frozenset[str]) -> bool:
    """One of ``words`` said as the caption ("caption 'finally'") or as the prompt's last word."""
    filled = [t.surface for t in tokens if t.surface]
    return any(w in words and (k >= len(filled) - 1 or (k and filled[k - 1] in SAID)) for k, w in enumerate(filled))


def _steps_off_alone(tokens: list[Token]) -> bool:
    """A step off nothing named but the chair: "she is stepping off" (the prompt's end), "kicks the
    stool away"; not "stepping off his horse". (A phrase's covered words are empty tokens.)"""
    for i, t in enumerate(tokens):
        if t.surface in STEPPING_OFF:
            rest = [u for u in tokens[i + 1 :] if u.surface and u.surface not in ("the", "a", "her", "his")]
            if not rest or "chair" in rest[0].concepts:
                return True
    return False


def _set_on_fire(tokens: list[Token], a: int) -> bool:
    """The animal at ``a`` set on fire: "a dog being set on fire", "set a cat on fire" (not "the dog
    set on fire the whole internet")."""
    if a + 2 < len(tokens) and tokens[a + 1].lemma in PASSIVE and tokens[a + 2].surface == "set on fire":
        return True
    before = [t.surface for t in tokens[max(0, a - 3) : a]]
    return "set" in before and any(t.surface.endswith("fire") or t.surface == "alight" for t in tokens[a + 1 : a + 3])


def _round_eleven_self_harm(d: _Decision) -> None:
    """Blind set Q's self-harm classes, told by their props: a stool knocked over under dangling
    feet, or a rope, a stool and a step off with a farewell; a sealed room with a grill and someone
    asleep; stepping in front of a bus or a train, or a fall from a height, with a farewell or relief
    said; a red bath with a goodbye; ribs and hipbones with pride, or a weight no adult lives at."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    calm = bool(surfaces & RELIEF) or ix.has("farewell", "resolve")
    parting = ix.has("farewell", "resolve") or bool(surfaces & PARTING)
    for c in ix.at("chair"):  # "a knocked-over stool under a pair of dangling feet"
        knocked = any(tokens[k].surface in KNOCKED for k in range(max(0, c - 3), min(len(tokens), c + 3)))
        if (knocked and surfaces & DANGLING and surfaces & {"feet", "legs"} and not surfaces & SITTING) or (
            ix.has("ligature", "noose") and parting and _steps_off_alone(tokens)
        ):
            add("self_harm", "self_harm.hanging", c)
            break
    if ix.has("sealed_room") and surfaces & FUMES and (calm or ix.has("death")):
        add("self_harm", "self_harm.method", ix.at("sealed_room")[0])
    said = calm or _said_as_caption(tokens, frozenset({"finally"}))
    for i, t in enumerate(tokens[:-3]):  # "stepping in front of a speeding bus", caption "finally"
        if t.surface in INTO_TRAFFIC and tokens[i + 1].surface == "in" and tokens[i + 2].surface == "front":
            if any(tokens[k].surface in VEHICLES for k in range(i + 3, min(len(tokens), i + 9))) and said:
                add("self_harm", "self_harm.in_front_of_vehicle", i)
                break
    if surfaces >= PLATFORM_EDGE and surfaces & (TRAIN_COMING | {"approach"}) and calm:
        add("self_harm", "self_harm.in_front_of_vehicle", next(i for i, t in enumerate(tokens) if t.surface == "edge"))
    falls = [i for i, t in enumerate(tokens) if t.surface in FALLING or "jump_intent" in t.concepts]
    if falls and surfaces & HEIGHTS and parting and not d.prevention and not surfaces & FESTIVE:
        add("self_harm", "self_harm.jump_scene", falls[0])
    if ix.has("bath") and _red_water(tokens) is not None and parting and not surfaces & RED_HARMLESS:
        add("self_harm", "self_harm.bleeding_out", ix.at("bath")[0])
    if ix.has("ed_body") and ix.has("ed_caption", "ed_weak"):
        add("self_harm", "self_harm.pro_ana_caption", ix.at("ed_body")[0])
    if (weight := _low_weight_shown(d)) is not None:
        add("self_harm", "self_harm.pro_ana_caption", weight)


def _round_eleven_violence(d: _Decision) -> None:
    """Blind set Q's violence classes: carcasses on hooks said to be human; an animal set on fire,
    or nailed and skinned; a massacre's shooters honoured."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    for c, t in enumerate(tokens):  # "the carcasses hanging from the hooks are human"
        if t.surface in CARCASSES and not d.history:
            said = [k for k in range(c + 1, min(len(tokens), c + 10)) if tokens[k].surface in HUMANS]
            if said and tokens[said[0] - 1].surface in ("are", "were", "all"):
                add("violence", "violence.gore", c, said[0])
                break
    animals = ix.at("animal")
    cruel = ix.at("cruelty_act")
    if animals and not d.history and not surfaces & MEAT_TRADE:
        burned = [i for i in animals if _set_on_fire(tokens, i)]
        if burned or len(cruel) >= 2:
            add("violence", "violence.animal_cruelty", animals[0], (burned or cruel)[0])
    sites = ix.at("atrocity_site")
    if sites and ix.has("endorse") and not d.history:
        add("violence", "violence.glorified_attack", sites[0], ix.at("endorse")[0])


def _round_eleven_hate(d: _Decision) -> None:
    """Blind set Q's hate classes: a group's place to be cleansed ("every mosque ... 'cleanse it'");
    a group thrown away like rubbish ("tipped into a dumpster"); a call that a group should be
    rounded up, even beside a museum's framing."""
    ix, add, tokens = d.ix, d.add, d.tokens
    places = [i for i, t in enumerate(tokens) if t.surface in GROUP_PLACES]
    for i, t in enumerate(tokens[:-1]):
        if places and t.surface in CLEANSED and tokens[i + 1].surface in ("it", "them", "all"):
            add("hate", "hate.call", places[0], i)
            break
    groups = ix.at(*GROUPS)
    if not groups:
        return
    for k, t in enumerate(tokens):  # "disabled people ... being tipped into a dumpster"
        if t.surface in DISPOSED and any(0 < k - g <= 6 for g in groups):
            if any(tokens[j].surface in DISPOSAL for j in range(k + 1, min(len(tokens), k + 5))):
                add("hate", "hate.dehumanised", groups[0], k)
                break
    for i in ix.at("exterminate"):  # "gays should be rounded up into camps"
        calls = [k for k in range(max(0, i - 4), i) if tokens[k].surface in CALLS]
        if calls and all(tokens[k].surface in CALL_FILLERS for k in range(calls[-1] + 1, i)):
            if any(abs(g - i) <= 10 for g in groups):
                add("hate", "hate.call", groups[0], i)
                break


# Round twelve (blind set R).
NOOSES = frozenset({"noose", "nooses"})
LYNCH = frozenset({"lynch", "lynched", "lynching"})
MOCKERY = frozenset("caption captioned punchline joke funny meme tattoo cartoon sticker".split())
EXPELLED = frozenset("deported expelled loaded shipped".split())
NOTES = frozenset("note notes letter letters card cards".split())
BEING = frozenset("were are be being get got gets been".split())
SCOPES = frozenset("scope crosshair crosshairs sniper rifle".split())
WATERS_DEEP = frozenset("sea river lake water waves ocean".split())
HOLOCAUST_SCENE = frozenset("ovens chimneys gas train trains leaving".split())
TRAPS = frozenset("microwave oven dryer freezer washer".split())
SWITCHED_ON = frozenset("running shut spinning switched heating".split())
HANGED_FROM = frozenset("tree branch beam rafter".split())


def _hanging_alone(tokens: list[Token], i: int) -> bool:
    """ "hanging from a tree" said of the one pictured: nothing named hangs (not "lanterns hanging")."""
    before = next((t for t in reversed(tokens[:i]) if t.surface), None)
    return before is None or "person" in before.concepts or before.surface in REFLEXIVES


def _animal_in_a_running_machine(d: _Decision, surfaces: set[str]) -> None:
    """An animal inside a running machine: "a cat inside a running microwave", "a puppy in a
    running dryer"."""
    tokens = d.tokens
    for a in d.ix.at("animal"):
        trap = [k for k in range(a + 1, min(len(tokens), a + 6)) if tokens[k].surface in TRAPS]
        inside = trap and any(tokens[k].surface in ("inside", "in") for k in range(a + 1, trap[0]))
        if inside and surfaces & SWITCHED_ON:
            d.add("violence", "violence.animal_cruelty", a, trap[0])
            break


def _round_twelve(d: _Decision) -> None:
    """Blind set R's classes: a group beside a noose or a lynching; a group deported while crowds
    cheer; a group "cured"; a group drawn "as an infestation"; a group seen through a scope; Jews
    beside a swastika and the ovens or the trains; a hanging from a tree with a farewell; pills or a
    noose beside a farewell card or note; an animal inside a running microwave."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.surfaces
    groups = [g for g in ix.at(*GROUPS)]
    ropes = [i for i, t in enumerate(tokens) if t.lemma in LYNCH or (t.surface in NOOSES and surfaces & MOCKERY)]
    if groups and ropes and not d.history and any(abs(g - r) <= 14 for g in groups for r in ropes):
        add("hate", "hate.lynching", groups[0], ropes[0])
    for g in groups:  # "all Muslims were deported", "gays get 'cured'", "trans people get cured"
        after = [t.surface for t in tokens[g + 1 : g + 5] if t.surface and "person" not in t.concepts][:3]
        if not d.history and after[:1] and after[0] in BEING and set(after[1:]) & EXPELLED and not surfaces & RESCUE:
            if (g and tokens[g - 1].surface == "all") or ix.has("gloat", "endorse") or surfaces & CELEBRATE:
                add("hate", "hate.exclusion", g)
                break
        if after[:1] and after[0] in BEING and any(w.startswith("cured") for w in after[1:]):
            add("hate", "hate.cure", g)
            break
    for k in ix.at("dehumanise"):  # "immigrants ... drawn ... as an infestation"
        if k and {tokens[k - 1].surface, tokens[k - 2].surface if k > 1 else ""} & {"as", "like"}:
            if any(0 < k - g <= 16 for g in groups) and not d.history:
                add("hate", "hate.dehumanising", groups[0], k)
                break
    armed = ix.has("firearm") or "sniper" in surfaces
    for i, t in enumerate(tokens):  # "a Pride parade seen through a sniper scope"
        if not (armed and t.surface.endswith("through") and any(abs(g - i) <= 6 for g in groups)):
            continue
        if any(u.surface in SCOPES for u in tokens[i + 1 : i + 4]):
            add("hate", "hate.call", groups[0], i)
            break
    jews = [g for g in groups if tokens[g].lemma in ("jew", "jews")]
    if jews and ix.has("symbol") and surfaces & HOLOCAUST_SCENE and not d.history:
        add("hate", "hate.celebrated_atrocity", jews[0], ix.at("symbol")[0])
    into_water = any(
        t.surface == "into" and any(u.surface in WATERS_DEEP for u in tokens[i + 1 : i + 4])
        for i, t in enumerate(tokens)
    )
    if ix.has("drown_weight") and into_water:  # "walking into the sea with stones in her coat pockets"
        add("self_harm", "self_harm.drowning", ix.at("drown_weight")[0])
    means = ix.at("pills", "pills_weak", "noose")
    parting = ix.has("farewell", "resolve") or bool(surfaces & {"goodbye", "farewell"})
    office = surfaces & (PHARMACY | FESTIVE | {"retiring", "retirement"})
    if means and parting and surfaces & NOTES and not d.prevention and not d.history and not office:
        add("self_harm", "self_harm.suicide", means[0])
    _animal_in_a_running_machine(d, surfaces)


# Round thirteen (blind set S).
MASS_SCENE |= {"office", "cafeteria", "workers", "students", "worshippers", "shoppers", "classroom"}
CARICATURES = frozenset("caricature caricatures cartoon cartoons drawn draw drawing comic".split())
HOME_FINE = frozenset("safe safely soon early tonight happy to for and".split())
MILITARY = frozenset("soldier soldiers army war hunter hunters hunting police officer officers range".split())
SELFIE = frozenset("selfie me my myself peaceful".split())
WRITTEN = SAID | frozenset("letters sign put write writing poster".split())


def _round_thirteen(d: _Decision) -> None:
    """Blind set S's classes: a group drawn as a stereotype's caricature; a group's mark (a kippah)
    or the group with two of a trope's marks (a hooked nose and puppet strings, an octopus
    strangling the globe); "go home" written beside a group; a coded word beside an ape or a
    chase; a claim that a group "can never be trusted"; a noose in a selfie or a peaceful scene; an
    animal hurt while still alive, whatever the documentary framing; a resolve beside a gun."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    groups = ix.at(*GROUPS)
    marked = groups + ix.at("group_attire")
    if groups and ix.has("demean") and surfaces & {"caricature", "caricatures"} and not d.history:
        add("hate", "hate.caricature", groups[0], ix.at("demean")[0])
    tropes = ix.at("trope")
    if marked and tropes and (len(tropes) >= 2 or ix.has("trope_weak", "dehumanise_animal")) and not d.history:
        add("hate", "hate.trope", marked[0], tropes[0])
    for i, t in enumerate(tokens[:-1]):  # "put 'Go home' in red letters" beside a Sikh man
        if t.surface != "go" or tokens[i + 1].surface != "home" or not groups or not surfaces & WRITTEN:
            continue
        if next((u.surface for u in tokens[i + 2 :] if u.surface), "") not in HOME_FINE:
            add("hate", "hate.exclusion", groups[0], i)
            break
    if ix.has("hate_code_weak") and ix.has("expel_out") and not d.history:
        add("hate", "hate.coded", ix.at("hate_code_weak")[0])
    claims = ix.at("hate_claim")
    if claims and any(abs(g - claims[0]) <= 6 for g in groups) and not d.prevention:
        add("hate", "hate.claim", groups[0], claims[0])
    if ix.has("noose") and surfaces & SELFIE and not d.prevention and not d.history:
        add("self_harm", "self_harm.noose", ix.at("noose")[0])
    alive = ix.at("alive_still")
    if alive and ix.has("animal") and ix.has("gore", "wound", "act_strong", "cruelty_act"):
        add("violence", "violence.animal_cruelty", ix.at("animal")[0], alive[0])
    armed = ix.has("firearm", "noose", "pills") and not surfaces & MILITARY
    resolved = ix.has("resolve") or (ix.has("resolve_weak") and surfaces & NOTES)  # "letters ..., 'the brave choice'"
    if resolved and armed and not d.prevention and not d.history:
        add(
            "self_harm", "self_harm.suicide", ix.at("resolve", "resolve_weak")[0], ix.at("firearm", "noose", "pills")[0]
        )


# Round fourteen (blind set T).
SIGNS |= {"flyer", "flyers", "leaflet", "leaflets"}
ACCELERANTS = frozenset("petrol gasoline gas kerosene lighter-fluid".split())
IGNITION = frozenset("match matches lighter strikes lit ignites torch alight".split())
RAMMING = frozenset("swerved ploughed plowed drove drives ploughing plowing swerves rams rammed".split())
CROWDS = frozenset("crowd crowds market parade festival pedestrians shoppers".split())
NECKS = frozenset({"neck"})
PRESSING_ON = frozenset({"boot", "knee", "foot"})
POINTS = frozenset("points bonus score scoreboard level game".split())
KILL_VERBS = frozenset("shoot shooting kill killing murder murdering".split())
SAFE_JUMPS = frozenset("parachute parachutes bungee base wingsuit harness skydiving skydiver stunt diver".split())
SWIMS = frozenset("swim swimming swimmer surf surfing paddle holiday wetsuit".split())
PHARMACY = frozenset("pharmacist pharmacy prescription chemist nurse doctor".split())
ANIMAL_PLACES = frozenset("kennel kennels cage cages stable barn coop hutch doghouse".split())
POURED = frozenset("pours poured pouring douses doused dousing soaked soaks".split())
WADE = frozenset("walks walking walked wades wading waded stepping steps".split())
CALM_WORDS = frozenset("peacefully peaceful serene serenely calm calmly tranquil smiling smile".split())
HANGING_THINGS = frozenset(
    "lantern lanterns lights light lamp plants plant flag flags painting picture sign laundry".split()
)
HANGED_FROM |= {"chandelier", "ceiling", "lamppost", "lampposts", "balcony"}
BUILDINGS = frozenset("bridge skyscraper building rooftop roof tower".split())
EDGES = frozenset("edge railing ledge".split())


def _hanged_one(tokens: list[Token], i: int) -> bool:
    """The one hanging at ``i`` is a person: the nearest named thing before it is a person (a woman
    in a white dress), not lanterns or a flag; or nothing is named (the one pictured)."""
    for t in reversed(tokens[max(0, i - 7) : i]):
        if t.surface in HANGING_THINGS:
            return False
        if "person" in t.concepts or t.surface in REFLEXIVES:
            return True
    return _hanging_alone(tokens, i)


def _round_fourteen_harm(d: _Decision) -> None:
    """Blind set T's self-harm told by what someone does: a person hanging from a tree or a
    chandelier, peaceful; a fall from a building told as calm; sitting on a railing with a note; a
    farewell at Beachy Head's edge; walking into the water with a farewell; a bottle counted out
    with a note; a sealed garage with a goodnight; veins opened."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    calm = bool(surfaces & CALM_WORDS) or ix.has("farewell", "resolve", "resolve_weak", "farewell_weak")
    parting = ix.has("farewell", "resolve", "farewell_weak") or bool(surfaces & PARTING)
    hung_calm = calm or bool(surfaces & (RELIEF | PARTING))  # "hanging from a tree ..., 'finally free'"
    for i, t in enumerate(tokens[:-2]):  # "a woman in a white dress hanging from a chandelier, serene"
        after = [u.surface for u in tokens[i + 1 : i + 4]]  # "hanging peacefully from a tree"
        if t.surface == "hanging" and "from" in after and hung_calm and _hanged_one(tokens, i):
            if any(u.surface in HANGED_FROM for u in tokens[i + 2 : i + 6]):
                add("self_harm", "self_harm.hanging", i)
                break
    falls = [i for i, t in enumerate(tokens) if t.surface in FALLING or "jump_intent" in t.concepts]
    festive = any(w in FESTIVE for t in tokens for w in t.surface.split())  # "a farewell party"
    if falls and surfaces & BUILDINGS and calm and not d.prevention and not festive and not surfaces & SAFE_JUMPS:
        add("self_harm", "self_harm.jump_scene", falls[0])
    resolved = ix.has("resolve", "farewell") or (ix.has("resolve_weak") and ix.has("farewell_weak"))
    if (
        surfaces & EDGES
        and (surfaces & {"dangling", "sitting", "perched", "hovering"} or ix.has("cliff_site"))
        and resolved
    ):
        add("self_harm", "self_harm.jump_scene", next(i for i, t in enumerate(tokens) if t.surface in EDGES))
    into_water = any(t.surface == "into" and any(u.surface in WATERS_DEEP for u in tokens[k + 1 : k + 4])
                     and tokens[k - 1].surface in WADE for k, t in enumerate(tokens) if k)  # fmt: skip
    if into_water and (parting or ix.has("drown_weight")) and not d.prevention and not surfaces & SWIMS:
        add("self_harm", "self_harm.drowning", next(k for k, t in enumerate(tokens) if t.surface == "into"))
    if surfaces >= PLATFORM_EDGE and surfaces & {"headlights", "appear", "appears"} and calm:
        add("self_harm", "self_harm.in_front_of_vehicle", next(i for i, t in enumerate(tokens) if t.surface == "edge"))
    rails = [r for r in ix.at("rail") if _on_the_tracks(tokens, r)]  # lying on the tracks, the train coming
    if rails and ix.has("vehicle") and ix.has("farewell", "resolve") and not d.prevention:
        add("self_harm", "self_harm.in_front_of_vehicle", rails[0])
    many = ix.has("excess") or any(t.number is not None and t.number >= 20 for t in tokens)  # "all forty"
    if ix.has("pills_weak", "pills") and many and ix.has("farewell", "resolve") and not surfaces & PHARMACY:
        add("self_harm", "self_harm.pills_overdose", ix.at("pills_weak", "pills")[0])
    if ix.has("sealed_room") and surfaces & {"car", "key", "engine"} and ix.has("farewell", "farewell_weak", "resolve"):
        add("self_harm", "self_harm.method", ix.at("sealed_room")[0])
    if ix.has("self_cut") and not d.prevention:
        add("self_harm", "self_harm.self_injury", ix.at("self_cut")[0])


def _round_fourteen_violence(d: _Decision) -> None:
    """Blind set T's violence told by what someone does: a captive with torture tools, or with "show
    him an hour later"; a vest strapped on in a crowd or a place of worship; an animal doused and
    lit; a vehicle driven into a crowd with what is left; a gun in an office or school with blood;
    and its hate: a boot or knee on a group's neck, the 41% jibe at trans people, a group humiliated
    while a crowd cheers, shooting a group for points."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    if ix.has("captive") and ix.has("torture_tool", "aftermath_ask") and ix.has("person"):
        add("violence", "violence.torture", ix.at("captive")[0], ix.at("torture_tool", "aftermath_ask")[0])
    if ix.has("bomb_vest") and (surfaces & (MASS_SCENE | CROWDS) or ix.has("group")):
        add("violence", "violence.attack", ix.at("bomb_vest")[0])
    for p, t in enumerate(tokens):  # "pours the petrol over the kennel door ... strikes the match"
        doused = [k for k in range(p + 1, min(len(tokens), p + 9)) if "animal" in tokens[k].concepts
                  or tokens[k].surface in ANIMAL_PLACES]  # fmt: skip
        doused += [k for k in range(max(0, p - 4), p) if "animal" in tokens[k].concepts]  # "puppy doused with"
        if t.surface in POURED and doused and surfaces & ACCELERANTS and surfaces & IGNITION:
            add("violence", "violence.animal_cruelty", doused[0], p)
            break
    if (
        surfaces & VEHICLES
        and surfaces & RAMMING
        and surfaces & CROWDS
        and ix.has("gore", "aftermath", "aftermath_ask")
    ):
        add("violence", "violence.attack", next(i for i, t in enumerate(tokens) if t.surface in RAMMING))
    if (
        ix.has("firearm")
        and surfaces & MASS_SCENE
        and ix.has("wound")
        and not surfaces & (NOT_A_KILLER | {"paintball"})
    ):
        add("violence", "violence.mass_shooting", ix.at("firearm")[0])
    groups = ix.at(*GROUPS)
    marked = groups + ix.at("group_attire")
    if not marked or d.history:
        return
    if not groups:
        groups = marked
    for n, t in enumerate(tokens):  # "a boot on a Black man's neck"
        if t.surface in NECKS and any(u.surface in PRESSING_ON for u in tokens[max(0, n - 7) : n]):
            if any(0 < n - g <= 6 for g in groups):
                add("hate", "hate.violence_celebrated", groups[0], n)
                break
    if "trans" in surfaces and any(t.number == 41 for t in tokens):
        add("hate", "hate.coded", groups[0])
    cheered = surfaces & CELEBRATE or surfaces & {"cheers", "cheering", "cheer"} or surfaces & SAID
    if ix.has("demean") and cheered:  # "made to scrub the pavement" while a crowd cheers; "know your place"
        add("hate", "hate.demeaning", marked[0], ix.at("demean")[0])
    for e, t in enumerate(tokens):  # "points for shooting Mexicans wading across"
        if t.lemma in KILL_VERBS and any(0 < g - e <= 2 for g in groups) and surfaces & POINTS:
            add("hate", "hate.call", e, groups[0])
            break
    for r, t in enumerate(tokens[:-1]):  # "the whole country finally rid of gay people"
        if t.surface == "rid" and tokens[r + 1].surface == "of" and any(0 < g - r <= 4 for g in groups):
            add("hate", "hate.exclusion", r, groups[0])
            break


# Round fifteen (blind set U).
LIKENED = frozenset({"as", "like"})
NOT_LIKENED = frozenset("dressed costume costumes costumed".split())
THROWN = frozenset("throwing thrown throws threw pushing pushed pushes".split())
THEMSELVES = REFLEXIVES | {"themselves", "oneself"}
IGNITING = frozenset("striking strikes struck lights lighting ignites igniting flicks sets".split())


def _round_fifteen(d: _Decision) -> None:
    """Blind set U's plain prompts: a group drawn "as" a vermin or an animal or a demeaning label
    ("Irish as drunken apes", "immigrants drawn as a swarm of insects", not "dressed as"); a group
    labelled a terrorist; a group shown by a demeaning word in a cartoon; a person thrown off a
    roof; an animal clubbed or cut open to death or suffering; a massacre site celebrated; petrol
    poured over oneself."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    groups = ix.at(*GROUPS)
    if groups and not d.history and not surfaces & NOT_LIKENED:
        for k, t in enumerate(tokens):  # "Christians as brainwashed sheep", "Irish as drunken apes"
            if t.surface in LIKENED and any(0 < k - g <= 4 for g in groups):
                likened = [j for j in range(k + 1, min(len(tokens), k + 5))
                           if tokens[j].concepts & {"dehumanise", "dehumanise_animal", "demean"}]  # fmt: skip
                if likened:
                    add("hate", "hate.dehumanising_comparison", groups[0], likened[0])
                    break
    for k in ix.at("link"):  # "a Sikh man labelled 'terrorist'"
        if groups and any(u.surface in ("terrorist", "terrorists") for u in tokens[k + 1 : k + 3]) and not d.history:
            add("hate", "hate.demeaning", groups[0], k)
            break
    demeaned = [k for k in ix.at("demean") if any(abs(k - g) <= 6 for g in groups)]
    if demeaned and surfaces & (CARICATURES | {"webcomic", "mocking", "sneering", "meme"}) and not d.history:
        add("hate", "hate.caricature", groups[0], demeaned[0])
    for i, t in enumerate(tokens):  # "throwing a man off a rooftop"
        if t.surface in THROWN and any("person" in u.concepts for u in tokens[i + 1 : i + 4]):
            if any(u.surface == "off" for u in tokens[i + 1 : i + 6]) and surfaces & HEIGHTS:
                add("violence", "violence.execution", i)
                break
    if ix.has("animal") and ix.has("gore", "act_strong") and ix.has("death", "suffering") and not surfaces & MEAT_TRADE:
        add("violence", "violence.animal_cruelty", ix.at("animal")[0])
    sites = ix.at("atrocity_site")
    if sites and surfaces & (CELEBRATE | {"celebratory"}) and not d.history:
        add("violence", "violence.glorified_attack", sites[0])
    for p, t in enumerate(tokens):  # "pouring petrol over themselves and striking a match"
        if t.surface in POURED and any(u.surface in THEMSELVES for u in tokens[p + 1 : p + 6]):
            if surfaces & ACCELERANTS and surfaces & IGNITING and not surfaces & {"accident", "safety", "safely"}:
                add("self_harm", "self_harm.method", p)
                break


# Round sixteen (own minors probe).
BEDROOM = frozenset("sheets romantic honeymoon candles petals intimate lingerie".split())  # not "her big girl bed"


def _round_sixteen_minors(d: _Decision) -> None:
    """A child's "first time" told as romantic (petals on the sheets, candles; on the full view: a project's
    allowed phrases never relax it)."""
    full = d.full
    surfaces = d.surfaces
    if full.has("first_time") and full.has("minor", "minor_weak") and surfaces & BEDROOM:
        d.add("minors", "minors.first_time", full.at("minor", "minor_weak")[0], full.at("first_time")[0], view=full)


# Round sixteen (blind set V).
LIQUOR = frozenset("vodka whiskey whisky wine gin rum alcohol booze".split())
LIFELESS = frozenset("lifeless slumped limp motionless drowned".split())


def _round_sixteen(d: _Decision) -> None:
    """Blind set V's prompts without the category's key word: a shooter or "opens fire" in a church,
    school or crowd; an animal beaten with a tool and wounded, even on a farm; three racist tropes at
    once; pills beside liquor with a resolve; a gun under one's chin, calm; a red bath with a razor
    or a lifeless body; a resolve, a death and a river; blades called "coping tools", "I'll go
    deeper"; a ligature around one's neck tied to a rod; about to leap from a height with "do it";
    cigarette burns with "I deserve this"."""
    ix, add, tokens = d.ix, d.add, d.tokens
    surfaces = d.words
    opens = [
        i for i, t in enumerate(tokens[:-1]) if t.surface in ("opens", "opened") and tokens[i + 1].surface == "fire"
    ]
    fired = bool(opens) and not surfaces & {"range", "paintball", "nerf", "laser"}  # "opens fire" in a church
    shooting = fired or bool(surfaces & SHOOTERS and not surfaces & NOT_A_KILLER)
    if shooting and surfaces & MASS_SCENE and not d.history:
        add("violence", "violence.mass_shooting", (opens or [0])[0])
    animals, cruel = ix.at("animal"), ix.at("cruelty_act")
    tooled = [c for c in cruel if any(u.surface in INSTRUMENTS for u in tokens[c + 1 : c + 6])]  # "beaten with a pipe"
    if animals and tooled and ix.has("wound", "gore") and not d.history:
        add("violence", "violence.animal_cruelty", animals[0], tooled[0])
    marked = ix.at(*GROUPS) + ix.at("group_attire")
    if marked and ix.has("gloat") and surfaces & (HOLOCAUST | {"prisoners", "barbed"}) and not d.history:
        add("hate", "hate.attack_celebrated", marked[0], ix.at("gloat")[0])  # "'they deserved it'" beside the camps
    if len(ix.at("trope")) >= 3 and not d.history:
        add("hate", "hate.trope", ix.at("trope")[0])
    calm = bool(surfaces & CALM_WORDS) or ix.has("farewell", "resolve")
    if ix.has("pills") and surfaces & LIQUOR and (ix.has("resolve", "farewell") or "tonight" in surfaces):
        add("self_harm", "self_harm.pills_overdose", ix.at("pills")[0])
    if ix.has("chin") and ix.has("firearm") and calm and surfaces & {"pressed", "pressing", "presses", "press"}:
        add("self_harm", "self_harm.suicide", ix.at("firearm")[0])
    red = ix.has("red_water") or _red_water(tokens) is not None
    if ix.has("bath") and red and (ix.has("cutter") or surfaces & LIFELESS):
        add("self_harm", "self_harm.bleeding_out", ix.at("bath")[0])
    if ix.has("resolve") and surfaces & (LIFELESS | {"floating"}) and surfaces & WATERS_DEEP and not d.prevention:
        add("self_harm", "self_harm.drowning", ix.at("resolve")[0])
    if ix.has("sh_intent") and (ix.has("cutter", "harm_method_site") or "blades" in surfaces):
        add("self_harm", "self_harm.self_injury", ix.at("sh_intent")[0])
    necks = [
        n
        for n, t in enumerate(tokens)
        if t.surface == "neck" and "around" in (u.surface for u in tokens[max(0, n - 3) : n])
    ]
    tying = surfaces & {"tying", "tied", "ties", "tie", "knotting", "knotted"}
    if (
        necks and tying and (ix.has("hang_place") or surfaces & HANG_FROM)
    ):  # "her scarf to the shower rod and around her neck"
        add("self_harm", "self_harm.hanging", necks[0])
    safe = surfaces & (SAFE_JUMPS | FESTIVE | {"fair", "skydiver"})
    high = surfaces & HEIGHTS or ix.has("resolve")  # "on the wrong side of the railing, ready to let go"
    if ix.has("jump_intent") and high and ix.has("urge", "resolve", "farewell") and not safe:
        add("self_harm", "self_harm.jump_scene", ix.at("jump_intent")[0])
    if ix.has("sh_mark") and ix.has("self_punish") and ix.has("harm_method_site"):
        add("self_harm", "self_harm.self_injury", ix.at("sh_mark")[0])


_RULES = (
    _minors,
    _sexual,
    _violence,
    _self_harm,
    _violence_more,
    _self_harm_hanging,
    _self_harm_methods,
    _self_harm_scenes,
    _hate_more,
    _hate,
    _hate_calls_inline,
    _shapes,
    _round_eight_hate,
    _round_eight_harm,
    _round_ten_hate,
    _round_ten_harm,
    _round_ten_minors,
    _round_eleven_self_harm,
    _round_eleven_violence,
    _round_eleven_hate,
    _round_twelve,
    _round_thirteen,
    _round_fourteen_harm,
    _round_fourteen_violence,
    _round_fifteen,
    _round_sixteen_minors,
    _round_sixteen,
)


GROUPS = ("group", "slur", "group_gender")
POSSESSIVE_BEFORE = frozenset({"their", "her", "his", "my", "your", "our", "its"})
WELCOME = frozenset("welcome allowed served permitted wanted admitted".split())
SPLIT_VERBS = frozenset(
    "split bite biting bit bitten tear tearing torn rip ripping ripped cut cutting saw sawed sawn chop chopped "
    "slice sliced sever severed crush crushed snap snapped".split()
)
VICTIMS = frozenset({"person", "minor", "minor_weak", "dehumanise_animal", "body_part"})
TRICKS = frozenset("magician magic trick illusion illusionist".split())
LYING = frozenset("lie lying lay collapsed slumped unconscious floor ground pavement bruise bruised bruises".split())


def _hate_claims(ix: _Index, history: bool) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """Hate told as a claim or a picture rather than a slur: "women are property", "a woman in a
    cage, inferior", "no jews or blacks welcome", "drive them out", rats wearing kippahs, Jews
    drinking children's blood "presented as true", a mosque burning under "purify our land"."""
    tokens = ix.tokens
    n = len(tokens)
    all_links = ix.at("link")
    for g in ix.at(*GROUPS):  # a group, a link, a dehumanising word: "women are property"
        links = [k for k in all_links if g < k <= g + 3]
        if links and any(
            tokens[a].concepts & {"dehumanise", "dehumanise_animal"} and tokens[a - 1].surface not in POSSESSIVE_BEFORE
            for a in range(links[0] + 1, min(n, links[0] + 5))
        ):
            yield "hate", "hate.dehumanising_comparison", (g, links[0])
            break
    pair = ix.near(["group_gender"], ["cage"], 8)
    if pair and ix.has("dehumanise"):
        yield "hate", "hate.dehumanising", pair  # "a woman in a cage, 'breeding stock only'"
    for g in ix.at("group", "slur"):  # "no jews or blacks welcome", buried in a long prompt
        before = [k for k in range(max(0, g - 3), g) if tokens[k].surface == "no"]
        if before and any(tokens[k].surface in WELCOME for k in range(g + 1, min(n, g + 5))):
            yield "hate", "hate.exclusion", (before[0], g)
            break
    pair = ix.near(["expel_out"], ["group", "slur"], 10)
    if pair and not history:
        yield "hate", "hate.exclusion", pair  # "roma are thieves, drive them out of our town"
    pair = ix.near(["dehumanise_animal", "dehumanise"], ["group_attire"], 3, order=True)
    if pair:
        yield "hate", "hate.dehumanising_comparison", pair  # "rats wearing kippahs"
    for g in ix.at("group", "slur"):  # "🐀✡️ poster": a group beside an animal in a depiction
        if ix.has("depiction") and any("dehumanise_animal" in tokens[k].concepts for k in (g - 1, g + 1) if 0 <= k < n):
            yield "hate", "hate.dehumanising_comparison", (g,)
            break
    blood = [k for k, t in enumerate(tokens) if t.lemma == "blood"]
    groups = [g for g in ix.at("group", "slur") if blood and abs(g - blood[0]) <= 8]
    if groups and any(t.lemma in ("drink", "drinking", "drank") for t in tokens) and (not history or ix.has("claim")):
        yield "hate", "hate.trope", (groups[0], blood[0])  # the blood libel told as true
    pair = ix.near(["group", "slur"], ["trope", "dehumanise", "dehumanise_animal"], 14)
    if pair and ix.has("depiction") and ix.has("trope") and not history:
        yield "hate", "hate.trope", pair  # "Arab men ... drawn as ugly caricatures, hooked noses"
    pair = ix.near(["symbol"], ["noose"], 8)
    if pair and not history:
        yield "hate", "hate.symbol_endorsed", pair  # a confederate flag and a noose
    for g in ix.at("group", "slur"):  # "gay = pedo": a group called child abusers
        if any("csam" in tokens[k].concepts for k in range(g + 1, min(n, g + 3))):
            yield "hate", "hate.dehumanising", (g, g + 1)
            break


def _violence_shapes(ix: _Index) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """A body bitten, split or torn in half; run over by a vehicle; animals tearing each other apart
    with wounds; a person lying hurt after a fight or a beating."""
    tokens = ix.tokens
    n = len(tokens)
    tricks = any(t.lemma in TRICKS or t.surface in TRICKS for t in tokens)
    for h in ix.at("in_half"):
        verbs = [k for k in range(max(0, h - 5), h) if {tokens[k].surface, tokens[k].lemma} & SPLIT_VERBS]
        victims = ix.near(["in_half"], ["person", "body_part", "minor", "minor_weak", "death"], 6)
        if verbs and victims and not tricks:
            yield "violence", "violence.torn_apart", (verbs[0], h)
            break
    for r in ix.at("run_over"):  # "run over by a train", "a truck running over a cyclist"
        by = any(tokens[k].surface == "by" for k in range(r + 1, min(n, r + 3)))
        after = [k for k in range(r + 1, min(n, r + 5)) if "vehicle" in tokens[k].concepts]
        before = [k for k in range(max(0, r - 4), r) if "vehicle" in tokens[k].concepts]
        victim = any(tokens[k].concepts & VICTIMS for k in range(r + 1, min(n, r + 4)))
        if (by and after) or (before and victim):
            yield "violence", "violence.crushed", (r,)
            break
    pair = ix.near(["each_other"], ["apart"], 3, order=True)
    if pair and ix.has("wound", "gore"):
        yield "violence", "violence.torn_apart", pair  # "two pitbulls tearing each other apart, bloody wounds"
    for a in ix.at("aftermath"):
        if any(tokens[k].lemma in LYING or tokens[k].surface in LYING for k in range(max(0, a - 6), min(n, a + 8))):
            yield "violence", "violence.wound_on_person", (a,)
            break


def _self_harm_push(ix: _Index) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """An encouragement ("just do it tonight") beside a height or a method."""
    tokens = ix.tokens
    if ix.has("resolve_push") and (
        ix.has("jump_intent", "noose", "pills", "cutter", "suicide")
        or any(t.lemma in lexicon.HIGH_PLACES or t.surface in lexicon.HIGH_PLACES for t in tokens)
    ):
        yield "self_harm", "self_harm.suicide", (ix.at("resolve_push")[0],)


MODALS = frozenset("should must deserve deserves ought need needs".split())
DEPICTED = frozenset("drawn depicted portrayed shown rendered painted pictured".split())
TARGETS_ALL = frozenset("men women males females whites blacks".split())
KILL_ALL = frozenset("all every".split())
INTERN_VERBS = frozenset("put sent send lock locked round rounded herd herded ship shipped thrown throw belong".split())


def _hate_calls(ix: _Index, history: bool) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """Round six: hate as a call on a group ("Christians should be thrown to the lions", "gay people
    should be put in camps", "women belong in chains"), "kill all men", a group drawn as animals and
    a group in a caricature."""
    if history:
        return
    tokens = ix.tokens
    n = len(tokens)

    def harsh(m: int, k: int) -> bool:
        """A killing, a cage or the lions; a camp only when someone is put or sent there ("refugees
        should have better camps" is no call)."""
        t = tokens[k]
        if t.lemma in ("camp", "camps"):
            return any(tokens[j].surface in INTERN_VERBS or tokens[j].lemma in INTERN_VERBS for j in range(m, k))
        return bool(t.concepts & {"exterminate", "cage", "atrocity"}) or t.lemma in BELONG_PLACES or t.lemma == "lion"

    for g in ix.at(*GROUPS):
        modal = [
            k for k in range(g + 1, min(n, g + 7)) if tokens[k].surface in MODALS or "belong" in tokens[k].concepts
        ]
        if modal and any(harsh(modal[0], k) for k in range(modal[0] + 1, min(n, modal[0] + 7))):
            yield "hate", "hate.exclusion", (g, modal[0])
            break
    for e in ix.at("exterminate"):  # "kill all men": a call to kill a whole group or sex
        words = tokens[e].surface.split()
        start = e + 1 if words[-1] in KILL_ALL else e + 2
        if words[-1] in KILL_ALL or (start - 1 < n and tokens[start - 1].surface in KILL_ALL):
            for k in range(start, min(n, start + 3)):
                if tokens[k].concepts & {"group", "slur", "group_gender"} or tokens[k].surface in TARGETS_ALL:
                    yield "hate", "hate.exterminate", (e, k)
                    return
    for d in (i for i, t in enumerate(tokens) if t.surface in DEPICTED):  # "immigrants ... drawn as animals"
        animals = [a for a in range(d + 1, min(n, d + 4)) if "dehumanise_animal" in tokens[a].concepts]
        as_ = any(tokens[k].surface in ("as", "like") for k in range(d + 1, animals[0])) if animals else False
        groups = [g for g in ix.at(*GROUPS) if abs(g - d) <= 14]
        if animals and as_ and groups:
            yield "hate", "hate.dehumanising_comparison", (groups[0], d, animals[0])
            break
    for c in (i for i, t in enumerate(tokens) if t.surface.startswith("caricatur")):
        groups = [g for g in ix.at("group", "slur") if abs(g - c) <= 6]
        if groups:
            yield "hate", "hate.trope", (groups[0], c)  # a group as a caricature
            break


BUTCHERY = frozenset(
    "butcher butchery butchering hunter hunters hunting hunt fishing fisherman kitchen recipe cooking cook chef "
    "farm market stew roast game taxidermy".split()
)
INTENSE = frozenset("extremely dangerously impossibly painfully super ultra very unhealthily sickly".split())


def _round_six_harm(ix: _Index, prevention: bool) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """Round six: an animal hurt and suffering (not a hunt or a butcher's), pills beside a dead
    person, an eating disorder or an extremely thin body with a "motivation" frame."""
    tokens = ix.tokens
    pair = ix.near(["animal"], ["cruelty_act"], 6)
    if pair:
        lo, hi = max(0, min(pair) - 10), max(pair) + 11
        near = [t.concepts for t in tokens[lo:hi]]
        butchery = any(t.lemma in BUTCHERY or t.surface in BUTCHERY for t in tokens)
        if any("suffering" in c for c in near) or (not butchery and any("wound" in c for c in near)):
            yield "violence", "violence.animal_cruelty", pair
    if prevention:
        return
    pair = ix.near(["pills"], ["death"], 10)
    if pair and ix.has("person", "minor", "minor_weak", "reflexive"):
        yield "self_harm", "self_harm.pills_overdose", pair  # "how many pills it takes, a person dead beside it"
    thin = [
        i
        for i, t in enumerate(tokens)
        if ("very_thin" in t.concepts or (t.surface in ("thin", "skinny") and i and tokens[i - 1].surface in INTENSE))
        and any(u.concepts & {"person", "minor_weak", "body_part"} for u in tokens[max(0, i - 4) : i + 5])
    ]
    frames = ix.at("motivation", "ed_caption", "glorify")
    for i in (
        ix.at("eating_disorder") + thin + _low_weights(tokens)
    ):  # "bulimia motivation poster", "extremely thin, motivational"
        framed = [f for f in frames if f != i and abs(f - i) <= 10]
        if framed:
            yield "self_harm", "self_harm.pro_ana_caption", (i, framed[0])
            break


WEIGHT_UNITS = {"lbs": (60, 99), "lb": (60, 99), "pounds": (60, 99), "kg": (25, 45), "kilos": (25, 45)}
WEIGHING = frozenset(
    "at weighs weighing weighed weight now only just down reached reach hit hits under body goal ideal be to".split()
)


def _low_weights(tokens: list[Token]) -> list[int]:
    """A person's weight far below an adult's ("a woman at 80 lbs", "weighing 40 kg"); a barbell's
    weight ("lifting 80 lbs") has no weighing word before it."""
    out = []
    for i, t in enumerate(tokens[:-1]):
        span = WEIGHT_UNITS.get(tokens[i + 1].surface)
        if t.number is not None and span and span[0] <= t.number <= span[1] and i and tokens[i - 1].surface in WEIGHING:
            if any(u.concepts & {"person", "minor_weak", "body_part"} for u in tokens[max(0, i - 4) : i + 5]):
                out.append(i)
    return out


HIT_VERBS = frozenset("slam slamming slammed bang banging banged bash bashing bashed smash smashing smashed".split())
HIT_TARGETS = frozenset("head fist fists knuckles forehead".split())
SELF_CUES = frozenset("own myself herself himself themselves my".split())
CUT_LEMMAS = frozenset("cut cutting cuts slit slitting slash slashing carve carving".split())
CRAFT_CUTS = frozenset(
    """hair haircut barber barbershop salon stylist hedge hedges garden flower flowers gem gems diamond diamonds
    glass wood stone metal laser fabric paper""".split()
)
# After "me hanging", words that go on with a harmless hanging ("with friends", "upside down", "out",
# "clothes"); anything else after it (an end, "realistic", "make it real") leaves the person hanging.
HANG_GOES_ON = frozenset(
    """with upside around on onto off out about at over up by in there here together loose tight from
    clothes laundry washing decorations lights pictures art wallpaper curtains ornaments""".split()
)
OVENS = frozenset("oven ovens furnace furnaces crematorium crematoria incinerator".split())
ARTICLES = frozenset("a an the his her their its".split())
COMPARISON = frozenset("comparison comparisons compared comparing".split())
COLOURS_RED = frozenset("red crimson scarlet reddened".split())
WATERS = frozenset("water bathwater sea ocean river lake pool".split())
TURN = frozenset("turn turns turned turning is was goes went running".split())


def _red_water(tokens: list[Token]) -> int | None:
    """Water said to turn red ("the water turned crimson", "crimson water", "the water red"), not a
    red bath bomb."""
    for i, t in enumerate(tokens):
        if t.surface in WATERS or t.lemma in WATERS:
            if i and tokens[i - 1].surface in COLOURS_RED:
                return i
            after = [tokens[k].surface for k in range(i + 1, min(len(tokens), i + 4))]
            if after and (after[0] in TURN and any(w in COLOURS_RED for w in after[1:]) or after[0] in COLOURS_RED):
                return i
    return None


def _round_seven(ix: _Index, prevention: bool, history: bool) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """Round seven: self-harm made attractive ("cutting is beautiful", "glorify starving", "the only way
    out" at a cliff), hanging in the first person, self-injury as self-punishment, wrists and water
    turned red; an animal put in a machine; a group put in an oven, mocked in a picture or compared to
    an animal."""
    yield from _round_seven_cruelty(ix, history)
    if prevention:
        return
    glorified = _round_seven_glorified(ix)
    if glorified is not None:
        yield glorified
        return
    yield from _round_seven_self_harm(ix)


def _round_seven_cruelty(ix: _Index, history: bool) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """An animal put in a machine; (not in a historical frame) a group put in an oven, mocked in a
    picture or compared to an animal."""
    tokens = ix.tokens
    n = len(tokens)
    people = {"person", "minor", "minor_weak"}
    # violence: "a cat in a blender", "a hamster into the microwave"
    for a in ix.at("animal"):
        ins = [k for k in range(a + 1, min(n, a + 3)) if tokens[k].surface in ("in", "into", "inside")]
        if ins and any("cruel_device" in tokens[k].concepts for k in range(ins[0] + 1, min(n, ins[0] + 3))):
            yield "violence", "violence.animal_cruelty", (a, ins[0])
            break
    if not history:
        for g in ix.at(*GROUPS):  # "a jewish guy in an oven", "jews into the ovens"
            k = g + 1
            while k < n and k <= g + 2 and tokens[k].concepts & people:
                k += 1
            if k < n and tokens[k].surface in ("in", "into", "inside"):
                k += 1
                while k < n and tokens[k].surface in ARTICLES:
                    k += 1
                if k < n and (tokens[k].surface in OVENS or "gas chamber" in tokens[k].surface):
                    yield "hate", "hate.exterminate", (g, k)
                    break
        pictured = any(t.surface in DEPICTED or t.lemma in ("caption", "captioned") for t in tokens) or ix.has(
            "depiction"
        )
        pair = ix.near(["demean"], list(GROUPS), 12)
        if pair and pictured:
            yield "hate", "hate.demeaning", pair  # "a trans woman drawn as a hairy man in a dress, mocking"
        for i, t in enumerate(tokens):  # "black people ... with ape comparison", "compared with apes"
            if t.surface in COMPARISON:
                animals = [a for a in (i - 1, i + 1, i + 2) if 0 <= a < n and "dehumanise_animal" in tokens[a].concepts]
                groups = [g for g in ix.at(*GROUPS) if abs(g - i) <= 12]
                if animals and groups:
                    yield "hate", "hate.dehumanising_comparison", (groups[0], i, animals[0])
                    break


def _round_seven_glorified(ix: _Index) -> tuple[str, str, tuple[int, ...]] | None:
    """Self-harm made attractive: "glorify starving", "romanticizing self harm" (the first one found)."""
    tokens = ix.tokens
    n = len(tokens)
    lemmas = {t.lemma for t in tokens} | {t.surface for t in tokens}
    people = {"person", "minor", "minor_weak"}
    for g in ix.at("glorify"):  # "glorify starving", "romanticizing self harm"
        for k in range(g + 1, min(n, g + 3)):
            u = tokens[k]
            target = u.concepts & {"self_act", "eating_disorder", "sh_mark", "suicide"} or u.lemma in (
                "starve",
                "starvation",
            )
            starving = "self_act" in u.concepts and u.lemma in ("starve", "starving") or u.lemma == "starvation"
            thin = ix.has("very_thin", "eating_disorder", "motivation", "ed_caption") or bool(
                lemmas & {"thin", "skinny", "skinnier", "thinner"}
            )
            if starving and k + 1 < n and not thin:
                continue  # "romanticizing starving artists": starving is someone's state, not a goal
            if target and not (k + 1 < n and tokens[k + 1].concepts & people):
                return "self_harm", "self_harm.glorified", (g, k)
    return None


def _round_seven_self_harm(ix: _Index) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """Cutting made beautiful, "the only way out" at a height, self-injury as self-punishment, hanging
    in the first person, wrists and water turned red."""
    tokens = ix.tokens
    n = len(tokens)
    lemmas = {t.lemma for t in tokens} | {t.surface for t in tokens}
    craft = bool(lemmas & CRAFT_CUTS)
    for c in ix.at("self_act", "sh_mark"):  # "CUTTING IS BEAUTIFUL", "c u t t i n g aesthetic, fresh scars"
        if tokens[c].lemma not in CUT_LEMMAS and tokens[c].surface not in CUT_LEMMAS or craft:
            continue
        glam = [k for k in ix.at("glamour") if abs(k - c) <= 3]
        signs = [k for k in ix.at("cutter", "sh_mark", "wound") if k != c]
        if glam and signs:
            yield "self_harm", "self_harm.glorified", (c, glam[0], signs[0])
            break
    edge = any(t.lemma in lexicon.HIGH_PLACES for t in tokens) and any(t.lemma in ("edge", "ledge") for t in tokens)
    methods = ("jump", "jump_intent", "noose", "ligature", "pills", "cutter", "firearm", "suicide")
    if ix.has("way_out") and (ix.has(*methods) or edge):
        yield "self_harm", "self_harm.suicide", (ix.at("way_out")[0],)  # "stepping off a cliff, 'the only way out'"
    # self-injury: "slamming their head against the wall until it bleeds, self punishment"
    harm = ix.at("wound", "act_weak", "act_strong", "cutter", "sh_mark", "gore")
    if ix.has("self_punish") and harm:
        yield "self_harm", "self_harm.self_injury", (ix.at("self_punish")[0], harm[0])
    for i, t in enumerate(tokens):
        if t.lemma in HIT_VERBS or t.surface in HIT_VERBS:
            heads = [k for k in range(i + 1, min(n, i + 4)) if tokens[k].surface in HIT_TARGETS]
            walls = [k for k in range(i + 1, min(n, i + 8)) if tokens[k].lemma in ("wall", "mirror", "floor")]
            cue = any(tokens[k].surface in SELF_CUES for k in range(i + 1, heads[0])) if heads else False
            if heads and walls and cue and any(abs(w - i) <= 10 for w in ix.at("wound")):
                yield "self_harm", "self_harm.self_injury", (i, heads[0])
                break
    # hanging told in the first person: "a pic of me hanging", "me hanging from a rope"
    for i, t in enumerate(tokens):
        if i and tokens[i - 1].surface in ("me", "myself") and t.concepts & {"self_act", "act_weak"}:
            if t.lemma in HANG_WORDS or t.surface in HANG_WORDS:
                after = tokens[i + 1] if i + 1 < n else None
                rope = any(
                    tokens[k].concepts & {"ligature", "noose", "hang_place", "hang_marker"}
                    for k in range(i + 1, min(n, i + 5))
                )
                ends = after is None or after.surface not in HANG_GOES_ON or "death" in after.concepts
                if ends or rope:
                    yield "self_harm", "self_harm.hanging", (i - 1, i)
                    break
    # wrists and water turned red, a bath and a wrist with death told softly
    red = _red_water(tokens)
    sites = ix.at("harm_method_site")
    if sites and (red is not None or (ix.has("bath") and ix.has("death"))):
        yield "self_harm", "self_harm.bleeding_out", (sites[0],) if red is None else (sites[0], red)


GARMENT_GENERIC = frozenset("clothes clothing clothed dressed garment garments outfit outfits covered".split())


def decide_across(text: list[Token], negative: list[Token]) -> list[Hit]:
    """A negative prompt that asks to avoid clothing asks for undress: "clothes, shirt, dress" in
    ``neg_text`` with a minor in the prompt is ``minors``, with an adult person ``sexual``. One generic
    word ("clothes", "clothing") or two garments or coverings ("towel, censored") are enough; one
    garment alone ("dress") is not, and a list that also avoids nudity ("nsfw, nude, revealing
    clothes", what parents and kids' brands paste) keeps the clothes on. One that avoids the absence
    of harm asks for harm (:func:`_harm_by_negative`)."""
    hits = _harm_by_negative(text, negative) + _help_by_negative(text, negative)
    avoided = [
        i
        for i, t in enumerate(negative)
        if (t.surface in NUDITY_AVOIDED or t.concepts & {"nudity", "porn", "sexualising"})
        and not (i and negative[i - 1].surface in ("non", "not", "no"))  # "non-explicit" avoids the tame
    ]
    if avoided:
        return hits  # "nsfw, nude, suggestive, revealing clothes": a list that keeps the clothes on
    generic = [t.surface for t in negative if t.surface in GARMENT_GENERIC or t.lemma in GARMENT_GENERIC]
    garments = [t.surface for t in negative if t.concepts & {"swimwear", "sexual_clothing"}]
    covers = [t.surface for t in negative if t.surface in COVERS]  # "towel, hands covering, censored"
    if not generic and len(garments) + len(covers) < 2:
        return hits
    words = tuple((generic + garments + covers)[:3])
    if any("minor" in t.concepts for t in text):
        return [Hit("minors", "minors.undress_by_negative", words), *hits]
    people = {"person", "minor_weak", "adult_marker", "romance"}  # "adult male model", "two adult lovers"
    if any(t.concepts & people and t.surface not in ("they", "them", "crowd") for t in text):
        return [Hit("sexual", "sexual.undress_by_negative", words), *hits]
    return hits


COVERS = frozenset("towel towels censored censor censorship mosaic covering modest modesty sfw fig".split())
# A negative prompt that lists one of these avoids nudity: it cannot be asking to take clothes off.
NUDITY_AVOIDED = frozenset("nsfw nude nudity naked explicit suggestive sexy lewd revealing topless".split())
HARM_AVOID_STRONG = frozenset(
    "bloodless healed intact uninjured unharmed unhurt unwounded alive breathing rescued rescue bandages".split()
)
HARM_AVOID_WEAK = frozenset(
    "clean tasteful censored unblemished sanitized sanitised sfw covered peaceful safe escaping happy".split()
)
# Self-harm's cues in a prompt whose negative prompt avoids help, hope or recovery.
SELF_HARM_CUES = frozenset({"harm_method_site", "sh_mark", "reflexive", "very_thin", "pills", "cutter", "bath"})
HELP_AVOIDED = frozenset(
    "hope rescue helpline hotline recovery recovering awareness doctor therapy help healed bandage bandages aid".split()
)
NEGATED_HARM = frozenset("blood cuts cut wounds wound gore injuries injury scars scar bruises".split())


def _help_by_negative(text: list[Token], negative: list[Token]) -> list[Hit]:
    """A negative prompt that avoids hope, rescue or recovery ("hope, rescue, helpline, step back";
    "healed scars, recovery, first aid") beside a self-harm cue (a ledge, a forearm and a blade, a
    scale and visible ribs, a bath) asks for the harm."""
    avoided = [t.surface for t in negative if t.surface in HELP_AVOIDED or "prevention" in t.concepts]
    if len(avoided) < 2:
        return []
    cues = [t for t in text if t.concepts & SELF_HARM_CUES or t.surface in HEIGHTS]
    if not cues or not any(t.concepts & {"person", "body_part", "reflexive", "very_thin"} for t in text):
        return []
    return [Hit("self_harm", "self_harm.help_by_negative", (avoided[0], cues[0].surface))]


def _harm_by_negative(text: list[Token], negative: list[Token]) -> list[Hit]:
    """A negative prompt that asks to avoid the absence of harm asks for harm: "intact body,
    bloodless, covered wounds" (or "no blood, no cuts") beside a soldier lying in a field is
    violence; beside a forearm or a wrist, self-harm. One strong word ("bloodless", "healed",
    "no blood") and a second one are needed: "unblemished, airbrushed" (for real skin) is not it."""
    surfaces = [t.surface for t in negative]
    strong = [w for w in surfaces if w in HARM_AVOID_STRONG]
    strong += [
        f"{w} {n}" for w, n in zip(surfaces, surfaces[1:], strict=False) if w in ("no", "without") and n in NEGATED_HARM
    ]
    weak = [w for w in surfaces if w in HARM_AVOID_WEAK]
    if not strong or len(strong) + len(weak) < 2:
        return []
    if not any(t.concepts & {"person", "body_part", "minor", "minor_weak", "reflexive"} for t in text):
        return []
    words = tuple((strong + weak)[:3])
    if any(t.concepts & {"harm_method_site", "sh_mark", "reflexive"} for t in text):
        return [Hit("self_harm", "self_harm.harm_by_negative", words)]
    return [Hit("violence", "violence.harm_by_negative", words)]
