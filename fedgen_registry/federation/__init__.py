"""The federation runtime: one algorithm protocol (:mod:`.protocol`) and the engines that deliver it.

Importing this package (or :mod:`.protocol`) does not import torch, so the runner can recognise an
algorithm class cheaply; the engines (:mod:`.local`) import torch when they are used.
"""
