"""Safe codec between the grading process and the sandboxed worker.

Values travel as JSON text. The grading process only ever *decodes* what a worker sends with
``decode``, which builds plain Python/numpy values of allow-listed exact types and refuses
everything else; nothing is unpickled or evaluated. Encoding runs on both sides; in the worker
it is best effort only (the student may tamper with it), so safety never relies on it.

Wire format (JSON):
- null, true/false, int, str: themselves; floats: numbers, or {"$f": "nan"|"inf"|"-inf"}
- list: JSON list; tuple: {"$t": [...]}; dict: {"$d": [[key, value], ...]} with scalar keys
- numpy array: {"$a": base64, "dtype": "<f8", "shape": [..]} (numeric and bool dtypes only)
- numpy scalar: {"$s": value, "dtype": "<i8"}
- worker object: {"$h": id, "type": "ClassName"} (a handle; see ``Handle``)
- trusted function: {"$fn": source} (see ``TrustedFunction``). Grader -> worker only: a hidden
  suite may pass a small function it wrote itself to student code. ``decode`` refuses the tag
  unless the caller passes ``make_function``; only the worker (decoding the grader's requests)
  and the reference side (decoding the suite's own arguments) do, never the grading process
  when it decodes a reply, so a worker can never send a function back.
"""

from __future__ import annotations

import ast
import base64
import builtins
import json
import math

import numpy as np

#: dtypes allowed in arrays and numpy scalars (little-endian on the wire).
ALLOWED_DTYPES = frozenset(np.dtype(name).newbyteorder("<").str for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128"))
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
MAX_FUNCTION_SOURCE = 20_000


class CodecError(ValueError):
    """A value that cannot be encoded, or a message that fails validation when decoded."""


class Handle:
    """A reference to an object that lives in the worker (e.g. an instance of a student class).

    The grading process never holds the object itself, only this id and its type name.
    ``owner`` is set by the proxy that decoded it, so attribute access and method calls are
    forwarded to the worker.
    """

    __slots__ = ("handle_id", "type_name", "owner", "generation")

    def __init__(self, handle_id: int, type_name: str, owner=None, generation: int = 0):
        object.__setattr__(self, "handle_id", handle_id)
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "owner", owner)
        object.__setattr__(self, "generation", generation)

    def __getattr__(self, name: str):
        owner = object.__getattribute__(self, "owner")
        if owner is None or name.startswith("__"):
            raise AttributeError(name)
        return owner._handle_getattr(self, name)

    def __setattr__(self, name, value):
        raise AttributeError("handles to student objects are read-only in the grader")

    def __repr__(self) -> str:
        return f"<student object of class {self.type_name}>"

    def __eq__(self, other):  # identity only: a handle never claims to equal a value
        return self is other

    __hash__ = object.__hash__


class TrustedFunction:
    """A small function written by the hidden suite's author, to pass to student code.

    ``TrustedFunction("lambda x: float(np.sum(x ** 2))")`` travels as its source text and is
    rebuilt on each side by ``build_function``: the source is compiled in a fresh namespace
    holding only ``np`` (and the builtins), in the sandbox for the student, in the grading
    process for the reference, so both sides call equivalent functions. The source is either
    one expression that evaluates to a callable (usually a ``lambda``) or a block of
    statements whose last statement is a ``def`` (that function is the result; helpers defined
    before it are visible to it). It is checked once here, so a broken suite fails early.
    """

    __slots__ = ("source",)

    def __init__(self, source: str):
        if type(source) is not str:
            raise CodecError("a trusted function is given as its source text (a str)")
        object.__setattr__(self, "source", source)
        build_function(source)  # fail early, in the suite, on a typo

    def __setattr__(self, name, value):
        raise AttributeError("trusted functions are read-only")

    def __call__(self, *args, **kwargs):
        """Call it in the grading process too (handy for computing expected values)."""
        return build_function(self.source)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"TrustedFunction({self.source!r})"


