"""Fixtures for the fitting tests (helpers live in fit_helpers.py, a unique module name)."""

from fit_helpers import *  # noqa: F401,F403
