"""``srpipe run``: frames in, SR, a task's predictions and annotated frames out, sharded under
torchrun."""
