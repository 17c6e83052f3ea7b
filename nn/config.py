"""Configs: ``get_config()`` / ``from_config()`` for layers, losses, metrics, optimizers and
initializers, from the arguments their constructor was given.

A class that inherits :class:`Configurable` records the arguments of its outermost
``__init__`` call (defaults filled in); ``get_config()`` returns them as JSON-ready values and
``from_config(config)`` calls the constructor with them again, so the round trip is exact by
construction, for the library's classes and for users' subclasses alike.  Nested objects
(an initializer given to a layer, a loss given to a metric) become
``{"class_name": ..., "config": ...}``; tuples become lists; numpy scalars and dtypes become
plain numbers and names.  A value that has no such form (a plain callable nobody registered)
raises ``nn.errors.NotSerializableError`` naming the class and the argument.

Class names are resolved (``deserialize``) against, in order: ``custom_objects``, what
``nn.saving.register_serializable`` registered, and the library's own classes.  Nothing is
imported by a name read from a config, nothing is evaluated.
"""
from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Optional

import numpy as np

from .errors import NotSerializableError, SerializationError

__all__ = ["Configurable", "serialize", "deserialize", "register_serializable",
           "custom_object_scope", "get_registered_name", "get_registered_object"]

_REGISTERED: dict[str, Any] = {}        # "package>Name" -> class or function
_NAMES: dict[int, str] = {}             # id(object) -> registered name
_SCOPE = threading.local()              # custom_objects of the load in progress


class _InitArgs:
    """The constructor arguments, kept out of ``Module``'s attribute walk (not a dict)."""

    __slots__ = ("values",)

    def __init__(self, values: dict) -> None:
        self.values = values


class Configurable:
    """Mixin: records the outermost ``__init__`` arguments; ``get_config``/``from_config``.

    ``_config_exclude``: constructor arguments left out of the config (an optimizer's
    ``params``).  ``_config_live``: arguments read back from the attribute of the same name
    when the config is taken (an optimizer's ``learning_rate``, which callbacks change).
    """

    _config_exclude: tuple = ()
    _config_live: tuple = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_records_config", False):
            return
        sig = inspect.signature(init)

        @functools.wraps(init)
        def __init__(self, *args: Any, **kw: Any) -> None:
            if self.__dict__.get("_in_init"):
                init(self, *args, **kw)
                return
            extra = self._pop_init_extras(sig, kw)
            self.__dict__["_in_init"] = True
            try:
                init(self, *args, **kw)
            finally:
                self.__dict__.pop("_in_init", None)
            bound = sig.bind(self, *args, **kw)
            bound.apply_defaults()
            values = dict(bound.arguments)
            values.pop(next(iter(sig.parameters)), None)     # self
            for name, p in sig.parameters.items():
                if p.kind is p.VAR_KEYWORD and name in values:
                    values.update(values.pop(name))
                elif p.kind is p.VAR_POSITIONAL and name in values:
                    if values[name]:
                        values[f"*{name}"] = values[name]
                    del values[name]
            self.__dict__["_init_args"] = _InitArgs(values)
            self._after_init_extras(extra)

        __init__._records_config = True
        cls.__init__ = __init__

    def _pop_init_extras(self, sig: inspect.Signature, kwargs: dict) -> dict:
        return {}

    def _after_init_extras(self, extra: dict) -> None:
        pass

    def get_config(self) -> dict:
        """The constructor arguments as JSON-ready values (see the module docstring)."""
        rec = self.__dict__.get("_init_args")
        if rec is None and type(self).__init__ is object.__init__:
            return {}
        if rec is None:
            raise NotSerializableError(f"{type(self).__name__}: no recorded constructor "
                                       f"arguments (was __init__ bypassed?)")
        out = {}
        for k, v in rec.values.items():
            if k in self._config_exclude:
                continue
            if k.startswith("*"):
                raise NotSerializableError(f"{type(self).__name__}: positional arguments "
                                           f"*{k[1:]} cannot be written to a config; define "
                                           f"get_config()")
            if k in self._config_live and hasattr(self, k):
                v = getattr(self, k)
            out[k] = serialize(v, f"{type(self).__name__}.{k}")
        return out

    @classmethod
    def from_config(cls, config: dict) -> Any:
        """A new object from ``get_config()``'s output (nested objects rebuilt)."""
        if not isinstance(config, dict):
            raise SerializationError(f"{cls.__name__}.from_config: a config must be a dict, got "
                                     f"{type(config).__name__}")
        config = {k: deserialize(v) for k, v in config.items()}
        check_keys(cls, config)
        return cls(**config)


