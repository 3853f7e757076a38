"""The worker's side: runs inside the sandboxed child and executes student code.

This module is imported by the zygote *before* any student code exists, so everything it
needs is already loaded when the sandbox hides the file system. It trusts nothing it runs:
the grading process validates every reply (``autograder.codec.loads``), so a student who
tampers with this module (or with json, numpy, builtins) can only break their own replies.

Requests (JSON objects from the grading process):
- {"op": "load", "cells": [src, ...], "notebook": base64}: run the graded cells in a fresh
  namespace holding ``np``; reply {"names": {name: "function"|"class"|"value"}, "errors": [..]}
  (the notebook is written to ``submission.ipynb`` in the scratch folder when it fits; a
  notebook that cannot be written never stops the cells from loading)
- {"op": "call", "name": str | null, "handle": id | null, "attr": str | null, "args": enc,
  "kwargs": enc, "read_only": bool}: call a top-level name, or a handle's attribute
  (arguments may hold the suite's trusted functions, ``codec.TrustedFunction``); with
  ``read_only`` the call gets read-only copies (``utils.rules.call_with_read_only_inputs``);
  reply {"ok": true, "value": enc} or {"ok": false, "error": {...}}
- {"op": "getattr", "handle": id, "name": str}: reply {"ok": true, "callable": bool[, "value"]}
- {"op": "get", "name": str}: a top-level value.
"""

from __future__ import annotations

import base64
import builtins
import json
import linecache
import socket
import sys
import traceback

import numpy as np

from autograder import codec, wire
from utils import rules  # imported now: after confinement the course files are out of sight

MAX_REQUEST = 256 * 1024 * 1024


class _Objects:
    """Objects kept in the worker behind handles (instances of student classes etc.)."""

    def __init__(self):
        self.by_id: dict[int, object] = {}
        self.ids: dict[int, int] = {}

    def register(self, obj) -> tuple[int, str]:
        key = id(obj)
        if key not in self.ids:
            handle_id = len(self.by_id) + 1
            self.by_id[handle_id] = obj
            self.ids[key] = handle_id
        return self.ids[key], type(obj).__name__

    def lookup(self, handle_id: int, type_name: str = ""):
        if handle_id not in self.by_id:
            raise KeyError(f"unknown object handle {handle_id}")
        return self.by_id[handle_id]


def _kind(value) -> str:
    if isinstance(value, type):
        return "class"
    return "function" if callable(value) else "value"


def _error(exc: BaseException) -> dict:
    tb = traceback.extract_tb(exc.__traceback__)
    student_lines = [f"line {frame.lineno}: {frame.line}" for frame in tb
                     if frame.filename.startswith("<graded cell")]
    return {"type": type(exc).__name__, "message": str(exc)[:2000],
            "where": student_lines[-3:]}


class Worker:
    """Executes requests against the student's namespace."""

    def __init__(self):
        self.namespace: dict = {}
        self.objects = _Objects()

    def load(self, request: dict) -> dict:
        notebook = request.get("notebook")
        if notebook:
            try:  # a copy for students' code that reads its own notebook; optional
                with open("submission.ipynb", "wb") as handle:
                    handle.write(base64.b64decode(notebook))
            except (OSError, ValueError, TypeError):
                pass
        self.namespace = {"np": np, "__name__": "__student__", "__builtins__": builtins}
        errors = []
        for index, source in enumerate(request["cells"]):
            try:
                filename = f"<graded cell {index + 1}>"
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                code = compile(source, filename, "exec")
                exec(code, self.namespace)  # noqa: S102 - this is the sandboxed worker
            except BaseException as exc:  # SystemExit and KeyboardInterrupt included
                errors.append({"cell": index + 1, **_error(exc)})
        names = {k: _kind(v) for k, v in self.namespace.items()
                 if not k.startswith("__") and k != "np"}
        return {"names": names, "errors": errors}

    def _decode_args(self, request):
        # The suite may pass its own small functions ({"$fn": source}, trusted: requests come
        # from the grading process); they are compiled here, in the sandbox, holding only np.
        # Replies never carry functions: the grading process refuses the tag.
        make = self.objects.lookup
        args = codec.decode(request.get("args", {"$t": []}), make,
                            make_function=codec.build_function)
        kwargs = codec.decode(request.get("kwargs", {"$d": []}), make,
                              make_function=codec.build_function)
        return args, kwargs

    def _target(self, request):
        if request.get("handle") is not None:
            obj = self.objects.lookup(request["handle"])
            return getattr(obj, request["attr"]) if request.get("attr") else obj
        name = request["name"]
        if name not in self.namespace:
            raise NameError(f"name '{name}' is not defined")
        return self.namespace[name]

    def call(self, request: dict) -> dict:
        args, kwargs = self._decode_args(request)
        fn = self._target(request)
        if request.get("read_only") is True:
            value = rules.call_with_read_only_inputs(fn, *args, **kwargs)
        else:
            value = fn(*args, **kwargs)
        return {"ok": True, "value": codec.encode(value, self.objects.register)}

    def getattr(self, request: dict) -> dict:
        obj = self.objects.lookup(request["handle"])
        value = getattr(obj, request["name"])
        if callable(value) and not isinstance(value, np.ndarray):
            return {"ok": True, "callable": True}
        return {"ok": True, "callable": False,
                "value": codec.encode(value, self.objects.register)}

    def get(self, request: dict) -> dict:
        return {"ok": True, "value": codec.encode(self._target(request), self.objects.register)}

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        try:
            if op == "load":
                return self.load(request)
            if op in ("call", "getattr", "get"):
                return getattr(self, op)(request)
            return {"ok": False, "error": {"type": "ProtocolError", "message": f"bad op {op!r}"}}
        except BaseException as exc:
            return {"ok": False, "error": _error(exc)}
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                pass


def serve(sock: socket.socket, hello: dict) -> None:
    """Answer requests until the grading process closes the connection."""
    worker = Worker()
    wire.send_message(sock, json.dumps(hello).encode())
    while True:
        try:
            request = json.loads(wire.receive_message(sock, MAX_REQUEST))
        except (wire.WireClosed, OSError):
            return
        reply = worker.handle(request)
        try:
            payload = json.dumps(reply, allow_nan=False, separators=(",", ":")).encode()
        except BaseException as exc:
            payload = json.dumps({"ok": False, "error": _error(exc)}).encode()
        wire.send_message(sock, payload)
