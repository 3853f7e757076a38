"""The ``student`` and ``reference`` objects that hidden suites call.

Both expose the same interface over the names defined by a notebook's graded cells:

    student.fn(*args, **kwargs)              -> plain decoded values (see autograder.codec)
    model = student.SomeClass(); model.method(...)   (instances are Handles)
    student.call_read_only("fn", *args, **kwargs) -> the result of a call on read-only inputs
    student.loops("fn")                        -> loops reachable from fn (utils.rules)
    student.calls("fn", ("inv", "pinv"))       -> calls of those functions reachable from fn
    student.source("fn") / ("Class.method")    -> source text of the final binding
    student.has("fn")                          -> bool
    reference.using(student, "helper", ...)    -> the reference with the student's helpers

``StudentProxy`` forwards to a sandboxed ``Session``; ``ReferenceProxy`` runs the solution
notebook's cells in the grading process (trusted) and passes every argument and result through
the same codec round trip, so both sides return values of identical types. Code is read
(``source``, ``loops``, ``calls``) from the notebook's text in the grading process, never from
what the worker reports.

A suite may pass its own small functions as arguments (``codec.TrustedFunction``): both sides
rebuild them from their source (the student's in the sandbox), so they get equivalent
callables. Functions never travel back: a function a student returns is a handle.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable

import numpy as np

from autograder import codec
from autograder.codec import Handle
from autograder.errors import BadReply, GraderError, MissingDefinition, StudentError
from autograder.extract import GradedCell
from utils import rules

#: Near-miss suggestions compare against at most this many names, each cut to this length,
#: so a submission defining 80 000 names cannot make a missing name cost seconds.
MAX_SUGGESTION_NAMES = 2000
MAX_SUGGESTION_NAME_LENGTH = 60


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
        return self._proxy._call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<{self._proxy.side} callable {self.qualname}>"


def _suggestions(name: str, names: Iterable[str]) -> list[str]:
    """Up to two defined names close to ``name`` (a renamed function), at bounded cost."""
    cut = MAX_SUGGESTION_NAME_LENGTH
    wanted = name[:cut]
    candidates = []
    for other in names:
        if abs(len(other) - len(name)) <= max(3, len(name) // 2):
            candidates.append(other[:cut])
            if len(candidates) >= MAX_SUGGESTION_NAMES:
                break
    return difflib.get_close_matches(wanted, candidates, n=2)


class _ProxyBase:
    side = "?"

    def __init__(self, cells: list[GradedCell]):
        self._cells = cells

    @functools.cached_property
    def _source_of(self):
        return rules.source_lookup([cell.source for cell in self._cells])

    def _names(self) -> dict[str, str]:
        raise NotImplementedError

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        names = self._names()
        if name not in names:
            close = _suggestions(name, names)
            hint = f" (did you rename it? found {', '.join(f'`{c}`' for c in close)})" \
                if close else ""
            raise MissingDefinition(name, f"the submission does not define `{name[:100]}`{hint}")
        if names[name] == "value":
            return self._get(name)
        return RemoteCallable(self, name=name)

    def has(self, name: str) -> bool:
        """True when the graded cells define ``name`` (as the worker saw them run)."""
        return name in self._names()

    def source(self, name: str) -> str | None:
        """Source text of the final top-level binding of ``name`` (a ``def`` with decorators,
        a ``class``, an assignment such as ``f = g``) or of "Class.member", read from the
        notebook's graded cells (never run); None if not defined."""
        return self._source_of(name)

    def loops(self, name: str) -> list[str]:
        """Python loops in the final binding of ``name`` ("fn" or "Class.method") and in every
        function, method and alias of the graded cells it reaches (``utils.rules.
        reachable_loops`` over the notebook's text, in the grading process); empty list = none.
        Phrases read "a `for` loop on line 3 of `helper`"."""
        return rules.reachable_loops(name, self._source_of)

    def calls(self, name: str, names: tuple[str, ...]) -> list[str]:
        """Calls of functions whose last name is in ``names`` (``("inv", "pinv")``) reachable
        from ``name``, like ``loops``; empty list = none. Phrases read "`inv` on line 4 of
        `helper`"."""
        return rules.reachable_calls(name, self._source_of, names)

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

    def call_read_only(self, fn, /, *args, **kwargs):
        """Call ``fn`` (a name, or a callable of this proxy such as ``model.predict``) on
        read-only copies of the arguments (``utils.rules.call_with_read_only_inputs``, run on
        the side that runs the code: in the sandbox for the student). Returns the result.
        Writing into an input array, or changing an input list, dict or array shape, raises
        ``StudentError`` with type_name "ValueError" and a message starting with
        "assignment destination is read-only"."""
        return self._call(self._as_callable(fn), args, kwargs, read_only=True)

    def _call(self, target: RemoteCallable, args, kwargs, read_only: bool = False):
        raise NotImplementedError


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

    def _call(self, target: RemoteCallable, args, kwargs, read_only: bool = False):
        handle = target._handle
        request = {"op": "call", "name": target._name, "attr": target._attr,
                   "handle": None, "read_only": bool(read_only),
                   "args": codec.encode(tuple(args), self._encode_handle),
                   "kwargs": codec.encode(dict(kwargs), self._encode_handle)}
        if handle is not None:
            request["handle"] = self._encode_handle(handle)[0]
        reply = self._reply(request, f"calling `{target.qualname}`")
        return self._decode(reply.get("value"))

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

    def __init__(self, cells: list[GradedCell], _replacements: dict | None = None,
                 _compiled: list | None = None):
        super().__init__(cells)
        self._compiled = _compiled if _compiled is not None else [
            (cell, compile(cell.source, f"<reference cell {index + 1}>", "exec"))
            for index, cell in enumerate(cells)]
        self._namespace: dict = {"np": np, "__name__": "__reference__"}
        for cell, code in self._compiled:
            try:
                exec(code, self._namespace)  # noqa: S102 - trusted instructor code
            except Exception as error:
                raise GraderError(f"the reference cell {cell.grade_id!r} raised {error!r}"
                                  ) from error
        self._namespace.update(_replacements or {})
        self.reset()

    def using(self, student: StudentProxy, *names: str) -> ReferenceProxy:
        """The reference with ``names`` (functions, classes or values) replaced by the
        student's: the reference's own code then calls the student's versions (through the
        sandbox). Grades a function "as the reference would behave given the student's own
        helpers", so a bug in a helper costs points only in the helper's test:

            same_array(student.cross_validate(X, y, ks, 3),
                       reference.using(student, "predict_labels").cross_validate(X, y, ks, 3))

        Returns a new reference proxy (same interface; ``source``/``loops`` read the
        reference's text). A name the student does not define raises ``MissingDefinition``
        here; a student error inside the composed call arrives as that ``StudentError``.
        """
        if not isinstance(student, StudentProxy):
            raise GraderError("reference.using(student, ...) needs the student proxy")
        if not names:
            raise GraderError("reference.using(student, ...) needs at least one name")
        replacements = {}
        for name in names:
            if name not in self._namespace or name.startswith("_"):
                raise GraderError(f"reference.using: the reference does not define {name!r}")
            replacements[name] = getattr(student, name)
        return ReferenceProxy(self._cells, replacements, self._compiled)

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

    def _call(self, target: RemoteCallable, args, kwargs, read_only: bool = False):
        local_args = self._to_local(tuple(args))
        local_kwargs = self._to_local(dict(kwargs))
        if target._handle is not None:
            fn = getattr(self._objects[target._handle.handle_id], target._attr)
        else:
            fn = self._namespace[target._name]
        try:
            if read_only:
                value = rules.call_with_read_only_inputs(fn, *local_args, **local_kwargs)
            else:
                value = fn(*local_args, **local_kwargs)
        except (StudentError, GraderError):
            raise  # a student helper's error inside ``using``, or the suite's own mistake
        except Exception as error:
            raise StudentError(type(error).__name__, str(error)) from error
        return self._to_suite(value)

    def _get(self, name):
        return self._to_suite(self._namespace[name])

    def _handle_getattr(self, handle: Handle, name: str):
        value = getattr(self._objects[handle.handle_id], name)
        if callable(value) and not isinstance(value, np.ndarray):
            return RemoteCallable(self, handle=handle, attr=name)
        return self._to_suite(value)
