# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observe, on both backends, with real traffic: monitor in host mode records what the plan does
not admit; observe.yml reports exactly those flows with the right source host, group, protocol
and port (and none of the admitted ones); the suggested whitelist, applied with block, admits
them while a port never touched stays blocked; a flood of 100,000 tuples stays within the
records' bound and the node keeps working; report.html renders in headless Chromium."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess

import pytest
import yaml
from conftest import control_plane_with_listeners, lab_inventory, playbook, reachable

FLOOD = """python3 - <<'EOF'
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(1, 50001):
    sock.sendto(b"x", ("%s", port))
EOF"""


@pytest.fixture(scope="module", params=["iptables", "nftables"])
def lab(request, lab_nodes, tmp_path_factory):
    backend = request.param
    cp = lab_nodes("obs-cp-" + backend)
    c1, c2 = lab_nodes("obs-c1-" + backend), lab_nodes("obs-c2-" + backend)
    workdir = tmp_path_factory.mktemp("observe-" + backend)
    inventory = lab_inventory(workdir / "hosts.yml", groups={"kube_control_plane": [cp], "clients": [c1, c2]},
                              microseg_mode="host", microseg_state="monitor", microseg_backend=backend)
    ip = control_plane_with_listeners(cp, 6443, 8080, 9999)
    return backend, cp, c1, c2, ip, inventory, workdir


def records_in_kernel(node, backend):
    if backend == "nftables":
        out = node.sh("nft -j list set inet microseg observed_v4").stdout
        return len(json.loads(out)["nftables"][1]["set"].get("elem", []))
    out = node.sh("ipset list -t mseg-obs-first-v4").stdout
    return int(out.split("Number of entries:")[1].split()[0])


def screenshot(html, png):
    """Render the report in headless Chromium: the page's text (the DOM after rendering) and a PNG."""
    browser = shutil.which("chromium")
    assert browser, "chromium is missing: lab/deps.sh installs it"
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=%s" % (png.parent / "chrome")]
    dom = subprocess.run(flags + ["--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    subprocess.run(flags + ["--window-size=1200,900", "--screenshot=%s" % png, html.as_uri()], capture_output=True,
                   text=True, timeout=120, check=True)
    return dom.stdout


def test_monitor_observe_suggest_block(lab):
    backend, cp, c1, c2, ip, inventory, workdir = lab
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]

    # what the plan admits (6443, any source) and what it does not (8080 from both clients, udp 5353 from c1)
    assert reachable(c1, ip, 6443)
    assert reachable(c1, ip, 8080) and reachable(c2, ip, 8080)        # monitor: counted, not dropped
    c1.sh("echo probe | nc -u -w 1 %s 5353" % ip, check=False)

    out = workdir / "observe"
    proc, recap = playbook("observe.yml", inventory, "-e", "microseg_observe_dir=%s" % out,
                           "-e", "microseg_observe_reset=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    observed = json.loads((out / "observed.json").read_text())
    flows = [flow for flow in observed["flows"] if flow["destination"] == cp.name]
    seen = dict(((flow["proto"], flow["port"]), flow) for flow in flows)
    assert set(seen) == {("tcp", 8080), ("udp", 5353)}, flows       # exactly those; 6443 is admitted
    assert sorted(source["host"] for source in seen["tcp", 8080]["sources"]) == sorted([c1.name, c2.name])
    assert all(source["groups"] == ["clients"] for source in seen["tcp", 8080]["sources"])
    assert [source["host"] for source in seen["udp", 5353]["sources"]] == [c1.name]
    assert seen["tcp", 8080]["packets"] >= 2 and seen["tcp", 8080]["first_seen"] <= seen["tcp", 8080]["last_seen"]
    assert observed["nodes"][cp.name]["backend"] == backend
    assert any("k8s_apiserver" in hit["rule"] and hit["packets"] > 0 for hit in observed["nodes"][cp.name]["rule_hits"])
    assert records_in_kernel(cp, backend) == 0                      # observe_reset started a new window

    suggested = yaml.safe_load((out / "suggested-whitelist.yml").read_text())
    entries = suggested["all"]["hosts"][cp.name]["microseg_whitelist"]
    assert {"port": 8080, "proto": "tcp", "from": ["clients"]} in [dict((key, entry[key]) for key in ("port", "proto", "from"))
                                                                   for entry in entries]
    assert {"port": 5353, "proto": "udp", "from": [c1.name]} in [dict((key, entry[key]) for key in ("port", "proto", "from"))
                                                                 for entry in entries]
    assert "8080" in (out / "report.md").read_text()

    dom = screenshot(out / "report.html", workdir / "report.png")
    assert cp.name in dom and c1.name in dom and "tcp 8080" in dom
    png = (workdir / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1200, 900)
    assert len(png) > 10000                                         # a page with tables, not a blank one

    proc, recap = playbook("site.yml", inventory, "-i", str(out / "suggested-whitelist.yml"),
                           "-e", "microseg_state=block")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert reachable(c1, ip, 8080) and reachable(c2, ip, 8080)      # admitted now
    assert reachable(c1, ip, 6443)
    assert not reachable(c1, ip, 9999)                              # never touched: blocked (negative control)

    # a scan: 2 x 50,000 distinct ports (100,000 tuples) against a bound of 65,536 records
    c1.sh(FLOOD % ip)
    c2.sh(FLOOD % ip)
    # recorded, within the bound (ipset counts its entries per lock region: a concurrent flood can
    # pass the bound by a few hundred before every region sees it)
    assert 60000 < records_in_kernel(cp, backend) <= 65536 + 1024
    assert reachable(c1, ip, 8080) and not reachable(c1, ip, 9999)  # the node still works, and still blocks
