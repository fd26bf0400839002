"""The ``skyfence`` command."""
