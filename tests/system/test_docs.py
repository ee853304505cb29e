"""Documentation: Sphinx builds clean, warnings as errors, references
checked (-n)."""

import os
import subprocess
import sys

from checkout import ROOT


def test_sphinx_builds_with_warnings_as_errors(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-n",
         "-b", "html", os.path.join(ROOT, "Documentation"),
         str(tmp_path / "html")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr
    assert (tmp_path / "html" / "spec.html").is_file()
    assert "vgpio_request" in (tmp_path / "html" / "api-c.html").read_text()
    assert "Id30Device" in (tmp_path / "html" / "api-python.html").read_text()
