"""``python -m engine``: one entry point, one subcommand per capability.

Each capability registers its own subcommand from ``engine/<capability>/cli.py`` so
this file stays a dispatcher.  Registration must stay cheap: heavy imports (torch,
mediapipe) happen inside the command functions, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from typing import Sequence

from engine.errors import UNEXPECTED, EngineError

CAPABILITIES = (
    "engine.deid.cli", "engine.deid.review_cli", "engine.kinematics.cli", "engine.kinematics.tasks.cli",
    "engine.diffusion.cli", "engine.batch.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine",
        description="De-identification, kinematics and diffusion sampling for clinical movement labs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    samples = sub.add_parser("samples", help="list the sample clips pulled with DVC")
    samples.set_defaults(func=_cmd_samples)
    for module in CAPABILITIES:
        importlib.import_module(module).register(sub)
    return parser


def _cmd_samples(args: argparse.Namespace) -> int:
    from engine.samples import list_samples

    samples = list_samples()
    if not samples:
        print("No samples found in data/samples: run `dvc pull`.", file=sys.stderr)
        return 1
    for s in samples.values():
        print(f"{s.name}\t{s.path}\t{s.licence}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001  (one sentence, not a traceback; ENGINE_TRACEBACK=1 shows it)
        print(f"error: {UNEXPECTED} ({type(err).__name__})", file=sys.stderr)
        if os.environ.get("ENGINE_TRACEBACK"):
            traceback.print_exc()
        return 1
