"""Fit the identification model of ``skyfence.classify`` on simulated, tracked runs.

Runs: training seeds of the built-in scenarios (jonava-gerbera, vilnius-swarm cut to
1800 s, klaipeda-quadcopter, border-day cut to 3 h) and purpose-built mixes
(``site_mix_toml``: a site-protection kit with hovering quadcopters, crossing drones,
low birds, aircraft, balloons; ``wide_mix_toml``: every target type around a radar of
the lt-east-border deployment).  Each run is simulated, tracked as a live feed and
featurised exactly as the classifier does live; track rows are labelled against the
truth (:func:`skyfence.classify.training.label_tracks`).  A fifth of the runs of each
family is held out for validation: it fits the temperature (calibration) and gives the
figures stored in the file.  Evaluation seeds (``skyfence eval``, the tests) are never
among the seeds used here; the file records every seed it was fitted on.

Usage::

    python scripts/train_classifier.py                   # the shipped parameters
    python scripts/train_classifier.py --quick --out /tmp/params.json
    python scripts/train_classifier.py --tau 20 30 60    # choose tau on validation

Evaluate parameters on held-out seeds (never used in training) instead::

    python scripts/train_classifier.py --evaluate vilnius-swarm --seeds 901 902 \
        --duration 1800 --plot /tmp/vilnius-reliability.png

Runs are cached (``--cache``, default ``.cache/classify``) so that refitting is quick.
A run's cache name carries a digest of the default tracker settings, so a change of
them (the motion model became the IMM) tracks the runs anew; a change of the tracker's
code does not: clear the cache after one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:
    import skyfence  # noqa: F401
except ModuleNotFoundError:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from skyfence.classify.classifier import TrackEvidence, check_tracks
from skyfence.classify.config import ClassifierConfig
from skyfence.classify.evaluate import ClassificationReport, evaluate_classification
from skyfence.classify.features import FEATURE_NAMES, FEATURES_VERSION, FeatureSettings
from skyfence.classify.identity import NONE
from skyfence.classify.model import (
    ClassifierParams,
    class_quantile_edges,
    fit_additive,
    fit_temperature,
    load_params,
)
from skyfence.classify.training import (
    classify_run,
    label_tracks,
    run_scenario,
    scenario_from_toml,
    site_mix_toml,
    wide_mix_toml,
)
from skyfence.eval.harness import chain_classifier_config
from skyfence.model.schema import CLASSIFY_CLASSES
from skyfence.sim.scenario import FORECAST_SIGMA_MPS, load_scenario
from skyfence.track.config import TrackerConfig

#: the sub-classes the model scores, their output class, and the target types in each
SUBCLASSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("drone_fixed_wing", "drone_fixed_wing", ("gerbera", "shahed")),
    ("drone_rotary", "drone_rotary", ("quadcopter",)),
    ("bird", "bird", ("bird",)),
    ("flock", "bird", ("flock",)),
    ("light_aircraft", "aircraft", ("light_aircraft",)),
    ("airliner", "aircraft", ("airliner",)),
    ("balloon", "balloon", ("balloon",)),
    ("clutter", "clutter", ()),
)
SUB_NAMES = tuple(n for n, _, _ in SUBCLASSES)
SUB_OF = np.array([CLASSIFY_CLASSES.index(c) for _, c, _ in SUBCLASSES], np.int64)
#: least prior probability of a class (a class absent from the runs still exists)
PRIOR_FLOOR = 1e-3
#: edges always used for the share features (their values pile up at 0 and 1)
SHARE_EDGES = (1e-3, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.999)
FIXED_EDGES = {"hover_share": SHARE_EDGES, "update_share": SHARE_EDGES, "rf_share": SHARE_EDGES,
               "heading_unsteadiness": (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)}

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "skyfence" / "classify" / "data" / "params.json"
#: the default tracker settings the runs are tracked with, in the cache names
TRACKER_DIGEST = hashlib.sha256(TrackerConfig().model_dump_json().encode()).hexdigest()[:8]
TRACK_KEYS = ("time", "track_id", "status", "lat_deg", "lon_deg", "alt_m", "vel_east_mps",
              "vel_north_mps", "vel_up_mps", "sigma_east_m", "sigma_north_m", "sigma_up_m",
              "n_updates", "sensor_id", "rcs_dbsm", "id_hint")


@dataclass(frozen=True)
class RunSpec:
    """One training run: a scenario family, seed and duration (None: the scenario's)."""

    family: str
    seed: int
    duration_s: float | None

    @property
    def key(self) -> str:
        d = "full" if self.duration_s is None else f"{int(self.duration_s)}"
        return f"{self.family}-{self.seed}-{d}-{TRACKER_DIGEST}"

    def scenario(self) -> Any:
        if self.family == "site-mix":
            return scenario_from_toml(site_mix_toml(self.seed, self.duration_s or 900.0),
                                      self.key)
        if self.family == "wide-mix":
            return scenario_from_toml(wide_mix_toml(self.seed, self.duration_s or 900.0),
                                      self.key)
        return load_scenario(self.family)


def run_specs(quick: bool) -> list[RunSpec]:
    """The training runs.  Seeds: built-ins 101…, mixes 1…; evaluation uses 900… and up."""
    if quick:
        return [RunSpec("site-mix", s, 600.0) for s in range(1, 6)] + \
            [RunSpec("klaipeda-quadcopter", 101, 900.0), RunSpec("vilnius-swarm", 101, 900.0)]
    specs = [RunSpec("jonava-gerbera", s, None) for s in (101, 102)]
    specs += [RunSpec("vilnius-swarm", s, 1800.0) for s in (101, 102, 103)]
    specs += [RunSpec("klaipeda-quadcopter", s, None) for s in (101, 102, 103, 104)]
    specs += [RunSpec("border-day", s, 10_800.0) for s in (101, 102)]
    specs += [RunSpec("site-mix", s, 900.0) for s in range(1, 51)]
    specs += [RunSpec("wide-mix", s, 900.0) for s in range(1, 16)]
    return specs


def is_validation(spec: RunSpec, index_in_family: int) -> bool:
    """Every fifth run of a family (its 5th, 10th, …) is held out for validation; a family
    of fewer than five runs gives its last (if it has two or more)."""
    return (index_in_family + 1) % 5 == 0


# ---------------------------------------------------------------------- runs → cache

def simulate(spec: RunSpec, cache: Path, progress: Any, task: Any) -> Path:
    """Simulate, track and label one run into the cache (unless there already)."""
    path = cache / f"{spec.key}.npz"
    if path.exists():
        return path
    sc = spec.scenario()
    cfg = ClassifierConfig.for_deployment(sc.deployment, sc.scenario.terrain_alt_m)

    def prog(done: float, total: float) -> None:
        progress.update(task, completed=done, total=max(total, 1.0))

    rd = run_scenario(sc, spec.seed, spec.duration_s, config=cfg, progress=prog)
    lab = label_tracks(rd.truth, rd.tracks, rd.origin)
    tracks = {k: rd.tracks[k] for k in TRACK_KEYS}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, **{f"k_{k}": v for k, v in tracks.items()}, batch_sizes=np.asarray(rd.batch_sizes),
        row_class=lab.row_class, row_type=lab.row_type, row_truth_index=lab.row_truth_index,
        truth_ids=lab.truth_ids, truth_class=lab.truth_class, truth_type=lab.truth_type,
        coop_kind=rd.coop_kind,
        config=np.array(cfg.model_dump_json()), origin=np.asarray(rd.origin))
    tmp.replace(path)
    return path


