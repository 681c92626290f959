"""Federation between Tessera nodes: what a link releases, takes in and remembers."""
