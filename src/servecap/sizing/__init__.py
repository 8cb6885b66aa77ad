"""`sizing`: the smallest vLLM deployment that serves N users within SLOs, and how to start it."""

from .advisor import advise
from .commands import deployment_commands
from .request import AdviseRequest, parse_cost
from .result import Advice, AdviseOption

__all__ = ["Advice", "AdviseOption", "AdviseRequest", "advise", "deployment_commands", "parse_cost"]
