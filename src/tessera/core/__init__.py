"""The pure domain: model, labels, grading, symbols and fusion. No I/O here."""
