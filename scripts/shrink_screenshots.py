"""Copy the browser test's screenshots (reports/screenshots, written by tests/browser/test_ui.py) into
docs/screenshots as small PNGs: desktop shots scaled to 900 px wide, all reduced to a 256-colour palette.

    .venv/bin/python scripts/shrink_screenshots.py [NAME ...]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "reports" / "screenshots"
DST = ROOT / "docs" / "screenshots"
WIDTH = 900
log = logging.getLogger("shrink_screenshots")


def shrink(src: Path, dst: Path) -> int:
    img = Image.open(src).convert("RGB")
    if img.width > WIDTH:
        img = img.resize((WIDTH, round(img.height * WIDTH / img.width)), Image.Resampling.LANCZOS)
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(dst, optimize=True)
    return dst.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="screenshot names without .png (default: every one but failures)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = args.names or sorted(p.stem for p in SRC.glob("*.png") if not p.stem.startswith("failure"))
    if not names:
        log.error("no screenshots in %s: run the browser tests first", SRC)
        return 1
    DST.mkdir(parents=True, exist_ok=True)
    for name in names:
        size = shrink(SRC / f"{name}.png", DST / f"{name}.png")
        log.info("%s.png: %d kB", name, size // 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
