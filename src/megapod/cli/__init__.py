"""The ``megapod`` command line: thin faces over the library."""
