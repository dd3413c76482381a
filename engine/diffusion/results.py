"""The benchmark's stored results (``bench/gmm_ddim_results.json``) as tidy frames and a chart.

``bench/gmm_ddim.py`` writes the file (every run per seed, and mean and SD over
seeds); the page reads it, so a viewer sees measured quality next to the pictures
without anything being sampled for the chart.  One chart function serves both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from engine.paths import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "gmm_ddim_results.json"
GOAL_RESULTS = REPO_ROOT / "bench" / "gmm_ddim_goal.json"  # the goal check, n = 2000 (its own FID levels)
GOAL_N8000_RESULTS = REPO_ROOT / "bench" / "gmm_ddim_goal_n8000.json"  # the trained model again, n = 8000
METRICS = {"fid": "classifier FID", "fd_pca": "Frechet distance, PCA-50 pixels"}
MODEL_TITLES = {"trained": "trained model", "exact": "exact model", "exact-uncond": "exact model, unconditional"}
KEY = ("model", "sampler", "variant", "K", "s", "units", "eta", "steps")
MIN_PAIRED_SEEDS = 5  # a paired margin needs this many seeds both samplers ran

# The fixed settings the benchmark runs at every step count (and the page highlights).
GMM_SETTINGS = {
    "absolute": {"variant": "ortho", "K": 8, "s": 1.0},
    "sigma": {"variant": "ortho", "K": 16, "s": 8.0},
}


def series_label(row: dict[str, Any]) -> str:
    """One short legend label per sampler setting (the legend, not the lines, carries the names)."""
    sampler = row["sampler"]
    if sampler == "ddpm":
        return "DDPM"
    if sampler == "ddim":
        return f"DDIM eta {row['eta']:g}"
    unit = "σ" if row["units"] == "sigma" else ""
    setting = f"{row['variant']} K={int(row['K'])} s={row['s']:g}{unit}"
    if sampler == "noise":
        return f"DDIM eta {row['eta']:g} + noise matched to {setting}"
    return f"GMM {setting} eta {row['eta']:g}"


def is_fixed_setting(row: dict[str, Any]) -> bool:
    """Baselines, and mixtures at ``GMM_SETTINGS`` (the sweep's other settings stay out of the chart)."""
    if row["sampler"] not in ("gmm", "noise"):
        return True
    cfg = GMM_SETTINGS.get(row["units"])
    return bool(cfg) and row["eta"] == 0.0 and all(row[k] == v for k, v in cfg.items())


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and SD (ddof 1) over seeds of every metric, one row per setting."""
    df = pd.DataFrame(runs)
    keys = [k for k in KEY if k in df]
    out = []
    for values, group in df.groupby(keys, dropna=False, sort=True):
        row = {k: (None if pd.isna(v) else getattr(v, "item", lambda: v)()) for k, v in zip(keys, values)}
        row["seeds"] = int(group["seed"].nunique())
        row["n"] = int(group["n"].iloc[0])
        for m in (*METRICS, "acc", "sec_per_sample"):
            if m in group and group[m].notna().any():
                row[f"{m}_mean"] = round(float(group[m].mean()), 4)
                row[f"{m}_sd"] = round(float(group[m].std(ddof=1)) if len(group) > 1 else 0.0, 4)
        out.append(row)
    return out


def load(path: str | Path = RESULTS) -> dict[str, Any] | None:
    """The stored results, or None when the benchmark has not been run."""
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def tidy(results: dict[str, Any]) -> pd.DataFrame:
    """Long frame: one row per model, series, steps and metric, with mean, SD and band."""
    rows = []
    for r in results["summary"]:
        if r["sampler"] == "real" or not is_fixed_setting(r):
            continue
        for m, title in METRICS.items():
            if f"{m}_mean" not in r:
                continue
            mean, sd = r[f"{m}_mean"], r[f"{m}_sd"]
            rows.append(
                {
                    "model": MODEL_TITLES.get(r["model"], r["model"]),
                    "series": series_label(r),
                    "steps": int(r["steps"]),
                    "metric": title,
                    "mean": mean,
                    "sd": sd,
                    "low": max(mean - sd, 1e-3),
                    "high": mean + sd,
                }
            )
    return pd.DataFrame(rows)


def floor(results: dict[str, Any]) -> dict[str, float]:
    """Real-data floor per metric: held-out real digits against the rest (mean over seeds)."""
    for r in results["summary"]:
        if r["sampler"] == "real":
            return {METRICS[m]: r[f"{m}_mean"] for m in METRICS}
    return {}


def _colour(domain: list[str], legend: Any) -> Any:
    import altair as alt

    return alt.Color("series:N", scale=alt.Scale(domain=domain, scheme="tableau10"), legend=legend)


def _domain(results: dict[str, Any], series: list[str] | None) -> tuple[pd.DataFrame, list[str]]:
    df = tidy(results)
    if series:
        df = df[df["series"].isin(series)]
    return df, sorted(df["series"].unique())


def _panel(part: pd.DataFrame, title: list[str], metric: str, colour: Any, floor_value: float | None,
           steps: int | None, width: int | str) -> Any:
    """One metric on one model: seed means with SD bars, the floor, the slider's step count."""
    import altair as alt

    x = alt.X("steps:Q", scale=alt.Scale(type="log"), title="reverse steps", axis=alt.Axis(values=sorted(part["steps"].unique())))
    base = alt.Chart(part)
    layers = [
        base.mark_line(point=True).encode(
            x=x, y=alt.Y("mean:Q", scale=alt.Scale(type="log"), title=metric), color=colour,
            tooltip=["series", "steps", alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("sd:Q", format=".2f")],
        ),
        base.mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=colour),
    ]
    if floor_value is not None:
        layers.append(alt.Chart(pd.DataFrame({"floor": [floor_value]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="floor:Q"))
    if steps is not None:
        layers.append(alt.Chart(pd.DataFrame({"steps": [steps]})).mark_rule(color="black", opacity=0.35).encode(x=x))
        hit = part[part["steps"] == steps]
        if not hit.empty:
            layers.append(alt.Chart(hit).mark_point(size=140, filled=True, opacity=0.9).encode(x=x, y="mean:Q", color=colour))
    # two short title lines: one long line would widen the chart past its plot (fit-x counts titles)
    return alt.layer(*layers).properties(title=alt.TitleParams(title, anchor="start"), width=width, height=200)


def model_chart(results: dict[str, Any], model: str, steps: int | None = None, series: list[str] | None = None,
                width: int | str = "container") -> Any | None:
    """Quality against steps on one model (a ``MODEL_TITLES`` key): one panel per metric, stacked.

    Lines are seed means, bars the seed SD; the dashed line is the real-data floor;
    ``steps`` draws a rule and enlarged points at the slider's step count; ``series``
    (legend labels) restricts the lines shown.  No legend (``legend_chart`` draws the one
    all models share, with the same colours), so the page can give each model a column
    that the chart fits (``width="container"``); None where the model has no runs.
    """
    import altair as alt

    df, domain = _domain(results, series)
    colour = _colour(domain, None)
    base_floor = floor(results)
    title = MODEL_TITLES[model]
    panels = [
        _panel(part, [title, metric], metric, colour, base_floor.get(metric), steps, width)
        for metric in METRICS.values()
        if not (part := df[(df["metric"] == metric) & (df["model"] == title)]).empty
    ]
    if not panels:
        return None
    stacked = alt.vconcat(*panels)
    if width == "container":  # a vconcat of layers is padded, not fitted, unless told: fit-x keeps axes in the column
        stacked = stacked.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    return stacked


def legend_chart(results: dict[str, Any], series: list[str] | None = None, width: int | str = "container") -> Any:
    """The series' colours as a legend alone (an invisible mark per series), for under the
    models' charts.  Names live in the legend only, so no label can overlap another."""
    import altair as alt

    _, domain = _domain(results, series)
    legend = alt.Legend(orient="top", columns=1, labelLimit=400, title=None, symbolOpacity=1)  # one column: fits a laptop
    alone = alt.Chart(pd.DataFrame({"series": domain})).mark_point(opacity=0, filled=True).encode(
        color=_colour(domain, legend)).properties(width=width, height=1, view=alt.ViewBackground(strokeWidth=0))
    # on its own, sized by padding: fitted, the 1-px view would squeeze the legend out of sight
    return alone.properties(autosize=alt.AutoSizeParams(type="pad")) if width == "container" else alone


def chart(results: dict[str, Any], steps: int | None = None, series: list[str] | None = None) -> Any:
    """Every model's ``model_chart`` side by side at a fixed width, the legend under them
    (the benchmark's HTML file; the page lays the same charts out in columns)."""
    import altair as alt

    columns = [c for m in MODEL_TITLES if (c := model_chart(results, m, steps, series, width=260)) is not None]
    return alt.vconcat(alt.hconcat(*columns), legend_chart(results, series, width=260 * len(columns)))


def find(results: dict[str, Any], **match: Any) -> dict[str, Any] | None:
    """The summary row whose fields equal ``match`` (absent fields must be None)."""
    for r in results["summary"]:
        if all(r.get(k) == match.get(k) for k in KEY):
            return r
    return None


def per_seed(results: dict[str, Any], row: dict[str, Any], metric: str) -> dict[int, float]:
    """The runs behind summary ``row``: ``{seed: metric}``."""
    return {r["seed"]: r[metric] for r in results.get("runs", [])
            if all(r.get(k) == row.get(k) for k in KEY) and r.get(metric) is not None}  # fmt: skip


def paired_margin(a: dict[int, float], b: dict[int, float]) -> float | None:
    """Mean over seeds of ``a - b`` in units of its seed SD (ddof 1), on the seeds both ran.

    The samplers share x_T at a seed, so most of a run's FID noise (which draws of x_T,
    how they fall against the real digits) is common to the pair and cancels in the
    difference; the unpaired margin counts it twice.  None below ``MIN_PAIRED_SEEDS``
    shared seeds: the SD of three differences is itself too noisy to divide by (on the
    trained model at 3 steps, seeds 0-2 gave 17 SDs, ten seeds 1.6)."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < MIN_PAIRED_SEEDS:
        return None
    d = pd.Series([a[k] - b[k] for k in seeds])
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        return 0.0 if mean == 0 else float("inf") if mean > 0 else float("-inf")
    return mean / sd


def comparison(results: dict[str, Any], model: str, units: str, steps: int, metric: str = "fid") -> dict[str, Any] | None:
    """DDIM eta 0, GMM-DDIM at the fixed setting of ``units`` and its noise control at ``steps``.

    ``margin_*`` is the difference of seed means in units of the SD of a difference of
    two single-seed runs, sqrt(sd_a^2 + sd_b^2): more than 3 is a difference seed
    noise does not explain, even were the runs independent.  ``paired_margin_*``
    (:func:`paired_margin`, None without per-seed runs) uses that they are not: the same
    seed starts every sampler from the same x_T.  None when the benchmark did not run
    that setting.
    """
    cfg = GMM_SETTINGS[units]
    mix = dict(model=model, variant=cfg["variant"], K=cfg["K"], s=cfg["s"], units=units, eta=0.0, steps=steps)
    ddim = find(results, model=model, sampler="ddim", eta=0.0, steps=steps)
    gmm = find(results, sampler="gmm", **mix)
    noise = find(results, sampler="noise", **mix)
    if not (ddim and gmm and noise):
        return None

    def margin(a: dict, b: dict) -> float:
        spread = (a[f"{metric}_sd"] ** 2 + b[f"{metric}_sd"] ** 2) ** 0.5
        diff = a[f"{metric}_mean"] - b[f"{metric}_mean"]
        return float("inf") if spread == 0 and diff > 0 else diff / max(spread, 1e-12)

    seeds = {name: per_seed(results, row, metric) for name, row in (("ddim", ddim), ("gmm", gmm), ("noise", noise))}
    return {
        "ddim": ddim, "gmm": gmm, "noise": noise, "metric": metric,
        "margin_vs_ddim": margin(ddim, gmm), "margin_vs_noise": margin(noise, gmm),
        "paired_margin_vs_ddim": paired_margin(seeds["ddim"], seeds["gmm"]),
        "paired_margin_vs_noise": paired_margin(seeds["noise"], seeds["gmm"]),
    }  # fmt: skip


def verdict(cmp: dict[str, Any]) -> str:
    """Plain sentences: does the mixture beat DDIM, and does it beat plain noise of the same variance?

    The word follows the paired margin where there is one (same x_T per seed), and the
    unpaired margin is given beside it."""
    m = cmp["metric"]

    def fmt(r: dict) -> str:
        return f"{r[f'{m}_mean']:.1f} ± {r[f'{m}_sd']:.1f}"

    def word(unpaired: float, paired: float | None) -> str:
        margin = unpaired if paired is None else paired
        unit = "seed SDs" if paired is None else "seed SDs of the same-seed difference"
        aside = "" if paired is None else f"; unpaired {unpaired:+.1f}"
        if margin > 3:
            return f"better, by {margin:.1f} {unit}{aside}"
        if margin < -3:
            return f"worse, by {-margin:.1f} {unit}{aside}"
        return f"no different within seed noise ({margin:+.1f} {unit}{aside})"

    name = "FID" if m == "fid" else "PCA Frechet distance"
    return (
        f"{name}: DDIM eta 0 {fmt(cmp['ddim'])}, GMM-DDIM {fmt(cmp['gmm'])}, matched noise {fmt(cmp['noise'])} "
        f"(mean ± SD over {cmp['gmm']['seeds']} seeds, n = {cmp['gmm']['n']}). "
        f"GMM-DDIM against DDIM: {word(cmp['margin_vs_ddim'], cmp['paired_margin_vs_ddim'])}; against the "
        f"matched-noise control: {word(cmp['margin_vs_noise'], cmp['paired_margin_vs_noise'])}."
    )
