"""The SR model zoo: one architecture a file, each registered through ``srpipe_register_models``."""
