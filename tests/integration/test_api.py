"""The admin API on its own listener (../shared/API.md): bearer tokens,
JSON errors, paging, the OpenAPI document, and nothing of it on the players'
port."""

import json

from weirtest import media
from weirtest.httpc import request
from test_cli import run_weir

ADMIN = "admin-token-0123456789"
READER = "read-token-0123456789ab"


def jget(s, path, token=None, method="GET"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = request(s.api_addr, method, path, headers=headers)
    body = json.loads(r.body) if r.body and r.header("content-type") == "application/json" else None
    return r, body


def test_api_without_token_serves_loopback_and_answers_json(weir, tmp_path):
    s = weir({})
    r, body = jget(s, "/api/v1/streams")
    assert r.status == 200 and body == {"items": [], "next_cursor": None}, (r.status, body)
    r, body = jget(s, "/api/v1/version")
    assert r.status == 200 and body["version"] == "0.1.0" and body["started_at"].endswith("Z"), body
    r = request(s.api_addr, "GET", "/api/v1/openapi.yaml")
    assert r.status == 200 and r.body.startswith(b"openapi: 3.1.0"), r.body[:80]
    # Errors are JSON with a code; 405 names the allowed methods.
    r, body = jget(s, "/api/v1/nothing")
    assert r.status == 404 and body["error"]["code"] == "not_found", body
    r, body = jget(s, "/api/v1/streams", method="DELETE")
    assert r.status == 405 and r.header("allow") == "GET, HEAD" and body["error"]["code"] == "method_not_allowed"
    r, body = jget(s, "/api/v1/streams?limti=5")
    assert r.status == 400 and body["error"]["field"] == "limti", body
    r, body = jget(s, "/api/v1/streams?limit=0")
    assert r.status == 400 and body["error"]["field"] == "limit", body
    r, body = jget(s, "/api/v1/streams?cursor=%2B%2B")
    assert r.status == 400 and body["error"]["field"] == "cursor", body
    r, body = jget(s, "/api/v1/streams/live/none")
    assert r.status == 404 and body["error"]["message"] == "no stream live/none", body
    # The players' port serves no admin route.
    for path in ("/api/v1/streams", "/api/v1/version", "/api/streams"):
        assert s.get(path).status == 404, path
    # The admin port serves no media.
    assert request(s.api_addr, "GET", "/live/s.flv").status == 404


def test_tokens_roles_and_paging(weir, tmp_path):
    s = weir({"api": {"token": ADMIN, "read_token": READER}})
    s.api_token = ADMIN
    r, body = jget(s, "/api/v1/streams")
    assert r.status == 401 and r.header("www-authenticate") == "Bearer", (r.status, r.headers)
    assert body["error"]["code"] == "unauthorized"
    r, _ = jget(s, "/api/v1/streams", token=ADMIN + "x")
    assert r.status == 401 and "invalid_token" in r.header("www-authenticate")
    r, _ = jget(s, "/api/v1/streams", token=ADMIN[:-1])
    assert r.status == 401
    assert jget(s, "/api/v1/streams", token=READER)[0].status == 200
    pubs = [media.start_publisher(s.rtmp_url(stream=f"s{i}"), tmp_path, f"p{i}", duration=8) for i in range(3)]
    for i in range(3):
        s.wait_stream(name=f"s{i}")
    r, page1 = jget(s, "/api/v1/streams?limit=2", token=ADMIN)
    assert r.status == 200 and [x["name"] for x in page1["items"]] == ["s0", "s1"], page1
    assert page1["next_cursor"], page1
    r, page2 = jget(s, f"/api/v1/streams?limit=2&cursor={page1['next_cursor']}", token=READER)
    assert [x["name"] for x in page2["items"]] == ["s2"] and page2["next_cursor"] is None, page2
    r, one = jget(s, "/api/v1/streams/live/s1", token=READER)
    assert one["live"] is True and one["publisher"]["protocol"] == "rtmp" and one["published_at"].endswith("Z")
    r, other = jget(s, "/api/v1/streams?app=other", token=ADMIN)
    assert other["items"] == []
    for p in pubs:
        p.stop()


def test_token_from_the_environment(weir):
    s = weir({}, env={"WEIR_API_TOKEN": ADMIN})
    assert jget(s, "/api/v1/version")[0].status == 401
    assert jget(s, "/api/v1/version", token=ADMIN)[0].status == 200


def test_api_config_is_checked(weir_bin, tmp_path):
    cases = [
        ("api:\n  listen: 0.0.0.0:0\n", ["api.listen", "not a loopback address"]),
        ("api:\n  token: short\n", ["api.token", "at least 16 characters"]),
        ("api:\n  read_token: \"with space 0123456789\"\n", ["api.read_token", "spaces"]),
    ]
    for text, needles in cases:
        path = tmp_path / "c.yaml"
        path.write_text(text + "apps:\n  live: {}\n")
        r = run_weir(weir_bin, "--check-config", "-c", str(path))
        out = r.stdout + r.stderr
        assert r.returncode != 0 and all(n in out for n in needles), (text, out)
    # A public address is fine with a token.
    path = tmp_path / "ok.yaml"
    path.write_text(f"api:\n  listen: 0.0.0.0:0\n  token: {ADMIN}\napps:\n  live: {{}}\n")
    r = run_weir(weir_bin, "--check-config", "-c", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
