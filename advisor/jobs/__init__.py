"""The jobs behind the commands, one per module: each takes one Observation of a database."""
