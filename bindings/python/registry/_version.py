"""Version of the bindings. Its major number must match the loaded library's."""

__version__ = "1.1.0"
