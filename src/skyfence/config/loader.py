"""TOML → pydantic with errors naming the file, the key and what was expected."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from skyfence.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def format_key(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a dotted key: ``('sensor', 2, 'x')`` → ``sensor[2].x``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a syntax error becomes a :class:`ConfigError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"is not valid TOML: {exc}") from None


_UNIT_NAMES = {"_m": "metres", "_s": "seconds", "_deg": "degrees", "_mps": "metres per second",
               "_dbsm": "dBsm", "_db": "dB", "_km": "kilometres", "_per_hour": "per hour"}
_UNITS = ("_m", "_km", "_deg", "_rad", "_s", "_ms", "_min", "_h", "_mps", "_kmh", "_kts",
          "_ft", "_dbsm", "_db")


def _stem(key: str) -> str:
    for u in sorted(_UNITS, key=len, reverse=True):
        if key.endswith(u):
            return key[: -len(u)]
    return key


def _known_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys the model accepts at ``loc`` (walking nested models and lists)."""
    m: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(m, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    m = inner
                    break
    return list(getattr(m, "model_fields", {}))


def _unknown_key_hint(model: type[BaseModel], loc: Sequence[int | str]) -> str:
    key = str(loc[-1]) if loc else ""
    known = _known_keys(model, loc)
    same_stem = [k for k in known if _stem(k) == _stem(key) and k != key]
    if same_stem:
        return (f"unknown key; did you mean '{same_stem[0]}'? (SkyFence files use SI units: "
                "metres, seconds, m/s; angles in degrees)")
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return "unknown key (check the spelling against docs/interchange.md)"


def _describe(err: dict[str, Any], model: type[BaseModel] | None = None) -> str:
    kind = err.get("type", "")
    got = err.get("input")
    if kind == "extra_forbidden":
        if model is not None:
            return _unknown_key_hint(model, err["loc"])
        return "unknown key (check the spelling against docs/interchange.md)"
    if kind == "missing":
        return "required key is missing"
    loc = err.get("loc", ())
    key = str(loc[-1]) if loc else ""
    if (kind in ("float_parsing", "int_parsing") and isinstance(got, str)
            and re.match(r"^\s*[-+]?[\d.]+\s*[^\d\s.]", got)):
        unit = next((name for suffix, name in _UNIT_NAMES.items() if key.endswith(suffix)),
                    "the unit its name ends in")
        return (f"expected a plain number in {unit}; got {got!r} (units are not written in "
                "values: the key's suffix names the unit)")
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    got_s = repr(got)
    if len(got_s) > 60:
        got_s = got_s[:57] + "..."
    return f"expected {msg[0].lower() + msg[1:]}; got {got_s}"


def validate_model(model: type[M], data: Any, file: str | Path, prefix: str = "") -> M:
    """Validate ``data`` against ``model``; the first error becomes a :class:`ConfigError`.

    All errors are listed in the message when there are several, the first one leading.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # an unknown key is usually the cause of a "missing" one (a misspelling): lead with it
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        parts = []
        for err in errors:
            key = format_key(err["loc"])
            if prefix:
                key = f"{prefix}.{key}" if key else prefix
            parts.append((key, _describe(dict(err), model)))
        first_key, first_msg = parts[0]
        if len(parts) > 1:
            more = "; ".join(f"'{k}': {m}" for k, m in parts[1:4])
            first_msg += f" (and {len(parts) - 1} more: {more})"
        raise ConfigError(file, first_key, first_msg) from None