def accepted_keys(cls: type) -> Optional[set]:
    """The keyword names ``cls(...)`` accepts, or None when it takes ``**kwargs``."""
    sig = inspect.signature(cls.__init__)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    keys = {n for n, p in list(sig.parameters.items())[1:] if p.kind is not p.VAR_POSITIONAL}
    return keys | set(getattr(cls, "_config_extra_keys", ()))


def check_keys(cls: type, config: dict) -> None:
    keys = accepted_keys(cls)
    if keys is None:
        return
    unknown = sorted(k for k in config if k not in keys)
    if unknown:
        raise SerializationError(f"{cls.__name__}: unknown config key {unknown[0]!r} (the "
                                 f"constructor takes {sorted(keys)})")


# ---------------------------------------------------------------------- values
def _library_function_name(v: Any) -> Optional[str]:
    from . import initializers
    for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "ones"):
        if getattr(initializers, name, None) is v:
            return name
    import autograd as ag
    for name in ("relu", "sigmoid", "tanh", "leaky_relu", "gelu"):
        if getattr(ag, name, None) is v:
            return name
    return None


def serialize(v: Any, where: str = "value") -> Any:
    """``v`` as JSON-ready data: plain values as they are, nested objects as
    ``{"class_name", "config"}``, registered functions as ``{"function": name}``."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name
    if isinstance(v, (list, tuple)):
        return [serialize(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise NotSerializableError(f"{where}: dict keys must be strings to be written, "
                                           f"got {k!r}")
            out[k] = serialize(x, f"{where}[{k!r}]")
        return out
    if isinstance(v, type):
        raise NotSerializableError(f"{where}: a class ({v.__name__}) cannot be written; pass "
                                   f"an instance")
    if hasattr(v, "get_config") and callable(v.get_config):
        return {"class_name": class_name(type(v)), "config": v.get_config()}
    if callable(v):
        name = _NAMES.get(id(v)) or _library_function_name(v)
        if name is None:
            raise NotSerializableError(
                f"{where}: the callable {getattr(v, '__name__', v)!r} cannot be written to a "
                f"config; register it with @nn.saving.register_serializable() and pass it in "
                f"custom_objects= when loading, or use a built-in name")
        return name if _library_function_name(v) else {"function": name}
    raise NotSerializableError(f"{where}: a {type(v).__name__} cannot be written to a config")


def class_name(cls: type) -> str:
    """The name a class is written under: its registered name, else its own name."""
    return _NAMES.get(id(cls), cls.__name__)


def deserialize(v: Any) -> Any:
    """The inverse of :func:`serialize` (nested configs rebuilt)."""
    if isinstance(v, list):
        return [deserialize(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"class_name", "config"} and isinstance(v["class_name"], str):
            return build(v["class_name"], v["config"])
        if set(v) == {"function"} and isinstance(v["function"], str):
            return lookup(v["function"], "function")
        return {k: deserialize(x) for k, x in v.items()}
    return v


def build(name: str, config: Any) -> Any:
    """``lookup(name).from_config(config)``; errors say which class failed."""
    cls = lookup(name, "class")
    if not isinstance(cls, type) or not hasattr(cls, "from_config"):
        raise SerializationError(f"{name!r} is not a class with from_config")
    if not isinstance(config, dict):
        raise SerializationError(f"{name}: its config must be a dict, got "
                                 f"{type(config).__name__}")
    try:
        return cls.from_config(config)
    except (SerializationError, NotSerializableError):
        raise
    except MemoryError:
        raise SerializationError(f"{name}: the config asks for more memory than there is "
                                 f"(tampered sizes?)") from None
    except Exception as e:
        raise SerializationError(f"{name}: cannot be built from its config ({type(e).__name__}: "
                                 f"{e})") from None


# ---------------------------------------------------------------------- lookup
def _library_objects() -> dict[str, Any]:
    """Every class the library can rebuild by name (layers, losses, metrics, optimizers,
    initializers, models, and whatever other library modules define)."""
    import importlib
    out: dict[str, Any] = {}
    names = ["nn.initializers", "nn.losses", "nn.metrics", "nn.optimizers", "nn.layers",
             "nn.functional", "nn.model", "nn.regularizers", "nn.constraints",
             "nn.optimizers.schedules", "nn.schedules", "nn.callbacks"]
    for modname in names:                      # fixed names: never read from a file
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for k in dir(mod):
            obj = getattr(mod, k, None)
            if isinstance(obj, type) and obj.__module__.startswith("nn") and \
                    hasattr(obj, "from_config"):
                out.setdefault(obj.__name__, obj)
    return out


def lookup(name: str, what: str = "class") -> Any:
    scope = getattr(_SCOPE, "objects", None) or {}
    if name in scope:
        return scope[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    short = name.split(">")[-1]
    if short in scope:
        return scope[short]
    lib = _library_objects()
    if name in lib:
        return lib[name]
    raise SerializationError(
        f"unknown {what} {name!r}: it is not a library class, not registered with "
        f"nn.saving.register_serializable, and not in custom_objects (pass "
        f"custom_objects={{{short!r}: ...}} to load it)")


class custom_object_scope:
    """``with custom_object_scope({'MyLayer': MyLayer}):`` names resolvable while loading."""

    def __init__(self, objects: Optional[dict]) -> None:
        self.objects = dict(objects or {})

    def __enter__(self) -> "custom_object_scope":
        self.prev = getattr(_SCOPE, "objects", None)
        merged = dict(self.prev or {})
        merged.update(self.objects)
        _SCOPE.objects = merged
        return self

    def __exit__(self, *exc: Any) -> None:
        _SCOPE.objects = self.prev


def register_serializable(package: str = "Custom", name: Optional[str] = None) -> Any:
    """Decorator: register a class or function under ``'package>name'`` (name defaults to
    its ``__name__``) so configs can refer to it (Keras' ``register_keras_serializable``)."""
    if not isinstance(package, str) or ">" in package:
        raise SerializationError(f"register_serializable: package must be a string without "
                                 f"'>', got {package!r}")

    def deco(obj: Any) -> Any:
        key = f"{package}>{name or obj.__name__}"
        if key in _REGISTERED and _REGISTERED[key] is not obj:
            raise SerializationError(f"register_serializable: {key!r} is already registered to "
                                     f"another object")
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise SerializationError(f"register_serializable: class {obj.__name__} needs "
                                     f"get_config()")
        _REGISTERED[key] = obj
        _NAMES[id(obj)] = key
        return obj
    return deco


def get_registered_name(obj: Any) -> str:
    return _NAMES.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name: str, custom_objects: Optional[dict] = None) -> Any:
    with custom_object_scope(custom_objects):
        try:
            return lookup(name)
        except SerializationError:
            return None


