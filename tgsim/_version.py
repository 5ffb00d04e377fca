"""The package version (one place; read by the job modules for result attrs and cache keys)."""

__version__ = "0.1.0"
