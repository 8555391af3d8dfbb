"""A second reader: a linear model learned from labelled messages, shipped as weights.

Rules say exactly why, but they only know the wordings someone wrote down; on sets of messages
nobody here had seen, they missed a third of the crises and a sixth of the categories. A
logistic regression over word pairs, trained on the labelled sets in tests/corpus/training, held up
far better in leave-one-set-out trials (see scripts/train-model). classify.py asks both: either can
raise a crisis, and this model settles the other categories, with the rules that agree shown as
reasons. Beside the rules the model also reads which services a message asks for
(facts/services.py) and which number in it is the age of the person to be seen (facts/age.py):
in both the rules answer and the model settles what it is nearly sure of.

Inference is pure Python over a JSON file of weights, so the package needs no numerical library
and the model is readable. The features here are the only definition of them: the training script
imports ``counts``, ``weigh`` and ``age_candidates`` so that training and use can never disagree.
learned.json records a digest of the rows it was fitted on and of this feature code
(``training_sha256`` and ``features_sha256``, computed by ``training_digest`` and
``feature_digest``), so a test notices when either has moved since the last refit.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .rules import SENTENCE

_WORD = re.compile(r"\w[\w']*")
# Words that move the model but explain nothing to a reader: left out of the evidence shown.
_PLAIN = frozenset("a an and are as at be but can do for from have i i'm im in is it it's just me my of on or so that the this to was we you your "
                   "con de del el en es la las lo los mi no para por que se su un una y yo".split())


def counts(text: str, channel: str) -> dict[str, int]:
    """Raw counts of words and word pairs, plus the channel: what the model reads."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    found: dict[str, int] = {f"<{channel}>": 1}
    for i, word in enumerate(words):
        found[word] = found.get(word, 0) + 1
        if i:
            pair = f"{words[i - 1]} {word}"
            found[pair] = found.get(pair, 0) + 1
    return found


def weigh(raw: dict[str, int], idf: dict[str, float]) -> dict[str, float]:
    """Sublinear term frequency times idf, scaled to unit length, for the terms in ``idf``: how
    the model sees counts, in training and in use alike."""
    vector = {term: (1 + math.log(n)) * idf[term] for term, n in raw.items() if term in idf}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


# An age candidate is read from the words around it, not from the message as a whole.
_TOKEN = re.compile(r"\d+|[^\W\d]+|[()\-,.:;?!/]")


def age_candidates(figures: str, born: Iterable[int], channel: str) -> list[tuple[int, dict[str, int]]]:
    """Every number from 1 to 99 in ``figures`` (the text with ages in words written as figures)
    and every age a date of birth gives (``born``), each with what the model reads around it: the
    three tokens either side by place, the pairs just before and after, the words within eight,
    how far in the message it stands, and which span of life it falls in."""
    tokens = _TOKEN.findall(figures.lower())
    found = []
    for i, token in enumerate(tokens):
        if not (token.isdecimal() and len(token) <= 2 and 1 <= int(token) <= 99) or tokens[i + 1: i + 2] and tokens[i + 1] in _NOT_AN_AGE:
            continue  # "2nd grade", "3 months old" are no ages
        value = int(token)
        features = {f"b:{_span_of_life(value)}": 1, f"ch:{channel}": 1}
        for k in range(1, 4):
            if i - k >= 0:
                features[f"L{k}:{tokens[i - k]}"] = 1
            if i + k < len(tokens):
                features[f"R{k}:{tokens[i + k]}"] = 1
        before = (tokens[i - 2] if i > 1 else "", tokens[i - 1] if i else "")
        after = (tokens[i + 1] if i + 1 < len(tokens) else "", tokens[i + 2] if i + 2 < len(tokens) else "")
        features[f"L12:{before[0]}_{before[1]}"] = 1
        features[f"R12:{after[0]}_{after[1]}"] = 1
        for word in tokens[max(0, i - 8):i + 9]:
            if word.isalpha():
                features[f"w:{word}"] = 1
        features[f"pos:{min(i // 50, 6)}"] = 1
        found.append((value, features))
    in_text = {value for value, _ in found}
    found += [(value, {"derived": 1, f"b:{_span_of_life(value)}": 1}) for value in set(born) - in_text]
    return found


# What a number followed by these counts is not years of age.
_NOT_AN_AGE = frozenset("st nd rd th months month mos weeks week wks days day hours hrs minutes mins min am pm".split())


def _span_of_life(age: int) -> str:
    return "kid" if age < 13 else "teen" if age < 18 else "young" if age < 30 else "adult" if age < 65 else "old"


