# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script ansible-test downloads to put pip into its test venvs.

ansible-test fetches that script from a host CI cannot reach; `make sanity` saves this file
where ansible-test caches the script. Run as __main__ with pip-install arguments, it does
what get-pip does: bootstrap pip from the interpreter's own ensurepip wheel, then
`pip install` the requested packages (the pinned pip) from the package index.
"""

from __future__ import annotations

import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + arguments)


if __name__ == "__main__":
    main()
