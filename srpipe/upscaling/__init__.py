"""The SR engine at run time: the Upscaler, its tiling plan and its on-disk cache."""
