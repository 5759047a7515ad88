"""Roles for the attack strand, in the catalogue's threat-model words, that compose with any registered algorithm.

- :class:`~.roles.CuriousServer` (``honest-but-curious-server``): runs the protocol unchanged and keeps a
  transcript of exactly what the protocol hands the server;
- :class:`~.roles.MaliciousClient` (``malicious-client``): controls only its own messages, through a
  ``tamper`` function of its own reply;
- :class:`~.roles.Eavesdropper` (``eavesdropper``): an engine observer that records the messages on the wire,
  both ways, and nothing else.

:func:`~.roles.with_adversaries` turns an algorithm class into one whose server and chosen clients play
these roles, so an attack is written once and run against every federation of the registry.
"""
