"""The read side: the feeds' read model (also what `hub status` reads), the read API and the /registry schema API."""
