"""Co-building's reads, every one through :func:`gongzhi.core.scope.scoped` (or a public selector that shows only
what residents may see)."""
