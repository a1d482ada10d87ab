"""GPU benchmark: SDXL and FLUX.1-schnell built from their published configs, random weights.

    .venv/bin/python bench/gpu.py [--dtype bf16|fp16] [--runs 3] [--out bench-gpu.json]
    .venv/bin/python bench/gpu.py --tiny --out /tmp/gpu-tiny.json      # same code, CPU, seconds

Nothing is downloaded: every model (SDXL UNet, VAE, CLIP ViT-L and OpenCLIP bigG text encoders;
FLUX.1-schnell transformer, VAE, CLIP ViT-L and T5-XXL encoder) is built from the config dicts
below (copied from the models' published ``config.json`` files) with random weights initialised on
the device, and the tokenizers are built offline as ``generation/engine/tiny.py`` does. Random
weights cost exactly what trained ones cost per step; the pictures are noise.

Per family it measures, each the median of ``--runs`` runs after one warm-up run:
* batch scaling: seconds per call and per image at 1, 2, 3 and 6 images per call, peak memory;
* channels-last on, and ``torch.compile`` of the denoiser on (compile time apart), at 6 images
  per call (``--variant-batches``);
* the worker path for one 6-image call: inference, then PNG encoding (Pillow, the worker's level),
  image moderation (the project's NudeNet checker, loaded once) and storage (Django's
  FileSystemStorage in a temporary directory), against bare inference.

It writes a JSON (``--out``) and prints a Markdown table for docs/benchmarks.md. ``--tiny`` runs
the same code with scaled-down configs of the same model classes at a small size on the CPU.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPT = "a modern architecture house on a hill at sunset, photograph"
NEGATIVE = "blurry, low quality"
OUTPUT_SIZE = 1024  # what the worker stores, whatever the model's native size

# --- Published configs (Hugging Face config.json of each model) ----------------------------------
CLIP_L = dict(  # openai/clip-vit-large-patch14 text tower: SDXL text_encoder, FLUX text_encoder
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768,
    bos_token_id=0, eos_token_id=2, pad_token_id=1,
)  # fmt: skip
CLIP_BIGG = dict(  # laion OpenCLIP ViT-bigG/14 text tower with projection: SDXL text_encoder_2
    vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
    max_position_embeddings=77, hidden_act="gelu", projection_dim=1280,
    bos_token_id=0, eos_token_id=2, pad_token_id=1,
)  # fmt: skip
SDXL_UNET = dict(  # stabilityai/stable-diffusion-xl-base-1.0 unet/config.json
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    attention_head_dim=(5, 10, 20), transformer_layers_per_block=(1, 2, 10), cross_attention_dim=2048,
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
    use_linear_projection=True, norm_num_groups=32,
)  # fmt: skip
KL_VAE = dict(  # the 4-block KL autoencoder of SDXL (vae/config.json)
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32, sample_size=1024, scaling_factor=0.13025, force_upcast=True,
)  # fmt: skip
FLUX_VAE = dict(  # black-forest-labs/FLUX.1-schnell vae/config.json: 16 latent channels, no quant convs
    KL_VAE, latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
    use_post_quant_conv=False,
)  # fmt: skip
FLUX_TRANSFORMER = dict(  # black-forest-labs/FLUX.1-schnell transformer/config.json
    patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
    num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=False,
    axes_dims_rope=(16, 56, 56),
)  # fmt: skip
T5_XXL = dict(  # google/t5-v1_1-xxl encoder: FLUX text_encoder_2
    vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
    dense_act_fn="gelu_new", is_gated_act=True, layer_norm_epsilon=1e-6, tie_word_embeddings=False,
)  # fmt: skip

FULL = {
    "size": 1024,
    "dtype": "bf16",
    "steps": {"sdxl": 30, "flux": 4},  # SDXL base's usual 30 with CFG; FLUX.1-schnell's 4, no CFG
    "threads": None,
    "compile_backend": "inductor",
    "sdxl": {"clip_l": CLIP_L, "clip_g": CLIP_BIGG, "unet": SDXL_UNET, "vae": KL_VAE},
    "flux": {"clip_l": CLIP_L, "t5": T5_XXL, "transformer": FLUX_TRANSFORMER, "vae": FLUX_VAE},
    "max_sequence_length": 256,  # FLUX.1-schnell's
}

# --- The same classes, scaled down for --tiny (CPU, seconds) ---------------------------------------
_TINY_CLIP = dict(CLIP_L, vocab_size=600, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, projection_dim=32)  # fmt: skip
_TINY_VAE = dict(KL_VAE, layers_per_block=1, block_out_channels=(32, 64), sample_size=32,
                 down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2)  # fmt: skip
TINY = {
    "size": 32,
    "dtype": "fp32",  # CPUs without bf16 units emulate it, slower than fp32
    "steps": {"sdxl": 2, "flux": 2},
    "threads": 1,  # tiny ops on a busy CPU: one thread, or the thread pool's spinning dominates
    # TorchInductor would spend minutes compiling C++ on a small CPU; dynamo's tracing and guards
    # (what the full run adds before Inductor) still run with the eager backend.
    "compile_backend": "eager",
    "sdxl": {
        "clip_l": _TINY_CLIP,
        "clip_g": dict(_TINY_CLIP, hidden_act="gelu"),
        "unet": dict(
            SDXL_UNET,
            sample_size=16,
            layers_per_block=1,
            block_out_channels=(32, 64),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(4, 8),
            transformer_layers_per_block=(1, 1),
            cross_attention_dim=64,
            addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=6 * 8 + 32,
        ),  # fmt: skip
        "vae": _TINY_VAE,
    },
    "flux": {
        "clip_l": _TINY_CLIP,
        "t5": dict(T5_XXL, vocab_size=600, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4),
        "transformer": dict(
            FLUX_TRANSFORMER,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            axes_dims_rope=(4, 6, 6),
        ),  # fmt: skip
        "vae": dict(
            _TINY_VAE,
            latent_channels=16,
            scaling_factor=0.3611,
            shift_factor=0.1159,
            use_quant_conv=False,
            use_post_quant_conv=False,
        ),  # fmt: skip
    },
    "max_sequence_length": 64,  # the benchmark prompt fits
}

GUIDANCE = {"sdxl": 5.0, "flux": 0.0}


# --- Building --------------------------------------------------------------------------------------
def _clip_tokenizer():
    from transformers import CLIPTokenizer

    from generation.engine.tiny import _byte_level_vocab

    tokenizer = CLIPTokenizer(vocab=_byte_level_vocab(), merges=[])
    tokenizer.model_max_length = 77
    return tokenizer


def _t5_tokenizer(max_length: int):
    """A fast (tokenizers-library) T5 tokenizer: one piece per printable ASCII character."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(chr(c), -1.0) for c in range(33, 127)]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    tokenizer.model_max_length = max_length
    return tokenizer


