"""Geometry kernels of the airspace engine (private).

* :class:`MapPlane`: a conformal map plane (pyproj's ellipsoidal oblique stereographic)
  with the map image of true north at each point, tabulated.
* :class:`SegmentIndex`: a uniform grid over the segments of a polygon's rings that
  answers, for many points or segments at once and exactly, the nearest boundary point
  and the first/last crossing (numba kernels).
* :class:`Outline`: a territory's side and distance for many points: exact near the
  outline, from precomputed rasters far from it.
* :func:`circles_pass`: points against circles (side, signed distance, time for a
  straight course to reach each), compiled.

Why not shapely for the distances: ``STRtree.query_nearest`` costs ~17 µs per point
against the ~10,000 segments of Lithuania's outline (170 ms for 10,000 tracks) and
``shapely.distance`` to the whole boundary is no faster; the grid index answers points
near the border in about half a microsecond.  Point-in-polygon stays with shapely
(``contains_xy`` on a prepared polygon).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numba import njit
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

__all__ = ["MapPlane", "Outline", "SegmentIndex", "bilinear", "circles_pass",
           "segment_circle_fraction"]

F64 = NDArray[np.float64]

_A = 6_378_137.0                 # WGS84 semi-major axis, m
_E2 = 6.694379990141316e-3       # WGS84 first eccentricity squared
_DLAT_DEG = 1e-4                 # northward step (about 11 m) to find the map's axes


@njit(cache=True, error_model="numpy")
def _bilinear(field, u, v):  # type: ignore[no-untyped-def]
    """Bilinear interpolation of a 2-D field at fractional indices; NaN outside."""
    n = u.size
    out = np.full(n, np.nan)
    nu, nv = field.shape
    for k in range(n):
        a = u[k]
        b = v[k]
        if not (a >= 0.0 and b >= 0.0 and a <= nu - 1 and b <= nv - 1):
            continue
        i = min(int(a), nu - 2) if nu > 1 else 0
        j = min(int(b), nv - 2) if nv > 1 else 0
        fa = a - i
        fb = b - j
        i1 = min(i + 1, nu - 1)
        j1 = min(j + 1, nv - 1)
        out[k] = ((1.0 - fa) * ((1.0 - fb) * field[i, j] + fb * field[i, j1])
                  + fa * ((1.0 - fb) * field[i1, j] + fb * field[i1, j1]))
    return out


def bilinear(field: NDArray[np.floating], u: F64, v: F64) -> F64:
    """``field`` interpolated at fractional indices ``(u, v)`` (NaN outside it)."""
    return _bilinear(field, np.ascontiguousarray(u, dtype=np.float64),
                     np.ascontiguousarray(v, dtype=np.float64))


class MapPlane:
    """An ellipsoidal oblique stereographic projection (conformal) centred on a point.

    Conformal: at every point the map is the true local east/north plane rotated by the
    meridian convergence and scaled by one factor ``k`` (1 at the centre, 1 + ρ²/4R²
    away from it: 1.0006 at 300 km), the same in every direction.  Straight map segments
    between track updates a few hundred metres apart differ from geodesics by far less
    than a millimetre.

    Parameters
    ----------
    lat0_deg, lon0_deg : float
        Centre of the projection, degrees (WGS84).
    """

    def __init__(self, lat0_deg: float, lon0_deg: float) -> None:
        self.lat0_deg = float(lat0_deg)
        self.lon0_deg = float(lon0_deg)
        crs = CRS.from_proj4(f"+proj=stere +lat_0={self.lat0_deg!r} +lon_0={self.lon0_deg!r} "
                             "+k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs")
        self._fwd = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)

    def forward(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[F64, F64]:
        """Map coordinates ``(x, y)`` (metres) of points in degrees; NaN in, NaN out."""
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        x, y = self._fwd.transform(lon, lat)
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        bad = ~(np.isfinite(x) & np.isfinite(y))
        if bad.any():
            x = np.where(bad, np.nan, x)
            y = np.where(bad, np.nan, y)
        return x, y

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        """Latitude and longitude (degrees) of map points."""
        lon, lat = self._inv.transform(np.asarray(x, dtype=np.float64),
                                       np.asarray(y, dtype=np.float64))
        return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)

    def _axes_exact(self, lat_deg: F64, lon_deg: F64, x: F64, y: F64) -> tuple[F64, F64]:
        """Map vector of one metre due north, by a northward step of ``_DLAT_DEG``."""
        lat2 = np.minimum(lat_deg + _DLAT_DEG, 90.0)
        x2, y2 = self.forward(lat2, lon_deg)
        phi = np.radians(lat_deg + 0.5 * _DLAT_DEG)
        s2 = np.sin(phi) ** 2
        meridian_m = _A * (1.0 - _E2) / (1.0 - _E2 * s2) ** 1.5 * np.radians(lat2 - lat_deg)
        return (x2 - x) / meridian_m, (y2 - y) / meridian_m

    def tabulate_axes(self, x0: float, y0: float, x1: float, y1: float,
                      spacing_m: float = 10_000.0) -> None:
        """Tabulate the map's axes on a grid over a map box; :meth:`forward_axes` then
        interpolates them there instead of projecting a second point (bilinear; the
        convergence and the scale vary so smoothly that the error is below 1e-6: 0.2″
        of direction, 1 ppm of scale, on a 10-km grid)."""
        xs = np.arange(x0, x1 + spacing_m, spacing_m)
        ys = np.arange(y0, y1 + spacing_m, spacing_m)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        lat, lon = self.inverse(gx.ravel(), gy.ravel())
        nx, ny = self._axes_exact(lat, lon, gx.ravel(), gy.ravel())
        self._axes_grid = (float(xs[0]), float(ys[0]), float(spacing_m),
                           nx.reshape(gx.shape), ny.reshape(gx.shape))

    def forward_axes(self, lat_deg: F64, lon_deg: F64) -> tuple[F64, F64, F64, F64]:
        """Map coordinates and the map image of true north at each point.

        Returns
        -------
        x, y : ndarray
            Map coordinates, metres.
        nx, ny : ndarray
            The map vector of one metre due north (its length is the scale factor
            ``k``; one metre due east maps to ``(ny, -nx)``, the map being conformal).
        """
        lat_deg = np.asarray(lat_deg, dtype=np.float64)
        lon_deg = np.asarray(lon_deg, dtype=np.float64)
        x, y = self.forward(lat_deg, lon_deg)
        grid = getattr(self, "_axes_grid", None)
        if grid is None:
            nx, ny = self._axes_exact(lat_deg, lon_deg, x, y)
            return x, y, nx, ny
        gx0, gy0, h, fnx, fny = grid
        u = (x - gx0) / h
        v = (y - gy0) / h
        nx = bilinear(fnx, u, v)
        ny = bilinear(fny, u, v)
        bad = ~np.isfinite(nx)
        if bad.any():
            nx[bad], ny[bad] = self._axes_exact(lat_deg[bad], lon_deg[bad], x[bad], y[bad])
        return x, y, nx, ny

    def geometry(self, geom: BaseGeometry) -> BaseGeometry:
        """A lon/lat shapely geometry in map coordinates."""
        def fwd(c: F64) -> F64:
            x, y = self._fwd.transform(c[:, 0], c[:, 1])
            return np.column_stack([x, y])
        return shapely.transform(geom, fwd)


# --------------------------------------------------------------------------------------
# grid index of segments
# --------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _build_cells(ax, ay, bx, by, x0, y0, c, nx, ny):  # type: ignore[no-untyped-def]
    """CSR lists of the segments whose bounding box touches each cell."""
    n = ax.size
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            ptr = np.zeros(nx * ny + 1, dtype=np.int64)
            for k in range(nx * ny):
                ptr[k + 1] = ptr[k] + counts[k]
            fill = ptr[:-1].copy()
            items = np.empty(ptr[-1], dtype=np.int64)
        for s in range(n):
            i0 = int(math.floor((min(ax[s], bx[s]) - x0) / c))
            i1 = int(math.floor((max(ax[s], bx[s]) - x0) / c))
            j0 = int(math.floor((min(ay[s], by[s]) - y0) / c))
            j1 = int(math.floor((max(ay[s], by[s]) - y0) / c))
            i0 = max(i0, 0)
            j0 = max(j0, 0)
            i1 = min(i1, nx - 1)
            j1 = min(j1, ny - 1)
            for i in range(i0, i1 + 1):
                for j in range(j0, j1 + 1):
                    if pass_ == 0:
                        counts[i * ny + j] += 1
                    else:
                        items[fill[i * ny + j]] = s
                        fill[i * ny + j] += 1
    return ptr, items


@njit(cache=True, error_model="numpy")
def _nearest(px, py, x0, y0, c, nx, ny, ptr, items, ax, ay, bx, by, ring0):  # type: ignore[no-untyped-def]
    """Exact nearest point of the indexed segments to each point (ring search)."""
    n = px.size
    out_d = np.full(n, np.nan)
    out_qx = np.full(n, np.nan)
    out_qy = np.full(n, np.nan)
    rmax = max(nx, ny)
    for k in range(n):
        x = px[k]
        y = py[k]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        ci = min(max(int(math.floor((x - x0) / c)), 0), nx - 1)
        cj = min(max(int(math.floor((y - y0) / c)), 0), ny - 1)
        r = ring0[ci, cj]
        best = np.inf                                   # squared distance
        bqx = np.nan
        bqy = np.nan
        while r <= rmax:
            for i in range(max(ci - r, 0), min(ci + r, nx - 1) + 1):
                if i == ci - r or i == ci + r:          # a full row of the ring
                    ja = max(cj - r, 0)
                    jb = min(cj + r, ny - 1)
                    jstep = 1
                else:                                    # its two side cells
                    ja = cj - r
                    jb = cj + r
                    jstep = max(2 * r, 1)
                for j in range(ja, jb + 1, jstep):
                    if j < 0 or j >= ny:
                        continue
                    cell = i * ny + j
                    for m in range(ptr[cell], ptr[cell + 1]):
                        s = items[m]
                        dx = bx[s] - ax[s]
                        dy = by[s] - ay[s]
                        ll = dx * dx + dy * dy
                        t = 0.0
                        if ll > 0.0:
                            t = ((x - ax[s]) * dx + (y - ay[s]) * dy) / ll
                            t = min(max(t, 0.0), 1.0)
                        qx = ax[s] + t * dx
                        qy = ay[s] + t * dy
                        d2 = (x - qx) * (x - qx) + (y - qy) * (y - qy)
                        if d2 < best:
                            best = d2
                            bqx = qx
                            bqy = qy
            # the block of rings 0..r is searched: nothing outside it is nearer than
            # the point's distance to the block's edge (and never nearer than r cells)
            edge = min(x - (x0 + (ci - r) * c), x0 + (ci + r + 1) * c - x,
                       y - (y0 + (cj - r) * c), y0 + (cj + r + 1) * c - y)
            bound = max(edge, r * c)
            if best <= bound * bound:
                break
            r += 1
        out_d[k] = math.sqrt(best)
        out_qx[k] = bqx
        out_qy[k] = bqy
    return out_d, out_qx, out_qy


@njit(cache=True, error_model="numpy")
def _crossings(qx0, qy0, qx1, qy1, x0, y0, c, nx, ny, ptr, items, ax, ay, bx, by):  # type: ignore[no-untyped-def]
    """First and last crossing (fractions along each query segment) of the indexed ones."""
    n = qx0.size
    smin = np.full(n, np.nan)
    smax = np.full(n, np.nan)
    for k in range(n):
        ux = qx1[k] - qx0[k]
        uy = qy1[k] - qy0[k]
        if not (np.isfinite(ux) and np.isfinite(uy)):
            continue
        i0 = max(int(math.floor((min(qx0[k], qx1[k]) - x0) / c)), 0)
        i1 = min(int(math.floor((max(qx0[k], qx1[k]) - x0) / c)), nx - 1)
        j0 = max(int(math.floor((min(qy0[k], qy1[k]) - y0) / c)), 0)
        j1 = min(int(math.floor((max(qy0[k], qy1[k]) - y0) / c)), ny - 1)
        lo = np.inf
        hi = -np.inf
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                cell = i * ny + j
                for m in range(ptr[cell], ptr[cell + 1]):
                    s = items[m]
                    vx = bx[s] - ax[s]
                    vy = by[s] - ay[s]
                    den = ux * vy - uy * vx
                    if den == 0.0:
                        continue
                    wx = ax[s] - qx0[k]
                    wy = ay[s] - qy0[k]
                    tq = (wx * vy - wy * vx) / den
                    ts = (wx * uy - wy * ux) / den
                    if 0.0 <= tq <= 1.0 and 0.0 <= ts <= 1.0:
                        lo = min(lo, tq)
                        hi = max(hi, tq)
        if hi >= lo:
            smin[k] = lo
            smax[k] = hi
    return smin, smax


class SegmentIndex:
    """The boundary segments of a (multi)polygon in map coordinates, on a uniform grid.

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon
        In map coordinates (metres); every ring (shells and holes) is indexed.
    """

    def __init__(self, geom: BaseGeometry, cell_factor: float = 8.0) -> None:
        rings = shapely.get_rings(shapely.get_parts(geom))
        segs = []
        for ring in rings:
            c = shapely.get_coordinates(ring)
            if len(c) >= 2:
                segs.append(np.stack([c[:-1], c[1:]], axis=1))
        if not segs:
            raise ValueError("SegmentIndex needs a polygon with at least one ring")
        s = np.concatenate(segs)
        self.ax = np.ascontiguousarray(s[:, 0, 0])
        self.ay = np.ascontiguousarray(s[:, 0, 1])
        self.bx = np.ascontiguousarray(s[:, 1, 0])
        self.by = np.ascontiguousarray(s[:, 1, 1])
        xmin = float(min(self.ax.min(), self.bx.min()))
        xmax = float(max(self.ax.max(), self.bx.max()))
        ymin = float(min(self.ay.min(), self.by.min()))
        ymax = float(max(self.ay.max(), self.by.max()))
        w = max(xmax - xmin, 1.0)
        h = max(ymax - ymin, 1.0)
        # cells a few mean segment lengths wide (at most 4 million cells)
        mean_len = float(np.mean(np.hypot(self.bx - self.ax, self.by - self.ay)))
        cell = max(cell_factor * mean_len, math.sqrt(w * h / 4e6), 1.0)
        self.cell_m = cell
        self.x0 = xmin
        self.y0 = ymin
        self.nx = int(w // cell) + 1
        self.ny = int(h // cell) + 1
        self.ptr, self.items = _build_cells(self.ax, self.ay, self.bx, self.by, self.x0,
                                            self.y0, cell, self.nx, self.ny)
        empty = (np.diff(self.ptr) == 0).reshape(self.nx, self.ny)
        # chessboard distance (in cells) to the nearest non-empty cell: where rings start
        self.ring0 = np.ascontiguousarray(
            ndimage.distance_transform_cdt(empty, metric="chessboard").astype(np.int64))

    @property
    def n_segments(self) -> int:
        return int(self.ax.size)

    def nearest(self, x: F64, y: F64) -> tuple[F64, F64, F64]:
        """Distance (map metres) and nearest boundary point of each point.

        Returns
        -------
        dist, qx, qy : ndarray
            NaN for non-finite points.
        """
        return _nearest(np.ascontiguousarray(x, dtype=np.float64),
                        np.ascontiguousarray(y, dtype=np.float64), self.x0, self.y0,
                        self.cell_m, self.nx, self.ny, self.ptr, self.items, self.ax, self.ay,
                        self.bx, self.by, self.ring0)

    def crossings(self, x0: F64, y0: F64, x1: F64, y1: F64) -> tuple[F64, F64]:
        """Fractions along each segment ``(x0, y0) → (x1, y1)`` of its first and last
        crossing of the boundary (NaN when it crosses none)."""
        f = np.float64
        return _crossings(np.ascontiguousarray(x0, dtype=f), np.ascontiguousarray(y0, dtype=f),
                          np.ascontiguousarray(x1, dtype=f), np.ascontiguousarray(y1, dtype=f),
                          self.x0, self.y0, self.cell_m, self.nx, self.ny, self.ptr,
                          self.items, self.ax, self.ay, self.bx, self.by)


class Outline:
    """A territory on the map: which side of its outline points are on, how far from it.

    Points near the outline (within ``exact_within_m``) are answered exactly: shapely
    ``contains_xy`` on the prepared polygon for the side, the :class:`SegmentIndex` for
    the distance and the nearest point.  Farther points are answered from two rasters
    computed once: a distance field (Euclidean distance transform of the rasterised
    outline, ``cell_m`` cells; within ``cell_m·√2`` of the truth) and the side of 4×
    coarser cell centres (the same side as any point farther than their half-diagonal
    plus that error from the outline).

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon
        The territory in map coordinates (metres).
    exact_within_m : float
        Exact answers at least this close to the outline, metres.
    cell_m, margin_m : float
        Raster cell and how far beyond the outline's box the rasters reach, metres;
        points beyond are answered exactly.
    """

    def __init__(self, geom: BaseGeometry, exact_within_m: float, cell_m: float = 500.0,
                 margin_m: float = 150_000.0) -> None:
        self.geom = geom
        shapely.prepare(geom)
        self.index = idx = SegmentIndex(geom)
        self.exact_within_m = float(exact_within_m)
        h = float(cell_m)
        x0 = min(idx.ax.min(), idx.bx.min()) - margin_m
        y0 = min(idx.ay.min(), idx.by.min()) - margin_m
        x1 = max(idx.ax.max(), idx.bx.max()) + margin_m
        y1 = max(idx.ay.max(), idx.by.max()) + margin_m
        nx = int((x1 - x0) // h) + 1
        ny = int((y1 - y0) // h) + 1
        # points along every segment at most h/2 apart mark the cells the outline crosses
        length = np.hypot(idx.bx - idx.ax, idx.by - idx.ay)
        n = np.maximum(np.ceil(length / (0.5 * h)).astype(np.int64), 1) + 1
        seg = np.repeat(np.arange(n.size), n)
        frac = (np.arange(seg.size) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n - 1, n)
        px = idx.ax[seg] + frac * (idx.bx - idx.ax)[seg]
        py = idx.ay[seg] + frac * (idx.by - idx.ay)[seg]
        i = np.clip(((px - x0) // h).astype(np.int64), 0, nx - 1)
        j = np.clip(((py - y0) // h).astype(np.int64), 0, ny - 1)
        free = np.ones((nx, ny), dtype=bool)
        free[i, j] = False
        self._field = ndimage.distance_transform_edt(free, sampling=h).astype(np.float32)
        self._h = h
        self._gx0 = x0 + 0.5 * h
        self._gy0 = y0 + 0.5 * h
        # the side of coarse cell centres (4 fine cells wide)
        hc = 4.0 * h
        cx = self._gx0 - 0.5 * h + hc * (0.5 + np.arange(int(np.ceil(nx / 4))))
        cy = self._gy0 - 0.5 * h + hc * (0.5 + np.arange(int(np.ceil(ny / 4))))
        gx, gy = np.meshgrid(cx, cy, indexing="ij")
        self._side = shapely.contains_xy(geom, gx, gy)
        self._hc = hc
        self._cx0 = float(cx[0])
        self._cy0 = float(cy[0])
        # far means: farther than the exact band, the field's error and a coarse cell
        self._far_m = max(self.exact_within_m, hc) + 1.5 * h

    def locate(self, x: F64, y: F64) -> tuple[NDArray[np.bool_], F64, F64, F64]:
        """Side, distance and nearest outline point of each map point.

        Returns
        -------
        inside : ndarray of bool
        dist, qx, qy : ndarray
            Distance to the outline (map metres; exact within ``exact_within_m``) and
            the nearest outline point (NaN where the distance came from the field).
        """
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        h = self._h
        d = bilinear(self._field, (x - self._gx0) / h, (y - self._gy0) / h)
        ok = np.isfinite(d)
        far = ok & (d >= self._far_m)
        near = ~far
        inside = np.zeros(x.shape, dtype=bool)
        qx = np.full(x.shape, np.nan)
        qy = np.full(x.shape, np.nan)
        if far.any():
            ci = np.clip(np.rint((x[far] - self._cx0) / self._hc).astype(np.int64), 0,
                         self._side.shape[0] - 1)
            cj = np.clip(np.rint((y[far] - self._cy0) / self._hc).astype(np.int64), 0,
                         self._side.shape[1] - 1)
            inside[far] = self._side[ci, cj]
        if near.any():
            inside[near] = shapely.contains_xy(self.geom, x[near], y[near])
            d[near], qx[near], qy[near] = self.index.nearest(x[near], y[near])
        return inside, d, qx, qy


# --------------------------------------------------------------------------------------
# circles (analytic)
# --------------------------------------------------------------------------------------
def segment_circle_fraction(x0: F64, y0: F64, x1: F64, y1: F64, r: F64,
                            last: bool = True) -> F64:
    """Fraction along segments (relative to the circle's centre) where they cross the
    circle of radius ``r``: the last crossing (``last=True``) or the first; NaN when
    the segment does not cross it."""
    ux = x1 - x0
    uy = y1 - y0
    a = ux * ux + uy * uy
    b = x0 * ux + y0 * uy
    cc = x0 * x0 + y0 * y0 - r * r
    disc = b * b - a * cc
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = np.sqrt(np.where(disc >= 0.0, disc, np.nan))
        s1 = (-b - sq) / a
        s2 = (-b + sq) / a
    ok1 = (s1 >= 0.0) & (s1 <= 1.0)
    ok2 = (s2 >= 0.0) & (s2 <= 1.0)
    if last:
        out = np.where(ok2, s2, np.where(ok1, s1, np.nan))
    else:
        out = np.where(ok1, s1, np.where(ok2, s2, np.nan))
    return np.where(a > 0.0, out, np.nan)


@njit(cache=True, error_model="numpy")
def _circles_pass(x, y, vx, vy, k, reach, cx, cy, cr, horizon):  # type: ignore[no-untyped-def]
    n = x.size
    m = cx.size
    inside = np.zeros((n, m), dtype=np.bool_)
    depth = np.empty((n, m))
    tz = np.full((n, m), np.inf)
    for i in range(n):
        a = vx[i] * vx[i] + vy[i] * vy[i]
        for j in range(m):
            dx = x[i] - cx[j]
            dy = y[i] - cy[j]
            rho = math.sqrt(dx * dx + dy * dy)
            depth[i, j] = (cr[j] - rho) / k[i]
            if rho < cr[j]:
                inside[i, j] = True
                if reach[i] >= 0.0:
                    tz[i, j] = 0.0
                continue
            if rho - cr[j] > reach[i]:
                continue
            b = dx * vx[i] + dy * vy[i]
            if b >= 0.0 or a <= 0.0:
                continue
            disc = b * b - a * (rho * rho - cr[j] * cr[j])
            if disc < 0.0:
                continue
            t = (-b - math.sqrt(disc)) / a
            if 0.0 <= t <= horizon:
                tz[i, j] = t
    return inside, depth, tz


def circles_pass(x: F64, y: F64, vx: F64, vy: F64, k: F64, reach: F64, cx: F64, cy: F64,
                 cr: F64, horizon: float) -> tuple[NDArray[np.bool_], F64, F64]:
    """Points against circles on the map, in one compiled pass.

    Parameters
    ----------
    x, y, vx, vy : ndarray, shape (n,)
        Map positions (m) and map velocities (m/s).
    k : ndarray, shape (n,)
        Map scale at each point (true metres = map metres / k).
    reach : ndarray, shape (n,)
        How far each point may travel within ``horizon`` (map metres); negative for
        points that are not predicted (too slow).
    cx, cy, cr : ndarray, shape (m,)
        Centres and radii of the circles (map metres).
    horizon : float
        Longest predicted time, s.

    Returns
    -------
    inside : ndarray of bool, shape (n, m)
    depth : ndarray, shape (n, m)
        Signed distance to each circle's edge, true metres, positive inside.
    tz : ndarray, shape (n, m)
        Time for the straight-line course to reach each circle (0 inside), ``inf``
        when it does not within ``horizon`` or is not predicted.
    """
    f = np.float64
    return _circles_pass(*(np.ascontiguousarray(a, dtype=f) for a in (x, y, vx, vy, k, reach,
                                                                        cx, cy, cr)),
                         float(horizon))
