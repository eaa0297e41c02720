"""How this module's records hang on the tree, for :mod:`gongzhi.core.scope`."""
