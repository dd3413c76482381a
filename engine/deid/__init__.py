"""deid capability."""
