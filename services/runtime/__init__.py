"""The runtime every Hermesh process shares."""

from .errors import ServiceError, ServiceTimeout
from .service import Expectation, HermesService, NoSettings, handles, iterate

__all__ = ["Expectation", "HermesService", "NoSettings", "ServiceError", "ServiceTimeout", "handles", "iterate"]
