"""A tiny random Stable Diffusion pipeline, built in code so the worker runs anywhere.

Its images are noise-like, but every code path (text encoder, UNet steps, step callbacks,
VAE decode, seeding) is the real one, which is what the tests and a model-less demo need.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from mesh_worker.models import TINY_MODEL_NAME, tiny_transformer

__all__ = ["TINY_MODEL_NAME", "build_tiny_pipeline"]


def _tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer over letters and digits (no merges): enough to encode any prompt."""
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    with tempfile.TemporaryDirectory(prefix="tiny-clip-") as tmp:
        vocab_file = Path(tmp) / "vocab.json"
        merges_file = Path(tmp) / "merges.txt"
        vocab_file.write_text(json.dumps(vocab))
        merges_file.write_text("#version: 0.2\n")
        # The tokenizer reads both files in its constructor, so the temp dir may go.
        return CLIPTokenizer(
            str(vocab_file),
            str(merges_file),
            model_max_length=77,
            pad_token="<|endoftext|>",
        )


def build_tiny_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    """A randomly initialised SD pipeline (~100k parameters), the same for the same seed."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(  # type: ignore[no-untyped-call]
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        norm_num_groups=4,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(  # type: ignore[no-untyped-call]
        in_channels=3,
        out_channels=3,
        block_out_channels=(8,),
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=32,
    )
    # seed=None: one seed above for the whole pipeline, so its weights are as before.
    text_encoder = tiny_transformer(
        CLIPTextModel, CLIPTextConfig, vocab_size=1000, seed=None, layer_norm_eps=1e-5
    )
    scheduler = DDIMScheduler(  # type: ignore[no-untyped-call]
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return StableDiffusionPipeline(  # type: ignore[no-untyped-call]
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tiny_tokenizer(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
