"""The torch networks behind the registered models, one architecture a file.

Kept apart from the plugin modules (``srpipe.models.edsr`` etc.) because those are
imported whenever the plugin manager starts (``srpipe models``, ``srpipe run --help``)
and must not import torch; a network module is imported only when a model is built.
"""
