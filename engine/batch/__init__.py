"""Whole-archive batch processing: de-identification (and kinematics) of every video in
a folder, as Ray tasks on this machine or on a Ray cluster.

- :mod:`engine.batch.manifest`: the CSV index of a batch (one row per input), atomic rewrites.
- :mod:`engine.batch.tasks`: what one worker does with one video (no Ray imports).
- :mod:`engine.batch.runner`: starts or joins Ray, submits the tasks, collects results.
- :mod:`engine.batch.aggregate`: the combined tidy tables over all videos.
- :mod:`engine.batch.charts`: Altair charts of a batch (for the page).
- :mod:`engine.batch.cli`: ``python -m engine batch``.

See ``docs/batch.md``.
"""
