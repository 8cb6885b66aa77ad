"""Fixtures shared by every test tier."""

from __future__ import annotations
