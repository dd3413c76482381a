"""``DDIMGMMScheduler``: DDIM with a moment-matched Gaussian-mixture reverse kernel.

The deterministic part of a step (predicted x0, direction to x_t, sigma_t(eta)) is
DDIM's to the letter: the methods are borrowed from diffusers' ``DDIMScheduler`` so
that a degenerate mixture (K = 1 or offset scale 0) reproduces it bit for bit, with
the generator consumed in the same order.  A proper mixture then adds, per sample,
the offset delta_c of a uniformly chosen component c and Gaussian noise with the
component's diagonal variance ``max(sigma_t^2 - reduction_c, 0)``.

Open choices (see docs/gmm_ddim.md): one D x K offset matrix per step shared by
the whole batch (each sample draws its own component); offsets are absolute
(length ``s`` in the D-dimensional space of one sample, not scaled by sigma_t);
they are added at every step including the last one and at eta = 0; random
draws per step are: offset matrix, component indices, then (eta > 0) the noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_ddim import DDIMScheduler, betas_for_alpha_bar, rescale_zero_terminal_snr
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from engine.diffusion.offsets import COVARIANCE_MODES, VARIANTS, build_mixture, random_directions


@dataclass
class DDIMGMMSchedulerOutput(BaseOutput):
    """Same fields as diffusers' ``DDIMSchedulerOutput``, plus the chosen components."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor | None = None
    components: torch.Tensor | None = None


