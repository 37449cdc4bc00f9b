"""Reading a config file: size and encoding checked, TOML parsed, then validated."""

from __future__ import annotations

from pathlib import Path

from diffusion._strict import read_toml
from diffusion.config.errors import ConfigError
from diffusion.config.experiment import ExperimentConfig, validate_config


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment config; raise ``ConfigError`` on any mistake."""
    path = Path(path)
    data = read_toml(path, MAX_CONFIG_BYTES, "a config", ConfigError)
    return validate_config(data, base_dir=path.parent, toml=True)


MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (a config is a few kilobytes)."""
