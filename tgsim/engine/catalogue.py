"""The model catalogue: growth laws as TOML cards.

A card (``models/<name>.toml``) describes one growth law as data:

.. code-block:: toml

    name = "gompertz"
    title = "Gompertz growth"
    description = "dV/dt = r V ln(K/V) ..."
    states = ["volume"]                       # tumour compartments; volume = their sum

    [[parameters]]
    name = "growth_rate"                      # descriptive name used by the API
    symbol = "r"                              # maths symbol, usable in expressions
    unit = "1/day"
    default = 0.1
    lower = 1e-6
    upper = 10.0
    description = "initial specific growth rate"

    [initial]                                 # state values at t0
    volume = "initial_volume"

    [rhs]                                     # d(state)/dt, autonomous (no t)
    volume = "r * volume * log(K / volume)"

    [closed_form]                             # optional: state after time t from its
    volume = "K * (volume / K) ** exp(-r * t)"  # value at the segment start

    [treatment]
    sensitivity = { volume = 1.0 }            # share of the kill each state takes

    [[references]]
    key = "benzekry2014"
    citation = "Benzekry S et al. PLoS Comput Biol 2014;10:e1003800"

    [[parameter_sets]]
    name = "..."; reference = "benzekry2014"; values = { growth_rate = 0.1 }

Closed forms may also use ``kill`` (a constant log-kill hazard, 1/day) and ``accel``
(a constant multiplier of the growth term); a card whose closed form mentions them
keeps its closed form under constant-rate kill and step acceleration.

:func:`models` lists the cards, :func:`model` returns one by name and
:func:`load_model` reads a card from any path.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import math
import os
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import CardError
from ..schema import check_unknown
from . import expr

__all__ = ["Parameter", "Model", "models", "model", "load_model", "builtin_model_dir"]

#: names a card may not use for parameters or states
RESERVED = frozenset(
    {"t", "kill", "accel", "exp", "expm1", "log", "log1p", "sqrt", "min", "max", "abs"}
)
_CARD_KEYS = {
    "name",
    "title",
    "description",
    "states",
    "parameters",
    "initial",
    "rhs",
    "closed_form",
    "treatment",
    "references",
    "parameter_sets",
    "notes",
}
_PARAM_KEYS = {
    "name",
    "symbol",
    "unit",
    "default",
    "lower",
    "upper",
    "description",
    "required",
}


@dataclass(frozen=True)
class Parameter:
    """One model parameter as declared by its card.

    Attributes
    ----------
    name : str
        Descriptive name used in the API (``growth_rate``).
    symbol : str
        Mathematical symbol used in the card's equations (``r``).
    unit : str
        Unit string (``1/day``, ``mm^3``).
    default, lower, upper : float
        Typical value and the admissible closed interval ``[lower, upper]``.
    description : str
        One-line meaning.
    required : bool
        If false, :func:`tgsim.simulate` silently uses ``default`` when the value is
        not given (for shape constants such as the exponential-linear ψ).

    Examples
    --------
    >>> import tgsim
    >>> p = tgsim.model("gompertz").parameter("carrying_capacity")
    >>> p.symbol, p.unit, p.lower < p.default < p.upper
    ('K', 'mm^3', True)
    """

    name: str
    symbol: str
    unit: str
    default: float
    lower: float
    upper: float
    description: str
    required: bool = True


@dataclass(frozen=True)
class Model:
    """A growth law read from a card. Build with :func:`model` or :func:`load_model`.

    Examples
    --------
    >>> import tgsim
    >>> m = tgsim.model("exponential")
    >>> m.states, m.has_closed_form
    (('volume',), True)
    >>> m.defaults()
    {'initial_volume': 1.0, 'growth_rate': 0.2}
    """

    name: str
    title: str
    description: str
    states: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    initial: Mapping[str, str]
    rhs: Mapping[str, str]
    closed_form: Mapping[str, str] | None
    sensitivity: Mapping[str, float]
    references: tuple[Mapping[str, str], ...]
    parameter_sets: tuple[Mapping[str, Any], ...]
    path: str
    card_hash: str
    notes: str = ""
    _trees: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ----------------------------------------------------------------- convenience
    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Parameter names in the card's order (the column order of parameter matrices)."""
        return tuple(p.name for p in self.parameters)

    def parameter(self, name: str) -> Parameter:
        """Return the parameter called ``name`` (descriptive name or symbol)."""
        if isinstance(name, str):
            name = unicodedata.normalize("NFKC", name)
        for p in self.parameters:
            if name in (p.name, p.symbol):
                return p
        raise KeyError(
            f"model {self.name!r} has no parameter {name!r}; "
            f"its parameters are {', '.join(self.parameter_names)}"
        )

    def defaults(self) -> dict[str, float]:
        """Default value of every parameter, by name."""
        return {p.name: p.default for p in self.parameters}

    def parameter_set(self, name: str | None = None) -> dict[str, float]:
        """Literature parameter values (the first set when ``name`` is None), merged on the
        defaults."""
        if not self.parameter_sets:
            raise KeyError(f"model {self.name!r} has no literature parameter sets")
        for ps in self.parameter_sets:
            if name is None or ps["name"] == name:
                out = self.defaults()
                out.update({k: float(v) for k, v in ps["values"].items()})
                return out
        names = ", ".join(ps["name"] for ps in self.parameter_sets)
        raise KeyError(f"model {self.name!r} has no parameter set {name!r}; it has {names}")

    @property
    def has_closed_form(self) -> bool:
        """Whether the card gives a closed-form solution."""
        return self.closed_form is not None

    @property
    def closed_form_supports(self) -> frozenset[str]:
        """Which constant treatment terms (``kill``, ``accel``) the closed form includes."""
        if self.closed_form is None:
            return frozenset()
        # a term is supported only if every state it acts on carries it
        out = {"kill", "accel"}
        for state in self.states:
            used = expr.names_in(self._trees[f"closed_form.{state}"])
            if "accel" not in used:
                out.discard("accel")
            if "kill" not in used and self.sensitivity[state] > 0:
                out.discard("kill")
        return frozenset(out)

    def summary(self) -> str:
        """A human-readable table of the model's equations and parameters."""
        lines = [f"{self.title} ({self.name})", "", self.description.strip(), ""]
        lines.append("states: " + ", ".join(self.states) + "   (volume = sum of states)")
        for s in self.states:
            lines.append(f"  d{s}/dt = {self.rhs[s]}")
        if self.closed_form:
            for s in self.states:
                lines.append(f"  {s}(t) = {self.closed_form[s]}")
        lines.append("")
        w = max(len(p.name) for p in self.parameters)
        lines.append(f"{'parameter':<{w}}  symbol  {'unit':<10} {'default':>10}  bounds")
        for p in self.parameters:
            lines.append(
                f"{p.name:<{w}}  {p.symbol:<6}  {p.unit:<10} {p.default:>10.4g}  "
                f"[{p.lower:.4g}, {p.upper:.4g}]  {p.description}"
            )
        if self.references:
            lines.append("")
            lines.append("references:")
            lines += [f"  [{r.get('key', '')}] {r.get('citation', '')}" for r in self.references]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<tgsim.Model {self.name!r}: {', '.join(self.parameter_names)}>"


