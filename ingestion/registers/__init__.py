"""Recognitions and achievements registers (format 6): one row per recognition of one holder."""
