#!/usr/bin/env python3
"""Capture requests signed by real AWS clients, as SigV4 test fixtures.

Starts a tiny HTTP server on 127.0.0.1, points the aws CLI (and boto3 for a
presigned STS URL) at it with --endpoint-url, and saves each request exactly
as it arrived on the socket:

    clients/<name>.http     raw request bytes (request line, headers, body)
    clients/fixtures.json   per fixture: client, command, credentials, signing time

The Go tests replay the files through Verifier.Verify; they never need Python.
Re-run from this directory with the pyenv aws CLI (v1, botocore) on PATH:

    python3 capture.py
"""

import email.utils
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import http.client

ACCESS_KEY = "AKIACAIRNFIXTURE0001"
SECRET_KEY = "cairn/fixture+secret/NOT-A-REAL-KEY/0001xyz"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//cairn+fixture/session=token"
REGION = "us-east-1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")


class Server:
    """Accepts one request per connection, records its raw bytes, answers 200."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            try:
                self.handle(conn)
            finally:
                conn.close()

    def handle(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        self.requests.append(head + b"\r\n\r\n" + body)
        ctype, payload, extra = respond(head.split(b"\r\n")[0].decode(), headers)
        resp = (
            "HTTP/1.1 200 OK\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
            "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n"
            f"{extra}Connection: close\r\n\r\n"
        ).encode() + payload
        conn.sendall(resp)


def respond(request_line, headers):
    """A minimal successful answer in the protocol the client used."""
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/x-amz-json"):
        return ctype, b"{}", ""
    if ctype.startswith("application/cbor"):
        return "application/cbor", b"\xa0", "smithy-protocol: rpc-v2-cbor\r\n"
    if ctype.startswith("application/x-www-form-urlencoded"):
        xml = (
            '<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
            "<ListTopicsResult><Topics/></ListTopicsResult>"
            "<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></ListTopicsResponse>"
        )
        return "text/xml", xml.encode(), ""
    if "/PutAuditEvents" in request_line:
        return "application/json", b'{"successful":[],"failed":[]}', ""
    if "Action=GetCallerIdentity" in request_line:
        xml = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/fixture</Arn>"
            "<UserId>AIDACAIRNFIXTURE</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
            "</GetCallerIdentityResponse>"
        )
        return "text/xml", xml.encode(), ""
    return "application/octet-stream", b"", 'ETag: "d41d8cd98f00b204e9800998ecf8427e"\r\n'


# CLI v1 presigns S3 URLs with SigV2 unless told otherwise.
CONFIG = tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False)
CONFIG.write("[default]\ns3 =\n    signature_version = s3v4\n")
CONFIG.close()


def env(session_token=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=CONFIG.name,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
        AWS_EC2_METADATA_DISABLED="true",
        # Keep S3 PutObject a plain signed body, not an aws-chunked trailer.
        AWS_REQUEST_CHECKSUM_CALCULATION="when_required",
    )
    if session_token:
        e["AWS_SESSION_TOKEN"] = session_token
    return e


def aws(server, args, session_token=None):
    cmd = ["aws", "--endpoint-url", f"http://127.0.0.1:{server.port}"] + args
    out = subprocess.run(cmd, env=env(session_token), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
    return out.stdout


def get(server, url):
    m = re.match(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
    c = http.client.HTTPConnection("127.0.0.1", int(m.group(1)))
    c.request("GET", m.group(2))
    c.getresponse().read()
    c.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    server = Server()
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True)
    client = (version.stdout or version.stderr).split()[0] + " " + [
        w for w in (version.stdout or version.stderr).split() if w.startswith("botocore/")][0]
    fixtures = []

    def capture(name, command, run, session_token=None, client=client):
        server.requests.clear()
        run()
        if not server.requests:
            sys.exit(f"{name}: nothing captured")
        raw = server.requests[0]
        with open(os.path.join(OUT, name + ".http"), "wb") as f:
            f.write(raw)
        m = re.search(rb"X-Amz-Date[:=] ?(\d{8}T\d{6}Z)", raw)
        if m:
            date = m.group(1).decode()
        else:  # signed with the Date header
            d = re.search(rb"\r\nDate: ([^\r]+)", raw).group(1).decode()
            date = email.utils.parsedate_to_datetime(d).strftime("%Y%m%dT%H%M%SZ")
        fixtures.append(
            dict(
                name=name,
                client=client,
                command=command,
                access_key_id=ACCESS_KEY,
                secret_access_key=SECRET_KEY,
                session_token=session_token or "",
                signed_at=date,
            )
        )
        print(f"{name}: {len(raw)} bytes, signed at {date}")

    def cli(name, args, session_token=None):
        capture(name, "aws " + " ".join(args), lambda: aws(server, args, session_token), session_token)

    cli("cli-cloudtrail-lookup-events",
        ["cloudtrail", "lookup-events", "--max-results", "5",
         "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ConsoleLogin"])
    cli("cli-logs-describe-log-groups",
        ["logs", "describe-log-groups", "--log-group-name-prefix", "/aws/cairn", "--limit", "5"])
    cli("cli-cloudwatch-list-metrics",
        ["cloudwatch", "list-metrics", "--namespace", "AWS/CloudTrail", "--metric-name", "CallCount"])
    cli("cli-sns-list-topics", ["sns", "list-topics"])
    cli("cli-cloudtrail-describe-trails-session-token", ["cloudtrail", "describe-trails"],
        session_token=SESSION_TOKEN)
    cli("cli-cloudtrail-data-put-audit-events",
        ["cloudtrail-data", "put-audit-events",
         "--channel-arn", "arn:aws:cloudtrail:us-east-1:123456789012:channel/01234567-89ab-cdef-0123-456789abcdef",
         "--external-id", "ext/1 +x",
         "--audit-events", json.dumps([{"id": "e1", "eventData": json.dumps(
             {"version": "1.0", "userIdentity": {"type": "CairnUser", "principalId": "ünïcode"},
              "eventSource": "cairn.example", "eventName": "Sign in"})}])])

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write('{"Records":[{"eventName":"PutObject","note":"ünïcode"}]}\n')
    try:
        cli("cli-s3api-put-object",
            ["s3api", "put-object", "--bucket", "cairn-fixtures", "--key", "AWSLogs/a b/ünïcode+ (1).json",
             "--body", f.name, "--content-type", "application/json"])
    finally:
        os.unlink(f.name)

    def s3_presign():
        url = aws(server, ["s3", "presign", "s3://cairn-fixtures/AWSLogs/a b/ünïcode.json",
                           "--expires-in", "600"]).strip()
        get(server, url)
    capture("cli-s3-presign-get", "aws s3 presign s3://cairn-fixtures/AWSLogs/a b/ünïcode.json "
            "--expires-in 600, then GET", s3_presign)

    def sts_presign():
        import boto3
        sts = boto3.client("sts", region_name=REGION, endpoint_url=f"http://127.0.0.1:{server.port}",
                           aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        # As `aws eks get-token` does; without HttpMethod botocore signs it as a POST.
        get(server, sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET"))
    import boto3
    capture("boto3-sts-presign-get-caller-identity",
            "boto3 sts.generate_presigned_url('get_caller_identity', ExpiresIn=60, HttpMethod='GET'), then GET",
            sts_presign, client=f"boto3/{boto3.__version__} botocore/{__import__('botocore').__version__}")

    def date_header():
        # botocore signs with the Date header instead of X-Amz-Date when the
        # request already has one.
        ct = boto3.client("cloudtrail", region_name=REGION, endpoint_url=f"http://127.0.0.1:{server.port}",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        ct.meta.events.register("before-sign.cloudtrail.DescribeTrails",
                                lambda request, **kw: request.headers.__setitem__("Date", "x"))
        ct.describe_trails(trailNameList=["cairn"])
    capture("boto3-cloudtrail-date-header",
            "boto3 cloudtrail.describe_trails with a Date header (signed instead of X-Amz-Date)",
            date_header, client=f"boto3/{boto3.__version__} botocore/{__import__('botocore').__version__}")

    with open(os.path.join(OUT, "fixtures.json"), "w") as f:
        json.dump(fixtures, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    try:
        main()
    finally:
        os.unlink(CONFIG.name)
