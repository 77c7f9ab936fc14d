"""A --base-url answered by some other web server: one line that names its page, never its markup."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from specbench.cli import main
from specbench.engines.openai.stream import error_text


class _QuietFileServer(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # its log would share the test's stderr
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    """Python's own file server: every /v1/… path is its HTML 404 page."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietFileServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", ["/v1", ""])
def test_another_web_server_is_named_by_its_page_title_not_its_html(
    web_server, path, tiny_models, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    argv = [
        "run",
        "--engine",
        "openai",
        "--base-url",
        web_server + path,
        "--tokenizer",
        str(tiny_models.target),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert 'HTTP 404: an HTML page titled "Error response"' in err
    assert "<" not in err and len(err.strip().splitlines()) == 1
    if path == "/v1":  # it did end with /v1: the hint must not say it should
        assert "is another web server listening there?" in err and "ends with" not in err
    else:
        assert "ends with the API root" in err
    assert list(tmp_path.iterdir()) == []


def test_error_text_of_an_html_page_is_its_title():
    page = (
        b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>nginx</h1></body></html>"
    )
    assert error_text(page) == 'an HTML page titled "404 Not Found"'
    assert error_text(b'{"error": {"message": "no such model"}}') == "no such model"