def _module(factory, dtype):
    """Build a module (its parameters land on the current default device), cast it, eval mode."""
    return factory().to(dtype=dtype).eval().requires_grad_(False)


def build_sdxl(cfg: dict, device: str, dtype: torch.dtype):
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    with torch.device(device):
        text_encoder = _module(lambda: CLIPTextModel(CLIPTextConfig(**cfg["clip_l"])), dtype)
        text_encoder_2 = _module(lambda: CLIPTextModelWithProjection(CLIPTextConfig(**cfg["clip_g"])), dtype)
        unet = _module(lambda: UNet2DConditionModel(**cfg["unet"]), dtype)
        vae = _module(lambda: AutoencoderKL(**cfg["vae"]), dtype)
    scheduler = EulerDiscreteScheduler(  # SDXL base's scheduler_config.json
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
        steps_offset=1, timestep_spacing="leading", prediction_type="epsilon",
    )  # fmt: skip
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=_clip_tokenizer(),
        tokenizer_2=_clip_tokenizer(), unet=unet, scheduler=scheduler, add_watermarker=False,
    )  # fmt: skip


def build_flux(cfg: dict, device: str, dtype: torch.dtype, max_sequence_length: int):
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(0)
    with torch.device(device):
        text_encoder = _module(lambda: CLIPTextModel(CLIPTextConfig(**cfg["clip_l"])), dtype)
        text_encoder_2 = _module(lambda: T5EncoderModel(T5Config(**cfg["t5"])), dtype)
        transformer = _module(lambda: FluxTransformer2DModel(**cfg["transformer"]), dtype)
        vae = _module(lambda: AutoencoderKL(**cfg["vae"]), dtype)
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False)
    return FluxPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=_clip_tokenizer(),
        text_encoder_2=text_encoder_2, tokenizer_2=_t5_tokenizer(max_sequence_length), transformer=transformer,
    )  # fmt: skip


