"""Reading and writing the interchange tables (CSV or Parquet, chosen by suffix)."""

from skyfence.io.tables import TableWriter, read_table, table_format, write_table

__all__ = ["TableWriter", "read_table", "table_format", "write_table"]
