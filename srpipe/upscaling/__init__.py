"""The SR engine at run time: the Upscaler, its network forward, its tiling plan and its on-disk
cache."""
