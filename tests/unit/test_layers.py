# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layers of plugins/ (docs/architecture.md, "The folders of plugins/module_utils/"): every
import of the collection's module_utils, in every .py file under plugins/, checked against one
table of which folder may import which. The arrows stay one-way: detection never reaches the
apply, the planner never reaches the node, and the backends never reach what reads the node for
the facts. A piece two wings need moves to the shared top level; the table gets no exceptions."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
MODULE_UTILS_DIR = PLUGINS / "module_utils"
COLLECTION = "ansible_collections.microseg.cluster_firewall"
PLUGINS_PACKAGE = COLLECTION + ".plugins"
MODULE_UTILS = PLUGINS_PACKAGE + ".module_utils"

# A module at the top of module_utils (catalog, addresses, ports, errors, netfilter,
# firewalld_dbus, and any new one) is shared: every layer may import it, and it imports only
# other shared modules.
SHARED = "shared"

# layer -> the layers it may import (its own included). module_utils' folders first, then the
# plugin types that use them.
ALLOWED = {
    SHARED: {SHARED},
    # the controller side: pure, knows nothing of the node; the backends' pure halves (their specs:
    # files, packages, when auto chooses them, what blocks them) are where it learns of backends
    "planner": {SHARED, "planner", "backends"},
    # pure parsers: text in, data out
    "detect": {SHARED, "detect"},
    # what the fact modules read on the node: detect's parsers over node/'s readers
    # (node_reader.py, docker_api.py); never the apply
    "gather": {SHARED, "detect", "gather", "node"},
    # the backends' pure halves (specs, renderers, parsers, what to change): importable on the
    # controller, no node call; knows nothing of the facts' reading or the plan's making
    "backends": {SHARED, "backends"},
    # the backends' node halves (BACKEND_HOST_FILES: each package's host.py, the *_host.py helpers,
    # base.py's Runner, hosts.py): run the node's commands
    "backends_host": {SHARED, "backends", "backends_host"},
    # one host_firewall run, the confirm and the boot restore, over the backends
    "node": {SHARED, "node", "backends", "backends_host"},
    # the modules run on the node: facts through gather/, the apply through node/ and backends/
    "modules": {SHARED, "gather", "node", "backends", "backends_host"},
    # host_firewall's commit-confirm, on the controller: it drives the module's run, so it may
    # share node/'s and the backends' names; never the planner's
    "action": {SHARED, "node", "backends", "backends_host"},
    # the controller's filters: the planner, and the backends' pure halves (render, packages, names)
    "filter": {SHARED, "planner", "backends"},
    "doc_fragments": set(),
}
MODULE_UTILS_PACKAGES = ("planner", "detect", "gather", "backends", "node")
# backends/ holds both halves of every backend: a module of it is a node half when its dotted path
# under backends/ is one of these (a backend package's host.py or *_host.py, a helper named *_host,
# base.py with the Runner, hosts.py that imports every host.py); every other one is pure
BACKEND_HOST_FILES = re.compile(r"^(base|hosts|[a-z_]+_host|[a-z_]+\.([a-z_]+_)?host)$")


def layer_of_module_utils(name):
    """The layer of module_utils' dotted name `name` under module_utils (a folder, a .py file or a
    module of a folder); None for a folder the table does not know."""
    parts = name.split(".")
    if parts[0] == "backends" and len(parts) > 1 and BACKEND_HOST_FILES.match(".".join(parts[1:])):
        return "backends_host"
    if parts[0] in MODULE_UTILS_PACKAGES:
        return parts[0]
    if (MODULE_UTILS_DIR / parts[0]).is_dir():
        return None
    return SHARED


def layer_of_file(relative):
    """The layer of a file, from its path relative to plugins/ (a PurePosixPath-like)."""
    parts = relative.parts
    if parts[0] == "module_utils":
        dotted = list(parts[1:-1]) + ([] if parts[-1] == "__init__.py" else [parts[-1][:-3]])
        return layer_of_module_utils(".".join(dotted))
    return parts[0]


def _package_of(relative):
    """The dotted package of a file under plugins/, for relative imports."""
    return ".".join([PLUGINS_PACKAGE] + list(relative.parts[:-1]))


def _is_folder(dotted):
    """Whether a dotted name names a folder of module_utils (backends, backends.iptables, ...)."""
    if not dotted.startswith(MODULE_UTILS + "."):
        return False
    return MODULE_UTILS_DIR.joinpath(*dotted[len(MODULE_UTILS) + 1:].split(".")).is_dir()


