"""Whole models in one file, and model configs as JSON.

``model.save('m.keras')`` writes a zip (written atomically: a temporary file, then
``os.replace``) holding

=====================  ====================================================================
metadata.json          ``{"format": "autograd-nn.model", "format_version": 1, ...}``
config.json            the architecture (``model.get_config()``), the input shape it was
                       built for, the compile arguments and the optimizer's config
model.weights.npz      every weight by ``named_weights`` name (``np.savez``: no pickle)
optimizer.npz          the optimizer's per-weight state (``<weight>/<slot>``), so training
                       resumes where it stopped
=====================  ====================================================================

``nn.models.load_model(path, custom_objects=None, compile=True, safe_mode=True)`` reads it
back.  Reading is bounded and checked before anything is built: member sizes against the
archive, every ``.npy`` header (shape, dtype; object dtypes refused) before its data, the
format version, every class name against the library, ``register_serializable`` and
``custom_objects`` (no module named in a file is ever imported, nothing is evaluated, no
pickle), every config key against the constructor, and the memory the config asks for
against the size of the weights in the file.  Any failure raises
``nn.errors.SerializationError`` (a ValueError) and returns nothing.

Configs: ``model.to_json()`` / ``nn.models.model_from_json(text, custom_objects=None)``
for Sequential and functional models; a subclassed model has a config only when it defines
``get_config()`` (and then ``from_config`` is ``cls(**config)``), otherwise save its weights
with ``save_weights``.
"""
from __future__ import annotations

import io
import json
import math
import os
import threading
import zipfile
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Union

import numpy as np

from . import _random
from . import config as _config
from . import safe_io as _safe_io
from .config import (custom_object_scope, deserialize, register_serializable,  # noqa: F401
                     serialize, get_registered_name, get_registered_object)
from .errors import NotSerializableError, SerializationError, WeightsMismatchError

__all__ = ["save_model", "load_model", "model_from_json", "register_serializable",
           "custom_object_scope", "get_registered_name", "get_registered_object",
           "read_npz_bounded", "FORMAT", "FORMAT_VERSION"]

FORMAT = "autograd-nn.model"
FORMAT_VERSION = 1
MAX_JSON_BYTES = 64 * 2**20          # config.json / metadata.json
MAX_MEMBER_BYTES = 16 * 2**30        # any one member, as declared by the archive
MAX_RATIO = 200                      # uncompressed / compressed, for deflated members

_LOAD = threading.local()            # the load in progress: budget, safe_mode


# ---------------------------------------------------------------------- load-time guards
@contextmanager
def _loading(budget: int, safe_mode: bool) -> Iterator[None]:
    """While a file is being turned into a model: an element budget for everything the
    config allocates, ``safe_mode``, and the nn random stream left as it was."""
    prev = getattr(_LOAD, "state", None)
    _LOAD.state = {"left": int(budget), "budget": int(budget), "safe_mode": bool(safe_mode)}
    rng_state = _random.get_rng().bit_generator.state
    try:
        yield
    finally:
        _LOAD.state = prev
        _random.get_rng().bit_generator.state = rng_state


TRANSIENT_ELEMENTS = 2**26          # one short-lived array while loading (256 MB of float32)


def check_allocation(shape: Any, what: str, transient: bool = False) -> None:
    """Called where configs allocate: refuses, during a load, a size beyond what the file
    could justify.  Weights (``transient=False``, from initializers) draw on a budget of
    twice the elements stored in the file; a short-lived array (the zeros a symbolic layer
    call runs on) may be as large as that budget or ``TRANSIENT_ELEMENTS``, whichever is
    larger.  Does nothing outside a load."""
    state = getattr(_LOAD, "state", None)
    if state is None:
        return
    n = 1
    for s in shape:
        n *= max(int(s), 0) if s is not None else 1
    if transient:
        if n > max(state["budget"], TRANSIENT_ELEMENTS):
            raise SerializationError(f"{what}: the config asks for a shape {tuple(shape)} far "
                                     f"larger than the file could justify (tampered sizes?); "
                                     f"nothing was built")
        return
    state["left"] -= n
    if state["left"] < 0:
        raise SerializationError(f"{what}: the config asks for a shape {tuple(shape)} far "
                                 f"larger than the weights in the file (tampered sizes?); "
                                 f"nothing was built")