def check_keys_set(config: dict, allowed: set, what: str) -> None:
    """A SerializationError for a key of ``config`` outside ``allowed``."""
    unknown = sorted(k for k in config if k not in allowed)
    if unknown:
        raise SerializationError(f"{what}: unknown config key {unknown[0]!r} (allowed: "
                                 f"{sorted(allowed)})")


def get_identified(kind: str, identifier: Any, by_name: dict, classes: dict) -> Any:
    """The object a ``get(identifier)`` of ``nn.regularizers``/``nn.constraints`` names: None;
    a name in ``by_name`` (built with its defaults); a config ``{'class_name', 'config'}`` of
    a class in ``classes``; or a callable, returned as it is.  Anything else raises."""
    import autograd as ag
    if identifier is None:
        return None
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in by_name:
            raise ag.InvalidValueError(f"unknown {kind} {identifier!r}; one of {sorted(by_name)}")
        return by_name[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = classes.get(identifier["class_name"])
        if cls is None:
            raise ag.InvalidValueError(f"unknown {kind} {identifier['class_name']!r}; one of "
                                       f"{sorted(classes)}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    article = "an" if kind[0] in "aeiou" else "a"
    raise ag.ArgumentTypeError(f"{article} {kind} must be a name, a {kind.capitalize()} or a "
                               f"callable, got {identifier!r}")
