"""What `linkolis serve` does with a request's body: nothing before it knows the sender is signed in and posts from
one of our own pages, never more than a form (or a stock file) can be, and a stock file read a piece at a time.

Against a real serve process over a raw socket, so that "answered before the body was sent" is what is seen."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import pytest
from served import serve_process

# What is read or refused before the store is asked: once. A stock file's rows on both stores: test_stock_load.
pytestmark = pytest.mark.one_store("a request's body, read or refused before the store")

MIB = 1024 * 1024
ANNA = {"anna@example.com": "Anna's shop"}


def send_and_read(served, head: str, body: bytes = b"", wait: float = 10.0) -> str:
    """Send a request's head and the first part of its body, then read what comes back (at most ``wait`` seconds)
    without sending the rest: the status line, or "" when the server waits for more."""
    address = urlsplit(served.url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        sock.settimeout(wait)
        try:
            answer = sock.recv(65536).decode(errors="replace")
        except TimeoutError:
            return ""
    return answer.partition("\r\n")[0]


def cookie_and_csrf(served, email="anna@example.com"):
    client = served.client()
    served.sign_in(client, email)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/stock").text).group(1)
    return client, "; ".join(f"{k}={v}" for k, v in client.cookies.items()), token


def upload_head(length: int, cookie: str = "", extra: str = "") -> str:
    return (
        "POST /stock/upload HTTP/1.1\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=XyZ\n"
        f"Content-Length: {length}\n" + (f"Cookie: {cookie}\n" if cookie else "") + extra
    )


def test_an_upload_from_someone_not_signed_in_is_answered_before_its_body_arrives(tmp_path):
    with serve_process(tmp_path / "home", ANNA) as served:
        status = send_and_read(served, upload_head(40 * MIB), b"--XyZ\r\n" + b"x" * 1024)
    assert status == "HTTP/1.1 303 See Other"  # to the sign-in page, 39.99 MB never read


def test_a_form_posted_from_another_site_is_refused_before_its_body_arrives(tmp_path):
    with serve_process(tmp_path / "home", ANNA) as served:
        client, cookie, _ = cookie_and_csrf(served)
        status = send_and_read(served, upload_head(40 * MIB, cookie, "Sec-Fetch-Site: cross-site\n"), b"x" * 1024)
        client.close()
    assert status == "HTTP/1.1 403 Forbidden"


def test_a_body_larger_than_its_page_accepts_is_refused_unread(tmp_path):
    with serve_process(tmp_path / "home", ANNA) as served:
        client, cookie, _ = cookie_and_csrf(served)
        form = "POST /stock/set HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/x-www-form-urlencoded\n"
        declared = send_and_read(served, f"{form}Content-Length: {2 * MIB}\nCookie: {cookie}\n", b"sku=")
        upload = send_and_read(served, upload_head(60 * MIB, cookie), b"--XyZ")
        chunked = send_and_read(
            served,
            f"{form}Transfer-Encoding: chunked\nCookie: {cookie}\n",
            b"".join(b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024) for _ in range(24)),  # 1.5 MiB, never ending
        )
        client.close()
    assert declared == "HTTP/1.1 413 Request Entity Too Large"
    assert upload == "HTTP/1.1 413 Request Entity Too Large"
    assert chunked == "HTTP/1.1 413 Request Entity Too Large"


def test_a_stock_file_is_read_a_piece_at_a_time_not_whole(tmp_path):
    """45 MB of upload that is not a stock file: refused at its second line, having read little more of it. Read
    whole (then written out and read whole again), it took serve's memory up by twice its size."""
    big = b"sku,quantity\r\n" + b"A" * (45 * MIB) + b",1\r\n"
    with serve_process(tmp_path / "home", ANNA) as served:
        client, _, token = cookie_and_csrf(served)
        served.reset_peak()
        before = served.memory("VmRSS")
        answer = client.post("/stock/upload", data={"csrf": token}, files={"file": ("big.csv", big, "text/csv")})
        peak = served.memory("VmHWM")
        client.close()
    assert answer.status_code == 422
    assert "Nothing of big.csv was applied; these rows are not right" in answer.text
    assert peak - before < 25 * MIB, f"peak {(peak - before) / MIB:.0f} MiB above {before / MIB:.0f} MiB"


def test_a_stock_file_uploaded_is_recorded_and_a_bad_one_is_named_by_its_file_name(tmp_path):
    with serve_process(tmp_path / "home", ANNA) as served:
        client, _, token = cookie_and_csrf(served)
        rows = "sku,quantity\n" + "".join(f"SKU-{n},{n}\n" for n in range(2000))
        good = client.post("/stock/upload", data={"csrf": token}, files={"file": ("levels.csv", rows, "text/csv")})
        bad = client.post(
            "/stock/upload", data={"csrf": token}, files={"file": ("typo.csv", "sku,quantity\nA,-3\n", "text/csv")}
        )
        client.close()
    assert good.status_code == 200 and "2000 stock level(s) recorded." in good.text
    assert bad.status_code == 422 and "Nothing of typo.csv was applied; these rows are not right" in bad.text