# ------------------------------------------------------------------------ loading
def builtin_model_dir() -> Path:
    """Folder holding the built-in cards.

    An installed wheel carries them as package data (``tgsim/models``); a source checkout
    (or an editable install) reads them from the top-level ``models/`` folder.
    """
    package = Path(__file__).resolve().parents[1]  # tgsim/
    shipped = package / "models"
    if shipped.is_dir():
        return shipped
    return package.parent / "models"


def _search_dirs(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None):
    dirs: list[Path] = []
    extra = os.environ.get("TGSIM_MODEL_PATH", "")
    if path is not None:
        if isinstance(path, str | os.PathLike):
            path = [path]
        dirs += [Path(p) for p in path]
    dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    dirs.append(builtin_model_dir())
    return dirs


def models(path: str | os.PathLike[str] | Sequence[str] | None = None) -> list[str]:
    """List the names of the available model cards.

    Parameters
    ----------
    path : path or list of paths, optional
        Extra folders of user cards, searched before the built-in catalogue (as is the
        ``TGSIM_MODEL_PATH`` environment variable, ``os.pathsep``-separated).

    Returns
    -------
    list of str
        Card names, sorted.

    Examples
    --------
    >>> import tgsim
    >>> names = tgsim.models()
    >>> "gompertz" in names and "exponential" in names
    True
    """
    names: set[str] = set()
    for d in _search_dirs(path):
        if not d.is_dir():
            if path is not None and d != builtin_model_dir():
                raise CardError(f"model path {str(d)!r} is not a folder")
            continue
        names |= {p.stem for p in d.glob("*.toml")}
    return sorted(names)


