"""The Kconfig lint as the tests run it: its command line with JSON
output, and the trees and entries they lint."""

import json
import os

from checkout import ROOT
from virtio_gpio.kconfig import cli

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "kconfig")
#: the smallest tree that has the loop the kernel test robot reported
ROBOT = os.path.join(FIXTURES, "robot")
#: the entry of the 2020 patch (v3), which selects VIRTIO
V3_PATCH = os.path.join(FIXTURES, "v3-patch.snippet")
SNIPPET = os.path.join(ROOT, "Kconfig.snippet")


def lint(capsys, *args):
    """(exit status, the JSON report or None) of the lint run with ``args``."""
    code = cli.main(list(args) + ["--format", "json"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip().startswith("{") else None)


def rules_of(report):
    return sorted({f["rule"] for r in report["reports"] for f in r["findings"]})