class DDIMGMMScheduler(SchedulerMixin, ConfigMixin):
    """DDIM whose reverse kernel is a K-component Gaussian mixture (arXiv 2311.04938)."""

    order = 1

    @register_to_config
    def __init__(
        self,
        num_components: int = 8,
        offset_scale: float = 1.0,
        variant: Literal["rand", "ortho", "ortho-vub"] = "ortho-vub",
        share_offsets: bool = False,
        covariance: Literal["shared", "per_component"] = "shared",
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
        if trained_betas is not None:
            self.betas = torch.tensor(trained_betas, dtype=torch.float32)
        elif beta_schedule == "linear":
            self.betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
        elif beta_schedule == "scaled_linear":
            self.betas = torch.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float32) ** 2
        elif beta_schedule == "squaredcos_cap_v2":
            self.betas = betas_for_alpha_bar(num_train_timesteps)
        else:
            raise NotImplementedError(f"{beta_schedule} is not implemented for {self.__class__}")
        if rescale_betas_zero_snr:
            self.betas = rescale_zero_terminal_snr(self.betas)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.final_alpha_cumprod = torch.tensor(1.0) if set_alpha_to_one else self.alphas_cumprod[0]
        self.init_noise_sigma = 1.0
        self.num_inference_steps = None
        self.timesteps = torch.from_numpy(np.arange(0, num_train_timesteps)[::-1].copy().astype(np.int64))
        self._shared_directions: torch.Tensor | None = None

    # DDIM's own bookkeeping, reused verbatim so the Gaussian part is identical.
    scale_model_input = DDIMScheduler.scale_model_input
    _get_variance = DDIMScheduler._get_variance
    _threshold_sample = DDIMScheduler._threshold_sample
    add_noise = DDIMScheduler.add_noise

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """DDIM's timesteps; also forgets the shared offsets so each run draws its own."""
        DDIMScheduler.set_timesteps(self, num_inference_steps, device)
        self._shared_directions = None

    @property
    def is_degenerate(self) -> bool:
        """True when every offset is zero: the kernel is exactly DDIM's Gaussian."""
        return int(self.config.num_components) == 1 or float(self.config.offset_scale) == 0.0

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
        if self.num_inference_steps is None:
            raise ValueError("Number of inference steps is 'None': run 'set_timesteps' first")
        if isinstance(generator, list):
            raise ValueError("DDIMGMMScheduler takes one torch.Generator, not a list")
        timestep = int(timestep)
        prev_timestep = timestep - self.config.num_train_timesteps // self.num_inference_steps
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.alphas_cumprod[prev_timestep] if prev_timestep >= 0 else self.final_alpha_cumprod
        beta_prod_t = 1 - alpha_prod_t

        if self.config.prediction_type == "epsilon":
            pred_original_sample = (sample - beta_prod_t ** (0.5) * model_output) / alpha_prod_t ** (0.5)
            pred_epsilon = model_output
        elif self.config.prediction_type == "sample":
            pred_original_sample = model_output
            pred_epsilon = (sample - alpha_prod_t ** (0.5) * pred_original_sample) / beta_prod_t ** (0.5)
        elif self.config.prediction_type == "v_prediction":
            pred_original_sample = (alpha_prod_t**0.5) * sample - (beta_prod_t**0.5) * model_output
            pred_epsilon = (alpha_prod_t**0.5) * model_output + (beta_prod_t**0.5) * sample
        else:
            raise ValueError(f"prediction_type {self.config.prediction_type} is not supported")

        if self.config.thresholding:
            pred_original_sample = self._threshold_sample(pred_original_sample)
        elif self.config.clip_sample:
            pred_original_sample = pred_original_sample.clamp(
                -self.config.clip_sample_range, self.config.clip_sample_range
            )

        variance = self._get_variance(timestep, prev_timestep)
        std_dev_t = eta * variance ** (0.5)
        if use_clipped_model_output:
            pred_epsilon = (sample - alpha_prod_t ** (0.5) * pred_original_sample) / beta_prod_t ** (0.5)
        pred_sample_direction = (1 - alpha_prod_t_prev - std_dev_t**2) ** (0.5) * pred_epsilon
        prev_sample = alpha_prod_t_prev ** (0.5) * pred_original_sample + pred_sample_direction

        components = None
        if self.is_degenerate:
            # delta_k = 0 and Delta_k = 0: DDIM's Gaussian, same generator consumption.
            if eta > 0:
                if variance_noise is not None and generator is not None:
                    raise ValueError("Cannot pass both generator and variance_noise")
                if variance_noise is None:
                    variance_noise = randn_tensor(
                        model_output.shape, generator=generator, device=model_output.device, dtype=model_output.dtype
                    )
                prev_sample = prev_sample + std_dev_t * variance_noise
        else:
            prev_sample, components = self._add_mixture(
                prev_sample, float(std_dev_t) ** 2, eta, generator, variance_noise
            )

        if not return_dict:
            return (prev_sample, pred_original_sample)
        return DDIMGMMSchedulerOutput(
            prev_sample=prev_sample, pred_original_sample=pred_original_sample, components=components
        )

    def _add_mixture(
        self,
        mean: torch.Tensor,
        sigma2: float,
        eta: float,
        generator: torch.Generator | None,
        variance_noise: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw x_{t-1} from sum_k pi_k N(mean + delta_k, diag(max(sigma^2 - reduction_k, 0)))."""
        batch = mean.shape[0]
        dim = int(np.prod(mean.shape[1:]))
        k = int(self.config.num_components)
        directions = self._directions(dim, generator)
        params = build_mixture(directions, float(self.config.offset_scale), self.config.variant, self.config.covariance)
        gen_device = generator.device if generator is not None else torch.device("cpu")
        components = torch.randint(0, k, (batch,), generator=generator, device=gen_device).to(mean.device)
        offsets = params.offsets.to(device=mean.device, dtype=mean.dtype)[components].reshape(mean.shape)
        out = mean + offsets
        if eta > 0:
            comp_var = (sigma2 - params.variance_reduction).clamp_min(0.0)
            comp_std = comp_var.sqrt().to(device=mean.device, dtype=mean.dtype)[components].reshape(mean.shape)
            if variance_noise is not None and generator is not None:
                raise ValueError("Cannot pass both generator and variance_noise")
            if variance_noise is None:
                variance_noise = randn_tensor(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            out = out + comp_std * variance_noise
        return out, components

    def __len__(self) -> int:
        return self.config.num_train_timesteps
