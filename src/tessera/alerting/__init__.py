"""Alerts: rules judged over each picture's change feed, kept, acknowledged and delivered
(the map and its stream, TAK clients, webhooks), each only to those who may see it."""
