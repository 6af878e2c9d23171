"""The scheme layer: assessment schemes as YAML data, loaded safely and checked once at load.

:mod:`~assesskit.scheme.model` holds :class:`Scheme`, its levels and node tree, the checks, and
:func:`load_scheme`; the built-in schemes are the YAML files in ``builtin/``.
"""
