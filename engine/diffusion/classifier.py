"""A small CNN digits classifier: the feature space of the benchmark's FID.

Inception features mean nothing on 16x16 greyscale digits, so FID is computed on the
128-d penultimate layer of a classifier trained on the same data (the ``train_classifier``
DVC stage writes it to ``models/digits_classifier``); its held-out accuracy is saved
next to the weights.  ``python -m engine.diffusion.classifier --data ... --out ...``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.diffusion.model import NUM_CLASSES, load_digits
from engine.diffusion.params import stage_params, stage_parser

CLASSIFIER_NAME = "digits_classifier"
WEIGHTS = "classifier.pt"
DEFAULTS: dict[str, Any] = {"image_size": 16, "epochs": 30, "lr": 3e-3, "seed": 0, "threads": 1}


class DigitsNet(nn.Module):
    """conv-conv-conv -> 128-d features -> 10 logits."""

    def __init__(self, image_size: int = 16, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * (image_size // 4) ** 2, feature_dim), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(feature_dim, NUM_CLASSES)
        self.image_size = image_size

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 1-pixel shifts: the generated digits are not pixel-aligned like the data."""
    dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=generator))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def train_classifier(data: str | Path, out: str | Path, params: dict[str, Any]) -> dict[str, Any]:
    torch.manual_seed(int(params["seed"]))
    torch.set_num_threads(int(params["threads"]))
    gen = torch.Generator().manual_seed(int(params["seed"]))
    images, labels = load_digits(data, int(params["image_size"]))
    perm = torch.randperm(len(images), generator=gen)
    n_val = len(images) // 5
    val, tr = perm[:n_val], perm[n_val:]
    net = DigitsNet(int(params["image_size"]))
    opt = torch.optim.Adam(net.parameters(), lr=float(params["lr"]))
    start = time.monotonic()
    for _ in range(int(params["epochs"])):
        net.train()
        order = tr[torch.randperm(len(tr), generator=gen)]
        for j in range(0, len(order), 64):
            idx = order[j : j + 64]
            loss = nn.functional.cross_entropy(net(_augment(images[idx], gen)), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(images[val]).argmax(1) == labels[val]).float().mean().item()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out / WEIGHTS)
    meta = {"val_accuracy": round(acc, 4), "seconds": round(time.monotonic() - start, 1), "params": params}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return meta


def load_classifier(name: str = CLASSIFIER_NAME) -> DigitsNet:
    """The trained classifier from ``models/<name>`` (raises ModelMissingError before ``dvc pull``)."""
    from engine.models import model_path

    path = model_path(name, must_contain=WEIGHTS)
    meta = json.loads((path / "meta.json").read_text())
    net = DigitsNet(int(meta["params"]["image_size"]))
    net.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))
    net.eval()
    return net


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--out", default="models/digits_classifier")
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args(argv)
    params = stage_params(args.params, "digits_classifier", DEFAULTS)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    print(json.dumps(train_classifier(args.data, args.out, params)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
