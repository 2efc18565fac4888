"""Deadlines across projects: the staff dashboard and everyone's in-app notifications."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deadlines", __name__)