def build(family: str, profile: dict, device: str, dtype: torch.dtype):
    if family == "sdxl":
        return build_sdxl(profile["sdxl"], device, dtype)
    return build_flux(profile["flux"], device, dtype, profile["max_sequence_length"])


def denoiser_name(pipe) -> str:
    return "unet" if hasattr(pipe, "unet") else "transformer"


def parameter_counts(pipe) -> dict[str, int]:
    names = [n for n in ("text_encoder", "text_encoder_2", "unet", "transformer", "vae") if hasattr(pipe, n)]
    return {n: sum(p.numel() for p in getattr(pipe, n).parameters()) for n in names}


# --- Timing ----------------------------------------------------------------------------------------
class Device:
    """Synchronisation and peak memory for CUDA; on the CPU (``--tiny``) the process's peak RSS
    (not resettable, so it only grows) stands in for the peak."""

    def __init__(self, name: str):
        self.name = name
        self.cuda = name.startswith("cuda")

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def reset_peak(self) -> None:
        self.sync()
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()

    def peak_bytes(self) -> int:
        self.sync()
        if self.cuda:
            return torch.cuda.max_memory_allocated()
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB

    def timed(self, fn):
        self.sync()
        started = time.perf_counter()
        out = fn()
        self.sync()
        return time.perf_counter() - started, out

    def release(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()


def generate(pipe, family: str, settings: dict, batch: int):
    """One pipeline call for ``batch`` images, as the worker makes it (CPU generators, one seed each)."""
    kwargs = {
        "prompt": PROMPT,
        "num_images_per_prompt": batch,
        "generator": [torch.Generator("cpu").manual_seed(seed) for seed in range(batch)],
        "num_inference_steps": settings["steps"],
        "guidance_scale": GUIDANCE[family],
        "height": settings["size"],
        "width": settings["size"],
        "output_type": "pil",
    }
    if family == "sdxl":
        kwargs["negative_prompt"] = NEGATIVE
    else:
        kwargs["max_sequence_length"] = settings["max_sequence_length"]
    with torch.inference_mode():
        return pipe(**kwargs).images


def median_call(device: Device, fn, runs: int) -> dict:
    """Warm-up call (excluded), then ``runs`` timed calls; the median and the peak memory."""
    first_s, _ = device.timed(fn)
    device.reset_peak()
    times = [device.timed(fn)[0] for _ in range(runs)]
    return {"first_s": first_s, "median_s": statistics.median(times), "runs_s": times,
            "peak_memory_bytes": device.peak_bytes()}  # fmt: skip


def per_batch(device: Device, pipe, family: str, settings: dict, batches, runs: int) -> dict:
    out = {}
    for batch in batches:
        figures = median_call(device, lambda b=batch: generate(pipe, family, settings, b), runs)
        figures["s_per_image"] = figures["median_s"] / batch
        out[str(batch)] = figures
    return out


def set_channels_last(pipe, on: bool) -> None:
    memory_format = torch.channels_last if on else torch.contiguous_format
    for name in ("unet", "vae"):  # the convolutional parts; FLUX's transformer works on sequences
        if hasattr(pipe, name):
            getattr(pipe, name).to(memory_format=memory_format)


def compiled_figures(device: Device, pipe, family: str, settings: dict, args, backend: str) -> dict:
    """Compile the denoiser in place, then time each of ``--variant-batches``; a call's first-run
    time minus its warm median is that shape's compile time (a new batch size compiles again)."""
    mode = None if backend == "eager" else args.compile_mode
    getattr(pipe, denoiser_name(pipe)).compile(mode=mode, backend=backend)
    figures = per_batch(device, pipe, family, settings, args.variant_batches, args.runs)
    for entry in figures.values():
        entry["compile_s"] = max(entry["first_s"] - entry["median_s"], 0.0)
    return figures


# --- The worker path: inference, then encode, moderate and store each image -------------------
def encode_png(image) -> tuple[bytes, object]:
    """What the engine does with each picture: RGB, 1024x1024 (Lanczos if the model's size differs),
    PNG with the engine's own encoder (its level and strategy)."""
    from PIL import Image

    from generation.engine.runner import encode_image

    image = image.convert("RGB")
    if image.size != (OUTPUT_SIZE, OUTPUT_SIZE):
        image = image.resize((OUTPUT_SIZE, OUTPUT_SIZE), Image.Resampling.LANCZOS)
    return encode_image(image, "png"), image


class PostProcessing:
    """The worker's post-processing, loaded once: the project's image moderation (NudeNet) and a
    Django FileSystemStorage in a temporary directory."""

    def __init__(self, directory: str):
        from django.conf import settings

        if not settings.configured:
            settings.configure(USE_TZ=True)
        from django.core.files.storage import FileSystemStorage

        from moderation.image import ImageModerator, ImagePolicy

        started = time.perf_counter()
        self.moderator = ImageModerator.load()
        self.load_s = time.perf_counter() - started
        self.policy = ImagePolicy(thresholds={})  # the scores are computed whatever blocks
        self.storage = FileSystemStorage(location=directory)
        self.saved = 0

    def store(self, pngs: list[bytes]) -> None:
        from django.core.files.base import ContentFile

        from generation.storage import image_path

        self.saved += 1
        for index, png in enumerate(pngs):
            self.storage.save(image_path(f"bench-{self.saved}", index, OUTPUT_SIZE, OUTPUT_SIZE), ContentFile(png))


def worker_path(device: Device, pipe, family: str, settings: dict, runs: int, post: PostProcessing) -> dict:
    """One 6-image call through every stage in turn, as the worker runs a task; a warm-up run first."""
    stages: dict[str, list[float]] = {"inference": [], "encode": [], "moderation": [], "storage": []}
    for run in range(runs + 1):
        took = {}
        took["inference"], images = device.timed(lambda: generate(pipe, family, settings, 6))
        started = time.perf_counter()
        encoded = [encode_png(image) for image in images]
        took["encode"] = time.perf_counter() - started
        started = time.perf_counter()
        post.moderator.moderate([image for _, image in encoded], post.policy)
        took["moderation"] = time.perf_counter() - started
        started = time.perf_counter()
        post.store([png for png, _ in encoded])
        took["storage"] = time.perf_counter() - started
        for stage, seconds in took.items():
            if run:  # run 0 is the warm-up
                stages[stage].append(seconds)
    walls = [sum(parts) for parts in zip(*stages.values(), strict=True)]
    out = {f"{stage}_s": statistics.median(times) for stage, times in stages.items()}
    out["wall_s"] = statistics.median(walls)
    out["wall_over_inference"] = out["wall_s"] / out["inference_s"]
    out["png_kib_per_image"] = round(sum(len(png) for png, _ in encoded) / len(encoded) / 1024, 1)
    return out


# --- One family, the whole run, the report ---------------------------------------------------------
def run_family(family: str, args, profile: dict, device: Device, post: PostProcessing) -> dict:
    settings = {"steps": getattr(args, f"{family}_steps"), "size": profile["size"],
                "max_sequence_length": profile["max_sequence_length"]}  # fmt: skip
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    log(f"{family}: building on {device.name} ({args.dtype})")
    build_s, pipe = device.timed(lambda: build(family, profile, device.name, dtype))
    pipe.set_progress_bar_config(disable=True)
    result = {"build_s": build_s, "parameters": parameter_counts(pipe), "steps": settings["steps"],
              "size": settings["size"], "guidance": GUIDANCE[family]}  # fmt: skip
    log(f"{family}: built in {build_s:.1f} s; batch scaling {args.batches}")
    result["batch_scaling"] = per_batch(device, pipe, family, settings, args.batches, args.runs)
    log(f"{family}: worker path")
    result["worker_path"] = worker_path(device, pipe, family, settings, args.runs, post)
    log(f"{family}: channels-last")
    set_channels_last(pipe, True)
    result["channels_last"] = per_batch(device, pipe, family, settings, args.variant_batches, args.runs)
    set_channels_last(pipe, False)
    if args.no_compile:
        result["compiled"] = None
    else:
        log(f"{family}: torch.compile ({args.compile_mode}, {profile['compile_backend']})")
        result["compiled"] = compiled_figures(device, pipe, family, settings, args, profile["compile_backend"])
    del pipe
    device.release()
    return result


STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def metadata(args, device: Device) -> dict:
    import diffusers
    import transformers

    from generation.engine.runner import PNG_COMPRESS_LEVEL, PNG_STRATEGY

    if device.cuda:
        card = torch.cuda.get_device_name()
    else:
        import os

        card = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (no GPU)"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "card": card,
        "device": device.name,
        "dtype": args.dtype,
        "profile": "tiny" if args.tiny else "published configs",
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "runs": args.runs,
        "compile_mode": None if args.no_compile else args.compile_mode,
        "png": {"compress_level": PNG_COMPRESS_LEVEL, "zlib_strategy": PNG_STRATEGY},
        "command": " ".join(["bench/gpu.py", *sys.argv[1:]]),
    }


