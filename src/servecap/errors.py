"""Exceptions raised by servecap.

    ServecapError
     └── InputError            the user's input is wrong; the CLI prints one line and exits 2
          ├── ModelNotFoundError   a model id or path that cannot be resolved
          ├── ConfigError          a config.json that is malformed, incomplete or unsupported
          ├── UnknownGPUError      a GPU name that is not in the catalogue
          ├── UnknownVersionError  a vLLM version outside the supported range
          └── InvalidValueError    an impossible flag value (utilization 1.5, length 0, ...)

Every InputError carries the problem and the fix, so the message is actionable on its own.
"""

from __future__ import annotations


class ServecapError(Exception):
    """Base class of every error servecap raises on purpose."""


class InputError(ServecapError):
    """Wrong user input: a problem and how to fix it."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem.rstrip('.')}. {fix}" if fix else problem)


class ModelNotFoundError(InputError):
    """A model that is neither in the catalogue, nor a local path, nor reachable on the Hub."""


class ConfigError(InputError):
    """A config.json servecap cannot turn into a model description."""


class UnknownGPUError(InputError):
    """A GPU name that is not in the catalogue."""


class UnknownVersionError(InputError):
    """A vLLM version servecap does not model."""


class InvalidValueError(InputError):
    """A flag value that cannot work."""
