"""Self-checking Parquet files: each run file carries its identity and a SHA-256 of itself.

A run file is trusted only when it proves two things:

- **it is intact**: the footer's key-value metadata holds ``tabnas.sha256``,
  the SHA-256 of the whole file computed with that value set to 64 zeros.
  Any change to any byte (bit rot, a truncated copy, an edited value, a renamed
  column) changes the hash, so damage is detected, never read as other numbers;
- **it belongs here**: ``tabnas.run`` names the experiment, benchmark, strategy
  and seed, and a hash of the study settings that produced it
  (:data:`SETTINGS_DEFAULTS` and the strategy's hyperparameters). A file
  copied from another experiment, another seed's slot or another budget is
  *foreign* and refused.

The same check guards the derived ``.combined.parquet`` load cache (without an
identity). Checking costs one read and one hash of the file, a small fraction
of decoding it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tabnas.errors import DamagedData

DIGEST_KEY = b"tabnas.sha256"
IDENTITY_KEY = b"tabnas.run"
_PLACEHOLDER = b"0" * 64
#: The study settings that change what a run means, with the value a manifest written
#: before a setting existed holds (their hash is in every run file, with the strategy's
#: hyperparameters). A new such setting is added here, once.
SETTINGS_DEFAULTS: dict[str, Any] = {"budget": None, "benchmark_options": {}, "sim_workers": 1,
                                     "mf_cost": "restart"}


class DamagedFile(DamagedData):
    """A run or cache file that fails its checksum or cannot be decoded."""


class ForeignFile(DamagedData):
    """An intact run file whose identity does not match where it lies."""


def settings_digest(settings: dict[str, Any], hyperparameters: dict) -> str:
    """The hash of the study settings (:data:`SETTINGS_DEFAULTS`) a run of one strategy used.

    Canonical JSON (sorted keys), so the worker's values and the manifest's
    JSON-read copy hash alike (a tuple and a list are the same JSON).
    """
    values = {k: settings.get(k, default) for k, default in SETTINGS_DEFAULTS.items()}
    text = json.dumps({**values, "hyperparameters": hyperparameters}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_settings_digest(config: dict, strategy: str) -> str | None:
    """:func:`settings_digest` from a manifest's configuration (None where it lacks them)."""
    hps = config.get("hyperparameters")
    if "budget" not in config or not isinstance(hps, dict):
        return None
    return settings_digest(config, hps.get(strategy, {}))


def identity(experiment: str, benchmark: str, strategy: str, seed: int, settings: str
             ) -> dict[str, Any]:
    return {"experiment": experiment, "benchmark": benchmark, "strategy": strategy,
            "seed": int(seed), "settings": settings}


#: The columns of a run file worth a dictionary: a run's architectures are mostly
#: distinct, and dictionary-encoding every column cost a quarter more writing time
#: for files 20 % larger.
RUN_DICTIONARY = ("experiment", "benchmark", "strategy", "incumbent_arch", "stop_reason")


def encode(table, metadata: dict[bytes, bytes] | None = None,
           dictionary: tuple[str, ...] | None = None) -> bytes:
    """``table`` as zstd Parquet bytes with ``metadata`` and the file's own SHA-256.

    ``dictionary``: the columns to dictionary-encode (None: every column, as Arrow does).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, table.schema, compression="zstd",
                          use_dictionary=True if dictionary is None else list(dictionary)
                          ) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({**(metadata or {}), DIGEST_KEY: _PLACEHOLDER})
    data = sink.getvalue().to_pybytes()
    at = _digest_at(data, _PLACEHOLDER)
    digest = hashlib.sha256(data).hexdigest().encode()
    return data[:at] + digest + data[at + 64:]


def encode_run(table, ident: dict[str, Any]) -> bytes:
    return encode(table, {IDENTITY_KEY: json.dumps(ident, sort_keys=True).encode()},
                  RUN_DICTIONARY)


def _digest_at(data: bytes, value: bytes) -> int:
    """Where the digest's value lies: after the last ``tabnas.sha256`` key (in the footer)."""
    key = data.rfind(DIGEST_KEY)
    at = data.find(value, key) if key >= 0 else -1
    if at < 0:
        raise ValueError("no checksum")
    return at


def check(data: bytes, what: str) -> dict[bytes, bytes]:
    """The key-value metadata of checked Parquet ``data``; :class:`DamagedFile` if not intact.

    ``what`` names the file in the error. Reads only the footer and hashes the
    bytes: a small fraction of decoding the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(pa.BufferReader(data)).metadata or {}
        claimed = meta.get(DIGEST_KEY)
        if claimed is None or len(claimed) != 64:
            raise ValueError("it carries no tabnas checksum")
        at = _digest_at(data, claimed)
        if hashlib.sha256(data[:at] + _PLACEHOLDER + data[at + 64:]).hexdigest().encode() \
                != claimed:
            raise ValueError("its SHA-256 does not match its contents")
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DamagedFile(f"{what} is damaged ({_first_line(exc)})") from None
    return meta


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]


def check_run(data: bytes, what: str, expected: dict[str, Any]) -> dict[str, Any]:
    """A run file's identity, the file checked intact and matching ``expected``.

    ``expected`` holds the identity fields known where the file lies (a
    ``None`` value is not checked).
    """
    meta = check(data, what)
    try:
        ident = json.loads(meta[IDENTITY_KEY])
        if not isinstance(ident, dict):
            raise ValueError
    except (KeyError, ValueError):
        raise DamagedFile(f"{what} is damaged (it carries no run identity)") from None
    for field, want in expected.items():
        if want is None or ident.get(field) == want:
            continue
        if field == "settings":
            raise ForeignFile(f"{what} is foreign: it was produced with other study settings "
                              "(budget, benchmark options, simulated workers, what a "
                              "promotion pays, or hyperparameters) than this experiment's")
        raise ForeignFile(f"{what} is foreign: it holds the run of {field} "
                          f"{ident.get(field)}, not {want}")
    return ident
