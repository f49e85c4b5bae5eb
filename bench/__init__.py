"""Benchmarks of pg-advisor against a throwaway PostgreSQL (`python -m bench`)."""
