"""Errors that carry a sentence meant for the user.

Pages and the CLI show ``str(err)`` as it is, so every message must be one plain
sentence that says what went wrong and what to do, with no path to raw data in it.
"""


# What the user is told when something other than an EngineError fails (a bug, a decoder
# raising on a file nobody foresaw): the pages and the CLI say it instead of a traceback.
UNEXPECTED = (
    "Something went wrong while processing this video and nothing of it was kept; "
    "try another file, or tell the lab's administrator if it happens again."
)


class EngineError(Exception):
    """Base class: an expected failure with a user-facing message."""


class InputError(EngineError):
    """The user's input (video, image, parameter) cannot be processed."""


class ModelMissingError(EngineError):
    """Weights or data tracked by DVC are not present in the working tree."""
