"""Text files a user hands us (bench files, input scripts): read whole as
UTF-8, or refused with a message that names the file, and the line where
the text stops being UTF-8."""


class TextFileError(ValueError):
    """The file cannot be read, or is not UTF-8; the message says where."""


def read_text(path, name=None):
    """The text of ``path``; the messages call it ``name`` (default: the
    path itself)."""
    name = path if name is None else name
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise TextFileError("%s: cannot read it: %s"
                            % (name, exc.strerror or exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextFileError("%s:%d: not UTF-8 text (byte 0x%02x)" % (
            name, data.count(b"\n", 0, exc.start) + 1,
            data[exc.start])) from None
