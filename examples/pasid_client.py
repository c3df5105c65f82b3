#!/usr/bin/env python3
"""A pasid-ledger serve client with the Python standard library only.

Runs a request file (one JSON request per line, as for `pasid-ledger run`) against
the server over its Unix socket, one POST /v1/requests per line on one kept-alive
connection, and prints each outcome as one JSON line, as `pasid-ledger run --json` does.

usage: pasid_client.py SOCKET TOKEN REQUEST_FILE
"""
import http.client
import json
import socket
import sys


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over an AF_UNIX stream socket."""

    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.unix_path)
        self.sock = s


def post(conn, token, request):
    body = json.dumps(request).encode()
    conn.request("POST", "/v1/requests", body=body, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    res = conn.getresponse()
    data = json.loads(res.read())
    if res.status != 200:
        raise SystemExit("pasid_client: %d %s" % (res.status, data.get("error")))
    return data


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sock_path, token, path = sys.argv[1:]
    conn = UnixHTTPConnection(sock_path)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            outcome = post(conn, token, json.loads(line))
            print(json.dumps(outcome, separators=(",", ":"), ensure_ascii=False))
    conn.close()


if __name__ == "__main__":
    main()
