# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type the pure logic raises for bad input."""

from __future__ import annotations


class PlanError(ValueError):
    """Bad input, with a message that names the value, where it came from and what is allowed.

    Raised before anything on a host changes; filters turn it into AnsibleFilterError,
    modules into fail_json.
    """