def imported_names(tree, package):
    """(line, dotted name) of every import in the tree, inside functions too; a `from X import Y`
    gives X.Y when X is module_utils itself or one of its folders (Y is then a module or a folder),
    else X."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                yield node.lineno, base + "." + alias.name if base in (MODULE_UTILS, PLUGINS_PACKAGE) or _is_folder(base) else base


def layer_violations(relative, source):
    """["FILE:LINE imports NAME: RULE"] for every import of module_utils that the table forbids
    to the file's layer. relative: the file's path under plugins/."""
    shown = "plugins/%s" % relative.as_posix()
    layer = layer_of_file(relative)
    if layer not in ALLOWED:
        return ["%s: its layer %r has no row in test_layers.ALLOWED: add one, with the layers it may import"
                % (shown, layer)]
    found = []
    # one line importing several names of one module is one finding
    for line, name in sorted(set(imported_names(ast.parse(source, filename=shown), _package_of(relative)))):
        if name != MODULE_UTILS and not name.startswith(MODULE_UTILS + "."):
            continue
        target = layer_of_module_utils(name[len(MODULE_UTILS) + 1:]) if name != MODULE_UTILS else None
        if target is None:
            found.append("%s:%d imports %s: name a module of a folder test_layers.ALLOWED knows"
                         % (shown, line, name))
        elif target not in ALLOWED[layer]:
            allowed = "only " + ", ".join(sorted(ALLOWED[layer])) if ALLOWED[layer] else "nothing of module_utils"
            found.append("%s:%d imports %s: %s may import %s, not %s" % (shown, line, name, layer, allowed, target))
    return found


def plugin_files():
    return sorted(path.relative_to(PLUGINS) for path in PLUGINS.rglob("*.py"))


# ------------------------------------------------------------------------------------ the code


def test_every_plugin_file_keeps_to_its_layer():
    files = plugin_files()
    assert len(files) > 50, "plugins/ holds %d .py files: the walk missed them" % len(files)
    found = [text for relative in files
             for text in layer_violations(relative, (PLUGINS / relative).read_text())]
    assert not found, "imports across the layers of docs/architecture.md:\n" + "\n".join(found)


def test_every_folder_of_plugins_and_module_utils_has_a_row():
    folders = set(path.name for path in PLUGINS.iterdir() if path.is_dir()) - {"module_utils", "__pycache__"}
    assert folders <= set(ALLOWED), "plugin folders with no row: %s" % sorted(folders - set(ALLOWED))
    packages = set(path.name for path in MODULE_UTILS_DIR.iterdir() if path.is_dir()) - {"__pycache__"}
    assert packages == set(MODULE_UTILS_PACKAGES)


def test_the_shared_modules_are_the_top_level_of_module_utils():
    shared = sorted(path.stem for path in MODULE_UTILS_DIR.glob("*.py"))
    assert set(shared) >= {"catalog", "addresses", "ports", "errors"}
    assert all(layer_of_module_utils(name) == SHARED for name in shared)


def test_the_table_is_the_one_docs_architecture_states():
    """Each row of the page's table: `layer/` | what it may import besides itself (`backends/`'s
    node halves are a layer of their own: a row saying "node halves", and "both halves" where a
    layer may import them)."""
    rows = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) == 2 and cells[0] not in ("layer", "---"):
            layer = ["backends_host"] if "node halves" in cells[0] else re.findall(r"`([a-z_]+)/`", cells[0]) or [SHARED]
            rows[layer[0]] = set(re.findall(r"`([a-z_]+)/`", cells[1])) | ({SHARED} if "shared" in cells[1] else set()) \
                | ({"backends_host"} if "both halves" in cells[1] else set())
    assert rows == dict((layer, allowed - {layer}) for layer, allowed in ALLOWED.items())


def test_architecture_names_every_module_utils_file():
    """docs/architecture.md's folder list is where a reader looks for a module's place: none missing."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [path.relative_to(MODULE_UTILS_DIR).as_posix() for path in sorted(MODULE_UTILS_DIR.rglob("*.py"))
               if path.name != "__init__.py" and "`%s`" % path.name not in text
               and "`%s`" % path.relative_to(MODULE_UTILS_DIR).as_posix() not in text
               and "`%s/%s`" % (path.parent.name, path.name) not in text]
    assert not missing, "docs/architecture.md does not name: %s" % ", ".join(missing)


# ------------------------------------------------------------------------- the checker itself

PLANNER_FILE = Path("module_utils/planner/profile.py")


