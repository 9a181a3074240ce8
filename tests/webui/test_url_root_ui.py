"""The web UI under ``hermesh up --url-root /hermesh`` in a real headless Chromium (issue 14): it loads its files,
calls the API and opens its websockets under the prefix, and nothing outside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import Mesh, new_page, screenshot, trained

ROOT = "/hermesh"


@pytest.fixture(scope="module")
def rooted_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with trained(Mesh(tmp_path_factory.mktemp("webui-root"), url_root=ROOT)) as mesh:
        yield mesh


def test_web_ui_under_the_url_root(browser_factory, rooted_mesh):
    context, page = new_page(browser_factory)
    requests: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    try:
        page.goto(f"{rooted_mesh.url}/#/test")
        page.wait_for_selector("main h1")
        page.wait_for_load_state("networkidle")
        assert page.locator("#services .badge").count() >= 1  # /api/status answered under the prefix
        page.fill("#sentence", "set the bedroom light to blue")
        page.click("#recognize")
        page.wait_for_selector("[data-testid=intent-name]")
        assert page.inner_text("[data-testid=intent-name]") == "ChangeLightColor"
        page.goto(f"{rooted_mesh.url}/#/sentences")
        page.wait_for_selector("#sentences-editor")
        page.wait_for_load_state("networkidle")
        assert "[ChangeLightColor]" in page.locator("#sentences-editor").input_value()
        api_link = page.locator("#nav a", has_text="API").get_attribute("href")
        screenshot(page, "url-root-sentences")
        errors = page.console_watch.errors
    finally:
        context.close()
    origin = f"http://127.0.0.1:{rooted_mesh.http_port}"
    own = [url for url in requests if url.startswith(origin)]
    assert f"{origin}{ROOT}/web/js/app.js" in own and f"{origin}{ROOT}/web/style.css" in own
    assert any(url.startswith(f"{origin}{ROOT}/api/text-to-intent") for url in own)
    assert [url for url in own if not url.startswith(origin + ROOT + "/")] == []
    assert any(url.startswith(f"ws://127.0.0.1:{rooted_mesh.http_port}{ROOT}/api/events/log") for url in sockets)
    assert all(f"{ROOT}/api/" in url for url in sockets)
    assert api_link == "docs"  # relative: the docs page under the prefix
    assert errors == []
