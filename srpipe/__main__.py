"""`python -m srpipe` (also what `torchrun -m srpipe train ...` runs)."""

from srpipe.cli import entry

if __name__ == "__main__":
    entry()
