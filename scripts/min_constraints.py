"""Write pip constraints pinning each runtime dependency to its lower bound in setup.cfg,
so the ``min`` tox environment tests the oldest versions the package claims to support.

    python scripts/min_constraints.py constraints.txt
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOWER_BOUND = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([^,;\s]+)")


def constraints(setup_cfg: Path = ROOT / "setup.cfg") -> list[str]:
    """``name==lower`` for every ``name>=lower`` of ``install_requires``."""
    config = configparser.ConfigParser()
    config.read(setup_cfg, encoding="utf-8")
    pins = []
    for line in config["options"]["install_requires"].splitlines():
        match = LOWER_BOUND.match(line)
        if line.strip() and match is None:
            raise SystemExit(f"no lower bound in setup.cfg's install_requires: {line.strip()}")
        if match is not None:
            pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def main(argv: list[str]) -> None:
    text = "\n".join(constraints()) + "\n"
    if len(argv) > 1:
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
