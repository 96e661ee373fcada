"""Workbench: pretrain and fine-tune transformer models, and look inside them."""

import warnings

# peft asks every model whether it checkpoints activations through transformers' old name for it,
# and transformers 5 warns on each call; the warning is about peft's code, not the user's.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.* is deprecated", category=FutureWarning)
