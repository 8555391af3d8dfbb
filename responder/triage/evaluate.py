"""How well classification reads a labelled folder: per-category precision, recall and F1, the
confusion matrix, crisis recall and precision, and the accuracy of every fact.

The folder is laid out like the development set: ``labels.yaml`` beside ``.eml`` and
``.sms.json`` files (see tests/corpus/training/dev/README.md). File names are never shown to the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import Config
from ..model import Category
from .classify import classify
from .parse import parse_file

CATEGORIES = tuple(Category)
FACTS = ("insurance", "services", "modality", "reply_to")
# Measured where a set labels them (the sets written for issue 13 do): the person's age, the language.
LABELLED_ONLY = ("age", "language")


@dataclass
class Report:
    files: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=lambda: {c: dict.fromkeys(CATEGORIES, 0) for c in CATEGORIES})
    fact_right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FACTS + LABELLED_ONLY, 0))
    fact_total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FACTS + LABELLED_ONLY, 0))
    wrong: list[dict[str, Any]] = field(default_factory=list)

    def per_category(self) -> dict[str, dict[str, float]]:
        result = {}
        for category in CATEGORIES:
            true_positive = self.confusion[category][category]
            predicted = sum(row[category] for row in self.confusion.values())
            actual = sum(self.confusion[category].values())
            precision = true_positive / predicted if predicted else 0.0
            recall = true_positive / actual if actual else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            result[category] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
        return result

    def accuracy(self) -> dict[str, float]:
        right = sum(self.confusion[c][c] for c in CATEGORIES)
        result = {"category": right / self.files if self.files else 0.0}
        for fact in FACTS:
            result[fact] = self.fact_right[fact] / self.fact_total[fact] if self.fact_total[fact] else 0.0
        for fact in LABELLED_ONLY:
            if self.fact_total[fact]:
                result[fact] = self.fact_right[fact] / self.fact_total[fact]
        return result

    def as_json(self) -> dict[str, Any]:
        crisis = self.per_category()["crisis"]
        return {"files": self.files, "accuracy": self.accuracy(), "categories": self.per_category(),
                "crisis": {"recall": crisis["recall"], "precision": crisis["precision"]},
                "confusion": self.confusion, "misclassified": self.wrong}

    def text(self) -> str:
        lines = [f"{self.files} files", "", f"{'category':<22} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>4}"]
        for category, figures in self.per_category().items():
            lines.append(f"{category:<22} {figures['precision']:>9.3f} {figures['recall']:>7.3f} {figures['f1']:>6.3f} {figures['support']:>4}")
        crisis = self.per_category()["crisis"]
        lines += ["", f"crisis recall {crisis['recall']:.3f}, precision {crisis['precision']:.3f}", ""]
        lines.append("accuracy: " + ", ".join(f"{name} {value:.3f}" for name, value in self.accuracy().items()))
        short = {c: "".join(part[0] for part in c.split("_")) for c in CATEGORIES}
        lines += ["", "confusion (rows: labelled, columns: classified)", " " * 22 + "".join(f"{short[c]:>5}" for c in CATEGORIES)]
        for category in CATEGORIES:
            lines.append(f"{category:<22}" + "".join(f"{self.confusion[category][c]:>5}" for c in CATEGORIES))
        if self.wrong:
            lines += ["", "misclassified:"]
            lines += [f"  {w['file']}: {w['field']} expected {w['expected']!r}, got {w['got']!r}" for w in self.wrong]
        return "\n".join(lines)


def evaluate(folder: Path, config: Config) -> Report:
    labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8")) or {}
    report = Report()
    for name, label in sorted(labels.items()):
        result = classify(parse_file(folder / name), config)
        report.files += 1
        expected_category = label["category"]
        report.confusion[expected_category][result.category] += 1
        got: dict[str, Any] = {"category": result.category, "insurance": result.facts.insurance,
                               "services": sorted(result.facts.services), "modality": result.facts.modality,
                               "reply_to": result.facts.reply_to, "age": result.facts.age, "language": result.facts.language}
        expected: dict[str, Any] = {"category": expected_category, "insurance": label.get("insurance", "unknown"),
                                    "services": sorted(label.get("services") or []), "modality": label.get("modality", "unknown"),
                                    "reply_to": label.get("reply_to"), "age": label.get("age"), "language": label.get("language")}
        if got["category"] != expected["category"]:
            report.wrong.append({"file": name, "field": "category", "expected": expected["category"], "got": got["category"]})
        for fact in FACTS + tuple(f for f in LABELLED_ONLY if f in label):
            if fact == "reply_to" and name.endswith(".json"):
                continue  # texts carry no reply_to label: the reply goes to the sender's number
            report.fact_total[fact] += 1
            if got[fact] == expected[fact]:
                report.fact_right[fact] += 1
            else:
                report.wrong.append({"file": name, "field": fact, "expected": expected[fact], "got": got[fact]})
    return report
