"""``DDIMGMMScheduler``: DDIM with a moment-matched Gaussian-mixture reverse kernel.

A subclass of diffusers' ``DDIMScheduler``: the deterministic part of a step
(predicted x0, direction to x_t, sigma_t(eta)) is DDIM's own ``step``, called with
zero variance noise so that it returns the kernel's mean mu_t.  A degenerate mixture
(K = 1 or offset scale 0) calls DDIM's ``step`` as it is, so it reproduces DDIM bit
for bit, generator included.  A proper mixture then adds, per sample, the offset
delta_c of a uniformly chosen component c and Gaussian noise with the component's
diagonal variance ``max(sigma_t^2 - reduction_c, 0)``.

``offset_units`` says what the offset scale ``s`` is measured in:

* ``"absolute"``: an offset has length ``s`` in the D-dimensional space of one sample,
  at every step.
* ``"sigma"``: an offset has length ``s * sigma_t^DDPM`` with
  ``sigma_t^DDPM = sqrt((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev))``, the
  standard deviation of the DDPM posterior q(x_{t-1} | x_t, x0) for this step (DDIM's
  sigma at eta = 1), whatever eta the step runs at.  It vanishes at the last step.

``kernel="gaussian"`` is the control: the mixture's parameters are drawn as usual,
but the step adds isotropic Gaussian noise whose total variance equals the
mixture's, instead of the mixture.  If it does as well as the mixture, the
mixture's gain is injected noise, not its shape.

Open choices (see docs/gmm_ddim.md): one D x K offset matrix per step shared by the
whole batch (each sample draws its own component); offsets are added at every step
and at eta = 0; random draws per step are: offset matrix, component indices, then
the Gaussian noise (eta > 0, or always for the control).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from diffusers.configuration_utils import register_to_config
from diffusers.schedulers.scheduling_ddim import DDIMScheduler, DDIMSchedulerOutput
from diffusers.utils.torch_utils import randn_tensor

from engine.diffusion.offsets import COVARIANCE_MODES, VARIANTS, build_mixture, random_directions

OFFSET_UNITS = ("absolute", "sigma")
KERNELS = ("mixture", "gaussian")


@dataclass
class DDIMGMMSchedulerOutput(DDIMSchedulerOutput):
    """DDIM's output plus the chosen components (None for a degenerate mixture)."""

    components: torch.Tensor | None = None


