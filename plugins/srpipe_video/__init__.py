"""srpipe task plugin: video (registered through the `srpipe` entry-point group)."""
