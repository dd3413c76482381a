"""Train the class-conditional digits UNet (the ``train_diffusion`` DVC stage).

``python -m engine.diffusion.train --data data/diffusion/digits.npz --out models/gmm_ddim_digits``
reads its settings from the ``diffusion:`` section of ``params.yaml`` (flags
override them).  Training stops at ``max_steps`` or after ``max_minutes`` of wall
time, whichever comes first, so it always fits the CPU budget; an exponential
moving average of the weights is what gets saved, because EMA weights give visibly
cleaner few-step samples at no cost.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from engine.diffusion.model import build_unet, load_digits
from engine.diffusion.params import stage_params, stage_parser

DEFAULTS: dict[str, Any] = {
    "image_size": 16,
    "channels": [16, 32, 32],
    "layers_per_block": 1,
    "batch_size": 128,
    "lr": 2e-3,
    "max_steps": 3000,
    "max_minutes": 10.0,
    "ema_decay": 0.995,
    "seed": 0,
    "num_train_timesteps": 1000,
    "threads": 1,
}


def read_params(path: str | Path = "params.yaml", section: str = "diffusion") -> dict[str, Any]:
    """The ``diffusion:`` settings of params.yaml merged over the defaults."""
    return stage_params(path, section, DEFAULTS)


def train(
    data: str | Path,
    out: str | Path,
    params: dict[str, Any],
    log: Any = print,
) -> dict[str, Any]:
    """Fit epsilon-prediction on the DDPM forward process; save the EMA UNet to ``out``."""
    from diffusers import DDPMScheduler

    torch.manual_seed(int(params["seed"]))
    torch.set_num_threads(int(params["threads"]))
    images, labels = load_digits(data, int(params["image_size"]))
    unet = build_unet(int(params["image_size"]), tuple(params["channels"]), int(params["layers_per_block"]))
    ema = copy.deepcopy(unet).requires_grad_(False)
    noise_sched = DDPMScheduler(num_train_timesteps=int(params["num_train_timesteps"]))
    opt = torch.optim.AdamW(unet.parameters(), lr=float(params["lr"]), weight_decay=0.0)
    max_steps = int(params["max_steps"])
    budget_s = 60.0 * float(params["max_minutes"])
    deadline = time.monotonic() + budget_s
    base_lr = float(params["lr"])
    n, bs, decay = len(images), int(params["batch_size"]), float(params["ema_decay"])
    start = time.monotonic()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    step, loss_avg, loads = 0, None, [os.getloadavg()[0]]
    while step < max_steps and time.monotonic() < deadline:
        idx = torch.randint(0, n, (bs,))
        x0, y = images[idx], labels[idx]
        noise = torch.randn_like(x0)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (bs,))
        xt = noise_sched.add_noise(x0, noise, t)
        loss = torch.nn.functional.mse_loss(unet(xt, t, class_labels=y).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        # warm-up then cosine decay over whichever budget (steps or minutes) runs out first
        progress = max(step / max_steps, (time.monotonic() - start) / budget_s)
        for group in opt.param_groups:
            group["lr"] = base_lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        opt.step()
        with torch.no_grad():
            d = min(decay, (1 + step) / (10 + step))
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.lerp_(p, 1 - d)
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        if step % 100 == 0:
            loads.append(os.getloadavg()[0])
            log(f"step {step} loss {loss_avg:.4f} ({time.monotonic() - start:.0f}s, load {loads[-1]:.2f})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ema.save_pretrained(out)
    meta = {
        "steps": step,
        "loss_ema": loss_avg,
        "seconds": round(time.monotonic() - start, 1),
        "stopped_by": "max_steps" if step >= max_steps else "max_minutes",
        "started_at": started_at,
        # the 1-minute load average sampled every 100 steps: the wall-clock cap makes the
        # step count depend on how busy the shared machine was
        "load_avg_1min": {"mean": round(sum(loads) / len(loads), 2), "min": min(loads), "max": max(loads)},
        "torch": torch.__version__,
        "params": params,
        "data": "scikit-learn digits (1797 images, 8x8 upsampled bilinearly to 16x16)",
    }
    (out / "train_meta.json").write_text(json.dumps(meta, indent=2))
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--out", default="models/gmm_ddim_digits")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--max-minutes", type=float)
    args = parser.parse_args(argv)
    params = read_params(args.params)
    if args.max_steps is not None:
        params["max_steps"] = args.max_steps
    if args.max_minutes is not None:
        params["max_minutes"] = args.max_minutes
    meta = train(args.data, args.out, params)
    print(json.dumps({k: meta[k] for k in ("steps", "loss_ema", "seconds")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