def safe_mode() -> bool:
    """True unless a load with ``safe_mode=False`` is in progress (Lambda layers ask)."""
    state = getattr(_LOAD, "state", None)
    return True if state is None else state["safe_mode"]


# ---------------------------------------------------------------------- model configs
def _tensor_ref(t: Any, node_index: dict) -> list:
    return [t.node.layer.name, node_index[id(t.node)], t.index]


def model_get_config(model: Any) -> dict:
    """The config of a Sequential or functional model (``Model.get_config``)."""
    from .functional import FunctionalMixin, InputLayer, flatten, pack
    from .model import Sequential
    if isinstance(model, Sequential):
        cfg: dict = {"name": model.name,
                     "layers": [serialize(layer, f"{model.name}.layers[{i}]")
                                for i, layer in enumerate(model.layers)]}
        spec = getattr(model, "_input_spec", None)
        if spec is not None:
            cfg["input"] = dict(spec)
        return cfg
    if isinstance(model, FunctionalMixin):
        node_index: dict = {}
        calls: dict = {}
        for t in model.inputs:
            node_index[id(t.node)] = 0
        nodes = []
        for node in model._nodes:
            k = calls.get(id(node.layer), 0)
            calls[id(node.layer)] = k + 1
            node_index[id(node)] = k
            refs = pack(node.inputs, [_tensor_ref(t, node_index) for t in flatten(node.inputs)])
            nodes.append({"layer": node.layer.name, "inputs": _refs_json(refs),
                          "args": serialize(list(node.args), f"{node.layer.name} call"),
                          "kwargs": serialize(node.kwargs, f"{node.layer.name} call")})
        layers = []
        for layer in model.layers:
            if isinstance(layer, InputLayer):
                layers.append({"class_name": "InputLayer", "config": layer.get_config()})
            else:
                layers.append(serialize(layer, f"{model.name}.{layer.name}"))
        return {"name": model.name, "layers": layers, "nodes": nodes,
                "inputs": _struct_json(model._in_kind, model.input_names,
                                       [_tensor_ref(t, node_index) for t in model.inputs]),
                "outputs": _struct_json(model._out_kind, model.output_names,
                                        [_tensor_ref(t, node_index) for t in model.outputs])}
    raise NotSerializableError(
        f"{type(model).__name__} is a subclassed model without get_config(): its architecture "
        f"is Python code and cannot be written to a file.  Save its weights with "
        f"model.save_weights(path), or define get_config() returning its constructor "
        f"arguments (and register the class with nn.saving.register_serializable())")


def _refs_json(refs: Any) -> Any:
    """Tensor refs ``[layer, node, index]`` inside lists/dicts, tagged so they cannot be
    mistaken for plain lists: ``{"ref": [layer, node, index]}``."""
    if isinstance(refs, dict):
        return {"dict": {k: _refs_json(v) for k, v in refs.items()}}
    if isinstance(refs, (list, tuple)) and not (len(refs) == 3 and isinstance(refs[0], str)
                                                 and isinstance(refs[1], int)):
        return {"list": [_refs_json(v) for v in refs]}
    return {"ref": list(refs)}


def _struct_json(kind: Any, names: list, refs: list) -> dict:
    if kind == "single":
        return {"single": refs[0]}
    if kind == "list":
        return {"list": refs}
    return {"dict": dict(zip(names, refs))}


def _want(cond: bool, msg: str) -> None:
    if not cond:
        raise SerializationError(f"model config: {msg}")