def build_function(source) -> object:
    """Compile a trusted function's source (see ``TrustedFunction``) in a fresh namespace that
    holds only ``np``; returns the callable. Raises CodecError for anything else."""
    if type(source) is not str or len(source) > MAX_FUNCTION_SOURCE:
        raise CodecError("bad trusted function source")
    namespace = {"np": np, "__builtins__": builtins, "__name__": "__suite_function__"}
    try:
        tree = ast.parse(source.strip(), "<suite function>", "eval")
    except SyntaxError:
        tree = None
    try:
        if tree is not None:
            fn = eval(compile(tree, "<suite function>", "eval"), namespace)  # noqa: S307
        else:
            module = ast.parse(source, "<suite function>", "exec")
            if not module.body or not isinstance(module.body[-1], ast.FunctionDef):
                raise CodecError("a trusted function's source must be an expression or end "
                                 "with a `def`")
            exec(compile(module, "<suite function>", "exec"), namespace)  # noqa: S102
            fn = namespace[module.body[-1].name]
    except CodecError:
        raise
    except Exception as error:
        raise CodecError(f"the trusted function does not compile: {error!r}") from None
    if not callable(fn):
        raise CodecError("a trusted function's source must give a callable")
    return fn


# ----------------------------------------------------------------------------- encoding
def encode(value, register_handle=None, _depth: int = 0):
    """Turn a value into JSON-ready data.

    Inputs:
    - value: a plain value (see module docstring). Exact types only: subclasses of float, int,
      str, list, dict or ndarray are converted to the plain base type's *data* (the lie in a
      custom ``__eq__`` does not travel), other objects need ``register_handle``.
    - register_handle: callable(obj) -> (id, type_name) or None (then such objects fail).
    Returns JSON-serialisable data. Raises CodecError.
    """
    if _depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str or t is int:
        return value
    if t is float:
        return value if math.isfinite(value) else {"$f": repr(value)}
    if t is np.ndarray or isinstance(value, np.ndarray):
        array = np.asarray(value).view(np.ndarray)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype.newbyteorder("<").str not in ALLOWED_DTYPES:
            raise CodecError(f"arrays of dtype {array.dtype} cannot be returned (numbers only)")
        # np.require keeps a 0-d array 0-d (np.ascontiguousarray would make it shape (1,))
        data = np.require(array, dtype=dtype.newbyteorder("<"), requirements="C")
        return {"$a": base64.b64encode(data.tobytes()).decode("ascii"),
                "dtype": data.dtype.str, "shape": list(array.shape)}
    if isinstance(value, np.generic):
        if value.dtype.newbyteorder("<").str not in ALLOWED_DTYPES:
            raise CodecError(f"numpy scalars of dtype {value.dtype} cannot be returned")
        item = value.item()
        if isinstance(item, complex):
            item = [item.real, item.imag]
        return {"$s": encode(item, None, _depth + 1), "dtype": value.dtype.newbyteorder("<").str}
    # Subclasses travel as their base type's data, read with the base type's own methods
    # (an overridden __eq__, __float__ or items() cannot change what is sent).
    if isinstance(value, bool):
        return bool(int.__index__(value))
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return encode(float.__float__(value), None, _depth + 1)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list):
        return [encode(v, register_handle, _depth + 1) for v in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"$t": [encode(v, register_handle, _depth + 1) for v in tuple.__iter__(value)]}
    if isinstance(value, dict):
        return {"$d": [[encode(k, None, _depth + 1), encode(v, register_handle, _depth + 1)]
                       for k, v in dict.items(value)]}
    if t is TrustedFunction:
        return {"$fn": value.source}
    if register_handle is not None:
        handle_id, type_name = register_handle(value)
        return {"$h": handle_id, "type": type_name}
    raise CodecError(f"values of type {t.__name__} cannot be sent")