@pytest.mark.parametrize("source, name", [
    ("from %s.detect.firewall import input_blockers\n" % MODULE_UTILS, MODULE_UTILS + ".detect.firewall"),
    ("from %s import gather\n" % MODULE_UTILS, MODULE_UTILS + ".gather"),
    ("import %s.node.confirm as confirm\n" % MODULE_UTILS, MODULE_UTILS + ".node.confirm"),
    ("from ..backends.iptables import host\n", MODULE_UTILS + ".backends.iptables.host"),
    ("def late():\n    from %s.backends.base import Runner\n" % MODULE_UTILS, MODULE_UTILS + ".backends.base"),
    ("from %s.backends import hosts\n" % MODULE_UTILS, MODULE_UTILS + ".backends.hosts"),
], ids=["from-module", "from-package", "import-as", "relative", "in-a-function", "backend-node-halves"])
def test_a_forbidden_import_is_reported_with_file_import_and_rule(source, name):
    """The negative control: a planner file that imports the node side is caught, in every form."""
    found = layer_violations(PLANNER_FILE, source)
    assert len(found) == 1
    assert found[0].startswith("plugins/module_utils/planner/profile.py:")
    assert (" imports %s: " % name) in found[0]
    assert "planner may import only backends, planner, shared, not " in found[0]


@pytest.mark.parametrize("relative, source", [
    (PLANNER_FILE, "from %s import catalog\nfrom %s.planner.groups import roles_of\n" % (MODULE_UTILS, MODULE_UTILS)),
    (PLANNER_FILE, "from %s.backends import registry\nfrom ..backends.iptables import spec\n" % MODULE_UTILS),
    (Path("module_utils/gather/cni.py"), "from %s.node.node_reader import NodeReader\n" % MODULE_UTILS),
    (Path("module_utils/node/host_firewall_run.py"), "from %s.backends.iptables import host\n" % MODULE_UTILS),
    (Path("modules/node_facts.py"), "from ansible.module_utils.basic import AnsibleModule\nimport json\n"),
], ids=["planner-shared-and-own", "planner-backend-specs", "gather-node-reader", "node-backends", "not-module-utils"])
def test_an_allowed_import_is_not_reported(relative, source):
    assert layer_violations(relative, source) == []


def test_a_shared_module_may_import_only_shared_ones():
    found = layer_violations(Path("module_utils/ports.py"), "from %s.detect import cni\n" % MODULE_UTILS)
    assert found == ["plugins/module_utils/ports.py:1 imports %s.detect.cni: shared may import only shared, not detect"
                     % MODULE_UTILS]


def test_a_layer_with_no_row_is_reported():
    found = layer_violations(Path("lookup/anything.py"), "import os\n")
    assert found == ["plugins/lookup/anything.py: its layer 'lookup' has no row in test_layers.ALLOWED: "
                     "add one, with the layers it may import"]


def test_a_plugin_that_may_import_nothing_says_so():
    found = layer_violations(Path("doc_fragments/attributes.py"), "from %s import catalog\n" % MODULE_UTILS)
    assert found == ["plugins/doc_fragments/attributes.py:1 imports %s.catalog: doc_fragments may import "
                     "nothing of module_utils, not shared" % MODULE_UTILS]


@pytest.mark.parametrize("relative, source, name", [
    (Path("module_utils/backends/iptables/spec.py"), "from ..iptables import host\n", ".backends.iptables.host"),
    (Path("module_utils/backends/registry.py"), "from %s.backends import hosts\n" % MODULE_UTILS, ".backends.hosts"),
    (Path("module_utils/backends/nftables/render.py"), "from %s.backends.base import Runner\n" % MODULE_UTILS,
     ".backends.base"),
], ids=["spec-host", "registry-hosts", "render-runner"])
def test_a_backends_pure_half_that_imports_a_node_half_is_reported(relative, source, name):
    """What the controller imports of a backend must not bring its node half along."""
    found = layer_violations(relative, source)
    assert len(found) == 1 and (" imports %s%s: backends may import only backends, shared, not backends_host"
                                % (MODULE_UTILS, name)) in found[0], found


def test_the_node_halves_of_the_backends_are_told_apart():
    assert layer_of_file(Path("module_utils/backends/iptables/host.py")) == "backends_host"
    assert layer_of_file(Path("module_utils/backends/observe_host.py")) == "backends_host"
    assert layer_of_file(Path("module_utils/backends/nftables/records_host.py")) == "backends_host"
    assert layer_of_file(Path("module_utils/backends/iptables/spec.py")) == "backends"
    assert layer_of_file(Path("module_utils/backends/registry.py")) == "backends"
    assert layer_of_file(Path("module_utils/backends/iptables/__init__.py")) == "backends"