class DDIMGMMScheduler(DDIMScheduler):
    """DDIM whose reverse kernel is a K-component Gaussian mixture (arXiv 2311.04938)."""

    @register_to_config
    def __init__(
        self,
        num_components: int = 8,
        offset_scale: float = 1.0,
        variant: Literal["rand", "ortho", "ortho-vub"] = "ortho-vub",
        share_offsets: bool = False,
        covariance: Literal["shared", "per_component"] = "shared",
        offset_units: Literal["absolute", "sigma"] = "absolute",
        kernel: Literal["mixture", "gaussian"] = "mixture",
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas: np.ndarray | list[float] | None = None,
        clip_sample: bool = True,
        set_alpha_to_one: bool = True,
        steps_offset: int = 0,
        prediction_type: Literal["epsilon", "sample", "v_prediction"] = "epsilon",
        thresholding: bool = False,
        dynamic_thresholding_ratio: float = 0.995,
        clip_sample_range: float = 1.0,
        sample_max_value: float = 1.0,
        timestep_spacing: Literal["leading", "trailing", "linspace"] = "leading",
        rescale_betas_zero_snr: bool = False,
    ):
        if int(num_components) < 1:
            raise ValueError("num_components must be at least 1")
        if offset_scale < 0:
            raise ValueError("offset_scale must be non-negative")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}")
        if covariance not in COVARIANCE_MODES:
            raise ValueError(f"covariance must be one of {COVARIANCE_MODES}")
        if offset_units not in OFFSET_UNITS:
            raise ValueError(f"offset_units must be one of {OFFSET_UNITS}")
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}")
        super().__init__(
            num_train_timesteps=num_train_timesteps,
            beta_start=beta_start,
            beta_end=beta_end,
            beta_schedule=beta_schedule,
            trained_betas=trained_betas,
            clip_sample=clip_sample,
            set_alpha_to_one=set_alpha_to_one,
            steps_offset=steps_offset,
            prediction_type=prediction_type,
            thresholding=thresholding,
            dynamic_thresholding_ratio=dynamic_thresholding_ratio,
            clip_sample_range=clip_sample_range,
            sample_max_value=sample_max_value,
            timestep_spacing=timestep_spacing,
            rescale_betas_zero_snr=rescale_betas_zero_snr,
        )
        self._shared_directions: torch.Tensor | None = None

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """DDIM's timesteps; also forgets the shared offsets so each run draws its own."""
        super().set_timesteps(num_inference_steps, device)
        self._shared_directions = None

    @property
    def is_degenerate(self) -> bool:
        """True when every offset is zero: the kernel is exactly DDIM's Gaussian."""
        return int(self.config.num_components) == 1 or float(self.config.offset_scale) == 0.0

    def offset_length(self, timestep: int) -> float:
        """The offset scale of this step in absolute units (``s``, or ``s * sigma_t^DDPM``)."""
        s = float(self.config.offset_scale)
        if self.config.offset_units == "absolute":
            return s
        prev_timestep = int(timestep) - self.config.num_train_timesteps // self.num_inference_steps
        return s * float(self._get_variance(int(timestep), prev_timestep)) ** 0.5

    def _directions(self, dim: int, generator: torch.Generator | None) -> torch.Tensor:
        if self.config.share_offsets and self._shared_directions is not None:
            if self._shared_directions.shape[1] == dim:
                return self._shared_directions
        directions = random_directions(dim, int(self.config.num_components), self.config.variant, generator)
        if self.config.share_offsets:
            self._shared_directions = directions
        return directions

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int,
        sample: torch.Tensor,
        eta: float = 0.0,
        use_clipped_model_output: bool = False,
        generator: torch.Generator | None = None,
        variance_noise: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> DDIMGMMSchedulerOutput | tuple:
        """One reverse step x_t -> x_{t-1}; same signature and outputs as ``DDIMScheduler.step``."""
        if isinstance(generator, list):
            raise ValueError("DDIMGMMScheduler takes one torch.Generator, not a list")
        if self.is_degenerate:
            # delta_k = 0 and Delta_k = 0: DDIM's Gaussian, same generator consumption.
            out = super().step(model_output, timestep, sample, eta, use_clipped_model_output, generator, variance_noise)
            prev_sample, components = out.prev_sample, None
        else:
            if variance_noise is not None and generator is not None:
                raise ValueError("Cannot pass both generator and variance_noise")
            # DDIM's step with zero noise is the kernel's mean mu_t (std_dev_t * 0 added).
            zero = torch.zeros_like(sample) if eta > 0 else None
            out = super().step(model_output, timestep, sample, eta, use_clipped_model_output, None, zero)
            timestep = int(timestep)
            prev_timestep = timestep - self.config.num_train_timesteps // self.num_inference_steps
            sigma2 = float(eta**2 * self._get_variance(timestep, prev_timestep))
            prev_sample, components = self._add_kernel(
                out.prev_sample, sigma2, self.offset_length(timestep), eta, generator, variance_noise
            )
        if not return_dict:
            return (prev_sample, out.pred_original_sample)
        return DDIMGMMSchedulerOutput(
            prev_sample=prev_sample, pred_original_sample=out.pred_original_sample, components=components
        )

    def _add_kernel(
        self,
        mean: torch.Tensor,
        sigma2: float,
        length: float,
        eta: float,
        generator: torch.Generator | None,
        variance_noise: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw x_{t-1} from sum_k pi_k N(mean + delta_k, diag(max(sigma^2 - reduction_k, 0))),
        or, for the control kernel, from N(mean, v I) with the mixture's total variance D v."""
        batch = mean.shape[0]
        dim = int(np.prod(mean.shape[1:]))
        k = int(self.config.num_components)
        directions = self._directions(dim, generator)
        params = build_mixture(directions, length, self.config.variant, self.config.covariance)
        gen_device = generator.device if generator is not None else torch.device("cpu")
        components = torch.randint(0, k, (batch,), generator=generator, device=gen_device).to(mean.device)
        comp_var = (sigma2 - params.variance_reduction).clamp_min(0.0)  # (K, D)
        gaussian = self.config.kernel == "gaussian"
        if not gaussian and eta <= 0:
            return mean + params.offsets.to(device=mean.device, dtype=mean.dtype)[components].reshape(mean.shape), components
        if variance_noise is None:
            variance_noise = randn_tensor(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        if gaussian:
            # trace of the mixture covariance: sum_k pi_k (tr Sigma_k + |delta_k|^2), spread evenly
            total = float((params.priors[:, None] * (comp_var + params.offsets.square())).sum())
            return mean + (total / dim) ** 0.5 * variance_noise, components
        offsets = params.offsets.to(device=mean.device, dtype=mean.dtype)[components].reshape(mean.shape)
        comp_std = comp_var.sqrt().to(device=mean.device, dtype=mean.dtype)[components].reshape(mean.shape)
        return mean + offsets + comp_std * variance_noise, components
