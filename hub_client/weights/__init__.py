"""Weight files read into name → array maps with no framework: ``.ckpt``, safetensors, and the MindCV ↔
transformers parameter names."""
