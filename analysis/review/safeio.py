"""Reading untrusted input files safely: every refusal is a :class:`DataError` naming the file,
the line and the column (never a traceback, never a hang).

- :func:`regular_file` checks a path BEFORE anything opens it: an empty path, a missing file, a
  directory, a FIFO (opening one blocks for ever), a socket or a device is refused.
- :func:`read_text` decodes UTF-8 (a byte order mark is allowed), refusing undecodable bytes and
  NUL bytes at their line and column, and files larger than :data:`MAX_BYTES`.
- :func:`load_json` refuses duplicate keys, nesting deeper than :data:`MAX_DEPTH`, ``NaN`` and
  ``Infinity``, numbers that overflow a float and integers too long to convert.
- :func:`load_yaml` refuses duplicate keys, anchors and aliases (a "billion laughs" file expands
  a few lines into gigabytes), nesting deeper than :data:`MAX_DEPTH`, and non-finite floats.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from analysis.review.errors import DataError, Problem

MAX_BYTES = 256 * 1024 * 1024  # no input of this review comes near; a bigger file is a mistake
MAX_DEPTH = 64  # nesting of JSON and YAML documents (the inputs nest two or three levels)


def _refuse(name: str, message: str, line: int | None = None, column: str | None = None):
    raise DataError([Problem(name, line, column, message)])


def regular_file(path, what: str = "file", limit: int | None = None) -> Path:
    """``path`` as a Path if it names an existing regular file (symlinks followed); checked with
    ``stat`` before anything opens it, so that a FIFO cannot block and a device cannot be read."""
    name = str(path)
    if path is None or name.strip() == "":
        _refuse(repr(name) if path is not None else "(none)", f"the {what} path is empty")
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        _refuse(name, f"{what} does not exist")
    except NotADirectoryError:
        _refuse(name, f"{what} does not exist (a part of the path is not a folder)")
    except PermissionError:
        _refuse(name, f"{what} cannot be read (permission denied)")
    except OSError as err:  # a symlink loop, a name too long
        _refuse(name, f"{what} cannot be read ({err.strerror or err})")
    if stat.S_ISDIR(mode):
        _refuse(name, f"not a regular file: a directory, expected a {what}")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a plain file")
        _refuse(name, f"not a regular file: {kind}, expected a {what}")
    limit = MAX_BYTES if limit is None else limit
    if limit and os.stat(path).st_size > limit:
        _refuse(name, f"{what} is larger than {limit // 2**20} MiB")
    return path


def read_bytes(path, what: str = "file") -> bytes:
    path = regular_file(path, what)
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, open still returns
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                _refuse(str(path), f"not a regular file, expected a {what}")
            return fh.read(MAX_BYTES + 1)
    except OSError as err:
        _refuse(str(path), f"{what} cannot be read ({err.strerror or err})")


def position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` in ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(raw: bytes, name: str, what: str = "file") -> str:
    """UTF-8 text (a byte order mark is dropped); bad bytes and NUL bytes refused where they are."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        _refuse(name, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at character {col}); save the {what} as UTF-8", line,
                f"character {col}")
    nul = text.find("\x00")
    if nul >= 0:
        line, col = position(text, nul)
        _refuse(name, f"a NUL byte at character {col}: not a text file, or a corrupted one", line, f"character {col}")
    return text


def read_text(path, what: str = "file") -> str:
    """A regular file's text, checked (see :func:`decode`)."""
    return decode(read_bytes(path, what), str(path), what)


# --- JSON ---------------------------------------------------------------------------------------

class _JsonRefusal(ValueError):
    def __init__(self, message: str, token: str | None = None):
        super().__init__(message)
        self.token = token


def _depth_problem(text: str, limit: int = MAX_DEPTH) -> tuple[int, int] | None:
    """Index of the first bracket nested deeper than ``limit`` (outside strings), or None."""
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return i
        elif ch in "]}":
            depth -= 1
    return None


def _pairs(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _JsonRefusal(f"duplicate key '{key}' (a JSON object names each key once)", f'"{key}"')
        seen[key] = value
    return seen


def _constant(token):
    raise _JsonRefusal(f"{token} is not a number (JSON has no NaN or Infinity)", token)


def _float(token):
    value = float(token)
    if not math.isfinite(value) or (value != 0 and abs(value) < 2.2250738585072014e-308):
        raise _JsonRefusal(f"{token} is out of the range of a finite number", token)
    return value


def _int(token):
    try:
        return int(token)
    except ValueError:
        raise _JsonRefusal(f"an integer of {len(token)} digits is too long", token[:20]) from None


def _locate(text: str, token: str | None, last: bool = False) -> tuple[int | None, str | None]:
    if not token:
        return None, None
    index = text.rfind(token) if last else text.find(token)
    if index < 0:
        return None, None
    line, col = position(text, index)
    return line, f"character {col}"


def line_of_key(text: str, key: str) -> int | None:
    """The first line of a JSON text that names ``key`` (for an error's location), or None."""
    for number, line in enumerate(text.splitlines(), start=1):
        if f'"{key}"' in line:
            return number
    return None


def load_json(path, what: str = "JSON file") -> tuple[object, str]:
    """Parse a JSON file strictly; returns the document and its text (for locating keys)."""
    name = str(path)
    text = read_text(path, what)
    deep = _depth_problem(text)
    if deep is not None:
        line, col = position(text, deep)
        _refuse(name, f"nested deeper than {MAX_DEPTH} levels", line, f"character {col}")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float,
                          parse_int=_int), text
    except json.JSONDecodeError as err:
        _refuse(name, f"not valid JSON: {err.msg}", err.lineno, f"character {err.colno}")
    except _JsonRefusal as err:
        line, col = _locate(text, err.token, last=str(err).startswith("duplicate"))
        _refuse(name, str(err), line, col)
    except RecursionError:
        _refuse(name, "nested too deeply")


# --- YAML ---------------------------------------------------------------------------------------

def _yaml_loader():
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader without anchors, aliases or duplicate keys, and with a depth limit."""

        depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise yaml.constructor.ConstructorError(
                    None, None, "anchors and aliases (& and *) are not allowed in this file; write values out",
                    event.start_mark)
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise yaml.constructor.ConstructorError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                            event.start_mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value",
                                                            key_node.start_mark) from None
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}' (first on line {seen[key]})", key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_float(self, node):
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                raise yaml.constructor.ConstructorError(None, None, f"{node.value} is not a finite number",
                                                        node.start_mark)
            return value

    StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
    return StrictLoader


def parse_yaml(text: str, name: str):
    """Parse YAML text strictly (see :func:`load_yaml`)."""
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = f"not valid YAML: {err.problem or err.context or 'unreadable'}"
        _refuse(name, what, mark.line + 1 if mark else None, f"character {mark.column + 1}" if mark else None)
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (control characters)
        line, col = position(text, err.position)
        _refuse(name, f"not valid YAML: character {err.character!r} is not allowed (a control character)", line,
                f"character {col}")
    except yaml.YAMLError as err:
        _refuse(name, f"not valid YAML: {err}", 1)
    except RecursionError:
        _refuse(name, "nested too deeply")


def load_yaml(path, what: str = "YAML file") -> tuple[object, str]:
    """Parse a YAML file strictly; returns the document and its text."""
    text = read_text(path, what)
    return parse_yaml(text, str(path)), text

