"""The glue's teardown order where the C source is the only witness.

The arm works (vgpio_drv_arm_work, and vgpio_drv_arm_retry_work after a
failed post) post eventq buffers; once the queues are deleted neither may
run. The core refuses to post when it is dead or detached, but a work
item that runs meanwhile still reaches into the queues' owner: both are
cancelled before del_vqs in every path that deletes them, not after (as
remove() did through vgpio_drv_free()).
"""

import os
import re

import pytest

from checkout import ROOT

GLUE = os.path.join(ROOT, "kernel", "gpio-virtio.c")
#: how every teardown path stops both arm works
STOP = "vgpio_drv_stop_arming(vg)"


def body(name):
    """The statements of the C function ``name`` in the glue."""
    with open(GLUE) as f:
        text = f.read()
    match = re.search(r"^(?:static )?\w[\w\s\*]*\b%s\([^)]*\)\n\{\n(.*?)^\}"
                      % re.escape(name), text, re.M | re.S)
    assert match, "no function %s in %s" % (name, GLUE)
    return match.group(1)


@pytest.mark.parametrize("function", ["vgpio_drv_remove",
                                      "vgpio_drv_quiesce"])
def test_arm_work_is_cancelled_before_the_queues_go(function):
    text = body(function)
    assert "vgpio_drv_del_vqs(vg)" in text
    assert STOP in text
    assert text.index(STOP) < text.index("vgpio_drv_del_vqs(vg)")


def test_the_probe_error_path_cancels_before_the_queues_go():
    text = body("vgpio_drv_probe")
    path = text[text.index("err_reset:"):]
    assert path.index(STOP) < path.index("del_vqs")


def test_freeing_does_not_cancel_after_the_queues_are_gone():
    assert "cancel_work" not in body("vgpio_drv_free")


def test_freeze_detaches_the_core_before_cancelling():
    # Detached first: a work item the irq core queues after the cancel
    # (resume_device_irqs() unmasks before the restore) posts nothing.
    text = body("vgpio_drv_quiesce")
    assert text.index("vgpio_core_detach") < text.index(STOP)


def test_stopping_cancels_both_arm_works():
    text = body("vgpio_drv_stop_arming")
    assert "cancel_work_sync(&vg->arm_work);" in text
    assert "cancel_delayed_work_sync(&vg->arm_retry_work);" in text


def test_the_glue_queues_no_work_on_system_wq():
    # 7.3 marks system_wq for removal; vgpio_compat.h maps the new name
    # back where the headers lack it.
    with open(GLUE) as f:
        assert not re.search(r"\bsystem_wq\b", f.read())
