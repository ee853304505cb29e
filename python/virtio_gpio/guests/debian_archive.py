"""Debian's archive as this machine already reaches it, and suites beyond it.

Some builds need packages from suites the machine's apt does not carry
(QEMU from bookworm-backports, the newest linux-source from
trixie-backports or sid, sparse's source from sid). Those suites are
fetched from the same archive the machine's own apt sources name, so that
a machine set up with a mirror keeps using it: :func:`archive_uri` finds
that archive; :func:`write_private_sources` and :func:`private_apt_options`
give apt a state of its own (sources, lists, downloads) in which only the
extra suites exist, so the machine's own apt never sees them.

Standard library only: ``tools/run`` asks for the archive before any
virtualenv exists, as ``python3 -m virtio_gpio.guests.debian_archive``,
which prints the URI (or one line saying what is missing, exit status 1).
"""

import argparse
import glob
import os
import re
import sys

#: where apt reads its sources, the one-line file first
APT_ETC = "/etc/apt"

#: the key Debian's archive is signed with (package debian-archive-keyring)
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# The suites of Debian's archive proper: a release's codename or alias,
# alone or with the suffixes the archive serves beside it. bookworm-security
# is another archive (debian-security), and third-party repositories name
# suites of their own (nodistro, cloud-sdk-bookworm, bookworm-pgdg).
_CODENAMES = ("buster", "bullseye", "bookworm", "trixie", "forky", "duke",
              "sid", "oldoldstable", "oldstable", "stable", "testing",
              "unstable", "experimental")
_ARCHIVE_SUITE = re.compile(
    r"^(%s)(-updates|-backports|-backports-sloppy|-proposed-updates)?$"
    % "|".join(_CODENAMES))


class NoArchive(RuntimeError):
    """No apt source of this machine serves Debian's archive."""


def source_files(etc=APT_ETC):
    """The files apt reads its sources from, in the order it reads them."""
    parts = sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.list"))
                   + glob.glob(os.path.join(etc, "sources.list.d",
                                            "*.sources")))
    return [os.path.join(etc, "sources.list")] + parts


def _is_archive(suites, components):
    return ("main" in components
            and any(_ARCHIVE_SUITE.match(suite) for suite in suites))


def _one_line_uris(text):
    """URIs of the ``deb`` lines of a one-line-style file that name an
    archive suite, in order."""
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        # Options ("[signed-by=... arch=amd64]") may hold spaces.
        words = re.sub(r"\[[^\]]*\]", " ", line).split()
        if len(words) >= 4 and words[0] == "deb" and _is_archive(
                words[2:3], words[3:]):
            yield words[1]


def _stanzas(text):
    """The stanzas of a deb822 file as {lower-case field: value}."""
    stanza, field = {}, None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, field = {}, None
        elif line[0] in " \t" and field:
            stanza[field] += " " + line.strip()
        elif ":" in line:
            field, value = line.split(":", 1)
            field = field.strip().lower()
            stanza[field] = value.strip()


def _deb822_uris(text):
    """First URI of each enabled ``deb`` stanza of a .sources file that
    names an archive suite, in order."""
    for stanza in _stanzas(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        uris = stanza.get("uris", "").split()
        if uris and "deb" in stanza.get("types", "").split() and _is_archive(
                stanza.get("suites", "").split(),
                stanza.get("components", "").split()):
            yield uris[0]


def archive_uri(etc=APT_ETC):
    """The URI of Debian's archive that the first of this machine's apt
    sources serving it names (a ``deb`` line of a .list file or the
    ``URIs:`` of a .sources stanza, for a suite such as bookworm or
    bookworm-updates, component main).

    :raises NoArchive: when no source does
    """
    files = source_files(etc)
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        found = (_deb822_uris if path.endswith(".sources")
                 else _one_line_uris)(text)
        for uri in found:
            return uri
    raise NoArchive(
        "no apt source serves Debian's archive (a 'deb' entry for a suite "
        "such as bookworm, component main) in %s or %s: add one"
        % (files[0], os.path.join(etc, "sources.list.d")))


def write_private_sources(state, entries, etc=APT_ETC):
    """Write the sources of a private apt under ``state``: ``entries``
    only, from the archive :func:`archive_uri` finds in ``etc``.

    :param entries: (type, suite) pairs, such as ("deb", "sid") or
        ("deb-src", "sid"), each of component main
    :raises NoArchive: when this machine's apt names no archive
    """
    uri = archive_uri(etc)
    os.makedirs(os.path.join(state, "lists", "partial"), exist_ok=True)
    with open(os.path.join(state, "sources.list"), "w") as f:
        for kind, suite in entries:
            f.write("%s [signed-by=%s] %s %s main\n"
                    % (kind, KEYRING, uri, suite))


def private_apt_options(state, architecture=None):
    """apt-get and apt-cache options for the private apt under ``state``:
    its sources (:func:`write_private_sources`), lists and downloads there,
    the machine's own sources ignored.

    :param architecture: the package architecture to list, if not the
        machine's own
    """
    options = ["-o", "Dir::Etc::SourceList=" + os.path.join(state,
                                                             "sources.list"),
               "-o", "Dir::Etc::SourceParts=/dev/null",
               "-o", "Dir::State::Lists=" + os.path.join(state, "lists"),
               "-o", "Dir::Cache=" + os.path.join(state, "cache")]
    if architecture:
        options += ["-o", "APT::Architecture=" + architecture]
    return options + ["-o", "APT::Sandbox::User=root"]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m virtio_gpio.guests.debian_archive",
        description="Print the URI of Debian's archive that this machine's "
        "apt sources name.")
    parser.add_argument("etc", nargs="?", default=APT_ETC,
                        help="apt's configuration folder "
                        "(default %(default)s)")
    args = parser.parse_args(argv)
    try:
        print(archive_uri(args.etc))
    except NoArchive as exc:
        print("debian_archive: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