def training_digest(rows: Iterable[tuple[str, ...]]) -> str:
    """sha256 of the training rows (scripts/train-model's Row), sorted: the order the model is
    fitted in, so neither the digest nor the weights depend on how the sets are named or listed."""
    canonical = json.dumps(sorted(rows), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def feature_digest() -> str:
    """sha256 of what turns a text into the model's features: the word pattern and the source of
    ``counts``, ``weigh`` and ``age_candidates``. Weights fitted on other features would read today's wrongly."""
    source = "\n".join((_WORD.pattern, inspect.getsource(counts), inspect.getsource(weigh),
                        _TOKEN.pattern, inspect.getsource(age_candidates), inspect.getsource(_span_of_life), " ".join(sorted(_NOT_AN_AGE))))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reading:
    """The model's view of one message."""

    probabilities: dict[str, float]  # per category, of the message as a whole
    crisis: float  # the chance of a crisis, weighing the whole and its most alarming passage
    services: dict[str, float]  # per service, the chance that the message asks for it
    model: Model
    whole: dict[str, float]  # the message's terms as the model weighs them
    passage: dict[str, float]  # the same for its most alarming passage

    def best_except_crisis(self) -> str:
        return max((c for c in self.probabilities if c != "crisis"), key=self.probabilities.__getitem__)

    def explain(self, category: str) -> str:
        if category == "crisis":
            return f"model: reads as crisis ({self.crisis:.2f}; {_quoted(self.model.categories.evidence(self.passage, category))})"
        return (f"model: reads as {category.replace('_', ' ')} ({self.probabilities[category]:.2f};"
                f" {_quoted(self.model.categories.evidence(self.whole, category))})")

    def explain_service(self, service: str) -> str:
        chance = self.services[service]
        said = "asks for" if chance >= 0.5 else "does not ask for"
        column = self.model.services.evidence(self.whole, service, toward=chance >= 0.5)
        return f"model: {said} {service} ({chance:.2f}; {_quoted(column)})"


@dataclass(frozen=True)
class Weights:
    """One linear score per label over the model's terms."""

    labels: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]
    bias: tuple[float, ...]
    # Per label, each term's weight: a score is then one sum over the terms at C speed.
    columns: tuple[dict[str, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        columns = tuple({term: row[k] for term, row in self.weights.items()} for k in range(len(self.labels)))
        object.__setattr__(self, "columns", columns)

    def scores(self, vector: dict[str, float]) -> list[float]:
        terms, values = list(vector), list(vector.values())
        return [bias + sum(map(operator.mul, values, map(column.__getitem__, terms)))
                for bias, column in zip(self.bias, self.columns, strict=True)]

    def evidence(self, vector: dict[str, float], label: str, toward: bool = True) -> tuple[str, ...]:
        """The terms that pushed ``vector`` toward ``label`` most (or away from it), as a reader would want them."""
        column = self.columns[self.labels.index(label)]
        sign = 1 if toward else -1
        pushes = sorted(((sign * value * column[term], term) for term, value in vector.items()), reverse=True)
        return tuple(term for push, term in pushes if push > 0 and _telling(term))[:4]


@dataclass(frozen=True)
class AgeWeights:
    """How likely a number is the age of the person to be seen, from what surrounds it."""

    bias: float
    weights: dict[str, float]

    def chances(self, figures: str, born: Iterable[int], channel: str) -> dict[int, float]:
        """Each candidate age (learned.age_candidates) and its best chance over where it stands."""
        best: dict[int, float] = {}
        for value, features in age_candidates(figures, born, channel):
            score = self.bias + sum(self.weights.get(name, 0.0) for name in features)
            best[value] = max(best.get(value, 0.0), 1 / (1 + math.exp(-score)))
        return best


@dataclass(frozen=True)
class Model:
    idf: dict[str, float]
    categories: Weights  # one of them: a softmax over the categories
    services: Weights  # each on its own: a message can ask for several services
    ages: AgeWeights
    crisis_threshold: float

    def read(self, text: str, channel: str) -> Reading:
        """The whole message, and for crisis also its most alarming pair of sentences: a long
        email about insurance and evening hours can carry its risk in one line, which the whole
        dilutes. The crisis chance is the geometric mean of the two, so that one alarming line
        counts without a sad line alone deciding (in leave-one-set-out trials this missed one
        crisis in 225 where the whole alone missed four, at no cost in precision)."""
        whole = self.vector(text, channel)
        probabilities = self.probabilities(whole)
        sentences = [s for s in SENTENCE.findall(text) if s.strip()]
        passages = [self.vector(" ".join(sentences[i:i + 2]), channel) for i in range(max(1, len(sentences) - 1))]
        chances = [self.probabilities(passage)["crisis"] for passage in passages]
        alarming = max(range(len(passages)), key=chances.__getitem__)
        crisis = math.sqrt(probabilities["crisis"] * chances[alarming])
        return Reading(probabilities, crisis, self.asked(whole), self, whole, passages[alarming])

    def vector(self, text: str, channel: str) -> dict[str, float]:
        return weigh(counts(text, channel), self.idf)

    def probabilities(self, vector: dict[str, float]) -> dict[str, float]:
        scores = self.categories.scores(vector)
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        return {name: exp / total for name, exp in zip(self.categories.labels, exps, strict=True)}

    def asked(self, vector: dict[str, float]) -> dict[str, float]:
        return {name: 1 / (1 + math.exp(-score)) for name, score in zip(self.services.labels, self.services.scores(vector), strict=True)}


def _quoted(terms: tuple[str, ...]) -> str:
    return ", ".join(f'"{term}"' for term in terms)


def _telling(term: str) -> bool:
    return not term.startswith("<") and not all(word in _PLAIN for word in term.split())


@cache
def shipped() -> Model:
    """The model in the package, loaded once."""
    data = json.loads(resources.files(__package__).joinpath("learned.json").read_text(encoding="utf-8"))
    return Model(idf=data["idf"], categories=_weights(data["categories"]), services=_weights(data["services"]),
                 ages=AgeWeights(bias=data["ages"]["bias"], weights=data["ages"]["weights"]), crisis_threshold=data["crisis_threshold"])


def _weights(data: dict[str, Any]) -> Weights:
    return Weights(labels=tuple(data["labels"]), bias=tuple(data["bias"]), weights={term: tuple(w) for term, w in data["weights"].items()})
