"""Workflows: the places where a pass is assembled from several capabilities.

Capabilities (``engine.deid``, ``engine.kinematics``, ``engine.diffusion``) never import
each other; a job that needs two of them in one decoding pass (de-identify while taking
hand landmarks from the originals, say) is wired here, and pages, the CLI and Ray tasks
call it.  See docs/architecture.md.
"""
