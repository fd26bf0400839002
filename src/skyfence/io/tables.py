"""Interchange tables as Parquet or CSV: columns are numpy arrays at the API.

The format is chosen by the file's suffix (``.parquet`` / ``.csv``).  Writers
stream: a 24-hour recording is written chunk by chunk with bounded memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from skyfence.errors import DataError

__all__ = ["TableWriter", "arrow_schema", "read_table", "table_format", "write_table"]

_ARROW = {"float64": pa.float64(), "int64": pa.int64(), "str": pa.string(), "bool": pa.bool_()}


def table_format(path: str | Path) -> str:
    """``'parquet'`` or ``'csv'`` from the suffix; anything else is an error."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise DataError(f"{path}: unknown table format '{suffix}', must be one of .parquet, .csv")


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    return pa.schema([(k, _ARROW[v]) for k, v in columns.items()])


def _to_arrow(data: dict[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    arrays = []
    for f in schema:
        col = data[f.name]
        if pa.types.is_string(f.type):
            arr = np.asarray(col)
            if arr.dtype.kind != "U":
                arr = arr.astype(str)
            arrays.append(pa.array(arr, type=pa.string()))
        else:
            arrays.append(pa.array(np.asarray(col), type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class TableWriter:
    """Append chunks of columns to a Parquet or CSV file with a fixed schema."""

    def __init__(self, path: str | Path, columns: dict[str, str]) -> None:
        self.path = Path(path)
        self.format = table_format(self.path)
        self.schema = arrow_schema(columns)
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        if self.format == "parquet":
            self._w: pq.ParquetWriter | pacsv.CSVWriter = pq.ParquetWriter(
                self.path, self.schema, compression="zstd")
        else:
            self._w = pacsv.CSVWriter(self.path, self.schema)

    #: small chunks are gathered into one write of at least this many rows
    BATCH_ROWS = 65_536

    def write(self, data: dict[str, np.ndarray]) -> None:
        table = _to_arrow(data, self.schema)
        if table.num_rows:
            self._pending.append(table)
            self._pending_rows += table.num_rows
            self.rows += table.num_rows
            if self._pending_rows >= self.BATCH_ROWS:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._w.write_table(pa.concat_tables(self._pending))
            self._pending = []
            self._pending_rows = 0

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._w.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(path: str | Path, data: dict[str, np.ndarray], columns: dict[str, str]) -> int:
    """Write one table; returns the number of rows."""
    with TableWriter(path, columns) as w:
        w.write(data)
        return w.rows


def read_table(path: str | Path, required: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Read a table into numpy columns (strings as object arrays).

    ``required`` lists columns that must be present; a missing one is a
    :class:`DataError` naming the file and the column.  Extra columns are kept.
    """
    path = Path(path)
    fmt = table_format(path)
    try:
        table = pq.read_table(path) if fmt == "parquet" else pacsv.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot be read as {fmt}: {exc}") from None
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = np.array(col.to_pylist(), dtype=object)
        elif pa.types.is_null(col.type):
            out[name] = np.full(len(col), np.nan)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    for name, dtype in (required or {}).items():
        if name not in out:
            raise DataError(f"{path}: required column '{name}' is missing "
                            f"(have: {', '.join(table.column_names)})")
        if dtype == "str":
            out[name] = np.array(["" if v is None else str(v) for v in out[name]], dtype=object)
    return out
