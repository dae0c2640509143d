# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which flows between the inventory's nodes must pass or be blocked, and whether they do.

- evaluate(): what a plan does with a new TCP/UDP packet (the plan read as the kernel reads
  the rendered rules), so expectations come from the same plan that was applied;
- probe_matrix(): per source host, a bounded list of TCP probes - for every admitted port one
  source the plan admits and one it does not, plus one port nobody admitted;
- verdicts(): probe outcomes against expectations. A refused connection passed the firewall
  (the RST came back); only a timeout means the packet was dropped.
"""

from __future__ import annotations

try:
    import netaddr
except ImportError:  # pragma: no cover - controller side, netaddr is a requirement
    netaddr = None

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import ports_from_strings

DEFAULT_CLOSED_PORT = 9          # discard: no cluster needs it; the negative control of every node
MAX_PROBES_PER_TARGET = 24


def _in_sets(plan, names, address):
    for name in names:
        content = plan["sets"].get(name) or {}
        for cidr in content.get("ipv4", []) + content.get("ipv6", []):
            if netaddr.IPAddress(address) in netaddr.IPNetwork(cidr):
                return True
    return False


def _matches(rule, plan, source, proto, port, destination=None):
    if rule.get("match"):                 # loopback / established / dnat: never a new remote connection
        return False
    if rule.get("to") and (destination is None or not _in_sets(plan, rule["to"], destination)):
        return False
    if rule["proto"] not in (proto, "all", None):
        return False
    if rule["icmp_types"]:
        return False
    if rule["ports"] and not any(low <= port <= high for low, high in ports_from_strings(rule["ports"])):
        return False
    return not rule["from"] or _in_sets(plan, rule["from"], source)


def evaluate(plan, source, proto, port, destination=None):
    """The verdict of the plan for a new connection to `destination` (None: one of the node's own
    addresses, which no destination set holds): the action of the first matching rule, else the
    default. 'drop' is the only verdict that blocks."""
    if plan["passthrough"]:
        return "return"
    for rule in plan["rules"]:
        if rule["action"] in ("count", "log"):      # a watching blacklist: the packet goes on
            continue
        if _matches(rule, plan, source, proto, port, destination):
            return rule["action"]
    return plan["default"]


def expectation(verdict):
    return "blocked" if verdict == "drop" else "passes"


def probe_matrix(plans, addresses, closed_port=DEFAULT_CLOSED_PORT):
    """{source host: [probe]} where a probe is {target, address, port, expect, why}.

    For each TCP port a whitelist rule lists (the first port of a range), one source the plan
    admits and one it does not; other nodes are preferred, the node itself is a source only
    when no other node shows the outcome (so ports admitted only from self are probed both
    ways where another node shows the blocked side; a node reaching itself goes over loopback, which
    always passes, so it never stands for a blocked probe). plans: {host: plan}; addresses: {host: [addresses]} (the first IPv4 one is probed)."""
    first = dict((host, next((a for a in addrs if ":" not in a), None)) for host, addrs in addresses.items())
    matrix = {}
    for target, plan in sorted(plans.items()):
        if plan["passthrough"] or not first.get(target):
            continue
        ports = {}
        for rule in plan["rules"]:
            if rule["phase"] == "whitelist" and rule["proto"] == "tcp" and rule["ports"] and not rule.get("to"):
                for low, _high in ports_from_strings(rule["ports"]):
                    ports.setdefault(low, ",".join(why["id"] for why in rule["why"]))
        ports.setdefault(closed_port, "negative control: a port no rule admits")
        sources = [host for host in sorted(first) if host != target and first[host]] + [target]
        count = 0
        for port, why in sorted(ports.items()):
            chosen = {}
            for source in sources:
                outcome = expectation(evaluate(plan, first[source], "tcp", port))
                # a node reaching its own address goes over loopback, which every plan admits:
                # it can never show the blocked side
                if source != target or outcome == "passes":
                    chosen.setdefault(outcome, source)
            for outcome, source in sorted(chosen.items()):
                if count >= MAX_PROBES_PER_TARGET:
                    break
                matrix.setdefault(source, []).append({"target": target, "address": first[target], "port": port,
                                                      "expect": outcome, "why": why})
                count += 1
    return matrix


def verdicts(matrix, results):
    """Join expectations and probe results: [{source, target, port, expect, seen, ok, why}]."""
    rows = []
    for source, probes in sorted(matrix.items()):
        seen = dict(((item["address"], item["port"]), item["state"]) for item in results.get(source) or [])
        for probe in probes:
            state = seen.get((probe["address"], probe["port"]), "not probed")
            observed = "blocked" if state == "timeout" else "passes" if state in ("open", "refused") else state
            rows.append(dict(probe, source=source, state=state, seen=observed, ok=observed == probe["expect"]))
    return rows


def verdict_table(rows):
    """The verify matrix as text: expected vs seen, one flow a line."""
    lines = ["%-22s %-22s %-6s %-8s %-8s %-4s %s" % ("from", "to", "port", "expect", "seen", "ok", "why")]
    for row in rows:
        cells = (row["source"], row["target"], row["port"], row["expect"], row["seen"], "yes" if row["ok"] else "NO",
                 row["why"])
        lines.append("%-22s %-22s %-6s %-8s %-8s %-4s %s" % cells)
    broken = [row for row in rows if not row["ok"]]
    lines.append("%d flows, %d as expected, %d broken" % (len(rows), len(rows) - len(broken), len(broken)))
    return "\n".join(lines)
