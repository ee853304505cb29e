"""Documentation/conformance-kit.rst, "Drivers checked": its table has a
row for each requirement of the driver checker, and a column for each
end-to-end run that checks a driver. The verdicts in it are compared with
the runs' fresh reports by the runs themselves
(tests/e2e/test_e2e_uml_standard.py, test_e2e_qemu_standard.py)."""

import re

from e2e_helpers import (CONFORMANCE_KIT, DRIVER_TITLES, DRIVERS_TABLE,
                         UML_SERIES, doc_table, driver_column)
from virtio_gpio.devices.driver_checker import (FAIL, NOT_APPLICABLE, PASS,
                                                REQUIREMENTS)

#: the kernels of test_e2e_qemu_standard.py
QEMU_SERIES = ("6.1", "6.12")


def runs():
    return [driver_column(driver, platform, series)
            for platform, all_series in (("UML", UML_SERIES),
                                         ("QEMU", QEMU_SERIES))
            for series in all_series for driver in DRIVER_TITLES]


def test_a_row_per_requirement_with_its_statement():
    _, rows = doc_table(CONFORMANCE_KIT, DRIVERS_TABLE)
    assert [row[0] for row in rows] == list(REQUIREMENTS)
    assert [row[1] for row in rows] == list(REQUIREMENTS.values())


def test_a_column_per_run_and_only_verdicts_in_them():
    header, rows = doc_table(CONFORMANCE_KIT, DRIVERS_TABLE)
    assert header[:2] == ["Id", "Statement"]
    assert sorted(header[2:]) == sorted(runs())
    assert {cell for row in rows for cell in row[2:]} <= {
        PASS, FAIL, NOT_APPLICABLE}


def test_ours_fails_nothing_and_each_finding_is_written_up():
    header, rows = doc_table(CONFORMANCE_KIT, DRIVERS_TABLE)
    failed = {(row[0], column) for row in rows
              for column, cell in zip(header[2:], row[2:]) if cell == FAIL}
    # A requirement our module breaks is a bug to fix, not a result.
    assert [f for f in failed if f[1].startswith("ours ")] == []
    with open(CONFORMANCE_KIT, encoding="utf-8") as f:
        page = f.read()
    start = page.index("\nFindings against Linux's driver\n-")
    end = re.search(r"\n[^\n]+\n[-=~^]{4,}\n", page[start + 2:])
    findings = page[start:start + 2 + end.start() if end else None]
    assert sorted({key for key, _ in failed
                   if not re.search(r"\b%s\b" % re.escape(key),
                                    findings)}) == []
