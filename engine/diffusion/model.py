"""The class-conditional UNet and the data it learns from.

Small on purpose: the digits are 8x8 upsampled to 16x16, one channel, ten classes,
and the whole training must fit a few minutes on two CPU cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

MODEL_NAME = "gmm_ddim_digits"
NUM_CLASSES = 10


def build_unet(
    image_size: int = 16,
    channels: tuple[int, ...] = (32, 64),
    layers_per_block: int = 1,
    norm_num_groups: int = 8,
    attention: bool = False,
) -> "torch.nn.Module":
    """A ``UNet2DModel`` with a class embedding (``class_labels`` 0..9)."""
    from diffusers import UNet2DModel

    down = tuple("DownBlock2D" for _ in channels)
    up = tuple("UpBlock2D" for _ in channels)
    if attention:
        down = down[:-1] + ("AttnDownBlock2D",)
        up = ("AttnUpBlock2D",) + up[1:]
    return UNet2DModel(
        sample_size=image_size,
        in_channels=1,
        out_channels=1,
        block_out_channels=tuple(channels),
        layers_per_block=layers_per_block,
        down_block_types=down,
        up_block_types=up,
        norm_num_groups=norm_num_groups,
        num_class_embeds=NUM_CLASSES,
    )


def load_digits(path: str | Path, image_size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [-1, 1] with shape (N, 1, S, S) and labels (N,), from ``digits.npz``.

    Bilinear upsampling of the 0..16 intensity grid: the diffusion model and the
    FID classifier must see the same preprocessing, so both call this.
    """
    with np.load(path) as data:
        images = torch.from_numpy(data["images"].astype(np.float32) / 16.0)[:, None]
        labels = torch.from_numpy(data["labels"].astype(np.int64))
    if image_size != images.shape[-1]:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return images.clamp(0, 1) * 2 - 1, labels


def load_unet(name: str = MODEL_NAME) -> Any:
    """The trained UNet from ``models/<name>`` (raises ModelMissingError before ``dvc pull``)."""
    from diffusers import UNet2DModel

    from engine.models import model_path

    unet = UNet2DModel.from_pretrained(model_path(name, must_contain="config.json"), low_cpu_mem_usage=False)
    unet.eval()
    return unet
