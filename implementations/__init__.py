"""Reference implementations, one module per algorithm, each registered with ``@register``.

Installed as ``fedgen_registry.implementations``; :func:`fedgen_registry.registry.discover` imports every
module below this package, so adding a file here is all it takes to add an implementation.
"""
