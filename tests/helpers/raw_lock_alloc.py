"""What lockdep reports of Linux's gpio-virtio on the debug UML kernel
once indirect descriptors are negotiated (our backend offers them):
enabling an interrupt adds the line's eventq buffer under the raw spinlock
eventq_lock (virtio_gpio_irq_bus_sync_unlock), and virtqueue_add_split()
allocates the buffer's indirect table there, a spinlock_t of the slab
taken inside a raw one. Lockdep turns itself off after it. The end-to-end
runs of that driver take such reports out of the kernel log, and require
them to be there."""

import re

RAW_LOCK_ALLOC = ("BUG: Invalid wait context",
                  ("__kmalloc", "virtqueue_add_split",
                   "virtio_gpio_irq_bus_sync_unlock"))
TRACE_LINE = re.compile(r"\]\s+\[<[0-9a-f]+>\]")


def without_raw_lock_alloc(lines):
    """``lines`` without lockdep's reports of RAW_LOCK_ALLOC (each to the
    end of its stack trace), and how many there were."""
    rest, found, i = [], 0, 0
    while i < len(lines):
        if RAW_LOCK_ALLOC[0] in lines[i]:
            end, trace = i + 1, False
            while end < len(lines) and (not trace or
                                        TRACE_LINE.search(lines[end])):
                trace = trace or "Call Trace:" in lines[end]
                end += 1
            if all(any(name in line for line in lines[i:end])
                   for name in RAW_LOCK_ALLOC[1]):
                found, i = found + 1, end
                continue
        rest.append(lines[i])
        i += 1
    return rest, found