def _gib(value: int) -> str:
    return f"{value / 2**30:.2f}"


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [
        f"{meta['date']}, {meta['card']}, torch {meta['torch']}, diffusers {meta['diffusers']}, "
        f"{meta['dtype']}, {meta['profile']}, median of {meta['runs']} runs: `{meta['command']}`",
        "",
        "| family | steps | variant | images per call | s per call | s per image | peak memory GiB | compile s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for family, result in report["families"].items():
        for variant in ("batch_scaling", "channels_last", "compiled"):
            for batch, fig in (result[variant] or {}).items():
                compile_s = f"{fig['compile_s']:.1f}" if "compile_s" in fig else "-"
                lines.append(
                    f"| {family} | {result['steps']} | {variant.replace('batch_scaling', 'eager')} | {batch} | "
                    f"{fig['median_s']:.3f} | {fig['s_per_image']:.3f} | {_gib(fig['peak_memory_bytes'])} | "
                    f"{compile_s} |"
                )
    lines += [
        "",
        "| family | 6-image call: inference s | encode s | moderation s | storage s | wall s | wall / inference |",
        "|---|---|---|---|---|---|---|",
    ]
    for family, result in report["families"].items():
        w = result["worker_path"]
        lines.append(
            f"| {family} | {w['inference_s']:.3f} | {w['encode_s']:.3f} | {w['moderation_s']:.3f} | "
            f"{w['storage_s']:.3f} | {w['wall_s']:.3f} | {w['wall_over_inference']:.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="scaled-down configs on the CPU, in seconds")
    parser.add_argument("--device", help="default cuda, or cpu with --tiny")
    parser.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), help="default bf16, or fp32 with --tiny")
    parser.add_argument("--families", default="sdxl,flux")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per figure (median), after one warm-up")
    parser.add_argument("--batches", default="1,2,3,6", help="images per call for batch scaling")
    parser.add_argument(
        "--variant-batches", default="6", help="images per call for channels-last and compiled (each compiles)"
    )
    parser.add_argument(
        "--sdxl-steps", type=int, help=f"default {FULL['steps']['sdxl']} (--tiny {TINY['steps']['sdxl']})"
    )
    parser.add_argument(
        "--flux-steps", type=int, help=f"default {FULL['steps']['flux']} (--tiny {TINY['steps']['flux']})"
    )
    parser.add_argument("--compile-mode", default="default", help="e.g. max-autotune-no-cudagraphs (slower to compile)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile figures")
    parser.add_argument("--out", default="bench-gpu.json")
    args = parser.parse_args(argv)
    profile = TINY if args.tiny else FULL
    args.device = args.device or ("cpu" if args.tiny else "cuda")
    args.dtype = args.dtype or profile["dtype"]
    args.sdxl_steps = args.sdxl_steps or profile["steps"]["sdxl"]
    args.flux_steps = args.flux_steps or profile["steps"]["flux"]
    args.batches = sorted({int(b) for b in args.batches.split(",")} | {1, 6})
    args.variant_batches = sorted({int(b) for b in args.variant_batches.split(",")})
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    profile = TINY if args.tiny else FULL
    device = Device(args.device)
    if profile["threads"] and not device.cuda:
        torch.set_num_threads(profile["threads"])
    if device.cuda and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: run with --tiny (CPU) or on the GPU host")
    report = {"meta": metadata(args, device), "families": {}}
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as directory:
        post = PostProcessing(directory)
        report["meta"]["moderation_load_s"] = post.load_s
        for family in args.families.split(","):
            report["families"][family] = run_family(family, args, profile, device, post)
    report["meta"]["wall_s"] = time.perf_counter() - STARTED
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(markdown(report))
    log(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
