"""srpipe task plugin: faces (registered through the `srpipe` entry-point group)."""
