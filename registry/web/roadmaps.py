"""Project roadmaps: the one-map page with its Gantt, progress entry, options, the one-time
checklist, and project registration by staff."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("roadmaps", __name__)
