"""Billing: drafts (preview and run share one code path), runs in chunks, numbering."""
