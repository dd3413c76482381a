"""The live (webcam) session: a workflow that assembles the de-identification and
kinematics capabilities into a causal, real-time, fail-closed pass.

Modules, one job each (threads and what they share: ``docs/live.md``):

- ``worker``: the newest-frame worker every live stage runs on;
- ``detectors``: the per-frame and background face detectors;
- ``policy``: the per-frame protection policy, a pure function;
- ``pose``: the Pose worker's job, angle labels, the live chart's data;
- ``task``: a motor task run live (Hands worker job, live count, analysis at STOP);
- ``overlay``: placeholder, labels, skeleton, a task's guidance and count;
- ``recorder``: the covered recording;
- ``session``: one stream's state and its exports;
- ``buffers``: thread-safe ring buffer and latency statistics for the page;
- ``deidentifier``: ``LiveDeidentifier``, the assembled pass;
- ``webrtc``: the streamlit-webrtc adapter.
"""

from engine.live.deidentifier import LiveDeidentifier
from engine.live.detectors import live_centerface
from engine.live.pose import CHART_SECONDS, JOINT_CHOICES, angles_from_poses
from engine.live.session import LiveResult
from engine.live.task import LIVE_TASKS
from engine.live.webrtc import WebrtcStream

__all__ = ["CHART_SECONDS", "JOINT_CHOICES", "LIVE_TASKS", "LiveDeidentifier", "LiveResult", "WebrtcStream", "angles_from_poses",
           "live_centerface"]
