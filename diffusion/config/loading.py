"""Reading a config file: size and encoding checked, TOML parsed, then validated."""

from __future__ import annotations

import tomllib
from pathlib import Path

from diffusion._text import short_repr
from diffusion.config.errors import ConfigError
from diffusion.config.experiment import ExperimentConfig, validate_config


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment config; raise ``ConfigError`` on any mistake."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}: more than {MAX_CONFIG_BYTES} bytes (not a config)"])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not a text file (not valid UTF-8)"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {_toml_reason(exc)}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid TOML: tables or arrays nested too deeply"]) from None
    return validate_config(data, base_dir=path.parent, toml=True)


MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (a config is a few kilobytes)."""


def _toml_reason(exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message ("Invalid value (at line 3, column 8)"): it quotes no content."""
    return short_repr(str(exc), 200).strip("'\"")