def model_from_config(cls: type, config: Any) -> Any:
    """A model from its config (``Model.from_config``): Sequential, functional, or a
    subclassed model that defines get_config (``cls(**config)``)."""
    from .functional import InputLayer, Input
    from .model import Functional, Model, Sequential
    _want(isinstance(config, dict), f"must be a dict, got {type(config).__name__}")
    if cls is Sequential or (cls is Model and "nodes" not in config and "layers" in config):
        _config.check_keys_set(config, {"name", "layers", "input"}, "Sequential")
        _want(isinstance(config.get("layers"), list), "Sequential needs a list of layers")
        model = Sequential(name=config.get("name"))
        spec = config.get("input")
        if spec is not None:
            _want(isinstance(spec, dict), "Sequential input must be a dict")
            _config.check_keys_set(spec, {"shape", "dtype", "name"}, "Sequential input")
            check_allocation(spec.get("shape") or (), "Sequential input", transient=True)
            model.add(Input(**spec))
        for layer_cfg in config["layers"]:
            model.add(_layer(layer_cfg))
        return model
    if cls in (Functional, Model):
        return _functional_from_config(config)
    _config.check_keys(cls, config)
    return cls(**{k: deserialize(v) for k, v in config.items()})


def _layer(cfg: Any) -> Any:
    _want(isinstance(cfg, dict) and set(cfg) == {"class_name", "config"},
          f"a layer entry must be {{'class_name', 'config'}}, got {str(cfg)[:80]}")
    obj = deserialize(cfg)
    from .module import Module
    _want(isinstance(obj, Module), f"{cfg['class_name']!r} is not a layer")
    return obj


def _functional_from_config(config: dict) -> Any:
    from .functional import InputLayer
    from .model import Functional
    _config.check_keys_set(config, {"name", "layers", "nodes", "inputs", "outputs"},
                           "Functional")
    for key in ("layers", "nodes"):
        _want(isinstance(config.get(key), list), f"functional {key!r} must be a list")
    layers: dict = {}
    produced: dict = {}
    for entry in config["layers"]:
        _want(isinstance(entry, dict) and entry.get("class_name") == "InputLayer" or
              isinstance(entry, dict), "a layer entry must be a dict")
        if entry.get("class_name") == "InputLayer":
            _want(set(entry) == {"class_name", "config"} and isinstance(entry["config"], dict),
                  "bad InputLayer entry")
            _config.check_keys_set(entry["config"], {"shape", "dtype", "name"}, "InputLayer")
            check_allocation(entry["config"].get("shape") or (), "InputLayer", transient=True)
            layer = InputLayer(**entry["config"])
            produced[(layer.name, 0, 0)] = layer.output
        else:
            layer = _layer(entry)
        _want(getattr(layer, "name", None) not in layers, f"layer name "
              f"{getattr(layer, 'name', None)!r} appears twice")
        layers[layer.name] = layer
    calls: dict = {}
    for node in config["nodes"]:
        _want(isinstance(node, dict) and set(node) == {"layer", "inputs", "args", "kwargs"},
              "a node must have layer, inputs, args, kwargs")
        name = node["layer"]
        _want(name in layers, f"a node calls unknown layer {name!r}")
        inputs = _resolve(node["inputs"], produced)
        args = deserialize(node["args"])
        kwargs = deserialize(node["kwargs"])
        _want(isinstance(args, list) and isinstance(kwargs, dict), "bad node args")
        out = layers[name](inputs, *args, **kwargs)
        from .functional import flatten
        k = calls.get(name, 0)
        calls[name] = k + 1
        for i, t in enumerate(flatten(out)):
            produced[(name, k, i)] = t
    ins = _resolve_struct(config["inputs"], produced)
    outs = _resolve_struct(config["outputs"], produced)
    return Functional(ins, outs, name=config.get("name"))


def _ref(r: Any, produced: dict) -> Any:
    _want(isinstance(r, list) and len(r) == 3, f"bad tensor reference {str(r)[:60]}")
    key = (r[0], r[1], r[2])
    _want(key in produced, f"tensor {r} is used before it is made")
    return produced[key]


def _resolve(j: Any, produced: dict) -> Any:
    _want(isinstance(j, dict) and len(j) == 1, "bad node inputs")
    (kind, v), = j.items()
    if kind == "ref":
        return _ref(v, produced)
    if kind == "list":
        _want(isinstance(v, list), "bad node inputs")
        return [_resolve(x, produced) for x in v]
    if kind == "dict":
        _want(isinstance(v, dict), "bad node inputs")
        return {k: _resolve(x, produced) for k, x in v.items()}
    raise SerializationError(f"model config: unknown node input kind {kind!r}")


