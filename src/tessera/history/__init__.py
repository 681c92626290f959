"""History: the picture at any past time, replayed forward, and after-action exports.

Periodic snapshots of each picture's fusion state (``snapshots``) plus a replay of the
journal after one (``seek``) rebuild the picture at any retained time; fusion's clock is
the journal's, so what a seek shows at T is what the live picture showed at T. History
reads the journal and the snapshots, never feeds the pictures (DESIGN §10).
"""
