"""``python -m engine sample``: draw a grid of digits with DDPM, DDIM or GMM-DDIM.

Registration only builds the parser; torch and diffusers are imported inside the
command so ``python -m engine --help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="sample digits with DDPM, DDIM or GMM-DDIM into a PNG grid")
    p.add_argument(
        "--sampler", default="gmm", help="gmm, noise (DDIM + Gaussian noise of the mixture's variance), ddim or ddpm"
    )
    p.add_argument(
        "--model",
        default="trained",
        help="trained (the UNet), exact (the training set's ideal denoiser) or exact-uncond (ignores --label)",
    )
    p.add_argument("--steps", type=int, default=10, help="reverse steps, 1..1000 (default 10)")
    p.add_argument("--components", type=int, default=8, help="mixture components K (default 8)")
    p.add_argument("--scale", type=float, default=1.0, help="offset scale s (default 1.0)")
    p.add_argument(
        "--variant", default="ortho-vub", help="rand, ortho, ortho-vub; a trailing * shares offsets across steps"
    )
    p.add_argument("--units", default="absolute", help="offset units: absolute, or sigma (s times the step's DDPM sigma_t)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta in [0, 1] (default 0)")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None, help="class 0..9; default cycles through all ten")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("-o", "--output", default="grid.png", help="PNG file to write")
    p.set_defaults(func=_cmd_sample)


def _cmd_sample(args: argparse.Namespace) -> int:
    from engine.diffusion.sampling import MODELS, SamplerSpec

    spec = SamplerSpec(args.sampler, args.steps, args.components, args.scale, args.variant, args.eta, args.units).validate()
    if args.model not in MODELS:
        raise InputError(f"The model must be one of {', '.join(MODELS)}, not {args.model!r}.")
    if not 1 <= args.n <= 4096:
        raise InputError(f"The number of samples must be between 1 and 4096, not {args.n}.")
    if args.label is not None and not 0 <= args.label <= 9:
        raise InputError(f"The class label must be a digit from 0 to 9, not {args.label}.")
    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise InputError("The output file must end in .png.")

    import torch

    from engine.diffusion.sampling import grid, load_model, png_bytes, sample

    if args.threads:
        torch.set_num_threads(args.threads)
    unet = load_model(args.model)
    labels = [args.label] * args.n if args.label is not None else [i % 10 for i in range(args.n)]
    result = sample(unet, spec, labels, args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png_bytes(grid(result.images, ncol=min(10, args.n) if args.label is None else 8)))
    print(f"{spec.label}: {args.n} samples in {result.seconds:.2f}s ({result.seconds_per_sample * 1000:.1f} ms/sample) -> {out}")
    return 0
