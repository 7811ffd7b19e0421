"""The constraint gate's default lists, each entry with the reason it is there.

Entries of the import list are module prefixes ("http" covers "http.client").
Entries of the call list are dotted names as the code reaches them after import
aliases are resolved ("os.system" covers ``import os as o; o.system``); a bare
name ("eval") means the builtin; ``*`` matches any run of characters
("os.exec*"). A name is forbidden as soon as the code refers to it, called or
not, since ``f = os.system; f("...")`` is the same act.

What is *not* here, on purpose: ``os`` and ``sys`` as wholes (too common; their
dangerous parts are listed one by one), ``open`` (candidates write outputs; the
gate checks literal paths instead), ``time`` (reading the clock is fine; assigning
to it is caught as patching), ``threading`` and ``concurrent.futures`` threads.
"""

from __future__ import annotations

from types import MappingProxyType

_NETWORK = "network"
_PROCESSES = "starts processes outside the harness's accounting"
_NATIVE = "runs native code that no check can see into"
_DYNAMIC = "dynamic import or code hides what runs from this check"
_HIDDEN_CODE = "deserialising can run code hidden in bytes"
_INTROSPECTION = "reaches other code's objects, frames or state"
_LIMITS = "the harness owns signals and limits"
_LABELS = "bundled labelled data sets can hold the evaluation labels"

IMPORT_REASONS = MappingProxyType(
    {
        "socket": _NETWORK,
        "_socket": _NETWORK,
        "ssl": _NETWORK,
        "_ssl": _NETWORK,
        "http": _NETWORK,
        "urllib": _NETWORK,
        "urllib3": _NETWORK,
        "requests": _NETWORK,
        "httpx": _NETWORK,
        "aiohttp": _NETWORK,
        "ftplib": _NETWORK,
        "smtplib": _NETWORK,
        "poplib": _NETWORK,
        "imaplib": _NETWORK,
        "telnetlib": _NETWORK,
        "socketserver": _NETWORK,
        "xmlrpc": _NETWORK,
        "webbrowser": _NETWORK,
        "asyncio": "network and processes: open_connection, create_subprocess_exec",
        "subprocess": _PROCESSES,
        "_posixsubprocess": _PROCESSES,
        "multiprocessing": _PROCESSES,
        "torch.multiprocessing": _PROCESSES,
        "pty": _PROCESSES,
        "posix": "the native side of os, past the checks on os.* calls",
        "nt": "the native side of os, past the checks on os.* calls",
        "ctypes": _NATIVE,
        "_ctypes": _NATIVE,
        "cffi": _NATIVE,
        "importlib": _DYNAMIC,
        "imp": _DYNAMIC,
        "pkgutil": _DYNAMIC,
        "runpy": _DYNAMIC,
        "zipimport": _DYNAMIC,
        "code": _DYNAMIC,
        "codeop": _DYNAMIC,
        "site": "changes where imports come from",
        "builtins": "patching builtins changes every module's behaviour",
        "__main__": "reaches the module that started the process",
        "pickle": _HIDDEN_CODE,
        "_pickle": _HIDDEN_CODE,
        "marshal": _HIDDEN_CODE,
        "shelve": _HIDDEN_CODE,
        "dill": _HIDDEN_CODE,
        "cloudpickle": _HIDDEN_CODE,
        "gc": _INTROSPECTION,
        "inspect": _INTROSPECTION,
        "trace": "installs a trace function over other code",
        "bdb": "installs a trace function over other code",
        "pdb": "installs a trace function over other code",
        "signal": _LIMITS,
        "resource": _LIMITS,
        "evoforge": "the harness is trusted code, not a library for candidates",
        "sklearn.datasets": _LABELS,
        "torchvision.datasets": _LABELS,
        "torchaudio.datasets": _LABELS,
        "torchtext.datasets": _LABELS,
        "keras.datasets": _LABELS,
        "tensorflow.keras.datasets": _LABELS,
        "tensorflow_datasets": _LABELS,
        "datasets": _LABELS,
        "openml": _LABELS,
        "mnist1d": _LABELS,  # its generator rebuilds a labelled data set, test split included
    }
)

_PRIVILEGE = "changes sessions, users or namespaces, which the sandbox owns"
_LINKS = "links reach files outside the scratch folder"
_TRACE = "installs a trace or profile hook over other code"
_IMPORTS = "changes where imports come from, to reach the task's code"

