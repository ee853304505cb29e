"""Recursive dependencies, reported symbol by symbol like the kernel's kconfig.

The graph follows scripts/kconfig/symbol.c (sym_check_deps): a symbol's
value depends on its direct dependencies (including inherited menu and
``if`` conditions), on the symbols that select or imply it, and on the
symbols in its prompt conditions, defaults and ranges. A cycle in that
graph is what conf rejects as "recursive dependency detected!".
"""

import dataclasses
from typing import List, Tuple

import kconfiglib

DEPENDS = "depends on"
SELECTED = "is selected by"
IMPLIED = "is implied by"
DEFAULT = "default depends on"
PROMPT = "prompt depends on"
RANGE = "range depends on"


@dataclasses.dataclass(frozen=True)
class Step:
    """One link of a loop: ``symbol`` <relation> ``other``."""

    symbol: str
    relation: str
    other: str
    location: str

    def __str__(self):
        return "%s: symbol %s %s %s" % (self.location, self.symbol,
                                        self.relation, self.other)


def location(sym):
    if not sym.nodes:
        return "<undefined>"
    node = sym.nodes[0]
    return "%s:%d" % (node.filename, node.linenr)


def _symbols(expr):
    return [item for item in kconfiglib.expr_items(expr)
            if isinstance(item, kconfiglib.Symbol) and item.nodes]


def edges(kconf):
    """{symbol: [(relation, other), ...]} over all defined symbols."""
    graph = {sym: [] for sym in kconf.unique_defined_syms}

    def add(sym, relation, other):
        if other in graph and all(o is not other for _, o in graph[sym]):
            graph[sym].append((relation, other))

    for sym in kconf.unique_defined_syms:
        for target, cond in sym.selects:
            if target in graph:
                add(target, SELECTED, sym)
        for target, cond in sym.implies:
            if target in graph:
                add(target, IMPLIED, sym)
    for sym in kconf.unique_defined_syms:
        for other in _symbols(sym.direct_dep):
            add(sym, DEPENDS, other)
        for node in sym.nodes:
            if node.prompt:
                for other in _symbols(node.prompt[1]):
                    add(sym, PROMPT, other)
        for value, cond in sym.defaults:
            for other in _symbols(value) + _symbols(cond):
                add(sym, DEFAULT, other)
        for low, high, cond in sym.ranges:
            for other in _symbols(low) + _symbols(high) + _symbols(cond):
                add(sym, RANGE, other)
    return graph


def _strongly_connected(graph):
    """Tarjan's algorithm, iterative (the kernel graph is deep)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for _, other in it:
                if other not in index:
                    index[other] = low[other] = counter
                    counter += 1
                    stack.append(other)
                    on_stack.add(other)
                    work.append((other, iter(graph[other])))
                    advanced = True
                    break
                if other in on_stack:
                    low[node] = min(low[node], index[other])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member is node:
                        break
                result.append(component)
    return result


def _cycle_through(graph, component, start):
    """Shortest cycle from ``start`` back to itself inside ``component``."""
    members = set(component)
    parent = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for relation, other in graph[node]:
            if other is start:
                path = [(node, relation, other)]
                while parent[node] is not None:
                    prev, rel = parent[node]
                    path.append((prev, rel, node))
                    node = prev
                return list(reversed(path))
            if other in members and other not in parent:
                parent[other] = (node, relation)
                queue.append(other)
    return []


def find_loops(kconf, prefer=()) -> List[List[Step]]:
    """Every dependency loop, one chain per strongly connected component.

    A chain starts at a symbol named in ``prefer`` when the loop has one,
    so a lint of GPIO_VIRTIO shows the loop from GPIO_VIRTIO's side.
    """
    graph = edges(kconf)
    loops = []
    for component in _strongly_connected(graph):
        single = len(component) == 1
        if single and all(o is not component[0] for _, o in graph[component[0]]):
            continue
        names = {sym.name: sym for sym in component}
        start = next((names[n] for n in prefer if n in names),
                     min(component, key=lambda s: s.name))
        chain = _cycle_through(graph, component, start)
        loops.append([Step(a.name, rel, b.name, location(a))
                      for a, rel, b in chain])
    return loops


def loop_symbols(loop: List[Step]) -> Tuple[str, ...]:
    return tuple(step.symbol for step in loop)
