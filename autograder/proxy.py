"""The ``student`` and ``reference`` objects that hidden suites call.

Both expose the same interface over the names defined by a notebook's graded cells:

    student.fn(*args, **kwargs)            -> plain decoded values (see autograder.codec)
    model = student.SomeClass(); model.method(...)   (instances are Handles)
    student.source("fn") / ("Class.method") -> source text (parsed from the notebook, never run)
    student.call_reporting_inputs("fn", *args) -> (result, args_after_the_call)
    student.timed("fn", *args)               -> (result, seconds measured from the grader)

``StudentProxy`` forwards to a sandboxed ``Session``; ``ReferenceProxy`` runs the solution
notebook's cells in the grading process (trusted) and passes every argument and result through
the same codec round trip, so both sides return values of identical types.

A suite may pass its own small functions as arguments (``codec.TrustedFunction``): both sides
rebuild them from their source (the student's in the sandbox), so they get equivalent
callables. Functions never travel back: a function a student returns is a handle.
"""

from __future__ import annotations

import difflib
import time

import numpy as np

from autograder import codec
from autograder.codec import Handle
from autograder.errors import BadReply, GraderError, MissingDefinition, StudentError
from autograder.extract import GradedCell, function_source


def _handle_key(value):
    if isinstance(value, Handle):
        return value
    raise GraderError(f"a suite passed a value of type {type(value).__name__} to a student "
                      "function; only plain values, handles and "
                      "autograder.expect.trusted_function(source) can be sent")


class RemoteCallable:
    """A function, class or bound method that lives on the other side of a proxy."""

    def __init__(self, proxy, name: str | None = None, handle: Handle | None = None,
                 attr: str | None = None):
        self._proxy, self._name, self._handle, self._attr = proxy, name, handle, attr

    @property
    def qualname(self) -> str:
        if self._handle is not None:
            return f"{self._handle.type_name}.{self._attr}"
        return self._name

    def __call__(self, *args, **kwargs):
        return self._proxy._call(self, args, kwargs)[0]

    def __repr__(self) -> str:
        return f"<{self._proxy.side} callable {self.qualname}>"


class _ProxyBase:
    side = "?"

    def __init__(self, cells: list[GradedCell]):
        self._cells = cells

    def _names(self) -> dict[str, str]:
        raise NotImplementedError

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        names = self._names()
        if name not in names:
            close = difflib.get_close_matches(name, list(names), n=2)
            hint = f" (did you rename it? found {', '.join(f'`{c}`' for c in close)})" \
                if close else ""
            raise MissingDefinition(name, f"the submission does not define `{name}`{hint}")
        if names[name] == "value":
            return self._get(name)
        return RemoteCallable(self, name=name)

    def has(self, name: str) -> bool:
        """True when the graded cells define ``name``."""
        return name in self._names()

    def source(self, name: str) -> str | None:
        """Source of a top-level function/class or "Class.method", or None if not defined."""
        return function_source(self._cells, name)

    def _as_callable(self, fn) -> RemoteCallable:
        if isinstance(fn, RemoteCallable):
            if fn._proxy is not self:
                raise GraderError("a callable of one side was used with the other side's proxy")
            return fn
        if isinstance(fn, str):
            target = getattr(self, fn)
            if not isinstance(target, RemoteCallable):
                raise StudentError("TypeError", f"`{fn}` is not a function")
            return target
        raise GraderError(f"expected a function name or a proxy callable, got {fn!r}")

    def call_reporting_inputs(self, fn, *args, **kwargs):
        """Call ``fn`` and also return the positional arguments as they were after the call
        (to detect in-place mutation). Returns (result, args_after: tuple)."""
        return self._call(self._as_callable(fn), args, kwargs, report_inputs=True)

    def timed(self, fn, *args, **kwargs):
        """Call ``fn``; return (result, wall seconds measured around the call)."""
        start = time.perf_counter()
        result = self._call(self._as_callable(fn), args, kwargs)[0]
        return result, time.perf_counter() - start


