"""pg-advisor: a live index and workload advisor for PostgreSQL."""

__version__ = "0.1.0"
