"""The core's own tasks (registered through the same hook as a plugin's)."""
