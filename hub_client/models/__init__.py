"""Networks: the architecture worked out from card and files (``spec``), labels, preprocessing, the backends
(MindSpore, PyTorch) behind one interface, and ``load_model``."""
