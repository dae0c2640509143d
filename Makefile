# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed from here: Python packages into .venv (pinned in requirements-dev.txt), Debian
# packages for the lab (lab/deps.sh, as root), the lab's node image (lab/image.sh, cached).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
COMPILED := $(VENV)/.compiled
COLLECTION_LINK := .collections/ansible_collections/microseg/cluster_firewall
SANITY_ROOT := build/sanity
SANITY_DIR := $(SANITY_ROOT)/ansible_collections/microseg/cluster_firewall
# ansible-test pins its own test requirements, which clash with ours: it gets a venv of its own,
# with the same ansible-core.
SANITY_VENV := .venv-sanity
BUILD_VENV := .venv-build
SANITY_STAMP := $(SANITY_VENV)/.installed
ANSIBLE_TEST := $(CURDIR)/$(SANITY_VENV)/bin/ansible-test
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# podman for the lab: runc, cgroupfs, low ulimits (see lab/containers.conf); /etc is left alone
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
SCENARIOS := swarm k8s-flannel k8s-calico
LAB := inventories/lab

.PHONY: help setup deps demo-deps images demo-images demo demo-down plan test unit lab pytest molecule test-vm vm-deps vm-down \
	sanity lint galaxy bench build ee clean

help:
	@echo "make demo       bring up the lab (podman: a swarm and a Kubernetes-shaped cluster), apply the"
	@echo "                whitelist (site.yml), print each node's table and the verify matrix"
	@echo "make demo-down  remove the lab"
	@echo "make plan       plan the example inventory offline and print each node's whitelist"
	@echo "make unit       the unit and property tests: no root, no containers, under a minute (the inner loop)"
	@echo "make lab        the integration tests (pytest -m lab: podman nodes, network namespaces, real ansible)"
	@echo "make test       every stage, timed: unit, lab, molecule scenarios, the vagrant scenario on real VMs"
	@echo "                (make test-vm), ansible-test sanity, ansible-lint, galaxy-importer and the antsibull"
	@echo "                changelog/docs linters (make galaxy)"
	@echo "make test-vm    the vagrant scenario alone, on real VMs (libvirt, plain qemu emulation): calico IPIP"
	@echo "                and WireGuard, kube-proxy IPVS, a real reboot, a lockout over a real NIC (about 20 min)"
	@echo "make bench      benchmarks (planning, set scaling, apply vs ansible.builtin.iptables); prints"
	@echo "                tables, observe.yml on a full record window; not part of make test (about 25 minutes)"
	@echo "make images     build the lab's node images (once per machine)"
	@echo "make build      build the collection tarball into build/ (needs only ansible-core)"
	@echo "make ee         build the lab's execution environment (podman, Debian base, this checkout's"
	@echo "                collection); docs/awx.md has ansible-builder's for AWX's own base"
	@echo "make clean      remove .venv, build/ and the collection link"

# --no-compile: byte-compiling the ~250 MB of bundled collections at install costs ~25 s.
$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-compile -r requirements-dev.txt
	touch $@

# What the controller imports is compiled instead (~10 s): every ansible-playbook run and each of
# its forked workers imports ansible-core, Jinja2 and the plugins, and where PYTHONDONTWRITEBYTECODE
# is set (CI machines) Python would compile them again in every process, about 1 s of CPU per
# ansible-playbook run (docs/development.md). A stamp of its own, so an existing .venv gets it too.
$(COMPILED): $(STAMP)
	$(BIN)/python -m compileall -q -j 0 -x '/ansible_collections/' $(VENV)/lib/python*/site-packages >/dev/null
	$(BIN)/python -m compileall -q -j 0 $(addprefix $(VENV)/lib/python*/site-packages/ansible_collections/,\
	  containers/podman ansible/posix ansible/utils) >/dev/null
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

# The collection's own Python, compiled for the same reason (a fraction of a second; a file edited
# since is compiled again in memory, never stale).
setup: $(COMPILED) $(COLLECTION_LINK)
	@$(BIN)/python -m compileall -q plugins >/dev/null

deps:
	bash lab/deps.sh

demo-deps:
	bash lab/deps.sh demo

# The lab's node images (lab/image.sh; built once per machine, rebuilt when the package list
# changes), two at a time: debootstrap waits on downloads more than on the CPU.
images: deps
	lab/images.sh base docker systemd trixie

# The demo uses two of them.
demo-images: demo-deps
	lab/images.sh base docker

# The main job on the built-in lab: nodes up and prepared (lab/up.yml), the whitelist applied
# (site.yml prints every node's table: what is admitted, from where, why), then the real-traffic
# verify matrix (verify.yml). Running it again keeps the lab and changes nothing.
demo: setup demo-images
	ansible-playbook -i $(LAB) lab/up.yml
	ansible-playbook -i $(LAB) playbooks/site.yml
	ansible-playbook -i $(LAB) playbooks/verify.yml

demo-down: setup
	ansible-playbook -i $(LAB) lab/down.yml

