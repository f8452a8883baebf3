"""Remove what the answers did not select; with DVC, turn the data file into a DVC pointer."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ANSWERS = json.loads(
    r"""{{ {
    "license": cookiecutter.open_source_license,
    "data_storage": cookiecutter.data_storage,
} | tojson }}"""
)
DVC_ONLY = (".dvc", ".dvcignore", "data/.gitignore", ".github/actions/data")
DATA = Path("data/train.csv")


def main() -> None:
    if ANSWERS["license"] == "Not open source":
        Path("LICENSE").unlink()
    if ANSWERS["data_storage"] == "dvc":
        track_with_dvc(DATA)
    else:
        for name in DVC_ONLY:
            path = Path(name)
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def track_with_dvc(data: Path) -> None:
    """What `dvc add` would do, without needing DVC (or a network) to bake the project.

    The pointer is DVC 3's format (md5 of the bytes, size, `hash: md5`); the file goes into the
    local cache, so the first `dvc push` uploads it. data/.gitignore keeps the bytes out of git.
    """
    content = data.read_bytes()
    md5 = hashlib.md5(content).hexdigest()  # DVC's content address, not a security hash
    cached = Path(".dvc/cache/files/md5") / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(content)
    cached.chmod(0o444)  # DVC keeps cache objects read-only
    data.with_name(data.name + ".dvc").write_text(
        f"outs:\n- md5: {md5}\n  size: {len(content)}\n  hash: md5\n  path: {data.name}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
