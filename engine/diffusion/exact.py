"""The exact-score reference model: the ideal denoiser of the training set.

Treat the N training digits as the data distribution itself (an empirical
distribution, one Dirac per image).  Then q(x_t | x_i) = N(sqrt(abar_t) x_i, (1 - abar_t) I)
and the posterior over which image generated x_t is a softmax, so

    E[x0 | x_t] = sum_i w_i x_i,    w = softmax_i( -|x_t - sqrt(abar_t) x_i|^2 / (2 (1 - abar_t)) )

is known in closed form; the epsilon it implies, (x_t - sqrt(abar_t) E[x0 | x_t]) / sqrt(1 - abar_t),
is the exact score of the noised empirical distribution.  Conditioned on a class,
the sum runs over that class's images only.

A sampler driven by this model has no model error at all: whatever it does wrong is
the sampler's (discretisation, injected noise), which is what a benchmark of
samplers needs as its reference.  Its perfect samples are training images, so its
FID against the training set goes to the real-data floor.

The module mimics the part of ``UNet2DModel`` that the sampling loop uses:
``model(x, t, class_labels=...).sample`` and ``model.config.sample_size`` /
``in_channels`` / ``num_train_timesteps``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch
from diffusers.models.unets.unet_2d import UNet2DOutput

from engine.diffusion.model import NUM_CLASSES, load_digits


class ExactDenoiser(torch.nn.Module):
    """Epsilon prediction of the exact posterior mean under the empirical training distribution."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, alphas_cumprod: torch.Tensor, conditional: bool = True
    ):
        super().__init__()
        self.conditional = conditional  # False: class labels are ignored (the whole training set)
        if images.ndim != 4 or images.shape[0] != labels.shape[0]:
            raise ValueError("images must be (N, C, H, W) with one label per image")
        n, c, h, w = images.shape
        # float64: at small t the logits are ~1e6 apart and float32 distances lose the winner
        self.register_buffer("flat", images.reshape(n, -1).double())
        self.register_buffer("sq_norm", self.flat.square().sum(1))
        self.register_buffer("labels", labels.long())
        self.register_buffer("alphas_cumprod", alphas_cumprod.double())
        self.image_shape = (c, h, w)
        self.config = SimpleNamespace(
            sample_size=h, in_channels=c, out_channels=c, num_train_timesteps=len(alphas_cumprod)
        )

    @classmethod
    def from_digits(
        cls, path: str | Path, image_size: int = 16, num_train_timesteps: int = 1000, conditional: bool = True
    ) -> "ExactDenoiser":
        """The reference for the digits model: same data, preprocessing and noise schedule as training."""
        from diffusers import DDPMScheduler

        images, labels = load_digits(path, image_size)
        abar = DDPMScheduler(num_train_timesteps=num_train_timesteps).alphas_cumprod
        return cls(images, labels, abar, conditional)

    @torch.no_grad()
    def posterior_mean(
        self, sample: torch.Tensor, timestep: torch.Tensor | int, class_labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """E[x0 | x_t] (same shape as ``sample``), optionally given the class."""
        b = sample.shape[0]
        x = sample.reshape(b, -1).double()
        t = torch.as_tensor(timestep, device=x.device).long().reshape(-1).expand(b)
        abar = self.alphas_cumprod[t][:, None]  # (B, 1)
        # -|x - sqrt(abar) x_i|^2 / (2 (1 - abar)), dropping |x|^2 (constant per row)
        logits = (2 * abar.sqrt() * (x @ self.flat.T) - abar * self.sq_norm[None]) / (2 * (1 - abar))
        if class_labels is not None and self.conditional:
            labels = torch.as_tensor(class_labels, device=x.device).long().reshape(-1).expand(b)
            if labels.min() < 0 or labels.max() >= NUM_CLASSES:
                raise ValueError(f"class labels must be in 0..{NUM_CLASSES - 1}")
            logits = logits.masked_fill(labels[:, None] != self.labels[None], float("-inf"))
        weights = torch.softmax(logits, dim=1)
        return (weights @ self.flat).reshape(sample.shape).to(sample.dtype)

    @torch.no_grad()
    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | int,
        class_labels: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> UNet2DOutput | tuple:
        """The epsilon that makes DDIM's predicted x0 equal the exact posterior mean."""
        b = sample.shape[0]
        t = torch.as_tensor(timestep, device=sample.device).long().reshape(-1).expand(b)
        abar = self.alphas_cumprod[t].reshape(b, *([1] * (sample.ndim - 1)))
        x0 = self.posterior_mean(sample, t, class_labels).double()
        eps = ((sample.double() - abar.sqrt() * x0) / (1 - abar).sqrt()).to(sample.dtype)
        return UNet2DOutput(sample=eps) if return_dict else (eps,)


def load_exact(image_size: int = 16, conditional: bool = True) -> ExactDenoiser:
    """The exact-score model of ``data/diffusion/digits.npz`` (raises ModelMissingError before ``dvc pull``)."""
    from engine.errors import ModelMissingError
    from engine.models import MISSING_HINT
    from engine.paths import data_dir

    path = data_dir() / "diffusion" / "digits.npz"
    if not path.exists():
        raise ModelMissingError(f"The digits data set is not in data/. {MISSING_HINT}")
    return ExactDenoiser.from_digits(path, image_size, conditional=conditional)
