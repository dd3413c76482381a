"""Run a reverse chain with DDPM, DDIM or GMM-DDIM and turn the result into pictures.

Every sampler starts from the same x_T for a given seed (drawn first from the
generator), so pages and benchmarks can compare them side by side.  Timesteps use
``trailing`` spacing for all samplers (the chain starts at t = 999 where x_T really
is N(0, I)); x0 predictions are clipped to [-1, 1] as the pixels were at training.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from engine.errors import InputError

SAMPLERS = ("gmm", "noise", "ddim", "ddpm")
VARIANT_CHOICES = ("rand", "ortho", "ortho-vub", "rand*", "ortho*", "ortho-vub*")
UNITS = ("absolute", "sigma")
MODELS = ("trained", "exact", "exact-uncond")


@dataclass
class SamplerSpec:
    """What the user asked for; ``validate`` turns bad values into one sentence.

    ``sampler="noise"`` is the control: DDIM plus isotropic Gaussian noise of the same
    total variance as the GMM-DDIM mixture with the same settings.
    """

    sampler: str = "gmm"
    steps: int = 10
    components: int = 8
    scale: float = 1.0
    variant: str = "ortho-vub"
    eta: float = 0.0
    units: str = "absolute"

    def validate(self) -> "SamplerSpec":
        if self.sampler not in SAMPLERS:
            raise InputError(f"The sampler must be one of {', '.join(SAMPLERS)}, not {self.sampler!r}.")
        if not 1 <= int(self.steps) <= 1000:
            raise InputError(f"The number of steps must be between 1 and 1000, not {self.steps}.")
        if int(self.components) < 1:
            raise InputError(f"The number of mixture components must be at least 1, not {self.components}.")
        if int(self.components) > 256:
            raise InputError("At most 256 mixture components are supported (one 16x16 image has 256 pixels).")
        if not np.isfinite(self.scale) or self.scale < 0:
            raise InputError(f"The offset scale must be a non-negative number, not {self.scale}.")
        if not np.isfinite(self.eta) or not 0.0 <= self.eta <= 1.0:
            raise InputError(f"eta must be between 0 and 1, not {self.eta}.")
        if self.variant not in VARIANT_CHOICES:
            raise InputError(f"The variant must be one of {', '.join(VARIANT_CHOICES)}, not {self.variant!r}.")
        if self.units not in UNITS:
            raise InputError(f"The offset units must be one of {', '.join(UNITS)}, not {self.units!r}.")
        return self

    @property
    def uses_mixture(self) -> bool:
        return self.sampler in ("gmm", "noise")

    @property
    def label(self) -> str:
        unit = "σ" if self.units == "sigma" else ""
        if self.sampler == "gmm":
            return f"GMM-DDIM {self.variant} K={self.components} s={self.scale:g}{unit} eta={self.eta:g}"
        if self.sampler == "noise":
            return f"DDIM eta={self.eta:g} + noise of GMM K={self.components} s={self.scale:g}{unit}"
        if self.sampler == "ddim":
            return f"DDIM eta={self.eta:g}"
        return "DDPM"


def make_scheduler(spec: SamplerSpec, num_train_timesteps: int = 1000) -> Any:
    """The diffusers scheduler for ``spec`` (timesteps already set)."""
    from diffusers import DDIMScheduler, DDPMScheduler

    from engine.diffusion.scheduler import DDIMGMMScheduler

    spec.validate()
    common = dict(num_train_timesteps=num_train_timesteps, clip_sample=True, timestep_spacing="trailing")
    if spec.sampler == "ddpm":
        sched = DDPMScheduler(**common)
    elif spec.sampler == "ddim":
        sched = DDIMScheduler(**common)
    else:
        sched = DDIMGMMScheduler(
            num_components=int(spec.components),
            offset_scale=float(spec.scale),
            variant=spec.variant.rstrip("*"),
            share_offsets=spec.variant.endswith("*"),
            offset_units=spec.units,
            kernel="gaussian" if spec.sampler == "noise" else "mixture",
            **common,
        )
    sched.set_timesteps(int(spec.steps))
    return sched


def load_model(kind: str = "trained") -> Any:
    """The denoiser the samplers take: the trained UNet or the exact-score reference.

    ``exact-uncond`` is the reference for the whole training set, ignoring the labels
    (the trained UNet is class-conditional only).

    Both raise ``ModelMissingError`` (the ``dvc pull`` sentence) when their files are absent.
    """
    if kind == "trained":
        from engine.diffusion.model import load_unet

        return load_unet()
    if kind in ("exact", "exact-uncond"):
        from engine.diffusion.exact import load_exact

        return load_exact(conditional=kind == "exact")
    raise InputError(f"The model must be one of {', '.join(MODELS)}, not {kind!r}.")


@dataclass
class SampleResult:
    images: torch.Tensor  # (N, 1, H, W) in [-1, 1]
    trajectory: list[torch.Tensor] = field(default_factory=list)  # predicted x0 per step, (N, 1, H, W)
    seconds: float = 0.0

    @property
    def seconds_per_sample(self) -> float:
        return self.seconds / max(1, self.images.shape[0])


@torch.no_grad()
def sample(
    unet: Any,
    spec: SamplerSpec,
    labels: torch.Tensor | list[int],
    seed: int = 0,
    *,
    keep_trajectory: bool = False,
    batch_size: int = 500,
    progress: Callable[[float], None] | None = None,
) -> SampleResult:
    """Draw one image per label; deterministic for a given seed, sampler and settings."""
    spec.validate()
    labels = torch.as_tensor(labels, dtype=torch.long)
    n = int(labels.numel())
    if n < 1:
        raise InputError("Ask for at least one sample.")
    size = int(unet.config.sample_size)
    channels = int(unet.config.in_channels)
    dim = channels * size * size
    if spec.uses_mixture and spec.variant.startswith("ortho") and int(spec.components) > dim:
        raise InputError(f"ORTHO offsets need at most {dim} mixture components for {size}x{size} images.")
    generator = torch.Generator().manual_seed(int(seed))
    x = torch.randn((n, channels, size, size), generator=generator)
    sched = make_scheduler(spec, int(getattr(unet.config, "num_train_timesteps", None) or 1000))
    trajectory: list[torch.Tensor] = []
    start = time.perf_counter()
    total = len(sched.timesteps)
    for i, t in enumerate(sched.timesteps):
        eps = torch.cat(
            [
                unet(x[j : j + batch_size], t.expand(min(batch_size, n - j)), class_labels=labels[j : j + batch_size]).sample
                for j in range(0, n, batch_size)
            ]
        )
        if spec.sampler == "ddpm":
            out = sched.step(eps, t, x, generator=generator)
        else:
            out = sched.step(eps, t, x, eta=float(spec.eta), generator=generator)
        x = out.prev_sample
        if keep_trajectory:
            trajectory.append(out.pred_original_sample.clamp(-1, 1).clone())
        if progress is not None:
            progress((i + 1) / total)
    seconds = time.perf_counter() - start
    return SampleResult(images=x.clamp(-1, 1), trajectory=trajectory, seconds=seconds)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) in [-1, 1] -> (N, H, W) uint8."""
    arr = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
    return arr[:, 0]


def grid(images: torch.Tensor, ncol: int = 8, upscale: int = 4, pad: int = 1) -> np.ndarray:
    """Tile images into one uint8 picture (nearest-neighbour upscaled so digits are legible)."""
    tiles = to_uint8(images)
    n, h, w = tiles.shape
    ncol = max(1, min(ncol, n))
    nrow = -(-n // ncol)
    canvas = np.zeros((nrow * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncol)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = tile
    return np.kron(canvas, np.ones((upscale, upscale), dtype=np.uint8))


def png_bytes(picture: np.ndarray) -> bytes:
    """PNG encoding of a uint8 greyscale picture."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(picture, mode="L").save(buf, format="PNG")
    return buf.getvalue()