@dataclass
class Run:
    spec: RunSpec
    validation: bool
    X: np.ndarray
    y: np.ndarray          # output class index per row
    ys: np.ndarray         # sub-class index per row
    coop_kind: np.ndarray
    data: dict[str, np.ndarray]


def _row_types(data: dict[str, np.ndarray]) -> np.ndarray:
    """Target type of each row's track (cache files without ``row_type``: the type of the
    target most of the track's rows are associated with)."""
    if "row_type" in data:
        return data["row_type"].astype(str)
    tid, rti = data["k_track_id"], data["row_truth_index"]
    _, inv = np.unique(tid, return_inverse=True)
    inv = inv.ravel()
    best = np.full(inv.max() + 1 if inv.size else 0, -1)
    ok = rti >= 0
    if ok.any():
        pairs, cnt = np.unique(np.stack([inv[ok], rti[ok]], 1), axis=0, return_counts=True)
        pairs = pairs[np.lexsort((-cnt, pairs[:, 0]))]
        first = np.ones(len(pairs), bool)
        first[1:] = pairs[1:, 0] != pairs[:-1, 0]
        best[pairs[first, 0]] = pairs[first, 1]
    tb = best[inv]
    return np.where(tb >= 0, data["truth_type"][np.maximum(tb, 0)], "").astype(str)


