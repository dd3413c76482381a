"""The whole analysis from a landmark table to every number the page and files show.

Kept separate from extraction so that the same landmarks (from the standalone
extractor or from the de-identification pass) can be re-analysed instantly with
another cut-off, gap length, height or person.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.kinematics.angles import JOINTS, all_angles, profile_view, angular_velocity, range_of_motion
from engine.kinematics.angles3d import SAGITTAL_TOLERANCE_DEG, view_verdict
from engine.kinematics.cleaning import CleanSeries, CleanSettings, check_cutoff, clean
from engine.kinematics.gait import cycle_normalised, gait_cycles, gait_events, gait_measures, symmetry_index
from engine.kinematics.landmarks import LandmarkTable, select_person, track_summary
from engine.kinematics.lifting import angles_3d
from engine.kinematics.quality import quality_flags, turning_frames, unwrap_segments, usable
from engine.kinematics.scaling import metres_per_pixel
from engine.kinematics.tremor import tremor_measures
from engine.kinematics.view import estimate_view_angle


@dataclass
class Settings:
    """Everything a user can change about the analysis."""

    height_m: float | None = None
    person: int | None = None
    cutoff_hz: float = 6.0
    order: int = 4
    min_visibility: float = 0.5
    max_gap_s: float = 0.33
    interpolation: str = "linear"
    tremor_band: tuple[float, float] = (3.0, 12.0)

    def clean_settings(self) -> CleanSettings:
        return CleanSettings(
            min_visibility=self.min_visibility, max_gap_s=self.max_gap_s, interpolation=self.interpolation,
            cutoff_hz=self.cutoff_hz, order=self.order,
        )


@dataclass
class KinematicsResult:
    table: LandmarkTable
    settings: Settings
    person: int
    tracks: pd.DataFrame
    series: CleanSeries
    facing: np.ndarray
    angles: pd.DataFrame  # frame, time_s, then one column per angle (degrees); flagged-unusable values removed
    quality: pd.DataFrame  # frame, time_s, then each angle's per-frame flag (engine.kinematics.quality.FLAGS)
    angles_raw: pd.DataFrame  # as ``angles``, with the flagged values kept (for angles.csv)
    views: pd.DataFrame  # frame, time_s, view_angle_deg (0 = side view), view (sagittal/oblique/frontal/unknown)
    velocities: pd.DataFrame  # frame, time_s, then deg/s
    rom: pd.DataFrame
    events: pd.DataFrame
    cycles: pd.DataFrame
    cycle_curves: pd.DataFrame  # side, joint, pct, mean, sd, n_cycles
    gait: dict
    tremor: pd.DataFrame
    tremor_psd: pd.DataFrame
    m_per_px: float | None
    summary: dict = field(default_factory=dict)

    @property
    def angle_names(self) -> list[str]:
        return [c for c in self.angles.columns if c not in ("frame", "time_s")]

    def angles_long(self) -> pd.DataFrame:
        """Tidy angles (frame, time_s, angle, degrees, interpolated) for charts."""
        return self.angles.melt(id_vars=["frame", "time_s"], var_name="angle", value_name="degrees")


def _json_safe(x):
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else round(float(x), 6)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _records(df: pd.DataFrame) -> list[dict]:
    return _json_safe(df.to_dict(orient="records"))


def _quality_pct(flags: pd.DataFrame) -> dict:
    """Per angle, the share of frames (%) with each flag other than ok."""
    out = {}
    for c in flags.columns:
        share = flags[c].value_counts(normalize=True) * 100.0
        out[c] = {k: float(v) for k, v in share.items() if k != "ok"}
    return out


def _view_summary(view_deg: np.ndarray, view: np.ndarray) -> dict:
    """Median view angle and the share of frames with each verdict (%)."""
    seen = view != "unknown"
    out = {"median_view_angle_deg": float(np.nanmedian(view_deg)) if seen.any() else None,
           "sagittal_tolerance_deg": SAGITTAL_TOLERANCE_DEG}
    for v in ("sagittal", "oblique", "frontal", "unknown"):
        out[f"{v}_pct"] = 100.0 * float(np.mean(view == v)) if view.size else 0.0
    return out


def analyse(table: LandmarkTable, settings: Settings | None = None) -> KinematicsResult:
    """Clean, measure and summarise one person's movement from a landmark table."""
    s = settings or Settings()
    fps = table.fps
    check_cutoff(s.cutoff_hz, fps)
    lo, hi = s.tremor_band
    if not 0 < lo < hi:
        raise InputError("The tremor band must be two increasing positive frequencies, such as 3 and 12 Hz.")
    rows, person = select_person(table, s.person)
    series = clean(rows, table.n_frames, fps, s.clean_settings())
    m_per_px = metres_per_pixel(series.smooth, s.height_m) if s.height_m is not None else None
    ang, facing = all_angles(series.smooth, fps)
    seg_cols = [c for c in ang.columns if c.partition("_")[2] not in JOINTS]
    ang[seg_cols] = unwrap_segments(ang[seg_cols])
    ang = pd.concat([ang, angles_3d(series.smooth, series.world)], axis=1)
    view_deg = estimate_view_angle(series.smooth, series.world, fps)
    view = view_verdict(view_deg)
    swapped = series.swapped if series.swapped is not None else np.zeros(table.n_frames, bool)
    flags = quality_flags(ang, series.interpolated, swapped, turning_frames(facing, fps),
                          body_swapped=series.body_swapped, not_sagittal=np.isin(view, ("oblique", "frontal")))
    raw_ang, ang = ang, usable(ang, flags)
    frame = np.arange(table.n_frames)
    head = pd.DataFrame({"frame": frame, "time_s": frame / fps})
    views = head.assign(view_angle_deg=view_deg, view=view)
    angles = pd.concat([head, ang], axis=1)
    velocities = pd.concat([head, angular_velocity(ang, fps)], axis=1)
    rom = range_of_motion(ang)
    removed = flags.isin(["implausible", "wrapped"]).mean() * 100.0
    rom["flagged_removed_pct"] = rom["angle"].map(removed).fillna(0.0)  # flagged frames left out of the range
    events = gait_events(series.smooth, fps, facing)
    cycles = gait_cycles(events)
    gait = gait_measures(events, fps, series.smooth, facing, m_per_px)
    r = rom.set_index("angle")["range"]
    for j in ("knee", "hip", "ankle"):
        gait["symmetry_index_pct"][f"{j}_rom_deg"] = symmetry_index(r.get(f"left_{j}", np.nan), r.get(f"right_{j}", np.nan))
    tremor, psd = tremor_measures(series.filled, fps, band=s.tremor_band, m_per_px=m_per_px)
    detected = ~np.isnan(series.raw).all(axis=(1, 2))
    profile = profile_view(series.smooth)
    res = KinematicsResult(
        table=table, settings=s, person=person, tracks=track_summary(table), series=series, facing=facing,
        angles=angles, quality=pd.concat([head, flags], axis=1), angles_raw=pd.concat([head, raw_ang], axis=1),
        views=views,
        velocities=velocities, rom=rom, events=events, cycles=cycles,
        cycle_curves=cycle_normalised(angles, cycles), gait=gait,
        tremor=tremor, tremor_psd=psd, m_per_px=m_per_px,
    )
    res.summary = _json_safe(
        {
            "video": {"fps": fps, "n_frames": table.n_frames, "duration_s": table.n_frames / fps,
                      "width": table.width, "height": table.height},
            "person": {"selected": person, "tracks": _records(res.tracks),
                       "frames_detected_pct": 100.0 * detected.mean() if detected.size else 0.0,
                       "frames_interpolated_pct": 100.0 * series.interpolated.any(axis=1).mean() if detected.size else 0.0,
                       "facing_right_pct": 100.0 * (facing > 0).mean() if facing.size else None,
                       "profile_view_pct": 100.0 * profile[detected].mean() if detected.any() else 0.0,
                       "body_swap_corrected_pct": 100.0 * series.body_swapped.mean() if detected.size else 0.0},
            "view": _view_summary(view_deg, view),
            "settings": asdict(s),
            "scale": {"m_per_px": m_per_px, "height_m": s.height_m},
            "range_of_motion_deg": _records(rom),
            "angle_quality_pct": _quality_pct(flags),
            "gait": gait,
            "gait_events": _records(events),
            "tremor": _records(tremor),
            "conventions": ("Sagittal 2-D angles in degrees, Sports2D conventions, kept on frames filmed within "
                            f"{SAGITTAL_TOLERANCE_DEG:.0f} deg of a side view; *_3d: 3-D angles (ISB/OpenSim names) on "
                            "every frame, knee and elbow from the image landmarks with the world landmarks' depth, "
                            "the others from world landmarks; see docs/kinematics.md."),
        }
    )
    return res
