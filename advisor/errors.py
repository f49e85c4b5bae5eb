"""One exception hierarchy, each kind carrying the exit code the CLI turns it into."""

from __future__ import annotations


class AdvisorError(Exception):
    """A failure the user can act on; `str(error)` is the message to show."""

    exit_code = 1


class UsageError(AdvisorError):
    """Bad flags, settings or configuration file."""

    exit_code = 2


class ConnectError(AdvisorError):
    """The database cannot be reached or refuses the credentials."""

    exit_code = 3


class ExtensionMissing(AdvisorError):
    """A required extension is not installed or not preloaded."""

    exit_code = 4


class PermissionDenied(AdvisorError):
    """The advisor's role lacks a grant it needs."""

    exit_code = 5


class StateError(AdvisorError):
    """The state directory or file cannot be used."""

    exit_code = 2
