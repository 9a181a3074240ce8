"""A real mesh (`hermesh up` with the services the web UI talks to) and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
UI_SERVICES = ["nlu", "asr", "tts", "dialogue", "bridge"]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required",
]


class Mesh:
    def __init__(self, root: Path, url_root: str = "", services: list[str] | None = None,
                 extra_args: list[str] | None = None, token: str | None = None) -> None:
        self.profile = root / "profile"
        self.mqtt_port, self.http_port = free_port(), free_port()
        self.url_root = url_root  # hermesh up --url-root: the UI and the API live under it
        self.url = f"http://127.0.0.1:{self.http_port}{url_root}"
        self.log = root / "mesh.log"
        self.services = services or UI_SERVICES
        self.extra_args = extra_args or []  # e.g. --auth-token, --site-id
        self.token = token  # the admin token the test's own requests carry (when the mesh has auth on)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        only = [arg for name in self.services for arg in ("--only", name)]
        rooted = ["--url-root", self.url_root] if self.url_root else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--profile", str(self.profile), "--mqtt-port", str(self.mqtt_port),
             "--http-port", str(self.http_port), "--wyoming-port", str(free_port()), *only, *rooted, *self.extra_args],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_port(self.http_port, timeout=90)
        self.wait_online()

    def wait_online(self, timeout: float = 90) -> None:
        """Every service of this mesh online on the broker (after a start or a restart)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            services = self.get_json("/api/status").get("services", {})
            online = {name for name, entry in services.items() if entry.get("online")}
            if set(self.services) <= online:
                return
            time.sleep(0.5)
        raise AssertionError(f"services not online: {online}\n{self.log.read_text()[-4000:]}")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers=self.headers())
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback test server
            return response.read()

    def get_json(self, path: str) -> dict:
        return json.loads(self.get(path))

    def post(self, path: str, body: bytes, content_type: str = "text/plain") -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type, **self.headers()})
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.read()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def trained(mesh: Mesh) -> Iterator[Mesh]:
    """The mesh started and trained for a module's tests, stopped after them."""
    try:
        mesh.start()
        mesh.post("/api/train", b"")
        yield mesh
    finally:
        mesh.stop()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with trained(Mesh(tmp_path_factory.mktemp("webui"))) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def browser_factory():  # type: ignore[no-untyped-def]
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by scripts/test.sh")
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (scripts/install.sh --test installs Debian's chromium)")
    with playwright_api.sync_playwright() as playwright:
        browsers = []

        def launch(extra_args: list[str] | None = None):  # type: ignore[no-untyped-def]
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + (extra_args or []))
            browsers.append(browser)
            return browser

        yield launch
        for browser in browsers:
            browser.close()


class ConsoleWatch:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


def new_page(browser_factory):  # type: ignore[no-untyped-def]
    browser = browser_factory()
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.console_watch = ConsoleWatch(page)
    page.set_default_timeout(30_000)
    return context, page


@pytest.fixture
def page(browser_factory, mesh):  # type: ignore[no-untyped-def]
    context, page = new_page(browser_factory)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
