"""upstream_series.build() against a stand-in for a prepared kernel tree:
its Makefile reads the module's Kbuild as kbuild does (make expands it,
the shell splits the compiler's command line into words) and reads the
header ``-include`` names from the directory make runs in, the tree's. No
kernel, no compiler needed; the real build:
tests/e2e/test_e2e_uml_upstream_series.py."""

from virtio_gpio.guests import upstream_series

#: copies the header the -include flag names to $(M)/included, or fails
#: as the compiler would when that name is no file
TREE_MAKEFILE = """\
src := $(M)
include $(M)/Kbuild
modules:
\t@set -- $(ccflags-y); while [ $$# -gt 0 ]; do \\
\t  if [ "$$1" = -include ]; then cat "$$2" > $(M)/included || exit 1; \\
\t  fi; shift; done
"""

HEADER = "#define MIGHT_MAP 1\n"


def build_including(tmp_path, header_dir):
    kdir = tmp_path / "kdir"
    kdir.mkdir()
    (kdir / "Makefile").write_text(TREE_MAKEFILE)
    header_dir.mkdir(parents=True)
    (header_dir / "might-map.h").write_text(HEADER)
    source = tmp_path / "gpio-virtio.c"
    source.write_text("int x = MIGHT_MAP;\n")
    upstream_series.build(str(kdir), str(source), str(tmp_path / "work"),
                          include=str(header_dir / "might-map.h"))
    return (tmp_path / "work" / "build" / "included").read_text()


def test_the_header_is_included(tmp_path):
    assert build_including(tmp_path, tmp_path / "guest") == HEADER


def test_a_header_whose_path_has_a_space_is_included(tmp_path):
    # A checkout under "My Projects/" holds the header the e2e run gives.
    assert build_including(tmp_path, tmp_path / "My Projects" / "guest") \
        == HEADER


def test_a_header_whose_path_has_make_and_shell_characters(tmp_path):
    assert build_including(tmp_path, tmp_path / "a$(b)#c'd") == HEADER
