"""CLI of the kinematics capability (placeholder until its work item lands)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    pass
