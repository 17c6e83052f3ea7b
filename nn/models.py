"""Keras's ``keras.models`` names: the model classes and whole-model loading."""
from __future__ import annotations

from .model import Functional, Model, Sequential
from .saving import load_model, model_from_json, save_model

__all__ = ["Model", "Sequential", "Functional", "load_model", "model_from_json", "save_model"]
