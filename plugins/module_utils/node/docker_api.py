# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal read-only client for the Docker Engine API over its Unix socket (no SDK needed)."""

from __future__ import annotations

import http.client as http_client
import json
import socket


class DockerAPIError(Exception):
    pass


class _UnixHTTPConnection(http_client.HTTPConnection):
    def __init__(self, path, timeout):
        http_client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self._socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


def docker_get(socket_path, path, timeout):
    """GET path -> decoded JSON. Raises DockerAPIError with a readable reason."""
    connection = _UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request("GET", path, headers={"Host": "docker"})
        response = connection.getresponse()
        body = response.read()
    except socket.timeout:
        raise DockerAPIError("no answer from %s within %ss (GET %s)" % (socket_path, timeout, path))
    except (OSError, http_client.HTTPException) as error:
        raise DockerAPIError("cannot talk to %s: %s" % (socket_path, error))
    finally:
        connection.close()
    if response.status != 200:
        raise DockerAPIError("GET %s answered %d: %s" % (path, response.status, body[:200].decode("utf-8", "replace")))
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        raise DockerAPIError("GET %s answered something that is not JSON" % path)
