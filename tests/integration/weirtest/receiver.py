"""An HTTP or HTTPS receiver for what Weir POSTs out: publish/play callbacks
and events. Every POST is recorded (its path, headers and JSON body) with
whether its Weir-Signature verifies against `secret` (HMAC-SHA256 of
"t." + body, t within 60 s of now); the answer is what `answer(body)`
returns: a status, a (status, headers) pair, or bytes written as they are
(not HTTP). With `tls=(cert, key)` it serves HTTPS with that certificate."""

import hashlib
import hmac
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_ok(secret, header, body):
    """Weir-Signature `t=UNIX,v1=HEX` verifies for `body` with `secret`."""
    if not header:
        return False
    t, v1 = (x.split("=", 1)[1] for x in header.split(","))
    want = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(v1, want) and abs(int(t) - time.time()) < 60


class Receiver:
    def __init__(self, secret="", answer=None, tls=None):
        self.calls = []  # parsed bodies, with "_sig_ok", "_path" and "_headers"
        self.lock = threading.Lock()
        outer = self
        answer = answer or (lambda body: 204)

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                j = json.loads(raw)
                j["_sig_ok"] = bool(secret) and signature_ok(secret, self.headers.get("Weir-Signature", ""), raw)
                j["_path"] = self.path
                j["_headers"] = dict(self.headers)
                with outer.lock:
                    outer.calls.append(j)
                a = answer(j)
                if isinstance(a, bytes):
                    self.wfile.write(a)
                    self.close_connection = True
                    return
                code, headers = a if isinstance(a, tuple) else (a, {})
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            # The handshake runs in accept(); a client that refuses the
            # certificate fails there (an OSError the server loop ignores).
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def of(self, **match):
        """The calls whose body has every key = value of `match`."""
        with self.lock:
            return [c for c in self.calls if all(c.get(k) == v for k, v in match.items())]

    def events(self, type_, **data):
        """Events of `type_` whose data has every key = value of `data`."""
        with self.lock:
            return [c for c in self.calls
                    if c.get("type") == type_ and all(c["data"].get(k) == v for k, v in data.items())]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
