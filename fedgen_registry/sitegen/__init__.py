"""The documentation site generator: catalogue -> Markdown pages and images -> ``mkdocs build --strict``.

Pages are written by our own code (not by build-time plugins) so that any reader of ``mkdocs.yml``,
MkDocs or Zensical, builds the same site. :func:`fedgen_registry.sitegen.generate.generate` writes the
pages; :func:`fedgen_registry.sitegen.build.build_site` also runs MkDocs. Importing this package stays
cheap: matplotlib and mkdocs are imported only by the functions that need them.
"""
