"""A second reader: a linear model learned from labelled messages, shipped as weights.

Rules say exactly why, but they only know the wordings someone wrote down; on sets of messages
nobody here had seen, they missed a third of the crises and a sixth of the categories. A
logistic regression over word pairs, trained on the labelled sets in tests/corpus/training, held up
far better in leave-one-set-out trials (see scripts/train-model). classify.py asks both: either can
raise a crisis, and this model settles the other categories, with the rules that agree shown as
reasons.

Inference is pure Python over a JSON file of weights, so the package needs no numerical library
and the model is readable. The features here are the only definition of them: the training script
imports ``counts`` and ``weigh`` so that training and use can never disagree. learned.json records
a digest of the rows it was fitted on and of this feature code (``training_sha256`` and
``features_sha256``, computed by ``training_digest`` and ``feature_digest``), so a test notices
when either has moved since the last refit.
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


def training_digest(rows: Iterable[tuple[str, str, str]]) -> str:
    """sha256 of the training rows (text, channel, category), sorted: the order the model is
    fitted in, so neither the digest nor the weights depend on how the sets are named or listed."""
    canonical = json.dumps(sorted(rows), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def feature_digest() -> str:
    """sha256 of what turns a text into the model's features: the word pattern and the source of
    ``counts`` and ``weigh``. Weights fitted on other features would read today's wrongly."""
    source = "\n".join((_WORD.pattern, inspect.getsource(counts), inspect.getsource(weigh)))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reading:
    """The model's view of one message."""

    probabilities: dict[str, float]  # per category, of the message as a whole
    crisis: float  # the chance of a crisis, weighing the whole and its most alarming passage
    model: Model
    whole: dict[str, float]  # the message's terms as the model weighs them
    passage: dict[str, float]  # the same for its most alarming passage

    def best_except_crisis(self) -> str:
        return max((c for c in self.probabilities if c != "crisis"), key=self.probabilities.__getitem__)

    def explain(self, category: str) -> str:
        if category == "crisis":
            return f"model: reads as crisis ({self.crisis:.2f}; {_quoted(self.model.evidence(self.passage, category))})"
        return (f"model: reads as {category.replace('_', ' ')} ({self.probabilities[category]:.2f};"
                f" {_quoted(self.model.evidence(self.whole, category))})")


@dataclass(frozen=True)
class Model:
    classes: tuple[str, ...]
    idf: dict[str, float]
    weights: dict[str, tuple[float, ...]]
    bias: tuple[float, ...]
    crisis_threshold: float
    # Per category, each term's weight: a score is then one sum over the terms at C speed.
    columns: tuple[dict[str, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        columns = tuple({term: row[k] for term, row in self.weights.items()} for k in range(len(self.classes)))
        object.__setattr__(self, "columns", columns)

    def read(self, text: str, channel: str) -> Reading:
        """The whole message, and for crisis also its most alarming pair of sentences: a long
        email about insurance and evening hours can carry its risk in one line, which the whole
        dilutes. The crisis chance is the geometric mean of the two, so that one alarming line
        counts without a sad line alone deciding (in leave-one-set-out trials this missed one
        crisis in 225 where the whole alone missed four, at no cost in precision)."""
        whole = self._vector(text, channel)
        probabilities = self._probabilities(whole)
        sentences = [s for s in SENTENCE.findall(text) if s.strip()]
        passages = [self._vector(" ".join(sentences[i:i + 2]), channel) for i in range(max(1, len(sentences) - 1))]
        chances = [self._probabilities(passage)["crisis"] for passage in passages]
        alarming = max(range(len(passages)), key=chances.__getitem__)
        crisis = math.sqrt(probabilities["crisis"] * chances[alarming])
        return Reading(probabilities, crisis, self, whole, passages[alarming])

    def evidence(self, vector: dict[str, float], category: str) -> tuple[str, ...]:
        """The terms that pushed ``vector`` toward ``category`` most, as a reader would want them."""
        column = self.columns[self.classes.index(category)]
        pushes = sorted(((value * column[term], term) for term, value in vector.items()), reverse=True)
        return tuple(term for push, term in pushes if push > 0 and _telling(term))[:4]

    def _vector(self, text: str, channel: str) -> dict[str, float]:
        return weigh(counts(text, channel), self.idf)

    def _probabilities(self, vector: dict[str, float]) -> dict[str, float]:
        terms, values = list(vector), list(vector.values())
        scores = [bias + sum(map(operator.mul, values, map(column.__getitem__, terms)))
                  for bias, column in zip(self.bias, self.columns, strict=True)]
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        return {name: exp / total for name, exp in zip(self.classes, exps, strict=True)}


def _quoted(terms: tuple[str, ...]) -> str:
    return ", ".join(f'"{term}"' for term in terms)


def _telling(term: str) -> bool:
    return not term.startswith("<") and not all(word in _PLAIN for word in term.split())


@cache
def shipped() -> Model:
    """The model in the package, loaded once."""
    data = json.loads(resources.files(__package__).joinpath("learned.json").read_text(encoding="utf-8"))
    return Model(
        classes=tuple(data["classes"]),
        idf=data["idf"],
        weights={term: tuple(w) for term, w in data["weights"].items()},
        bias=tuple(data["bias"]),
        crisis_threshold=data["crisis_threshold"],
    )