def subclass_labels(y: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Sub-class of each row from its output class and target type (a type not listed goes
    to the first sub-class of its class)."""
    first_of = {int(c): i for i, c in reversed(list(enumerate(SUB_OF)))}
    ys = np.array([first_of[int(c)] for c in y], np.int64) if y.size else y.copy()
    for i, (_, cls, types_i) in enumerate(SUBCLASSES):
        if types_i:
            ys[np.isin(types, types_i) & (y == CLASSIFY_CLASSES.index(cls))] = i
    return ys


def featurise(path: Path, spec: RunSpec, validation: bool, settings: FeatureSettings,
              drop_sites: bool = False, drop_wind: bool = False) -> Run:
    """Replay a cached run's track batches through the evidence accumulator (the features
    are cached beside the run, per feature settings).  The classifier is given the run's
    wind forecast (:meth:`~skyfence.sim.scenario.Wind.forecast`, off the true wind by
    ``FORECAST_SIGMA_MPS`` per component).  ``drop_sites`` / ``drop_wind``: as if the
    radars' sites (radial speeds) / the wind were not configured, so that the model
    learns to do without them."""
    z = np.load(path, allow_pickle=False)
    data = {k: z[k] for k in z.files}
    tracks = {k[2:]: data[k] for k in data if k.startswith("k_")}
    # the configuration from the scenario (not the cached one: the config grows keys)
    sc = spec.scenario()
    cfg = chain_classifier_config(sc, spec.seed)
    if drop_sites:
        cfg = cfg.model_copy(update={"sensor_sites": {}})
    if drop_wind:
        cfg = cfg.model_copy(update={"wind": None})
    data["config"] = np.array(cfg.model_dump_json())
    tag = "-".join([f"v{FEATURES_VERSION}", *(f"{v:g}" for v in settings.to_dict().values())]
                   + (["nosites"] if drop_sites else [])
                   + (["nowind"] if drop_wind else [f"wind{FORECAST_SIGMA_MPS:g}"]))
    fpath = path.with_name(f"{path.stem}.features-{tag}.npz")
    if fpath.exists():
        f = np.load(fpath)
        Xs, kinds = [f["X"]], [f["kind"]]
    else:
        ev = TrackEvidence(settings, cfg)
        Xs, kinds = [], []
        lo = 0
        for n in data["batch_sizes"].tolist():
            part = {k: v[lo: lo + n] for k, v in tracks.items()}
            X, _, kind, _ = ev.advance(check_tracks(part))
            Xs.append(X)
            kinds.append(kind)
            lo += n
        np.savez(fpath, X=np.concatenate(Xs), kind=np.concatenate(kinds))
    lut = {c: i for i, c in enumerate(CLASSIFY_CLASSES)}
    y = np.array([lut[str(c)] for c in data["row_class"]], np.int64)
    ys = subclass_labels(y, _row_types(data))
    return Run(spec, validation, np.concatenate(Xs), y, ys, np.concatenate(kinds), data)


def sample_rows(run: Run, rng: np.random.Generator, early: int = 40, late: int = 40,
                clutter_share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Training rows of a run and their weights.

    Every track weighs the same: its first ``early`` rows share half its weight and up to
    ``late`` random later rows the other half (all of it if there are none).  Deleted rows
    are left out, and so are tracks carrying a cooperative identity that are not near any
    target (a spoofed broadcast's phantom track: the identity rule classifies it).  Only a
    ``clutter_share`` of clutter tracks is kept (they are most tracks), weighted up.
    """
    d = run.data
    status = d["k_status"].astype(str)
    use = status != "deleted"
    use &= ~((run.coop_kind != NONE) & (run.y == CLASSIFY_CLASSES.index("clutter")))
    rows = np.flatnonzero(use)
    if rows.size == 0:
        return rows, np.zeros(0)
    tid = d["k_track_id"][rows]
    _, inv, cnt = np.unique(tid, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    order = np.lexsort((d["k_time"][rows], inv))
    starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    rank = np.empty(rows.size, np.int64)
    rank[order] = np.arange(rows.size) - np.repeat(starts, cnt)
    n = cnt[inv]
    is_early = rank < early
    n_early = np.minimum(n, early)
    n_late = n - n_early
    keep_late = ~is_early & (rng.uniform(size=rows.size) < late / np.maximum(n_late, 1))
    w = np.where(is_early, np.where(n_late > 0, 0.5, 1.0) / n_early,
                 0.5 / np.minimum(np.maximum(n_late, 1), late))
    sel = is_early | keep_late
    clutter = run.y[rows] == CLASSIFY_CLASSES.index("clutter")
    keep_track = rng.uniform(size=cnt.size) < clutter_share
    sel &= ~clutter | keep_track[inv]
    w = np.where(clutter, w / clutter_share, w)
    return rows[sel], w[sel]


def build(runs: list[Run], validation: bool, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sampled rows of the training (or validation) runs: features, sub-class, output class
    and weight; every output class present weighs the same in total."""
    Xs, ys, yo, ws = [], [], [], []
    for r in runs:
        if r.validation != validation:
            continue
        rows, w = sample_rows(r, rng)
        Xs.append(r.X[rows])
        ys.append(r.ys[rows])
        yo.append(r.y[rows])
        ws.append(w)
    X, y_sub, y, w = (np.concatenate(v) for v in (Xs, ys, yo, ws))
    cw = np.bincount(y, weights=w, minlength=len(CLASSIFY_CLASSES))
    w = w / np.where(cw > 0, cw, 1.0)[y]
    return X, y_sub, y, w


def priors(runs: list[Run]) -> tuple[np.ndarray, np.ndarray]:
    """Operating priors from the training runs: the class mix of confirmed tracks (each
    counted once) and of all tracks (every track is tentative first); cooperative phantom
    tracks left out; each class at least ``PRIOR_FLOOR``."""
    conf = np.zeros(len(CLASSIFY_CLASSES))
    every = np.zeros(len(CLASSIFY_CLASSES))
    for r in runs:
        if r.validation:
            continue
        d = r.data
        keep = ~((r.coop_kind != NONE) & (r.y == CLASSIFY_CLASSES.index("clutter")))
        tid = d["k_track_id"]
        _, first = np.unique(np.where(keep, tid, -1), return_index=True)
        first = first[keep[first]]
        every += np.bincount(r.y[first], minlength=every.size)
        c = keep & (d["k_status"].astype(str) == "confirmed")
        _, fc = np.unique(np.where(c, tid, -1), return_index=True)
        fc = fc[c[fc]]
        conf += np.bincount(r.y[fc], minlength=conf.size)

    def norm(p: np.ndarray) -> np.ndarray:
        p = np.maximum(p / p.sum(), PRIOR_FLOOR)
        return p / p.sum()

    return norm(conf), norm(every)


def weighted_nll(params: ClassifierParams, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted cross-entropy of the output classes under the training prior."""
    P = params.proba(X, params.training_prior)
    return float(-np.sum(w * np.log(np.maximum(P[np.arange(y.size), y], 1e-300)))
                 / np.sum(w))


def evaluate_runs(params: ClassifierParams, runs: list[Run]) -> dict[str, Any]:
    """Figures of the validation runs with these parameters (cooperative rule applied)."""
    from skyfence.classify.classifier import Classifier

    out: dict[str, Any] = {}
    reports: dict[str, list[ClassificationReport]] = {}
    for r in runs:
        if not r.validation:
            continue
        cfg = ClassifierConfig.model_validate_json(str(r.data["config"]))
        clf = Classifier(params, cfg)
        tracks = {k[2:]: r.data[k] for k in r.data if k.startswith("k_")}
        P = clf.predict(r.X, r.coop_kind, tracks["status"].astype(str) == "tentative")
        best = P.argmax(axis=1)
        tracks["class"] = np.array(CLASSIFY_CLASSES)[best]
        tracks["class_prob"] = P[np.arange(best.size), best]
        truth = {"truth_id": r.data["truth_ids"], "target_class": r.data["truth_class"]}
        # the association of confirmed rows, as evaluation uses it
        ti = np.where(tracks["status"].astype(str) == "confirmed", r.data["row_truth_index"], -1)
        rep = evaluate_classification(truth, tracks, ti, truth_ids=r.data["truth_ids"])
        reports.setdefault(r.spec.family, []).append(rep)
    for fam, reps in sorted(reports.items()):
        p = ClassificationReport.pool(reps)
        out[fam] = {"accuracy_10s": p.accuracy_after, "tracks": p.n_tracks_after,
                    "row_accuracy": p.row_accuracy, "ece": p.ece}
    allp = ClassificationReport.pool([x for v in reports.values() for x in v])
    out["all"] = {"accuracy_10s": allp.accuracy_after, "tracks": allp.n_tracks_after,
                  "row_accuracy": allp.row_accuracy, "ece": allp.ece}
    return out


def evaluate_scenario(name: str, seeds: list[int], duration_s: float | None,
                      params_path: Path | None, plot: Path | None, as_json: bool,
                      console: Console) -> int:
    """Simulate, track and classify held-out seeds of a scenario; print the figures."""
    params = load_params(params_path)
    used = set(params.meta.get("seeds", {}).get(name, []))
    spec_family = name if name in ("site-mix", "wide-mix") else None
    reports, rows = [], []
    cols = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn()]
    with Progress(*cols, console=console) as progress:
        for seed in seeds:
            if seed in used:
                console.print(f"[yellow]seed {seed} of {name} was used in training[/]")
            sc = RunSpec(spec_family, seed, duration_s).scenario() if spec_family else \
                load_scenario(name)
            task = progress.add_task(f"{name} seed {seed}", total=1.0)

            def prog(done: float, total: float, t: Any = task) -> None:
                progress.update(t, completed=done, total=max(total, 1.0))

            t0 = time.perf_counter()
            rd = run_scenario(sc, seed, duration_s, progress=prog, params=params)  # live
            wall = time.perf_counter() - t0
            _, rep = classify_run(sc, rd, params)
            reports.append(rep)
            rows.append({"seed": seed, "accuracy_10s": rep.accuracy_after,
                         "tracks": rep.n_tracks_after, "row_accuracy": rep.row_accuracy,
                         "ece": rep.ece, "track_rows": int(rd.tracks["time"].size),
                         "run_wall_s": round(wall, 1)})
            progress.remove_task(task)
    pooled = ClassificationReport.pool(reports)
    result = {"scenario": name, "duration_s": duration_s, "seeds": rows,
              "pooled": pooled.figures()}
    if plot is not None:
        from skyfence.classify.plot import plot_reliability

        plot_reliability(pooled, plot, title=f"{name}, seeds {', '.join(map(str, seeds))}")
    if as_json:
        print(json.dumps(result, indent=2, default=float))
        return 0
    table = Table(title=f"{name}: held-out seeds"
                        + (f", first {duration_s:g} s" if duration_s else ""))
    for c in ("seed", "accuracy 10 s after confirmation", "tracks", "row accuracy", "ECE"):
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(str(r["seed"]), f"{r['accuracy_10s']:.3f}", str(r["tracks"]),
                      f"{r['row_accuracy']:.3f}", f"{r['ece']:.3f}")
    table.add_row("pooled", f"{pooled.accuracy_after:.3f}", str(pooled.n_tracks_after),
                  f"{pooled.row_accuracy:.3f}", f"{pooled.ece:.3f}")
    console.print(table)
    console.print("tracks 10 s after confirmation (truth rows drone/bird/aircraft × "
                  f"predicted {'/'.join(pooled.coarse_classes)}):")
    console.print(pooled.confusion_after)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="parameter file written")
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "classify",
                    help="directory of cached runs")
    ap.add_argument("--quick", action="store_true", help="a few short runs (smoke test)")
    ap.add_argument("--tau", type=float, nargs="+", default=[30.0],
                    help="forgetting time constants tried, s (best on validation kept)")
    ap.add_argument("--bins", type=int, default=8,
                    help="bins per sub-class and feature (edges: the union over sub-classes)")
    ap.add_argument("--ridge", type=float, default=1e-5)
    ap.add_argument("--smooth", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0, help="row sampling seed")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--evaluate", metavar="SCENARIO",
                    help="evaluate --params on held-out seeds of a built-in scenario (or "
                         "site-mix, wide-mix) instead of training")
    ap.add_argument("--params", type=Path, default=None,
                    help="parameter file evaluated (default: the shipped one)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[901, 902],
                    help="evaluation seeds")
    ap.add_argument("--duration", type=float, default=None, help="evaluation cut, s")
    ap.add_argument("--plot", type=Path, default=None, help="reliability PNG (evaluation)")
    args = ap.parse_args(argv)
    console = Console(stderr=args.json)
    # spoofing warnings of the runs are expected (klaipeda-quadcopter has a liar)
    logging.getLogger("skyfence.classify").setLevel(logging.ERROR)
    if args.evaluate:
        return evaluate_scenario(args.evaluate, args.seeds, args.duration, args.params,
                                 args.plot, args.json, console)
    args.cache.mkdir(parents=True, exist_ok=True)
    specs = run_specs(args.quick)
    fam_index: dict[str, int] = {}
    val: list[bool] = []
    for s in specs:
        i = fam_index.get(s.family, 0)
        fam_index[s.family] = i + 1
        val.append(is_validation(s, i))
    for fam, n in fam_index.items():  # every family with 2+ runs gives one to validation
        idx = [i for i, s in enumerate(specs) if s.family == fam]
        if n >= 2 and not any(val[i] for i in idx):
            val[idx[-1]] = True

    started = time.perf_counter()
    cols = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn()]
    paths = []
    with Progress(*cols, console=console) as progress:
        total = progress.add_task("runs", total=len(specs))
        for s in specs:
            task = progress.add_task(f"  {s.key}", total=1.0)
            paths.append(simulate(s, args.cache, progress, task))
            progress.remove_task(task)
            progress.advance(total)

    rng = np.random.default_rng(args.seed)
    best: tuple[float, ClassifierParams, dict[str, Any]] | None = None
    for tau in args.tau:
        settings = FeatureSettings(tau_s=tau)
        with Progress(*cols, console=console) as progress:
            task = progress.add_task(f"features (tau {tau:g} s)", total=len(specs))
            runs = []
            for i, (s, p, v) in enumerate(zip(specs, paths, val, strict=True)):
                # a fifth of the training runs without radar sites (robustness)
                runs.append(featurise(p, s, v, settings, drop_sites=not v and i % 5 == 2,
                                      drop_wind=not v and i % 5 == 3))
                progress.advance(task)
        X, ys, y, w = build(runs, False, rng)
        Xv, ysv, yv, wv = build(runs, True, rng)
        edges = [class_quantile_edges(X[:, j], ys, w, args.bins,
                                      FIXED_EDGES.get(FEATURE_NAMES[j], ()))
                 for j in range(X.shape[1])]
        with Progress(*cols, console=console) as progress:
            task = progress.add_task(f"fit (tau {tau:g} s, {y.size:,} rows)",
                                     total=args.max_iter)
            W, b, info = fit_additive(X, ys, w, edges, len(SUB_NAMES), ridge=args.ridge,
                                      smooth=args.smooth, max_iter=args.max_iter,
                                      progress=lambda i, t=task: progress.update(t, completed=i))
        uniform = np.full(len(CLASSIFY_CLASSES), 1.0 / len(CLASSIFY_CLASSES))
        prior, prior_tent = priors(runs)
        raw = ClassifierParams(CLASSIFY_CLASSES, SUB_NAMES, SUB_OF, FEATURE_NAMES, tuple(edges),
                               tuple(W), b, uniform, prior, prior_tent, settings)
        T = fit_temperature(raw.logits(Xv), ysv, wv)
        params = raw.replace(weights=tuple(x / T for x in W), bias=b / T)
        nll = weighted_nll(params, Xv, yv, wv)
        figs = evaluate_runs(params, runs)
        console.print(f"tau {tau:g} s: validation log-loss {nll:.4f}, temperature {T:.3f}, "
                      f"fit {info}")
        stats = {"tau_s": tau, "validation_log_loss": nll, "temperature": T, "fit": info,
                 "train_rows": int(y.size), "validation_rows": int(yv.size),
                 "train_subclass_rows": {c: int((ys == i).sum())
                                         for i, c in enumerate(SUB_NAMES)},
                 "validation": figs}
        if best is None or nll < best[0]:
            best = (nll, params, stats)
    assert best is not None
    _, params, stats = best
    seeds: dict[str, list[int]] = {}
    durations: dict[str, float | None] = {}
    for s in specs:
        seeds.setdefault(s.family, []).append(s.seed)
        durations[s.family] = s.duration_s
    meta = {
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "script": "scripts/train_classifier.py",
        "seeds": seeds,
        "validation_seeds": {f: [s.seed for s, v in zip(specs, val, strict=True)
                                 if v and s.family == f] for f in seeds},
        "durations_s": durations,
        "bins": args.bins, "ridge": args.ridge, "smooth": args.smooth,
        **stats,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    params.replace(meta=meta).save(args.out)
    if args.json:
        print(json.dumps(meta, indent=2))
    else:
        table = Table(title=f"validation (tau {meta['tau_s']:g} s) → {args.out}")
        for c in ("family", "accuracy 10 s after confirmation", "tracks", "row accuracy",
                  "ECE"):
            table.add_column(c)
        for fam, f in meta["validation"].items():
            table.add_row(fam, f"{f['accuracy_10s']:.3f}", str(f["tracks"]),
                          f"{f['row_accuracy']:.3f}", f"{f['ece']:.3f}")
        console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
