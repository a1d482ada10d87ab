"""The optional prompt classifier: a tiny, randomly initialised BERT sequence classifier saved to a
temporary directory and loaded from there, as an operator's MODERATION_TEXT_CLASSIFIER_PATH is."""

from __future__ import annotations

from pathlib import Path

import django_rq
import pytest
from django.conf import settings as django_settings

from generation.models import Task
from moderation.classifier import TextClassifier
from tests.conftest import submit

pytestmark = pytest.mark.django_db

WORDS = "a calm lake at dawn with mist over the water decapitated body gore".split()


def save_tiny_classifier(path: Path, labels: list[str]) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    vocab = path / "vocab.txt"
    path.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizer(vocab_file=str(vocab))
    config = BertConfig(
        vocab_size=5 + len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=64, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def classifier_dir(tmp_path, settings, fresh_moderator):
    def configure(labels: list[str], block_at: float | None = None) -> Path:
        path = save_tiny_classifier(tmp_path / "tiny-text-classifier", labels)
        settings.MODERATION_TEXT_CLASSIFIER_PATH = str(path)
        settings.MODERATION_TEXT_CLASSIFIER_BLOCK_AT = block_at
        return path

    return configure


def test_scores_are_probabilities_per_label(tmp_path):
    classifier = TextClassifier.load(save_tiny_classifier(tmp_path / "c", ["benign", "violence", "sexual"]))
    (scores,) = classifier.scores(["a calm lake at dawn"])
    assert set(scores) == {"benign", "violence", "sexual"}
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-3)


def test_off_by_default_nothing_is_recorded(api):
    assert django_settings.MODERATION_TEXT_CLASSIFIER_PATH == ""
    task = submit(api, {"text_data": "a calm lake"})
    assert "classifier" not in Task.unscoped_objects.get(pk=task["id"]).moderation_report["prompt"]


def test_its_scores_are_recorded_and_alone_it_does_not_block(api, classifier_dir):
    classifier_dir(["benign", "violence"])
    task = submit(api, {"text_data": "a calm lake at dawn", "options": {"neg_text": "mist"}})
    assert task["state"] == "queued"
    opinion = Task.unscoped_objects.get(pk=task["id"]).moderation_report["prompt"]["classifier"]
    assert opinion["model"] == "text-classifier:tiny-text-classifier" and opinion["flagged"] == []
    assert set(opinion["scores"]) == {"text_data", "neg_text"}
    assert set(opinion["scores"]["text_data"]) == {"benign", "violence"}


def test_with_a_block_level_its_category_blocks_before_any_job(api, classifier_dir):
    classifier_dir(["benign", "violence"], block_at=0.0)  # every score is >= 0: violence is flagged
    task = submit(api, {"text_data": "a calm lake at dawn"})
    assert task["state"] == "failed" and task["error"]["code"] == "moderation_blocked_prompt"
    assert task["moderation"]["prompt"]["categories"] == ["violence"]
    row = Task.unscoped_objects.get(pk=task["id"])
    assert row.moderation_report["prompt"]["rules"] == ["classifier"]
    assert django_rq.get_queue(django_settings.MODEL_REGISTRY["tiny"].queue).count == 0
