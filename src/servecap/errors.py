"""Exceptions raised by servecap.

    ServecapError
     ├── InputError            the user's input is wrong; the CLI prints one line and exits 2
     │    ├── ModelNotFoundError   a model id or path that cannot be resolved
     │    ├── ConfigError          a config.json that is malformed, incomplete or unsupported
     │    ├── UnknownGPUError      a GPU name that is not in the catalogue
     │    ├── UnknownVersionError  a vLLM version outside the supported range
     │    └── InvalidValueError    an impossible value (utilization 1.5, length 0, a bad file)
     ├── ServerError           a server servecap started or needs failed; the CLI exits 1
     └── Stopped               a stop signal arrived (SIGTERM, SIGHUP); the CLI exits 130

Every error carries the problem and the fix, so the message is actionable on its own.
`servecap.cli.app.main` maps them all to one line on stderr, `servecap: error: MESSAGE`.
"""

from __future__ import annotations


class ServecapError(Exception):
    """Base class of every error servecap raises on purpose."""

    exit_code = 1

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem.rstrip('.')}. {fix}" if fix else problem)


class InputError(ServecapError):
    """Wrong user input: a problem and how to fix it."""

    exit_code = 2


class ModelNotFoundError(InputError):
    """A model that is neither in the catalogue, nor a local path, nor reachable on the Hub."""


class ConfigError(InputError):
    """A config.json servecap cannot turn into a model description."""


class UnknownGPUError(InputError):
    """A GPU name that is not in the catalogue."""


class UnknownVersionError(InputError):
    """A vLLM version servecap does not model."""


class InvalidValueError(InputError):
    """A value that cannot work."""


class ServerError(ServecapError):
    """vLLM (or another server servecap runs) could not be started, or stopped unexpectedly."""


class Stopped(ServecapError):
    """A stop signal arrived; raised so that whatever runs is stopped on the way out."""

    exit_code = 130
