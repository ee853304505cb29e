"""Verdicts: what the checker saw for each requirement, and the report.

Each observation of a requirement either keeps it or breaks it, with the
evidence (the bytes seen, in hex). A requirement broken once fails; kept
and never broken passes; never observed is not applicable, with the
reason.
"""

import dataclasses
import json
from typing import Dict, List

from .requirements import BY_ID, REQUIREMENTS

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "not applicable"

#: how many observations of each kind a row's evidence quotes
QUOTED = 3
#: the longest one quoted
LONGEST = 160


@dataclasses.dataclass
class Row:
    """One requirement's verdict."""

    id: str
    section: str
    statement: str
    verdict: str
    evidence: str


def _short(text):
    return text if len(text) <= LONGEST else text[:LONGEST - 3] + "..."


class Results:
    """Observations, requirement by requirement."""

    def __init__(self):
        self.kept: Dict[str, List[str]] = {r.id: [] for r in REQUIREMENTS}
        self.broken: Dict[str, List[str]] = {r.id: [] for r in REQUIREMENTS}
        self.counts: Dict[str, int] = {r.id: 0 for r in REQUIREMENTS}
        #: why a requirement was not observed, when the checker knows
        self.reasons: Dict[str, str] = {}

    def ok(self, key, evidence):
        self._note(key, self.kept, evidence)

    def bad(self, key, evidence):
        self._note(key, self.broken, evidence)

    def check(self, key, kept, evidence):
        """One observation; returns ``kept``."""
        (self.ok if kept else self.bad)(key, evidence)
        return kept

    def _note(self, key, where, evidence):
        if key not in BY_ID:
            raise KeyError("no requirement %r" % key)
        self.counts[key] += 1
        if len(where[key]) < QUOTED:
            where[key].append(_short(evidence))

    def not_applicable(self, key, reason):
        """Why ``key`` cannot be observed (unless it already was)."""
        self.reasons.setdefault(key, reason)

    def observed(self, key):
        return self.counts[key] > 0

    def rows(self) -> List[Row]:
        out = []
        for requirement in REQUIREMENTS:
            key = requirement.same_as or requirement.id
            if self.broken[key]:
                verdict, evidence = FAIL, self.broken[key]
            elif self.kept[key]:
                verdict, evidence = PASS, self.kept[key]
            else:
                verdict = NOT_APPLICABLE
                evidence = [self.reasons.get(key, "not observed")]
            text = "; ".join(evidence)
            if requirement.same_as:
                text = "as %s: %s" % (requirement.same_as, text)
            out.append(Row(requirement.id, requirement.section,
                           requirement.statement, verdict, text))
        return out

    def failed(self) -> List[str]:
        return [row.id for row in self.rows() if row.verdict == FAIL]


def summary(rows):
    counts = {verdict: sum(row.verdict == verdict for row in rows)
              for verdict in (PASS, FAIL, NOT_APPLICABLE)}
    return counts, counts[FAIL] == 0


def as_table(rows, title):
    """The report as text: a header, then per requirement its id, verdict
    and statement, with the evidence on the line below."""
    width = max(len(row.id) for row in rows)
    result = max(len(v) for v in (PASS, FAIL, NOT_APPLICABLE))
    lines = [title, "%-*s  %-*s  %s" % (width, "ID", result, "RESULT",
                                        "STATEMENT")]
    for row in rows:
        lines.append("%-*s  %-*s  %s" % (width, row.id, result, row.verdict,
                                         row.statement))
        lines.append("%*s%s" % (width + result + 4, "", row.evidence))
    counts, conformant = summary(rows)
    lines.append("%d pass, %d fail, %d not applicable: %s" % (
        counts[PASS], counts[FAIL], counts[NOT_APPLICABLE],
        "conformant" if conformant else "NOT conformant"))
    return "\n".join(lines)


def as_json(rows, **about):
    """The same for machines: ``about`` (the socket, the options), the
    rows, the counts and the conclusion."""
    counts, conformant = summary(rows)
    return json.dumps(dict(about, requirements=[dataclasses.asdict(row)
                                                for row in rows],
                           counts=counts, conformant=conformant), indent=1)
