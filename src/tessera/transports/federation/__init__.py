"""Federation links' sockets: the listener partners dial, and this node's dialling."""
