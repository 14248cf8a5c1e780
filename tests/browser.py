"""Headless Chromium screenshots of HTML reports (skips the test when Chromium is absent;
``.ci/run`` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not installed: apt-get install -y chromium")


def screenshot_rgb(html_file: Path, tmp_path: Path, width: int, height: int) -> np.ndarray:
    """The page rendered at ``width`` x ``height`` as integer RGB (0-255), rows first."""
    from matplotlib.image import imread

    browser = chromium()
    png = tmp_path / f"{html_file.stem}.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
         f"--window-size={width},{height}", html_file.as_uri()],
        capture_output=True, text=True, timeout=180, check=False)
    assert png.is_file(), f"chromium wrote no screenshot: {done.stderr[-2000:]}"
    img = imread(str(png))
    assert img.shape[:2] == (height, width)
    return (img[..., :3] * 255).round().astype(int)
