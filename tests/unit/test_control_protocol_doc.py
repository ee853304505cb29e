"""Documentation/control-protocol.rst keeps up with the server: every
command has its section, and the table of line events says what
virtio_gpio.devices.events.KINDS says, kind for kind."""

import os
import re

from checkout import ROOT
from virtio_gpio.devices.events import KINDS
from virtio_gpio.vhost_user.control_server import ControlCommands

DOC = os.path.join(ROOT, "Documentation", "control-protocol.rst")


def read_doc():
    with open(DOC) as f:
        return f.read()


def section_titles(text):
    """Titles underlined with '-' (the commands' sections among them)."""
    lines = text.splitlines()
    return [title for title, under in zip(lines, lines[1:])
            if under and set(under) == {"-"} and len(under) >= len(title)]


def first_table_after(text, heading):
    """The first simple table after ``heading``: first column -> second,
    continuation lines joined."""
    lines = text[text.index(heading):].splitlines()
    borders = [n for n, line in enumerate(lines)
               if re.fullmatch(r"=+ +=+", line)]
    top, bottom = borders[1], borders[2]      # after the header row
    width = lines[top].index(" =") + 1
    rows = {}
    for line in lines[top + 1:bottom]:
        key, value = line[:width].strip(), line[width:].strip()
        if key:
            rows[key] = value
            last = key
        else:
            rows[last] += " " + value
    return rows


def words(text):
    """Prose without its literal markup or quotes around words."""
    return re.sub(r"'(\w+)'", r"\1", text.replace("``", ""))


def test_every_command_has_its_section():
    titles = [t.strip("`") for t in section_titles(read_doc())
              if t.startswith("``")]
    assert sorted(titles) == sorted(name[3:] for name in dir(ControlCommands)
                                    if name.startswith("do_"))


def test_the_event_table_says_what_kinds_says():
    rows = first_table_after(read_doc(), "\nLine events\n")
    assert {words(kind): words(meaning) for kind, meaning in rows.items()} \
        == {kind: words(meaning) for kind, meaning in KINDS.items()}
