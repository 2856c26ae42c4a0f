"""Ingestion: load -> split -> embed -> write, incremental and safe to interrupt."""
