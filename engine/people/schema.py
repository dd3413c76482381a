"""mediapipe Pose's 33 landmarks: names, index and the bones drawn (the pose schema)."""

from __future__ import annotations

# In mediapipe's index order ("left" is the subject's left).
LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARKS)}

HEAD_POINTS = list(range(0, 11))  # nose, eyes, ears, mouth
L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 11, 12, 23, 24

# Bones drawn for the skeleton overlay (pairs of landmark names).
SKELETON: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("left_wrist", "left_index"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("right_wrist", "right_index"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ("nose", "left_eye"), ("nose", "right_eye"),
)

# Columns of one person's landmarks in one frame, as :class:`engine.people.pose.PeoplePose`
# returns them: image pixels (x, y), mediapipe's relative depth scaled like x, visibility,
# and mediapipe's metric world landmarks (metres, origin between the hips).
FIELDS = ("x", "y", "z", "visibility", "x_world", "y_world", "z_world")
