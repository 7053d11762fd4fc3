"""The people's dashboard: the overview, commune, directive and target pages, exports, login."""
