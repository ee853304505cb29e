"""No tracked file names a package registry's host.

Packages come through the clients' own configuration: apt's sources
(virtio_gpio.guests.debian_archive reads the archive from them), pip's
index settings. A host written into a file would go around a machine's
mirror. The hosts are put together from their labels, so that this file
does not name them either.
"""

import os
import re
import subprocess

from checkout import ROOT


def host(*labels):
    return ".".join(labels)


#: package registries and archives, with the mirrors they redirect to
HOSTS = [
    host("deb", "debian", "org"), host("ftp", "debian", "org"),
    host("security", "debian", "org"), host("httpredir", "debian", "org"),
    host("snapshot", "debian", "org"), host("archive", "debian", "org"),
    host("archive", "ubuntu", "com"), host("security", "ubuntu", "com"),
    host("ports", "ubuntu", "com"),
    host("pypi", "org"), host("pypi", "python", "org"),
    host("files", "pythonhosted", "org"),
    host("registry", "npmjs", "org"), host("registry", "yarnpkg", "com"),
    host("crates", "io"), host("proxy", "golang", "org"),
    host("rubygems", "org"), host("repo1", "maven", "org"),
    host("repo", "maven", "apache", "org"),
    host("registry-1", "docker", "io"), host("conda", "anaconda", "org"),
]

FOUND = re.compile("|".join(
    [re.escape(name) for name in HOSTS]
    # Debian's country mirrors: ftp.<country>.<the archive's domain>.
    + [re.escape(host("ftp", "")) + "[a-z]{2}" + re.escape(
        host("", "debian", "org"))]), re.IGNORECASE)


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                         capture_output=True).stdout.decode()
    return [name for name in out.split("\0")
            if name and os.path.isfile(os.path.join(ROOT, name))]


def test_the_patterns_find_a_host():
    assert FOUND.search("URIs: http://%s/debian" % HOSTS[0])
    assert FOUND.search("https://%s/simple/" % host("pypi", "org"))
    assert FOUND.search(host("ftp", "de", "debian", "org"))
    assert not FOUND.search("http://mirror.example/debian")


def test_no_tracked_file_names_a_registry_host():
    offenders = []
    for name in tracked_files():
        with open(os.path.join(ROOT, name), "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in FOUND.finditer(line):
                offenders.append("%s:%d: %s" % (name, number, match.group()))
    assert not offenders, ("registry hosts in tracked files (let the "
                           "client's configuration name them):\n"
                           + "\n".join(offenders))
