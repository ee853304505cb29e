"""Draw a trace as a timing diagram, with matplotlib (no display needed).

One row per line, top to bottom in the order given: the level as a step
trace, coloured by who set it (the guest driving an output, the host
changing an input), hatched while unknown; the row's background shaded
while the line is an output (the guest drives it) or an input (the host
does); a marker at each interrupt that went to the guest; the interrupt
type the guest armed, written where it changed.
"""

import bisect

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .vcd import GUEST, HOST

#: who set the level -> its trace's colour ("" before anyone did)
LEVEL_COLORS = {GUEST: "#1f5fbf", HOST: "#2a8a2a", "": "#555555"}
#: direction -> the row's background while the line has it
DIRECTION_SHADES = {"out": "#fbd9b5", "in": "#d3e6f7"}
UNKNOWN_SHADE = "#bbbbbb"
INTERRUPT_COLOR = "#c0182a"

#: where in its row (0 at the bottom, 1 at the top) a row draws each thing
LOW, HIGH, MARK, SHADE_BOTTOM, SHADE_TOP = 0.2, 0.7, 0.84, 0.04, 0.96

WIDTH_INCHES, ROW_INCHES, MARGIN_INCHES = 11.0, 0.55, 1.4

#: a row shows at most this many interrupt-type labels: more would be a
#: smudge, and the VCD viewer has them all
MAX_LABELS = 24

#: (ticks, name) from the longest: the axis' unit is the longest in
#: which the trace lasts at least one
_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def segments(series, end):
    """``series`` of (time, value) as (start, stop, value): each value
    holds until the next change, the last until ``end``."""
    result = []
    for (start, value), (stop, _) in zip(series, series[1:]):
        result.append((start, stop, value))
    if series:
        start, value = series[-1]
        result.append((start, max(start, end), value))
    return result


def value_at(series, time):
    """The value ``series`` had at ``time`` (after every change at it)."""
    times = [t for t, _ in series]
    index = bisect.bisect_right(times, time)
    return series[index - 1][1] if index else None


def time_unit(trace):
    """(seconds per unit, unit name) for the trace's time axis."""
    seconds = trace.end * trace.seconds_per_tick
    for size, name in _UNITS:
        if seconds >= size:
            return size, name
    return _UNITS[-1]


def render(trace, path, lines=None, title=None):
    """Draw ``lines`` (by default all the trace's) into the file ``path``,
    in the format its extension names (PNG, SVG, PDF...).

    :returns: the rows' labels, top to bottom
    """
    lines = list(trace.lines if lines is None else lines)
    unit, unit_name = time_unit(trace)
    scale = trace.seconds_per_tick / unit
    # At least a tick, so that a trace of one instant still has an axis.
    end_ticks = max(trace.end, 1)
    end = end_ticks * scale

    figure = Figure(figsize=(WIDTH_INCHES,
                             MARGIN_INCHES + ROW_INCHES * max(len(lines), 1)))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = []
    for row, line in enumerate(lines):
        base = len(lines) - 1 - row
        _draw_line(axes, line, base, scale, end_ticks)
        labels.append(line.full_name)

    axes.set_xlim(0, end)
    axes.set_ylim(-0.1, max(len(lines), 1) + 0.1)
    axes.set_yticks([len(lines) - 1 - row + (LOW + HIGH) / 2
                     for row in range(len(lines))], labels)
    axes.tick_params(axis="y", length=0)
    axes.set_xlabel("time since the first event (%s)" % unit_name)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.legend(handles=_legend(), loc="lower left", ncol=6, fontsize=8,
                bbox_to_anchor=(0, 1.0), frameon=False,
                handlelength=1.6, columnspacing=1.4)
    heading = title or "GPIO lines"
    if trace.date:
        heading += "  (time 0: %s)" % trace.date
    figure.suptitle(heading, x=0.01, ha="left", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return labels


def _draw_line(axes, line, base, scale, end_ticks):
    def y(fraction):
        return base + fraction

    for start, stop, direction in segments(line.directions, end_ticks):
        if direction in DIRECTION_SHADES:
            axes.broken_barh([(start * scale, (stop - start) * scale)],
                             (y(SHADE_BOTTOM), SHADE_TOP - SHADE_BOTTOM),
                             facecolors=DIRECTION_SHADES[direction],
                             linewidth=0)

    traces, colors, unknown = [], [], []
    previous = None
    for start, stop, level in segments(line.levels, end_ticks):
        x0, x1 = start * scale, stop * scale
        if level is None:
            unknown.append((x0, x1 - x0))
            previous = None
            continue
        who = value_at(line.changed_by, start) or ""
        height = y(HIGH if level else LOW)
        if previous is not None and previous != height:
            traces.append([(x0, previous), (x0, height)])
            colors.append(LEVEL_COLORS.get(who, LEVEL_COLORS[""]))
        traces.append([(x0, height), (x1, height)])
        colors.append(LEVEL_COLORS.get(who, LEVEL_COLORS[""]))
        previous = height
    if unknown:
        axes.broken_barh(unknown, (y(LOW), HIGH - LOW), facecolors="none",
                         edgecolors=UNKNOWN_SHADE, hatch="////",
                         linewidth=0)
    axes.add_collection(LineCollection(traces, colors=colors,
                                       linewidths=1.6))

    if line.interrupts:
        axes.plot([t * scale for t in line.interrupts],
                  [y(MARK)] * len(line.interrupts), linestyle="none",
                  marker="v", markersize=6, color=INTERRUPT_COLOR)

    changes = [(t, kind) for t, kind in line.irq_types[1:] if kind]
    for time, kind in changes[:MAX_LABELS]:
        axes.annotate("irq %s" % kind, (time * scale, y(MARK)),
                      xytext=(4, 0), textcoords="offset points",
                      fontsize=7, color="#444444", va="center")


def _legend():
    return [
        Line2D([], [], color=LEVEL_COLORS[GUEST], linewidth=1.6,
               label="level the guest drove"),
        Line2D([], [], color=LEVEL_COLORS[HOST], linewidth=1.6,
               label="level the host set"),
        Patch(facecolor="none", edgecolor=UNKNOWN_SHADE, hatch="////",
              linewidth=0, label="level unknown"),
        Patch(facecolor=DIRECTION_SHADES["out"], label="output (guest drives)"),
        Patch(facecolor=DIRECTION_SHADES["in"], label="input (host drives)"),
        Line2D([], [], linestyle="none", marker="v",
               color=INTERRUPT_COLOR, label="interrupt to the guest"),
    ]
