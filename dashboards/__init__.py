"""Grafana dashboards for pg-advisor: built as code by `build.py`, committed as JSON."""
