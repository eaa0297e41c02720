"""Co-building's pages, one module per part; :mod:`.home` has the overview, figures and the community page."""
