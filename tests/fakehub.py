"""A Hugging Face Hub stand-in on 127.0.0.1 for the Hub tests (no test reaches the internet).

It answers the way huggingface.co does for what kvplan asks: ``/{repo}/resolve/{revision}/{file}``
with HEAD (X-Repo-Commit, ETag, Content-Length) and GET (whole file, or ``Range: bytes=a-b``
-> 206), 401 + ``X-Error-Code: RepoNotFound`` for an unknown repo, 401 + ``GatedRepo`` for a
gated repo without the right token, 404 + ``RevisionNotFound`` / ``EntryNotFound``. Every
request is recorded (method, path, Range header) for the tests to check.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Repo:
    revisions: dict[str, dict[str, bytes]]  # revision name -> file name -> bytes
    gated_token: str | None = None  # the token that opens a gated repo

    def commit(self, revision: str) -> str:
        return hashlib.sha1(f"{id(self)}:{revision}".encode()).hexdigest()


@dataclass
class FakeHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    def find(self, repo_id: str, revision: str) -> tuple[Repo | None, str | None]:
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, None
        for name in repo.revisions:
            if revision in (name, repo.commit(name)):
                return repo, name
        return repo, None


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def _error(self, status: int, code: str) -> None:
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _serve(self, body: bool) -> None:
            hub.requests.append((self.command, self.path, self.headers.get("Range")))
            parts = self.path.split("?")[0].strip("/").split("/")
            if len(parts) < 5 or parts[2] != "resolve":
                return self._error(404, "EntryNotFound")
            repo_id, revision, filename = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            repo, rev = hub.find(repo_id, revision)
            if repo is None:
                return self._error(401, "RepoNotFound")
            if repo.gated_token and self.headers.get("Authorization") != f"Bearer {repo.gated_token}":
                return self._error(401, "GatedRepo")
            if rev is None:
                return self._error(404, "RevisionNotFound")
            data = repo.revisions[rev].get(filename)
            if data is None:
                return self._error(404, "EntryNotFound")
            status, payload = 200, data
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start, _, end = rng[len("bytes="):].partition("-")
                first, last = int(start), min(int(end) if end else len(data) - 1, len(data) - 1)
                status, payload = 206, data[first:last + 1]
            self.send_response(status)
            self.send_header("X-Repo-Commit", repo.commit(rev))
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(payload)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def do_HEAD(self):  # noqa: N802
            self._serve(body=False)

        def do_GET(self):  # noqa: N802
            self._serve(body=True)

    return Handler


def start(hub: FakeHub) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    # serve_forever polls for shutdown() every poll_interval seconds (0.5 by default): a short
    # poll keeps each test's teardown from waiting half a second.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return server
