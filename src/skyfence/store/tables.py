"""Columns of the event log's tables and the conversion of numpy columns to SQLite rows.

A batch arrives as a table (``dict[str, np.ndarray]``, one row per record).  Its
columns are checked and converted once (:func:`prepare`): the columns of the
record's schema keep their dtype, any other column is an *extra* kept in a
column of its own (added to the SQLite table the first time it is seen, its
dtype remembered).  Rows that cannot be stored (a time that is not finite, an
identifier that is not an integer, an unknown track status) are split off with
a reason: the event log keeps them in its quarantine, never drops them.

NaN floats are stored as SQL NULL (SQLite does this itself) and read back as
NaN; empty strings stay empty strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skyfence.errors import DataError
from skyfence.model.schema import (
    ALERT_COLUMNS,
    CLASS_PROB_COLUMNS,
    DETECTION_COLUMNS,
    EVENT_COLUMNS,
    QUARANTINE_COLUMNS,
    TRACK_COLUMNS,
    TRACK_STATUSES,
)

__all__ = [
    "INTERNAL_COLUMNS",
    "MAX_EXTRA_COLUMNS",
    "SQL_TYPES",
    "TABLES",
    "Prepared",
    "TableSpec",
    "column_from_values",
    "infer_dtype",
    "prepare",
    "quote",
]

#: SQLite declared type of each schema dtype
SQL_TYPES: dict[str, str] = {"float64": "REAL", "int64": "INTEGER", "str": "TEXT",
                             "bool": "INTEGER"}

#: columns the log adds to its tables; a batch may not bring a column of these names
INTERNAL_COLUMNS: frozenset[str] = frozenset({"seq", "stored_at", "source", "record"})

#: extra (non-schema) columns a table accepts before a batch with more is refused
MAX_EXTRA_COLUMNS = 200


@dataclass(frozen=True)
class TableSpec:
    """One table of the log.

    Attributes
    ----------
    name:
        SQL table name (also used in messages: ``append_<name>``).
    columns:
        Schema columns, name → dtype (``float64``, ``int64``, ``str``, ``bool``).
    required:
        Columns a batch must have.
    ids:
        Integer identifier columns: a row whose value is not an integer is refused.
    """

    name: str
    columns: dict[str, str]
    required: tuple[str, ...]
    ids: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        return f"append_{self.name}"


TABLES: dict[str, TableSpec] = {
    "detections": TableSpec("detections", dict(DETECTION_COLUMNS),
                            ("time", "sensor_id", "kind")),
    "tracks": TableSpec("tracks", TRACK_COLUMNS | CLASS_PROB_COLUMNS,
                        ("time", "track_id", "status"), ids=("track_id",)),
    "events": TableSpec("events", dict(EVENT_COLUMNS), ("time", "track_id", "kind"),
                        ids=("track_id",)),
    "alerts": TableSpec("alerts", dict(ALERT_COLUMNS), ("alert_id", "revision", "time"),
                        ids=("alert_id", "revision")),
}

#: the quarantine table: the schema's columns, the table the row was meant for, the row as JSON
QUARANTINE_TABLE_COLUMNS: dict[str, str] = dict(QUARANTINE_COLUMNS) | {"source": "str",
                                                                       "record": "str"}

def quote(name: str) -> str:
    """An SQL identifier, double-quoted (any name is safe: quotes inside are doubled)."""
    return '"' + name.replace('"', '""') + '"'


def infer_dtype(arr: np.ndarray) -> str:
    """Schema dtype of an extra column from its numpy dtype."""
    k = arr.dtype.kind
    if k == "f":
        return "float64"
    if k in "iu":
        return "int64"
    if k == "b":
        return "bool"
    return "str"


@dataclass
class Prepared:
    """A batch checked and converted, ready for ``executemany``.

    Attributes
    ----------
    names:
        Columns to insert, in order.
    columns:
        One array per name (numeric, or object arrays of ``str``), all rows.
    n:
        Rows in the batch.
    bad:
        Rows refused (bool mask over the batch).
    reasons:
        The reason of each refused row (aligned with ``np.flatnonzero(bad)``).
    new_extras:
        Extra columns not yet in the table, name → dtype.
    """

    names: list[str]
    columns: list[np.ndarray]
    n: int
    bad: np.ndarray
    reasons: list[str]
    new_extras: dict[str, str] = field(default_factory=dict)

    def empty(self, i: int) -> bool:
        """Whether column ``i`` holds nothing: all NaN (numbers) or all "" (strings).

        Such a column need not be bound: SQL NULL reads back as NaN or "".
        """
        col = self.columns[i]
        if col.dtype.kind == "f":
            return bool(np.isnan(col).all())
        if col.dtype.kind == "O":
            return bool((col == "").all())
        return False


def _as_float(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False)
    try:
        return np.array(arr.tolist(), dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must hold numbers; got values such as "
                        f"{_sample(arr)} (dtype {arr.dtype})") from None


def _as_str(arr: np.ndarray) -> np.ndarray:
    """An object array of Python ``str`` ("" for None)."""
    if arr.dtype.kind == "U":
        return np.array(arr.tolist(), dtype=object)
    values = arr.tolist()
    if arr.dtype.kind == "O" and all(type(v) is str for v in values):
        return arr
    if arr.dtype.kind == "S":
        out = [v.decode("utf-8", "replace") for v in values]
    else:
        out = ["" if v is None else v if isinstance(v, str) else str(v) for v in values]
    return np.array(out, dtype=object)


def _sample(arr: np.ndarray) -> str:
    vals = arr[:3].tolist()
    return ", ".join(repr(v) for v in vals) or "(none)"


def _convert(arr: np.ndarray, dtype: str, what: str) -> np.ndarray:
    """A column in the form it is bound in: float64, int64 (or float64 with NaN), str objects."""
    if dtype == "float64":
        return _as_float(arr, what)
    if dtype == "str":
        return _as_str(arr)
    if dtype == "bool":
        if arr.dtype.kind == "b":
            return arr.astype(np.int8)
        f = _as_float(arr, what)
        return np.where(np.isnan(f), np.nan, (f != 0).astype(np.float64))
    # int64: integers stay integers; floats are bound as floats and SQLite's INTEGER
    # affinity stores integral values as integers (NaN as NULL)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    return _as_float(arr, what)


def _identifiers(arr: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """An integer identifier column as int64, and the mask of rows that are not integers."""
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False), np.zeros(arr.shape[0], bool)
    if arr.dtype.kind == "b":
        raise DataError(f"{what} must hold integers; got booleans")
    f = _as_float(arr, what)
    ok = np.isfinite(f) & (np.abs(f) < 2.0**62)
    ok[ok] = f[ok] == np.round(f[ok])
    return np.where(ok, f, 0.0).astype(np.int64), ~ok


def prepare(spec: TableSpec, table: Any, extras: Mapping[str, str]) -> Prepared:
    """Check and convert one batch for ``spec``'s table.

    Parameters
    ----------
    spec:
        The table the batch goes to.
    table:
        ``dict[str, array-like]``, one row per record; all columns of one length.
    extras:
        Extra columns the table already has, name → dtype.

    Returns
    -------
    Prepared
        The converted columns and the rows refused with their reasons.

    Raises
    ------
    DataError
        The batch as a whole is unusable: not a mapping, columns of different
        lengths, a required column missing, a column of the wrong type, a
        reserved column name, too many extra columns.
    """
    where = spec.method
    if not isinstance(table, Mapping):
        raise DataError(f"{where}: expected a table (dict of column arrays); "
                        f"got {type(table).__name__}")
    cols: dict[str, np.ndarray] = {}
    for name, col in table.items():
        if not isinstance(name, str) or not name:
            raise DataError(f"{where}: column names must be non-empty strings; got {name!r}")
        arr = np.asarray(col)
        if arr.ndim != 1:
            raise DataError(f"{where}: column '{name}' must be one-dimensional; "
                            f"got shape {arr.shape}")
        cols[name] = arr
    lengths = {name: a.shape[0] for name, a in cols.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise DataError(f"{where}: columns have different lengths ({desc})")
    missing = [c for c in spec.required if c not in cols]
    if missing:
        raise DataError(f"{where}: required column '{missing[0]}' is missing "
                        f"(have: {', '.join(cols) or 'none'})")
    n = next(iter(lengths.values()), 0)
    lower = {k.lower(): k for k in (*spec.columns, *extras)}
    names: list[str] = []
    out: list[np.ndarray] = []
    new_extras: dict[str, str] = {}
    bad = np.zeros(n, bool)
    why = np.full(n, "", dtype=object)

    def refuse(mask: np.ndarray, reason: str) -> None:
        fresh = mask & ~bad
        why[fresh] = reason
        bad[fresh] = True

    for name, arr in cols.items():
        what = f"{where}: column '{name}'"
        if name.lower() in INTERNAL_COLUMNS:
            raise DataError(f"{what} has a name the event log reserves for itself "
                            f"({', '.join(sorted(INTERNAL_COLUMNS))}); rename it")
        if name in spec.columns:
            dtype = spec.columns[name]
        elif name in extras:
            dtype = extras[name]
        else:
            other = lower.get(name.lower())
            if other is not None:
                raise DataError(f"{what} differs from the column '{other}' only by case "
                                "(SQLite column names ignore case); rename it")
            dtype = infer_dtype(arr)
            new_extras[name] = dtype
            lower[name.lower()] = name
        if name in spec.ids:
            conv, not_int = _identifiers(arr, what)
            refuse(not_int, f"{name} is not an integer")
        else:
            conv = _convert(arr, dtype, what)
        if name == "time":
            refuse(~np.isfinite(conv), "time is not a finite number (UTC epoch seconds)")
        if spec.name == "tracks" and name == "status":
            refuse(~np.isin(conv, np.array(TRACK_STATUSES, dtype=object)),
                   f"status is not one of {', '.join(TRACK_STATUSES)}")
        names.append(name)
        out.append(conv)
    if len(extras) + len(new_extras) > MAX_EXTRA_COLUMNS:
        raise DataError(f"{where}: more than {MAX_EXTRA_COLUMNS} columns beyond the schema "
                        f"(new: {', '.join(list(new_extras)[:5])}, ...)")
    reasons = why[bad].tolist()
    return Prepared(names, out, n, bad, reasons, new_extras)


def json_value(v: Any) -> Any:
    """A value as JSON can hold it: NaN/inf → None, numpy scalars → Python."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def row_record(cols: Mapping[str, np.ndarray], i: int) -> str:
    """Row ``i`` of a table as a JSON object (for the quarantine)."""
    return json.dumps({k: json_value(np.asarray(v)[i]) for k, v in cols.items()},
                      default=str, ensure_ascii=False)


def column_from_values(values: tuple[Any, ...] | list[Any], dtype: str) -> np.ndarray:
    """Values read from SQLite as a numpy column of ``dtype``.

    NULL becomes NaN (float64), -1 (int64), False (bool) or "" (str); strings
    are object arrays (as :func:`skyfence.io.tables.read_table` returns them).
    """
    if dtype == "float64":
        return np.array(values, dtype=np.float64)
    if dtype == "int64":
        if any(v is None for v in values):
            values = [-1 if v is None else v for v in values]
        try:
            return np.array(values, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            return np.array([_int_or_minus_one(v) for v in values], dtype=np.int64)
    if dtype == "bool":
        return np.array([bool(v) for v in values], dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = ["" if v is None else v if isinstance(v, str) else str(v) for v in values]
    return out


def _int_or_minus_one(v: Any) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return -1
    return int(f) if math.isfinite(f) else -1

