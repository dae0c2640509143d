# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule and table comments that every backend takes back as written.

nft refuses a comment over 128 characters and iptables one over 256; both print quotes and
backslashes escaped, which would break the text comparison of idempotence. A comment here is
printable ASCII without those, and fits its backend's limit by construction.
"""

from __future__ import annotations

import re

NFT_MAX = 128
IPTABLES_MAX = 255
PREFIX = "microseg: "

_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~]")


def clean(text):
    """Printable ASCII, with no quote or backslash (each other character becomes '?')."""
    return _UNSAFE.sub("?", text.replace('"', "'"))


def fit(text, limit):
    """Clean text cut to `limit` characters, ending in '...' when it had to be cut."""
    text = clean(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def rule_comment(ids, limit):
    """'microseg: ' and the ids of a rule's reasons, as many as fit; the rest are counted."""
    ids = [clean(item) for item in ids]
    room = limit - len(PREFIX)
    text = ",".join(ids)
    if len(text) <= room:
        return PREFIX + text
    kept = []
    for index, item in enumerate(ids):
        more = ",+%d more" % (len(ids) - index - 1)
        if len(",".join(kept + [item])) + len(more) > room:
            break
        kept.append(item)
    if not kept:
        return PREFIX + fit(text, room)
    return PREFIX + ",".join(kept + ["+%d more" % (len(ids) - len(kept))])
