"""Errors that carry a sentence meant for the user.

Pages and the CLI show ``str(err)`` as it is, so every message must be one plain
sentence that says what went wrong and what to do, with no path to raw data in it.
"""


class EngineError(Exception):
    """Base class: an expected failure with a user-facing message."""


class InputError(EngineError):
    """The user's input (video, image, parameter) cannot be processed."""


class ModelMissingError(EngineError):
    """Weights or data tracked by DVC are not present in the working tree."""
