"""Read spec documents (YAML or TOML) into validated models, with errors that teach.

Everything that can go wrong with a file — unreadable, binary, empty, malformed, unknown keys,
wrong units, values out of range, physically impossible designs — becomes a :class:`SpecError`
that names the field path, the value and the limit.
"""

from __future__ import annotations

import difflib
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from megapod.errors import SpecError
from megapod.spec.safe_yaml import MAX_DEPTH, YamlLimitError, load_yaml

M = TypeVar("M", bound=BaseModel)

#: Larger spec files are refused before parsing: a site spec is a few kilobytes.
MAX_FILE_BYTES = 4_000_000


def read_document(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a mapping."""
    p = Path(path)
    data = read_bytes(p)
    return parse_document(data, fmt="toml" if p.suffix.lower() == ".toml" else "yaml", name=str(p))


def read_bytes(path: str | Path, what: str = "spec file") -> bytes:
    """The bytes of a ``what`` file, refusing missing files, folders and oversized files."""
    size = check_regular_file(path, what).st_size
    if size > MAX_FILE_BYTES:
        raise SpecError(str(path), f"{size:,} bytes is larger than the {MAX_FILE_BYTES:,} allowed")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SpecError(str(path), f"cannot read the file: {exc.strerror}") from None


def check_regular_file(path: str | Path, what: str = "spec file") -> os.stat_result:
    """Refuse, before anything is read, a ``what`` path that is missing or not a regular file.

    A device (``/dev/zero`` reads forever), a FIFO (blocks until a writer comes), a socket or a
    folder is refused by its kind. Messages name the path and never show the file's content.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SpecError(str(path), f"cannot read the file: {exc.strerror}") from None
    if stat.S_ISREG(st.st_mode):
        return st
    raise SpecError(str(path), f"is {_file_kind(st.st_mode)}, not a {what} (a regular file)")


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def parse_document(data: bytes, fmt: str = "yaml", name: str = "<document>") -> dict[str, Any]:
    """Parse bytes of YAML or TOML into a mapping, refusing binary and empty input."""
    doc = parse_value(data, fmt, name)
    if not isinstance(doc, dict):
        raise SpecError(name, f"the top level must be a mapping of keys, not {_kind(doc)}")
    return doc


def parse_value(data: bytes, fmt: str = "yaml", name: str = "<document>") -> Any:
    """Parse bytes of YAML or TOML into whatever the document holds.

    Refused with a :class:`SpecError`: binary or non-UTF-8 input, empty documents, malformed
    syntax, duplicate keys, YAML aliases that expand beyond
    :data:`~megapod.spec.safe_yaml.MAX_ALIAS_NODES` nodes, and nesting deeper than
    :data:`~megapod.spec.safe_yaml.MAX_DEPTH` levels.
    """
    if b"\x00" in data:
        raise SpecError(name, "looks like a binary file (it contains NUL bytes), not YAML/TOML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(name, f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise SpecError(name, "is empty")
    doc: Any
    if fmt == "toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(name, f"malformed TOML: {exc}") from None
        except RecursionError:
            raise SpecError(name, f"malformed TOML: nested deeper than {MAX_DEPTH} levels") from None
    else:
        try:
            doc = load_yaml(text)
        except YamlLimitError as exc:
            raise SpecError(name, str(exc.problem)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise SpecError(name, f"malformed YAML{where}: {problem}") from None
        except RecursionError:
            raise SpecError(name, f"malformed YAML: nested deeper than {MAX_DEPTH} levels") from None
    if _depth(doc) > MAX_DEPTH:
        raise SpecError(name, f"nested deeper than {MAX_DEPTH} levels")
    return doc


def _depth(doc: Any) -> int:
    """Nesting depth of lists and mappings, walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def validate(model: type[M], doc: dict[str, Any], name: str = "") -> M:
    """Validate ``doc`` as ``model``; every problem goes into one :class:`SpecError` (the first
    names its field, the others follow it)."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # an unknown key is often a typo that also explains a "missing" error: report it first
        errors.sort(key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        path = _path(first["loc"])
        # every problem is reported, on one line: the first as the error, the others after it
        more = "".join(f"; also {_path(e['loc']) or '(document)'}: {_message(model, e)}" for e in errors[1:])
        where = f"{name}: {path}" if name and path else (path or name)
        raise SpecError(where, _message(model, first) + more) from None
    except RecursionError:
        raise SpecError(name, "the document is nested too deeply") from None


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or ("-" in part and part[0].isupper()):  # pydantic union tags
            continue
        else:
            out += f".{part}" if out else part
    return out


def _message(model: type[BaseModel], error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        fields = _fields_at(model, error["loc"][:-1])
        close = difflib.get_close_matches(key, fields, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(fields)}"
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return "required, but missing"
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind.startswith(("greater", "less")):
        msg = _with_readable_limit(msg, error.get("ctx") or {})
    if kind.startswith(("greater", "less", "too_", "int_", "float_", "finite", "literal", "bool")):
        return f"{_show(value)}: {msg[0].lower()}{msg[1:]}"
    return msg


def _with_readable_limit(msg: str, ctx: dict[str, Any]) -> str:
    """The bound of a range error with thousands separators (``1,000,000,000,000``, not
    pydantic's ``1e+12``)."""
    for key in ("gt", "ge", "lt", "le"):
        limit = ctx.get(key)
        if isinstance(limit, int | float) and not isinstance(limit, bool) and msg.endswith(str(limit)):
            whole = float(limit).is_integer() and abs(limit) < 1e21
            shown = f"{int(limit):,}" if whole else f"{limit:,}"
            return msg[: -len(str(limit))] + shown
    return msg


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        current = _model_in(field.annotation) if field is not None else None
    return sorted(current.model_fields) if current is not None else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _kind(doc: Any) -> str:
    if doc is None:
        return "nothing (the document is empty or only comments)"
    return f"a {type(doc).__name__}"
