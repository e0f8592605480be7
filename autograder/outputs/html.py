"""HTML pages from Jinja templates: self-contained files (inline style, embedded images), no scripts.

Jinja escapes every value, so a student's text (a notebook note, an error message) is shown, never
interpreted. The pages need no network and no assets, so they open from a disk, a zip or an LMS.
"""

from __future__ import annotations

import base64

import jinja2

_ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("autograder.outputs", "templates"),
                                  autoescape=True, undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context) -> str:
    """The named template under ``autograder/outputs/templates/``, filled in."""
    return _ENVIRONMENT.get_template(template).render(**context)


def png_data_uri(png: bytes) -> str:
    """An image to embed in a page's ``<img src>``, so the file carries its own figures."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