class StudentProxy(_ProxyBase):
    """Forwards calls to the sandboxed worker of one submission (a ``sandbox.Session``)."""

    side = "student"

    def __init__(self, session, cells: list[GradedCell]):
        super().__init__(cells)
        self._session = session

    def _names(self):
        return self._session.names

    @property
    def load_errors(self) -> list[dict]:
        return self._session.load_errors

    def _make_handle(self, handle_id: int, type_name: str) -> Handle:
        return Handle(handle_id, type_name, owner=self, generation=self._session.generation)

    def _encode_handle(self, value):
        handle = _handle_key(value)
        if handle.owner is not self:
            raise GraderError("a handle of another proxy was passed to the student")
        if handle.generation != self._session.generation:
            raise StudentError("WorkerRestarted", "this object was created before your code "
                               "was restarted after an earlier failure")
        return handle.handle_id, handle.type_name

    def _reply(self, request: dict, what: str):
        reply = self._session.request(request, what)
        if reply.get("ok") is not True:
            error = reply.get("error")
            if not isinstance(error, dict):
                raise BadReply("the worker reported an error in an unreadable form")
            where = error.get("where") if isinstance(error.get("where"), list) else []
            detail = (" (" + "; ".join(str(w)[:200] for w in where[-2:]) + ")") if where else ""
            raise StudentError(str(error.get("type", "Error"))[:100],
                               str(error.get("message", ""))[:1500] + detail)
        return reply

    def _decode(self, data):
        try:
            return codec.decode(data, self._make_handle)
        except codec.CodecError as error:
            raise BadReply(f"your code returned something the grader cannot accept: {error}"
                           ) from None

    def _call(self, target: RemoteCallable, args, kwargs, report_inputs: bool = False):
        handle = target._handle
        request = {"op": "call", "name": target._name, "attr": target._attr,
                   "handle": None, "report_inputs": report_inputs,
                   "args": codec.encode(tuple(args), self._encode_handle),
                   "kwargs": codec.encode(dict(kwargs), self._encode_handle)}
        if handle is not None:
            request["handle"] = self._encode_handle(handle)[0]
        reply = self._reply(request, f"calling `{target.qualname}`")
        value = self._decode(reply.get("value"))
        inputs = self._decode(reply.get("inputs")) if report_inputs else None
        if report_inputs and type(inputs) is not tuple:
            raise BadReply("the worker did not report the arguments")
        return value, inputs

    def _get(self, name: str):
        return self._decode(self._reply({"op": "get", "name": name}, f"reading `{name}`")
                            .get("value"))

    def _handle_getattr(self, handle: Handle, name: str):
        request = {"op": "getattr", "handle": self._encode_handle(handle)[0], "name": name}
        reply = self._reply(request, f"reading `{handle.type_name}.{name}`")
        if reply.get("callable") is True:
            return RemoteCallable(self, handle=handle, attr=name)
        return self._decode(reply.get("value"))

    def printed(self) -> str:
        return self._session.printed()


class ReferenceProxy(_ProxyBase):
    """The solution notebook's graded cells, run in the grading process (trusted).

    Results and arguments go through the codec round trip, so the reference returns exactly
    the types a student's correct code would, and the suite's inputs are never mutated.
    Exceptions arrive as StudentError, as on the student side.
    """

    side = "reference"

    def __init__(self, cells: list[GradedCell]):
        super().__init__(cells)
        self._namespace: dict = {"np": np, "__name__": "__reference__"}
        for index, cell in enumerate(cells):
            try:
                exec(compile(cell.source, f"<reference cell {index + 1}>", "exec"),  # noqa: S102
                     self._namespace)
            except Exception as error:
                raise GraderError(f"the reference cell {cell.grade_id!r} raised {error!r}"
                                  ) from error
        self.reset()

    def reset(self) -> None:
        """Forget objects created for the previous submission."""
        self._objects: dict[int, object] = {}
        self._ids: dict[int, int] = {}

    def _names(self):
        return {k: ("class" if isinstance(v, type) else "function" if callable(v) else "value")
                for k, v in self._namespace.items() if not k.startswith("__") and k != "np"}

    def _register(self, obj):
        key = id(obj)
        if key not in self._ids:
            self._ids[key] = len(self._objects) + 1
            self._objects[self._ids[key]] = obj
        return self._ids[key], type(obj).__name__

    def _make_handle(self, handle_id, type_name):
        return Handle(handle_id, type_name, owner=self)

    def _to_local(self, value):
        """Copy suite values into fresh local objects (handles become the real objects)."""
        def encode_handle(v):
            handle = _handle_key(v)
            if handle.owner is not self:
                raise BadReply("your code returned an object where a plain value was expected")
            return handle.handle_id, handle.type_name
        return codec.decode(codec.encode(value, encode_handle),
                            lambda i, _t: self._objects[i], make_function=codec.build_function)

    def _to_suite(self, value):
        return codec.round_trip(value, self._register, self._make_handle)

    def _call(self, target: RemoteCallable, args, kwargs, report_inputs: bool = False):
        local_args = self._to_local(tuple(args))
        local_kwargs = self._to_local(dict(kwargs))
        if target._handle is not None:
            fn = getattr(self._objects[target._handle.handle_id], target._attr)
        else:
            fn = self._namespace[target._name]
        try:
            value = fn(*local_args, **local_kwargs)
        except Exception as error:
            raise StudentError(type(error).__name__, str(error)) from error
        inputs = self._to_suite(local_args) if report_inputs else None
        return self._to_suite(value), inputs

    def _get(self, name):
        return self._to_suite(self._namespace[name])

    def _handle_getattr(self, handle: Handle, name: str):
        value = getattr(self._objects[handle.handle_id], name)
        if callable(value) and not isinstance(value, np.ndarray):
            return RemoteCallable(self, handle=handle, attr=name)
        return self._to_suite(value)