def _resolve_struct(j: Any, produced: dict) -> Any:
    _want(isinstance(j, dict) and len(j) == 1, "bad inputs/outputs")
    (kind, v), = j.items()
    if kind == "single":
        return _ref(v, produced)
    if kind == "list":
        _want(isinstance(v, list), "bad inputs/outputs")
        return [_ref(x, produced) for x in v]
    if kind == "dict":
        _want(isinstance(v, dict), "bad inputs/outputs")
        return {k: _ref(x, produced) for k, x in v.items()}
    raise SerializationError(f"model config: unknown structure {kind!r}")


def to_json(model: Any, **kwargs: Any) -> str:
    """``{"class_name": ..., "config": ...}`` of the model as JSON text."""
    return json.dumps({"class_name": _config.class_name(type(model)),
                       "config": model.get_config()}, **kwargs)


def model_from_json(json_string: str, custom_objects: Optional[dict] = None,
                    safe_mode: bool = True) -> Any:
    """A new model (freshly initialized weights) from ``model.to_json()``; ``safe_mode``
    as in ``load_model``."""
    try:
        data = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise SerializationError(f"model_from_json: not valid JSON ({e})") from None
    prev = getattr(_LOAD, "state", None)
    _LOAD.state = {"left": float("inf"), "budget": float("inf"), "safe_mode": bool(safe_mode)}
    try:
        with custom_object_scope(custom_objects):
            return _model_from_dict(data)
    finally:
        _LOAD.state = prev


def _model_from_dict(data: Any) -> Any:
    _want(isinstance(data, dict) and set(data) == {"class_name", "config"},
          "expected {'class_name', 'config'}")
    from .model import Model
    cls = _config.lookup(data["class_name"], "model class")
    _want(isinstance(cls, type) and issubclass(cls, Model),
          f"{data['class_name']!r} is not a model class")
    try:
        return cls.from_config(data["config"])
    except (SerializationError, NotSerializableError):
        raise
    except MemoryError:
        raise SerializationError("model config: asks for more memory than there is "
                                 "(tampered sizes?)") from None
    except Exception as e:
        raise SerializationError(f"model config: cannot build {data['class_name']} "
                                 f"({type(e).__name__}: {e})") from None


