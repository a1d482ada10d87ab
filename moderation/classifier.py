"""An optional second opinion on prompts: a text classifier from a local directory (transformers
``AutoModelForSequenceClassification`` + its tokenizer, e.g. a fine-tuned DistilBERT), never
downloaded. Off unless MODERATION_TEXT_CLASSIFIER_PATH names a directory.

Its scores are recorded in the task's moderation report next to the rules' decision. It blocks
only when MODERATION_TEXT_CLASSIFIER_BLOCK_AT is set and the model's labels are moderation
categories (``sexual``, ``minors``, ...): a category scored at or above that level is added with
rule ``classifier``. The rules alone meet the targets; the classifier can only add blocks. No
Django here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moderation.text import CATEGORIES


@dataclass
class TextClassifier:
    name: str
    model: object
    tokenizer: object
    labels: list[str]

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        import torch  # noqa: F401  (imported here: the web tier without a classifier never loads torch)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).eval()
        labels = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
        return cls(name=f"text-classifier:{path.name}", model=model, tokenizer=tokenizer, labels=labels)

    def scores(self, texts: list[str]) -> list[dict[str, float]]:
        """Per text, a probability per label (softmax over the model's labels)."""
        import torch

        if not texts:
            return []
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            probs = self.model(**batch).logits.softmax(dim=-1)
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)} for row in probs]

    def opinion(self, fields: dict[str, str], block_at: float | None) -> dict:
        """The report entry: scores per field, and the categories at or above ``block_at``."""
        names = [name for name, text in fields.items() if text]
        per_field = dict(zip(names, self.scores([fields[n] for n in names]), strict=True))
        flagged = sorted(
            {
                label
                for scores in per_field.values()
                for label, score in scores.items()
                if block_at is not None and label in CATEGORIES and score >= block_at
            },
            key=CATEGORIES.index,
        )
        return {"model": self.name, "scores": per_field, "block_at": block_at, "flagged": flagged}
