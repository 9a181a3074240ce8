"""Settings of the injection service (profile.json section "injection", env HERMESH_INJECTION__KEY, CLI flags)."""

from __future__ import annotations

from pydantic import Field

from services.config import SettingsModel


class InjectionSettings(SettingsModel):
    train_timeout: float = Field(600.0, gt=0, le=86_400,
                                 description="seconds the NLU and the ASR may take to retrain after an injection")
    status_wait: float = Field(2.0, gt=0, le=60,
                               description="seconds to wait at start for the NLU's and ASR's status lines before "
                                           "an injection trains only the services heard of")
