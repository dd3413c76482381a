"""Motor tasks of the movement-disorder exam (MDS-UPDRS part III 3.4-3.8, 3.15, 3.17).

One module per task turns a landmark series into a 1-D signal; ``cycles`` finds the
cycles and their features, ``tremor`` the tremor's frequency and amplitude, ``quality``
the verdict, and ``analysis.analyse_task`` ties them together.  Pure functions over
arrays: no video, no mediapipe, no Streamlit (the landmarks come from
``engine.kinematics.hand_landmarks`` or ``engine.kinematics.landmarks``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    name: str
    title: str
    source: str  # "hands" (mediapipe Hands) or "pose" (mediapipe Pose)
    kind: str  # "cycles" or "tremor"
    instruction: str


def _specs() -> dict[str, TaskSpec]:
    from engine.kinematics.tasks import (finger_tapping, hand_movements, leg_agility, pronation_supination,
                                         toe_tapping, tremor)

    spec = lambda name, m: TaskSpec(name, m.TITLE, m.SOURCE, "cycles", m.INSTRUCTION)  # noqa: E731
    return {
        "finger-tapping": spec("finger-tapping", finger_tapping),
        "hand-movements": spec("hand-movements", hand_movements),
        "pronation-supination": spec("pronation-supination", pronation_supination),
        "toe-tapping": spec("toe-tapping", toe_tapping),
        "leg-agility": spec("leg-agility", leg_agility),
        "postural-tremor": TaskSpec("postural-tremor", tremor.TITLE_POSTURAL, "hands", "tremor", tremor.INSTRUCTION_POSTURAL),
        "rest-tremor": TaskSpec("rest-tremor", tremor.TITLE_REST, "hands", "tremor", tremor.INSTRUCTION_REST),
    }


TASK_NAMES = ("finger-tapping", "hand-movements", "pronation-supination", "toe-tapping", "leg-agility",
              "postural-tremor", "rest-tremor")


def task_spec(name: str) -> TaskSpec:
    from engine.errors import InputError

    specs = _specs()
    if name not in specs:
        raise InputError(f"Unknown task {name!r}; choose one of: {', '.join(TASK_NAMES)}.")
    return specs[name]


def task_module(name: str):
    """The module of cycle task ``name`` (``signal``, ``UNIT``, ``MIN_AMPLITUDE``): the one place
    the signal of a task is defined, for the offline analysis and the live counter alike."""
    import importlib

    return importlib.import_module(f"engine.kinematics.tasks.{task_spec(name).name.replace('-', '_')}")
