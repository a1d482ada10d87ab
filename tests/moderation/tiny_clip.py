"""A tiny CLIP model built offline from configuration and saved as a local model directory, the
shape an operator's MODERATION_CLIP_PATH has: weights, config, tokenizer and image processor."""

from __future__ import annotations

from pathlib import Path

from generation.engine.tiny import _byte_level_vocab


def save_tiny_clip(path: Path) -> Path:
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTextConfig,
        CLIPTokenizer,
        CLIPVisionConfig,
    )

    vocab = _byte_level_vocab()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    tokenizer.model_max_length = 77
    config = CLIPConfig(
        text_config=CLIPTextConfig(
            vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        ).to_dict(),
        vision_config=CLIPVisionConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
            patch_size=8,
        ).to_dict(),
        projection_dim=16,
    )  # fmt: skip
    torch.manual_seed(0)
    model = CLIPModel(config)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
