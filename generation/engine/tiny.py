"""The offline ``tiny`` model: a complete Stable-Diffusion-style diffusers pipeline built from
configuration with fixed-seed weights.

Nothing is read from disk or the network. The outputs are noise, but every stage of the real
diffusers path runs: tokenizer, CLIP text encoder, UNet with cross-attention, scheduler, VAE decoder
and classifier-free guidance with the negative prompt.
"""

from __future__ import annotations

import hashlib

import torch

# Fixed seed for the weights, so every worker builds bit-identical models.
WEIGHTS_SEED = 20261125
TEXT_HIDDEN = 32


def _byte_level_vocab() -> dict[str, int]:
    """GPT-2 style byte-to-unicode table: every byte gets a printable character, and a
    ``</w>`` variant closes a word. With no merges every word is tokenized byte by byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = []
    extra = 0
    for b in range(256):
        if b in printable:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in chars:
        vocab[ch] = len(vocab)
    for ch in chars:
        vocab[ch + "</w>"] = len(vocab)
    return vocab


def build_tiny_pipeline(native_size: int = 64):
    """The pipeline, its weights drawn from fixed seeds (one per component, in this order)."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    vocab = _byte_level_vocab()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    tokenizer.model_max_length = 77
    torch.manual_seed(WEIGHTS_SEED)
    text_encoder = _text_encoder(vocab_size=len(vocab))
    torch.manual_seed(WEIGHTS_SEED + 1)
    unet = _unet(native_size)
    torch.manual_seed(WEIGHTS_SEED + 2)
    vae = _vae(native_size)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _text_encoder(*, vocab_size: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=TEXT_HIDDEN,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )


def _unet(native_size: int):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=native_size // 8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN,
        attention_head_dim=8,
        norm_num_groups=32,
    )


def _vae(native_size: int):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=native_size,
    )


def weights_digest(pipe) -> str:
    """A short digest of all weights: the tiny model's revision."""
    h = hashlib.sha256()
    for module in (pipe.text_encoder, pipe.unet, pipe.vae):
        for name, tensor in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]
