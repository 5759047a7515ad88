"""Links into the catalogue page with a filter already applied (the page's own URL format).

The catalogue's script reads its filter state from the query string: ``?facet=value1,value2``. Pages
that link to "all papers with this value" build those URLs here, so the format is defined once on the
Python side (``site/assets/catalogue.js`` reads the same format).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fedgen_registry.sitegen import layout


def catalogue_filter(from_page: str, facet: str, value: str) -> str:
    """A link from ``from_page`` to the catalogue showing only papers where ``facet`` has ``value``."""
    return f"{layout.link(from_page, layout.CATALOGUE)}?{urlencode({facet: value})}"