# ---------------------------------------------------------------------- bounded npz reading
def _npy_header(f: Any, what: str) -> tuple[tuple, np.dtype, bool, int]:
    """(shape, dtype, fortran_order, header length) of a .npy stream, refusing objects."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise SerializationError(f"{what}: unsupported .npy version {version}")
    except SerializationError:
        raise
    except (ValueError, EOFError, OSError) as e:
        raise SerializationError(f"{what}: bad .npy header ({e})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise SerializationError(f"{what}: dtype {dtype} is not a plain numeric dtype (object "
                                 f"arrays would need pickle, which is never used)")
    return tuple(shape), dtype, fortran, f.tell()


def read_npz_bounded(blob: bytes, what: str, max_bytes: Optional[int] = None,
                     headers_only: bool = False) -> dict:
    """The arrays of an .npz held in ``blob``: every member's header is read and checked
    (numeric dtype, data size = declared member size) before any data is read, and the
    total stays under ``max_bytes`` (default: the blob's size: an .npz written by
    ``np.savez`` is stored uncompressed).  ``headers_only`` returns ``{name: (shape,
    dtype)}``.  Errors are ``SerializationError``; nothing is unpickled."""
    limit = len(blob) if max_bytes is None else max_bytes
    try:
        zf = zipfile.ZipFile(io.BytesIO(blob))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise SerializationError(f"{what}: not an .npz archive ({e})") from None
    out: dict = {}
    total = 0
    with zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                raise SerializationError(f"{what}: unexpected member {info.filename!r}")
            name = info.filename[:-4]
            if info.compress_type != zipfile.ZIP_STORED and \
                    info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise SerializationError(f"{what}: member {name!r} expands {info.file_size} "
                                         f"bytes from {info.compress_size} (a zip bomb?)")
            try:
                with zf.open(info) as f:
                    shape, dtype, fortran, hlen = _npy_header(f, f"{what}[{name!r}]")
                    nbytes = math.prod(shape) * dtype.itemsize
                    if nbytes + hlen != info.file_size:
                        raise SerializationError(
                            f"{what}[{name!r}]: header says {shape} {dtype} ({nbytes} bytes) "
                            f"but the member holds {info.file_size - hlen} bytes")
                    total += nbytes
                    if total > limit:
                        raise SerializationError(f"{what}: the arrays declare more bytes "
                                                 f"({total}) than the file can hold ({limit})")
                    if headers_only:
                        out[name] = (shape, dtype)
                        continue
                    data = f.read(nbytes + 1)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
                if isinstance(e, SerializationError):
                    raise
                raise SerializationError(f"{what}[{name!r}]: unreadable ({e})") from None
            if len(data) != nbytes:
                raise SerializationError(f"{what}[{name!r}]: truncated data")
            arr = np.frombuffer(data, dtype=dtype)
            arr = arr.reshape(shape, order="F" if fortran else "C")
            out[name] = np.array(arr, copy=True)
    return out


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    _safe_io.write_npz(buf, arrays)       # names are data: a weight called `file` is fine
    return buf.getvalue()


# ---------------------------------------------------------------------- save
def _optimizer_state(model: Any) -> tuple[Optional[dict], dict]:
    opt = getattr(model, "optimizer", None)
    if opt is None:
        return None, {}
    names = {id(w): n for n, w in model.named_weights()}
    arrays: dict = {}
    slots: dict = {}
    for p in opt.params:
        st = _slots(opt, p)
        if st is None:
            continue
        name = names.get(id(p))
        if name is None:
            raise NotSerializableError("save: the optimizer holds a parameter that is not a "
                                       "weight of this model")
        entry = {}
        for k, v in st.items():
            if v is None or isinstance(v, (bool, int, float, np.integer, np.floating)):
                entry[k] = serialize(v)
            elif isinstance(v, np.ndarray):
                arrays[f"{name}/{k}"] = v
                entry[k] = "array"
            else:
                raise NotSerializableError(f"save: optimizer state {k!r} of {name!r} is a "
                                           f"{type(v).__name__}")
        slots[name] = entry
    extra = {}
    for k in ("iterations",):
        extra[k] = int(getattr(opt, k, 0))
    return {"iterations": extra["iterations"], "slots": slots}, arrays


def _state_key(opt: Any, p: Any) -> Any:
    """How ``opt.state`` is keyed: by the parameter itself (optimizers with ``state_dict``)
    or by its id."""
    return p if hasattr(opt, "state_dict") else id(p)


def _slots(opt: Any, p: Any) -> Optional[dict]:
    return opt.state.get(_state_key(opt, p))


def save_model(model: Any, path: Union[str, os.PathLike], overwrite: bool = True) -> None:
    """Write ``model`` (architecture, weights, compile arguments, optimizer state) to one
    zip file, atomically.  See the module docstring for the layout."""
    from . import __version__
    from . import distributed as _distributed
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise SerializationError(f"save: the file name must end in .keras, got {path!r} "
                                 f"(use save_weights for weights alone)")
    if not overwrite and os.path.exists(path):
        raise SerializationError(f"save: {path} exists and overwrite=False")
    model_cfg = {"class_name": _config.class_name(type(model)), "config": model.get_config()}
    state = model.state_dict()
    from .module import _check_built
    _check_built(model, "save")
    compile_cfg = None
    opt_cfg = None
    if getattr(model, "optimizer", None) is not None and hasattr(model, "_compile_args"):
        args = model._compile_args
        compile_cfg = {"loss": serialize(args["loss"], "compile loss"),
                       "metrics": serialize(args["metrics"], "compile metrics"),
                       "loss_weights": serialize(args["loss_weights"], "compile loss_weights")}
        opt_cfg = serialize(model.optimizer, "optimizer")
    opt_state, opt_arrays = _optimizer_state(model)
    build_shape = getattr(model, "_input_shape", None)
    config = {"model": model_cfg, "build_input_shape": serialize(build_shape),
              "compile": compile_cfg, "optimizer": opt_cfg, "optimizer_state": opt_state}
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__}
    if not _distributed._writes_files():  # distributed hook: rank 0 writes
        return
    def write(f) -> None:
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr("metadata.json", json.dumps(meta, indent=1), zipfile.ZIP_DEFLATED)
            zf.writestr("config.json", json.dumps(config, indent=1), zipfile.ZIP_DEFLATED)
            zf.writestr("model.weights.npz", _npz_bytes(state), zipfile.ZIP_STORED)
            zf.writestr("optimizer.npz", _npz_bytes(opt_arrays), zipfile.ZIP_STORED)
    _safe_io.atomic_write(path, write, prefix=".model-")


# ---------------------------------------------------------------------- load
_MEMBERS = {"metadata.json", "config.json", "model.weights.npz", "optimizer.npz"}


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, path: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise SerializationError(f"load_model: {path} has no {name!r} (not a model file, "
                                 f"or truncated)") from None
    if info.file_size > limit:
        raise SerializationError(f"load_model: {path}: {name!r} declares {info.file_size} "
                                 f"bytes, over the limit of {limit}")
    if info.compress_type != zipfile.ZIP_STORED and \
            info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise SerializationError(f"load_model: {path}: {name!r} would expand "
                                 f"{info.file_size / max(info.compress_size, 1):.0f}-fold "
                                 f"(a zip bomb?)")
    try:
        with zf.open(info) as f:
            data = f.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise SerializationError(f"load_model: {path}: {name!r} is unreadable ({e})") from None
    if len(data) != info.file_size:
        raise SerializationError(f"load_model: {path}: {name!r} has the wrong length")
    return data


def _json(blob: bytes, what: str) -> Any:
    try:
        return json.loads(blob.decode("utf-8"))
    except RecursionError:
        raise SerializationError(f"load_model: {what} nests too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise SerializationError(f"load_model: {what} is not valid JSON ({e})") from None


def load_model(path: Union[str, os.PathLike], custom_objects: Optional[dict] = None,
               compile: bool = True, safe_mode: bool = True) -> Any:
    """The model saved by ``model.save(path)``: same architecture, bitwise-equal weights,
    compiled as it was (``compile=True``) with the optimizer state restored.

    custom_objects : ``{name: class or function}`` for users' layers, losses, metrics and
    activations not registered with ``register_serializable``.  safe_mode : Lambda layers
    (arbitrary code) refuse to load unless False.  Bad files raise
    ``nn.errors.SerializationError`` before anything is returned."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise SerializationError(f"load_model: {path} is not a model file (not a readable "
                                 f"zip: {e})") from None
    with zf:
        listed = zf.namelist()
        names = set(listed)
        if len(names) != len(listed):
            raise SerializationError(f"load_model: {path} lists a member twice (tampered?)")
        if not {"metadata.json", "config.json"} <= names:
            raise SerializationError(f"load_model: {path} is not a model file (no "
                                     f"metadata.json/config.json: truncated, or another zip)")
        extra = sorted(names - _MEMBERS)
        if extra:
            raise SerializationError(f"load_model: {path} holds unexpected member {extra[0]!r}")
        meta = _json(_read_member(zf, "metadata.json", MAX_JSON_BYTES, path), "metadata.json")
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise SerializationError(f"load_model: {path} is not an autograd-nn model file "
                                     f"(format {meta.get('format') if isinstance(meta, dict) else None!r})")
        if meta.get("format_version") != FORMAT_VERSION:
            raise SerializationError(f"load_model: {path} has format version "
                                     f"{meta.get('format_version')!r}; this library reads "
                                     f"version {FORMAT_VERSION}")
        config = _json(_read_member(zf, "config.json", MAX_JSON_BYTES, path), "config.json")
        weights_blob = _read_member(zf, "model.weights.npz", min(size, MAX_MEMBER_BYTES), path)
        opt_blob = _read_member(zf, "optimizer.npz", min(size, MAX_MEMBER_BYTES), path)
    _want(isinstance(config, dict) and set(config) == {"model", "build_input_shape", "compile",
                                                      "optimizer", "optimizer_state"},
          "config.json must hold model, build_input_shape, compile, optimizer, "
          "optimizer_state")
    headers = read_npz_bounded(weights_blob, "model.weights.npz", headers_only=True)
    elements = sum(math.prod(s) for s, _ in headers.values())
    with custom_object_scope(custom_objects), _loading(2 * elements + 2**16, safe_mode):
        model = _model_from_dict(config["model"])
        shape = config["build_input_shape"]
        if shape is not None:
            _want(isinstance(shape, list) and all(s is None or isinstance(s, int) for s in shape),
                  "bad build_input_shape")
            check_allocation([1] + shape[1:], "build_input_shape", transient=True)
            if any(getattr(m, "built", True) is False for _, m in model.named_modules()):
                try:
                    model.build(tuple(shape))
                except Exception as e:
                    raise SerializationError(f"load_model: the model cannot be built for "
                                             f"input shape {tuple(shape)} ({e})") from None
            model._input_shape = tuple(shape)
        _check_weights(model, headers)
        state = read_npz_bounded(weights_blob, "model.weights.npz")
        try:
            model.load_state_dict(state)
        except WeightsMismatchError as e:
            raise SerializationError(f"load_model: {e}") from None
        if compile and config["compile"] is not None:
            _compile(model, config, opt_blob)
    return model


