"""Running one service as a process: logging, signals and a clean exit."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

from services.config import CommonSettings, ConfigError, load_section, service_section
from services.plugins import PluginError, import_object
from services.runtime import HermesService
from services.runtime.gc_pauses import own_heap
from services.runtime.service import RESTART_EXIT_CODE, SHUTDOWN_EXIT_CODE

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)
    # aiomqtt/paho and the web server are chatty at DEBUG; keep their warnings only unless asked.
    for noisy in ("aiomqtt", "paho", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))


def load_class(path: str) -> Any:
    """Import "package.module:Name" (or "package.module.Name") from the catalog; a ConfigError if that fails."""
    try:
        return import_object(path, "catalog entry")
    except PluginError as err:
        raise ConfigError(str(err)) from err


def build_service(name: str, class_path: str, common: CommonSettings, overrides: dict[str, Any]) -> HermesService[Any]:
    cls = load_class(class_path)
    settings = load_section(cls.settings_model, common, service_section(name), overrides)
    service: HermesService[Any] = cls(common, settings)
    return service


async def serve(service: HermesService[Any]) -> None:
    """Run until SIGTERM/SIGINT, then leave the broker cleanly (offline status) and return."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop)
    await service.run()


def run_service_process(name: str, class_path: str, common: CommonSettings, overrides: dict[str, Any]) -> int:
    configure_logging(common.log_level)
    own_heap()  # this process is the service: it may keep the collector off its long-lived objects
    log = logging.getLogger(f"hermesh.{name}")
    service: HermesService[Any] | None = None
    try:
        service = build_service(name, class_path, common, overrides)
        asyncio.run(serve(service))
    except ConfigError as err:
        log.error("%s", err)
        return 2
    except KeyboardInterrupt:
        pass
    if service is not None and service.shutdown_requested:
        log.info("stopped; asking hermesh up, if it runs us, to stop the whole mesh")
        return SHUTDOWN_EXIT_CODE
    if service is not None and service.restart_requested:
        log.info("stopped to be restarted")
        return RESTART_EXIT_CODE
    log.info("stopped")
    return 0
