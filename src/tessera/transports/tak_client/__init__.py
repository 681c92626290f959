"""Links out to TAK servers (FreeTAKServer, OpenTAKServer, TAK Server) as a TAK client."""