plan: setup
	ansible-playbook playbooks/plan.yml

# Every stage with the time each took (lab/stages.sh prints the table). The unit tests first (a
# minute: a broken change stops there). Then the lab tests and the molecule scenarios side by side:
# both wait on node start-up, timeouts and other processes far more than they use the CPU (about 25
# minutes for both on 2 cores instead of about 32 one after the other). Then the vagrant scenario
# on real VMs, with the three static checks beside its first minutes (installing Vagrant, libvirt
# and qemu, building the box: downloads, not CPU; the checks are done before the VMs boot). The
# static checks work on copies of their own (build/sanity, build/galaxy) or read the tree.
test:
	@lab/stages.sh unit images lab+molecule test-vm+sanity+lint+galaxy

# The inner loop: run after every edit.
unit: setup
	pytest -q -m "not lab and not vm"

# Integration tests (tests/integration is marked lab as a whole, see its conftest.py). They fail,
# not skip, when their tooling is missing. The 15 slowest are listed at the end. LAB_WORKERS
# pytest-xdist workers, a test file per worker at a time (module-scoped clusters stay in one).
LAB_WORKERS ?= 2
lab: setup images
	pytest -q -m lab --durations=15 -n $(LAB_WORKERS) --dist loadfile

pytest: unit lab

$(SANITY_STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(SANITY_VENV)
	$(SANITY_VENV)/bin/pip install --quiet "$$(grep '^ansible-core==' requirements-dev.txt)"
	touch $@

# Molecule scenarios on real lab clusters (molecule/NAME): create, converge, idempotence, verify.
# lab/molecule.sh keeps each log in build/ and ends a failure with the tasks that failed.
molecule: setup images
	lab/molecule.sh $(SCENARIOS)

# The vagrant scenario on real VMs (molecule/vagrant): Vagrant with vagrant-libvirt, libvirt's
# daemons started by lab/libvirt.sh (no systemd here), the box built by lab/box.sh (cached).
# The last stage of `make test`; about 20 minutes in plain emulation (docs/lab.md, "Real VMs").
test-vm: setup vm-deps
	lab/box.sh >/dev/null
	lab/molecule.sh vagrant; rc=$$?; lab/libvirt.sh down; exit $$rc

vm-deps:
	bash lab/deps.sh vm
	lab/libvirt.sh up

vm-down:
	lab/libvirt.sh down

# ansible-test needs the collection at .../ansible_collections/NAMESPACE/NAME: test a copy
# of the tracked (and new, not ignored) files there. It puts pip into its per-test venvs with a
# downloaded get-pip script; tests/sanity/bootstrap_pip.py stands in for it (see that file).
sanity: $(SANITY_STAMP) deps
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_DIR)
	git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t $(SANITY_DIR)
	pip_version=$$($(SANITY_VENV)/bin/python -c "import re, ansible_test._internal.python_requirements as r, inspect; \
	  print(re.search(r\"pip='([0-9.]+)'\", inspect.getsource(r)).group(1))") && \
	  mkdir -p ~/.ansible/test/cache && \
	  cp tests/sanity/bootstrap_pip.py ~/.ansible/test/cache/get_pip_$${pip_version//./_}.py
	cd $(SANITY_DIR) && git init -q && git add -A && \
	  $(ANSIBLE_TEST) sanity --requirements --python 3.11 --color no

# Benchmarks print figures side by side with their baselines (benchmarks/README.md); they are
# not pass/fail tests and make test does not run them.
bench: setup images
	python benchmarks/bench_planning.py
	python benchmarks/bench_sets.py
	python benchmarks/bench_apply.py
	python benchmarks/bench_firewalld.py
	python benchmarks/bench_observe.py

lint: setup
	ansible-lint

# What Galaxy checks on upload, plus the changelog and docs linters (tests/galaxy/check.sh).
galaxy: setup
	tests/galaxy/check.sh

# Building needs ansible-core and nothing else: .venv's ansible-galaxy when make has made .venv
# (PATH starts with it), else the one on PATH, else a small venv of the pinned ansible-core alone.
build:
	@if command -v ansible-galaxy >/dev/null; then galaxy=ansible-galaxy; else \
	  galaxy=$(BUILD_VENV)/bin/ansible-galaxy; \
	  [ -x $$galaxy ] || { $(PYTHON) -m venv $(BUILD_VENV) && \
	    $(BUILD_VENV)/bin/pip install --quiet "$$(grep '^ansible-core==' requirements-dev.txt)"; } || exit 1; \
	fi; \
	mkdir -p build && $$galaxy collection build --force --output-path build .

# The lab's proof execution environment (ee/build.sh: tagged by a hash of its inputs, rebuilt only
# when they change; the wheels come from pip's index on the host, the build runs offline).
ee: setup
	@ee/build.sh

clean:
	rm -rf $(VENV) $(SANITY_VENV) $(BUILD_VENV) build .collections
