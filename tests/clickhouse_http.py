"""A stand-in for a ClickHouse server's HTTP interface, for tests only (not part of the product).

    .venv/bin/python -m tests.clickhouse_http [--port 0]   # prints its URL, serves until killed

    with clickhouse_http.serving() as url: ...            # a subprocess for a test's duration

No ClickHouse server runs on the test machine, so this answers what clickhouse-connect sends
(its driver/httpclient.py and driver/_backend/httpcommon.py) by running each statement on one
chdb session (chdb is ClickHouse's engine in a library, so `SELECT version(), timezone()`,
`system.settings`, DESCRIBE, FORMAT Native/Arrow/JSON answers are ClickHouse's own):

- the statement: the body, or the `query` URL parameter with the body as an INSERT's data
  (`INSERT INTO t (cols) FORMAT Arrow`, the data after the statement's first line otherwise);
  an INSERT's data is written to a temporary file and read with file(path, format);
- `param_<name>` values as the statement's parameters; `database` as the current database
  (`default` without one); any other URL parameter that is a setting is SET on the session
  first (they stay set: a stand-in serving one client's settings);
- a request body in lz4, zstd, gzip or deflate (Content-Encoding) is decompressed; answers are
  never compressed;
- errors: HTTP 500, the exception's text, X-ClickHouse-Exception-Code.

Not emulated: sessions (one chdb session for every session_id: temporary tables are shared),
users and passwords (any accepted), clusters (ON CLUSTER and Distributed need a real cluster),
client_protocol_version (the probe fails and the client speaks protocol 0, as it may).
One request at a time (a lock).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import subprocess
import sys
import tempfile
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

# URL parameters that are the HTTP interface's own, not settings.
TRANSPORT = {
    "query",
    "database",
    "default_format",
    "session_id",
    "session_timeout",
    "session_check",
    "query_id",
    "quota_key",
    "user",
    "password",
    "compress",
    "decompress",
    "buffer_size",
    "wait_end_of_query",
    "client_protocol_version",
    "role",
    "enable_http_compression",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
}
INSERT = re.compile(r"\s*INSERT\s+INTO\s+(?P<target>.+?)\s+FORMAT\s+(?P<fmt>\w+)\s*", re.I | re.S)


def _decompress(data: bytes, encoding: str | None) -> bytes:
    if not encoding:
        return data
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    if encoding == "zstd":
        from backports import zstd

        return zstd.decompress(data)
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise ValueError(f"unsupported Content-Encoding {encoding}")


def _literal(value: str) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """The chdb session every request runs on, one at a time."""

    def __init__(self, path: str | None = None) -> None:
        import chdb.session

        self.session = chdb.session.Session(path) if path else chdb.session.Session()
        self.lock = threading.Lock()
        self.tmp = Path(tempfile.mkdtemp(prefix="clickhouse-http-"))

    def execute(self, params: dict[str, str], body: bytes) -> bytes:
        query = params.get("query")
        data = b""
        if query is None:
            text = body
            match = INSERT.match(text.split(b"\n", 1)[0].decode(errors="replace"))
            if match:
                first, _, data = text.partition(b"\n")
                query = first.decode()
            else:
                query = text.decode()
        else:
            data = body
        bound = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in TRANSPORT and not k.startswith("param_")}
        with self.lock:
            s = self.session
            s.query(f"USE {params.get('database') or 'default'}")
            for key, value in settings.items():
                if re.fullmatch(r"\w+", key):
                    s.query(f"SET {key} = {_literal(value)}")
            insert = INSERT.fullmatch(query)
            if insert:
                source = self.tmp / "insert.data"
                source.write_bytes(data)
                fmt = insert["fmt"]
                s.query(f"INSERT INTO {insert['target']} SELECT * FROM file('{source}', {fmt})")
                return b""
            result = s.query(query, params.get("default_format") or "TabSeparated", params=bound or None)
            return result.bytes() or b""


class Handler(BaseHTTPRequestHandler):
    engine: Engine

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, body: bytes) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path.rstrip("/") == "/ping":
            return self._answer(200, b"Ok.\n")
        try:
            body = _decompress(body, self.headers.get("Content-Encoding"))
            out = self.engine.execute(params, body)
        except Exception as exc:  # noqa: BLE001 (the server's answer to a failed statement)
            text = str(exc)
            code = re.search(r"Code: (\d+)", text)
            headers = {"X-ClickHouse-Exception-Code": code[1] if code else "1"}
            return self._answer(500, text.encode(), headers)
        self._answer(200, out, {"X-ClickHouse-Timezone": "UTC", "X-ClickHouse-Summary": "{}"})

    def do_GET(self) -> None:  # noqa: N802
        self._handle(b"")

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(n) if n else b"")


def serve(port: int = 0) -> ThreadingHTTPServer:
    Handler.engine = Engine()
    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


@contextlib.contextmanager
def serving(database: str = "handoff"):
    """The stand-in in a subprocess for the block: yields its URL (with `database`)."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.clickhouse_http", "--port", "0"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"the ClickHouse stand-in did not start: {line!r}")
        yield f"{line}/{database}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = serve(args.port)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
