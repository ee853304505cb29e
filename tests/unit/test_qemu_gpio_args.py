"""qemu.vhost_user_gpio_args: one vhost-user-gpio-pci device per socket,
all on one shared memory backend, as QEMU's option syntax needs them."""

import pytest

from virtio_gpio.guests import qemu


def options(args, name):
    """The values of every ``name`` option in ``args``, in order."""
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


def test_one_socket_is_one_device_on_shared_memory():
    args = qemu.vhost_user_gpio_args("/run/a.sock", memory="256M")
    assert options(args, "-object") == [
        "memory-backend-memfd,id=mem,size=256M,share=on"]
    assert options(args, "-numa") == ["node,memdev=mem"]
    assert options(args, "-chardev") == ["socket,id=gpio0,path=/run/a.sock"]
    assert options(args, "-device") == [
        "vhost-user-gpio-pci,chardev=gpio0,id=gpio0"]


def test_each_socket_is_its_own_device_in_order():
    args = qemu.vhost_user_gpio_args("/run/a.sock", "/run/b.sock",
                                     "/run/c.sock")
    assert options(args, "-chardev") == [
        "socket,id=gpio%d,path=/run/%s.sock" % (n, name)
        for n, name in enumerate("abc")]
    assert options(args, "-device") == [
        "vhost-user-gpio-pci,chardev=gpio%d,id=gpio%d" % (n, n)
        for n in range(3)]
    # One guest RAM, mapped by every backend: a second memory backend
    # would be a second NUMA node, not shared memory for another device.
    assert len(options(args, "-object")) == 1
    assert len(options(args, "-numa")) == 1


def test_a_comma_in_a_path_is_doubled():
    args = qemu.vhost_user_gpio_args("/run/a,b.sock")
    assert options(args, "-chardev") == ["socket,id=gpio0,path=/run/a,,b.sock"]


@pytest.mark.parametrize("sockets", [(), ("/run/a.sock", "/run/a.sock")],
                         ids=["none", "twice"])
def test_no_socket_or_one_twice_is_refused(sockets):
    with pytest.raises(ValueError):
        qemu.vhost_user_gpio_args(*sockets)