def model(name: str | Model, path: str | os.PathLike[str] | Sequence[str] | None = None) -> Model:
    """Return the model called ``name`` (or a path to a card, or a Model as is).

    Raises
    ------
    CardError
        If no card of that name exists (the message lists the available ones), or the
        card is malformed.

    Examples
    --------
    >>> import tgsim
    >>> gompertz = tgsim.model("gompertz")
    >>> gompertz.parameter_names
    ('initial_volume', 'growth_rate', 'carrying_capacity')
    >>> gompertz.parameter("growth_rate").unit
    '1/day'
    """
    if isinstance(name, Model):
        return name
    if not isinstance(name, str | os.PathLike):
        raise CardError(f"`model` must be a card name, a path or a tgsim.Model; got {name!r}")
    text = os.fspath(name)
    if text.endswith(".toml") or os.sep in text:
        return load_model(text)
    for d in _search_dirs(path):
        card = d / f"{text}.toml"
        if card.is_file():
            found = load_model(card)
            if found.name != unicodedata.normalize("NFKC", text):
                raise CardError(
                    f"{card}: field 'name' is {found.name!r} but the file is named "
                    f"{card.name!r}; a card is found by its file name, so the two must "
                    f"agree (rename the file to {found.name}.toml or the card)")
            return found
    raise CardError(
        f"unknown model {text!r}; available models: {', '.join(models(path))} "
        "(or pass the path of a .toml card)"
    )


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and check one model card.

    Parameters
    ----------
    path : path-like
        A ``.toml`` card file.

    Returns
    -------
    Model

    Raises
    ------
    CardError
        Naming the file and the field for every problem found.

    Examples
    --------
    >>> import tgsim
    >>> card = tgsim.model("logistic").path          # any card file, here a built-in one
    >>> tgsim.load_model(card).name
    'logistic'
    """
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise CardError(f"model card {str(path)!r} does not exist")
    stat = p.stat()
    return _load_cached(str(p), stat.st_mtime_ns, stat.st_size)


@cache
def _load_cached(path: str, _mtime: int, _size: int) -> Model:
    raw = Path(path).read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CardError(f"{path}: not valid TOML: {exc}") from None
    return _build(data, path)


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise CardError(f"{where}: missing required field {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(k.__name__ for k in kinds)
        raise CardError(f"{where}: field {key!r} must be {names}, got {value!r}")
    return value


def _nfkc(key: str) -> str:
    return unicodedata.normalize("NFKC", key)


def _identifier(name: object, where: str) -> str:
    """A card name, NFKC-normalised as Python normalises identifiers (so ``ﬁ`` is ``fi``
    and two look-alike names collide at load, not in the generated code)."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise CardError(f"{where}: {name!r} is not a valid name (letters, digits, underscores)")
    norm = unicodedata.normalize("NFKC", name)
    if keyword.iskeyword(norm) or norm in RESERVED:
        raise CardError(f"{where}: {name!r} is reserved (a Python keyword or a name used in "
                        "expressions) and cannot be used as a name")
    return norm


def _check_size(limit: str, value: int, where: str) -> None:
    from ..errors import SizeLimitError
    from ..limits import check_count

    try:
        check_count(limit, value, f"the number of {limit}")
    except SizeLimitError as exc:
        raise CardError(f"{where}: {exc}") from None


