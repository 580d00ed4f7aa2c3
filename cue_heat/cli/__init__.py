"""The ``cue-heat`` command line (cliff)."""
