"""Experiment configs: TOML validated into pydantic models (the one place that knows the schema).

The package by job: ``networks`` (the ``[network]`` sources), ``run`` (``[run]``), ``experiment``
(the sections assembled, ``validate_config``, dotted-path editing), ``loading`` (files), ``errors``
(pydantic's errors in a user's words). Each workflow owns its section: ``[sweep]`` and
``[cluster]`` are in ``diffusion.sweep.config``, ``[calibration]`` in
``diffusion.calibration.priors``, ``[sensitivity]`` and ``[strategy]`` in their packages'
``config``.

A config has the sections ``[network]`` (how to build or load the trust network), ``[model]``
(the fields of ``diffusion.Params``), ``[run]`` (steps, replicates, seeds), for parameter
sweeps ``[sweep]`` and ``[cluster]``, for fitting ``[calibration]`` (targets and priors,
``diffusion.calibration.priors``), and for a sensitivity analysis ``[sensitivity]``
(``diffusion.sensitivity.config``). ``load_config`` validates everything before any work is done
and raises ``ConfigError`` with one line per problem, e.g. ``model.beta: 1.7 is not in [0, 1]``.

Configs are strict: a quoted number (``beta = "0.1"``) or a boolean where a number belongs
(``steps = true``) is an error naming the field, not silently converted; TOML arrays are accepted
where a field holds a tuple. Every count and seed has an upper bound, so that no value can make a
run allocate without limit or overflow the 64-bit integers of the result files: seeds are below
2**63 (Parquet's int64), steps at most ``MAX_STEPS``, replicates and sweep points at most
``MAX_REPLICATES`` and ``MAX_POINTS``, agents below 2**31 (the kernels' int32 ids). Quoted
values are shortened and their control characters escaped (``diffusion._text``).
"""

from diffusion.config.errors import ConfigError, error_lines
from diffusion.config.experiment import ExperimentConfig, validate_config, with_value
from diffusion.config.loading import MAX_CONFIG_BYTES, load_config
from diffusion.config.networks import (
    NETWORK_TYPES,
    BarabasiAlbertNetwork,
    ErdosRenyiNetwork,
    FileNetwork,
    PopulationNetwork,
    SBMNetwork,
    network_content_hash,
    read_network,
)
from diffusion.config.run import RunConfig

__all__ = [
    "MAX_CONFIG_BYTES",
    "NETWORK_TYPES",
    "BarabasiAlbertNetwork",
    "ConfigError",
    "ErdosRenyiNetwork",
    "ExperimentConfig",
    "FileNetwork",
    "PopulationNetwork",
    "RunConfig",
    "SBMNetwork",
    "error_lines",
    "load_config",
    "network_content_hash",
    "read_network",
    "validate_config",
    "with_value",
]
