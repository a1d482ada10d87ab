"""bench/gpu.py: the --tiny run produces every figure for both families, and the full profile's
configs are the published models (their parameter counts, built on the meta device)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("sdxl", "flux")


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "bench" / "gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_timing(figures: dict, *, compiled: bool = False) -> None:
    keys = {"first_s", "median_s", "runs_s", "peak_memory_bytes", "s_per_image"} | (
        {"compile_s"} if compiled else set()
    )
    assert keys <= figures.keys(), figures
    assert figures["median_s"] > 0 and figures["s_per_image"] > 0 and figures["peak_memory_bytes"] > 0
    assert figures["runs_s"] and all(t > 0 for t in figures["runs_s"])
    if compiled:
        assert figures["compile_s"] >= 0


@pytest.mark.long
@pytest.mark.slow
def test_tiny_run_writes_every_figure_for_both_families(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run(
        [sys.executable, "bench/gpu.py", "--tiny", "--runs", "1", "--variant-batches", "1,6", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    meta = report["meta"]
    for key in ("date", "card", "torch", "diffusers", "transformers", "dtype", "command", "moderation_load_s"):
        assert meta[key], key
    assert meta["profile"] == "tiny" and meta["device"] == "cpu"
    assert set(report["families"]) == set(FAMILIES)
    for family, result in report["families"].items():
        assert result["steps"] > 0 and result["size"] > 0 and result["build_s"] > 0
        assert all(count > 0 for count in result["parameters"].values())
        assert set(result["batch_scaling"]) == {"1", "2", "3", "6"}
        assert set(result["channels_last"]) == set(result["compiled"]) == {"1", "6"}
        for figures in [*result["batch_scaling"].values(), *result["channels_last"].values()]:
            assert_timing(figures)
        for figures in result["compiled"].values():
            assert_timing(figures, compiled=True)
        worker = result["worker_path"]
        stages = ("inference_s", "encode_s", "moderation_s", "storage_s")
        assert all(worker[stage] > 0 for stage in stages), worker
        assert worker["wall_s"] == pytest.approx(sum(worker[stage] for stage in stages), rel=0.5)
        assert worker["wall_over_inference"] == pytest.approx(worker["wall_s"] / worker["inference_s"])
        assert worker["png_kib_per_image"] > 0
        # The printed table has a row per figure of this family.
        assert done.stdout.count(f"| {family} |") == 4 + 2 + 2 + 1


@pytest.mark.slow
def test_full_profile_builds_the_published_models():
    """Parameter counts of the published checkpoints (SDXL base 1.0; FLUX.1-schnell, which has no
    guidance embedder), so a mistyped config value cannot go unnoticed."""
    import torch

    bench = load_bench()
    sdxl = bench.parameter_counts(bench.build("sdxl", bench.FULL, "meta", torch.bfloat16))
    assert sdxl == {
        "text_encoder": 123_060_480,
        "text_encoder_2": 694_659_840,
        "unet": 2_567_463_684,
        "vae": 83_653_863,
    }
    flux = bench.parameter_counts(bench.build("flux", bench.FULL, "meta", torch.bfloat16))
    assert flux == {
        "text_encoder": 123_060_480,
        "text_encoder_2": 4_762_310_656,
        "transformer": 11_891_178_560,
        "vae": 83_819_683,
    }
