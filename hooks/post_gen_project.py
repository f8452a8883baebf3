"""Remove what the answers did not select; nothing more."""

from __future__ import annotations

import json
from pathlib import Path

ANSWERS = json.loads(r"""{{ {"license": cookiecutter.open_source_license} | tojson }}""")


def main() -> None:
    if ANSWERS["license"] == "Not open source":
        Path("LICENSE").unlink()


if __name__ == "__main__":
    main()