CALL_REASONS = MappingProxyType(
    {
        "eval": "runs code built at run time, hidden from this check",
        "exec": "runs code built at run time, hidden from this check",
        "compile": "builds code at run time, hidden from this check",
        "__import__": _DYNAMIC,
        "globals": "reaches a module namespace, to patch it",
        "vars": "reaches an object's namespace, to patch it",
        "os.system": "runs a shell command",
        "os.popen": "runs a shell command",
        "os.exec*": _PROCESSES,
        "os.spawn*": _PROCESSES,
        "os.posix_spawn*": _PROCESSES,
        "os.fork*": _PROCESSES,
        "os.kill*": "signals other processes",
        "os.set*id": _PRIVILEGE,
        "os.setpgrp": _PRIVILEGE,
        "os.unshare": _PRIVILEGE,
        "os.setns": _PRIVILEGE,
        "os.chroot": _PRIVILEGE,
        "os.symlink": _LINKS,
        "os.link": _LINKS,
        "shutil.rmtree": "deletes folders; the harness cleans the scratch folder",
        "sys._getframe": _INTROSPECTION,
        "sys._current_frames": _INTROSPECTION,
        "sys.settrace": _TRACE,
        "sys.setprofile": _TRACE,
        "sys.monitoring": _TRACE,
        "threading.settrace*": _TRACE,
        "threading.setprofile*": _TRACE,
        "sys.modules": "reaches or replaces loaded modules",
        "sys.meta_path": _IMPORTS,
        "sys.path_hooks": _IMPORTS,
        "sys.path_importer_cache": _IMPORTS,
        "sys.path": _IMPORTS,
        "types.FunctionType": "builds functions from code objects, hidden from this check",
        "types.LambdaType": "builds functions from code objects, hidden from this check",
        "types.CodeType": "builds code objects, hidden from this check",
        "concurrent.futures.ProcessPoolExecutor": _PROCESSES,
        "concurrent.futures.process": _PROCESSES,
        "importlib.import_module": _DYNAMIC,
    }
)

DEFAULT_FORBIDDEN_IMPORTS: tuple[str, ...] = tuple(IMPORT_REASONS)
DEFAULT_FORBIDDEN_CALLS: tuple[str, ...] = tuple(CALL_REASONS)

_ESCAPE = "walks the class hierarchy to reach unrelated code, a sandbox-escape idiom"
_FRAME = "reads another function's frame"

ATTRIBUTE_REASONS = MappingProxyType(
    {
        "__dict__": "reaches an object's namespace, to patch it or read hidden state",
        "__globals__": "reaches a function's module namespace",
        "__builtins__": "reaches the builtins, to patch them or import dynamically",
        "__import__": _DYNAMIC,
        "__subclasses__": _ESCAPE,
        "__mro__": _ESCAPE,
        "__bases__": _ESCAPE,
        "__base__": _ESCAPE,
        "__code__": "reads or replaces a function's code",
        "__closure__": "reads a function's captured variables",
        "__defaults__": "patches a function's defaults",
        "__kwdefaults__": "patches a function's defaults",
        "__self__": "reaches the module behind a builtin function",
        "__loader__": "reaches the import machinery",
        "__spec__": "reaches the import machinery",
        "__build_class__": "reaches the class-building machinery",
        "f_back": _FRAME,
        "f_globals": _FRAME,
        "f_locals": _FRAME,
        "f_builtins": _FRAME,
        "f_code": _FRAME,
        "tb_frame": _FRAME,
        "gi_frame": _FRAME,
        "gi_code": _FRAME,
        "cr_frame": _FRAME,
        "cr_code": _FRAME,
        "ag_frame": _FRAME,
        "ag_code": _FRAME,
    }
)
"""Attributes (and the matching names, for the dunders) a block may not touch."""

_COMPARE = "an object that compares, converts or computes as it likes can game a scorer"

SPECIAL_METHODS = frozenset(
    {
        *("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__"),
        *("__bool__", "__float__", "__int__", "__index__", "__round__", "__complex__"),
        *("__trunc__", "__floor__", "__ceil__", "__abs__", "__neg__", "__pos__"),
        *("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__"),
        *("__truediv__", "__rtruediv__", "__pow__", "__rpow__"),
        *("__array__", "__array_ufunc__", "__array_function__", "__array_interface__"),
        *("__torch_function__", "__torch_dispatch__"),
        *("__instancecheck__", "__subclasscheck__", "__class__"),
    }
)
"""Methods a class defined in a block may not define, each for the reason in ``_COMPARE``."""

SPECIAL_METHOD_REASON = _COMPARE