def dumps(value, register_handle=None) -> bytes:
    """Encode ``value`` to UTF-8 JSON bytes."""
    return json.dumps(encode(value, register_handle), allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


# ----------------------------------------------------------------------------- decoding
def _scalar_key(key):
    if key is None or type(key) in (bool, int, str, float) or (
            isinstance(key, np.generic) and type(key).__module__ == "numpy"):
        return key
    if type(key) is tuple and all(_scalar_key(k) is k for k in key):
        return key
    raise CodecError("dict keys must be numbers, strings, None or tuples of these")


def decode(data, make_handle=None, _depth: int = 0, _count: list | None = None, *,
           make_function=None):
    """Validate JSON-parsed ``data`` and build plain values from it.

    Inputs:
    - data: the result of ``json.loads`` on bytes from a worker (untrusted).
    - make_handle: callable(id, type_name) -> Handle, or None to refuse handles.
    - make_function: callable(source) -> callable (``build_function``) to accept trusted
      functions ({"$fn": source}); None (the default, and always when decoding what a worker
      sent) refuses them.
    Returns a value whose every part has one of the exact allowed types:
    None, bool, int, float, str, list, tuple, dict, numpy.ndarray, numpy scalar, Handle
    (and the functions ``make_function`` builds, when given).
    Raises CodecError on anything else.
    """
    if _count is None:
        _count = [0]
    _count[0] += 1
    if _count[0] > MAX_ITEMS or _depth > MAX_DEPTH:
        raise CodecError("reply too large or nested too deeply")
    t = type(data)
    if data is None or t is bool or t is str or t is int or t is float:
        if t is float and not math.isfinite(data):
            raise CodecError("bare non-finite float")
        return data
    if t is list:
        return [decode(v, make_handle, _depth + 1, _count, make_function=make_function)
                for v in data]
    if t is not dict or len(data) == 0:
        raise CodecError(f"unexpected JSON value of type {t.__name__}")
    if set(data) == {"$f"}:
        if data["$f"] not in ("nan", "inf", "-inf"):
            raise CodecError("bad non-finite float tag")
        return float(data["$f"])
    if set(data) == {"$t"} and type(data["$t"]) is list:
        return tuple(decode(v, make_handle, _depth + 1, _count, make_function=make_function)
                     for v in data["$t"])
    if set(data) == {"$d"} and type(data["$d"]) is list:
        out = {}
        for pair in data["$d"]:
            if type(pair) is not list or len(pair) != 2:
                raise CodecError("bad dict entry")
            key = _scalar_key(decode(pair[0], None, _depth + 1, _count))
            out[key] = decode(pair[1], make_handle, _depth + 1, _count,
                              make_function=make_function)
        return out
    if set(data) == {"$a", "dtype", "shape"}:
        return _decode_array(data)
    if set(data) == {"$s", "dtype"}:
        dtype = _checked_dtype(data["dtype"])
        item = data["$s"]
        if type(item) is dict and set(item) == {"$f"}:
            item = decode(item, None, _depth + 1, _count)
        if dtype.kind == "c":
            if type(item) is not list or len(item) != 2 or not all(
                    type(v) in (int, float) for v in item):
                raise CodecError("bad complex scalar")
            item = complex(item[0], item[1])
        elif type(item) not in (bool, int, float):
            raise CodecError("bad numpy scalar")
        try:
            return dtype.type(item)
        except (OverflowError, ValueError) as error:
            raise CodecError(f"bad numpy scalar: {error}") from None
    if set(data) == {"$h", "type"}:
        if make_handle is None or type(data["$h"]) is not int or type(data["type"]) is not str:
            raise CodecError("unexpected object handle")
        return make_handle(data["$h"], data["type"][:200])
    if set(data) == {"$fn"}:
        if make_function is None:
            raise CodecError("functions cannot be sent to the grader")
        return make_function(data["$fn"])
    raise CodecError("unknown tagged value")


def _checked_dtype(name) -> np.dtype:
    if type(name) is not str or name not in ALLOWED_DTYPES:
        raise CodecError(f"dtype {str(name)[:40]!r} is not allowed")
    return np.dtype(name)


def _decode_array(data) -> np.ndarray:
    dtype = _checked_dtype(data["dtype"])
    shape = data["shape"]
    if type(shape) is not list or len(shape) > 32 or not all(
            type(n) is int and 0 <= n for n in shape):
        raise CodecError("bad array shape")
    if type(data["$a"]) is not str:
        raise CodecError("bad array data")
    try:
        raw = base64.b64decode(data["$a"], validate=True)
    except ValueError:
        raise CodecError("bad array data") from None
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw):
        raise CodecError("array data does not match its shape and dtype")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    native = array.dtype.newbyteorder("=")
    return array.astype(native, copy=False)


def loads(raw: bytes, make_handle=None):
    """Parse and validate UTF-8 JSON bytes from a worker (see ``decode``)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CodecError(f"malformed reply: {error}") from None
    return decode(data, make_handle)


def _refuse_constant(name):
    raise CodecError(f"bare {name} in a reply")


def round_trip(value, register_handle=None, make_handle=None):
    """encode -> JSON -> decode, as the reference's values go, so both sides have equal types."""
    return loads(dumps(value, register_handle), make_handle)