def _build(data: Mapping[str, Any], path: str) -> Model:
    check_unknown(data, _CARD_KEYS, path, what="field", error=CardError)
    name = _identifier(_need(data, "name", str, path), f"{path}: field 'name'")
    states_raw = _need(data, "states", list, path)
    if not states_raw:
        raise CardError(f"{path}: field 'states' must list at least one state")
    _check_size("states", len(states_raw), f"{path}: field 'states'")
    states = tuple(_identifier(s, f"{path}: field 'states'") for s in states_raw)
    if len(set(states)) != len(states):
        raise CardError(f"{path}: field 'states' has duplicates (after Unicode NFKC "
                        f"normalisation): {states_raw}")
    _check_size("parameters", len(_need(data, "parameters", list, path)),
                f"{path}: field 'parameters'")

    params: list[Parameter] = []
    for i, pd in enumerate(_need(data, "parameters", list, path)):
        where = f"{path}: parameters[{i}]"
        if not isinstance(pd, dict):
            raise CardError(f"{where}: must be a table")
        check_unknown(pd, _PARAM_KEYS, where, error=CardError)
        pname = _identifier(_need(pd, "name", str, where), f"{where} name")
        where = f"{path}: parameter {pname!r}"
        vals = {}
        for key in ("default", "lower", "upper"):
            v = _need(pd, key, int | float, where)
            if isinstance(v, bool) or not math.isfinite(float(v)):
                raise CardError(f"{where}: field {key!r} must be a finite number, got {v!r}")
            vals[key] = float(v)
        if not vals["lower"] <= vals["default"] <= vals["upper"]:
            raise CardError(
                f"{where}: default {vals['default']} is outside [lower, upper] = "
                f"[{vals['lower']}, {vals['upper']}]"
            )
        symbol = _identifier(pd.get("symbol", pname), f"{where} symbol")
        params.append(
            Parameter(
                name=pname,
                symbol=symbol,
                unit=str(_need(pd, "unit", str, where)),
                default=vals["default"],
                lower=vals["lower"],
                upper=vals["upper"],
                description=str(pd.get("description", "")),
                required=bool(pd.get("required", True)),
            )
        )
    pnames = [p.name for p in params]
    if "initial_volume" not in pnames:
        raise CardError(f"{path}: every card needs a parameter named 'initial_volume' (mm^3)")
    symbols = [p.symbol for p in params if p.symbol != p.name]
    all_names = pnames + symbols + list(states)
    dup = {n for n in all_names if all_names.count(n) > 1}
    if dup:
        raise CardError(f"{path}: names used twice among parameters/symbols/states (after "
                        f"Unicode NFKC normalisation): {sorted(dup)}")

    trees: dict[str, Any] = {}
    sections: dict[str, dict[str, str]] = {}
    param_names = set(pnames) | set(symbols)
    allowed = {
        "initial": param_names,
        "rhs": param_names | set(states),
        "closed_form": param_names | set(states) | {"t", "kill", "accel"},
    }
    for section in ("initial", "rhs", "closed_form"):
        if section == "closed_form" and section not in data:
            continue
        table = {_nfkc(k): v for k, v in _need(data, section, dict, path).items()}
        missing = [s for s in states if s not in table]
        extra = [k for k in table if k not in states]
        if missing:
            raise CardError(f"{path}: [{section}] has no expression for state(s) {missing}")
        if extra:
            raise CardError(
                f"{path}: [{section}] names unknown state(s) {extra}; states are {list(states)}"
            )
        sections[section] = {}
        for s in states:
            where = f"{path}, [{section}] {s}"
            trees[f"{section}.{s}"] = expr.parse(table[s], allowed[section], where=where)
            sections[section][s] = table[s].strip()

    treat = data.get("treatment", {})
    if not isinstance(treat, dict) or set(treat) - {"sensitivity"}:
        raise CardError(f"{path}: [treatment] may only hold 'sensitivity'")
    sens_raw = treat.get("sensitivity", {})
    sens = {s: 1.0 for s in states}
    for k, v in sens_raw.items():
        k = _nfkc(k)
        if k not in states:
            raise CardError(f"{path}: [treatment] sensitivity names unknown state {k!r}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise CardError(
                f"{path}: [treatment] sensitivity of {k!r} must be in [0, 1], got {v!r}"
            )
        sens[k] = float(v)

    refs = tuple(data.get("references", ()))
    psets = tuple(data.get("parameter_sets", ()))
    for i, ps in enumerate(psets):
        where = f"{path}: parameter_sets[{i}]"
        if not isinstance(ps, dict) or "name" not in ps or not isinstance(ps.get("values"), dict):
            raise CardError(f"{where}: needs 'name' and a 'values' table")
        for k, v in ps["values"].items():
            k = _nfkc(k)
            if k not in pnames:
                raise CardError(f"{where}: unknown parameter {k!r}")
            par = params[pnames.index(k)]
            if not par.lower <= float(v) <= par.upper:
                raise CardError(f"{where}: {k} = {v} is outside [{par.lower}, {par.upper}]")

    canonical = json.dumps(data, sort_keys=True, default=str).encode()
    return Model(
        name=name,
        title=str(data.get("title", name)),
        description=str(data.get("description", "")),
        states=states,
        parameters=tuple(params),
        initial=sections["initial"],
        rhs=sections["rhs"],
        closed_form=sections.get("closed_form"),
        sensitivity=sens,
        references=refs,
        parameter_sets=psets,
        path=path,
        card_hash=hashlib.sha256(canonical).hexdigest()[:16],
        notes=str(data.get("notes", "")),
        _trees=trees,
    )
