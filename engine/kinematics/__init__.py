"""Clinical kinematics from video (see docs/kinematics.md).

landmarks (mediapipe Pose, tracks, person choice) -> cleaning (gaps, Hampel,
zero-phase Butterworth) -> angles, gait, tremor, scaling -> pipeline (one result)
-> export (CSV, JSON, TRC, MOT), charts (Altair), report (one-file HTML).
Heavy imports (mediapipe) happen only when landmarks are extracted.
"""
