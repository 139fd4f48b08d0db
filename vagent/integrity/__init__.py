"""Integrity of a library: who owns its folder, and ``vagent check`` / ``vagent repair``."""
