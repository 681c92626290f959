-- Indexes for reading the audit trail by action, principal or outcome (tessera audit
-- --action/--principal/--outcome, GET /api/v1/audit?action=...): each ends with seq, so
-- "these events after seq N, in seq order" is one range of one index however long the
-- trail. Time ranges use audit_by_time (0001).
--
-- Queries:
--   an action:           WHERE action COLLATE "C" = $1 AND seq > $2 ORDER BY seq
--   an action prefix:    WHERE action COLLATE "C" >= $1 AND action COLLATE "C" < $2 ...
--                        (overlays. is overlays. to overlays/, byte by byte whatever the
--                        database's collation)
--   a principal:         WHERE principal = $1 AND seq > $2 ORDER BY seq
--   an outcome:          WHERE outcome = $1 AND seq > $2 ORDER BY seq
--
-- Built in the migration's transaction (CONCURRENTLY cannot be): appends wait while an
-- index builds, and the server's trail holds its events in memory meanwhile.

CREATE INDEX audit_by_action ON audit ((action COLLATE "C"), seq);
CREATE INDEX audit_by_principal ON audit (principal, seq);
CREATE INDEX audit_by_outcome ON audit (outcome, seq);
