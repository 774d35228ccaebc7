"""Greta's engine: find, test and explain what drives a target column.

The core takes explicit inputs and returns values; it prints nothing and writes no files.
"""

__version__ = "0.1.0"
