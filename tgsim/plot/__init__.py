"""Figures. A leaf module: pyplot is imported inside the functions, each takes ``ax=None``
and returns the Axes it drew on; labels come from the data's ``long_name`` and ``units``.
"""

from .growth import growth_curves

__all__ = ["growth_curves"]