def _check_weights(model: Any, headers: dict) -> None:
    """Names, shapes and dtypes of the file's weights against the built model."""
    have = {n: (tuple(w.shape), w.dtype) for n, w in model.named_weights()}
    missing = [n for n in have if n not in headers]
    extra = [n for n in headers if n not in have]
    _want(not missing and not extra, f"the weights do not match the architecture (missing "
          f"{missing[:3]}, unexpected {extra[:3]})")
    for n, (shape, dtype) in have.items():
        fs, fd = headers[n]
        _want(tuple(fs) == shape and fd == dtype, f"weight {n!r} is {shape} {dtype} in the "
              f"architecture but {tuple(fs)} {fd} in the file")


def _compile(model: Any, config: dict, opt_blob: bytes) -> None:
    c = config["compile"]
    _want(isinstance(c, dict) and set(c) == {"loss", "metrics", "loss_weights"},
          "bad compile config")
    from .optimizers import Optimizer
    opt = deserialize(config["optimizer"])
    _want(isinstance(opt, Optimizer), "the optimizer config does not build an optimizer")
    try:
        model.compile(optimizer=opt, loss=deserialize(c["loss"]),
                      metrics=deserialize(c["metrics"]),
                      loss_weights=deserialize(c["loss_weights"]))
    except (SerializationError, NotSerializableError):
        raise
    except Exception as e:
        raise SerializationError(f"load_model: cannot compile as saved ({type(e).__name__}: "
                                 f"{e})") from None
    st = config["optimizer_state"]
    if st is None:
        return
    _want(isinstance(st, dict) and set(st) == {"iterations", "slots"} and
          isinstance(st["iterations"], int) and isinstance(st["slots"], dict),
          "bad optimizer_state")
    arrays = read_npz_bounded(opt_blob, "optimizer.npz")
    weights = dict(model.named_weights())
    new_state = []
    for name, slots in st["slots"].items():
        _want(name in weights and isinstance(slots, dict), f"optimizer state for unknown "
              f"weight {name!r}")
        w = weights[name]
        entry = {}
        for k, v in slots.items():
            if v == "array":
                arr = arrays.get(f"{name}/{k}")
                _want(arr is not None, f"optimizer.npz lacks {name}/{k}")
                _want(arr.shape == w.shape and arr.dtype == w.dtype,
                      f"optimizer slot {name}/{k} is {arr.shape} {arr.dtype} for a weight of "
                      f"{w.shape} {w.dtype}")
                entry[k] = arr
            else:
                _want(v is None or isinstance(v, (int, float, bool)),
                      f"bad optimizer slot {name}/{k}")
                entry[k] = v
        new_state.append((_state_key(model.optimizer, w), entry))
    opt = model.optimizer
    opt.add_params(model.parameters())
    for key, entry in new_state:
        opt.state[key] = entry
    opt.iterations = st["iterations"]
