"""Athena: SQL on DuckDB over the Glue catalog and S3 (DDL, data, Hive types)."""
