"""Turning video files into catalog rows and vectors."""
