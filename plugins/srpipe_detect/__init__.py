"""srpipe task plugin: detect (registered through the `srpipe` entry-point group)."""
