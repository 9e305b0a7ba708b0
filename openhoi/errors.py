"""The exceptions openhoi raises for problems a user can fix.

Every error that reaches the CLI as a clean one-line message (exit code 2) is a
subclass of :class:`OpenHOIError`. Messages name the input, what was expected
and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = [
    "DependencyError",
    "InputError",
    "MissingFileError",
    "OpenHOIError",
    "UnsafeFileError",
]


class OpenHOIError(Exception):
    """Base class of every user-facing openhoi error."""


class InputError(OpenHOIError, ValueError):
    """An argument, config value, array or file content is not acceptable."""


class MissingFileError(OpenHOIError, FileNotFoundError):
    """A file or folder the user pointed to does not exist or lacks a needed file."""


class UnsafeFileError(OpenHOIError):
    """A file asks for something we refuse to do (e.g. a pickle importing `os.system`)."""


class DependencyError(OpenHOIError, ImportError):
    """An optional package needed for the requested feature is not installed."""
